/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What berth prints besides a command's own data: errors (once, "berth: ..."), sizes and ages
 * the way docker's go-units writes them, and tables aligned like docker's text/tabwriter.
 */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "berth.h"
#include "base/util.h"

int berth_print_error(const struct berth_error *e)
{
        fprintf(stderr, BERTH_PROG ": %s\n", e && e->msg ? e->msg : "unknown error");
        return BERTH_EXIT_ENGINE;
}

int berth_print_failure(const struct berth_error *e)
{
        berth_print_error(e);
        return BERTH_EXIT_FAILED;
}

void berth_print_warning(const char *fmt, ...)
{
        va_list ap;

        fputs(BERTH_PROG ": warning: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
}

/* go-units HumanSize: HumanSizeWithPrecision(size, 4), decimal units. */
char *berth_human_size(int64_t bytes)
{
        static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
        double size = (double) bytes;
        size_t i = 0;

        while (size >= 1000.0 && i < ARRAY_SIZE(units) - 1) {
                size /= 1000.0;
                i++;
        }
        return xasprintf("%.4g%s", size, units[i]);
}

/* go-units HumanDuration. */
char *berth_human_duration(int64_t seconds)
{
        int64_t minutes = seconds / 60, hours;

        if (seconds < 1)
                return xstrdup("Less than a second");
        if (seconds == 1)
                return xstrdup("1 second");
        if (seconds < 60)
                return xasprintf("%lld seconds", (long long) seconds);
        if (minutes == 1)
                return xstrdup("About a minute");
        if (minutes < 60)
                return xasprintf("%lld minutes", (long long) minutes);
        hours = (seconds + 1800) / 3600; /* d.Round(time.Hour) */
        if (hours == 1)
                return xstrdup("About an hour");
        if (hours < 48)
                return xasprintf("%lld hours", (long long) hours);
        if (hours < 24 * 7 * 2)
                return xasprintf("%lld days", (long long) (hours / 24));
        if (hours < 24 * 30 * 2)
                return xasprintf("%lld weeks", (long long) (hours / 24 / 7));
        if (hours < 24 * 365 * 2)
                return xasprintf("%lld months", (long long) (hours / 24 / 30));
        return xasprintf("%lld years", (long long) (seconds / 3600 / 24 / 365));
}

char *berth_human_ago(int64_t unix_seconds)
{
        _autofree_ char *d = berth_human_duration((int64_t) time(NULL) - unix_seconds);

        return xasprintf("%s ago", d);
}

int berth_parse_rfc3339(const char *s, int64_t *ret)
{
        struct tm tm = {};
        const char *p;
        int64_t t;

        if (!s)
                return -EINVAL;
        p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
        if (!p)
                return -EINVAL;
        if (*p == '.')
                p += 1 + strspn(p + 1, "0123456789");
        t = (int64_t) timegm(&tm);
        if (*p == 'Z' || *p == 'z') {
                p++;
        } else if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
                int h = (p[1] - '0') * 10 + (p[2] - '0'), m = (p[4] - '0') * 10 + (p[5] - '0');

                t -= (*p == '+' ? 1 : -1) * (int64_t) (h * 3600 + m * 60);
                p += 6;
        }
        if (*p)
                return -EINVAL;
        *ret = t;
        return 0;
}

/* ---- --format templates --------------------------------------------------------------- */

/* A growing string. */
struct buf {
        char *s;
        size_t len, cap;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
        if (b->len + n + 1 > b->cap) {
                b->cap = (b->len + n + 1) * 2;
                b->s = xreallocarray(b->s, b->cap, 1);
        }
        memcpy(b->s + b->len, s, n);
        b->len += n;
        b->s[b->len] = '\0';
}

