/* SPDX-License-Identifier: Apache-2.0 */
/* placeholder until the v1 resource writer lands */
#include "cgroup-internal.h"

int berth_cgroup_v1_apply(struct berth_cgroup *cg, const struct berth_resources *r,
                          struct berth_error **err)
{
        return 0;
}
