/* SPDX-License-Identifier: Apache-2.0 */
/*
 * linux.resources (runtime-spec config-linux.md) parsed into struct berth_resources, with the
 * config parser's typed getters (spec-internal.h), so errors name the field the same way:
 *
 *   config.json: linux.resources.memory.limit: -5 is out of range (-1..9223372036854775807)
 *
 * Values are checked here, once, against what the kernel accepts; the cgroup drivers only
 * translate. Zero means "leave unset" wherever runc treats it so (limits, shares, weights).
 */
#include <inttypes.h>

#include "spec/resources.h"
#include "spec/spec-internal.h"
#include "base/util.h"

/* ---- defaults and conversions -------------------------------------------------------------- */

#define RULE(t, ma, mi, acc)                                                                       \
        {                                                                                          \
                .allow = true, .type = (t), .major = (ma), .minor = (mi), .access = acc            \
        }

/* runc's AllowedDevices (libcontainer/specconv), in runc's order. */
const struct berth_device_rule berth_default_device_rules[] = {
    RULE('c', -1, -1, "m"),    /* mknod any character device */
    RULE('b', -1, -1, "m"),    /* mknod any block device */
    RULE('c', 1, 3, "rwm"),    /* /dev/null */
    RULE('c', 1, 8, "rwm"),    /* /dev/random */
    RULE('c', 1, 7, "rwm"),    /* /dev/full */
    RULE('c', 5, 0, "rwm"),    /* /dev/tty */
    RULE('c', 1, 5, "rwm"),    /* /dev/zero */
    RULE('c', 1, 9, "rwm"),    /* /dev/urandom */
    RULE('c', 5, 1, "rwm"),    /* /dev/console */
    RULE('c', 136, -1, "rwm"), /* /dev/pts/N */
    RULE('c', 5, 2, "rwm"),    /* /dev/ptmx */
    RULE('c', 10, 200, "rwm"), /* /dev/net/tun */
};
const size_t berth_n_default_device_rules = ARRAY_SIZE(berth_default_device_rules);

#define SHARES_MIN 2ULL      /* kernel: MIN_SHARES */
#define SHARES_MAX 262144ULL /* kernel: MAX_SHARES */
#define BLKIO_WEIGHT_MIN 10ULL
#define BLKIO_WEIGHT_MAX 1000ULL

/* crun's documented linear mappings (crun.1, "CGROUP v2"); 0 stays 0 (unset), values outside the
 * v1 range are clamped to it first. */
