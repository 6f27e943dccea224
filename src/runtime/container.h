/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * A container's lifecycle, as the OCI runtime spec defines it:
 *
 *   create   clone the init straight into its namespaces, build the rootfs, run the create hooks,
 *            leave the init blocked on the exec fifo, record the state      -> "created"
 *   start    open the exec fifo: the init execs the user's program, poststart hooks   -> "running"
 *   kill     signal the init (or, with all, every process of the container)
 *   delete   remove the state (stopped containers; with force, kill first), poststop hooks
 *
 * State lives in <root>/<id>/ (root defaults to /run/berth-oci): state.json, exec.fifo, a lock.
 */

#include <stdbool.h>
#include <sys/types.h>

#include "base/error.h"
#include "spec/spec.h"

enum berth_status {
        BERTH_STATUS_CREATING,
        BERTH_STATUS_CREATED,
        BERTH_STATUS_RUNNING,
        BERTH_STATUS_PAUSED,
        BERTH_STATUS_STOPPED
};
/* "creating", "created", ... */
const char *berth_status_name(enum berth_status s);

struct berth_create_opts {
        const char *root; /* state root, e.g. "/run/berth-oci" */
        const char *id;
        const char *bundle;         /* bundle directory (made absolute by create) */
        const char *pid_file;       /* write the init's pid here (NULL: none) */
        const char *console_socket; /* send the pty master here when process.terminal */
        int preserve_fds;           /* pass fds 3+L .. 3+L+N-1 to the container (L: listen_fds) */
        /* socket activation (runc): fds 3 .. 3+L-1 that systemd passed us with LISTEN_FDS=L and
         * our LISTEN_PID; the process gets them with LISTEN_FDS=L and LISTEN_PID=1 */
        int listen_fds;
        bool no_pivot;
        bool no_new_keyring;
        /* the caller relays the terminal itself (a foreground `run`): if process.terminal is
         * set, create returns the pty master in berth_container.pty_master */
        bool foreground_tty;
};

struct berth_container {
        char *root;
        char *id;
        char *oci_version; /* the config's ociVersion */
        char *bundle;
        char *rootfs;
        char *created;                /* RFC 3339 with nanoseconds, UTC */
        char *owner;                  /* "" for root, as runc */
        char *cgroup_path;            /* the container's cgroup in every hierarchy, "/berth/web" */
        pid_t pid;                    /* init pid, 0 when never started */
        unsigned long long pid_start; /* starttime of pid (field 22 of /proc/PID/stat) */
        enum berth_status status;     /* as of load / refresh */
        bool oom_killed; /* the kernel OOM-killed a process in its cgroup (berth_container_observe)
                          */
        struct berth_kv *annotations;
        size_t n_annotations;
        struct berth_hook_list poststart, poststop;
        int pidfd;      /* -1 if not open */
        int pty_master; /* -1 unless foreground_tty */
        int dirfd;      /* O_PATH fd of <root>/<id>, -1 if not open */
        /* why state.json could not be read (berth_container_load_any), else NULL: pid, start
         * time, cgroup and bundle then come from the recovery record or are found again */
        char *state_error;
        bool use_systemd; /* reserved */
};

/* Validates a container id: non-empty, at most 1024 bytes, [A-Za-z0-9_+.-] only, not "." or "..".
 * Error: container id "../x": must match [A-Za-z0-9][A-Za-z0-9_+.-]* */
int berth_id_validate(const char *id, struct berth_error **err);

/* Creates a container. On failure nothing is left: no process, no state dir. -EEXIST if the id
 * is taken ("container "x" already exists"). */
int berth_container_create(const struct berth_create_opts *o, struct berth_container **ret,
                           struct berth_error **err);

/* Loads <root>/<id> and refreshes its status from the kernel. -ENOENT: container "x" does not
 * exist. -EBADMSG: its state.json is damaged (the message names the file). */
int berth_container_load(const char *root, const char *id, struct berth_container **ret,
                         struct berth_error **err);

