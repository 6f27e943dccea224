/* SPDX-License-Identifier: Apache-2.0 */
/*
 * start, the restart policy and the restore after a reboot (engine-start.h): everything that
 * starts a container that exists already. Each start writes the bundle again from the record,
 * mounts the overlay, and hands the container to a monitor (engine-monitor.h), as `run -d` does.
 */
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>

#include "base/log.h"
#include "base/syscalls.h"
#include "base/util.h"
#include "engine/engine-launch.h"
#include "engine/engine-run.h"
#include "engine/engine-start.h"
#include "engine/engine.h"
#include "image/imagestore.h"
#include "runtime/container.h"

#define _autoctr_ _cleanup_(berth_ctr_freep)

/* How often the monitor reads the record during its back-off (stop and rm -f end it), and how
 * often start looks again while an earlier monitor finishes. */
#define POLL_MS 20

/* ---- the policy ---------------------------------------------------------------------------- */

/* docker's ShouldRestart after an end (restarts: those since the last start by the user). */
static bool policy_restarts(const struct berth_ctr *c)
{
        if (!berth_ctr_has_restart_policy(c) || c->stopped_by_user)
                return false;
        if (streq(c->restart_policy, "on-failure"))
                return c->exit_code != 0 &&
                       (c->restart_max == 0 || c->restart_count < c->restart_max);
        return streq(c->restart_policy, "always") || streq(c->restart_policy, "unless-stopped");
}

/* The same when dockerd starts (its restart manager is new: no restart counted): a container
 * that has run before; always even after a stop by the user; unless-stopped unless stopped. */
static bool policy_restores(const struct berth_ctr *c)
{
        if (!berth_ctr_has_restart_policy(c) || !c->started_at)
                return false;
        if (streq(c->restart_policy, "on-failure"))
                return c->exit_code != 0;
        if (streq(c->restart_policy, "unless-stopped"))
                return !c->stopped_by_user;
        return streq(c->restart_policy, "always");
}

static bool is_up(const struct berth_ctr *c)
{
        return streq_ptr(c->status, "running") || streq_ptr(c->status, "restarting");
}

/* ---- start ------------------------------------------------------------------------------------
 */

static bool has_runtime_state(const struct berth_ctr *c, const char *runroot)
{
        _autocontainer_ struct berth_container *lc = NULL;

        return berth_container_load_any(runroot, c->id, &lc, NULL) >= 0;
}

/* Polls the pid's end for at most ms. */
static void wait_pid_ms(pid_t pid, int ms)
{
        _autoclose_ int fd = sys_pidfd_open(pid, 0);
        struct pollfd p = {.fd = fd, .events = POLLIN};

        if (fd < 0 || poll(&p, 1, ms) < 0)
                usleep((useconds_t) ms * 1000);
}

/* The record as it is now, with what came before settled: a monitor still recording an end is
 * waited for (its --rm removes the container: -ENOENT), and what a crash left (a running or
 * restarting record without its monitor, runtime state) is finished as its monitor would have. */
static int settle(struct berth_ctr **c, const char *runroot, struct berth_error **err)
{
        bool was_up;
        int r;

        for (;;) {
                struct berth_ctr *now = NULL;

                r = berth_ctr_reload(*c, &now, NULL);
                if (r < 0)
                        return berth_error_setx(err, ENOENT, "No such container: %s", (*c)->name);
                berth_ctr_free(*c);
                *c = now;
                if (!berth_ctr_monitor_alive(*c) || is_up(*c))
                        break;
                wait_pid_ms((pid_t) (*c)->monitor_pid, 100);
        }
        if (berth_ctr_monitor_alive(*c))
                return 0; /* running or restarting under its monitor */
        was_up = is_up(*c);
        berth_ctr_refresh(*c, runroot);
        if (streq_ptr((*c)->status, "running"))
                return 0; /* its process runs (a foreground run, or its monitor was killed) */
        if (was_up || has_runtime_state(*c, runroot))
                return berth_ctr_finish(*c, runroot, NULL, -1, err);
        return 0;
}

/* Undoes a start that failed before the program ran, as run does: the record says exited with
 * code (a container never started is still shown created), nothing mounted or in runroot. */
static void undo_start(struct berth_ctr *c, const char *runroot, int code)
{
        _autoerr_ struct berth_error *e = NULL;

        c->exit_code = code;
        if (berth_ctr_finish(c, runroot, NULL, -1, &e) < 0)
                berth_warn("%s", e->msg);
}

