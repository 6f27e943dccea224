/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * `berth exec` and `berth top` of the engine's running containers (engine-exec.c).
 *
 * exec runs a process in a running container through libberth's runtime exec (runtime/exec.h:
 * the container's namespaces and cgroup, its seccomp filter, capabilities, no_new_privs, born
 * non-dumpable, the runtime's fds closed), starting from the process of the container's
 * config.json (bundle/config.json) as docker starts from the container's spec:
 *
 *   args       CMD [ARG...]
 *   env        docker's daemon environment again (PATH, HOSTNAME, TERM=xterm with -t only),
 *              the container's Env, then the exec's -e / --env-file
 *   user       -u USER[:GROUP] resolved in the container's /etc/passwd and /etc/group; else
 *              the container's
 *   cwd        -w DIR (absolute); else the container's
 *   caps       the container's bounding set; effective and permitted for root only (as run);
 *              --privileged: every capability berth itself holds, in all three
 *
 * In the foreground the caller's stdio are the process's (stdin /dev/null without -i), or with
 * -t a pty relayed to them (raw mode when stdin is a terminal and -i, the window size following
 * SIGWINCH); signals are forwarded. Detached (-d), a keeper process of berth's, in a session of
 * its own with /dev/null as stdio, starts it, reports, and stays its parent until it exits, so
 * that it is reaped at once (docker's shim, podman's conmon): an exited exec process must never
 * be a zombie, least of all while its container stops (the kernel holds the container's init
 * until every process of its pid namespace is reaped).
 */

#include <stdbool.h>
#include <sys/types.h>

#include "base/error.h"
#include "engine/engine.h"

/* What `berth exec` was given. */
struct berth_exec_config {
        char *const *args; /* CMD [ARG...]: non-empty */
        /* --env-file lines (berth_env_file_read) then -e values: K=V replaces or adds K; a
         * bare K takes K's value from envp, and removes K when envp has none (docker) */
        char *const *env;
        char *const *envp; /* may be NULL */
        const char *user;  /* -u USER[:GROUP]; NULL: the container's */
        const char *workdir;
        bool tty, interactive, detach, privileged;
};

/*
 * Runs o->args in the running container c (runroot: libberth's state root). Returns 0 with
 * *ret_code the process's exit code (128+n when killed by signal n; 0 once it runs with
 * o->detach), or -errno with *ret_code docker's exit code for the failure:
 *   1    "container ID is not running" (-ESRCH, also when it stops while exec starts the
 *        process), "container ID is paused, unpause the container before exec" (-EBUSY)
 *   126  the process could not be started: a user or group that is not in the container
 *        (-ENOENT "unable to find user x: ..."), a relative -w, a cwd that cannot be
 *        entered, a program that cannot be executed
 *   127  the program was not found (-ENOEXEC "exec: "x": executable file not found in $PATH")
 *   125  anything else (berth itself failed)
 * The caller must run from a sealed binary (runtime/selfexe.h). Without o->interactive our
 * stdin is replaced by /dev/null.
 */
int berth_ctr_exec(struct berth_ctr *c, const char *runroot, const struct berth_exec_config *o,
                   int *ret_code, struct berth_error **err);

/*
 * docker's --env-file: one K=V per line (the value as it is, spaces kept), leading whitespace
 * dropped, blank lines and lines starting with '#' skipped, a UTF-8 BOM at the start dropped;
 * a bare K takes its value from envp and is left out when envp has none. Appends to *env
 * (n_env entries). -EINVAL (docker's messages): "invalid env file (F): variable 'a b' contains
 * whitespaces", "... no variable name on line '=x'", "env file F contains invalid utf8 bytes at
 * line N"; other errors open/read F.
 */
int berth_env_file_read(const char *path, char *const *envp, char ***env, size_t *n_env,
                        struct berth_error **err);

/* The host pids of the processes of running container c, sorted (docker top's list).
 * -ESRCH: "container ID is not running". */
int berth_ctr_pids(struct berth_ctr *c, const char *runroot, pid_t **ret, size_t *ret_n,
                   struct berth_error **err);
