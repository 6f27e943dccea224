/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* Key/value pairs as arrays of n (annotations, sysctls, labels): one owner, one free. */

#include <stddef.h>

struct berth_kv {
        char *key;
        char *value;
};

/* Frees the n pairs and the array; NULL is a no-op. */
void berth_kv_free(struct berth_kv *kv, size_t n);

/* A copy of the n pairs (keys and values duplicated), NULL for none. */
struct berth_kv *berth_kv_copy(const struct berth_kv *kv, size_t n);
