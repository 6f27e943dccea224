/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth_stats_read() (stats.c) on fake cgroup files (fake-cgroup.h) as the kernel writes them:
 * the units runc reports (ns for CPU time, bytes), optional files, "max", the blkio group runc
 * would pick, cpuset lists, and the errors that name a file that does not parse. The driver is
 * the host's (berth_cgroup_mode()): the v1 files are read on a v1 or hybrid host, the v2 ones on a
 * v2 host; main runs the tests of the host's kind.
 */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "cgroup/stats.h"
#include "fake-cgroup.h"

static void set(struct fake_cgroup *f, const char *dir, const char *file, const char *value)
{
        _autofree_ char *rel = xasprintf("berth/test/%s", file);

        fake_cgroup_set(f, dir, rel, value);
}

static void unset(struct fake_cgroup *f, const char *dir, const char *file)
{
        _autofree_ char *rel = xasprintf("berth/test/%s", file);
        _autofree_ char *p = fake_cgroup_path(f, dir, rel);

        assert_int_equal(unlink(p), 0);
}

/* The hugetlb page sizes of this kernel, as stats names them. */
static size_t host_page_sizes(void)
{
        DIR *d = opendir("/sys/kernel/mm/hugepages");
        struct dirent *de;
        size_t n = 0;

        while (d && (de = readdir(d)))
                n += startswith(de->d_name, "hugepages-");
        if (d)
                closedir(d);
        return n;
}

static struct fake_cgroup *v1_fake(void)
{
        struct fake_cgroup *f = fake_cgroup_new("/berth/test");

        fake_cgroup_hier(f, "cpu,cpuacct", "cpu", true);
        set(f, "cpu", "cpuacct.usage", "123456789\n");
        set(f, "cpu", "cpuacct.usage_percpu", "100 200 \n");
        set(f, "cpu", "cpuacct.usage_all", "cpu user system\n0 60 40\n1 150 50\n");
        set(f, "cpu", "cpuacct.stat", "user 5\nsystem 3\n");
        set(f, "cpu", "cpu.stat", "nr_periods 10\nnr_throttled 2\nthrottled_time 3000\n");
        fake_cgroup_hier(f, "memory", "memory", true);
        set(f, "memory", "memory.stat", "rss 8192\ncache 4096\n");
        set(f, "memory", "memory.usage_in_bytes", "1000\n");
        set(f, "memory", "memory.max_usage_in_bytes", "2000\n");
        set(f, "memory", "memory.failcnt", "3\n");
        set(f, "memory", "memory.limit_in_bytes", "9223372036854771712\n");
        set(f, "memory", "memory.memsw.usage_in_bytes", "1500\n");
        set(f, "memory", "memory.memsw.max_usage_in_bytes", "2500\n");
        set(f, "memory", "memory.memsw.failcnt", "0\n");
        set(f, "memory", "memory.memsw.limit_in_bytes", "-1\n");
        /* kmem: gone from new kernels; kmem.tcp: only two of four files */
        set(f, "memory", "memory.kmem.tcp.usage_in_bytes", "7\n");
        fake_cgroup_hier(f, "pids", "pids", true);
        set(f, "pids", "pids.current", "3\n");
        set(f, "pids", "pids.max", "max\n");
        fake_cgroup_hier(f, "blkio", "blkio", true);
        set(f, "blkio", "blkio.throttle.io_service_bytes_recursive",
            "8:0 Read 4096\n8:0 Write 512\n8:0 Sync 4608\nTotal 4608\n");
        set(f, "blkio", "blkio.throttle.io_serviced_recursive", "8:0 Read 2\n8:0 Write 1\n");
        fake_cgroup_hier(f, "cpuset", "cpuset", true);
        set(f, "cpuset", "cpuset.cpus", "0-2,5\n");
        set(f, "cpuset", "cpuset.mems", "0\n");
        set(f, "cpuset", "cpuset.sched_load_balance", "1\n");
        set(f, "cpuset", "cpuset.sched_relax_domain_level", "-1\n");
        return f;
}

