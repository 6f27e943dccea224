/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Process attributes applied by the container's init (and by `exec` later) just before execve:
 * rlimits, oom_score_adj, io priority, scheduler, personality, user and groups, umask,
 * capabilities, no_new_privs, cwd, and the PATH lookup of args[0].
 */

#include "error.h"
#include "spec.h"

/* setrlimit for each entry, in order. Raising a hard limit above the current one without
 * CAP_SYS_RESOURCE is an error (-EPERM) that names the rlimit, both values and the capability:
 *   rlimit RLIMIT_NOFILE: cannot raise the hard limit from 524288 to 1048576: Operation not
 *   permitted (needs CAP_SYS_RESOURCE, which this process does not have)
 * (one line). A soft limit above the hard one is -EINVAL. */
int berth_process_set_rlimits(const struct berth_process *p, struct berth_error **err);

/* oom_score_adj, ioPriority, scheduler (each only if set). Lowering oom_score_adj without
 * CAP_SYS_RESOURCE is -EACCES: "oom_score_adj: cannot lower it from 0 to -500: Permission denied
 * (needs CAP_SYS_RESOURCE, which this process does not have)". */
int berth_process_set_sched(const struct berth_process *p, struct berth_error **err);

/* linux.personality (if set). */
int berth_process_set_personality(unsigned long persona, struct berth_error **err);

/* setgroups(additionalGids) (also an empty list, to drop the runtime's groups; skipped when
 * /proc/self/setgroups is "deny", and then additionalGids is -EPERM), setresgid, setresuid, with
 * PR_SET_KEEPCAPS around the switch so the permitted set survives for berth_caps_apply(). Then
 * the umask: process.user.umask, or 0022 when unset (as runc). */
int berth_process_set_user(const struct berth_process *p, struct berth_error **err);

/* Finds args[0] in PATH from the process env (default PATH
 * "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"), as execvp would, in the
 * current root; an args[0] with a '/' is checked as is. Sets *ret_path to a malloc'ed absolute
 * path (relative ones are resolved against the cwd). Errors:
 *   -ENOENT "exec: "foo": executable file not found in $PATH" (or "exec: "./foo": No such file...")
 *   -EACCES "exec: "foo": /usr/bin/foo: Permission denied" (found, but not executable)
 *   -EISDIR "exec: "/bin": Is a directory" */
int berth_process_find_exec(const struct berth_process *p, char **ret_path,
                            struct berth_error **err);

/* apparmorProfile ("exec PROFILE" to /proc/self/attr/apparmor/exec, or /proc/self/attr/exec) and
 * selinuxLabel (/proc/self/attr/exec) for the next execve: warns ("..., ignoring") when the host
 * has no such LSM. */
int berth_process_set_lsm(const struct berth_process *p, struct berth_error **err);

/* process.env with HOME added from the container's /etc/passwd (read from "/": call it after
 * pivot_root or setns into the mount namespace) when it does not set it, "/" when the user has
 * no entry, as runc. Returns p->env itself or a new array sharing its strings (for execve). */
char **berth_process_env(const struct berth_process *p);

struct berth_seccomp_filter;
/* The process's attributes for the init and for exec, in the order they need: rlimits, sched
 * (oom_score_adj, io priority, scheduler), LSM label, seccomp (here only without no_new_privs:
 * loading needs CAP_SYS_ADMIN, so before the capability drop; with it, the caller loads the
 * filter last, right before execve), bounding set, user, capabilities, cwd, no_new_privs. */
int berth_process_apply(const struct berth_process *p, const struct berth_seccomp_filter *seccomp,
                        struct berth_error **err);

/* Default dispositions and an empty mask: what the runtime blocked or ignored must not leak into
 * the container's program. */
void berth_process_reset_signals(void);
