/* SPDX-License-Identifier: Apache-2.0 */
#include "stub.h"
BERTH_STUB(berth_cmd_pull, "pull");
BERTH_STUB(berth_cmd_images, "images");
BERTH_STUB(berth_cmd_rmi, "rmi");
BERTH_STUB(berth_cmd_image_inspect, "image inspect");
BERTH_STUB(berth_cmd_image_prune, "image prune");
BERTH_STUB(berth_cmd_tag, "tag");
