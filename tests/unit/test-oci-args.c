/* SPDX-License-Identifier: Apache-2.0 */
/* berth-oci's flag parser (src/oci/args.c) and signal names (src/oci/cmd-kill.c). */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/signal.h"
#include "oci.h"
#include "base/util.h"

enum { F_BUNDLE, F_DETACH, F_PID_FILE };

static const struct oci_flag flags[] = {
    [F_BUNDLE] = {"bundle", 'b', true, "bundle"},
    [F_DETACH] = {"detach", 'd', false, "detach"},
    [F_PID_FILE] = {"pid-file", 0, true, "pid file"},
};

static int parse(char **argv, bool stop, struct oci_args *a, struct berth_error **err)
{
        return oci_args_parse(flags, ARRAY_SIZE(flags), (int) strv_length(argv), argv, stop, a,
                              err);
}

static void value_forms(void **state)
{
        char *argv[] = {"--bundle=/a", "-pid-file", "/p", "id", "-d", NULL};
        struct oci_args a;

        assert_int_equal(parse(argv, false, &a, NULL), 0);
        assert_string_equal(a.values[F_BUNDLE], "/a");
        assert_string_equal(a.values[F_PID_FILE], "/p");
        assert_true(oci_args_bool(&a, F_DETACH));
        assert_int_equal(a.n_pos, 1);
        assert_string_equal(a.pos[0], "id");
        oci_args_clear(&a);
}

static void short_and_single_dash(void **state)
{
        char *argv[] = {"-b", "/b", "-detach=false", "id", NULL};
        struct oci_args a;

        assert_int_equal(parse(argv, false, &a, NULL), 0);
        assert_string_equal(a.values[F_BUNDLE], "/b");
        assert_false(oci_args_bool(&a, F_DETACH));
        assert_string_equal(a.values[F_DETACH], "false");
        oci_args_clear(&a);
}

static void errors(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        char *unknown[] = {"--foo=1", "id", NULL};
        char *missing[] = {"id", "--bundle", NULL};
        char *badbool[] = {"--detach=maybe", NULL};
        struct oci_args a;

        assert_int_equal(parse(unknown, false, &a, &err), -EINVAL);
        assert_string_equal(err->msg, "unknown flag --foo");
        assert_int_equal(parse(missing, false, &a, &err), -EINVAL);
        assert_string_equal(err->msg, "flag --bundle needs a value");
        assert_int_equal(parse(badbool, false, &a, &err), -EINVAL);
        assert_string_equal(err->msg, "invalid boolean value \"maybe\" for --detach");
}

static void stop_and_terminator(void **state)
{
        char *global[] = {"-b", "x", "create", "--bundle", "y", NULL};
        char *dashes[] = {"--", "-d", "-", NULL};
        struct oci_args a;

        assert_int_equal(parse(global, true, &a, NULL), 0);
        assert_int_equal(a.next, 2);
        /* flags end at the first positional: the rest is positional, flags or not (ps ID -ef) */
        assert_int_equal(a.n_pos, 3);
        assert_string_equal(a.pos[0], "create");
        assert_string_equal(a.pos[1], "--bundle");
        oci_args_clear(&a);
        assert_int_equal(parse(dashes, false, &a, NULL), 0);
        assert_int_equal(a.n_pos, 2);
        assert_string_equal(a.pos[0], "-d");
        assert_string_equal(a.pos[1], "-");
        assert_null(a.values[F_DETACH]);
        oci_args_clear(&a);
}

static void help_flag(void **state)
{
        char *argv[] = {"id", "-h", NULL};
        struct oci_args a;

        assert_int_equal(parse(argv, false, &a, NULL), 0);
        assert_true(a.help);
        oci_args_clear(&a);
}

static void signals(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        int sig;

        assert_int_equal(berth_signal_parse("9", &sig, NULL), 0);
        assert_int_equal(sig, SIGKILL);
        assert_int_equal(berth_signal_parse("term", &sig, NULL), 0);
        assert_int_equal(sig, SIGTERM);
        assert_int_equal(berth_signal_parse("SIGusr1", &sig, NULL), 0);
        assert_int_equal(sig, SIGUSR1);
        assert_int_equal(berth_signal_parse("RTMIN+2", &sig, NULL), 0);
        assert_int_equal(sig, SIGRTMIN + 2);
        assert_int_equal(berth_signal_parse("CLD", &sig, NULL), 0);
        assert_int_equal(sig, SIGCHLD);
        assert_int_equal(berth_signal_parse("SIGFOO", &sig, &err), -EINVAL);
        assert_string_equal(err->msg, "unknown signal \"SIGFOO\"");
        assert_int_equal(berth_signal_parse("65", &sig, NULL), -EINVAL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(value_forms), cmocka_unit_test(short_and_single_dash),
            cmocka_unit_test(errors),      cmocka_unit_test(stop_and_terminator),
            cmocka_unit_test(help_flag),   cmocka_unit_test(signals),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
