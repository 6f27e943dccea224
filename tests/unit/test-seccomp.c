/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/capability.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include <seccomp.h> /* libseccomp's API too (seccomp_version) */

#include "runtime/seccomp.h"

#include "fork-child.h"
#include "base/log.h"
#include "base/util.h"

#define NAMES(...) ((char *[]){__VA_ARGS__, NULL})

static struct berth_seccomp allow_all(struct berth_seccomp_rule *rules, size_t n)
{
        return (struct berth_seccomp){
            .default_action = BERTH_SCMP_ALLOW, .syscalls = rules, .n_syscalls = n};
}

/* In the child: no_new_privs, then load. */
static int load_nnp(struct berth_seccomp_filter *f, int fd)
{
        _autoerr_ struct berth_error *err = NULL;

        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return 90;
        if (berth_seccomp_load(f, &err) < 0) {
                child_send(fd, err->msg);
                return 91;
        }
        return 0;
}

/* syscall(2) result as "-errno" or the value, so one comparison checks both. */
static long sc(long nr, long a0)
{
        char buf[4096];
        long r = nr == SYS_getcwd ? syscall(nr, buf, sizeof(buf)) : syscall(nr, a0);

        return r < 0 ? -errno : r;
}

static int getcwd_child(int fd, void *arg)
{
        int r = load_nnp(arg, fd);

        if (r)
                return r;
        if (sc(SYS_getcwd, 0) != -42)
                return 1;
        if (getpid() <= 0 || sc(SYS_getppid, 0) <= 0)
                return 2;
        return 0;
}

static struct berth_seccomp_filter *compile_ok(const struct berth_seccomp *sc_)
{
        _autoerr_ struct berth_error *err = NULL;
        struct berth_seccomp_filter *f = NULL;
        int r = berth_seccomp_compile(sc_, NULL, &f, &err);

        if (r < 0)
                print_message("# %s\n", err->msg);
        assert_int_equal(r, 0);
        assert_non_null(f);
        return f;
}

static void errno_ret(void **state)
{
        struct berth_seccomp_rule rule = {.names = NAMES("getcwd"),
                                          .action = BERTH_SCMP_ERRNO,
                                          .has_errno_ret = true,
                                          .errno_ret = 42};
        struct berth_seccomp s = allow_all(&rule, 1);
        struct berth_seccomp_filter *f = compile_ok(&s);
        char msg[512];

        assert_child_ok(getcwd_child, f, msg);
        berth_seccomp_filter_free(f);
}

static int eperm_child(int fd, void *arg)
{
        int r = load_nnp(arg, fd);

        return r ? r : sc(SYS_getcwd, 0) == -EPERM ? 0 : 1;
}

static void errno_defaults_to_eperm(void **state)
{
        struct berth_seccomp_rule rule = {.names = NAMES("getcwd"), .action = BERTH_SCMP_ERRNO};
        struct berth_seccomp s = allow_all(&rule, 1);
        struct berth_seccomp_filter *f = compile_ok(&s);
        char msg[512];

        assert_child_ok(eperm_child, f, msg);
        berth_seccomp_filter_free(f);
}

static int args_child(int fd, void *arg)
{
        int r = load_nnp(arg, fd);

        if (r)
                return r;
        if (sc(SYS_personality, 0xffffffff) != -43)
                return 1;
        if (sc(SYS_personality, PER_LINUX) < 0)
                return 2;
        if (sc(SYS_umask, 0777) != -44 || sc(SYS_umask, 0700) != -44)
                return 3;
        if (sc(SYS_umask, 0022) < 0 || sc(SYS_umask, 0600) < 0)
                return 4;
        return 0;
}

static void arg_conditions(void **state)
{
        struct berth_seccomp_arg eq = {.index = 0, .op = BERTH_SCMP_CMP_EQ, .value = 0xffffffff};
        /* MASKED_EQ: value is the mask, valueTwo the datum. */
        struct berth_seccomp_arg masked = {
            .index = 0, .op = BERTH_SCMP_CMP_MASKED_EQ, .value = 0700, .value_two = 0700};
        struct berth_seccomp_rule rules[] = {
            {.names = NAMES("personality"),
             .action = BERTH_SCMP_ERRNO,
             .has_errno_ret = true,
             .errno_ret = 43,
             .args = &eq,
             .n_args = 1},
            {.names = NAMES("umask"),
             .action = BERTH_SCMP_ERRNO,
             .has_errno_ret = true,
             .errno_ret = 44,
             .args = &masked,
             .n_args = 1},
        };
        struct berth_seccomp s = allow_all(rules, 2);
        struct berth_seccomp_filter *f = compile_ok(&s);
        char msg[512];

        assert_child_ok(args_child, f, msg);
        berth_seccomp_filter_free(f);
}

