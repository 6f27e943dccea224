/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-oci events [--stats] [--interval 5s] ID
 *
 * runc's JSON events on stdout, one per line: {"type":"stats","id":"web","data":{...}} every
 * interval (or once with --stats), and {"type":"oom","id":"web"} as soon as the kernel reports an
 * OOM in the container's memory cgroup, until the container stops. The data object has the
 * fields, order and omissions of runc's types.Stats as Go's encoding/json writes it.
 */
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <time.h>

#include "cgroup/cgroup.h"
#include "runtime/container.h"
#include "base/log.h"
#include "oci.h"
#include "cgroup/oom.h"
#include "runtime/state.h"
#include "cgroup/stats.h"
#include "base/syscalls.h"
#include "base/util.h"

enum { F_INTERVAL, F_STATS };

static const struct oci_flag flags[] = {
    [F_INTERVAL] = {"interval", 0, true, "set the stats collection interval (default: 5s)"},
    [F_STATS] = {"stats", 0, false, "display the container's stats then exit"},
};

/* Without a pidfd (kernels before 5.3), how often to check whether the init is still there. */
#define RECHECK_MS 200

/* ---- a minimal JSON writer: uint64 as Go prints it (jansson's integers are signed) ----------- */

struct jw {
        FILE *f;
        bool comma; /* a member was written at this level */
};

static void jw_key(struct jw *w, const char *key)
{
        if (w->comma)
                fputc(',', w->f);
        if (key)
                fprintf(w->f, "\"%s\":", key);
        w->comma = false;
}

static void jw_open(struct jw *w, const char *key, char bracket)
{
        jw_key(w, key);
        fputc(bracket, w->f);
}

static void jw_close(struct jw *w, char bracket)
{
        fputc(bracket, w->f);
        w->comma = true;
}

static void jw_u64(struct jw *w, const char *key, uint64_t v)
{
        jw_key(w, key);
        fprintf(w->f, "%" PRIu64, v);
        w->comma = true;
}

/* Go's `json:",omitempty"`: zero values are left out. */
static void jw_u64_opt(struct jw *w, const char *key, uint64_t v)
{
        if (v)
                jw_u64(w, key, v);
}

/* A JSON string, escaped as Go's encoder does (<, > and & too). */
static void jw_str(struct jw *w, const char *key, const char *s)
{
        jw_key(w, key);
        fputc('"', w->f);
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                if (*p == '"' || *p == '\\')
                        fprintf(w->f, "\\%c", *p);
                else if (*p == '\n')
                        fputs("\\n", w->f);
                else if (*p == '\r')
                        fputs("\\r", w->f);
                else if (*p == '\t')
                        fputs("\\t", w->f);
                else if (*p < 0x20 || *p == '<' || *p == '>' || *p == '&')
                        fprintf(w->f, "\\u%04x", *p);
                else
                        fputc(*p, w->f);
        }
        fputc('"', w->f);
        w->comma = true;
}

static void jw_list(struct jw *w, const char *key, const struct berth_u64_list *l)
{
        if (l->n == 0)
                return;
        jw_open(w, key, '[');
        for (size_t i = 0; i < l->n; i++)
                jw_u64(w, NULL, l->v[i]);
        jw_close(w, ']');
}

/* ---- types.Stats ----------------------------------------------------------------------------- */

static void put_cpu(struct jw *w, const struct berth_stats *s)
{
        jw_open(w, "cpu", '{');
        jw_open(w, "usage", '{');
        jw_u64_opt(w, "total", s->cpu.total);
        jw_list(w, "percpu", &s->cpu.percpu);
        jw_list(w, "percpu_kernel", &s->cpu.percpu_kernel);
        jw_list(w, "percpu_user", &s->cpu.percpu_user);
        jw_u64(w, "kernel", s->cpu.kernel);
        jw_u64(w, "user", s->cpu.user);
        jw_close(w, '}');
        jw_open(w, "throttling", '{');
        jw_u64_opt(w, "periods", s->cpu.periods);
        jw_u64_opt(w, "throttledPeriods", s->cpu.throttled_periods);
        jw_u64_opt(w, "throttledTime", s->cpu.throttled_time);
        jw_close(w, '}');
        jw_close(w, '}');
}

