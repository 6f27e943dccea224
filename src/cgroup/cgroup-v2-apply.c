/* SPDX-License-Identifier: Apache-2.0 */
/*
 * linux.resources written to a cgroup v2 leaf. The values were range-checked by resources.c; this
 * file translates the v1-shaped spec into v2 files, as runc and crun do:
 *
 *   memory.limit -> memory.max, reservation -> memory.low, swap -> memory.swap.max = swap - limit
 *   cpu.shares -> cpu.weight (berth_cpu_shares_to_weight), quota/period -> cpu.max, burst ->
 *   cpu.max.burst, idle -> cpu.idle, cpus/mems -> cpuset.cpus/mems
 *   pids.limit -> pids.max
 *   blockIO.weight -> io.bfq.weight (BFQ's own 1..1000 scale) or io.weight (converted)
 *   blockIO.throttle* -> io.max "MAJ:MIN rbps=N" (and wbps, riops, wiops)
 *   hugepageLimits -> hugetlb.<size>.max (+ .rsvd.max), rdma -> rdma.max
 *   unified -> written verbatim, last, so that it wins over a converted value
 *   devices -> an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE) attached to the cgroup
 *
 * What v2 cannot do is an error naming the field and why (config-linux.md: "If the conversion is
 * not possible the runtime MUST generate an error"; runtime.md, create: a property the runtime
 * "cannot apply" MUST fail create): swappiness, disableOOMKiller, useHierarchy false, realtime
 * scheduling, leaf weights, net_cls/net_prio, a controller that the cgroup did not get from its
 * parent, a file this kernel lacks. The kernel memory limits, which the spec marks NOT
 * RECOMMENDED and Linux no longer enforces, stay a warning ending in "ignoring"; so do device
 * rules in a user namespace, which no runtime can load there (rootless containers have them).
 * memory.oom.group stays 0, as with runc: an OOM kill takes the biggest task, not the whole
 * container.
 *
 * Zero means "unset" for limits, shares, periods and weights, as in runc: nothing is written.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <sys/syscall.h>

#include "cgroup/cgroup-internal.h"
#include "base/log.h"
#include "base/syscalls.h"
#include "base/util.h"

struct ctx {
        struct berth_cgroup *cg;
        const struct cg_hier *h;
        char *controllers; /* the leaf's cgroup.controllers: what its parent enabled for it */
};

/* ---- helpers -------------------------------------------------------------------------------- */

/* 0 if the cgroup has `name`; else an error that `field` cannot be applied. */
static int controller(const struct ctx *x, const char *name, const char *field,
                      struct berth_error **err)
{
        if (x->controllers && berth_cg_has_word(x->controllers, name))
                return 0;
        return berth_error_setx(err, ENOTSUP,
                                "linux.resources.%s: cgroup %s did not get the %s controller "
                                "from its parent (cgroup.subtree_control)",
                                field, x->cg->path, name);
}

/* A v1 setting with no v2 equivalent. */
static int no_v2(const char *field, const char *why, struct berth_error **err)
{
        return berth_error_setx(err, ENOTSUP,
                                "linux.resources.%s: cannot be converted to cgroup "
                                "v2, which %s",
                                field, why);
}

