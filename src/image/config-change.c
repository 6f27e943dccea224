/* SPDX-License-Identifier: Apache-2.0 */
/*
 * docker's --change lines (import, commit) into a struct berth_config_change: CMD, ENTRYPOINT,
 * ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR, with docker's JSON or shell forms.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "image/image-archive.h"
#include "base/util.h"

/* jansson's own json_decrefp (2.11+) */
#define _autojson_ _cleanup_(json_decrefp)

/* Splits s into words as docker's ENV/LABEL do: blanks separate, "..." and '...' quote, a
 * backslash escapes the next character (but inside '...'). */
static int split_words(const char *s, char ***ret, struct berth_error **err)
{
        _autostrv_ char **v = NULL;
        _autofree_ char *w = xcalloc(strlen(s) + 1, 1);
        size_t n = 0;

        for (const char *p = s; *p;) {
                size_t o = 0;
                char q = 0;

                p += strspn(p, " \t");
                if (!*p)
                        break;
                for (; *p && (q || !strchr(" \t", *p)); p++) {
                        if (q && *p == q)
                                q = 0;
                        else if (!q && (*p == '"' || *p == '\''))
                                q = *p;
                        else if (*p == '\\' && q != '\'' && p[1])
                                w[o++] = *++p;
                        else
                                w[o++] = *p;
                }
                if (q)
                        return berth_error_setx(err, EINVAL, "unterminated %c quote", q);
                w[o] = '\0';
                strv_push(&v, &n, xstrdup(w));
        }
        *ret = v ? steal_ptr(&v) : xcalloc(1, sizeof(char *));
        return 0;
}

/* A JSON array of strings, or NULL when s is not one (then docker takes the shell form). */
static char **json_strv(const char *s)
{
        _autojson_ json_t *j = NULL;
        char **v = NULL;
        json_t *e;
        size_t n = 0, i;

        if (s[0] != '[')
                return NULL;
        j = json_loads(s, 0, NULL);
        if (!json_is_array(j))
                return NULL;
        json_array_foreach(j, i, e) if (!json_is_string(e)) return NULL;
        v = xcalloc(1, sizeof(char *));
        json_array_foreach(j, i, e) strv_push(&v, &n, xstrdup(json_string_value(e)));
        return v;
}

static char **exec_or_shell(const char *rest)
{
        char **v = json_strv(rest);

        if (v)
                return v;
        v = xcalloc(4, sizeof(char *));
        v[0] = xstrdup("/bin/sh");
        v[1] = xstrdup("-c");
        v[2] = xstrdup(rest);
        return v;
}

static int change_cmd(struct berth_config_change *c, const char *rest, struct berth_error **err)
{
        strv_free(c->cmd);
        c->cmd = exec_or_shell(rest);
        c->set_cmd = true;
        return 0;
}

static int change_entrypoint(struct berth_config_change *c, const char *rest,
                             struct berth_error **err)
{
        strv_free(c->entrypoint);
        c->entrypoint = exec_or_shell(rest);
        c->set_entrypoint = true;
        return 0;
}

/* KEY=VALUE pairs, or docker's legacy "KEY VALUE..." form (the value: the rest of the line). */
static int key_values(const char *what, const char *rest, char ***ret, struct berth_error **err)
{
        _autostrv_ char **words = NULL;
        size_t klen = strcspn(rest, " \t=");
        int r;

        if (rest[klen] != '=') {
                const char *value = rest + klen + strspn(rest + klen, " \t");

                if (!*value)
                        return berth_error_setx(err, EINVAL, "%s needs KEY=VALUE or KEY VALUE",
                                                what);
                words = xcalloc(2, sizeof(char *));
                words[0] = xasprintf("%.*s=%s", (int) klen, rest, value);
                *ret = steal_ptr(&words);
                return 0;
        }
        r = split_words(rest, &words, err);
        if (r < 0)
                return r;
        for (char **w = words; *w; w++)
                if (!strchr(*w, '=') || **w == '=')
                        return berth_error_setx(err, EINVAL, "%s: %s: expected KEY=VALUE", what,
                                                QUOTE(*w));
        *ret = steal_ptr(&words);
        return 0;
}

static int change_env(struct berth_config_change *c, const char *rest, struct berth_error **err)
{
        _autostrv_ char **kv = NULL;
        size_t n = strv_length(c->env);
        int r;

        r = key_values("ENV", rest, &kv, err);
        if (r < 0)
                return r;
        for (char **p = kv; *p; p++) {
                size_t klen = strcspn(*p, "=") + 1, i;

                for (i = 0; i < n && strncmp(c->env[i], *p, klen) != 0; i++)
                        ;
                if (i < n) {
                        free(c->env[i]);
                        c->env[i] = xstrdup(*p);
                } else {
                        strv_push(&c->env, &n, xstrdup(*p));
                }
        }
        return 0;
}

static int change_label(struct berth_config_change *c, const char *rest, struct berth_error **err)
{
        _autostrv_ char **kv = NULL;
        int r;

        r = key_values("LABEL", rest, &kv, err);
        if (r < 0)
                return r;
        for (char **p = kv; *p; p++) {
                char *eq = strchr(*p, '=');
                size_t i;

                *eq = '\0';
                for (i = 0; i < c->n_labels && !streq(c->labels[i].key, *p); i++)
                        ;
                if (i == c->n_labels) {
                        c->labels = xreallocarray(c->labels, ++c->n_labels, sizeof(*c->labels));
                        c->labels[i].key = xstrdup(*p);
                } else {
                        free(c->labels[i].value);
                }
                c->labels[i].value = xstrdup(eq + 1);
        }
        return 0;
}

