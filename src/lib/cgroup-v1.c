/* SPDX-License-Identifier: Apache-2.0 */
/* being written */
#include "cgroup-internal.h"
const struct cgroup_ops berth_cgroup_v1_ops;
