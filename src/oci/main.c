/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-oci: an OCI runtime with runc's command line, so podman, containerd and docker drive it
 * unchanged. This file parses the global flags and dispatches to one command per file.
 */
#include <seccomp.h>
#include <stdio.h>

#include "base/log.h"
#include "oci.h"
#include "runtime/selfexe.h"
#include "runtime/state.h"
#include "base/util.h"

/* In runc's order: its --help lists them so, with --help and --version last. */
enum { G_DEBUG, G_LOG, G_LOG_FORMAT, G_ROOT, G_CRIU, G_SYSTEMD_CGROUP, G_ROOTLESS, G_VERSION };

static const struct oci_flag global_flags[] = {
    [G_DEBUG] = {"debug", 0, false, "enable debug logging"},
    [G_LOG] = {"log", 0, true,
               "set the log file to write " OCI_PROG " logs to (default is '/dev/stderr')"},
    [G_LOG_FORMAT] = {"log-format", 0, true,
                      "set the log format ('text' (default), or 'json') (default: \"text\")"},
    [G_ROOT] = {"root", 0, true,
                "root directory for storage of container state (this should be located in tmpfs) "
                "(default: \"" OCI_DEFAULT_ROOT "\")"},
    [G_CRIU] = {"criu", 0, true,
                "path to the criu binary used for checkpoint and restore (ignored)"},
    [G_SYSTEMD_CGROUP] = {"systemd-cgroup", 0, false,
                          "enable systemd cgroup support (not supported yet)"},
    [G_ROOTLESS] =
        {"rootless", 0, true,
         "ignore cgroup permission errors ('true', 'false', or 'auto') (default: \"auto\")"},
    [G_VERSION] = {"version", 'v', false, "print the version"},
};

/* The cgroup commands (cmd-pause.c, cmd-resume.c, cmd-ps.c, cmd-update.c, cmd-events.c). */
extern const struct oci_command oci_cmd_pause, oci_cmd_resume, oci_cmd_ps, oci_cmd_update,
    oci_cmd_events, oci_cmd_exec, oci_cmd_checkpoint, oci_cmd_restore;

static const struct oci_command *const commands[] = {
    &oci_cmd_checkpoint, &oci_cmd_create,   &oci_cmd_delete, &oci_cmd_events, &oci_cmd_exec,
    &oci_cmd_kill,       &oci_cmd_list,     &oci_cmd_pause,  &oci_cmd_ps,     &oci_cmd_restore,
    &oci_cmd_resume,     &oci_cmd_run,      &oci_cmd_spec,   &oci_cmd_start,  &oci_cmd_state,
    &oci_cmd_update,     &oci_cmd_features,
};

/* The lines after the version number, shared by --version and --help: runc's "commit:" and
 * "spec:" lines in runc's places (docker parses "commit:", runc's tests read "spec:" as the third
 * line). */
static void print_version_details(void)
{
        const struct scmp_version *v = seccomp_version();

        printf("commit: %s\n", oci_commit);
        printf("spec: %s\n", OCI_SPEC_VERSION);
        if (v)
                printf("libseccomp: %u.%u.%u\n", v->major, v->minor, v->micro);
}

static void print_version(void)
{
        printf("%s version %s\n", OCI_PROG, BERTH_VERSION);
        print_version_details();
}