static int parse_port(const char *s, const char *end, unsigned *ret)
{
        _autofree_ char *t = xasprintf("%.*s", (int) (end - s), s);
        uint64_t v;

        if (parse_u64(t, &v) < 0 || v == 0 || v > 65535)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

/* "80", "80/udp", "8000-8002/tcp" -> "80/tcp", ... */
static int expose_one(struct berth_config_change *c, const char *w, struct berth_error **err)
{
        const char *slash = strchr(w, '/'), *proto = slash ? slash + 1 : "tcp";
        const char *end = slash ? slash : w + strlen(w), *dash = memchr(w, '-', end - w);
        size_t n = strv_length(c->exposed_ports);
        unsigned lo, hi;

        if (parse_port(w, dash ? dash : end, &lo) < 0 ||
            (dash ? parse_port(dash + 1, end, &hi) < 0 : (hi = lo, false)) || hi < lo ||
            (!streq(proto, "tcp") && !streq(proto, "udp") && !streq(proto, "sctp")))
                return berth_error_setx(err, EINVAL,
                                        "EXPOSE: invalid port %s (PORT[-PORT][/tcp|"
                                        "udp|sctp])",
                                        QUOTE(w));
        for (unsigned p = lo; p <= hi; p++) {
                _autofree_ char *port = xasprintf("%u/%s", p, proto);

                if (!strv_contains(c->exposed_ports, port))
                        strv_push(&c->exposed_ports, &n, steal_ptr(&port));
        }
        return 0;
}

static int change_expose(struct berth_config_change *c, const char *rest, struct berth_error **err)
{
        _autostrv_ char **words = NULL;
        int r;

        r = split_words(rest, &words, err);
        for (char **w = words; r >= 0 && *w; w++)
                r = expose_one(c, *w, err);
        return r;
}

static int change_volume(struct berth_config_change *c, const char *rest, struct berth_error **err)
{
        _autostrv_ char **words = json_strv(rest);
        size_t n = strv_length(c->volumes);
        int r;

        if (!words) {
                r = split_words(rest, &words, err);
                if (r < 0)
                        return r;
        }
        for (char **w = words; *w; w++) {
                if (**w != '/')
                        return berth_error_setx(err, EINVAL, "VOLUME: %s: not an absolute path",
                                                QUOTE(*w));
                if (!strv_contains(c->volumes, *w))
                        strv_push(&c->volumes, &n, xstrdup(*w));
        }
        return 0;
}

/* WORKDIR, USER, STOPSIGNAL: one word (quotes removed). */
static int one_word(const char *what, const char *rest, char **field, struct berth_error **err)
{
        _autostrv_ char **words = NULL;
        int r;

        r = split_words(rest, &words, err);
        if (r < 0)
                return r;
        if (strv_length(words) != 1)
                return berth_error_setx(err, EINVAL, "%s takes one argument", what);
        free(*field);
        *field = steal_ptr(&words[0]);
        return 0;
}

static int change_workdir(struct berth_config_change *c, const char *rest, struct berth_error **err)
{
        return one_word("WORKDIR", rest, &c->working_dir, err);
}

static int change_user(struct berth_config_change *c, const char *rest, struct berth_error **err)
{
        return one_word("USER", rest, &c->user, err);
}

static int change_stopsignal(struct berth_config_change *c, const char *rest,
                             struct berth_error **err)
{
        return one_word("STOPSIGNAL", rest, &c->stop_signal, err);
}

int berth_config_change_parse(const char *line, struct berth_config_change *c,
                              struct berth_error **err)
{
        static const struct {
                const char *name;
                int (*parse)(struct berth_config_change *c, const char *rest,
                             struct berth_error **err);
        } table[] = {
            {"CMD", change_cmd},         {"ENTRYPOINT", change_entrypoint},
            {"ENV", change_env},         {"EXPOSE", change_expose},
            {"LABEL", change_label},     {"STOPSIGNAL", change_stopsignal},
            {"USER", change_user},       {"VOLUME", change_volume},
            {"WORKDIR", change_workdir},
        };
        const char *p = line + strspn(line, " \t"), *rest;
        size_t n = strcspn(p, " \t");
        char word[16] = "";
        int r;

        rest = p + n + strspn(p + n, " \t");
        for (size_t i = 0; i < n && i < sizeof(word) - 1; i++)
                word[i] = (char) (p[i] >= 'a' && p[i] <= 'z' ? p[i] - 'a' + 'A' : p[i]);
        for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
                if (n != strlen(table[i].name) || strncasecmp(p, table[i].name, n) != 0)
                        continue;
                if (!*rest)
                        return berth_error_setx(err, EINVAL, "--change %s: %s needs an argument",
                                                QUOTE(line), table[i].name);
                r = table[i].parse(c, rest, err);
                return r < 0 ? berth_error_prefix(err, "--change %s", QUOTE(line)) : 0;
        }
        if (n == 0)
                return berth_error_setx(err, EINVAL, "--change %s: empty", QUOTE(line));
        return berth_error_setx(err, EINVAL,
                                "--change %s: %s is not supported (CMD, ENTRYPOINT, "
                                "ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR)",
                                QUOTE(line), word);
}
