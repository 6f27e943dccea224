/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * OCI image manifests and indexes, docker schema 2 manifests and manifest lists, and image configs:
 * JSON parsed at the edge (jansson) into typed structs. Errors name the document, the field and,
 * for syntax errors, line:column: "manifest: layers[2].digest: missing", "image config: line 3
 * column 9: ...". docker schema 1 is refused with a message that says so.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/kv.h"

#define BERTH_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define BERTH_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define BERTH_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define BERTH_MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define BERTH_MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define BERTH_MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"
#define BERTH_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define BERTH_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define BERTH_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define BERTH_MT_DOCKER_LAYER "application/vnd.docker.image.rootfs.diff.tar.gzip"

struct berth_platform {
        char *os, *architecture, *variant; /* NULL when absent */
};

struct berth_descriptor {
        char *media_type;
        char *digest;                   /* validated "sha256:<hex>" */
        int64_t size;                   /* >= 0 */
        struct berth_platform platform; /* index entries only */
};

enum berth_manifest_kind { BERTH_MANIFEST_IMAGE, BERTH_MANIFEST_INDEX };

struct berth_manifest {
        enum berth_manifest_kind kind;
        char *media_type; /* the document's mediaType, or the Content-Type given, or inferred */
        struct berth_descriptor config;  /* image */
        struct berth_descriptor *layers; /* image, bottom first */
        size_t n_layers;
        struct berth_descriptor *manifests; /* index */
        size_t n_manifests;
};

/* Parses a manifest or index. content_type (a registry's Content-Type, or NULL) decides when the
 * document has no mediaType; otherwise "manifests" means an index and "layers" an image. */
int berth_manifest_parse(const void *data, size_t len, const char *content_type,
                         struct berth_manifest **ret, struct berth_error **err);
void berth_manifest_free(struct berth_manifest *m);
static inline void berth_manifest_freep(struct berth_manifest **m)
{
        berth_manifest_free(*m);
        *m = NULL;
}

/* The host's platform, "linux/amd64" (and "/v7" etc. for arm variants). Not malloc'ed. */
const char *berth_platform_host(void);
/* Picks the entry of an index for platform ("os/arch[/variant]", NULL = the host's). -ENOENT:
 * "no image for linux/s390x in the index (it has linux/amd64, linux/arm64/v8)". */
int berth_manifest_pick(const struct berth_manifest *index, const char *platform,
                        const struct berth_descriptor **ret, struct berth_error **err);

enum berth_compression { BERTH_COMPRESSION_NONE, BERTH_COMPRESSION_GZIP, BERTH_COMPRESSION_ZSTD };
/* The compression of a layer media type (OCI, OCI non-distributable, docker). -ENOTSUP for
 * anything else: "layer media type "x" is not supported". */
int berth_layer_compression(const char *media_type, enum berth_compression *ret,
                            struct berth_error **err);

struct berth_history {
        char *created, *created_by, *author, *comment;
        bool empty_layer;
};

/* docker's HEALTHCHECK, the config's "Healthcheck" (engine/engine-health.h runs it): durations in
 * nanoseconds, 0 (or absent): the default; retries 0: the default. */
struct berth_healthcheck {
        char **test; /* ["CMD", ARG...], ["CMD-SHELL", "LINE"], ["NONE"]; NULL: inherited */
        int64_t interval, timeout, start_period, start_interval;
        int retries;
};
void berth_healthcheck_free(struct berth_healthcheck *h);

struct berth_image_config {
        char *architecture, *os, *variant, *created, *author;
        /* config */
        char *user, *working_dir, *stop_signal; /* NULL when absent */
        char **env;                             /* NULL-terminated; never NULL (empty list) */
        char **entrypoint;                      /* NULL-terminated, or NULL when absent/null */
        char **cmd;                             /* NULL-terminated, or NULL when absent/null */
        char **exposed_ports;                   /* "80/tcp", ...; never NULL */
        char **volumes;                         /* never NULL */
        struct berth_kv *labels;
        size_t n_labels;
        struct berth_healthcheck *healthcheck; /* NULL when absent */
        /* rootfs */
        char **diff_ids; /* validated digests, bottom first; never NULL */
        size_t n_diff_ids;
        struct berth_history *history;
        size_t n_history;
};

int berth_image_config_parse(const void *data, size_t len, struct berth_image_config **ret,
                             struct berth_error **err);
void berth_image_config_free(struct berth_image_config *c);
static inline void berth_image_config_freep(struct berth_image_config **c)
{
        berth_image_config_free(*c);
        *c = NULL;
}
