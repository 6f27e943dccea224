/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * berth-oci: the runc-compatible front end. main.c parses the global flags and dispatches to one
 * struct oci_command per file (cmd-*.c); args.c is the table-driven flag parser shared by both
 * levels; output.c owns the log destination and prints each error exactly once.
 */

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

#define OCI_PROG "berth-oci"
#define OCI_SPEC_VERSION "1.2.0"
#define OCI_DEFAULT_ROOT "/run/berth-oci"

/* ---- flag parsing (args.c) ---------------------------------------------------------------- */

/*
 * One flag of a command, as urfave/cli (runc's parser) accepts it: "--name", "-name", "--name=v",
 * "--name v", "-n v"; booleans also take "--name=true|false" (never a separate word).
 */
struct oci_flag {
        const char *name; /* long name without dashes: "bundle" */
        char short_name;  /* 'b', or 0 */
        bool takes_value;
        const char *usage; /* one line for --help */
        bool repeatable;   /* each occurrence is kept, in order (runc's StringSlice flags) */
};

#define OCI_FLAGS_MAX 24

struct oci_args {
        /* Per flag of the table: the value given ("true"/"false" for booleans), NULL if absent. */
        const char *values[OCI_FLAGS_MAX];
        /* Per repeatable flag: every value, NULL-terminated (NULL if absent). */
        const char **lists[OCI_FLAGS_MAX];
        char **pos; /* positional arguments (pointers into argv), NULL-terminated */
        int n_pos;
        bool help; /* -h / --help was given */
        int next;  /* with stop_at_positional: index in argv of the first positional */
};

/*
 * Parses argv[0..argc) against flags. With stop_at_positional (the global flags, `ps`), flags end
 * at the first positional argument; otherwise flags and positionals may be mixed, as urfave/cli
 * reorders them, and "--" ends the flags. "-" alone is a positional.
 * Errors (-EINVAL): "unknown flag --foo", "flag --bundle needs a value",
 * "invalid boolean value "x" for --detach". On success the caller frees with oci_args_clear().
 */
int oci_args_parse(const struct oci_flag *flags, size_t n_flags, int argc, char **argv,
                   bool stop_at_positional, struct oci_args *ret, struct berth_error **err);
void oci_args_clear(struct oci_args *a);

/* The boolean value of flag i (false when absent). */
bool oci_args_bool(const struct oci_args *a, size_t i);

/* ---- commands ----------------------------------------------------------------------------- */

struct oci_global {
        const char *root;     /* state root */
        const char *log_path; /* NULL: stderr */
        bool log_json;
        bool debug;
        bool systemd_cgroup;
        const char *rootless; /* "true", "false" or "auto" */
        char *const *argv;    /* our own command line, for the re-exec of berth_exe_seal() */
};

struct oci_command {
        const char *name;
        const char *summary;     /* one line: NAME section and the command list */
        const char *usage;       /* after "berth-oci NAME ": "[command options] <container-id>" */
        const char *description; /* text after USAGE (may be NULL) */
        const struct oci_flag *flags;
        size_t n_flags;
        int min_args, max_args;
        bool needs_cgroups;    /* refuses --systemd-cgroup */
        bool flags_end_at_arg; /* flags end at the first positional (ps ID -ef), as runc's ps */
        bool seals_binary;     /* clones into a container: re-exec from a read-only binary first */
        /* Returns the exit code (>= 0), or -errno with err set (exit 1, error printed once). */
        int (*run)(const struct oci_global *g, const struct oci_args *a, struct berth_error **err);
};

extern const struct oci_command oci_cmd_create, oci_cmd_start, oci_cmd_run, oci_cmd_state,
    oci_cmd_kill, oci_cmd_delete, oci_cmd_list, oci_cmd_spec, oci_cmd_features;

/* Prints "NAME/USAGE/DESCRIPTION/OPTIONS" for cmd to stdout, like runc's per-command help. */
void oci_command_help(const struct oci_command *cmd);

/* ---- output (output.c) -------------------------------------------------------------------- */

/*
 * Opens the log destination (the --log file, O_APPEND|O_CREAT, 0644, or a duplicate of stderr)
 * on a dedicated close-on-exec fd and installs the libberth log handler on it. Records are
 * runc's (logrec.h): to a --log file always, to stderr with json and for debug records; errors
 * and warnings on stderr in text stay "berth-oci: MSG" / "berth-oci: warning: MSG" (output.c).
 * A --log fd kept open across the re-exec from the sealed binary is taken over, not reopened.
 */
int oci_log_setup(const char *path, bool json, struct berth_error **err);

/* Around berth_exe_seal(): keep (true) the --log fd open across its re-exec, so that a fifo's
 * reader never sees the log closed and then reopened; false puts close-on-exec back when no
 * re-exec happened. */
void oci_log_keep_across_exec(bool keep);

/* Prints a failed command's error exactly once, as one record of the log (containerd reads the
 * last error record of a --log file in json); with --log FILE also "berth-oci: <msg>" on stderr,
 * as runc prints its error there when its log is elsewhere. */
void oci_print_error(const struct berth_error *e);

/* Writes s (plus a newline if it lacks one) to stdout and flushes. -errno on a write error. */
int oci_print_text(const char *s, struct berth_error **err);

/* ---- helpers shared by commands ----------------------------------------------------------- */

/* Validates the container id and loads it. */
struct berth_container;
int oci_load_container(const struct oci_global *g, const char *id, struct berth_container **ret,
                       struct berth_error **err);

/* Parses --preserve-fds N (absent: 0). */
int oci_parse_preserve_fds(const char *value, int *ret, struct berth_error **err);
/* $LISTEN_FDS when $LISTEN_PID is ours (systemd socket activation), else 0: create and run pass
 * fds 3 .. 3+N-1 on before the preserved ones, as runc ("stdio + $LISTEN_FDS + N in total"). */
int oci_listen_fds(void);

/* ---- help texts shared by create and run --------------------------------------------------- */

#define OCI_HELP_ID_NEW                                                                            \
        "\nWhere \"<container-id>\" is your name for the instance of the container that you\n"     \
        "are starting. The name you provide for the container instance must be unique on\n"        \
        "your host.\n"
#define OCI_HELP_ID "\nWhere \"<container-id>\" is the name for the instance of the container.\n"
#define OCI_USAGE_BUNDLE                                                                           \
        "path to the root of the bundle directory, defaults to the current directory"
#define OCI_USAGE_CONSOLE_SOCKET                                                                   \
        "path to an AF_UNIX socket which will receive a file descriptor referencing the master "   \
        "end of the console's pseudoterminal"
#define OCI_USAGE_PID_FILE "specify the file to write the process id to"
#define OCI_USAGE_NO_PIVOT                                                                         \
        "do not use pivot root to jail process inside rootfs.  This should be used whenever the "  \
        "rootfs is on top of a ramdisk"
#define OCI_USAGE_NO_NEW_KEYRING                                                                   \
        "do not create a new session keyring for the container.  This will cause the container "   \
        "to inherit the calling processes session key"
#define OCI_USAGE_PRESERVE_FDS                                                                     \
        "Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total) "  \
        "(default: 0)"
