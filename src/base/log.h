/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/*
 * The library never prints. It emits warnings and debug traces through a handler that the front
 * end installs; the front end decides on text or JSON and on the destination. The handler must be
 * async-signal-tolerant in the sense that it is also called from the container's init process
 * between clone and exec (a plain write(2) to an fd is fine; stdio is not).
 */
enum berth_log_level {
        BERTH_LOG_ERROR,
        BERTH_LOG_WARN,
        BERTH_LOG_INFO,
        BERTH_LOG_DEBUG,
};

typedef void (*berth_log_fn)(enum berth_log_level level, const char *msg, void *userdata);

void berth_log_set_handler(berth_log_fn fn, void *userdata);

/* True when debug tracing is on (--debug or BERTH_TRACE=1); check it before building strings. */
extern bool berth_trace_on;
void berth_trace_enable(bool on);

void berth_log(enum berth_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
#define berth_warn(...) berth_log(BERTH_LOG_WARN, __VA_ARGS__)

/*
 * Traces one kernel step and how long it took since `start_us` (from berth_now_us()):
 *
 *   uint64_t t = berth_now_us();
 *   r = mount(...);
 *   TRACE(t, "mount proc on %s", dst);
 *
 * prints "   37 µs  mount proc on /proc". Costs one branch when tracing is off.
 */
void berth_trace_step(uint64_t start_us, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
#define TRACE(start_us, ...)                                                                       \
        do {                                                                                       \
                if (berth_trace_on)                                                                \
                        berth_trace_step((start_us), __VA_ARGS__);                                 \
        } while (0)
/* Monotonic microseconds, only read when tracing (0 otherwise): `uint64_t t = TRACE_T0();` */
#define TRACE_T0() (berth_trace_on ? berth_now_us() : 0)
uint64_t berth_now_us(void);
