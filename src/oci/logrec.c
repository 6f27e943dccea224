/* SPDX-License-Identifier: Apache-2.0 */
/*
 * runc's log records (logrec.h): logrus's text and JSON formatters, with Go's quoting rules,
 * so that what a client parses out of runc's log it parses out of ours the same way.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logrec.h"

static const char hex[] = "0123456789abcdef";

/* A bounded buffer that keeps counting past its end, as snprintf does. */
struct sink {
        char *buf;
        size_t size, len;
};

static void put(struct sink *s, const char *p, size_t n)
{
        for (size_t i = 0; i < n; i++, s->len++)
                if (s->len + 1 < s->size)
                        s->buf[s->len] = p[i];
}

static void put_str(struct sink *s, const char *p)
{
        put(s, p, strlen(p));
}

static void put_char(struct sink *s, char c)
{
        put(s, &c, 1);
}

/* "\x1b", "\u00a0", "\U000e0001": digits as Go writes them, lower-case hex. */
static void put_hex(struct sink *s, const char *prefix, uint32_t v, int digits)
{
        put_str(s, prefix);
        for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4)
                put_char(s, hex[(v >> shift) & 0xf]);
}

/* One UTF-8 sequence as Go's utf8.DecodeRune reads it: its length, or 0 when it is invalid
 * (overlong, a surrogate, beyond U+10FFFF, cut short), where Go reads (RuneError, 1). */
static size_t utf8_decode(const unsigned char *p, uint32_t *ret)
{
        uint32_t cp;
        size_t n;

        if (p[0] < 0x80) {
                *ret = p[0];
                return 1;
        }
        if (p[0] < 0xc2 || p[0] > 0xf4)
                return 0;
        n = p[0] < 0xe0 ? 2 : p[0] < 0xf0 ? 3 : 4;
        cp = p[0] & (0x7f >> n);
        for (size_t i = 1; i < n; i++) {
                if ((p[i] & 0xc0) != 0x80)
                        return 0; /* also the terminating NUL */
                cp = cp << 6 | (p[i] & 0x3f);
        }
        if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
                return 0;
        *ret = cp;
        return n;
}

/* Go's strconv.IsPrint for code points above ASCII: letters, marks, numbers, punctuation and
 * symbols are printed as they are; spaces other than ' ', format characters, line and paragraph
 * separators, C1 controls, private use and noncharacters are escaped. (Unassigned code points,
 * which Go also escapes, are not listed: they are kept as they are.) */
static bool go_is_print(uint32_t cp)
{
        static const uint32_t not_print[][2] = {
            {0x80, 0xa0},       {0xad, 0xad},       {0x600, 0x605},      {0x61c, 0x61c},
            {0x6dd, 0x6dd},     {0x70f, 0x70f},     {0x8e2, 0x8e2},      {0x1680, 0x1680},
            {0x180e, 0x180e},   {0x2000, 0x200f},   {0x2028, 0x202f},    {0x205f, 0x2064},
            {0x2066, 0x206f},   {0x3000, 0x3000},   {0xe000, 0xf8ff},    {0xfdd0, 0xfdef},
            {0xfeff, 0xfeff},   {0xfff9, 0xfffb},   {0xfffe, 0xffff},    {0x110bd, 0x110bd},
            {0x110cd, 0x110cd}, {0x13430, 0x13438}, {0x1bca0, 0x1bca3},  {0x1d173, 0x1d17a},
            {0xe0001, 0xe0001}, {0xe0020, 0xe007f}, {0xf0000, 0x10ffff},
        };

        if ((cp & 0xfffe) == 0xfffe)
                return false;
        for (size_t i = 0; i < sizeof(not_print) / sizeof(not_print[0]); i++)
                if (cp >= not_print[i][0] && cp <= not_print[i][1])
                        return false;
        return true;
}

/* The short escape Go uses for a control character, or 0. */
static char go_short_escape(uint32_t cp)
{
        switch (cp) {
        case '\a':
                return 'a';
        case '\b':
                return 'b';
        case '\f':
                return 'f';
        case '\n':
                return 'n';
        case '\r':
                return 'r';
        case '\t':
                return 't';
        case '\v':
                return 'v';
        default:
                return 0;
        }
}

