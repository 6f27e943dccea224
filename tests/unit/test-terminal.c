/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <cmocka.h>

#include "runtime/terminal.h"
#include "base/util.h"

struct pty {
        int master, slave;
        char *name;
};

static void pty_close(struct pty *p)
{
        closep(&p->master);
        closep(&p->slave);
        freep(&p->name);
}

static void open_pty(struct pty *p, uint32_t w, uint32_t h)
{
        _autoerr_ struct berth_error *err = NULL;

        assert_int_equal(berth_pty_open(w, h, &p->master, &p->slave, &p->name, &err), 0);
}

/* Reads from fd until EOF, EIO (a pty master whose slaves are closed) or 5 s of silence. */
static size_t read_until_end(int fd, char *buf, size_t size)
{
        size_t len = 0;

        while (len + 1 < size) {
                struct pollfd p = {.fd = fd, .events = POLLIN};
                ssize_t n;

                if (poll(&p, 1, 5000) <= 0)
                        break;
                n = read(fd, buf + len, size - 1 - len);
                if (n <= 0)
                        break;
                len += (size_t) n;
        }
        buf[len] = '\0';
        return len;
}

static int wait_exit(pid_t pid)
{
        int status;

        assert_int_equal(waitpid(pid, &status, 0), pid);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ---- pty open ---- */

static void pty_open_applies_size(void **state)
{
        struct pty p = {-1, -1, NULL};
        struct winsize ws = {0};
        struct stat by_fd, by_name;

        open_pty(&p, 132, 43);
        assert_int_equal(ioctl(p.slave, TIOCGWINSZ, &ws), 0);
        assert_int_equal(ws.ws_col, 132);
        assert_int_equal(ws.ws_row, 43);
        assert_true(startswith(p.name, "/dev/pts/"));
        assert_int_equal(fstat(p.slave, &by_fd), 0);
        assert_int_equal(stat(p.name, &by_name), 0);
        assert_true(by_fd.st_rdev == by_name.st_rdev);
        assert_int_equal(fcntl(p.master, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
        assert_int_equal(fcntl(p.slave, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
        pty_close(&p);
}

static void pty_open_without_size(void **state)
{
        struct pty p = {-1, -1, NULL};
        struct winsize ws = {.ws_row = 1, .ws_col = 1};

        open_pty(&p, 0, 0);
        assert_int_equal(ioctl(p.slave, TIOCGWINSZ, &ws), 0);
        assert_int_equal(ws.ws_col, 0);
        assert_int_equal(ws.ws_row, 0);
        pty_close(&p);
}

static void pty_open_size_too_large(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        int m = -7, sl = -7;
        char *name = NULL;

        assert_int_equal(berth_pty_open(70000, 24, &m, &sl, &name, &err), -ERANGE);
        assert_non_null(strstr(err->msg, "70000x24"));
        assert_int_equal(m, -7);
        assert_int_equal(sl, -7);
        assert_null(name);
}

static void pty_master_and_slave_are_connected(void **state)
{
        struct pty p = {-1, -1, NULL};
        char buf[64];

        open_pty(&p, 80, 24);
        assert_int_equal(write(p.slave, "hi\n", 3), 3);
        closep(&p.slave);
        read_until_end(p.master, buf, sizeof(buf));
        assert_string_equal(buf, "hi\r\n"); /* default ONLCR, like any terminal */
        pty_close(&p);
}

/* ---- fd passing ---- */

static void send_recv_fd_same_file(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        _autoclose_ int file = -EBADF, got = -EBADF;
        int sv[2];
        struct stat a, b;

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        file = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
        assert_true(file >= 0);
        assert_int_equal(berth_send_fd(sv[0], file, "/dev/pts/7", &err), 0);
        assert_int_equal(berth_recv_fd(sv[1], &got, &err), 0);
        assert_true(got >= 0 && got != file);
        assert_int_equal(fstat(file, &a), 0);
        assert_int_equal(fstat(got, &b), 0);
        assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
        assert_int_equal(fcntl(got, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
        close(sv[0]);
        close(sv[1]);
}

/* What conmon and containerd's shim see: the payload is the pty name, one fd attached. */
static void send_fd_payload_is_name(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } ctl;
        char name[64] = {0};
        struct iovec iov = {.iov_base = name, .iov_len = sizeof(name) - 1};
        struct msghdr msg = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = ctl.buf,
                             .msg_controllen = sizeof(ctl.buf)};
        struct cmsghdr *cm;
        int sv[2], fd;

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(berth_send_fd(sv[0], sv[0], "/dev/pts/3", &err), 0);
        assert_int_equal(recvmsg(sv[1], &msg, MSG_CMSG_CLOEXEC), 10);
        assert_string_equal(name, "/dev/pts/3");
        cm = CMSG_FIRSTHDR(&msg);
        assert_non_null(cm);
        if (!cm) /* not reached: for -Wnull-dereference, which cmocka's asserts do not stop */
                return;
        assert_int_equal(cm->cmsg_type, SCM_RIGHTS);
        assert_int_equal(cm->cmsg_len, CMSG_LEN(sizeof(int)));
        memcpy(&fd, CMSG_DATA(cm), sizeof(int));
        close(fd);
        close(sv[0]);
        close(sv[1]);
}

static void recv_fd_errors(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        int sv[2], fd = -7;

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(write(sv[0], "x", 1), 1);
        assert_int_equal(berth_recv_fd(sv[1], &fd, &err), -EBADMSG);
        assert_non_null(strstr(err->msg, "no fd"));
        close(sv[0]);
        assert_int_equal(berth_recv_fd(sv[1], &fd, &err), -ECONNRESET);
        assert_int_equal(fd, -7); /* ret_ untouched on failure */
        close(sv[1]);
}

/* ---- console socket ---- */

static int listen_at(const char *path)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        assert_true(strlen(path) < sizeof(sa.sun_path));
        strcpy(sa.sun_path, path);
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        assert_int_equal(listen(fd, 1), 0);
        return fd;
}

static void console_socket_connects(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        _autoclose_ int lfd = -EBADF, cfd = -EBADF, afd = -EBADF, got = -EBADF;
        char dir[] = "/tmp/berth-test-terminal-XXXXXX";
        _autofree_ char *path = NULL;
        struct stat a, b;

        assert_non_null(mkdtemp(dir));
        path = xasprintf("%s/console.sock", dir);
        lfd = listen_at(path);
        assert_int_equal(berth_console_socket_connect(path, &cfd, &err), 0);
        afd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        assert_true(afd >= 0);
        /* the full round trip a runtime and its client do */
        assert_int_equal(berth_send_fd(cfd, lfd, "/dev/pts/0", &err), 0);
        assert_int_equal(berth_recv_fd(afd, &got, &err), 0);
        assert_int_equal(fstat(lfd, &a), 0);
        assert_int_equal(fstat(got, &b), 0);
        assert_true(a.st_ino == b.st_ino);
        unlink(path);
        rmdir(dir);
}

/* Paths longer than sun_path (107 chars) still work. */
static void console_socket_long_path(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        _autoclose_ int lfd = -EBADF, cfd = -EBADF, cwd = -EBADF;
        char dir[] = "/tmp/berth-test-terminal-XXXXXX";
        const char *sub = "a-directory-name-long-enough-to-overflow-sun-path-"
                          "of-a-unix-socket-address-on-linux";
        _autofree_ char *long_dir = NULL, *path = NULL;

        assert_non_null(mkdtemp(dir));
        long_dir = xasprintf("%s/%s", dir, sub);
        path = xasprintf("%s/console.sock", long_dir);
        assert_true(strlen(path) >= sizeof(((struct sockaddr_un *) 0)->sun_path));
        assert_int_equal(mkdir(long_dir, 0700), 0);
        cwd = open(".", O_PATH | O_CLOEXEC);
        assert_int_equal(chdir(long_dir), 0);
        lfd = listen_at("console.sock");
        assert_int_equal(fchdir(cwd), 0);
        assert_int_equal(berth_console_socket_connect(path, &cfd, &err), 0);
        unlink(path);
        rmdir(long_dir);
        rmdir(dir);
}

static void console_socket_bad_path(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        int fd = -7;

        assert_int_equal(berth_console_socket_connect("/nonexistent/berth.sock", &fd, &err),
                         -ENOENT);
        assert_int_equal(fd, -7);
        assert_non_null(strstr(err->msg, "'/nonexistent/berth.sock'"));
        assert_non_null(strstr(err->msg, "No such file or directory"));
        assert_int_equal(berth_console_socket_connect("", &fd, &err), -EINVAL);
}

static void console_socket_not_a_socket(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        int fd = -7;

        assert_true(berth_console_socket_connect("/proc/self/exe", &fd, &err) < 0);
        assert_non_null(strstr(err->msg, "'/proc/self/exe'"));
}

/* ---- become stdio ---- */

/* In a child: the slave becomes the controlling terminal and fds 0-2 (without O_CLOEXEC). */
static int child_become_stdio(int slave, bool slave_on_fd0)
{
        if (slave_on_fd0) {
                close(STDIN_FILENO);
                if (fcntl(slave, F_DUPFD_CLOEXEC, 0) != STDIN_FILENO)
                        return 10;
                slave = STDIN_FILENO;
        }
        if (berth_pty_become_stdio(slave, NULL) < 0)
                return 11;
        for (int i = 0; i <= 2; i++)
                if (!isatty(i) || (fcntl(i, F_GETFD) & FD_CLOEXEC))
                        return 12 + i;
        if (getsid(0) != getpid() || tcgetsid(STDIN_FILENO) != getpid())
                return 15;
        return write(STDOUT_FILENO, "ok", 2) == 2 ? 0 : 16;
}

static void become_stdio_case(bool slave_on_fd0)
{
        struct pty p = {-1, -1, NULL};
        char buf[64];
        pid_t pid;

        open_pty(&p, 80, 24);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
                _exit(child_become_stdio(p.slave, slave_on_fd0));
        closep(&p.slave);
        read_until_end(p.master, buf, sizeof(buf));
        assert_int_equal(wait_exit(pid), 0);
        assert_string_equal(buf, "ok");
        pty_close(&p);
}

static void become_stdio(void **state)
{
        become_stdio_case(false);
}

static void become_stdio_slave_is_fd0(void **state)
{
        become_stdio_case(true);
}

/* ---- relay ---- */

struct relay_child {
        pid_t pid;
        int out; /* what the relay wrote to its stdout */
};

/* Runs berth_pty_relay() in a child whose stdout is a pipe and whose stdin is `in_fd` or, when
 * that is -1, a pipe holding `input` (then EOF); the child exits 0 when the relay returned 0. It
 * closes its copy of `slave`, so that the relay sees the hangup when the test closes its own. */
static struct relay_child relay_start_in(int master, int slave, int stop_fd, int in_fd,
                                         const char *input)
{
        int in[2] = {-1, -1}, out[2];
        struct relay_child c;

        if (in_fd < 0) {
                assert_int_equal(pipe2(in, O_CLOEXEC), 0);
                assert_int_equal(write(in[1], input, strlen(input)), (ssize_t) strlen(input));
                close(in[1]);
                in_fd = in[0];
        }
        assert_int_equal(pipe2(out, O_CLOEXEC), 0);
        c.pid = fork();
        assert_true(c.pid >= 0);
        if (c.pid == 0) {
                if (slave >= 0)
                        close(slave);
                if (dup2(in_fd, STDIN_FILENO) < 0 || dup2(out[1], STDOUT_FILENO) < 0)
                        _exit(2);
                _exit(berth_pty_relay(master, stop_fd, NULL) == 0 ? 0 : 1);
        }
        if (in[0] >= 0)
                close(in[0]);
        close(out[1]);
        c.out = out[0];
        return c;
}

static struct relay_child relay_start(int master, int slave, int stop_fd, const char *input)
{
        return relay_start_in(master, slave, stop_fd, -1, input);
}

static int relay_finish(struct relay_child c, char *buf, size_t size)
{
        read_until_end(c.out, buf, size);
        close(c.out);
        return wait_exit(c.pid);
}

static void relay_copies_output_until_hangup(void **state)
{
        struct pty p = {-1, -1, NULL};
        char buf[256];

        open_pty(&p, 80, 24);
        assert_int_equal(write(p.slave, "hello\nworld\n", 12), 12);
        closep(&p.slave); /* the container exited: master reads give EIO after the data */
        assert_int_equal(relay_finish(relay_start(p.master, -1, -1, ""), buf, sizeof(buf)), 0);
        assert_string_equal(buf, "hello\r\nworld\r\n");
        pty_close(&p);
}

static void relay_stops_on_stop_fd_after_draining(void **state)
{
        struct pty p = {-1, -1, NULL};
        _autoclose_ int efd = -EBADF;
        char buf[256];
        uint64_t one = 1;

        open_pty(&p, 80, 24);
        efd = eventfd(0, EFD_CLOEXEC);
        assert_true(efd >= 0);
        assert_int_equal(write(efd, &one, sizeof(one)), sizeof(one));
        assert_int_equal(write(p.slave, "bye", 3), 3); /* slave stays open: no hangup */
        assert_int_equal(relay_finish(relay_start(p.master, p.slave, efd, ""), buf, sizeof(buf)),
                         0);
        assert_string_equal(buf, "bye");
        pty_close(&p);
}

static void relay_forwards_stdin(void **state)
{
        struct pty p = {-1, -1, NULL};
        struct relay_child c;
        struct termios raw;
        char in[16] = {0}, buf[64];

        open_pty(&p, 80, 24);
        assert_int_equal(tcgetattr(p.slave, &raw), 0);
        cfmakeraw(&raw); /* no echo, so the output holds only what we write back */
        assert_int_equal(tcsetattr(p.slave, TCSANOW, &raw), 0);
        c = relay_start(p.master, p.slave, -1, "ping");
        assert_int_equal(read_until_end(p.slave, in, 5), 4);
        assert_string_equal(in, "ping");
        assert_int_equal(write(p.slave, "pong", 4), 4);
        closep(&p.slave);
        assert_int_equal(relay_finish(c, buf, sizeof(buf)), 0);
        assert_string_equal(buf, "pong");
        pty_close(&p);
}

/* A container that floods its terminal must not starve our stdin: a ^C still gets through. */
static void relay_forwards_stdin_during_flood(void **state)
{
        struct pty p = {-1, -1, NULL};
        struct termios raw;
        char in[8] = {0};
        pid_t writer, relay;
        int input[2];

        open_pty(&p, 80, 24);
        assert_int_equal(tcgetattr(p.slave, &raw), 0);
        cfmakeraw(&raw);
        assert_int_equal(tcsetattr(p.slave, TCSANOW, &raw), 0);
        writer = fork();
        assert_true(writer >= 0);
        if (writer == 0) {
                char flood[4096];

                memset(flood, 'y', sizeof(flood));
                while (write(p.slave, flood, sizeof(flood)) > 0)
                        ;
                _exit(0);
        }
        assert_int_equal(pipe2(input, O_CLOEXEC), 0);
        assert_int_equal(write(input[1], "\003", 1), 1);
        close(input[1]);
        relay = fork();
        assert_true(relay >= 0);
        if (relay == 0) {
                int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

                close(p.slave);
                if (null < 0 || dup2(input[0], STDIN_FILENO) < 0 || dup2(null, STDOUT_FILENO) < 0)
                        _exit(2);
                _exit(berth_pty_relay(p.master, -1, NULL) == 0 ? 0 : 1);
        }
        close(input[0]);
        assert_int_equal(read_until_end(p.slave, in, 2), 1);
        assert_int_equal(in[0], 3);
        kill(writer, SIGKILL);
        wait_exit(writer);
        closep(&p.slave);
        assert_int_equal(wait_exit(relay), 0);
        pty_close(&p);
}

static bool wait_for_size(int fd, unsigned short cols, unsigned short rows)
{
        for (int i = 0; i < 500; i++) {
                struct winsize ws = {0};

                if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col == cols && ws.ws_row == rows)
                        return true;
                usleep(10000);
        }
        return false;
}

/* With a terminal on stdin: raw mode while relaying, its size copied at start and on SIGWINCH,
 * and its mode restored at the end. */
static void relay_tracks_our_terminal(void **state)
{
        struct pty outer = {-1, -1, NULL}, inner = {-1, -1, NULL};
        struct winsize big = {.ws_row = 50, .ws_col = 160};
        struct termios mode;
        struct relay_child c;
        char buf[64];

        open_pty(&outer, 90, 33);
        open_pty(&inner, 80, 24);
        c = relay_start_in(inner.master, inner.slave, -1, outer.slave, "");
        assert_true(wait_for_size(inner.slave, 90, 33));
        assert_int_equal(tcgetattr(outer.slave, &mode), 0);
        assert_false(mode.c_lflag & (ICANON | ECHO | ISIG));
        assert_int_equal(ioctl(outer.master, TIOCSWINSZ, &big), 0);
        assert_int_equal(kill(c.pid, SIGWINCH), 0);
        assert_true(wait_for_size(inner.slave, 160, 50));
        closep(&inner.slave);
        assert_int_equal(relay_finish(c, buf, sizeof(buf)), 0);
        assert_int_equal(tcgetattr(outer.slave, &mode), 0);
        assert_true(mode.c_lflag & ICANON);
        assert_true(mode.c_lflag & ECHO);
        pty_close(&inner);
        pty_close(&outer);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(pty_open_applies_size),
            cmocka_unit_test(pty_open_without_size),
            cmocka_unit_test(pty_open_size_too_large),
            cmocka_unit_test(pty_master_and_slave_are_connected),
            cmocka_unit_test(send_recv_fd_same_file),
            cmocka_unit_test(send_fd_payload_is_name),
            cmocka_unit_test(recv_fd_errors),
            cmocka_unit_test(console_socket_connects),
            cmocka_unit_test(console_socket_long_path),
            cmocka_unit_test(console_socket_bad_path),
            cmocka_unit_test(console_socket_not_a_socket),
            cmocka_unit_test(become_stdio),
            cmocka_unit_test(become_stdio_slave_is_fd0),
            cmocka_unit_test(relay_copies_output_until_hangup),
            cmocka_unit_test(relay_stops_on_stop_fd_after_draining),
            cmocka_unit_test(relay_forwards_stdin),
            cmocka_unit_test(relay_forwards_stdin_during_flood),
            cmocka_unit_test(relay_tracks_our_terminal),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
