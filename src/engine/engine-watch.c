/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The monitor's resident loop (engine-watch.h): poll the container's streams, its init's pidfd
 * and the attach socket (engine-attach.h); what comes is written to the log and sent to the
 * attached clients; what the clients send goes to the container's stdin or terminal. The
 * healthcheck's timer: its stage, a child, started when the poll's timeout says it is time.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "base/log.h"
#include "base/syscalls.h"
#include "base/util.h"
#include "engine/ctr-log.h"
#include "engine/engine-attach.h"
#include "engine/engine-watch.h"

/* The log's name in the container's dir (engine.h's BERTH_CTR_LOG; not included here: this
 * file stays out of the record's code). */
#define CTR_LOG "ctr.log"

/* After the init exits, how long the pipes may still bring what its processes wrote (they die
 * with it in its pid namespace: EOF comes at once; without one they may live on). */
#define DRAIN_MS 2000

/* Clients attached at once, at most (more wait in the listen backlog). */
#define MAX_CLIENTS 16

enum {
        SLOT_OUT,
        SLOT_ERR,
        SLOT_PID,
        SLOT_LISTEN,
        SLOT_HEALTH, /* the pidfd of the running health stage */
        SLOT_CLIENT0,
        SLOT_N = SLOT_CLIENT0 + MAX_CLIENTS
};

struct watch {
        const struct berth_watch *w;
        struct berth_log_writer *log;
        int in_fd; /* the container's stdin (a pipe's write end, or the pty), -1 when closed */
        int status;
        bool exited;
        struct pollfd p[SLOT_N];
        /* the healthcheck (engine-watch.h struct berth_watch_health) */
        pid_t health_pid;       /* the running stage, or 0 */
        uint64_t started_us;    /* our start: the container's, within a few ms */
        uint64_t next_check_us; /* when the next one starts (none running) */
        bool health_starting;   /* the status is still "starting" (start_interval applies) */
        bool health_off;        /* no check (any more) */
};

