/* SPDX-License-Identifier: Apache-2.0 */
/* docker-format seccomp profiles: the built-in default resolved for a container, its argument
 * rules evaluated value by value, files parsed, and what libberth compiles from the result. */
#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>

#include "engine/seccomp-profile.h"
#include "runtime/seccomp.h"
#include "spec/spec.h"
#include "base/util.h"

static char *docker_caps[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
    NULL,
};

static const struct berth_scmp_host amd64_6_1 = {"amd64", "SCMP_ARCH_X86_64", 6 << 16 | 1, true};

static json_t *resolve_default(char **caps, const struct berth_scmp_host *h)
{
        _autoerr_ struct berth_error *e = NULL;
        json_t *j = NULL;

        if (berth_scmp_profile_resolve(berth_scmp_profile_default(), caps, h, &j, &e) < 0)
                fail_msg("%s", e->msg);
        assert_non_null(j);
        return j;
}

static bool has_name(json_t *rule, const char *name)
{
        size_t i;
        json_t *v;

        json_array_foreach(json_object_get(rule, "names"), i,
                           v) if (streq(json_string_value(v), name)) return true;
        return false;
}

static bool arg_matches(json_t *a, uint64_t x)
{
        const char *op = json_string_value(json_object_get(a, "op"));
        uint64_t v = (uint64_t) json_integer_value(json_object_get(a, "value"));
        uint64_t v2 = (uint64_t) json_integer_value(json_object_get(a, "valueTwo"));

        assert_int_equal(json_integer_value(json_object_get(a, "index")) % 2, 0); /* 0 (s390: 1) */
        if (streq(op, "SCMP_CMP_EQ"))
                return x == v;
        if (streq(op, "SCMP_CMP_NE"))
                return x != v;
        if (streq(op, "SCMP_CMP_LT"))
                return x < v;
        if (streq(op, "SCMP_CMP_LE"))
                return x <= v;
        if (streq(op, "SCMP_CMP_GT"))
                return x > v;
        if (streq(op, "SCMP_CMP_GE"))
                return x >= v;
        assert_string_equal(op, "SCMP_CMP_MASKED_EQ");
        return (x & v) == v2;
}

/* What the resolved profile answers for name(x): 0 allowed, else the errno; every matching
 * rule must agree (libseccomp's order among rules of one syscall must not matter). */
static int answer(json_t *prof, const char *name, uint64_t x)
{
        int r = -1;
        size_t i;
        json_t *rule;

        json_array_foreach(json_object_get(prof, "syscalls"), i, rule)
        {
                json_t *args = json_object_get(rule, "args"), *a;
                size_t k;
                bool match = true;
                int this;

                if (!has_name(rule, name))
                        continue;
                json_array_foreach(args, k, a) match = match && arg_matches(a, x);
                if (!match)
                        continue;
                this = streq(json_string_value(json_object_get(rule, "action")), "SCMP_ACT_ALLOW")
                           ? 0
                           : (int) json_integer_value(json_object_get(rule, "errnoRet"));
                if (r >= 0 && r != this)
                        fail_msg("%s(0x%llx): rules disagree: %d and %d", name,
                                 (unsigned long long) x, r, this);
                r = this;
        }
        return r < 0 ? (int) json_integer_value(json_object_get(prof, "defaultErrnoRet")) : r;
}

static void test_default_names(void **state)
{
        json_t *j = resolve_default(docker_caps, &amd64_6_1), *arches;

        (void) state;
        assert_string_equal(json_string_value(json_object_get(j, "defaultAction")),
                            "SCMP_ACT_ERRNO");
        assert_int_equal(answer(j, "read", 0), 0);
        assert_int_equal(answer(j, "faccessat2", 0), 0);
        assert_int_equal(answer(j, "close_range", 0), 0);
        assert_int_equal(answer(j, "chroot", 0), 0);       /* CAP_SYS_CHROOT */
        assert_int_equal(answer(j, "arch_prctl", 0), 0);   /* amd64 */
        assert_int_equal(answer(j, "ptrace", 0), 0);       /* kernel >= 4.8 */
        assert_int_equal(answer(j, "memfd_secret", 0), 0); /* docker allows it since 2022 */
        static const char *const eperm[] = {
            "mount",
            "umount2",
            "unshare",
            "setns",
            "kcmp",
            "bpf",
            "keyctl",
            "add_key",
            "io_uring_setup",
            "io_uring_enter",
            "reboot",
            "kexec_load",
            "init_module",
            "open_by_handle_at",
            "perf_event_open",
            "userfaultfd",
            "pivot_root",
            "swapon",
            "acct",
            "settimeofday",
            "clock_settime",
            "iopl",
            "vhangup",
            "mbind",
            "syslog",
            "fsopen",
            "move_mount",
            "pidfd_getfd",
            "process_madvise",
            "sethostname",
        };
        for (size_t i = 0; i < ARRAY_SIZE(eperm); i++)
                if (answer(j, eperm[i], 0) != EPERM)
                        fail_msg("%s: %d, expected EPERM", eperm[i], answer(j, eperm[i], 0));
        assert_int_equal(answer(j, "clone3", 0), ENOSYS);
        /* names libseccomp does not know are left out, whatever the profile says */
        assert_int_equal(answer(j, "no_such_syscall", 0), ENOSYS);
        arches = json_object_get(j, "architectures");
        assert_int_equal(json_array_size(arches), 3);
        assert_string_equal(json_string_value(json_array_get(arches, 0)), "SCMP_ARCH_X86_64");
        assert_string_equal(json_string_value(json_array_get(arches, 2)), "SCMP_ARCH_X32");
        json_decref(j);
}

