/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Resource usage from a container's cgroup files, read the way runc's libcontainer/cgroups fs
 * (v1) and fs2 (v2) drivers read them, so `events --stats` reports the same numbers.
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>

#include "cgroup/cgroup-internal.h"
#include "cgroup/stats.h"
#include "base/util.h"

#define NS_PER_SEC 1000000000ULL
#define CPUSET_MAX_ENTRIES 65536

/* ---- reading and parsing cgroup files -------------------------------------------------------- */

/* Reads `file` of h into *ret. With optional, a hierarchy this host lacks (h NULL) or a missing
 * file gives *ret NULL. Returns 1 when read, 0 when absent. */
static int read_text(struct berth_cgroup *cg, const struct cg_hier *h, const char *file,
                     bool optional, char **ret, struct berth_error **err)
{
        int r;

        *ret = NULL;
        if (!h)
                return 0;
        r = berth_read_file_at(h->fd, file, 0, ret, NULL, NULL);
        if (r == -ENOENT && optional)
                return 0;
        if (r < 0)
                return berth_error_set(err, -r, "cgroup %s: read %s", cg->path, file);
        return 1;
}

/* One value as runc's GetCgroupParamUint reads it: "max" is UINT64_MAX, a negative number 0. */
static bool parse_value(const char *s, size_t len, uint64_t *ret)
{
        char buf[32];

        if (len == 0 || len >= sizeof(buf))
                return false;
        memcpy(buf, s, len);
        buf[len] = '\0';
        if (streq(buf, "max")) {
                *ret = UINT64_MAX;
                return true;
        }
        if (buf[0] == '-') {
                int64_t v;

                if (parse_i64(buf, &v) < 0)
                        return false;
                *ret = 0;
                return true;
        }
        return parse_u64(buf, ret) == 0;
}

static int bad_value(struct berth_cgroup *cg, const char *file, const char *text,
                     struct berth_error **err)
{
        return berth_error_setx(err, EINVAL, "cgroup %s: %s: %s is not a number", cg->path, file,
                                QUOTE(text));
}

/* A file holding one number. Returns 1 when read, 0 when absent (optional), or -errno. */
static int read_u64(struct berth_cgroup *cg, const struct cg_hier *h, const char *file,
                    bool optional, uint64_t *ret, struct berth_error **err)
{
        _autofree_ char *text = NULL;
        int r = read_text(cg, h, file, optional, &text, err);

        if (r <= 0)
                return r;
        if (!parse_value(text, strcspn(text, " \n"), ret))
                return bad_value(cg, file, text, err);
        return 1;
}

/* Whitespace-separated numbers ("cpuacct.usage_percpu"). */
static int parse_list(struct berth_cgroup *cg, const char *file, const char *text,
                      struct berth_u64_list *ret, struct berth_error **err)
{
        struct berth_u64_list l = {0};

        for (const char *p = text + strspn(text, " \n"); *p; p += strspn(p, " \n")) {
                size_t len = strcspn(p, " \n");
                uint64_t v;

                if (!parse_value(p, len, &v)) {
                        free(l.v);
                        return bad_value(cg, file, text, err);
                }
                l.v = xreallocarray(l.v, l.n + 1, sizeof(*l.v));
                l.v[l.n++] = v;
                p += len;
        }
        free(ret->v);
        *ret = l;
        return 0;
}

static void free_kvs(struct berth_stat_kv *kv, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(kv[i].key);
        free(kv);
}

/* "key value" lines (memory.stat, cpu.stat, cpuacct.stat). */
static int parse_kvs(struct berth_cgroup *cg, const char *file, const char *text,
                     struct berth_stat_kv **ret, size_t *ret_n, struct berth_error **err)
{
        struct berth_stat_kv *kv = NULL;
        size_t n = 0;

        for (const char *line = text; *line;) {
                size_t len = strcspn(line, "\n"), klen = strcspn(line, " \n");
                const char *v = line + klen + (line[klen] == ' ');
                uint64_t value;

                if (len > 0 && (klen == 0 || !parse_value(v, len - (size_t) (v - line), &value))) {
                        free_kvs(kv, n);
                        return berth_error_setx(
                            err, EINVAL, "cgroup %s: %s: line \"%.*s\": expected \"key value\"",
                            cg->path, file, (int) (len > 80 ? 80 : len), line);
                }
                if (len > 0) {
                        kv = xreallocarray(kv, n + 1, sizeof(*kv));
                        kv[n++] = (struct berth_stat_kv){.key = xasprintf("%.*s", (int) klen, line),
                                                         .value = value};
                }
                line += len + (line[len] == '\n');
        }
        *ret = kv;
        *ret_n = n;
        return 0;
}

