/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The typed JSON toolkit of the config parser (see spec-internal.h): field paths, messages,
 * checked getters, and loading with unsigned 64-bit integers.
 */
#include <inttypes.h>
#include <stdarg.h>

#include "base/json.h"
#include "base/log.h"
#include "spec/spec-internal.h"
#include "base/util.h"

/* ---- field paths and messages ------------------------------------------------------------- */

#define PATH_MAX_LEN 512

static bool is_plain_key(const char *k)
{
        if (!*k)
                return false;
        for (const char *c = k; *c; c++)
                if (!(*c == '_' || (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                      (*c >= '0' && *c <= '9')))
                        return false;
        return true;
}

/* Appends to buf (size PATH_MAX_LEN), truncating silently. */
static void path_append(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void path_append(char *buf, const char *fmt, ...)
{
        size_t n = strlen(buf);
        va_list ap;

        if (n >= PATH_MAX_LEN - 1)
                return;
        va_start(ap, fmt);
        vsnprintf(buf + n, PATH_MAX_LEN - n, fmt, ap);
        va_end(ap);
}

/* Root first; keys that are not identifiers (annotation keys, clock names) go in ["..."]. */
static void path_render(const struct spec_path *p, char *buf)
{
        if (!p)
                return;
        path_render(p->up, buf);
        if (!p->key)
                path_append(buf, "[%zu]", p->idx);
        else if (!is_plain_key(p->key))
                path_append(buf, "[%s]", QUOTE(p->key));
        else
                path_append(buf, "%s%s", p->up ? "." : "", p->key);
}

int spec_error(struct berth_error **err, const struct spec_path *p, const char *fmt, ...)
{
        char path[PATH_MAX_LEN] = "";
        _autofree_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        path_render(p, path);
        if (!path[0])
                return berth_error_setx(err, EINVAL, "%s", msg ? msg : "invalid value");
        return berth_error_setx(err, EINVAL, "%s: %s", path, msg ? msg : "invalid value");
}

void spec_warn(const struct spec_path *p, const char *fmt, ...)
{
        char path[PATH_MAX_LEN] = "";
        _autofree_ char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&msg, fmt, ap) < 0)
                msg = NULL;
        va_end(ap);
        path_render(p, path);
        berth_warn("%s: %s", path, msg ? msg : "");
}

/* A string that stands for an unsigned integer above INT64_MAX (see rewrite_bigints()). */
static bool is_bigint(const json_t *v)
{
        return json_is_string(v) && json_string_length(v) > 1 && json_string_value(v)[0] == '\0';
}

static const char *json_kind(const json_t *v)
{
        return is_bigint(v) ? "integer" : berth_json_kind(v);
}

int spec_type_error(const json_t *v, const struct spec_path *p, const char *what,
                    struct berth_error **err)
{
        return spec_error(err, p, "expected %s, got %s", what, json_kind(v));
}

int spec_missing(const struct spec_path *p, struct berth_error **err)
{
        return spec_error(err, p, "required field is missing");
}

int spec_check_absolute(const char *s, const struct spec_path *p, struct berth_error **err)
{
        if (s[0] != '/')
                return spec_error(err, p, "%s is not an absolute path", QUOTE(s));
        return 0;
}

int spec_lookup(const struct spec_name *table, const char *name, long *ret)
{
        for (; table->name; table++)
                if (streq(table->name, name)) {
                        *ret = table->value;
                        return 0;
                }
        return -1;
}

/* ---- loading ------------------------------------------------------------------------------- */

/*
 * jansson keeps integers in a json_int_t (long long) and rejects larger ones as "too big
 * integer", but the spec has uint64 fields (rlimits, seccomp argument values) where
 * 18446744073709551615 is a real-world value. When the first parse fails for that reason, such
 * literals are rewritten as strings "\u0000<digits>" (impossible in a document that parsed
 * without JSON_ALLOW_NUL, and rejected by spec_to_string()) and the text is parsed again.
 */
#define BIGINT_GROWTH 8 /* strlen("\"\\u0000") + strlen("\"") */

struct rewrite_map {
        int *lines;   /* line of each rewritten literal */
        size_t *offs; /* its offset in the rewritten text */
        size_t n;
};

