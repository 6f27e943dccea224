/* SPDX-License-Identifier: Apache-2.0 */
/*
 * New images (import, commit, docker-archive load): an OCI config built with jansson from the
 * base image's config blob (unknown fields kept) or from nothing, the new layers appended with a
 * history entry each, and an OCI manifest listing the base's layer descriptors and the new ones.
 * Only the store's public API is used here.
 */
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "image/blobstore.h"
#include "image/imagestore.h"
#include "image/manifest.h"
#include "base/json.h"
#include "base/util.h"

void berth_config_change_clear(struct berth_config_change *c)
{
        if (!c)
                return;
        strv_free(c->env);
        strv_free(c->cmd);
        strv_free(c->entrypoint);
        strv_free(c->exposed_ports);
        strv_free(c->volumes);
        free(c->working_dir);
        free(c->user);
        free(c->stop_signal);
        berth_kv_free(c->labels, c->n_labels);
        free(c->author);
        free(c->comment);
        free(c->created_by);
        *c = (struct berth_config_change){0};
}

/* obj[key] as an object or array of the wanted type, created (replacing anything else) if not. */
static json_t *child(json_t *obj, const char *key, bool array)
{
        json_t *c = json_object_get(obj, key);

        if (array ? json_is_array(c) : json_is_object(c))
                return c;
        c = array ? json_array() : json_object();
        json_object_set_new(obj, key, c);
        return c;
}

static int read_json_blob(struct berth_store *s, const char *digest, json_t **ret,
                          struct berth_error **err)
{
        _autoclose_ int fd = -EBADF;
        _autofree_ char *buf = NULL;
        json_error_t je;
        size_t len = 0;
        json_t *j;
        int r;

        r = berth_blobstore_open_blob(berth_store_blobs(s), digest, &fd, err);
        if (r >= 0)
                r = berth_read_fd(fd, digest, 0, &buf, &len, err);
        if (r < 0)
                return r;
        j = json_loadb(buf, len, 0, &je);
        if (!j)
                return berth_error_setx(err, EINVAL, "blob %s: line %d column %d: %s", digest,
                                        je.line, je.column, je.text);
        if (!json_is_object(j)) {
                json_decref(j);
                return berth_error_setx(err, EINVAL, "blob %s: not a JSON object", digest);
        }
        *ret = j;
        return 0;
}

static json_t *new_manifest(void)
{
        return json_pack("{s:i, s:s, s:{}, s:[]}", "schemaVersion", 2, "mediaType",
                         BERTH_MT_OCI_MANIFEST, "config", "layers");
}

/* The base image's config (as stored) and a manifest listing its layers; its top chain id. */
static int base_documents(struct berth_store *s, const char *base, json_t **ret_config,
                          json_t **ret_manifest, char **ret_parent, struct berth_error **err)
{
        _cleanup_(berth_image_freep) struct berth_image *img = NULL;
        json_auto_t *config = NULL, *old = NULL, *manifest = new_manifest();
        size_t n;
        int r;

        r = berth_store_image_lookup(s, base, &img, err);
        if (r >= 0)
                r = read_json_blob(s, img->id, &config, err);
        if (r >= 0)
                r = read_json_blob(s, img->manifest, &old, err);
        if (r < 0)
                return berth_error_prefix(err, "base image %s", QUOTE(base));
        if (!json_is_array(json_object_get(old, "layers")))
                return berth_error_setx(err, EINVAL, "base image %s: manifest %s: no layers",
                                        QUOTE(base), img->manifest);
        json_object_set(manifest, "layers", json_object_get(old, "layers"));
        n = strv_length(img->layers);
        *ret_parent = n ? xstrdup(img->layers[n - 1]) : NULL;
        *ret_config = steal_ptr(&config);
        *ret_manifest = steal_ptr(&manifest);
        return 0;
}

/* An empty config for platform "os/arch[/variant]" (NULL: the host's). */
static int new_config(const char *platform, json_t **ret, struct berth_error **err)
{
        _autofree_ char *p = xstrdup(platform ? platform : berth_platform_host());
        char *arch = strchr(p, '/'), *variant = NULL;
        json_t *c;

        if (arch) {
                *arch++ = '\0';
                variant = strchr(arch, '/');
                if (variant)
                        *variant++ = '\0';
        }
        if (!*p || !arch || !*arch || (variant && (!*variant || strchr(variant, '/'))))
                return berth_error_setx(err, EINVAL, "platform %s: expected os/arch[/variant]",
                                        QUOTE(platform));
        c = json_pack("{s:s, s:s, s:{}, s:{s:s, s:[]}, s:[]}", "architecture", arch, "os", p,
                      "config", "rootfs", "type", "layers", "diff_ids", "history");
        if (variant)
                json_object_set_new(c, "variant", json_string(variant));
        *ret = c;
        return 0;
}

