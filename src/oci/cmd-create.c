/* SPDX-License-Identifier: Apache-2.0 */
/* berth-oci create [--bundle B] [--console-socket S] [--pid-file F] [--no-pivot]
 *                  [--no-new-keyring] [--preserve-fds N] ID */
#include "runtime/container.h"
#include "oci.h"
#include "base/util.h"

enum { F_BUNDLE, F_CONSOLE_SOCKET, F_PID_FILE, F_NO_PIVOT, F_NO_NEW_KEYRING, F_PRESERVE_FDS };

static const struct oci_flag flags[] = {
    [F_BUNDLE] = {"bundle", 'b', true, OCI_USAGE_BUNDLE},
    [F_CONSOLE_SOCKET] = {"console-socket", 0, true, OCI_USAGE_CONSOLE_SOCKET},
    [F_PID_FILE] = {"pid-file", 0, true, OCI_USAGE_PID_FILE},
    [F_NO_PIVOT] = {"no-pivot", 0, false, OCI_USAGE_NO_PIVOT},
    [F_NO_NEW_KEYRING] = {"no-new-keyring", 0, false, OCI_USAGE_NO_NEW_KEYRING},
    [F_PRESERVE_FDS] = {"preserve-fds", 0, true, OCI_USAGE_PRESERVE_FDS},
};

int oci_listen_fds(void)
{
        const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
        uint64_t p, n;

        if (!pid || !fds || parse_u64(pid, &p) < 0 || p != (uint64_t) getpid())
                return 0;
        if (parse_u64(fds, &n) < 0 || n > 4096)
                return 0;
        return (int) n;
}

int oci_parse_preserve_fds(const char *value, int *ret, struct berth_error **err)
{
        uint64_t n = 0;

        if (value && (parse_u64(value, &n) < 0 || n > 65536))
                return berth_error_setx(err, EINVAL, "--preserve-fds: invalid number \"%s\"",
                                        value);
        *ret = (int) n;
        return 0;
}

static int cmd_create(const struct oci_global *g, const struct oci_args *a,
                      struct berth_error **err)
{
        _autocontainer_ struct berth_container *c = NULL;
        struct berth_create_opts o = {
            .root = g->root,
            .id = a->pos[0],
            .bundle = a->values[F_BUNDLE] ? a->values[F_BUNDLE] : ".",
            .pid_file = a->values[F_PID_FILE],
            .console_socket = a->values[F_CONSOLE_SOCKET],
            .no_pivot = oci_args_bool(a, F_NO_PIVOT),
            .no_new_keyring = oci_args_bool(a, F_NO_NEW_KEYRING),
            .listen_fds = oci_listen_fds(),
        };
        int r;

        r = berth_id_validate(o.id, err);
        if (r < 0)
                return r;
        r = oci_parse_preserve_fds(a->values[F_PRESERVE_FDS], &o.preserve_fds, err);
        if (r < 0)
                return r;
        r = berth_container_create(&o, &c, err);
        return r < 0 ? r : 0;
}

const struct oci_command oci_cmd_create = {
    .name = "create",
    .summary = "create a container",
    .usage = "[command options] <container-id>",
    .description = OCI_HELP_ID_NEW
    "\nDESCRIPTION:\n"
    "   The create command creates an instance of a container for a bundle. The bundle\n"
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
    .run = cmd_create,
};
