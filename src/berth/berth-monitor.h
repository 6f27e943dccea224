/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The monitor's command lines (engine/engine-monitor.h: its three stages, one process). argv[0]
 * is "berth-monitor" in each, then ROOT RUNROOT ID and the stage:
 *
 *   berth-monitor ROOT RUNROOT ID start MONITOR BERTH CLIENT
 *           (the berth binary; report on fd 3; CLIENT: "4", an attach client on fd 4, or "-")
 *   berth-monitor ROOT RUNROOT ID watch MONITOR BERTH PID OUT ERR DRIVER MAXSIZE MAXFILE
 *                                       TTY IN LISTEN CLIENT HEALTH
 *           (MONITOR: the small binary; OUT ERR IN LISTEN CLIENT: fds or -1; TTY: 0 or 1;
 *            HEALTH: the healthcheck's timer, "INTERVAL_MS,START_PERIOD_MS,START_INTERVAL_MS",
 *            or "-": none)
 *   berth-monitor ROOT RUNROOT ID exited STATUS MONITOR BERTH
 *           (the berth binary; when the restart policy says so, it then runs the start stage
 *            again in the same process, CLIENT "-", its report on fd 3 going to /dev/null)
 *   berth-monitor ROOT RUNROOT ID health MONITOR BERTH
 *           (the berth binary, run by the watcher as its child for each healthcheck:
 *            engine/engine-health.h; its exit code is the status, engine-watch.h)
 *
 * MONITOR and BERTH are the two binaries' paths, so that each stage can exec the next.
 */

enum { MON_ROOT = 1, MON_RUNROOT, MON_ID, MON_STAGE, MON_ARGS };

/* Warnings of this process to ROOT/containers/ID/monitor.log (monitor-log.c). */
void berth_monitor_log_setup(const char *root, const char *id);

/* berth's main, when run as berth-monitor (stages start, exited and health): the exit status. */
int berth_monitor_stage(int argc, char **argv);

/* The health stage (monitor-health.c): one check, then --health-on-failure when it made the
 * container unhealthy; the exit code for the watcher (engine-watch.h BERTH_HEALTH_EXIT_*). */
int berth_monitor_health(char **argv);
