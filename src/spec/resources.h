/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * linux.resources as typed C structs, parsed from the JSON text the spec parser keeps
 * (spec->lx.resources_json) or from `update -r FILE`. Every has_ flag says the field was present.
 * Device rule wildcards are -1 (major/minor) and 'a' (type).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "spec/spec.h"

struct berth_device_rule {
        bool allow;
        char type;      /* 'a', 'c', 'b' */
        int64_t major;  /* -1 = any */
        int64_t minor;  /* -1 = any */
        char access[4]; /* subset of "rwm", NUL-terminated */
};

struct berth_blkio_device {
        int64_t major, minor;
        bool has_weight, has_leaf_weight;
        uint16_t weight, leaf_weight;
        uint64_t rate; /* throttle entries */
};

struct berth_hugepage_limit {
        char *page_size; /* "2MB", "1GB" */
        uint64_t limit;
};

struct berth_rdma_limit {
        char *device;
        bool has_hca_handles, has_hca_objects;
        uint32_t hca_handles, hca_objects;
};

struct berth_resources {
        struct berth_device_rule *devices;
        size_t n_devices;
        struct {
                bool has_limit, has_reservation, has_swap, has_kernel, has_kernel_tcp,
                    has_swappiness, has_disable_oom_killer, has_use_hierarchy,
                    has_check_before_update;
                int64_t limit, reservation, swap, kernel, kernel_tcp; /* -1 = unlimited */
                uint64_t swappiness;
                bool disable_oom_killer, use_hierarchy, check_before_update;
        } memory;
        struct {
                bool has_shares, has_quota, has_burst, has_period, has_realtime_runtime,
                    has_realtime_period, has_idle;
                uint64_t shares, period, burst, realtime_period;
                int64_t quota, realtime_runtime, idle;
                char *cpus, *mems; /* NULL if absent */
        } cpu;
        struct {
                bool has_limit;
                int64_t limit; /* <= 0 = unlimited (runc) */
        } pids;
        struct {
                bool has_weight, has_leaf_weight;
                uint16_t weight, leaf_weight;
                struct berth_blkio_device *weight_device, *throttle_read_bps, *throttle_write_bps,
                    *throttle_read_iops, *throttle_write_iops;
                size_t n_weight_device, n_throttle_read_bps, n_throttle_write_bps,
                    n_throttle_read_iops, n_throttle_write_iops;
        } blkio;
        struct berth_hugepage_limit *hugepages;
        size_t n_hugepages;
        struct {
                bool has_class_id;
                uint32_t class_id;
                struct berth_kv *priorities; /* interface name -> priority (decimal text) */
                size_t n_priorities;
        } network;
        struct berth_rdma_limit *rdma;
        size_t n_rdma;
        struct berth_kv *unified; /* cgroup v2 file name -> value */
        size_t n_unified;
        /* Not from JSON: leave the cgroup's device rules as they are (runc's SkipDevices, which
         * `runc update` sets). Otherwise apply rewrites them whole: deny all, then `devices`,
         * then berth_default_device_rules. */
        bool skip_devices;
};

/* Parses a linux.resources object. `origin` prefixes field paths in errors ("config.json:
 * linux.resources.memory.limit: ..."), e.g. "config.json" with prefix "linux.resources", or the
 * file given to `update -r`. Errors name the field and value; NULL/empty json gives an empty
 * struct. */
int berth_resources_parse(const char *json, const char *origin, const char *prefix,
                          struct berth_resources **ret, struct berth_error **err);
void berth_resources_free(struct berth_resources *r);
static inline void berth_resources_freep(struct berth_resources **r)
{
        berth_resources_free(*r);
        *r = NULL;
}
#define _autoresources_ __attribute__((cleanup(berth_resources_freep)))

/* The device rules every container gets after the config's own (runc's allowed defaults:
 * mknod of any c/b device; null, zero, full, random, urandom, tty, console, ptmx, pts, tun). */
extern const struct berth_device_rule berth_default_device_rules[];
extern const size_t berth_n_default_device_rules;

/* The rdma.max line of a limit ("mlx5_0 hca_handle=2 hca_object=3"), the same on v1 and v2;
 * NULL when it sets nothing. malloc'ed. */
char *berth_rdma_limit_line(const struct berth_rdma_limit *l);

/* Value conversions between cgroup v1 and v2, as crun documents them. */
uint64_t berth_cpu_shares_to_weight(uint64_t shares);      /* 2..262144 -> 1..10000 */
uint64_t berth_blkio_weight_to_io_weight(uint64_t weight); /* 10..1000 -> 1..10000 */
