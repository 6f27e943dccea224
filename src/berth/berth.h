/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * berth: the daemonless, docker-like engine. main.c parses the global flags and dispatches to one
 * struct berth_cmd per command (cmd-*.c); args.c is a docker-style (pflag) flag parser; output.c
 * prints errors (once, "berth: ..."), tables, JSON, sizes and times the way docker does.
 * Exit codes are docker's: 125 when berth itself fails, 126 cannot execute, 127 not found, else
 * the container's (128+n for a signal).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/error.h"
#include "engine/engine-run.h" /* BERTH_EXIT_*: docker's exit codes, which the engine records */

#define BERTH_EXIT_FAILED 1

#define BERTH_PROG "berth"
#define BERTH_DEFAULT_ROOT "/var/lib/berth"
#define BERTH_DEFAULT_RUNROOT "/run/berth"

/* ---- flags (args.c) --------------------------------------------------------------------- */

enum berth_flag_kind {
        BERTH_FLAG_BOOL,  /* --rm, --rm=true|false; combinable short forms: -it */
        BERTH_FLAG_VALUE, /* --name N, --name=N, -n N, -nN; the last one wins */
        BERTH_FLAG_LIST,  /* -e A=1 -e B=2: every value, in order */
};

struct berth_flag {
        const char *name; /* long name without dashes */
        char short_name;  /* or 0 */
        enum berth_flag_kind kind;
        const char *value_name; /* for --help: "NAME" */
        const char *usage;
};

#define BERTH_FLAGS_MAX 48

struct berth_args {
        const char *values[BERTH_FLAGS_MAX]; /* VALUE and BOOL ("true"/"false"); NULL if absent */
        char **lists[BERTH_FLAGS_MAX];       /* LIST: NULL-terminated, NULL if absent */
        char **pos;                          /* positionals, NULL-terminated (pointers into argv) */
        int n_pos;
        bool help;
};

/* Parses argv[0..argc). With stop_at_positional (run, exec), flags end at the first positional:
 * `berth run -it busybox sh -c x` leaves "busybox sh -c x" as positionals. "--" ends the flags.
 * -EINVAL: "unknown flag: --foo", "flag needs an argument: --name", "invalid argument "x" for
 * "--rm" flag: ...". Free with berth_args_clear(). */
int berth_args_parse(const struct berth_flag *flags, size_t n_flags, int argc, char **argv,
                     bool stop_at_positional, struct berth_args *ret, struct berth_error **err);
void berth_args_clear(struct berth_args *a);
bool berth_args_bool(const struct berth_args *a, size_t i);
/* Prints "Usage: berth <usage>\n\n<summary>\n\nOptions:\n" and the flag table to f. */
void berth_args_usage(FILE *f, const char *usage, const char *summary,
                      const struct berth_flag *flags, size_t n_flags);

/* A command's flags and argument counts, for berth_cmd_args(). */
struct berth_cmd_spec {
        const char *name;  /* "image inspect": for "See 'berth image inspect --help'." */
        const char *usage; /* "image inspect [OPTIONS] IMAGE [IMAGE...]" */
        const char *summary;
        const struct berth_flag *flags;
        size_t n_flags;
        int min_args, max_args; /* positionals; max_args -1: no limit */
        bool stop_at_positional;
};
/* Parses a command's argv (argv[0] is the command's name, skipped) per spec. Returns true when the
 * command goes on (*ret_rc = 0; free ret with berth_args_clear()); false when run() must return
 * *ret_rc: 0 after
 * --help (usage printed on stdout), 125 after a flag or argument-count error, printed docker's way:
 * "berth: unknown flag: --foo\nSee 'berth images --help'.",
 * "berth: \"berth tag\" requires exactly 2 arguments.\nSee 'berth tag --help'.". */
bool berth_cmd_args(const struct berth_cmd_spec *spec, int argc, char **argv,
                    struct berth_args *ret, int *ret_rc);

/* ---- commands ------------------------------------------------------------------------------ */

struct berth_store;

struct berth_global {
        const char *root;          /* --root: the store (images, containers), /var/lib/berth */
        const char *runroot;       /* --runroot: container runtime state; default /run/berth, or
                                      ROOT/run when --root is given without --runroot */
        bool debug;                /* --debug / --log-level=debug */
        struct berth_store *store; /* opened on first use by berth_global_store() */
        char *const *argv;         /* berth's own, for the re-exec of berth_global_seal() */
};

/* Opens the store at g->root once. */
int berth_global_store(struct berth_global *g, struct berth_store **ret, struct berth_error **err);

/* For a command that clones into a container (a foreground run): re-executes berth from a
 * read-only view of its binary (runtime/selfexe.h, CVE-2019-5736), the runtime state dir being
 * overlayfs's second lower layer (made first). Returns only when sealed, or on an error. */
int berth_global_seal(const struct berth_global *g, struct berth_error **err);

struct berth_cmd {
        const char *name; /* "pull", "image inspect", "system df" */
        const char *summary;
        /* argv[0] is the command name. Returns the process exit code; prints its own errors
         * with berth_print_error(). */
        int (*run)(struct berth_global *g, int argc, char **argv);
};

/* Commands (one definition each, in cmd-*.c). */
extern const struct berth_cmd berth_cmd_pull, berth_cmd_images, berth_cmd_rmi,
    berth_cmd_image_inspect, berth_cmd_image_prune, berth_cmd_tag, berth_cmd_load, berth_cmd_save,
    berth_cmd_import, berth_cmd_login, berth_cmd_logout, berth_cmd_system_df, berth_cmd_run,
    berth_cmd_rm, berth_cmd_ps, berth_cmd_diff, berth_cmd_commit, berth_cmd_inspect, berth_cmd_stop,
    berth_cmd_kill, berth_cmd_wait, berth_cmd_logs, berth_cmd_attach, berth_cmd_exec, berth_cmd_top,
    berth_cmd_port;