static void put_cpuset(struct jw *w, const struct berth_stats *s)
{
        jw_open(w, "cpuset", '{');
        jw_list(w, "cpus", &s->cpuset.cpus);
        jw_u64(w, "cpu_exclusive", s->cpuset.cpu_exclusive);
        jw_list(w, "mems", &s->cpuset.mems);
        jw_u64(w, "mem_hardwall", s->cpuset.mem_hardwall);
        jw_u64(w, "mem_exclusive", s->cpuset.mem_exclusive);
        jw_u64(w, "memory_migrate", s->cpuset.memory_migrate);
        jw_u64(w, "memory_spread_page", s->cpuset.memory_spread_page);
        jw_u64(w, "memory_spread_slab", s->cpuset.memory_spread_slab);
        jw_u64(w, "memory_pressure", s->cpuset.memory_pressure);
        jw_u64(w, "sched_load_balance", s->cpuset.sched_load_balance);
        jw_key(w, "sched_relax_domain_level");
        fprintf(w->f, "%" PRId64, s->cpuset.sched_relax_domain_level);
        w->comma = true;
        jw_close(w, '}');
}

static void put_mem_entry(struct jw *w, const char *key, const struct berth_mem_entry *e)
{
        jw_open(w, key, '{');
        jw_u64(w, "limit", e->limit);
        jw_u64_opt(w, "usage", e->usage);
        jw_u64_opt(w, "max", e->max);
        jw_u64(w, "failcnt", e->failcnt);
        jw_close(w, '}');
}

static void put_memory(struct jw *w, const struct berth_stats *s)
{
        jw_open(w, "memory", '{');
        jw_u64_opt(w, "cache", s->memory.cache);
        put_mem_entry(w, "usage", &s->memory.usage);
        put_mem_entry(w, "swap", &s->memory.swap);
        put_mem_entry(w, "kernel", &s->memory.kernel);
        put_mem_entry(w, "kernelTCP", &s->memory.kernel_tcp);
        if (s->memory.n_raw > 0) {
                jw_open(w, "raw", '{');
                for (size_t i = 0; i < s->memory.n_raw; i++)
                        jw_u64(w, s->memory.raw[i].key, s->memory.raw[i].value);
                jw_close(w, '}');
        }
        jw_close(w, '}');
}

static void put_blkio(struct jw *w, const struct berth_stats *s)
{
        static const char *const names[BERTH_BLKIO_N] = {
            [BERTH_BLKIO_SERVICE_BYTES] = "ioServiceBytesRecursive",
            [BERTH_BLKIO_SERVICED] = "ioServicedRecursive",
            [BERTH_BLKIO_QUEUED] = "ioQueueRecursive",
            [BERTH_BLKIO_SERVICE_TIME] = "ioServiceTimeRecursive",
            [BERTH_BLKIO_WAIT_TIME] = "ioWaitTimeRecursive",
            [BERTH_BLKIO_MERGED] = "ioMergedRecursive",
            [BERTH_BLKIO_TIME] = "ioTimeRecursive",
            [BERTH_BLKIO_SECTORS] = "sectorsRecursive",
        };

        jw_open(w, "blkio", '{');
        for (size_t k = 0; k < BERTH_BLKIO_N; k++) {
                if (s->blkio[k].n == 0)
                        continue;
                jw_open(w, names[k], '[');
                for (size_t i = 0; i < s->blkio[k].n; i++) {
                        const struct berth_blkio_entry *e = &s->blkio[k].v[i];

                        jw_open(w, NULL, '{');
                        jw_u64_opt(w, "major", e->major);
                        jw_u64_opt(w, "minor", e->minor);
                        if (e->op[0])
                                jw_str(w, "op", e->op);
                        jw_u64_opt(w, "value", e->value);
                        jw_close(w, '}');
                }
                jw_close(w, ']');
        }
        jw_close(w, '}');
}

static void put_stats(struct jw *w, const struct berth_stats *s)
{
        jw_open(w, "data", '{');
        put_cpu(w, s);
        put_cpuset(w, s);
        put_memory(w, s);
        jw_open(w, "pids", '{');
        jw_u64_opt(w, "current", s->pids.current);
        jw_u64_opt(w, "limit", s->pids.limit);
        jw_close(w, '}');
        put_blkio(w, s);
        jw_open(w, "hugetlb", '{');
        for (size_t i = 0; i < s->n_hugetlb; i++) {
                jw_open(w, s->hugetlb[i].page_size, '{');
                jw_u64_opt(w, "usage", s->hugetlb[i].usage);
                jw_u64_opt(w, "max", s->hugetlb[i].max);
                jw_u64(w, "failcnt", s->hugetlb[i].failcnt);
                jw_close(w, '}');
        }
        jw_close(w, '}');
        jw_open(w, "intel_rdt", '{');
        jw_close(w, '}');
        jw_key(w, "network_interfaces");
        fputs("null", w->f);
        jw_close(w, '}');
}

/* Prints {"type":TYPE,"id":ID[,"data":{...}]} and a newline, in one write. */
static int print_event(const char *type, const char *id, const struct berth_stats *s,
                       struct berth_error **err)
{
        _autofree_ char *out = NULL;
        size_t size = 0;
        struct jw w = {.f = open_memstream(&out, &size)};