static void v1_files(void **state)
{
        _autofake_ struct fake_cgroup *f = NULL;
        _autoerr_ struct berth_error *err = NULL;
        _autostats_ struct berth_stats *s = NULL;
        long hz = sysconf(_SC_CLK_TCK);

        f = v1_fake();
        assert_int_equal(berth_stats_read(f->cg, &s, &err), 0);
        assert_int_equal(s->cpu.total, 123456789);
        assert_int_equal(s->cpu.percpu.n, 2);
        assert_int_equal(s->cpu.percpu.v[1], 200);
        assert_int_equal(s->cpu.percpu_user.n, 2);
        assert_int_equal(s->cpu.percpu_user.v[1], 150);
        assert_int_equal(s->cpu.percpu_kernel.v[0], 40);
        /* cpuacct.stat counts USER_HZ ticks */
        assert_int_equal(s->cpu.user, 5 * 1000000000ULL / (uint64_t) hz);
        assert_int_equal(s->cpu.kernel, 3 * 1000000000ULL / (uint64_t) hz);
        assert_int_equal(s->cpu.periods, 10);
        assert_int_equal(s->cpu.throttled_periods, 2);
        assert_int_equal(s->cpu.throttled_time, 3000);
        /* memory.stat sorted by key */
        assert_int_equal(s->memory.n_raw, 2);
        assert_string_equal(s->memory.raw[0].key, "cache");
        assert_int_equal(s->memory.raw[1].value, 8192);
        assert_int_equal(s->memory.cache, 4096);
        assert_int_equal(s->memory.usage.usage, 1000);
        assert_int_equal(s->memory.usage.max, 2000);
        assert_int_equal(s->memory.usage.failcnt, 3);
        assert_int_equal(s->memory.usage.limit, 9223372036854771712ULL);
        assert_int_equal(s->memory.swap.usage, 1500);
        assert_int_equal(s->memory.swap.limit, 0); /* a negative number is 0, as runc */
        assert_int_equal(s->memory.kernel.usage, 0);
        assert_int_equal(s->memory.kernel_tcp.usage, 0); /* incomplete: all zero */
        /* pids.max "max": limit 0 (unlimited) */
        assert_int_equal(s->pids.current, 3);
        assert_int_equal(s->pids.limit, 0);
        /* the throttle group (no BFQ, no CFQ files); "Total" lines are left out */
        assert_int_equal(s->blkio[BERTH_BLKIO_SERVICE_BYTES].n, 3);
        assert_string_equal(s->blkio[BERTH_BLKIO_SERVICE_BYTES].v[0].op, "Read");
        assert_int_equal(s->blkio[BERTH_BLKIO_SERVICE_BYTES].v[1].value, 512);
        assert_int_equal(s->blkio[BERTH_BLKIO_SERVICED].n, 2);
        assert_int_equal(s->blkio[BERTH_BLKIO_SERVICED].v[0].major, 8);
        assert_int_equal(s->blkio[BERTH_BLKIO_QUEUED].n, 0);
        /* "0-2,5" */
        assert_int_equal(s->cpuset.cpus.n, 4);
        assert_int_equal(s->cpuset.cpus.v[3], 5);
        assert_int_equal(s->cpuset.mems.n, 1);
        assert_int_equal(s->cpuset.sched_load_balance, 1);
        assert_int_equal(s->cpuset.sched_relax_domain_level, -1);
        /* no hugetlb hierarchy: no entries */
        assert_int_equal(s->n_hugetlb, 0);
}

/* BFQ's files win over the throttle ones, as in runc's order. */
static void v1_blkio_bfq_first(void **state)
{
        _autofake_ struct fake_cgroup *f = NULL;
        _autoerr_ struct berth_error *err = NULL;
        _autostats_ struct berth_stats *s = NULL;

        f = v1_fake();
        set(f, "blkio", "blkio.bfq.io_serviced_recursive", "8:16 Read 9\n");
        set(f, "blkio", "blkio.bfq.io_service_bytes_recursive", "8:16 Read 9000\n");
        assert_int_equal(berth_stats_read(f->cg, &s, &err), 0);
        assert_int_equal(s->blkio[BERTH_BLKIO_SERVICED].n, 1);
        assert_int_equal(s->blkio[BERTH_BLKIO_SERVICED].v[0].minor, 16);
        assert_int_equal(s->blkio[BERTH_BLKIO_SERVICE_BYTES].v[0].value, 9000);
}

