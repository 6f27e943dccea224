/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "runtime/hooks.h"
#include "base/log.h"
#include "base/util.h"

#define V(...) ((char *[]){__VA_ARGS__, NULL})
#define PATH_ENV V("PATH=/usr/bin:/bin")

static char dir[64];

static int setup(void **state)
{
        strcpy(dir, "/tmp/berth-test-hooks.XXXXXX");
        return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
        _autofree_ char *cmd = xasprintf("rm -rf '%s'", dir);

        return system(cmd) == 0 ? 0 : -1;
}

static char *path_in_dir(const char *name)
{
        return xasprintf("%s/%s", dir, name);
}

static char *read_back(const char *path)
{
        char *buf = NULL;

        assert_int_equal(berth_read_file_at(AT_FDCWD, path, 0, &buf, NULL, NULL), 0);
        return buf;
}

static int run_one(int kind, struct berth_hook *h, const char *state, struct berth_error **err)
{
        struct berth_hook_list l = {.v = h, .n = 1};

        return berth_hooks_run(kind, &l, state, NULL, err);
}

static void exit_status(void **state)
{
        struct berth_hook h = {.path = "/bin/sh", .args = V("sh", "-c", "exit 3")};
        _autoerr_ struct berth_error *err = NULL;

        assert_int_equal(run_one(BERTH_HOOK_CREATE_RUNTIME, &h, "{}", &err), -EIO);
        assert_string_equal(err->msg,
                            "error running hook #0 (createRuntime, /bin/sh): exited with status 3");
}

static void stops_at_first_failure(void **state)
{
        _autofree_ char *marker = path_in_dir("third-ran");
        _autofree_ char *script = xasprintf("touch '%s'", marker);
        struct berth_hook hooks[] = {
            {.path = "/bin/true"},
            {.path = "/bin/false"},
            {.path = "/bin/sh", .args = V("sh", "-c", script), .env = PATH_ENV},
        };
        struct berth_hook_list l = {.v = hooks, .n = 3};
        _autoerr_ struct berth_error *err = NULL;

        assert_int_equal(berth_hooks_run(BERTH_HOOK_PRESTART, &l, "{}", NULL, &err), -EIO);
        assert_string_equal(err->msg,
                            "error running hook #1 (prestart, /bin/false): exited with status 1");
        assert_int_equal(access(marker, F_OK), -1);
        hooks[1].path = "/bin/true";
        assert_int_equal(berth_hooks_run(BERTH_HOOK_PRESTART, &l, "{}", NULL, NULL), 0);
        assert_int_equal(access(marker, F_OK), 0);
}

static void timeout_kills(void **state)
{
        struct berth_hook h = {.path = "/bin/sleep", .args = V("sleep", "10"), .timeout = 1};
        _autoerr_ struct berth_error *err = NULL;
        uint64_t t = berth_now_us();

        assert_int_equal(run_one(BERTH_HOOK_START_CONTAINER, &h, "{}", &err), -ETIMEDOUT);
        assert_string_equal(
            err->msg, "error running hook #0 (startContainer, /bin/sleep): timed out after 1 s");
        t = berth_now_us() - t;
        assert_true(t >= 900000 && t < 3000000);
}

static void killed_by_signal(void **state)
{
        struct berth_hook h = {.path = "/bin/sh", .args = V("sh", "-c", "kill -TERM $$")};
        _autoerr_ struct berth_error *err = NULL;

        assert_int_equal(run_one(BERTH_HOOK_CREATE_CONTAINER, &h, "{}", &err), -EIO);
        assert_string_equal(err->msg, "error running hook #0 (createContainer, /bin/sh): killed by "
                                      "signal 15 (SIGTERM: terminated)");
}

static char warned[512];

static void keep_warning(enum berth_log_level level, const char *msg, void *userdata)
{
        if (level == BERTH_LOG_WARN)
                snprintf(warned, sizeof(warned), "%s", msg);
}

