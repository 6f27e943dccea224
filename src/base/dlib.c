/* SPDX-License-Identifier: Apache-2.0 */
#include <dlfcn.h>
#include <pthread.h>

#include "base/dlib.h"
#include "base/util.h"

/* One lock for every library: each is loaded once, so it is taken a few times per process. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void fail(struct berth_dlib *lib, int code, char *msg)
{
        lib->code = code;
        lib->error = msg;
}

static void load(struct berth_dlib *lib)
{
        /* never closed: the library stays for the life of the process */
        void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
        struct berth_error *e = NULL;

        if (!h) {
                fail(lib, ELIBACC,
                     xasprintf("load %s: %s (install the Debian package %s)", lib->soname,
                               dlerror(), lib->package));
                return;
        }
        for (size_t i = 0; i < lib->n_names; i++) {
                void (*f)(void);
                void *sym = dlsym(h, lib->names[i]);

                if (!sym) {
                        fail(lib, ELIBACC,
                             xasprintf(
                                 "load %s: undefined symbol %s (upgrade the Debian package %s)",
                                 lib->soname, lib->names[i], lib->package));
                        return;
                }
                /* POSIX: a function's address from dlsym() converts to a function pointer */
                f = (void (*)(void)) sym;
                memcpy((char *) lib->table + i * sizeof(f), &f, sizeof(f));
        }
        if (lib->init && lib->init(&e) < 0) {
                fail(lib, e ? e->code : EIO, xstrdup(e ? e->msg : "init failed"));
                berth_error_free(e);
        }
}

int berth_dlib_load(struct berth_dlib *lib, struct berth_error **err)
{
        int state = __atomic_load_n(&lib->state, __ATOMIC_ACQUIRE);

        if (state == 0) {
                pthread_mutex_lock(&lock);
                if (lib->state == 0) {
                        load(lib);
                        __atomic_store_n(&lib->state, lib->error ? -1 : 1, __ATOMIC_RELEASE);
                }
                state = lib->state;
                pthread_mutex_unlock(&lock);
        }
        if (state < 0)
                return berth_error_setx(err, lib->code, "%s", lib->error);
        return 0;
}
