/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth logs [-f] [-n|--tail N|all] [--since T] [--until T] [-t] [--details] CONTAINER: the
 * container's log (engine/ctr-log.h) as docker prints it: stdout records on stdout, stderr
 * records on stderr, a partial record without its newline; -t puts the record's time (docker's
 * RFC3339Nano with 9 digits, UTC) and a space before each line, --details a space (docker's
 * empty list of log-opt attributes). -f follows until the container is no longer running.
 */
#include <fcntl.h>
#include <time.h>

#include "berth.h"
#include "base/util.h"
#include "engine/ctr-log.h"
#include "engine/engine.h"

enum { F_DETAILS, F_FOLLOW, F_SINCE, F_TAIL, F_TIMESTAMPS, F_UNTIL };

static const struct berth_flag flags[] = {
    [F_DETAILS] = {"details", 0, BERTH_FLAG_BOOL, NULL, "Show extra details provided to logs"},
    [F_FOLLOW] = {"follow", 'f', BERTH_FLAG_BOOL, NULL, "Follow log output"},
    [F_SINCE] = {"since", 0, BERTH_FLAG_VALUE, "string",
                 "Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m "
                 "for 42 minutes)"},
    [F_TAIL] = {"tail", 'n', BERTH_FLAG_VALUE, "string",
                "Number of lines to show from the end of the logs (default \"all\")"},
    [F_TIMESTAMPS] = {"timestamps", 't', BERTH_FLAG_BOOL, NULL, "Show timestamps"},
    [F_UNTIL] = {"until", 0, BERTH_FLAG_VALUE, "string",
                 "Show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. "
                 "42m for 42 minutes)"},
};

static const struct berth_cmd_spec spec = {
    .name = "logs",
    .usage = "logs [OPTIONS] CONTAINER",
    .summary = "Fetch the logs of a container",
    .flags = flags,
    .n_flags = ARRAY_SIZE(flags),
    .min_args = 1,
    .max_args = 1,
};

/* What print_record and still_running need. */
struct logs {
        struct berth_global *g;
        const char *id;
        bool timestamps, details, follow;
        bool mid_line[3]; /* per stream: the last record was a P */
        FILE *last;       /* the stream written last */
};

static int print_record(const struct berth_log_record *r, void *userdata, struct berth_error **err)
{
        struct logs *l = userdata;
        FILE *f = r->stream == BERTH_LOG_STDERR ? stderr : stdout;

        /* the two outputs may be one pipe or terminal: keep the records' order there */
        if (l->last && l->last != f)
                fflush(l->last);
        l->last = f;
        /* one prefix a line, also for a line in P pieces (docker puts one before each piece) */
        if (!l->mid_line[r->stream]) {
                if (l->timestamps) {
                        char ts[BERTH_LOG_TIME_SIZE];

                        fwrite(ts, 1, berth_log_format_time(r->ts_ns, ts), f);
                        fputc(' ', f);
                }
                if (l->details)
                        fputc(' ', f);
        }
        fwrite(r->content, 1, r->len, f);
        if (!r->partial)
                fputc('\n', f);
        l->mid_line[r->stream] = r->partial;
        if (l->follow)
                fflush(f);
        if (ferror(f))
                return berth_error_set(err, errno, "write %s",
                                       f == stdout ? "standard output" : "standard error");
        return 0;
}

/* -f ends once the container is no longer running: its monitor wrote the last records before
 * it recorded the end. */
static bool still_running(void *userdata)
{
        struct logs *l = userdata;
        _cleanup_(berth_ctr_freep) struct berth_ctr *c = NULL;
        struct berth_store *s;

        if (berth_global_store(l->g, &s, NULL) < 0 || berth_ctr_lookup(s, l->id, &c, NULL) < 0)
                return false;
        berth_ctr_refresh(c, l->g->runroot);
        return streq_ptr(c->status, "running");
}

/* docker's --tail: a number (Go's strconv.Atoi: a sign, digits); anything else, or a negative
 * number, is all. */
static int64_t parse_tail(const char *v)
{
        const char *d = v && (*v == '+' || *v == '-') ? v + 1 : v;
        int64_t n;

        if (!d || !*d || strspn(d, "0123456789") != strlen(d) || parse_i64(d, &n) < 0 || *v == '-')
                return -1;
        return n;
}

static int parse_times(const struct berth_args *a, struct berth_log_read_opts *o,
                       struct berth_error **err)
{
        struct timespec now;
        int64_t now_ns;

        clock_gettime(CLOCK_REALTIME, &now);
        now_ns = (int64_t) now.tv_sec * 1000000000 + now.tv_nsec;
        if (a->values[F_SINCE] &&
            berth_log_parse_since(a->values[F_SINCE], now_ns, &o->since_ns, err) < 0)
                return berth_error_prefix(err, "invalid value for \"since\"");
        if (a->values[F_UNTIL] &&
            berth_log_parse_since(a->values[F_UNTIL], now_ns, &o->until_ns, err) < 0)
                return berth_error_prefix(err, "invalid value for \"until\"");
        return 0;
}

static int logs(struct berth_global *g, const struct berth_args *a, struct berth_error **err)
{
        _cleanup_(berth_ctr_freep) struct berth_ctr *c = NULL;
        struct berth_log_read_opts o = {.tail = parse_tail(a->values[F_TAIL])};
        struct logs l = {
            .g = g,
            .timestamps = berth_args_bool(a, F_TIMESTAMPS),
            .details = berth_args_bool(a, F_DETAILS),
            .follow = berth_args_bool(a, F_FOLLOW),
        };
        _autoclose_ int dfd = -EBADF;
        struct berth_store *s;
        int r;

        r = parse_times(a, &o, err);
        if (r >= 0)
                r = berth_global_store(g, &s, err);
        if (r >= 0)
                r = berth_ctr_lookup(s, a->pos[0], &c, err);
        if (r < 0)
                return r;
        if (streq_ptr(c->log_driver, "none"))
                return berth_error_setx(err, ENOTSUP,
                                        "configured logging driver does not support reading");
        dfd = open(c->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return berth_error_set(err, errno, "open %s", c->dir);
        l.id = c->id;
        o.follow = l.follow;
        o.still_running = still_running;
        r = berth_log_read(dfd, BERTH_CTR_LOG, &o, print_record, &l, err);
        fflush(stdout);
        fflush(stderr);
        return r;
}

static int cmd_logs(struct berth_global *g, int argc, char **argv)
{
        _autoerr_ struct berth_error *e = NULL;
        struct berth_args a = {0};
        int rc = 0;

        if (!berth_cmd_args(&spec, argc, argv, &a, &rc))
                return rc;
        /* stderr records are written as stdout's are: buffered, flushed when the stream changes
         * (each record at once with -f) */
        setvbuf(stderr, NULL, _IOFBF, BUFSIZ);
        if (logs(g, &a, &e) < 0)
                rc = berth_print_failure(e);
        fflush(stderr);
        berth_args_clear(&a);
        return rc;
}

const struct berth_cmd berth_cmd_logs = {"logs", "Fetch the logs of a container", cmd_logs};
