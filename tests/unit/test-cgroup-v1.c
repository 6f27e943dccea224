/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cgroup v1 driver (cgroup-v1.c) on fake hierarchies (fake-cgroup.h): create makes the path in
 * every hierarchy and keeps the parents at destroy, open, attach, freeze through freezer.state,
 * kill (frozen first for SIGKILL) of real child processes listed in cgroup.procs, and the
 * realtime budget a container's parents give back. The kernel's side (a cpuset cgroup inheriting
 * cpus and mems, rmdir waiting for dying tasks) is the integration suite's (test_cgroups.py).
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "fake-cgroup.h"

#define OPS (&berth_cgroup_v1_ops)

static pid_t sleeper(void)
{
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0) {
                execl("/bin/sleep", "sleep", "100", (char *) NULL);
                _exit(127);
        }
        return pid;
}

static int reap(pid_t pid)
{
        int status = 0;

        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        return status;
}

static bool is_dir(const char *path)
{
        struct stat st;

        return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* create: the path in every hierarchy, parents too; the leaves open. destroy: the leaves go, the
 * parents stay (as with runc and crun). */
static void create_and_destroy(void **state)
{
        _autofake_ struct fake_cgroup *f = fake_cgroup_new("/berth/a/test");
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *leaf = NULL, *parent = NULL;

        fake_cgroup_hier(f, "memory", "memory", false);
        fake_cgroup_hier(f, "pids", "pids", false);
        fake_cgroup_hier(f, "", "unified", false);
        assert_int_equal(OPS->create(f->cg, &err), 0);
        for (size_t i = 0; i < f->cg->n_h; i++) {
                struct stat st;

                assert_true(f->cg->h[i].fd >= 0);
                assert_int_equal(fstat(f->cg->h[i].fd, &st), 0);
                assert_true(S_ISDIR(st.st_mode));
        }
        leaf = fake_cgroup_path(f, "pids", "berth/a/test");
        parent = fake_cgroup_path(f, "pids", "berth/a");
        assert_true(is_dir(leaf));
        assert_int_equal(OPS->destroy(f->cg, &err), 0);
        assert_false(is_dir(leaf));
        assert_true(is_dir(parent));
        for (size_t i = 0; i < f->cg->n_h; i++)
                assert_int_equal(f->cg->h[i].fd, -EBADF);
        /* a leaf that is gone already is no error */
        assert_int_equal(OPS->destroy(f->cg, &err), 0);
}

/* An existing leaf is reused (a crashed create); a hierarchy that is not there is an error. */
static void create_errors(void **state)
{
        _autofake_ struct fake_cgroup *f = fake_cgroup_new("/berth/test");
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *want = NULL;

        fake_cgroup_hier(f, "memory", "memory", true);
        closep(&f->cg->h[0].fd);
        assert_int_equal(OPS->create(f->cg, &err), 0);
        fake_cgroup_hier(f, "pids", "pids", false);
        free(f->cg->h[1].mount);
        f->cg->h[1].mount = fake_cgroup_mount(f, "no-such-mount");
        closep(&f->cg->h[0].fd);
        assert_int_equal(OPS->create(f->cg, &err), -ENOENT);
        want =
            xasprintf("open cgroup hierarchy %s/no-such-mount: No such file or directory", f->root);
        assert_string_equal(err->msg, want);
}

/* open: the hierarchies where the cgroup exists; none is an error. */
static void open_existing(void **state)
{
        _autofake_ struct fake_cgroup *f = fake_cgroup_new("/berth/test");
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *leaf = NULL;

        fake_cgroup_hier(f, "memory", "memory", true);
        fake_cgroup_hier(f, "pids", "pids", false);
        closep(&f->cg->h[0].fd);
        assert_int_equal(OPS->open(f->cg, &err), 0);
        assert_true(f->cg->h[0].fd >= 0);
        assert_true(f->cg->h[1].fd < 0);
        closep(&f->cg->h[0].fd);
        leaf = fake_cgroup_path(f, "memory", "berth/test");
        assert_int_equal(rmdir(leaf), 0);
        assert_int_equal(OPS->open(f->cg, &err), -ENOENT);
        assert_string_equal(err->msg, "cgroup /berth/test does not exist");
}

static void attach_writes_every_hierarchy(void **state)
{
        _autofake_ struct fake_cgroup *f = fake_cgroup_new("/berth/test");
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *a = NULL, *b = NULL;

        fake_cgroup_hier(f, "memory", "memory", true);
        fake_cgroup_hier(f, "pids", "pids", true);
        fake_cgroup_hier(f, "cpuset", "cpuset", false); /* not open: skipped */
        fake_cgroup_set(f, "memory", "berth/test/cgroup.procs", "");
        fake_cgroup_set(f, "pids", "berth/test/cgroup.procs", "");
        assert_int_equal(OPS->attach(f->cg, 4242, &err), 0);
        a = fake_cgroup_get(f, "memory", "berth/test/cgroup.procs");
        b = fake_cgroup_get(f, "pids", "berth/test/cgroup.procs");
        assert_string_equal(a, "4242");
        assert_string_equal(b, "4242");
        fake_cgroup_hier(f, "blkio", "blkio", true); /* no cgroup.procs there */
        assert_int_equal(OPS->attach(f->cg, 4242, &err), -ENOENT);
        assert_string_equal(err->msg, "attach pid 4242: cgroup /berth/test: write \"4242\" to "
                                      "cgroup.procs: No such file or directory");
}

static void freeze_through_freezer_state(void **state)
{
        _autofake_ struct fake_cgroup *f = fake_cgroup_new("/berth/test");
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *text = NULL;

        fake_cgroup_hier(f, "memory", "memory", true);
        assert_false(OPS->is_frozen(f->cg));
        assert_int_equal(OPS->freeze(f->cg, true, &err), -ENOTSUP);
        assert_string_equal(err->msg, "cgroup /berth/test: the freezer controller is not mounted");
        fake_cgroup_hier(f, "freezer", "freezer", true);
        fake_cgroup_set(f, "freezer", "berth/test/freezer.state", "THAWED\n");
        assert_false(OPS->is_frozen(f->cg));
        /* the fake's file takes the value at once, as the kernel's does once it is done */
        assert_int_equal(OPS->freeze(f->cg, true, &err), 0);
        text = fake_cgroup_get(f, "freezer", "berth/test/freezer.state");
        assert_true(startswith(text, "FROZEN"));
        assert_true(OPS->is_frozen(f->cg));
        assert_int_equal(OPS->freeze(f->cg, false, &err), 0);
        assert_false(OPS->is_frozen(f->cg));
}

/* Frozen only through a parent (freezer.self_freezing 0) is not frozen, as runc reads it. */
static void frozen_by_itself_only(void **state)
{
        _autofake_ struct fake_cgroup *f = fake_cgroup_new("/berth/test");

        fake_cgroup_hier(f, "freezer", "freezer", true);
        fake_cgroup_set(f, "freezer", "berth/test/freezer.state", "FROZEN\n");
        assert_true(OPS->is_frozen(f->cg)); /* no self_freezing (before Linux 3.11): frozen */
        fake_cgroup_set(f, "freezer", "berth/test/freezer.self_freezing", "0\n");
        assert_false(OPS->is_frozen(f->cg));
        fake_cgroup_set(f, "freezer", "berth/test/freezer.self_freezing", "1\n");
        assert_true(OPS->is_frozen(f->cg));
}

/* Each cpuset cgroup on the path with empty cpus or mems gets its parent's, top down (runc's
 * cpusetEnsureParent); one with values keeps them. */
static void cpuset_fills_empty_ones(void **state)
{
        _autofake_ struct fake_cgroup *f = fake_cgroup_new("/pod/mid/test");
        _autoerr_ struct berth_error *err = NULL;
        static const char *const dirs[] = {"", "pod/", "pod/mid/", "pod/mid/test/"};
        static const char *const cpus[] = {"0-3\n", "\n", "1-2\n", ""};

        fake_cgroup_hier(f, "cpuset", "cpuset", true);
        closep(&f->cg->h[0].fd);
        for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
                _autofree_ char *c = xasprintf("%scpuset.cpus", dirs[i]);
                _autofree_ char *m = xasprintf("%scpuset.mems", dirs[i]);

                fake_cgroup_set(f, "cpuset", c, cpus[i]);
                fake_cgroup_set(f, "cpuset", m, i == 0 ? "0\n" : "");
        }
        assert_int_equal(OPS->create(f->cg, &err), 0);
        for (size_t i = 1; i < ARRAY_SIZE(dirs); i++) {
                _autofree_ char *c = xasprintf("%scpuset.cpus", dirs[i]);
                _autofree_ char *m = xasprintf("%scpuset.mems", dirs[i]);
                _autofree_ char *gc = fake_cgroup_get(f, "cpuset", c);
                _autofree_ char *gm = fake_cgroup_get(f, "cpuset", m);

                /* pod: the root's; mid keeps its own; the leaf: mid's */
                assert_string_equal(gc, i == 1 ? "0-3\n" : "1-2\n");
                assert_string_equal(gm, "0\n");
        }
}

