/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdarg.h>
#include <stddef.h>

/*
 * An error carries a positive errno value and a message that grows a prefix at each layer:
 *
 *   mount proc on /proc: Permission denied
 *   start 'web': mount proc on /proc: Permission denied
 *
 * Functions that fail return -code, where code is never 0, and leave ret_ parameters untouched.
 * `err` may be NULL when the caller does not want the message.
 */
struct berth_error {
        int code;  /* positive errno */
        char *msg; /* full message, chain included */
};

/* Sets *err to "<fmt>: <strerror(code)>" and returns -code. code == 0 becomes EIO. */
int berth_error_set(struct berth_error **err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like berth_error_set() but without the errno text: for logical errors whose message already
 * says everything ("process.args: must not be empty"). */
int berth_error_setx(struct berth_error **err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* berth_error_setx() for a va_list: the parsers' "FIELD: message" helpers format the message
 * with it, then berth_error_prefix() the field. */
int berth_error_vsetx(struct berth_error **err, int code, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Prepends "<fmt>: " to the message in *err and returns -(*err)->code (or -EIO if *err is NULL). */
int berth_error_prefix(struct berth_error **err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void berth_error_free(struct berth_error *e);
static inline void berth_error_freep(struct berth_error **e)
{
        berth_error_free(*e);
        *e = NULL;
}
#define _autoerr_ __attribute__((cleanup(berth_error_freep)))
