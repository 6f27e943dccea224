/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Manifests, indexes and image configs: JSON (jansson) into the typed structs of manifest.h.
 * Inner functions build errors that start with the field path ("layers[2].digest: missing");
 * the public entry points put the document's name in front ("manifest: ...").
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>

#include <jansson.h>

#include "image/blobstore.h"
#include "image/manifest.h"
#include "base/json.h"
#include "base/util.h"

#define MT_DOCKER_SCHEMA1 "application/vnd.docker.distribution.manifest.v1+json"
#define MT_DOCKER_SCHEMA1_SIGNED "application/vnd.docker.distribution.manifest.v1+prettyjws"
#define SCHEMA1_MSG "docker schema 1 manifests are not supported"

/* ---- JSON helpers ---- */

/* "PATH.KEY: <message>" (or "KEY: ..." at the top, "PATH: ..." without a key). */
static int field_error(struct berth_error **err, int code, const char *path, const char *key,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int field_error(struct berth_error **err, int code, const char *path, const char *key,
                       const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = berth_error_vsetx(err, code, fmt, ap);
        va_end(ap);
        berth_error_prefix(err, "%s%s%s", path, *path && key ? "." : "", key ? key : "");
        return r;
}

static char *sub_path(const char *path, const char *key)
{
        return *path ? xasprintf("%s.%s", path, key) : xstrdup(key);
}

/* Puts the document's name in front of an inner error. */
static int doc_error(int r, const char *doc, struct berth_error **err)
{
        if (err && *err)
                berth_error_prefix(err, "%s", doc);
        return r;
}

/* The document as a JSON object. Syntax errors: "line L column C: <jansson's text>". */
static int load_object(const void *data, size_t len, json_t **ret, struct berth_error **err)
{
        json_error_t e;
        json_t *root;

        if (!data && len)
                return berth_error_setx(err, EINVAL, "no data");
        root = json_loadb(data ? data : "", len, JSON_REJECT_DUPLICATES, &e);
        /* jansson names a flag the caller cannot set: say what is wrong instead */
        if (!root && json_error_code(&e) == json_error_null_character)
                return berth_error_setx(err, EINVAL,
                                        "line %d column %d: \\u0000 is not allowed in strings",
                                        e.line, e.column);
        if (!root && e.line > 0)
                return berth_error_setx(err, EINVAL, "line %d column %d: %s", e.line, e.column,
                                        e.text);
        if (!root)
                return berth_error_setx(err, EINVAL, "%s", e.text);
        if (!json_is_object(root)) {
                berth_error_setx(err, EINVAL, "expected a JSON object, got %s",
                                 berth_json_kind(root));
                json_decref(root);
                return -EINVAL;
        }
        *ret = root;
        return 0;
}

/* An optional (or required) string; absent or null gives NULL. */
static int get_str(const json_t *obj, const char *path, const char *key, bool required, char **ret,
                   struct berth_error **err)
{
        json_t *v = json_object_get(obj, key);

        if (!v || json_is_null(v)) {
                if (required)
                        return field_error(err, EINVAL, path, key, "missing");
                *ret = NULL;
                return 0;
        }
        if (!json_is_string(v))
                return field_error(err, EINVAL, path, key, "expected a string, got %s",
                                   berth_json_kind(v));
        *ret = xstrdup(json_string_value(v));
        return 0;
}

/* An array of strings as a NULL-terminated vector; absent or null gives NULL. */
static int get_strv(const json_t *obj, const char *path, const char *key, char ***ret,
                    struct berth_error **err)
{
        json_t *v = json_object_get(obj, key), *e;
        _autostrv_ char **strv = NULL;
        size_t i;

        if (!v || json_is_null(v)) {
                *ret = NULL;
                return 0;
        }
        if (!json_is_array(v))
                return field_error(err, EINVAL, path, key, "expected an array, got %s",
                                   berth_json_kind(v));
        strv = xcalloc(json_array_size(v) + 1, sizeof(char *));
        json_array_foreach(v, i, e)
        {
                _autofree_ char *p = sub_path(path, key);

                if (!json_is_string(e))
                        return berth_error_setx(err, EINVAL, "%s[%zu]: expected a string, got %s",
                                                p, i, berth_json_kind(e));
                strv[i] = xstrdup(json_string_value(e));
        }
        *ret = steal_ptr(&strv);
        return 0;
}

/* The keys of an object ({"80/tcp": {}}) as a vector; absent or null gives an empty one. */
static int get_keys(const json_t *obj, const char *path, const char *key, char ***ret,
                    struct berth_error **err)
{
        json_t *v = json_object_get(obj, key), *e;
        _autostrv_ char **strv = NULL;
        const char *k;
        size_t i = 0;

        if (v && !json_is_null(v) && !json_is_object(v))
                return field_error(err, EINVAL, path, key, "expected an object, got %s",
                                   berth_json_kind(v));
        strv = xcalloc((v ? json_object_size(v) : 0) + 1, sizeof(char *));
        if (v && json_is_object(v))
                json_object_foreach(v, k, e) strv[i++] = xstrdup(k);
        *ret = steal_ptr(&strv);
        return 0;
}

/* An object of strings, in document order; absent or null gives none. */
static int get_kv(const json_t *obj, const char *path, const char *key, struct berth_kv **ret,
                  size_t *ret_n, struct berth_error **err)
{
        json_t *v = json_object_get(obj, key), *e;
        struct berth_kv *kv;
        const char *k;
        size_t n = 0;

        if (!v || json_is_null(v)) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        if (!json_is_object(v))
                return field_error(err, EINVAL, path, key, "expected an object, got %s",
                                   berth_json_kind(v));
        kv = xcalloc(json_object_size(v) + 1, sizeof(*kv));
        json_object_foreach(v, k, e)
        {
                if (!json_is_string(e)) {
                        _autofree_ char *p = sub_path(path, key);

                        berth_kv_free(kv, n);
                        return berth_error_setx(err, EINVAL, "%s[%s]: expected a string, got %s", p,
                                                QUOTE(k), berth_json_kind(e));
                }
                kv[n].key = xstrdup(k);
                kv[n++].value = xstrdup(json_string_value(e));
        }
        *ret = kv;
        *ret_n = n;
        return 0;
}

/* ---- descriptors ---- */

static void platform_clear(struct berth_platform *p)
{
        free(p->os);
        free(p->architecture);
        free(p->variant);
        *p = (struct berth_platform){0};
}

static void descriptor_clear(struct berth_descriptor *d)
{
        free(d->media_type);
        free(d->digest);
        platform_clear(&d->platform);
        *d = (struct berth_descriptor){0};
}

static void descriptors_free(struct berth_descriptor *d, size_t n)
{
        for (size_t i = 0; i < n; i++)
                descriptor_clear(&d[i]);
        free(d);
}

static int parse_platform(const json_t *obj, const char *path, struct berth_platform *p,
                          struct berth_error **err)
{
        json_t *v = json_object_get(obj, "platform");
        _autofree_ char *pp = NULL;
        int r;

        if (!v || json_is_null(v))
                return 0;
        if (!json_is_object(v))
                return field_error(err, EINVAL, path, "platform", "expected an object, got %s",
                                   berth_json_kind(v));
        pp = sub_path(path, "platform");
        r = get_str(v, pp, "os", true, &p->os, err);
        if (r >= 0)
                r = get_str(v, pp, "architecture", true, &p->architecture, err);
        if (r >= 0)
                r = get_str(v, pp, "variant", false, &p->variant, err);
        return r;
}

static int parse_digest(const json_t *obj, const char *path, char **ret, struct berth_error **err)
{
        _autoerr_ struct berth_error *e = NULL;
        _autofree_ char *digest = NULL;
        int r;

        r = get_str(obj, path, "digest", true, &digest, err);
        if (r < 0)
                return r;
        r = berth_digest_validate(digest, &e);
        if (r < 0)
                return field_error(err, -r, path, "digest", "%s", e ? e->msg : "invalid");
        *ret = steal_ptr(&digest);
        return 0;
}

static int parse_size(const json_t *obj, const char *path, int64_t *ret, struct berth_error **err)
{
        json_t *v = json_object_get(obj, "size");

        if (!v)
                return field_error(err, EINVAL, path, "size", "missing");
        if (!json_is_integer(v))
                return field_error(err, EINVAL, path, "size", "expected an integer, got %s",
                                   berth_json_kind(v));
        if (json_integer_value(v) < 0)
                return field_error(err, EINVAL, path, "size",
                                   "must be >= 0, got %" JSON_INTEGER_FORMAT,
                                   json_integer_value(v));
        *ret = (int64_t) json_integer_value(v);
        return 0;
}

/* Fills d (zeroed) from v; on failure the caller clears it. */
static int parse_descriptor(const json_t *v, const char *path, bool with_platform,
                            struct berth_descriptor *d, struct berth_error **err)
{
        int r;

        if (!json_is_object(v))
                return berth_error_setx(err, EINVAL, "%s: expected an object, got %s", path,
                                        berth_json_kind(v));
        r = get_str(v, path, "mediaType", true, &d->media_type, err);
        if (r >= 0)
                r = parse_digest(v, path, &d->digest, err);
        if (r >= 0)
                r = parse_size(v, path, &d->size, err);
        if (r >= 0 && with_platform)
                r = parse_platform(v, path, &d->platform, err);
        return r;
}

/* A required array of descriptors: "layers" or "manifests". */
static int parse_descriptors(const json_t *obj, const char *key, bool with_platform,
                             struct berth_descriptor **ret, size_t *ret_n, struct berth_error **err)
{
        json_t *v = json_object_get(obj, key), *e;
        struct berth_descriptor *d;
        size_t i;

        if (!v)
                return field_error(err, EINVAL, "", key, "missing");
        if (!json_is_array(v))
                return field_error(err, EINVAL, "", key, "expected an array, got %s",
                                   berth_json_kind(v));
        d = xcalloc(json_array_size(v) + 1, sizeof(*d));
        json_array_foreach(v, i, e)
        {
                _autofree_ char *p = xasprintf("%s[%zu]", key, i);
                int r = parse_descriptor(e, p, with_platform, &d[i], err);

                if (r < 0) {
                        descriptors_free(d, i + 1);
                        return r;
                }
        }
        *ret = d;
        *ret_n = json_array_size(v);
        return 0;
}

/* ---- manifests ---- */

static bool is_image_type(const char *mt)
{
        return streq(mt, BERTH_MT_OCI_MANIFEST) || streq(mt, BERTH_MT_DOCKER_MANIFEST);
}

static bool is_index_type(const char *mt)
{
        return streq(mt, BERTH_MT_OCI_INDEX) || streq(mt, BERTH_MT_DOCKER_LIST);
}

static bool is_schema1_type(const char *mt)
{
        return streq(mt, MT_DOCKER_SCHEMA1) || streq(mt, MT_DOCKER_SCHEMA1_SIGNED);
}

/* A Content-Type without its parameters ("; charset=utf-8") and blanks. */
static char *content_type_base(const char *ct)
{
        size_t n = strcspn(ct, ";");

        while (n > 0 && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
                n--;
        return xasprintf("%.*s", (int) n, ct);
}

/* The document's media type: its mediaType, else a manifest Content-Type, else inferred. */
static int media_type(const json_t *root, const char *content_type, char **ret,
                      struct berth_error **err)
{
        _autofree_ char *ct = content_type ? content_type_base(content_type) : NULL;
        json_t *config = json_object_get(root, "config");
        const char *cfg_mt = json_string_value(json_object_get(config, "mediaType"));
        int r;

        r = get_str(root, "", "mediaType", false, ret, err);
        if (r < 0 || *ret)
                return r;
        if (ct && (is_image_type(ct) || is_index_type(ct)))
                *ret = steal_ptr(&ct);
        else if (json_object_get(root, "manifests"))
                *ret = xstrdup(BERTH_MT_OCI_INDEX);
        else if (cfg_mt && streq(cfg_mt, BERTH_MT_DOCKER_CONFIG))
                *ret = xstrdup(BERTH_MT_DOCKER_MANIFEST);
        else if (json_object_get(root, "layers"))
                *ret = xstrdup(BERTH_MT_OCI_MANIFEST);
        else
                return berth_error_setx(err, EINVAL,
                                        "no mediaType, and neither \"layers\" nor "
                                        "\"manifests\": not an image manifest or index");
        return 0;
}

/* schemaVersion 1, or a schema 1 mediaType or Content-Type: signed, unverifiable manifests that
 * docker itself stopped pulling (docker 28). */
static bool is_schema1(const json_t *root, const char *content_type)
{
        json_t *v = json_object_get(root, "schemaVersion");
        const char *mt = json_string_value(json_object_get(root, "mediaType"));
        _autofree_ char *ct = content_type ? content_type_base(content_type) : NULL;

        if (json_is_integer(v) && json_integer_value(v) == 1)
                return true;
        if (mt)
                return is_schema1_type(mt);
        return ct && is_schema1_type(ct);
}

static int check_schema(const json_t *root, const char *mt, struct berth_error **err)
{
        json_t *v = json_object_get(root, "schemaVersion");

        if (!v)
                return field_error(err, EINVAL, "", "schemaVersion", "missing");
        if (!json_is_integer(v))
                return field_error(err, EINVAL, "", "schemaVersion", "expected an integer, got %s",
                                   berth_json_kind(v));
        if (json_integer_value(v) != 2)
                return field_error(err, EINVAL, "", "schemaVersion",
                                   "expected 2, got %" JSON_INTEGER_FORMAT, json_integer_value(v));
        if (!is_image_type(mt) && !is_index_type(mt))
                return berth_error_setx(err, ENOTSUP, "media type %s is not supported", QUOTE(mt));
        /* A document readable as both is how a manifest/index confusion starts (CVE-2021-41190). */
        if (json_object_get(root, "layers") && json_object_get(root, "manifests"))
                return berth_error_setx(err, EINVAL, "has both \"layers\" and \"manifests\"");
        return 0;
}

static int parse_image(const json_t *root, struct berth_manifest *m, struct berth_error **err)
{
        json_t *config = json_object_get(root, "config");
        int r;

        if (!config)
                return field_error(err, EINVAL, "", "config", "missing");
        r = parse_descriptor(config, "config", false, &m->config, err);
        if (r < 0)
                return r;
        return parse_descriptors(root, "layers", false, &m->layers, &m->n_layers, err);
}

static int parse_manifest(const json_t *root, const char *content_type, struct berth_manifest *m,
                          struct berth_error **err)
{
        int r;

        if (is_schema1(root, content_type))
                return berth_error_setx(err, ENOTSUP, SCHEMA1_MSG);
        r = media_type(root, content_type, &m->media_type, err);
        if (r < 0)
                return r;
        r = check_schema(root, m->media_type, err);
        if (r < 0)
                return r;
        if (is_index_type(m->media_type)) {
                m->kind = BERTH_MANIFEST_INDEX;
                return parse_descriptors(root, "manifests", true, &m->manifests, &m->n_manifests,
                                         err);
        }
        m->kind = BERTH_MANIFEST_IMAGE;
        return parse_image(root, m, err);
}

void berth_manifest_free(struct berth_manifest *m)
{
        if (!m)
                return;
        free(m->media_type);
        descriptor_clear(&m->config);
        descriptors_free(m->layers, m->n_layers);
        descriptors_free(m->manifests, m->n_manifests);
        free(m);
}

int berth_manifest_parse(const void *data, size_t len, const char *content_type,
                         struct berth_manifest **ret, struct berth_error **err)
{
        __attribute__((cleanup(berth_manifest_freep))) struct berth_manifest *m = NULL;
        json_auto_t *root = NULL;
        int r;

        r = load_object(data, len, &root, err);
        if (r < 0)
                return doc_error(r, "manifest", err);
        m = xcalloc(1, sizeof(*m));
        r = parse_manifest(root, content_type, m, err);
        if (r < 0)
                return doc_error(r, "manifest", err);
        *ret = steal_ptr(&m);
        return 0;
}

/* ---- platforms ---- */

struct platform {
        const char *os, *arch, *variant; /* variant "" when none */
};

/* containerd's platforms.Normalize(): GOARCH names; arm64 means v8, arm means v7. */
static void normalize(struct platform *p)
{
        const char *a = p->arch, *v = p->variant ? p->variant : "";

        if (streq(a, "x86_64") || streq(a, "x86-64") || streq(a, "amd64")) {
                a = "amd64";
                if (streq(v, "v1"))
                        v = "";
        } else if (streq(a, "aarch64") || streq(a, "arm64")) {
                a = "arm64";
                if (streq(v, "8") || streq(v, "v8"))
                        v = "";
        } else if (streq(a, "armhf")) {
                a = "arm";
                v = "v7";
        } else if (streq(a, "armel")) {
                a = "arm";
                v = "v6";
        } else if (streq(a, "arm")) {
                v = !*v || streq(v, "7") ? "v7"
                    : streq(v, "5")      ? "v5"
                    : streq(v, "6")      ? "v6"
                    : streq(v, "8")      ? "v8"
                                         : v;
        } else if (streq(a, "i386")) {
                a = "386";
        }
        p->arch = a;
        p->variant = v;
}

static bool platform_equal(const struct platform *a, const struct platform *b)
{
        return strcasecmp(a->os, b->os) == 0 && streq(a->arch, b->arch) &&
               streq(a->variant, b->variant);
}

/* "os/arch[/variant]" split in place in buf, lowercased as containerd's platforms.Parse does
 * ("LINUX/AMD64" is linux/amd64). */
static int parse_platform_string(const char *s, char *buf, size_t size, struct platform *p,
                                 struct berth_error **err)
{
        char *slash1, *slash2;

        if (strlen(s) >= size)
                return berth_error_setx(err, EINVAL, "platform %s: too long", QUOTE(s));
        for (size_t i = 0; (buf[i] = (char) tolower((unsigned char) s[i])); i++)
                ;
        slash1 = strchr(buf, '/');
        slash2 = slash1 ? strchr(slash1 + 1, '/') : NULL;
        if (!slash1 || slash1 == buf || !slash1[1] || slash1[1] == '/' ||
            (slash2 && (!slash2[1] || strchr(slash2 + 1, '/'))))
                return berth_error_setx(err, EINVAL, "platform %s: expected os/arch[/variant]",
                                        QUOTE(s));
        *slash1 = '\0';
        if (slash2)
                *slash2 = '\0';
        *p =
            (struct platform){.os = buf, .arch = slash1 + 1, .variant = slash2 ? slash2 + 1 : NULL};
        return 0;
}

static char host_platform[sizeof("linux/") + sizeof(((struct utsname *) 0)->machine)];
static pthread_once_t host_once = PTHREAD_ONCE_INIT;

/* uname's machine as a GOARCH name, with the variant for 32-bit arm. */
static void init_host_platform(void)
{
        static const struct {
                const char *machine, *platform;
        } map[] = {
            {"x86_64", "amd64"},     {"i386", "386"},
            {"i486", "386"},         {"i586", "386"},
            {"i686", "386"},         {"aarch64", "arm64"},
            {"arm64", "arm64"},      {"armv8l", "arm/v8"},
            {"armv7l", "arm/v7"},    {"armv7", "arm/v7"},
            {"armv6l", "arm/v6"},    {"armv5tel", "arm/v5"},
            {"armv5tejl", "arm/v5"}, {"loongarch64", "loong64"},
        };
        struct utsname u;
        const char *arch;

        if (uname(&u) < 0)
                snprintf(u.machine, sizeof(u.machine), "unknown");
        arch = u.machine;
        for (size_t i = 0; i < ARRAY_SIZE(map); i++)
                if (streq(u.machine, map[i].machine))
                        arch = map[i].platform;
        snprintf(host_platform, sizeof(host_platform), "linux/%s", arch);
}

const char *berth_platform_host(void)
{
        pthread_once(&host_once, init_host_platform);
        return host_platform;
}

/* "linux/amd64, linux/arm64/v8" from the index's entries (attestations left out). */
static char *list_platforms(const struct berth_manifest *index)
{
        char *list = xstrdup("");

        for (size_t i = 0; i < index->n_manifests; i++) {
                const struct berth_platform *p = &index->manifests[i].platform;
                char *more;

                if (!p->os || !p->architecture || streq(p->os, "unknown"))
                        continue;
                more = xasprintf("%s%s%s/%s%s%s", list, *list ? ", " : "", p->os, p->architecture,
                                 p->variant ? "/" : "", p->variant ? p->variant : "");
                free(list);
                list = more;
        }
        return list;
}

int berth_manifest_pick(const struct berth_manifest *index, const char *platform,
                        const struct berth_descriptor **ret, struct berth_error **err)
{
        const struct berth_descriptor *fallback = NULL;
        _autofree_ char *list = NULL;
        struct platform want = {0};
        bool any_variant;
        char buf[256];
        int r;

        if (!index || index->kind != BERTH_MANIFEST_INDEX)
                return berth_error_setx(err, EINVAL, "pick a platform: not an index");
        if (!platform)
                platform = berth_platform_host();
        r = parse_platform_string(platform, buf, sizeof(buf), &want, err);
        if (r < 0)
                return r;
        any_variant = !want.variant;
        normalize(&want);
        for (size_t i = 0; i < index->n_manifests; i++) {
                const struct berth_platform *bp = &index->manifests[i].platform;
                struct platform p = {bp->os, bp->architecture, bp->variant};

                if (!p.os || !p.arch)
                        continue;
                normalize(&p);
                if (platform_equal(&p, &want)) {
                        *ret = &index->manifests[i];
                        return 0;
                }
                if (any_variant && !fallback && strcasecmp(p.os, want.os) == 0 &&
                    streq(p.arch, want.arch))
                        fallback = &index->manifests[i];
        }
        if (fallback) {
                *ret = fallback;
                return 0;
        }
        list = list_platforms(index);
        return berth_error_setx(err, ENOENT, "no image for %s in the index (it has %s)", platform,
                                *list ? list : "no platforms");
}

int berth_layer_compression(const char *media_type, enum berth_compression *ret,
                            struct berth_error **err)
{
        static const struct {
                const char *media_type;
                enum berth_compression c;
        } map[] = {
            {BERTH_MT_OCI_LAYER, BERTH_COMPRESSION_NONE},
            {BERTH_MT_OCI_LAYER_GZIP, BERTH_COMPRESSION_GZIP},
            {BERTH_MT_OCI_LAYER_ZSTD, BERTH_COMPRESSION_ZSTD},
            {"application/vnd.oci.image.layer.nondistributable.v1.tar", BERTH_COMPRESSION_NONE},
            {"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
             BERTH_COMPRESSION_GZIP},
            {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
             BERTH_COMPRESSION_ZSTD},
            {BERTH_MT_DOCKER_LAYER, BERTH_COMPRESSION_GZIP},
            {"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", BERTH_COMPRESSION_GZIP},
            /* docker save's uncompressed layers in an OCI layout (docker 25+) */
            {"application/vnd.docker.image.rootfs.diff.tar", BERTH_COMPRESSION_NONE},
        };

        for (size_t i = 0; media_type && i < ARRAY_SIZE(map); i++)
                if (streq(media_type, map[i].media_type)) {
                        *ret = map[i].c;
                        return 0;
                }
        return berth_error_setx(err, ENOTSUP, "layer media type %s is not supported",
                                media_type ? QUOTE(media_type) : "(none)");
}

/* ---- image configs ---- */

void berth_healthcheck_free(struct berth_healthcheck *h)
{
        if (!h)
                return;
        strv_free(h->test);
        free(h);
}

/* An optional integer; absent or null leaves *ret as it is. */
static int get_i64(const json_t *obj, const char *path, const char *key, int64_t *ret,
                   struct berth_error **err)
{
        json_t *v = json_object_get(obj, key);

        if (!v || json_is_null(v))
                return 0;
        if (!json_is_integer(v))
                return field_error(err, EINVAL, path, key, "expected an integer, got %s",
                                   berth_json_kind(v));
        *ret = json_integer_value(v);
        return 0;
}

/* config.Healthcheck: {"Test", "Interval", "Timeout", "StartPeriod", "StartInterval",
 * "Retries"}, as docker build writes it. */
static int parse_healthcheck(const json_t *cfg, struct berth_image_config *c,
                             struct berth_error **err)
{
        static const char path[] = "config.Healthcheck";
        json_t *h = json_object_get(cfg, "Healthcheck");
        struct berth_healthcheck *hc;
        int64_t retries = 0;
        int r;

        if (!h || json_is_null(h))
                return 0;
        if (!json_is_object(h))
                return field_error(err, EINVAL, "config", "Healthcheck",
                                   "expected an object, got %s", berth_json_kind(h));
        hc = xcalloc(1, sizeof(*hc));
        r = get_strv(h, path, "Test", &hc->test, err);
        if (r >= 0)
                r = get_i64(h, path, "Interval", &hc->interval, err);
        if (r >= 0)
                r = get_i64(h, path, "Timeout", &hc->timeout, err);
        if (r >= 0)
                r = get_i64(h, path, "StartPeriod", &hc->start_period, err);
        if (r >= 0)
                r = get_i64(h, path, "StartInterval", &hc->start_interval, err);
        if (r >= 0)
                r = get_i64(h, path, "Retries", &retries, err);
        if (r >= 0 && (retries < INT32_MIN || retries > INT32_MAX))
                r = field_error(err, EINVAL, path, "Retries", "out of range");
        if (r < 0) {
                berth_healthcheck_free(hc);
                return r;
        }
        hc->retries = (int) retries;
        c->healthcheck = hc;
        return 0;
}

static int parse_container_config(const json_t *root, struct berth_image_config *c,
                                  struct berth_error **err)
{
        json_t *cfg = json_object_get(root, "config");
        int r;

        if (cfg && !json_is_null(cfg) && !json_is_object(cfg))
                return field_error(err, EINVAL, "", "config", "expected an object, got %s",
                                   berth_json_kind(cfg));
        if (cfg && json_is_null(cfg))
                cfg = NULL;
        r = get_str(cfg, "config", "User", false, &c->user, err);
        if (r >= 0)
                r = get_str(cfg, "config", "WorkingDir", false, &c->working_dir, err);
        if (r >= 0)
                r = get_str(cfg, "config", "StopSignal", false, &c->stop_signal, err);
        if (r >= 0)
                r = get_strv(cfg, "config", "Env", &c->env, err);
        if (r >= 0 && !c->env)
                c->env = xcalloc(1, sizeof(char *));
        if (r >= 0)
                r = get_strv(cfg, "config", "Entrypoint", &c->entrypoint, err);
        if (r >= 0)
                r = get_strv(cfg, "config", "Cmd", &c->cmd, err);
        if (r >= 0)
                r = get_keys(cfg, "config", "ExposedPorts", &c->exposed_ports, err);
        if (r >= 0)
                r = get_keys(cfg, "config", "Volumes", &c->volumes, err);
        if (r >= 0)
                r = get_kv(cfg, "config", "Labels", &c->labels, &c->n_labels, err);
        if (r >= 0)
                r = parse_healthcheck(cfg, c, err);
        return r;
}

static int parse_diff_ids(const json_t *rootfs, struct berth_image_config *c,
                          struct berth_error **err)
{
        json_t *ids = json_object_get(rootfs, "diff_ids"), *e;
        size_t i;

        if (!ids)
                return field_error(err, EINVAL, "rootfs", "diff_ids", "missing");
        if (!json_is_array(ids))
                return field_error(err, EINVAL, "rootfs", "diff_ids", "expected an array, got %s",
                                   berth_json_kind(ids));
        c->diff_ids = xcalloc(json_array_size(ids) + 1, sizeof(char *));
        json_array_foreach(ids, i, e)
        {
                _autoerr_ struct berth_error *de = NULL;
                int r;

                if (!json_is_string(e))
                        return berth_error_setx(err, EINVAL,
                                                "rootfs.diff_ids[%zu]: expected a string, got %s",
                                                i, berth_json_kind(e));
                r = berth_digest_validate(json_string_value(e), &de);
                if (r < 0)
                        return berth_error_setx(err, -r, "rootfs.diff_ids[%zu]: %s", i,
                                                de ? de->msg : "invalid");
                c->diff_ids[i] = xstrdup(json_string_value(e));
                c->n_diff_ids = i + 1;
        }
        return 0;
}

static int parse_rootfs(const json_t *root, struct berth_image_config *c, struct berth_error **err)
{
        json_t *rootfs = json_object_get(root, "rootfs");
        _autofree_ char *type = NULL;
        int r;

        if (!rootfs)
                return field_error(err, EINVAL, "", "rootfs", "missing");
        if (!json_is_object(rootfs))
                return field_error(err, EINVAL, "", "rootfs", "expected an object, got %s",
                                   berth_json_kind(rootfs));
        r = get_str(rootfs, "rootfs", "type", true, &type, err);
        if (r < 0)
                return r;
        if (!streq(type, "layers"))
                return field_error(err, EINVAL, "rootfs", "type", "expected \"layers\", got %s",
                                   QUOTE(type));
        return parse_diff_ids(rootfs, c, err);
}

static int parse_history_entry(const json_t *v, const char *path, struct berth_history *h,
                               struct berth_error **err)
{
        json_t *empty;
        int r;

        if (!json_is_object(v))
                return berth_error_setx(err, EINVAL, "%s: expected an object, got %s", path,
                                        berth_json_kind(v));
        r = get_str(v, path, "created", false, &h->created, err);
        if (r >= 0)
                r = get_str(v, path, "created_by", false, &h->created_by, err);
        if (r >= 0)
                r = get_str(v, path, "author", false, &h->author, err);
        if (r >= 0)
                r = get_str(v, path, "comment", false, &h->comment, err);
        if (r < 0)
                return r;
        empty = json_object_get(v, "empty_layer");
        if (empty && !json_is_boolean(empty) && !json_is_null(empty))
                return field_error(err, EINVAL, path, "empty_layer", "expected a boolean, got %s",
                                   berth_json_kind(empty));
        h->empty_layer = json_is_true(empty);
        return 0;
}

static int parse_history(const json_t *root, struct berth_image_config *c, struct berth_error **err)
{
        json_t *v = json_object_get(root, "history"), *e;
        size_t i;

        if (!v || json_is_null(v))
                return 0;
        if (!json_is_array(v))
                return field_error(err, EINVAL, "", "history", "expected an array, got %s",
                                   berth_json_kind(v));
        c->history = xcalloc(json_array_size(v) + 1, sizeof(*c->history));
        json_array_foreach(v, i, e)
        {
                _autofree_ char *p = xasprintf("history[%zu]", i);

                c->n_history = i + 1; /* counted first: a half-filled entry is freed too */
                if (parse_history_entry(e, p, &c->history[i], err) < 0)
                        return -EINVAL;
        }
        return 0;
}

static int parse_image_config(const json_t *root, struct berth_image_config *c,
                              struct berth_error **err)
{
        int r;

        r = get_str(root, "", "architecture", false, &c->architecture, err);
        if (r >= 0)
                r = get_str(root, "", "os", false, &c->os, err);
        if (r >= 0)
                r = get_str(root, "", "variant", false, &c->variant, err);
        if (r >= 0)
                r = get_str(root, "", "created", false, &c->created, err);
        if (r >= 0)
                r = get_str(root, "", "author", false, &c->author, err);
        if (r >= 0)
                r = parse_container_config(root, c, err);
        if (r >= 0)
                r = parse_rootfs(root, c, err);
        if (r >= 0)
                r = parse_history(root, c, err);
        return r;
}

void berth_image_config_free(struct berth_image_config *c)
{
        if (!c)
                return;
        free(c->architecture);
        free(c->os);
        free(c->variant);
        free(c->created);
        free(c->author);
        free(c->user);
        free(c->working_dir);
        free(c->stop_signal);
        strv_free(c->env);
        strv_free(c->entrypoint);
        strv_free(c->cmd);
        strv_free(c->exposed_ports);
        strv_free(c->volumes);
        berth_kv_free(c->labels, c->n_labels);
        berth_healthcheck_free(c->healthcheck);
        strv_free(c->diff_ids);
        for (size_t i = 0; i < c->n_history; i++) {
                free(c->history[i].created);
                free(c->history[i].created_by);
                free(c->history[i].author);
                free(c->history[i].comment);
        }
        free(c->history);
        free(c);
}

int berth_image_config_parse(const void *data, size_t len, struct berth_image_config **ret,
                             struct berth_error **err)
{
        __attribute__((cleanup(berth_image_config_freep))) struct berth_image_config *c = NULL;
        json_auto_t *root = NULL;
        int r;

        r = load_object(data, len, &root, err);
        if (r < 0)
                return doc_error(r, "image config", err);
        c = xcalloc(1, sizeof(*c));
        r = parse_image_config(root, c, err);
        if (r < 0)
                return doc_error(r, "image config", err);
        *ret = steal_ptr(&c);
        return 0;
}
