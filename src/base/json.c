/* SPDX-License-Identifier: Apache-2.0 */
#include "base/json.h"

json_t *berth_json_strv(char *const *v)
{
        json_t *a = json_array();

        for (size_t i = 0; v && v[i]; i++)
                json_array_append_new(a, json_string(v[i]));
        return a;
}

json_t *berth_json_strv_or_null(char *const *v)
{
        return v ? berth_json_strv(v) : json_null();
}

void berth_json_set_kv(json_t *o, const struct berth_kv *kv, size_t n)
{
        for (size_t i = 0; i < n; i++)
                json_object_set_new(o, kv[i].key, json_string(kv[i].value ? kv[i].value : ""));
}

json_t *berth_json_kv(const struct berth_kv *kv, size_t n)
{
        json_t *o = json_object();

        berth_json_set_kv(o, kv, n);
        return o;
}
