/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <termios.h>

#include "base/log.h"
#include "runtime/sync.h"
#include "runtime/terminal.h"
#include "base/util.h"

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41) /* Linux 4.13 */
#endif
#define PTY_SLAVE_MAJOR 136 /* UNIX98_PTY_SLAVE_MAJOR, 8 majors of 256 minors */
#define RELAY_BUF 16384
#define RELAY_READS_PER_ROUND 16
#define RELAY_DRAIN_READS 4096 /* 64 MiB: bounded, should something still write after the end */

/* ---- console socket ---------------------------------------------------------------------- */

static int connect_unix(int fd, const char *path)
{
        struct sockaddr_un sa = {.sun_family = AF_UNIX};

        memcpy(sa.sun_path, path, strlen(path) + 1);
        return connect(fd, (struct sockaddr *) &sa, sizeof(sa));
}

/* sun_path holds 107 characters. A longer path (deep state or temp dirs are common) is reached
 * through an O_PATH fd and its /proc/self/fd name, which the kernel resolves like the path. */
static int connect_long(int fd, const char *path)
{
        _autoclose_ int pfd = -EBADF;
        char proc[64];

        pfd = open(path, O_PATH | O_CLOEXEC);
        if (pfd < 0)
                return -1;
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", pfd);
        return connect_unix(fd, proc);
}

int berth_console_socket_connect(const char *path, int *ret_fd, struct berth_error **err)
{
        _autoclose_ int fd = -EBADF;
        uint64_t t = TRACE_T0();
        int r;

        if (!path || !*path)
                return berth_error_setx(err, EINVAL, "console socket: empty path");
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return berth_error_set(err, errno, "console socket '%s': socket", path);
        if (strlen(path) < sizeof(((struct sockaddr_un *) 0)->sun_path))
                r = connect_unix(fd, path);
        else
                r = connect_long(fd, path);
        if (r < 0)
                return berth_error_set(err, errno, "connect to console socket '%s'", path);
        TRACE(t, "connect console socket '%s'", path);
        *ret_fd = steal_fd(&fd);
        return 0;
}

/* ---- pty --------------------------------------------------------------------------------- */

/* The fallback open by name could race with a devpts swapped under /dev/pts: check that we got
 * the slave with the number the master reported. */
static int open_slave_by_name(const char *name, unsigned n)
{
        _autoclose_ int fd = -EBADF;
        struct stat st;

        fd = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        if (fstat(fd, &st) < 0)
                return -1;
        if (!S_ISCHR(st.st_mode) || major(st.st_rdev) < PTY_SLAVE_MAJOR ||
            (major(st.st_rdev) - PTY_SLAVE_MAJOR) * 256 + minor(st.st_rdev) != n) {
                errno = ENXIO;
                return -1;
        }
        return steal_fd(&fd);
}

/* TIOCGPTPEER (Linux 4.13) opens the slave from the master itself, with no path lookup. Older
 * kernels answer EINVAL or ENOTTY; remember that and go by name. */
static int open_slave(int master, const char *name, unsigned n)
{
        static bool no_ptpeer;
        int fd;

        if (!no_ptpeer) {
                fd = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
                if (fd >= 0 || (errno != EINVAL && errno != ENOTTY && errno != ENOSYS))
                        return fd;
                no_ptpeer = true;
        }
        return open_slave_by_name(name, n);
}

/* process.consoleSize, applied before the program starts so that it never sees 0x0. */
static int set_size(int fd, uint32_t width, uint32_t height, struct berth_error **err)
{
        struct winsize ws = {0};

        if (width > USHRT_MAX || height > USHRT_MAX)
                return berth_error_setx(err, ERANGE, "console size %ux%u: too large", width,
                                        height);
        ws.ws_col = (unsigned short) width;
        ws.ws_row = (unsigned short) height;
        if (ioctl(fd, TIOCSWINSZ, &ws) < 0)
                return berth_error_set(err, errno, "set console size %ux%u", width, height);
        return 0;
}

