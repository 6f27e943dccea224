/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-oci run: create + start, then (unless --detach) stay in the foreground as runc does:
 * a child subreaper that forwards signals to the container's init, relays its terminal when it
 * has one and no console socket, waits for it, deletes it (unless --keep) and exits with its
 * exit code, or 128 + the signal that killed it.
 */
#include <sys/prctl.h>

#include "runtime/container.h"
#include "runtime/foreground.h"
#include "base/log.h"
#include "oci.h"
#include "base/util.h"

enum {
        F_BUNDLE,
        F_CONSOLE_SOCKET,
        F_DETACH,
        F_KEEP,
        F_PID_FILE,
        F_NO_SUBREAPER,
        F_NO_PIVOT,
        F_NO_NEW_KEYRING,
        F_PRESERVE_FDS
};

static const struct oci_flag flags[] = {
    [F_BUNDLE] = {"bundle", 'b', true, OCI_USAGE_BUNDLE},
    [F_CONSOLE_SOCKET] = {"console-socket", 0, true, OCI_USAGE_CONSOLE_SOCKET},
    [F_DETACH] = {"detach", 'd', false, "detach from the container's process"},
    [F_KEEP] = {"keep", 0, false, "do not delete the container after it exits"},
    [F_PID_FILE] = {"pid-file", 0, true, OCI_USAGE_PID_FILE},
    [F_NO_SUBREAPER] = {"no-subreaper", 0, false,
                        "disable the use of the subreaper used to reap reparented processes"},
    [F_NO_PIVOT] = {"no-pivot", 0, false, OCI_USAGE_NO_PIVOT},
    [F_NO_NEW_KEYRING] = {"no-new-keyring", 0, false, OCI_USAGE_NO_NEW_KEYRING},
    [F_PRESERVE_FDS] = {"preserve-fds", 0, true, OCI_USAGE_PRESERVE_FDS},
};

/* runc's check of --console-socket that needs no config; the ones that depend on
 * process.terminal are create's (berth_container_create). */
static int check_console_socket(bool detach, const char *console_socket, struct berth_error **err)
{
        if (!detach && console_socket)
                return berth_error_setx(
                    err, EINVAL, "cannot use console socket if " OCI_PROG " will not detach");
        return 0;
}

static int fill_opts(const struct oci_global *g, const struct oci_args *a,
                     struct berth_create_opts *o, struct berth_error **err)
{
        bool detach = oci_args_bool(a, F_DETACH);
        int r;

        *o = (struct berth_create_opts){
            .root = g->root,
            .id = a->pos[0],
            .bundle = a->values[F_BUNDLE] ? a->values[F_BUNDLE] : ".",
            .pid_file = a->values[F_PID_FILE],
            .console_socket = a->values[F_CONSOLE_SOCKET],
            .no_pivot = oci_args_bool(a, F_NO_PIVOT),
            .no_new_keyring = oci_args_bool(a, F_NO_NEW_KEYRING),
        };
        r = berth_id_validate(o->id, err);
        if (r < 0)
                return r;
        o->listen_fds = oci_listen_fds();
        r = oci_parse_preserve_fds(a->values[F_PRESERVE_FDS], &o->preserve_fds, err);
        if (r < 0)
                return r;
        r = check_console_socket(detach, o->console_socket, err);
        if (r < 0)
                return r;
        /* relay the terminal ourselves if the config asks for one */
        o->foreground_tty = !o->console_socket && !detach;
        return 0;
}

static void discard(struct berth_container *c)
{
        _autoerr_ struct berth_error *derr = NULL;

        if (berth_container_delete(c, true, &derr) < 0)
                oci_print_error(derr);
}

static int run_foreground(struct berth_container *c, struct berth_foreground *fg, bool keep,
                          struct berth_error **err)
{
        int status = 0, r;

        r = berth_container_start(c, err);
        if (r >= 0)
                r = berth_foreground_wait(fg, c->pid, c->pidfd, c->pty_master, &status, err);
        if (r < 0) {
                discard(c);
                return r;
        }
        c->status = BERTH_STATUS_STOPPED;
        if (!keep)
                discard(c);
        return berth_exit_code(status);
}

static int cmd_run(const struct oci_global *g, const struct oci_args *a, struct berth_error **err)
{
        _autocontainer_ struct berth_container *c = NULL;
        _autoforeground_ struct berth_foreground *fg = NULL;
        struct berth_create_opts o;
        bool detach = oci_args_bool(a, F_DETACH);
        int r;

        r = fill_opts(g, a, &o, err);
        if (r < 0)
                return r;
        /* Processes the container leaves behind are reparented to us and reaped by the foreground
         * loop. */
        if (!detach && !oci_args_bool(a, F_NO_SUBREAPER) && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                berth_warn("become a child subreaper: %s, ignoring", strerror(errno));
        if (!detach) {
                r = berth_foreground_begin(&fg, err);
                if (r < 0)
                        return r;
        }
        r = berth_container_create(&o, &c, err);
        if (r < 0)
                return r;
        if (!detach)
                return run_foreground(c, fg, oci_args_bool(a, F_KEEP), err);
        r = berth_container_start(c, err);
        if (r < 0)
                discard(c);
        return r < 0 ? r : 0;
}

const struct oci_command oci_cmd_run = {
    .name = "run",
    .summary = "create and run a container",
    .usage = "[command options] <container-id>",
    .description = OCI_HELP_ID_NEW
    "\nDESCRIPTION:\n"
    "   The run command creates an instance of a container for a bundle. The bundle\n"
    "is a directory with a specification file named \"config.json\" and a root\n"
    "filesystem.\n\n"
    "The specification file includes an args parameter. The args parameter is used\n"
    "to specify command(s) that get run when the container is started. To change the\n"
    "command(s) that get executed on start, edit the args parameter of the spec. See\n"
    "\"" OCI_PROG " spec --help\" for more explanation.\n",
    .flags = flags,
    .n_flags = ARRAY_SIZE(flags),
    .min_args = 1,
    .max_args = 1,
    .needs_cgroups = true,
    .seals_binary = true,
    .run = cmd_run,
};
