/* SPDX-License-Identifier: Apache-2.0 */
#include <stdarg.h>
#include <stdio.h>
#include <inttypes.h>

#include "base/log.h"
#include "base/util.h"

bool berth_trace_on;
static berth_log_fn handler;
static void *handler_data;

void berth_log_set_handler(berth_log_fn fn, void *userdata)
{
        handler = fn;
        handler_data = userdata;
}

void berth_trace_enable(bool on)
{
        berth_trace_on = on;
}

static void vlog(enum berth_log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void vlog(enum berth_log_level level, const char *fmt, va_list ap)
{
        char buf[4096];

        if (!handler)
                return;
        vsnprintf(buf, sizeof(buf), fmt, ap);
        handler(level, buf, handler_data);
}

void berth_log(enum berth_log_level level, const char *fmt, ...)
{
        va_list ap;

        if (level == BERTH_LOG_DEBUG && !berth_trace_on)
                return;
        va_start(ap, fmt);
        vlog(level, fmt, ap);
        va_end(ap);
}

void berth_trace_step(uint64_t start_us, const char *fmt, ...)
{
        char step[3800];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(step, sizeof(step), fmt, ap);
        va_end(ap);
        berth_log(BERTH_LOG_DEBUG, "%6" PRIu64 " µs  %s", berth_now_us() - start_us, step);
}
