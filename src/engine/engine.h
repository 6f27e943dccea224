/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The engine's containers (`berth run/ps/rm/diff/commit`), kept beside the image store:
 *
 *   <root>/containers/<id>/container.json   the record (below), atomic rewrites
 *   <root>/containers/<id>/upper, work      the copy-on-write sheet of its overlay
 *   <root>/containers/<id>/rootfs           where the overlay is mounted while it runs
 *   <root>/containers/<id>/bundle/          config.json given to libberth (root.path = ../rootfs)
 *   <runroot>/<id>/                         libberth's runtime state (berth-oci's layout)
 *
 * container.json: {"id", "name", "image" (image id), "imageName", "layers" (chain ids, bottom
 * first: the store's gc keeps them while the record exists), "created", "config": {"Env",
 * "Cmd", "Entrypoint", "WorkingDir", "User", "Hostname"}, "state": {"status", "exitCode",
 * "startedAt", "finishedAt", "pid", "restartCount"}, "health"}. The image store never reads it:
 * its gc, rmi, prune and df learn what the containers hold from berth_ctr_store_users.
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"

struct berth_store;
struct berth_store_user;
struct berth_image_config;
struct berth_healthcheck;
struct berth_container;
struct berth_scmp_profile;

struct berth_ctr {
        char *id; /* 64 hex digits */
        char *name;
        char *image; /* image id "sha256:..." */
        char
            *image_name; /* what it was run from, normalized ("docker.io/library/busybox:latest") */
        char **layers;   /* chain ids, bottom first; never NULL */
        char *created;   /* RFC 3339 */
        char *dir;       /* <root>/containers/<id> */
        /* config */
        char **env, **cmd, **entrypoint; /* NULL-terminated; entrypoint/cmd may be NULL */
        char *working_dir, *user, *hostname;
        /* config "StopSignal": --stop-signal or the image's (NULL: SIGTERM); "StopTimeout":
         * --stop-timeout in seconds (-1: no limit), has_stop_timeout false: docker's 10 */
        char *stop_signal;
        bool has_stop_timeout;
        int stop_timeout;
        /* state (record "state"): status "created", "running", "restarting" (between two runs:
         * engine-start.h) or "exited" */
        char *status;
        int exit_code;
        int pid;
        bool oom_killed;                /* record "state": "OOMKilled" */
        char *started_at, *finished_at; /* RFC 3339, NULL: never */
        /* the monitor of a detached container (record "state": "monitorPid", "monitorStart":
         * its start time, field 22 of /proc/PID/stat, against pid reuse); 0: none */
        int monitor_pid;
        uint64_t monitor_start;
        /* host config (record "hostConfig") */
        int64_t memory, pids_limit, nano_cpus; /* 0: unset */
        bool auto_remove;
        bool detached;        /* "Detached": run -d, a monitor holds its stdio and log */
        bool tty;             /* "Tty": -t, a pty is its stdio */
        bool open_stdin;      /* "OpenStdin": -i, its stdin a pipe from the monitor */
        char *log_driver;     /* "LogDriver": "k8s-file" (default) or "none" */
        int64_t log_max_size; /* "LogMaxSize", bytes; 0: no rotation */
        int log_max_file;     /* "LogMaxFile": files kept with rotation (>= 1) */
        int restart_count;    /* record "state": "restartCount" */
        /* restart policy (engine-start.h; record "hostConfig": "RestartPolicy" {"Name",
         * "MaximumRetryCount"}): NULL or "no", "always", "unless-stopped", "on-failure" (at most
         * restart_max restarts; 0: no limit) */
        char *restart_policy;
        int restart_max;
        bool stopped_by_user;     /* record "state": "stoppedByUser" (stop/kill; start clears) */
        bool restarted_by_user;   /* record "state": "restartedByUser" (restart: --rm waits) */
        int64_t restart_delay_ms; /* record "state": "restartDelayMs": the monitor's back-off */
        /* not in the record: berth_ctr_finish records the end as "restarting" (the monitor's
         * restart policy said so: engine-start.h) */
        bool restart_pending;
        /* record "hostConfig": "SecurityOpt": --security-opt as given, seccomp=FILE as
         * seccomp=<the profile's JSON> (docker's way): each start writes the spec again */
        char **security_opts;
        /* record "health": {"status": "starting" | "healthy" | "unhealthy", "failingStreak",
         * "log": [...]} as it is (a json_t reference); NULL: no healthcheck */
        struct json_t *health;
        /* engine-health.h: record "config": "Healthcheck" (docker's; NULL: none), "hostConfig":
         * "HealthOnFailure" (podman's --health-on-failure: kill, restart, stop; NULL: none) */
        struct berth_healthcheck *healthcheck;
        char *health_on_failure;
        /* not in the record: its cgroup is frozen (berth pause), as berth_ctr_refresh found it;
         * status stays "running", as docker's State.Running stays true */
        bool paused;
};

