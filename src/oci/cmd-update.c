/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-oci update [flags] ID: new limits for a running, created or paused container.
 *
 * Either -r FILE (linux.resources JSON; "-" reads stdin, as containerd calls it) or runc's
 * flags. Values are parsed like runc parses them (strconv, units.RAMInBytes for memory sizes)
 * and checked before anything is written, so a bad flag never leaves half an update applied.
 */
#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <strings.h>

#include "runtime/container.h"
#include "base/log.h"
#include "oci.h"
#include "spec/resources.h"
#include "base/util.h"

#define RESOURCES_MAX (16u << 20)

enum {
        F_RESOURCES,
        F_BLKIO_WEIGHT,
        F_CPU_PERIOD,
        F_CPU_QUOTA,
        F_CPU_SHARE,
        F_CPU_RT_PERIOD,
        F_CPU_RT_RUNTIME,
        F_CPUSET_CPUS,
        F_CPUSET_MEMS,
        F_MEMORY,
        F_MEMORY_RESERVATION,
        F_MEMORY_SWAP,
        F_PIDS_LIMIT,
        F_L3_CACHE_SCHEMA,
        F_MEM_BW_SCHEMA,
        F_KERNEL_MEMORY,
        F_KERNEL_MEMORY_TCP, /* runc's hidden, ignored flag */
        F_COUNT
};

static const struct oci_flag flags[] = {
    [F_RESOURCES] = {"resources", 'r', true,
                     "path to the file containing the resources to update or '-' to read from "
                     "the standard input (all other resource flags are then ignored)"},
    [F_BLKIO_WEIGHT] = {"blkio-weight", 0, true,
                        "Specifies per cgroup weight, range is from 10 to 1000 (default: 0)"},
    [F_CPU_PERIOD] = {"cpu-period", 0, true,
                      "CPU CFS period to be used for hardcapping (in usecs). 0 to use system "
                      "default"},
    [F_CPU_QUOTA] = {"cpu-quota", 0, true,
                     "CPU CFS hardcap limit (in usecs). Allowed cpu time in a given period"},
    [F_CPU_SHARE] = {"cpu-share", 0, true, "CPU shares (relative weight vs. other containers)"},
    [F_CPU_RT_PERIOD] = {"cpu-rt-period", 0, true,
                         "CPU realtime period to be used for hardcapping (in usecs). 0 to use "
                         "system default"},
    [F_CPU_RT_RUNTIME] = {"cpu-rt-runtime", 0, true,
                          "CPU realtime hardcap limit (in usecs). Allowed cpu time in a given "
                          "period"},
    [F_CPUSET_CPUS] = {"cpuset-cpus", 0, true, "CPU(s) to use"},
    [F_CPUSET_MEMS] = {"cpuset-mems", 0, true, "Memory node(s) to use"},
    [F_MEMORY] = {"memory", 0, true, "Memory limit (in bytes)"},
    [F_MEMORY_RESERVATION] = {"memory-reservation", 0, true,
                              "Memory reservation or soft_limit (in bytes)"},
    [F_MEMORY_SWAP] = {"memory-swap", 0, true,
                       "Total memory usage (memory + swap); set '-1' to enable unlimited swap"},
    [F_PIDS_LIMIT] = {"pids-limit", 0, true,
                      "Maximum number of pids allowed in the container (default: 0)"},
    [F_L3_CACHE_SCHEMA] = {"l3-cache-schema", 0, true,
                           "The string of Intel RDT/CAT L3 cache schema (not supported)"},
    [F_MEM_BW_SCHEMA] = {"mem-bw-schema", 0, true,
                         "The string of Intel RDT/MBA memory bandwidth schema (not supported)"},
    [F_KERNEL_MEMORY] = {"kernel-memory", 0, true, "(obsoleted; do not use)"},
    [F_KERNEL_MEMORY_TCP] = {"kernel-memory-tcp", 0, true, "(obsoleted; do not use)"},
};

_Static_assert(ARRAY_SIZE(flags) == F_COUNT, "one table entry per flag");

