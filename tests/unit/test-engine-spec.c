/* SPDX-License-Identifier: Apache-2.0 */
/* berth run's config: docker's merge rules, user lookup in the rootfs, and the OCI spec. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "engine/engine.h"
#include "image/manifest.h"
#include "engine/seccomp-profile.h"
#include "spec/spec.h"
#include "base/util.h"

static char **strv_copy_for_test(char *const *v)
{
        size_t n = strv_length(v);
        char **c = xcalloc(n + 1, sizeof(*c));

        for (size_t i = 0; i < n; i++)
                c[i] = xstrdup(v[i]);
        return c;
}

#define ID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* ---- sizes and cpus ---------------------------------------------------------------------- */

static void test_parse_memory(void **state)
{
        static const struct {
                const char *in;
                int64_t out;
        } ok[] = {
            {"10m", 10 << 20},   {"10M", 10 << 20},    {"1g", 1 << 30},
            {"512k", 512 << 10}, {"1048576", 1048576}, {"10MB", 10 << 20},
            {"10mib", 10 << 20}, {"1.5g", 3LL << 29},  {"100b", 100},
        };
        static const char *const bad[] = {"", "abc", "10x", "-1", "m", "0x10", "1e3m", "10 mm"};
        int64_t v;

        (void) state;
        for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
                assert_int_equal(berth_parse_memory(ok[i].in, &v, NULL), 0);
                assert_int_equal(v, ok[i].out);
        }
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                _autoerr_ struct berth_error *e = NULL;

                assert_int_equal(berth_parse_memory(bad[i], &v, &e), -EINVAL);
                assert_non_null(strstr(e->msg, "invalid size"));
        }
}

static void test_parse_cpus(void **state)
{
        _autoerr_ struct berth_error *e = NULL;
        int64_t v;

        (void) state;
        assert_int_equal(berth_parse_cpus("1.5", &v, NULL), 0);
        assert_int_equal(v, 1500000000);
        assert_int_equal(berth_parse_cpus("0.01", &v, NULL), 0);
        assert_int_equal(v, 10000000);
        assert_int_equal(berth_parse_cpus("2", &v, NULL), 0);
        assert_int_equal(v, 2000000000);
        assert_int_equal(berth_parse_cpus("x", &v, &e), -EINVAL);
        assert_string_equal(e->msg, "failed to parse x as a rational number");
        assert_int_equal(berth_parse_cpus("-1", &v, NULL), -EINVAL);
}

/* ---- config ------------------------------------------------------------------------------- */

static struct berth_image_config image(char **entrypoint, char **cmd)
{
        static char *env[] = {"PATH=/bin", "A=image", "GONE=1", NULL};

        return (struct berth_image_config){.env = env,
                                           .entrypoint = entrypoint,
                                           .cmd = cmd,
                                           .working_dir = (char *) "/app",
                                           .user = (char *) "daemon"};
}

static struct berth_ctr *ctr(void)
{
        struct berth_ctr *c = xcalloc(1, sizeof(*c));

        c->id = xstrdup(ID);
        c->dir = xstrdup("/var/lib/berth/containers/" ID);
        return c;
}

static void assert_strv(char **v, const char *const *want, size_t n)
{
        assert_int_equal(strv_length(v), n);
        for (size_t i = 0; i < n; i++)
                assert_string_equal(v[i], want[i]);
}

static void test_config_image_defaults(void **state)
{
        char *ep[] = {"/entry", "x", NULL}, *cmd[] = {"run", NULL};
        struct berth_image_config img = image(ep, cmd);
        struct berth_run_opts o = {0};
        struct berth_ctr *c = ctr();

        (void) state;
        assert_int_equal(berth_ctr_config_apply(c, &img, &o, NULL, NULL), 0);
        assert_strv(c->entrypoint, (const char *[]){"/entry", "x"}, 2);
        assert_strv(c->cmd, (const char *[]){"run"}, 1);
        assert_strv(c->env, (const char *[]){"PATH=/bin", "A=image", "GONE=1"}, 3);
        assert_string_equal(c->working_dir, "/app");
        assert_string_equal(c->user, "daemon");
        assert_string_equal(c->hostname, "0123456789ab");
        berth_ctr_free(c);
}