/* A hybrid host's cgroup2 mount holds hugetlb: hugetlb.<size>.current and the "max" count of
 * hugetlb.<size>.events, for each page size of this kernel. */
static void v1_hugetlb_from_the_unified_mount(void **state)
{
        _autofake_ struct fake_cgroup *f = NULL;
        _autoerr_ struct berth_error *err = NULL;
        _autostats_ struct berth_stats *s = NULL;

        f = v1_fake();
        fake_cgroup_hier(f, "", "unified", true);
        set(f, "unified", "hugetlb.2MB.current", "4194304\n");
        set(f, "unified", "hugetlb.2MB.events", "max 2\n");
        assert_int_equal(berth_stats_read(f->cg, &s, &err), 0);
        assert_int_equal(s->n_hugetlb, host_page_sizes());
        for (size_t i = 0; i < s->n_hugetlb; i++) {
                if (i > 0)
                        assert_true(strcmp(s->hugetlb[i - 1].page_size, s->hugetlb[i].page_size) <
                                    0);
                if (!streq(s->hugetlb[i].page_size, "2MB"))
                        continue;
                assert_int_equal(s->hugetlb[i].usage, 4194304);
                assert_int_equal(s->hugetlb[i].failcnt, 2);
        }
}

static void v1_errors_name_the_file(void **state)
{
        _autofake_ struct fake_cgroup *f = NULL;
        _autostats_ struct berth_stats *s = NULL;
        struct berth_error *err = NULL;

        f = v1_fake();
        set(f, "memory", "memory.stat", "cache 1\nbroken\n");
        assert_int_equal(berth_stats_read(f->cg, &s, &err), -EINVAL);
        assert_string_equal(err->msg, "cgroup /berth/test: memory.stat: line \"broken\": expected "
                                      "\"key value\"");
        berth_error_freep(&err);
        set(f, "memory", "memory.stat", "cache 1\n");
        unset(f, "memory", "memory.usage_in_bytes");
        assert_int_equal(berth_stats_read(f->cg, &s, &err), -ENOENT);
        assert_string_equal(err->msg,
                            "cgroup /berth/test: read memory.usage_in_bytes: No such file "
                            "or directory");
        berth_error_freep(&err);
        set(f, "memory", "memory.usage_in_bytes", "lots\n");
        assert_int_equal(berth_stats_read(f->cg, &s, &err), -EINVAL);
        assert_string_equal(
            err->msg, "cgroup /berth/test: memory.usage_in_bytes: \"lots\\n\" is not a number");
        berth_error_freep(&err);
        set(f, "memory", "memory.usage_in_bytes", "1\n");
        set(f, "cpuset", "cpuset.cpus", "3-1\n");
        assert_int_equal(berth_stats_read(f->cg, &s, &err), -EINVAL);
        assert_string_equal(err->msg, "cgroup /berth/test: cpuset.cpus: invalid list \"3-1\\n\"");
        berth_error_freep(&err);
        set(f, "cpuset", "cpuset.cpus", "0\n");
        set(f, "blkio", "blkio.throttle.io_service_bytes_recursive", "8:0 Read x\n");
        assert_int_equal(berth_stats_read(f->cg, &s, &err), -EINVAL);
        assert_string_equal(err->msg,
                            "cgroup /berth/test: blkio.throttle.io_service_bytes_recursive: "
                            "invalid line \"8:0 Read x\"");
        berth_error_freep(&err);
        assert_null(s);
}

