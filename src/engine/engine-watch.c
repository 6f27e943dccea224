/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The monitor's resident loop (engine-watch.h): poll the container's streams and its init's
 * pidfd, write what comes to the log, reap.
 */
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>

#include "base/log.h"
#include "base/syscalls.h"
#include "base/util.h"
#include "engine/ctr-log.h"
#include "engine/engine-watch.h"

/* The log's name in the container's dir (engine.h's BERTH_CTR_LOG; not included here: this
 * file stays out of the record's code). */
#define CTR_LOG "ctr.log"

/* After the init exits, how long the pipes may still bring what its processes wrote (they die
 * with it in its pid namespace: EOF comes at once; without one they may live on). */
#define DRAIN_MS 2000

struct watch {
        const struct berth_watch *w;
        struct berth_log_writer *log;
        int status;
        bool exited;
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

/* One read from stream fd into the log; false at EOF (or an error: the stream is over). */
static bool relay(struct watch *x, int fd, int stream)
{
        _autoerr_ struct berth_error *e = NULL;
        char buf[16384];
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
        return true;
}

/* Orphans the container left (we are their subreaper), and the init: its status, once. */
static void reap(struct watch *x)
{
        int st;
        pid_t p;

        while ((p = waitpid(-1, &st, WNOHANG)) > 0)
                if (p == x->w->pid) {
                        x->status = st;
                        x->exited = true;
                }
}

static void loop(struct watch *x, int pidfd)
{
        struct pollfd p[3] = {{.fd = x->w->out_fd, .events = POLLIN},
                              {.fd = x->w->err_fd, .events = POLLIN},
                              {.fd = pidfd, .events = POLLIN}};
        uint64_t deadline = 0;

        while (p[0].fd >= 0 || p[1].fd >= 0 || !x->exited) {
                int timeout = x->exited ? (int) ((deadline - berth_now_us()) / 1000) : -1;

                if (x->exited && (int64_t) (deadline - berth_now_us()) <= 0)
                        break;
                if (poll(p, 3, timeout) < 0 && errno != EINTR)
                        break;
                for (int s = 0; s < 2; s++)
                        if (p[s].fd >= 0 && (p[s].revents & (POLLIN | POLLHUP | POLLERR)) &&
                            !relay(x, p[s].fd, s + 1))
                                p[s].fd = -1;
                if (p[2].fd >= 0 && (p[2].revents & POLLIN)) {
                        reap(x);
                        if (x->exited) {
                                p[2].fd = -1;
                                deadline = berth_now_us() + DRAIN_MS * 1000u;
                        }
                }
        }
        for (int s = 0; s < 2; s++) /* what is still pending of a line */
                if (p[s].fd >= 0 && x->log)
                        (void) berth_log_stream_end(x->log, s + 1, NULL);
}

int berth_watch_run(const struct berth_watch *w)
{
        struct watch x = {.w = w, .status = -1};
        _autoclose_ int pidfd = sys_pidfd_open(w->pid, 0);

        open_log(&x);
        if (pidfd < 0) /* gone already (reaped below), or no pidfd: wait for it */
                berth_warn("pidfd_open %d: %s", (int) w->pid, strerror(errno));
        if (pidfd >= 0)
                loop(&x, pidfd);
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
        reap(&x);
        berth_log_writer_free(x.log);
        return x.status;
}
