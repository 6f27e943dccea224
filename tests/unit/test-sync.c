/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The create/exec handshake's messages (sync.c) over a SOCK_SEQPACKET socketpair, as create.c and
 * exec.c make it: whole messages, an fd passed with SCM_RIGHTS, LOG lines handed to the log
 * handler on the way, ERROR turned into an error, EOF as -EPIPE.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "base/log.h"
#include "base/util.h"
#include "runtime/sync.h"

static int sp[2] = {-1, -1};
static char logged[4096];

static void keep_log(enum berth_log_level level, const char *msg, void *userdata)
{
        size_t n = strlen(logged);

        snprintf(logged + n, sizeof(logged) - n, "%d:%s\n", (int) level, msg);
}

static int setup(void **state)
{
        logged[0] = '\0';
        berth_log_set_handler(keep_log, NULL);
        return socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp);
}

static int teardown(void **state)
{
        berth_log_set_handler(NULL, NULL);
        closep(&sp[0]);
        closep(&sp[1]);
        return 0;
}

static void message_arrives_whole(void **state)
{
        struct sync_msg m;
        char big[sizeof(m.text) + 100];

        assert_int_equal(sync_send(sp[1], SYNC_GO, 4242, NULL, -1), 0);
        assert_int_equal(sync_recv(sp[0], &m, NULL), 0);
        assert_int_equal(m.type, SYNC_GO);
        assert_int_equal(m.code, 4242);
        assert_string_equal(m.text, "");

        /* a text longer than the message is cut, and still NUL-terminated */
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        assert_int_equal(sync_send(sp[1], SYNC_ERROR, EACCES, big, -1), 0);
        assert_int_equal(sync_recv(sp[0], &m, NULL), 0);
        assert_int_equal(m.type, SYNC_ERROR);
        assert_int_equal(strlen(m.text), sizeof(m.text) - 1);
}

static void fd_passes_with_the_message(void **state)
{
        char tmpl[] = "/tmp/berth-test-sync.XXXXXX";
        _autoclose_ int fd = mkostemp(tmpl, O_CLOEXEC), got = -EBADF;
        struct stat a, b;
        struct sync_msg m;

        assert_true(fd >= 0);
        unlink(tmpl);
        assert_int_equal(sync_send(sp[1], SYNC_PTY, 0, NULL, fd), 0);
        assert_int_equal(sync_recv(sp[0], &m, &got), 0);
        assert_int_equal(m.type, SYNC_PTY);
        assert_true(got >= 0 && got != fd);
        assert_int_equal(fstat(fd, &a), 0);
        assert_int_equal(fstat(got, &b), 0);
        assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
        /* MSG_CMSG_CLOEXEC: the received fd never leaks into a program the runtime starts */
        assert_true(fcntl(got, F_GETFD) & FD_CLOEXEC);
}

static int count_fds(void)
{
        int n = 0;

        for (int fd = 0; fd < 1024; fd++)
                n += fcntl(fd, F_GETFD) >= 0;
        return n;
}

static void unwanted_fd_is_closed(void **state)
{
        _autoclose_ int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        struct sync_msg m;
        int before;

        assert_true(fd >= 0);
        assert_int_equal(sync_send(sp[1], SYNC_MOUNT_SOURCE, 3, NULL, fd), 0);
        before = count_fds();
        assert_int_equal(sync_recv(sp[0], &m, NULL), 0);
        assert_int_equal(m.type, SYNC_MOUNT_SOURCE);
        assert_int_equal(m.code, 3);
        assert_int_equal(count_fds(), before);
}

static void log_lines_go_to_the_handler(void **state)
{
        struct sync_msg m;

        assert_int_equal(sync_send(sp[1], SYNC_LOG, BERTH_LOG_WARN, "a warning", -1), 0);
        assert_int_equal(sync_send(sp[1], SYNC_LOG, BERTH_LOG_INFO, "a line", -1), 0);
        assert_int_equal(sync_send(sp[1], SYNC_CREATED, 0, NULL, -1), 0);
        assert_int_equal(sync_recv(sp[0], &m, NULL), 0);
        assert_int_equal(m.type, SYNC_CREATED);
        assert_string_equal(logged, "1:a warning\n2:a line\n");
}