/*
 * Like berth_container_load(), but a damaged state.json (empty, truncated, garbage, too large)
 * does not make the container unreachable: c->state_error says why, and what kill and delete
 * need is recovered: pid, start time, cgroup and bundle from the recovery record; without one,
 * the default cgroup path ("/berth/<id>", right unless the config gave cgroupsPath) and, as the
 * init, the process of that cgroup that started first. kill, delete and list use it.
 */
int berth_container_load_any(const char *root, const char *id, struct berth_container **ret,
                             struct berth_error **err);

/* "created", "running", ...; "unknown" when the state file is damaged (c->state_error). */
const char *berth_container_status_name(const struct berth_container *c);

/* Reads what only the container's cgroup knows: paused (frozen) and whether the kernel has
 * OOM-killed a process in it (kept until delete removes the cgroup). `state` and `list` call it;
 * load does not, so start and kill stay cheap. */
void berth_container_observe(struct berth_container *c);

/* Starts a created container: releases the init and runs the poststart hooks (failures are
 * warnings). -EINVAL if the container is not in the created state. */
int berth_container_start(struct berth_container *c, struct berth_error **err);

/* Sends sig to the init (all=false) or to every process of the container. -ESRCH if stopped;
 * with all, a stopped container is not an error (runc): what is left in its cgroup (processes
 * still dying after the init) gets the signal. */
int berth_container_kill(struct berth_container *c, int sig, bool all, struct berth_error **err);

/* Deletes a stopped container (with force: kills it with SIGKILL first and waits for it), then
 * runs the poststop hooks (failures are warnings). Without force, a container that is not
 * stopped is an error: container "x" is running: stop it first or use --force. */
int berth_container_delete(struct berth_container *c, bool force, struct berth_error **err);

/* The init's pidfd (kept in c->pidfd), checked against pid reuse. -ESRCH: container "x" is not
 * running. */
int berth_container_pidfd(struct berth_container *c, struct berth_error **err);

/* Waits for the init to exit (the caller must be its parent or subreaper, as in `run`). Returns
 * the wait status in *ret_status. */
int berth_container_wait(struct berth_container *c, int *ret_status, struct berth_error **err);

/* Freezes (pause) or thaws (resume) every process of the container. pause needs a created or
 * running container, resume a paused one: container "x" is not running / not paused. */
int berth_container_pause(struct berth_container *c, struct berth_error **err);
int berth_container_resume(struct berth_container *c, struct berth_error **err);

/* The pids of the container's processes (host pid namespace), sorted. */
int berth_container_pids(struct berth_container *c, pid_t **ret, size_t *ret_n,
                         struct berth_error **err);

struct berth_resources;
/* Applies new limits to a running (or created, or paused) container. Device rules are not
 * updated (as runc). */
int berth_container_update(struct berth_container *c, const struct berth_resources *r,
                           struct berth_error **err);

struct berth_cgroup;
/* Opens the container's cgroup (for stats and events). -ENOENT if it has none. */
int berth_container_cgroup(const struct berth_container *c, struct berth_cgroup **ret,
                           struct berth_error **err);

/* The state JSON of the OCI spec (ociVersion, id, status, pid, bundle, rootfs, created, owner,
 * annotations), pretty-printed like runc's. malloc'ed. */
char *berth_container_state_json(const struct berth_container *c);

/* All containers under root, sorted by id. One with a damaged state.json is listed too (status
 * "unknown", see berth_container_load_any), with a warning; entries that cannot be loaded at
 * all are skipped with a warning. */
int berth_container_list(const char *root, struct berth_container ***ret, size_t *ret_n,
                         struct berth_error **err);

void berth_container_free(struct berth_container *c);
static inline void berth_container_freep(struct berth_container **c)
{
        berth_container_free(*c);
        *c = NULL;
}
#define _autocontainer_ __attribute__((cleanup(berth_container_freep)))
