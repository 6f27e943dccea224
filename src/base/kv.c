/* SPDX-License-Identifier: Apache-2.0 */
#include "base/kv.h"
#include "base/util.h"

void berth_kv_free(struct berth_kv *kv, size_t n)
{
        for (size_t i = 0; kv && i < n; i++) {
                free(kv[i].key);
                free(kv[i].value);
        }
        free(kv);
}

struct berth_kv *berth_kv_copy(const struct berth_kv *kv, size_t n)
{
        struct berth_kv *v = n ? xcalloc(n, sizeof(*v)) : NULL;

        for (size_t i = 0; i < n; i++) {
                v[i].key = xstrdup(kv[i].key);
                v[i].value = xstrdup(kv[i].value);
        }
        return v;
}
