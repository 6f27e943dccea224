/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * What imagestore.c shares with imagestore-gc.c (gc, rmi, prune, system df): the store's
 * struct, the images.json list, the list of its users, and the locks. See imagestore.c for the lock
 * order.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "image/imagestore.h"
#include "image/manifest.h"

#define DIGEST_PREFIX "sha256:"
#define HEX_LEN 64
#define TMP_PREFIX ".tmp-"
#define MAX_JSON (64u << 20)

/* How berth_store_find_image matched: by id (or prefix), by name, by name@digest. */
enum match_kind { MATCH_ID, MATCH_NAME, MATCH_DIGEST };

struct berth_store {
        char *root;
        int rootfd;
        int layersfd;
        struct berth_blobstore *blobs;
};

struct image_list {
        struct berth_image **v;
        size_t n;
};

/* What berth_store_users_fn returned. */
struct user_list {
        struct berth_store_user *v;
        size_t n;
};

void berth_store_images_clear(struct image_list *l);
bool berth_store_is_hex_name(const char *s);
const char *berth_store_digest_hex(const char *digest);
char **berth_store_strv_add_unique(char **v, const char *s);
char **berth_store_strv_add(char **v, const char *s);
bool berth_store_strv_remove(char **v, const char *s);
int berth_store_lock(struct berth_store *s, int *ret_fd, struct berth_error **err);
int berth_store_lock_layer(struct berth_store *s, const char *hex, bool nonblock, int *ret_fd,
                           struct berth_error **err);
void berth_store_unlock_layer_remove(struct berth_store *s, const char *hex, int *fd);
bool berth_store_has_layer_hex(struct berth_store *s, const char *hex);
int berth_store_layer_size(struct berth_store *s, const char *hex, int64_t *ret,
                           struct berth_error **err);
int berth_store_load_images(struct berth_store *s, struct image_list *ret,
                            struct berth_error **err);
int berth_store_save_images(struct berth_store *s, const struct image_list *l,
                            struct berth_error **err);
void berth_store_images_remove_at(struct image_list *l, size_t k);
/* The first user made from image_id, or NULL. */
const struct berth_store_user *berth_store_user_of(const struct user_list *ul,
                                                   const char *image_id);
int berth_store_find_image(const struct image_list *l, const char *what, size_t *ret_idx,
                           enum match_kind *ret_kind, char **ret_name, struct berth_error **err);
int berth_store_load_manifest(struct berth_store *s, const char *digest,
                              struct berth_manifest **ret, struct berth_error **err);