/* The kernel's bounds, as resources.c checks them for config.json. */
#define SHARES_MIN 2
#define SHARES_MAX 262144
#define CFS_PERIOD_MIN 1000
#define CFS_PERIOD_MAX 1000000
#define BLKIO_WEIGHT_MIN 10
#define BLKIO_WEIGHT_MAX 1000

static const char *value_of(const struct oci_args *a, int i)
{
        const char *v = a->values[i];

        /* as runc: an empty value is the same as no flag */
        return v && *v ? v : NULL;
}

static int invalid(const char *name, const char *v, const char *why, struct berth_error **err)
{
        return berth_error_setx(err, EINVAL, "invalid value for --%s %s: %s", name, QUOTE(v), why);
}

/* ---- memory sizes ---------------------------------------------------------------------------- */

static int64_t unit_multiplier(char c)
{
        switch (tolower((unsigned char) c)) {
        case 'k':
                return 1LL << 10;
        case 'm':
                return 1LL << 20;
        case 'g':
                return 1LL << 30;
        case 't':
                return 1LL << 40;
        case 'p':
                return 1LL << 50;
        default:
                return 0;
        }
}

/* docker/go-units RAMInBytes, which runc uses: "512m", "1.5g", "2 GiB", "1024" (binary units;
 * a suffix of at most 3 letters: b, k, kb, kib, ...). */
static int parse_ram(const char *s, int64_t *ret)
{
        size_t num_len = strspn(s, "0123456789.");
        const char *sfx = s + num_len + (s[num_len] == ' ');
        char num[64], *end;
        int64_t mul = 1;
        double v;

        if (num_len == 0 || num_len >= sizeof(num) || strspn(s, "0123456789") == 0)
                return -EINVAL;
        snprintf(num, sizeof(num), "%.*s", (int) num_len, s);
        v = strtod(num, &end);
        if (*end || !isfinite(v) || strlen(sfx) > 3)
                return -EINVAL;
        if (*sfx && tolower((unsigned char) *sfx) != 'b') {
                mul = unit_multiplier(*sfx);
                if (mul == 0 || (sfx[1] && strcasecmp(sfx + 1, "b") && strcasecmp(sfx + 1, "ib")))
                        return -EINVAL;
        } else if (*sfx && sfx[1]) {
                return -EINVAL;
        }
        v *= (double) mul;
        if (v >= 9223372036854775807.0)
                return -ERANGE;
        *ret = (int64_t) v;
        return 0;
}

static int set_mem(const struct oci_args *a, int i, bool *has, int64_t *dst,
                   struct berth_error **err)
{
        const char *v = value_of(a, i);
        int r;

        if (!v)
                return 0;
        if (streq(v, "-1")) {
                *dst = -1;
        } else {
                r = parse_ram(v, dst);
                if (r < 0)
                        return invalid(flags[i].name, v,
                                       r == -ERANGE ? "out of range"
                                                    : "expected a size such as 512m or 1g, or -1",
                                       err);
        }
        *has = true;
        return 0;
}

/* ---- numbers --------------------------------------------------------------------------------- */

/* An unsigned flag (strconv.ParseUint, as runc); 0 is valid (unset), else lo..hi. */
static int set_u64(const struct oci_args *a, int i, uint64_t lo, uint64_t hi, bool *has,
                   uint64_t *dst, struct berth_error **err)
{
        const char *v = value_of(a, i);
        char why[96];

        if (!v)
                return 0;
        if (parse_u64(v, dst) < 0)
                return invalid(flags[i].name, v, "expected an unsigned integer", err);
        if (*dst != 0 && (*dst < lo || *dst > hi)) {
                snprintf(why, sizeof(why),
                         "out of range (%" PRIu64 "..%" PRIu64 ", or 0 for unset)", lo, hi);
                return invalid(flags[i].name, v, why, err);
        }
        *has = true;
        return 0;
}

/* A signed flag (strconv.ParseInt): -1 for unlimited, 0 for unset, else at least min. */
static int set_i64(const struct oci_args *a, int i, int64_t min, bool *has, int64_t *dst,
                   struct berth_error **err)
{
        const char *v = value_of(a, i);
        char why[96];

