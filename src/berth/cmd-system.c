/* SPDX-License-Identifier: Apache-2.0 */
#include "stub.h"
BERTH_STUB(berth_cmd_system_df, "system df");
