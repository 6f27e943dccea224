/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/utsname.h>
#include <cmocka.h>

#include "image/manifest.h"
#include "base/util.h"

#define D1 "sha256:1111111111111111111111111111111111111111111111111111111111111111"
#define D2 "sha256:2222222222222222222222222222222222222222222222222222222222222222"
#define D3 "sha256:3333333333333333333333333333333333333333333333333333333333333333"
#define D4 "sha256:4444444444444444444444444444444444444444444444444444444444444444"
#define D5 "sha256:5555555555555555555555555555555555555555555555555555555555555555"
#define D6 "sha256:6666666666666666666666666666666666666666666666666666666666666666"
#define D7 "sha256:7777777777777777777777777777777777777777777777777777777777777777"

#define DESC(mt, d, n) "{\"mediaType\": \"" mt "\", \"digest\": \"" d "\", \"size\": " #n "}"

static const char oci_manifest[] =
    "{\"schemaVersion\": 2, \"mediaType\": \"" BERTH_MT_OCI_MANIFEST "\",\n"
    " \"config\": " DESC(BERTH_MT_OCI_CONFIG, D1,
                         123) ",\n"
                              " \"layers\": [" DESC(BERTH_MT_OCI_LAYER_GZIP, D2, 1000) ", " DESC(
                                  BERTH_MT_OCI_LAYER_ZSTD, D3,
                                  0) "],\n"
                                     " \"annotations\": {\"a\": \"b\"}}";

/* No mediaType: the Content-Type or the config's media type tells what it is. */
static const char docker_manifest_bare[] =
    "{\"schemaVersion\": 2,"
    " \"config\": " DESC(BERTH_MT_DOCKER_CONFIG, D1, 7) ","
                                                        " \"layers\": [" DESC(BERTH_MT_DOCKER_LAYER,
                                                                              D2, 9) "]}";

#define PLAT_DESC(mt, d, os, arch, variant)                                                        \
        "{\"mediaType\": \"" mt "\", \"digest\": \"" d "\", \"size\": 500, \"platform\": "         \
        "{\"os\": \"" os "\", \"architecture\": \"" arch "\"" variant "}}"

/* One descriptor a line. */
/* clang-format off */
static const char oci_index[] =
        "{\"schemaVersion\": 2, \"mediaType\": \"" BERTH_MT_OCI_INDEX "\", \"manifests\": [\n"
        PLAT_DESC(BERTH_MT_OCI_MANIFEST, D1, "linux", "amd64", "") ",\n"
        PLAT_DESC(BERTH_MT_OCI_MANIFEST, D2, "linux", "arm64", ", \"variant\": \"v8\"") ",\n"
        PLAT_DESC(BERTH_MT_OCI_MANIFEST, D3, "linux", "arm", ", \"variant\": \"v7\"") ",\n"
        PLAT_DESC(BERTH_MT_OCI_MANIFEST, D4, "linux", "arm", ", \"variant\": \"v6\"") ",\n"
        PLAT_DESC(BERTH_MT_OCI_MANIFEST, D5, "unknown", "unknown", "") ",\n"
        PLAT_DESC(BERTH_MT_OCI_MANIFEST, D6, "linux", "ppc64le", "") ",\n"
        DESC(BERTH_MT_OCI_MANIFEST, D7, 1) "]}";

static const char docker_list[] =
        "{\"schemaVersion\": 2, \"mediaType\": \"" BERTH_MT_DOCKER_LIST "\", \"manifests\": [\n"
        PLAT_DESC(BERTH_MT_DOCKER_MANIFEST, D1, "linux", "arm", "") ",\n"
        PLAT_DESC(BERTH_MT_DOCKER_MANIFEST, D2, "linux", "amd64", ", \"variant\": \"v2\"") ",\n"
        PLAT_DESC(BERTH_MT_DOCKER_MANIFEST, D3, "linux", "arm64", "") "]}";
/* clang-format on */

static struct berth_manifest *parse_ok(const char *doc, const char *content_type)
{
        _autoerr_ struct berth_error *err = NULL;
        struct berth_manifest *m = NULL;
        int r = berth_manifest_parse(doc, strlen(doc), content_type, &m, &err);

        if (r < 0)
                print_message("# %s\n", err->msg);
        assert_int_equal(r, 0);
        return m;
}

