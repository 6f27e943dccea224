/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Process attributes applied by the container's init (and by `exec` later) just before execve:
 * rlimits, oom_score_adj, io priority, scheduler, personality, user and groups, umask,
 * capabilities, no_new_privs, cwd, and the PATH lookup of args[0].
 */

#include "error.h"
#include "spec.h"

/* setrlimit for each entry. An rlimit above the current hard limit is an error that names the
 * rlimit, both values and the missing capability:
 *   rlimit RLIMIT_NOFILE: cannot raise hard limit to 1048576 above the current 524288 without CAP_SYS_RESOURCE */
int berth_process_set_rlimits(const struct berth_process *p, struct berth_error **err);

/* oom_score_adj, ioPriority, scheduler (each only if set). */
int berth_process_set_sched(const struct berth_process *p, struct berth_error **err);

/* linux.personality (if set). */
int berth_process_set_personality(unsigned long persona, struct berth_error **err);

/* setgroups(additionalGids) (when setgroups is allowed), setresgid, setresuid, with
 * PR_SET_KEEPCAPS around it so the caps survive for berth_caps_apply(). */
int berth_process_set_user(const struct berth_process *p, struct berth_error **err);

/* Finds args[0] in PATH from the process env (as execvp would, in the current root). Sets
 * *ret_path to a malloc'ed absolute path. -ENOENT: "exec: "foo": executable file not found in
 * $PATH"; -EACCES: permission denied. */
int berth_process_find_exec(const struct berth_process *p, char **ret_path, struct berth_error **err);

/* apparmorProfile / selinuxLabel: warns ("..., ignoring") when the host has no such LSM. */
int berth_process_set_lsm(const struct berth_process *p, struct berth_error **err);
