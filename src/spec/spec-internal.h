/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Internal to spec.c, spec-json.c and spec-linux.c: a small toolkit that turns jansson values into
 * typed C values, with errors that name the field path and the offending value:
 *
 *   linux.namespaces[2].type: unknown namespace type "foo"
 *   process.user.uid: 4294967296 is out of range (0..4294967295)
 *
 * A field path is a chain of stack-allocated links, rendered only when an error is reported:
 *
 *   const struct spec_path *p = FIELD(NULL, "process");
 *   r = spec_get_u32(obj, "uid", FIELD(p, "user"), OPT, &proc->uid, err);
 *
 * Getters return 1 when the field was present and stored, 0 when it is absent (or JSON null; Go
 * writers emit null for empty slices) and left *ret untouched, or -EINVAL with err set.
 */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "spec/spec.h"

struct spec_path {
        const struct spec_path *up;
        const char *key; /* NULL: an array element, idx */
        size_t idx;
};

#define FIELD(up_, key_) (&(const struct spec_path){.up = (up_), .key = (key_)})
#define INDEX(up_, i_) (&(const struct spec_path){.up = (up_), .key = NULL, .idx = (i_)})

enum spec_need { OPT, REQ };

/* QUOTE(s), for user-supplied strings in messages, is util.h's. */

/* Sets err to "<path>: <fmt>" (EINVAL) and returns -EINVAL. */
int spec_error(struct berth_error **err, const struct spec_path *p, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* berth_warn("<path>: <fmt>"): for what the spec allows but deprecates or this host lacks. */
void spec_warn(const struct spec_path *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* "<path>: expected <what>, got <kind of v>" */
int spec_type_error(const json_t *v, const struct spec_path *p, const char *what,
                    struct berth_error **err);
/* "<path>: required field is missing" */
int spec_missing(const struct spec_path *p, struct berth_error **err);
/* "<path>: "x" is not an absolute path" unless s starts with '/'. Returns 0 or -EINVAL. */
int spec_check_absolute(const char *s, const struct spec_path *p, struct berth_error **err);

/* Parses JSON text (duplicate keys rejected) whose top level must be an object. Syntax errors:
 * "<origin>:<line>:<column>: <jansson's text>". Unsigned integers above INT64_MAX (which jansson
 * cannot represent) are kept and read back by the unsigned getters. */
int spec_load_json(const char *text, size_t len, const char *origin, json_t **ret,
                   struct berth_error **err);

/* Value converters: type and range checks on one value. Return 0 or -EINVAL. */
int spec_to_object(json_t *v, const struct spec_path *p, struct berth_error **err);
int spec_to_string(const json_t *v, const struct spec_path *p, char **ret,
                   struct berth_error **err);
int spec_to_u64(const json_t *v, const struct spec_path *p, uint64_t max, uint64_t *ret,
                struct berth_error **err);
int spec_to_i64(const json_t *v, const struct spec_path *p, int64_t min, int64_t max, int64_t *ret,
                struct berth_error **err);

/* The value of obj[key], NULL when absent or null. */
json_t *spec_member(const json_t *obj, const char *key);

/* Object member getters: 1 = stored, 0 = absent (REQ makes that an error), < 0 = error. */
int spec_get_object(const json_t *obj, const char *key, const struct spec_path *up,
                    enum spec_need need, json_t **ret, struct berth_error **err);
int spec_get_array(const json_t *obj, const char *key, const struct spec_path *up,
                   enum spec_need need, json_t **ret, struct berth_error **err);
int spec_get_string(const json_t *obj, const char *key, const struct spec_path *up,
                    enum spec_need need, char **ret, struct berth_error **err);
int spec_get_bool(const json_t *obj, const char *key, const struct spec_path *up, bool *ret,
                  struct berth_error **err);
int spec_get_u64(const json_t *obj, const char *key, const struct spec_path *up,
                 enum spec_need need, uint64_t max, uint64_t *ret, struct berth_error **err);
int spec_get_i64(const json_t *obj, const char *key, const struct spec_path *up,
                 enum spec_need need, int64_t min, int64_t max, int64_t *ret,
                 struct berth_error **err);
int spec_get_u32(const json_t *obj, const char *key, const struct spec_path *up,
                 enum spec_need need, uint32_t *ret, struct berth_error **err);
int spec_get_int(const json_t *obj, const char *key, const struct spec_path *up,
                 enum spec_need need, int min, int max, int *ret, struct berth_error **err);
/* Array of strings -> NULL-terminated vector. */
int spec_get_strv(const json_t *obj, const char *key, const struct spec_path *up,
                  enum spec_need need, char ***ret, struct berth_error **err);
/* Like spec_get_strv() but an absent field gives an empty vector: *ret is never NULL after. */
int spec_get_strv0(const json_t *obj, const char *key, const struct spec_path *up, char ***ret,
                   struct berth_error **err);
/* Object of strings -> key/value array (in document order). */
int spec_get_kv(const json_t *obj, const char *key, const struct spec_path *up,
                struct berth_kv **ret, size_t *ret_n, struct berth_error **err);

/* Array of objects -> C array of `size`-byte elements, each filled by parse() from a zeroed
 * element. On failure every element is passed to clear() and nothing is stored. */
typedef int (*spec_parse_fn)(json_t *v, const struct spec_path *p, void *elem,
                             struct berth_error **err);
typedef void (*spec_clear_fn)(void *elem);
int spec_get_list(const json_t *obj, const char *key, const struct spec_path *up,
                  enum spec_need need, size_t size, spec_parse_fn parse, spec_clear_fn clear,
                  void *ret_array, size_t *ret_n, struct berth_error **err);

/* uidMappings/gidMappings entries ({containerID, hostID, size}), shared by mounts and linux. */
int spec_get_id_maps(const json_t *obj, const char *key, const struct spec_path *up,
                     struct berth_id_map **ret, size_t *ret_n, struct berth_error **err);

/* Looks name up in a NULL-name-terminated table; -1 if absent. */
struct spec_name {
        const char *name;
        long value;
};
int spec_lookup(const struct spec_name *table, const char *name, long *ret);

/* spec-linux.c */
int spec_parse_linux(const json_t *root, struct berth_linux *lx, struct berth_error **err);
void spec_linux_clear(struct berth_linux *lx);

/* A CPU (or memory node) list such as "0-3,7": sets *ret and returns 1 if present and well
 * formed, 0 if absent; an error "invalid <what> list ..." names the field. */
int spec_get_cpu_list(const json_t *o, const char *key, const struct spec_path *up, char **ret,
                      const char *what, struct berth_error **err);