/* A kernel without x32 syscalls gets no SCMP_ARCH_X32 (archMap's sub-architecture). */
static void test_default_no_x32(void **state)
{
        struct berth_scmp_host h = amd64_6_1;
        json_t *j, *arches;

        (void) state;
        h.x32 = false;
        j = resolve_default(docker_caps, &h);
        arches = json_object_get(j, "architectures");
        assert_int_equal(json_array_size(arches), 2);
        assert_string_equal(json_string_value(json_array_get(arches, 1)), "SCMP_ARCH_X86");
        json_decref(j);
}

static void test_default_caps_and_hosts(void **state)
{
        char *admin[] = {"CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_SYS_TIME", NULL};
        struct berth_scmp_host old = amd64_6_1,
                               arm = {"arm64", "SCMP_ARCH_AARCH64", 6 << 16, false};
        json_t *j = resolve_default(admin, &amd64_6_1);

        (void) state;
        assert_int_equal(answer(j, "mount", 0), 0);
        assert_int_equal(answer(j, "unshare", 0), 0);
        assert_int_equal(answer(j, "clone", 0x10000000), 0); /* CLONE_NEWUSER */
        assert_int_equal(answer(j, "clone3", 0), 0);
        assert_int_equal(answer(j, "kcmp", 0), 0);
        assert_int_equal(answer(j, "settimeofday", 0), 0);
        assert_int_equal(answer(j, "chroot", 0), EPERM); /* no CAP_SYS_CHROOT here */
        json_decref(j);

        old.kernel = 4 << 16 | 4;
        j = resolve_default(docker_caps, &old);
        assert_int_equal(answer(j, "ptrace", 0), EPERM);
        json_decref(j);

        j = resolve_default(docker_caps, &arm);
        assert_int_equal(answer(j, "arch_prctl", 0), EPERM);
        assert_int_equal(json_array_size(json_object_get(j, "architectures")), 2);
        json_decref(j);
}

/* personality: allowed exactly for docker's five values; the others get the default action
 * (seccomp-default.c says why not EPERM). */
static void test_default_personality(void **state)
{
        static const uint64_t allowed[] = {0, 8, 0x20000, 0x20008, 0xffffffff};
        json_t *j = resolve_default(docker_caps, &amd64_6_1);
        uint64_t x = 0x9e3779b97f4a7c15ULL;

        (void) state;
        for (size_t i = 0; i < ARRAY_SIZE(allowed); i++)
                assert_int_equal(answer(j, "personality", allowed[i]), 0);
        for (int b = 0; b < 64; b++) {
                uint64_t v = 1ULL << b;

                assert_int_equal(answer(j, "personality", v), v == 8 || v == 0x20000 ? 0 : ENOSYS);
        }
        for (int i = 0; i < 1000; i++) {
                x ^= x << 13, x ^= x >> 7, x ^= x << 17;
                assert_int_equal(answer(j, "personality", x), ENOSYS);
        }
        assert_int_equal(answer(j, "personality", 0x0040000), ENOSYS); /* ADDR_NO_RANDOMIZE */
        assert_int_equal(answer(j, "personality", 0x100000008ULL), ENOSYS);
        json_decref(j);
}

