/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>

#include "image/curl-dl.h"

struct berth_curl_api berth_curl;

static int global_init(struct berth_error **err)
{
        CURLcode c = curl_global_init(CURL_GLOBAL_DEFAULT);

        if (c != CURLE_OK)
                return berth_error_setx(err, EIO, "curl_global_init: %s", curl_easy_strerror(c));
        return 0;
}

BERTH_DLIB(libcurl, berth_curl, BERTH_CURL_FUNCS, "libcurl.so.4", "libcurl4", global_init);

int berth_curl_load(struct berth_error **err)
{
        return berth_dlib_load(&libcurl, err);
}