/* The container's log, <dir>/ctr.log (CRI "k8s-file" format: engine/ctr-log.h). */
#define BERTH_CTR_LOG "ctr.log"

/* Finds a container by full id, unique id prefix or name. -ENOENT: "no such container: x". */
int berth_ctr_lookup(struct berth_store *s, const char *what, struct berth_ctr **ret,
                     struct berth_error **err);
void berth_ctr_free(struct berth_ctr *c);
static inline void berth_ctr_freep(struct berth_ctr **c)
{
        berth_ctr_free(*c);
        *c = NULL;
}
/* <dir>/upper (malloc'ed). */
char *berth_ctr_upper(const struct berth_ctr *c);
/* The layer dirs of its image, top first, NULL-terminated (malloc'ed strv). */
char **berth_ctr_lowers(struct berth_store *s, const struct berth_ctr *c);

/* ---- berth run: options and the spec (engine-spec.c) ------------------------------------- */

/* What `berth run` was given; NULL / 0 / false: not given. */
struct berth_run_opts {
        const char *name, *hostname, *workdir, *user;
        const char
            *entrypoint; /* --entrypoint: replaces the image's and clears its Cmd; "" = none */
        char **env;      /* -e K=V, or a bare K taken from envp (absent there: K removed) */
        char **cmd;      /* CMD [ARG...] after the image; NULL or empty: the image's */
        bool tty, interactive, auto_remove;
        bool detach;            /* -d: a monitor process runs it (engine-monitor.h) */
        const char *log_driver; /* --log-driver: "k8s-file" (NULL) or "none" */
        int64_t log_max_size;   /* --log-opt max-size, bytes; 0: none */
        int log_max_file;       /* --log-opt max-file; 0: 1 */
        int64_t memory;         /* bytes */
        int64_t memory_swap;    /* memory + swap, bytes; 0: none (the caller sets docker's 2x) */
        int64_t pids_limit;     /* <= 0: unlimited */
        int64_t nano_cpus;      /* 1e9 per cpu */
        /* --security-opt: seccomp=FILE (a parsed docker-format profile; NULL: the built-in
         * default), seccomp=unconfined, no-new-privileges, systempaths=unconfined */
        const struct berth_scmp_profile *seccomp;
        bool seccomp_unconfined, no_new_privileges, systempaths_unconfined;
        char *const *security_opts; /* what the record keeps of them ("SecurityOpt") */
        const char *restart_policy; /* --restart, checked (engine-launch.h): NULL or "no", ... */
        int restart_max;            /* on-failure:N */
        /* --health-* (engine-health.h): merged with the image's HEALTHCHECK; NULL: not given */
        const struct berth_healthcheck *healthcheck;
        const char *health_on_failure; /* --health-on-failure; NULL: none */
        const char *stop_signal;       /* --stop-signal, checked; NULL: the image's */
        bool has_stop_timeout;         /* --stop-timeout given */
        int stop_timeout;
};

/* docker's sizes for -m: "10m", "1g", "512k", "1048576", "10MB" (1024-based units b k m g t p,
 * case-insensitive, optional trailing "b"/"ib"). -EINVAL: invalid size: 'x'. */
int berth_parse_memory(const char *s, int64_t *ret, struct berth_error **err);
/* --cpus "1.5" -> 1500000000 nano cpus. -EINVAL: failed to parse x as a rational number. */
int berth_parse_cpus(const char *s, int64_t *ret, struct berth_error **err);

/*
 * Fills the container's config (env, cmd, entrypoint, working_dir, user, hostname of c) from the
 * image config and the run options, docker's way: --entrypoint replaces the image's Entrypoint
 * and clears its Cmd; CMD args replace Cmd; -e entries replace or add to the image's Env (a bare
 * "K" takes K from envp, or removes K when envp has none); -w / -u override WorkingDir / User;
 * hostname = --hostname or the first 12 hex digits of c->id (which must be set); the healthcheck
 * (engine-health.h berth_ctr_health_apply). envp may be NULL. -EINVAL: "no command specified", a
 * relative -w, --health-on-failure without a healthcheck.
 */
int berth_ctr_config_apply(struct berth_ctr *c, const struct berth_image_config *img,
                           const struct berth_run_opts *o, char *const *envp,
                           struct berth_error **err);

