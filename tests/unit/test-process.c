/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <grp.h>
#include <sched.h>
#include <sys/capability.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "runtime/caps.h"
#include "fork-child.h"
#include "base/log.h"
#include "runtime/process.h"
#include "base/syscalls.h"
#include "base/util.h"

#define V(...) ((char *[]){__VA_ARGS__, NULL})

static char dir[64];

static int setup(void **state)
{
        strcpy(dir, "/tmp/berth-test-process.XXXXXX");
        return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
        _autofree_ char *cmd = xasprintf("rm -rf '%s'", dir);

        return system(cmd) == 0 ? 0 : -1;
}

static int child_fail(int fd, struct berth_error *err, int code)
{
        child_send(fd, err ? err->msg : "no error");
        return code;
}

/* Tests must not depend on whether the runner has CAP_SYS_RESOURCE: the children drop it. */
static int drop_effective(int cap)
{
        struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
        struct __user_cap_data_struct data[2];

        if (capget(&hdr, data) < 0)
                return -1;
        data[cap / 32].effective &= ~(1u << (cap % 32));
        return capset(&hdr, data);
}

/* ---- rlimits ------------------------------------------------------------------------------ */

static int lower_child(int fd, void *arg)
{
        struct berth_rlimit rl[] = {
            {.resource = RLIMIT_NOFILE, .type = "RLIMIT_NOFILE", .soft = 100, .hard = 200},
            {.resource = RLIMIT_CORE, .type = "RLIMIT_CORE", .soft = 0, .hard = 0},
        };
        struct berth_process p = {.rlimits = rl, .n_rlimits = 2};
        _autoerr_ struct berth_error *err = NULL;
        struct rlimit got;

        if (berth_process_set_rlimits(&p, &err) < 0)
                return child_fail(fd, err, 10);
        if (getrlimit(RLIMIT_NOFILE, &got) < 0 || got.rlim_cur != 100 || got.rlim_max != 200)
                return 11;
        if (getrlimit(RLIMIT_CORE, &got) < 0 || got.rlim_cur != 0 || got.rlim_max != 0)
                return 12;
        return 0;
}

static void rlimits_lower(void **state)
{
        char msg[512];

        assert_child_ok(lower_child, NULL, msg);
}

static int raise_child(int fd, void *arg)
{
        struct berth_rlimit rl = {
            .resource = RLIMIT_NOFILE, .type = "RLIMIT_NOFILE", .soft = 1000, .hard = 2000};
        struct berth_process p = {.rlimits = &rl, .n_rlimits = 1};
        struct rlimit start = {.rlim_cur = 500, .rlim_max = 1000};
        _autoerr_ struct berth_error *err = NULL;

        if (drop_effective(CAP_SYS_RESOURCE) < 0 || setrlimit(RLIMIT_NOFILE, &start) < 0)
                return 1;
        if (berth_process_set_rlimits(&p, &err) != -EPERM)
                return 2;
        child_send(fd, err->msg);
        return 0;
}

static void rlimits_raise_hard(void **state)
{
        char msg[512];

        assert_child_ok(raise_child, NULL, msg);
        assert_string_equal(msg, "rlimit RLIMIT_NOFILE: cannot raise the hard limit from 1000 to "
                                 "2000: Operation not permitted (needs CAP_SYS_RESOURCE, which "
                                 "this process does not have)");
}

static void rlimits_soft_above_hard(void **state)
{
        struct berth_rlimit rl = {
            .resource = RLIMIT_NOFILE, .type = "RLIMIT_NOFILE", .soft = 300, .hard = 200};
        struct berth_process p = {.rlimits = &rl, .n_rlimits = 1};
        _autoerr_ struct berth_error *err = NULL;

        assert_int_equal(berth_process_set_rlimits(&p, &err), -EINVAL);
        assert_string_equal(err->msg, "rlimit RLIMIT_NOFILE: soft limit 300 is above the hard "
                                      "limit 200");
}

/* ---- oom_score_adj, io priority, scheduler, personality ----------------------------------- */