static void put_go_escape(struct sink *s, uint32_t cp)
{
        char e = go_short_escape(cp);

        if (e) {
                put_char(s, '\\');
                put_char(s, e);
        } else if (cp < ' ' || cp == 0x7f) {
                put_hex(s, "\\x", cp, 2);
        } else if (cp < 0x10000) {
                put_hex(s, "\\u", cp, 4);
        } else {
                put_hex(s, "\\U", cp, 8);
        }
}

/* Go's strconv.Quote, as fmt's %q applies it to a string. */
static void put_go_quoted(struct sink *s, const char *str)
{
        const unsigned char *p = (const unsigned char *) str;

        put_char(s, '"');
        while (*p) {
                uint32_t cp;
                size_t n = utf8_decode(p, &cp);

                if (n == 0) {
                        put_hex(s, "\\x", *p++, 2);
                        continue;
                }
                if (cp == '"' || cp == '\\') {
                        put_char(s, '\\');
                        put_char(s, (char) cp);
                } else if ((cp >= ' ' && cp < 0x7f) || (cp >= 0x80 && go_is_print(cp))) {
                        put(s, (const char *) p, n);
                } else {
                        put_go_escape(s, cp);
                }
                p += n;
        }
        put_char(s, '"');
}

/* logrus's TextFormatter.needsQuoting (neither ForceQuote nor QuoteEmptyFields). */
static bool needs_quoting(const char *v)
{
        for (; *v; v++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._/@^+",
                            *v))
                        return true;
        return false;
}

static void put_text_pair(struct sink *s, const char *key, const char *value)
{
        put_str(s, key);
        put_char(s, '=');
        if (needs_quoting(value))
                put_go_quoted(s, value);
        else
                put_str(s, value);
}

/* A string as Go's encoding/json writes it with HTML escaping on (json.Encoder's default). */
static void put_json_string(struct sink *s, const char *str)
{
        const unsigned char *p = (const unsigned char *) str;

        put_char(s, '"');
        while (*p) {
                uint32_t cp;
                size_t n;

                if (*p < 0x80) {
                        if (*p == '"' || *p == '\\') {
                                put_char(s, '\\');
                                put_char(s, (char) *p);
                        } else if (*p == '\n' || *p == '\r' || *p == '\t') {
                                put_char(s, '\\');
                                put_char(s, *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't');
                        } else if (*p < ' ' || *p == '<' || *p == '>' || *p == '&') {
                                put_hex(s, "\\u", *p, 4);
                        } else {
                                put_char(s, (char) *p);
                        }
                        p++;
                        continue;
                }
                n = utf8_decode(p, &cp);
                if (n == 0) {
                        put_str(s, "\\ufffd");
                        p++;
                        continue;
                }
                if (cp == 0x2028 || cp == 0x2029)
                        put_hex(s, "\\u", cp, 4);
                else
                        put(s, (const char *) p, n);
                p += n;
        }
        put_char(s, '"');
}

size_t oci_logrec_format(bool json, const char *level, const char *msg, const char *stamp,
                         char *buf, size_t size)
{
        struct sink s = {.buf = buf, .size = size};

        if (json) {
                /* the keys of logrus's map, sorted as encoding/json sorts them */
                put_str(&s, "{\"level\":");
                put_json_string(&s, level);
                put_str(&s, ",\"msg\":");
                put_json_string(&s, msg);
                put_str(&s, ",\"time\":");
                put_json_string(&s, stamp);
                put_str(&s, "}\n");
        } else {
                put_text_pair(&s, "time", stamp);
                put_char(&s, ' ');
                put_text_pair(&s, "level", level);
                put_char(&s, ' ');
                put_text_pair(&s, "msg", msg);
                put_char(&s, '\n');
        }
        if (size > 0)
                buf[s.len < size ? s.len : size - 1] = '\0';
        return s.len;
}

void oci_logrec_time(time_t t, char *buf, size_t size)
{
        struct tm tm;
        long off;
        size_t n;

        buf[0] = '\0';
        if (!localtime_r(&t, &tm))
                return;
        n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
        if (n == 0)
                return;
        off = tm.tm_gmtoff;
        if (off == 0)
                snprintf(buf + n, size - n, "Z");
        else
                snprintf(buf + n, size - n, "%c%02ld:%02ld", off < 0 ? '-' : '+', labs(off) / 3600,
                         labs(off) % 3600 / 60);
}
