/* SPDX-License-Identifier: Apache-2.0 */
/*
 * stop, kill and wait of the engine's containers: signals through libberth's runtime state, the
 * wait through the process that records the end (the monitor of a detached container, the
 * `berth run` of a foreground one), or, when that process is gone, by finishing the record here.
 */
#include <poll.h>
#include <signal.h>

#include "base/signal.h"
#include "base/syscalls.h"
#include "base/util.h"
#include "engine/engine-events.h"
#include "engine/engine-launch.h"
#include "engine/engine.h"
#include "runtime/container.h"
#include "runtime/state.h"

/* How often the record is read again while waiting for its end to be recorded. */
#define RECORD_POLL_MS 20

/* Running, or being started (a container only created is not). */
static bool is_running(const struct berth_ctr *c)
{
        return streq_ptr(c->status, "running") || berth_ctr_starting(c);
}

/* The same, or between two runs under its restart policy (engine-start.h). */
static bool is_up(const struct berth_ctr *c)
{
        return is_running(c) || streq_ptr(c->status, "restarting");
}

/* sig to the init (all: to every process), as a "kill" event; a paused container is thawed
 * after it, as docker does, so that the signal is delivered (and a SIGKILL kills). */
static int kill_thaw(struct berth_ctr *c, struct berth_container *lc, int sig, bool all,
                     struct berth_error **err)
{
        char num[16];
        int r;

        r = berth_container_kill(lc, sig, all, err);
        if (r < 0)
                return r;
        snprintf(num, sizeof(num), "%d", sig);
        berth_event_emit(NULL, "kill", c, (const char *const[]){"signal", num, NULL});
        if (c->paused && berth_container_resume(lc, NULL) >= 0) {
                c->paused = false;
                berth_event_emit(NULL, "unpause", c, NULL); /* docker's, at its thaw */
        }
        /* resume keeps the state lock of lc: the one who records the end needs it */
        berth_state_unlock(lc);
        return r;
}

void berth_ctr_stop_defaults(const struct berth_ctr *c, int *ret_sig, int *ret_timeout_s)
{
        int sig = 0;

        if (!c->stop_signal || berth_signal_parse(c->stop_signal, &sig, NULL) < 0 || sig == 0)
                sig = SIGTERM;
        *ret_sig = sig;
        *ret_timeout_s = c->has_stop_timeout ? c->stop_timeout : BERTH_STOP_TIMEOUT_DEFAULT;
}

int berth_ctr_kill(struct berth_ctr *c, const char *runroot, int sig, bool all,
                   struct berth_error **err)
{
        _autocontainer_ struct berth_container *lc = NULL;
        int r;

        berth_ctr_refresh(c, runroot);
        if (streq_ptr(c->status, "restarting")) {
                berth_ctr_mark_stopped(c); /* docker: its monitor gives up at its next step */
                return 0;
        }
        if (!streq_ptr(c->status, "running"))
                return berth_error_setx(err, EINVAL, "container %s is not running", c->id);
        berth_ctr_mark_stopped(c); /* before the signal: the end it brings is not restarted */
        r = berth_container_load(runroot, c->id, &lc, err);
        if (r >= 0)
                r = kill_thaw(c, lc, sig, all, err);
        return r;
}

/* Polls fd (a pidfd) for at most timeout_ms (< 0: no limit): true once readable. */
static bool wait_fd(int fd, int timeout_ms)
{
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r;

        do
                r = poll(&p, 1, timeout_ms);
        while (r < 0 && errno == EINTR);
        return r > 0;
}

/* A detached container whose monitor died before it could record the end: what the monitor
 * would have undone (runtime state, overlay) is undone here; the exit code stays lost (255). */
static int orphan_finish(struct berth_ctr *c, const char *runroot, struct berth_error **err)
{
        _autocontainer_ struct berth_container *lc = NULL;

        if (!c->detached || berth_ctr_monitor_alive(c) ||
            berth_container_load(runroot, c->id, &lc, NULL) < 0)
                return 0; /* recorded and undone by its monitor */
        return berth_ctr_finish(c, runroot, lc, -1, err);
}

/* Re-reads the record until it records an end (no longer running, or counted by its restart
 * policy: restartCount moved), while whoever records the end lives (poll: its monitor waits for
 * us to have read a --rm container's end, or it would wait for its exit; a monitor that restarts
 * the container does not exit). With nobody left to record it, the end is recorded here (as
 * berth_ctr_refresh does). */
static int wait_recorded(struct berth_ctr **c, const char *runroot, struct berth_store *s,
                         bool poll, struct berth_error **err)
{
        int runs = (*c)->restart_count;

        for (;;) {
                _autoclose_ int pidfd = -EBADF;
                struct berth_ctr *fresh = NULL;
                int r;

                if (!poll && (*c)->monitor_pid > 0 && berth_ctr_monitor_alive(*c))
                        pidfd = sys_pidfd_open((pid_t) (*c)->monitor_pid, 0);
                if (pidfd >= 0)
                        wait_fd(pidfd, berth_ctr_has_restart_policy(*c) ? RECORD_POLL_MS : -1);
                else
                        usleep(RECORD_POLL_MS * 1000);
                r = berth_ctr_lookup(s, (*c)->id, &fresh, err);
                if (r < 0)
                        return r; /* removed meanwhile (--rm): -ENOENT */
                berth_ctr_free(*c);
                *c = fresh;
                berth_ctr_refresh(*c, runroot);
                if (!is_up(*c) || (*c)->restart_count != runs)
                        return orphan_finish(*c, runroot, err);
        }
}