int berth_pty_open(uint32_t width, uint32_t height, int *ret_master, int *ret_slave,
                   char **ret_name, struct berth_error **err)
{
        _autoclose_ int master = -EBADF, slave = -EBADF;
        _autofree_ char *name = NULL;
        uint64_t t = TRACE_T0();
        unsigned n;
        int unlock = 0, r;

        master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (master < 0)
                return berth_error_set(err, errno, "open /dev/ptmx");
        if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
                return berth_error_set(err, errno, "unlock pty");
        if (ioctl(master, TIOCGPTN, &n) < 0)
                return berth_error_set(err, errno, "get pty number");
        name = xasprintf("/dev/pts/%u", n);
        slave = open_slave(master, name, n);
        if (slave < 0)
                return berth_error_set(err, errno, "open pty slave %s", name);
        if (width && height) {
                r = set_size(slave, width, height, err);
                if (r < 0)
                        return berth_error_prefix(err, "pty %s", name);
        }
        TRACE(t, "open pty %s", name);
        *ret_master = steal_fd(&master);
        *ret_slave = steal_fd(&slave);
        *ret_name = steal_ptr(&name);
        return 0;
}

/* ---- fd passing -------------------------------------------------------------------------- */

int berth_send_fd(int sock, int fd, const char *name, struct berth_error **err)
{
        union {
                char buf[CMSG_SPACE(sizeof(int))];
                struct cmsghdr align;
        } ctl = {0};
        /* A stream socket carries ancillary data only with at least one byte of payload. */
        const char *payload = (name && *name) ? name : "";
        /* sendmsg only reads it; iov_base has no const */
        struct iovec iov = {.iov_base = (void *) (uintptr_t) payload, .iov_len = strlen(payload)};
        struct msghdr msg = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = ctl.buf,
                             .msg_controllen = sizeof(ctl.buf)};
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

        if (iov.iov_len == 0)
                iov.iov_len = 1; /* the NUL */
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof(int));
        while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0)
                if (errno != EINTR)
                        return berth_error_set(err, errno, "send fd over socket");
        return 0;
}

/* Takes every fd out of the control message; closes all but the first so that a misbehaving
 * peer cannot leak fds into us. Returns the first, or -1. */
static int take_fds(struct msghdr *msg)
{
        int first = -1;

        for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
                size_t n;

                if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
                        continue;
                n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < n; i++) {
                        int fd;

                        memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
                        if (first < 0)
                                first = fd;
                        else
                                close(fd);
                }
        }
        return first;
}

int berth_recv_fd(int sock, int *ret_fd, struct berth_error **err)
{
        union {
                char buf[CMSG_SPACE(4 * sizeof(int))];
                struct cmsghdr align;
        } ctl;
        char name[4096];
        struct iovec iov = {.iov_base = name, .iov_len = sizeof(name)};
        struct msghdr msg = {.msg_iov = &iov,
                             .msg_iovlen = 1,
                             .msg_control = ctl.buf,
                             .msg_controllen = sizeof(ctl.buf)};
        ssize_t n;
        int fd;

        do
                n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return berth_error_set(err, errno, "receive fd from socket");
        fd = take_fds(&msg);
        if (fd < 0)
                return berth_error_setx(err, n == 0 ? ECONNRESET : EBADMSG,
                                        n == 0 ? "receive fd: peer closed the socket"
                                               : "receive fd: message carries no fd");
        if (msg.msg_flags & MSG_CTRUNC) {
                close(fd);
                return berth_error_setx(err, EBADMSG, "receive fd: control data truncated");
        }
        *ret_fd = fd;
        return 0;
}

/* ---- init side --------------------------------------------------------------------------- */

