/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth_container_create() up to the clone (create.c): what it checks and prepares before any
 * process or cgroup exists, each failure with its message, and that a failed create leaves
 * nothing in the state root. The clone, the handshake and the cgroup are the integration suite's
 * (test_lifecycle.py, test_crash.py, test_cgroups.py): they need a container.
 *
 * create refuses to clone from a writable binary, so this test seals itself first, as a front end
 * does: main() re-executes the test from a read-only view of its binary (selfexe.c).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "base/util.h"
#include "runtime/container.h"
#include "runtime/selfexe.h"

static char tmp[] = "/tmp/berth-test-create.XXXXXX";
static char *bundle, *rootfs, *root;

#define BASE_PROCESS "\"process\": {\"args\": [\"/bin/true\"], \"cwd\": \"/\"}"
#define BASE_ROOT "\"root\": {\"path\": \"rootfs\"}"
#define BASE_LINUX "\"linux\": {\"namespaces\": [{\"type\": \"mount\"}]}"

static void write_config(const char *json)
{
        _autofree_ char *path = xasprintf("%s/config.json", bundle);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        assert_true(fd >= 0);
        assert_int_equal(write_all(fd, json, strlen(json)), 0);
        close(fd);
}

static int setup(void **state)
{
        if (!mkdtemp(tmp))
                return -1;
        bundle = xasprintf("%s/bundle", tmp);
        root = xasprintf("%s/root", tmp);
        rootfs = xasprintf("%s/rootfs", bundle);
        if (mkdir(bundle, 0755) < 0 || mkdir(rootfs, 0755) < 0)
                return -1;
        return 0;
}

static int teardown(void **state)
{
        _autofree_ char *cmd = xasprintf("rm -rf '%s'", tmp);

        free(bundle);
        free(rootfs);
        free(root);
        return system(cmd) == 0 ? 0 : -1;
}

/* What is in the state root (sorted, space-separated), "" for nothing or no root. */
static char *root_entries(void)
{
        struct dirent **names = NULL;
        int n = scandir(root, &names, NULL, alphasort);
        char *out = xstrdup("");

        for (int i = 0; i < n; i++) {
                if (names[i]->d_name[0] != '.') {
                        char *next = xasprintf("%s%s%s", out, *out ? " " : "", names[i]->d_name);

                        free(out);
                        out = next;
                }
                free(names[i]);
        }
        free(names);
        return out;
}

/* msg with "BUNDLE" and "TMP" replaced by the bundle's and the temp dir's paths. */
static char *expand(const char *msg)
{
        const char *b = strstr(msg, "BUNDLE"), *t = strstr(msg, "TMP");

        if (b)
                return xasprintf("%.*s%s%s", (int) (b - msg), msg, bundle, b + 6);
        if (t)
                return xasprintf("%.*s%s%s", (int) (t - msg), msg, tmp, t + 3);
        return xstrdup(msg);
}

/* Creates "c1" with `json` as config.json and o's options; expects -code and msg (expanded; NULL:
 * the cgroup's error), and nothing left in the state root. */
static void expect_refused(const char *json, const struct berth_create_opts *o, int code,
                           const char *msg)
{
        struct berth_create_opts opts = o ? *o : (struct berth_create_opts){0};
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *want = NULL, *left = NULL;
        struct berth_container *c = NULL;

        write_config(json);
        opts.root = root;
        opts.id = opts.id ? opts.id : "c1";
        opts.bundle = bundle;
        assert_int_equal(berth_container_create(&opts, &c, &err), -code);
        assert_null(c);
        if (msg) {
                want = expand(msg);
                assert_string_equal(err->msg, want);
        } else {
                /* v1/hybrid: the hierarchies in mountinfo are not there; v2: none is listed */
                assert_true(startswith(err->msg, "open cgroup hierarchy /sys/fs/cgroup/") ||
                            streq(err->msg, "no cgroup hierarchy is mounted under /sys/fs/cgroup"));
        }
        left = root_entries();
        assert_string_equal(left, "");
}

static void bad_ids(void **state)
{
        struct berth_create_opts o = {.id = "../c1"};

        expect_refused(
            "{}", &o, EINVAL,
            "container id \"../c1\": must match [A-Za-z0-9_+.-]+ and not be \".\" or \"..\"");
}

/* The first fd at or above 3 that is not open. */
static int first_closed_fd(void)
{
        int fd = 3;

        while (fcntl(fd, F_GETFD) >= 0)
                fd++;
        return fd;
}

/* fds passed on must be open (runc: "unable to stat preserved-fd"). */
static void passed_fds_must_be_open(void **state)
{
        int closed = first_closed_fd();
        struct berth_create_opts preserve = {.preserve_fds = closed - 2};
        struct berth_create_opts listen = {.listen_fds = closed - 2};
        _autofree_ char *m1 = xasprintf("--preserve-fds: fd %d (of %d) is not open: Bad file "
                                        "descriptor",
                                        closed, closed - 2);
        _autofree_ char *m2 = xasprintf("LISTEN_FDS: fd %d (of %d) is not open: Bad file "
                                        "descriptor",
                                        closed, closed - 2);

        expect_refused("{}", &preserve, EBADF, m1);
        expect_refused("{}", &listen, EBADF, m2);
}