static void oci_image(void **state)
{
        struct berth_manifest *m = parse_ok(oci_manifest, NULL);

        assert_int_equal(m->kind, BERTH_MANIFEST_IMAGE);
        assert_string_equal(m->media_type, BERTH_MT_OCI_MANIFEST);
        assert_string_equal(m->config.media_type, BERTH_MT_OCI_CONFIG);
        assert_string_equal(m->config.digest, D1);
        assert_int_equal(m->config.size, 123);
        assert_int_equal(m->n_layers, 2);
        assert_string_equal(m->layers[0].digest, D2);
        assert_int_equal(m->layers[0].size, 1000);
        assert_string_equal(m->layers[1].media_type, BERTH_MT_OCI_LAYER_ZSTD);
        assert_int_equal(m->layers[1].size, 0);
        assert_null(m->manifests);
        assert_int_equal(m->n_manifests, 0);
        berth_manifest_free(m);
        berth_manifest_free(NULL);
}

static void docker_image_media_type(void **state)
{
        struct berth_manifest *m;

        /* the Content-Type decides, parameters left out */
        m = parse_ok(docker_manifest_bare, BERTH_MT_DOCKER_MANIFEST "; charset=utf-8");
        assert_int_equal(m->kind, BERTH_MANIFEST_IMAGE);
        assert_string_equal(m->media_type, BERTH_MT_DOCKER_MANIFEST);
        assert_int_equal(m->n_layers, 1);
        assert_string_equal(m->layers[0].media_type, BERTH_MT_DOCKER_LAYER);
        berth_manifest_free(m);
        /* a generic Content-Type: inferred from the config's media type */
        m = parse_ok(docker_manifest_bare, "application/json");
        assert_string_equal(m->media_type, BERTH_MT_DOCKER_MANIFEST);
        berth_manifest_free(m);
        /* the document's own mediaType wins over the Content-Type */
        m = parse_ok(oci_manifest, BERTH_MT_DOCKER_MANIFEST);
        assert_string_equal(m->media_type, BERTH_MT_OCI_MANIFEST);
        berth_manifest_free(m);
}

static void indexes(void **state)
{
        struct berth_manifest *m = parse_ok(oci_index, NULL);

        assert_int_equal(m->kind, BERTH_MANIFEST_INDEX);
        assert_string_equal(m->media_type, BERTH_MT_OCI_INDEX);
        assert_int_equal(m->n_manifests, 7);
        assert_int_equal(m->n_layers, 0);
        assert_string_equal(m->manifests[1].platform.os, "linux");
        assert_string_equal(m->manifests[1].platform.architecture, "arm64");
        assert_string_equal(m->manifests[1].platform.variant, "v8");
        assert_null(m->manifests[0].platform.variant);
        assert_null(m->manifests[6].platform.os);
        assert_int_equal(m->manifests[6].size, 1);
        berth_manifest_free(m);

        m = parse_ok(docker_list, NULL);
        assert_int_equal(m->kind, BERTH_MANIFEST_INDEX);
        assert_string_equal(m->media_type, BERTH_MT_DOCKER_LIST);
        assert_int_equal(m->n_manifests, 3);
        berth_manifest_free(m);

        /* no mediaType, no Content-Type: "manifests" means an index */
        m = parse_ok("{\"schemaVersion\": 2, \"manifests\": []}", NULL);
        assert_int_equal(m->kind, BERTH_MANIFEST_INDEX);
        assert_string_equal(m->media_type, BERTH_MT_OCI_INDEX);
        berth_manifest_free(m);
        m = parse_ok("{\"schemaVersion\": 2, \"manifests\": []}", BERTH_MT_DOCKER_LIST);
        assert_string_equal(m->media_type, BERTH_MT_DOCKER_LIST);
        berth_manifest_free(m);
}

struct bad_case {
        const char *doc, *content_type;
        int code;
        const char *msg;
};

