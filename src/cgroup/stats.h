/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * A container's resource usage, read from its cgroup files: what `runc events` reports. The
 * fields follow runc's types.Stats (and its units: nanoseconds for CPU time, bytes for memory), so
 * the front end only has to format them. Typed data only: the library never builds this JSON.
 *
 *   cgroup v1: cpuacct.*, cpu.stat, memory.{usage,max_usage,failcnt,limit}_in_bytes (and the memsw,
 *              kmem, kmem.tcp variants), memory.stat, pids.current/max, blkio.*, hugetlb.*,
 * cpuset.* cgroup v2: cpu.stat, memory.current/max/peak/stat, memory.swap.current/max,
 * pids.current/max, io.stat, hugetlb.*.current/max/events, cpuset.*.effective
 *
 * A controller this host does not have leaves its part zero. A missing optional file (memsw without
 * swap accounting, kmem on new kernels) leaves its entry zero; other failures are errors that name
 * the cgroup and the file.
 */

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

struct berth_cgroup;

struct berth_u64_list {
        uint64_t *v;
        size_t n;
};

/* One of memory.usage / swap / kernel / kernelTCP. limit UINT64_MAX on v2 means "max". */
struct berth_mem_entry {
        uint64_t limit, usage, max, failcnt;
};

/* One line of a blkio file: "8:0 Read 4096", or io.stat's rbytes mapped to op "Read". */
struct berth_blkio_entry {
        uint64_t major, minor, value;
        char op[16]; /* "Read", "Write", "Sync", "Async", "Discard", "Total", or "" */
};

/* runc's Blkio lists, in the order of its JSON. */
enum berth_blkio_kind {
        BERTH_BLKIO_SERVICE_BYTES,
        BERTH_BLKIO_SERVICED,
        BERTH_BLKIO_QUEUED,
        BERTH_BLKIO_SERVICE_TIME,
        BERTH_BLKIO_WAIT_TIME,
        BERTH_BLKIO_MERGED,
        BERTH_BLKIO_TIME,
        BERTH_BLKIO_SECTORS,
        BERTH_BLKIO_N
};

struct berth_blkio_list {
        struct berth_blkio_entry *v;
        size_t n;
};

struct berth_hugetlb_stats {
        char page_size[16]; /* "2MB", "1GB" */
        uint64_t usage, max, failcnt;
};

/* A memory.stat line. */
struct berth_stat_kv {
        char *key;
        uint64_t value;
};

struct berth_stats {
        struct {
                uint64_t total, kernel, user;                             /* ns */
                struct berth_u64_list percpu, percpu_kernel, percpu_user; /* ns, v1 only */
                uint64_t periods, throttled_periods, throttled_time;      /* time in ns */
        } cpu;
        struct {
                struct berth_u64_list cpus, mems;
                uint64_t cpu_exclusive, mem_hardwall, mem_exclusive, memory_migrate,
                    memory_spread_page, memory_spread_slab, memory_pressure, sched_load_balance;
                int64_t sched_relax_domain_level;
        } cpuset;
        struct {
                uint64_t cache;
                /* swap is memory+swap, as v1's memsw (runc reports v2 the same way) */
                struct berth_mem_entry usage, swap, kernel, kernel_tcp;
                struct berth_stat_kv *raw; /* memory.stat, sorted by key */
                size_t n_raw;
        } memory;
        struct {
                uint64_t current, limit; /* limit 0: unlimited */
        } pids;
        struct berth_blkio_list blkio[BERTH_BLKIO_N];
        struct berth_hugetlb_stats *hugetlb; /* sorted by page size name, as Go sorts map keys */
        size_t n_hugetlb;
};

/* Reads the stats of an open cgroup (berth_container_cgroup()). On success the caller owns *ret
 * (berth_stats_free). -ENOENT when the cgroup was removed meanwhile; -EINVAL when a file does not
 * parse ("cgroup /berth/web: memory.stat: line "x": expected "key value""). */
int berth_stats_read(struct berth_cgroup *cg, struct berth_stats **ret, struct berth_error **err);

void berth_stats_free(struct berth_stats *s);
static inline void berth_stats_freep(struct berth_stats **s)
{
        berth_stats_free(*s);
        *s = NULL;
}
#define _autostats_ __attribute__((cleanup(berth_stats_freep)))

/* "2MB" for a /sys/kernel/mm/hugepages/hugepages-2048kB directory's size in kB, as runc names
 * hugetlb page sizes (units.CustomSize with 1024 steps): 64 -> "64KB", 1048576 -> "1GB". */
void berth_hugepage_size_name(uint64_t kb, char buf[16]);
