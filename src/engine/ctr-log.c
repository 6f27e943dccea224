/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container log (ctr-log.h): the monitor's writer, and the reader of `berth logs` (tail
 * across rotated files by a backward scan, since/until, follow across rotation).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "base/duration.h"
#include "base/util.h"
#include "engine/ctr-log.h"

#define NAME_MAX_LEN 200
#define ROTATED_SIZE (NAME_MAX_LEN + 16) /* "NAME.N" */

static const char *const stream_names[] = {
    [BERTH_LOG_STDOUT] = "stdout", [BERTH_LOG_STDERR] = "stderr"};

static bool is_stream(int stream)
{
        return stream == BERTH_LOG_STDOUT || stream == BERTH_LOG_STDERR;
}

/* NAME.i, or NAME for i 0. */
static void rotated_name(const char *name, unsigned i, char buf[ROTATED_SIZE])
{
        if (i == 0)
                snprintf(buf, ROTATED_SIZE, "%s", name);
        else
                snprintf(buf, ROTATED_SIZE, "%s.%u", name, i);
}

static int check_name(const char *name, struct berth_error **err)
{
        if (!name || !*name || strlen(name) > NAME_MAX_LEN || strchr(name, '/'))
                return berth_error_setx(err, EINVAL, "container log: bad file name %s",
                                        QUOTE(name ? name : ""));
        return 0;
}

/* ---- times -------------------------------------------------------------------------------- */

static void put_digits(char *p, unsigned long v, int n)
{
        for (int i = n - 1; i >= 0; i--, v /= 10)
                p[i] = (char) ('0' + v % 10);
}

