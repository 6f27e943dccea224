/* SPDX-License-Identifier: Apache-2.0 */
/* berth-oci state ID: prints the OCI state JSON. */
#include "runtime/container.h"
#include "oci.h"
#include "base/util.h"

static int cmd_state(const struct oci_global *g, const struct oci_args *a, struct berth_error **err)
{
        _autocontainer_ struct berth_container *c = NULL;
        _autofree_ char *json = NULL;
        int r;

        r = oci_load_container(g, a->pos[0], &c, err);
        if (r < 0)
                return r;
        berth_container_observe(c);
        json = berth_container_state_json(c);
        if (!json)
                return berth_error_setx(err, ENOMEM, "state of container \"%s\": out of memory",
                                        c->id);
        r = oci_print_text(json, err);
        return r < 0 ? r : 0;
}

const struct oci_command oci_cmd_state = {
    .name = "state",
    .summary = "output the state of a container",
    .usage = "<container-id>",
    .description = OCI_HELP_ID "\nDESCRIPTION:\n"
                               "   The state command outputs current state information for the\n"
                               "instance of a container.\n",
    .min_args = 1,
    .max_args = 1,
    .run = cmd_state,
};