/* docker: CMD args replace Cmd and keep Entrypoint; --entrypoint replaces it and clears Cmd. */
static void test_config_overrides(void **state)
{
        char *ep[] = {"/entry", NULL}, *cmd[] = {"run", NULL}, *args[] = {"a", "b", NULL};
        char *env[] = {"A=cli", "B=2", "FROMHOST", "GONE", NULL};
        char *envp[] = {"FROMHOST=yes", "OTHER=1", NULL};
        struct berth_image_config img = image(ep, cmd);
        struct berth_run_opts o = {
            .cmd = args, .env = env, .workdir = "/w", .user = "1:2", .hostname = "h"};
        struct berth_ctr *c = ctr();

        (void) state;
        assert_int_equal(berth_ctr_config_apply(c, &img, &o, envp, NULL), 0);
        assert_strv(c->entrypoint, (const char *[]){"/entry"}, 1);
        assert_strv(c->cmd, (const char *[]){"a", "b"}, 2);
        assert_strv(c->env, (const char *[]){"PATH=/bin", "A=cli", "B=2", "FROMHOST=yes"}, 4);
        assert_string_equal(c->working_dir, "/w");
        assert_string_equal(c->user, "1:2");
        assert_string_equal(c->hostname, "h");
        berth_ctr_free(c);

        c = ctr();
        o = (struct berth_run_opts){.entrypoint = "/other"};
        assert_int_equal(berth_ctr_config_apply(c, &img, &o, NULL, NULL), 0);
        assert_strv(c->entrypoint, (const char *[]){"/other"}, 1);
        assert_null(c->cmd);
        berth_ctr_free(c);

        c = ctr();
        o = (struct berth_run_opts){.entrypoint = "", .cmd = args};
        assert_int_equal(berth_ctr_config_apply(c, &img, &o, NULL, NULL), 0);
        assert_null(c->entrypoint);
        assert_strv(c->cmd, (const char *[]){"a", "b"}, 2);
        berth_ctr_free(c);
}

static void test_config_errors(void **state)
{
        char *cmd[] = {"run", NULL};
        struct berth_image_config img = image(NULL, NULL);
        struct berth_run_opts o = {0};
        struct berth_ctr *c = ctr();
        _autoerr_ struct berth_error *e = NULL, *e2 = NULL;

        (void) state;
        assert_int_equal(berth_ctr_config_apply(c, &img, &o, NULL, &e), -EINVAL);
        assert_string_equal(e->msg, "no command specified");
        img = image(NULL, cmd);
        o.entrypoint = ""; /* clears the image's Cmd too */
        assert_int_equal(berth_ctr_config_apply(c, &img, &o, NULL, NULL), -EINVAL);
        o = (struct berth_run_opts){.workdir = "rel"};
        assert_int_equal(berth_ctr_config_apply(c, &img, &o, NULL, &e2), -EINVAL);
        assert_non_null(strstr(e2->msg, "needs to be an absolute path"));
        assert_null(c->env);
        berth_ctr_free(c);
}

/* ---- users ---------------------------------------------------------------------------------- */

struct rootfs {
        char path[64];
        int fd;
};

static void write_at(int dfd, const char *name, const char *text)
{
        assert_int_equal(berth_write_file_atomic(dfd, name, text, strlen(text), 0644, false, NULL),
                         0);
}

