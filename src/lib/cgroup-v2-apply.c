/* SPDX-License-Identifier: Apache-2.0 */
/* placeholder until the v2 resource writer lands */
#include <errno.h>

#include "cgroup-internal.h"

int berth_cgroup_v2_apply(struct berth_cgroup *cg, const struct berth_resources *r,
                          struct berth_error **err)
{
        return berth_error_setx(err, ENOTSUP, "cgroup v2: not implemented yet");
}
