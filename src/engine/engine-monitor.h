/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The monitor of a detached container (`berth run -d`): berth-monitor, one small process per
 * running container, as podman's conmon. The CLI prepares the container (record, overlay,
 * bundle) and starts the monitor in a session of its own, so that it outlives the CLI; the
 * monitor then
 *
 *   - creates and starts the container through libberth: it is the init's parent, and a child
 *     subreaper, so what the container leaves behind is reparented to it and reaped;
 *   - holds the container's stdout and stderr (two pipes, or the pty with -t) and writes what
 *     comes to the container's log (ctr-log.h), stdin being /dev/null;
 *   - tells the CLI once, on report_fd: "0 PID\n" once the program runs, or "CODE MESSAGE\n"
 *     (125, or 126/127 when the program cannot be executed / is not found) after undoing what
 *     the failed start left (as a foreground run does), then exits;
 *   - waits for the init, and records the end as a foreground run does (berth_ctr_finish: OOM
 *     kill, runtime state deleted, overlay unmounted, exitCode and finishedAt), then removes the
 *     container with --rm.
 *
 * It never runs inside the container, and it is the only writer of the record while the
 * container runs but for `stop`/`kill` (which set stoppedByUser first) and `rm -f`. A monitor
 * killed with SIGKILL leaves a running container whose record still says running, with a dead
 * monitorPid: `ps` shows it as it is, and `rm -f` or `stop` clean it up.
 */

#include "base/error.h"

/* The monitor's body (berth-monitor's main, argv its own, for the re-exec of berth_exe_seal):
 * the exit status. Its own warnings go through the log handler the caller installs. */
int berth_monitor_main(char *const *argv, const char *root, const char *runroot, const char *id,
                       int report_fd);