static uint64_t kv_get(const struct berth_stat_kv *kv, size_t n, const char *key)
{
        for (size_t i = 0; i < n; i++)
                if (streq(kv[i].key, key))
                        return kv[i].value;
        return 0;
}

/* Reads a "key value" file. Returns 1 when read, 0 when absent (optional: *ret_n 0), or -errno. */
static int read_kvs(struct berth_cgroup *cg, const struct cg_hier *h, const char *file,
                    bool optional, struct berth_stat_kv **ret, size_t *ret_n,
                    struct berth_error **err)
{
        _autofree_ char *text = NULL;
        int r = read_text(cg, h, file, optional, &text, err);

        *ret = NULL;
        *ret_n = 0;
        if (r <= 0)
                return r;
        r = parse_kvs(cg, file, text, ret, ret_n, err);
        return r < 0 ? r : 1;
}

/* ---- cgroup v1 ------------------------------------------------------------------------------- */

/* cpuacct.usage_all: "cpu user system" then one line per cpu. Absent on old kernels. */
static int v1_percpu_modes(struct berth_cgroup *cg, const struct cg_hier *h, struct berth_stats *s,
                           struct berth_error **err)
{
        _autofree_ char *text = NULL;
        struct berth_u64_list *user = &s->cpu.percpu_user, *kernel = &s->cpu.percpu_kernel;
        int r = read_text(cg, h, "cpuacct.usage_all", true, &text, err);
        char *save = NULL;

        if (r <= 0)
                return r;
        strtok_r(text, "\n", &save); /* the header */
        for (char *l = strtok_r(NULL, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                uint64_t cpu, u, k;

                if (sscanf(l, "%" SCNu64 " %" SCNu64 " %" SCNu64, &cpu, &u, &k) != 3)
                        return bad_value(cg, "cpuacct.usage_all", l, err);
                user->v = xreallocarray(user->v, user->n + 1, sizeof(uint64_t));
                user->v[user->n++] = u;
                kernel->v = xreallocarray(kernel->v, kernel->n + 1, sizeof(uint64_t));
                kernel->v[kernel->n++] = k;
        }
        return 0;
}

/* cpuacct.stat counts USER_HZ ticks; runc reports nanoseconds. */
static int v1_cpu_modes(struct berth_cgroup *cg, const struct cg_hier *h, struct berth_stats *s,
                        struct berth_error **err)
{
        struct berth_stat_kv *kv = NULL;
        long hz = sysconf(_SC_CLK_TCK);
        size_t n = 0;
        int r = read_kvs(cg, h, "cpuacct.stat", false, &kv, &n, err);

        if (r < 0)
                return r;
        if (hz <= 0)
                hz = 100;
        s->cpu.user = kv_get(kv, n, "user") * NS_PER_SEC / (uint64_t) hz;
        s->cpu.kernel = kv_get(kv, n, "system") * NS_PER_SEC / (uint64_t) hz;
        free_kvs(kv, n);
        return 0;
}

static int v1_cpu(struct berth_cgroup *cg, struct berth_stats *s, struct berth_error **err)
{
        const struct cg_hier *acct = berth_cg_hier(cg, "cpuacct"), *cpu = berth_cg_hier(cg, "cpu");
        _autofree_ char *percpu = NULL;
        struct berth_stat_kv *kv = NULL;
        size_t n = 0;
        int r;

        if (acct &&
            ((r = read_u64(cg, acct, "cpuacct.usage", false, &s->cpu.total, err)) < 0 ||
             (r = read_text(cg, acct, "cpuacct.usage_percpu", false, &percpu, err)) < 0 ||
             (r = parse_list(cg, "cpuacct.usage_percpu", percpu, &s->cpu.percpu, err)) < 0 ||
             (r = v1_percpu_modes(cg, acct, s, err)) < 0 ||
             (r = v1_cpu_modes(cg, acct, s, err)) < 0))
                return r;
        r = read_kvs(cg, cpu, "cpu.stat", true, &kv, &n, err);
        if (r < 0)
                return r;
        s->cpu.periods = kv_get(kv, n, "nr_periods");
        s->cpu.throttled_periods = kv_get(kv, n, "nr_throttled");
        s->cpu.throttled_time = kv_get(kv, n, "throttled_time");
        free_kvs(kv, n);
        return 0;
}

/* memory[.NAME].{usage_in_bytes,max_usage_in_bytes,failcnt,limit_in_bytes}; the memsw, kmem and
 * kmem.tcp variants are optional (no swap accounting; kmem is gone from new kernels). */
static int v1_mem_entry(struct berth_cgroup *cg, const struct cg_hier *h, const char *name,
                        struct berth_mem_entry *e, struct berth_error **err)
{
        static const char *const files[] = {"usage_in_bytes", "max_usage_in_bytes", "failcnt",
                                            "limit_in_bytes"};
        uint64_t *dst[] = {&e->usage, &e->max, &e->failcnt, &e->limit};

