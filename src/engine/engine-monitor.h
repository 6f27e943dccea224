/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The monitor of a detached container (`berth run -d`): one process per running container, as
 * podman's conmon, in a session of its own so that it outlives the CLI. It lives in three
 * stages, one process throughout (each stage execs the next, so the pid the record names, the
 * init's parenthood and the child-subreaper flag stay):
 *
 *   1. start (the `berth` binary run as "berth-monitor ... start"): creates and starts the
 *      container through libberth (the init's parent, a child subreaper), its stdout and stderr
 *      two pipes (or the pty with -t), stdin /dev/null; tells the CLI once on report_fd: "0 PID\n"
 *      once the program runs, or "CODE MESSAGE\n" (125, or 126/127 when the program cannot be
 *      executed / is not found) after undoing what the failed start left, as a foreground run;
 *   2. watch (the small `berth-monitor` binary, engine-watch.h): for the container's life, the
 *      streams into its log, reaping; the init's wait status at the end;
 *   3. finish (`berth` again, "... exited STATUS"): records the end as a foreground run does
 *      (berth_ctr_finish: OOM kill, runtime state deleted, overlay unmounted, exitCode and
 *      finishedAt), then removes the container with --rm (once `berth wait`s have read it), or,
 *      when its restart policy says so, waits the back-off and runs stage 1 again.
 *
 * It never runs inside the container, and it is the only writer of the record while the
 * container runs but for `stop`/`kill` and `rm -f`. A monitor killed with SIGKILL at any stage
 * leaves a container whose record says what it is, with a dead monitorPid: `ps` shows it as it
 * is, and `rm -f` or `stop` clean it up.
 */

#include "base/error.h"
#include "engine/engine-watch.h"

/* Stage 1 (argv: the process's own, for the re-exec of berth_exe_seal; client_fd: a client
 * attached from the start, or -1): 0 with *ret filled (its fds kept across exec; the caller
 * execs the watcher), or -1 once the failure is reported and undone. Warnings go through the log
 * handler the caller installs. */
int berth_monitor_start(char *const *argv, const char *root, const char *runroot, const char *id,
                        int report_fd, int client_fd, struct berth_watch *ret);

/* Stage 3: records the end of container id (the init's wait status, -1: lost), --rm, then its
 * restart policy (engine-start.h berth_ctr_restart_next: the back-off, the overlay mounted and
 * the bundle written again): BERTH_MONITOR_RESTART when the caller is to run stage 1 again (and
 * so on: one process for all the runs), 0 when the container stays exited or is gone. */
#define BERTH_MONITOR_RESTART 1
int berth_monitor_finish(const char *root, const char *runroot, const char *id, int wait_status);
