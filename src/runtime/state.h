/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The state directory of one container, <root>/<id>/ (mode 0711 so a container's mapped root can
 * still open exec.fifo):
 *   state.json   written by create (atomic rename), read by every other command
 *   recovery     pid, start time, cgroup and bundle in plain lines, written before each
 *                state.json: what kill, delete --force and list fall back on if it is damaged
 *   exec.fifo    the create/start handshake; its absence means start already happened
 *   exec.status  the init's answer to start: an error message, or EOF when its execve closed
 *                the (close-on-exec) end it holds
 * Commands that change a container hold an exclusive flock on the directory.
 */

#include <stdbool.h>
#include <sys/types.h>

#include "runtime/container.h"
#include "base/error.h"

#define BERTH_STATE_FILE "state.json"
#define BERTH_RECOVERY_FILE "recovery"
#define BERTH_EXEC_FIFO "exec.fifo"
#define BERTH_EXEC_STATUS "exec.status"
/* A state.json above this is damaged (its annotations and hooks are far smaller). */
#define BERTH_STATE_MAX (4u << 20)

/* mkdir -p root (0711) and open it O_PATH|O_DIRECTORY. */
int berth_state_root_open(const char *root, int *ret_fd, struct berth_error **err);

/* Creates <root>/<id> exclusively; -EEXIST: container "id" already exists. */
int berth_state_dir_create(int rootfd, const char *id, int *ret_fd, struct berth_error **err);

/* Removes <root>/<id> and everything in it (it only ever holds plain files and the fifo). */
int berth_state_dir_remove(int rootfd, const char *id, struct berth_error **err);

/* Writes c's persistent fields to state.json. */
int berth_state_save(const struct berth_container *c, struct berth_error **err);

/*
 * Reads state.json into c. A missing file leaves pid 0 (a create that died half-way) with what
 * the recovery record says, if there is one. A damaged one (not a regular file, empty, larger
 * than BERTH_STATE_MAX, not JSON, or without a valid id, pid or pidStart) is -EBADMSG, with c
 * partly filled:
 *   container "x": state file /run/berth-oci/x/state.json is damaged: empty (list, kill and
 *   delete --force still work)
 */
int berth_state_read(struct berth_container *c, struct berth_error **err);

/* Reads the recovery record (pid, start time, cgroup path, bundle; written before each
 * state.json) into c. -ENOENT if there is none, -EBADMSG if it is damaged too (c untouched). */
int berth_state_read_recovery(struct berth_container *c);

/* starttime of pid from /proc/PID/stat (field 22); -ESRCH if gone. *ret_zombie when state Z/X. */
int berth_proc_starttime(pid_t pid, unsigned long long *ret, bool *ret_zombie);

/* Recomputes c->status from the kernel: the init's pid and start time, and the exec fifo. */
void berth_state_refresh(struct berth_container *c);

/* Takes an exclusive flock on the state dir (blocking). */
int berth_state_lock(const struct berth_container *c, struct berth_error **err);
void berth_state_unlock(const struct berth_container *c);

/* Whether path can be a --pid-file: its directory exists and what is there is a regular file or
 * nothing. Anything else (a FIFO would block the write, a device must never be replaced) is
 * -EEXIST: --pid-file "/run/x": a FIFO is there, not a regular file (File exists): refusing ...
 * create and exec call it before they make anything. */
int berth_pid_file_check(const char *path, struct berth_error **err);

/* Writes pid to path (--pid-file), atomically (a temporary file renamed over it): a reader never
 * sees a partial number. Refuses what berth_pid_file_check() refuses, without writing. */
int berth_pid_file_write(const char *path, pid_t pid, struct berth_error **err);
