/* SPDX-License-Identifier: Apache-2.0 */
/*
 * linux.resources written to cgroup v1 controllers (and, on a hybrid host, hugetlb to the
 * cgroup2 mount). The values were range-checked by resources.c; this file only translates them
 * into the kernel's files, in an order the kernel accepts, and refuses what this host cannot
 * apply: runtime.md, create: "If the runtime cannot apply a property as specified in the
 * configuration, it MUST generate an error and a new container MUST NOT be created" (runc and
 * crun skip a missing controller or file silently). The deprecated kernel memory limits, which
 * Linux no longer enforces, stay a warning ending in "ignoring".
 *
 * Zero means "unset" for limits, shares, periods and weights, as in runc: nothing is written.
 */
#include <fcntl.h>
#include <inttypes.h>

#include "cgroup/cgroup-internal.h"
#include "base/log.h"
#include "base/util.h"

#define MEM_LIMIT "memory.limit_in_bytes"
#define MEMSW_LIMIT "memory.memsw.limit_in_bytes"

typedef int (*apply_fn)(struct berth_cgroup *cg, const struct berth_resources *res,
                        struct berth_error **err);

/* ---- helpers -------------------------------------------------------------------------------- */

/* The controller's hierarchy in *ret, or an error naming the field that needs it. */
static int controller(struct berth_cgroup *cg, const char *name, const char *field,
                      struct cg_hier **ret, struct berth_error **err)
{
        struct cg_hier *h = berth_cg_hier(cg, name);

        if (!h)
                return berth_error_setx(err, ENOTSUP,
                                        "linux.resources.%s: the %s controller is not available "
                                        "on this host (no cgroup v1 hierarchy of it is mounted)",
                                        field, name);
        *ret = h;
        return 0;
}