static void print_main_help(void)
{
        printf("NAME:\n   %s - Open Container Initiative runtime\n\n"
               "%s is a runc-compatible command line client for running applications packaged\n"
               "according to the Open Container Initiative (OCI) format.\n\n"
               "To start a new instance of a container:\n\n"
               "    # %s run [ -b bundle ] <container-id>\n\n"
               "USAGE:\n   %s [global options] command [command options] [arguments...]\n\n"
               "VERSION:\n   %s\n",
               OCI_PROG, OCI_PROG, OCI_PROG, OCI_PROG, BERTH_VERSION);
        print_version_details();
        printf("\nCOMMANDS:\n");
        for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
                printf("   %-10s  %s\n", commands[i]->name, commands[i]->summary);
        printf("   %-10s  %s\n", "help, h", "Shows a list of commands or help for one command");
        printf("\nGLOBAL OPTIONS:\n");
        for (size_t i = 0; i < ARRAY_SIZE(global_flags); i++) {
                const struct oci_flag *f = &global_flags[i];
                _autofree_ char *label =
                    f->short_name ? xasprintf("--%s, -%c", f->name, f->short_name)
                                  : xasprintf("--%s%s", f->name, f->takes_value ? " value" : "");

                if (i == G_VERSION)
                        printf("   %-18s  %s\n", "--help, -h", "show help");
                printf("   %-18s  %s\n", label, f->usage);
        }
}

static const struct oci_command *find_command(const char *name)
{
        for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
                if (streq(commands[i]->name, name))
                        return commands[i];
        return NULL;
}

static int check_arg_count(const struct oci_command *cmd, int n, struct berth_error **err)
{
        const char *s = cmd->min_args == 1 ? "" : "s";

        if (cmd->min_args == cmd->max_args && n != cmd->min_args) {
                if (cmd->min_args == 0)
                        return berth_error_setx(err, EINVAL, "\"%s\" takes no arguments",
                                                cmd->name);
                return berth_error_setx(err, EINVAL, "\"%s\" requires exactly %d argument%s",
                                        cmd->name, cmd->min_args, s);
        }
        if (n < cmd->min_args)
                return berth_error_setx(err, EINVAL, "\"%s\" requires at least %d argument%s",
                                        cmd->name, cmd->min_args, s);
        if (n > cmd->max_args)
                return berth_error_setx(err, EINVAL, "\"%s\" requires at most %d argument%s",
                                        cmd->name, cmd->max_args, cmd->max_args == 1 ? "" : "s");
        return 0;
}

/* Before anything is cloned into a container (selfexe.h). The state root is overlayfs's second
 * lower layer, so it must exist first. */
static int seal_binary(const struct oci_global *g, struct berth_error **err)
{
        _autoclose_ int rootfd = -EBADF;
        int r = berth_state_root_open(g->root, &rootfd, err);

        if (r < 0)
                return r;
        oci_log_keep_across_exec(true);
        r = berth_exe_seal(g->argv, g->root, err);
        oci_log_keep_across_exec(false);
        return r;
}

static int run_command(const struct oci_command *cmd, const struct oci_global *g, int argc,
                       char **argv, struct berth_error **err)
{
        struct oci_args a;
        int r;

        r = oci_args_parse(cmd->flags, cmd->n_flags, argc, argv, cmd->flags_end_at_arg, &a, err);
        if (r < 0)
                return berth_error_prefix(err, "%s", cmd->name);
        if (a.help) {
                oci_command_help(cmd);
                oci_args_clear(&a);
                return 0;
        }
        r = check_arg_count(cmd, a.n_pos, err);
        if (r >= 0 && cmd->seals_binary)
                r = seal_binary(g, err);
        if (r >= 0 && cmd->needs_cgroups && g->systemd_cgroup)
                r = berth_error_setx(err, ENOTSUP,
                                     "--systemd-cgroup: the systemd cgroup driver is "
                                     "not supported yet; use cgroupfs");
        if (r >= 0)
                r = cmd->run(g, &a, err);
        oci_args_clear(&a);
        return r;
}

/* runc's answer to "help foo" and to an unknown command "foo" (with or without -h): the error
 * "No help topic for 'foo'" and exit status 3 (urfave/cli's); for an unknown command berth-oci
 * says what happened after runc's words. */
static int no_help_topic(const char *name, bool unknown_command)
{
        _autoerr_ struct berth_error *e = NULL;

        if (unknown_command)
                berth_error_setx(&e, EINVAL,
                                 "No help topic for '%s' (unknown command; see '%s --help')", name,
                                 OCI_PROG);
        else
                berth_error_setx(&e, EINVAL, "No help topic for '%s'", name);
        oci_print_error(e);
        return 3;
}

