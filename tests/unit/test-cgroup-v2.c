/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cgroup v2 driver (cgroup-v2.c) on a fake unified hierarchy (fake-cgroup.h): create and the
 * leaf it may reuse, open, attach, freeze through cgroup.freeze and cgroup.events, kill through
 * cgroup.kill or of each process (real children of the test), destroy of a tree of sub-cgroups.
 * What only the kernel's cgroup2 does (enabling controllers in cgroup.subtree_control, the
 * "no internal processes" rule, freezing for real) is checked in a cgroup v2 guest (tests/vm).
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "fake-cgroup.h"

#define OPS (&berth_cgroup_v2_ops)

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

static bool exists(const struct fake_cgroup *f, const char *rel)
{
        _autofree_ char *p = fake_cgroup_path(f, "unified", rel);

        return access(p, F_OK) == 0;
}

static void create_open_destroy(void **state)
{
        _autofake_ struct fake_cgroup *f = fake_cgroup_new("/berth/a/test");
        _autoerr_ struct berth_error *err = NULL;

        fake_cgroup_hier(f, "", "unified", false);
        assert_int_equal(OPS->create(f->cg, &err), 0);
        assert_true(f->cg->h[0].fd >= 0);
        assert_true(exists(f, "berth/a/test"));
        closep(&f->cg->h[0].fd);
        assert_int_equal(OPS->open(f->cg, &err), 0);
        assert_true(f->cg->h[0].fd >= 0);
        /* sub-cgroups the container made (systemd in a container does) go first */
        {
                _autofree_ char *sub = fake_cgroup_path(f, "unified", "berth/a/test/x/y");

                fake_cgroup_mkdirs(sub);
        }
        assert_int_equal(OPS->destroy(f->cg, &err), 0);
        assert_false(exists(f, "berth/a/test"));
        assert_true(exists(f, "berth/a"));
        assert_int_equal(f->cg->h[0].fd, -EBADF);
        assert_int_equal(OPS->destroy(f->cg, &err), 0); /* gone already */
        assert_int_equal(OPS->open(f->cg, &err), -ENOENT);
        assert_string_equal(err->msg, "open cgroup /berth/a/test: No such file or directory");
}

/* An existing leaf is reused, empty (a crashed create) or not (runc 1.1 joins a cgroup with
 * processes, with a warning that berth_cgroup_create gives). */
static void existing_leaf(void **state)
{
        _autofake_ struct fake_cgroup *f = fake_cgroup_new("/berth/test");
        _autoerr_ struct berth_error *err = NULL;

        fake_cgroup_hier(f, "", "unified", true);
        closep(&f->cg->h[0].fd);
        fake_cgroup_set(f, "unified", "berth/test/cgroup.events", "populated 0\nfrozen 0\n");
        assert_int_equal(OPS->create(f->cg, &err), 0);
        closep(&f->cg->h[0].fd);
        fake_cgroup_set(f, "unified", "berth/test/cgroup.events", "populated 1\nfrozen 0\n");
        assert_int_equal(OPS->create(f->cg, &err), 0);
        assert_true(f->cg->h[0].fd >= 0);
}

static void needs_exactly_one_hierarchy(void **state)
{
        _autofake_ struct fake_cgroup *f = fake_cgroup_new("/berth/test");
        _autoerr_ struct berth_error *err = NULL;

        fake_cgroup_hier(f, "", "unified", false);
        fake_cgroup_hier(f, "memory", "memory", false);
        assert_int_equal(OPS->create(f->cg, &err), -EINVAL);
        assert_string_equal(
            err->msg, "cgroup /berth/test: the v2 driver needs exactly one cgroup2 hierarchy");
        assert_int_equal(OPS->open(f->cg, &err), -EINVAL);
}

static void attach_writes_cgroup_procs(void **state)
{
        _autofake_ struct fake_cgroup *f = fake_cgroup_new("/berth/test");
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *procs = NULL;

        fake_cgroup_hier(f, "", "unified", true);
        fake_cgroup_set(f, "unified", "berth/test/cgroup.procs", "");
        assert_int_equal(OPS->attach(f->cg, 4242, &err), 0);
        procs = fake_cgroup_get(f, "unified", "berth/test/cgroup.procs");
        assert_string_equal(procs, "4242");
}

/* cgroup.freeze is written, then cgroup.events says when the kernel is done (here at once). */
static void freeze_and_thaw(void **state)
{
        _autofake_ struct fake_cgroup *f = fake_cgroup_new("/berth/test");
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *v = NULL;

        fake_cgroup_hier(f, "", "unified", true);
        assert_false(OPS->is_frozen(f->cg));
        assert_int_equal(OPS->freeze(f->cg, true, &err), -ENOTSUP);
        assert_string_equal(err->msg,
                            "cgroup /berth/test: this kernel has no cgroup.freeze (Linux 5.2)");
        fake_cgroup_set(f, "unified", "berth/test/cgroup.freeze", "0\n");
        fake_cgroup_set(f, "unified", "berth/test/cgroup.events", "populated 1\nfrozen 1\n");
        assert_int_equal(OPS->freeze(f->cg, true, &err), 0);
        v = fake_cgroup_get(f, "unified", "berth/test/cgroup.freeze");
        assert_true(v && startswith(v, "1"));
        assert_true(OPS->is_frozen(f->cg));
        fake_cgroup_set(f, "unified", "berth/test/cgroup.events", "populated 1\nfrozen 0\n");
        assert_int_equal(OPS->freeze(f->cg, false, &err), 0);
        assert_false(OPS->is_frozen(f->cg));
}

/* SIGKILL through cgroup.kill (Linux 5.14) when there is one; else each pid is signalled. */
static void kill_through_cgroup_kill_or_each_pid(void **state)
{
        _autofake_ struct fake_cgroup *f = fake_cgroup_new("/berth/test");
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *killed = NULL, *procs = NULL;
        pid_t a = sleeper();
        int status;

        fake_cgroup_hier(f, "", "unified", true);
        procs = xasprintf("%d\n", (int) a);
        fake_cgroup_set(f, "unified", "berth/test/cgroup.procs", procs);
        fake_cgroup_set(f, "unified", "berth/test/cgroup.kill", "");
        assert_int_equal(OPS->kill(f->cg, SIGKILL, &err), 0);
        killed = fake_cgroup_get(f, "unified", "berth/test/cgroup.kill");
        assert_string_equal(killed, "1");
        /* other signals go to each process */
        assert_int_equal(OPS->kill(f->cg, SIGTERM, &err), 0);
        status = reap(a);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
        /* without cgroup.kill (nor cgroup.freeze): SIGKILL to each */
        a = sleeper();
        free(procs);
        procs = xasprintf("%d\n", (int) a);
        fake_cgroup_set(f, "unified", "berth/test/cgroup.procs", procs);
        {
                _autofree_ char *p = fake_cgroup_path(f, "unified", "berth/test/cgroup.kill");

                assert_int_equal(unlink(p), 0);
        }
        assert_int_equal(OPS->kill(f->cg, SIGKILL, &err), 0);
        status = reap(a);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(create_open_destroy),
            cmocka_unit_test(existing_leaf),
            cmocka_unit_test(needs_exactly_one_hierarchy),
            cmocka_unit_test(attach_writes_cgroup_procs),
            cmocka_unit_test(freeze_and_thaw),
            cmocka_unit_test(kill_through_cgroup_kill_or_each_pid),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
