/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container's init (init.c) driven through its handshake, with the test as the runtime: a
 * forked child enters new mount and UTS namespaces (what create's clone3 gives the init) and runs
 * berth_init_main() with a context like create.c's prepare_init(); the test plays create's half
 * of sync.h (GO, HOOKS_DONE, ACK), then start's (a byte into exec.fifo, the answer on
 * exec.status). The rootfs is a temp dir with a static busybox; the program leaves what it saw in
 * files there. Nothing is mounted in the host's mount namespace.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "base/log.h"
#include "base/util.h"
#include "runtime/init.h"
#include "runtime/state.h"
#include "runtime/sync.h"

#define BUSYBOX "/bin/busybox"

static char tmp[] = "/tmp/berth-test-init.XXXXXX";
static char *bundle, *rootfs, *statedir;

struct run {
        struct berth_spec *spec;
        struct berth_create_opts opts;
        struct berth_container c;
        struct init_ctx ctx;
        int sock; /* the runtime's end */
        int fifo, status;
        pid_t pid;
};

static char *read_text(const char *dir, const char *name)
{
        _autofree_ char *path = xasprintf("%s/%s", dir, name);
        char *text = NULL;

        if (berth_read_file_at(AT_FDCWD, path, 0, &text, NULL, NULL) < 0)
                return NULL;
        return text;
}

static void write_config(const char *process, const char *extra)
{
        _autofree_ char *path = xasprintf("%s/config.json", bundle);
        _autofree_ char *json = xasprintf(
            "{\"ociVersion\": \"1.2.0\", \"process\": %s, \"root\": {\"path\": \"rootfs\"}, "
            "\"hostname\": \"c1\", \"linux\": {\"namespaces\": [{\"type\": \"mount\"}, {\"type\": "
            "\"uts\"}]}%s}",
            process, extra ? extra : "");
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        assert_true(fd >= 0);
        assert_int_equal(write_all(fd, json, strlen(json)), 0);
        close(fd);
}

/* What create does before the clone: the spec, the state dir's exec.fifo and exec.status (both
 * read-write), the handshake socketpair. */
static void run_prepare(struct run *r)
{
        _autofree_ char *config = xasprintf("%s/config.json", bundle);
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *fifo = xasprintf("%s/%s", statedir, BERTH_EXEC_FIFO);
        _autofree_ char *status = xasprintf("%s/%s", statedir, BERTH_EXEC_STATUS);
        int sp[2];

        *r = (struct run){0};
        if (berth_spec_load(AT_FDCWD, config, &r->spec, &err) < 0)
                fail_msg("config.json: %s", err->msg);
        unlink(fifo);
        unlink(status);
        assert_int_equal(mkfifo(fifo, 0622), 0);
        assert_int_equal(mkfifo(status, 0600), 0);
        r->fifo = open(fifo, O_RDWR | O_CLOEXEC);
        r->status = open(status, O_RDWR | O_CLOEXEC);
        assert_true(r->fifo >= 0 && r->status >= 0);
        assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp), 0);
        r->sock = sp[0];
        r->opts = (struct berth_create_opts){.root = tmp, .id = "c1", .bundle = bundle};
        r->c = (struct berth_container){.root = tmp,
                                        .id = "c1",
                                        .bundle = bundle,
                                        .rootfs = rootfs,
                                        .created = "2026-01-02T03:04:05Z",
                                        .owner = "",
                                        .pidfd = -1,
                                        .pty_master = -1,
                                        .dirfd = -1};
        r->ctx = (struct init_ctx){.spec = r->spec,
                                   .opts = &r->opts,
                                   .c = &r->c,
                                   .rootfs = {.rootfs = rootfs, .bundle = bundle},
                                   .clone_flags = CLONE_NEWNS | CLONE_NEWUTS,
                                   .sync_fd = sp[1],
                                   .parent_sync_fd = sp[0],
                                   .fifo_fd = r->fifo,
                                   .status_fd = r->status,
                                   .console_fd = -1,
                                   .parent_hooks = r->spec->hooks[BERTH_HOOK_PRESTART].n +
                                                       r->spec->hooks[BERTH_HOOK_CREATE_RUNTIME].n >
                                                   0};
        for (int t = 0; t < BERTH_NS__MAX; t++)
                r->ctx.nsfds.fd[t] = -1;
}

