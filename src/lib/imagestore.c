/* SPDX-License-Identifier: Apache-2.0 */
/* placeholder: being written */
#include "util.h"
#include "imagestore.h"

int berth_store_open(const char *root, struct berth_store **ret, struct berth_error **err)
{
        (void)ret;
        return berth_error_setx(err, ENOSYS, "image store %s: not implemented yet", root);
}

void berth_store_free(struct berth_store *s)
{
        (void)s;
}