        for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
                _autofree_ char *file = *name ? xasprintf("memory.%s.%s", name, files[i])
                                              : xasprintf("memory.%s", files[i]);
                int r = read_u64(cg, h, file, *name != '\0', dst[i], err);

                if (r < 0)
                        return r;
                if (r == 0) {
                        *e = (struct berth_mem_entry){0};
                        return 0;
                }
        }
        return 0;
}

static int v1_memory(struct berth_cgroup *cg, struct berth_stats *s, struct berth_error **err)
{
        const struct cg_hier *h = berth_cg_hier(cg, "memory");
        int r;

        if (!h)
                return 0;
        r = read_kvs(cg, h, "memory.stat", false, &s->memory.raw, &s->memory.n_raw, err);
        if (r < 0)
                return r;
        s->memory.cache = kv_get(s->memory.raw, s->memory.n_raw, "cache");
        if ((r = v1_mem_entry(cg, h, "", &s->memory.usage, err)) < 0 ||
            (r = v1_mem_entry(cg, h, "memsw", &s->memory.swap, err)) < 0 ||
            (r = v1_mem_entry(cg, h, "kmem", &s->memory.kernel, err)) < 0)
                return r;
        return v1_mem_entry(cg, h, "kmem.tcp", &s->memory.kernel_tcp, err);
}

/* pids.current and pids.max ("max": limit 0, as runc reports it). */
static int read_pids(struct berth_cgroup *cg, const struct cg_hier *h, struct berth_stats *s,
                     struct berth_error **err)
{
        int r;

        if (!h)
                return 0;
        /* optional: a v2 parent may not delegate the pids controller */
        if ((r = read_u64(cg, h, "pids.current", true, &s->pids.current, err)) < 0 ||
            (r = read_u64(cg, h, "pids.max", true, &s->pids.limit, err)) < 0)
                return r;
        if (s->pids.limit == UINT64_MAX)
                s->pids.limit = 0;
        return 0;
}

/* One blkio line: "8:0 Read 4096", "8:0 4096"; "Total 4096" is skipped (returns 0). */
static int parse_blkio_line(const char *line, struct berth_blkio_entry *e)
{
        char op[sizeof(e->op)] = "";
        int n = 0;

        if (startswith(line, "Total ") || *line == '\0')
                return 0;
        if (sscanf(line, "%" SCNu64 ":%" SCNu64 " %15s %" SCNu64 "%n", &e->major, &e->minor, op,
                   &e->value, &n) == 4 &&
            line[n] == '\0') {
                memcpy(e->op, op, sizeof(op));
                return 1;
        }
        n = 0;
        if (sscanf(line, "%" SCNu64 ":%" SCNu64 " %" SCNu64 "%n", &e->major, &e->minor, &e->value,
                   &n) == 3 &&
            line[n] == '\0') {
                e->op[0] = '\0';
                return 1;
        }
        return -EINVAL;
}

/* Returns 1 with entries in *ret, 0 when the file is missing or has none. */
static int read_blkio_file(struct berth_cgroup *cg, const struct cg_hier *h, const char *file,
                           struct berth_blkio_list *ret, struct berth_error **err)
{
        _autofree_ char *text = NULL;
        struct berth_blkio_list l = {0};
        char *save = NULL;
        int r = read_text(cg, h, file, true, &text, err);

        if (r <= 0)
                return r;
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                struct berth_blkio_entry e = {0};

