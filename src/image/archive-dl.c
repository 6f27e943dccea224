/* SPDX-License-Identifier: Apache-2.0 */
#include "image/archive-dl.h"

struct berth_archive_api berth_archive;

BERTH_DLIB(libarchive, berth_archive, BERTH_ARCHIVE_FUNCS, "libarchive.so.13", "libarchive13",
           NULL);

int berth_archive_load(struct berth_error **err)
{
        return berth_dlib_load(&libarchive, err);
}
