/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Image references, parsed and normalized with the rules of docker's distribution/reference
 * (ParseNormalizedNamed): the domain is split off first, then the name, tag and digest are
 * checked against its grammar.
 */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "image/blobstore.h"
#include "image/imageref.h"
#include "base/util.h"

#define DEFAULT_DOMAIN "docker.io"
#define LEGACY_DEFAULT_DOMAIN "index.docker.io"
#define DEFAULT_REGISTRY_HOST "registry-1.docker.io"
#define OFFICIAL_PREFIX "library/"
#define DEFAULT_TAG "latest"
/* distribution/reference's NameTotalLengthMax */
#define NAME_MAX_LEN 255
#define TAG_MAX_LEN 128
#define ID_HEX_LEN 64

static char *xstrndup(const char *s, size_t n)
{
        char *p = strndup(s, n);

        if (!p)
                abort();
        return p;
}

static bool is_lower_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
        return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

static bool has_upper(const char *s)
{
        for (; *s; s++)
                if (*s >= 'A' && *s <= 'Z')
                        return true;
        return false;
}

/* The whole string is 64 lowercase hex digits: an image id, not a name. */
static bool is_id(const char *s)
{
        size_t n = strspn(s, "0123456789abcdef");

        return n == ID_HEX_LEN && s[n] == '\0';
}

/* path-component: [a-z0-9]+ ((?:[._]|__|[-]+) [a-z0-9]+)*, n bytes of s. */
static bool is_path_component(const char *s, size_t n)
{
        size_t i = 0;

        for (;;) {
                size_t sep;

                if (i >= n || !is_lower_alnum(s[i]))
                        return false;
                while (i < n && is_lower_alnum(s[i]))
                        i++;
                if (i == n)
                        return true;
                sep = i;
                if (s[i] == '-')
                        while (i < n && s[i] == '-')
                                i++;
                else if (s[i] == '_' && i + 1 < n && s[i + 1] == '_')
                        i += 2;
                else if (s[i] == '.' || s[i] == '_')
                        i++;
                if (i == sep)
                        return false;
        }
}

/* domain-component: [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9] */
static bool is_domain_component(const char *s, size_t n)
{
        if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!is_alnum(s[i]) && s[i] != '-')
                        return false;
        return true;
}

static bool is_domain_name(const char *s, size_t n)
{
        size_t start = 0;

        for (size_t i = 0; i <= n; i++) {
                if (i < n && s[i] != '.')
                        continue;
                if (!is_domain_component(s + start, i - start))
                        return false;
                start = i + 1;
        }
        return true;
}

/* host (':' port)?, where host is a domain name, an IPv4 address or "[" IPv6 "]". */
static bool is_domain(const char *s)
{
        const char *port;
        size_t host_len;

        if (s[0] == '[') {
                const char *end = strchr(s, ']');

                if (!end || end == s + 1 ||
                    strspn(s + 1, "0123456789abcdefABCDEF:") != (size_t) (end - s - 1))
                        return false;
                port = end[1] == ':' ? end + 1 : NULL;
                if (!port && end[1] != '\0')
                        return false;
        } else {
                port = strchr(s, ':');
                host_len = port ? (size_t) (port - s) : strlen(s);
                if (!is_domain_name(s, host_len))
                        return false;
        }
        return !port || (port[1] != '\0' && strspn(port + 1, "0123456789") == strlen(port + 1));
}

/* [A-Za-z0-9_][A-Za-z0-9_.-]{0,127} */
static bool is_tag(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > TAG_MAX_LEN || !(is_alnum(s[0]) || s[0] == '_'))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!is_alnum(s[i]) && !strchr("_.-", s[i]))
                        return false;
        return true;
}

static int invalid(struct berth_error **err, const char *s, const char *what, const char *value)
{
        if (value)
                return berth_error_setx(err, EINVAL, "invalid reference %s: %s %s", QUOTE(s), what,
                                        QUOTE(value));
        return berth_error_setx(err, EINVAL, "invalid reference %s: %s", QUOTE(s), what);
}

/* Every '/'-separated component of path. */
static int check_path(const char *s, const char *path, struct berth_error **err)
{
        const char *p = path;

        for (;;) {
                size_t n = strcspn(p, "/");
                _autofree_ char *comp = NULL;

                if (n == 0)
                        return invalid(err, s, "empty path component", NULL);
                if (!is_path_component(p, n)) {
                        comp = xstrndup(p, n);
                        return invalid(err, s,
                                       "path component must be lowercase letters and digits "
                                       "separated by '.', '_', '__' or '-', not",
                                       comp);
                }
                if (p[n] == '\0')
                        return 0;
                p += n + 1;
        }
}

/* docker's splitDockerDomain(): the first component is a registry if it looks like a host
 * (has '.' or ':', is "localhost", or has uppercase letters, which a path cannot have). */
static void split_domain(const char *name, char **ret_domain, char **ret_path)
{
        const char *slash = strchr(name, '/');
        _autofree_ char *first = slash ? xstrndup(name, (size_t) (slash - name)) : NULL;
        const char *rest = name;

        if (first && (strpbrk(first, ".:") || streq(first, "localhost") || has_upper(first)))
                rest = slash + 1;
        else
                free(steal_ptr(&first));
        if (!first || streq(first, LEGACY_DEFAULT_DOMAIN)) {
                free(first);
                first = xstrdup(DEFAULT_DOMAIN);
        }
        if (streq(first, DEFAULT_DOMAIN) && !strchr(rest, '/'))
                *ret_path = xasprintf(OFFICIAL_PREFIX "%s", rest);
        else
                *ret_path = xstrdup(rest);
        *ret_domain = steal_ptr(&first);
}

