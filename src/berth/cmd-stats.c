/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth stats [-a] [--no-stream] [--no-trunc] [--format FMT] [CONTAINER...]: docker's table
 * (CONTAINER ID, NAME, CPU %, MEM USAGE / LIMIT, MEM %, NET I/O, BLOCK I/O, PIDS) from samples a
 * second apart (engine/engine-stats.h), refreshed every second until interrupted, or once with
 * --no-stream. Without CONTAINER: the running containers (all with -a), listed again at each
 * refresh. On a terminal each refresh is drawn over the last (cursor home, each line erased to
 * its end, the rest of the screen erased), as docker's CLI does; elsewhere the tables follow each
 * other. A missing CONTAINER: its error, no table, exit 1.
 */
#include <jansson.h>
#include <time.h>
#include <unistd.h>

#include "berth.h"
#include "engine/engine-stats.h"
#include "engine/engine.h"
#include "base/util.h"

enum { F_ALL, F_FORMAT, F_NO_STREAM, F_NO_TRUNC };

static const struct berth_flag flags[] = {
    [F_ALL] = {"all", 'a', BERTH_FLAG_BOOL, NULL,
               "Show all containers (default shows just running)"},
    [F_FORMAT] = {"format", 0, BERTH_FLAG_VALUE, "string",
                  "Format output using a custom template: \"table\", \"table TEMPLATE\", "
                  "\"json\", or a template ({{.Name}})"},
    [F_NO_STREAM] = {"no-stream", 0, BERTH_FLAG_BOOL, NULL,
                     "Disable streaming stats and only pull the first result"},
    [F_NO_TRUNC] = {"no-trunc", 0, BERTH_FLAG_BOOL, NULL, "Do not truncate output"},
};

static const struct berth_cmd_spec spec = {
    .name = "stats",
    .usage = "stats [OPTIONS] [CONTAINER...]",
    .summary = "Display a live stream of container(s) resource usage statistics",
    .flags = flags,
    .n_flags = ARRAY_SIZE(flags),
    .min_args = 0,
    .max_args = -1,
};

#define DEFAULT_TABLE                                                                              \
        "{{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}"  \
        "\t"                                                                                       \
        "{{.PIDs}}"
/* docker's collector samples each container every second */
#define INTERVAL_NS 1000000000LL

struct row {
        char *what; /* the argument as given ("Container"), or the short id when listing */
        char *id, *name;
        struct berth_ctr_stats prev, now;
        bool valid, sampled;
};

struct stats {
        struct berth_global *g;
        struct berth_store *store;
        bool all, trunc, stream, tty;
        const char *format;
        char **names; /* given, or NULL: list */
        struct row *rows;
        size_t n;
};

static void row_clear(struct row *r)
{
        free(r->what);
        free(r->id);
        free(r->name);
}

static void rows_clear(struct stats *s)
{
        for (size_t i = 0; i < s->n; i++)
                row_clear(&s->rows[i]);
        free(s->rows);
        s->rows = NULL;
        s->n = 0;
}

/* ---- samples --------------------------------------------------------------------------- */

static void row_sample(struct stats *s, struct row *r)
{
        _cleanup_(berth_ctr_freep) struct berth_ctr *c = NULL;

        r->prev = r->now;
        r->valid = berth_ctr_lookup(s->store, r->id, &c, NULL) >= 0;
        if (r->valid) {
                berth_ctr_refresh(c, s->g->runroot);
                r->valid = berth_ctr_stats_read(c, s->g->runroot, &r->now, NULL) >= 0;
        }
        if (!r->sampled)
                r->prev = r->now;
        r->sampled = true;
}

static void row_add(struct stats *s, const char *what, const struct berth_ctr *c)
{
        s->rows = xreallocarray(s->rows, s->n + 1, sizeof(*s->rows));
        s->rows[s->n++] =
            (struct row){.what = xstrdup(what), .id = xstrdup(c->id), .name = xstrdup(c->name)};
}

/* The named containers; every lookup error, joined as docker's CLI joins them. */
static int rows_named(struct stats *s, struct berth_error **err)
{
        _autofree_ char *msgs = NULL;

        for (char **n = s->names; *n; n++) {
                _cleanup_(berth_ctr_freep) struct berth_ctr *c = NULL;
                _autoerr_ struct berth_error *e = NULL;

                _autofree_ char *before = NULL;

                if (berth_ctr_lookup(s->store, *n, &c, &e) >= 0) {
                        row_add(s, *n, c);
                        continue;
                }
                before = steal_ptr(&msgs);
                msgs = before ? xasprintf("%s\n%s", before, e->msg) : xstrdup(e->msg);
        }
        return msgs ? berth_error_setx(err, ENOENT, "%s", msgs) : 0;
}

