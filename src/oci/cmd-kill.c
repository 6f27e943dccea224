/* SPDX-License-Identifier: Apache-2.0 */
/* berth-oci kill [--all] ID [SIGNAL] */
#include <signal.h>

#include "base/signal.h"
#include "runtime/container.h"
#include "oci.h"
#include "base/util.h"

enum { F_ALL };

static const struct oci_flag flags[] = {
    [F_ALL] = {"all", 'a', false,
               "send the specified signal to all processes inside the container"},
};

static int cmd_kill(const struct oci_global *g, const struct oci_args *a, struct berth_error **err)
{
        _autocontainer_ struct berth_container *c = NULL;
        int sig = SIGTERM, r;

        r = berth_id_validate(a->pos[0], err);
        if (r < 0)
                return r;
        if (a->n_pos > 1) {
                r = berth_signal_parse(a->pos[1], &sig, err);
                if (r < 0)
                        return r;
        }
        /* a damaged state.json does not make the container unkillable */
        r = berth_container_load_any(g->root, a->pos[0], &c, err);
        if (r < 0)
                return r;
        r = berth_container_kill(c, sig, oci_args_bool(a, F_ALL), err);
        if (r < 0)
                return r;
        /* runc thaws a paused container after SIGKILL: on cgroup v1 a frozen process does not
         * die until it is thawed. */
        if (sig == SIGKILL) {
                berth_container_observe(c);
                if (c->status == BERTH_STATUS_PAUSED)
                        (void) berth_container_resume(c, NULL);
        }
        return 0;
}

const struct oci_command oci_cmd_kill = {
    .name = "kill",
    .summary = "kill sends the specified signal (default: SIGTERM) to the container's init process",
    .usage = "[command options] <container-id> [signal]",
    .description =
        "\nWhere \"<container-id>\" is the name for the instance of the container and\n"
        "\"[signal]\" is the signal to be sent to the init process.\n\n"
        "EXAMPLE:\n"
        "For example, if the container id is \"ubuntu01\" the following will send a \"KILL\"\n"
        "signal to the init process of the \"ubuntu01\" container:\n\n"
        "       # " OCI_PROG " kill ubuntu01 KILL\n",
    .flags = flags,
    .n_flags = ARRAY_SIZE(flags),
    .min_args = 1,
    .max_args = 2,
    .run = cmd_kill,
};