static int sched_child(int fd, void *arg)
{
        struct berth_process p = {
            .has_oom_score_adj = true,
            .oom_score_adj = 500,
            .has_io_priority = true,
            .io_priority_class = IOPRIO_CLASS_BE,
            .io_priority = 4,
            .scheduler = {.set = true, .policy = SCHED_BATCH, .nice = 5},
        };
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *oom = NULL;

        if (berth_process_set_sched(&p, &err) < 0 ||
            berth_process_set_oom_score_adj(0, p.oom_score_adj, &err) < 0)
                return child_fail(fd, err, 10);
        if (berth_read_file_at(AT_FDCWD, "/proc/self/oom_score_adj", 0, &oom, NULL, NULL) < 0 ||
            !streq(oom, "500\n"))
                return 11;
        if (syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0) != ((IOPRIO_CLASS_BE << 13) | 4))
                return 12;
        if (sched_getscheduler(0) != SCHED_BATCH || getpriority(PRIO_PROCESS, 0) != 5)
                return 13;
        return 0;
}

static void sched_attributes(void **state)
{
        char msg[512];

        assert_child_ok(sched_child, NULL, msg);
}

static int oom_lower_child(int fd, void *arg)
{
        struct berth_process p = {.has_oom_score_adj = true, .oom_score_adj = 200};
        _autoerr_ struct berth_error *err = NULL;

        if (drop_effective(CAP_SYS_RESOURCE) < 0 ||
            berth_process_set_oom_score_adj(0, p.oom_score_adj, &err) < 0)
                return child_fail(fd, err, 1);
        if (berth_process_set_oom_score_adj(0, -1000, &err) == 0)
                return 77; /* a privileged ancestor allowed -1000 already */
        child_send(fd, err->msg);
        return err->code == EACCES ? 0 : 2;
}

static void oom_score_adj_lower(void **state)
{
        char msg[512];
        int rc = run_in_child(oom_lower_child, NULL, msg, sizeof(msg));

        if (rc == 77)
                skip();
        assert_int_equal(rc, 0);
        assert_string_equal(msg,
                            "oom_score_adj: cannot lower it from 200 to -1000: Permission "
                            "denied (needs CAP_SYS_RESOURCE, which this process does not have)");
}

static int personality_child(int fd, void *arg)
{
        _autoerr_ struct berth_error *err = NULL;

        if (berth_process_set_personality(PER_LINUX | ADDR_NO_RANDOMIZE, &err) < 0)
                return child_fail(fd, err, 1);
        return personality(0xffffffff) == (PER_LINUX | ADDR_NO_RANDOMIZE) ? 0 : 2;
}

static void set_personality(void **state)
{
        char msg[512];

        assert_child_ok(personality_child, NULL, msg);
}

/* ---- user --------------------------------------------------------------------------------- */

static int user_child(int fd, void *arg)
{
        uint32_t gids[] = {1234, 5678};
        struct berth_process p = {.uid = 65534,
                                  .gid = 65533,
                                  .umask = 077,
                                  .additional_gids = gids,
                                  .n_additional_gids = 2};
        _autoerr_ struct berth_error *err = NULL;
        gid_t got[8], rg, eg, sg;
        uid_t ru, eu, su;

        if (berth_process_set_user(&p, &err) < 0)
                return child_fail(fd, err, 10);
        if (getresuid(&ru, &eu, &su) < 0 || ru != 65534 || eu != 65534 || su != 65534)
                return 11;
        if (getresgid(&rg, &eg, &sg) < 0 || rg != 65533 || eg != 65533 || sg != 65533)
                return 12;
        if (getgroups(8, got) != 2 || got[0] != 1234 || got[1] != 5678)
                return 13;
        if (umask(0) != 077)
                return 14;
        /* The permitted set survived the switch; the effective one is for berth_caps_apply(). */
        if (status_hex("CapPrm:") == 0 || status_hex("CapEff:") != 0)
                return 15;
        return 0;
}

static int default_umask_child(int fd, void *arg)
{
        struct berth_process p = {.uid = 0, .gid = 0, .umask = -1};
        _autoerr_ struct berth_error *err = NULL;

        umask(077);
        if (berth_process_set_user(&p, &err) < 0)
                return child_fail(fd, err, 10);
        if (getgroups(0, NULL) != 0)
                return 11; /* no additionalGids: the runtime's groups are gone */
        return umask(0) == 0022 ? 0 : 12;
}

static void set_user(void **state)
{
        char msg[512];

        if (!berth_cap_is_effective(CAP_SETUID) || !berth_cap_is_effective(CAP_SETGID) ||
            !setgroups_allowed() || !id_is_mapped("/proc/self/uid_map", 65534) ||
            !id_is_mapped("/proc/self/gid_map", 65533) ||
            !id_is_mapped("/proc/self/gid_map", 1234) || !id_is_mapped("/proc/self/gid_map", 5678))
                skip();
        assert_child_ok(user_child, NULL, msg);
        assert_child_ok(default_umask_child, NULL, msg);
}