static const struct bad_case bad[] = {
    {"{\"schemaVersion\": 1, \"name\": \"x\", \"fsLayers\": []}", NULL, ENOTSUP,
     "manifest: docker schema 1 manifests are not supported"},
    {"{\"schemaVersion\": 2, \"layers\": []}",
     "application/vnd.docker.distribution.manifest.v1+prettyjws", ENOTSUP,
     "manifest: docker schema 1 manifests are not supported"},
    {"{\"mediaType\": \"application/vnd.docker.distribution.manifest.v1+json\"}", NULL, ENOTSUP,
     "manifest: docker schema 1 manifests are not supported"},
    {"{\"schemaVersion\": 2,\n \"layers\": [}", NULL, EINVAL,
     "manifest: line 2 column 13: unexpected token near '}'"},
    {"", NULL, EINVAL, "manifest: line 1 column 0: '[' or '{' expected near end of file"},
    {"[1]", NULL, EINVAL, "manifest: expected a JSON object, got array"},
    {"{\"schemaVersion\": 2, \"a\": 1, \"a\": 2}", NULL, EINVAL,
     "manifest: line 1 column 32: duplicate object key near '\"a\"'"},
    {"{\"schemaVersion\": 2}", NULL, EINVAL,
     "manifest: no mediaType, and neither \"layers\" nor \"manifests\": not an image "
     "manifest or index"},
    {"{\"schemaVersion\": 3, \"layers\": []}", NULL, EINVAL,
     "manifest: schemaVersion: expected 2, got 3"},
    {"{\"schemaVersion\": \"2\", \"layers\": []}", NULL, EINVAL,
     "manifest: schemaVersion: expected an integer, got string"},
    {"{\"layers\": []}", NULL, EINVAL, "manifest: schemaVersion: missing"},
    {"{\"schemaVersion\": 2, \"mediaType\": 5}", NULL, EINVAL,
     "manifest: mediaType: expected a string, got integer"},
    {"{\"schemaVersion\": 2, \"mediaType\": \"application/x\"}", NULL, ENOTSUP,
     "manifest: media type \"application/x\" is not supported"},
    {"{\"schemaVersion\": 2, \"layers\": [], \"manifests\": []}", NULL, EINVAL,
     "manifest: has both \"layers\" and \"manifests\""},
    {"{\"schemaVersion\": 2, \"layers\": []}", NULL, EINVAL, "manifest: config: missing"},
    {"{\"schemaVersion\": 2, \"mediaType\": \"" BERTH_MT_OCI_MANIFEST
     "\", \"config\": " DESC(BERTH_MT_OCI_CONFIG, D1, 1) "}",
     NULL, EINVAL, "manifest: layers: missing"},
    {"{\"schemaVersion\": 2, \"config\": " DESC(BERTH_MT_OCI_CONFIG, D1, 1) ", \"layers\": "
                                                                            "{}}",
     NULL, EINVAL, "manifest: layers: expected an array, got object"},
    {"{\"schemaVersion\": 2, \"config\": [], \"layers\": []}", NULL, EINVAL,
     "manifest: config: expected an object, got array"},
    {"{\"schemaVersion\": 2, \"config\": {\"digest\": \"" D1 "\", \"size\": 1}, \"layers\": "
     "[]}",
     NULL, EINVAL, "manifest: config.mediaType: missing"},
    {"{\"schemaVersion\": 2, \"config\": " DESC(BERTH_MT_OCI_CONFIG, D1, "1") ", \"layers\": "
                                                                              "[]}",
     NULL, EINVAL, "manifest: config.size: expected an integer, got string"},
    {"{\"schemaVersion\": 2, \"config\": " DESC(BERTH_MT_OCI_CONFIG, D1, 1) ", \"layers\": [" DESC(
         BERTH_MT_OCI_LAYER, D2, 1) ", " DESC(BERTH_MT_OCI_LAYER, D2, -1) "]}",
     NULL, EINVAL, "manifest: layers[1].size: must be >= 0, got -1"},
    {"{\"schemaVersion\": 2, \"config\": " DESC(BERTH_MT_OCI_CONFIG, D1, 1) ", \"layers\": [" DESC(
         BERTH_MT_OCI_LAYER, D2, 1) ", " DESC(BERTH_MT_OCI_LAYER, D2, 1.5) "]}",
     NULL, EINVAL, "manifest: layers[1].size: expected an integer, got number"},
    {"{\"schemaVersion\": 2, \"config\": " DESC(BERTH_MT_OCI_CONFIG, D1, 1) ", \"layers\": [" DESC(
         BERTH_MT_OCI_LAYER, D2, 1) ", " DESC(BERTH_MT_OCI_LAYER, D2,
                                              1) ", "
                                                 "{\"mediaType\": \"x\", \"size\": 1}]}",
     NULL, EINVAL, "manifest: layers[2].digest: missing"},
    {"{\"schemaVersion\": 2, \"config\": " DESC(BERTH_MT_OCI_CONFIG, "sha256:ABC",
                                                1) ", "
                                                   "\"layers\": []}",
     NULL, EINVAL,
     "manifest: config.digest: digest \"sha256:ABC\": expected sha256: followed by 64 "
     "lowercase hex digits"},
    {"{\"schemaVersion\": 2, \"config\": " DESC(BERTH_MT_OCI_CONFIG, "sha512:abc",
                                                1) ", "
                                                   "\"layers\": []}",
     NULL, ENOTSUP,
     "manifest: config.digest: digest \"sha512:abc\": algorithm sha512 not supported"},
    {"{\"schemaVersion\": 2, \"manifests\": [" DESC(BERTH_MT_OCI_MANIFEST, D1, 1) ", 7]}", NULL,
     EINVAL, "manifest: manifests[1]: expected an object, got integer"},
    {"{\"schemaVersion\": 2, \"manifests\": [{\"mediaType\": \"m\", \"digest\": \"" D1 "\", "
     "\"size\": 1, \"platform\": {\"architecture\": \"amd64\"}}]}",
     NULL, EINVAL, "manifest: manifests[0].platform.os: missing"},
    {"{\"schemaVersion\": 2, \"manifests\": [{\"mediaType\": \"m\", \"digest\": \"" D1 "\", "
     "\"size\": 1, \"platform\": \"linux/amd64\"}]}",
     NULL, EINVAL, "manifest: manifests[0].platform: expected an object, got string"},
    {"{\"schemaVersion\": 2, \"manifests\": [{\"mediaType\": \"m\", \"digest\": \"" D1 "\", "
     "\"size\": 1, \"platform\": {\"os\": \"linux\", \"architecture\": \"arm\", "
     "\"variant\": 7}}]}",
     NULL, EINVAL, "manifest: manifests[0].platform.variant: expected a string, got integer"},
    {"{\"schemaVersion\": 2, \"layers\": [], \"x\": \"\\u0000\"}", NULL, EINVAL,
     "manifest: line 1 column 48: \\u0000 is not allowed in strings"},
};