static void test_default_socket_clone(void **state)
{
        json_t *j = resolve_default(docker_caps, &amd64_6_1);

        (void) state;
        for (uint64_t f = 0; f < 64; f++)
                assert_int_equal(answer(j, "socket", f), f == 38 || f == 40 ? EPERM : 0);
        assert_int_equal(answer(j, "socket", UINT64_MAX), 0);
        assert_int_equal(answer(j, "clone", 0x01200011), 0); /* fork()'s flags */
        assert_int_equal(answer(j, "clone", 0x003d0f00), 0); /* pthread_create's */
        for (int bit = 0; bit < 32; bit++) {
                uint64_t f = 0x01200011 | 1ULL << bit;

                assert_int_equal(answer(j, "clone", f), (1ULL << bit) & 0x7E020000 ? EPERM : 0);
        }
        json_decref(j);
}

/* libberth takes the resolved default as linux.seccomp and compiles it, without warnings. */
static void test_default_compiles(void **state)
{
        json_t *j = resolve_default(docker_caps, NULL), *spec;
        _autoerr_ struct berth_error *e = NULL;
        struct berth_spec *s = NULL;
        struct berth_seccomp_filter *f = NULL;
        _autofree_ char *text = NULL;

        (void) state;
        spec = json_pack("{s:s, s:{s:s}, s:{s:[s], s:s}, s:{s:o}}", "ociVersion", "1.2.0", "root",
                         "path", "rootfs", "process", "args", "true", "cwd", "/", "linux",
                         "seccomp", j);
        text = json_dumps(spec, 0);
        json_decref(spec);
        if (berth_spec_parse(text, strlen(text), "config.json", &s, &e) < 0)
                fail_msg("%s", e->msg);
        if (berth_seccomp_compile(s->lx.seccomp, NULL, &f, &e) < 0)
                fail_msg("%s", e->msg);
        berth_seccomp_filter_free(f);
        berth_spec_free(s);
}

/* ---- files --------------------------------------------------------------------------------- */

static json_t *resolve_text(const char *text, char **caps)
{
        _autoerr_ struct berth_error *e = NULL;
        struct berth_scmp_profile *p = NULL;
        json_t *j = NULL;

        if (berth_scmp_profile_parse(text, strlen(text), "p.json", &p, &e) < 0)
                fail_msg("%s", e->msg);
        if (berth_scmp_profile_resolve(p, caps, &amd64_6_1, &j, &e) < 0)
                fail_msg("%s", e->msg);
        berth_scmp_profile_free(p);
        return j;
}

static void test_file_conditions(void **state)
{
        static const char text[] =
            "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"defaultErrnoRet\": 38,"
            " \"archMap\": [{\"architecture\": \"SCMP_ARCH_AARCH64\", \"subArchitectures\": "
            "[\"SCMP_ARCH_ARM\"]}, {\"architecture\": \"SCMP_ARCH_X86_64\", "
            "\"subArchitectures\": [\"SCMP_ARCH_X86\"]}],"
            " \"syscalls\": ["
            "  {\"names\": [\"read\", \"write\", \"not_a_syscall\"],"
            "   \"action\": \"SCMP_ACT_ALLOW\"},"
            "  {\"name\": \"getpid\", \"action\": \"SCMP_ACT_ALLOW\", \"comment\": \"old form\"},"
            "  {\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ALLOW\", \"includes\": {\"caps\": "
            "[\"CAP_SYS_ADMIN\"]}},"
            "  {\"names\": [\"chroot\"], \"action\": \"SCMP_ACT_ALLOW\", \"excludes\": {\"caps\": "
            "[\"CAP_SYS_ADMIN\"]}},"
            "  {\"names\": [\"arch_prctl\"], \"action\": \"SCMP_ACT_ALLOW\", \"includes\": "
            "{\"arches\": [\"amd64\"]}},"
            "  {\"names\": [\"cacheflush\"], \"action\": \"SCMP_ACT_ALLOW\", \"includes\": "
            "{\"arches\": [\"arm64\"]}},"
            "  {\"names\": [\"ptrace\"], \"action\": \"SCMP_ACT_ALLOW\", \"includes\": "
            "{\"minKernel\": \"7.0\"}},"
            "  {\"names\": [\"kcmp\"], \"action\": \"SCMP_ACT_ALLOW\", \"excludes\": "
            "{\"minKernel\": \"5.4\"}},"
            "  {\"names\": [\"socket\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 97, "
            "\"args\": [{\"index\": 0, \"value\": 40, \"op\": \"SCMP_CMP_EQ\"}]}"
            "], \"unknownField\": 1}";
        char *admin[] = {"CAP_SYS_ADMIN", NULL};
        json_t *j = resolve_text(text, docker_caps), *arches;

        (void) state;
        assert_int_equal(answer(j, "read", 0), 0);
        assert_int_equal(answer(j, "getpid", 0), 0);
        assert_int_equal(answer(j, "not_a_syscall", 0), ENOSYS);
        assert_int_equal(answer(j, "mount", 0), ENOSYS);
        assert_int_equal(answer(j, "chroot", 0), 0);
        assert_int_equal(answer(j, "arch_prctl", 0), 0);
        assert_int_equal(answer(j, "cacheflush", 0), ENOSYS);
        assert_int_equal(answer(j, "ptrace", 0), ENOSYS);
        assert_int_equal(answer(j, "kcmp", 0), ENOSYS);
        assert_int_equal(answer(j, "socket", 40), 97);
        /* a file's profile gets no EPERM list: unlisted means the default action */
        assert_int_equal(answer(j, "keyctl", 0), ENOSYS);
        arches = json_object_get(j, "architectures");
        assert_int_equal(json_array_size(arches), 2);
        assert_string_equal(json_string_value(json_array_get(arches, 1)), "SCMP_ARCH_X86");
        json_decref(j);

        j = resolve_text(text, admin);
        assert_int_equal(answer(j, "mount", 0), 0);
        assert_int_equal(answer(j, "chroot", 0), ENOSYS);
        json_decref(j);
}

