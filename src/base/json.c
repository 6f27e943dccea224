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

const char *berth_json_kind(const json_t *v)
{
        switch (json_typeof(v)) {
        case JSON_OBJECT:
                return "object";
        case JSON_ARRAY:
                return "array";
        case JSON_STRING:
                return "string";
        case JSON_INTEGER:
                return "integer";
        case JSON_REAL:
                return "number";
        case JSON_TRUE:
        case JSON_FALSE:
                return "boolean";
        case JSON_NULL:
        default:
                return "null";
        }
}