static int repeated_child(int fd, void *arg)
{
        int r = load_nnp(arg, fd);

        if (r)
                return r;
        if (sc(SYS_personality, 0x1234) != -45 || sc(SYS_personality, 0x5678) != -45)
                return 1;
        return sc(SYS_personality, 0xffffffff) >= 0 ? 0 : 2;
}

/* Two conditions on arg 0: one rule each, so either value matches (runc's behaviour). */
static void repeated_arg_index(void **state)
{
        struct berth_seccomp_arg args[] = {
            {.index = 0, .op = BERTH_SCMP_CMP_EQ, .value = 0x1234},
            {.index = 0, .op = BERTH_SCMP_CMP_EQ, .value = 0x5678},
        };
        struct berth_seccomp_rule rule = {.names = NAMES("personality"),
                                          .action = BERTH_SCMP_ERRNO,
                                          .has_errno_ret = true,
                                          .errno_ret = 45,
                                          .args = args,
                                          .n_args = 2};
        struct berth_seccomp s = allow_all(&rule, 1);
        struct berth_seccomp_filter *f = compile_ok(&s);
        char msg[512];

        assert_child_ok(repeated_child, f, msg);
        berth_seccomp_filter_free(f);
}

static int kill_child(int fd, void *arg)
{
        int r = load_nnp(arg, fd);

        if (r)
                return r;
        sc(SYS_getcwd, 0);
        return 1; /* not reached */
}

static void kill_process(void **state)
{
        struct berth_seccomp_rule rule = {.names = NAMES("getcwd"),
                                          .action = BERTH_SCMP_KILL_PROCESS};
        struct berth_seccomp s = allow_all(&rule, 1);
        struct berth_seccomp_filter *f = compile_ok(&s);
        char msg[512];

        assert_int_equal(run_in_child(kill_child, f, msg, sizeof(msg)), 128 + SIGSYS);
        berth_seccomp_filter_free(f);
}

static int expect_error(const struct berth_seccomp *s, int code, const char *text)
{
        _autoerr_ struct berth_error *err = NULL;
        struct berth_seccomp_filter *f = NULL;

        assert_int_equal(berth_seccomp_compile(s, NULL, &f, &err), -code);
        assert_null(f);
        assert_non_null(err);
        assert_string_equal(err->msg, text);
        return 0;
}

static void every_action_compiles(void **state)
{
        static const enum berth_seccomp_action actions[] = {
            BERTH_SCMP_KILL,  BERTH_SCMP_KILL_PROCESS, BERTH_SCMP_KILL_THREAD, BERTH_SCMP_TRAP,
            BERTH_SCMP_ERRNO, BERTH_SCMP_TRACE,        BERTH_SCMP_LOG,
        };
        struct berth_seccomp_rule rule = {.names = NAMES("getcwd")};
        struct berth_seccomp s = allow_all(&rule, 1);

        for (size_t i = 0; i < ARRAY_SIZE(actions); i++) {
                rule.action = actions[i];
                berth_seccomp_filter_free(compile_ok(&s));
                /* and as the default action, with an ALLOW rule */
                s.default_action = actions[i];
                rule.action = BERTH_SCMP_ALLOW;
                berth_seccomp_filter_free(compile_ok(&s));
                s.default_action = BERTH_SCMP_ALLOW;
        }
}

static void unknown_arch_is_an_error(void **state)
{
        struct berth_seccomp s = allow_all(NULL, 0);

        s.architectures = NAMES("SCMP_ARCH_X86_64", "SCMP_ARCH_VAX");
        expect_error(&s, EINVAL,
                     "linux.seccomp.architectures: unknown architecture \"SCMP_ARCH_VAX\"");
        s.architectures = NAMES("x86_64");
        expect_error(&s, EINVAL, "linux.seccomp.architectures: unknown architecture \"x86_64\"");
}