static void bad_manifests(void **state)
{
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                _autoerr_ struct berth_error *err = NULL;
                struct berth_manifest *m = NULL;
                int r = berth_manifest_parse(bad[i].doc, strlen(bad[i].doc), bad[i].content_type,
                                             &m, &err);

                if (r != -bad[i].code || !err || !streq(err->msg, bad[i].msg))
                        print_message("# case %zu: %d %s\n", i, r, err ? err->msg : "(none)");
                assert_int_equal(r, -bad[i].code);
                assert_null(m);
                assert_string_equal(err->msg, bad[i].msg);
                /* no message wanted: same code */
                assert_int_equal(berth_manifest_parse(bad[i].doc, strlen(bad[i].doc),
                                                      bad[i].content_type, &m, NULL),
                                 -bad[i].code);
        }
}

static void pick_one(const struct berth_manifest *idx, const char *platform, const char *digest)
{
        _autoerr_ struct berth_error *err = NULL;
        const struct berth_descriptor *d = NULL;
        int r = berth_manifest_pick(idx, platform, &d, &err);

        if (r < 0)
                print_message("# %s: %s\n", platform, err->msg);
        assert_int_equal(r, 0);
        if (!streq(d->digest, digest))
                print_message("# %s: picked %s\n", platform, d->digest);
        assert_string_equal(d->digest, digest);
}