int berth_pty_become_stdio(int slave, struct berth_error **err)
{
        uint64_t t = TRACE_T0();

        /* EPERM means we already lead a process group; fine if it is our own session. */
        if (setsid() < 0 && (errno != EPERM || getsid(0) != getpid()))
                return berth_error_set(err, errno, "setsid");
        if (ioctl(slave, TIOCSCTTY, 0) < 0)
                return berth_error_set(err, errno, "make the pty the controlling terminal");
        for (int i = 0; i <= STDERR_FILENO; i++) {
                /* dup2() onto itself keeps O_CLOEXEC, which would lose the fd at exec. */
                if (slave == i) {
                        if (fcntl(i, F_SETFD, 0) < 0)
                                return berth_error_set(err, errno, "clear FD_CLOEXEC on fd %d", i);
                } else if (dup2(slave, i) < 0) {
                        return berth_error_set(err, errno, "dup pty onto fd %d", i);
                }
        }
        TRACE(t, "pty is the controlling terminal and stdio");
        return 0;
}

/* ---- foreground relay -------------------------------------------------------------------- */

struct relay {
        int master;
        int in;          /* our stdin, -1 after EOF */
        int out;         /* our stdout, -1 once it fails: output is then discarded */
        int tty;         /* our terminal whose size we mirror, or -1 */
        int sig;         /* signalfd for SIGWINCH, or -1 */
        int stop;        /* caller's stop fd, or -1 */
        size_t len, off; /* stdin bytes in buf not yet written to the master */
        char buf[RELAY_BUF];
};