        if (!w.f)
                return berth_error_set(err, errno, "events: open a memory stream");
        jw_open(&w, NULL, '{');
        jw_str(&w, "type", type);
        jw_str(&w, "id", id);
        if (s)
                put_stats(&w, s);
        jw_close(&w, '}');
        fputc('\n', w.f);
        if (fclose(w.f) != 0)
                return berth_error_set(err, errno, "events: format the %s event", type);
        return oci_print_text(out, err);
}

/* ---- --interval ------------------------------------------------------------------------------ */

/* The unit at s (longest first), its length in *ret_len. */
static double unit_ns(const char *s, size_t *ret_len)
{
        static const struct {
                const char *name;
                double ns;
        } units[] = {
            {"ns", 1},   {"us", 1e3}, {"\u00b5s", 1e3}, {"\u03bcs", 1e3},
            {"ms", 1e6}, {"s", 1e9},  {"m", 60e9},      {"h", 3600e9},
        };

        for (size_t i = 0; i < ARRAY_SIZE(units); i++)
                if (startswith(s, units[i].name)) {
                        *ret_len = strlen(units[i].name);
                        return units[i].ns;
                }
        return 0;
}

/* Go's time.ParseDuration: "5s", "1.5s", "100ms", "1m30s", "0"; a sign is allowed. */
static int parse_duration(const char *s, double *ret_ns)
{
        bool neg = *s == '-';
        double total = 0;

        s += *s == '-' || *s == '+';
        if (streq(s, "0")) {
                *ret_ns = 0;
                return 0;
        }
        if (!*s)
                return -EINVAL;
        while (*s) {
                size_t digits = strspn(s, "0123456789."), ulen = 0;
                char num[64], *end;
                double v, mul;

                if (digits == 0 || digits >= sizeof(num) || strspn(s, ".") == digits)
                        return -EINVAL;
                snprintf(num, sizeof(num), "%.*s", (int) digits, s);
                v = strtod(num, &end);
                if (*end)
                        return -EINVAL;
                mul = unit_ns(s + digits, &ulen);
                if (mul == 0)
                        return -EINVAL;
                total += v * mul;
                s += digits + ulen;
        }
        *ret_ns = neg ? -total : total;
        return 0;
}

static int parse_interval(const char *value, uint64_t *ret_ms, struct berth_error **err)
{
        double ns = 5e9;

        if (value && parse_duration(value, &ns) < 0)
                return berth_error_setx(err, EINVAL,
                                        "invalid --interval %s: expected a duration such as 5s or "
                                        "500ms",
                                        QUOTE(value));
        if (ns <= 0)
                return berth_error_setx(err, EINVAL, "duration interval must be greater than 0");
        /* poll(2) counts milliseconds: a shorter interval polls as fast as it can */
        *ret_ms = ns >= 1e15 ? (uint64_t) 1e9 : (uint64_t) (ns / 1e6);
        return 0;
}

/* ---- the event loop -------------------------------------------------------------------------- */

struct watch {
        struct berth_container *c;
        struct berth_cgroup *cg;
        struct berth_oom_watch *oom; /* NULL when the host has no memory controller */
        int pidfd;                   /* the init's, or -1: check its start time instead */
        uint64_t interval_ms;
};

static int emit_stats(struct watch *w, struct berth_error **err)
{
        _autostats_ struct berth_stats *s = NULL;
        int r = berth_stats_read(w->cg, &s, err);

        if (r < 0)
                return berth_error_prefix(err, "stats of container \"%s\"", w->c->id);
        return print_event("stats", w->c->id, s, err);
}

static void drop_error(struct berth_error **err)
{
        if (err)
                berth_error_freep(err);
}

/* Prints an oom event if the kernel reported one. Returns 1 when the cgroup is gone. */
static int check_oom(struct watch *w, struct berth_error **err)
{
        uint64_t n = 0;
        int r;

        if (!w->oom)
                return 0;
        r = berth_oom_watch_read(w->oom, &n, err);
        if (r == -ENOENT) {
                drop_error(err);
                return 1;
        }
        if (r < 0)
                return r;
        return n > 0 ? print_event("oom", w->c->id, NULL, err) : 0;
}

static bool init_alive(const struct berth_container *c)
{
        unsigned long long start;
        bool zombie;

        return berth_proc_starttime(c->pid, &start, &zombie) == 0 && start == c->pid_start &&
               !zombie;
}

/* A pidfd of the init, checked to be the same process as state.json's (not a reused pid).
 * -ESRCH: it is gone; -ENOSYS: no pidfds here. */
