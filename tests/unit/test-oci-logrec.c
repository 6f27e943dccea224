/* SPDX-License-Identifier: Apache-2.0 */
/*
 * runc's log records (src/oci/logrec.c): the expected strings are what runc 1.1.5 (logrus 1.8,
 * Go 1.19) writes for the same message; the escaped path below is copied from runc's own record
 * of `runc --log L [--log-format json] create --bundle PATH` (tests/integration/
 * test_runc_exact_log.py checks the same side by side).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "logrec.h"

#define STAMP "2026-12-08T00:26:18Z"

static const char *text(const char *msg)
{
        static char buf[1024];

        oci_logrec_format(false, "error", msg, STAMP, buf, sizeof(buf));
        return buf;
}

static const char *json(const char *msg)
{
        static char buf[1024];

        oci_logrec_format(true, "error", msg, STAMP, buf, sizeof(buf));
        return buf;
}

static void text_quoting(void **state)
{
        assert_string_equal(text("No help topic for 'foo'\n"),
                            "time=\"" STAMP "\" level=error msg=\"No help topic for 'foo'\\n\"\n");
        /* logrus leaves a value of only [A-Za-z0-9-._/@^+] bare, an empty one too */
        assert_string_equal(text("a-b.c_d/e@f^g+h"),
                            "time=\"" STAMP "\" level=error msg=a-b.c_d/e@f^g+h\n");
        assert_string_equal(text(""), "time=\"" STAMP "\" level=error msg=\n");
        assert_string_equal(text("   37 µs  x"),
                            "time=\"" STAMP "\" level=error msg=\"   37 µs  x\"\n");
}

/* The bundle path of runc's record, and the record it makes, both formats. */
#define PATH "/nonexist/a\"b\\c<d>&e\x01\x7f\tµ\xff\xe2\x80\xa8\xc2\xa0z"

static void as_runc_escapes_a_path(void **state)
{
        assert_string_equal(text(PATH),
                            "time=\"" STAMP "\" level=error msg=\"/nonexist/a\\\"b\\\\c<d>&"
                            "e\\x01\\x7f\\tµ\\xff\\u2028\\u00a0z\"\n");
        assert_string_equal(json(PATH),
                            "{\"level\":\"error\",\"msg\":\"/nonexist/a\\\"b\\\\c\\u003cd"
                            "\\u003e\\u0026e\\u0001\x7f\\tµ\\ufffd\\u2028\xc2\xa0z\","
                            "\"time\":\"" STAMP "\"}\n");
}

static void control_and_wide_characters(void **state)
{
        assert_string_equal(text("\a\b\f\v\r\x1b"), "time=\"" STAMP "\" level=error "
                                                    "msg=\"\\a\\b\\f\\v\\r\\x1b\"\n");
        assert_string_equal(json("\a\b\f\v\r\x1b"),
                            "{\"level\":\"error\",\"msg\":\"\\u0007\\u0008"
                            "\\u000c\\u000b\\r\\u001b\",\"time\":\"" STAMP "\"}\n");
        /* printable beyond the BMP stays; a tag character is escaped with \U; a cut sequence is
         * one invalid byte, then what follows */
        assert_string_equal(text("\xf0\x9f\x98\x80\xf3\xa0\x80\x81\xe2\x80"),
                            "time=\"" STAMP "\" level=error msg=\"\xf0\x9f\x98\x80\\U000e0001"
                            "\\xe2\\x80\"\n");
        assert_string_equal(
            json("\xf0\x9f\x98\x80\xe2\x80\xa9\xc0\xaf"),
            "{\"level\":\"error\",\"msg\":\"\xf0\x9f\x98\x80\\u2029\\ufffd\\ufffd\","
            "\"time\":\"" STAMP "\"}\n");
}

static void too_small_counts_like_snprintf(void **state)
{
        char buf[16];
        size_t n = oci_logrec_format(true, "debug", "0123456789", STAMP, buf, sizeof(buf));

        assert_int_equal(n, strlen(json("0123456789")) + strlen("debug") - strlen("error"));
        assert_int_equal(strlen(buf), sizeof(buf) - 1);
        assert_int_equal(oci_logrec_format(false, "debug", "x", STAMP, NULL, 0),
                         strlen("time=\"" STAMP "\" level=debug msg=x\n"));
}

static void local_time_as_rfc3339(void **state)
{
        char buf[40];

        setenv("TZ", "UTC", 1);
        tzset();
        oci_logrec_time(1796689578, buf, sizeof(buf));
        assert_string_equal(buf, "2026-12-08T00:26:18Z");
        setenv("TZ", "XXX-1", 1); /* POSIX: one hour east of UTC */
        tzset();
        oci_logrec_time(1796689578, buf, sizeof(buf));
        assert_string_equal(buf, "2026-12-08T01:26:18+01:00");
        setenv("TZ", "XXX+5:30", 1);
        tzset();
        oci_logrec_time(1796689578, buf, sizeof(buf));
        assert_string_equal(buf, "2026-12-07T18:56:18-05:30");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(text_quoting),
            cmocka_unit_test(as_runc_escapes_a_path),
            cmocka_unit_test(control_and_wide_characters),
            cmocka_unit_test(too_small_counts_like_snprintf),
            cmocka_unit_test(local_time_as_rfc3339),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