static void pick(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        const struct berth_descriptor *d = NULL;
        struct berth_manifest *idx = parse_ok(oci_index, NULL), *list = parse_ok(docker_list, NULL);
        struct berth_manifest *img = parse_ok(oci_manifest, NULL);
        struct utsname u;

        pick_one(idx, "linux/amd64", D1);
        pick_one(idx, "linux/x86_64", D1);
        pick_one(idx, "linux/arm64", D2); /* arm64 means v8 */
        pick_one(idx, "linux/arm64/v8", D2);
        pick_one(idx, "linux/aarch64", D2);
        pick_one(idx, "linux/arm", D3); /* arm means v7 */
        pick_one(idx, "linux/arm/v7", D3);
        pick_one(idx, "linux/arm/7", D3);
        pick_one(idx, "linux/arm/v6", D4);
        pick_one(idx, "linux/armel", D4);
        pick_one(idx, "Linux/ppc64le", D6);
        pick_one(idx, "LINUX/AMD64", D1); /* lowercased, as containerd does */
        pick_one(idx, "linux/ARM64/V8", D2);

        pick_one(list, "linux/arm/v7", D1); /* an arm entry without variant is v7 */
        pick_one(list, "linux/arm64/v8", D3);
        pick_one(list, "linux/amd64", D2); /* no variant asked: any amd64 */
        assert_int_equal(berth_manifest_pick(list, "linux/amd64/v3", &d, &err), -ENOENT);
        assert_string_equal(err->msg, "no image for linux/amd64/v3 in the index (it has "
                                      "linux/arm, linux/amd64/v2, linux/arm64)");

        assert_int_equal(berth_manifest_pick(idx, "linux/s390x", &d, &err), -ENOENT);
        assert_string_equal(err->msg, "no image for linux/s390x in the index (it has linux/amd64, "
                                      "linux/arm64/v8, linux/arm/v7, linux/arm/v6, linux/ppc64le)");
        assert_int_equal(berth_manifest_pick(idx, "linux/arm/v5", &d, &err), -ENOENT);
        assert_int_equal(berth_manifest_pick(idx, "windows/amd64", &d, &err), -ENOENT);

        assert_int_equal(berth_manifest_pick(idx, "linux", &d, &err), -EINVAL);
        assert_string_equal(err->msg, "platform \"linux\": expected os/arch[/variant]");
        assert_int_equal(berth_manifest_pick(idx, "linux/arm/v7/x", &d, &err), -EINVAL);
        assert_int_equal(berth_manifest_pick(idx, "/amd64", &d, &err), -EINVAL);
        assert_int_equal(berth_manifest_pick(idx, "linux//v7", &d, &err), -EINVAL);
        assert_int_equal(berth_manifest_pick(idx, "linux/arm/", &d, &err), -EINVAL);
        assert_int_equal(berth_manifest_pick(img, "linux/amd64", &d, &err), -EINVAL);
        assert_string_equal(err->msg, "pick a platform: not an index");

        /* the host's platform */
        assert_int_equal(uname(&u), 0);
        if (streq(u.machine, "x86_64")) {
                assert_string_equal(berth_platform_host(), "linux/amd64");
                pick_one(idx, NULL, D1);
        } else if (streq(u.machine, "aarch64")) {
                assert_string_equal(berth_platform_host(), "linux/arm64");
                pick_one(idx, NULL, D2);
        }
        assert_ptr_equal(berth_platform_host(), berth_platform_host());

        berth_manifest_free(idx);
        berth_manifest_free(list);
        berth_manifest_free(img);
}

static void layer_compression(void **state)
{
        static const struct {
                const char *mt;
                enum berth_compression c;
        } t[] = {
            {BERTH_MT_OCI_LAYER, BERTH_COMPRESSION_NONE},
            {BERTH_MT_OCI_LAYER_GZIP, BERTH_COMPRESSION_GZIP},
            {BERTH_MT_OCI_LAYER_ZSTD, BERTH_COMPRESSION_ZSTD},
            {BERTH_MT_DOCKER_LAYER, BERTH_COMPRESSION_GZIP},
            {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
             BERTH_COMPRESSION_GZIP},
            {"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", BERTH_COMPRESSION_GZIP},
        };
        _autoerr_ struct berth_error *err = NULL;
        enum berth_compression c = BERTH_COMPRESSION_NONE;

        for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
                c = 99;
                assert_int_equal(berth_layer_compression(t[i].mt, &c, &err), 0);
                assert_int_equal(c, t[i].c);
        }
        c = 99;
        assert_int_equal(
            berth_layer_compression("application/vnd.oci.image.layer.v1.tar+bz2", &c, &err),
            -ENOTSUP);
        assert_int_equal(c, 99);
        assert_string_equal(err->msg, "layer media type "
                                      "\"application/vnd.oci.image.layer.v1.tar+bz2\" is not "
                                      "supported");
        assert_int_equal(berth_layer_compression(NULL, &c, &err), -ENOTSUP);
}

