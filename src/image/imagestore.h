/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The image store under one root (default /var/lib/berth, `berth --root DIR`):
 *
 *   store.lock                 flock: every read-modify-write of images.json, and gc
 *   images.json                {"images": [record, ...]} (atomic rewrite: temp + fsync + rename)
 *   blobs/sha256/<hex>         manifests, configs and layer blobs (blobstore.h)
 *   layers/<hex>/diff          a layer unpacked once per chain id, shared by every image with it
 *   layers/<hex>/layer.json    {"chainId","diffId","parent","blob","size"} (size: bytes unpacked)
 *   layers/<hex>.lock          flock held while that layer is unpacked or removed
 *   layers/.tmp-<hex>          an unpack in progress (a crashed one is removed by the next try)
 *   downloads/                 registry.c: resumable partial downloads
 *   containers/<id>/           the engine's (its records, upper/, work/, rootfs/, ...)
 *
 * Reference counts are computed, never stored: a layer is in use while an image record or one of
 * the store's users (the engine's containers, struct berth_store_user) holds it; a blob while an
 * image's manifest names it. The store never reads its users' records: gc, rmi, prune and df ask
 * the caller. Removing an image and gc therefore never get out of step after a crash.
 * Concurrency: two processes adding the same layer unpack it once (per-layer lock); images.json
 * changes are serialized by store.lock.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "image/layer.h"
#include "base/kv.h"

struct berth_store;
struct berth_blobstore;

/* Opens (creating) the store under root. */
int berth_store_open(const char *root, struct berth_store **ret, struct berth_error **err);
void berth_store_free(struct berth_store *s);
const char *berth_store_root(const struct berth_store *s);
struct berth_blobstore *berth_store_blobs(struct berth_store *s);

/* A lease: while held, gc (and the gc step of rmi and prune) leaves every blob and layer alone,
 * so content added before its image is recorded (a pull, a load, an import) is not taken for
 * garbage. A shared flock on <root>/gc.lock: close the fd to end it. Take it before the first
 * blob put and hold it until berth_store_image_add returns. */
int berth_store_lease(struct berth_store *s, int *ret_fd, struct berth_error **err);

/* ---- layers ---------------------------------------------------------------------------- */

/* chain id of a layer: its diff id at the bottom (parent NULL), else
 * sha256(parent + " " + diff_id). "sha256:..." malloc'ed. */
char *berth_chain_id(const char *parent_chain, const char *diff_id);
/* "<root>/layers/<hex>/diff" (malloc'ed). */
char *berth_store_layer_dir(const struct berth_store *s, const char *chain_id);
/* The most layers an image of this store can have and still run: what one overlay of its layer
 * dirs and a container's upper and work dirs can stack on this kernel (berth_overlay_max_lowers:
 * 500 on Linux 6.8 and later). load and pull refuse an image with more before anything of it
 * is kept. */
unsigned berth_store_max_layers(const struct berth_store *s);
/* "image has N layers: a container can mount at most M (...)" with EFBIG, for errors. */
int berth_store_layers_error(const struct berth_store *s, size_t n, struct berth_error **err);
bool berth_store_has_layer(struct berth_store *s, const char *chain_id);

/* Unpacks blob (already in the blob store; compression detected from its bytes) as the layer
 * chain_id = chain(parent, diff_id), once: under layers/<hex>.lock, a layer already present is
 * kept (returns 0); otherwise it is unpacked into layers/.tmp-<hex>, the sha256 of the
 * uncompressed tar is checked against diff_id ("layer sha256:..: diff id mismatch: got ..."),
 * and renamed into place. The parent layer need not exist yet. st may be NULL. */
int berth_store_layer_add(struct berth_store *s, const char *parent_chain, const char *diff_id,
                          const char *blob, const struct berth_layer_opts *o,
                          struct berth_layer_stats *st, struct berth_error **err);

/* ---- users: what others hold --------------------------------------------------------------- */

/* What one user of the store (a container of the engine) holds. */
struct berth_store_user {
        char *id;       /* who: "in use by container <first 12 of id>" */
        char *image;    /* the image id it was made from, or NULL */
        char **layers;  /* chain ids it holds ("sha256:..."); never NULL */
        char *data_dir; /* its own data that df counts (a container's upper dir), or NULL */
};
void berth_store_users_free(struct berth_store_user *v, size_t n);

/* Every user of s now, in *ret (malloc'ed, *ret_n entries; may be NULL when there is none). gc,
 * rmi and prune call it under store.lock, so that what it returns is current when they decide.
 * A user that cannot be read must be an error: leaving it out could let gc remove its layers.
 * The engine's is berth_ctr_store_users (engine.h). */
typedef int (*berth_store_users_fn)(struct berth_store *s, struct berth_store_user **ret,
                                    size_t *ret_n, struct berth_error **err);

/* ---- images ---------------------------------------------------------------------------- */

struct berth_image {
        char *id;       /* config digest, "sha256:..." (docker's image id) */
        char *manifest; /* digest of the stored manifest */
        char **names;   /* normalized "docker.io/library/busybox:latest"; never NULL */
        char **digests; /* "127.0.0.1:5000/x@sha256:<manifest>" when pulled; never NULL */
        char **layers;  /* chain ids, bottom first; never NULL */
        char *created;  /* the config's created, or NULL */
        int64_t size;   /* bytes of its unpacked layers */
        int64_t added;  /* unix seconds it was stored */
};
void berth_image_free(struct berth_image *i);
static inline void berth_image_freep(struct berth_image **i)
{
        berth_image_free(*i);
        *i = NULL;
}
void berth_images_free(struct berth_image **v, size_t n);

