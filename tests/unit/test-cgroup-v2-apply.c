/* SPDX-License-Identifier: Apache-2.0 */
/*
 * linux.resources converted to cgroup v2 files (cgroup-v2-apply.c) and written into a fake leaf
 * (fake-cgroup.h): the value conversions (swap, shares to weight, quota/period, blkio weights,
 * throttles), what v2 cannot do and the errors that name it, what a missing file or controller
 * means, and unified written last.
 *
 * The device rules become an eBPF program attached to the cgroup, which a fake cannot take: the
 * test runs in a user namespace of its own, where the kernel refuses to load it and apply warns
 * and goes on (as for a rootless container). The filter itself is checked on a real cgroup v2
 * (tests/vm, test_cgroups.py device rules).
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "base/log.h"
#include "fake-cgroup.h"
#include "spec/resources.h"

#define ALL_CONTROLLERS "cpuset cpu io memory hugetlb pids rdma misc\n"
#define DEVICES_WARNING                                                                            \
        "linux.resources.devices: a user namespace may not load eBPF device filters, ignoring\n"

static char warnings[4096];

static void keep_warning(enum berth_log_level level, const char *msg, void *userdata)
{
        size_t n = strlen(warnings);

        if (level == BERTH_LOG_WARN)
                snprintf(warnings + n, sizeof(warnings) - n, "%s\n", msg);
}

/* Test inputs use single quotes for readability; this turns them into JSON. */
static char *dq(const char *json)
{
        char *s = xstrdup(json);

        for (char *p = s; *p; p++)
                if (*p == '\'')
                        *p = '"';
        return s;
}

/* A leaf "/berth/test" with cgroup.controllers and empty files `files` (space-separated); FIFOs
 * for the files written more than once (io.max, rdma.max, the io weights), opened here so that
 * each write lands in them in order. */
struct leaf {
        struct fake_cgroup *f;
        int fifo[4];
        char *fifo_name[4];
        size_t n_fifo;
};

static void leaf_init(struct leaf *l, const char *controllers, const char *files, const char *fifos)
{
        _autofree_ char *copy = xstrdup(files), *fcopy = xstrdup(fifos);
        char *save = NULL;

        *l = (struct leaf){.f = fake_cgroup_new("/berth/test")};
        fake_cgroup_hier(l->f, "", "unified", true);
        if (controllers)
                fake_cgroup_set(l->f, "unified", "berth/test/cgroup.controllers", controllers);
        for (char *n = strtok_r(copy, " ", &save); n; n = strtok_r(NULL, " ", &save)) {
                _autofree_ char *rel = xasprintf("berth/test/%s", n);

                fake_cgroup_set(l->f, "unified", rel, "");
        }
        for (char *n = strtok_r(fcopy, " ", &save); n; n = strtok_r(NULL, " ", &save)) {
                int dir = l->f->cg->h[0].fd;

                assert_true(l->n_fifo < ARRAY_SIZE(l->fifo));
                assert_int_equal(mkfifoat(dir, n, 0600), 0);
                l->fifo[l->n_fifo] = openat(dir, n, O_RDWR | O_NONBLOCK | O_CLOEXEC);
                assert_true(l->fifo[l->n_fifo] >= 0);
                l->fifo_name[l->n_fifo++] = xstrdup(n);
        }
        warnings[0] = '\0';
}

static void leaf_done(struct leaf *l)
{
        for (size_t i = 0; i < l->n_fifo; i++) {
                close(l->fifo[i]);
                free(l->fifo_name[i]);
        }
        fake_cgroup_free(l->f);
}

/* What a regular file of the leaf holds ("" if never written, NULL if absent). */
static char *leaf_file(struct leaf *l, const char *name)
{
        _autofree_ char *rel = xasprintf("berth/test/%s", name);

        return fake_cgroup_get(l->f, "unified", rel);
}

static void expect_file(struct leaf *l, const char *name, const char *want)
{
        _autofree_ char *got = leaf_file(l, name);

        if (!got || !streq(got, want))
                fail_msg("%s: \"%s\", want \"%s\"", name, got ? got : "(missing)", want);
}