static void known_arches(void **state)
{
        struct berth_seccomp_rule rule = {.names = NAMES("getcwd"), .action = BERTH_SCMP_ERRNO};
        struct berth_seccomp s = allow_all(&rule, 1);

        s.architectures = NAMES("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32",
                                "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM");
        berth_seccomp_filter_free(compile_ok(&s));
}

static char warnings[4096];

static void capture(enum berth_log_level level, const char *msg, void *userdata)
{
        if (level == BERTH_LOG_WARN)
                snprintf(warnings + strlen(warnings), sizeof(warnings) - strlen(warnings), "%s\n",
                         msg);
}

static void unknown_syscall_warns(void **state)
{
        struct berth_seccomp_rule rules[] = {
            {.names = NAMES("getcwd"), .action = BERTH_SCMP_ERRNO},
            {.names = NAMES("no_such_syscall", "getppid"), .action = BERTH_SCMP_ERRNO},
            {.names = NAMES("other_one", "no_such_syscall"), .action = BERTH_SCMP_ERRNO},
        };
        struct berth_seccomp s = allow_all(rules, 3);
        const struct scmp_version *v = seccomp_version();
        _autofree_ char *want =
            xasprintf("linux.seccomp.syscalls: syscalls unknown to libseccomp "
                      "%u.%u.%u: \"no_such_syscall\", \"other_one\", ignoring\n",
                      v->major, v->minor, v->micro);

        warnings[0] = '\0';
        berth_log_set_handler(capture, NULL);
        berth_seccomp_filter_free(compile_ok(&s));
        berth_log_set_handler(NULL, NULL);
        assert_string_equal(warnings, want);
}

static int notify_load_child(int fd, void *arg)
{
        return load_nnp(arg, fd); /* the listener fd is closed: no agent here */
}

static void notify_compiles_and_loads(void **state)
{
        struct berth_seccomp_rule rule = {.names = NAMES("getcwd"), .action = BERTH_SCMP_NOTIFY};
        struct berth_seccomp s = allow_all(&rule, 1);
        struct berth_seccomp_filter *f;
        char msg[512];

        s.listener_path = (char *) "/run/listener.sock";
        f = compile_ok(&s);
        assert_child_ok(notify_load_child, f, msg);
        berth_seccomp_filter_free(f);
        s.flags = NAMES("SECCOMP_FILTER_FLAG_TSYNC");
        expect_error(&s, EINVAL,
                     "linux.seccomp.flags: \"SECCOMP_FILTER_FLAG_TSYNC\" cannot be "
                     "used with linux.seccomp.listenerPath");
}

static char traces[8192];

static void capture_traces(enum berth_log_level level, const char *msg, void *userdata)
{
        snprintf(traces + strlen(traces), sizeof(traces) - strlen(traces), "%s\n", msg);
}

/* Compiles through the cache under root; whether it was a hit. */
static bool compile_cached(const struct berth_seccomp *s, const char *root)
{
        _autoerr_ struct berth_error *err = NULL;
        struct berth_seccomp_filter *f = NULL;

        traces[0] = '\0';
        berth_log_set_handler(capture_traces, NULL);
        berth_trace_enable(true);
        assert_int_equal(berth_seccomp_compile(s, root, &f, &err), 0);
        berth_trace_enable(false);
        berth_log_set_handler(NULL, NULL);
        berth_seccomp_filter_free(f);
        return strstr(traces, ", cached)") != NULL;
}

static void cache(void **state)
{
        struct berth_seccomp_rule rule = {.names = NAMES("getcwd", "nosuchcall"),
                                          .action = BERTH_SCMP_ERRNO};
        struct berth_seccomp s = allow_all(&rule, 1);
        char root[] = "/tmp/test-seccomp-XXXXXX", path[128];
        _autofree_ char *cmd = NULL;
        DIR *d;
        struct dirent *de;

        assert_non_null(mkdtemp(root));
        assert_false(compile_cached(&s, root));
        assert_true(compile_cached(&s, root));
        /* the warning about the unknown name is said again on a hit */
        assert_non_null(strstr(traces, "\"nosuchcall\""));
        /* another config: another entry */
        rule.action = BERTH_SCMP_KILL_PROCESS;
        assert_false(compile_cached(&s, root));
        assert_true(compile_cached(&s, root));
        /* an entry others may write is not trusted */
        snprintf(path, sizeof(path), "%s/.seccomp:bpf", root);
        d = opendir(path);
        assert_non_null(d);
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        assert_int_equal(fchmodat(dirfd(d), de->d_name, 0666, 0), 0);
        closedir(d);
        assert_false(compile_cached(&s, root));
        /* nor a cache directory others may write */
        assert_int_equal(chmod(path, 0777), 0);
        assert_false(compile_cached(&s, root));
        assert_false(compile_cached(&s, root));
        cmd = xasprintf("rm -rf '%s'", root);
        assert_int_equal(system(cmd), 0);
}