/* "help", "help CMD", and unknown commands. */
static int run_other(const char *name, int argc, char **argv)
{
        if (streq(name, "help") || streq(name, "h")) {
                const struct oci_command *cmd = argc > 0 ? find_command(argv[0]) : NULL;

                if (argc > 0 && !cmd)
                        return no_help_topic(argv[0], false);
                if (cmd)
                        oci_command_help(cmd);
                else
                        print_main_help();
                return 0;
        }
        return no_help_topic(name, true);
}

static const char *default_root(void)
{
        static char buf[4096];
        const char *xdg = getenv("XDG_RUNTIME_DIR");

        /* As runc: an unprivileged caller keeps its state under $XDG_RUNTIME_DIR. */
        if (geteuid() != 0 && xdg && *xdg) {
                snprintf(buf, sizeof(buf), "%s/%s", xdg, OCI_PROG);
                return buf;
        }
        return OCI_DEFAULT_ROOT;
}

static int parse_global_values(const struct oci_args *a, struct oci_global *g,
                               struct berth_error **err)
{
        const char *fmt = a->values[G_LOG_FORMAT], *rootless = a->values[G_ROOTLESS];

        g->root = a->values[G_ROOT] ? a->values[G_ROOT] : default_root();
        g->log_path = a->values[G_LOG];
        g->debug = oci_args_bool(a, G_DEBUG);
        g->systemd_cgroup = oci_args_bool(a, G_SYSTEMD_CGROUP);
        g->rootless = rootless ? rootless : "auto";
        if (fmt && !streq(fmt, "text") && !streq(fmt, "json"))
                return berth_error_setx(err, EINVAL,
                                        "invalid --log-format \"%s\": expected text or json", fmt);
        g->log_json = fmt && streq(fmt, "json");
        if (!streq(g->rootless, "true") && !streq(g->rootless, "false") &&
            !streq(g->rootless, "auto"))
                return berth_error_setx(
                    err, EINVAL, "invalid --rootless value \"%s\": expected true, false or auto",
                    g->rootless);
        if (g->root[0] == '\0')
                return berth_error_setx(err, EINVAL, "--root must not be empty");
        return 0;
}

static int run_main(int argc, char **argv, struct berth_error **err)
{
        struct oci_global g = {.argv = argv};
        const struct oci_command *cmd;
        struct oci_args a;
        bool version, help;
        int r, next;

        r = oci_args_parse(global_flags, ARRAY_SIZE(global_flags), argc - 1, argv + 1, true, &a,
                           err);
        if (r < 0)
                return r;
        next = a.next + 1;
        r = parse_global_values(&a, &g, err);
        version = oci_args_bool(&a, G_VERSION);
        help = a.help || next >= argc;
        oci_args_clear(&a);
        if (r >= 0 && (g.log_path || g.log_json))
                r = oci_log_setup(g.log_path, g.log_json, err);
        if (r < 0)
                return r;
        if (g.debug || streq_ptr(getenv("BERTH_TRACE"), "1"))
                berth_trace_enable(true);
        if (version)
                print_version();
        else if (help)
                print_main_help();
        if (version || help)
                return 0;
        cmd = find_command(argv[next]);
        if (!cmd)
                return run_other(argv[next], argc - next - 1, argv + next + 1);
        return run_command(cmd, &g, argc - next - 1, argv + next + 1, err);
}

int main(int argc, char **argv)
{
        _autoerr_ struct berth_error *err = NULL;
        struct berth_error *setup_err = NULL;
        int r;

        /* Until the command line names a destination, log to a private copy of stderr. */
        if (oci_log_setup(NULL, false, &setup_err) < 0)
                berth_error_free(setup_err);
        r = run_main(argc, argv, &err);
        if (r < 0) {
                oci_print_error(err);
                return 1;
        }
        return r > 255 ? 255 : r;
}