                r = parse_blkio_line(line, &e);
                if (r < 0) {
                        free(l.v);
                        return berth_error_setx(err, EINVAL, "cgroup %s: %s: invalid line %s",
                                                cg->path, file, QUOTE(line));
                }
                if (r == 0)
                        continue;
                l.v = xreallocarray(l.v, l.n + 1, sizeof(*l.v));
                l.v[l.n++] = e;
        }
        free(ret->v);
        *ret = l;
        return l.n > 0;
}

struct blkio_file {
        const char *name;
        enum berth_blkio_kind kind;
};

static const struct blkio_file blkio_all[] = {
    {"sectors_recursive", BERTH_BLKIO_SECTORS},
    {"io_service_time_recursive", BERTH_BLKIO_SERVICE_TIME},
    {"io_wait_time_recursive", BERTH_BLKIO_WAIT_TIME},
    {"io_merged_recursive", BERTH_BLKIO_MERGED},
    {"io_queued_recursive", BERTH_BLKIO_QUEUED},
    {"time_recursive", BERTH_BLKIO_TIME},
    {"io_serviced_recursive", BERTH_BLKIO_SERVICED},
    {"io_service_bytes_recursive", BERTH_BLKIO_SERVICE_BYTES},
};
static const struct blkio_file blkio_base[] = {
    {"io_serviced", BERTH_BLKIO_SERVICED},
    {"io_service_bytes", BERTH_BLKIO_SERVICE_BYTES},
};

/* runc's order: BFQ with debug stats, BFQ, CFQ, throttle recursive, throttle. The first group
 * whose first file has entries is the one reported. */
static const struct {
        const char *prefix;
        const struct blkio_file *files;
        size_t n;
} blkio_groups[] = {
    {"blkio.bfq.", blkio_all, 8},       {"blkio.bfq.", blkio_all + 6, 2},
    {"blkio.", blkio_all, 8},           {"blkio.throttle.", blkio_all + 6, 2},
    {"blkio.throttle.", blkio_base, 2},
};

static int v1_blkio(struct berth_cgroup *cg, struct berth_stats *s, struct berth_error **err)
{
        const struct cg_hier *h = berth_cg_hier(cg, "blkio");

        for (size_t g = 0; h && g < ARRAY_SIZE(blkio_groups); g++) {
                for (size_t i = 0; i < blkio_groups[g].n; i++) {
                        const struct blkio_file *f = &blkio_groups[g].files[i];
                        _autofree_ char *file = xasprintf("%s%s", blkio_groups[g].prefix, f->name);
                        int r = read_blkio_file(cg, h, file, &s->blkio[f->kind], err);

                        if (r < 0 && i > 0)
                                return r;
                        if (r < 0 && err)
                                berth_error_freep(err);
                        if (r <= 0 && i == 0)
                                break;
                        if (r == 0 || i + 1 == blkio_groups[g].n)
                                return 0;
                }
        }
        return 0;
}

/* "0-3,7" -> 0 1 2 3 7. */
static int parse_cpuset(struct berth_cgroup *cg, const char *file, const char *text,
                        struct berth_u64_list *ret, struct berth_error **err)
{
        struct berth_u64_list l = {0};
        const char *p = text;

        while (*p && *p != '\n') {
                uint64_t lo, hi;
                int n = 0;

                if (sscanf(p, "%" SCNu64 "%n", &lo, &n) != 1)
                        goto bad;
                p += n;
                hi = lo;
                if (*p == '-' && (sscanf(p + 1, "%" SCNu64 "%n", &hi, &n) != 1 || hi < lo))
                        goto bad;
                if (*p == '-')
                        p += 1 + n;
                if (hi - lo >= CPUSET_MAX_ENTRIES || l.n + (hi - lo) >= CPUSET_MAX_ENTRIES)
                        goto bad;
                l.v = xreallocarray(l.v, l.n + (size_t) (hi - lo) + 1, sizeof(*l.v));
                for (uint64_t v = lo; v <= hi; v++)
                        l.v[l.n++] = v;
                if (*p == ',')
                        p++;
                else if (*p && *p != '\n')
                        goto bad;
        }
        free(ret->v);
        *ret = l;
        return 0;
bad:
        free(l.v);
        return berth_error_setx(err, EINVAL, "cgroup %s: %s: invalid list %s", cg->path, file,
                                QUOTE(text));
}