/* Splits s into name, tag and digest (each malloc'ed or NULL); nothing is validated yet. The tag
 * is after the last ':' that follows the last '/', so a registry port is not a tag. */
static void split_ref(const char *s, char **ret_name, char **ret_tag, char **ret_digest)
{
        const char *at = strchr(s, '@');
        size_t name_len = at ? (size_t) (at - s) : strlen(s);
        const char *slash = memrchr(s, '/', name_len);
        const char *colon = memrchr(s, ':', name_len);

        *ret_digest = at ? xstrdup(at + 1) : NULL;
        *ret_tag = NULL;
        if (colon && (!slash || colon > slash)) {
                *ret_tag = xstrndup(colon + 1, name_len - (size_t) (colon + 1 - s));
                name_len = (size_t) (colon - s);
        }
        *ret_name = xstrndup(s, name_len);
}

static int check_digest(const char *s, const char *digest, struct berth_error **err)
{
        _autoerr_ struct berth_error *e = NULL;

        if (berth_digest_validate(digest, &e) < 0)
                return berth_error_setx(err, EINVAL, "invalid reference %s: %s", QUOTE(s), e->msg);
        return 0;
}

static int check_ref(const char *s, const struct berth_ref *r, struct berth_error **err)
{
        int k;

        if (has_upper(r->path))
                return invalid(err, s, "repository name must be lowercase", NULL);
        if (!is_domain(r->domain))
                return invalid(err, s, "registry host is not a valid host[:port]:", r->domain);
        k = check_path(s, r->path, err);
        if (k < 0)
                return k;
        if (strlen(r->domain) + 1 + strlen(r->path) > NAME_MAX_LEN)
                return invalid(err, s, "repository name must not be more than 255 characters",
                               NULL);
        if (r->tag && !is_tag(r->tag))
                return invalid(err, s,
                               "tag must be up to 128 of [A-Za-z0-9_.-], not starting with '.' "
                               "or '-', not",
                               r->tag);
        if (r->digest)
                return check_digest(s, r->digest, err);
        return 0;
}

void berth_ref_free(struct berth_ref *r)
{
        if (!r)
                return;
        free(r->domain);
        free(r->path);
        free(r->tag);
        free(r->digest);
        free(r);
}

int berth_ref_parse(const char *s, struct berth_ref **ret, struct berth_error **err)
{
        _autoref_ struct berth_ref *r = NULL;
        _autofree_ char *name = NULL;
        int k;

        if (!s || !*s)
                return berth_error_setx(err, EINVAL, "invalid reference \"\": empty");
        if (is_id(s))
                return invalid(err, s, "repository name cannot be a 64-byte hex string", NULL);
        r = xcalloc(1, sizeof(*r));
        split_ref(s, &name, &r->tag, &r->digest);
        if (!*name)
                return invalid(err, s, "repository name is empty", NULL);
        split_domain(name, &r->domain, &r->path);
        k = check_ref(s, r, err);
        if (k < 0)
                return k;
        if (!r->tag && !r->digest)
                r->tag = xstrdup(DEFAULT_TAG);
        *ret = steal_ptr(&r);
        return 0;
}

char *berth_ref_name(const struct berth_ref *r)
{
        return xasprintf("%s/%s", r->domain, r->path);
}

char *berth_ref_string(const struct berth_ref *r)
{
        return xasprintf("%s/%s%s%s%s%s", r->domain, r->path, r->tag ? ":" : "",
                         r->tag ? r->tag : "", r->digest ? "@" : "", r->digest ? r->digest : "");
}

/* docker.io/<first>/...: would "<first>/..." be read back with <first> as the registry? */
static bool looks_like_domain(const char *path)
{
        size_t n = strcspn(path, "/");

        return path[n] == '/' && (memchr(path, '.', n) || memchr(path, ':', n) ||
                                  (n == strlen("localhost") && startswith(path, "localhost")));
}

char *berth_ref_familiar(const char *normalized)
{
        const char *rest, *after;
        size_t name_len;

        if (!startswith(normalized, DEFAULT_DOMAIN "/"))
                return xstrdup(normalized);
        rest = normalized + strlen(DEFAULT_DOMAIN "/");
        /* Unlike docker's FamiliarName, keep the domain when dropping it changes the meaning:
         * "docker.io/a.b/c" is not "a.b/c". */
        if (looks_like_domain(rest))
                return xstrdup(normalized);
        if (!startswith(rest, OFFICIAL_PREFIX))
                return xstrdup(rest);
        after = rest + strlen(OFFICIAL_PREFIX);
        name_len = strcspn(after, ":@");
        if (memchr(after, '/', name_len))
                return xstrdup(rest);
        return xstrdup(after);
}

const char *berth_ref_registry_host(const struct berth_ref *r)
{
        return streq(r->domain, DEFAULT_DOMAIN) ? DEFAULT_REGISTRY_HOST : r->domain;
}