static void eof_is_epipe(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        struct sync_msg m;

        closep(&sp[1]);
        assert_int_equal(sync_recv(sp[0], &m, NULL), -EPIPE);
        assert_int_equal(sync_expect(sp[0], SYNC_CREATED, "create", &err), -EPIPE);
        assert_string_equal(err->msg, "create: the other side of the handshake exited");
}

static void send_to_a_closed_peer_fails(void **state)
{
        closep(&sp[0]);
        /* MSG_NOSIGNAL: -EPIPE, not SIGPIPE */
        assert_int_equal(sync_send(sp[1], SYNC_ACK, 0, NULL, -1), -EPIPE);
}

static void expect_names_what_went_wrong(void **state)
{
        _autoerr_ struct berth_error *err = NULL;

        assert_int_equal(sync_send(sp[1], SYNC_DETACHED, 0, NULL, -1), 0);
        assert_int_equal(sync_expect(sp[0], SYNC_DETACHED, "create", &err), 0);
        assert_null(err);

        assert_int_equal(sync_send(sp[1], SYNC_ERROR, ENOENT, "mount /x: No such file", -1), 0);
        assert_int_equal(sync_expect(sp[0], SYNC_CREATED, "create", &err), -ENOENT);
        assert_string_equal(err->msg, "mount /x: No such file");
        berth_error_free(err);
        err = NULL;

        assert_int_equal(sync_send(sp[1], SYNC_HOOKS, 0, NULL, -1), 0);
        assert_int_equal(sync_expect(sp[0], SYNC_CREATED, "create", &err), -EPROTO);
        assert_string_equal(err->msg, "create: unexpected message 2");
}

static void short_message_is_refused(void **state)
{
        struct sync_msg m;
        char tiny[3] = "ab";

        assert_int_equal(send(sp[1], tiny, sizeof(tiny), 0), (ssize_t) sizeof(tiny));
        assert_int_equal(sync_recv(sp[0], &m, NULL), -EBADMSG);
}

/* A child of the runtime (the init, an exec child) sends its log lines on the socket. */
static void child_logs_travel_to_the_runtime(void **state)
{
        struct sync_msg m;
        pid_t pid = fork();
        int status;

        assert_true(pid >= 0);
        if (pid == 0) {
                sync_forward_logs(sp[1]);
                berth_warn("from the %s", "child");
                berth_log(BERTH_LOG_DEBUG, "dropped: tracing is off");
                sync_send(sp[1], SYNC_CREATED, 0, NULL, -1);
                _exit(0);
        }
        closep(&sp[1]);
        assert_int_equal(sync_recv(sp[0], &m, NULL), 0);
        assert_int_equal(m.type, SYNC_CREATED);
        assert_string_equal(logged, "1:from the child\n");
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Once detached (no socket), a warning goes to stderr, the container's, with the program name. */
static void detached_warnings_go_to_stderr(void **state)
{
        int p[2];
        char buf[256] = "";
        pid_t pid;
        ssize_t n;

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                dup2(p[1], STDERR_FILENO);
                sync_forward_logs(-1);
                berth_warn("no socket");
                berth_log(BERTH_LOG_INFO, "not a warning: dropped");
                _exit(0);
        }
        close(p[1]);
        n = read(p[0], buf, sizeof(buf) - 1);
        close(p[0]);
        waitpid(pid, NULL, 0);
        assert_true(n > 0);
        buf[n] = '\0';
        assert_string_equal(buf, "test-sync: warning: no socket\n");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(message_arrives_whole, setup, teardown),
            cmocka_unit_test_setup_teardown(fd_passes_with_the_message, setup, teardown),
            cmocka_unit_test_setup_teardown(unwanted_fd_is_closed, setup, teardown),
            cmocka_unit_test_setup_teardown(log_lines_go_to_the_handler, setup, teardown),
            cmocka_unit_test_setup_teardown(eof_is_epipe, setup, teardown),
            cmocka_unit_test_setup_teardown(send_to_a_closed_peer_fails, setup, teardown),
            cmocka_unit_test_setup_teardown(expect_names_what_went_wrong, setup, teardown),
            cmocka_unit_test_setup_teardown(short_message_is_refused, setup, teardown),
            cmocka_unit_test_setup_teardown(child_logs_travel_to_the_runtime, setup, teardown),
            cmocka_unit_test_setup_teardown(detached_warnings_go_to_stderr, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