static void open_log(struct watch *x)
{
        _autoerr_ struct berth_error *e = NULL;
        _autoclose_ int dfd = -EBADF;

        if (streq_ptr(x->w->log_driver, "none"))
                return;
        dfd = open(x->w->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                berth_warn("open %s: %s: the container's output is not logged", x->w->dir,
                           strerror(errno));
        else if (berth_log_writer_open(dfd, CTR_LOG, x->w->log_max_size,
                                       x->w->log_max_file > 0 ? x->w->log_max_file : 1, &x->log,
                                       &e) < 0)
                berth_warn("%s: the container's output is not logged", e->msg);
}

static void drop_client(struct watch *x, int i)
{
        closep(&x->p[i].fd);
        x->p[i].fd = -1;
}

/* To every attached client; one that cannot take it (gone) is dropped. A slow one slows the
 * container's output down, as docker's attach does. */
static void broadcast(struct watch *x, int stream, const char *data, size_t len)
{
        char buf[1 + BERTH_ATTACH_DATA_MAX];

        buf[0] = (char) (stream == BERTH_LOG_STDERR ? BERTH_ATTACH_STDERR : BERTH_ATTACH_STDOUT);
        for (int i = SLOT_CLIENT0; i < SLOT_N; i++) {
                if (x->p[i].fd < 0)
                        continue;
                for (size_t off = 0; off < len;) {
                        size_t n =
                            len - off < BERTH_ATTACH_DATA_MAX ? len - off : BERTH_ATTACH_DATA_MAX;
                        ssize_t k;

                        memcpy(buf + 1, data + off, n);
                        while ((k = send(x->p[i].fd, buf, 1 + n, MSG_NOSIGNAL)) < 0 &&
                               errno == EINTR)
                                ;
                        if (k < 0) {
                                drop_client(x, i);
                                break;
                        }
                        off += n;
                }
        }
}

/* One read from stream fd into the log and the clients; false at EOF (or an error). */
static bool relay(struct watch *x, int fd, int stream)
{
        _autoerr_ struct berth_error *e = NULL;
        char buf[BERTH_ATTACH_DATA_MAX];
        ssize_t n;

        do
                n = read(fd, buf, sizeof(buf));
        while (n < 0 && errno == EINTR);
        if (n <= 0) {
                if (x->log && berth_log_stream_end(x->log, stream, &e) < 0)
                        berth_warn("%s", e->msg);
                return false;
        }
        if (x->log && berth_log_write(x->log, stream, buf, (size_t) n, &e) < 0)
                berth_warn("%s, continuing", e->msg);
        broadcast(x, stream, buf, (size_t) n);
        return true;
}

static void add_client(struct watch *x, int fd)
{
        for (int i = SLOT_CLIENT0; i < SLOT_N; i++)
                if (x->p[i].fd < 0) {
                        x->p[i] = (struct pollfd){.fd = fd, .events = POLLIN};
                        return;
                }
        close(fd); /* full */
}

static void write_stdin(struct watch *x, const unsigned char *data, size_t len)
{
        while (x->in_fd >= 0 && len) {
                ssize_t n = write(x->in_fd, data, len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0) { /* nobody reads it any more */
                        if (x->in_fd != x->w->out_fd)
                                closep(&x->in_fd);
                        x->in_fd = -1;
                        return;
                }
                data += n;
                len -= (size_t) n;
        }
}

static void resize(struct watch *x, const unsigned char *data, size_t len)
{
        struct winsize ws = {0};
        uint16_t rc[2];

        if (!x->w->tty || len != sizeof(rc))
                return;
        memcpy(rc, data, sizeof(rc));
        ws.ws_row = rc[0];
        ws.ws_col = rc[1];
        (void) ioctl(x->w->out_fd, TIOCSWINSZ, &ws);
}

/* One packet from client i: its stdin, its EOF, its window size. */
static void from_client(struct watch *x, int i)
{
        unsigned char buf[1 + BERTH_ATTACH_DATA_MAX];
        ssize_t n;

        do
                n = recv(x->p[i].fd, buf, sizeof(buf), MSG_DONTWAIT);
        while (n < 0 && errno == EINTR);
        if (n < 0 && errno == EAGAIN)
                return;
        if (n <= 0) {
                drop_client(x, i);
                return;
        }
        if (buf[0] == BERTH_ATTACH_STDIN)
                write_stdin(x, buf + 1, (size_t) n - 1);
        else if (buf[0] == BERTH_ATTACH_STDIN_EOF && !x->w->tty && x->in_fd >= 0)
                closep(&x->in_fd); /* docker's StdinOnce: the container sees EOF */
        else if (buf[0] == BERTH_ATTACH_RESIZE)
                resize(x, buf + 1, (size_t) n - 1);
}

/* ---- the healthcheck's timer ------------------------------------------------------------- */

static bool health_on(const struct watch *x)
{
        return x->w->health.interval_ms > 0 && !x->health_off && x->w->health_exe;
}

/* docker's getInterval: the start interval during the start period while still "starting". */
static uint64_t health_interval_us(const struct watch *x)
{
        const struct berth_watch_health *h = &x->w->health;

        if (berth_now_us() - x->started_us >= h->start_period_ms * 1000 || !x->health_starting)
                return h->interval_ms * 1000;
        return h->start_interval_ms * 1000;
}

/* The stage's end (reaped): its exit code is the status; the next check one interval later. */
static void health_done(struct watch *x, int st)
{
        int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;

        closep(&x->p[SLOT_HEALTH].fd);
        x->p[SLOT_HEALTH].fd = -1;
        x->health_pid = 0;
        if (code == BERTH_HEALTH_EXIT_STARTING)
                x->health_starting = true;
        else if (code == BERTH_HEALTH_EXIT_HEALTHY || code == BERTH_HEALTH_EXIT_UNHEALTHY)
                x->health_starting = false;
        else if (code == BERTH_HEALTH_EXIT_NONE)
                x->health_off = true;
        x->next_check_us = berth_now_us() + health_interval_us(x);
}

/* The stage, in a process group of its own (what it starts goes with it at our end), with the
 * signals we ignore back to their defaults. */
static void health_spawn(struct watch *x)
{
        posix_spawnattr_t attr;
        sigset_t def;
        pid_t pid = 0;
        int r;

        sigemptyset(&def);
        sigaddset(&def, SIGPIPE);
        sigaddset(&def, SIGHUP);
        sigaddset(&def, SIGINT);
        posix_spawnattr_init(&attr);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF);
        posix_spawnattr_setpgroup(&attr, 0);
        posix_spawnattr_setsigdefault(&attr, &def);
        r = posix_spawn(&pid, x->w->health_exe, NULL, &attr, x->w->health_argv, environ);
        posix_spawnattr_destroy(&attr);
        if (r != 0) {
                berth_warn("run the healthcheck (%s): %s, trying again later", x->w->health_exe,
                           strerror(r));
                x->next_check_us = berth_now_us() + health_interval_us(x);
                return;
        }
        x->health_pid = pid;
        x->p[SLOT_HEALTH].fd = sys_pidfd_open(pid, 0);
        if (x->p[SLOT_HEALTH].fd < 0) /* cannot be: our child; then its end is seen by reap */
                berth_warn("pidfd_open %d: %s", (int) pid, strerror(errno));
}

/* Orphans the container left (we are their subreaper), and the init: its status, once; the
 * health stage's end. */
static void reap(struct watch *x)
{
        int st;
        pid_t p;

        while ((p = waitpid(-1, &st, WNOHANG)) > 0)
                if (p == x->w->pid) {
                        x->status = st;
                        x->exited = true;
                } else if (p == x->health_pid) {
                        health_done(x, st);
                }
}

static void health_step(struct watch *x)
{
        int st;

        if (x->health_pid > 0 && x->p[SLOT_HEALTH].fd >= 0 &&
            (x->p[SLOT_HEALTH].revents & POLLIN) &&
            waitpid(x->health_pid, &st, WNOHANG) == x->health_pid)
                health_done(x, st);
        if (!x->exited && health_on(x) && x->health_pid == 0 &&
            (int64_t) (x->next_check_us - berth_now_us()) <= 0)
                health_spawn(x);
}