/* Everything written to a FIFO of the leaf so far, each write one after the other. */
static void expect_fifo(struct leaf *l, const char *name, const char *want)
{
        char buf[1024] = "";
        ssize_t n = 0;

        for (size_t i = 0; i < l->n_fifo; i++)
                if (streq(l->fifo_name[i], name)) {
                        n = read(l->fifo[i], buf, sizeof(buf) - 1);
                        buf[n > 0 ? n : 0] = '\0';
                }
        if (!streq(buf, want))
                fail_msg("%s: \"%s\", want \"%s\"", name, buf, want);
}

static struct berth_resources *parse(const char *text)
{
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *json = dq(text);
        struct berth_resources *r = NULL;

        if (berth_resources_parse(json, "config.json", "linux.resources", &r, &err) < 0)
                fail_msg("parse %s: %s", json, err->msg);
        return r;
}

static int apply(struct leaf *l, const char *text, struct berth_error **err)
{
        struct berth_resources *r = parse(text);
        int rc = berth_cgroup_v2_apply(l->f->cg, r, err);

        berth_resources_free(r);
        return rc;
}

/* What the parser refuses already, as apply still would (a caller's own struct). */
static void apply_struct_fails(struct leaf *l, struct berth_resources *r, int code, const char *msg)
{
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *want = dq(msg);

        assert_int_equal(berth_cgroup_v2_apply(l->f->cg, r, &err), -code);
        assert_string_equal(err->msg, want);
        berth_resources_free(r);
}

static void apply_ok(struct leaf *l, const char *text)
{
        _autoerr_ struct berth_error *err = NULL;

        if (apply(l, text, &err) < 0)
                fail_msg("apply %s: %s", text, err->msg);
}

static void apply_fails(struct leaf *l, const char *text, int code, const char *msg)
{
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *want = dq(msg);

        assert_int_equal(apply(l, text, &err), -code);
        assert_string_equal(err->msg, want);
}

/* ---- memory --------------------------------------------------------------------------------- */

static void memory_limits(void **state)
{
        struct leaf l;

        leaf_init(&l, ALL_CONTROLLERS, "memory.max memory.low memory.swap.max", "");
        /* v1's swap is memory+swap; v2's memory.swap.max is swap alone */
        apply_ok(&l, "{'memory': {'limit': 536870912, 'reservation': 268435456, "
                     "'swap': 1073741824}}");
        expect_file(&l, "memory.max", "536870912");
        expect_file(&l, "memory.low", "268435456");
        expect_file(&l, "memory.swap.max", "536870912");
        /* the devices filter cannot be loaded here: a warning, and the rest is applied */
        assert_string_equal(warnings, DEVICES_WARNING);
        leaf_done(&l);

        /* unlimited memory and no swap given: swap unlimited too; -1 is "max" */
        leaf_init(&l, ALL_CONTROLLERS, "memory.max memory.swap.max", "");
        apply_ok(&l, "{'memory': {'limit': -1}}");
        expect_file(&l, "memory.max", "max");
        expect_file(&l, "memory.swap.max", "max");
        leaf_done(&l);

        /* zero means unset: nothing written */
        leaf_init(&l, ALL_CONTROLLERS, "memory.max memory.swap.max", "");
        apply_ok(&l, "{'memory': {'limit': 0, 'swap': 0}}");
        expect_file(&l, "memory.max", "");
        expect_file(&l, "memory.swap.max", "");
        leaf_done(&l);
}