#define CONFIG(...) "{\"ociVersion\": \"1.2.0\", " __VA_ARGS__ "}"
#define OK_CONFIG CONFIG(BASE_PROCESS ", " BASE_ROOT ", " BASE_LINUX)

static void the_spec_is_checked(void **state)
{
        expect_refused("{\"ociVersion\": ", NULL, EINVAL,
                       "BUNDLE/config.json:1:15: unexpected token near end of file");
        expect_refused(CONFIG(BASE_ROOT ", " BASE_LINUX), NULL, EINVAL,
                       "config.json: process: required to create a container");
        expect_refused(CONFIG(BASE_PROCESS
                              ", " BASE_ROOT ", " BASE_LINUX
                              ", \"mounts\": [{\"destination\": \"/data\", \"options\": "
                              "[\"rbind\"]}]"),
                       NULL, EINVAL, "mounts[0].source: required for a bind mount");
        expect_refused(
            CONFIG(BASE_PROCESS ", " BASE_ROOT ", \"linux\": {\"namespaces\": [{\"type\": "
                                "\"mount\"}], \"sysctl\": {\"kernel.shmmax\": \"1\"}}"),
            NULL, EINVAL,
            "linux.sysctl \"kernel.shmmax\": requires a ipc namespace (linux.namespaces)");
        expect_refused(
            CONFIG(BASE_PROCESS ", " BASE_ROOT ", \"linux\": {\"namespaces\": [{\"type\": "
                                "\"mount\"}], \"resources\": {\"memory\": {\"limit\": \"x\"}}}"),
            NULL, EINVAL,
            "config.json: linux.resources.memory.limit: expected an integer, got string");
        expect_refused(
            CONFIG(BASE_PROCESS ", " BASE_ROOT ", \"linux\": {\"namespaces\": [{\"type\": "
                                "\"mount\"}], \"cgroupsPath\": \"a/../b\"}"),
            NULL, EINVAL, "linux.cgroupsPath \"a/../b\": must not contain \".\" or \"..\"");
        expect_refused(CONFIG(BASE_PROCESS
                              ", " BASE_ROOT ", \"linux\": {\"namespaces\": [{\"type\": "
                              "\"mount\"}], \"cgroupsPath\": \"system.slice:berth:c1\"}"),
                       NULL, EINVAL,
                       "linux.cgroupsPath \"system.slice:berth:c1\": a systemd path "
                       "(slice:prefix:name) needs the systemd cgroup driver, which berth does not "
                       "support yet");
}