/* Env: KEY=VALUE replaces an entry with the same KEY, or is appended. */
static void merge_env(json_t *cfg, char *const *env)
{
        json_t *a = child(cfg, "Env", true), *x;
        size_t i;

        for (size_t k = 0; env && env[k]; k++) {
                size_t keylen = strcspn(env[k], "=");
                bool replaced = false;

                json_array_foreach(a, i, x)
                {
                        const char *e = json_string_value(x);

                        if (e && strncmp(e, env[k], keylen) == 0 &&
                            (e[keylen] == '=' || e[keylen] == '\0')) {
                                json_array_set_new(a, i, json_string(env[k]));
                                replaced = true;
                                break;
                        }
                }
                if (!replaced)
                        json_array_append_new(a, json_string(env[k]));
        }
}

/* Keys of an object whose values are {} (ExposedPorts, Volumes); a port without "/" is tcp. */
static void add_keys(json_t *cfg, const char *key, char *const *v, bool ports)
{
        json_t *o;

        if (!v || !v[0])
                return;
        o = child(cfg, key, false);
        for (size_t k = 0; v[k]; k++) {
                _autofree_ char *name =
                    ports && !strchr(v[k], '/') ? xasprintf("%s/tcp", v[k]) : xstrdup(v[k]);

                json_object_set_new(o, name, json_object());
        }
}

static void set_string(json_t *cfg, const char *key, const char *value)
{
        if (value)
                json_object_set_new(cfg, key, json_string(value));
}

static void apply_change(json_t *config, const struct berth_config_change *c)
{
        json_t *cfg = child(config, "config", false);

        if (!c)
                return;
        if (c->env)
                merge_env(cfg, c->env);
        if (c->set_cmd)
                json_object_set_new(cfg, "Cmd", berth_json_strv_or_null(c->cmd));
        if (c->set_entrypoint)
                json_object_set_new(cfg, "Entrypoint", berth_json_strv_or_null(c->entrypoint));
        set_string(cfg, "WorkingDir", c->working_dir);
        set_string(cfg, "User", c->user);
        set_string(cfg, "StopSignal", c->stop_signal);
        add_keys(cfg, "ExposedPorts", c->exposed_ports, true);
        add_keys(cfg, "Volumes", c->volumes, false);
        if (c->n_labels) {
                berth_json_set_kv(child(cfg, "Labels", false), c->labels, c->n_labels);
        }
        set_string(config, "author", c->author);
}

static json_t *history_entry(const char *created, const struct berth_config_change *c, bool empty)
{
        json_t *h = json_pack("{s:s}", "created", created);

        if (c) {
                set_string(h, "created_by", c->created_by);
                set_string(h, "author", c->author);
                set_string(h, "comment", c->comment);
        }
        if (empty)
                json_object_set_new(h, "empty_layer", json_true());
        return h;
}

/* The size of a new layer's blob: given, or the stored blob's. */
static int blob_size(struct berth_store *s, const struct berth_new_layer *l, int64_t *ret,
                     struct berth_error **err)
{
        _autoclose_ int fd = -EBADF;
        struct stat st;
        int r;

        if (l->size >= 0) {
                *ret = l->size;
                return 0;
        }
        r = berth_blobstore_open_blob(berth_store_blobs(s), l->blob, &fd, err);
        if (r < 0)
                return r;
        if (fstat(fd, &st) < 0)
                return berth_error_set(err, errno, "blob %s: fstat", l->blob);
        *ret = st.st_size;
        return 0;
}

/* Unpacks the new layers and lists them in config (diff ids, history) and manifest. */
static int append_layers(struct berth_store *s, const char *base_top,
                         const struct berth_new_layer *layers, size_t n, json_t *config,
                         json_t *manifest, const struct berth_config_change *c,
                         struct berth_error **err)
{
        _autofree_ char *parent = xstrdup(base_top), *created = berth_rfc3339_now();
        json_t *rootfs = child(config, "rootfs", false);
        json_t *diff_ids = child(rootfs, "diff_ids", true);