/* Fresh marks for a start by the user (docker's start resets the restart manager). */
static int reset_for_start(struct berth_ctr *c, struct berth_error **err)
{
        c->stopped_by_user = false;
        c->restarted_by_user = false;
        c->restart_count = 0;
        c->restart_delay_ms = 0;
        c->detached = true;
        return berth_ctr_save(c, err);
}

int berth_ctr_start_detached(struct berth_store *s, struct berth_ctr **c, const char *runroot,
                             const char *monitor_bin, int client_fd, struct berth_error **err)
{
        _autoclose_ int lock = -EBADF;
        struct berth_monitor_launch l = {.root = berth_store_root(s),
                                         .runroot = runroot,
                                         .monitor = monitor_bin,
                                         .client_fd = client_fd};
        int r, code = BERTH_EXIT_ENGINE;

        if (streq_ptr((*c)->status, "dead")) {
                berth_error_setx(err, EINVAL,
                                 "container is marked for removal and cannot be started");
                return BERTH_EXIT_ENGINE;
        }
        r = berth_ctr_start_lock(*c, &lock, err);
        if (r >= 0)
                r = settle(c, runroot, err);
        if (r < 0)
                return BERTH_EXIT_ENGINE;
        if (is_up(*c))
                return 0; /* docker: starting a running container is no error */
        l.id = (*c)->id;
        r = reset_for_start(*c, err);
        if (r >= 0)
                r = berth_run_prepare_again(s, *c, err);
        if (r >= 0)
                r = berth_monitor_launch(&l, &code, err);
        if (r < 0) {
                undo_start(*c, runroot, BERTH_EXIT_ENGINE);
                return BERTH_EXIT_ENGINE;
        }
        /* code != 0: the monitor has undone what it could */
        return code;
}

/* ---- the restart policy, in the monitor --------------------------------------------------- */

static int64_t parse_time_ns(const char *s)
{
        struct tm tm = {0};
        const char *p = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
        int64_t ns = 0, scale = 100000000;

        if (!p)
                return -1;
        if (*p == '.')
                for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
                        ns += (*p - '0') * scale;
        return (int64_t) timegm(&tm) * 1000000000 + ns;
}

/* docker's back-off: the delay before this restart (the run that just ended began at
 * startedAt). */
static int64_t next_delay_ms(const struct berth_ctr *c)
{
        _autofree_ char *now = berth_rfc3339_now();
        int64_t up = parse_time_ns(now) - parse_time_ns(c->started_at), d = c->restart_delay_ms;

        if (!c->started_at || up >= (int64_t) BERTH_RESTART_RESET_S * 1000000000)
                d = 0;
        if (d <= 0)
                d = BERTH_RESTART_DELAY_FIRST_MS;
        else if (d < BERTH_RESTART_DELAY_MAX_MS)
                d *= 2;
        return d > BERTH_RESTART_DELAY_MAX_MS ? BERTH_RESTART_DELAY_MAX_MS : d;
}

bool berth_ctr_restart_due(struct berth_ctr *c)
{
        c->restart_pending = policy_restarts(c);
        if (!c->restart_pending)
                return false;
        c->restart_delay_ms = next_delay_ms(c);
        c->restart_count++;
        return true;
}

/* The record says exited again (stop came during the back-off); under the lock. */
static void end_restarting(struct berth_ctr *c)
{
        _autoerr_ struct berth_error *e = NULL;

        free(c->status);
        c->status = xstrdup("exited");
        if (berth_ctr_save(c, &e) < 0)
                berth_warn("%s", e->msg);
}

/* Whether the restart goes on: the record is still there and not marked by stop/kill (then it
 * says exited again). *c re-read. */
static bool still_wanted(struct berth_ctr **c)
{
        struct berth_ctr *now = NULL;

        if (berth_ctr_reload(*c, &now, NULL) < 0)
                return false; /* removed (rm -f) */
        berth_ctr_free(*c);
        *c = now;
        return !now->stopped_by_user;
}

/* The restart is off (stop came, or rm -f): the record, if still there, says exited again. */
static void give_up(struct berth_ctr **c)
{
        _autoclose_ int lock = -EBADF;
        struct berth_ctr *now = NULL;

        if (berth_ctr_lock(*c, &lock, NULL) < 0 || berth_ctr_reload(*c, &now, NULL) < 0)
                return;
        berth_ctr_free(*c);
        *c = now;
        if (streq_ptr(now->status, "restarting"))
                end_restarting(now);
}