/* At the end: a check still running is killed (its whole group: a berth exec, the process in the
 * container) and reaped. */
static void health_stop(struct watch *x)
{
        int st;

        if (x->health_pid <= 0)
                return;
        (void) kill(-x->health_pid, SIGKILL);
        while (waitpid(x->health_pid, &st, 0) < 0 && errno == EINTR)
                ;
        closep(&x->p[SLOT_HEALTH].fd);
        x->p[SLOT_HEALTH].fd = -1;
        x->health_pid = 0;
}

/* The poll's timeout (ms, -1: none): the drain's deadline at the end, else the next check. */
static int poll_timeout(const struct watch *x, uint64_t deadline)
{
        uint64_t now = berth_now_us(), at;

        if (x->exited)
                at = deadline;
        else if (health_on(x) && x->health_pid == 0)
                at = x->next_check_us;
        else
                return -1;
        return (int64_t) (at - now) <= 0 ? 0 : (int) ((at - now + 999) / 1000);
}

static void poll_step(struct watch *x, uint64_t *deadline)
{
        int r = poll(x->p, SLOT_N, poll_timeout(x, *deadline));

        if (r < 0)
                return;
        health_step(x);
        if (r == 0)
                return;
        for (int s = SLOT_OUT; s <= SLOT_ERR; s++)
                if (x->p[s].fd >= 0 && (x->p[s].revents & (POLLIN | POLLHUP | POLLERR)) &&
                    !relay(x, x->p[s].fd, s + 1))
                        x->p[s].fd = -1;
        if (x->p[SLOT_PID].fd >= 0 && (x->p[SLOT_PID].revents & POLLIN)) {
                reap(x);
                if (x->exited) {
                        x->p[SLOT_PID].fd = -1;
                        *deadline = berth_now_us() + DRAIN_MS * 1000u;
                }
        }
        if (x->p[SLOT_LISTEN].revents & POLLIN) {
                int c = accept4(x->p[SLOT_LISTEN].fd, NULL, NULL, SOCK_CLOEXEC);

                if (c >= 0)
                        add_client(x, c);
        }
        for (int i = SLOT_CLIENT0; i < SLOT_N; i++)
                if (x->p[i].fd >= 0 && x->p[i].revents)
                        from_client(x, i);
}

static void loop(struct watch *x)
{
        uint64_t deadline = 0;

        while (x->p[SLOT_OUT].fd >= 0 || x->p[SLOT_ERR].fd >= 0 || !x->exited) {
                if (x->exited && (int64_t) (deadline - berth_now_us()) <= 0)
                        break;
                poll_step(x, &deadline);
        }
        for (int s = SLOT_OUT; s <= SLOT_ERR; s++) /* what is still pending of a line */
                if (x->p[s].fd >= 0 && x->log)
                        (void) berth_log_stream_end(x->log, s + 1, NULL);
}

static void watch_init(struct watch *x, int pidfd)
{
        for (int i = 0; i < SLOT_N; i++)
                x->p[i] = (struct pollfd){.fd = -1, .events = POLLIN};
        x->p[SLOT_OUT].fd = x->w->out_fd;
        x->p[SLOT_ERR].fd = x->w->err_fd;
        x->p[SLOT_PID].fd = pidfd;
        x->p[SLOT_LISTEN].fd = x->w->listen_fd;
        x->in_fd = x->w->tty ? x->w->out_fd : x->w->in_fd;
        if (x->w->client_fd >= 0)
                add_client(x, x->w->client_fd);
        x->started_us = berth_now_us();
        x->health_starting = true;
        x->next_check_us = x->started_us + health_interval_us(x);
}

int berth_watch_run(const struct berth_watch *w)
{
        struct watch x = {.w = w, .status = -1};
        _autoclose_ int pidfd = sys_pidfd_open(w->pid, 0);

        open_log(&x);
        watch_init(&x, pidfd);
        if (pidfd < 0) /* cannot be (the init is our child, not reaped yet): wait blindly */
                berth_warn("pidfd_open %d: %s", (int) w->pid, strerror(errno));
        if (pidfd >= 0)
                loop(&x);
        while (!x.exited) {
                int st;
                pid_t p = waitpid(w->pid, &st, 0);

                if (p == w->pid) {
                        x.status = st;
                        x.exited = true;
                } else if (p < 0 && errno != EINTR) {
                        break;
                }
        }
        health_stop(&x);
        reap(&x);
        for (int i = SLOT_CLIENT0; i < SLOT_N; i++) /* EOF: the end, for the attached */
                if (x.p[i].fd >= 0)
                        drop_client(&x, i);
        if (x.in_fd >= 0 && x.in_fd != w->out_fd)
                close(x.in_fd);
        if (w->listen_fd >= 0) { /* nothing to attach to any more */
                _autofree_ char *sock = xasprintf("%s/" BERTH_ATTACH_SOCK, w->dir);

                (void) unlink(sock);
                close(w->listen_fd);
        }
        berth_log_writer_free(x.log);
        return x.status;
}