        if (!v)
                return 0;
        if (parse_i64(v, dst) < 0)
                return invalid(flags[i].name, v, "expected an integer", err);
        if (*dst < -1 || (*dst > 0 && *dst < min)) {
                snprintf(why, sizeof(why),
                         "out of range (-1 for unlimited, 0 for unset, or >= %" PRId64 ")", min);
                return invalid(flags[i].name, v, why, err);
        }
        *has = true;
        return 0;
}

/* "0-3,7"; the kernel checks that the cpus and nodes exist. */
static int set_list(const struct oci_args *a, int i, char **dst, struct berth_error **err)
{
        const char *v = value_of(a, i);

        if (!v)
                return 0;
        if (strspn(v, "0123456789,-") != strlen(v) || !isdigit((unsigned char) v[0]))
                return invalid(flags[i].name, v, "expected a list such as 0-3,7", err);
        *dst = xstrdup(v);
        return 0;
}

static int set_cpu(const struct oci_args *a, struct berth_resources *r, struct berth_error **err)
{
        __typeof__(r->cpu) *c = &r->cpu;

        if (set_u64(a, F_CPU_PERIOD, CFS_PERIOD_MIN, CFS_PERIOD_MAX, &c->has_period, &c->period,
                    err) < 0 ||
            set_i64(a, F_CPU_QUOTA, CFS_PERIOD_MIN, &c->has_quota, &c->quota, err) < 0 ||
            set_u64(a, F_CPU_SHARE, SHARES_MIN, SHARES_MAX, &c->has_shares, &c->shares, err) < 0 ||
            set_u64(a, F_CPU_RT_PERIOD, 1, UINT64_MAX, &c->has_realtime_period, &c->realtime_period,
                    err) < 0 ||
            set_i64(a, F_CPU_RT_RUNTIME, 1, &c->has_realtime_runtime, &c->realtime_runtime, err) <
                0)
                return -EINVAL;
        if (set_list(a, F_CPUSET_CPUS, &c->cpus, err) < 0 ||
            set_list(a, F_CPUSET_MEMS, &c->mems, err) < 0)
                return -EINVAL;
        return 0;
}

/* memory+swap below memory is refused by the kernel after the memory limit was already written;
 * check it first, as resources.c does for config.json. */
static int check_swap(const struct berth_resources *r, struct berth_error **err)
{
        int64_t limit = r->memory.limit, swap = r->memory.swap;

        if (!r->memory.has_limit || !r->memory.has_swap || limit == 0 || swap == 0 || swap == -1)
                return 0;
        if (limit == -1 || swap < limit)
                return berth_error_setx(err, EINVAL,
                                        "--memory-swap %" PRId64 " should be >= --memory %" PRId64,
                                        swap, limit);
        return 0;
}

static int set_memory(const struct oci_args *a, struct berth_resources *r, struct berth_error **err)
{
        __typeof__(r->memory) *m = &r->memory;

        if (set_mem(a, F_MEMORY, &m->has_limit, &m->limit, err) < 0 ||
            set_mem(a, F_MEMORY_RESERVATION, &m->has_reservation, &m->reservation, err) < 0 ||
            set_mem(a, F_MEMORY_SWAP, &m->has_swap, &m->swap, err) < 0)
                return -EINVAL;
        return check_swap(r, err);
}

static int set_other(const struct oci_args *a, struct berth_resources *r, struct berth_error **err)
{
        uint64_t weight = 0;
        int64_t pids = 0;
        bool has = false;

        if (set_u64(a, F_BLKIO_WEIGHT, BLKIO_WEIGHT_MIN, BLKIO_WEIGHT_MAX, &has, &weight, err) < 0)
                return -EINVAL;
        /* as runc: 0 leaves the weight and the pids limit unchanged */
        if (has && weight != 0) {
                r->blkio.has_weight = true;
                r->blkio.weight = (uint16_t) weight;
        }
        if (value_of(a, F_PIDS_LIMIT) && parse_i64(value_of(a, F_PIDS_LIMIT), &pids) < 0)
                return invalid("pids-limit", value_of(a, F_PIDS_LIMIT), "expected an integer", err);
        if (pids != 0) {
                r->pids.has_limit = true;
                r->pids.limit = pids < 0 ? -1 : pids;
        }
        for (int i = F_KERNEL_MEMORY; i < F_COUNT; i++)
                if (value_of(a, i))
                        berth_warn("--%s is obsolete and has no effect, ignoring", flags[i].name);
        return 0;
}