static int read_cpuset_list(struct berth_cgroup *cg, const struct cg_hier *h, const char *file,
                            struct berth_u64_list *ret, struct berth_error **err)
{
        _autofree_ char *text = NULL;
        int r = read_text(cg, h, file, true, &text, err);

        return r <= 0 ? r : parse_cpuset(cg, file, text, ret, err);
}

static int v1_cpuset(struct berth_cgroup *cg, struct berth_stats *s, struct berth_error **err)
{
        const struct cg_hier *h = berth_cg_hier(cg, "cpuset");
        __typeof__(s->cpuset) *c = &s->cpuset;
        const struct {
                const char *file;
                uint64_t *dst;
        } flags[] = {
            {"cpuset.cpu_exclusive", &c->cpu_exclusive},
            {"cpuset.mem_hardwall", &c->mem_hardwall},
            {"cpuset.mem_exclusive", &c->mem_exclusive},
            {"cpuset.memory_migrate", &c->memory_migrate},
            {"cpuset.memory_spread_page", &c->memory_spread_page},
            {"cpuset.memory_spread_slab", &c->memory_spread_slab},
            {"cpuset.memory_pressure", &c->memory_pressure},
            {"cpuset.sched_load_balance", &c->sched_load_balance},
        };
        _autofree_ char *level = NULL;
        int r;

        if (!h)
                return 0;
        if ((r = read_cpuset_list(cg, h, "cpuset.cpus", &c->cpus, err)) < 0 ||
            (r = read_cpuset_list(cg, h, "cpuset.mems", &c->mems, err)) < 0)
                return r;
        for (size_t i = 0; i < ARRAY_SIZE(flags); i++)
                if ((r = read_u64(cg, h, flags[i].file, true, flags[i].dst, err)) < 0)
                        return r;
        if ((r = read_text(cg, h, "cpuset.sched_relax_domain_level", true, &level, err)) < 0)
                return r;
        if (level && parse_i64(strtok(level, "\n") ?: "", &c->sched_relax_domain_level) < 0)
                return bad_value(cg, "cpuset.sched_relax_domain_level", level, err);
        return 0;
}

static int read_v1(struct berth_cgroup *cg, struct berth_stats *s, struct berth_error **err)
{
        int r;

        if ((r = v1_cpu(cg, s, err)) < 0 || (r = v1_cpuset(cg, s, err)) < 0 ||
            (r = v1_memory(cg, s, err)) < 0 ||
            (r = read_pids(cg, berth_cg_hier(cg, "pids"), s, err)) < 0)
                return r;
        return v1_blkio(cg, s, err);
}

/* ---- cgroup v2 ------------------------------------------------------------------------------- */

static int v2_cpu(struct berth_cgroup *cg, const struct cg_hier *h, struct berth_stats *s,
                  struct berth_error **err)
{
        struct berth_stat_kv *kv = NULL;
        size_t n = 0;
        int r = read_kvs(cg, h, "cpu.stat", false, &kv, &n, err);

        if (r < 0)
                return r;
        s->cpu.total = kv_get(kv, n, "usage_usec") * 1000;
        s->cpu.user = kv_get(kv, n, "user_usec") * 1000;
        s->cpu.kernel = kv_get(kv, n, "system_usec") * 1000;
        s->cpu.periods = kv_get(kv, n, "nr_periods");
        s->cpu.throttled_periods = kv_get(kv, n, "nr_throttled");
        s->cpu.throttled_time = kv_get(kv, n, "throttled_usec") * 1000;
        free_kvs(kv, n);
        return 0;
}

static uint64_t add_limits(uint64_t a, uint64_t b)
{
        return a == UINT64_MAX || b == UINT64_MAX || a + b < a ? UINT64_MAX : a + b;
}

static int v2_memory(struct berth_cgroup *cg, const struct cg_hier *h, struct berth_stats *s,
                     struct berth_error **err)
{
        struct berth_mem_entry *u = &s->memory.usage, *sw = &s->memory.swap;
        int r;