uint64_t berth_cpu_shares_to_weight(uint64_t shares)
{
        if (shares == 0)
                return 0;
        shares = shares < SHARES_MIN ? SHARES_MIN : shares > SHARES_MAX ? SHARES_MAX : shares;
        return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t berth_blkio_weight_to_io_weight(uint64_t weight)
{
        if (weight == 0)
                return 0;
        weight = weight < BLKIO_WEIGHT_MIN   ? BLKIO_WEIGHT_MIN
                 : weight > BLKIO_WEIGHT_MAX ? BLKIO_WEIGHT_MAX
                                             : weight;
        return 1 + (weight - 10) * 9999 / 990;
}

/* ---- small getters --------------------------------------------------------------------------- */

static int get_i64(const json_t *o, const char *key, const struct spec_path *up, int64_t min,
                   int64_t max, bool *has, int64_t *ret, struct berth_error **err)
{
        int r = spec_get_i64(o, key, up, OPT, min, max, ret, err);

        if (r > 0)
                *has = true;
        return r;
}

static int get_u64(const json_t *o, const char *key, const struct spec_path *up, uint64_t max,
                   bool *has, uint64_t *ret, struct berth_error **err)
{
        int r = spec_get_u64(o, key, up, OPT, max, ret, err);

        if (r > 0)
                *has = true;
        return r;
}

/* A u64 that is 0 (unset) or within lo..hi. */
static int get_u64_or_0(const json_t *o, const char *key, const struct spec_path *up, uint64_t lo,
                        uint64_t hi, bool *has, uint64_t *ret, struct berth_error **err)
{
        uint64_t v = 0;
        int r = spec_get_u64(o, key, up, OPT, UINT64_MAX, &v, err);

        if (r <= 0)
                return r;
        if (v != 0 && (v < lo || v > hi))
                return spec_error(err, FIELD(up, key),
                                  "%" PRIu64 " is out of range (%" PRIu64 "..%" PRIu64
                                  ", or 0 for unset)",
                                  v, lo, hi);
        *has = true;
        *ret = v;
        return 1;
}

static int get_weight(const json_t *o, const char *key, const struct spec_path *up, bool *has,
                      uint16_t *ret, struct berth_error **err)
{
        uint64_t v = 0;
        int r = get_u64_or_0(o, key, up, BLKIO_WEIGHT_MIN, BLKIO_WEIGHT_MAX, has, &v, err);

        if (r > 0)
                *ret = (uint16_t) v;
        return r;
}

static void clear_nothing(void *elem)
{
}

/* ---- devices ------------------------------------------------------------------------------- */

/* access: any non-empty combination of r, w and m, stored in canonical order ("rwm"). In a deny
 * rule other letters are ignored with a warning, as runc ignores them there (its own update.bats
 * denies "rwa"); in an allow rule they are an error (the kernel refuses them). */
static int parse_access(const char *s, bool allow, const struct spec_path *p, char ret[4],
                        struct berth_error **err)
{
        bool r = false, w = false, m = false, other = false;
        size_t n = 0;

        if (!*s)
                return spec_error(err, p, "must not be empty (a subset of \"rwm\")");
        for (const char *c = s; *c; c++) {
                other |= *c != 'r' && *c != 'w' && *c != 'm';
                r |= *c == 'r';
                w |= *c == 'w';
                m |= *c == 'm';
        }
        if (other && (allow || (!r && !w && !m)))
                return spec_error(err, p, "%s is not a subset of \"rwm\"", QUOTE(s));
        if (other)
                spec_warn(p, "%s: letters other than r, w and m ignored in a deny rule", QUOTE(s));
        if (r)
                ret[n++] = 'r';
        if (w)
                ret[n++] = 'w';
        if (m)
                ret[n++] = 'm';
        ret[n] = '\0';
        return 0;
}

static int parse_device_rule(json_t *v, const struct spec_path *p, void *elem,
                             struct berth_error **err)
{
        struct berth_device_rule *d = elem;
        _autofree_ char *type = NULL, *access = NULL;
        int r;

        d->major = d->minor = -1;
        if (spec_to_object(v, p, err) < 0)
                return -EINVAL;
        r = spec_get_bool(v, "allow", p, &d->allow, err);
        if (r <= 0)
                return r < 0 ? r : spec_missing(FIELD(p, "allow"), err);
        if (spec_get_string(v, "type", p, OPT, &type, err) < 0 ||
            spec_get_i64(v, "major", p, OPT, -1, UINT32_MAX, &d->major, err) < 0 ||
            spec_get_i64(v, "minor", p, OPT, -1, UINT32_MAX, &d->minor, err) < 0 ||
            spec_get_string(v, "access", p, OPT, &access, err) < 0)
                return -EINVAL;
        if (!type || !type[0])
                d->type = 'a';
        else if (streq(type, "a") || streq(type, "b") || streq(type, "c"))
                d->type = type[0];
        else
                return spec_error(err, FIELD(p, "type"), "unknown device type %s", QUOTE(type));
        return parse_access(access ? access : "rwm", d->allow, FIELD(p, "access"), d->access, err);
}

/* ---- memory -------------------------------------------------------------------------------- */

/* runc accepts (and skips) swappiness -1 cast to uint64, which Docker used to send for "unset". */
static int parse_swappiness(const json_t *o, const struct spec_path *p, struct berth_resources *res,
                            struct berth_error **err)
{
        uint64_t v = 0;
        int r = spec_get_u64(o, "swappiness", p, OPT, UINT64_MAX, &v, err);

        if (r <= 0 || v == UINT64_MAX)
                return r;
        if (v > 100)
                return spec_error(err, FIELD(p, "swappiness"),
                                  "%" PRIu64 " is out of range (0..100)", v);
        res->memory.has_swappiness = true;
        res->memory.swappiness = v;
        return 1;
}

/* The kernel keeps memsw.limit_in_bytes >= limit_in_bytes (runc checks the same). An unlimited
 * limit (-1) is left to the kernel: any swap value of 2^63 - 4096 or more means unlimited too. */
static int check_swap(const struct berth_resources *res, const struct spec_path *p,
                      struct berth_error **err)
{
        int64_t limit = res->memory.limit, swap = res->memory.swap;

        if (res->memory.has_limit && res->memory.has_swap && limit > 0 && swap > 0 && swap < limit)
                return spec_error(err, FIELD(p, "swap"),
                                  "memory+swap limit %" PRId64
                                  " should be >= memory limit %" PRId64,
                                  swap, limit);
        return 0;
}

static int parse_memory(const json_t *root, const struct spec_path *up, struct berth_resources *res,
                        struct berth_error **err)
{
        const struct spec_path *p = FIELD(up, "memory");
        __typeof__(res->memory) *m = &res->memory;
        json_t *o = NULL;
        int r;

        r = spec_get_object(root, "memory", up, OPT, &o, err);
        if (r <= 0)
                return r;
        if (get_i64(o, "limit", p, -1, INT64_MAX, &m->has_limit, &m->limit, err) < 0 ||
            get_i64(o, "reservation", p, -1, INT64_MAX, &m->has_reservation, &m->reservation, err) <
                0 ||
            get_i64(o, "swap", p, -1, INT64_MAX, &m->has_swap, &m->swap, err) < 0 ||
            get_i64(o, "kernel", p, -1, INT64_MAX, &m->has_kernel, &m->kernel, err) < 0 ||
            get_i64(o, "kernelTCP", p, -1, INT64_MAX, &m->has_kernel_tcp, &m->kernel_tcp, err) <
                0 ||
            parse_swappiness(o, p, res, err) < 0)
                return -EINVAL;
        r = spec_get_bool(o, "disableOOMKiller", p, &m->disable_oom_killer, err);
        if (r < 0)
                return r;
        m->has_disable_oom_killer = r > 0;
        r = spec_get_bool(o, "useHierarchy", p, &m->use_hierarchy, err);
        if (r < 0)
                return r;
        m->has_use_hierarchy = r > 0;
        r = spec_get_bool(o, "checkBeforeUpdate", p, &m->check_before_update, err);
        if (r < 0)
                return r;
        m->has_check_before_update = r > 0;
        return check_swap(res, p, err);
}

/* ---- cpu ----------------------------------------------------------------------------------- */

/* The kernel's CFS bandwidth bounds (kernel/sched/core.c: 1 ms .. 1 s periods, quota >= 1 ms). */
#define CFS_PERIOD_MIN 1000
#define CFS_PERIOD_MAX 1000000

static int check_quota(const struct berth_resources *res, const struct spec_path *p,
                       struct berth_error **err)
{
        int64_t q = res->cpu.quota;

        if (res->cpu.has_quota && q > 0 && q < CFS_PERIOD_MIN)
                return spec_error(err, FIELD(p, "quota"),
                                  "%" PRId64 " is out of range (-1 for unlimited, 0 for unset, or "
                                  ">= 1000 microseconds)",
                                  q);
        /* config-linux.md: burst "MUST be no larger than any positive quota" */
        if (res->cpu.has_quota && q > 0 && res->cpu.has_burst && res->cpu.burst > (uint64_t) q)
                return spec_error(err, FIELD(p, "burst"),
                                  "%" PRIu64 " is above the quota of %" PRId64 " microseconds",
                                  res->cpu.burst, q);
        return 0;
}

static int parse_cpu(const json_t *root, const struct spec_path *up, struct berth_resources *res,
                     struct berth_error **err)
{
        const struct spec_path *p = FIELD(up, "cpu");
        __typeof__(res->cpu) *c = &res->cpu;
        json_t *o = NULL;
        int r;

        r = spec_get_object(root, "cpu", up, OPT, &o, err);
        if (r <= 0)
                return r;
        if (get_u64_or_0(o, "shares", p, SHARES_MIN, SHARES_MAX, &c->has_shares, &c->shares, err) <
                0 ||
            get_i64(o, "quota", p, -1, INT64_MAX, &c->has_quota, &c->quota, err) < 0 ||
            get_u64(o, "burst", p, UINT64_MAX, &c->has_burst, &c->burst, err) < 0 ||
            get_u64_or_0(o, "period", p, CFS_PERIOD_MIN, CFS_PERIOD_MAX, &c->has_period, &c->period,
                         err) < 0 ||
            get_i64(o, "realtimeRuntime", p, -1, INT64_MAX, &c->has_realtime_runtime,
                    &c->realtime_runtime, err) < 0 ||
            get_u64(o, "realtimePeriod", p, UINT64_MAX, &c->has_realtime_period,
                    &c->realtime_period, err) < 0 ||
            get_i64(o, "idle", p, 0, 1, &c->has_idle, &c->idle, err) < 0)
                return -EINVAL;
        if (spec_get_cpu_list(o, "cpus", p, &c->cpus, "CPU", err) < 0 ||
            spec_get_cpu_list(o, "mems", p, &c->mems, "memory node", err) < 0)
                return -EINVAL;
        return check_quota(res, p, err);
}

/* ---- pids ---------------------------------------------------------------------------------- */

static int parse_pids(const json_t *root, const struct spec_path *up, struct berth_resources *res,
                      struct berth_error **err)
{
        json_t *o = NULL;
        int r;

        r = spec_get_object(root, "pids", up, OPT, &o, err);
        if (r <= 0)
                return r;
        return get_i64(o, "limit", FIELD(up, "pids"), -1, INT64_MAX, &res->pids.has_limit,
                       &res->pids.limit, err);
}

/* ---- blockIO ------------------------------------------------------------------------------- */

static int parse_blkio_device(json_t *v, const struct spec_path *p, struct berth_blkio_device *d,
                              struct berth_error **err)
{
        if (spec_to_object(v, p, err) < 0 ||
            spec_get_i64(v, "major", p, REQ, 0, UINT32_MAX, &d->major, err) < 0 ||
            spec_get_i64(v, "minor", p, REQ, 0, UINT32_MAX, &d->minor, err) < 0)
                return -EINVAL;
        return 0;
}

static int parse_weight_device(json_t *v, const struct spec_path *p, void *elem,
                               struct berth_error **err)
{
        struct berth_blkio_device *d = elem;

        if (parse_blkio_device(v, p, d, err) < 0 ||
            get_weight(v, "weight", p, &d->has_weight, &d->weight, err) < 0 ||
            get_weight(v, "leafWeight", p, &d->has_leaf_weight, &d->leaf_weight, err) < 0)
                return -EINVAL;
        /* config-linux.md: "You MUST specify at least one of weight or leafWeight" */
        if (!d->has_weight && !d->has_leaf_weight)
                return spec_error(err, p, "needs a weight or a leafWeight");
        return 0;
}

static int parse_throttle_device(json_t *v, const struct spec_path *p, void *elem,
                                 struct berth_error **err)
{
        struct berth_blkio_device *d = elem;

        if (parse_blkio_device(v, p, d, err) < 0 ||
            spec_get_u64(v, "rate", p, REQ, UINT64_MAX, &d->rate, err) < 0)
                return -EINVAL;
        return 0;
}

static int get_throttle(const json_t *o, const char *key, const struct spec_path *p,
                        struct berth_blkio_device **ret, size_t *ret_n, struct berth_error **err)
{
        return spec_get_list(o, key, p, OPT, sizeof(**ret), parse_throttle_device, clear_nothing,
                             ret, ret_n, err);
}

static int parse_blkio(const json_t *root, const struct spec_path *up, struct berth_resources *res,
                       struct berth_error **err)
{
        const struct spec_path *p = FIELD(up, "blockIO");
        __typeof__(res->blkio) *b = &res->blkio;
        json_t *o = NULL;
        int r;

        r = spec_get_object(root, "blockIO", up, OPT, &o, err);
        if (r <= 0)
                return r;
        if (get_weight(o, "weight", p, &b->has_weight, &b->weight, err) < 0 ||
            get_weight(o, "leafWeight", p, &b->has_leaf_weight, &b->leaf_weight, err) < 0 ||
            spec_get_list(o, "weightDevice", p, OPT, sizeof(*b->weight_device), parse_weight_device,
                          clear_nothing, &b->weight_device, &b->n_weight_device, err) < 0)
                return -EINVAL;
        if (get_throttle(o, "throttleReadBpsDevice", p, &b->throttle_read_bps,
                         &b->n_throttle_read_bps, err) < 0 ||
            get_throttle(o, "throttleWriteBpsDevice", p, &b->throttle_write_bps,
                         &b->n_throttle_write_bps, err) < 0 ||
            get_throttle(o, "throttleReadIOPSDevice", p, &b->throttle_read_iops,
                         &b->n_throttle_read_iops, err) < 0 ||
            get_throttle(o, "throttleWriteIOPSDevice", p, &b->throttle_write_iops,
                         &b->n_throttle_write_iops, err) < 0)
                return -EINVAL;
        return 0;
}

/* ---- hugepageLimits ------------------------------------------------------------------------ */

/* The kernel names page sizes "64KB", "2MB", "1GB" (mm/hugetlb_cgroup.c: mem_fmt()); the name
 * becomes part of a file name, so nothing else may pass. */
static bool is_page_size(const char *s)
{
        size_t n = strspn(s, "0123456789");

        return n > 0 && n <= 10 && s[0] != '0' &&
               (streq(s + n, "KB") || streq(s + n, "MB") || streq(s + n, "GB"));
}

static int parse_hugepage(json_t *v, const struct spec_path *p, void *elem,
                          struct berth_error **err)
{
        struct berth_hugepage_limit *h = elem;

        if (spec_to_object(v, p, err) < 0 ||
            spec_get_string(v, "pageSize", p, REQ, &h->page_size, err) < 0 ||
            spec_get_u64(v, "limit", p, REQ, UINT64_MAX, &h->limit, err) < 0)
                return -EINVAL;
        if (!is_page_size(h->page_size))
                return spec_error(err, FIELD(p, "pageSize"),
                                  "invalid page size %s (expected e.g. \"2MB\" or \"1GB\")",
                                  QUOTE(h->page_size));
        return 0;
}

static void clear_hugepage(void *elem)
{
        struct berth_hugepage_limit *h = elem;

        free(h->page_size);
}

/* ---- network ------------------------------------------------------------------------------- */

/* Interface and RDMA device names end up in a "NAME VALUE" line: no blanks, no control chars. */
static int check_name(const char *s, size_t max, const struct spec_path *p,
                      struct berth_error **err)
{
        if (!*s)
                return spec_error(err, p, "must not be empty");
        if (strlen(s) > max)
                return spec_error(err, p, "%s is longer than %zu bytes", QUOTE(s), max);
        for (const char *c = s; *c; c++)
                if ((unsigned char) *c <= ' ' || *c == 0x7f || *c == '/')
                        return spec_error(err, p, "%s is not a valid device name", QUOTE(s));
        return 0;
}

#define IFNAME_MAX 15 /* IFNAMSIZ - 1 */

static int parse_priority(json_t *v, const struct spec_path *p, void *elem,
                          struct berth_error **err)
{
        struct berth_kv *kv = elem;
        uint32_t prio = 0;

        if (spec_to_object(v, p, err) < 0 ||
            spec_get_string(v, "name", p, REQ, &kv->key, err) < 0 ||
            check_name(kv->key, IFNAME_MAX, FIELD(p, "name"), err) < 0 ||
            spec_get_u32(v, "priority", p, REQ, &prio, err) < 0)
                return -EINVAL;
        kv->value = xasprintf("%" PRIu32, prio);
        return 0;
}

static void clear_kv(void *elem)
{
        struct berth_kv *kv = elem;

        free(kv->key);
        free(kv->value);
}

static int parse_network(const json_t *root, const struct spec_path *up,
                         struct berth_resources *res, struct berth_error **err)
{
        const struct spec_path *p = FIELD(up, "network");
        json_t *o = NULL;
        int r;

        r = spec_get_object(root, "network", up, OPT, &o, err);
        if (r <= 0)
                return r;
        r = spec_get_u32(o, "classID", p, OPT, &res->network.class_id, err);
        if (r < 0)
                return r;
        res->network.has_class_id = r > 0;
        return spec_get_list(o, "priorities", p, OPT, sizeof(struct berth_kv), parse_priority,
                             clear_kv, &res->network.priorities, &res->network.n_priorities, err);
}

/* ---- rdma ---------------------------------------------------------------------------------- */

#define RDMA_NAME_MAX 63 /* IB_DEVICE_NAME_MAX - 1 */

static int parse_rdma_entry(const char *name, json_t *v, const struct spec_path *p,
                            struct berth_rdma_limit *l, struct berth_error **err)
{
        int r;

        if (check_name(name, RDMA_NAME_MAX, p, err) < 0 || spec_to_object(v, p, err) < 0)
                return -EINVAL;
        l->device = xstrdup(name);
        r = spec_get_u32(v, "hcaHandles", p, OPT, &l->hca_handles, err);
        if (r < 0)
                return r;
        l->has_hca_handles = r > 0;
        r = spec_get_u32(v, "hcaObjects", p, OPT, &l->hca_objects, err);
        if (r < 0)
                return r;
        l->has_hca_objects = r > 0;
        return 0;
}

static int parse_rdma(const json_t *root, const struct spec_path *up, struct berth_resources *res,
                      struct berth_error **err)
{
        const struct spec_path *p = FIELD(up, "rdma");
        json_t *o = NULL, *v;
        const char *name;
        int r;

        r = spec_get_object(root, "rdma", up, OPT, &o, err);
        if (r <= 0)
                return r;
        res->rdma = xcalloc(json_object_size(o) + 1, sizeof(*res->rdma));
        json_object_foreach(o, name, v)
        {
                /* counted first: berth_resources_free() frees a half-parsed entry too */
                struct berth_rdma_limit *l = &res->rdma[res->n_rdma++];

                r = parse_rdma_entry(name, v, FIELD(p, name), l, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- unified ------------------------------------------------------------------------------- */

/* Keys are file names in the container's own cgroup directory: nothing may lead out of it. */
static int parse_unified(const json_t *root, const struct spec_path *up,
                         struct berth_resources *res, struct berth_error **err)
{
        const struct spec_path *p = FIELD(up, "unified");
        int r;

        r = spec_get_kv(root, "unified", up, &res->unified, &res->n_unified, err);
        if (r <= 0)
                return r;
        for (size_t i = 0; i < res->n_unified; i++) {
                const char *k = res->unified[i].key;

                if (!*k || strchr(k, '/') || strstr(k, ".."))
                        return spec_error(err, FIELD(p, k),
                                          "%s is not a cgroup file name (no \"/\" or \"..\")",
                                          QUOTE(k));
        }
        return 0;
}

/* ---- the whole object ---------------------------------------------------------------------- */

static int parse_all(const json_t *o, const struct spec_path *p, struct berth_resources *res,
                     struct berth_error **err)
{
        if (spec_get_list(o, "devices", p, OPT, sizeof(struct berth_device_rule), parse_device_rule,
                          clear_nothing, &res->devices, &res->n_devices, err) < 0)
                return -EINVAL;
        if (parse_memory(o, p, res, err) < 0 || parse_cpu(o, p, res, err) < 0 ||
            parse_pids(o, p, res, err) < 0 || parse_blkio(o, p, res, err) < 0)
                return -EINVAL;
        if (spec_get_list(o, "hugepageLimits", p, OPT, sizeof(struct berth_hugepage_limit),
                          parse_hugepage, clear_hugepage, &res->hugepages, &res->n_hugepages,
                          err) < 0)
                return -EINVAL;
        if (parse_network(o, p, res, err) < 0 || parse_rdma(o, p, res, err) < 0 ||
            parse_unified(o, p, res, err) < 0)
                return -EINVAL;
        return 0;
}

#define PREFIX_PARTS 8
#define PREFIX_MAX 256

struct prefix_path {
        struct spec_path link[PREFIX_PARTS];
        char buf[PREFIX_MAX];
};

/* "linux.resources" as the field path linux -> resources (a single key "linux.resources" would
 * render as ["linux.resources"]). NULL or "" gives no prefix. */
static const struct spec_path *prefix_path(const char *prefix, struct prefix_path *pp)
{
        const struct spec_path *up = NULL;
        char *s = pp->buf;

        if (!prefix || !*prefix)
                return NULL;
        snprintf(pp->buf, sizeof(pp->buf), "%s", prefix);
        for (size_t i = 0; i < PREFIX_PARTS && s; i++) {
                char *dot = i + 1 < PREFIX_PARTS ? strchr(s, '.') : NULL;

                if (dot)
                        *dot = '\0';
                pp->link[i] = (struct spec_path){.up = up, .key = s};
                up = &pp->link[i];
                s = dot ? dot + 1 : NULL;
        }
        return up;
}

int berth_resources_parse(const char *json, const char *origin, const char *prefix,
                          struct berth_resources **ret, struct berth_error **err)
{
        _autoresources_ struct berth_resources *res = xcalloc(1, sizeof(*res));
        struct prefix_path pp;
        json_t *root = NULL;
        int r;

        if (!origin)
                origin = "resources.json";
        if (json && json[strspn(json, " \t\r\n")]) {
                r = spec_load_json(json, strlen(json), origin, &root, err);
                if (r < 0)
                        return r;
                r = parse_all(root, prefix_path(prefix, &pp), res, err);
                json_decref(root);
                if (r < 0) {
                        berth_error_prefix(err, "%s", origin);
                        return r;
                }
        }
        *ret = steal_ptr(&res);
        return 0;
}

void berth_resources_free(struct berth_resources *r)
{
        if (!r)
                return;
        free(r->devices);
        free(r->cpu.cpus);
        free(r->cpu.mems);
        free(r->blkio.weight_device);
        free(r->blkio.throttle_read_bps);
        free(r->blkio.throttle_write_bps);
        free(r->blkio.throttle_read_iops);
        free(r->blkio.throttle_write_iops);
        for (size_t i = 0; i < r->n_hugepages; i++)
                clear_hugepage(&r->hugepages[i]);
        free(r->hugepages);
        berth_kv_free(r->network.priorities, r->network.n_priorities);
        for (size_t i = 0; i < r->n_rdma; i++)
                free(r->rdma[i].device);
        free(r->rdma);
        berth_kv_free(r->unified, r->n_unified);
        free(r);
}

char *berth_rdma_limit_line(const struct berth_rdma_limit *l)
{
        char handles[32] = "", objects[32] = "";

        if (!l->has_hca_handles && !l->has_hca_objects)
                return NULL;
        if (l->has_hca_handles)
                snprintf(handles, sizeof(handles), " hca_handle=%" PRIu32, l->hca_handles);
        if (l->has_hca_objects)
                snprintf(objects, sizeof(objects), " hca_object=%" PRIu32, l->hca_objects);
        return xasprintf("%s%s%s", l->device, handles, objects);
}
