/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"

static int set_msg(struct berth_error **err, int code, char *msg)
{
        if (code <= 0)
                code = EIO;
        if (!err) {
                free(msg);
                return -code;
        }
        berth_error_free(*err);
        *err = malloc(sizeof(**err));
        if (!*err) {
                free(msg);
                return -code;
        }
        (*err)->code = code;
        (*err)->msg = msg ? msg : strdup(strerror(code));
        return -code;
}

int berth_error_set(struct berth_error **err, int code, const char *fmt, ...)
{
        char *head = NULL, *msg = NULL;
        va_list ap;
        int saved = code > 0 ? code : EIO;

        va_start(ap, fmt);
        if (vasprintf(&head, fmt, ap) < 0)
                head = NULL;
        va_end(ap);
        if (head && asprintf(&msg, "%s: %s", head, strerror(saved)) < 0)
                msg = NULL;
        free(head);
        return set_msg(err, saved, msg);
}

int berth_error_vsetx(struct berth_error **err, int code, const char *fmt, va_list ap)
{
        char *msg = NULL;

        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        return set_msg(err, code, msg);
}

int berth_error_setx(struct berth_error **err, int code, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = berth_error_vsetx(err, code, fmt, ap);
        va_end(ap);
        return r;
}

int berth_error_prefix(struct berth_error **err, const char *fmt, ...)
{
        char *head = NULL, *msg = NULL;
        va_list ap;

        if (!err || !*err)
                return -EIO;
        va_start(ap, fmt);
        if (vasprintf(&head, fmt, ap) < 0)
                head = NULL;
        va_end(ap);
        if (head && asprintf(&msg, "%s: %s", head, (*err)->msg) >= 0) {
                free((*err)->msg);
                (*err)->msg = msg;
        }
        free(head);
        return -(*err)->code;
}

void berth_error_free(struct berth_error *e)
{
        if (!e)
                return;
        free(e->msg);
        free(e);
}