static bool has_file(const struct ctx *x, const char *file)
{
        return faccessat(x->h->fd, file, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

static int write_str(const struct ctx *x, const char *file, const char *v, struct berth_error **err)
{
        return berth_cg_write(x->cg, x->h, file, v, err);
}

static int write_u64(const struct ctx *x, const char *file, uint64_t v, struct berth_error **err)
{
        char buf[24];

        snprintf(buf, sizeof(buf), "%" PRIu64, v);
        return write_str(x, file, buf, err);
}

/* -1 is "max" in every v2 limit file. */
static int write_limit(const struct ctx *x, const char *file, int64_t v, struct berth_error **err)
{
        char buf[24];

        if (v < 0)
                return write_str(x, file, "max", err);
        snprintf(buf, sizeof(buf), "%" PRId64, v);
        return write_str(x, file, buf, err);
}

/* ---- memory --------------------------------------------------------------------------------- */

/* What v2 has no file for: the deprecated kernel limits warn (-1, no limit, is what v2 does),
 * the rest cannot be applied. */
static int check_memory(const struct berth_resources *res, struct berth_error **err)
{
        const __typeof__(res->memory) *m = &res->memory;

        if (m->has_kernel && m->kernel != 0 && m->kernel != -1)
                berth_warn("linux.resources.memory.kernel: cgroup v2 has no kernel memory limit "
                           "(kernel memory counts towards memory.max), ignoring");
        if (m->has_kernel_tcp && m->kernel_tcp != 0 && m->kernel_tcp != -1)
                berth_warn("linux.resources.memory.kernelTCP: cgroup v2 has no TCP buffer limit "
                           "(it counts towards memory.max), ignoring");
        if (m->has_swappiness)
                return no_v2("memory.swappiness", "has no per-cgroup swappiness", err);
        if (m->has_disable_oom_killer && m->disable_oom_killer)
                return no_v2("memory.disableOOMKiller", "cannot disable the OOM killer", err);
        if (m->has_use_hierarchy && !m->use_hierarchy)
                return no_v2("memory.useHierarchy", "is always hierarchical", err);
        return 0;
}

/*
 * v1's swap is memory+swap; v2's memory.swap.max is swap alone (runc's
 * ConvertMemorySwapToCgroupV2Value): swap - limit; -1 stays "max"; an unlimited memory with no
 * swap given makes swap unlimited too. Returns 1 with *ret set when there is something to write.
 */
static int swap_to_v2(int64_t swap, int64_t limit, int64_t *ret, struct berth_error **err)
{
        if (limit == -1 && swap == 0) {
                *ret = -1;
                return 1;
        }
        if (swap == 0)
                return 0;
        if (swap == -1) {
                *ret = -1;
                return 1;
        }
        if (limit == 0 || limit == -1)
                return berth_error_setx(err, EINVAL,
                                        "linux.resources.memory.swap: %" PRId64 " needs a memory "
                                        "limit (cgroup v2 limits swap alone: swap - limit)",
                                        swap);
        if (swap < limit)
                return berth_error_setx(err, EINVAL,
                                        "linux.resources.memory.swap: memory+swap limit %" PRId64
                                        " should be >= memory limit %" PRId64,
                                        swap, limit);
        *ret = swap - limit;
        return 1;
}

static int apply_swap(const struct ctx *x, int64_t swap, int64_t limit, struct berth_error **err)
{
        int64_t v = 0;
        int r = swap_to_v2(swap, limit, &v, err);

        if (r <= 0)
                return r;
        if (!has_file(x, "memory.swap.max")) {
                /* no swap accounting: "max" and 0 mean what the host does anyway (runc) */
                if (v != -1 && v != 0)
                        return berth_error_setx(err, ENOTSUP,
                                                "linux.resources.memory.swap: this host has no "
                                                "swap accounting (no memory.swap.max)");
                return 0;
        }
        return write_limit(x, "memory.swap.max", v, err);
}

static int apply_memory(const struct ctx *x, const struct berth_resources *res,
                        struct berth_error **err)
{
        const __typeof__(res->memory) *m = &res->memory;
        int64_t limit = m->has_limit ? m->limit : 0, swap = m->has_swap ? m->swap : 0;
        int64_t low = m->has_reservation ? m->reservation : 0;
        int r;

        r = check_memory(res, err);
        if (r < 0 || (limit == 0 && swap == 0 && low == 0))
                return r;
        r = controller(x, "memory", "memory", err);
        if (r >= 0)
                r = apply_swap(x, swap, limit, err);
        if (r >= 0 && limit != 0)
                r = write_limit(x, "memory.max", limit, err);
        if (r >= 0 && low != 0)
                r = write_limit(x, "memory.low", low, err);
        return r;
}

/* ---- cpu ------------------------------------------------------------------------------------ */

static int check_cpu(const struct berth_resources *res, struct berth_error **err)
{
        if ((res->cpu.has_realtime_runtime && res->cpu.realtime_runtime != 0) ||
            (res->cpu.has_realtime_period && res->cpu.realtime_period != 0))
                return no_v2(res->cpu.has_realtime_runtime ? "cpu.realtimeRuntime"
                                                           : "cpu.realtimePeriod",
                             "has no realtime group scheduling (cpu.rt_runtime_us)", err);
        return 0;
}

static bool cpu_is_set(const struct berth_resources *res)
{
        const __typeof__(res->cpu) *c = &res->cpu;

        return (c->has_shares && c->shares != 0) || (c->has_quota && c->quota != 0) ||
               (c->has_period && c->period != 0) || c->has_burst || c->has_idle;
}

/* "quota period", "max period", or without the period (the kernel keeps its own): as runc. */
static int apply_cpu_max(const struct ctx *x, const struct berth_resources *res,
                         struct berth_error **err)
{
        int64_t quota = res->cpu.has_quota ? res->cpu.quota : 0;
        uint64_t period = res->cpu.has_period ? res->cpu.period : 0;
        char buf[48], q[24] = "max";

        if (quota == 0 && period == 0)
                return 0;
        if (quota > 0)
                snprintf(q, sizeof(q), "%" PRId64, quota);
        if (period != 0)
                snprintf(buf, sizeof(buf), "%s %" PRIu64, q, period);
        else
                snprintf(buf, sizeof(buf), "%s", q);
        return write_str(x, "cpu.max", buf, err);
}

/* A knob newer than some kernels berth runs on: an error where the file is missing, unless the
 * value asks for nothing (0). */
static int write_optional(const struct ctx *x, const char *field, const char *file,
                          const char *since, uint64_t v, struct berth_error **err)
{
        if (!has_file(x, file)) {
                if (v == 0)
                        return 0;
                return berth_error_setx(err, ENOTSUP,
                                        "linux.resources.cpu.%s: this kernel has no %s (Linux %s)",
                                        field, file, since);
        }
        return write_u64(x, file, v, err);
}

static int apply_cpu(const struct ctx *x, const struct berth_resources *res,
                     struct berth_error **err)
{
        const __typeof__(res->cpu) *c = &res->cpu;
        int r = 0;

        r = check_cpu(res, err);
        if (r < 0 || !cpu_is_set(res))
                return r;
        r = controller(x, "cpu", "cpu", err);
        if (r >= 0 && c->has_shares && c->shares != 0)
                r = write_u64(x, "cpu.weight", berth_cpu_shares_to_weight(c->shares), err);
        if (r >= 0)
                r = apply_cpu_max(x, res, err);
        /* after cpu.max: the kernel refuses a burst above the quota */
        if (r >= 0 && c->has_burst)
                r = write_optional(x, "burst", "cpu.max.burst", "5.14", c->burst, err);
        if (r >= 0 && c->has_idle)
                r = write_optional(x, "idle", "cpu.idle", "5.15", (uint64_t) c->idle, err);
        return r;
}

static int apply_cpuset(const struct ctx *x, const struct berth_resources *res,
                        struct berth_error **err)
{
        const char *cpus = res->cpu.cpus, *mems = res->cpu.mems;
        bool has_cpus = cpus && *cpus, has_mems = mems && *mems;
        int r = 0;

        if (!has_cpus && !has_mems)
                return 0;
        r = controller(x, "cpuset", has_cpus ? "cpu.cpus" : "cpu.mems", err);
        if (r >= 0 && has_cpus)
                r = write_str(x, "cpuset.cpus", cpus, err);
        if (r >= 0 && has_mems)
                r = write_str(x, "cpuset.mems", mems, err);
        return r;
}

/* ---- pids ----------------------------------------------------------------------------------- */

static int apply_pids(const struct ctx *x, const struct berth_resources *res,
                      struct berth_error **err)
{
        int r;

        if (!res->pids.has_limit)
                return 0;
        r = controller(x, "pids", "pids", err);
        return r < 0 ? r
                     : write_limit(x, "pids.max", res->pids.limit <= 0 ? -1 : res->pids.limit, err);
}

/* ---- io ------------------------------------------------------------------------------------- */

static bool io_is_set(const struct berth_resources *res)
{
        const __typeof__(res->blkio) *b = &res->blkio;

        return (b->has_weight && b->weight != 0) || b->n_weight_device > 0 ||
               b->n_throttle_read_bps > 0 || b->n_throttle_write_bps > 0 ||
               b->n_throttle_read_iops > 0 || b->n_throttle_write_iops > 0;
}

static int check_io(const struct berth_resources *res, struct berth_error **err)
{
        const __typeof__(res->blkio) *b = &res->blkio;
        bool leaf = b->has_leaf_weight && b->leaf_weight != 0;

        for (size_t i = 0; i < b->n_weight_device; i++)
                leaf |= b->weight_device[i].has_leaf_weight && b->weight_device[i].leaf_weight != 0;
        return leaf ? no_v2("blockIO.leafWeight", "has no leaf weights", err) : 0;
}

/*
 * BFQ's io.bfq.weight takes the v1 scale (1..1000) as is; io.weight (the io.cost controller)
 * takes 1..10000, converted. Where neither exists no scheduler takes weights: an error.
 * `dev` is NULL for the default weight.
 */
static int write_weight(const struct ctx *x, const struct berth_blkio_device *dev, uint16_t w,
                        struct berth_error **err)
{
        bool bfq = has_file(x, "io.bfq.weight");
        uint64_t v = bfq ? w : berth_blkio_weight_to_io_weight(w);
        char buf[64];
        int r;

        if (!bfq && !has_file(x, "io.weight"))
                return berth_error_setx(err, ENOTSUP,
                                        "linux.resources.blockIO.%s: no I/O scheduler of this "
                                        "host takes weights (no io.bfq.weight or io.weight)",
                                        dev ? "weightDevice" : "weight");
        if (!dev) {
                snprintf(buf, sizeof(buf), "%s%" PRIu64, bfq ? "" : "default ", v);
                return write_str(x, bfq ? "io.bfq.weight" : "io.weight", buf, err);
        }
        snprintf(buf, sizeof(buf), "%" PRId64 ":%" PRId64 " %" PRIu64, dev->major, dev->minor, v);
        r = write_str(x, bfq ? "io.bfq.weight" : "io.weight", buf, err);
        /* a device's own weight needs its scheduler: BFQ on it, or io.cost enabled for it by the
         * host (the root's io.cost.qos); the kernel says EOPNOTSUPP (ENODEV on older kernels) */
        if (r == -EOPNOTSUPP || r == -ENODEV) {
                if (err)
                        berth_error_freep(err);
                return berth_error_setx(err, ENOTSUP,
                                        "linux.resources.blockIO.weightDevice: device %" PRId64
                                        ":%" PRId64 " takes no weights (%s)",
                                        dev->major, dev->minor,
                                        bfq ? "its scheduler is not BFQ"
                                            : "io.cost is not enabled for it");
        }
        return r;
}

/* "8:0 rbps=1048576"; the kernel keeps the keys a write does not name. 0 lifts the limit, as it
 * did in v1 (io.max itself refuses 0). */
static int write_io_max(const struct ctx *x, const char *key, const struct berth_blkio_device *v,
                        size_t n, struct berth_error **err)
{
        int r = 0;

        for (size_t i = 0; r >= 0 && i < n; i++) {
                char buf[96], rate[24] = "max";

                if (v[i].rate != 0)
                        snprintf(rate, sizeof(rate), "%" PRIu64, v[i].rate);
                snprintf(buf, sizeof(buf), "%" PRId64 ":%" PRId64 " %s=%s", v[i].major, v[i].minor,
                         key, rate);
                r = write_str(x, "io.max", buf, err);
        }
        return r;
}

static int apply_io(const struct ctx *x, const struct berth_resources *res,
                    struct berth_error **err)
{
        const __typeof__(res->blkio) *b = &res->blkio;
        int r = 0;

        r = check_io(res, err);
        if (r < 0 || !io_is_set(res))
                return r;
        r = controller(x, "io", "blockIO", err);
        if (r >= 0 && b->has_weight && b->weight != 0)
                r = write_weight(x, NULL, b->weight, err);
        for (size_t i = 0; r >= 0 && i < b->n_weight_device; i++)
                if (b->weight_device[i].has_weight && b->weight_device[i].weight != 0)
                        r = write_weight(x, &b->weight_device[i], b->weight_device[i].weight, err);
        if (r >= 0)
                r = write_io_max(x, "rbps", b->throttle_read_bps, b->n_throttle_read_bps, err);
        if (r >= 0)
                r = write_io_max(x, "wbps", b->throttle_write_bps, b->n_throttle_write_bps, err);
        if (r >= 0)
                r = write_io_max(x, "riops", b->throttle_read_iops, b->n_throttle_read_iops, err);
        if (r >= 0)
                r = write_io_max(x, "wiops", b->throttle_write_iops, b->n_throttle_write_iops, err);
        return r;
}

/* ---- hugetlb, rdma, network ----------------------------------------------------------------- */

static int apply_hugetlb(const struct ctx *x, const struct berth_resources *res,
                         struct berth_error **err)
{
        int r = 0;

        if (res->n_hugepages == 0)
                return 0;
        r = controller(x, "hugetlb", "hugepageLimits", err);
        for (size_t i = 0; r >= 0 && i < res->n_hugepages; i++) {
                const struct berth_hugepage_limit *l = &res->hugepages[i];
                _autofree_ char *file = xasprintf("hugetlb.%s.max", l->page_size);
                _autofree_ char *rsvd = xasprintf("hugetlb.%s.rsvd.max", l->page_size);

                if (strchr(l->page_size, '/') || !has_file(x, file))
                        return berth_error_setx(
                            err, EINVAL,
                            "linux.resources.hugepageLimits[%zu].pageSize: this "
                            "host has no %s huge pages (no %s)",
                            i, QUOTE(l->page_size), file);
                r = write_u64(x, file, l->limit, err);
                /* reservations (Linux 5.7) are charged apart: the same limit, as runc sets */
                if (r >= 0 && has_file(x, rsvd))
                        r = write_u64(x, rsvd, l->limit, err);
        }
        return r;
}

/* "mlx5_0 hca_handle=2 hca_object=2000": the kernel keeps the keys a write does not name. */
static int apply_rdma(const struct ctx *x, const struct berth_resources *res,
                      struct berth_error **err)
{
        int r = 0;

        if (res->n_rdma == 0)
                return 0;
        r = controller(x, "rdma", "rdma", err);
        for (size_t i = 0; r >= 0 && i < res->n_rdma; i++) {
                _autofree_ char *line = berth_rdma_limit_line(&res->rdma[i]);

                if (line)
                        r = write_str(x, "rdma.max", line, err);
        }
        return r;
}

static int check_network(const struct berth_resources *res, struct berth_error **err)
{
        if (res->network.has_class_id || res->network.n_priorities > 0)
                return no_v2("network", "has no net_cls or net_prio controller", err);
        return 0;
}

/* ---- unified -------------------------------------------------------------------------------- */

/* Verbatim, after the converted values: a key here wins over the spec field it overlaps. A file
 * that does not exist is an error: the config asked for that exact knob. */
static int apply_unified(const struct ctx *x, const struct berth_resources *res,
                         struct berth_error **err)
{
        int r = 0;

        for (size_t i = 0; r >= 0 && i < res->n_unified; i++) {
                const struct berth_kv *kv = &res->unified[i];
                char ctl[32];

                if (!*kv->key || strchr(kv->key, '/') || strstr(kv->key, ".."))
                        return berth_error_setx(
                            err, EINVAL,
                            "linux.resources.unified[%s]: not a cgroup file name "
                            "(no \"/\" or \"..\")",
                            QUOTE(kv->key));
                snprintf(ctl, sizeof(ctl), "%.*s", (int) strcspn(kv->key, "."), kv->key);
                if (!has_file(x, kv->key) && !streq(ctl, "cgroup") &&
                    !berth_cg_has_word(x->controllers, ctl))
                        return berth_error_setx(
                            err, ENOENT,
                            "linux.resources.unified[%s]: cgroup %s did not get "
                            "the %s controller from its parent",
                            QUOTE(kv->key), x->cg->path, QUOTE(ctl));
                if (!has_file(x, kv->key))
                        return berth_error_setx(
                            err, ENOENT,
                            "linux.resources.unified[%s]: cgroup %s has no such "
                            "file",
                            QUOTE(kv->key), x->cg->path);
                r = write_str(x, kv->key, kv->value, err);
        }
        return r;
}

/* ---- devices: an eBPF program --------------------------------------------------------------- */

/*
 * The program gets struct bpf_cgroup_dev_ctx { access_type = access << 16 | type, major, minor }
 * and returns 1 to allow. The spec's rules are "the last matching rule wins", per access bit as
 * in v1: a request for "rw" needs both bits allowed. The program walks the rules backwards (as
 * runc's devicefilter emits them in reverse) with the requested bits still undecided in w6:
 *
 *   allow rule matching the device: w6 &= ~rule_access; all decided -> return 1
 *   deny rule matching the device:  if (w6 & rule_access) -> return 0
 *   after the first rule (the oldest): return 0, the default deny
 *
 * The rule list is the config's rules, then berth_default_device_rules.
 */
struct prog {
        struct bpf_insn *insn;
        size_t n, cap;
};

#define NEXT_RULE 0x7fff /* placeholder jump offset, patched to the end of the rule's block */

static void emit(struct prog *p, uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
        if (p->n == p->cap) {
                p->cap = p->cap ? p->cap * 2 : 64;
                p->insn = xreallocarray(p->insn, p->cap, sizeof(*p->insn));
        }
        p->insn[p->n++] =
            (struct bpf_insn){.code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm};
}

#define LDX_W(p, dst, off) emit(p, BPF_LDX | BPF_MEM | BPF_W, dst, BPF_REG_1, off, 0)
#define ALU32_IMM(p, op, dst, imm) emit(p, BPF_ALU | (op) | BPF_K, dst, 0, 0, imm)
#define MOV32_REG(p, dst, src) emit(p, BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0)
#define JMP32_IMM(p, op, dst, imm) emit(p, BPF_JMP32 | (op) | BPF_K, dst, 0, NEXT_RULE, imm)
#define RETURN(p, v) (ALU32_IMM(p, BPF_MOV, BPF_REG_0, v), emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0))

static int32_t access_bits(const char *access)
{
        int32_t bits = 0;

        for (const char *a = access; *a; a++)
                bits |= *a == 'r'   ? BPF_DEVCG_ACC_READ
                        : *a == 'w' ? BPF_DEVCG_ACC_WRITE
                        : *a == 'm' ? BPF_DEVCG_ACC_MKNOD
                                    : 0;
        return bits;
}

static void emit_rule(struct prog *p, const struct berth_device_rule *d)
{
        size_t start = p->n;
        int32_t acc = access_bits(d->access);

        /* type 'a' is every device, whatever major and minor say (v1's "a") */
        if (d->type != 'a') {
                JMP32_IMM(p, BPF_JNE, BPF_REG_2,
                          d->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK);
                if (d->major >= 0)
                        JMP32_IMM(p, BPF_JNE, BPF_REG_4, (int32_t) (uint32_t) d->major);
                if (d->minor >= 0)
                        JMP32_IMM(p, BPF_JNE, BPF_REG_5, (int32_t) (uint32_t) d->minor);
        }
        if (d->allow) {
                ALU32_IMM(p, BPF_AND, BPF_REG_6, ~acc);
                JMP32_IMM(p, BPF_JNE, BPF_REG_6, 0);
                RETURN(p, 1);
        } else {
                MOV32_REG(p, BPF_REG_7, BPF_REG_6);
                ALU32_IMM(p, BPF_AND, BPF_REG_7, acc);
                JMP32_IMM(p, BPF_JEQ, BPF_REG_7, 0);
                RETURN(p, 0);
        }
        for (size_t i = start; i < p->n; i++)
                if (p->insn[i].off == NEXT_RULE)
                        p->insn[i].off = (int16_t) (p->n - i - 1);
}

static void build_program(const struct berth_resources *res, struct prog *p)
{
        /* w2 = type, w3 = requested access, w4 = major, w5 = minor, w6 = still undecided */
        LDX_W(p, BPF_REG_2, 0);
        ALU32_IMM(p, BPF_AND, BPF_REG_2, 0xffff);
        LDX_W(p, BPF_REG_3, 0);
        ALU32_IMM(p, BPF_RSH, BPF_REG_3, 16);
        LDX_W(p, BPF_REG_4, 4);
        LDX_W(p, BPF_REG_5, 8);
        MOV32_REG(p, BPF_REG_6, BPF_REG_3);
        for (size_t i = berth_n_default_device_rules; i-- > 0;)
                emit_rule(p, &berth_default_device_rules[i]);
        for (size_t i = res->n_devices; i-- > 0;)
                emit_rule(p, &res->devices[i]);
        RETURN(p, 0);
}

/* On a refused load the verifier's log says why: its last line goes into the error. */
static int load_program(const struct prog *p, char *log, size_t log_size)
{
        union bpf_attr a;

        memset(&a, 0, sizeof(a));
        a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
        a.insns = (uint64_t) (uintptr_t) p->insn;
        a.insn_cnt = (uint32_t) p->n;
        a.license = (uint64_t) (uintptr_t) "Apache";
        if (log) {
                a.log_buf = (uint64_t) (uintptr_t) log;
                a.log_size = (uint32_t) log_size;
                a.log_level = 1;
        }
        return sys_bpf(BPF_PROG_LOAD, &a, sizeof(a));
}

static const char *last_line(char *log)
{
        char *end = log + strlen(log);

        while (end > log && (end[-1] == '\n' || end[-1] == ' '))
                *--end = '\0';
        while (end > log && end[-1] != '\n')
                end--;
        return end;
}

static uint32_t prog_id(int fd)
{
        struct bpf_prog_info info;
        union bpf_attr a;

        memset(&info, 0, sizeof(info));
        memset(&a, 0, sizeof(a));
        a.info.bpf_fd = (uint32_t) fd;
        a.info.info_len = sizeof(info);
        a.info.info = (uint64_t) (uintptr_t) &info;
        return sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a, sizeof(a)) == 0 ? info.id : 0;
}

/*
 * An update attaches a new program: then the old ones (attached to this very cgroup, by an
 * earlier apply) go, or every one of them would have to allow a request. Best effort: a program
 * left behind only refuses more.
 */
static void detach_others(int cgfd, int keep_fd)
{
        uint32_t ids[64], keep = prog_id(keep_fd);
        union bpf_attr a;

        memset(&a, 0, sizeof(a));
        a.query.target_fd = (uint32_t) cgfd;
        a.query.attach_type = BPF_CGROUP_DEVICE;
        a.query.prog_ids = (uint64_t) (uintptr_t) ids;
        a.query.prog_cnt = ARRAY_SIZE(ids);
        if (keep == 0 || sys_bpf(BPF_PROG_QUERY, &a, sizeof(a)) < 0)
                return;
        for (uint32_t i = 0; i < a.query.prog_cnt && i < ARRAY_SIZE(ids); i++) {
                union bpf_attr g, d;
                _autoclose_ int fd = -EBADF;

                if (ids[i] == keep)
                        continue;
                memset(&g, 0, sizeof(g));
                g.prog_id = ids[i];
                fd = sys_bpf(BPF_PROG_GET_FD_BY_ID, &g, sizeof(g));
                if (fd < 0)
                        continue;
                memset(&d, 0, sizeof(d));
                d.target_fd = (uint32_t) cgfd;
                d.attach_bpf_fd = (uint32_t) fd;
                d.attach_type = BPF_CGROUP_DEVICE;
                sys_bpf(BPF_PROG_DETACH, &d, sizeof(d));
        }
}

/* Not the initial user namespace: a rootless runtime, where bpf() is refused (runc ignores it). */
static bool in_user_ns(void)
{
        _autofree_ char *map = NULL;
        unsigned a = 0, b = 0, n = 0;

        if (berth_read_file_at(AT_FDCWD, "/proc/self/uid_map", 4096, &map, NULL, NULL) < 0)
                return false;
        return sscanf(map, "%u %u %u", &a, &b, &n) != 3 || a != 0 || b != 0 || n != 4294967295U;
}

/* How many programs are attached to the cgroup itself for BPF_CGROUP_DEVICE; -1 if unknown. */
static int count_filters(int cgfd)
{
        union bpf_attr a;

        memset(&a, 0, sizeof(a));
        a.query.target_fd = (uint32_t) cgfd;
        a.query.attach_type = BPF_CGROUP_DEVICE;
        if (sys_bpf(BPF_PROG_QUERY, &a, sizeof(a)) < 0)
                return -1;
        return (int) a.query.prog_cnt;
}

static int apply_devices(const struct ctx *x, const struct berth_resources *res,
                         struct berth_error **err)
{
        struct prog p = {0};
        _autoclose_ int fd = -EBADF;
        union bpf_attr a;
        uint64_t t0 = TRACE_T0();

        /* An update (skip_devices, as runc) keeps the filter create attached: rebuilding it
         * from the defaults alone would drop the config's own rules. */
        if ((res->skip_devices || res->n_devices == 0) && count_filters(x->h->fd) > 0)
                return 0;
        build_program(res, &p);
        fd = load_program(&p, NULL, 0);
        if (fd < 0 && (errno == EINVAL || errno == EACCES)) {
                _autofree_ char *log = xcalloc(1, 65536);
                int e;

                fd = load_program(&p, log, 65536);
                e = errno;
                if (fd < 0) {
                        free(p.insn);
                        return berth_error_setx(err, e,
                                                "cgroup %s: load the device filter (%zu "
                                                "instructions): %s: %s",
                                                x->cg->path, p.n, strerror(e), last_line(log));
                }
        }
        free(p.insn);
        if (fd < 0 && errno == EPERM && in_user_ns()) {
                berth_warn("linux.resources.devices: a user namespace may not load eBPF device "
                           "filters, ignoring");
                return 0;
        }
        if (fd < 0)
                return berth_error_set(err, errno,
                                       "cgroup %s: load the device filter (bpf "
                                       "BPF_PROG_TYPE_CGROUP_DEVICE)",
                                       x->cg->path);
        memset(&a, 0, sizeof(a));
        a.target_fd = (uint32_t) x->h->fd;
        a.attach_bpf_fd = (uint32_t) fd;
        a.attach_type = BPF_CGROUP_DEVICE;
        a.attach_flags = BPF_F_ALLOW_MULTI;
        if (sys_bpf(BPF_PROG_ATTACH, &a, sizeof(a)) < 0)
                return berth_error_set(err, errno, "cgroup %s: attach the device filter",
                                       x->cg->path);
        detach_others(x->h->fd, fd);
        TRACE(t0, "cgroup %s: device filter of %zu rules attached", x->cg->path,
              res->n_devices + berth_n_default_device_rules);
        return 0;
}

/* ---- all ------------------------------------------------------------------------------------ */

typedef int (*apply_fn)(const struct ctx *x, const struct berth_resources *res,
                        struct berth_error **err);

int berth_cgroup_v2_apply(struct berth_cgroup *cg, const struct berth_resources *r,
                          struct berth_error **err)
{
        static const apply_fn steps[] = {
            apply_devices, apply_cpuset,  apply_cpu,  apply_memory,  apply_pids,
            apply_io,      apply_hugetlb, apply_rdma, apply_unified,
        };
        _autofree_ char *controllers = NULL;
        struct ctx x = {.cg = cg, .h = &cg->h[0]};
        int rc;

        if (cg->n_h != 1 || cg->h[0].fd < 0)
                return berth_error_setx(err, EINVAL, "cgroup %s: not open", cg->path);
        rc = berth_cg_read(cg, x.h, "cgroup.controllers", &controllers, err);
        if (rc < 0)
                return rc;
        x.controllers = controllers;
        rc = check_network(r, err);
        for (size_t i = 0; rc >= 0 && i < ARRAY_SIZE(steps); i++)
                rc = steps[i](&x, r, err);
        return rc < 0 ? rc : 0;
}
