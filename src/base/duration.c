/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Go's time.ParseDuration and Duration.String() (duration.h), digit for digit: docker's flags
 * and messages are made of them.
 */
#include <stdbool.h>
#include <string.h>

#include "base/duration.h"
#include "base/util.h"

#define MAX_NS (UINT64_C(1) << 63)

/* Go's time.quote: "s", with '"' and '\' escaped, other bytes outside ' '..'~' as \xHH. */
static char *go_quote(const char *s, size_t len)
{
        char *out = xcalloc(len * 4 + 3, 1), *o = out;

        *o++ = '"';
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char) s[i];

                if (c < ' ' || c >= 0x80) {
                        o += sprintf(o, "\\x%02x", c);
                        continue;
                }
                if (c == '"' || c == '\\')
                        *o++ = '\\';
                *o++ = (char) c;
        }
        *o++ = '"';
        return out;
}

static int invalid(const char *orig, struct berth_error **err)
{
        _autofree_ char *q = go_quote(orig, strlen(orig));

        return berth_error_setx(err, EINVAL, "time: invalid duration %s", q);
}

static uint64_t unit_ns(const char *u, size_t len)
{
        static const struct {
                const char *name;
                uint64_t ns;
        } units[] = {{"ns", 1},
                     {"us", 1000},
                     {"\u00b5s", 1000},
                     {"\u03bcs", 1000},
                     {"ms", 1000000},
                     {"s", 1000000000},
                     {"m", UINT64_C(60000000000)},
                     {"h", UINT64_C(3600000000000)}};

        for (size_t i = 0; i < ARRAY_SIZE(units); i++)
                if (strlen(units[i].name) == len && !strncmp(u, units[i].name, len))
                        return units[i].ns;
        return 0;
}

/* One [0-9]*(.[0-9]*)?unit of s at *p, added to *total. */
static int component(const char *orig, const char **p, uint64_t *total, struct berth_error **err)
{
        const char *s = *p, *u;
        uint64_t v = 0, f = 0, unit;
        double scale = 1;
        bool pre, post = false, overflow = false;

        if (*s != '.' && (*s < '0' || *s > '9'))
                return invalid(orig, err);
        for (u = s; *s >= '0' && *s <= '9'; s++) {
                if (v > MAX_NS / 10)
                        return invalid(orig, err);
                v = v * 10 + (uint64_t) (*s - '0');
                if (v > MAX_NS)
                        return invalid(orig, err);
        }
        pre = s != u;
        if (*s == '.') {
                for (u = ++s; *s >= '0' && *s <= '9'; s++) {
                        /* Go's leadingFraction: digits past what fits are read and ignored */
                        if (overflow || f > (MAX_NS - 1) / 10) {
                                overflow = true;
                                continue;
                        }
                        f = f * 10 + (uint64_t) (*s - '0');
                        scale *= 10;
                }
                post = s != u;
        }
        if (!pre && !post)
                return invalid(orig, err);
        for (u = s; *s && *s != '.' && (*s < '0' || *s > '9'); s++)
                ;
        if (s == u) {
                _autofree_ char *q = go_quote(orig, strlen(orig));

                return berth_error_setx(err, EINVAL, "time: missing unit in duration %s", q);
        }
        unit = unit_ns(u, (size_t) (s - u));
        if (!unit) {
                _autofree_ char *qu = go_quote(u, (size_t) (s - u)),
                                *q = go_quote(orig, strlen(orig));

                return berth_error_setx(err, EINVAL, "time: unknown unit %s in duration %s", qu, q);
        }
        if (v > MAX_NS / unit)
                return invalid(orig, err);
        v *= unit;
        if (f > 0) {
                v += (uint64_t) ((double) f * ((double) unit / scale));
                if (v > MAX_NS)
                        return invalid(orig, err);
        }
        *total += v;
        if (*total > MAX_NS)
                return invalid(orig, err);
        *p = s;
        return 0;
}

int berth_duration_parse(const char *orig, int64_t *ret_ns, struct berth_error **err)
{
        const char *s = orig;
        uint64_t total = 0;
        bool neg = false;
        int r;

        if (*s == '-' || *s == '+')
                neg = *s++ == '-';
        if (streq(s, "0")) {
                *ret_ns = 0;
                return 0;
        }
        if (!*s)
                return invalid(orig, err);
        while (*s) {
                r = component(orig, &s, &total, err);
                if (r < 0)
                        return r;
        }
        if (neg) {
                *ret_ns = total == MAX_NS ? INT64_MIN : -(int64_t) total;
                return 0;
        }
        if (total > (uint64_t) INT64_MAX)
                return invalid(orig, err);
        *ret_ns = (int64_t) total;
        return 0;
}

/* Go's fmtFrac: v's last prec digits as ".ddd" without trailing zeros (nothing when all are
 * zero), written backwards ending at *w; returns v without them. */
static uint64_t frac(char *buf, int *w, uint64_t v, int prec)
{
        bool print = false;

        for (int i = 0; i < prec; i++) {
                unsigned digit = (unsigned) (v % 10);

                print = print || digit != 0;
                if (print)
                        buf[--*w] = (char) ('0' + digit);
                v /= 10;
        }
        if (print)
                buf[--*w] = '.';
        return v;
}

static void integer(char *buf, int *w, uint64_t v)
{
        if (v == 0) {
                buf[--*w] = '0';
                return;
        }
        for (; v > 0; v /= 10)
                buf[--*w] = (char) ('0' + v % 10);
}

char *berth_duration_format(int64_t ns)
{
        char buf[40];
        int w = (int) sizeof(buf) - 1;
        uint64_t u = ns < 0 ? -(uint64_t) ns : (uint64_t) ns;

        buf[w] = '\0';
        if (u == 0)
                return xstrdup("0s");
        buf[--w] = 's';
        if (u < 1000000000) {
                /* below a second: 1.2ms, 3µs, 5ns */
                int prec = 0;

                if (u < 1000) {
                        buf[--w] = 'n';
                } else if (u < 1000000) {
                        w -= 2;
                        memcpy(buf + w, "\u00b5", 2);
                        prec = 3;
                } else {
                        buf[--w] = 'm';
                        prec = 6;
                }
                u = frac(buf, &w, u, prec);
                integer(buf, &w, u);
        } else {
                u = frac(buf, &w, u, 9);
                integer(buf, &w, u % 60);
                u /= 60;
                if (u > 0) {
                        buf[--w] = 'm';
                        integer(buf, &w, u % 60);
                        u /= 60;
                        if (u > 0) {
                                buf[--w] = 'h';
                                integer(buf, &w, u);
                        }
                }
        }
        if (ns < 0)
                buf[--w] = '-';
        return xstrdup(buf + w);
}
