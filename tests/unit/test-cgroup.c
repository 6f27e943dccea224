/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cgroup interface (cgroup.c, cgroup-util.c): cgroupsPath resolution, mode detection, and the
 * helpers the drivers share (which hierarchy holds a controller, writes and reads that name the
 * file, the cgroup's pids), on a fake cgroup (fake-cgroup.h). Which hierarchies a host mounts is
 * read from /proc/self/mountinfo: that and the drivers on a real cgroup are the integration suite's
 * (test_cgroups.py) and, for cgroup v2, the VM checks (tests/vm).
 */
#include <errno.h>
#include <linux/magic.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/vfs.h>
#include <cmocka.h>

#include "fake-cgroup.h"

static void resolve(const char *path, const char *id, const char *want)
{
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *got = NULL;

        if (berth_cgroup_resolve_path(path, id, &got, &err) < 0)
                fail_msg("%s: %s", path ? path : "(null)", err->msg);
        assert_string_equal(got, want);
}

static void refused(const char *path, const char *msg)
{
        _autoerr_ struct berth_error *err = NULL;
        char *got = NULL;

        assert_int_equal(berth_cgroup_resolve_path(path, "web", &got, &err), -EINVAL);
        assert_string_equal(err->msg, msg);
        /* The root cgroup is refused once resolved: *ret then holds "/" (the callers free it with
         * the container or the cgroup). Everything else is refused before. */
        if (got)
                assert_string_equal(got, "/");
        free(got);
}

static void paths(void **state)
{
        /* none: berth's own parent, never the host's cgroups */
        resolve(NULL, "web", "/berth/web");
        resolve("", "web", "/berth/web");
        /* relative and absolute alike: from the root of each hierarchy (as runc and crun) */
        resolve("a/b", "web", "/a/b");
        resolve("web", "web", "/web");
        resolve("/machine/web", "web", "/machine/web");
        resolve("/a//b/", "web", "/a/b");
        /* a colon: systemd's form when relative, a plain name when absolute */
        resolve("/a:b:c", "web", "/a:b:c");
        refused("..", "linux.cgroupsPath \"..\": must not contain \".\" or \"..\"");
        refused("/a/../../b", "linux.cgroupsPath \"/a/../../b\": must not contain \".\" or \"..\"");
        refused("a/./b", "linux.cgroupsPath \"a/./b\": must not contain \".\" or \"..\"");
        refused("/", "linux.cgroupsPath \"/\": the root cgroup is the host's");
        refused("//", "linux.cgroupsPath \"//\": the root cgroup is the host's");
        refused("system.slice:berth:web",
                "linux.cgroupsPath \"system.slice:berth:web\": a systemd path (slice:prefix:name) "
                "needs the systemd cgroup driver, which berth does not support yet");
        refused("a:b/c", "linux.cgroupsPath \"a:b/c\": a systemd path (slice:prefix:name) needs "
                         "the systemd cgroup driver, which berth does not support yet");
}

/* The mode is what /sys/fs/cgroup is, and does not change (cached). */
static void mode_detection(void **state)
{
        struct statfs sf;
        enum berth_cgroup_mode want = BERTH_CGROUP_V1;

        if (statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
                want = BERTH_CGROUP_V2;
        else if (statfs("/sys/fs/cgroup/unified", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
                want = BERTH_CGROUP_HYBRID;
        assert_int_equal(berth_cgroup_mode(), want);
        assert_int_equal(berth_cgroup_mode(), want);
}

/* A controller is found by whole name in a hierarchy's list; "" is the cgroup2 one; a hierarchy
 * where the cgroup is not open does not count. */
static void hierarchy_of_a_controller(void **state)
{
        _autofake_ struct fake_cgroup *f = fake_cgroup_new("/berth/test");
        struct cg_hier *cpu, *memory, *unified;

        fake_cgroup_hier(f, "cpu,cpuacct", "cpu", true);
        fake_cgroup_hier(f, "cpuset", "cpuset", false);
        fake_cgroup_hier(f, "memory", "memory", true);
        fake_cgroup_hier(f, "", "unified", true);
        fake_cgroup_hier(f, "name=systemd", "systemd", true);
        /* (cg->h moves while hierarchies are added) */
        cpu = &f->cg->h[0];
        memory = &f->cg->h[2];
        unified = &f->cg->h[3];
        assert_ptr_equal(berth_cg_hier(f->cg, "cpu"), cpu);
        assert_ptr_equal(berth_cg_hier(f->cg, "cpuacct"), cpu);
        assert_ptr_equal(berth_cg_hier(f->cg, "memory"), memory);
        assert_ptr_equal(berth_cg_hier(f->cg, ""), unified);
        assert_ptr_equal(berth_cg_hier(f->cg, "name=systemd"), &f->cg->h[4]);
        assert_null(berth_cg_hier(f->cg, "cpuset")); /* not open */
        assert_null(berth_cg_hier(f->cg, "cpua"));
        assert_null(berth_cg_hier(f->cg, "acct"));
        assert_null(berth_cg_hier(f->cg, "pids"));
        assert_string_equal(berth_cgroup_path(f->cg), "/berth/test");
}

static void writes_and_reads_name_the_file(void **state)
{
        _autofake_ struct fake_cgroup *f = fake_cgroup_new("/berth/test");
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *text = NULL, *back = NULL;
        struct cg_hier *h = fake_cgroup_hier(f, "memory", "memory", true);

        fake_cgroup_set(f, "memory", "berth/test/memory.limit_in_bytes", "");
        assert_int_equal(berth_cg_write(f->cg, h, "memory.limit_in_bytes", "512", &err), 0);
        back = fake_cgroup_get(f, "memory", "berth/test/memory.limit_in_bytes");
        assert_string_equal(back, "512");
        /* a file the kernel does not have: the value, the file and why */
        assert_int_equal(berth_cg_write(f->cg, h, "memory.nope", "1", &err), -ENOENT);
        assert_string_equal(err->msg,
                            "cgroup /berth/test: write \"1\" to memory.nope: No such file "
                            "or directory");
        /* never through a symlink */
        assert_int_equal(symlinkat("memory.limit_in_bytes", h->fd, "link"), 0);
        assert_int_equal(berth_cg_write(f->cg, h, "link", "1", &err), -ELOOP);
        assert_int_equal(berth_cg_read(f->cg, h, "memory.limit_in_bytes", &text, &err), 0);
        assert_string_equal(text, "512");
        assert_int_equal(berth_cg_read(f->cg, h, "memory.nope", &text, &err), -ENOENT);
        assert_string_equal(err->msg, "cgroup /berth/test: open memory.nope: No such file or "
                                      "directory");
}

/* cgroup.controllers and cgroup.subtree_control: space-separated, a newline at the end. */
static void words_of_a_controller_list(void **state)
{
        assert_true(berth_cg_has_word("cpuset cpu io memory\n", "cpu"));
        assert_true(berth_cg_has_word("cpuset cpu io memory\n", "memory"));
        assert_true(berth_cg_has_word("cpuset cpu io memory\n", "cpuset"));
        assert_false(berth_cg_has_word("cpuset io\n", "cpu"));
        assert_false(berth_cg_has_word("hugetlb\n", "huge"));
        assert_false(berth_cg_has_word("", "cpu"));
}

static void pids_of_the_cgroup(void **state)
{
        _autofake_ struct fake_cgroup *f = fake_cgroup_new("/berth/test");
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ pid_t *pids = NULL;
        size_t n = 0;

        fake_cgroup_hier(f, "memory", "memory", true);
        fake_cgroup_hier(f, "pids", "pids", true);
        fake_cgroup_set(f, "memory", "berth/test/cgroup.procs", "1\n");
        fake_cgroup_set(f, "pids", "berth/test/cgroup.procs", "12\n7\n300\n");
        fake_cgroup_hier(f, "", "unified", true);
        fake_cgroup_set(f, "unified", "berth/test/cgroup.procs", "12\n7\n300\n");
        /* the pids hierarchy (v1) or the unified one (v2), in the kernel's order */
        assert_int_equal(berth_cgroup_pids(f->cg, &pids, &n, &err), 0);
        assert_int_equal(n, 3);
        assert_int_equal(pids[0], 12);
        assert_int_equal(pids[1], 7);
        assert_int_equal(pids[2], 300);
        free(pids);
        pids = NULL;
        /* and those of its sub-cgroups (exec --cgroup), after its own */
        for (size_t i = 0; i < 2; i++) {
                const char *dir = i ? "unified" : "pids";
                _autofree_ char *sub = fake_cgroup_path(f, dir, "berth/test/a/b");

                fake_cgroup_mkdirs(sub);
                fake_cgroup_set(f, dir, "berth/test/a/cgroup.procs", "");
                fake_cgroup_set(f, dir, "berth/test/a/b/cgroup.procs", "99\n");
        }
        assert_int_equal(berth_cgroup_pids(f->cg, &pids, &n, &err), 0);
        assert_int_equal(n, 4);
        assert_int_equal(pids[2], 300);
        assert_int_equal(pids[3], 99);
}

/* Without a pids hierarchy, the first open one; with none open, an error. */
static void pids_fallback_and_not_open(void **state)
{
        _autofake_ struct fake_cgroup *f = fake_cgroup_new("/berth/test");
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ pid_t *pids = NULL;
        size_t n = 9;

        if (berth_cgroup_mode() == BERTH_CGROUP_V2)
                return; /* v2 reads the unified hierarchy only (pids_of_the_cgroup) */
        fake_cgroup_hier(f, "memory", "memory", true);
        fake_cgroup_set(f, "memory", "berth/test/cgroup.procs", "");
        assert_int_equal(berth_cgroup_pids(f->cg, &pids, &n, &err), 0);
        assert_int_equal(n, 0);
        closep(&f->cg->h[0].fd);
        assert_int_equal(berth_cgroup_pids(f->cg, &pids, &n, &err), -ENOENT);
        assert_string_equal(err->msg, "cgroup /berth/test: not open");
}

static bool applied;

static int fake_apply(struct berth_cgroup *cg, const struct berth_resources *r,
                      struct berth_error **err)
{
        applied = true;
        return 0;
}

/* The interface goes to the driver; nothing to apply is no call; no freezer means not frozen. */
static void interface_calls_the_driver(void **state)
{
        static const struct cgroup_ops ops = {.apply = fake_apply};
        struct berth_resources r = {0};
        struct berth_cgroup cg = {.ops = &ops, .path = "/berth/x"};

        applied = false;
        assert_int_equal(berth_cgroup_apply(&cg, NULL, NULL), 0);
        assert_false(applied);
        assert_int_equal(berth_cgroup_apply(&cg, &r, NULL), 0);
        assert_true(applied);
        assert_false(berth_cgroup_is_frozen(&cg));
        /* CLONE_INTO_CGROUP only on a v2 host, with its one hierarchy */
        assert_int_equal(berth_cgroup_clone_fd(&cg), -1);
        berth_cgroup_free(NULL);
}

static void sub_refused(struct berth_cgroup *cg, const char *const *args, const char *msg)
{
        _autoerr_ struct berth_error *err = NULL;

        assert_int_equal(berth_cgroup_select_sub(cg, args, &err), -EINVAL);
        assert_string_equal(err->msg, msg);
}

/* exec --cgroup: runc 1.1's forms and words. */
static void sub_cgroup_words(void **state)
{
        _autofake_ struct fake_cgroup *f = fake_cgroup_new("/berth/web");
        _autoerr_ struct berth_error *err = NULL;
        struct berth_cgroup *cg = f->cg;

        fake_cgroup_hier(f, "memory", "memory", true);
        fake_cgroup_hier(f, "cpu,cpuacct", "cpu", true);
        fake_cgroup_hier(f, "pids", "pids", true);
        sub_refused(cg, (const char *[]){"..", NULL}, ".. is not a sub cgroup path");
        sub_refused(cg, (const char *[]){"a/../../web2", NULL},
                    "a/../../web2 is not a sub cgroup path");
        sub_refused(cg, (const char *[]){"memory:/../x", NULL}, "/../x is not a sub cgroup path");
        sub_refused(cg, (const char *[]){"a:b:c", NULL}, "invalid --cgroup argument: a:b:c");
        sub_refused(cg, (const char *[]){"a", "b", NULL},
                    "invalid --cgroup argument: a (missing <controller>: prefix)");
        sub_refused(cg, (const char *[]){"whaaat:/", NULL},
                    "unknown controller whaaat in SubCgroupPaths");
        sub_refused(cg, (const char *[]){"memory,blkio:x", NULL},
                    "unknown controller blkio in SubCgroupPaths");
        /* per controller: its hierarchy only; a co-mounted one names the same hierarchy */
        assert_int_equal(berth_cgroup_select_sub(
                             cg, (const char *[]){"memory:m//./n/", "cpuacct:c", NULL}, &err),
                         0);
        assert_string_equal(cg->h[0].sub, "m/n");
        assert_string_equal(cg->h[1].sub, "c");
        assert_null(cg->h[2].sub);
        /* one SUB for all: cleaned as runc's path.Join, staying inside; "/" is the cgroup itself */
        assert_int_equal(berth_cgroup_select_sub(cg, (const char *[]){"../web/s", NULL}, &err), 0);
        for (size_t i = 0; i < cg->n_h; i++)
                assert_string_equal(cg->h[i].sub, "s");
        assert_int_equal(berth_cgroup_select_sub(cg, (const char *[]){"/", NULL}, &err), 0);
        for (size_t i = 0; i < cg->n_h; i++)
                assert_string_equal(cg->h[i].sub, "");
}

/* The attach of exec --cgroup: into SUB/cgroup.procs, and runc's words when SUB is missing. */
static void sub_cgroup_attach(void **state)
{
        _autofake_ struct fake_cgroup *f = fake_cgroup_new("/berth/web");
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *sub = NULL, *top = NULL, *got = NULL, *want = NULL;

        f->cg->ops = &berth_cgroup_v1_ops;
        fake_cgroup_hier(f, "memory", "memory", true);
        fake_cgroup_hier(f, "pids", "pids", true);
        sub = fake_cgroup_path(f, "memory", "berth/web/m");
        fake_cgroup_mkdirs(sub);
        fake_cgroup_set(f, "memory", "berth/web/m/cgroup.procs", "");
        fake_cgroup_set(f, "pids", "berth/web/cgroup.procs", "");
        assert_int_equal(berth_cgroup_select_sub(f->cg, (const char *[]){"memory:m", NULL}, &err),
                         0);
        assert_int_equal(berth_cgroup_clone_fd(f->cg), -1);
        assert_int_equal(berth_cgroup_attach(f->cg, 4242, &err), 0);
        got = fake_cgroup_get(f, "memory", "berth/web/m/cgroup.procs");
        top = fake_cgroup_get(f, "pids", "berth/web/cgroup.procs");
        assert_string_equal(got, "4242");
        assert_string_equal(top, "4242");
        assert_int_equal(berth_cgroup_select_sub(f->cg, (const char *[]){"pids:none", NULL}, &err),
                         0);
        assert_int_equal(berth_cgroup_attach(f->cg, 4242, &err), -ENOENT);
        want = xasprintf("adding pid 4242 to cgroups: write %s/pids/berth/web/none/cgroup.procs: "
                         "no such file or directory",
                         f->root);
        assert_string_equal(err->msg, want);
}

/* A cgroup that does not exist cannot be opened (only read: nothing is made). */
static void open_missing_cgroup(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        struct berth_cgroup *cg = NULL;
        _autofree_ char *path = xasprintf("/berth-unit-test-%d/none", (int) getpid());

        assert_int_equal(berth_cgroup_open(path, "none", &cg, &err), -ENOENT);
        assert_null(cg);
        assert_int_equal(berth_cgroup_open("/..", "none", &cg, &err), -EINVAL);
        assert_null(cg);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(paths),
            cmocka_unit_test(mode_detection),
            cmocka_unit_test(hierarchy_of_a_controller),
            cmocka_unit_test(writes_and_reads_name_the_file),
            cmocka_unit_test(words_of_a_controller_list),
            cmocka_unit_test(pids_of_the_cgroup),
            cmocka_unit_test(pids_fallback_and_not_open),
            cmocka_unit_test(interface_calls_the_driver),
            cmocka_unit_test(open_missing_cgroup),
            cmocka_unit_test(sub_cgroup_words),
            cmocka_unit_test(sub_cgroup_attach),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
