/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * A container's life beyond `run` (engine-start.c): `create` leaves a record and nothing else
 * (no mount, no process: a reboot leaves it as valid as it was); `start` mounts its overlay,
 * writes its bundle again from the record (so that what changed since, a rename, is taken) and
 * hands it to a monitor, as `run -d` does; the restart policy, carried out by the monitor
 * between two runs of the container (docker's rules and back-off); and what a crash or a reboot
 * leaves, finished and started again as dockerd does when it starts.
 *
 * The record's fields (engine.h): hostConfig "RestartPolicy" {"Name", "MaximumRetryCount"},
 * state "restartCount", "stoppedByUser" (set by stop/kill before they signal, cleared by start),
 * "restartedByUser" (set by restart: its --rm is not applied on the way), "restartDelayMs" (the
 * monitor's back-off, kept across its stages), status "restarting" during the back-off.
 */

#include <stdbool.h>

#include "base/error.h"
#include "engine/engine-launch.h"

struct berth_store;
struct berth_ctr;

/* docker's back-off: 100 ms, doubled at each restart, at most a minute; back to 100 ms once a
 * run lasted 10 s. */
#define BERTH_RESTART_DELAY_FIRST_MS 100
#define BERTH_RESTART_DELAY_MAX_MS 60000
#define BERTH_RESTART_RESET_S 10

/*
 * docker's start of an existing container (created or exited): the record re-read, an old
 * monitor still recording an end awaited, a crash's leftovers finished (runtime state, mount),
 * then the overlay mounted, the bundle written from the record and a monitor started
 * (engine-launch.h berth_monitor_launch) under its start lock (two starts of one container:
 * the second finds it running). A running or restarting container is left as it is (no error,
 * docker's). *c is re-read. Returns the monitor's report: 0 once the program runs, else
 * 125/126/127 with *err set (the failure undone: the record says exited with that code, and
 * nothing is mounted or left in runroot); a dead container (a dir without record) is 125.
 * client_fd: an attach client handed to the monitor before the container starts (start -a), or
 * -1.
 */
int berth_ctr_start_detached(struct berth_store *s, struct berth_ctr **c, const char *runroot,
                             const char *monitor_bin, int client_fd, struct berth_error **err);

/*
 * The monitor's restart policy at the end of a run (the finish stage, engine-monitor.c), c being
 * the record read after the end and c->exit_code the run's: docker's ShouldRestart (always;
 * unless-stopped; on-failure with a non-zero exit code while restartCount < N; never after
 * stop/kill: "stoppedByUser"). When it restarts: c->restart_pending (berth_ctr_finish then
 * records the end as "restarting", in one write), restartCount + 1 and the back-off's delay
 * (docker's: 100 ms, doubled, at most a minute, back to 100 ms after a run of 10 s).
 */
bool berth_ctr_restart_due(struct berth_ctr *c);

/*
 * Then, once berth_ctr_finish recorded "restarting": the back-off, which ends early when the
 * record is removed (rm -f) or marked stoppedByUser (stop: the record says exited again); then,
 * under berth_ctr_lock, the overlay is mounted and the bundle written again. Returns 1 when the
 * caller is to run the monitor's start stage again, 0 when the container stays exited or is gone.
 */
int berth_ctr_restart_next(struct berth_store *s, struct berth_ctr **c, const char *runroot);

/* What to do with each container after a reboot or a crash (berth_ctrs_restore). */
struct berth_restore_ops {
        /* a container started again (name), or one that could not be (e the failure) */
        void (*started)(const struct berth_ctr *c, void *userdata);
        void (*failed)(const struct berth_ctr *c, const struct berth_error *e, void *userdata);
        void *userdata;
};

/*
 * `berth start --all-restart`, what dockerd does when it starts: every container that a crash
 * or a reboot left "running" or "restarting" without its monitor is finished first (its process
 * killed if it still runs, runtime state deleted, overlay unmounted, exit code 255 as docker's);
 * --rm ones that are not running are removed; then every container that has run before and
 * whose policy says so is started under a monitor: always; unless-stopped unless stopped by the
 * user; on-failure when its last exit code is not 0 (a crash's 255 included). Returns the number
 * that failed (each reported through ops), or -errno when the containers cannot be listed.
 */
int berth_ctrs_restore(struct berth_store *s, const char *runroot, const char *monitor_bin,
                       const struct berth_restore_ops *ops, struct berth_error **err);