static void memory_what_v2_cannot_do(void **state)
{
        struct berth_resources *r;
        struct leaf l;

        leaf_init(&l, ALL_CONTROLLERS, "memory.max memory.swap.max", "");
        r = parse("{'memory': {'limit': 2048, 'swap': 4096}}");
        r->memory.swap = 1024;
        apply_struct_fails(&l, r, EINVAL,
                           "linux.resources.memory.swap: memory+swap limit 1024 should be >= "
                           "memory limit 2048");
        apply_fails(&l, "{'memory': {'swap': 1024}}", EINVAL,
                    "linux.resources.memory.swap: 1024 needs a memory limit (cgroup v2 limits swap "
                    "alone: swap - limit)");
        apply_fails(&l, "{'memory': {'swappiness': 10}}", ENOTSUP,
                    "linux.resources.memory.swappiness: cannot be converted to cgroup v2, which "
                    "has no per-cgroup swappiness");
        apply_fails(&l, "{'memory': {'disableOOMKiller': true}}", ENOTSUP,
                    "linux.resources.memory.disableOOMKiller: cannot be converted to cgroup v2, "
                    "which cannot disable the OOM killer");
        apply_fails(&l, "{'memory': {'useHierarchy': false}}", ENOTSUP,
                    "linux.resources.memory.useHierarchy: cannot be converted to cgroup v2, which "
                    "is always hierarchical");
        /* the kernel limits Linux no longer enforces: warnings */
        warnings[0] = '\0';
        apply_ok(&l, "{'memory': {'kernel': 1048576, 'kernelTCP': 1048576}}");
        assert_string_equal(warnings, DEVICES_WARNING
                            "linux.resources.memory.kernel: cgroup v2 has no kernel memory limit "
                            "(kernel memory counts towards memory.max), ignoring\n"
                            "linux.resources.memory.kernelTCP: cgroup v2 has no TCP buffer limit "
                            "(it counts towards memory.max), ignoring\n");
        leaf_done(&l);

        /* no swap accounting: only what the host does anyway may be asked for */
        leaf_init(&l, ALL_CONTROLLERS, "memory.max", "");
        apply_ok(&l, "{'memory': {'limit': 1024, 'swap': 1024}}");
        apply_fails(&l, "{'memory': {'limit': 1024, 'swap': 2048}}", ENOTSUP,
                    "linux.resources.memory.swap: this host has no swap accounting (no "
                    "memory.swap.max)");
        leaf_done(&l);
}

/* ---- cpu ------------------------------------------------------------------------------------ */

static void cpu_values(void **state)
{
        struct leaf l;

        leaf_init(&l, ALL_CONTROLLERS,
                  "cpu.weight cpu.max cpu.max.burst cpu.idle cpuset.cpus cpuset.mems", "");
        /* shares 2..262144 -> weight 1..10000 */
        apply_ok(&l, "{'cpu': {'shares': 1024, 'quota': 50000, 'period': 100000, 'burst': 1000, "
                     "'idle': 1, 'cpus': '0-1', 'mems': '0'}}");
        expect_file(&l, "cpu.weight", "39");
        expect_file(&l, "cpu.max", "50000 100000");
        expect_file(&l, "cpu.max.burst", "1000");
        expect_file(&l, "cpu.idle", "1");
        expect_file(&l, "cpuset.cpus", "0-1");
        expect_file(&l, "cpuset.mems", "0");
        leaf_done(&l);

        /* no quota: "max"; no period: the kernel keeps its own */
        leaf_init(&l, ALL_CONTROLLERS, "cpu.max", "");
        apply_ok(&l, "{'cpu': {'quota': -1, 'period': 250000}}");
        expect_file(&l, "cpu.max", "max 250000");
        leaf_done(&l);
        leaf_init(&l, ALL_CONTROLLERS, "cpu.max", "");
        apply_ok(&l, "{'cpu': {'quota': 20000}}");
        expect_file(&l, "cpu.max", "20000");
        leaf_done(&l);
        leaf_init(&l, ALL_CONTROLLERS, "cpu.weight", "");
        apply_ok(&l, "{'cpu': {'shares': 262144}}");
        expect_file(&l, "cpu.weight", "10000");
        leaf_done(&l);
}

static void cpu_what_v2_cannot_do(void **state)
{
        struct leaf l;

        leaf_init(&l, ALL_CONTROLLERS, "cpu.max", "");
        /* a knob of a newer kernel: an error when asked for, nothing when 0 */
        apply_fails(&l, "{'cpu': {'quota': 1000, 'burst': 10}}", ENOTSUP,
                    "linux.resources.cpu.burst: this kernel has no cpu.max.burst (Linux 5.14)");
        apply_ok(&l, "{'cpu': {'burst': 0, 'idle': 0}}");
        apply_fails(&l, "{'cpu': {'idle': 1}}", ENOTSUP,
                    "linux.resources.cpu.idle: this kernel has no cpu.idle (Linux 5.15)");
        apply_fails(&l, "{'cpu': {'realtimeRuntime': 950000}}", ENOTSUP,
                    "linux.resources.cpu.realtimeRuntime: cannot be converted to cgroup v2, which "
                    "has no realtime group scheduling (cpu.rt_runtime_us)");
        apply_fails(&l, "{'cpu': {'realtimePeriod': 1000000}}", ENOTSUP,
                    "linux.resources.cpu.realtimePeriod: cannot be converted to cgroup v2, which "
                    "has no realtime group scheduling (cpu.rt_runtime_us)");
        leaf_done(&l);
}

