/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Process attributes applied by the container's init (and by `exec` later) just before execve:
 * rlimits, oom_score_adj, io priority, scheduler, personality, user and groups, umask,
 * capabilities, no_new_privs, cwd, and the PATH lookup of args[0].
 */

#include <sys/types.h>

#include "base/error.h"
#include "spec/spec.h"

/* setrlimit for each entry, in order. Raising a hard limit above the current one without
 * CAP_SYS_RESOURCE is an error (-EPERM) that names the rlimit, both values and the capability:
 *   rlimit RLIMIT_NOFILE: cannot raise the hard limit from 524288 to 1048576: Operation not
 *   permitted (needs CAP_SYS_RESOURCE, which this process does not have)
 * (one line). A soft limit above the hard one is -EINVAL. */
int berth_process_set_rlimits(const struct berth_process *p, struct berth_error **err);

/* ioPriority, scheduler (each only if set). */
int berth_process_set_sched(const struct berth_process *p, struct berth_error **err);

/* Writes value to /proc/PID/oom_score_adj (pid 0: the caller). Not part of setup: the file of a
 * non-dumpable process belongs to the host's root, so a process in a user namespace cannot write
 * its own; the runtime writes the init's, an exec child writes its own before it joins the
 * container. Lowering it without CAP_SYS_RESOURCE is -EACCES: "oom_score_adj: cannot lower it
 * from 0 to -500: Permission denied (needs CAP_SYS_RESOURCE, which this process does not
 * have)". */
int berth_process_set_oom_score_adj(pid_t pid, int value, struct berth_error **err);

/* process.execCPUAffinity's initial or final list ("0-3,7") for the calling process (nothing
 * when empty): an exec'd process takes the initial one before it joins the container's cgroup
 * and the final one after. -EINVAL past CPU_SETSIZE, or sched_setaffinity's errno. */
int berth_process_set_affinity(const char *cpus, const char *field, struct berth_error **err);

/* linux.personality (if set). */
int berth_process_set_personality(unsigned long persona, struct berth_error **err);

/* Makes the user the owner of fds 0-2 (not /dev/null, nor a terminal the runtime was given; the
 * group stays: runc's rule), then setgroups(additionalGids) (also an empty list, to drop the
 * runtime's groups; skipped when /proc/self/setgroups is "deny", and then additionalGids is
 * -EPERM), setresgid, setresuid, with PR_SET_KEEPCAPS around the switch so the permitted set
 * survives for berth_caps_apply(). Then the umask: process.user.umask, or 0022 when unset (as
 * runc). */
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
 * no entry, as runc; with listen_fds > 0 (socket activation), LISTEN_FDS=N and LISTEN_PID=1 in
 * place of any the config has. Returns a new array, partly sharing p->env's strings: it lives
 * until execve. */
char **berth_process_env(const struct berth_process *p, int listen_fds);

struct berth_seccomp_filter;
/*
 * Everything a process of the container gets before its program runs, in the order it needs,
 * except what only the last step may do: rlimits, io priority, scheduler, LSM label, cwd (tried
 * as root, again as the user if root was refused: runc), bounding set, user, capabilities,
 * no_new_privs. Then the caller finds the program (berth_process_find_exec), still before any
 * filter: nothing the runtime does depends on what the seccomp profile allows (a profile written
 * for an older libc lacks faccessat2, close_range or clone3). berth_process_exec() loads it. When
 * the filter must be loaded without no_new_privs, CAP_SYS_ADMIN (which the kernel then requires)
 * stays in the effective and permitted sets until then.
 */
int berth_process_setup(const struct berth_process *p, const struct berth_seccomp_filter *seccomp,
                        struct berth_error **err);

/*
 * The last steps but execve: default signal dispositions, the seccomp filter (none if NULL), the
 * final capability sets (if setup kept CAP_SYS_ADMIN for the filter). The init calls it before
 * startContainer hooks, which run under the filter as runc's and crun's do.
 */
int berth_process_confine(const struct berth_process *p, struct berth_seccomp_filter *seccomp,
                          struct berth_error **err);

/*
 * berth_process_confine(), then execve(path, p->args, env): between the filter and execve only
 * capset(2) runs. Returns only on failure, with err set ("exec "sh": ...") and -errno (-ENOENT:
 * exit 127 for the caller; else 126).
 */
int berth_process_exec(const struct berth_process *p, struct berth_seccomp_filter *seccomp,
                       const char *path, char *const *env, struct berth_error **err);

/* Default dispositions and an empty mask: what the runtime blocked or ignored must not leak into
 * the container's program. */
void berth_process_reset_signals(void);