/* A controller the host does not have leaves its part zero. */
static void v1_missing_controllers(void **state)
{
        _autofake_ struct fake_cgroup *f = fake_cgroup_new("/berth/test");
        _autoerr_ struct berth_error *err = NULL;
        _autostats_ struct berth_stats *s = NULL;

        fake_cgroup_hier(f, "name=systemd", "systemd", true);
        assert_int_equal(berth_stats_read(f->cg, &s, &err), 0);
        assert_int_equal(s->cpu.total, 0);
        assert_int_equal(s->memory.n_raw, 0);
        assert_int_equal(s->pids.current, 0);
}

static void v2_files(void **state)
{
        _autofake_ struct fake_cgroup *f = fake_cgroup_new("/berth/test");
        _autoerr_ struct berth_error *err = NULL;
        _autostats_ struct berth_stats *s = NULL;

        fake_cgroup_hier(f, "", "unified", true);
        set(f, "unified", "cpu.stat",
            "usage_usec 100\nuser_usec 60\nsystem_usec 40\nnr_periods 5\nnr_throttled 1\n"
            "throttled_usec 7\n");
        set(f, "unified", "memory.stat", "anon 100\nfile 4096\n");
        set(f, "unified", "memory.current", "1000\n");
        set(f, "unified", "memory.max", "max\n");
        set(f, "unified", "memory.peak", "2000\n");
        set(f, "unified", "memory.swap.current", "10\n");
        set(f, "unified", "memory.swap.max", "100\n");
        set(f, "unified", "pids.current", "2\n");
        set(f, "unified", "pids.max", "50\n");
        set(f, "unified", "io.stat", "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0\n");
        set(f, "unified", "cpuset.cpus.effective", "0-1\n");
        assert_int_equal(berth_stats_read(f->cg, &s, &err), 0);
        assert_int_equal(s->cpu.total, 100000);
        assert_int_equal(s->cpu.user, 60000);
        assert_int_equal(s->cpu.kernel, 40000);
        assert_int_equal(s->cpu.throttled_time, 7000);
        assert_int_equal(s->memory.cache, 4096);
        assert_int_equal(s->memory.usage.limit, UINT64_MAX);
        assert_int_equal(s->memory.usage.max, 2000);
        /* memory+swap, as v1's memsw */
        assert_int_equal(s->memory.swap.usage, 1010);
        assert_int_equal(s->memory.swap.limit, UINT64_MAX);
        assert_int_equal(s->pids.limit, 50);
        assert_int_equal(s->blkio[BERTH_BLKIO_SERVICE_BYTES].n, 2);
        assert_string_equal(s->blkio[BERTH_BLKIO_SERVICE_BYTES].v[1].op, "Write");
        assert_int_equal(s->blkio[BERTH_BLKIO_SERVICED].v[0].value, 3);
        assert_int_equal(s->cpuset.cpus.n, 2);
        assert_int_equal(s->cpuset.mems.n, 0);
}

static void page_size_names(void **state)
{
        static const struct {
                uint64_t kb;
                const char *name;
        } cases[] = {{64, "64KB"}, {2048, "2MB"}, {1048576, "1GB"}, {1536, "1536KB"}, {0, "0KB"}};
        char buf[16];

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                berth_hugepage_size_name(cases[i].kb, buf);
                assert_string_equal(buf, cases[i].name);
        }
}

int main(void)
{
        const struct CMUnitTest v1[] = {
            cmocka_unit_test(v1_files),
            cmocka_unit_test(v1_blkio_bfq_first),
            cmocka_unit_test(v1_hugetlb_from_the_unified_mount),
            cmocka_unit_test(v1_errors_name_the_file),
            cmocka_unit_test(v1_missing_controllers),
            cmocka_unit_test(page_size_names),
        };
        const struct CMUnitTest v2[] = {
            cmocka_unit_test(v2_files),
            cmocka_unit_test(page_size_names),
        };

        /* the files of the host's driver (see the top): a group for each */
        if (berth_cgroup_mode() == BERTH_CGROUP_V2)
                return cmocka_run_group_tests_name("cgroup v2 host", v2, NULL, NULL);
        return cmocka_run_group_tests_name("cgroup v1 or hybrid host", v1, NULL, NULL);
}
