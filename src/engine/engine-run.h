/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * `berth run` in the foreground, the engine's side (engine-run.c). The front end fills struct
 * berth_run with what it parsed, and berth_run_image() takes the steps in order, undoing what
 * exists when a later one fails:
 *
 *   find the image (lookup; else pull)         berth_store_image_lookup, berth_pull
 *   the record, then stdin (/dev/null without  berth_ctr_create: nothing is mounted or started
 *     -i), the child subreaper, the signals     before container.json exists
 *   mount the overlay, write the bundle         berth_ctr_mount, berth_ctr_prepare
 *   create + start through libberth, wait       berth_ctr_runtime_create / _start,
 *                                               berth_foreground_wait
 *   OOM state, runtime state deleted, umount,   berth_ctr_finish (or berth_ctr_remove: --rm)
 *     the exit code recorded
 *
 * The engine never prints: what the front end shows while it works (a pull's progress, each
 * failure in the order it happens) goes through struct berth_run_ops.
 */

#include <stdbool.h>
#include <sys/types.h>

#include "base/error.h"
#include "engine/engine-health.h"
#include "engine/engine.h"

/* docker's exit codes: berth itself failed; the command cannot be executed; it was not found.
 * Any other is the container's own (128+n when killed by signal n). */
#define BERTH_EXIT_ENGINE 125
#define BERTH_EXIT_CANNOT_EXEC 126
#define BERTH_EXIT_NOT_FOUND 127

struct berth_store;
struct berth_attach_opts;
struct berth_image;
struct berth_image_config;
struct berth_container;
struct berth_foreground;
struct berth_pull_event;
struct berth_pull_opts;

/* What the front end shows while a run works. Every member may be NULL. */
struct berth_run_ops {
        /* the image is not in the store and is pulled now (what: IMAGE as given) */
        void (*pull_begin)(const char *what, void *userdata);
        /* the pull's progress events (a berth_pull_progress_fn, registry.h) */
        void (*pull_progress)(const struct berth_pull_event *ev, void *userdata);
        /* the pull is over: name is the image's normalized name (or what, when the registry
         * gave none), NULL when the pull failed (the failure is reported next) */
        void (*pull_end)(const char *name, void *userdata);
        /* Each failure once, when it happens: first the one that ends the run (warning false),
         * then what undoing its steps could not undo: warnings when the container's process never
         * ran, errors when finishing after it ran failed. */
        void (*report)(const struct berth_error *e, bool warning, void *userdata);
        void *userdata;
};

/* The steps of a run, one call each, with the signatures of the engine's and libberth's
 * functions they stand for (berth_run_steps_default: those functions). Unit tests put fakes
 * here to fail each step in turn and check what is undone. */
struct berth_run_steps {
        int (*pull)(struct berth_store *s, const char *ref, const struct berth_pull_opts *o,
                    char **ret_id, char **ret_name, struct berth_error **err);
        int (*ctr_create)(struct berth_store *s, const char *image_id, char *const *layers,
                          const char *image_name, const struct berth_image_config *img,
                          const struct berth_run_opts *o, struct berth_ctr **ret,
                          struct berth_error **err);
        int (*ctr_mount)(struct berth_store *s, const struct berth_ctr *c,
                         struct berth_error **err);
        int (*ctr_prepare)(const struct berth_ctr *c, const struct berth_run_opts *o,
                           struct berth_error **err);
        int (*runtime_create)(const struct berth_ctr *c, const char *runroot, bool tty,
                              struct berth_container **ret, struct berth_error **err);
        int (*ctr_save)(const struct berth_ctr *c, struct berth_error **err);
        int (*runtime_start)(struct berth_container *lc, struct berth_error **err);
        int (*wait)(struct berth_foreground *f, pid_t pid, int pidfd, int pty_master,
                    int *ret_status, struct berth_error **err);
        int (*ctr_finish)(struct berth_ctr *c, const char *runroot, struct berth_container *lc,
                          int wait_status, struct berth_error **err);
        int (*ctr_remove)(struct berth_ctr *c, const char *runroot, bool force,
                          struct berth_error **err);
};
extern const struct berth_run_steps berth_run_steps_default;

/* A run: what it was given, and what exists so far (for the cleanup). Zero it, set the inputs,
 * then berth_run_apply_flags() and berth_run_image(); free with berth_run_clear(). */