/* Without names: the containers as they are now (running ones only without -a), newest first;
 * those listed before keep their last sample. */
static int rows_listed(struct stats *s, struct berth_error **err)
{
        struct berth_ctr **v = NULL;
        struct row *old = s->rows;
        size_t n = 0, n_old = s->n;
        int r = berth_ctr_list(s->store, &v, &n, err);

        if (r < 0)
                return r;
        s->rows = NULL;
        s->n = 0;
        for (size_t i = 0; i < n; i++) {
                _autofree_ char *short_id = xasprintf("%.12s", v[i]->id);

                berth_ctr_refresh(v[i], s->g->runroot);
                if (!s->all && !streq_ptr(v[i]->status, "running"))
                        continue;
                row_add(s, short_id, v[i]);
                for (size_t k = 0; k < n_old; k++)
                        if (streq(old[k].id, v[i]->id)) {
                                s->rows[s->n - 1].now = old[k].now;
                                s->rows[s->n - 1].sampled = old[k].sampled;
                        }
        }
        for (size_t k = 0; k < n_old; k++)
                row_clear(&old[k]);
        free(old);
        berth_ctrs_free(v, n);
        return 0;
}

static void sample_all(struct stats *s)
{
        for (size_t i = 0; i < s->n; i++)
                row_sample(s, &s->rows[i]);
}

static bool any_running(const struct stats *s)
{
        for (size_t i = 0; i < s->n; i++)
                if (s->rows[i].now.running)
                        return true;
        return false;
}

static int64_t now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_until(int64_t t)
{
        for (int64_t d = t - now_ns(); d > 0; d = t - now_ns()) {
                struct timespec ts = {d / 1000000000LL, d % 1000000000LL};

                nanosleep(&ts, NULL);
        }
}

/* ---- output ---------------------------------------------------------------------------- */

static char *pair(char *a, char *b)
{
        char *r = xasprintf("%s / %s", a, b);

        free(a);
        free(b);
        return r;
}

/* The row as docker's stats formatter has it (its --format json: keys sorted). */
static json_t *row_json(const struct stats *s, const struct row *r)
{
        const struct berth_ctr_stats *x = &r->now;
        _autofree_ char *id = s->trunc ? xasprintf("%.12s", r->id) : xstrdup(r->id);
        _autofree_ char *cpu = NULL, *mem = NULL, *memp = NULL, *net = NULL, *blk = NULL,
                        *pids = NULL;

        if (r->valid) {
                cpu = xasprintf("%.2f%%", berth_stats_cpu_percent(&r->prev, x));
                mem = pair(berth_bytes_size(x->mem_usage), berth_bytes_size(x->mem_limit));
                memp = xasprintf("%.2f%%", berth_stats_mem_percent(x));
                net =
                    pair(berth_human_size_prec(x->net_rx, 3), berth_human_size_prec(x->net_tx, 3));
                blk = pair(berth_human_size_prec(x->blk_read, 3),
                           berth_human_size_prec(x->blk_write, 3));
                pids = xasprintf("%llu", (unsigned long long) x->pids);
        }
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "BlockIO",
                         blk ? blk : "--", "CPUPerc", cpu ? cpu : "--", "Container", r->what, "ID",
                         id, "MemPerc", memp ? memp : "--", "MemUsage", mem ? mem : "-- / --",
                         "Name", r->name, "NetIO", net ? net : "--", "PIDs", pids ? pids : "--");
}

static json_t *header_json(void)
{
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "BlockIO", "BLOCK I/O",
                         "CPUPerc", "CPU %", "Container", "CONTAINER", "ID", "CONTAINER ID",
                         "MemPerc", "MEM %", "MemUsage", "MEM USAGE / LIMIT", "Name", "NAME",
                         "NetIO", "NET I/O", "PIDs", "PIDS");
}

/* A rendered line's tab-separated cells into t (made from the first line: the header), which
 * aligns them as docker's tabwriter does. */
