/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-monitor's body (engine-monitor.h): start the container, report to the CLI, relay its
 * output to the log, record its end.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "base/log.h"
#include "base/util.h"
#include "engine/ctr-log.h"
#include "engine/engine-monitor.h"
#include "engine/engine-run.h"
#include "engine/engine.h"
#include "image/imagestore.h"
#include "runtime/container.h"
#include "runtime/foreground.h"
#include "runtime/process.h"
#include "runtime/selfexe.h"
#include "runtime/state.h"

/* After the init exits, how long the pipes may still bring what its processes wrote (they die
 * with it in its pid namespace: EOF comes at once; without one they may live on). */
#define DRAIN_MS 2000

struct monitor {
        struct berth_store *store;
        struct berth_ctr *c;
        const char *runroot;
        struct berth_container *lc;
        struct berth_log_writer *log;
        int report_fd;
        int out[2], err[2]; /* [0]: ours to read, [1]: the container's stdout / stderr */
};

/* "0 PID" or "CODE MESSAGE", once; then the CLI may go. */
static void report(struct monitor *m, int code, const char *msg)
{
        char *line = code ? xasprintf("%d %s\n", code, msg) : xasprintf("0 %d\n", m->lc->pid);

        if (m->report_fd >= 0)
                (void) !write(m->report_fd, line, strlen(line));
        free(line);
        closep(&m->report_fd);
}

/* The container's stdio: stdin /dev/null, stdout and stderr the write ends of our pipes (with -t
 * the pty libberth makes takes all three). Ours are set back to /dev/null once it has them, so
 * that EOF comes when the container's processes are gone. */
static int stdio_for_container(struct monitor *m, bool tty, struct berth_error **err)
{
        _autoclose_ int null = open("/dev/null", O_RDWR | O_CLOEXEC);

        if (null < 0)
                return berth_error_set(err, errno, "open /dev/null");
        if (dup2(null, STDIN_FILENO) < 0)
                return berth_error_set(err, errno, "dup2 /dev/null");
        if (tty)
                return 0;
        if (pipe2(m->out, O_CLOEXEC) < 0 || pipe2(m->err, O_CLOEXEC) < 0)
                return berth_error_set(err, errno, "pipes for the container's stdout and stderr");
        if (dup2(m->out[1], STDOUT_FILENO) < 0 || dup2(m->err[1], STDERR_FILENO) < 0)
                return berth_error_set(err, errno, "dup2 the container's stdout and stderr");
        return 0;
}

static void stdio_release(struct monitor *m)
{
        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

        if (null >= 0) {
                dup2(null, STDOUT_FILENO);
                dup2(null, STDERR_FILENO);
                close(null);
        }
        closep(&m->out[1]);
        closep(&m->err[1]);
}

static int mark_running(struct monitor *m, struct berth_error **err)
{
        unsigned long long start = 0;

        berth_proc_starttime(getpid(), &start, NULL);
        free(m->c->status);
        m->c->status = xstrdup("running");
        m->c->pid = (int) m->lc->pid;
        free(m->c->started_at);
        m->c->started_at = berth_rfc3339_now();
        m->c->monitor_pid = (int) getpid();
        m->c->monitor_start = start;
        return berth_ctr_save(m->c, err);
}

/* Undoes a start that failed, as a foreground run does (engine-run.c abandon): runtime state,
 * overlay, and the container itself with --rm. */
static void abandon(struct monitor *m, int code)
{
        _autoerr_ struct berth_error *e = NULL;

        m->c->exit_code = code;
        if (berth_ctr_finish(m->c, m->runroot, m->lc, -1, &e) < 0)
                berth_warn("%s", e->msg);
        berth_error_freep(&e);
        if (m->c->auto_remove && berth_ctr_remove(m->c, m->runroot, true, &e) < 0)
                berth_warn("%s", e->msg);
}

static int start(struct monitor *m)
{
        _autoerr_ struct berth_error *e = NULL;
        int r, code;

        r = stdio_for_container(m, m->c->tty, &e);
        if (r >= 0)
                r = berth_ctr_runtime_create(m->c, m->runroot, m->c->tty, &m->lc, &e);
        stdio_release(m);
        if (r < 0) {
                code = berth_run_create_exit_code(e);
                abandon(m, code); /* first: the CLI returns once told, with nothing left */
                report(m, code, e->msg);
                return -1;
        }
        r = mark_running(m, &e);
        if (r >= 0)
                r = berth_ctr_runtime_start(m->lc, &e);
        if (r < 0) {
                abandon(m, BERTH_EXIT_ENGINE);
                report(m, BERTH_EXIT_ENGINE, e->msg);
                return -1;
        }
        report(m, 0, NULL);
        /* -t: the pty is stdout, stderr and stdin at once: one stream, read from its master */
        if (m->c->tty)
                m->out[0] = steal_fd(&m->lc->pty_master);
        return 0;
}

/* One read from stream fd into the log; false at EOF (or an error: the stream is over). */
static bool relay(struct monitor *m, int fd, int stream)
{
        _autoerr_ struct berth_error *e = NULL;
        char buf[16384];
        ssize_t n;

        do
                n = read(fd, buf, sizeof(buf));
        while (n < 0 && errno == EINTR);
        if (n <= 0) {
                if (m->log && berth_log_stream_end(m->log, stream, &e) < 0)
                        berth_warn("%s", e->msg);
                return false;
        }
        if (m->log && berth_log_write(m->log, stream, buf, (size_t) n, &e) < 0)
                berth_warn("%s, continuing", e->msg);
        return true;
}

