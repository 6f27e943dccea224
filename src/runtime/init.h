/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "runtime/container.h"
#include "runtime/ns.h"
#include "runtime/rootfs.h"
#include "runtime/seccomp.h"
#include "spec/spec.h"

/* Everything the container's init needs; prepared by create before clone and inherited by the
 * init as a copy of the parent's memory (clone3 without CLONE_VM, like fork). */
struct init_ctx {
        const struct berth_spec *spec;
        const struct berth_create_opts *opts;
        const struct berth_container *c;
        struct berth_rootfs_opts rootfs;
        struct berth_ns_fds nsfds;
        struct berth_seccomp_filter *seccomp;
        unsigned long clone_flags;
        int sync_fd;        /* the init's end of the handshake */
        int parent_sync_fd; /* the runtime's end, closed by the init */
        int fifo_fd;        /* exec.fifo, read-write: the init blocks reading it until start */
        int status_fd;      /* exec.status, read-write: errors after start go there; closed by
                             * execve (close-on-exec), which `start` sees as EOF */
        int console_fd;     /* connected --console-socket, or -1 */
        bool parent_hooks;  /* prestart or createRuntime hooks: the parent runs them */
        char **env;         /* the program's environment: process.env, plus HOME if missing */
        char *path;         /* the program, found at create */
};

/* The init's main: builds the container, waits on exec.fifo, execs the user's program. Never
 * returns. */
void __attribute__((noreturn)) berth_init_main(struct init_ctx *ctx);

/* The state JSON that hooks get on stdin, with an explicit status and pid. */
char *berth_hook_state_json(const struct berth_container *c, const char *status, pid_t pid);
