/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The library's logging (log.c): nothing without a handler, debug lines only when tracing is on,
 * a trace step with its duration, long messages cut rather than overflowing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/log.h"
#include "base/util.h"

static char got[8192];
static int calls;
static void *got_data;

static void keep(enum berth_log_level level, const char *msg, void *userdata)
{
        size_t n = strlen(got);

        calls++;
        got_data = userdata;
        snprintf(got + n, sizeof(got) - n, "%d:%s\n", (int) level, msg);
}

static int reset(void **state)
{
        got[0] = '\0';
        calls = 0;
        got_data = NULL;
        berth_trace_enable(false);
        berth_log_set_handler(keep, &calls);
        return 0;
}

static void levels_and_userdata(void **state)
{
        berth_log(BERTH_LOG_ERROR, "e %d", 1);
        berth_warn("w %s", "two");
        berth_log(BERTH_LOG_INFO, "i");
        assert_string_equal(got, "0:e 1\n1:w two\n2:i\n");
        assert_ptr_equal(got_data, &calls);
}

static void debug_only_when_tracing(void **state)
{
        berth_log(BERTH_LOG_DEBUG, "hidden");
        assert_int_equal(calls, 0);
        assert_false(berth_trace_on);
        berth_trace_enable(true);
        assert_true(berth_trace_on);
        berth_log(BERTH_LOG_DEBUG, "shown");
        assert_string_equal(got, "3:shown\n");
}

/* TRACE costs one branch when off: its arguments are not even evaluated. */
static int evaluated;

static const char *note_evaluated(void)
{
        evaluated++;
        return "x";
}

static void trace_steps(void **state)
{
        uint64_t t0;

        evaluated = 0;
        t0 = TRACE_T0();
        assert_int_equal(t0, 0);
        TRACE(t0, "off %s", note_evaluated());
        assert_int_equal(evaluated, 0);
        assert_int_equal(calls, 0);

        berth_trace_enable(true);
        t0 = TRACE_T0();
        assert_true(t0 > 0);
        TRACE(t0, "mount proc on %s", "/proc");
        /* "%6 µs  step": the duration right-aligned, then the step */
        assert_int_equal(calls, 1);
        assert_true(startswith(got, "3:"));
        assert_non_null(strstr(got, " µs  mount proc on /proc\n"));
        assert_true(strlen(got) >= strlen("3:     0 µs  mount proc on /proc\n"));
}

static void no_handler_no_output(void **state)
{
        berth_log_set_handler(NULL, NULL);
        berth_warn("nobody listens");
        berth_trace_enable(true);
        berth_trace_step(berth_now_us(), "nor here");
        assert_int_equal(calls, 0);
}

/* A message longer than the buffer is cut, never overflowing. */
static void long_messages_are_cut(void **state)
{
        _autofree_ char *big = xcalloc(1, 10000);

        memset(big, 'a', 9999);
        berth_warn("%s", big);
        assert_int_equal(calls, 1);
        assert_int_equal(strlen(got), 2 + 4095 + 1);
}

static void clock_is_monotonic(void **state)
{
        uint64_t a = berth_now_us(), b = berth_now_us();

        assert_true(a > 0);
        assert_true(b >= a);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup(levels_and_userdata, reset),
            cmocka_unit_test_setup(debug_only_when_tracing, reset),
            cmocka_unit_test_setup(trace_steps, reset),
            cmocka_unit_test_setup(no_handler_no_output, reset),
            cmocka_unit_test_setup(long_messages_are_cut, reset),
            cmocka_unit_test_setup(clock_is_monotonic, reset),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