        /* absent when the parent does not delegate the memory controller */
        r = read_kvs(cg, h, "memory.stat", true, &s->memory.raw, &s->memory.n_raw, err);
        if (r <= 0)
                return r;
        s->memory.cache = kv_get(s->memory.raw, s->memory.n_raw, "file");
        if ((r = read_u64(cg, h, "memory.current", false, &u->usage, err)) < 0 ||
            (r = read_u64(cg, h, "memory.max", false, &u->limit, err)) < 0 ||
            (r = read_u64(cg, h, "memory.peak", true, &u->max, err)) < 0)
                return r;
        r = read_u64(cg, h, "memory.swap.current", true, &sw->usage, err);
        if (r > 0)
                r = read_u64(cg, h, "memory.swap.max", false, &sw->limit, err);
        if (r < 0)
                return r;
        /* v1 reports memory+swap (memsw); runc reports v2 the same way */
        if (r > 0) {
                sw->usage += u->usage;
                sw->limit = add_limits(sw->limit, u->limit);
        }
        return 0;
}

/* io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0", mapped to v1's tables. */
static int v2_io(struct berth_cgroup *cg, const struct cg_hier *h, struct berth_stats *s,
                 struct berth_error **err)
{
        static const struct {
                const char *key, *op;
                enum berth_blkio_kind kind;
        } map[] = {
            {"rbytes=", "Read", BERTH_BLKIO_SERVICE_BYTES},
            {"wbytes=", "Write", BERTH_BLKIO_SERVICE_BYTES},
            {"rios=", "Read", BERTH_BLKIO_SERVICED},
            {"wios=", "Write", BERTH_BLKIO_SERVICED},
        };
        _autofree_ char *text = NULL;
        char *save = NULL;
        int r = read_text(cg, h, "io.stat", true, &text, err);

        for (char *l = r > 0 ? strtok_r(text, "\n", &save) : NULL; l;
             l = strtok_r(NULL, "\n", &save)) {
                uint64_t major, minor;
                char *save2 = NULL;

                if (sscanf(l, "%" SCNu64 ":%" SCNu64, &major, &minor) != 2)
                        continue;
                strtok_r(l, " ", &save2);
                for (char *f = strtok_r(NULL, " ", &save2); f; f = strtok_r(NULL, " ", &save2)) {
                        for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
                                struct berth_blkio_list *b = &s->blkio[map[i].kind];
                                struct berth_blkio_entry e = {.major = major, .minor = minor};

                                if (!startswith(f, map[i].key) ||
                                    parse_u64(f + strlen(map[i].key), &e.value) < 0)
                                        continue;
                                snprintf(e.op, sizeof(e.op), "%s", map[i].op);
                                b->v = xreallocarray(b->v, b->n + 1, sizeof(*b->v));
                                b->v[b->n++] = e;
                        }
                }
        }
        return r < 0 ? r : 0;
}

static int read_v2(struct berth_cgroup *cg, struct berth_stats *s, struct berth_error **err)
{
        const struct cg_hier *h = berth_cg_hier(cg, "");
        int r;

        if (!h)
                return berth_error_setx(err, ENOENT, "cgroup %s: not open", cg->path);
        if ((r = v2_cpu(cg, h, s, err)) < 0 || (r = v2_memory(cg, h, s, err)) < 0 ||
            (r = read_pids(cg, h, s, err)) < 0 || (r = v2_io(cg, h, s, err)) < 0 ||
            (r = read_cpuset_list(cg, h, "cpuset.cpus.effective", &s->cpuset.cpus, err)) < 0)
                return r;
        return read_cpuset_list(cg, h, "cpuset.mems.effective", &s->cpuset.mems, err);
}

/* ---- hugetlb --------------------------------------------------------------------------------- */

void berth_hugepage_size_name(uint64_t kb, char buf[16])
{
        static const char *const units[] = {"KB", "MB", "GB", "TB", "PB"};
        size_t u = 0;

        while (kb >= 1024 && kb % 1024 == 0 && u + 1 < ARRAY_SIZE(units)) {
                kb /= 1024;
                u++;
        }
        snprintf(buf, 16, "%" PRIu64 "%s", kb, units[u]);
}

static int cmp_hugetlb(const void *a, const void *b)
{
        return strcmp(((const struct berth_hugetlb_stats *) a)->page_size,
                      ((const struct berth_hugetlb_stats *) b)->page_size);
}

