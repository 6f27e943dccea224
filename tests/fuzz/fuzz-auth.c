/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for the WWW-Authenticate parser (registry-auth.c), which reads a header any
 * registry or a server in between sends: each input, NUL-terminated, is parsed as the header's
 * value. What parses must be a Basic or a Bearer challenge, a Bearer one with a realm; written
 * back as one challenge with every parameter quoted, it must parse to the same challenge. Leaks
 * are findings too. Seeds: tests/fuzz/corpus-auth/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "image/registry-auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *what)
{
        fprintf(stderr, "fuzz-auth: %s\n", what);
        abort();
}

/* ", name=\"value\"" with '"' and '\\' escaped, appended at *o (buf is large enough). */
static void put_param(char *buf, size_t *o, const char *name, const char *value)
{
        if (!value)
                return;
        *o += (size_t) sprintf(buf + *o, ", %s=\"", name);
        for (const char *s = value; *s; s++) {
                if (*s == '"' || *s == '\\')
                        buf[(*o)++] = '\\';
                buf[(*o)++] = *s;
        }
        buf[(*o)++] = '"';
        buf[*o] = '\0';
}

static int streq_null(const char *a, const char *b)
{
        return a == b || (a && b && strcmp(a, b) == 0);
}

/* c written back as a header parses to c again. */
static void check_reparse(const struct berth_auth_challenge *c, size_t size)
{
        struct berth_auth_challenge again = {0};
        char *buf = malloc(2 * size + 128);
        size_t o;

        if (!buf)
                return;
        /* "Basic, realm=..." is not a challenge with parameters: the first one has no comma */
        o = (size_t) sprintf(buf, "%s",
                             c->scheme == BERTH_AUTH_BEARER ? "Bearer x=y" : "Basic x=y");
        put_param(buf, &o, "realm", c->realm);
        put_param(buf, &o, "service", c->service);
        put_param(buf, &o, "scope", c->scope);
        if (berth_auth_challenge_parse(buf, &again, NULL) < 0)
                die("a challenge written back does not parse");
        if (again.scheme != c->scheme || !streq_null(again.realm, c->realm) ||
            !streq_null(again.service, c->service) || !streq_null(again.scope, c->scope))
                die("a challenge written back parses to another one");
        berth_auth_challenge_clear(&again);
        free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct berth_auth_challenge c = {0};
        struct berth_error *err = NULL;
        char *text = malloc(size + 1);

        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        if (berth_auth_challenge_parse(text, &c, &err) == 0) {
                if (c.scheme != BERTH_AUTH_BASIC && c.scheme != BERTH_AUTH_BEARER)
                        die("parsed, but neither Basic nor Bearer");
                if (c.scheme == BERTH_AUTH_BEARER && !c.realm)
                        die("a Bearer challenge without realm");
                check_reparse(&c, size);
                berth_auth_challenge_clear(&c);
        } else if (!err || !err->msg || !strstr(err->msg, "WWW-Authenticate ")) {
                die("an error that does not name the header");
        }
        berth_error_free(err);
        free(text);
        return 0;
}
