/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Images in files: OCI image layouts (a directory with oci-layout + index.json + blobs/, or a tar
 * of one, optionally compressed), `docker save` archives (manifest.json + <id>.json +
 * <layer>/layer.tar, or docker 25's OCI-layout form), and plain rootfs tars (import).
 * Every blob is verified against its digest as it enters the blob store.
 */

#include <stdbool.h>

#include "base/error.h"
#include "image/imagestore.h"
#include "image/layer.h"

/* Loads every image in the archive or layout at path ("-": stdin). The names loaded (from
 * docker's RepoTags or OCI's org.opencontainers.image.ref.name annotation, normalized), or the
 * ids of unnamed images, go to *ret_loaded (NULL-terminated, malloc'ed). Errors name the archive
 * and the entry: "load x.tar: manifest.json: Layers[1]: ab/layer.tar: not in the archive".
 * What JSON can take is bounded: a JSON file of the archive is at most 8 MiB and 262144 values,
 * all of them together 64 MiB (-EFBIG, -E2BIG: the message names the file and the limit); only
 * index.json and manifest.json are held in memory while the archive is read, and the JSON files
 * no image names are not kept in the store. */
int berth_image_load(struct berth_store *s, const char *path, const struct berth_layer_opts *lo,
                     char ***ret_loaded, struct berth_error **err);

enum berth_archive_format {
        BERTH_ARCHIVE_DOCKER,  /* docker-archive: manifest.json + repositories + OCI layout */
        BERTH_ARCHIVE_OCI,     /* oci-archive: a tar of an OCI layout */
        BERTH_ARCHIVE_OCI_DIR, /* an OCI layout directory */
};
/* "docker-archive", "oci-archive", "oci-dir" -> format; -EINVAL names the value. */
int berth_archive_format_parse(const char *s, enum berth_archive_format *ret,
                               struct berth_error **err);

/* Writes the images (names or ids, NULL-terminated) to path ("-": stdout for the tar forms). A
 * tar is written to a temp file beside path and renamed: nothing half-written is left. */
int berth_image_save(struct berth_store *s, const char *const *images, enum berth_archive_format f,
                     const char *path, struct berth_error **err);

struct berth_import_opts {
        const char *name;     /* may be NULL */
        const char *message;  /* history comment */
        char **changes;       /* docker --change lines: CMD, ENTRYPOINT, ENV, WORKDIR, USER, LABEL,
                                 EXPOSE, VOLUME, STOPSIGNAL */
        const char *platform; /* NULL: the host's */
};
/* Imports a rootfs tar (plain, gzip or zstd; path "-": stdin) as a one-layer image. */
int berth_image_import(struct berth_store *s, const char *path, const struct berth_import_opts *o,
                       char **ret_id, struct berth_error **err);

/* Parses one docker --change line ("CMD [\"sh\"]", "CMD sh -c x", "ENV A=1 B=2", "ENV A 1",
 * "WORKDIR /x", "USER u", "LABEL k=v", "EXPOSE 80/tcp", "VOLUME /data", "ENTRYPOINT ...",
 * "STOPSIGNAL SIGTERM") into c. -EINVAL names the line: "--change "FROM x": FROM is not
 * supported (CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR)". */
int berth_config_change_parse(const char *line, struct berth_config_change *c,
                              struct berth_error **err);