/* ---- pids, hugetlb, rdma, network ----------------------------------------------------------- */

static void pids_limit(void **state)
{
        static const struct {
                const char *json, *want;
        } cases[] = {
            {"{'pids': {'limit': 100}}", "100"},
            {"{'pids': {'limit': -1}}", "max"},
            {"{'pids': {'limit': 0}}", "max"},
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                struct leaf l;

                leaf_init(&l, ALL_CONTROLLERS, "pids.max", "");
                apply_ok(&l, cases[i].json);
                expect_file(&l, "pids.max", cases[i].want);
                leaf_done(&l);
        }
}

static void hugetlb_rdma_network(void **state)
{
        struct leaf l;

        leaf_init(&l, ALL_CONTROLLERS, "hugetlb.2MB.max hugetlb.2MB.rsvd.max", "rdma.max");
        apply_ok(&l, "{'hugepageLimits': [{'pageSize': '2MB', 'limit': 4194304}], "
                     "'rdma': {'mlx5_0': {'hcaHandles': 3, 'hcaObjects': 10000}}}");
        /* reservations are charged apart: the same limit, as runc */
        expect_file(&l, "hugetlb.2MB.max", "4194304");
        expect_file(&l, "hugetlb.2MB.rsvd.max", "4194304");
        expect_fifo(&l, "rdma.max", "mlx5_0 hca_handle=3 hca_object=10000");
        apply_fails(&l, "{'hugepageLimits': [{'pageSize': '1GB', 'limit': 1073741824}]}", EINVAL,
                    "linux.resources.hugepageLimits[0].pageSize: this host has no '1GB' huge pages "
                    "(no hugetlb.1GB.max)");
        apply_fails(&l, "{'network': {'classID': 1048577}}", ENOTSUP,
                    "linux.resources.network: cannot be converted to cgroup v2, which has no "
                    "net_cls or net_prio controller");
        leaf_done(&l);
}

/* ---- io ------------------------------------------------------------------------------------- */

static void io_weights_and_throttles(void **state)
{
        struct leaf l;

        /* BFQ takes the v1 scale as is */
        leaf_init(&l, ALL_CONTROLLERS, "", "io.bfq.weight io.max");
        apply_ok(&l, "{'blockIO': {'weight': 500, 'weightDevice': [{'major': 8, 'minor': 0, "
                     "'weight': 1000}], "
                     "'throttleReadBpsDevice': [{'major': 8, 'minor': 0, 'rate': 1048576}], "
                     "'throttleWriteBpsDevice': [{'major': 8, 'minor': 1, 'rate': 2}], "
                     "'throttleReadIOPSDevice': [{'major': 8, 'minor': 2, 'rate': 3}], "
                     "'throttleWriteIOPSDevice': [{'major': 8, 'minor': 3, 'rate': 0}]}}");
        expect_fifo(&l, "io.bfq.weight",
                    "500"
                    "8:0 1000");
        /* one write per limit; 0 lifts it, as in v1 */
        expect_fifo(&l, "io.max",
                    "8:0 rbps=1048576"
                    "8:1 wbps=2"
                    "8:2 riops=3"
                    "8:3 wiops=max");
        leaf_done(&l);

        /* io.cost's io.weight: 10..1000 converted to 1..10000 */
        leaf_init(&l, ALL_CONTROLLERS, "", "io.weight");
        apply_ok(&l, "{'blockIO': {'weight': 500, 'weightDevice': [{'major': 8, 'minor': 16, "
                     "'weight': 1000}]}}");
        expect_fifo(&l, "io.weight",
                    "default 4950"
                    "8:16 10000");
        leaf_done(&l);

        leaf_init(&l, ALL_CONTROLLERS, "", "");
        apply_fails(&l, "{'blockIO': {'weight': 500}}", ENOTSUP,
                    "linux.resources.blockIO.weight: no I/O scheduler of this host takes weights "
                    "(no io.bfq.weight or io.weight)");
        apply_fails(&l, "{'blockIO': {'leafWeight': 10}}", ENOTSUP,
                    "linux.resources.blockIO.leafWeight: cannot be converted to cgroup v2, which "
                    "has no leaf weights");
        leaf_done(&l);
}