/* kill signals every pid of cgroup.procs; SIGKILL freezes first and thaws after. */
static void kill_signals_the_cgroups_processes(void **state)
{
        _autofake_ struct fake_cgroup *f = fake_cgroup_new("/berth/test");
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *procs = NULL, *frozen = NULL;
        pid_t a = sleeper(), b = sleeper();
        int sa, sb;

        fake_cgroup_hier(f, "pids", "pids", true);
        procs = xasprintf("%d\n%d\n", (int) a, (int) b);
        fake_cgroup_set(f, "pids", "berth/test/cgroup.procs", procs);
        assert_int_equal(OPS->kill(f->cg, SIGTERM, &err), 0);
        sa = reap(a);
        sb = reap(b);
        assert_true(WIFSIGNALED(sa) && WTERMSIG(sa) == SIGTERM);
        assert_true(WIFSIGNALED(sb) && WTERMSIG(sb) == SIGTERM);

        a = sleeper();
        free(procs);
        procs = xasprintf("%d\n", (int) a);
        fake_cgroup_set(f, "pids", "berth/test/cgroup.procs", procs);
        fake_cgroup_hier(f, "freezer", "freezer", true);
        fake_cgroup_set(f, "freezer", "berth/test/freezer.state", "THAWED\n");
        assert_int_equal(OPS->kill(f->cg, SIGKILL, &err), 0);
        sa = reap(a);
        assert_true(WIFSIGNALED(sa) && WTERMSIG(sa) == SIGKILL);
        frozen = fake_cgroup_get(f, "freezer", "berth/test/freezer.state");
        assert_true(startswith(frozen, "THAWED"));
        /* an empty cgroup: nothing to do, not even a freeze */
        fake_cgroup_set(f, "pids", "berth/test/cgroup.procs", "");
        fake_cgroup_set(f, "freezer", "berth/test/freezer.state", "");
        assert_int_equal(OPS->kill(f->cg, SIGKILL, &err), 0);
        free(frozen);
        frozen = fake_cgroup_get(f, "freezer", "berth/test/freezer.state");
        assert_string_equal(frozen, "");
}