static void the_rootfs_must_be_a_directory(void **state)
{
        _autofree_ char *file = xasprintf("%s/file", bundle);

        expect_refused(CONFIG(BASE_PROCESS ", \"root\": {\"path\": \"missing\"}, " BASE_LINUX),
                       NULL, ENOENT,
                       "root.path \"missing\": BUNDLE/missing: No such file or directory");
        close(open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
        expect_refused(CONFIG(BASE_PROCESS ", \"root\": {\"path\": \"file\"}, " BASE_LINUX), NULL,
                       ENOTDIR, "root.path \"file\": BUNDLE/file is not a directory");
}

/* process.terminal and --console-socket go together (as runc); a detached create has nobody else
 * to hand the terminal to. */
static void terminal_needs_a_console_socket(void **state)
{
        _autofree_ char *sock = xasprintf("%s/console.sock", tmp);
        struct berth_create_opts with_socket = {.console_socket = sock};

        expect_refused(CONFIG("\"process\": {\"terminal\": true, \"args\": [\"/bin/true\"], "
                              "\"cwd\": \"/\"}, " BASE_ROOT ", " BASE_LINUX),
                       NULL, EINVAL,
                       "process.terminal is true: cannot allocate a terminal without "
                       "--console-socket when the runtime detaches");
        expect_refused(OK_CONFIG, &with_socket, EINVAL,
                       "--console-socket given but process.terminal is false: no terminal to "
                       "hand over");
        /* a socket that is not there fails before anything is made */
        expect_refused(CONFIG("\"process\": {\"terminal\": true, \"args\": [\"/bin/true\"], "
                              "\"cwd\": \"/\"}, " BASE_ROOT ", " BASE_LINUX),
                       &with_socket, ENOENT,
                       "connect to console socket 'TMP/console.sock': No such file or directory");
}

static void pid_file_is_checked_first(void **state)
{
        _autofree_ char *fifo = xasprintf("%s/pid.fifo", tmp);
        struct berth_create_opts o = {.pid_file = fifo};

        assert_int_equal(mkfifo(fifo, 0600), 0);
        expect_refused(OK_CONFIG, &o, EEXIST,
                       "--pid-file \"TMP/pid.fifo\": a FIFO is there, not a regular file (File "
                       "exists): refusing to write to it or replace it; give the path of a regular "
                       "file or of none");
}

/* Namespaces given by path are opened before anything is made. */
static void namespace_paths_are_opened_first(void **state)
{
        expect_refused(CONFIG(BASE_PROCESS
                              ", " BASE_ROOT ", \"linux\": {\"namespaces\": [{\"type\": "
                              "\"mount\"}, {\"type\": \"network\", \"path\": \"/proc/self/ns/"
                              "nope\"}]}"),
                       NULL, ENOENT,
                       "linux.namespaces: network namespace path \"/proc/self/ns/nope\": No such "
                       "file or directory");
        expect_refused(CONFIG(BASE_PROCESS
                              ", " BASE_ROOT ", \"linux\": {\"namespaces\": [{\"type\": "
                              "\"mount\"}, {\"type\": \"network\", \"path\": \"/proc/self/ns/"
                              "uts\"}]}"),
                       NULL, EINVAL,
                       "linux.namespaces: network namespace path \"/proc/self/ns/uts\": not a "
                       "network namespace");
}

static void seccomp_is_compiled_first(void **state)
{
        expect_refused(
            CONFIG(BASE_PROCESS ", " BASE_ROOT ", \"linux\": {\"namespaces\": [{\"type\": "
                                "\"mount\"}], \"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\", "
                                "\"architectures\": [\"SCMP_ARCH_NOPE\"]}}"),
            NULL, EINVAL, "linux.seccomp.architectures: unknown architecture \"SCMP_ARCH_NOPE\"");
        /* the agent of listenerPath is connected before anything is made */
        expect_refused(CONFIG(BASE_PROCESS
                              ", " BASE_ROOT ", \"linux\": {\"namespaces\": [{\"type\": "
                              "\"mount\"}], \"seccomp\": {\"defaultAction\": \"SCMP_ACT_ALLOW\", "
                              "\"listenerPath\": \"/nonexistent/agent.sock\", \"syscalls\": "
                              "[{\"names\": [\"mkdir\"], \"action\": \"SCMP_ACT_NOTIFY\"}]}}"),
                       NULL, ENOENT,
                       "linux.seccomp.listenerPath \"/nonexistent/agent.sock\": failed to "
                       "connect with seccomp agent: No such file or directory");
}

/* The state dir is made; the cgroup cannot be (main covered /sys/fs/cgroup): rolled back. */
static void state_dir_is_rolled_back(void **state)
{
        expect_refused(OK_CONFIG, NULL, ENOENT, NULL);
}

/* An id that is taken: the other container's state is left as it is. */
static void existing_container_is_left_alone(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *other = xasprintf("%s/c1", root);
        _autofree_ char *record = xasprintf("%s/c1/state.json", root);
        struct berth_container *c = NULL;
        struct berth_create_opts o = {.root = root, .id = "c1", .bundle = bundle};

        write_config(OK_CONFIG);
        assert_true(mkdir(root, 0711) == 0 || errno == EEXIST);
        assert_int_equal(mkdir(other, 0711), 0);
        close(open(record, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
        assert_int_equal(berth_container_create(&o, &c, &err), -EEXIST);
        assert_string_equal(err->msg, "container \"c1\" already exists");
        assert_int_equal(access(record, F_OK), 0);
}

int main(int argc, char **argv)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(bad_ids),
            cmocka_unit_test(passed_fds_must_be_open),
            cmocka_unit_test(the_spec_is_checked),
            cmocka_unit_test(the_rootfs_must_be_a_directory),
            cmocka_unit_test(terminal_needs_a_console_socket),
            cmocka_unit_test(pid_file_is_checked_first),
            cmocka_unit_test(namespace_paths_are_opened_first),
            cmocka_unit_test(seccomp_is_compiled_first),
            cmocka_unit_test(state_dir_is_rolled_back),
            cmocka_unit_test(existing_container_is_left_alone),
        };
        _autoerr_ struct berth_error *err = NULL;
        char *again[] = {argv[0], NULL};

        /* as a front end does before create: re-executes from a read-only view of the binary */
        if (berth_exe_seal(again, "/tmp", &err) < 0) {
                printf("1..0 # SKIP %s\n", err->msg);
                return 77;
        }
        /* Never a cgroup of the host's: in a mount namespace of its own, /sys/fs/cgroup is an
         * empty tmpfs, so a create that got as far as its cgroup fails there. */
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("tmpfs", "/sys/fs/cgroup", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
                printf("1..0 # SKIP a mount namespace of its own: %s\n", strerror(errno));
                return 77;
        }
        return cmocka_run_group_tests(tests, setup, teardown);
}
