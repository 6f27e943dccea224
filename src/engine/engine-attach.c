/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The attach socket (engine-attach.h): its address, and the client's relay: our stdin to the
 * container (watching for the detach keys), its output to our stdout/stderr, our window size and
 * signals to it.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>

#include "base/util.h"
#include "engine/engine-attach.h"

static int sock_addr(const char *dir, int *ret_dirfd, struct sockaddr_un *ret,
                     struct berth_error **err)
{
        int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return berth_error_set(err, errno, "open %s", dir);
        *ret = (struct sockaddr_un){.sun_family = AF_UNIX};
        snprintf(ret->sun_path, sizeof(ret->sun_path), "/proc/self/fd/%d/" BERTH_ATTACH_SOCK, fd);
        *ret_dirfd = fd;
        return 0;
}

int berth_attach_listen(const char *dir, int *ret_fd, struct berth_error **err)
{
        _autoclose_ int dfd = -EBADF, fd = -EBADF;
        struct sockaddr_un a;
        int r = sock_addr(dir, &dfd, &a, err);

        if (r < 0)
                return r;
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return berth_error_set(err, errno, "socket for %s/" BERTH_ATTACH_SOCK, dir);
        (void) unlinkat(dfd, BERTH_ATTACH_SOCK, 0); /* a crashed monitor's */
        if (bind(fd, (struct sockaddr *) &a, sizeof(a)) < 0 || listen(fd, 16) < 0)
                return berth_error_set(err, errno, "listen on %s/" BERTH_ATTACH_SOCK, dir);
        *ret_fd = steal_fd(&fd);
        return 0;
}

int berth_attach_connect(const char *dir, int *ret_fd, struct berth_error **err)
{
        _autoclose_ int dfd = -EBADF, fd = -EBADF;
        struct sockaddr_un a;
        int r = sock_addr(dir, &dfd, &a, err);

        if (r < 0)
                return r;
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return berth_error_set(err, errno, "socket");
        if (connect(fd, (struct sockaddr *) &a, sizeof(a)) < 0)
                return berth_error_set(err, errno,
                                       "connect to the monitor at %s/" BERTH_ATTACH_SOCK, dir);
        *ret_fd = steal_fd(&fd);
        return 0;
}

/* "ctrl-p" -> 0x10, "ctrl-@" 0, "ctrl-[" .. "ctrl-_" 27..31, "a" 'a' (docker's term.ToBytes). */
static int detach_key(const char *k, size_t len, unsigned char *ret)
{
        if (len == 1) {
                *ret = (unsigned char) k[0];
                return 0;
        }
        if (len != 6 || strncasecmp(k, "ctrl-", 5) != 0)
                return -EINVAL;
        if (k[5] >= 'a' && k[5] <= 'z')
                *ret = (unsigned char) (k[5] - 'a' + 1);
        else if (k[5] >= 'A' && k[5] <= 'Z')
                *ret = (unsigned char) (k[5] - 'A' + 1);
        else if (k[5] == '@')
                *ret = 0;
        else if (k[5] >= '[' && k[5] <= '_')
                *ret = (unsigned char) (k[5] - '[' + 27);
        else
                return -EINVAL;
        return 0;
}

int berth_detach_keys_parse(const char *s, unsigned char *ret, size_t *ret_n,
                            struct berth_error **err)
{
        size_t n = 0;

        for (const char *p = s; *s && p;) {
                const char *comma = strchr(p, ',');
                size_t len = comma ? (size_t) (comma - p) : strlen(p);

                if (n == BERTH_DETACH_KEYS_MAX || detach_key(p, len, &ret[n]) < 0)
                        return berth_error_setx(err, EINVAL, "Invalid detach keys (%s) provided",
                                                s);
                n++;
                p = comma ? comma + 1 : NULL;
        }
        *ret_n = n;
        return 0;
}

/* ---- the client's relay ------------------------------------------------------------------- */

/* Signals a client proxies to the container (docker's CLI: all but CHLD, PIPE, URG, WINCH, and
 * the ones it cannot catch). */
static const int proxied[] = {SIGHUP,  SIGINT,  SIGQUIT, SIGUSR1, SIGUSR2,
                              SIGTERM, SIGALRM, SIGCONT, SIGTSTP};

struct relay {
        const struct berth_attach_opts *o;
        int sock, sig;
        bool in_open;
        size_t matched; /* detach keys typed so far */
        int tty;        /* our terminal (for its size), or -1 */
};

static int send_packet(int sock, int type, const void *data, size_t len)
{
        unsigned char buf[1 + BERTH_ATTACH_DATA_MAX];

        buf[0] = (unsigned char) type;
        if (len)
                memcpy(buf + 1, data, len);
        while (send(sock, buf, 1 + len, MSG_NOSIGNAL) < 0)
                if (errno != EINTR)
                        return -errno;
        return 0;
}

