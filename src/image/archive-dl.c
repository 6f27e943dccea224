/* SPDX-License-Identifier: Apache-2.0 */
#define BERTH_ARCHIVE_DL_IMPL
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "image/archive-dl.h"
#include "base/util.h"

static struct berth_archive_api api;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static char *load_error; /* set once by load() */

static const char *const names[] = {
#define NAME(f) #f,
    BERTH_ARCHIVE_FUNCS(NAME)
#undef NAME
};

static void load(void)
{
        /* never closed: it stays for the life of the process */
        void *h = dlopen("libarchive.so.13", RTLD_NOW | RTLD_LOCAL);
        void **slot = (void **) &api;

        if (!h) {
                load_error = xasprintf("load libarchive.so.13: %s", dlerror());
                return;
        }
        for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
                slot[i] = dlsym(h, names[i]);
                if (!slot[i]) {
                        load_error = xasprintf("load libarchive.so.13: %s", dlerror());
                        return;
                }
        }
}

int berth_archive_load(struct berth_error **err)
{
        pthread_once(&once, load);
        return load_error ? berth_error_setx(err, ELIBACC, "%s", load_error) : 0;
}

const struct berth_archive_api *berth_archive_api(void)
{
        pthread_once(&once, load);
        if (load_error) {
                _autofree_ char *line = xasprintf("berth: %s\n", load_error);

                (void) !write(STDERR_FILENO, line, strlen(line));
                abort();
        }
        return &api;
}