static int rootfs_setup(void **state)
{
        struct rootfs *r = xcalloc(1, sizeof(*r));
        _autoclose_ int etc = -EBADF;

        snprintf(r->path, sizeof(r->path), "/tmp/berth-test-engine-spec.XXXXXX");
        if (!mkdtemp(r->path))
                return -1;
        r->fd = open(r->path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        mkdirat(r->fd, "etc", 0755);
        etc = openat(r->fd, "etc", O_PATH | O_DIRECTORY | O_CLOEXEC);
        write_at(etc, "passwd",
                 "root:x:0:0:root:/root:/bin/sh\n"
                 "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
                 "# comment line\n"
                 "app:x:1000:1001:app:/home/app:/bin/sh\n");
        write_at(etc, "group",
                 "root:x:0:\nstaff:x:50:app,other\nappgrp:x:1001:\n"
                 "wheel:x:10:root,app\n");
        *state = r;
        return 0;
}

static int rootfs_teardown(void **state)
{
        struct rootfs *r = *state;
        _autofree_ char *cmd = xasprintf("rm -rf %s", r->path);

        close(r->fd);
        if (system(cmd) != 0)
                return -1;
        free(r);
        return 0;
}

static void test_user_resolve(void **state)
{
        struct rootfs *r = *state;
        _autofree_ gid_t *groups = NULL;
        size_t n = 0;
        uid_t uid;
        gid_t gid;

        assert_int_equal(berth_user_resolve(r->fd, "app", &uid, &gid, &groups, &n, NULL), 0);
        assert_int_equal(uid, 1000);
        assert_int_equal(gid, 1001);
        assert_int_equal(n, 2);
        assert_int_equal(groups[0], 50);
        assert_int_equal(groups[1], 10);
        assert_int_equal(berth_user_resolve(r->fd, "app:staff", &uid, &gid, NULL, NULL, NULL), 0);
        assert_int_equal(gid, 50);
        assert_int_equal(berth_user_resolve(r->fd, "1:10", &uid, &gid, NULL, NULL, NULL), 0);
        assert_int_equal(uid, 1);
        assert_int_equal(gid, 10);
        /* a numeric uid that passwd does not list: taken as is, group 0 */
        assert_int_equal(berth_user_resolve(r->fd, "4242", &uid, &gid, NULL, NULL, NULL), 0);
        assert_int_equal(uid, 4242);
        assert_int_equal(gid, 0);
        assert_int_equal(berth_user_resolve(r->fd, "", &uid, &gid, NULL, NULL, NULL), 0);
        assert_int_equal(uid, 0);
}

static void test_user_errors(void **state)
{
        struct rootfs *r = *state;
        _autoerr_ struct berth_error *e = NULL, *e2 = NULL;
        uid_t uid;
        gid_t gid;

        assert_int_equal(berth_user_resolve(r->fd, "bob", &uid, &gid, NULL, NULL, &e), -ENOENT);
        assert_string_equal(e->msg, "unable to find user bob: no matching entries in passwd file");
        assert_int_equal(berth_user_resolve(r->fd, "app:nogrp", &uid, &gid, NULL, NULL, &e2),
                         -ENOENT);
        assert_string_equal(e2->msg,
                            "unable to find group nogrp: no matching entries in group file");
}

/* /etc/passwd is a symlink to the host's: RESOLVE_IN_ROOT keeps it inside the rootfs. */
static void test_user_symlink_stays_inside(void **state)
{
        _autofree_ char *path = NULL;
        char dir[] = "/tmp/berth-test-engine-spec-link.XXXXXX";
        _autoclose_ int fd = -EBADF;
        uid_t uid;
        gid_t gid;

        (void) state;
        assert_non_null(mkdtemp(dir));
        fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        assert_int_equal(mkdirat(fd, "etc", 0755), 0);
        assert_int_equal(symlinkat("/../../../../etc/group", fd, "etc/passwd"), 0);
        /* the host's /etc/group has "root:x:0:"; inside, the link points at a missing file */
        assert_int_equal(berth_user_resolve(fd, "root", &uid, &gid, NULL, NULL, NULL), -ENOENT);
        assert_int_equal(berth_user_resolve(fd, "0", &uid, &gid, NULL, NULL, NULL), 0);
        path = xasprintf("rm -rf %s", dir);
        assert_int_equal(system(path), 0);
}

/* ---- the spec ----------------------------------------------------------------------------- */

static json_t *build(int rootfd, const struct berth_run_opts *o, struct berth_ctr *c)
{
        _autofree_ char *text = NULL;
        struct berth_spec *spec = NULL;
        _autoerr_ struct berth_error *e = NULL;
        json_t *j;

        assert_int_equal(berth_engine_spec(c, o, rootfd, "/r/rootfs", &text, &e), 0);
        /* libberth must accept what the engine gives it */
        if (berth_spec_parse(text, strlen(text), "config.json", &spec, &e) < 0)
                fail_msg("%s", e->msg);
        berth_spec_free(spec);
        j = json_loads(text, 0, NULL);
        assert_non_null(j);
        return j;
}

static bool has_string(json_t *a, const char *s)
{
        size_t i;
        json_t *v;

        json_array_foreach(a, i,
                           v) if (json_is_string(v) && streq(json_string_value(v), s)) return true;
        return false;
}

static const char *path_str(json_t *j, const char *path)
{
        _autofree_ char *p = xstrdup(path);
        char *save = NULL;

        for (char *k = strtok_r(p, ".", &save); k && j; k = strtok_r(NULL, ".", &save))
                j = json_object_get(j, k);
        return json_string_value(j);
}

static json_t *path_get(json_t *j, const char *path)
{
        _autofree_ char *p = xstrdup(path);
        char *save = NULL;

        for (char *k = strtok_r(p, ".", &save); k && j; k = strtok_r(NULL, ".", &save))
                j = json_object_get(j, k);
        return j;
}

static void test_spec_process(void **state)
{
        struct rootfs *r = *state;
        char *ep[] = {"/entry", NULL}, *cmd[] = {"a", NULL}, *env[] = {"PATH=/img", "X=1", NULL};
        struct berth_run_opts o = {.tty = true};
        struct berth_ctr *c = ctr();
        json_t *j, *p, *args, *e;

        c->entrypoint = strv_copy_for_test(ep);
        c->cmd = strv_copy_for_test(cmd);
        c->env = strv_copy_for_test(env);
        c->user = xstrdup("app");
        c->working_dir = xstrdup("/work");
        c->hostname = xstrdup("web");
        j = build(r->fd, &o, c);
        p = json_object_get(j, "process");
        args = json_object_get(p, "args");
        assert_int_equal(json_array_size(args), 2);
        assert_string_equal(json_string_value(json_array_get(args, 0)), "/entry");
        assert_string_equal(json_string_value(json_array_get(args, 1)), "a");
        e = json_object_get(p, "env");
        /* docker's order: PATH (the image's wins), HOSTNAME, TERM, then the container's */
        assert_int_equal(json_array_size(e), 4);
        assert_string_equal(json_string_value(json_array_get(e, 0)), "PATH=/img");
        assert_string_equal(json_string_value(json_array_get(e, 1)), "HOSTNAME=web");
        assert_string_equal(json_string_value(json_array_get(e, 2)), "TERM=xterm");
        assert_string_equal(json_string_value(json_array_get(e, 3)), "X=1");
        assert_true(json_is_true(json_object_get(p, "terminal")));
        assert_string_equal(path_str(p, "cwd"), "/work");
        assert_int_equal(json_integer_value(path_get(p, "user.uid")), 1000);
        assert_int_equal(json_integer_value(path_get(p, "user.gid")), 1001);
        assert_int_equal(json_array_size(path_get(p, "user.additionalGids")), 2);
        assert_true(json_is_false(json_object_get(p, "noNewPrivileges")));
        assert_null(json_object_get(p, "rlimits"));
        assert_string_equal(path_str(j, "hostname"), "web");
        assert_string_equal(path_str(j, "root.path"), "/r/rootfs");
        assert_true(json_is_false(path_get(j, "root.readonly")));
        json_decref(j);
        berth_ctr_free(c);
}

static void test_spec_defaults(void **state)
{
        char *cmd[] = {"sh", NULL};
        struct berth_run_opts o = {0};
        struct berth_ctr *c = ctr();
        json_t *j, *caps, *ns, *m, *sc;
        size_t i;
        json_t *v;
        bool cgroup_ns = false, net_ns = false, hosts = false;

        (void) state;
        c->cmd = strv_copy_for_test(cmd);
        c->hostname = xstrdup("0123456789ab");
        j = build(-1, &o, c);
        caps = path_get(j, "process.capabilities");
        assert_int_equal(json_array_size(json_object_get(caps, "bounding")), 14);
        assert_true(has_string(json_object_get(caps, "effective"), "CAP_NET_BIND_SERVICE"));
        assert_true(has_string(json_object_get(caps, "permitted"), "CAP_SYS_CHROOT"));
        assert_false(has_string(json_object_get(caps, "bounding"), "CAP_SYS_ADMIN"));
        assert_null(json_object_get(caps, "ambient"));
        assert_null(json_object_get(caps, "inheritable"));
        assert_false(json_is_true(path_get(j, "process.terminal")));
        assert_string_equal(path_str(j, "process.cwd"), "/");
        assert_int_equal(json_integer_value(path_get(j, "process.user.uid")), 0);
        ns = path_get(j, "linux.namespaces");
        json_array_foreach(ns, i, v)
        {
                cgroup_ns |= streq(path_str(v, "type"), "cgroup");
                net_ns |= streq(path_str(v, "type"), "network");
        }
        assert_true(cgroup_ns && net_ns);
        assert_int_equal(json_array_size(ns), 6);
        m = json_object_get(j, "mounts");
        json_array_foreach(m, i, v) if (streq(path_str(v, "destination"), "/etc/hosts"))
        {
                hosts = true;
                assert_string_equal(path_str(v, "source"),
                                    "/var/lib/berth/containers/" ID "/hosts");
                assert_string_equal(path_str(v, "type"), "bind");
        }
        assert_true(hosts);
        assert_true(has_string(path_get(j, "linux.maskedPaths"), "/proc/kcore"));
        assert_true(has_string(path_get(j, "linux.readonlyPaths"), "/proc/sys"));
        assert_string_equal(path_str(j, "linux.cgroupsPath"), "/berth/" ID);
        /* the allow-list (tests/unit/test-seccomp-profile.c has the details): unknown
         * syscalls ENOSYS, the denied ones EPERM in the last rule */
        sc = path_get(j, "linux.seccomp");
        assert_string_equal(path_str(sc, "defaultAction"), "SCMP_ACT_ERRNO");
        assert_int_equal(json_integer_value(json_object_get(sc, "defaultErrnoRet")), ENOSYS);
        v = json_array_get(json_object_get(sc, "syscalls"), 0);
        assert_string_equal(path_str(v, "action"), "SCMP_ACT_ALLOW");
        assert_true(has_string(json_object_get(v, "names"), "read"));
        v = json_array_get(json_object_get(sc, "syscalls"),
                           json_array_size(json_object_get(sc, "syscalls")) - 1);
        assert_true(has_string(json_object_get(v, "names"), "kexec_load"));
        assert_true(has_string(json_object_get(v, "names"), "mount"));
        assert_true(has_string(json_object_get(v, "names"), "bpf"));
        assert_true(has_string(json_object_get(v, "names"), "io_uring_setup"));
        assert_int_equal(json_integer_value(json_object_get(v, "errnoRet")), EPERM);
        assert_true(json_is_false(path_get(j, "process.noNewPrivileges")));
        assert_null(path_get(j, "linux.resources.memory"));
        json_decref(j);
        berth_ctr_free(c);
}

static void test_spec_resources(void **state)
{
        char *cmd[] = {"sh", NULL};
        struct berth_run_opts o = {
            .memory = 8 << 20, .memory_swap = 16 << 20, .pids_limit = 100, .nano_cpus = 1500000000};
        struct berth_ctr *c = ctr();
        json_t *j;

        (void) state;
        c->cmd = strv_copy_for_test(cmd);
        c->hostname = xstrdup("h");
        j = build(-1, &o, c);
        assert_int_equal(json_integer_value(path_get(j, "linux.resources.memory.limit")), 8 << 20);
        assert_int_equal(json_integer_value(path_get(j, "linux.resources.memory.swap")), 16 << 20);
        assert_int_equal(json_integer_value(path_get(j, "linux.resources.pids.limit")), 100);
        assert_int_equal(json_integer_value(path_get(j, "linux.resources.cpu.quota")), 150000);
        assert_int_equal(json_integer_value(path_get(j, "linux.resources.cpu.period")), 100000);
        /* the default device rule stays */
        assert_non_null(path_get(j, "linux.resources.devices"));
        json_decref(j);
        berth_ctr_free(c);
}

/* --security-opt: seccomp=unconfined, no-new-privileges, systempaths=unconfined, a file's
 * profile. */
static void test_spec_security_opts(void **state)
{
        static const char text[] = "{\"defaultAction\": \"SCMP_ACT_LOG\", \"syscalls\": "
                                   "[{\"names\": [\"mkdir\"], \"action\": \"SCMP_ACT_ERRNO\"}]}";
        char *cmd[] = {"sh", NULL};
        struct berth_run_opts o = {
            .seccomp_unconfined = true, .no_new_privileges = true, .systempaths_unconfined = true};
        struct berth_scmp_profile *p = NULL;
        struct berth_ctr *c = ctr();
        json_t *j;

        (void) state;
        c->cmd = strv_copy_for_test(cmd);
        c->hostname = xstrdup("h");
        j = build(-1, &o, c);
        assert_null(path_get(j, "linux.seccomp"));
        assert_true(json_is_true(path_get(j, "process.noNewPrivileges")));
        assert_int_equal(json_array_size(path_get(j, "linux.maskedPaths")), 0);
        assert_int_equal(json_array_size(path_get(j, "linux.readonlyPaths")), 0);
        json_decref(j);

        assert_int_equal(berth_scmp_profile_parse(text, strlen(text), "p.json", &p, NULL), 0);
        o = (struct berth_run_opts){.seccomp = p};
        j = build(-1, &o, c);
        assert_string_equal(path_str(j, "linux.seccomp.defaultAction"), "SCMP_ACT_LOG");
        assert_int_equal(json_array_size(path_get(j, "linux.seccomp.syscalls")), 1);
        assert_true(json_array_size(path_get(j, "linux.maskedPaths")) > 0);
        json_decref(j);
        berth_scmp_profile_free(p);
        berth_ctr_free(c);
}

static void test_spec_unknown_user(void **state)
{
        struct rootfs *r = *state;
        char *cmd[] = {"sh", NULL};
        struct berth_run_opts o = {0};
        struct berth_ctr *c = ctr();
        _autoerr_ struct berth_error *e = NULL;
        char *text = NULL;

        c->cmd = strv_copy_for_test(cmd);
        c->hostname = xstrdup("h");
        c->user = xstrdup("nobody-here");
        assert_int_equal(berth_engine_spec(c, &o, r->fd, "/r", &text, &e), -ENOENT);
        assert_null(text);
        assert_non_null(strstr(e->msg, "unable to find user nobody-here"));
        berth_ctr_free(c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_parse_memory),
            cmocka_unit_test(test_parse_cpus),
            cmocka_unit_test(test_config_image_defaults),
            cmocka_unit_test(test_config_overrides),
            cmocka_unit_test(test_config_errors),
            cmocka_unit_test_setup_teardown(test_user_resolve, rootfs_setup, rootfs_teardown),
            cmocka_unit_test_setup_teardown(test_user_errors, rootfs_setup, rootfs_teardown),
            cmocka_unit_test(test_user_symlink_stays_inside),
            cmocka_unit_test_setup_teardown(test_spec_process, rootfs_setup, rootfs_teardown),
            cmocka_unit_test(test_spec_defaults),
            cmocka_unit_test(test_spec_resources),
            cmocka_unit_test(test_spec_security_opts),
            cmocka_unit_test_setup_teardown(test_spec_unknown_user, rootfs_setup, rootfs_teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