static const char docker_config[] =
    "{\"architecture\": \"amd64\", \"os\": \"linux\", \"created\": \"2024-01-01T00:00:00Z\",\n"
    " \"config\": {\"User\": \"nobody\", \"Env\": [\"PATH=/bin\", \"A=b\"],\n"
    "   \"Entrypoint\": [\"/init\"], \"Cmd\": [\"sh\", \"-c\", \"true\"],\n"
    "   \"WorkingDir\": \"/srv\", \"Labels\": {\"l1\": \"v1\", \"l2\": \"\"},\n"
    "   \"ExposedPorts\": {\"80/tcp\": {}, \"53/udp\": {}}, \"Volumes\": {\"/data\": {}},\n"
    "   \"StopSignal\": \"SIGQUIT\"},\n"
    " \"rootfs\": {\"type\": \"layers\", \"diff_ids\": [\"" D1 "\", \"" D2 "\"]},\n"
    " \"history\": [{\"created\": \"2024\", \"created_by\": \"ADD x /\"},\n"
    "   {\"created_by\": \"ENV A=b\", \"empty_layer\": true, \"comment\": \"c\", \"author\": "
    "\"me\"}]}";

static struct berth_image_config *config_ok(const char *doc)
{
        _autoerr_ struct berth_error *err = NULL;
        struct berth_image_config *c = NULL;
        int r = berth_image_config_parse(doc, strlen(doc), &c, &err);

        if (r < 0)
                print_message("# %s\n", err->msg);
        assert_int_equal(r, 0);
        return c;
}

static void image_config(void **state)
{
        struct berth_image_config *c = config_ok(docker_config);

        assert_string_equal(c->architecture, "amd64");
        assert_string_equal(c->os, "linux");
        assert_null(c->variant);
        assert_null(c->author);
        assert_string_equal(c->created, "2024-01-01T00:00:00Z");
        assert_string_equal(c->user, "nobody");
        assert_string_equal(c->working_dir, "/srv");
        assert_string_equal(c->stop_signal, "SIGQUIT");
        assert_int_equal(strv_length(c->env), 2);
        assert_string_equal(c->env[1], "A=b");
        assert_int_equal(strv_length(c->entrypoint), 1);
        assert_int_equal(strv_length(c->cmd), 3);
        assert_string_equal(c->cmd[2], "true");
        assert_int_equal(strv_length(c->exposed_ports), 2);
        assert_string_equal(c->exposed_ports[0], "80/tcp");
        assert_string_equal(c->exposed_ports[1], "53/udp");
        assert_int_equal(strv_length(c->volumes), 1);
        assert_string_equal(c->volumes[0], "/data");
        assert_int_equal(c->n_labels, 2);
        assert_string_equal(c->labels[0].key, "l1");
        assert_string_equal(c->labels[0].value, "v1");
        assert_string_equal(c->labels[1].value, "");
        assert_int_equal(c->n_diff_ids, 2);
        assert_string_equal(c->diff_ids[1], D2);
        assert_null(c->diff_ids[2]);
        assert_int_equal(c->n_history, 2);
        assert_string_equal(c->history[0].created_by, "ADD x /");
        assert_false(c->history[0].empty_layer);
        assert_null(c->history[0].comment);
        assert_true(c->history[1].empty_layer);
        assert_string_equal(c->history[1].author, "me");
        berth_image_config_free(c);
        berth_image_config_free(NULL);
}

