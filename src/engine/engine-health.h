/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Healthchecks (engine-health.c), run by the container's monitor itself: podman needs systemd
 * timers for them and leaves the status at "starting" without; dockerd runs them from its
 * daemon. Here:
 *
 *   the config   the image's HEALTHCHECK (image/manifest.h struct berth_healthcheck) merged with
 *                run's --health-* flags as docker merges them (each field the flags leave 0 is
 *                the image's; --no-healthcheck is Test ["NONE"]); the record keeps it as docker's
 *                inspect shows it, config "Healthcheck", and podman's --health-on-failure as
 *                hostConfig "HealthOnFailure".
 *   the timer    the resident watcher (engine-watch.h struct berth_watch_health): the first
 *                check one interval after the start, the next one interval after the end of the
 *                last (docker's); during the start period, while the status is "starting",
 *                every start interval (docker 25); one check at a time.
 *   one check    the health stage, `berth-monitor ROOT RUNROOT ID health ...` (berth-monitor.h),
 *                a child of the watcher that runs `berth_ctr_health_check`: the test through
 *                berth_ctr_exec (engine-exec.h) with its stdout and stderr on a pipe (the first
 *                4096 bytes kept, "..." after them when there was more: docker's), killed at the
 *                timeout ("Health check exceeded timeout (30s)", ExitCode -1); then, under
 *                berth_ctr_lock, the record re-read, the result added and the record written
 *                (so that no other writer's field is lost).
 *   the state    the record's "health" (engine.h): {"status": "starting" | "healthy" |
 *                "unhealthy", "failingStreak", "log": the last 5 {"Start", "End", "ExitCode",
 *                "Output"}}, docker's State.Health. Exit code 0 is healthy; any other is a
 *                failure, counted unless the status is still "starting" within the start
 *                period; unhealthy after `retries` failures in a row. Each change of status is
 *                a "health_status: STATUS" event. Every start sets "starting" again (the log is
 *                kept); the end sets "unhealthy", as dockerd does when it stops the checks.
 */

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "image/manifest.h"

struct berth_ctr;
struct berth_run_opts;
struct berth_watch_health;
struct json_t;

/* docker's defaults and limits (moby api/types/container) */
#define BERTH_HEALTH_INTERVAL_NS INT64_C(30000000000)
#define BERTH_HEALTH_TIMEOUT_NS INT64_C(30000000000)
#define BERTH_HEALTH_START_INTERVAL_NS INT64_C(5000000000)
#define BERTH_HEALTH_RETRIES 3
#define BERTH_HEALTH_MIN_NS INT64_C(1000000)
#define BERTH_HEALTH_LOG_MAX 5
#define BERTH_HEALTH_OUTPUT_MAX 4096

static inline void berth_healthcheck_freep(struct berth_healthcheck **h)
{
        berth_healthcheck_free(*h);
        *h = NULL;
}

/* run's flags as given (NULL: not given). */
struct berth_health_flags {
        const char *cmd; /* --health-cmd: Test ["CMD-SHELL", cmd] */
        const char *interval, *timeout, *start_period, *start_interval; /* Go durations */
        const char *retries;
        bool none;              /* --no-healthcheck */
        const char *on_failure; /* --health-on-failure */
};

/*
 * The healthcheck the flags make (*ret NULL: they set none), docker's CLI and daemon checks in
 * order: "invalid argument "1x" for "--health-interval" flag: time: unknown unit "x" in duration
 * "1x"", "--no-healthcheck conflicts with --health-* options", "--health-interval cannot be
 * negative", "Interval in Healthcheck cannot be less than 1ms"; then --health-on-failure
 * (berth_health_on_failure_check). -EINVAL.
 */
int berth_health_flags_parse(const struct berth_health_flags *f, struct berth_healthcheck **ret,
                             struct berth_error **err);

/* --health-on-failure: none, kill, restart or stop. -EINVAL: podman's "invalid on-failure action
 * "x" for health check: supported actions are none,kill,restart,stop". */
int berth_health_on_failure_check(const char *action, struct berth_error **err);

/* At create (berth_ctr_config_apply): c->healthcheck (o's merged with img's) and
 * c->health_on_failure. -EINVAL: podman's "cannot set on-failure action to kill without a health
 * check". */
int berth_ctr_health_apply(struct berth_ctr *c, const struct berth_image_config *img,
                           const struct berth_run_opts *o, struct berth_error **err);

/* Whether c has a check to run (Test CMD or CMD-SHELL). */
bool berth_ctr_has_healthcheck(const struct berth_ctr *c);

/* docker's Config.Healthcheck object (zero fields left out, as docker's omitempty). */
struct json_t *berth_healthcheck_json(const struct berth_healthcheck *h);

/* The record's fields (engine-container.c): config "Healthcheck", hostConfig "HealthOnFailure". */
void berth_ctr_health_record_json(struct json_t *record, const struct berth_ctr *c);
void berth_ctr_health_record_parse(struct berth_ctr *c, struct json_t *record);

/* Each start (the monitor's, before the record says running): "starting", failingStreak 0, the
 * log kept; nothing for a container without a check. */
void berth_ctr_health_reset(struct berth_ctr *c);
/* The end (berth_ctr_finish): a container with a health state is "unhealthy" (dockerd's, once
 * it stops the checks). */
void berth_ctr_health_end(struct berth_ctr *c);

/* The watcher's timer for c (interval_ms 0: no check). */
void berth_ctr_health_timer(const struct berth_ctr *c, struct berth_watch_health *ret);

/*
 * One check of the running container whose dir is dir (the health stage). Returns its status
 * after the check as the stage's exit code (engine-watch.h BERTH_HEALTH_EXIT_*): SKIPPED when
 * the container is paused or no longer running (nothing recorded), NONE when it has no check;
 * *ret the record as it is after the check and *ret_changed whether its status changed (both
 * untouched with NONE or SKIPPED, or on failure: -errno). The caller must run from a sealed
 * binary (runtime/selfexe.h): the check is an exec.
 */
int berth_ctr_health_check(const char *dir, const char *runroot, struct berth_ctr **ret,
                           bool *ret_changed, struct berth_error **err);

/* --health-on-failure=kill: SIGKILL to the init (a "kill" event); unlike `berth kill` it does not
 * mark the container stopped by the user: its restart policy applies. */
int berth_ctr_health_kill(struct berth_ctr *c, const char *runroot, struct berth_error **err);