/* The clone: a child in new mount and UTS namespaces runs the init. Then, as create does, the
 * runtime closes the init's ends. */
static void run_clone(struct run *r)
{
        r->pid = fork();
        assert_true(r->pid >= 0);
        if (r->pid == 0) {
                static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};

                for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
                        signal(sigs[i], SIG_DFL);
                if (unshare(CLONE_NEWNS | CLONE_NEWUTS) < 0)
                        _exit(77);
                berth_init_main(&r->ctx);
        }
        closep(&r->ctx.sync_fd);
        closep(&r->fifo);
}

static void run_done(struct run *r)
{
        if (r->pid > 0) {
                kill(r->pid, SIGKILL);
                waitpid(r->pid, NULL, 0);
        }
        closep(&r->sock);
        closep(&r->ctx.sync_fd);
        closep(&r->fifo);
        closep(&r->status);
        berth_spec_free(r->spec);
}

/* The next message from the init (LOG lines are handled on the way), within 10 s. */
static struct sync_msg next(struct run *r)
{
        struct pollfd p = {.fd = r->sock, .events = POLLIN};
        struct sync_msg m = {0};
        int rc;

        if (poll(&p, 1, 10000) != 1)
                fail_msg("the init said nothing for 10 s");
        rc = sync_recv(r->sock, &m, NULL);
        if (rc < 0)
                m.type = 0; /* EOF */
        return m;
}

static int wait_status(struct run *r)
{
        int status = 0;

        assert_int_equal(waitpid(r->pid, &status, 0), r->pid);
        r->pid = 0;
        return status;
}

/* GO, then CREATED (or the first error), then ACK and DETACHED, as create drives it. Returns the
 * message that ended the build: SYNC_CREATED or SYNC_ERROR. */
static struct sync_msg create_side(struct run *r)
{
        struct sync_msg m;

        assert_int_equal(sync_send(r->sock, SYNC_GO, r->pid, NULL, -1), 0);
        m = next(r);
        if (m.type == SYNC_HOOKS) {
                assert_true(r->ctx.parent_hooks);
                assert_int_equal(sync_send(r->sock, SYNC_HOOKS_DONE, 0, NULL, -1), 0);
                m = next(r);
        }
        if (m.type != SYNC_CREATED)
                return m;
        assert_int_equal(sync_send(r->sock, SYNC_ACK, 0, NULL, -1), 0);
        assert_int_equal(next(r).type, SYNC_DETACHED);
        return m;
}

/* start: the byte into exec.fifo, then exec.status: "" (EOF: the execve happened) or the error. */
static char *start_side(struct run *r)
{
        _autofree_ char *fifo = xasprintf("%s/%s", statedir, BERTH_EXEC_FIFO);
        _autofree_ char *status = xasprintf("%s/%s", statedir, BERTH_EXEC_STATUS);
        _autoclose_ int w = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        _autoclose_ int s = open(status, O_RDONLY | O_CLOEXEC);
        char *answer = xcalloc(1, 4096);
        size_t n = 0;
        ssize_t k;

        assert_true(w >= 0 && s >= 0);
        closep(&r->status); /* ours: only the init holds a writer now */
        assert_int_equal(write(w, "1", 1), 1);
        while (n < 4095 && (k = read(s, answer + n, 4095 - n)) > 0)
                n += (size_t) k;
        return answer;
}

/* ---- the tests ------------------------------------------------------------------------------ */

static void creates_and_execs_on_start(void **state)
{
        _autofree_ char *answer = NULL, *seen = NULL, *seen_path = xasprintf("%s/seen", rootfs);
        struct run r;
        int status;

        write_config(
            "{\"args\": [\"/bin/busybox\", \"sh\", \"-c\", \"echo $(/bin/busybox hostname) "
            "$(pwd) $X $0 > /seen; exit 7\"], \"cwd\": \"/work\", \"env\": [\"X=1\"]}",
            NULL);
        run_prepare(&r);
        run_clone(&r);
        assert_int_equal(create_side(&r).type, SYNC_CREATED);
        /* created: the program has not run yet */
        assert_null(read_text(rootfs, "seen"));
        answer = start_side(&r);
        assert_string_equal(answer, "");
        status = wait_status(&r);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 7);
        seen = read_text(rootfs, "seen");
        assert_string_equal(seen, "c1 /work 1 sh\n");
        run_done(&r);
        unlink(seen_path);
}