static void send_size(struct relay *r)
{
        struct winsize ws;
        uint16_t rc[2];

        if (r->tty < 0 || ioctl(r->tty, TIOCGWINSZ, &ws) < 0 || !ws.ws_row)
                return;
        rc[0] = ws.ws_row;
        rc[1] = ws.ws_col;
        (void) send_packet(r->sock, BERTH_ATTACH_RESIZE, rc, sizeof(rc));
}

/* Our stdin, the detach keys taken out (a partial match is sent on once it fails). 1: detach. */
static int from_stdin(struct relay *r)
{
        unsigned char in[BERTH_ATTACH_DATA_MAX / 2], out[BERTH_ATTACH_DATA_MAX];
        size_t n_out = 0;
        ssize_t n;

        do
                n = read(STDIN_FILENO, in, sizeof(in));
        while (n < 0 && errno == EINTR);
        if (n <= 0) {
                r->in_open = false;
                return send_packet(r->sock, BERTH_ATTACH_STDIN_EOF, NULL, 0);
        }
        for (ssize_t i = 0; i < n; i++) {
                if (r->o->n_detach && in[i] == r->o->detach[r->matched]) {
                        if (++r->matched == r->o->n_detach)
                                return 1;
                        continue;
                }
                memcpy(out + n_out, r->o->detach, r->matched); /* not the keys after all */
                n_out += r->matched;
                r->matched = 0;
                if (r->o->n_detach && in[i] == r->o->detach[0]) {
                        r->matched = 1;
                        if (r->o->n_detach == 1)
                                return 1;
                        continue;
                }
                out[n_out++] = in[i];
        }
        return n_out ? send_packet(r->sock, BERTH_ATTACH_STDIN, out, n_out) : 0;
}

/* One packet from the monitor; 1 at EOF (the container's end). */
static int from_monitor(struct relay *r)
{
        unsigned char buf[1 + BERTH_ATTACH_DATA_MAX];
        ssize_t n;

        do
                n = recv(r->sock, buf, sizeof(buf), 0);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return errno == ECONNRESET ? 1 : -errno;
        if (n == 0)
                return 1;
        if (buf[0] == BERTH_ATTACH_STDOUT || buf[0] == BERTH_ATTACH_STDERR)
                (void) write_all(buf[0] == BERTH_ATTACH_STDOUT ? STDOUT_FILENO : STDERR_FILENO,
                                 buf + 1, (size_t) n - 1);
        return 0;
}

static void on_signal(struct relay *r)
{
        struct signalfd_siginfo si;

        while (read(r->sig, &si, sizeof(si)) == sizeof(si)) {
                if (si.ssi_signo == SIGWINCH)
                        send_size(r);
                else if (r->o->proxy)
                        r->o->proxy((int) si.ssi_signo, r->o->userdata);
        }
}

static int relay_loop(struct relay *r)
{
        for (;;) {
                struct pollfd p[3] = {{.fd = r->in_open ? STDIN_FILENO : -1, .events = POLLIN},
                                      {.fd = r->sock, .events = POLLIN},
                                      {.fd = r->sig, .events = POLLIN}};
                int k = 0;

                if (poll(p, 3, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (p[1].revents)
                        k = from_monitor(r);
                if (k == 0 && p[0].revents)
                        k = from_stdin(r) == 1 ? 2 : 0;
                if (p[2].revents)
                        on_signal(r);
                if (k != 0)
                        return k < 0 ? k : k - 1; /* 1 (EOF) -> 0 ended, 2 -> 1 detached */
        }
}

static int open_signals(const struct berth_attach_opts *o, sigset_t *ret_old)
{
        sigset_t set;

        sigemptyset(&set);
        sigaddset(&set, SIGWINCH);
        if (o->proxy && !o->tty)
                for (size_t i = 0; i < ARRAY_SIZE(proxied); i++)
                        sigaddset(&set, proxied[i]);
        if (sigprocmask(SIG_BLOCK, &set, ret_old) < 0) {
                (void) sigprocmask(SIG_BLOCK, NULL, ret_old);
                return -1;
        }
        return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

int berth_attach_relay(int sock, const struct berth_attach_opts *o, struct berth_error **err)
{
        struct relay r = {.o = o, .sock = sock, .in_open = o->in, .tty = -1};
        struct termios saved;
        bool is_raw = false;
        sigset_t old;
        int k;

        if (o->tty && o->in && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0) {
                struct termios raw = saved;

                cfmakeraw(&raw);
                is_raw = tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
        }
        if (o->tty)
                r.tty = isatty(STDIN_FILENO)    ? STDIN_FILENO
                        : isatty(STDOUT_FILENO) ? STDOUT_FILENO
                                                : -1;
        r.sig = open_signals(o, &old);
        send_size(&r);
        k = relay_loop(&r);
        if (is_raw)
                (void) tcsetattr(STDIN_FILENO, TCSANOW, &saved);
        if (r.sig >= 0)
                close(r.sig);
        (void) sigprocmask(SIG_SETMASK, &old, NULL);
        if (k < 0)
                return berth_error_set(err, -k, "attach: relay");
        return k;
}