static int open_init_pidfd(const struct berth_container *c)
{
        int fd = sys_pidfd_open(c->pid, 0);

        if (fd < 0)
                return errno == ESRCH ? -ESRCH : -ENOSYS;
        if (!init_alive(c)) {
                close(fd);
                return -ESRCH;
        }
        return fd;
}

/* A stats event failing mid-stream is reported and the stream goes on, as runc. */
static int tick(struct watch *w, struct berth_error **err)
{
        int r = emit_stats(w, err);

        if (r == -ENOENT) {
                drop_error(err);
                return 1;
        }
        if (r < 0 && r != -EPIPE) {
                berth_warn("%s, ignoring", err && *err ? (*err)->msg : "stats failed");
                drop_error(err);
                return 0;
        }
        return r;
}

static int poll_once(struct watch *w, uint64_t *next, struct berth_error **err)
{
        struct pollfd p[2] = {{.fd = w->oom ? berth_oom_watch_fd(w->oom) : -1, .events = POLLIN},
                              {.fd = w->pidfd, .events = POLLIN}};
        uint64_t now = berth_now_us() / 1000, wait = *next > now ? *next - now : 0;
        int r;

        if (w->pidfd < 0 && wait > RECHECK_MS)
                wait = RECHECK_MS;
        if (poll(p, 2, (int) wait) < 0 && errno != EINTR)
                return berth_error_set(err, errno, "events: poll");
        /* the OOM first: when it killed the init, both are ready */
        if (p[0].revents && (r = check_oom(w, err)) != 0)
                return r;
        if (p[1].revents || (w->pidfd < 0 && !init_alive(w->c)))
                return 1;
        now = berth_now_us() / 1000;
        if (now < *next)
                return 0;
        *next = *next + w->interval_ms > now ? *next + w->interval_ms : now + w->interval_ms;
        return tick(w, err);
}

static int event_loop(struct watch *w, struct berth_error **err)
{
        uint64_t next = berth_now_us() / 1000 + w->interval_ms;
        int r;

        do
                r = poll_once(w, &next, err);
        while (r == 0);
        if (r < 0)
                return r;
        /* a v2 notification may trail the kill that ended the container */
        r = check_oom(w, err);
        return r < 0 ? r : 0;
}

/* Streams events until the init exits (or the cgroup goes). */
static int stream(struct watch *w, struct berth_error **err)
{
        _autooomwatch_ struct berth_oom_watch *oom = NULL;
        _autoclose_ int pidfd = -EBADF;
        int r;

        /* watch before looking at the init, so an OOM that kills it is not missed */
        r = berth_oom_watch_open(w->cg, &oom, err);
        if (r == -ENOENT)
                drop_error(err);
        else if (r < 0)
                return berth_error_prefix(err, "watch container \"%s\" for OOM kills", w->c->id);
        w->oom = oom;
        pidfd = open_init_pidfd(w->c);
        if (pidfd == -ESRCH) {
                r = check_oom(w, err);
                return r < 0 ? r : 0;
        }
        w->pidfd = pidfd >= 0 ? pidfd : -1;
        return event_loop(w, err);
}

static int cmd_events(const struct oci_global *g, const struct oci_args *a,
                      struct berth_error **err)
{
        _autocontainer_ struct berth_container *c = NULL;
        _autocgroup_ struct berth_cgroup *cg = NULL;
        struct watch w = {.pidfd = -1};
        int r;

        r = oci_load_container(g, a->pos[0], &c, err);
        if (r >= 0)
                r = parse_interval(a->values[F_INTERVAL], &w.interval_ms, err);
        if (r < 0)
                return r;
        if (c->status == BERTH_STATUS_STOPPED)
                return berth_error_setx(err, EINVAL, "container \"%s\" is not running", c->id);
        r = berth_container_cgroup(c, &cg, err);
        if (r < 0)
                return r;
        w.c = c;
        w.cg = cg;
        r = oci_args_bool(a, F_STATS) ? emit_stats(&w, err) : stream(&w, err);
        return r < 0 ? r : 0;
}

const struct oci_command oci_cmd_events = {
    .name = "events",
    .summary = "display container events such as OOM notifications, cpu, memory, and IO usage "
               "statistics",
    .usage = "[command options] <container-id>",
    .description = OCI_HELP_ID "\nDESCRIPTION:\n"
                               "   The events command displays information about the container. "
                               "By default the\ninformation is displayed once every 5 seconds.\n",
    .flags = flags,
    .n_flags = ARRAY_SIZE(flags),
    .min_args = 1,
    .max_args = 1,
    .needs_cgroups = true,
    .run = cmd_events,
};