/* "YYYY-MM-DDTHH:MM:SS" (19 chars) of sec, UTC. */
static void format_seconds(time_t sec, char out[20])
{
        struct tm tm;

        if (!gmtime_r(&sec, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
                memset(&tm, 0, sizeof(tm));
        put_digits(out, (unsigned long) (tm.tm_year + 1900), 4);
        out[4] = '-';
        put_digits(out + 5, (unsigned long) tm.tm_mon + 1, 2);
        out[7] = '-';
        put_digits(out + 8, (unsigned long) tm.tm_mday, 2);
        out[10] = 'T';
        put_digits(out + 11, (unsigned long) tm.tm_hour, 2);
        out[13] = ':';
        put_digits(out + 14, (unsigned long) tm.tm_min, 2);
        out[16] = ':';
        put_digits(out + 17, (unsigned long) tm.tm_sec, 2);
        out[19] = '\0';
}

static int64_t floor_div(int64_t a, int64_t b)
{
        return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

size_t berth_log_format_time(int64_t ns, char buf[BERTH_LOG_TIME_SIZE])
{
        int64_t sec = floor_div(ns, 1000000000);

        format_seconds((time_t) sec, buf);
        buf[19] = '.';
        put_digits(buf + 20, (unsigned long) (ns - sec * 1000000000), 9);
        buf[29] = 'Z';
        buf[30] = '\0';
        return 30;
}

/* ---- the writer --------------------------------------------------------------------------- */

struct pending {
        size_t len;
        char buf[BERTH_LOG_RECORD_MAX];
};

struct berth_log_writer {
        int dirfd, fd;
        char name[NAME_MAX_LEN + 1];
        uint64_t size, max_size;
        unsigned max_files;
        unsigned rotated; /* NAME.1 .. NAME.rotated exist: the renames a rotation makes */
        /* the formatted date and time of the second last written: one gmtime_r a second */
        time_t last_sec;
        char last_date[20];
        struct pending pending[2]; /* stdout, stderr */
};

static int open_append(int dirfd, const char *name, int *ret_fd, uint64_t *ret_size,
                       struct berth_error **err)
{
        _autoclose_ int fd = -EBADF;
        struct stat st;

        fd = openat(dirfd, name, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
        if (fd < 0)
                return berth_error_set(err, errno, "open %s", name);
        if (fstat(fd, &st) < 0)
                return berth_error_set(err, errno, "stat %s", name);
        if (!S_ISREG(st.st_mode))
                return berth_error_setx(err, EINVAL, "open %s: not a regular file", name);
        *ret_size = (uint64_t) st.st_size;
        *ret_fd = steal_fd(&fd);
        return 0;
}

/* The rotated files a previous writer left (NAME.1, NAME.2, ... up to max_files - 1). */
static unsigned count_rotated(const struct berth_log_writer *w)
{
        char name[ROTATED_SIZE];
        unsigned n = 0;

        for (; n + 1 < w->max_files; n++) {
                rotated_name(w->name, n + 1, name);
                if (faccessat(w->dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) < 0)
                        break;
        }
        return n;
}

int berth_log_writer_open(int dirfd, const char *name, uint64_t max_size, unsigned max_files,
                          struct berth_log_writer **ret, struct berth_error **err)
{
        struct berth_log_writer *w;
        int r;

        r = check_name(name, err);
        if (r < 0)
                return r;
        if (max_files < 1)
                return berth_error_setx(err, EINVAL, "container log %s: max-file must be >= 1",
                                        name);
        w = xcalloc(1, sizeof(*w));
        w->fd = -EBADF;
        w->last_sec = -1;
        w->max_size = max_size;
        w->max_files = max_files;
        snprintf(w->name, sizeof(w->name), "%s", name);
        w->dirfd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
        if (w->dirfd < 0) {
                r = berth_error_set(err, errno, "container log %s: dup the directory fd", name);
                berth_log_writer_free(w);
                return r;
        }
        r = open_append(w->dirfd, name, &w->fd, &w->size, err);
        if (r < 0) {
                berth_log_writer_free(w);
                return r;
        }
        w->rotated = count_rotated(w);
        *ret = w;
        return 0;
}

void berth_log_writer_free(struct berth_log_writer *w)
{
        if (!w)
                return;
        closep(&w->fd);
        closep(&w->dirfd);
        free(w);
}

/* "<time> <stream> <tag> " in head; returns its length. */
static size_t format_head(struct berth_log_writer *w, int stream, char tag, char *head)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        if (ts.tv_sec != w->last_sec) {
                format_seconds(ts.tv_sec, w->last_date);
                w->last_sec = ts.tv_sec;
        }
        memcpy(head, w->last_date, 19);
        head[19] = '.';
        put_digits(head + 20, (unsigned long) ts.tv_nsec, 9);
        head[29] = 'Z';
        head[30] = ' ';
        memcpy(head + 31, stream_names[stream], 6);
        head[37] = ' ';
        head[38] = tag;
        head[39] = ' ';
        return 40;
}

/* NAME -> NAME.1 -> ... -> NAME.(max_files - 1), the last one replaced; then a new NAME. With
 * max_files 1, NAME is unlinked. Renames only: a reader holding a file reads it to its end. */
static int rotate(struct berth_log_writer *w, struct berth_error **err)
{
        char from[ROTATED_SIZE], to[ROTATED_SIZE];
        /* NAME.(rotated + 1) is made, unless that is one more than max_files allows */
        unsigned top = w->rotated + 1 < w->max_files ? w->rotated + 1 : w->max_files - 1;
        int fd, r;

        if (w->max_files < 2) {
                if (unlinkat(w->dirfd, w->name, 0) < 0 && errno != ENOENT)
                        return berth_error_set(err, errno, "rotate %s: unlink", w->name);
        }
        for (unsigned i = top; i >= 1; i--) {
                rotated_name(w->name, i - 1, from);
                rotated_name(w->name, i, to);
                if (renameat(w->dirfd, from, w->dirfd, to) < 0 && errno != ENOENT)
                        return berth_error_set(err, errno, "rotate %s: rename %s to %s", w->name,
                                               from, to);
        }
        w->rotated = top;
        r = open_append(w->dirfd, w->name, &fd, &w->size, err);
        if (r < 0)
                return berth_error_prefix(err, "rotate %s", w->name);
        closep(&w->fd);
        w->fd = fd;
        return 0;
}

/* writev(2) of the whole record; a short write (a full disk) goes on with the rest. */
static int writev_all(int fd, struct iovec *iov, int n)
{
        while (n > 0) {
                ssize_t k = writev(fd, iov, n);

                if (k < 0 && errno == EINTR)
                        continue;
                if (k <= 0)
                        return k < 0 ? -errno : -EIO;
                while (n > 0 && (size_t) k >= iov->iov_len) {
                        k -= (ssize_t) iov->iov_len;
                        iov++, n--;
                }
                if (n > 0) {
                        iov->iov_base = (char *) iov->iov_base + k;
                        iov->iov_len -= (size_t) k;
                }
        }
        return 0;
}

/* One record, content a[0..alen) + b[0..blen), in one writev(2); rotates first if it would take
 * the file past max_size (never for the first record of a file: a record is never split). */
static int write_record(struct berth_log_writer *w, int stream, char tag, const char *a,
                        size_t alen, const char *b, size_t blen, struct berth_error **err)
{
        char head[40];
        size_t hlen = format_head(w, stream, tag, head), total = hlen + alen + blen + 1;
        struct iovec iov[4] = {{head, hlen},
                               {(void *) (uintptr_t) a, alen},
                               {(void *) (uintptr_t) b, blen},
                               {(void *) (uintptr_t) "\n", 1}};
        int rot = 0, r;

        if (w->max_size > 0 && w->size > 0 && w->size + total > w->max_size)
                rot = rotate(w, err);
        r = writev_all(w->fd, iov, 4);
        if (r < 0)
                return berth_error_set(err, -r, "write %s", w->name);
        w->size += total;
        return rot;
}

/* A piece s[0..n) of a line of stream p; eol: the line ends after it. */
static int add_piece(struct berth_log_writer *w, int stream, const char *s, size_t n, bool eol,
                     struct berth_error **err)
{
        struct pending *p = &w->pending[stream - 1];
        int r;

        while (p->len + n > BERTH_LOG_RECORD_MAX) {
                size_t take = BERTH_LOG_RECORD_MAX - p->len;

                r = write_record(w, stream, 'P', p->buf, p->len, s, take, err);
                p->len = 0;
                s += take;
                n -= take;
                if (r < 0)
                        return r;
        }
        if (eol) {
                r = write_record(w, stream, 'F', p->buf, p->len, s, n, err);
                p->len = 0;
                return r;
        }
        memcpy(p->buf + p->len, s, n);
        p->len += n;
        return 0;
}

int berth_log_write(struct berth_log_writer *w, int stream, const void *data, size_t len,
                    struct berth_error **err)
{
        const char *s = data, *end = s + len;

        if (!is_stream(stream))
                return berth_error_setx(err, EINVAL, "write %s: bad stream %d", w->name, stream);
        while (s < end) {
                const char *nl = memchr(s, '\n', (size_t) (end - s));
                size_t n = (size_t) ((nl ? nl : end) - s);
                int r = add_piece(w, stream, s, n, nl != NULL, err);

                if (r < 0)
                        return r;
                s += n + (nl != NULL);
        }
        return 0;
}

int berth_log_stream_end(struct berth_log_writer *w, int stream, struct berth_error **err)
{
        struct pending *p;
        int r;

        if (!is_stream(stream))
                return berth_error_setx(err, EINVAL, "write %s: bad stream %d", w->name, stream);
        p = &w->pending[stream - 1];
        if (p->len == 0)
                return 0;
        r = write_record(w, stream, 'P', p->buf, p->len, NULL, 0, err);
        p->len = 0;
        return r;
}

/* ---- parsing times ------------------------------------------------------------------------ */

/* The fields of a time being parsed, and where the text is. */
struct tparse {
        const char *s, *end;
        const char *elem; /* the layout element that failed: "2006", "01", ..., "Z07:00" */
        int year, mon, day, hour, min, sec;
        int64_t nsec, offset; /* offset: seconds east of UTC */
};

static bool tp_digits(struct tparse *p, int min_n, int max_n, int *ret, const char *elem)
{
        int v = 0, n = 0;

        while (n < max_n && p->s + n < p->end && p->s[n] >= '0' && p->s[n] <= '9')
                v = v * 10 + (p->s[n++] - '0');
        if (n < min_n) {
                p->elem = elem;
                return false;
        }
        p->s += n;
        *ret = v;
        return true;
}

static bool tp_lit(struct tparse *p, char c, const char *elem)
{
        if (p->s >= p->end || *p->s != c) {
                p->elem = elem;
                return false;
        }
        p->s++;
        return true;
}

static bool tp_peek(const struct tparse *p, char c)
{
        return p->s < p->end && *p->s == c;
}

/* ".123" or ",123": Go keeps the first 9 digits of any number of them. */
static void tp_fraction(struct tparse *p)
{
        int64_t scale = 100000000;

        if (p->s + 1 >= p->end || (*p->s != '.' && *p->s != ',') || p->s[1] < '0' || p->s[1] > '9')
                return;
        for (p->s++; p->s < p->end && *p->s >= '0' && *p->s <= '9'; p->s++, scale /= 10)
                p->nsec += (*p->s - '0') * scale;
}

/* "Z" or "+hh:mm" / "-hh:mm" (Go's Z07:00). */
static bool tp_zone(struct tparse *p)
{
        int h, m, sign;

        if (tp_peek(p, 'Z')) {
                p->s++;
                return true;
        }
        p->elem = "Z07:00";
        if (!tp_peek(p, '+') && !tp_peek(p, '-'))
                return false;
        sign = *p->s++ == '-' ? -1 : 1;
        if (!tp_digits(p, 2, 2, &h, "Z07:00") || !tp_lit(p, ':', "Z07:00") ||
            !tp_digits(p, 2, 2, &m, "Z07:00"))
                return false;
        p->offset = sign * (h * 3600 + m * 60);
        return true;
}

static bool tp_date(struct tparse *p)
{
        return tp_digits(p, 4, 4, &p->year, "2006") && tp_lit(p, '-', "-") &&
               tp_digits(p, 2, 2, &p->mon, "01") && tp_lit(p, '-', "-") &&
               tp_digits(p, 2, 2, &p->day, "02");
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
        int64_t era, yoe, doy, doe;

        y -= m <= 2;
        era = (y >= 0 ? y : y - 399) / 400;
        yoe = y - era * 400;
        doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
        static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

        if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
                return 29;
        return days[m - 1];
}

/* The fields as ns since the epoch; NULL, or the name of the field out of range. */
static const char *tp_to_ns(const struct tparse *p, int64_t *ret)
{
        if (p->mon < 1 || p->mon > 12)
                return "month out of range";
        if (p->day < 1 || p->day > days_in_month(p->year, p->mon))
                return "day out of range";
        if (p->hour > 23)
                return "hour out of range";
        if (p->min > 59)
                return "minute out of range";
        if (p->sec > 59)
                return "second out of range";
        *ret = ((days_from_civil(p->year, p->mon, p->day) * 86400 + p->hour * 3600 + p->min * 60 +
                 p->sec - p->offset) *
                1000000000) +
               p->nsec;
        return NULL;
}

int berth_log_parse_time(const char *s, size_t len, int64_t *ret_ns)
{
        struct tparse p = {.s = s, .end = s + len};

        if (!tp_date(&p) || !tp_lit(&p, 'T', "T") || !tp_digits(&p, 2, 2, &p.hour, "15") ||
            !tp_lit(&p, ':', ":") || !tp_digits(&p, 2, 2, &p.min, "04") || !tp_lit(&p, ':', ":") ||
            !tp_digits(&p, 2, 2, &p.sec, "05"))
                return -EINVAL;
        tp_fraction(&p);
        if (!tp_zone(&p) || p.s != p.end || tp_to_ns(&p, ret_ns))
                return -EINVAL;
        return 0;
}

/* ---- docker's --since / --until ----------------------------------------------------------- */

/* docker's parseTimestamp: "seconds[.fraction]" (Unix time). */
static bool parse_unix_time(const char *s, int64_t *ret)
{
        int64_t sec = 0, nsec = 0, scale = 100000000;
        const char *p = s + (*s == '+');

        if (*p < '0' || *p > '9')
                return false;
        for (; *p >= '0' && *p <= '9'; p++) {
                if (sec > INT64_MAX / 1000000000 / 10)
                        return false;
                sec = sec * 10 + (*p - '0');
        }
        if (*p == '.') {
                if (p[1] < '0' || p[1] > '9')
                        return false;
                for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
                        nsec += (*p - '0') * scale;
        }
        if (*p)
                return false;
        *ret = sec * 1000000000 + nsec;
        return true;
}

static size_t count_char(const char *s, char c)
{
        size_t n = 0;

        for (; *s; s++)
                n += *s == c;
        return n;
}

/* docker's choice of a Go layout for s (timetypes.GetTimestamp): by its '.', 'T' and colons.
 * Returns the layout; *ret_parts: 0 a date, 1 + hour, 2 + minutes, 3 + seconds. */
static const char *since_layout(const char *s, bool local, int *ret_parts)
{
        int colons = (int) count_char(s, ':');

        if (strchr(s, '.')) {
                *ret_parts = 3;
                return local ? "2006-01-02T15:04:05.999999999"
                             : "2006-01-02T15:04:05.999999999Z07:00";
        }
        if (!strchr(s, 'T')) {
                *ret_parts = 0;
                return local ? "2006-01-02" : "2006-01-02Z07:00";
        }
        if (!local && !strpbrk(s, "zZ") && colons > 0)
                colons--; /* the zone's */
        *ret_parts = colons >= 2 ? 3 : colons + 1;
        if (colons == 0)
                return local ? "2006-01-02T15" : "2006-01-02T15Z07:00";
        if (colons == 1)
                return local ? "2006-01-02T15:04" : "2006-01-02T15:04Z07:00";
        return local ? "2006-01-02T15:04:05" : "2006-01-02T15:04:05Z07:00";
}

/* s by the layout's parts (as Go's time.Parse would with that layout): true, or p->elem. */
static bool parse_layout(struct tparse *p, int parts, bool zone)
{
        if (!tp_date(p))
                return false;
        if (parts >= 1 && (!tp_lit(p, 'T', "T") || !tp_digits(p, 1, 2, &p->hour, "15")))
                return false;
        if (parts >= 2 && (!tp_lit(p, ':', ":") || !tp_digits(p, 2, 2, &p->min, "04")))
                return false;
        if (parts >= 3 && (!tp_lit(p, ':', ":") || !tp_digits(p, 2, 2, &p->sec, "05")))
                return false;
        if (parts >= 3)
                tp_fraction(p);
        if (zone && !tp_zone(p))
                return false;
        return true;
}

static int parse_rfc3339ish(const char *s, int64_t now_ns, int64_t *ret_ns,
                            struct berth_error **err)
{
        bool local = !(strpbrk(s, "zZ+") || count_char(s, '-') == 3);
        struct tparse p = {.s = s, .end = s + strlen(s)};
        const char *layout, *range;
        int parts;

        layout = since_layout(s, local, &parts);
        if (local) {
                time_t now = (time_t) floor_div(now_ns, 1000000000);
                struct tm tm;

                /* docker: time.FixedZone(reference.Zone()), the offset in force now */
                if (localtime_r(&now, &tm))
                        p.offset = tm.tm_gmtoff;
        }
        if (!parse_layout(&p, parts, !local))
                return berth_error_setx(
                    err, EINVAL, "parsing time \"%s\" as \"%s\": cannot parse \"%s\" as \"%s\"", s,
                    layout, p.s, p.elem);
        if (p.s != p.end)
                return berth_error_setx(err, EINVAL, "parsing time \"%s\": extra text: \"%s\"", s,
                                        p.s);
        range = tp_to_ns(&p, ret_ns);
        if (range)
                return berth_error_setx(err, EINVAL, "parsing time \"%s\": %s", s, range);
        return 0;
}

int berth_log_parse_since(const char *s, int64_t now_ns, int64_t *ret_ns, struct berth_error **err)
{
        _autoerr_ struct berth_error *e = NULL;
        int64_t d;

        if (!streq(s, "0") && berth_duration_parse(s, &d, NULL) == 0) {
                *ret_ns = floor_div(now_ns - d, 1000000000) * 1000000000;
                return 0;
        }
        if (parse_rfc3339ish(s, now_ns, ret_ns, &e) >= 0)
                return 0;
        /* a '-': it was meant as a date; else maybe Unix seconds */
        if (strchr(s, '-')) {
                if (err) {
                        berth_error_free(*err);
                        *err = steal_ptr(&e);
                }
                return -EINVAL;
        }
        if (parse_unix_time(s, ret_ns))
                return 0;
        return berth_error_setx(err, EINVAL, "failed to parse value as time or duration: \"%s\"",
                                s);
}

/* ---- the reader --------------------------------------------------------------------------- */

#define READ_BLOCK 65536
#define LINE_MAX_BYTES (1024 * 1024) /* a longer line is not one of ours: skipped */
#define HEAD_MAX 96                  /* time (with a zone offset), stream and tag fit */
#define CHECK_MS 100                 /* follow asks still_running at most this often */

/* "<time> <stream> <tag>[:more tags] <content>" (the content and its space may be missing). */
static bool parse_record(const char *line, size_t len, struct berth_log_record *r)
{
        const char *end = line + len, *sp = memchr(line, ' ', len), *p;

        if (!sp || berth_log_parse_time(line, (size_t) (sp - line), &r->ts_ns) < 0)
                return false;
        p = sp + 1;
        if (end - p >= 6 && !memcmp(p, "stdout", 6))
                r->stream = BERTH_LOG_STDOUT;
        else if (end - p >= 6 && !memcmp(p, "stderr", 6))
                r->stream = BERTH_LOG_STDERR;
        else
                return false;
        p += 6;
        if (end - p < 2 || p[0] != ' ' || (p[1] != 'P' && p[1] != 'F'))
                return false;
        r->partial = p[1] == 'P';
        for (p += 2; p < end && *p != ' '; p++)
                if (p == sp + 9 && *p != ':') /* "F:x": more tags */
                        return false;
        r->content = p < end ? p + 1 : end;
        r->len = (size_t) (end - r->content);
        return true;
}

/* A place in the log: a file of the list (oldest first) and an offset. */
struct pos {
        size_t file;
        uint64_t off;
};

static bool pos_before(struct pos a, struct pos b)
{
        return a.file < b.file || (a.file == b.file && a.off < b.off);
}

struct lfile {
        int fd; /* -EBADF: missing */
        struct stat st;
};

/* The file being read forward, and the bytes read from it that are not yet a whole line. */
struct cur {
        int fd;
        struct stat st;
        size_t file; /* its index in the list; files found by follow come after it */
        char *buf;
        size_t cap, len;  /* buf[0..len): read, not yet a line */
        uint64_t buf_off; /* file offset of buf[0] */
        bool skipping;    /* inside an over-long line */
};

struct reader {
        int dirfd;
        const char *name;
        const struct berth_log_read_opts *o;
        berth_log_record_fn fn;
        void *userdata;
        struct pos cut[3]; /* tail: records of stream s before cut[s] are not shown */
        bool done;         /* fn said stop, or a record past until */
};

static int emit_line(struct reader *rd, const char *line, size_t len, struct pos at,
                     struct berth_error **err)
{
        struct berth_log_record r;
        int ret;

        if (!parse_record(line, len, &r) || pos_before(at, rd->cut[r.stream]))
                return 0;
        if (rd->o->since_ns && r.ts_ns < rd->o->since_ns)
                return 0;
        if (rd->o->until_ns && r.ts_ns > rd->o->until_ns) {
                rd->done = true;
                return 0;
        }
        ret = rd->fn(&r, rd->userdata, err);
        if (ret != 0)
                rd->done = true;
        return ret < 0 ? ret : 0;
}

/* The whole lines of c->buf; the rest moves to its start. */
static int emit_lines(struct reader *rd, struct cur *c, struct berth_error **err)
{
        size_t p = 0;
        char *nl;

        while (!rd->done && (nl = memchr(c->buf + p, '\n', c->len - p))) {
                size_t n = (size_t) (nl - (c->buf + p));
                int r = 0;

                if (c->skipping)
                        c->skipping = false;
                else
                        r = emit_line(rd, c->buf + p, n, (struct pos){c->file, c->buf_off + p},
                                      err);
                if (r < 0)
                        return r;
                p += n + 1;
        }
        memmove(c->buf, c->buf + p, c->len - p);
        c->len -= p;
        c->buf_off += p;
        return 0;
}

/* Reads c to its end (for now), emitting every whole line. */
static int drain(struct reader *rd, struct cur *c, struct berth_error **err)
{
        while (c->fd >= 0 && !rd->done) {
                ssize_t n;
                int r;

                if (c->len == c->cap) {
                        if (c->cap < LINE_MAX_BYTES) {
                                c->cap *= 2;
                                c->buf = xreallocarray(c->buf, c->cap, 1);
                        } else {
                                c->skipping = true;
                                c->buf_off += c->len;
                                c->len = 0;
                        }
                }
                n = read(c->fd, c->buf + c->len, c->cap - c->len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return berth_error_set(err, errno, "read %s", rd->name);
                if (n == 0)
                        return 0;
                c->len += (size_t) n;
                r = emit_lines(rd, c, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* Makes fd (at offset off, file index file) the current file. */
static int cur_set(struct reader *rd, struct cur *c, int fd, size_t file, uint64_t off,
                   struct berth_error **err)
{
        closep(&c->fd);
        c->fd = fd;
        c->file = file;
        c->len = 0;
        c->buf_off = off;
        c->skipping = false;
        if (fd < 0)
                return 0;
        if (fstat(fd, &c->st) < 0)
                return berth_error_set(err, errno, "stat %s", rd->name);
        if (lseek(fd, (off_t) off, SEEK_SET) < 0)
                return berth_error_set(err, errno, "seek %s", rd->name);
        return 0;
}

/* ---- the files ---------------------------------------------------------------------------- */

static int open_ro(int dirfd, const char *name, struct stat *st)
{
        int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);

        if (fd >= 0 && (fstat(fd, st) < 0 || !S_ISREG(st->st_mode))) {
                close(fd);
                errno = EINVAL;
                return -1;
        }
        return fd;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

/* Whether dirfd/name is (still) the file of st, or missing as it was. */
static bool still_there(int dirfd, const char *name, int fd, const struct stat *st)
{
        struct stat now;

        if (fstatat(dirfd, name, &now, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT && fd < 0;
        return fd >= 0 && same_file(&now, st);
}

static void files_free(struct lfile *f, size_t n)
{
        for (size_t i = 0; i < n; i++)
                closep(&f[i].fd);
        free(f);
}

/* f[i] = NAME.i (fd -EBADF where missing), i up to the second missing index in a row, so that
 * a rotation caught between two renames loses nothing. *ret_stable: nothing was renamed
 * meanwhile. */
static int probe_files(struct reader *rd, struct lfile **ret, size_t *ret_n, bool *ret_stable,
                       struct berth_error **err)
{
        char name[ROTATED_SIZE];
        struct lfile *f = NULL;
        unsigned missing = 0;
        size_t n;

        for (n = 0; missing < 2; n++) {
                rotated_name(rd->name, (unsigned) n, name);
                f = xreallocarray(f, n + 1, sizeof(*f));
                f[n].fd = open_ro(rd->dirfd, name, &f[n].st);
                if (f[n].fd < 0 && errno != ENOENT) {
                        int r = berth_error_set(err, errno, "open %s", name);

                        files_free(f, n);
                        return r;
                }
                missing = f[n].fd < 0 ? missing + 1 : 0;
        }
        *ret_stable = true;
        for (size_t i = 0; i < n && *ret_stable; i++) {
                rotated_name(rd->name, (unsigned) i, name);
                *ret_stable = still_there(rd->dirfd, name, f[i].fd, &f[i].st);
        }
        *ret = f;
        *ret_n = n;
        return 0;
}

/* NAME.k ... NAME.1 that exist, oldest first, then NAME (its fd -EBADF if missing). Probed
 * again until no rename happened while they were opened. */
static int open_files(struct reader *rd, struct lfile **ret, size_t *ret_n,
                      struct berth_error **err)
{
        for (int attempt = 0; attempt < 100; attempt++) {
                struct lfile *f = NULL, *list;
                size_t n = 0, kept = 0;
                bool stable = false;
                int r;

                r = probe_files(rd, &f, &n, &stable, err);
                if (r < 0)
                        return r;
                if (!stable) {
                        files_free(f, n);
                        continue;
                }
                list = xcalloc(n, sizeof(*list));
                for (size_t i = n; i-- > 1;)
                        if (f[i].fd >= 0)
                                list[kept++] = f[i];
                list[kept++] = f[0];
                free(f); /* the fds moved to list */
                *ret = list;
                *ret_n = kept;
                return 0;
        }
        return berth_error_setx(err, EAGAIN, "open %s: rotated faster than it can be read",
                                rd->name);
}

/* ---- tail: a backward scan ---------------------------------------------------------------- */

/* The scan's state: lines counted from the end, and per stream whether the chain being walked
 * (from its end back) is one of the last N lines. */
struct tail {
        int64_t want, count;
        bool seen[3], in[3], cut[3];
};

/* The line at `at` (its first bytes head[0..n)), met walking back; true when the cut is found. */
static bool tail_visit(struct reader *rd, struct tail *t, const char *head, size_t n, struct pos at)
{
        struct berth_log_record r;
        int s;

        if (!parse_record(head, n, &r))
                return false;
        s = r.stream;
        /* an F ends a line; so does a P that nothing of its stream follows (the last, unended
         * line of a stream); another P continues the line after it */
        if (!r.partial || !t->seen[s]) {
                t->in[s] = t->count < t->want;
                t->count += t->in[s];
        }
        t->seen[s] = true;
        if (t->in[s]) {
                rd->cut[s] = at;
                t->cut[s] = true;
        }
        return t->count >= t->want && !t->in[BERTH_LOG_STDOUT] && !t->in[BERTH_LOG_STDERR];
}

/* The first HEAD_MAX bytes of the line [off, end) of fd: from the block buf (file offset b) if
 * there, else read. */
static size_t line_head(int fd, const char *buf, uint64_t b, uint64_t b_end, uint64_t off,
                        uint64_t end, char *out)
{
        size_t n = (size_t) (end - off < HEAD_MAX ? end - off : HEAD_MAX);
        ssize_t k;

        if (off + n <= b_end) {
                memcpy(out, buf + (off - b), n);
                return n;
        }
        k = pread(fd, out, n, (off_t) off);
        return k > 0 ? (size_t) k : 0;
}

/*
 * Walks the whole lines of f (file index file) from the last back: the lines are the spans
 * between newlines. *ret_end, for the newest file: the end of its last whole line. Returns 1
 * when the cut is found, 0 at the file's start, or an error.
 */
static int tail_file(struct reader *rd, struct tail *t, int fd, size_t file, char *buf,
                     uint64_t *ret_end, struct berth_error **err)
{
        uint64_t b_end, line_end = UINT64_MAX;
        char head[HEAD_MAX];
        struct stat st;

        if (fstat(fd, &st) < 0)
                return berth_error_set(err, errno, "stat %s", rd->name);
        for (b_end = (uint64_t) st.st_size; b_end > 0;) {
                uint64_t b = b_end > READ_BLOCK ? b_end - READ_BLOCK : 0;
                ssize_t k = pread(fd, buf, (size_t) (b_end - b), (off_t) b);
                const char *nl;
                size_t len;

                if (k < 0)
                        return berth_error_set(err, errno, "read %s", rd->name);
                if ((uint64_t) k < b_end - b) /* truncated meanwhile: not one of ours */
                        return berth_error_setx(err, EIO, "read %s: the file shrank", rd->name);
                for (len = (size_t) k; (nl = memrchr(buf, '\n', len)); len = (size_t) (nl - buf)) {
                        uint64_t off = b + (uint64_t) (nl - buf) + 1;

                        if (line_end == UINT64_MAX)
                                *ret_end = line_end = off;
                        else if (tail_visit(rd, t, head,
                                            line_head(fd, buf, b, b_end, off, line_end - 1, head),
                                            (struct pos){file, off}))
                                return 1;
                        line_end = off;
                }
                b_end = b;
        }
        if (line_end != UINT64_MAX &&
            tail_visit(rd, t, head,
                       line_head(fd, buf, 0, (uint64_t) st.st_size, 0, line_end - 1, head),
                       (struct pos){file, 0}))
                return 1;
        return 0;
}

/* Sets rd->cut for the last o->tail lines of the files (rd->cut: the end of what is there now
 * when there are fewer lines than that). */
static int tail_cut(struct reader *rd, const struct lfile *f, size_t n, struct berth_error **err)
{
        _autofree_ char *buf = xcalloc(1, READ_BLOCK);
        struct tail t = {.want = rd->o->tail};
        uint64_t end = 0;
        size_t last;

        /* the end of the newest file with a whole line */
        for (last = n; last-- > 0;)
                if (f[last].fd >= 0 && f[last].st.st_size > 0)
                        break;
        if (last == SIZE_MAX) {
                rd->cut[1] = rd->cut[2] = (struct pos){n - 1, 0};
                return 0;
        }
        for (size_t i = last + 1; i-- > 0;) {
                uint64_t e = 0;
                int r;

                if (f[i].fd < 0)
                        continue;
                r = tail_file(rd, &t, f[i].fd, i, buf, &e, err);
                if (r < 0)
                        return r;
                if (i == last)
                        end = e;
                if (r > 0)
                        break;
        }
        /* a stream without any of the last lines: from what comes after them */
        for (int s = 1; s <= 2; s++)
                if (!t.cut[s])
                        rd->cut[s] = (struct pos){last, end};
        return 0;
}

/* ---- follow ------------------------------------------------------------------------------- */

static int64_t realtime_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The generation written after c's file, now that NAME is another file: NAME.(k-1) if c's file
 * is NAME.k; if it was dropped (or unlinked: max-file 1), the oldest file written since (mtime
 * not before c's), else NAME. Returns the fd, or -1 with errno (ENOENT: NAME is between two
 * renames, try again). */
static int open_next(struct reader *rd, const struct cur *c)
{
        char name[ROTATED_SIZE], next[ROTATED_SIZE];
        unsigned missing = 0, oldest = 0;
        struct stat st, ours;

        if (fstat(c->fd, &ours) < 0)
                return -1;
        for (unsigned i = 1; missing < 2; i++) {
                rotated_name(rd->name, i, name);
                if (fstatat(rd->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        missing++;
                        continue;
                }
                missing = 0;
                if (same_file(&st, &c->st)) {
                        int fd;

                        rotated_name(rd->name, i - 1, next);
                        fd = open_ro(rd->dirfd, next, &st);
                        /* a rename between the two: the caller tries again */
                        if (fd >= 0 && !still_there(rd->dirfd, name, c->fd, &c->st)) {
                                close(fd);
                                errno = EAGAIN;
                                return -1;
                        }
                        return fd;
                }
                if (st.st_mtim.tv_sec > ours.st_mtim.tv_sec ||
                    (st.st_mtim.tv_sec == ours.st_mtim.tv_sec &&
                     st.st_mtim.tv_nsec >= ours.st_mtim.tv_nsec))
                        oldest = i;
        }
        rotated_name(rd->name, oldest, next);
        return open_ro(rd->dirfd, next, &st);
}

/* Whether NAME is another file than c's (rotated); if so, after reading c to its end, c becomes
 * the next generation. *ret_moved: c changed. */
static int follow_rotation(struct reader *rd, struct cur *c, bool *ret_moved,
                           struct berth_error **err)
{
        struct stat st;
        size_t file;
        int fd, r;

        *ret_moved = false;
        if (fstatat(rd->dirfd, rd->name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                if (errno == ENOENT)
                        return 0; /* not made yet, or between two renames */
                return berth_error_set(err, errno, "stat %s", rd->name);
        }
        if (c->fd >= 0 && same_file(&st, &c->st))
                return 0;
        /* the writer renames only after its last write to the old file: read it to its end */
        r = drain(rd, c, err);
        if (r < 0 || rd->done)
                return r;
        fd = c->fd < 0 ? open_ro(rd->dirfd, rd->name, &st) : open_next(rd, c);
        if (fd < 0) {
                if (errno == ENOENT || errno == EAGAIN)
                        return 0; /* next time */
                return berth_error_set(err, errno, "open %s", rd->name);
        }
        file = c->fd < 0 ? c->file : c->file + 1;
        *ret_moved = true;
        return cur_set(rd, c, fd, file, 0, err);
}

/* An inotify watch of the directory (the log's writes and renames, the record's rewrites), or
 * -1: then follow polls. */
static int watch_dir(int dirfd)
{
        char path[64];
        int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);

        if (fd < 0)
                return -1;
        snprintf(path, sizeof(path), "/proc/self/fd/%d", dirfd);
        if (inotify_add_watch(fd, path,
                              IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
                                  IN_CLOSE_WRITE) < 0) {
                close(fd);
                return -1;
        }
        return fd;
}

static void wait_event(int ifd, int timeout_ms)
{
        struct pollfd p = {.fd = ifd, .events = POLLIN};
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

        if (ifd < 0) {
                (void) poll(NULL, 0, timeout_ms);
                return;
        }
        if (poll(&p, 1, timeout_ms) > 0)
                while (read(ifd, buf, sizeof(buf)) > 0)
                        ;
}

/* How long follow may sleep: poll_ms, less when still_running is due sooner or until nears;
 * -1 when it must look again now (*ret_final set when it is time to stop). */
static int follow_timeout(struct reader *rd, uint64_t *last_check, bool *ret_final)
{
        const struct berth_log_read_opts *o = rd->o;
        int timeout = o->poll_ms ? (int) o->poll_ms : 250;
        int64_t now_real = realtime_ns();

        if (o->until_ns) {
                if (now_real > o->until_ns) {
                        *ret_final = true;
                        return -1;
                }
                if ((o->until_ns - now_real) / 1000000 + 1 < timeout)
                        timeout = (int) ((o->until_ns - now_real) / 1000000 + 1);
        }
        if (o->still_running) {
                uint64_t now = berth_now_us(), since = now - *last_check;

                if (since >= CHECK_MS * 1000) {
                        *last_check = now;
                        if (!o->still_running(rd->userdata)) {
                                *ret_final = true;
                                return -1;
                        }
                } else if ((int) (CHECK_MS - since / 1000) < timeout) {
                        timeout = (int) (CHECK_MS - since / 1000);
                }
        }
        return timeout;
}

/* After the files as they were: what comes, across rotations, until the container is over (then
 * once more to the end: its monitor wrote the last records before it recorded the exit). */
static int follow(struct reader *rd, struct cur *c, struct berth_error **err)
{
        _autoclose_ int ifd = watch_dir(rd->dirfd);
        uint64_t last_check = 0;
        bool final = false;

        for (;;) {
                bool moved;
                int r, timeout;

                r = drain(rd, c, err);
                if (r >= 0 && !rd->done)
                        r = follow_rotation(rd, c, &moved, err);
                if (r < 0 || rd->done)
                        return r;
                if (moved)
                        continue;
                if (final)
                        return 0;
                timeout = follow_timeout(rd, &last_check, &final);
                if (timeout >= 0)
                        wait_event(ifd, timeout);
        }
}

int berth_log_read(int dirfd, const char *name, const struct berth_log_read_opts *o,
                   berth_log_record_fn fn, void *userdata, struct berth_error **err)
{
        struct reader rd = {.dirfd = dirfd, .name = name, .o = o, .fn = fn, .userdata = userdata};
        struct cur c = {.fd = -EBADF, .cap = READ_BLOCK};
        struct lfile *f = NULL;
        struct pos start;
        size_t n = 0;
        int r;

        r = check_name(name, err);
        if (r >= 0)
                r = open_files(&rd, &f, &n, err);
        if (r >= 0 && o->tail >= 0)
                r = tail_cut(&rd, f, n, err);
        if (r < 0)
                goto out;
        c.buf = xcalloc(1, c.cap);
        start = pos_before(rd.cut[1], rd.cut[2]) ? rd.cut[1] : rd.cut[2];
        for (size_t i = start.file; i < n && r >= 0 && !rd.done; i++) {
                r = cur_set(&rd, &c, steal_fd(&f[i].fd), i, i == start.file ? start.off : 0, err);
                if (r >= 0)
                        r = drain(&rd, &c, err);
        }
        if (r >= 0 && !rd.done && o->follow)
                r = follow(&rd, &c, err);
out:
        closep(&c.fd);
        free(c.buf);
        files_free(f, n);
        return r < 0 ? r : 0;
}