static bool has_file(const struct cg_hier *h, const char *file)
{
        return faccessat(h->fd, file, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

static int write_i64(struct berth_cgroup *cg, const struct cg_hier *h, const char *file, int64_t v,
                     struct berth_error **err)
{
        char buf[24];

        snprintf(buf, sizeof(buf), "%" PRId64, v);
        return berth_cg_write(cg, h, file, buf, err);
}

static int write_u64(struct berth_cgroup *cg, const struct cg_hier *h, const char *file, uint64_t v,
                     struct berth_error **err)
{
        char buf[24];

        snprintf(buf, sizeof(buf), "%" PRIu64, v);
        return berth_cg_write(cg, h, file, buf, err);
}

/* Reads a file holding one unsigned number (memory.limit_in_bytes). */
static int read_u64(struct berth_cgroup *cg, const struct cg_hier *h, const char *file,
                    uint64_t *ret, struct berth_error **err)
{
        _autofree_ char *text = NULL;
        int r = berth_cg_read(cg, h, file, &text, err);

        if (r < 0)
                return r;
        text[strcspn(text, "\n")] = '\0';
        if (parse_u64(text, ret) < 0)
                return berth_error_setx(err, EIO, "cgroup %s: %s holds %s, not a number", cg->path,
                                        file, QUOTE(text));
        return 0;
}

/* For a write that failed but will be retried: the retry's outcome is the one that counts. */
static void forget_error(struct berth_error **err)
{
        if (err)
                berth_error_freep(err);
}

/* ---- devices -------------------------------------------------------------------------------- */

static bool is_deny_all(const struct berth_device_rule *d)
{
        return !d->allow && d->type == 'a';
}

/* "c 1:3 rwm", "c 136:* rwm"; a type 'a' rule is "a": the kernel ignores the rest of it. */
static void format_rule(const struct berth_device_rule *d, char *buf, size_t size)
{
        char major[24] = "*", minor[24] = "*";

        if (d->type == 'a') {
                snprintf(buf, size, "a");
                return;
        }
        if (d->major >= 0)
                snprintf(major, sizeof(major), "%" PRId64, d->major);
        if (d->minor >= 0)
                snprintf(minor, sizeof(minor), "%" PRId64, d->minor);
        snprintf(buf, size, "%c %s:%s %s", d->type, major, minor, d->access);
}

static int write_rule(struct berth_cgroup *cg, const struct cg_hier *h,
                      const struct berth_device_rule *d, struct berth_error **err)
{
        char buf[64];

        format_rule(d, buf, sizeof(buf));
        return berth_cg_write(cg, h, d->allow ? "devices.allow" : "devices.deny", buf, err);
}

/*
 * Rules go on a deny-all base whatever the config starts with, as in runc (its device emulator
 * starts as an allow list, libcontainer/cgroups/devices), then the config's rules in order, then
 * the defaults every container needs. A leading deny-all in the config is that base already.
 * `update` sets skip_devices, as runc update does: a resources file without devices must not
 * take away the devices the config allowed.
 */
static int apply_devices(struct berth_cgroup *cg, const struct berth_resources *res,
                         struct berth_error **err)
{
        static const struct berth_device_rule deny_all = {
            .type = 'a', .major = -1, .minor = -1, .access = "rwm"};
        struct cg_hier *h = berth_cg_hier(cg, "devices");
        size_t i = res->n_devices > 0 && is_deny_all(&res->devices[0]) ? 1 : 0;
        int r;

        if (res->skip_devices)
                return 0; /* an update: berth_container_update() warns */
        if (!h)
                return res->n_devices > 0 ? controller(cg, "devices", "devices", &h, err) : 0;
        r = write_rule(cg, h, &deny_all, err);
        for (; r >= 0 && i < res->n_devices; i++)
                r = write_rule(cg, h, &res->devices[i], err);
        for (i = 0; r >= 0 && i < berth_n_default_device_rules; i++)
                r = write_rule(cg, h, &berth_default_device_rules[i], err);
        return r;
}

/* ---- memory --------------------------------------------------------------------------------- */

static bool memory_is_set(const struct berth_resources *res)
{
        const __typeof__(res->memory) *m = &res->memory;

        return m->has_limit || m->has_reservation || m->has_swap || m->has_kernel ||
               m->has_kernel_tcp || m->has_swappiness || m->has_disable_oom_killer ||
               m->has_use_hierarchy;
}

/* EBUSY means the cgroup uses more than the new limit already: say how much (runc does too). */
static int write_memory_limit(struct berth_cgroup *cg, const struct cg_hier *h, int64_t limit,
                              struct berth_error **err)
{
        uint64_t usage;
        int r = write_i64(cg, h, MEM_LIMIT, limit, err);

        if (r == -EBUSY && read_u64(cg, h, "memory.usage_in_bytes", &usage, NULL) == 0)
                berth_error_prefix(err,
                                   "linux.resources.memory.limit: %" PRId64
                                   " is below the current usage of %" PRIu64 " bytes",
                                   limit, usage);
        return r;
}

/*
 * The kernel keeps memsw.limit_in_bytes >= limit_in_bytes after every write, so when both change
 * the order depends on the current limit: raising, swap first; lowering, the limit first (runc's
 * setMemoryAndSwap, libcontainer/cgroups/fs/memory.go).
 */
static int apply_limit_and_swap(struct berth_cgroup *cg, const struct cg_hier *h,
                                const struct berth_resources *res, struct berth_error **err)
{
        int64_t limit = res->memory.has_limit ? res->memory.limit : 0;
        int64_t swap = res->memory.has_swap ? res->memory.swap : 0;
        uint64_t cur = 0;
        int r;

        /* without swap accounting, -1 (no limit) is what the host does anyway */
        if (swap == -1 && !has_file(h, MEMSW_LIMIT))
                swap = 0;
        if (swap != 0 && !has_file(h, MEMSW_LIMIT))
                return berth_error_setx(err, ENOTSUP,
                                        "linux.resources.memory.swap: swap accounting is not "
                                        "enabled on this host (no %s; boot with swapaccount=1)",
                                        MEMSW_LIMIT);
        /* an unlimited limit above an old memsw limit is refused unless memsw goes first */
        if (limit == -1 && swap == 0 && has_file(h, MEMSW_LIMIT))
                swap = -1;
        if (limit != 0 && swap > 0) {
                r = read_u64(cg, h, MEM_LIMIT, &cur, err);
                if (r < 0)
                        return r;
        }
        if (limit != 0 && swap != 0 && (swap == -1 || cur < (uint64_t) swap)) {
                r = write_i64(cg, h, MEMSW_LIMIT, swap, err);
                if (r < 0)
                        return r;
                swap = 0;
        }
        if (limit != 0) {
                r = write_memory_limit(cg, h, limit, err);
                if (r < 0)
                        return r;
        }
        return swap != 0 ? write_i64(cg, h, MEMSW_LIMIT, swap, err) : 0;
}

/* Linux deprecated kernel memory limits (5.4) and stopped enforcing them; runc ignores them, and
 * the runtime-spec marks both fields NOT RECOMMENDED: a warning, not an error. -1 (no limit) is
 * what the kernel does anyway. */
static int apply_kernel_memory(struct berth_cgroup *cg, const struct cg_hier *h,
                               const struct berth_resources *res, struct berth_error **err)
{
        if (res->memory.has_kernel && res->memory.kernel != 0 && res->memory.kernel != -1)
                berth_warn("linux.resources.memory.kernel: kernel memory limits are deprecated and "
                           "no longer enforced by Linux, ignoring");
        if (!res->memory.has_kernel_tcp || res->memory.kernel_tcp == 0)
                return 0;
        if (!has_file(h, "memory.kmem.tcp.limit_in_bytes")) {
                if (res->memory.kernel_tcp == -1)
                        return 0;
                berth_warn("linux.resources.memory.kernelTCP: this kernel has no "
                           "memory.kmem.tcp.limit_in_bytes, ignoring");
                return 0;
        }
        berth_warn("linux.resources.memory.kernelTCP: deprecated by the runtime spec (cgroup v1 "
                   "only)");
        return write_i64(cg, h, "memory.kmem.tcp.limit_in_bytes", res->memory.kernel_tcp, err);
}

/* Linux 5.11 made every memory cgroup hierarchical and refuses use_hierarchy 0 (EINVAL). */
static int apply_use_hierarchy(struct berth_cgroup *cg, const struct cg_hier *h, bool on,
                               struct berth_error **err)
{
        int r = berth_cg_write(cg, h, "memory.use_hierarchy", on ? "1" : "0", err);

        if (r == -EINVAL && !on) {
                forget_error(err);
                return berth_error_setx(err, ENOTSUP,
                                        "linux.resources.memory.useHierarchy: false cannot be "
                                        "applied: this kernel always accounts memory "
                                        "hierarchically (Linux 5.11)");
        }
        return r;
}

static int apply_memory(struct berth_cgroup *cg, const struct berth_resources *res,
                        struct berth_error **err)
{
        const __typeof__(res->memory) *m = &res->memory;
        struct cg_hier *h = NULL;
        int r;

        if (!memory_is_set(res))
                return 0;
        r = controller(cg, "memory", "memory", &h, err);
        if (r >= 0)
                r = apply_limit_and_swap(cg, h, res, err);
        if (r >= 0 && m->has_reservation && m->reservation != 0)
                r = write_i64(cg, h, "memory.soft_limit_in_bytes", m->reservation, err);
        if (r >= 0)
                r = apply_kernel_memory(cg, h, res, err);
        if (r >= 0 && m->has_swappiness)
                r = write_u64(cg, h, "memory.swappiness", m->swappiness, err);
        if (r >= 0 && m->has_disable_oom_killer)
                r = berth_cg_write(cg, h, "memory.oom_control", m->disable_oom_killer ? "1" : "0",
                                   err);
        if (r >= 0 && m->has_use_hierarchy)
                r = apply_use_hierarchy(cg, h, m->use_hierarchy, err);
        return r;
}

/* ---- cpu and cpuset ------------------------------------------------------------------------- */

static bool cpu_is_set(const struct berth_resources *res)
{
        const __typeof__(res->cpu) *c = &res->cpu;

        return (c->has_shares && c->shares != 0) || (c->has_quota && c->quota != 0) ||
               c->has_burst || (c->has_period && c->period != 0) ||
               (c->has_realtime_runtime && c->realtime_runtime != 0) ||
               (c->has_realtime_period && c->realtime_period != 0) || c->has_idle;
}

/* cpu.cfs_burst_us is Linux 5.14; asking for no burst where there is none is no error. */
static int can_write_burst(const struct cg_hier *h, const struct berth_resources *res, bool *ret,
                           struct berth_error **err)
{
        *ret = res->cpu.has_burst && has_file(h, "cpu.cfs_burst_us");
        if (res->cpu.has_burst && res->cpu.burst != 0 && !*ret)
                return berth_error_setx(err, ENOTSUP,
                                        "linux.resources.cpu.burst: this kernel has no "
                                        "cpu.cfs_burst_us (Linux 5.14)");
        return 0;
}

/* The result of a write that the kernel may accept only once the new quota is in: EINVAL then
 * means "again after the quota". */
static int refused_until_quota(int r, bool quota, bool *ret_again, struct berth_error **err)
{
        if (r != -EINVAL || !quota)
                return r;
        forget_error(err);
        *ret_again = true;
        return 0;
}

/*
 * The kernel checks a new period and a new burst against the current quota, and a new quota
 * against the current period and burst. Period and burst go first (period before quota); if the
 * kernel refuses one (EINVAL) while a quota is coming, it is written again after the quota, as
 * runc does (libcontainer/cgroups/fs/cpu.go).
 */
static int apply_bandwidth(struct berth_cgroup *cg, const struct cg_hier *h,
                           const struct berth_resources *res, struct berth_error **err)
{
        const __typeof__(res->cpu) *c = &res->cpu;
        bool quota = c->has_quota && c->quota != 0, burst;
        bool period_again = false, burst_again = false;
        int r = can_write_burst(h, res, &burst, err);

        if (r >= 0 && c->has_period && c->period != 0)
                r = refused_until_quota(write_u64(cg, h, "cpu.cfs_period_us", c->period, err),
                                        quota, &period_again, err);
        if (r >= 0 && burst)
                r = refused_until_quota(write_u64(cg, h, "cpu.cfs_burst_us", c->burst, err), quota,
                                        &burst_again, err);
        if (r < 0 || !quota)
                return r;
        r = write_i64(cg, h, "cpu.cfs_quota_us", c->quota, err);
        if (r >= 0 && period_again)
                r = write_u64(cg, h, "cpu.cfs_period_us", c->period, err);
        if (r >= 0 && burst_again)
                r = write_u64(cg, h, "cpu.cfs_burst_us", c->burst, err);
        return r;
}

/* The realtime time one ancestor needs: what its other children hold plus what the child on the
 * container's path needs (`need` per `child_period`), per the ancestor's own period (*ret). */
static int64_t ancestor_rt_need(int dir, const char *child, int64_t need, int64_t child_period,
                                int64_t *ret_period)
{
        int64_t period;

        if (berth_cg_read_i64_at(dir, "cpu.rt_period_us", &period) < 0 || period <= 0)
                return -1;
        *ret_period = period;
        return berth_cg_rt_children(dir, period, child) +
               (int64_t) (((__int128) need * period + child_period - 1) / child_period);
}

/*
 * A new v1 cpu cgroup gets no realtime time (cpu.rt_runtime_us 0), and the kernel refuses a child
 * more than its parent has left. runc's and crun's cgroups sit right below the root, which holds
 * the host's share; berth's own parent (/berth) and the parents a cgroupsPath names do not. Each
 * ancestor on the container's path (never the hierarchy's root) gets what its children then hold,
 * computed bottom up and written top down, as cpuset_inherit gives a new cpuset its parent's cpus;
 * cgroup-v1.c gives it back when the container's cgroup goes.
 */
static int raise_parent_rt(struct berth_cgroup *cg, const struct cg_hier *h, int64_t period,
                           int64_t runtime, struct berth_error **err)
{
        _autofree_ char *copy = xstrdup(cg->path);
        char *names[64], *save = NULL;
        int dirs[64], n = 0, r = 0;
        int64_t need[64], per[64];

        dirs[0] = open(h->mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        for (char *c = strtok_r(copy, "/", &save); c && n < 63 && dirs[n] >= 0;
             c = strtok_r(NULL, "/", &save)) {
                names[n] = c;
                dirs[n + 1] = openat(dirs[n], c, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                n++;
        }
        /* dirs[1..n-1] are the ancestors, dirs[n] the container's own */
        for (int k = n - 1; k >= 1 && r >= 0; k--) {
                need[k] = dirs[k] < 0 ? -1
                                      : ancestor_rt_need(dirs[k], names[k],
                                                         k == n - 1 ? runtime : need[k + 1],
                                                         k == n - 1 ? period : per[k + 1], &per[k]);
                if (need[k] < 0)
                        r = berth_error_setx(err, EIO,
                                             "cgroup %s: read the realtime time of its "
                                             "parent %s",
                                             cg->path, names[k - 1]);
        }
        for (int k = 1; k < n && r >= 0; k++) {
                int64_t have = 0;
                char buf[24];

                if (berth_cg_read_i64_at(dirs[k], "cpu.rt_runtime_us", &have) == 0 &&
                    (have == -1 || have >= need[k]))
                        continue;
                snprintf(buf, sizeof(buf), "%" PRId64, need[k]);
                if (berth_cg_write(cg, &(struct cg_hier){.mount = h->mount, .fd = dirs[k]},
                                   "cpu.rt_runtime_us", buf, err) < 0)
                        r = berth_error_prefix(err,
                                               "linux.resources.cpu.realtimeRuntime: give "
                                               "parent cgroup %s the realtime time of its "
                                               "children",
                                               names[k - 1]);
        }
        for (int k = 0; k <= n; k++)
                if (dirs[k] >= 0)
                        close(dirs[k]);
        return r;
}

static int apply_realtime(struct berth_cgroup *cg, const struct cg_hier *h,
                          const struct berth_resources *res, struct berth_error **err)
{
        const __typeof__(res->cpu) *c = &res->cpu;
        bool period = c->has_realtime_period && c->realtime_period != 0;
        bool runtime = c->has_realtime_runtime && c->realtime_runtime != 0;
        int64_t cur_period = 0;
        int r = 0;

        if (!period && !runtime)
                return 0;
        if (!has_file(h, "cpu.rt_runtime_us"))
                return berth_error_setx(err, ENOTSUP,
                                        "linux.resources.cpu.%s: this kernel has no real-time "
                                        "group scheduling (CONFIG_RT_GROUP_SCHED)",
                                        runtime ? "realtimeRuntime" : "realtimePeriod");
        if (period)
                r = write_u64(cg, h, "cpu.rt_period_us", c->realtime_period, err);
        if (r < 0 || !runtime)
                return r;
        r = write_i64(cg, h, "cpu.rt_runtime_us", c->realtime_runtime, err);
        if (r != -EINVAL || c->realtime_runtime < 0 ||
            berth_cg_read_i64_at(h->fd, "cpu.rt_period_us", &cur_period) < 0 || cur_period <= 0)
                return r;
        forget_error(err);
        r = raise_parent_rt(cg, h, cur_period, c->realtime_runtime, err);
        return r < 0 ? r : write_i64(cg, h, "cpu.rt_runtime_us", c->realtime_runtime, err);
}

/* cpu.idle is Linux 5.15. */
static int apply_idle(struct berth_cgroup *cg, const struct cg_hier *h,
                      const struct berth_resources *res, struct berth_error **err)
{
        if (!res->cpu.has_idle)
                return 0;
        if (!has_file(h, "cpu.idle")) {
                if (res->cpu.idle != 0)
                        return berth_error_setx(err, ENOTSUP,
                                                "linux.resources.cpu.idle: this kernel has no "
                                                "cpu.idle (Linux 5.15)");
                return 0;
        }
        return write_i64(cg, h, "cpu.idle", res->cpu.idle, err);
}

static int apply_cpu(struct berth_cgroup *cg, const struct berth_resources *res,
                     struct berth_error **err)
{
        struct cg_hier *h = NULL;
        int r = 0;

        if (!cpu_is_set(res))
                return 0;
        r = controller(cg, "cpu", "cpu", &h, err);
        if (r >= 0 && res->cpu.has_shares && res->cpu.shares != 0)
                r = write_u64(cg, h, "cpu.shares", res->cpu.shares, err);
        if (r >= 0)
                r = apply_bandwidth(cg, h, res, err);
        if (r >= 0)
                r = apply_realtime(cg, h, res, err);
        if (r >= 0)
                r = apply_idle(cg, h, res, err);
        return r;
}

/* An empty list means "leave as is" (the cgroup has its parent's, see cgroup-v1.c). */
static int apply_cpuset(struct berth_cgroup *cg, const struct berth_resources *res,
                        struct berth_error **err)
{
        const char *cpus = res->cpu.cpus, *mems = res->cpu.mems;
        bool has_cpus = cpus && *cpus, has_mems = mems && *mems;
        struct cg_hier *h = NULL;
        int r = 0;

        if (!has_cpus && !has_mems)
                return 0;
        r = controller(cg, "cpuset", has_cpus ? "cpu.cpus" : "cpu.mems", &h, err);
        if (r >= 0 && has_cpus)
                r = berth_cg_write(cg, h, "cpuset.cpus", cpus, err);
        if (r >= 0 && has_mems)
                r = berth_cg_write(cg, h, "cpuset.mems", mems, err);
        return r;
}

/* ---- pids ----------------------------------------------------------------------------------- */

static int apply_pids(struct berth_cgroup *cg, const struct berth_resources *res,
                      struct berth_error **err)
{
        struct cg_hier *h = NULL;
        int r;

        if (!res->pids.has_limit)
                return 0;
        r = controller(cg, "pids", "pids", &h, err);
        if (r < 0)
                return r;
        if (res->pids.limit <= 0)
                return berth_cg_write(cg, h, "pids.max", "max", err);
        return write_i64(cg, h, "pids.max", res->pids.limit, err);
}

/* ---- blkio ---------------------------------------------------------------------------------- */

static bool blkio_is_set(const struct berth_resources *res)
{
        const __typeof__(res->blkio) *b = &res->blkio;

        return (b->has_weight && b->weight != 0) || (b->has_leaf_weight && b->leaf_weight != 0) ||
               b->n_weight_device > 0 || b->n_throttle_read_bps > 0 ||
               b->n_throttle_write_bps > 0 || b->n_throttle_read_iops > 0 ||
               b->n_throttle_write_iops > 0;
}

/* "8:0 500": one device per write. */
static int write_blkio_device(struct berth_cgroup *cg, const struct cg_hier *h, const char *file,
                              const struct berth_blkio_device *d, uint64_t value,
                              struct berth_error **err)
{
        char buf[80];

        snprintf(buf, sizeof(buf), "%" PRId64 ":%" PRId64 " %" PRIu64, d->major, d->minor, value);
        return berth_cg_write(cg, h, file, buf, err);
}

/* Weights need CFQ (gone since Linux 5.0; blkio.weight) or BFQ (blkio.bfq.weight), as in runc. */
static int apply_blkio_weights(struct berth_cgroup *cg, const struct cg_hier *h,
                               const struct berth_resources *res, struct berth_error **err)
{
        const __typeof__(res->blkio) *b = &res->blkio;
        const char *file = "blkio.weight", *dev_file = "blkio.weight_device";
        bool top = b->has_weight && b->weight != 0, any = top;
        int r = 0;

        for (size_t i = 0; i < b->n_weight_device; i++)
                any |= b->weight_device[i].has_weight && b->weight_device[i].weight != 0;
        if (!any)
                return 0;
        if (!has_file(h, file)) {
                file = "blkio.bfq.weight";
                dev_file = "blkio.bfq.weight_device";
        }
        if (!has_file(h, file))
                return berth_error_setx(err, ENOTSUP,
                                        "linux.resources.blockIO.%s: no I/O scheduler of this "
                                        "host takes weights (no blkio.weight or "
                                        "blkio.bfq.weight: neither CFQ nor BFQ)",
                                        top ? "weight" : "weightDevice");
        if (top)
                r = write_u64(cg, h, file, b->weight, err);
        for (size_t i = 0; r >= 0 && i < b->n_weight_device; i++) {
                const struct berth_blkio_device *d = &b->weight_device[i];

                if (d->has_weight && d->weight != 0)
                        r = write_blkio_device(cg, h, dev_file, d, d->weight, err);
        }
        return r;
}

/* Leaf weights were CFQ's only. */
static int apply_blkio_leaf_weights(struct berth_cgroup *cg, const struct cg_hier *h,
                                    const struct berth_resources *res, struct berth_error **err)
{
        const __typeof__(res->blkio) *b = &res->blkio;
        bool top = b->has_leaf_weight && b->leaf_weight != 0, any = top;
        int r = 0;

        for (size_t i = 0; i < b->n_weight_device; i++)
                any |= b->weight_device[i].has_leaf_weight && b->weight_device[i].leaf_weight != 0;
        if (!any)
                return 0;
        if (!has_file(h, "blkio.leaf_weight"))
                return berth_error_setx(err, ENOTSUP,
                                        "linux.resources.blockIO.%s: no I/O scheduler of this "
                                        "host takes leaf weights (no blkio.leaf_weight, which "
                                        "only CFQ had: gone since Linux 5.0)",
                                        top ? "leafWeight" : "weightDevice");
        if (top)
                r = write_u64(cg, h, "blkio.leaf_weight", b->leaf_weight, err);
        for (size_t i = 0; r >= 0 && i < b->n_weight_device; i++) {
                const struct berth_blkio_device *d = &b->weight_device[i];

                if (d->has_leaf_weight && d->leaf_weight != 0)
                        r = write_blkio_device(cg, h, "blkio.leaf_weight_device", d, d->leaf_weight,
                                               err);
        }
        return r;
}

static int apply_throttle(struct berth_cgroup *cg, const struct cg_hier *h, const char *field,
                          const char *file, const struct berth_blkio_device *v, size_t n,
                          struct berth_error **err)
{
        int r = 0;

        if (n == 0)
                return 0;
        if (!has_file(h, file))
                return berth_error_setx(err, ENOTSUP,
                                        "linux.resources.blockIO.%s: this kernel has no I/O "
                                        "throttling (no %s)",
                                        field, file);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = write_blkio_device(cg, h, file, &v[i], v[i].rate, err);
        return r;
}

static int apply_blkio(struct berth_cgroup *cg, const struct berth_resources *res,
                       struct berth_error **err)
{
        const __typeof__(res->blkio) *b = &res->blkio;
        struct cg_hier *h = NULL;
        int r;

        if (!blkio_is_set(res))
                return 0;
        r = controller(cg, "blkio", "blockIO", &h, err);
        if (r >= 0)
                r = apply_blkio_weights(cg, h, res, err);
        if (r >= 0)
                r = apply_blkio_leaf_weights(cg, h, res, err);
        if (r >= 0)
                r = apply_throttle(cg, h, "throttleReadBpsDevice", "blkio.throttle.read_bps_device",
                                   b->throttle_read_bps, b->n_throttle_read_bps, err);
        if (r >= 0)
                r = apply_throttle(cg, h, "throttleWriteBpsDevice",
                                   "blkio.throttle.write_bps_device", b->throttle_write_bps,
                                   b->n_throttle_write_bps, err);
        if (r >= 0)
                r = apply_throttle(cg, h, "throttleReadIOPSDevice",
                                   "blkio.throttle.read_iops_device", b->throttle_read_iops,
                                   b->n_throttle_read_iops, err);
        if (r >= 0)
                r = apply_throttle(cg, h, "throttleWriteIOPSDevice",
                                   "blkio.throttle.write_iops_device", b->throttle_write_iops,
                                   b->n_throttle_write_iops, err);
        return r;
}

/* ---- hugetlb -------------------------------------------------------------------------------- */

/* A v1 hierarchy on most hosts; on a hybrid host such as this one, the cgroup2 mount, when the
 * container's cgroup there got the controller (its cgroup.controllers lists it). */
static struct cg_hier *hugetlb_hier(struct berth_cgroup *cg)
{
        struct cg_hier *h = berth_cg_hier(cg, "hugetlb");
        _autofree_ char *list = NULL;

        if (h)
                return h;
        h = berth_cg_hier(cg, "");
        if (!h || berth_cg_read(cg, h, "cgroup.controllers", &list, NULL) < 0 ||
            !berth_cg_has_word(list, "hugetlb"))
                return NULL;
        return h;
}

static int apply_hugepage(struct berth_cgroup *cg, const struct cg_hier *h, size_t i,
                          const struct berth_hugepage_limit *l, struct berth_error **err)
{
        const char *suffix = h->v2 ? "max" : "limit_in_bytes";
        _autofree_ char *file = xasprintf("hugetlb.%s.%s", l->page_size, suffix);
        _autofree_ char *rsvd = xasprintf("hugetlb.%s.rsvd.%s", l->page_size, suffix);
        int r;

        if (strchr(l->page_size, '/') || !has_file(h, file))
                return berth_error_setx(err, EINVAL,
                                        "linux.resources.hugepageLimits[%zu].pageSize: this host "
                                        "has no %s huge pages (no %s)",
                                        i, QUOTE(l->page_size), file);
        r = write_u64(cg, h, file, l->limit, err);
        /* reservations (Linux 5.7) are charged apart: the same limit, as runc sets */
        if (r >= 0 && has_file(h, rsvd))
                r = write_u64(cg, h, rsvd, l->limit, err);
        return r;
}

static int apply_hugetlb(struct berth_cgroup *cg, const struct berth_resources *res,
                         struct berth_error **err)
{
        struct cg_hier *h = NULL;
        int r = 0;

        if (res->n_hugepages == 0)
                return 0;
        h = hugetlb_hier(cg);
        if (!h)
                return berth_error_setx(err, ENOTSUP,
                                        "linux.resources.hugepageLimits: the hugetlb controller "
                                        "is not available on this host (no v1 hierarchy of it, "
                                        "and the cgroup2 mount does not delegate it)");
        for (size_t i = 0; r >= 0 && i < res->n_hugepages; i++)
                r = apply_hugepage(cg, h, i, &res->hugepages[i], err);
        return r;
}

/* ---- network, rdma -------------------------------------------------------------------------- */

static int apply_net_cls(struct berth_cgroup *cg, const struct berth_resources *res,
                         struct berth_error **err)
{
        struct cg_hier *h = NULL;
        int r;

        if (!res->network.has_class_id)
                return 0;
        r = controller(cg, "net_cls", "network.classID", &h, err);
        return r < 0 ? r : write_u64(cg, h, "net_cls.classid", res->network.class_id, err);
}

/* "eth0 5": one interface per write. */
static int apply_net_prio(struct berth_cgroup *cg, const struct berth_resources *res,
                          struct berth_error **err)
{
        struct cg_hier *h = NULL;
        int r = 0;

        if (res->network.n_priorities == 0)
                return 0;
        r = controller(cg, "net_prio", "network.priorities", &h, err);
        for (size_t i = 0; r >= 0 && i < res->network.n_priorities; i++) {
                const struct berth_kv *kv = &res->network.priorities[i];
                _autofree_ char *line = xasprintf("%s %s", kv->key, kv->value);

                r = berth_cg_write(cg, h, "net_prio.ifpriomap", line, err);
        }
        return r;
}

/* "mlx5_0 hca_handle=2 hca_object=2000": the kernel leaves keys that are not named as they are. */
static int apply_rdma(struct berth_cgroup *cg, const struct berth_resources *res,
                      struct berth_error **err)
{
        struct cg_hier *h = NULL;
        int r = 0;

        if (res->n_rdma == 0)
                return 0;
        r = controller(cg, "rdma", "rdma", &h, err);
        for (size_t i = 0; r >= 0 && i < res->n_rdma; i++) {
                _autofree_ char *line = berth_rdma_limit_line(&res->rdma[i]);

                if (line)
                        r = berth_cg_write(cg, h, "rdma.max", line, err);
        }
        return r;
}

/* ---- unified -------------------------------------------------------------------------------- */

/* cgroup v2 files: only where a hybrid host's cgroup2 mount has them. Like runc, a v1 host
 * refuses them rather than drop a limit the config asked for by its v2 name, with runc's
 * "invalid configuration" (runc refuses them on hybrid hosts too). */
static int apply_unified(struct berth_cgroup *cg, const struct berth_resources *res,
                         struct berth_error **err)
{
        struct cg_hier *h = berth_cg_hier(cg, "");
        int r = 0;

        for (size_t i = 0; r >= 0 && i < res->n_unified; i++) {
                const struct berth_kv *kv = &res->unified[i];

                if (!h)
                        return berth_error_setx(err, ENOTSUP,
                                                "linux.resources.unified[%s]: invalid "
                                                "configuration: this host runs cgroup v1, "
                                                "which has no such file",
                                                QUOTE(kv->key));
                if (strchr(kv->key, '/') || !has_file(h, kv->key))
                        return berth_error_setx(err, ENOTSUP,
                                                "linux.resources.unified[%s]: invalid "
                                                "configuration: no such file in the cgroup v2 "
                                                "hierarchy of this host (its other controllers "
                                                "are cgroup v1)",
                                                QUOTE(kv->key));
                r = berth_cg_write(cg, h, kv->key, kv->value, err);
        }
        return r;
}

/* ---- all ------------------------------------------------------------------------------------ */

/* In runc's order of v1 subsystems (libcontainer/cgroups/fs/fs.go). */
int berth_cgroup_v1_apply(struct berth_cgroup *cg, const struct berth_resources *res,
                          struct berth_error **err)
{
        static const apply_fn steps[] = {
            apply_cpuset,  apply_devices, apply_memory,   apply_cpu,  apply_pids,    apply_blkio,
            apply_hugetlb, apply_net_cls, apply_net_prio, apply_rdma, apply_unified,
        };
        uint64_t t0 = TRACE_T0();

        for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
                int r = steps[i](cg, res, err);

                if (r < 0)
                        return r;
        }
        TRACE(t0, "cgroup %s: v1 limits applied", cg->path);
        return 0;
}