/* A failure before CREATED is an ERROR on the handshake; the init exits. */
static void failure_before_created_is_an_error_message(void **state)
{
        struct sync_msg m;
        struct run r;
        int status;

        write_config("{\"args\": [\"/nope\"], \"cwd\": \"/\"}", NULL);
        run_prepare(&r);
        run_clone(&r);
        m = create_side(&r);
        assert_int_equal(m.type, SYNC_ERROR);
        assert_int_equal(m.code, ENOENT);
        assert_string_equal(m.text, "exec: \"/nope\": No such file or directory");
        status = wait_status(&r);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
        run_done(&r);
}

static void go_must_come_first(void **state)
{
        struct sync_msg m;
        struct run r;

        write_config("{\"args\": [\"/bin/busybox\", \"true\"], \"cwd\": \"/\"}", NULL);
        run_prepare(&r);
        run_clone(&r);
        assert_int_equal(sync_send(r.sock, SYNC_ACK, 0, NULL, -1), 0);
        m = next(&r);
        assert_int_equal(m.type, SYNC_ERROR);
        assert_int_equal(m.code, EPROTO);
        assert_string_equal(m.text, "init: expected GO, got 6");
        wait_status(&r);
        run_done(&r);
}

/* A runtime that is gone before GO: nobody to report to, the init exits. */
static void runtime_gone_before_go(void **state)
{
        struct run r;
        int status;

        write_config("{\"args\": [\"/bin/busybox\", \"true\"], \"cwd\": \"/\"}", NULL);
        run_prepare(&r);
        run_clone(&r);
        closep(&r.sock);
        status = wait_status(&r);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
        run_done(&r);
}

/* prestart/createRuntime hooks: the init asks the runtime (HOOKS) and waits for HOOKS_DONE;
 * createContainer hooks run in the init, with the state on stdin. */
static void hooks_in_their_places(void **state)
{
        _autofree_ char *extra = NULL, *hook_out = xasprintf("%s/cc.out", tmp), *got = NULL;
        struct run r;

        extra = xasprintf(", \"hooks\": {\"createRuntime\": [{\"path\": \"/bin/true\"}], "
                          "\"createContainer\": [{\"path\": \"/bin/sh\", \"args\": [\"sh\", "
                          "\"-c\", \"cat > %s\"]}]}",
                          hook_out);
        write_config("{\"args\": [\"/bin/busybox\", \"true\"], \"cwd\": \"/\"}", extra);
        run_prepare(&r);
        assert_true(r.ctx.parent_hooks);
        run_clone(&r);
        assert_int_equal(sync_send(r.sock, SYNC_GO, 4242, NULL, -1), 0);
        assert_int_equal(next(&r).type, SYNC_HOOKS);
        assert_int_equal(sync_send(r.sock, SYNC_HOOKS_DONE, 0, NULL, -1), 0);
        assert_int_equal(next(&r).type, SYNC_CREATED);
        got = read_text(tmp, "cc.out");
        assert_non_null(got);
        /* the pid in the state is the init's host pid, from GO */
        assert_non_null(strstr(got, "\"id\":\"c1\",\"pid\":4242,\"status\":\"created\""));
        run_done(&r);
}

/* After start, a failing startContainer hook is written to exec.status for `start`. */
static void failure_after_start_goes_to_exec_status(void **state)
{
        _autofree_ char *answer = NULL;
        struct run r;
        int status;

        write_config("{\"args\": [\"/bin/busybox\", \"true\"], \"cwd\": \"/\"}",
                     ", \"hooks\": {\"startContainer\": [{\"path\": \"/bin/busybox\", \"args\": "
                     "[\"false\"]}]}");
        run_prepare(&r);
        run_clone(&r);
        assert_int_equal(create_side(&r).type, SYNC_CREATED);
        answer = start_side(&r);
        assert_string_equal(
            answer, "error running hook #0 (startContainer, /bin/busybox): exited with status 1");
        status = wait_status(&r);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
        run_done(&r);
}

/* The init's warnings travel to the runtime as LOG lines until DETACHED (the log handler here
 * stands for the runtime's). */
static char warnings[1024];