static int resources_from_flags(const struct oci_args *a, struct berth_resources **ret,
                                struct berth_error **err)
{
        _autoresources_ struct berth_resources *r = xcalloc(1, sizeof(*r));

        if (set_cpu(a, r, err) < 0 || set_memory(a, r, err) < 0 || set_other(a, r, err) < 0)
                return -EINVAL;
        *ret = steal_ptr(&r);
        return 0;
}

/* ---- --resources FILE ------------------------------------------------------------------------ */

/* -r FILE: linux.resources JSON, "-" for stdin. */
static int resources_from_file(const char *path, struct berth_resources **ret,
                               struct berth_error **err)
{
        bool is_stdin = streq(path, "-");
        const char *origin = is_stdin ? "<stdin>" : path;
        _autoclose_ int fd = is_stdin ? -EBADF : open(path, O_RDONLY | O_CLOEXEC);
        _autofree_ char *text = NULL;
        int r;

        if (!is_stdin && fd < 0)
                return berth_error_set(err, errno, "open %s", QUOTE(path));
        r = berth_read_fd(is_stdin ? STDIN_FILENO : fd, origin, RESOURCES_MAX, &text, NULL, err);
        if (r < 0)
                return r;
        return berth_resources_parse(text, origin, "", ret, err);
}

/* ---- the command ----------------------------------------------------------------------------- */

static int cmd_update(const struct oci_global *g, const struct oci_args *a,
                      struct berth_error **err)
{
        _autocontainer_ struct berth_container *c = NULL;
        _autoresources_ struct berth_resources *res = NULL;
        int r;

        r = oci_load_container(g, a->pos[0], &c, err);
        if (r < 0)
                return r;
        if (value_of(a, F_L3_CACHE_SCHEMA) || value_of(a, F_MEM_BW_SCHEMA))
                return berth_error_setx(
                    err, ENOTSUP, "--%s: Intel RDT is not supported",
                    flags[value_of(a, F_L3_CACHE_SCHEMA) ? F_L3_CACHE_SCHEMA : F_MEM_BW_SCHEMA]
                        .name);
        if (value_of(a, F_RESOURCES))
                r = resources_from_file(value_of(a, F_RESOURCES), &res, err);
        else
                r = resources_from_flags(a, &res, err);
        if (r < 0)
                return r;
        /* device rules are not updated, as runc: berth_container_update() says so */
        /* as runc: an unlimited memory limit without a swap limit lifts the swap limit too */
        if (res->memory.has_limit && res->memory.limit == -1 && !res->memory.has_swap) {
                res->memory.has_swap = true;
                res->memory.swap = -1;
        }
        r = berth_container_update(c, res, err);
        return r < 0 ? r : 0;
}

const struct oci_command oci_cmd_update = {
    .name = "update",
    .summary = "update container resource constraints",
    .usage = "[command options] <container-id>",
    .description =
        "\nThe accepted format of --resources is linux.resources of the runtime spec (unchanged\n"
        "values can be omitted):\n\n"
        "{\n"
        "  \"memory\": { \"limit\": 0, \"reservation\": 0, \"swap\": 0 },\n"
        "  \"cpu\": { \"shares\": 0, \"quota\": 0, \"period\": 0, \"realtimeRuntime\": 0,\n"
        "           \"realtimePeriod\": 0, \"cpus\": \"\", \"mems\": \"\" },\n"
        "  \"blockIO\": { \"weight\": 0 },\n"
        "  \"pids\": { \"limit\": 0 }\n"
        "}\n\n"
        "Note: if data is to be read from a file or the standard input, all\n"
        "other options are ignored.\n",
    .flags = flags,
    .n_flags = ARRAY_SIZE(flags),
    .min_args = 1,
    .max_args = 1,
    .needs_cgroups = true,
    .run = cmd_update,
};