static void buf_adds(struct buf *b, const char *s)
{
        buf_add(b, s, strlen(s));
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* Go's fmt %v of a value decoded from JSON (nil slices and maps print as [] and map[]). */
static void add_value(struct buf *b, json_t *v)
{
        char num[64];

        switch (json_typeof(v)) {
        case JSON_STRING:
                buf_add(b, json_string_value(v), json_string_length(v));
                break;
        case JSON_INTEGER:
                snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
                buf_adds(b, num);
                break;
        case JSON_REAL:
                snprintf(num, sizeof(num), "%g", json_real_value(v));
                buf_adds(b, num);
                break;
        case JSON_TRUE:
                buf_adds(b, "true");
                break;
        case JSON_FALSE:
                buf_adds(b, "false");
                break;
        case JSON_NULL:
                buf_adds(b, "<nil>");
                break;
        case JSON_ARRAY: {
                size_t i;
                json_t *e;

                buf_adds(b, "[");
                json_array_foreach(v, i, e)
                {
                        if (i > 0)
                                buf_adds(b, " ");
                        add_value(b, e);
                }
                buf_adds(b, "]");
                break;
        }
        case JSON_OBJECT: {
                _autofree_ const char **keys = xcalloc(json_object_size(v) + 1, sizeof(char *));
                const char *k;
                size_t n = 0;
                json_t *e;

                json_object_foreach(v, k, e) keys[n++] = k;
                qsort(keys, n, sizeof(*keys), cmp_str);
                buf_adds(b, "map[");
                for (size_t i = 0; i < n; i++) {
                        buf_adds(b, i > 0 ? " " : "");
                        buf_adds(b, keys[i]);
                        buf_adds(b, ":");
                        add_value(b, json_object_get(v, keys[i]));
                }
                buf_adds(b, "]");
                break;
        }
        default:
                break;
        }
}

/* ".A.B" in obj; NULL when a key is missing. */
static json_t *lookup_path(json_t *obj, const char *path, size_t n)
{
        json_t *v = obj;
        size_t i = 1;

        if (n == 1)
                return obj;
        while (i < n && v) {
                size_t len = strcspn(path + i, ".");
                _autofree_ char *key = NULL;

                if (i + len > n)
                        len = n - i;
                key = xasprintf("%.*s", (int) len, path + i);
                v = json_is_object(v) ? json_object_get(v, key) : NULL;
                i += len + 1;
        }
        return v;
}

static bool is_field_path(const char *s, size_t n)
{
        if (n == 0 || s[0] != '.')
                return false;
        for (size_t i = 1; i < n; i++)
                if (!(s[i] == '.' || s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') ||
                      (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
                        return false;
        return true;
}

/* One {{action}}: ".A.B" or "json .A.B". */
static int add_action(struct buf *b, const char *a, size_t n, json_t *obj, struct berth_error **err)
{
        bool json = false;
        json_t *v;

        while (n > 0 && a[0] == ' ')
                a++, n--;
        while (n > 0 && a[n - 1] == ' ')
                n--;
        if (n > 5 && strncmp(a, "json ", 5) == 0) {
                json = true;
                a += 5, n -= 5;
                while (n > 0 && a[0] == ' ')
                        a++, n--;
        }
        if (!is_field_path(a, n))
                return berth_error_setx(err, EINVAL,
                                        "template: unsupported action \"{{%.*s}}\" (supported: "
                                        "{{.Field.Sub}}, {{json .Field}})",
                                        (int) n, a);
        v = lookup_path(obj, a, n);
        if (json) {
                _autofree_ char *text = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

                buf_adds(b, text ? text : "null");
        } else if (v) {
                add_value(b, v);
        } else {
                buf_adds(b, "<no value>");
        }
        return 0;
}

/* docker's formatter turns the two characters \t and \n of a --format into tab and newline. */
static char *unescape(char *s)
{
        char *w = s;

        for (const char *r = s; *r; r++) {
                if (r[0] == '\\' && (r[1] == 't' || r[1] == 'n')) {
                        *w++ = r[1] == 't' ? '\t' : '\n';
                        r++;
                } else {
                        *w++ = *r;
                }
        }
        *w = '\0';
        return s;
}

int berth_format_template(const char *tmpl, struct json_t *obj, char **ret,
                          struct berth_error **err)
{
        _autofree_ char *t = unescape(xstrdup(tmpl));
        struct buf b = {};
        const char *p = t;
        int r;

        buf_adds(&b, "");
        while (*p) {
                const char *open = strstr(p, "{{"), *close;

                if (!open) {
                        buf_adds(&b, p);
                        break;
                }
                buf_add(&b, p, (size_t) (open - p));
                close = strstr(open + 2, "}}");
                if (!close) {
                        free(b.s);
                        return berth_error_setx(err, EINVAL, "template: unclosed action in %s",
                                                QUOTE(tmpl));
                }
                r = add_action(&b, open + 2, (size_t) (close - open - 2), obj, err);
                if (r < 0) {
                        free(b.s);
                        return r;
                }
                p = close + 2;
        }
        *ret = b.s;
        return 0;
}

/* ---- tables ------------------------------------------------------------------------------ */

#define TABLE_MIN_WIDTH 10
#define TABLE_PADDING 3

struct berth_table {
        size_t n_cols, n_rows; /* rows include the header */
        char **cells;          /* n_rows * n_cols */
};

static void table_add_row(struct berth_table *t, va_list ap)
{
        t->cells = xreallocarray(t->cells, (t->n_rows + 1) * t->n_cols, sizeof(char *));
        for (size_t c = 0; c < t->n_cols; c++) {
                const char *s = va_arg(ap, const char *);

                t->cells[t->n_rows * t->n_cols + c] = xstrdup(s ? s : "");
        }
        t->n_rows++;
}

/* n cells (fewer than n_cols: the rest empty; more: the rest dropped). */
static void table_add_cells(struct berth_table *t, const char *const *cells, size_t n)
{
        t->cells = xreallocarray(t->cells, (t->n_rows + 1) * t->n_cols, sizeof(char *));
        for (size_t c = 0; c < t->n_cols; c++)
                t->cells[t->n_rows * t->n_cols + c] = xstrdup(c < n && cells[c] ? cells[c] : "");
        t->n_rows++;
}

struct berth_table *berth_table_new_cells(const char *const *header, size_t n_cols)
{
        struct berth_table *t = xcalloc(1, sizeof(*t));

        t->n_cols = n_cols;
        table_add_cells(t, header, n_cols);
        return t;
}

void berth_table_add_cells(struct berth_table *t, const char *const *cells, size_t n)
{
        table_add_cells(t, cells, n);
}

struct berth_table *berth_table_new(size_t n_cols, ...)
{
        struct berth_table *t = xcalloc(1, sizeof(*t));
        va_list ap;

        t->n_cols = n_cols;
        va_start(ap, n_cols);
        table_add_row(t, ap);
        va_end(ap);
        return t;
}

void berth_table_add(struct berth_table *t, ...)
{
        va_list ap;

        va_start(ap, t);
        table_add_row(t, ap);
        va_end(ap);
}

/* Display width: tabwriter counts UTF-8 characters. */
static size_t text_width(const char *s)
{
        size_t n = 0;

        for (; *s; s++)
                n += ((unsigned char) *s & 0xc0) != 0x80;
        return n;
}

void berth_table_print(const struct berth_table *t, FILE *f)
{
        _autofree_ size_t *width = xcalloc(t->n_cols, sizeof(size_t));

        for (size_t r = 0; r < t->n_rows; r++)
                for (size_t c = 0; c + 1 < t->n_cols; c++) {
                        size_t w = text_width(t->cells[r * t->n_cols + c]) + TABLE_PADDING;

                        if (w > width[c])
                                width[c] = w < TABLE_MIN_WIDTH ? TABLE_MIN_WIDTH : w;
                }
        for (size_t r = 0; r < t->n_rows; r++) {
                for (size_t c = 0; c < t->n_cols; c++) {
                        const char *s = t->cells[r * t->n_cols + c];

                        fputs(s, f);
                        if (c + 1 < t->n_cols)
                                fprintf(f, "%*s", (int) (width[c] - text_width(s)), "");
                }
                fputc('\n', f);
        }
}

void berth_table_free(struct berth_table *t)
{
        if (!t)
                return;
        for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
                free(t->cells[i]);
        free(t->cells);
        free(t);
}
