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
#include "engine/engine-attach.h"
#include "engine/engine-events.h"
#include "engine/engine-health.h"
#include "engine/engine-monitor.h"
#include "engine/engine-run.h"
#include "engine/engine-start.h"
#include "engine/engine.h"
#include "image/imagestore.h"
#include "runtime/container.h"
#include "runtime/foreground.h"
#include "runtime/process.h"
#include "runtime/selfexe.h"
#include "runtime/state.h"

struct monitor {
        struct berth_store *store;
        struct berth_ctr *c;
        const char *runroot;
        struct berth_container *lc;
        int report_fd;
        int out[2], err[2]; /* [0]: ours to read, [1]: the container's stdout / stderr */
        int in[2];          /* -i without -t: [0] the container's stdin, [1] ours to write */
        int listen_fd;      /* the attach socket (engine-attach.h) */
        int client_fd;      /* a client attached from the start (run -it), or -1 */
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

/* The container's stdio: stdin /dev/null (with -i a pipe from us), stdout and stderr the write
 * ends of our pipes (with -t the pty libberth makes takes all three). Ours are set back to
 * /dev/null once it has them, so that EOF comes when the container's processes are gone. */
static int stdio_for_container(struct monitor *m, bool tty, struct berth_error **err)
{
        _autoclose_ int null = open("/dev/null", O_RDWR | O_CLOEXEC);

        if (null < 0)
                return berth_error_set(err, errno, "open /dev/null");
        if (!tty && m->c->open_stdin && pipe2(m->in, O_CLOEXEC) < 0)
                return berth_error_set(err, errno, "pipe for the container's stdin");
        if (dup2(m->in[0] >= 0 ? m->in[0] : null, STDIN_FILENO) < 0)
                return berth_error_set(err, errno, "dup2 the container's stdin");
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
                dup2(null, STDIN_FILENO);
                dup2(null, STDOUT_FILENO);
                dup2(null, STDERR_FILENO);
                close(null);
        }
        closep(&m->in[0]);
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
        m->c->exit_code = 0;          /* docker's State.ExitCode while it runs */
        berth_ctr_health_reset(m->c); /* "starting" again, from the first ps on */
        return berth_ctr_save_keeping(m->c, err);
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

static void ignore_signals(void)
{
        signal(SIGPIPE, SIG_IGN);
        signal(SIGHUP, SIG_IGN);
        signal(SIGINT, SIG_IGN);
        if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                berth_warn("become a child subreaper: %s, continuing", strerror(errno));
}

static int start(struct monitor *m)
{
        _autoerr_ struct berth_error *e = NULL;
        int r, code;

        /* before the container exists: `attach` may come as soon as the CLI has the id */
        if (berth_attach_listen(m->c->dir, &m->listen_fd, &e) < 0) {
                berth_warn("%s: berth attach will not reach this container", e->msg);
                berth_error_freep(&e);
        }
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
        berth_event_emit(NULL, "start", m->c, NULL);
        report(m, 0, NULL);
        /* -t: the pty is stdout, stderr and stdin at once: one stream, read from its master */
        if (m->c->tty)
                m->out[0] = steal_fd(&m->lc->pty_master);
        return 0;
}

/* What the watcher needs (engine-watch.h), its fds kept across the exec to it; the strings are
 * the front end's to copy before the record is freed. */
static void handover(struct monitor *m, struct berth_watch *ret)
{
        *ret = (struct berth_watch){
            .dir = xstrdup(m->c->dir),
            .log_driver = xstrdup(m->c->log_driver ? m->c->log_driver : "k8s-file"),
            .log_max_size = m->c->log_max_size > 0 ? (uint64_t) m->c->log_max_size : 0,
            .log_max_file = m->c->log_max_file > 0 ? (unsigned) m->c->log_max_file : 1,
            .pid = m->lc->pid,
            .tty = m->c->tty,
            .out_fd = steal_fd(&m->out[0]),
            .err_fd = steal_fd(&m->err[0]),
            .in_fd = steal_fd(&m->in[1]),
            .listen_fd = steal_fd(&m->listen_fd),
            .client_fd = steal_fd(&m->client_fd)};
        berth_ctr_health_timer(m->c, &ret->health);
        int fds[] = {ret->out_fd, ret->err_fd, ret->in_fd, ret->listen_fd, ret->client_fd};

        for (size_t i = 0; i < ARRAY_SIZE(fds); i++)
                if (fds[i] >= 0)
                        fcntl(fds[i], F_SETFD, 0);
}

static void finish(struct monitor *m, int status)
{
        _autoerr_ struct berth_error *e = NULL;
        _autoclose_ int waiters = -EBADF;

        m->c->exit_code = berth_exit_code(status);
        /* its restart policy (engine-start.h): then the end is recorded as "restarting" */
        if (!m->c->auto_remove)
                berth_ctr_restart_due(m->c);
        if (berth_ctr_finish(m->c, m->runroot, m->lc, status, &e) < 0)
                berth_warn("%s", e->msg);
        berth_error_freep(&e);
        berth_ctr_emit_end(m->c);
        /* `berth restart` stops it to start it again: kept (docker's) */
        if (!m->c->auto_remove || m->c->restarted_by_user)
                return;
        waiters = berth_ctr_waiters_gone(m->c); /* `berth wait`s have read the exit code */
        if (berth_ctr_remove(m->c, m->runroot, false, &e) < 0)
                berth_warn("%s", e->msg);
}

static void monitor_clear(struct monitor *m)
{
        berth_container_free(steal_ptr(&m->lc));
        berth_ctr_free(steal_ptr(&m->c));
        berth_store_free(steal_ptr(&m->store));
        closep(&m->out[0]);
        closep(&m->out[1]);
        closep(&m->err[0]);
        closep(&m->err[1]);
        closep(&m->in[0]);
        closep(&m->in[1]);
        closep(&m->listen_fd);
        closep(&m->client_fd);
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

int berth_monitor_start(char *const *argv, const char *root, const char *runroot, const char *id,
                        int report_fd, int client_fd, struct berth_watch *ret)
{
        struct monitor m = {.runroot = runroot,
                            .report_fd = report_fd,
                            .out = {-1, -1},
                            .err = {-1, -1},
                            .in = {-1, -1},
                            .listen_fd = -1,
                            .client_fd = client_fd};
        _autoerr_ struct berth_error *e = NULL;
        int r;

        /* the CLI may have blocked the signals it waits for: not here */
        berth_process_reset_signals();
        /* it clones the container's init: from a read-only view of its binary (selfexe.h); the
         * re-exec keeps report_fd */
        r = seal(argv, runroot, &e);
        fcntl(report_fd, F_SETFD, FD_CLOEXEC);
        if (client_fd >= 0)
                fcntl(client_fd, F_SETFD, FD_CLOEXEC);
        ignore_signals();
        /* even when the seal failed: the record is needed to undo the prepared container */
        if (berth_store_open(root, &m.store, r < 0 ? NULL : &e) >= 0)
                berth_ctr_lookup(m.store, id, &m.c, r < 0 ? NULL : &e);
        if (r >= 0 && !m.c)
                r = -ENOENT;
        if (r < 0) {
                if (m.c)
                        abandon(&m, BERTH_EXIT_ENGINE);
                report(&m, BERTH_EXIT_ENGINE, e->msg);
                monitor_clear(&m);
                return -1;
        }
        if (start(&m) < 0) {
                monitor_clear(&m);
                return -1;
        }
        handover(&m, ret);
        monitor_clear(&m);
        return 0;
}

int berth_monitor_finish(const char *root, const char *runroot, const char *id, int wait_status)
{
        struct monitor m = {.runroot = runroot,
                            .report_fd = -1,
                            .out = {-1, -1},
                            .err = {-1, -1},
                            .in = {-1, -1},
                            .listen_fd = -1,
                            .client_fd = -1};
        _autoerr_ struct berth_error *e = NULL;
        int r;

        ignore_signals();
        r = berth_store_open(root, &m.store, &e);
        if (r >= 0)
                r = berth_ctr_lookup(m.store, id, &m.c, &e);
        if (r < 0) {
                berth_warn("record the end of container %s: %s", id, e->msg);
                monitor_clear(&m);
                return r;
        }
        (void) berth_container_load(runroot, id, &m.lc, NULL);
        finish(&m, wait_status);
        berth_container_free(steal_ptr(&m.lc));
        r = m.c->restart_pending ? berth_ctr_restart_next(m.store, &m.c, runroot) : 0;
        monitor_clear(&m);
        return r > 0 ? BERTH_MONITOR_RESTART : 0;
}
