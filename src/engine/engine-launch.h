/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Starting a container under its monitor (engine-launch.c), for `run -d`, `start` and the
 * monitor's own restarts (engine-start.h): the monitor spawned and its report read, the
 * per-container start lock, the restart policy's syntax, and the marks that stop, kill and
 * restart leave in the record for the monitor.
 */

#include <stdbool.h>

#include "base/error.h"

struct berth_ctr;

/* Starting a container under its monitor (the start stage reports on a pipe: "0 PID" once the
 * program runs, or "CODE MESSAGE" once the failure is undone). */
struct berth_monitor_launch {
        const char *root, *runroot, *id;
        const char *monitor; /* the berth-monitor binary (the watch stage) */
        int client_fd;       /* a client attached from the start (engine-attach.h), or -1 */
};

/*
 * Spawns the monitor (double fork, a session of its own: it outlives the caller) and reads its
 * report: 0 with *ret_code 0 (the program runs) or its code (125/126/127, *err the message; the
 * monitor has undone the start); < 0 when it could not be spawned or ended without a report
 * (nothing undone: the caller's to undo).
 */
int berth_monitor_launch(const struct berth_monitor_launch *l, int *ret_code,
                         struct berth_error **err);

/* <dir>/start.lock, exclusive, held by whoever starts the container (run from the record's
 * creation until the program runs, start): a second start waits, then finds it running.
 * -ENOENT: "No such container: NAME". */
int berth_ctr_start_lock(const struct berth_ctr *c, int *ret_fd, struct berth_error **err);

/* Whether a "created" container is being started right now (its start lock is held): stop and
 * wait wait for it; one that was only created is not running. */
bool berth_ctr_starting(const struct berth_ctr *c);

/*
 * --restart no|always|unless-stopped|on-failure[:N]: *ret_name (malloc'ed, "no" for "" too) and
 * *ret_max (on-failure's N; 0: no limit). -EINVAL with docker's messages: "invalid restart
 * policy format: maximum retry count must be an integer", "invalid restart policy: maximum
 * retry count can only be used with 'on-failure'", "... cannot be negative", "invalid restart
 * policy: unknown policy 'x'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'".
 */
int berth_restart_policy_parse(const char *s, char **ret_name, int *ret_max,
                               struct berth_error **err);

/* Whether c has a restart policy (other than "no"). */
bool berth_ctr_has_restart_policy(const struct berth_ctr *c);

/*
 * Marks the record "stoppedByUser" (re-read and rewritten under berth_ctr_lock), so that the
 * end that follows is not restarted, as docker's stop and kill do; nothing for a container
 * without a restart policy. Failures are ignored: the signal matters more.
 */
void berth_ctr_mark_stopped(struct berth_ctr *c);

/* Marks the record "restartedByUser" (`berth restart`): the end that follows is kept even with
 * --rm, so that it can be started again. */
void berth_ctr_mark_restarted(struct berth_ctr *c);