struct berth_run {
        /* inputs */
        struct berth_store *store;       /* set before berth_run_image() */
        const char *runroot;             /* libberth's state root */
        struct berth_run_opts o;         /* o.seccomp: set by berth_run_apply_flags() */
        const char *registry_config;     /* the implicit pull's config file; NULL: default */
        const struct berth_run_ops *ops; /* may be NULL */
        const char *monitor;             /* -d: the berth-monitor binary to start */
        /* with o.detach: attached to the container from its start until its end (run -i/-t
         * without -d: docker's and podman's way, so that the detach keys can leave it running) */
        const struct berth_attach_opts *attach;
        const struct berth_run_steps *steps; /* NULL: berth_run_steps_default */
        /* `berth create`: the record and nothing else (no mount, no monitor): berth_run_image
         * returns 0 once it exists (rn->c) */
        bool create_only;
        /* made along the way */
        struct berth_scmp_profile *seccomp; /* --security-opt seccomp=FILE */
        char *seccomp_text;                 /* its text */
        char **security_record;             /* o.security_opts: what the record keeps */
        char *restart_policy;               /* o.restart_policy */
        /* o.healthcheck */
        struct berth_healthcheck *healthcheck;
        struct berth_image *img;
        struct berth_image_config *cfg;
        char *image_name; /* what the record names: the normalized name, else IMAGE as given */
        struct berth_ctr *c;
};
void berth_run_clear(struct berth_run *rn);

/* The flag values of `berth run` that need checking, as given (NULL: not given). */
struct berth_run_flags {
        const char *memory;         /* -m: docker's sizes, at least 6MB */
        const char *pids_limit;     /* --pids-limit: an integer */
        const char *cpus;           /* --cpus: a decimal */
        char *const *security_opts; /* --security-opt, in order (the last one of a key wins) */
        const char *restart;        /* --restart (engine-launch.h) */
        struct berth_health_flags health; /* --health-*, --no-healthcheck (engine-health.h) */
};

/*
 * Checks the flags into rn->o, docker's way: memory, pids limit and nano cpus ("invalid argument
 * "x" for "-m, --memory" flag: ...", "Minimum memory limit allowed is 6MB"); memory + swap twice
 * the memory where the host accounts swap (berth_host_has_swap_accounting); each --security-opt
 * (berth_run_security_opt; the record keeps them, seccomp=FILE as the file's text); the
 * healthcheck's flags (berth_health_flags_parse, engine-health.h); --restart
 * (berth_restart_policy_parse, engine-launch.h; with --rm: "conflicting options: cannot specify
 * both --restart and --rm"). rn->o.auto_remove is set first. -EINVAL / -ENOTSUP with docker's
 * message.
 */
int berth_run_apply_flags(struct berth_run *rn, const struct berth_run_flags *f,
                          struct berth_error **err);

/* One --security-opt: KEY=VALUE (KEY:VALUE is docker's deprecated form) or no-new-privileges.
 * seccomp=unconfined|builtin|FILE (FILE is read and checked now, so that a bad profile fails
 * before anything is made: "opening seccomp profile (FILE) failed: ..."),
 * no-new-privileges[=BOOL], systempaths=unconfined; label=disable and apparmor=unconfined pass,
 * other label/apparmor values are -ENOTSUP; anything else -EINVAL "invalid --security-opt 2:
 * "OPT"". */
int berth_run_security_opt(struct berth_run *rn, const char *opt, struct berth_error **err);

/* A start of an existing container (engine-start.h): what a crash left mounted unmounted, the
 * overlay mounted and the bundle written again from the record (its hostConfig, SecurityOpt
 * included: seccomp=<JSON> is the profile's text as run read it). */
int berth_run_prepare_again(struct berth_store *s, const struct berth_ctr *c,
                            struct berth_error **err);

/* Whether the memory cgroup accounts swap (docker then sets memory+swap to twice the memory). */
bool berth_host_has_swap_accounting(void);

/*
 * Attached to container c through sock (an attach client, engine-attach.h) until its end: 0 with
 * *ret_code its exit code, recorded by its monitor (a --rm container's read before its monitor
 * removes it, and gone when this returns); or the detach keys: 1 (*ret_code 0), it runs on.
 */
int berth_ctr_attached(struct berth_store *s, const struct berth_ctr *c, const char *runroot,
                       int sock, const struct berth_attach_opts *o, int *ret_code,
                       struct berth_error **err);

/* The exit code for a failed create: 127 when args[0] was not found, 126 when it cannot be
 * executed (libberth's "exec: ..." errors, resolved before the container is created), else 125. */
int berth_run_create_exit_code(const struct berth_error *e);

/* The name a container records for an image run as `what`: the normalized name when img has it,
 * else what as given (malloc'ed). */
char *berth_run_image_name(const struct berth_image *img, const char *what);

/*
 * Runs a container of image `what` in the foreground (the steps above) and returns the exit code
 * to leave with: the container's, or 125 / 126 / 127. Every failure goes to ops->report. The
 * foreground keeps the caller's stdio: the container's process inherits them.
 * With -d (rn->o.detach) the last steps are the monitor's (engine-monitor.h): once the record,
 * overlay and bundle are there, rn->monitor is started in a session of its own and its report
 * awaited: 0 once the container's program runs (rn->c->id is then the id to print), else its
 * exit code (125/126/127), the failure reported (berth_monitor_launch, engine-launch.h). From the
 * record's creation until the program runs, its start lock is held (berth_ctr_start_lock).
 * With rn->create_only: 0 once the record exists (`berth create`).
 */
int berth_run_image(struct berth_run *rn, const char *what);
