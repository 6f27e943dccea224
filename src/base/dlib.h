/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * A shared library loaded on first use instead of linked: libcurl and libarchive, which linked
 * (with what they bring) would cost every start of berth more than they are worth to the commands
 * that never touch a registry or a tar (bench/README.md has the figure).
 *
 * The library's functions are listed once, as an X-macro, and the list gives both the table of
 * typed pointers (their types come from the library's own header) and the names dlsym() looks up:
 *
 *   foo-dl.h:  #include <foo.h>
 *              #define BERTH_FOO_FUNCS(X) X(foo_open) X(foo_close)
 *              BERTH_DLIB_TABLE(berth_foo_api, BERTH_FOO_FUNCS);
 *              extern struct berth_foo_api berth_foo;
 *              #define foo_open (*berth_foo.foo_open)        (call sites read as plain calls)
 *   foo-dl.c:  struct berth_foo_api berth_foo;
 *              BERTH_DLIB(lib, berth_foo, BERTH_FOO_FUNCS, "libfoo.so.1", "libfoo1", NULL);
 *              ... berth_dlib_load(&lib, err) ...
 *
 * Every entry point of a user loads the library before its first call into it: a table that is not
 * loaded holds NULL pointers.
 */

#include <stddef.h>

#include "base/error.h"

#define BERTH_DLIB_MEMBER(f) __typeof__(f) *f;
/* struct type { <one pointer per function of LIST, of the function's own type> } */
#define BERTH_DLIB_TABLE(type, LIST)                                                               \
        struct type {                                                                              \
                LIST(BERTH_DLIB_MEMBER)                                                            \
        }

struct berth_dlib {
        const char *soname;       /* "libcurl.so.4" */
        const char *package;      /* the Debian package that ships it, named in the errors */
        const char *const *names; /* the symbols, in the table's order */
        size_t n_names;
        void *table; /* n_names function pointers, filled by berth_dlib_load() */
        /* Optional, run once after the symbols are in the table (curl_global_init). */
        int (*init)(struct berth_error **err);
        /* Private: the outcome of the one attempt. */
        int state; /* 0 not tried, 1 loaded, -1 failed */
        int code;
        char *error;
};

#define BERTH_DLIB_NAME(f) #f,
/* static struct berth_dlib var: the library soname, shipped by the Debian package package, whose
 * functions LIST go into table (a struct of BERTH_DLIB_TABLE); init may be NULL. */
#define BERTH_DLIB(var, table_, LIST, soname_, package_, init_)                                    \
        static const char *const var##_names[] = {LIST(BERTH_DLIB_NAME)};                          \
        _Static_assert(sizeof(table_) ==                                                           \
                           sizeof(var##_names) / sizeof(char *) * sizeof(void (*)(void)),          \
                       "one function pointer per name");                                           \
        static struct berth_dlib var = {                                                           \
            .soname = soname_,                                                                     \
            .package = package_,                                                                   \
            .names = var##_names,                                                                  \
            .n_names = sizeof(var##_names) / sizeof(char *),                                       \
            .table = &(table_),                                                                    \
            .init = init_,                                                                         \
        }

/*
 * Loads lib and fills its table, once per process (thread-safe; the library is never closed), then
 * runs lib->init. Later calls return the first outcome. -ELIBACC when the library cannot be loaded
 * ("load libcurl.so.4: <dlerror> (install the Debian package libcurl4)") or lacks one of the
 * symbols ("load libarchive.so.13: undefined symbol archive_x (upgrade the Debian package
 * libarchive13)"), or lib->init's error.
 */
int berth_dlib_load(struct berth_dlib *lib, struct berth_error **err);
