/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * `exec`: a new process in a running (or created) container. It is cloned by the runtime into
 * the container's pid namespace (and, on cgroup v2, straight into its cgroup), joins every other
 * namespace of the container's init at once through the init's pidfd (setns(2), Linux 5.8: the
 * user namespace first, as the kernel orders them), and takes on the process's attributes the way
 * the init did: terminal, rlimits, scheduling, LSM label, seccomp, capabilities, user, cwd,
 * no_new_privs. Like the init, it is a clone of the runtime, never a re-exec of
 * /proc/self/exe.
 */

#include <stdbool.h>
#include <sys/types.h>

#include "runtime/container.h"
#include "base/error.h"
#include "spec/spec.h"

struct berth_exec_opts {
        const char *console_socket; /* send the pty master here (process.terminal) */
        const char *pid_file;       /* the new process's host pid */
        int preserve_fds;           /* pass fds 3 .. 3+N-1 */
        bool ignore_paused;         /* exec into a frozen container (the process starts frozen) */
        bool foreground_tty;        /* return the pty master (terminal, no console socket) */
        /* exec --cgroup: sub-cgroups of the container's to run in, runc's "SUB" or "CTRL:SUB"
         * (berth_cgroup_select_sub); NULL: the container's cgroup */
        const char *const *sub_cgroups;
};

struct berth_exec_result {
        pid_t pid;
        int pidfd;      /* the caller closes it */
        int pty_master; /* -1 unless foreground_tty and the process has a terminal */
};

/*
 * Runs p in container c (p is not kept). Returns once the process has called execve (or failed
 * to: the error is its, with exit code 127 "not found" / 126 in ret_exec_failure when that is the
 * reason, else 0). Errors (runc's words): "cannot exec in a stopped container", "cannot exec in
 * a paused container (resume it, or use --ignore-paused to override)".
 */
int berth_container_exec(struct berth_container *c, const struct berth_process *p,
                         const struct berth_exec_opts *o, struct berth_exec_result *ret,
                         int *ret_exec_failure, struct berth_error **err);

/* The container's config.json process (for inline exec, which starts from it, as runc). The
 * caller clears and frees ret with berth_spec_free. */
int berth_container_spec(const struct berth_container *c, struct berth_spec **ret,
                         struct berth_error **err);
