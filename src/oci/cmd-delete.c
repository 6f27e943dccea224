/* SPDX-License-Identifier: Apache-2.0 */
/* berth-oci delete [--force] ID */
#include "runtime/container.h"
#include "oci.h"
#include "base/util.h"

enum { F_FORCE };

static const struct oci_flag flags[] = {
    [F_FORCE] = {"force", 'f', false,
                 "Forcibly deletes the container if it is still running (uses SIGKILL)"},
};

static int cmd_delete(const struct oci_global *g, const struct oci_args *a,
                      struct berth_error **err)
{
        _autocontainer_ struct berth_container *c = NULL;
        bool force = oci_args_bool(a, F_FORCE);
        int r;

        /* a damaged state.json does not stop delete: what it needs is recovered */
        r = berth_container_load_any(g->root, a->pos[0], &c, err);
        /* As runc: deleting a container that is already gone succeeds with --force, so clients
         * can clean up after an aborted create without checking first. */
        if (r == -ENOENT && force)
                return 0;
        if (r < 0)
                return r;
        /* As runc: a created container never ran the user's program; deleting it needs no force. */
        if (c->status == BERTH_STATUS_CREATED)
                force = true;
        r = berth_container_delete(c, force, err);
        return r < 0 ? r : 0;
}

const struct oci_command oci_cmd_delete = {
    .name = "delete",
    .summary = "delete any resources held by the container often used with detached container",
    .usage = "[command options] <container-id>",
    .description = OCI_HELP_ID
    "\nEXAMPLE:\n"
    "For example, if the container id is \"ubuntu01\" and " OCI_PROG " list currently shows the\n"
    "status of \"ubuntu01\" as \"stopped\" the following will delete resources held for\n"
    "\"ubuntu01\" removing \"ubuntu01\" from the " OCI_PROG " list of containers:\n\n"
    "       # " OCI_PROG " delete ubuntu01\n",
    .flags = flags,
    .n_flags = ARRAY_SIZE(flags),
    .min_args = 1,
    .max_args = 1,
    .run = cmd_delete,
};