/* Every image, newest added first. */
int berth_store_images(struct berth_store *s, struct berth_image ***ret, size_t *ret_n,
                       struct berth_error **err);
/* Finds an image by name ("busybox" normalizes to docker.io/library/busybox:latest), by
 * name@digest, by id ("sha256:<hex>" or <hex>) or by a unique id prefix (>= 3 hex digits, as
 * docker). -ENOENT: "image "x" not found"; -EINVAL for an ambiguous prefix. */
int berth_store_image_lookup(struct berth_store *s, const char *what, struct berth_image **ret,
                             struct berth_error **err);

/* Records the image whose manifest (an image manifest, not an index) and config are in the blob
 * store and whose layers were added (berth_store_layer_add): -ENOENT names a missing one.
 * name (normalized, may be NULL) moves to this image from any other image that had it, as a
 * docker tag does; repo_digest (may be NULL) is added to its digests. An image already stored
 * gets the name added. Returns the image id in ret_id (may be NULL). */
int berth_store_image_add(struct berth_store *s, const char *manifest_digest, const char *name,
                          const char *repo_digest, char **ret_id, struct berth_error **err);

/* Adds name (normalized here) to image `what`, moving it from another image if needed. */
int berth_store_tag(struct berth_store *s, const char *what, const char *name,
                    struct berth_error **err);

/*
 * rmi, as docker's: `what` given by name removes that name, and the image too if it was its
 * last name; by id removes the image (an image with several names needs force:
 * "image is referenced in multiple names: use -f"). An image that a user (of `users`; NULL: none)
 * was made from is refused without force ("image busybox:latest is in use by container 4f2e..:
 * remove it first or use -f"); with force its record goes, and its layers stay until no user
 * holds them. Layers and blobs nothing else uses are removed (gc). Each removed name and id is
 * appended to *ret_removed (NULL-terminated, malloc'ed; may be NULL), as "Untagged: x" /
 * "Deleted: sha256:..." lines.
 */
int berth_store_image_remove(struct berth_store *s, const char *what, bool force,
                             berth_store_users_fn users, char ***ret_removed,
                             struct berth_error **err);

/* Removes images without names (all: also every image no user was made from), then gc. Removed
 * ids in *ret_removed (may be NULL); bytes freed in *ret_reclaimed (may be NULL). */
int berth_store_prune(struct berth_store *s, bool all, berth_store_users_fn users,
                      char ***ret_removed, int64_t *ret_reclaimed, struct berth_error **err);

/* Removes the layers and blobs that no image and no user (of `users`; NULL: none) refers to, and
 * stale temp dirs. Bytes freed in *ret_reclaimed (may be NULL). */
int berth_store_gc(struct berth_store *s, berth_store_users_fn users, int64_t *ret_reclaimed,
                   struct berth_error **err);

/* ---- new images (import, commit, docker-archive load) ----------------------------------- */

/* Changes to an image config (docker's --change, commit's container config). NULL/false = keep. */
struct berth_config_change {
        char **env; /* KEY=VALUE, added or replacing the same KEY */
        char **cmd; /* with set_cmd; NULL with set_cmd clears it */
        bool set_cmd;
        char **entrypoint; /* with set_entrypoint */
        bool set_entrypoint;
        char *working_dir, *user, *stop_signal;
        char **exposed_ports, **volumes;
        struct berth_kv *labels;
        size_t n_labels;
        char *author, *comment, *created_by; /* of the new history entries */
};
void berth_config_change_clear(struct berth_config_change *c);

struct berth_new_layer {
        const char *blob;                    /* in the blob store */
        const char *media_type;              /* BERTH_MT_OCI_LAYER_GZIP, ... */
        int64_t size;                        /* of the blob */
        const char *diff_id;                 /* sha256 of the uncompressed tar */
        const struct berth_layer_opts *opts; /* how to unpack it; NULL: the defaults */
        struct berth_layer_stats *stats;     /* what was unpacked (zeros when the store had the
                                                layer already); may be NULL */
};

/*
 * Makes an image: base's config and layers (base: an image id, or NULL for an empty one, with
 * platform NULL = the host's), plus `layers` on top (each unpacked with berth_store_layer_add),
 * change applied, a history entry per new layer; writes the OCI config and manifest blobs and
 * records it under name (may be NULL: a dangling image). Returns the new id in ret_id.
 */
int berth_store_image_create(struct berth_store *s, const char *base,
                             const struct berth_new_layer *layers, size_t n_layers,
                             const struct berth_config_change *change, const char *platform,
                             const char *name, char **ret_id, struct berth_error **err);

/* ---- disk use (berth system df) ------------------------------------------------------------ */

struct berth_store_df {
        size_t images, images_active; /* active: a user was made from it */
        int64_t images_size;          /* unpacked layers, each counted once */
        int64_t images_reclaimable;   /* layers only unused images hold */
        int64_t blobs_size;           /* compressed blobs on disk */
        size_t containers;            /* the users (of `users`; NULL: none) */
        int64_t containers_size;      /* their data dirs */
};
int berth_store_df(struct berth_store *s, berth_store_users_fn users, struct berth_store_df *ret,
                   struct berth_error **err);

/* Bytes used by the files under dirfd/path (each inode counted once; du's apparent sizes). */
int berth_disk_usage(int dirfd, const char *path, int64_t *ret, struct berth_error **err);