static void keep_warning(enum berth_log_level level, const char *msg, void *userdata)
{
        size_t n = strlen(warnings);

        if (level == BERTH_LOG_WARN)
                snprintf(warnings + n, sizeof(warnings) - n, "%s\n", msg);
}

static void warnings_reach_the_runtime(void **state)
{
        struct run r;

        warnings[0] = '\0';
        berth_log_set_handler(keep_warning, NULL);
        write_config("{\"args\": [\"/bin/busybox\", \"true\"], \"cwd\": \"/\", "
                     "\"selinuxLabel\": \"system_u:system_r:container_t:s0\"}",
                     NULL);
        run_prepare(&r);
        run_clone(&r);
        assert_int_equal(create_side(&r).type, SYNC_CREATED);
        berth_log_set_handler(NULL, NULL);
        assert_non_null(strstr(warnings, "selinuxLabel"));
        run_done(&r);
}

/* The fds the runtime had open (here one without close-on-exec) are closed in the init; fds
 * passed with --preserve-fds stay. */
static void runtime_fds_are_closed(void **state)
{
        _autofree_ char *answer = NULL, *seen = NULL, *seen_path = xasprintf("%s/seen", rootfs);
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC), passed[2], saved3 = -1;
        int leak = fcntl(null, F_DUPFD, 20); /* no close-on-exec, above the fds passed on */
        struct run r;
        char buf[16] = "";

        assert_true(leak >= 0);
        close(null);
        assert_int_equal(pipe(passed), 0);
        if (fcntl(3, F_GETFD) >= 0)
                saved3 = fcntl(3, F_DUPFD_CLOEXEC, 10);
        assert_int_equal(dup2(passed[1], 3), 3);
        answer = xasprintf("{\"args\": [\"/bin/busybox\", \"sh\", \"-c\", \"echo ok >&3; "
                           "(: <&%d) 2>/dev/null && echo open > /seen || echo closed > /seen\"], "
                           "\"cwd\": \"/\"}",
                           leak);
        write_config(answer, NULL);
        free(answer);
        run_prepare(&r);
        r.opts.preserve_fds = 1;
        run_clone(&r);
        if (saved3 >= 0) {
                dup2(saved3, 3);
                close(saved3);
        } else {
                close(3);
        }
        close(passed[1]);
        close(leak);
        assert_int_equal(create_side(&r).type, SYNC_CREATED);
        answer = start_side(&r);
        assert_string_equal(answer, "");
        assert_true(WIFEXITED(wait_status(&r)));
        assert_int_equal(read(passed[0], buf, sizeof(buf) - 1), 3);
        assert_string_equal(buf, "ok\n");
        close(passed[0]);
        seen = read_text(rootfs, "seen");
        assert_string_equal(seen, "closed\n");
        run_done(&r);
        unlink(seen_path);
}

/* ---- fixtures ------------------------------------------------------------------------------- */

static int setup(void **state)
{
        _autofree_ char *bin = NULL, *work = NULL;
        _autofree_ char *cmd = NULL;

        if (!mkdtemp(tmp))
                return -1;
        bundle = xasprintf("%s/bundle", tmp);
        rootfs = xasprintf("%s/rootfs", bundle);
        statedir = xasprintf("%s/state", tmp);
        bin = xasprintf("%s/bin", rootfs);
        work = xasprintf("%s/work", rootfs);
        cmd = xasprintf("mkdir -p '%s' '%s' '%s' && cp " BUSYBOX " '%s/busybox'", bin, work,
                        statedir, bin);
        return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
        _autofree_ char *cmd = xasprintf("rm -rf '%s'", tmp);

        free(bundle);
        free(rootfs);
        free(statedir);
        return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(creates_and_execs_on_start),
            cmocka_unit_test(failure_before_created_is_an_error_message),
            cmocka_unit_test(go_must_come_first),
            cmocka_unit_test(runtime_gone_before_go),
            cmocka_unit_test(hooks_in_their_places),
            cmocka_unit_test(failure_after_start_goes_to_exec_status),
            cmocka_unit_test(warnings_reach_the_runtime),
            cmocka_unit_test(runtime_fds_are_closed),
        };

        if (geteuid() != 0 || access(BUSYBOX, X_OK) < 0) {
                printf("1..0 # SKIP needs root (mount namespaces) and " BUSYBOX
                       " (busybox-static)\n");
                return 77;
        }
        return cmocka_run_group_tests(tests, setup, teardown);
}