static bool is_token_char(char c)
{
        return c == '-' || c == '+' || c == '.' || c == '_' || (c >= '0' && c <= '9') ||
               (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Length of the token at s[0..len), and whether it is a plain unsigned integer above INT64_MAX. */
static size_t scan_token(const char *s, size_t len, bool *ret_big)
{
        size_t n = 0;
        char buf[24];
        uint64_t v;

        while (n < len && is_token_char(s[n]))
                n++;
        *ret_big = false;
        if (n >= 19 && n <= 20 && s[0] != '0') {
                for (size_t i = 0; i < n; i++)
                        if (s[i] < '0' || s[i] > '9')
                                return n;
                memcpy(buf, s, n);
                buf[n] = '\0';
                *ret_big = parse_u64(buf, &v) == 0 && v > (uint64_t) INT64_MAX;
        }
        return n;
}

static void emit(char *out, size_t *o, const char *s, size_t n)
{
        memcpy(out + *o, s, n);
        *o += n;
}

static void map_add(struct rewrite_map *m, int line, size_t off)
{
        m->lines = xreallocarray(m->lines, m->n + 1, sizeof(*m->lines));
        m->offs = xreallocarray(m->offs, m->n + 1, sizeof(*m->offs));
        m->lines[m->n] = line;
        m->offs[m->n++] = off;
}

static char *rewrite_bigints(const char *s, size_t len, size_t *ret_len, struct rewrite_map *m)
{
        char *out = xcalloc(len / 19 * BIGINT_GROWTH + len + 1, 1);
        bool in_str = false, esc = false, big;
        size_t o = 0, n;
        int line = 1;

        for (size_t i = 0; i < len; i++) {
                char c = s[i];

                if (c == '\n')
                        line++;
                if (in_str) {
                        in_str = esc || c != '"';
                        esc = !esc && c == '\\';
                } else if (c == '"') {
                        in_str = true;
                } else if (is_token_char(c) && (i == 0 || !is_token_char(s[i - 1]))) {
                        n = scan_token(s + i, len - i, &big);
                        if (big) {
                                map_add(m, line, o);
                                emit(out, &o, "\"\\u0000", 7);
                                emit(out, &o, s + i, n);
                                emit(out, &o, "\"", 1);
                        } else {
                                emit(out, &o, s + i, n);
                        }
                        i += n - 1;
                        continue;
                }
                out[o++] = c;
        }
        *ret_len = o;
        return out;
}

/* The token that ends just before byte `end` (jansson leaves it out of "too big integer"). */
static int token_before(const char *text, size_t len, int end, const char **ret)
{
        int start = end;

        if (end <= 0 || (size_t) end > len)
                return 0;
        while (start > 0 && is_token_char(text[start - 1]) && end - start < 64)
                start--;
        *ret = text + start;
        return end - start;
}

static int syntax_error(const char *text, size_t len, const char *origin, const json_error_t *e,
                        const struct rewrite_map *m, struct berth_error **err)
{
        static const char nul_text[] = "\\u0000 is not allowed without JSON_ALLOW_NUL";
        const char *msg = e->text, *tok = NULL;
        int column = e->column, n = 0;

        if (e->line < 1)
                return berth_error_setx(err, EINVAL, "%s: %s", origin, e->text);
        for (size_t i = 0; m && i < m->n; i++)
                if (m->lines[i] == e->line && m->offs[i] < (size_t) e->position)
                        column -= BIGINT_GROWTH;
        if (json_error_code(e) == json_error_numeric_overflow && !strstr(msg, " near "))
                n = token_before(text, len, e->position, &tok);
        if (json_error_code(e) == json_error_null_character && startswith(msg, nul_text))
                return berth_error_setx(err, EINVAL,
                                        "%s:%d:%d: \\u0000 is not allowed in strings%s", origin,
                                        e->line, column, msg + strlen(nul_text));
        return berth_error_setx(err, EINVAL, "%s:%d:%d: %s%s%.*s%s", origin, e->line, column, msg,
                                n ? " near '" : "", n, n ? tok : "", n ? "'" : "");
}

/* Called after a "too big integer" (or real) failure described by *first. */
static json_t *load_with_bigints(const char *text, size_t len, const char *origin,
                                 const json_error_t *first, struct berth_error **err)
{
        struct rewrite_map m = {0};
        _autofree_ char *copy = NULL;
        json_error_t e;
        size_t n;
        json_t *root = NULL;

        copy = rewrite_bigints(text, len, &n, &m);
        if (m.n == 0) /* a real number out of range, or an integer below INT64_MIN */
                syntax_error(text, len, origin, first, NULL, err);
        else if (!(root = json_loadb(copy, n, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &e)))
                syntax_error(copy, n, origin, &e, &m, err);
        free(m.lines);
        free(m.offs);
        return root;
}

int spec_load_json(const char *text, size_t len, const char *origin, json_t **ret,
                   struct berth_error **err)
{
        json_error_t e;
        json_t *root;

        root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e);
        if (!root && json_error_code(&e) == json_error_numeric_overflow)
                root = load_with_bigints(text, len, origin, &e, err);
        else if (!root)
                return syntax_error(text, len, origin, &e, NULL, err);
        if (!root)
                return -EINVAL;
        if (!json_is_object(root)) {
                berth_error_setx(err, EINVAL, "%s: expected a JSON object, got %s", origin,
                                 json_kind(root));
                json_decref(root);
                return -EINVAL;
        }
        *ret = root;
        return 0;
}

/* ---- value converters ---------------------------------------------------------------------- */

int spec_to_object(json_t *v, const struct spec_path *p, struct berth_error **err)
{
        return json_is_object(v) ? 0 : spec_type_error(v, p, "an object", err);
}

int spec_to_string(const json_t *v, const struct spec_path *p, char **ret, struct berth_error **err)
{
        if (!json_is_string(v) || is_bigint(v))
                return spec_type_error(v, p, "a string", err);
        if (strlen(json_string_value(v)) != json_string_length(v))
                return spec_error(err, p, "string contains a NUL byte");
        *ret = xstrdup(json_string_value(v));
        return 0;
}

int spec_to_u64(const json_t *v, const struct spec_path *p, uint64_t max, uint64_t *ret,
                struct berth_error **err)
{
        uint64_t u;

        if (is_bigint(v)) {
                const char *digits = json_string_value(v) + 1;

                if (parse_u64(digits, &u) < 0 || u > max)
                        return spec_error(err, p, "%s is out of range (0..%" PRIu64 ")", digits,
                                          max);
        } else if (json_is_integer(v)) {
                json_int_t i = json_integer_value(v);

                if (i < 0 || (uint64_t) i > max)
                        return spec_error(err, p, "%lld is out of range (0..%" PRIu64 ")",
                                          (long long) i, max);
                u = (uint64_t) i;
        } else {
                return spec_type_error(v, p, "an integer", err);
        }
        *ret = u;
        return 0;
}

int spec_to_i64(const json_t *v, const struct spec_path *p, int64_t min, int64_t max, int64_t *ret,
                struct berth_error **err)
{
        json_int_t i;

        if (is_bigint(v))
                return spec_error(err, p, "%s is out of range (%" PRId64 "..%" PRId64 ")",
                                  json_string_value(v) + 1, min, max);
        if (!json_is_integer(v))
                return spec_type_error(v, p, "an integer", err);
        i = json_integer_value(v);
        if (i < min || i > max)
                return spec_error(err, p, "%lld is out of range (%" PRId64 "..%" PRId64 ")",
                                  (long long) i, min, max);
        *ret = i;
        return 0;
}

/* ---- object member getters ----------------------------------------------------------------- */

json_t *spec_member(const json_t *obj, const char *key)
{
        json_t *v = json_object_get(obj, key);

        return json_is_null(v) ? NULL : v;
}

/* The member, or NULL with *ret_r set to 0 (absent, optional) or an error (absent, required). */
static json_t *member_or(const json_t *obj, const char *key, const struct spec_path *up,
                         enum spec_need need, int *ret_r, struct berth_error **err)
{
        json_t *v = spec_member(obj, key);

        if (!v)
                *ret_r = need == REQ ? spec_missing(FIELD(up, key), err) : 0;
        return v;
}

int spec_get_object(const json_t *obj, const char *key, const struct spec_path *up,
                    enum spec_need need, json_t **ret, struct berth_error **err)
{
        int r;
        json_t *v = member_or(obj, key, up, need, &r, err);

        if (!v)
                return r;
        if (!json_is_object(v))
                return spec_type_error(v, FIELD(up, key), "an object", err);
        *ret = v;
        return 1;
}

int spec_get_array(const json_t *obj, const char *key, const struct spec_path *up,
                   enum spec_need need, json_t **ret, struct berth_error **err)
{
        int r;
        json_t *v = member_or(obj, key, up, need, &r, err);

        if (!v)
                return r;
        if (!json_is_array(v))
                return spec_type_error(v, FIELD(up, key), "an array", err);
        *ret = v;
        return 1;
}

int spec_get_string(const json_t *obj, const char *key, const struct spec_path *up,
                    enum spec_need need, char **ret, struct berth_error **err)
{
        int r;
        json_t *v = member_or(obj, key, up, need, &r, err);
        char *s = NULL;

        if (!v)
                return r;
        r = spec_to_string(v, FIELD(up, key), &s, err);
        if (r < 0)
                return r;
        free(*ret);
        *ret = s;
        return 1;
}

int spec_get_bool(const json_t *obj, const char *key, const struct spec_path *up, bool *ret,
                  struct berth_error **err)
{
        json_t *v = spec_member(obj, key);

        if (!v)
                return 0;
        if (!json_is_boolean(v))
                return spec_type_error(v, FIELD(up, key), "a boolean", err);
        *ret = json_is_true(v);
        return 1;
}

int spec_get_u64(const json_t *obj, const char *key, const struct spec_path *up,
                 enum spec_need need, uint64_t max, uint64_t *ret, struct berth_error **err)
{
        int r;
        json_t *v = member_or(obj, key, up, need, &r, err);

        if (!v)
                return r;
        r = spec_to_u64(v, FIELD(up, key), max, ret, err);
        return r < 0 ? r : 1;
}

int spec_get_i64(const json_t *obj, const char *key, const struct spec_path *up,
                 enum spec_need need, int64_t min, int64_t max, int64_t *ret,
                 struct berth_error **err)
{
        int r;
        json_t *v = member_or(obj, key, up, need, &r, err);

        if (!v)
                return r;
        r = spec_to_i64(v, FIELD(up, key), min, max, ret, err);
        return r < 0 ? r : 1;
}

int spec_get_u32(const json_t *obj, const char *key, const struct spec_path *up,
                 enum spec_need need, uint32_t *ret, struct berth_error **err)
{
        uint64_t v;
        int r = spec_get_u64(obj, key, up, need, UINT32_MAX, &v, err);

        if (r > 0)
                *ret = (uint32_t) v;
        return r;
}

int spec_get_int(const json_t *obj, const char *key, const struct spec_path *up,
                 enum spec_need need, int min, int max, int *ret, struct berth_error **err)
{
        int64_t v;
        int r = spec_get_i64(obj, key, up, need, min, max, &v, err);

        if (r > 0)
                *ret = (int) v;
        return r;
}

static int to_strv(const json_t *a, const struct spec_path *p, char ***ret,
                   struct berth_error **err)
{
        _autostrv_ char **v = NULL;
        size_t n;
        int r;

        if (!json_is_array(a))
                return spec_type_error(a, p, "an array of strings", err);
        n = json_array_size(a);
        v = xcalloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++) {
                r = spec_to_string(json_array_get(a, i), INDEX(p, i), &v[i], err);
                if (r < 0)
                        return r;
        }
        *ret = steal_ptr(&v);
        return 0;
}