static void bad_rules(void **state)
{
        struct berth_seccomp_arg arg = {.index = 6, .op = BERTH_SCMP_CMP_EQ};
        struct berth_seccomp_rule rule = {
            .names = NAMES("getcwd"), .action = BERTH_SCMP_ERRNO, .args = &arg, .n_args = 1};
        struct berth_seccomp s = allow_all(&rule, 1);

        expect_error(&s, EINVAL,
                     "linux.seccomp.syscalls[0].args[0].index: 6 is out of range (0-5)");
        rule.n_args = 0;
        rule.has_errno_ret = true;
        rule.errno_ret = 70000;
        expect_error(&s, EINVAL,
                     "linux.seccomp.syscalls[0]: errnoRet 70000 is out of range (0-65535)");
}

static int flags_child(int fd, void *arg)
{
        int r = load_nnp(arg, fd);

        return r ? r : sc(SYS_getcwd, 0) == -EPERM ? 0 : 1;
}

static void flags(void **state)
{
        struct berth_seccomp_rule rule = {.names = NAMES("getcwd"), .action = BERTH_SCMP_ERRNO};
        struct berth_seccomp s = allow_all(&rule, 1);
        struct berth_seccomp_filter *f;
        char msg[512];

        s.flags = NAMES("SECCOMP_FILTER_FLAG_NOPE");
        expect_error(&s, EINVAL, "linux.seccomp.flags: unknown flag \"SECCOMP_FILTER_FLAG_NOPE\"");
        s.flags = NAMES("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV");
        expect_error(&s, EINVAL,
                     "linux.seccomp.flags: \"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV\" needs "
                     "linux.seccomp.listenerPath");
        s.flags = NAMES("SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG",
                        "SECCOMP_FILTER_FLAG_SPEC_ALLOW");
        f = compile_ok(&s);
        assert_child_ok(flags_child, f, msg);
        berth_seccomp_filter_free(f);
}

/* Without no_new_privs the load needs CAP_SYS_ADMIN. */
static int no_nnp_child(int fd, void *arg)
{
        struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
        struct __user_cap_data_struct data[2];
        _autoerr_ struct berth_error *err = NULL;

        if (capget(&hdr, data) < 0)
                return 1;
        data[0].effective &= ~(1u << CAP_SYS_ADMIN);
        if (capset(&hdr, data) < 0)
                return 2;
        if (berth_seccomp_load(arg, &err) != -EACCES)
                return 3;
        child_send(fd, err->msg);
        return 0;
}

static void load_needs_nnp_or_sys_admin(void **state)
{
        struct berth_seccomp_rule rule = {.names = NAMES("getcwd"), .action = BERTH_SCMP_ERRNO};
        struct berth_seccomp s = allow_all(&rule, 1);
        struct berth_seccomp_filter *f = compile_ok(&s);
        char msg[512];

        assert_child_ok(no_nnp_child, f, msg);
        assert_true(startswith(msg, "load seccomp filter ("));
        assert_non_null(strstr(msg, "instructions): Permission denied (needs no_new_privs or "
                                    "CAP_SYS_ADMIN)"));
        berth_seccomp_filter_free(f);
}

/* Deny-by-default profiles list hundreds of names, some of them for other architectures only. */
static void default_errno_profile(void **state)
{
        struct berth_seccomp_rule rules[] = {
            {.names = NAMES("read", "write", "exit_group", "getpid", "socketcall", "ipc",
                            "arm_fadvise64_64", "arch_prctl", "clone3", "rt_sigreturn"),
             .action = BERTH_SCMP_ALLOW},
            {.names = NAMES("getcwd"), .action = BERTH_SCMP_ERRNO}, /* same as default */
        };
        struct berth_seccomp s = {
            .default_action = BERTH_SCMP_ERRNO, .syscalls = rules, .n_syscalls = 2};

        s.architectures = NAMES("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32");
        berth_seccomp_filter_free(compile_ok(&s));
}

