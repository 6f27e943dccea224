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

#include "error.h"

#define BERTH_PROG "berth"
#define BERTH_DEFAULT_ROOT "/var/lib/berth"
#define BERTH_DEFAULT_RUNROOT "/run/berth"
#define BERTH_EXIT_ENGINE 125
#define BERTH_EXIT_CANNOT_EXEC 126
#define BERTH_EXIT_NOT_FOUND 127

/* ---- flags (args.c) --------------------------------------------------------------------- */

enum berth_flag_kind {
        BERTH_FLAG_BOOL,  /* --rm, --rm=true|false; combinable short forms: -it */
        BERTH_FLAG_VALUE, /* --name N, --name=N, -n N, -nN; the last one wins */
        BERTH_FLAG_LIST,  /* -e A=1 -e B=2: every value, in order */
};

struct berth_flag {
        const char *name;  /* long name without dashes */
        char short_name;   /* or 0 */
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

/* ---- commands ------------------------------------------------------------------------------ */

struct berth_store;

struct berth_global {
        const char *root;    /* --root: the store (images, containers), /var/lib/berth */
        const char *runroot; /* --runroot: container runtime state; default /run/berth, or
                                ROOT/run when --root is given without --runroot */
        bool debug;          /* --debug / --log-level=debug */
        struct berth_store *store; /* opened on first use by berth_global_store() */
};

/* Opens the store at g->root once. */
int berth_global_store(struct berth_global *g, struct berth_store **ret, struct berth_error **err);

struct berth_cmd {
        const char *name;    /* "pull", "image inspect", "system df" */
        const char *summary;
        /* argv[0] is the command name. Returns the process exit code; prints its own errors
         * with berth_print_error(). */
        int (*run)(struct berth_global *g, int argc, char **argv);
};

/* Commands (one definition each, in cmd-*.c). */
extern const struct berth_cmd berth_cmd_pull, berth_cmd_images, berth_cmd_rmi,
        berth_cmd_image_inspect, berth_cmd_image_prune, berth_cmd_tag, berth_cmd_load,
        berth_cmd_save, berth_cmd_import, berth_cmd_login, berth_cmd_logout, berth_cmd_system_df,
        berth_cmd_run, berth_cmd_rm, berth_cmd_ps, berth_cmd_diff, berth_cmd_commit;

/* ---- output (output.c) -------------------------------------------------------------------- */

/* "berth: <msg>" on stderr (the message once, as the library built it). Returns 125. */
int berth_print_error(const struct berth_error *e);
/* docker's sizes: 1000-based, 3 significant digits: "4.26MB", "812kB", "0B". malloc'ed. */
char *berth_human_size(int64_t bytes);
/* docker's "About a minute ago", "3 hours ago" from unix seconds. malloc'ed. */
char *berth_human_ago(int64_t unix_seconds);