int spec_get_strv(const json_t *obj, const char *key, const struct spec_path *up,
                  enum spec_need need, char ***ret, struct berth_error **err)
{
        int r;
        json_t *v = member_or(obj, key, up, need, &r, err);
        char **s = NULL;

        if (!v)
                return r;
        r = to_strv(v, FIELD(up, key), &s, err);
        if (r < 0)
                return r;
        strv_free(*ret);
        *ret = s;
        return 1;
}

int spec_get_strv0(const json_t *obj, const char *key, const struct spec_path *up, char ***ret,
                   struct berth_error **err)
{
        int r = spec_get_strv(obj, key, up, OPT, ret, err);

        if (r == 0 && !*ret)
                *ret = xcalloc(1, sizeof(char *));
        return r;
}

int spec_get_kv(const json_t *obj, const char *key, const struct spec_path *up,
                struct berth_kv **ret, size_t *ret_n, struct berth_error **err)
{
        json_t *o = spec_member(obj, key), *v;
        const struct spec_path *p = FIELD(up, key);
        struct berth_kv *kv;
        const char *k;
        size_t n = 0;

        if (!o)
                return 0;
        if (!json_is_object(o))
                return spec_type_error(o, p, "an object of strings", err);
        kv = xcalloc(json_object_size(o), sizeof(*kv));
        json_object_foreach((json_t *) o, k, v)
        {
                kv[n].key = xstrdup(k);
                if (spec_to_string(v, FIELD(p, k), &kv[n++].value, err) < 0) {
                        berth_kv_free(kv, n);
                        return -EINVAL;
                }
        }
        *ret = kv;
        *ret_n = n;
        return 1;
}

