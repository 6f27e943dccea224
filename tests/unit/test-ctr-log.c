/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container log (engine/ctr-log.c): the writer's records (line splitting, partial lines,
 * 16 KiB pieces, the last piece of a stream, interleaved streams), rotation by size and count,
 * the reader's tail (across rotated files, P chains as one line), since/until, follow across
 * rotations while another process writes, and the time formats (the record's, docker's
 * --since/--until forms).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/util.h"
#include "engine/ctr-log.h"

#define LOG "ctr.log"

struct fixture {
        char dir[64];
        int dfd;
};

static int setup(void **state)
{
        struct fixture *f = xcalloc(1, sizeof(*f));

        snprintf(f->dir, sizeof(f->dir), "/tmp/berth-test-ctr-log.XXXXXX");
        if (!mkdtemp(f->dir))
                return -1;
        f->dfd = open(f->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        *state = f;
        return f->dfd >= 0 ? 0 : -1;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        _autofree_ char *cmd = xasprintf("rm -rf %s", f->dir);

        close(f->dfd);
        free(f);
        return system(cmd) == 0 ? 0 : -1;
}

/* ---- helpers ------------------------------------------------------------------------------ */

static char *read_log(struct fixture *f, const char *name)
{
        char *buf = NULL;
        size_t len;

        if (berth_read_file_at(f->dfd, name, 0, &buf, &len, NULL) < 0) {
                fail_msg("read %s", name);
                return xstrdup("");
        }
        return buf;
}

static bool exists(struct fixture *f, const char *name)
{
        return faccessat(f->dfd, name, F_OK, 0) == 0;
}

/* The records of a file without their times: "stdout F a\nstderr P b\n". Checks each time. */
static char *strip_times(const char *text)
{
        _autofree_ char *out = xstrdup("");

        for (const char *line = text; *line;) {
                const char *nl = strchr(line, '\n');
                char *next;
                int64_t ns;

                assert_non_null(nl);
                assert_true(nl - line >= 31);
                assert_int_equal(line[30], ' ');
                assert_int_equal(berth_log_parse_time(line, 30, &ns), 0);
                next = xasprintf("%s%.*s\n", out, (int) (nl - line - 31), line + 31);
                free(out);
                out = next;
                line = nl + 1;
        }
        return steal_ptr(&out);
}

static void write_s(struct berth_log_writer *w, int stream, const char *s)
{
        assert_int_equal(berth_log_write(w, stream, s, strlen(s), NULL), 0);
}

/* What the reader gave: "1F:a|2P:b|" (stream, tag, content), and the times. */
struct seen {
        char *text;
        int64_t ts[4096];
        size_t n;
        size_t stop_after; /* 0: never */
};

static int collect(const struct berth_log_record *r, void *userdata, struct berth_error **err)
{
        struct seen *s = userdata;
        char *next = xasprintf("%s%d%c:%.*s|", s->text ? s->text : "", r->stream,
                               r->partial ? 'P' : 'F', (int) r->len, r->content);

        free(s->text);
        s->text = next;
        if (s->n < ARRAY_SIZE(s->ts))
                s->ts[s->n] = r->ts_ns;
        s->n++;
        return s->stop_after && s->n >= s->stop_after ? 1 : 0;
}

static char *read_all(struct fixture *f, const struct berth_log_read_opts *o)
{
        _autoerr_ struct berth_error *e = NULL;
        struct seen s = {0};

        assert_int_equal(berth_log_read(f->dfd, LOG, o, collect, &s, &e), 0);
        return s.text ? s.text : xstrdup("");
}

static const struct berth_log_read_opts all = {.tail = -1};

/* A file written by hand, line by line (a NULL-terminated list): records with given times. */
static void write_raw(struct fixture *f, const char *name, ...)
{
        int fd = openat(f->dfd, name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
        const char *text;
        va_list ap;

        assert_true(fd >= 0);
        va_start(ap, name);
        while ((text = va_arg(ap, const char *)))
                assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
        va_end(ap);
        close(fd);
}

/* ---- times -------------------------------------------------------------------------------- */

static void test_time_format(void **state)
{
        char buf[BERTH_LOG_TIME_SIZE];
        int64_t ns;

        assert_int_equal(berth_log_format_time(0, buf), 30);
        assert_string_equal(buf, "1970-01-01T00:00:00.000000000Z");
        berth_log_format_time(INT64_C(1796666645123456789), buf);
        assert_string_equal(buf, "2026-12-07T18:04:05.123456789Z");
        berth_log_format_time(INT64_C(951782400000000001), buf); /* a leap day */
        assert_string_equal(buf, "2000-02-29T00:00:00.000000001Z");

        assert_int_equal(berth_log_parse_time(buf, strlen(buf), &ns), 0);
        assert_int_equal(ns, INT64_C(951782400000000001));
        /* podman's conmon writes a zone offset; fewer digits; none */
        assert_int_equal(berth_log_parse_time("2026-12-07T19:04:05.5+01:00", 27, &ns), 0);
        assert_int_equal(ns, INT64_C(1796666645500000000));
        assert_int_equal(berth_log_parse_time("2026-12-07T18:04:05Z", 20, &ns), 0);
        assert_int_equal(ns, INT64_C(1796666645000000000));
        assert_int_equal(berth_log_parse_time("2026-12-07T18:04:05", 19, &ns), -EINVAL);
        assert_int_equal(berth_log_parse_time("2026-02-30T18:04:05Z", 20, &ns), -EINVAL);
        assert_int_equal(berth_log_parse_time("2026-12-07 18:04:05Z", 20, &ns), -EINVAL);
        assert_int_equal(berth_log_parse_time("2026-12-07T18:04:05Zx", 21, &ns), -EINVAL);
}

/* The record's time is the realtime clock at the write, in the fixed 30-char form. */
static void test_record_time(void **state)
{
        struct fixture *f = *state;
        _cleanup_(berth_log_writer_freep) struct berth_log_writer *w = NULL;
        _autofree_ char *text = NULL;
        struct timespec a, b;
        int64_t ns;

        assert_int_equal(berth_log_writer_open(f->dfd, LOG, 0, 1, &w, NULL), 0);
        clock_gettime(CLOCK_REALTIME, &a);
        write_s(w, BERTH_LOG_STDOUT, "x\n");
        clock_gettime(CLOCK_REALTIME, &b);
        text = read_log(f, LOG);
        assert_int_equal(strlen(text), 30 + strlen(" stdout F x\n"));
        assert_int_equal(text[10], 'T');
        assert_int_equal(text[19], '.');
        assert_int_equal(text[29], 'Z');
        assert_string_equal(text + 30, " stdout F x\n");
        assert_int_equal(berth_log_parse_time(text, 30, &ns), 0);
        assert_true(ns >= (int64_t) a.tv_sec * 1000000000 + a.tv_nsec);
        assert_true(ns <= (int64_t) b.tv_sec * 1000000000 + b.tv_nsec);
}

static void test_parse_since(void **state)
{
        const int64_t now = INT64_C(1796666645750000000); /* 2026-12-07T18:04:05.75Z */
        _autoerr_ struct berth_error *e = NULL;
        int64_t ns;

        /* Go durations, back from now, cut to whole seconds (docker's Unix()) */
        assert_int_equal(berth_log_parse_since("10m", now, &ns, &e), 0);
        assert_int_equal(ns, INT64_C(1796666045000000000));
        assert_int_equal(berth_log_parse_since("1h30m", now, &ns, &e), 0);
        assert_int_equal(ns, INT64_C(1796661245000000000));
        assert_int_equal(berth_log_parse_since("1.5h", now, &ns, &e), 0);
        assert_int_equal(ns, INT64_C(1796661245000000000));
        assert_int_equal(berth_log_parse_since("-2s", now, &ns, &e), 0);
        assert_int_equal(ns, INT64_C(1796666647000000000));
        assert_int_equal(berth_log_parse_since("250ms", now, &ns, &e), 0);
        assert_int_equal(ns, INT64_C(1796666645000000000));
        /* "0": no bound */
        assert_int_equal(berth_log_parse_since("0", now, &ns, &e), 0);
        assert_int_equal(ns, 0);
        /* RFC 3339 with a zone */
        assert_int_equal(berth_log_parse_since("2026-12-07T18:04:05Z", now, &ns, &e), 0);
        assert_int_equal(ns, INT64_C(1796666645000000000));
        assert_int_equal(berth_log_parse_since("2026-12-07T18:04:05.25Z", now, &ns, &e), 0);
        assert_int_equal(ns, INT64_C(1796666645250000000));
        assert_int_equal(berth_log_parse_since("2026-12-07T19:04:05+01:00", now, &ns, &e), 0);
        assert_int_equal(ns, INT64_C(1796666645000000000));
        assert_int_equal(berth_log_parse_since("2026-12-07T18:04Z", now, &ns, &e), 0);
        assert_int_equal(ns, INT64_C(1796666640000000000));
        assert_int_equal(berth_log_parse_since("2026-12-07T18Z", now, &ns, &e), 0);
        assert_int_equal(ns, INT64_C(1796666400000000000));
        assert_int_equal(berth_log_parse_since("2026-12-07Z", now, &ns, &e), 0);
        assert_int_equal(ns, INT64_C(1796601600000000000));
        assert_int_equal(berth_log_parse_since("2026-12-07-01:00", now, &ns, &e), 0);
        assert_int_equal(ns, INT64_C(1796605200000000000));
        /* Unix seconds, with a fraction */
        assert_int_equal(berth_log_parse_since("1700000000", now, &ns, &e), 0);
        assert_int_equal(ns, INT64_C(1700000000000000000));
        assert_int_equal(berth_log_parse_since("1700000000.5", now, &ns, &e), 0);
        assert_int_equal(ns, INT64_C(1700000000500000000));
        /* docker's errors */
        assert_int_equal(berth_log_parse_since("bad", now, &ns, &e), -EINVAL);
        assert_string_equal(e->msg, "failed to parse value as time or duration: \"bad\"");
        assert_int_equal(berth_log_parse_since("1e3", now, &ns, &e), -EINVAL);
        assert_string_equal(e->msg, "failed to parse value as time or duration: \"1e3\"");
        assert_int_equal(berth_log_parse_since("2026-12-07T21:07:00z", now, &ns, &e), -EINVAL);
        assert_string_equal(e->msg, "parsing time \"2026-12-07T21:07:00z\" as "
                                    "\"2006-01-02T15:04:05Z07:00\": cannot parse \"z\" as "
                                    "\"Z07:00\"");
        assert_int_equal(berth_log_parse_since("2026-13-07Z", now, &ns, &e), -EINVAL);
        assert_string_equal(e->msg, "parsing time \"2026-13-07Z\": month out of range");
        assert_int_equal(berth_log_parse_since("5.", now, &ns, &e), -EINVAL);
}

/* Without a zone: the local zone's offset now (docker: time.FixedZone(reference.Zone())). */
static void test_parse_since_local(void **state)
{
        const int64_t now = INT64_C(1796666645000000000);
        int64_t ns;

        setenv("TZ", "UTC-2", 1); /* POSIX: 2 hours east */
        tzset();
        assert_int_equal(berth_log_parse_since("2026-12-07T20:04:05", now, &ns, NULL), 0);
        assert_int_equal(ns, INT64_C(1796666645000000000));
        assert_int_equal(berth_log_parse_since("2026-12-07T20:04:05.5", now, &ns, NULL), 0);
        assert_int_equal(ns, INT64_C(1796666645500000000));
        assert_int_equal(berth_log_parse_since("2026-12-07T20:04", now, &ns, NULL), 0);
        assert_int_equal(ns, INT64_C(1796666640000000000));
        assert_int_equal(berth_log_parse_since("2026-12-07", now, &ns, NULL), 0);
        assert_int_equal(ns, INT64_C(1796601600000000000) - 7200 * INT64_C(1000000000));
        unsetenv("TZ");
        tzset();
}

/* ---- the writer --------------------------------------------------------------------------- */

static void test_lines(void **state)
{
        struct fixture *f = *state;
        _cleanup_(berth_log_writer_freep) struct berth_log_writer *w = NULL;
        _autofree_ char *text = NULL, *records = NULL;

        assert_int_equal(berth_log_writer_open(f->dfd, LOG, 0, 1, &w, NULL), 0);
        write_s(w, BERTH_LOG_STDOUT, "a\nb\n\nc");
        write_s(w, BERTH_LOG_STDOUT, "d\ne");
        /* "e" waits for its newline */
        text = read_log(f, LOG);
        records = strip_times(text);
        assert_string_equal(records, "stdout F a\nstdout F b\nstdout F \nstdout F cd\n");
        /* the end of the stream: the last piece as P (conmon's and containerd's way), so that
         * a reader prints it without a newline, as docker does */
        assert_int_equal(berth_log_stream_end(w, BERTH_LOG_STDOUT, NULL), 0);
        assert_int_equal(berth_log_stream_end(w, BERTH_LOG_STDERR, NULL), 0);
        free(text), free(records);
        text = read_log(f, LOG);
        records = strip_times(text);
        assert_string_equal(records, "stdout F a\nstdout F b\nstdout F \nstdout F cd\n"
                                     "stdout P e\n");
        assert_int_equal(berth_log_write(w, 3, "x", 1, NULL), -EINVAL);
}

static void test_interleaved(void **state)
{
        struct fixture *f = *state;
        _cleanup_(berth_log_writer_freep) struct berth_log_writer *w = NULL;
        _autofree_ char *text = NULL, *records = NULL, *got = NULL;

        assert_int_equal(berth_log_writer_open(f->dfd, LOG, 0, 1, &w, NULL), 0);
        write_s(w, BERTH_LOG_STDOUT, "hel");
        write_s(w, BERTH_LOG_STDERR, "oops\nwa");
        write_s(w, BERTH_LOG_STDOUT, "lo\n");
        write_s(w, BERTH_LOG_STDERR, "rn\n");
        text = read_log(f, LOG);
        records = strip_times(text);
        assert_string_equal(records, "stderr F oops\nstdout F hello\nstderr F warn\n");
        got = read_all(f, &all);
        assert_string_equal(got, "2F:oops|1F:hello|2F:warn|");
}

static void test_long_lines(void **state)
{
        struct fixture *f = *state;
        _cleanup_(berth_log_writer_freep) struct berth_log_writer *w = NULL;
        _autofree_ char *big = xcalloc(1, 40001), *text = NULL, *got = NULL;
        size_t n = 0;

        assert_int_equal(berth_log_writer_open(f->dfd, LOG, 0, 1, &w, NULL), 0);
        for (size_t i = 0; i < 40000; i++)
                big[i] = (char) ('a' + i % 26);
        /* exactly 16 KiB and its newline: one F */
        assert_int_equal(berth_log_write(w, BERTH_LOG_STDOUT, big, 16384, NULL), 0);
        write_s(w, BERTH_LOG_STDOUT, "\n");
        /* 40000 bytes in reads of 1000: P 16384, P 16384, F 7232 */
        for (size_t i = 0; i < 40000; i += 1000)
                assert_int_equal(berth_log_write(w, BERTH_LOG_STDOUT, big + i, 1000, NULL), 0);
        write_s(w, BERTH_LOG_STDOUT, "\n");
        /* 16385 without newline, then the end: P 16384, P 1 */
        assert_int_equal(berth_log_write(w, BERTH_LOG_STDERR, big, 16385, NULL), 0);
        assert_int_equal(berth_log_stream_end(w, BERTH_LOG_STDERR, NULL), 0);
        text = read_log(f, LOG);
        for (const char *line = text; *line; line = strchr(line, '\n') + 1) {
                static const size_t lens[] = {16384, 16384, 16384, 7232, 16384, 1};
                static const char tags[] = "FPPFPP";
                const char *nl = strchr(line, '\n');

                assert_true(n < ARRAY_SIZE(lens));
                assert_int_equal(line[38], tags[n]);
                assert_int_equal((size_t) (nl - line) - 40, lens[n]);
                n++;
        }
        assert_int_equal(n, 6);
        /* the reader gives the pieces back in order */
        got = read_all(f, &all);
        assert_int_equal(strncmp(got, "1F:", 3), 0);
        assert_int_equal(memcmp(got + 3, big, 16384), 0);
        assert_int_equal(strncmp(got + 3 + 16384, "|1P:", 4), 0);
        assert_int_equal(memcmp(got + 7 + 16384, big, 16384), 0);
}

/* max-size: a new file before a record would pass it; max-file: the files kept. Every file
 * holds whole records, and the newest records are all there, in order. */
static void test_rotation(void **state)
{
        struct fixture *f = *state;
        _cleanup_(berth_log_writer_freep) struct berth_log_writer *w = NULL;
        _autofree_ char *got = NULL;
        const char *names[] = {LOG ".2", LOG ".1", LOG};
        int last = -1;

        assert_int_equal(berth_log_writer_open(f->dfd, LOG, 1000, 3, &w, NULL), 0);
        for (int i = 0; i < 500; i++) {
                char line[32];

                snprintf(line, sizeof(line), "line %d\n", i);
                write_s(w, i % 3 ? BERTH_LOG_STDOUT : BERTH_LOG_STDERR, line);
        }
        assert_false(exists(f, LOG ".3"));
        for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
                _autofree_ char *text = read_log(f, names[i]), *records = NULL;
                struct stat st;

                assert_non_null(text);
                assert_int_equal(fstatat(f->dfd, names[i], &st, 0), 0);
                assert_true(st.st_size <= 1000);
                assert_true(st.st_size > 900); /* full files but the newest */
                records = strip_times(text);   /* whole records only */
                /* consecutive numbers across the files */
                for (const char *p = records; (p = strstr(p, "line ")); p++) {
                        int k = atoi(p + 5);

                        if (last >= 0)
                                assert_int_equal(k, last + 1);
                        last = k;
                }
                if (i < 2)
                        continue;
                assert_int_equal(last, 499);
        }
        got = read_all(f, &all);
        assert_non_null(strstr(got, "2F:line 498|1F:line 499|"));
}

/* max-file 1: the file is replaced (unlinked), never truncated; a record larger than max-size
 * gets a file of its own, whole. */
static void test_rotation_one_file(void **state)
{
        struct fixture *f = *state;
        _cleanup_(berth_log_writer_freep) struct berth_log_writer *w = NULL;
        _autofree_ char *big = xcalloc(1, 3001), *text = NULL, *records = NULL;
        int old;
        struct stat st_old, st_new;

        memset(big, 'x', 3000);
        assert_int_equal(berth_log_writer_open(f->dfd, LOG, 1000, 1, &w, NULL), 0);
        write_s(w, BERTH_LOG_STDOUT, "first\n");
        old = openat(f->dfd, LOG, O_RDONLY | O_CLOEXEC);
        assert_true(old >= 0);
        big[2999] = '\n';
        write_s(w, BERTH_LOG_STDOUT, big);
        assert_false(exists(f, LOG ".1"));
        assert_int_equal(fstat(old, &st_old), 0);
        assert_int_equal(fstatat(f->dfd, LOG, &st_new, 0), 0);
        assert_true(st_old.st_ino != st_new.st_ino);
        assert_int_equal(st_old.st_size, 30 + strlen(" stdout F first\n")); /* kept whole */
        close(old);
        text = read_log(f, LOG);
        assert_int_equal(strlen(text), 40 + 2999 + 1);
        write_s(w, BERTH_LOG_STDOUT, "next\n");
        free(text);
        text = read_log(f, LOG);
        records = strip_times(text);
        assert_string_equal(records, "stdout F next\n");
}

/* A second writer (a restarted container's monitor) continues the file, and counts its size. */
static void test_reopen(void **state)
{
        struct fixture *f = *state;
        struct berth_log_writer *w = NULL;
        _autofree_ char *got = NULL;

        assert_int_equal(berth_log_writer_open(f->dfd, LOG, 100, 2, &w, NULL), 0);
        write_s(w, BERTH_LOG_STDOUT, "one\n");
        berth_log_writer_free(w);
        assert_int_equal(berth_log_writer_open(f->dfd, LOG, 100, 2, &w, NULL), 0);
        write_s(w, BERTH_LOG_STDOUT, "two\n");
        write_s(w, BERTH_LOG_STDOUT, "three\n"); /* 3 x ~45 bytes > 100: rotated */
        berth_log_writer_free(w);
        assert_true(exists(f, LOG ".1"));
        got = read_all(f, &all);
        assert_string_equal(got, "1F:one|1F:two|1F:three|");
        assert_int_equal(berth_log_writer_open(f->dfd, LOG, 0, 0, &w, NULL), -EINVAL);
        assert_int_equal(berth_log_writer_open(f->dfd, "a/b", 0, 1, &w, NULL), -EINVAL);
}

/* ---- the reader --------------------------------------------------------------------------- */

/* Records by hand, at 2026-12-07T18:04:0N */
#define T1 "2026-12-07T18:04:01.000000000Z "
#define T2 "2026-12-07T18:04:02.000000000Z "
#define T3 "2026-12-07T18:04:03.000000000Z "
#define T4 "2026-12-07T18:04:04.000000000Z "
#define T5 "2026-12-07T18:04:05.000000000Z "
#define T6 "2026-12-07T18:04:06.000000000Z "
#define T7 "2026-12-07T18:04:07.000000000Z "

static void test_read_skips(void **state)
{
        struct fixture *f = *state;
        _autofree_ char *none = NULL, *got = NULL;

        /* no file: an empty log */
        none = read_all(f, &all);
        assert_string_equal(none, "");
        /* podman's form (a zone offset), foreign lines, a record being written */
        write_raw(f, LOG, T1 "stdout F a\n", "garbage\n",
                  "2026-12-07T19:04:02.5+01:00 stderr F b\n", T3 "stdin F c\n", T4 "stdout X d\n",
                  T5 "stdout F:x e\n", T6 "stdout F\n", T7 "stdout F half", NULL);
        got = read_all(f, &all);
        assert_string_equal(got, "1F:a|2F:b|1F:e|1F:|");
}

static void test_tail(void **state)
{
        struct fixture *f = *state;
        struct berth_log_read_opts o = {.tail = 2};
        _autofree_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL, *z = NULL;

        /* the stdout line "xyz" is a P..F chain around a stderr line: one line; stderr's last
         * line is a P chain that nothing ended (a last line without newline) */
        write_raw(f, LOG, T1 "stdout F one\n", T2 "stdout P x\n", T3 "stderr F err\n",
                  T4 "stdout P y\n", T5 "stdout F z\n", T6 "stderr P tail\n", NULL);
        a = read_all(f, &o);
        assert_string_equal(a, "1P:x|1P:y|1F:z|2P:tail|");
        o.tail = 3;
        b = read_all(f, &o);
        assert_string_equal(b, "1P:x|2F:err|1P:y|1F:z|2P:tail|");
        o.tail = 1;
        c = read_all(f, &o);
        assert_string_equal(c, "2P:tail|");
        o.tail = 100;
        d = read_all(f, &o);
        assert_string_equal(d, "1F:one|1P:x|2F:err|1P:y|1F:z|2P:tail|");
        o.tail = 0;
        z = read_all(f, &o);
        assert_string_equal(z, "");
}

/* tail across rotated files, and over more than one read block */
static void test_tail_rotated(void **state)
{
        struct fixture *f = *state;
        _cleanup_(berth_log_writer_freep) struct berth_log_writer *w = NULL;
        struct berth_log_read_opts o = {.tail = 5};
        _autofree_ char *got = NULL, *many = NULL;
        struct stat st;
        int i;

        /* 200000-byte files: 3 blocks of the backward scan each */
        assert_int_equal(berth_log_writer_open(f->dfd, LOG, 200000, 4, &w, NULL), 0);
        for (i = 0; i < 10000; i++) {
                char line[32];

                snprintf(line, sizeof(line), "line %d\n", i);
                write_s(w, i % 2 ? BERTH_LOG_STDOUT : BERTH_LOG_STDERR, line);
        }
        /* until the newest file has 2 lines: the last 5 span two files */
        for (;; i++) {
                char line[32];

                assert_int_equal(fstatat(f->dfd, LOG, &st, 0), 0);
                if (exists(f, LOG ".3") && st.st_size > 80 && st.st_size < 120)
                        break;
                snprintf(line, sizeof(line), "line %d\n", i);
                write_s(w, BERTH_LOG_STDOUT, line);
        }
        got = read_all(f, &o);
        many = read_all(f, &all);
        assert_true(strlen(many) > strlen(got));
        assert_string_equal(many + strlen(many) - strlen(got), got);
        assert_int_equal(strncmp(got + 3, "line ", 5), 0);
        assert_int_equal(atoi(got + 8), i - 5);
        /* more lines than the files hold: all of them, from the oldest file */
        o.tail = 1000000;
        free(got);
        got = read_all(f, &o);
        assert_string_equal(got, many);
}

static void test_since_until(void **state)
{
        struct fixture *f = *state;
        const int64_t t0 = INT64_C(1796666640000000000); /* 2026-12-07T18:04:00Z */
        struct berth_log_read_opts o = {.tail = -1, .since_ns = t0 + INT64_C(2000000000)};
        _autofree_ char *a = NULL, *b = NULL, *c = NULL, *d = NULL;
        struct seen s = {.stop_after = 2};

        write_raw(f, LOG, T1 "stdout F one\n", T2 "stdout F two\n", T3 "stderr F three\n",
                  T4 "stdout F four\n", NULL);
        a = read_all(f, &o);
        assert_string_equal(a, "1F:two|2F:three|1F:four|");
        o.until_ns = t0 + INT64_C(3000000000);
        b = read_all(f, &o);
        assert_string_equal(b, "1F:two|2F:three|");
        /* tail first, then since (docker's order) */
        o = (struct berth_log_read_opts){.tail = 3, .since_ns = t0 + INT64_C(3000000000)};
        c = read_all(f, &o);
        assert_string_equal(c, "2F:three|1F:four|");
        o = (struct berth_log_read_opts){.tail = -1, .until_ns = t0 + 1};
        d = read_all(f, &o);
        assert_string_equal(d, "");
        /* the callback stops the read */
        assert_int_equal(berth_log_read(f->dfd, LOG, &all, collect, &s, NULL), 0);
        assert_string_equal(s.text, "1F:one|1F:two|");
        assert_int_equal(s.ts[0], t0 + INT64_C(1000000000));
        free(s.text);
}

/* follow: a child writes lines (rotating every ~90 of them) while the reader follows;
 * still_running is the child's life. Every line arrives, once, in order. */
struct follower {
        struct seen s; /* first: collect() takes the follower as its seen */
        pid_t pid;
        bool exited;
        bool slow; /* a reader that falls behind the writer by many files */
};

static int collect_slowly(const struct berth_log_record *r, void *userdata,
                          struct berth_error **err)
{
        struct follower *fl = userdata;

        if (fl->slow && fl->s.n % 100 == 0)
                usleep(20000);
        return collect(r, userdata, err);
}

static bool child_running(void *userdata)
{
        struct follower *fl = userdata;
        int st;

        if (!fl->exited && waitpid(fl->pid, &st, WNOHANG) == fl->pid) {
                fl->exited = true;
                assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        }
        return !fl->exited;
}

static void writer_child(int dfd, int lines, uint64_t max_size, unsigned max_files)
{
        struct berth_log_writer *w = NULL;

        if (berth_log_writer_open(dfd, LOG, max_size, max_files, &w, NULL) < 0)
                _exit(1);
        for (int i = 0; i < lines; i++) {
                char line[64];
                int n = snprintf(line, sizeof(line), "line %d\n", i);

                /* a line in two reads now and then: pending pieces across writes */
                if (i % 7 == 0) {
                        berth_log_write(w, BERTH_LOG_STDOUT, line, 3, NULL);
                        berth_log_write(w, BERTH_LOG_STDOUT, line + 3, (size_t) n - 3, NULL);
                } else {
                        berth_log_write(w, i % 5 ? BERTH_LOG_STDOUT : BERTH_LOG_STDERR, line,
                                        (size_t) n, NULL);
                }
                if (i % 20 == 0)
                        usleep(1000);
        }
        berth_log_write(w, BERTH_LOG_STDOUT, "end", 3, NULL);
        berth_log_stream_end(w, BERTH_LOG_STDOUT, NULL);
        berth_log_writer_free(w);
        _exit(0);
}

/* "line 0" ... "line N-1" once each, in order, then the unended "end". Unless complete, lines
 * may be missing: a reader more than max-file rotations behind the writer loses the files
 * dropped meanwhile (docker's json-file too), as a slow machine (valgrind) may make it. */
static void check_sequence(const char *text, int lines, bool complete)
{
        int next = 0;

        for (const char *p = text; (p = strstr(p, "line ")); p++) {
                int k = atoi(p + 5);

                if (complete)
                        assert_int_equal(k, next);
                else
                        assert_true(k >= next);
                next = k + 1;
        }
        assert_int_equal(next, lines);
        assert_non_null(strstr(text, "|1P:end|"));
}

static void follow_child(struct fixture *f, struct berth_log_read_opts *o, struct follower *fl,
                         int lines, uint64_t max_size, unsigned max_files, int delay_us)
{
        _autoerr_ struct berth_error *e = NULL;

        fl->pid = fork();
        assert_true(fl->pid >= 0);
        if (fl->pid == 0) {
                usleep((useconds_t) delay_us);
                writer_child(f->dfd, lines, max_size, max_files);
        }
        o->follow = true;
        o->poll_ms = 50;
        o->still_running = child_running;
        assert_int_equal(berth_log_read(f->dfd, LOG, o, collect_slowly, fl, &e), 0);
        assert_true(fl->exited);
}

/* Started before the file exists; 3000 lines of ~45 bytes in files of 4000: ~35 rotations. */
static void test_follow_rotation(void **state)
{
        struct fixture *f = *state;
        struct berth_log_read_opts o = {.tail = -1};
        struct follower fl = {0};

        follow_child(f, &o, &fl, 3000, 4000, 3, 100000);
        check_sequence(fl.s.text, 3000, false);
        assert_false(exists(f, LOG ".3"));
        free(fl.s.text);
}

/* A reader many files behind: it goes through every generation, oldest first. */
static void test_follow_lagging(void **state)
{
        struct fixture *f = *state;
        struct berth_log_read_opts o = {.tail = -1};
        struct follower fl = {.slow = true};

        follow_child(f, &o, &fl, 3000, 4000, 100, 0);
        check_sequence(fl.s.text, 3000, true);
        assert_true(exists(f, LOG ".30"));
        free(fl.s.text);
}

/* max-file 1: each rotation unlinks the file the reader holds. */
static void test_follow_one_file(void **state)
{
        struct fixture *f = *state;
        struct berth_log_read_opts o = {.tail = -1};
        struct follower fl = {0};

        follow_child(f, &o, &fl, 2000, 4000, 1, 50000);
        check_sequence(fl.s.text, 2000, false);
        assert_false(exists(f, LOG ".1"));
        free(fl.s.text);
}

/* tail 0 + follow: what was there is not shown, what comes is. */
static void test_follow_tail0(void **state)
{
        struct fixture *f = *state;
        struct berth_log_read_opts o = {.tail = 0};
        struct follower fl = {0};

        write_raw(f, LOG, T1 "stdout F old\n", NULL);
        follow_child(f, &o, &fl, 500, 0, 1, 200000);
        check_sequence(fl.s.text, 500, true);
        assert_null(strstr(fl.s.text, "old"));
        free(fl.s.text);
}

static bool always(void *userdata)
{
        return true;
}

static bool never(void *userdata)
{
        return false;
}

/* follow of a stopped container: what is there, then the end; with until: until then. */
static void test_follow_ends(void **state)
{
        struct fixture *f = *state;
        struct berth_log_read_opts o = {.tail = -1, .follow = true, .still_running = never};
        _autofree_ char *a = NULL;
        struct seen s = {0};
        uint64_t t0;

        write_raw(f, LOG, T1 "stdout F a\n", T2 "stdout P b\n", NULL);
        a = read_all(f, &o);
        assert_string_equal(a, "1F:a|1P:b|");
        o.still_running = always;
        o.until_ns = (int64_t) time(NULL) * 1000000000 + 300000000; /* in 0.3 .. 1.3 s */
        t0 = berth_now_us();
        assert_int_equal(berth_log_read(f->dfd, LOG, &o, collect, &s, NULL), 0);
        assert_true(berth_now_us() - t0 < 2000000);
        assert_string_equal(s.text, "1F:a|1P:b|");
        free(s.text);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_time_format),
            cmocka_unit_test_setup_teardown(test_record_time, setup, teardown),
            cmocka_unit_test(test_parse_since),
            cmocka_unit_test(test_parse_since_local),
            cmocka_unit_test_setup_teardown(test_lines, setup, teardown),
            cmocka_unit_test_setup_teardown(test_interleaved, setup, teardown),
            cmocka_unit_test_setup_teardown(test_long_lines, setup, teardown),
            cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
            cmocka_unit_test_setup_teardown(test_rotation_one_file, setup, teardown),
            cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
            cmocka_unit_test_setup_teardown(test_read_skips, setup, teardown),
            cmocka_unit_test_setup_teardown(test_tail, setup, teardown),
            cmocka_unit_test_setup_teardown(test_tail_rotated, setup, teardown),
            cmocka_unit_test_setup_teardown(test_since_until, setup, teardown),
            cmocka_unit_test_setup_teardown(test_follow_rotation, setup, teardown),
            cmocka_unit_test_setup_teardown(test_follow_lagging, setup, teardown),
            cmocka_unit_test_setup_teardown(test_follow_one_file, setup, teardown),
            cmocka_unit_test_setup_teardown(test_follow_tail0, setup, teardown),
            cmocka_unit_test_setup_teardown(test_follow_ends, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
