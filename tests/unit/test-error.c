/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/error.h"
#include "base/util.h"

static void set_appends_errno_text(void **state)
{
        _autoerr_ struct berth_error *err = NULL;

        assert_int_equal(berth_error_set(&err, ENOENT, "open %s", "/x"), -ENOENT);
        assert_string_equal(err->msg, "open /x: No such file or directory");
        assert_int_equal(err->code, ENOENT);
}

static void prefix_chains(void **state)
{
        _autoerr_ struct berth_error *err = NULL;

        berth_error_setx(&err, EINVAL, "process.args: must not be empty");
        assert_int_equal(berth_error_prefix(&err, "create '%s'", "web"), -EINVAL);
        assert_string_equal(err->msg, "create 'web': process.args: must not be empty");
}

static void zero_code_becomes_eio(void **state)
{
        _autoerr_ struct berth_error *err = NULL;

        assert_int_equal(berth_error_setx(&err, 0, "x"), -EIO);
        assert_int_equal(berth_error_set(NULL, EPERM, "y"), -EPERM);
}

static void parse_numbers(void **state)
{
        uint64_t u;
        int64_t i;

        assert_int_equal(parse_u64("42", &u), 0);
        assert_int_equal(u, 42);
        assert_int_equal(parse_u64("-1", &u), -EINVAL);
        assert_int_equal(parse_u64("1x", &u), -EINVAL);
        assert_int_equal(parse_u64("99999999999999999999999", &u), -ERANGE);
        assert_int_equal(parse_i64("-7", &i), 0);
        assert_int_equal(i, -7);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(set_appends_errno_text),
            cmocka_unit_test(prefix_chains),
            cmocka_unit_test(zero_code_becomes_eio),
            cmocka_unit_test(parse_numbers),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