#if defined(__x86_64__)
#define X32_BIT 0x40000000L

/* A deny-by-default profile whose newest syscall is setns (308): newer numbers get ENOSYS, on
 * x86_64 and x32 alike; mkdir (83), left out but older, gets the default EPERM. */
static int enosys_checks(bool x32)
{
        if (sc(SYS_getppid, 0) <= 0)
                return 1;
        if (sc(SYS_setns, -1) != -42 || sc(SYS_mkdir, 0) != -EPERM)
                return 2;
        if (sc(SYS_clone3, 0) != -ENOSYS || sc(SYS_faccessat2, 0) != -ENOSYS ||
            sc(1000, 0) != -ENOSYS)
                return 3;
        /* without SCMP_ARCH_X32 in the filter an x32 call is a foreign one: killed */
        if (x32 && (sc(X32_BIT | SYS_mkdir, 0) != -EPERM || sc(X32_BIT | 1000, 0) != -ENOSYS))
                return 4;
        return 0;
}

static int enosys_child(int fd, void *arg)
{
        int r = load_nnp(arg, fd);

        return r ? r : enosys_checks(true);
}

static int enosys_native_child(int fd, void *arg)
{
        int r = load_nnp(arg, fd);

        return r ? r : enosys_checks(false);
}

/* The default ALLOW: no stub, the kernel answers (clone3 of NULL: EINVAL, EFAULT or E2BIG). */
static int no_stub_child(int fd, void *arg)
{
        int r = load_nnp(arg, fd);

        if (r)
                return r;
        if (sc(SYS_mkdir, 0) != -EPERM)
                return 1;
        return sc(SYS_clone3, 0) != -ENOSYS ? 0 : 2;
}

static void enosys_above_the_profile(void **state)
{
        struct berth_seccomp_rule rules[] = {
            {.names = NAMES("read", "write", "exit_group", "exit", "getppid", "rt_sigreturn",
                            /* what an ASan build's runtime calls in the child (all below setns:
                             * the profile's highest stays setns) */
                            "mmap", "munmap", "mprotect", "madvise", "sigaltstack", "rt_sigaction",
                            "rt_sigprocmask", "getpid", "gettid", "prctl", "futex", "sched_yield",
                            "open", "openat", "close", "readlink"),
             .action = BERTH_SCMP_ALLOW},
            {.names = NAMES("setns", "no_such_syscall"),
             .action = BERTH_SCMP_ERRNO,
             .has_errno_ret = true,
             .errno_ret = 42},
        };
        struct berth_seccomp s = {
            .default_action = BERTH_SCMP_ERRNO, .syscalls = rules, .n_syscalls = 2};
        struct berth_seccomp_rule deny_mkdir = {.names = NAMES("mkdir"),
                                                .action = BERTH_SCMP_ERRNO};
        struct berth_seccomp allow = allow_all(&deny_mkdir, 1);
        struct berth_seccomp_filter *f;
        char msg[512];

        s.architectures = NAMES("SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32");
        f = compile_ok(&s);
        assert_child_ok(enosys_child, f, msg);
        berth_seccomp_filter_free(f);
        s.architectures = NULL; /* the native one is in the stub all the same */
        f = compile_ok(&s);
        assert_child_ok(enosys_native_child, f, msg);
        berth_seccomp_filter_free(f);
        f = compile_ok(&allow);
        assert_child_ok(no_stub_child, f, msg);
        berth_seccomp_filter_free(f);
}
#else
static void enosys_above_the_profile(void **state)
{
        skip();
}
#endif

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(errno_ret),
            cmocka_unit_test(errno_defaults_to_eperm),
            cmocka_unit_test(arg_conditions),
            cmocka_unit_test(repeated_arg_index),
            cmocka_unit_test(kill_process),
            cmocka_unit_test(every_action_compiles),
            cmocka_unit_test(unknown_arch_is_an_error),
            cmocka_unit_test(known_arches),
            cmocka_unit_test(unknown_syscall_warns),
            cmocka_unit_test(notify_compiles_and_loads),
            cmocka_unit_test(cache),
            cmocka_unit_test(bad_rules),
            cmocka_unit_test(flags),
            cmocka_unit_test(load_needs_nnp_or_sys_admin),
            cmocka_unit_test(default_errno_profile),
            cmocka_unit_test(enosys_above_the_profile),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