/* ---- realtime group scheduling -------------------------------------------------------------- */

static void realtime_shares(void **state)
{
        _autofake_ struct fake_cgroup *f = fake_cgroup_new("/berth/test");
        struct cg_hier *cpu;
        int64_t v = 0;
        int dir;

        fake_cgroup_hier(f, "cpu,cpuacct", "cpu", true);
        cpu = &f->cg->h[0];
        fake_cgroup_set(f, "cpu", "berth/test/cpu.rt_period_us", "1000000\n");
        fake_cgroup_set(f, "cpu", "berth/test/cpu.rt_runtime_us", "950000\n");
        assert_int_equal(berth_cg_read_i64_at(cpu->fd, "cpu.rt_runtime_us", &v), 0);
        assert_int_equal(v, 950000);
        assert_int_equal(berth_cg_read_i64_at(cpu->fd, "cpu.nope", &v), -EIO);
        /* in microseconds per the caller's period, rounded up */
        assert_int_equal(berth_cg_rt_share(cpu->fd, 1000000), 950000);
        assert_int_equal(berth_cg_rt_share(cpu->fd, 500000), 475000);
        assert_int_equal(berth_cg_rt_share(cpu->fd, 3), 3);
        fake_cgroup_set(f, "cpu", "berth/test/cpu.rt_runtime_us", "-1\n");
        assert_int_equal(berth_cg_rt_share(cpu->fd, 1000000), 0);
        fake_cgroup_set(f, "cpu", "berth/test/cpu.rt_runtime_us", "x\n");
        assert_int_equal(berth_cg_rt_share(cpu->fd, 1000000), 0);

        /* the children's sum, skipping one by name */
        for (const char *const *d = (const char *const[]){"a", "b", ".hidden", NULL}; *d; d++) {
                _autofree_ char *rel = xasprintf("berth/test/%s", *d);
                _autofree_ char *p = fake_cgroup_path(f, "cpu", rel);

                fake_cgroup_mkdirs(p);
        }
        fake_cgroup_set(f, "cpu", "berth/test/a/cpu.rt_period_us", "100000\n");
        fake_cgroup_set(f, "cpu", "berth/test/a/cpu.rt_runtime_us", "1000\n");
        fake_cgroup_set(f, "cpu", "berth/test/b/cpu.rt_period_us", "1000000\n");
        fake_cgroup_set(f, "cpu", "berth/test/b/cpu.rt_runtime_us", "5000\n");
        fake_cgroup_set(f, "cpu", "berth/test/.hidden/cpu.rt_period_us", "1000000\n");
        fake_cgroup_set(f, "cpu", "berth/test/.hidden/cpu.rt_runtime_us", "7\n");
        /* a fresh fd for each call: the fd's directory offset is shared with the stream that
         * berth_cg_rt_children reads (fdopendir of a dup) */
        static const struct {
                const char *skip;
                int64_t sum;
        } sums[] = {{NULL, 15000}, {"a", 5000}, {"b", 10000}};
        for (size_t i = 0; i < ARRAY_SIZE(sums); i++) {
                dir = openat(cpu->fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                assert_true(dir >= 0);
                assert_int_equal(berth_cg_rt_children(dir, 1000000, sums[i].skip), sums[i].sum);
                close(dir);
        }
}

/* destroy gives the container's realtime time back: its own goes to 0 first, then each parent
 * keeps what its remaining children hold. */
static void destroy_gives_realtime_back(void **state)
{
        _autofake_ struct fake_cgroup *f = fake_cgroup_new("/berth/test");
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *own = NULL, *parent = NULL, *own_file = NULL;

        fake_cgroup_hier(f, "cpu,cpuacct", "cpu", true);
        fake_cgroup_set(f, "cpu", "berth/cpu.rt_period_us", "1000000\n");
        fake_cgroup_set(f, "cpu", "berth/cpu.rt_runtime_us", "30000\n");
        /* another container, which keeps its share */
        {
                _autofree_ char *other = fake_cgroup_path(f, "cpu", "berth/other");

                fake_cgroup_mkdirs(other);
        }
        fake_cgroup_set(f, "cpu", "berth/other/cpu.rt_period_us", "1000000\n");
        fake_cgroup_set(f, "cpu", "berth/other/cpu.rt_runtime_us", "10000\n");
        fake_cgroup_set(f, "cpu", "berth/test/cpu.rt_runtime_us", "20000\n");
        /* the fake's leaf is not empty (the kernel's files do not count): its rmdir fails, after
         * the container's own time went to 0 */
        assert_int_equal(OPS->destroy(f->cg, &err), -EBUSY);
        assert_true(startswith(err->msg, "remove cgroup "));
        own = fake_cgroup_get(f, "cpu", "berth/test/cpu.rt_runtime_us");
        assert_true(own && startswith(own, "0"));
        /* emptied: the leaf goes, and /berth keeps what "other" holds */
        own_file = fake_cgroup_path(f, "cpu", "berth/test/cpu.rt_runtime_us");
        assert_int_equal(unlink(own_file), 0);
        assert_int_equal(OPS->open(f->cg, &err), 0);
        assert_int_equal(OPS->destroy(f->cg, &err), 0);
        parent = fake_cgroup_get(f, "cpu", "berth/cpu.rt_runtime_us");
        assert_string_equal(parent, "10000\n");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(create_and_destroy),
            cmocka_unit_test(create_errors),
            cmocka_unit_test(open_existing),
            cmocka_unit_test(attach_writes_every_hierarchy),
            cmocka_unit_test(freeze_through_freezer_state),
            cmocka_unit_test(frozen_by_itself_only),
            cmocka_unit_test(cpuset_fills_empty_ones),
            cmocka_unit_test(kill_signals_the_cgroups_processes),
            cmocka_unit_test(realtime_shares),
            cmocka_unit_test(destroy_gives_realtime_back),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
