/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OOM kill counts and the watcher of `events` (oom.c) on a fake memory cgroup (fake-cgroup.h).
 * The host's driver decides the files: v1 (memory.oom_control, an eventfd registered through
 * cgroup.event_control, which the test signals itself) on a v1 or hybrid host, v2 (memory.events
 * under inotify) on a v2 host: main picks the watcher test of the host's kind. A real OOM kill is
 * the integration suite's (test_cgroups.py: memory limit, exit 137 and the oom event).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "cgroup/oom.h"
#include "fake-cgroup.h"

static bool v2(void)
{
        return berth_cgroup_mode() == BERTH_CGROUP_V2;
}

/* The memory cgroup with its kill counter file holding `text`. */
static struct fake_cgroup *memory_cgroup(const char *text)
{
        struct fake_cgroup *f = fake_cgroup_new("/berth/test");

        fake_cgroup_hier(f, v2() ? "" : "memory", "memory", true);
        fake_cgroup_set(f, "memory",
                        v2() ? "berth/test/memory.events" : "berth/test/memory.oom_control", text);
        return f;
}

static void kills_so_far(void **state)
{
        static const char *const v1_texts[] = {"oom_kill_disable 0\nunder_oom 0\noom_kill 3\n",
                                               "oom_kill_disable 0\nunder_oom 0\n"};
        static const char *const v2_texts[] = {"low 0\nhigh 0\nmax 1\noom 1\noom_kill 3\n",
                                               "low 0\nhigh 0\nmax 0\noom 0\n"};
        const char *const *texts = v2() ? v2_texts : v1_texts;
        const char *file = v2() ? "memory.events" : "memory.oom_control";

        for (size_t i = 0; i < 2; i++) {
                _autofake_ struct fake_cgroup *f = memory_cgroup(texts[i]);
                _autoerr_ struct berth_error *err = NULL;
                uint64_t kills = 99;

                assert_int_equal(berth_oom_kills(f->cg, &kills, &err), 0);
                /* kernels before 4.13 do not count kills: 0 */
                assert_int_equal(kills, i == 0 ? 3 : 0);
        }
        {
                _autofake_ struct fake_cgroup *f = memory_cgroup("oom_kill many\n");
                _autoerr_ struct berth_error *err = NULL;
                _autofree_ char *want = NULL;
                uint64_t kills = 99;

                assert_int_equal(berth_oom_kills(f->cg, &kills, &err), -EINVAL);
                want = xasprintf("cgroup /berth/test: %s: invalid line \"oom_kill many\\n\"", file);
                assert_string_equal(err->msg, want);
                assert_int_equal(kills, 99);
        }
}

static void no_memory_controller(void **state)
{
        _autofake_ struct fake_cgroup *f = fake_cgroup_new("/berth/test");
        _autoerr_ struct berth_error *err = NULL;
        struct berth_oom_watch *w = NULL;
        uint64_t kills = 0;

        fake_cgroup_hier(f, "pids", "pids", true);
        assert_int_equal(berth_oom_kills(f->cg, &kills, &err), -ENOENT);
        assert_string_equal(err->msg, "cgroup /berth/test: no memory controller");
        assert_int_equal(berth_oom_watch_open(f->cg, &w, &err), -ENOENT);
        assert_null(w);
}

/* v1: the kernel signals the eventfd for each OOM, and once more when the cgroup is removed. */
static void v1_watcher(void **state)
{
        _autofake_ struct fake_cgroup *f = NULL;
        _autoerr_ struct berth_error *err = NULL;
        _autooomwatch_ struct berth_oom_watch *w = NULL;
        _autofree_ char *registered = NULL, *want = NULL;
        uint64_t n = 99, two = 2;
        int efd;

        f = memory_cgroup("oom_kill 0\n");
        /* registration needs cgroup.event_control */
        assert_int_equal(berth_oom_watch_open(f->cg, &w, &err), -ENOENT);
        assert_true(startswith(err->msg, "cgroup /berth/test: write \""));
        assert_non_null(strstr(err->msg, "\" to cgroup.event_control: No such file or directory"));
        berth_error_freep(&err);
        fake_cgroup_set(f, "memory", "berth/test/cgroup.event_control", "");
        assert_int_equal(berth_oom_watch_open(f->cg, &w, &err), 0);
        efd = berth_oom_watch_fd(w);
        assert_true(efd >= 0);
        /* "<eventfd> <fd of memory.oom_control>" */
        registered = fake_cgroup_get(f, "memory", "berth/test/cgroup.event_control");
        want = xasprintf("%d ", efd);
        assert_true(startswith(registered, want));
        /* nothing yet */
        assert_int_equal(berth_oom_watch_read(w, &n, &err), 0);
        assert_int_equal(n, 0);
        /* two OOMs */
        assert_int_equal(write(efd, &two, sizeof(two)), (ssize_t) sizeof(two));
        assert_int_equal(berth_oom_watch_read(w, &n, &err), 0);
        assert_int_equal(n, 2);
        /* the cgroup goes: its memory.oom_control with it */
        {
                _autofree_ char *p = fake_cgroup_path(f, "memory", "berth/test/memory.oom_control");

                assert_int_equal(unlink(p), 0);
        }
        assert_int_equal(write(efd, &two, sizeof(two)), (ssize_t) sizeof(two));
        assert_int_equal(berth_oom_watch_read(w, &n, &err), -ENOENT);
        assert_string_equal(err->msg, "cgroup /berth/test: removed");
}

/* v2: inotify on memory.events; each read reports how much oom_kill grew. */
static void v2_watcher(void **state)
{
        _autofake_ struct fake_cgroup *f = NULL;
        _autoerr_ struct berth_error *err = NULL;
        _autooomwatch_ struct berth_oom_watch *w = NULL;
        uint64_t n = 99;

        f = memory_cgroup("oom 1\noom_kill 1\n");
        assert_int_equal(berth_oom_watch_open(f->cg, &w, &err), 0);
        assert_int_equal(berth_oom_watch_read(w, &n, &err), 0);
        assert_int_equal(n, 0); /* the kills before the watch started do not count */
        fake_cgroup_set(f, "memory", "berth/test/memory.events", "oom 4\noom_kill 4\n");
        assert_int_equal(berth_oom_watch_read(w, &n, &err), 0);
        assert_int_equal(n, 3);
        assert_int_equal(berth_oom_watch_read(w, &n, &err), 0);
        assert_int_equal(n, 0);
}

int main(void)
{
        struct CMUnitTest tests[] = {
            cmocka_unit_test(kills_so_far),
            cmocka_unit_test(no_memory_controller),
            cmocka_unit_test(v1_watcher),
        };

        /* the watcher of the host's driver */
        if (v2())
                tests[2] = (struct CMUnitTest) cmocka_unit_test(v2_watcher);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
