/* SPDX-License-Identifier: Apache-2.0 */
/*
 * base/dlib: a library loaded on first use fills its table once, and a missing library or symbol
 * is an error naming the library, the symbol and the Debian package, every time it is asked.
 * libm stands in for libcurl and libarchive.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/dlib.h"
#include "base/util.h"

/* Declared only so that the table has its type: no library defines it. */
double berth_test_absent(double x);

#define M_FUNCS(X) X(hypot) X(fabs)
BERTH_DLIB_TABLE(m_api, M_FUNCS);
static struct m_api m;
BERTH_DLIB(libm, m, M_FUNCS, "libm.so.6", "libc6", NULL);

#define ABSENT_FUNCS(X) X(hypot) X(berth_test_absent)
BERTH_DLIB_TABLE(absent_api, ABSENT_FUNCS);
static struct absent_api absent;
BERTH_DLIB(libm_absent, absent, ABSENT_FUNCS, "libm.so.6", "libc6", NULL);

static struct m_api none;
BERTH_DLIB(libnone, none, M_FUNCS, "libberth-test-none.so.0", "berth-test-none", NULL);

static int init_calls;

static int init_fails(struct berth_error **err)
{
        __atomic_add_fetch(&init_calls, 1, __ATOMIC_RELAXED);
        return berth_error_setx(err, EPROTO, "init: refused");
}

static struct m_api failing;
BERTH_DLIB(libm_failing, failing, M_FUNCS, "libm.so.6", "libc6", init_fails);

static void loads_the_table(void **state)
{
        _autoerr_ struct berth_error *err = NULL;

        assert_int_equal(berth_dlib_load(&libm, &err), 0);
        assert_null(err);
        assert_true(m.hypot(3.0, 4.0) == 5.0);
        assert_true(m.fabs(-2.0) == 2.0);
        assert_int_equal(berth_dlib_load(&libm, NULL), 0);
}

static void missing_library_names_the_package(void **state)
{
        _autoerr_ struct berth_error *err = NULL, *again = NULL;

        assert_int_equal(berth_dlib_load(&libnone, &err), -ELIBACC);
        assert_non_null(strstr(err->msg, "load libberth-test-none.so.0: "));
        assert_non_null(strstr(err->msg, "(install the Debian package berth-test-none)"));
        assert_null(none.hypot);
        /* the first outcome stays */
        assert_int_equal(berth_dlib_load(&libnone, &again), -ELIBACC);
        assert_string_equal(again->msg, err->msg);
}

static void missing_symbol_names_it(void **state)
{
        _autoerr_ struct berth_error *err = NULL;

        assert_int_equal(berth_dlib_load(&libm_absent, &err), -ELIBACC);
        assert_string_equal(err->msg, "load libm.so.6: undefined symbol berth_test_absent "
                                      "(upgrade the Debian package libc6)");
}

static void *load_failing(void *arg)
{
        struct berth_error *err = NULL;
        intptr_t r = berth_dlib_load(&libm_failing, &err);

        berth_error_free(err);
        return (void *) r;
}

/* The init runs once, even with threads racing to load, and its error is every caller's. */
static void init_runs_once(void **state)
{
        pthread_t t[8];
        void *r;

        for (size_t i = 0; i < ARRAY_SIZE(t); i++)
                assert_int_equal(pthread_create(&t[i], NULL, load_failing, NULL), 0);
        for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
                assert_int_equal(pthread_join(t[i], &r), 0);
                assert_int_equal((intptr_t) r, -EPROTO);
        }
        assert_int_equal(init_calls, 1);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(loads_the_table),
            cmocka_unit_test(missing_library_names_the_package),
            cmocka_unit_test(missing_symbol_names_it),
            cmocka_unit_test(init_runs_once),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