/* "user[:group]" resolved against rootfd's /etc/passwd and /etc/group (opened with openat2
 * RESOLVE_IN_ROOT: symlinks never leave the rootfs). Numeric ids are taken as they are; a user
 * without a group gets its passwd gid (0 if unknown). Supplementary groups: the groups that list
 * the user by name (malloc'ed, *ret_n entries; may be NULL). -ENOENT: "unable to find user x: no
 * matching entries in passwd file" / "unable to find group x: no matching entries in group file".
 */
int berth_user_resolve(int rootfd, const char *user, uid_t *ret_uid, gid_t *ret_gid,
                       gid_t **ret_groups, size_t *ret_n, struct berth_error **err);

/*
 * The OCI config.json of a container (a pure function of its inputs): berth's default spec with
 * the container's config (c: args = entrypoint + cmd, env + PATH/HOSTNAME/TERM, cwd, user
 * resolved in rootfd, hostname), root.path = rootfs (absolute), docker's capabilities, masked
 * and read-only paths (none with o->systempaths_unconfined), namespaces (pid, ipc, uts, mount,
 * network, cgroup), the seccomp profile (o->seccomp or the built-in default, resolved for those
 * capabilities; none with o->seccomp_unconfined), noNewPrivileges = o->no_new_privileges,
 * /etc/hostname, /etc/hosts and /etc/resolv.conf bound from c->dir, the resources of o,
 * cgroupsPath = "/berth/<c->id>" (the runtime's default parent, named absolutely). Returns the
 * JSON text (malloc'ed).
 */
int berth_engine_spec(const struct berth_ctr *c, const struct berth_run_opts *o, int rootfd,
                      const char *rootfs, char **ret_json, struct berth_error **err);

/* ---- containers (engine-container.c) ------------------------------------------------------ */

/* flock on <root>/containers.lock (the root found from c->dir), the lock under which names are
 * checked, records created or renamed, and dirs removed. Returns the fd in *ret_fd. */
int berth_ctr_lock(const struct berth_ctr *c, int *ret_fd, struct berth_error **err);

/* Validates a --name: [a-zA-Z0-9][a-zA-Z0-9_.-]+. */
int berth_ctr_name_validate(const char *name, struct berth_error **err);

/*
 * Makes a container record for image img (id and layers; image_name may be NULL): a random id,
 * the name (o->name, unique under <root>/containers.lock: "the container name "/x" is already in
 * use by container <id>", -EEXIST; or a random adjective_noun), the config (as
 * berth_ctr_config_apply), <root>/containers/<id>/{upper,work,rootfs,bundle}, and container.json
 * with status "created" (written before anything is mounted, so that rm -f can clean up a crash).
 */
int berth_ctr_create(struct berth_store *s, const char *image_id, char *const *layers,
                     const char *image_name, const struct berth_image_config *img,
                     const struct berth_run_opts *o, struct berth_ctr **ret,
                     struct berth_error **err);

/* The record of c as it is now on disk (c->dir/container.json). -ENOENT: removed. */
int berth_ctr_reload(const struct berth_ctr *c, struct berth_ctr **ret, struct berth_error **err);

/* Rewrites <dir>/container.json atomically from c. */
int berth_ctr_save(const struct berth_ctr *c, struct berth_error **err);
/* The same under berth_ctr_lock, keeping what others changed under it since c was read (the
 * name: rename), and never into a dir being removed (-ENOENT). */
int berth_ctr_save_keeping(struct berth_ctr *c, struct berth_error **err);

/* Mounts the overlay (its image's layers, top first, + upper/work) on <dir>/rootfs. */
int berth_ctr_mount(struct berth_store *s, const struct berth_ctr *c, struct berth_error **err);
/* Unmounts <dir>/rootfs if mounted (not mounted: success). */
int berth_ctr_umount(const struct berth_ctr *c, struct berth_error **err);

/* Writes <dir>/hostname, hosts, resolv.conf (a copy of the host's) and bundle/config.json
 * (berth_engine_spec) for the mounted rootfs; creates the working dir in the rootfs if missing,
 * as docker does. */
int berth_ctr_prepare(const struct berth_ctr *c, const struct berth_run_opts *o,
                      struct berth_error **err);

/* libberth's create in runroot (id = c->id, bundle = <dir>/bundle, foreground_tty = tty);
 * the container's stdio are ours. */
int berth_ctr_runtime_create(const struct berth_ctr *c, const char *runroot, bool tty,
                             struct berth_container **ret, struct berth_error **err);

/* berth_container_start, then the state dir's lock is let go so that `berth rm -f` can kill and
 * delete the container while a foreground `run` waits for it. */
