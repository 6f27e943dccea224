/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer target for what a registry or an image archive hands us: each input is parsed as a
 * manifest (without a Content-Type, and with one chosen by the input's length), as an image
 * config and, NUL-terminated, as an image reference. What parses is used (pick, layer media
 * types, the reference's forms) and freed again (leaks are findings). A reference's normal and
 * familiar forms must parse back to the same normal form. Seeds: tests/fuzz/corpus-manifest/.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "image/imageref.h"
#include "image/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const content_types[] = {
    BERTH_MT_OCI_MANIFEST,
    BERTH_MT_OCI_INDEX,
    BERTH_MT_DOCKER_MANIFEST,
    BERTH_MT_DOCKER_LIST "; charset=utf-8",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
    "application/json",
};

static const char *const platforms[] = {
    NULL, "linux/amd64", "linux/arm", "linux/arm64/v8", "linux/arm/v6", "windows/amd64"};

static void use_manifest(const struct berth_manifest *m)
{
        const struct berth_descriptor *d;
        enum berth_compression c;
        struct berth_error *err = NULL;

        for (size_t i = 0; i < m->n_layers; i++) {
                (void) berth_layer_compression(m->layers[i].media_type, &c, &err);
                berth_error_free(err);
                err = NULL;
        }
        for (size_t i = 0; i < sizeof(platforms) / sizeof(platforms[0]); i++) {
                (void) berth_manifest_pick(m, platforms[i], &d, &err);
                berth_error_free(err);
                err = NULL;
        }
}

static void fuzz_manifest(const uint8_t *data, size_t size, const char *content_type)
{
        struct berth_error *err = NULL;
        struct berth_manifest *m = NULL;

        if (berth_manifest_parse(data, size, content_type, &m, &err) == 0) {
                use_manifest(m);
                berth_manifest_free(m);
        }
        berth_error_free(err);
}

static void fuzz_config(const uint8_t *data, size_t size)
{
        struct berth_error *err = NULL;
        struct berth_image_config *c = NULL;

        if (berth_image_config_parse(data, size, &c, &err) == 0)
                berth_image_config_free(c);
        berth_error_free(err);
}

/* s parses, and its normal form is want. */
static void check_reparse(const char *s, const char *want)
{
        struct berth_ref *r = NULL;
        char *again;

        if (berth_ref_parse(s, &r, NULL) < 0)
                abort();
        again = berth_ref_string(r);
        if (strcmp(again, want) != 0)
                abort();
        free(again);
        berth_ref_free(r);
}

static void fuzz_ref(const uint8_t *data, size_t size)
{
        struct berth_error *err = NULL;
        struct berth_ref *r = NULL;
        char *text = malloc(size + 1), *name, *full, *familiar;

        if (!text)
                return;
        memcpy(text, data, size);
        text[size] = '\0';
        if (berth_ref_parse(text, &r, &err) == 0) {
                name = berth_ref_name(r);
                full = berth_ref_string(r);
                familiar = berth_ref_familiar(full);
                (void) berth_ref_registry_host(r);
                check_reparse(full, full);
                check_reparse(familiar, full);
                free(name);
                free(full);
                free(familiar);
                berth_ref_free(r);
        }
        berth_error_free(err);
        free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        size_t n = sizeof(content_types) / sizeof(content_types[0]);

        fuzz_manifest(data, size, NULL);
        fuzz_manifest(data, size, content_types[size % n]);
        fuzz_config(data, size);
        fuzz_ref(data, size);
        return 0;
}