void berth_ctr_wait_monitor(const struct berth_ctr *c)
{
        _autoclose_ int pidfd = -EBADF;

        if (c->monitor_pid > 0 && berth_ctr_monitor_alive(c))
                pidfd = sys_pidfd_open((pid_t) c->monitor_pid, 0);
        if (pidfd >= 0)
                wait_fd(pidfd, -1);
}

/* A --rm container's end is read under berth_ctr_waiter_hold: the record as it is now. */
static int hold_record(struct berth_store *s, struct berth_ctr **c, int *ret_fd,
                       struct berth_error **err)
{
        struct berth_ctr *fresh = NULL;
        int fd = berth_ctr_waiter_hold(*c), r;

        if (fd < 0)
                return berth_error_setx(err, ENOENT, "no such container: %s", (*c)->id);
        r = berth_ctr_lookup(s, (*c)->id, &fresh, err);
        if (r < 0) {
                close(fd);
                return r;
        }
        berth_ctr_free(*c);
        *c = fresh;
        *ret_fd = fd;
        return 0;
}

int berth_ctr_wait(struct berth_store *s, struct berth_ctr **c, const char *runroot,
                   struct berth_error **err)
{
        _autocontainer_ struct berth_container *lc = NULL;
        _autoclose_ int hold = -EBADF;

        if ((*c)->auto_remove && (*c)->detached && hold_record(s, c, &hold, err) < 0)
                return -ENOENT;
        berth_ctr_refresh(*c, runroot);
        if (!is_up(*c))
                return 0;
        /* the init first: then the one who records the end has little left to do */
        if (berth_container_load(runroot, (*c)->id, &lc, NULL) >= 0 &&
            berth_container_pidfd(lc, NULL) >= 0)
                wait_fd(lc->pidfd, -1);
        return wait_recorded(c, runroot, s, hold >= 0, err);
}

/* While the container is being started, or restarting (its monitor in the back-off, which our
 * mark ends: engine-start.h), the record is read again until that is over. -ENOENT: removed. */
static int settled(struct berth_ctr **c, const char *runroot, struct berth_error **err)
{
        while (berth_ctr_starting(*c) ||
               (streq_ptr((*c)->status, "restarting") && berth_ctr_monitor_alive(*c))) {
                struct berth_ctr *fresh = NULL;
                int r;

                usleep(RECORD_POLL_MS * 1000);
                r = berth_ctr_reload(*c, &fresh, NULL);
                if (r < 0)
                        return berth_error_setx(err, ENOENT, "no such container: %s", (*c)->id);
                berth_ctr_free(*c);
                *c = fresh;
        }
        berth_ctr_refresh(*c, runroot);
        return 0;
}

static int stop_once(struct berth_store *s, struct berth_ctr **c, const char *runroot, int sig,
                     int timeout_s, struct berth_error **err)
{
        _autocontainer_ struct berth_container *lc = NULL;
        int r;

        berth_ctr_refresh(*c, runroot);
        if (is_up(*c))
                berth_ctr_mark_stopped(*c); /* before the signal: its end is not restarted */
        r = settled(c, runroot, err);
        if (r < 0)
                return r;
        if (!is_running(*c))
                return 0; /* docker: stopping a stopped container is no error */
        r = berth_container_load(runroot, (*c)->id, &lc, err);
        if (r >= 0)
                r = berth_container_pidfd(lc, err);
        if (r < 0)
                return r == -ESRCH || r == -ENOENT ? wait_recorded(c, runroot, s, false, err) : r;
        if (timeout_s != 0 && kill_thaw(*c, lc, sig, false, NULL) >= 0 &&
            wait_fd(lc->pidfd, timeout_s < 0 ? -1 : timeout_s * 1000))
                return wait_recorded(c, runroot, s, false, err);
        /* docker's stop: SIGKILL once the timeout is over, to every process of it */
        r = kill_thaw(*c, lc, SIGKILL, true, err);
        if (r < 0 && r != -ESRCH)
                return r;
        wait_fd(lc->pidfd, -1);
        return wait_recorded(c, runroot, s, false, err);
}

static int stop_wait(struct berth_store *s, struct berth_ctr **c, const char *runroot, int sig,
                     int timeout_s, struct berth_error **err)
{
        for (int i = 0;; i++) {
                int r = stop_once(s, c, runroot, sig, timeout_s, err);

                /* its monitor started it again after all: our mark came between its read of the
                 * record and its write; once more */
                if (r < 0 || !is_up(*c) || i == 3)
                        return r;
        }
}

int berth_ctr_stop(struct berth_store *s, struct berth_ctr **c, const char *runroot, int sig,
                   int timeout_s, struct berth_error **err)
{
        bool was_running;
        int r;

        berth_ctr_refresh(*c, runroot);
        was_running = is_up(*c);
        r = stop_wait(s, c, runroot, sig, timeout_s, err);
        /* docker's "stop" event once the end is recorded (*c is the record as it is then) */
        if (was_running && (r >= 0 || (r == -ENOENT && *c)))
                berth_event_emit(NULL, "stop", *c, NULL);
        return r;
}