int berth_ctr_runtime_start(struct berth_container *lc, struct berth_error **err);

/* After the process exited with wait_status (or never started: wait_status -1): reads the OOM
 * kill from the cgroup, deletes the runtime state (lc may be NULL: loaded from runroot if
 * there), unmounts the rootfs and records state "exited", exitCode, finishedAt (unless the
 * container was removed meanwhile). */
int berth_ctr_finish(struct berth_ctr *c, const char *runroot, struct berth_container *lc,
                     int wait_status, struct berth_error **err);

/* "running" when the record says running/created and libberth's runtime state in runroot has a
 * live process; otherwise a running record whose process is gone becomes "exited" (code 255,
 * the record rewritten), unless its monitor lives (it records the end). */
void berth_ctr_refresh(struct berth_ctr *c, const char *runroot);

/* ---- stop, kill, wait (engine-stop.c) ------------------------------------------------------ */

/* Whether the record's monitor (monitorPid, with its start time) is alive. */
bool berth_ctr_monitor_alive(const struct berth_ctr *c);

/*
 * A --rm container's exit code outlives it for those waiting: a `berth wait` holds a shared
 * flock on <dir> (berth_ctr_waiter_hold: the fd, or -errno) until it has read the recorded end;
 * the monitor takes it exclusively (berth_ctr_waiters_gone: the fd to close once the container
 * is removed; waiting at most a minute: a stopped waiter does not keep the container forever).
 */
int berth_ctr_waiter_hold(const struct berth_ctr *c);
/* Until c's monitor has exited (it is not, or no more: at once). */
void berth_ctr_wait_monitor(const struct berth_ctr *c);
int berth_ctr_waiters_gone(const struct berth_ctr *c);

#define BERTH_STOP_TIMEOUT_DEFAULT 10 /* seconds: docker's */

/* docker's stop signal and timeout of c when `stop`/`restart` are not given -s/-t: its
 * StopSignal (--stop-signal, else the image's; SIGTERM when neither or not a signal) and
 * StopTimeout (--stop-timeout; 10 s when not set, -1 no limit). */
void berth_ctr_stop_defaults(const struct berth_ctr *c, int *ret_sig, int *ret_timeout_s);

/* Sends sig to the container's init (all: to every process of it). -EINVAL: "container ID is
 * not running". */
int berth_ctr_kill(struct berth_ctr *c, const char *runroot, int sig, bool all,
                   struct berth_error **err);

/*
 * docker's stop: sig (the stop signal) to the init, then, after timeout_s seconds (0: at once;
 * < 0: never), SIGKILL to every process of it; returns once the end is recorded (*c is then the
 * record as it is: exited, or -ENOENT when --rm removed it). A container that is not running is
 * no error.
 */
int berth_ctr_stop(struct berth_store *s, struct berth_ctr **c, const char *runroot, int sig,
                   int timeout_s, struct berth_error **err);

/* Waits until the container is no longer running and its end is recorded (*c re-read: its
 * exit_code); -ENOENT when it was removed meanwhile (--rm). */
int berth_ctr_wait(struct berth_store *s, struct berth_ctr **c, const char *runroot,
                   struct berth_error **err);

/* Removes the container: a running one only with force (killed, runtime state deleted); then the
 * rootfs unmounted and the dir removed, whatever state a crash left. -EBUSY: "cannot remove
 * container "x": container is running: stop the container before removing or force remove". */
int berth_ctr_remove(struct berth_ctr *c, const char *runroot, bool force,
                     struct berth_error **err);

/* Every container record, newest first. Unreadable records are skipped with a warning. */
int berth_ctr_list(struct berth_store *s, struct berth_ctr ***ret, size_t *ret_n,
                   struct berth_error **err);
void berth_ctrs_free(struct berth_ctr **v, size_t n);

/*
 * The image store's users (a berth_store_users_fn, imagestore.h): one per container record, with
 * the image it was made from ("image"), the layers it holds ("layers") and its upper dir. A dir
 * without a record (being made or removed) is left out; a record that cannot be read, or whose
 * "layers" is not an array of strings, is an error ("<root>/containers: <id>/container.json:
 * ..."): leaving it out could let gc remove the layers it holds.
 */
int berth_ctr_store_users(struct berth_store *s, struct berth_store_user **ret, size_t *ret_n,
                          struct berth_error **err);

/* docker inspect's JSON object for c (a new reference): engine-inspect.c (with the sizes, docker's
 * state names: engine/engine-inspect.h). */
struct json_t;
struct json_t *berth_ctr_inspect_json(struct berth_store *s, const struct berth_ctr *c);