        json_object_set_new(rootfs, "type", json_string("layers"));
        for (size_t k = 0; k < n; k++) {
                const struct berth_new_layer *l = &layers[k];
                int64_t size = 0;
                char *next;
                int r;

                r = berth_store_layer_add(s, parent, l->diff_id, l->blob, l->opts, l->stats, err);
                if (r >= 0)
                        r = blob_size(s, l, &size, err);
                if (r < 0)
                        return berth_error_prefix(err, "layer %zu", k + 1);
                next = berth_chain_id(parent, l->diff_id);
                free(parent);
                parent = next;
                json_array_append_new(diff_ids, json_string(l->diff_id));
                json_array_append_new(child(config, "history", true),
                                      history_entry(created, c, false));
                json_array_append_new(child(manifest, "layers", true),
                                      json_pack("{s:s, s:s, s:I}", "mediaType",
                                                l->media_type ?: BERTH_MT_OCI_LAYER, "digest",
                                                l->blob, "size", (json_int_t) size));
        }
        if (n == 0)
                json_array_append_new(child(config, "history", true),
                                      history_entry(created, c, true));
        json_object_set_new(config, "created", json_string(created));
        return 0;
}

static int put_json(struct berth_store *s, json_t *j, const char *what, char **ret_digest,
                    int64_t *ret_size, struct berth_error **err)
{
        _autofree_ char *data = json_dumps(j, JSON_COMPACT);
        int r;

        if (!data)
                return berth_error_setx(err, ENOMEM, "%s: json_dumps failed", what);
        r = berth_blobstore_put(berth_store_blobs(s), data, strlen(data), NULL, ret_digest, err);
        if (r < 0)
                return berth_error_prefix(err, "%s", what);
        if (ret_size)
                *ret_size = (int64_t) strlen(data);
        return 0;
}

static int check_layers(const struct berth_new_layer *layers, size_t n, struct berth_error **err)
{
        for (size_t k = 0; k < n; k++) {
                int r = berth_digest_validate(layers[k].blob, err);

                if (r >= 0)
                        r = berth_digest_validate(layers[k].diff_id, err);
                if (r < 0)
                        return berth_error_prefix(err, "layer %zu", k + 1);
        }
        return 0;
}

/* Writes config and manifest (pointing at the config) as blobs; the manifest's digest. */
static int write_documents(struct berth_store *s, json_t *config, json_t *manifest,
                           char **ret_manifest, struct berth_error **err)
{
        _autofree_ char *cdigest = NULL;
        int64_t csize = 0;
        int r;

        r = put_json(s, config, "write config", &cdigest, &csize, err);
        if (r < 0)
                return r;
        json_object_set_new(manifest, "config",
                            json_pack("{s:s, s:s, s:I}", "mediaType", BERTH_MT_OCI_CONFIG, "digest",
                                      cdigest, "size", (json_int_t) csize));
        return put_json(s, manifest, "write manifest", ret_manifest, NULL, err);
}

int berth_store_image_create(struct berth_store *s, const char *base,
                             const struct berth_new_layer *layers, size_t n_layers,
                             const struct berth_config_change *change, const char *platform,
                             const char *name, char **ret_id, struct berth_error **err)
{
        json_auto_t *config = NULL, *manifest = NULL;
        _autofree_ char *top = NULL, *mdigest = NULL;
        _autoclose_ int lease = -EBADF;
        int r;

        r = check_layers(layers, n_layers, err);
        if (r >= 0)
                r = berth_store_lease(s, &lease, err);
        if (r >= 0 && base)
                r = base_documents(s, base, &config, &manifest, &top, err);
        else if (r >= 0)
                r = new_config(platform, &config, err);
        if (r >= 0 && !manifest)
                manifest = new_manifest();
        /* a commit on top of an image at the limit would make one no container can run */
        if (r >= 0 && json_array_size(json_object_get(manifest, "layers")) + n_layers >
                          berth_store_max_layers(s))
                r = berth_store_layers_error(
                    s, json_array_size(json_object_get(manifest, "layers")) + n_layers, err);
        if (r >= 0)
                r = append_layers(s, top, layers, n_layers, config, manifest, change, err);
        if (r >= 0) {
                apply_change(config, change);
                r = write_documents(s, config, manifest, &mdigest, err);
        }
        if (r >= 0)
                r = berth_store_image_add(s, mdigest, name, NULL, ret_id, err);
        return r < 0 ? berth_error_prefix(err, "create image") : 0;
}