/* The page sizes this kernel supports: /sys/kernel/mm/hugepages/hugepages-<N>kB. */
static void hugepage_sizes(struct berth_stats *s)
{
        DIR *d = opendir("/sys/kernel/mm/hugepages");
        struct dirent *de;

        while (d && (de = readdir(d))) {
                uint64_t kb;
                char *end;

                if (!startswith(de->d_name, "hugepages-"))
                        continue;
                kb = strtoull(de->d_name + strlen("hugepages-"), &end, 10);
                if (!streq(end, "kB"))
                        continue;
                s->hugetlb = xreallocarray(s->hugetlb, s->n_hugetlb + 1, sizeof(*s->hugetlb));
                s->hugetlb[s->n_hugetlb] = (struct berth_hugetlb_stats){0};
                berth_hugepage_size_name(kb, s->hugetlb[s->n_hugetlb++].page_size);
        }
        if (d)
                closedir(d);
        if (s->n_hugetlb > 1)
                qsort(s->hugetlb, s->n_hugetlb, sizeof(*s->hugetlb), cmp_hugetlb);
}

/* v1: hugetlb.2MB.{usage_in_bytes,max_usage_in_bytes,failcnt}; v2 (also the cgroup2 mount of a
 * hybrid host): hugetlb.2MB.current and the "max" count of hugetlb.2MB.events, as runc. */
static int read_hugetlb_one(struct berth_cgroup *cg, const struct cg_hier *h,
                            struct berth_hugetlb_stats *e, struct berth_error **err)
{
        const char *ps = e->page_size;
        _autofree_ char *usage =
            xasprintf("hugetlb.%s.%s", ps, h->v2 ? "current" : "usage_in_bytes");
        _autofree_ char *max = xasprintf("hugetlb.%s.max_usage_in_bytes", ps);
        _autofree_ char *fail = xasprintf("hugetlb.%s.%s", ps, h->v2 ? "events" : "failcnt");
        struct berth_stat_kv *kv = NULL;
        size_t n = 0;
        int r;

        if ((r = read_u64(cg, h, usage, true, &e->usage, err)) < 0)
                return r;
        if (!h->v2 && (r = read_u64(cg, h, max, true, &e->max, err)) < 0)
                return r;
        if (!h->v2)
                return read_u64(cg, h, fail, true, &e->failcnt, err);
        if ((r = read_kvs(cg, h, fail, true, &kv, &n, err)) < 0)
                return r;
        e->failcnt = kv_get(kv, n, "max");
        free_kvs(kv, n);
        return 0;
}

static int read_hugetlb(struct berth_cgroup *cg, struct berth_stats *s, struct berth_error **err)
{
        /* a cgroup2 hierarchy (v2, or a hybrid host's delegating cgroup2 mount) holds hugetlb
         * when there is one */
        const struct cg_hier *h = berth_cg_hier(cg, "");

        if (!h)
                h = berth_cg_hier(cg, "hugetlb");
        if (!h)
                return 0;
        hugepage_sizes(s);
        for (size_t i = 0; i < s->n_hugetlb; i++) {
                int r = read_hugetlb_one(cg, h, &s->hugetlb[i], err);

                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- entry points ---------------------------------------------------------------------------- */

static int cmp_kv(const void *a, const void *b)
{
        return strcmp(((const struct berth_stat_kv *) a)->key,
                      ((const struct berth_stat_kv *) b)->key);
}

int berth_stats_read(struct berth_cgroup *cg, struct berth_stats **ret, struct berth_error **err)
{
        _autostats_ struct berth_stats *s = xcalloc(1, sizeof(*s));
        int r;

        r = berth_cgroup_mode() == BERTH_CGROUP_V2 ? read_v2(cg, s, err) : read_v1(cg, s, err);
        if (r >= 0)
                r = read_hugetlb(cg, s, err);
        if (r < 0)
                return r;
        if (s->memory.n_raw > 1) /* qsort(NULL, 0) is undefined */
                qsort(s->memory.raw, s->memory.n_raw, sizeof(*s->memory.raw), cmp_kv);
        *ret = steal_ptr(&s);
        return 0;
}

void berth_stats_free(struct berth_stats *s)
{
        if (!s)
                return;
        free(s->cpu.percpu.v);
        free(s->cpu.percpu_kernel.v);
        free(s->cpu.percpu_user.v);
        free(s->cpuset.cpus.v);
        free(s->cpuset.mems.v);
        free_kvs(s->memory.raw, s->memory.n_raw);
        for (size_t i = 0; i < BERTH_BLKIO_N; i++)
                free(s->blkio[i].v);
        free(s->hugetlb);
        free(s);
}
