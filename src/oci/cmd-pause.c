/* SPDX-License-Identifier: Apache-2.0 */
/* berth-oci pause ID: freezes every process of the container. */
#include "runtime/container.h"
#include "oci.h"
#include "base/util.h"

static int cmd_pause(const struct oci_global *g, const struct oci_args *a, struct berth_error **err)
{
        _autocontainer_ struct berth_container *c = NULL;
        int r;

        r = oci_load_container(g, a->pos[0], &c, err);
        if (r < 0)
                return r;
        r = berth_container_pause(c, err);
        return r < 0 ? r : 0;
}

const struct oci_command oci_cmd_pause = {
    .name = "pause",
    .summary = "pause suspends all processes inside the container",
    .usage = "<container-id>",
    .description =
        "\nWhere \"<container-id>\" is the name for the instance of the container to be\n"
        "paused. \n\nDESCRIPTION:\n"
        "   The pause command suspends all processes in the instance of the container.\n\n"
        "Use " OCI_PROG " list to identify instances of containers and their current status.\n",
    .min_args = 1,
    .max_args = 1,
    .needs_cgroups = true,
    .run = cmd_pause,
};