static void copy_winsize(const struct relay *r)
{
        struct winsize ws;

        if (r->tty >= 0 && ioctl(r->tty, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
                (void) ioctl(r->master, TIOCSWINSZ, &ws);
}

static void on_winch(struct relay *r)
{
        struct signalfd_siginfo si[8];

        while (read(r->sig, si, sizeof(si)) > 0)
                ;
        copy_winsize(r);
}

static void emit(struct relay *r, const char *buf, size_t n)
{
        if (r->out >= 0 && write_all(r->out, buf, n) < 0) {
                berth_warn("relay: write to stdout: %s, discarding the container's output",
                           strerror(errno));
                r->out = -1;
        }
}

/* Copies what the master has to our stdout, at most `max_reads` buffers, so that a flood of
 * output cannot starve stdin (a ^C must get through) or the stop fd. Returns 1 when the master
 * is done (EIO or EOF: every slave fd is closed), 0 when it would block or the limit is reached,
 * -errno on other errors. */
static int master_to_out(struct relay *r, unsigned max_reads)
{
        char buf[RELAY_BUF];

        for (unsigned i = 0; i < max_reads; i++) {
                ssize_t n = read(r->master, buf, sizeof(buf));

                if (n > 0) {
                        emit(r, buf, (size_t) n);
                        continue;
                }
                if (n == 0 || errno == EIO)
                        return 1;
                if (errno == EAGAIN)
                        return 0;
                if (errno != EINTR)
                        return -errno;
        }
        return 0;
}

static void in_to_buf(struct relay *r)
{
        ssize_t n = read(r->in, r->buf, sizeof(r->buf));

        if (n > 0) {
                r->len = (size_t) n;
                r->off = 0;
        } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                r->in = -1; /* EOF, or our terminal went away */
        }
}

static int buf_to_master(struct relay *r)
{
        ssize_t n = write(r->master, r->buf + r->off, r->len - r->off);

        if (n < 0)
                return (errno == EAGAIN || errno == EINTR) ? 0 : -errno;
        r->off += (size_t) n;
        if (r->off == r->len)
                r->len = r->off = 0;
        return 0;
}

/* One poll round. Returns 1 when done, 0 to go on, -errno on failure. */
static int relay_step(struct relay *r)
{
        struct pollfd p[4] = {
            {.fd = r->master, .events = POLLIN | (r->len ? POLLOUT : 0)},
            {.fd = r->len ? -1 : r->in, .events = POLLIN},
            {.fd = r->sig, .events = POLLIN},
            {.fd = r->stop, .events = POLLIN},
        };
        int k;

        if (poll(p, ARRAY_SIZE(p), -1) < 0)
                return errno == EINTR ? 0 : -errno;
        if (p[0].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) {
                k = master_to_out(r, RELAY_READS_PER_ROUND);
                if (k != 0)
                        return k;
        }
        if (p[0].revents & POLLOUT) {
                k = buf_to_master(r);
                if (k < 0)
                        return k;
        }
        if (p[1].revents)
                in_to_buf(r);
        if (p[2].revents)
                on_winch(r);
        if (p[3].revents) /* the container is gone: take what output is left, then stop */
                return (k = master_to_out(r, RELAY_DRAIN_READS)) < 0 ? k : 1;
        return 0;
}

/* SIGWINCH arrives through a signalfd so that the poll loop sees it; no handler is installed.
 * Returns the fd or -1 (then sizes are only copied once, at start). */
static int open_winch_fd(sigset_t *ret_old)
{
        sigset_t set;

        sigemptyset(&set);
        sigaddset(&set, SIGWINCH);
        if (sigprocmask(SIG_BLOCK, &set, ret_old) < 0) {
                (void) sigprocmask(SIG_BLOCK, NULL, ret_old);
                return -1;
        }
        return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

/* Raw mode on our stdin, as runc and crun do, so that ^C, ^Z and line editing reach the
 * container's terminal instead of ours. */
static bool enter_raw(int fd, struct termios *ret_saved)
{
        struct termios raw;

        if (!isatty(fd) || tcgetattr(fd, ret_saved) < 0)
                return false;
        raw = *ret_saved;
        cfmakeraw(&raw);
        return tcsetattr(fd, TCSANOW, &raw) == 0;
}

int berth_pty_relay(int master, int stop_fd, struct berth_error **err)
{
        _autofree_ struct relay *r = xcalloc(1, sizeof(*r));
        _autoclose_ int sig = -EBADF;
        uint64_t t = TRACE_T0();
        struct termios saved;
        sigset_t old_mask;
        bool is_raw;
        int flags, k;

        flags = fcntl(master, F_GETFL);
        if (flags < 0 || fcntl(master, F_SETFL, flags | O_NONBLOCK) < 0)
                return berth_error_set(err, errno, "relay: set pty master non-blocking");
        r->master = master;
        r->in = STDIN_FILENO;
        r->out = STDOUT_FILENO;
        r->tty = isatty(STDIN_FILENO) ? STDIN_FILENO : isatty(STDOUT_FILENO) ? STDOUT_FILENO : -1;
        r->stop = stop_fd < 0 ? -1 : stop_fd;
        is_raw = enter_raw(STDIN_FILENO, &saved);
        sig = open_winch_fd(&old_mask);
        r->sig = sig < 0 ? -1 : sig;
        copy_winsize(r);

        do
                k = relay_step(r);
        while (k == 0);

        if (is_raw)
                (void) tcsetattr(STDIN_FILENO, TCSANOW, &saved);
        (void) sigprocmask(SIG_SETMASK, &old_mask, NULL);
        (void) fcntl(master, F_SETFL, flags);
        TRACE(t, "relay pty (raw %s)", is_raw ? "on" : "off");
        if (k < 0)
                return berth_error_set(err, -k, "relay pty");
        return 0;
}

int berth_pty_setup(const struct berth_process *p,
                    int (*before_stdio)(int slave, const char *name, struct berth_error **err),
                    int *console_fd, int sync_fd, struct berth_error **err)
{
        _autoclose_ int master = -EBADF, slave = -EBADF;
        _autofree_ char *name = NULL;
        int r;

        if (!p->terminal)
                return 0;
        r = berth_pty_open(p->has_console_size ? p->console_width : 0,
                           p->has_console_size ? p->console_height : 0, &master, &slave, &name,
                           err);
        if (r >= 0 && before_stdio)
                r = before_stdio(slave, name, err);
        if (r >= 0)
                r = berth_pty_become_stdio(slave, err);
        if (r < 0)
                return r;
        if (*console_fd >= 0) {
                r = berth_send_fd(*console_fd, master, name, err);
                closep(console_fd);
                return r;
        }
        if (sync_send(sync_fd, SYNC_PTY, 0, name, master) < 0)
                return berth_error_set(err, errno, "send the pty master to the runtime");
        return 0;
}