int spec_get_list(const json_t *obj, const char *key, const struct spec_path *up,
                  enum spec_need need, size_t size, spec_parse_fn parse, spec_clear_fn clear,
                  void *ret_array, size_t *ret_n, struct berth_error **err)
{
        const struct spec_path *p = FIELD(up, key);
        json_t *a = NULL;
        char *v;
        size_t n;
        int r;

        r = spec_get_array(obj, key, up, need, &a, err);
        if (r <= 0)
                return r;
        n = json_array_size(a);
        v = n > 0 ? xcalloc(n, size) : NULL;
        for (size_t i = 0; i < n; i++) {
                r = parse(json_array_get(a, i), INDEX(p, i), v + i * size, err);
                if (r < 0) {
                        for (size_t j = 0; j <= i; j++)
                                clear(v + j * size);
                        free(v);
                        return r;
                }
        }
        memcpy(ret_array, &v, sizeof(v));
        *ret_n = n;
        return 1;
}

/* ---- id mappings --------------------------------------------------------------------------- */

static int parse_id_map(json_t *v, const struct spec_path *p, void *elem, struct berth_error **err)
{
        struct berth_id_map *m = elem;

        if (spec_to_object(v, p, err) < 0 ||
            spec_get_u32(v, "containerID", p, REQ, &m->container_id, err) < 0 ||
            spec_get_u32(v, "hostID", p, REQ, &m->host_id, err) < 0 ||
            spec_get_u32(v, "size", p, REQ, &m->size, err) < 0)
                return -EINVAL;
        if (m->size == 0)
                return spec_error(err, FIELD(p, "size"), "must be greater than 0");
        if ((uint64_t) m->container_id + m->size - 1 > UINT32_MAX ||
            (uint64_t) m->host_id + m->size - 1 > UINT32_MAX)
                return spec_error(err, FIELD(p, "size"),
                                  "%" PRIu32 " ids from %" PRIu32 " (container) / %" PRIu32
                                  " (host) go beyond 4294967295",
                                  m->size, m->container_id, m->host_id);
        return 0;
}

