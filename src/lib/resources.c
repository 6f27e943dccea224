/* SPDX-License-Identifier: Apache-2.0 */
/* placeholder until the resources parser lands: parses nothing */
#include "resources.h"
#include "util.h"

const struct berth_device_rule berth_default_device_rules[] = { { 0 } };
const size_t berth_n_default_device_rules = 0;

int berth_resources_parse(const char *json, const char *origin, const char *prefix,
                          struct berth_resources **ret, struct berth_error **err)
{
        *ret = xcalloc(1, sizeof(**ret));
        return 0;
}

void berth_resources_free(struct berth_resources *r)
{
        free(r);
}

uint64_t berth_cpu_shares_to_weight(uint64_t shares)
{
        return shares;
}

uint64_t berth_blkio_weight_to_io_weight(uint64_t weight)
{
        return weight;
}