/* runtime.md lifecycle 9 and 13: a failing poststart or poststop hook is a warning, and the
 * hooks after it still run. */
static void poststop_failure_is_a_warning(void **state)
{
        _autofree_ char *marker = path_in_dir("second-ran");
        _autofree_ char *script = xasprintf("touch '%s'", marker);
        struct berth_hook hooks[] = {
            {.path = "/bin/false"},
            {.path = "/bin/sh", .args = V("sh", "-c", script), .env = PATH_ENV},
        };
        struct berth_hook_list l = {.v = hooks, .n = 2};
        _autoerr_ struct berth_error *err = NULL;

        for (int kind = BERTH_HOOK_POSTSTART; kind <= BERTH_HOOK_POSTSTOP; kind++) {
                _autofree_ char *want =
                    xasprintf("error running hook #0 (%s, /bin/false): exited with status 1, "
                              "continuing",
                              berth_hook_kind_name(kind));

                unlink(marker);
                warned[0] = '\0';
                berth_log_set_handler(keep_warning, NULL);
                assert_int_equal(berth_hooks_run(kind, &l, "{}", NULL, &err), 0);
                berth_log_set_handler(NULL, NULL);
                assert_null(err);
                assert_string_equal(warned, want);
                assert_int_equal(access(marker, F_OK), 0);
        }
}

static void missing_program(void **state)
{
        struct berth_hook h = {.path = "/nonexistent/hook"};
        _autoerr_ struct berth_error *err = NULL;

        assert_int_equal(run_one(BERTH_HOOK_PRESTART, &h, "{}", &err), -ENOENT);
        assert_string_equal(
            err->msg, "error running hook #0 (prestart, /nonexistent/hook): exec: No such file or "
                      "directory");
}

static void state_on_stdin(void **state)
{
        _autofree_ char *out = path_in_dir("state");
        _autofree_ char *script = xasprintf("test -p /dev/stdin && cat > '%s'", out);
        _autofree_ char *got = NULL;
        struct berth_hook h = {.path = "/bin/sh", .args = V("sh", "-c", script), .env = PATH_ENV};
        const char *json = "{\"ociVersion\":\"1.2.0\",\"id\":\"x\",\"status\":\"creating\"}";

        assert_int_equal(run_one(BERTH_HOOK_CREATE_RUNTIME, &h, json, NULL), 0);
        got = read_back(out);
        assert_string_equal(got, json);
}

/* More than a default pipe holds: the hook still gets all of it, and one that reads nothing
 * neither blocks us nor kills us with SIGPIPE. */
static void large_state(void **state)
{
        _autofree_ char *out = path_in_dir("big"), *script = xasprintf("cat > '%s'", out);
        _autofree_ char *big = xcalloc(3 << 20, 1), *got = NULL;
        struct berth_hook cat = {.path = "/bin/sh", .args = V("sh", "-c", script), .env = PATH_ENV};
        struct berth_hook deaf = {.path = "/bin/true"};

        memset(big, 'x', (3 << 20) - 1);
        /* 100 kB: a grown pipe; 2.5 MB: above pipe-max-size, so a memfd. */
        for (size_t len = 100000; len < (3u << 20); len *= 5) {
                big[len] = '\0';
                assert_int_equal(run_one(BERTH_HOOK_PRESTART, &cat, big, NULL), 0);
                got = read_back(out);
                assert_int_equal(strlen(got), len);
                free(steal_ptr(&got));
                assert_int_equal(run_one(BERTH_HOOK_PRESTART, &deaf, big, NULL), 0);
                big[len] = 'x';
        }
}

/* Without args, argv is just the path: /bin/sh then reads its script from stdin. */
static void no_args_means_path_only(void **state)
{
        struct berth_hook h = {.path = "/bin/sh"};
        _autoerr_ struct berth_error *err = NULL;

        assert_int_equal(run_one(BERTH_HOOK_START_CONTAINER, &h, "exit 7\n", &err), -EIO);
        assert_string_equal(
            err->msg, "error running hook #0 (startContainer, /bin/sh): exited with status 7");
}