/* ---- find_exec ---------------------------------------------------------------------------- */

static void make_file(const char *name, mode_t mode)
{
        _autofree_ char *path = xasprintf("%s/%s", dir, name);
        _autoclose_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

        assert_true(fd >= 0);
        assert_int_equal(fchmod(fd, mode), 0);
}

static int find(char *arg0, char **env, char **ret, struct berth_error **err)
{
        struct berth_process p = {.args = V(arg0), .env = env};

        return berth_process_find_exec(&p, ret, err);
}

static void find_exec_in_path(void **state)
{
        _autofree_ char *env_path = xasprintf("PATH=/nonexistent::%s:/usr/bin", dir);
        _autofree_ char *want = xasprintf("%s/tool", dir), *got = NULL, *sh = NULL;
        _autoerr_ struct berth_error *err = NULL;

        make_file("tool", 0755);
        assert_int_equal(find("tool", V("A=1", env_path), &got, &err), 0);
        assert_string_equal(got, want);
        /* No PATH in the env: the default one. */
        assert_int_equal(find("sh", V("A=1"), &sh, &err), 0);
        assert_true(sh[0] == '/' && streq(strrchr(sh, '/'), "/sh"));
}

static void find_exec_errors(void **state)
{
        _autofree_ char *env_path = xasprintf("PATH=%s", dir);
        _autofree_ char *want = xasprintf("exec: \"noexec\": %s/noexec: Permission denied", dir);
        _autoerr_ struct berth_error *err = NULL;
        char *got = NULL;

        make_file("noexec", 0644);
        assert_int_equal(find("nope", V(env_path), &got, &err), -ENOENT);
        assert_string_equal(err->msg, "exec: \"nope\": executable file not found in $PATH");
        assert_int_equal(find("noexec", V(env_path), &got, &err), -EACCES);
        assert_string_equal(err->msg, want);
        assert_int_equal(find("/bin", V(env_path), &got, &err), -EISDIR);
        assert_string_equal(err->msg, "exec: \"/bin\": Is a directory");
        assert_int_equal(find("/nonexistent/x", V(env_path), &got, &err), -ENOENT);
        assert_string_equal(err->msg, "exec: \"/nonexistent/x\": No such file or directory");
        assert_null(got);
}

static void find_exec_relative(void **state)
{
        _autofree_ char *want = xasprintf("%s/tool", dir), *got = NULL;
        _autoclose_ int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        _autoerr_ struct berth_error *err = NULL;
        int r;

        make_file("tool", 0755);
        assert_true(cwd >= 0);
        assert_int_equal(chdir(dir), 0);
        r = find("./tool", V("A=1"), &got, &err);
        assert_int_equal(fchdir(cwd), 0);
        assert_int_equal(r, 0);
        assert_string_equal(got, want);
}

/* ---- LSM ---------------------------------------------------------------------------------- */

static char warnings[2048];

static void capture(enum berth_log_level level, const char *msg, void *userdata)
{
        if (level == BERTH_LOG_WARN)
                snprintf(warnings + strlen(warnings), sizeof(warnings) - strlen(warnings), "%s\n",
                         msg);
}

static void lsm_absent_warns(void **state)
{
        struct berth_process p = {.apparmor_profile = "berth-default", .selinux_label = "s0"};

        if (access("/sys/module/apparmor/parameters/enabled", F_OK) == 0 ||
            access("/sys/fs/selinux/enforce", F_OK) == 0)
                skip();
        warnings[0] = '\0';
        berth_log_set_handler(capture, NULL);
        assert_int_equal(berth_process_set_lsm(&p, NULL), 0);
        berth_log_set_handler(NULL, NULL);
        assert_string_equal(warnings,
                            "apparmorProfile \"berth-default\": AppArmor is not enabled on this "
                            "host, ignoring\n"
                            "selinuxLabel \"s0\": SELinux is not enabled on this host, ignoring\n");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(rlimits_lower),
            cmocka_unit_test(rlimits_raise_hard),
            cmocka_unit_test(rlimits_soft_above_hard),
            cmocka_unit_test(sched_attributes),
            cmocka_unit_test(oom_score_adj_lower),
            cmocka_unit_test(set_personality),
            cmocka_unit_test(set_user),
            cmocka_unit_test(find_exec_in_path),
            cmocka_unit_test(find_exec_errors),
            cmocka_unit_test(find_exec_relative),
            cmocka_unit_test(lsm_absent_warns),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
