/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* The JSON shapes every layer writes: string arrays and objects of strings (jansson). */

#include <jansson.h>

#include "base/kv.h"
#include "base/util.h"

/* What v is, for messages: "object", "array", "string", "integer", "number", "boolean", "null". */
const char *berth_json_kind(const json_t *v);

/* jansson's own json_decrefp (2.11+) */
#define _autojson_ _cleanup_(json_decrefp)

/* A new JSON array of the strings of the NULL-terminated v; an empty one for a NULL v. */
json_t *berth_json_strv(char *const *v);
/* The same, but JSON null for a NULL v (docker's absent Cmd or Entrypoint). */
json_t *berth_json_strv_or_null(char *const *v);

/* Sets each of the n pairs in the object o, key: value (a NULL value as ""). */
void berth_json_set_kv(json_t *o, const struct berth_kv *kv, size_t n);
/* A new JSON object of the n pairs. */
json_t *berth_json_kv(const struct berth_kv *kv, size_t n);