extern const struct berth_cmd berth_cmd_cp, berth_cmd_stats;
extern const struct berth_cmd berth_cmd_pause, berth_cmd_unpause, berth_cmd_rename,
    berth_cmd_events;
extern const struct berth_cmd berth_cmd_create, berth_cmd_start, berth_cmd_restart;

/* The berth-monitor binary, next to this one (cmd-run.c; malloc'ed). */
char *berth_monitor_path(void);

/* ---- attach (cmd-attach.c) ------------------------------------------------------------- */

struct berth_attach_opts;
struct berth_ctr;

/* --sig-proxy: a signal we get, to the container *c (once it exists). */
struct berth_sig_proxy {
        struct berth_global *g;
        struct berth_ctr **c;
};
void berth_sig_proxy(int sig, void *userdata);
/* --detach-keys (NULL: docker's ctrl-p,ctrl-q) and --sig-proxy into o (proxy: its userdata). */
int berth_attach_opts_fill(const char *detach_keys, bool sig_proxy, struct berth_sig_proxy *proxy,
                           struct berth_attach_opts *o, struct berth_error **err);

/* `image inspect`'s object for image `what` (cmd-images.c), for `inspect --type image`. */
struct json_t;
int berth_image_inspect_json(struct berth_store *s, const char *what, struct json_t **ret,
                             struct berth_error **err);

/* ---- several containers at once (each.c) ------------------------------------------------ */

/* Acts on one container named `what`; <0 with *err on failure. */
typedef int (*berth_each_fn)(struct berth_global *g, const char *what, void *userdata,
                             struct berth_error **err);
/* Runs fn on each of whats[0..n) at once (a child process each; one runs in-process) and prints,
 * in argument order, each name or its error. Returns 0, or BERTH_EXIT_FAILED if any failed. */
int berth_each(struct berth_global *g, char *const *whats, int n, berth_each_fn fn, void *userdata);

/* ---- output (output.c) -------------------------------------------------------------------- */

/* "berth: <msg>" on stderr (the message once, as the library built it). Returns 125. */
int berth_print_error(const struct berth_error *e);
/* The same, for a command acting on existing objects (stop, kill, wait, rm, logs): docker's CLI
 * exits 1 when the daemon refuses ("No such container", "is not running"); returns
 * BERTH_EXIT_FAILED. */
int berth_print_failure(const struct berth_error *e);
/* docker's sizes: 1000-based, 3 significant digits: "4.26MB", "812kB", "0B". malloc'ed. */
char *berth_human_size(int64_t bytes);
/* docker's "About a minute ago", "3 hours ago" from unix seconds. malloc'ed. */
char *berth_human_ago(int64_t unix_seconds);
/* go-units HumanSizeWithPrecision ("%.<precision>g", 1000-based: "2.05kB", "139kB") and
 * BytesSize (1024-based, 4 digits: "464KiB", "23.54GiB"), units.c. malloc'ed. */
char *berth_human_size_prec(uint64_t bytes, int precision);
char *berth_bytes_size(uint64_t bytes);
/* docker's units.HumanDuration: "Less than a second", "About an hour", "3 days". malloc'ed. */
char *berth_human_duration(int64_t seconds);
/* RFC 3339 ("2024-01-02T03:04:05.123Z", "...+02:00") to unix seconds; -EINVAL if not one. */
int berth_parse_rfc3339(const char *s, int64_t *ret);

/* docker's --format for one object: a Go-template subset, {{.A.B}} (strings as they are, arrays
 * as [a b], objects as map[k:v], a missing key as <no value>) and {{json .A}} / {{json .}}, with
 * the text around them kept; "\t" and "\n" escapes become tab and newline. -EINVAL names an
 * unsupported action. ret: malloc'ed, without a trailing newline. */
struct json_t;
int berth_format_template(const char *tmpl, struct json_t *obj, char **ret,
                          struct berth_error **err);

/* "berth: warning: <msg>" on stderr. */
void berth_print_warning(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Tables aligned like docker's tabwriter (minimum cell width 10, 3 spaces of padding, the last
 * column unpadded). Cells are copied. */
struct berth_table;
struct berth_table *berth_table_new(size_t n_cols, ...); /* the n_cols header cells */
void berth_table_add(struct berth_table *t, ...);        /* n_cols cells (const char *) */
/* The same from arrays (a template's cells: n may differ from n_cols, the rest are empty). */
struct berth_table *berth_table_new_cells(const char *const *header, size_t n_cols);
void berth_table_add_cells(struct berth_table *t, const char *const *cells, size_t n);
void berth_table_print(const struct berth_table *t, FILE *f);
void berth_table_free(struct berth_table *t);

/* ---- pull progress (progress.c) ----------------------------------------------------------- */

struct berth_pull_event;
struct berth_progress;
/* Renders pull events on f as docker pull does: on a terminal (tty) a line per layer redrawn in
 * place with a bar; otherwise a plain line at each phase change. */
struct berth_progress *berth_progress_new(FILE *f, bool tty);
/* A berth_pull_progress_fn (registry.h); userdata is the struct berth_progress. */
void berth_progress_event(const struct berth_pull_event *ev, void *userdata);
/* Draws the final state of every line (tty). */
void berth_progress_finish(struct berth_progress *p);
void berth_progress_free(struct berth_progress *p);
