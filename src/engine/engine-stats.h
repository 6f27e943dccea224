/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * `berth stats`: a container's resource usage as docker's daemon samples it, from its cgroup
 * (cgroup/stats.h, v1 or v2) and its network namespace, and docker's CLI's arithmetic on two
 * samples.
 */

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"

struct berth_ctr;

/* One sample. A container that is not running (or paused) has all of it zero, as docker's. */
struct berth_ctr_stats {
        bool running;
        uint64_t cpu_total;      /* ns of CPU the container used (cpuacct.usage; cpu.stat) */
        uint64_t system_cpu;     /* ns of CPU the host's CPUs spent, /proc/stat's first 7 fields */
        uint32_t online_cpus;    /* the "cpuN" lines of /proc/stat */
        uint64_t mem_usage;      /* bytes, less the inactive file cache (docker's CLI: v1 usage -
                                    total_inactive_file, v2 memory.current - inactive_file) */
        uint64_t mem_limit;      /* the cgroup's limit, or the host's memory when it is higher */
        uint64_t net_rx, net_tx; /* bytes through every interface of its namespace but lo */
        uint64_t blk_read, blk_write; /* bytes, io_service_bytes (v1) or io.stat (v2) */
        uint64_t pids;
};

/* Samples c (berth_ctr_refresh'ed by the caller) from its runtime state in runroot. A container
 * that stopped meanwhile is a zero sample, not an error. */
int berth_ctr_stats_read(const struct berth_ctr *c, const char *runroot,
                         struct berth_ctr_stats *ret, struct berth_error **err);

/* docker's CPU %: container delta / host delta × online CPUs × 100 between two samples; 0 unless
 * both deltas are positive. */
double berth_stats_cpu_percent(const struct berth_ctr_stats *prev,
                               const struct berth_ctr_stats *now);
/* docker's MEM %: usage / limit × 100; 0 without a limit. */
double berth_stats_mem_percent(const struct berth_ctr_stats *s);