static void table_line(struct berth_table **t, char *line)
{
        const char *cells[64];
        size_t n = 0;

        for (char *p = line, *tab; n < ARRAY_SIZE(cells); p = tab + 1) {
                tab = strchr(p, '\t');
                cells[n++] = p;
                if (!tab)
                        break;
                *tab = '\0';
        }
        if (!*t)
                *t = berth_table_new_cells(cells, n);
        else
                berth_table_add_cells(*t, cells, n);
}

/* One table or list of lines for the rows, into f. */
static int render(const struct stats *s, FILE *f, struct berth_error **err)
{
        const char *fmt = s->format && *s->format ? s->format : "table";
        bool table = streq(fmt, "table") || startswith(fmt, "table ") || startswith(fmt, "table\t");
        const char *tmpl = streq(fmt, "table") ? DEFAULT_TABLE : table ? fmt + 6 : fmt;
        struct berth_table *t = NULL;
        int r = 0;

        if (table) {
                json_auto_t *h = header_json();
                _autofree_ char *line = NULL;

                r = berth_format_template(tmpl, h, &line, err);
                if (r >= 0)
                        table_line(&t, line);
        }
        for (size_t i = 0; r >= 0 && i < s->n; i++) {
                json_auto_t *o = row_json(s, &s->rows[i]);
                _autofree_ char *line = NULL;

                if (streq(fmt, "json"))
                        line = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
                else
                        r = berth_format_template(tmpl, o, &line, err);
                if (r >= 0 && table)
                        table_line(&t, line);
                else if (r >= 0)
                        fprintf(f, "%s\n", line);
        }
        if (r >= 0 && t)
                berth_table_print(t, f);
        berth_table_free(t);
        return r;
}

/* A refresh: on a terminal over the last one (docker's CLI: cursor home, "erase line" after
 * each line, "erase below" at the end). */
static int print_frame(const struct stats *s, struct berth_error **err)
{
        _autofree_ char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        int r;

        if (!f)
                return berth_error_set(err, errno, "open_memstream");
        r = render(s, f, err);
        fclose(f);
        if (r < 0)
                return r;
        if (!s->stream || !s->tty) {
                fputs(text, stdout);
        } else {
                fputs("\033[H", stdout);
                for (char *l = text, *nl; *l; l = nl + 1) {
                        nl = strchrnul(l, '\n');
                        printf("%.*s\033[K\n", (int) (nl - l), l);
                        if (!*nl)
                                break;
                }
                fputs("\033[J", stdout);
        }
        if (fflush(stdout) != 0)
                return berth_error_set(err, errno, "write standard output");
        return 0;
}

/* ---- the command ------------------------------------------------------------------------- */

static int stats_loop(struct stats *s, struct berth_error **err)
{
        int64_t next;
        int r = s->names ? rows_named(s, err) : rows_listed(s, err);

        if (r < 0)
                return r;
        /* CPU % needs two samples: docker's first result comes a second after the first one */
        sample_all(s);
        next = now_ns() + INTERVAL_NS;
        if (any_running(s))
                sleep_until(next);
        for (;;) {
                sample_all(s);
                r = print_frame(s, err);
                if (r < 0 || !s->stream)
                        return r;
                next = now_ns() + INTERVAL_NS;
                sleep_until(next);
                if (!s->names && (r = rows_listed(s, err)) < 0)
                        return r;
        }
}

static int cmd_stats(struct berth_global *g, int argc, char **argv)
{
        _autoerr_ struct berth_error *e = NULL;
        struct berth_args a = {0};
        struct stats s = {.g = g};
        int rc = 0;

        if (!berth_cmd_args(&spec, argc, argv, &a, &rc))
                return rc;
        s.all = berth_args_bool(&a, F_ALL);
        s.trunc = !berth_args_bool(&a, F_NO_TRUNC);
        s.stream = !berth_args_bool(&a, F_NO_STREAM);
        s.tty = isatty(STDOUT_FILENO);
        s.format = a.values[F_FORMAT];
        s.names = a.n_pos > 0 ? a.pos : NULL;
        if (berth_global_store(g, &s.store, &e) < 0 || stats_loop(&s, &e) < 0)
                rc = berth_print_failure(e);
        rows_clear(&s);
        berth_args_clear(&a);
        return rc;
}

const struct berth_cmd berth_cmd_stats = {
    "stats", "Display a live stream of container(s) resource usage statistics", cmd_stats};