/* ---- controllers and unified ---------------------------------------------------------------- */

/* A cgroup has the files of the controllers its parent gave it, and no others. */
static void controller_not_given_by_the_parent(void **state)
{
        struct leaf l;

        leaf_init(&l, "cpu pids\n", "memory.max", "");
        apply_fails(&l, "{'memory': {'limit': 1024}}", ENOTSUP,
                    "linux.resources.memory: cgroup /berth/test did not get the memory controller "
                    "from its parent (cgroup.subtree_control)");
        apply_fails(&l, "{'cpu': {'cpus': '0'}}", ENOTSUP,
                    "linux.resources.cpu.cpus: cgroup /berth/test did not get the cpuset "
                    "controller from its parent (cgroup.subtree_control)");
        leaf_done(&l);

        /* without cgroup.controllers the cgroup is not what it should be: an error */
        leaf_init(&l, NULL, "", "");
        apply_fails(&l, "{}", ENOENT,
                    "cgroup /berth/test: open cgroup.controllers: No such file or directory");
        closep(&l.f->cg->h[0].fd);
        apply_fails(&l, "{}", EINVAL, "cgroup /berth/test: not open");
        leaf_done(&l);
}

static void unified_last_and_checked(void **state)
{
        struct berth_resources *r;
        struct leaf l;

        leaf_init(&l, ALL_CONTROLLERS, "memory.max memory.high", "");
        /* written after the converted values: it wins */
        apply_ok(&l, "{'memory': {'limit': 1024}, 'unified': {'memory.max': '2048', "
                     "'memory.high': '1G'}}");
        expect_file(&l, "memory.max", "2048");
        expect_file(&l, "memory.high", "1G");
        r = parse("{'unified': {'memory.high': '1'}}");
        free(r->unified[0].key);
        r->unified[0].key = xstrdup("../x");
        apply_struct_fails(&l, r, EINVAL,
                           "linux.resources.unified['../x']: not a cgroup file name (no '/' or "
                           "'..')");
        apply_fails(&l, "{'unified': {'memory.nope': '1'}}", ENOENT,
                    "linux.resources.unified['memory.nope']: cgroup /berth/test has no such file");
        apply_fails(&l, "{'unified': {'freezer.x': '1'}}", ENOENT,
                    "linux.resources.unified['freezer.x']: cgroup /berth/test did not get the "
                    "'freezer' controller from its parent");
        leaf_done(&l);
}

/* The process runs in a user namespace of its own, root mapped to root (the fake's files are
 * root's): the kernel refuses to load a device filter there. */
static int enter_user_namespace(void)
{
        static const char *const files[][2] = {{"/proc/self/setgroups", "deny"},
                                               {"/proc/self/uid_map", "0 0 1"},
                                               {"/proc/self/gid_map", "0 0 1"}};
        uid_t uid = geteuid();
        gid_t gid = getegid();

        if (uid != 0 || gid != 0 || unshare(CLONE_NEWUSER) < 0)
                return -1;
        for (size_t i = 0; i < ARRAY_SIZE(files); i++)
                if (berth_write_file(files[i][0], files[i][1], NULL) < 0)
                        return -1;
        return 0;
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(memory_limits),
            cmocka_unit_test(memory_what_v2_cannot_do),
            cmocka_unit_test(cpu_values),
            cmocka_unit_test(cpu_what_v2_cannot_do),
            cmocka_unit_test(pids_limit),
            cmocka_unit_test(hugetlb_rdma_network),
            cmocka_unit_test(io_weights_and_throttles),
            cmocka_unit_test(controller_not_given_by_the_parent),
            cmocka_unit_test(unified_last_and_checked),
        };

        if (enter_user_namespace() < 0) {
                printf("1..0 # SKIP needs root and a user namespace of its own\n");
                return 77;
        }
        berth_log_set_handler(keep_warning, NULL);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
