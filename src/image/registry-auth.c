/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "image/registry-auth.h"
#include "base/util.h"

#define DEFAULT_CERTS_D "/etc/berth/certs.d"
#define DOCKER_IO "docker.io"
/* docker writes Docker Hub's credentials under this key. */
#define DOCKER_IO_LEGACY_KEY "https://index.docker.io/v1/"

/* jansson's own cleanup helper. */
#define _autojson_ _cleanup_(json_decrefp)

/* ---- WWW-Authenticate ------------------------------------------------------------------- */

static bool is_tchar(char c)
{
        return isalnum((unsigned char) c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static void skip_ws(const char **p)
{
        while (**p == ' ' || **p == '\t')
                (*p)++;
}

/* An RFC 7230 token, or NULL when there is none at *p. */
static char *read_token(const char **p)
{
        const char *s = *p;

        while (is_tchar(**p))
                (*p)++;
        return *p > s ? strndup(s, (size_t) (*p - s)) : NULL;
}

/* A quoted-string at *p (which is '"'), backslash escapes resolved. */
static int read_quoted(const char **p, char **ret)
{
        _autofree_ char *buf = xcalloc(strlen(*p) + 1, 1);
        const char *s = *p + 1;
        size_t n = 0;

        for (; *s && *s != '"'; s++) {
                if (*s == '\\' && s[1])
                        s++;
                buf[n++] = *s;
        }
        if (*s != '"')
                return -EINVAL;
        *p = s + 1;
        *ret = steal_ptr(&buf);
        return 0;
}

static void challenge_param(struct berth_auth_challenge *c, const char *name, char **value)
{
        char **slot = NULL;

        if (strcasecmp(name, "realm") == 0)
                slot = &c->realm;
        else if (strcasecmp(name, "service") == 0)
                slot = &c->service;
        else if (strcasecmp(name, "scope") == 0)
                slot = &c->scope;
        if (slot && !*slot)
                *slot = steal_ptr(value);
}

/* Reads "name=value" pairs after a scheme until the next challenge or the end. */
static int read_params(const char **p, struct berth_auth_challenge *c)
{
        for (;;) {
                _autofree_ char *name = NULL, *value = NULL;
                const char *save;

                skip_ws(p);
                save = *p;
                name = read_token(p);
                skip_ws(p);
                if (!name || **p != '=') {
                        *p = save; /* the next challenge's scheme */
                        return 0;
                }
                (*p)++;
                skip_ws(p);
                if (**p == '"') {
                        if (read_quoted(p, &value) < 0)
                                return -EINVAL;
                } else if (!(value = read_token(p))) {
                        return -EINVAL;
                }
                challenge_param(c, name, &value);
                skip_ws(p);
                if (**p == '\0')
                        return 0;
                if (**p != ',')
                        return -EINVAL;
                (*p)++;
        }
}

static enum berth_auth_scheme scheme_of(const char *s)
{
        if (strcasecmp(s, "bearer") == 0)
                return BERTH_AUTH_BEARER;
        if (strcasecmp(s, "basic") == 0)
                return BERTH_AUTH_BASIC;
        return BERTH_AUTH_NONE;
}

int berth_auth_challenge_parse(const char *value, struct berth_auth_challenge *ret,
                               struct berth_error **err)
{
        struct berth_auth_challenge best = {0};
        const char *p = value;

        while (*p) {
                struct berth_auth_challenge c = {0};
                _autofree_ char *scheme = NULL;

                while (*p == ' ' || *p == '\t' || *p == ',')
                        p++;
                if (!*p)
                        break;
                scheme = read_token(&p);
                if (!scheme || read_params(&p, &c) < 0) {
                        berth_auth_challenge_clear(&c);
                        berth_auth_challenge_clear(&best);
                        return berth_error_setx(err, EINVAL, "WWW-Authenticate %s: malformed",
                                                QUOTE(value));
                }
                c.scheme = scheme_of(scheme);
                if (c.scheme > best.scheme) {
                        berth_auth_challenge_clear(&best);
                        best = c;
                } else {
                        berth_auth_challenge_clear(&c);
                }
        }
        if (best.scheme == BERTH_AUTH_NONE)
                return berth_error_setx(err, ENOTSUP,
                                        "WWW-Authenticate %s: no Bearer or Basic challenge",
                                        QUOTE(value));
        if (best.scheme == BERTH_AUTH_BEARER && !best.realm) {
                berth_auth_challenge_clear(&best);
                return berth_error_setx(err, EINVAL, "WWW-Authenticate %s: Bearer without realm",
                                        QUOTE(value));
        }
        *ret = best;
        return 0;
}

void berth_auth_challenge_clear(struct berth_auth_challenge *c)
{
        free(c->realm);
        free(c->service);
        free(c->scope);
        *c = (struct berth_auth_challenge){0};
}

/* ---- base64, credentials ---------------------------------------------------------------- */

char *berth_base64_encode(const void *data, size_t len)
{
        char *out = xcalloc(4 * ((len + 2) / 3) + 1, 1);

        EVP_EncodeBlock((unsigned char *) out, data, (int) len);
        return out;
}

int berth_base64_decode(const char *s, char **ret, size_t *ret_len)
{
        size_t len = strlen(s), pad = 0;
        _autofree_ char *out = NULL;
        int n;

        if (len % 4 != 0 || len > INT32_MAX)
                return -EINVAL;
        out = xcalloc(len / 4 * 3 + 1, 1);
        n = EVP_DecodeBlock((unsigned char *) out, (const unsigned char *) s, (int) len);
        if (n < 0)
                return -EINVAL;
        /* EVP_DecodeBlock counts the bytes the padding stands for. */
        while (pad < 2 && len > pad && s[len - 1 - pad] == '=')
                pad++;
        out[n - (int) pad] = '\0';
        if (ret_len)
                *ret_len = (size_t) n - pad;
        *ret = steal_ptr(&out);
        return 0;
}

int berth_creds_split(const char *creds, char **ret_user, char **ret_pass, struct berth_error **err)
{
        const char *colon = strchr(creds, ':');
        size_t ulen = colon ? (size_t) (colon - creds) : strlen(creds);

        if (ulen == 0)
                return berth_error_setx(err, EINVAL, "credentials: empty user name");
        *ret_user = strndup(creds, ulen);
        *ret_pass = xstrdup(colon ? colon + 1 : "");
        return 0;
}

int berth_registry_key(const char *registry, char **ret, struct berth_error **err)
{
        const char *s = registry ? registry : "";
        size_t n;

        if (startswith(s, "https://"))
                s += strlen("https://");
        else if (startswith(s, "http://"))
                s += strlen("http://");
        n = strcspn(s, "/");
        if (n == 0 && !*s && (!registry || !*registry)) {
                *ret = xstrdup(DOCKER_IO);
                return 0;
        }
        if (n == 0 || strcspn(s, " \t\n@") < n)
                return berth_error_setx(err, EINVAL, "registry %s: not a host[:port]",
                                        QUOTE(registry));
        if ((n == 15 && strncmp(s, "index.docker.io", n) == 0) ||
            (n == 20 && strncmp(s, "registry-1.docker.io", n) == 0))
                *ret = xstrdup(DOCKER_IO);
        else
                *ret = strndup(s, n);
        return 0;
}

/* ---- auth file -------------------------------------------------------------------------- */

/* Loads path: -ENOENT when missing; *ret is an object. */
static int load_json_object(const char *path, json_t **ret, struct berth_error **err)
{
        json_error_t je;
        json_t *j;

        if (access(path, F_OK) < 0)
                return berth_error_set(err, errno, "open %s", path);
        j = json_load_file(path, 0, &je);
        if (!j)
                return berth_error_setx(err, EINVAL, "%s: line %d column %d: %s", path, je.line,
                                        je.column, je.text);
        if (!json_is_object(j)) {
                json_decref(j);
                return berth_error_setx(err, EINVAL, "%s: not a JSON object", path);
        }
        *ret = j;
        return 0;
}

static json_t *auth_entry(json_t *root, const char *key)
{
        json_t *auths = json_object_get(root, "auths");
        json_t *e = json_object_get(auths, key);

        if (!e && streq(key, DOCKER_IO))
                e = json_object_get(auths, DOCKER_IO_LEGACY_KEY);
        return json_is_object(e) ? e : NULL;
}

int berth_auth_file_get(const char *path, const char *key, char **ret_user, char **ret_pass,
                        struct berth_error **err)
{
        _autojson_ json_t *root = NULL;
        _autofree_ char *plain = NULL;
        const char *auth;
        json_t *e;
        int r;

        r = load_json_object(path, &root, err);
        if (r < 0)
                return r;
        e = auth_entry(root, key);
        if (!e)
                return berth_error_setx(err, ENOENT, "%s: no credentials for %s", path, key);
        auth = json_string_value(json_object_get(e, "auth"));
        if (!auth)
                return berth_error_setx(err, EINVAL, "%s: auths.%s.auth: missing", path, key);
        if (berth_base64_decode(auth, &plain, NULL) < 0 || !strchr(plain, ':'))
                return berth_error_setx(
                    err, EINVAL, "%s: auths.%s.auth: not base64 of user:password", path, key);
        r = berth_creds_split(plain, ret_user, ret_pass, err);
        if (r < 0)
                return berth_error_prefix(err, "%s: auths.%s.auth", path, key);
        return 0;
}

/* mkdir -p of path's parent directory (each missing component 0700). */
static int mkdir_parents(const char *path, struct berth_error **err)
{
        _autofree_ char *dir = xstrdup(path);

        for (char *p = strchr(dir + 1, '/'); p; p = strchr(p + 1, '/')) {
                *p = '\0';
                if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                        return berth_error_set(err, errno, "mkdir %s", dir);
                *p = '/';
        }
        return 0;
}

static int write_json_atomic(const char *path, json_t *root, struct berth_error **err)
{
        _autofree_ char *data = json_dumps(root, JSON_INDENT(8) | JSON_SORT_KEYS);
        _autofree_ char *dir = xstrdup(path);
        _autoclose_ int dirfd = -EBADF;
        char *slash = strrchr(dir, '/');
        const char *name = path;
        int r;

        if (!data)
                return berth_error_setx(err, ENOMEM, "%s: json_dumps failed", path);
        if (slash) {
                *slash = '\0';
                name = slash + 1;
        }
        r = mkdir_parents(path, err);
        if (r < 0)
                return r;
        dirfd = open(slash ? (dir[0] ? dir : "/") : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0)
                return berth_error_set(err, errno, "open %s", slash ? dir : ".");
        r = berth_write_file_atomic(dirfd, name, data, strlen(data), 0600, true, err);
        if (r < 0)
                return berth_error_prefix(err, "write %s", path);
        return 0;
}

/* The auth file's object with an "auths" object in it, a new one when the file is missing. */
static int load_for_update(const char *path, json_t **ret, struct berth_error **err)
{
        _autoerr_ struct berth_error *e = NULL;
        _autojson_ json_t *root = NULL;
        json_t *auths;
        int r;

        r = load_json_object(path, &root, &e);
        if (r == -ENOENT)
                root = json_object();
        else if (r < 0)
                return berth_error_setx(err, e->code, "%s", e->msg);
        auths = json_object_get(root, "auths");
        if (!auths) {
                auths = json_object();
                json_object_set_new(root, "auths", auths);
        }
        if (!json_is_object(auths))
                return berth_error_setx(err, EINVAL, "%s: auths: not an object", path);
        *ret = steal_ptr(&root);
        return 0;
}

int berth_auth_file_set(const char *path, const char *key, const char *user, const char *pass,
                        struct berth_error **err)
{
        _autojson_ json_t *root = NULL;
        _autofree_ char *plain = xasprintf("%s:%s", user, pass);
        _autofree_ char *b64 = berth_base64_encode(plain, strlen(plain));
        int r;

        r = load_for_update(path, &root, err);
        if (r < 0)
                return r;
        if (streq(key, DOCKER_IO))
                json_object_del(json_object_get(root, "auths"), DOCKER_IO_LEGACY_KEY);
        json_object_set_new(json_object_get(root, "auths"), key, json_pack("{s:s}", "auth", b64));
        return write_json_atomic(path, root, err);
}

int berth_auth_file_remove(const char *path, const char *key, struct berth_error **err)
{
        _autojson_ json_t *root = NULL;
        json_t *auths;
        int r;

        r = load_for_update(path, &root, err);
        if (r < 0)
                return r;
        auths = json_object_get(root, "auths");
        r = json_object_del(auths, key);
        if (streq(key, DOCKER_IO) && json_object_del(auths, DOCKER_IO_LEGACY_KEY) == 0)
                r = 0;
        if (r < 0)
                return berth_error_setx(err, ENOENT, "not logged in to %s", key);
        return write_json_atomic(path, root, err);
}

char *berth_auth_file_default(void)
{
        const char *s = getenv("BERTH_AUTH_FILE");
        const char *home;

        if (s && *s)
                return xstrdup(s);
        s = getenv("XDG_RUNTIME_DIR");
        if (s && *s)
                return xasprintf("%s/berth/auth.json", s);
        home = getenv("HOME");
        if (!home || !*home) {
                struct passwd *pw = getpwuid(geteuid());

                home = pw && pw->pw_dir ? pw->pw_dir : "/";
        }
        return xasprintf("%s/.config/berth/auth.json", streq(home, "/") ? "" : home);
}

/* ---- TLS configuration ------------------------------------------------------------------ */

char *berth_registry_cert_dir(const struct berth_registry_opts *o, const char *host)
{
        if (o && o->cert_dir)
                return xstrdup(o->cert_dir);
        return xasprintf(DEFAULT_CERTS_D "/%s", host);
}

int berth_registry_is_insecure(const char *config_file, const char *host, bool *ret,
                               struct berth_error **err)
{
        _autoerr_ struct berth_error *e = NULL;
        _autojson_ json_t *root = NULL;
        json_t *list, *v;
        size_t i;
        int r;

        r = load_json_object(config_file, &root, &e);
        if (r == -ENOENT) {
                *ret = false;
                return 0;
        }
        if (r < 0)
                return berth_error_setx(err, e->code, "%s", e->msg);
        list = json_object_get(root, "insecure-registries");
        if (list && !json_is_array(list))
                return berth_error_setx(err, EINVAL, "%s: insecure-registries: not an array",
                                        config_file);
        json_array_foreach(list, i, v)
        {
                const char *s = json_string_value(v);

                if (!s)
                        return berth_error_setx(err, EINVAL,
                                                "%s: insecure-registries[%zu]: not a string",
                                                config_file, i);
                if (streq(s, host)) {
                        *ret = true;
                        return 0;
                }
        }
        *ret = false;
        return 0;
}
