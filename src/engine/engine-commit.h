/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * `berth diff` and `berth commit`, the engine's side (engine-commit.c): a container's changes to
 * its image, and its upper dir written back as a new image on top of its image's.
 */

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

struct berth_store;
struct berth_ctr;
struct berth_change;
struct berth_config_change;

/* The changes of container `what` (berth_ctr_lookup) to its image: its upper dir against its
 * layers (berth_changes), sorted by path. -ENOENT: "no such container: x"; other errors
 * "diff "x": ...". Free with berth_changes_free(). */
int berth_ctr_diff(struct berth_store *s, const char *what, struct berth_change **ret,
                   size_t *ret_n, struct berth_error **err);

/* What `berth commit` was given. */
struct berth_commit_opts {
        const char *container; /* name, id or unique id prefix */
        const char *name;      /* the new image's name, normalized (berth_commit_name), or NULL */
        const char *author;    /* -a, or NULL */
        const char *message;   /* -m, or NULL */
        char *const *changes;  /* -c lines (docker's --change), or NULL */
        bool pause;            /* freeze a running container while its upper dir is read */
};

/* REPO[:TAG] as given, normalized ("x" -> docker.io/library/x:latest); raw NULL: *ret = NULL.
 * A name with a digest cannot be committed to: -EINVAL "invalid reference "x": refusing to
 * create a tag with a digest reference". */
int berth_commit_name(const char *raw, char **ret, struct berth_error **err);

/* The new image's config changes: the container's Env, Cmd, Entrypoint, WorkingDir and User,
 * each -c line of o on top, and o's author and message (created_by "berth commit") for the
 * history entry. ch is filled (clear it with berth_config_change_clear()). */
int berth_commit_config(const struct berth_ctr *c, const struct berth_commit_opts *o,
                        struct berth_config_change *ch, struct berth_error **err);

/*
 * Commits container o->container: its upper dir as a gzip'ed layer tar in the blob store (the
 * container frozen meanwhile when its process runs under runroot and o->pause), then an image of
 * its image's layers plus that one (berth_store_image_create) named o->name. A lease keeps gc
 * from the new blob until the image records it. Returns the new image id in *ret_id. Errors of
 * the lookup as berth_ctr_lookup, the others "commit "x": ...".
 */
int berth_ctr_commit(struct berth_store *s, const char *runroot, const struct berth_commit_opts *o,
                     char **ret_id, struct berth_error **err);