/* The back-off, ended early by rm -f or stop. */
static bool backoff(struct berth_ctr **c, int64_t delay_ms)
{
        struct timespec t0, t;

        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (;;) {
                int64_t left;

                clock_gettime(CLOCK_MONOTONIC, &t);
                left =
                    delay_ms - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
                if (left <= 0)
                        return true;
                usleep((useconds_t) (left < POLL_MS ? left : POLL_MS) * 1000);
                if (!still_wanted(c))
                        return false;
        }
}

int berth_ctr_restart_next(struct berth_store *s, struct berth_ctr **c, const char *runroot)
{
        _autoerr_ struct berth_error *e = NULL;
        _autoclose_ int lock = -EBADF;

        if (!streq_ptr((*c)->status, "restarting"))
                return 0; /* not due, or recorded as exited: the record could not say so */
        if (!backoff(c, (*c)->restart_delay_ms)) {
                give_up(c);
                return 0;
        }
        /* under the lock that rm -f takes to unmount and remove: nothing is mounted for a
         * container whose record is gone */
        if (berth_ctr_lock(*c, &lock, NULL) < 0 || !still_wanted(c)) {
                closep(&lock);
                give_up(c);
                return 0;
        }
        if (berth_run_prepare_again(s, *c, &e) < 0) {
                berth_warn("restart container %.12s: %s", (*c)->id, e->msg);
                berth_error_freep(&e);
                closep(&lock);
                undo_start(*c, runroot, BERTH_EXIT_ENGINE);
                return 0;
        }
        return 1;
}

/* ---- after a reboot ------------------------------------------------------------------------ */

/* A container a crash left without its monitor (running, restarting, or runtime state), finished
 * as dockerd's restore does: a process still running is killed (nobody writes its log or
 * records its end), the exit code is lost (255). --rm ones are removed (*c NULL). */
static int recover(struct berth_ctr **c, const char *runroot, struct berth_error **err)
{
        int r = 0;

        if (berth_ctr_monitor_alive(*c) || berth_ctr_starting(*c))
                return 0; /* its monitor (or a start) is at work */
        berth_ctr_refresh(*c, runroot);
        if (streq_ptr((*c)->status, "running") && !(*c)->detached)
                return 0; /* a foreground `berth run` holds it */
        if (is_up(*c) || has_runtime_state(*c, runroot)) {
                if (is_up(*c))
                        (*c)->exit_code = 255;
                r = berth_ctr_finish(*c, runroot, NULL, -1, err);
                if (r < 0)
                        return r;
        }
        if ((*c)->auto_remove && !is_up(*c)) {
                r = berth_ctr_remove(*c, runroot, true, err);
                if (r >= 0)
                        berth_ctr_freep(c);
        }
        return r;
}

static void restore_one(struct berth_store *s, struct berth_ctr **c, const char *runroot,
                        const char *monitor_bin, const struct berth_restore_ops *ops, int *failed)
{
        _autoerr_ struct berth_error *e = NULL;

        if (streq_ptr((*c)->status, "dead"))
                return;
        if (recover(c, runroot, &e) < 0) {
                (*failed)++;
                if (ops && ops->failed)
                        ops->failed(*c, e, ops->userdata);
                return;
        }
        if (!*c || is_up(*c) || berth_ctr_monitor_alive(*c) || !policy_restores(*c))
                return;
        if (berth_ctr_start_detached(s, c, runroot, monitor_bin, -1, &e) != 0) {
                (*failed)++;
                if (ops && ops->failed)
                        ops->failed(*c, e, ops->userdata);
        } else if (ops && ops->started) {
                ops->started(*c, ops->userdata);
        }
}

int berth_ctrs_restore(struct berth_store *s, const char *runroot, const char *monitor_bin,
                       const struct berth_restore_ops *ops, struct berth_error **err)
{
        struct berth_ctr **v = NULL;
        size_t n = 0;
        int failed = 0, r;

        r = berth_ctr_list(s, &v, &n, err);
        if (r < 0)
                return r;
        /* oldest first, as they were made */
        for (size_t i = n; i-- > 0;)
                restore_one(s, &v[i], runroot, monitor_bin, ops, &failed);
        berth_ctrs_free(v, n);
        return failed;
}