/* Orphans the container left (we are their subreaper), and the init: its status, once. */
static void reap(struct monitor *m, int *status, bool *exited)
{
        int st;
        pid_t p;

        while ((p = waitpid(-1, &st, WNOHANG)) > 0)
                if (p == m->lc->pid) {
                        *status = st;
                        *exited = true;
                }
}

/* Relays stdout and stderr until both are over and the init has exited (then at most DRAIN_MS
 * more); *ret_status is the init's wait status. */
static void watch(struct monitor *m, int *ret_status)
{
        struct pollfd p[3] = {{.fd = m->out[0], .events = POLLIN},
                              {.fd = m->err[0], .events = POLLIN},
                              {.fd = m->lc->pidfd, .events = POLLIN}};
        uint64_t deadline = 0;
        bool exited = false;

        while (p[0].fd >= 0 || p[1].fd >= 0 || !exited) {
                int timeout = exited ? (int) ((deadline - berth_now_us()) / 1000) : -1;

                if (exited && (int64_t) (deadline - berth_now_us()) <= 0)
                        break;
                if (poll(p, 3, timeout) < 0 && errno != EINTR)
                        break;
                for (int s = 0; s < 2; s++)
                        if (p[s].fd >= 0 && (p[s].revents & (POLLIN | POLLHUP | POLLERR)) &&
                            !relay(m, p[s].fd, s + 1))
                                p[s].fd = -1;
                if (p[2].fd >= 0 && (p[2].revents & POLLIN)) {
                        reap(m, ret_status, &exited);
                        if (exited) {
                                p[2].fd = -1;
                                deadline = berth_now_us() + DRAIN_MS * 1000u;
                        }
                }
        }
        reap(m, ret_status, &exited);
}

static void finish(struct monitor *m, int status)
{
        _autoerr_ struct berth_error *e = NULL;
        _autoclose_ int waiters = -EBADF;

        m->c->exit_code = berth_exit_code(status);
        if (berth_ctr_finish(m->c, m->runroot, m->lc, status, &e) < 0)
                berth_warn("%s", e->msg);
        berth_error_freep(&e);
        if (!m->c->auto_remove)
                return;
        waiters = berth_ctr_waiters_gone(m->c); /* `berth wait`s have read the exit code */
        if (berth_ctr_remove(m->c, m->runroot, false, &e) < 0)
                berth_warn("%s", e->msg);
}

static int open_log(struct monitor *m, struct berth_error **err)
{
        _autoclose_ int dfd = -EBADF;

        if (streq_ptr(m->c->log_driver, "none"))
                return 0;
        dfd = open(m->c->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dfd < 0)
                return berth_error_set(err, errno, "open %s", m->c->dir);
        return berth_log_writer_open(dfd, BERTH_CTR_LOG, (uint64_t) m->c->log_max_size,
                                     (unsigned) (m->c->log_max_file > 0 ? m->c->log_max_file : 1),
                                     &m->log, err);
}

static void monitor_clear(struct monitor *m)
{
        berth_log_writer_free(steal_ptr(&m->log));
        berth_container_free(steal_ptr(&m->lc));
        berth_ctr_free(steal_ptr(&m->c));
        berth_store_free(steal_ptr(&m->store));
        closep(&m->out[0]);
        closep(&m->out[1]);
        closep(&m->err[0]);
        closep(&m->err[1]);
        closep(&m->report_fd);
}

/* Re-executes from a read-only view of the binary (selfexe.h): the overlay view has the state
 * root as its second lower layer, so that is made first (else the whole binary would be copied
 * into a memfd for the container's life). */
static int seal(char *const *argv, const char *runroot, struct berth_error **err)
{
        _autoclose_ int fd = -EBADF;
        int r = berth_state_root_open(runroot, &fd, err);

        return r < 0 ? r : berth_exe_seal(argv, runroot, err);
}

int berth_monitor_main(char *const *argv, const char *root, const char *runroot, const char *id,
                       int report_fd)
{
        struct monitor m = {
            .runroot = runroot, .report_fd = report_fd, .out = {-1, -1}, .err = {-1, -1}};
        _autoerr_ struct berth_error *e = NULL;
        int status = -1, r;

        /* the CLI may have blocked the signals it waits for: not here */
        berth_process_reset_signals();
        /* it clones the container's init: from a read-only view of its binary (selfexe.h); the
         * re-exec keeps report_fd */
        r = seal(argv, runroot, &e);
        fcntl(report_fd, F_SETFD, FD_CLOEXEC);
        signal(SIGPIPE, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        signal(SIGINT, SIG_IGN);
        if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                berth_warn("become a child subreaper: %s, continuing", strerror(errno));
        /* even when the seal failed: the record is needed to undo the prepared container */
        if (berth_store_open(root, &m.store, r < 0 ? NULL : &e) >= 0)
                berth_ctr_lookup(m.store, id, &m.c, r < 0 ? NULL : &e);
        if (r >= 0 && !m.c)
                r = -ENOENT;
        if (r >= 0)
                r = open_log(&m, &e);
        if (r < 0) {
                if (m.c)
                        abandon(&m, BERTH_EXIT_ENGINE);
                report(&m, BERTH_EXIT_ENGINE, e->msg);
                monitor_clear(&m);
                return 1;
        }
        if (start(&m) < 0) {
                monitor_clear(&m);
                return 1;
        }
        watch(&m, &status);
        finish(&m, status);
        monitor_clear(&m);
        return 0;
}