static void image_config_nulls(void **state)
{
        struct berth_image_config *c;

        c = config_ok("{\"config\": {\"Cmd\": null, \"Entrypoint\": null, \"Env\": null, "
                      "\"Labels\": null, \"ExposedPorts\": null, \"Volumes\": null, \"User\": "
                      "null},\n\"rootfs\": {\"type\": \"layers\", \"diff_ids\": []}}");
        assert_null(c->cmd);
        assert_null(c->entrypoint);
        assert_null(c->user);
        assert_non_null(c->env);
        assert_null(c->env[0]);
        assert_non_null(c->exposed_ports);
        assert_null(c->exposed_ports[0]);
        assert_non_null(c->volumes);
        assert_int_equal(c->n_labels, 0);
        assert_non_null(c->diff_ids);
        assert_int_equal(c->n_diff_ids, 0);
        assert_int_equal(c->n_history, 0);
        berth_image_config_free(c);

        /* no config at all; an empty Entrypoint is not an absent one */
        c = config_ok("{\"rootfs\": {\"type\": \"layers\", \"diff_ids\": [\"" D3 "\"]}}");
        assert_null(c->cmd);
        assert_non_null(c->env);
        assert_non_null(c->volumes);
        assert_non_null(c->exposed_ports);
        berth_image_config_free(c);
        c = config_ok("{\"config\": {\"Entrypoint\": []}, \"rootfs\": {\"type\": \"layers\", "
                      "\"diff_ids\": []}}");
        assert_non_null(c->entrypoint);
        assert_null(c->entrypoint[0]);
        berth_image_config_free(c);
}

#define ROOTFS ", \"rootfs\": {\"type\": \"layers\", \"diff_ids\": []}}"

/* docker build's HEALTHCHECK: durations in ns; absent fields 0; absent or null: none */
static void image_config_healthcheck(void **state)
{
        struct berth_image_config *c;

        c = config_ok("{\"config\": {\"Healthcheck\": {\"Test\": [\"CMD-SHELL\", \"true\"], "
                      "\"Interval\": 2000000000, \"Timeout\": 1000000000, \"StartPeriod\": 3, "
                      "\"StartInterval\": 4, \"Retries\": 2}}" ROOTFS);
        assert_non_null(c->healthcheck);
        assert_int_equal(strv_length(c->healthcheck->test), 2);
        assert_string_equal(c->healthcheck->test[1], "true");
        assert_int_equal(c->healthcheck->interval, 2000000000);
        assert_int_equal(c->healthcheck->timeout, 1000000000);
        assert_int_equal(c->healthcheck->start_period, 3);
        assert_int_equal(c->healthcheck->start_interval, 4);
        assert_int_equal(c->healthcheck->retries, 2);
        berth_image_config_free(c);
        c = config_ok("{\"config\": {\"Healthcheck\": {\"Test\": [\"NONE\"]}}" ROOTFS);
        assert_string_equal(c->healthcheck->test[0], "NONE");
        assert_int_equal(c->healthcheck->interval, 0);
        assert_int_equal(c->healthcheck->retries, 0);
        berth_image_config_free(c);
        c = config_ok("{\"config\": {\"Healthcheck\": null}" ROOTFS);
        assert_null(c->healthcheck);
        berth_image_config_free(c);
        c = config_ok("{\"config\": {}" ROOTFS);
        assert_null(c->healthcheck);
        berth_image_config_free(c);
}

