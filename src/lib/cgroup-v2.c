/* SPDX-License-Identifier: Apache-2.0 */
/* placeholder until the v2 driver lands */
#include <errno.h>

#include "cgroup-internal.h"

static int unsupported(struct berth_cgroup *cg, struct berth_error **err)
{
        return berth_error_setx(err, ENOTSUP, "cgroup v2 hosts are not supported yet");
}

const struct cgroup_ops berth_cgroup_v2_ops = {
        .create = unsupported,
        .open = unsupported,
};
