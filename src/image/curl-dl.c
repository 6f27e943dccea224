/* SPDX-License-Identifier: Apache-2.0 */
#include <dlfcn.h>
#include <pthread.h>

#include "image/curl-dl.h"
#include "base/util.h"

struct berth_curl_api berth_curl;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char *load_error; /* set once by load() */
static int load_code;

static const struct {
        const char *name;
        size_t offset;
} symbols[] = {
#define SYM(field, name)                                                                           \
        {                                                                                          \
                name, offsetof(struct berth_curl_api, field)                                       \
        }
    SYM(global_init, "curl_global_init"),     SYM(easy_init, "curl_easy_init"),
    SYM(easy_setopt, "curl_easy_setopt"),     SYM(easy_perform, "curl_easy_perform"),
    SYM(easy_reset, "curl_easy_reset"),       SYM(easy_cleanup, "curl_easy_cleanup"),
    SYM(easy_strerror, "curl_easy_strerror"), SYM(easy_escape, "curl_easy_escape"),
    SYM(slist_append, "curl_slist_append"),   SYM(slist_free_all, "curl_slist_free_all"),
#undef SYM
};

static void load(void)
{
        /* never closed: libcurl stays for the life of the process */
        void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
        CURLcode c;

        if (!h) {
                load_code = ELIBACC;
                load_error = xasprintf("load libcurl.so.4: %s", dlerror());
                return;
        }
        for (size_t i = 0; i < ARRAY_SIZE(symbols); i++) {
                void *f = dlsym(h, symbols[i].name);

                if (!f) {
                        load_code = ELIBACC;
                        load_error = xasprintf("load libcurl.so.4: %s", dlerror());
                        return;
                }
                memcpy((char *) &berth_curl + symbols[i].offset, &f, sizeof(f));
        }
        c = berth_curl.global_init(CURL_GLOBAL_DEFAULT);
        if (c != CURLE_OK) {
                load_code = EIO;
                load_error = xasprintf("curl_global_init: %s", berth_curl.easy_strerror(c));
        }
}

int berth_curl_load(struct berth_error **err)
{
        pthread_once(&once, load);
        return load_error ? berth_error_setx(err, load_code, "%s", load_error) : 0;
}
