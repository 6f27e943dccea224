/* SPDX-License-Identifier: Apache-2.0 */
/* berth-oci start ID: releases the init of a created container. */
#include "runtime/container.h"
#include "oci.h"
#include "base/util.h"

static int cmd_start(const struct oci_global *g, const struct oci_args *a, struct berth_error **err)
{
        _autocontainer_ struct berth_container *c = NULL;
        int r;

        r = oci_load_container(g, a->pos[0], &c, err);
        if (r < 0)
                return r;
        r = berth_container_start(c, err);
        return r < 0 ? r : 0;
}

const struct oci_command oci_cmd_start = {
    .name = "start",
    .summary = "executes the user defined process in a created container",
    .usage = "<container-id>",
    .description = OCI_HELP_ID_NEW
    "\nDESCRIPTION:\n"
    "   The start command executes the user defined process in a created container.\n",
    .min_args = 1,
    .max_args = 1,
    .run = cmd_start,
};
