/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Go's durations (duration.c), as Go's time package parses and prints them: the values and the
 * messages docker's flags show.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/duration.h"
#include "base/util.h"

static void parses(void **state)
{
        static const struct {
                const char *s;
                int64_t ns;
        } cases[] = {
            {"0", 0},
            {"-0", 0},
            {"0s", 0},
            {"5s", INT64_C(5000000000)},
            {"30s", INT64_C(30000000000)},
            {"1m30s", INT64_C(90000000000)},
            {"1.5h", INT64_C(5400000000000)},
            {"300ms", 300000000},
            {"-1s", -1000000000},
            {"+1s", 1000000000},
            {"1h2m3.5s", INT64_C(3723500000000)},
            {"1us", 1000},
            {"1\u00b5s", 1000},
            {"1\u03bcs", 1000},
            {"7ns", 7},
            {".5s", 500000000},
            {"1.s", 1000000000},
            {"1.000000001s", 1000000001},
            {"0.1234567891s", 123456789},
            {"2562047h47m16.854775807s", INT64_MAX},
            {"9223372036854775807ns", INT64_MAX},
            {"-9223372036854775808ns", INT64_MIN},
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                struct berth_error *e = NULL;
                int64_t ns = -42;

                if (berth_duration_parse(cases[i].s, &ns, &e) < 0)
                        fail_msg("%s: %s", cases[i].s, e->msg);
                if (ns != cases[i].ns)
                        fail_msg("%s: %lld, not %lld", cases[i].s, (long long) ns,
                                 (long long) cases[i].ns);
        }
}

static void refuses(void **state)
{
        static const struct {
                const char *s, *msg;
        } cases[] = {
            {"", "time: invalid duration \"\""},
            {"-", "time: invalid duration \"-\""},
            {"1", "time: missing unit in duration \"1\""},
            {"1s2", "time: missing unit in duration \"1s2\""},
            {"1x", "time: unknown unit \"x\" in duration \"1x\""},
            {"1d", "time: unknown unit \"d\" in duration \"1d\""},
            {"abc", "time: invalid duration \"abc\""},
            {".", "time: invalid duration \".\""},
            {".s", "time: invalid duration \".s\""},
            {"1s ", "time: unknown unit \"s \" in duration \"1s \""},
            {"1s\n", "time: unknown unit \"s\\x0a\" in duration \"1s\\x0a\""},
            {"\"1s", "time: invalid duration \"\\\"1s\""},
            {"9223372036854775808ns", "time: invalid duration \"9223372036854775808ns\""},
            {"3000000h", "time: invalid duration \"3000000h\""},
            {"99999999999999999999s", "time: invalid duration \"99999999999999999999s\""},
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                struct berth_error *e = NULL;
                int64_t ns = -42;

                if (berth_duration_parse(cases[i].s, &ns, &e) != -EINVAL)
                        fail_msg("%s: accepted (%lld)", cases[i].s, (long long) ns);
                assert_string_equal(e->msg, cases[i].msg);
                assert_int_equal(ns, -42);
                berth_error_free(e);
        }
}

static void prints(void **state)
{
        static const struct {
                int64_t ns;
                const char *s;
        } cases[] = {
            {0, "0s"},
            {1, "1ns"},
            {999, "999ns"},
            {1100, "1.1\u00b5s"},
            {1000000, "1ms"},
            {2200000, "2.2ms"},
            {500000000, "500ms"},
            {1000000000, "1s"},
            {1500000000, "1.5s"},
            {INT64_C(30000000000), "30s"},
            {INT64_C(60000000000), "1m0s"},
            {INT64_C(90000000000), "1m30s"},
            {INT64_C(3600000000000), "1h0m0s"},
            {INT64_C(3723500000000), "1h2m3.5s"},
            {-1000000000, "-1s"},
            {-1, "-1ns"},
            {INT64_MAX, "2562047h47m16.854775807s"},
            {INT64_MIN, "-2562047h47m16.854775808s"},
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                _autofree_ char *s = berth_duration_format(cases[i].ns);

                assert_string_equal(s, cases[i].s);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(parses),
            cmocka_unit_test(refuses),
            cmocka_unit_test(prints),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