static void test_file_empty(void **state)
{
        _autoerr_ struct berth_error *e = NULL;
        struct berth_scmp_profile *p = NULL;
        json_t *j = (json_t *) 1;

        (void) state;
        assert_int_equal(berth_scmp_profile_parse("{}", 2, "p.json", &p, &e), 0);
        assert_int_equal(berth_scmp_profile_resolve(p, docker_caps, &amd64_6_1, &j, &e), 0);
        assert_null(j);
        berth_scmp_profile_free(p);
}

static void test_file_errors(void **state)
{
        static const struct {
                const char *text, *msg;
        } bad[] = {
            {"{", "seccomp profile p.json: line 1 column 1: "},
            {"[]", "seccomp profile p.json: expected a JSON object"},
            {"{\"defaultAction\": 1}", "profile: defaultAction: expected a string, got an integer"},
            {"{\"defaultAction\": \"SCMP_ACT_NOPE\"}", "defaultAction: unknown action"},
            {"{\"syscalls\": [{\"name\": \"a\", \"names\": [\"b\"], \"action\": "
             "\"SCMP_ACT_ALLOW\"}]}",
             "syscalls[0]: both 'name' and 'names' are specified"},
            {"{\"architectures\": [\"SCMP_ARCH_X86_64\"], \"archMap\": [{\"architecture\": "
             "\"SCMP_ARCH_X86_64\"}]}",
             "both 'architectures' and 'archMap' are specified"},
            {"{\"syscalls\": [{\"names\": [\"a\"]}]}", "syscalls[0]: action: missing"},
            {"{\"syscalls\": [{\"names\": [\"a\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": "
             "[{\"index\": 6, \"value\": 1, \"op\": \"SCMP_CMP_EQ\"}]}]}",
             "syscalls[0].args[0]: index: 6 is out of range (0..5)"},
            {"{\"syscalls\": [{\"names\": [\"a\"], \"action\": \"SCMP_ACT_ALLOW\", \"args\": "
             "[{\"index\": 0, \"value\": 1, \"op\": \"EQ\"}]}]}",
             "syscalls[0].args[0]: op: unknown operator \"EQ\""},
            {"{\"syscalls\": [{\"names\": [\"a\"], \"action\": \"SCMP_ACT_ALLOW\", "
             "\"includes\": {\"minKernel\": \"5\"}}]}",
             "syscalls[0].includes: minKernel: invalid kernel version \"5\""},
            {"{\"syscalls\": [{\"names\": [1], \"action\": \"SCMP_ACT_ALLOW\"}]}",
             "syscalls[0]: names[0]: expected a string"},
        };

        (void) state;
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                _autoerr_ struct berth_error *e = NULL;
                struct berth_scmp_profile *p = NULL;

                assert_int_equal(
                    berth_scmp_profile_parse(bad[i].text, strlen(bad[i].text), "p.json", &p, &e),
                    -EINVAL);
                assert_null(p);
                if (!strstr(e->msg, bad[i].msg))
                        fail_msg("%s: got \"%s\", expected \"%s\"", bad[i].text, e->msg,
                                 bad[i].msg);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_default_names),
            cmocka_unit_test(test_default_no_x32),
            cmocka_unit_test(test_default_caps_and_hosts),
            cmocka_unit_test(test_default_personality),
            cmocka_unit_test(test_default_socket_clone),
            cmocka_unit_test(test_default_compiles),
            cmocka_unit_test(test_file_conditions),
            cmocka_unit_test(test_file_empty),
            cmocka_unit_test(test_file_errors),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
