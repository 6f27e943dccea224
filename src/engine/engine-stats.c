/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth stats (engine-stats.h): what docker's daemon puts in a stats sample (daemon/stats:
 * cgroup stats, /proc/stat's system CPU time, the host's memory for an unlimited container, the
 * network interfaces of the container), reduced to what docker's CLI shows.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "cgroup/stats.h"
#include "engine/engine-stats.h"
#include "engine/engine.h"
#include "runtime/container.h"
#include "base/util.h"

#define NS_PER_SEC 1000000000ULL

/* /proc/stat: the "cpu" line's first seven fields (user nice system idle iowait irq softirq)
 * in ns, and how many "cpuN" lines there are (docker's getSystemCPUUsage). */
static int system_cpu(uint64_t *ret_ns, uint32_t *ret_cpus, struct berth_error **err)
{
        _autofree_ char *text = NULL;
        long hz = sysconf(_SC_CLK_TCK);
        uint64_t ticks = 0;
        uint32_t cpus = 0;
        char *save = NULL;
        int r = berth_read_file_at(AT_FDCWD, "/proc/stat", 0, &text, NULL, err);

        if (r < 0)
                return r;
        for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                uint64_t f[7];

                if (startswith(l, "cpu") && l[3] >= '0' && l[3] <= '9')
                        cpus++;
                if (!startswith(l, "cpu "))
                        continue;
                if (sscanf(l + 4,
                           "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
                           " %" SCNu64,
                           &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6]) != 7)
                        return berth_error_setx(err, EINVAL, "/proc/stat: invalid cpu line");
                for (size_t i = 0; i < ARRAY_SIZE(f); i++)
                        ticks += f[i];
        }
        *ret_ns = ticks * NS_PER_SEC / (uint64_t) (hz > 0 ? hz : 100);
        *ret_cpus = cpus;
        return 0;
}

/* MemTotal of /proc/meminfo in bytes (docker's machineMemory); 0 if unreadable. */
static uint64_t host_memory(void)
{
        _autofree_ char *text = NULL;
        const char *p;
        uint64_t kb = 0;

        if (berth_read_file_at(AT_FDCWD, "/proc/meminfo", 0, &text, NULL, NULL) < 0)
                return 0;
        p = strstr(text, "MemTotal:");
        if (!p || sscanf(p + strlen("MemTotal:"), "%" SCNu64, &kb) != 1)
                return 0;
        return kb * 1024;
}

static uint64_t stat_value(const struct berth_stats *s, const char *key, bool *found)
{
        for (size_t i = 0; i < s->memory.n_raw; i++)
                if (streq(s->memory.raw[i].key, key)) {
                        *found = true;
                        return s->memory.raw[i].value;
                }
        *found = false;
        return 0;
}

/* docker's CLI calculateMemUsageUnixNoCache, and the daemon's limit. */
static void memory(const struct berth_stats *s, struct berth_ctr_stats *ret)
{
        uint64_t usage = s->memory.usage.usage, v, machine = host_memory();
        bool found;

        v = stat_value(s, "total_inactive_file", &found); /* cgroup v1 */
        if (!found)
                v = stat_value(s, "inactive_file", &found); /* cgroup v2 */
        ret->mem_usage = found && v < usage ? usage - v : usage;
        ret->mem_limit = s->memory.usage.limit;
        if (machine > 0 && ret->mem_limit > machine)
                ret->mem_limit = machine;
}

/* docker's calculateBlockIO: io_service_bytes entries by their op's first letter. */
static void block_io(const struct berth_stats *s, struct berth_ctr_stats *ret)
{
        const struct berth_blkio_list *l = &s->blkio[BERTH_BLKIO_SERVICE_BYTES];

        for (size_t i = 0; i < l->n; i++) {
                char op = l->v[i].op[0];

                if (op == 'r' || op == 'R')
                        ret->blk_read += l->v[i].value;
                else if (op == 'w' || op == 'W')
                        ret->blk_write += l->v[i].value;
        }
}

/* /proc/PID/net/dev: "  eth0: RX-bytes packets ... (8 fields) TX-bytes ...", lo left out as
 * docker (its sandbox's interfaces) does. A pid gone meanwhile reads as none. */
static void network(pid_t pid, struct berth_ctr_stats *ret)
{
        _autofree_ char *path = xasprintf("/proc/%d/net/dev", pid), *text = NULL;
        char *save = NULL;

        if (berth_read_file_at(AT_FDCWD, path, 0, &text, NULL, NULL) < 0)
                return;
        for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                char *colon = strchr(l, ':');
                uint64_t f[9];

                if (!colon)
                        continue;
                *colon = '\0';
                l += strspn(l, " ");
                if (streq(l, "lo"))
                        continue;
                if (sscanf(colon + 1,
                           "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
                           " %" SCNu64 " %" SCNu64 " %" SCNu64,
                           &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8]) != 9)
                        continue;
                ret->net_rx += f[0];
                ret->net_tx += f[8];
        }
}

int berth_ctr_stats_read(const struct berth_ctr *c, const char *runroot,
                         struct berth_ctr_stats *ret, struct berth_error **err)
{
        _autocontainer_ struct berth_container *lc = NULL;
        _autocgroup_ struct berth_cgroup *cg = NULL;
        _autostats_ struct berth_stats *s = NULL;
        struct berth_ctr_stats out = {0};
        int r;

        *ret = out;
        if (!streq_ptr(c->status, "running") && !streq_ptr(c->status, "paused"))
                return 0;
        if (berth_container_load(runroot, c->id, &lc, NULL) < 0 ||
            (lc->status != BERTH_STATUS_RUNNING && lc->status != BERTH_STATUS_PAUSED))
                return 0; /* stopped meanwhile */
        r = system_cpu(&out.system_cpu, &out.online_cpus, err);
        if (r >= 0)
                r = berth_container_cgroup(lc, &cg, err);
        if (r >= 0)
                r = berth_stats_read(cg, &s, err);
        if (r == -ENOENT)
                return 0; /* its cgroup went with it */
        if (r < 0)
                return berth_error_prefix(err, "stats of container %s", c->name);
        out.running = true;
        out.cpu_total = s->cpu.total;
        out.pids = s->pids.current;
        memory(s, &out);
        block_io(s, &out);
        network(lc->pid, &out);
        *ret = out;
        return 0;
}

double berth_stats_cpu_percent(const struct berth_ctr_stats *prev,
                               const struct berth_ctr_stats *now)
{
        double cpu = (double) now->cpu_total - (double) prev->cpu_total,
               sys = (double) now->system_cpu - (double) prev->system_cpu;

        if (!prev->running || !now->running || cpu <= 0.0 || sys <= 0.0)
                return 0.0;
        return cpu / sys * (double) now->online_cpus * 100.0;
}

double berth_stats_mem_percent(const struct berth_ctr_stats *s)
{
        if (s->mem_limit == 0)
                return 0.0;
        return (double) s->mem_usage / (double) s->mem_limit * 100.0;
}