static char *env_of(char **env)
{
        _autofree_ char *out = path_in_dir("env");
        struct berth_hook h = {.path = "/usr/bin/env", .env = env};
        _autoclose_ int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        int saved = dup(STDOUT_FILENO);

        assert_true(fd >= 0 && saved >= 0);
        assert_int_equal(dup2(fd, STDOUT_FILENO), STDOUT_FILENO);
        assert_int_equal(run_one(BERTH_HOOK_CREATE_CONTAINER, &h, "{}", NULL), 0);
        assert_int_equal(dup2(saved, STDOUT_FILENO), STDOUT_FILENO);
        close(saved);
        return read_back(out);
}

static void env_exactly(void **state)
{
        _autofree_ char *a = env_of(V("A=1", "B=two words", "EMPTY="));
        _autofree_ char *b = env_of(V(NULL)), *c = NULL;

        assert_string_equal(a, "A=1\nB=two words\nEMPTY=\n");
        assert_string_equal(b, ""); /* "env": [] */
        /* no "env": the runtime's own, as runc's and crun's hooks get it */
        setenv("BERTH_TEST_HOOK_ENV", "inherited", 1);
        c = env_of(NULL);
        unsetenv("BERTH_TEST_HOOK_ENV");
        assert_non_null(strstr(c, "BERTH_TEST_HOOK_ENV=inherited\n"));
}

static void other_fds_closed(void **state)
{
        _autoclose_ int fd = open("/dev/null", O_RDONLY); /* deliberately without O_CLOEXEC */
        _autofree_ char *script = NULL;
        struct berth_hook h = {.path = "/bin/sh", .env = PATH_ENV};

        assert_true(fd > 2);
        script = xasprintf("test ! -e /proc/self/fd/%d", fd);
        h.args = V("sh", "-c", script);
        assert_int_equal(run_one(BERTH_HOOK_PRESTART, &h, "{}", NULL), 0);
}

/* The hooks start in the given directory (runc: the bundle, or the rootfs for createContainer);
 * one that cannot be opened leaves them in ours. */
static void working_directory(void **state)
{
        _autofree_ char *out = path_in_dir("pwd"), *script = xasprintf("pwd > '%s'", out);
        _autofree_ char *sub = path_in_dir("sub"), *want = xasprintf("%s\n", sub);
        _autofree_ char *got = NULL, *ours = getcwd(NULL, 0), *want_ours = NULL;
        struct berth_hook h = {.path = "/bin/sh", .args = V("sh", "-c", script), .env = PATH_ENV};
        struct berth_hook_list l = {.v = &h, .n = 1};

        assert_int_equal(mkdir(sub, 0755), 0);
        assert_int_equal(berth_hooks_run(BERTH_HOOK_PRESTART, &l, "{}", sub, NULL), 0);
        got = read_back(out);
        assert_string_equal(got, want);
        free(steal_ptr(&got));
        assert_non_null(ours);
        want_ours = xasprintf("%s\n", ours);
        assert_int_equal(berth_hooks_run(BERTH_HOOK_POSTSTOP, &l, "{}", "/nonexistent", NULL), 0);
        got = read_back(out);
        assert_string_equal(got, want_ours);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(exit_status),
            cmocka_unit_test(stops_at_first_failure),
            cmocka_unit_test(timeout_kills),
            cmocka_unit_test(killed_by_signal),
            cmocka_unit_test(poststop_failure_is_a_warning),
            cmocka_unit_test(missing_program),
            cmocka_unit_test(state_on_stdin),
            cmocka_unit_test(large_state),
            cmocka_unit_test(no_args_means_path_only),
            cmocka_unit_test(env_exactly),
            cmocka_unit_test(other_fds_closed),
            cmocka_unit_test(working_directory),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