static void clear_nothing(void *elem)
{
}

int spec_get_id_maps(const json_t *obj, const char *key, const struct spec_path *up,
                     struct berth_id_map **ret, size_t *ret_n, struct berth_error **err)
{
        return spec_get_list(obj, key, up, OPT, sizeof(struct berth_id_map), parse_id_map,
                             clear_nothing, ret, ret_n, err);
}

#define CPU_LIST_MAX (1UL << 22) /* kernel: NR_CPUS is at most 8192; be generous */

/* "0-3,7": comma-separated numbers and ranges; "" means "leave unset". */
static bool is_cpu_list(const char *s)
{
        while (*s) {
                char *end;
                unsigned long lo, hi;

                if (*s < '0' || *s > '9')
                        return false;
                lo = hi = strtoul(s, &end, 10);
                if (*end == '-') {
                        if (end[1] < '0' || end[1] > '9')
                                return false;
                        hi = strtoul(end + 1, &end, 10);
                }
                if (lo > hi || hi >= CPU_LIST_MAX || (*end && *end != ','))
                        return false;
                s = *end ? end + 1 : end;
                if (*end && !*s)
                        return false;
        }
        return true;
}

int spec_get_cpu_list(const json_t *o, const char *key, const struct spec_path *up, char **ret,
                      const char *what, struct berth_error **err)
{
        int r = spec_get_string(o, key, up, OPT, ret, err);

        if (r > 0 && !is_cpu_list(*ret))
                return spec_error(err, FIELD(up, key),
                                  "invalid %s list %s (expected e.g. \"0-3,7\")", what,
                                  QUOTE(*ret));
        return r;
}