static const struct bad_case bad_configs[] = {
    {"{\"os\": \"linux\",\n  \"rootfs\": {\"type\": \"layers\" \"diff_ids\": []}}", NULL, EINVAL,
     "image config: line 2 column 40: '}' expected near '\"diff_ids\"'"},
    {"\"x\"", NULL, EINVAL, "image config: line 1 column 3: '[' or '{' expected near '\"x\"'"},
    {"[]", NULL, EINVAL, "image config: expected a JSON object, got array"},
    {"{}", NULL, EINVAL, "image config: rootfs: missing"},
    {"{\"rootfs\": []}", NULL, EINVAL, "image config: rootfs: expected an object, got array"},
    {"{\"rootfs\": {\"diff_ids\": []}}", NULL, EINVAL, "image config: rootfs.type: missing"},
    {"{\"rootfs\": {\"type\": \"tar\", \"diff_ids\": []}}", NULL, EINVAL,
     "image config: rootfs.type: expected \"layers\", got \"tar\""},
    {"{\"rootfs\": {\"type\": \"layers\"}}", NULL, EINVAL,
     "image config: rootfs.diff_ids: missing"},
    {"{\"rootfs\": {\"type\": \"layers\", \"diff_ids\": \"x\"}}", NULL, EINVAL,
     "image config: rootfs.diff_ids: expected an array, got string"},
    {"{\"rootfs\": {\"type\": \"layers\", \"diff_ids\": [\"" D1 "\", \"sha256:12\"]}}", NULL,
     EINVAL,
     "image config: rootfs.diff_ids[1]: digest \"sha256:12\": expected sha256: followed by "
     "64 lowercase hex digits"},
    {"{\"rootfs\": {\"type\": \"layers\", \"diff_ids\": [\"" D1 "\", null]}}", NULL, EINVAL,
     "image config: rootfs.diff_ids[1]: expected a string, got null"},
    {"{\"architecture\": 64" ROOTFS, NULL, EINVAL,
     "image config: architecture: expected a string, got integer"},
    {"{\"config\": \"x\"" ROOTFS, NULL, EINVAL,
     "image config: config: expected an object, got string"},
    {"{\"config\": {\"Env\": \"A=b\"}" ROOTFS, NULL, EINVAL,
     "image config: config.Env: expected an array, got string"},
    {"{\"config\": {\"Cmd\": [\"a\", 1]}" ROOTFS, NULL, EINVAL,
     "image config: config.Cmd[1]: expected a string, got integer"},
    {"{\"config\": {\"Entrypoint\": \"/bin/sh\"}" ROOTFS, NULL, EINVAL,
     "image config: config.Entrypoint: expected an array, got string"},
    {"{\"config\": {\"Labels\": {\"a\": 1}}" ROOTFS, NULL, EINVAL,
     "image config: config.Labels[\"a\"]: expected a string, got integer"},
    {"{\"config\": {\"ExposedPorts\": [\"80/tcp\"]}" ROOTFS, NULL, EINVAL,
     "image config: config.ExposedPorts: expected an object, got array"},
    {"{\"config\": {\"Volumes\": true}" ROOTFS, NULL, EINVAL,
     "image config: config.Volumes: expected an object, got boolean"},
    {"{\"config\": {\"WorkingDir\": []}" ROOTFS, NULL, EINVAL,
     "image config: config.WorkingDir: expected a string, got array"},
    {"{\"config\": {\"Healthcheck\": []}" ROOTFS, NULL, EINVAL,
     "image config: config.Healthcheck: expected an object, got array"},
    {"{\"config\": {\"Healthcheck\": {\"Test\": \"true\"}}" ROOTFS, NULL, EINVAL,
     "image config: config.Healthcheck.Test: expected an array, got string"},
    {"{\"config\": {\"Healthcheck\": {\"Interval\": \"1s\"}}" ROOTFS, NULL, EINVAL,
     "image config: config.Healthcheck.Interval: expected an integer, got string"},
    {"{\"history\": {}" ROOTFS, NULL, EINVAL,
     "image config: history: expected an array, got object"},
    {"{\"history\": [{}, 1]" ROOTFS, NULL, EINVAL,
     "image config: history[1]: expected an object, got integer"},
    {"{\"history\": [{\"created_by\": \"x\", \"empty_layer\": \"yes\"}]" ROOTFS, NULL, EINVAL,
     "image config: history[0].empty_layer: expected a boolean, got string"},
    {"{\"history\": [{\"created_by\": \"x\", \"comment\": 1}]" ROOTFS, NULL, EINVAL,
     "image config: history[0].comment: expected a string, got integer"},
};

static void bad_image_configs(void **state)
{
        for (size_t i = 0; i < ARRAY_SIZE(bad_configs); i++) {
                const struct bad_case *b = &bad_configs[i];
                _autoerr_ struct berth_error *err = NULL;
                struct berth_image_config *c = NULL;
                int r = berth_image_config_parse(b->doc, strlen(b->doc), &c, &err);

                if (r != -b->code || !err || !streq(err->msg, b->msg))
                        print_message("# case %zu: %d %s\n", i, r, err ? err->msg : "(none)");
                assert_int_equal(r, -b->code);
                assert_null(c);
                assert_string_equal(err->msg, b->msg);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(oci_image),
            cmocka_unit_test(docker_image_media_type),
            cmocka_unit_test(indexes),
            cmocka_unit_test(bad_manifests),
            cmocka_unit_test(pick),
            cmocka_unit_test(layer_compression),
            cmocka_unit_test(image_config),
            cmocka_unit_test(image_config_nulls),
            cmocka_unit_test(image_config_healthcheck),
            cmocka_unit_test(bad_image_configs),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
