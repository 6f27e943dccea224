/* SPDX-License-Identifier: Apache-2.0 */
#include "stub.h"
BERTH_STUB(berth_cmd_load, "load");
BERTH_STUB(berth_cmd_save, "save");
BERTH_STUB(berth_cmd_import, "import");
