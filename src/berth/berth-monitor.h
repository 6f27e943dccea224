/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The monitor's command lines (engine/engine-monitor.h: its three stages, one process). argv[0]
 * is "berth-monitor" in each, then ROOT RUNROOT ID and the stage:
 *
 *   berth-monitor ROOT RUNROOT ID start MONITOR BERTH       (the berth binary; report on fd 3)
 *   berth-monitor ROOT RUNROOT ID watch MONITOR BERTH PID OUT ERR DRIVER MAXSIZE MAXFILE
 *                                                            (MONITOR: the small binary)
 *   berth-monitor ROOT RUNROOT ID exited STATUS MONITOR BERTH   (the berth binary)
 *
 * MONITOR and BERTH are the two binaries' paths, so that each stage can exec the next.
 */

enum { MON_ROOT = 1, MON_RUNROOT, MON_ID, MON_STAGE, MON_ARGS };

/* Warnings of this process to ROOT/containers/ID/monitor.log (monitor-log.c). */
void berth_monitor_log_setup(const char *root, const char *id);

/* berth's main, when run as berth-monitor (stages start and exited): the exit status. */
int berth_monitor_stage(int argc, char **argv);
