/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The engine's containers (`berth run/ps/rm/diff/commit`), kept beside the image store:
 *
 *   <root>/containers/<id>/container.json   the record (below), atomic rewrites
 *   <root>/containers/<id>/upper, work      the copy-on-write sheet of its overlay
 *   <root>/containers/<id>/rootfs           where the overlay is mounted while it runs
 *   <root>/containers/<id>/bundle/          config.json given to libberth (root.path = ../rootfs)
 *   <runroot>/<id>/                         libberth's runtime state (berth-oci's layout)
 *
 * container.json: {"id", "name", "image" (image id), "imageName", "layers" (chain ids, bottom
 * first: the store's gc keeps them while the record exists), "created", "config": {"Env",
 * "Cmd", "Entrypoint", "WorkingDir", "User", "Hostname"}, "state": {"status", "exitCode",
 * "startedAt", "finishedAt", "pid"}}. The store reads only "image" and "layers".
 */

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

struct berth_store;

struct berth_ctr {
        char *id;         /* 64 hex digits */
        char *name;
        char *image;      /* image id "sha256:..." */
        char *image_name; /* what it was run from, normalized ("docker.io/library/busybox:latest") */
        char **layers;    /* chain ids, bottom first; never NULL */
        char *created;    /* RFC 3339 */
        char *dir;        /* <root>/containers/<id> */
        /* config */
        char **env, **cmd, **entrypoint; /* NULL-terminated; entrypoint/cmd may be NULL */
        char *working_dir, *user, *hostname;
};

/* Finds a container by full id, unique id prefix or name. -ENOENT: "no such container: x". */
int berth_ctr_lookup(struct berth_store *s, const char *what, struct berth_ctr **ret,
                     struct berth_error **err);
void berth_ctr_free(struct berth_ctr *c);
/* <dir>/upper (malloc'ed). */
char *berth_ctr_upper(const struct berth_ctr *c);
/* The layer dirs of its image, top first, NULL-terminated (malloc'ed strv). */
char **berth_ctr_lowers(struct berth_store *s, const struct berth_ctr *c);
