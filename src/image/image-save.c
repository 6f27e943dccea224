/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth save: images from the store into a docker-archive (an OCI layout plus manifest.json and
 * repositories), an oci-archive, or an OCI layout directory. A tar is written to a temp file
 * beside the target and renamed; a directory is built beside it and renamed.
 */
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "image/archive-dl.h"
#include "image/blobstore.h"
#include "image/image-archive.h"
#include "image/imageref.h"
#include "base/log.h"
#include "image/manifest.h"
#include "base/util.h"

#define BLOBS_DIR "blobs/sha256/"
#define META_MAX (16u << 20) /* a manifest or config read back from the store */
#define CHUNK (64 * 1024)
#define ANN_REF_NAME "org.opencontainers.image.ref.name"
#define ANN_CONTAINERD_NAME "io.containerd.image.name"

/* jansson's own json_decrefp (2.11+) */
#define _autojson_ _cleanup_(json_decrefp)

static char *blob_path(const char *digest)
{
        return xasprintf(BLOBS_DIR "%s", digest + 7);
}

int berth_archive_format_parse(const char *s, enum berth_archive_format *ret,
                               struct berth_error **err)
{
        static const struct {
                const char *name;
                enum berth_archive_format f;
        } formats[] = {
            {"docker-archive", BERTH_ARCHIVE_DOCKER},
            {"oci-archive", BERTH_ARCHIVE_OCI},
            {"oci-dir", BERTH_ARCHIVE_OCI_DIR},
        };

        for (size_t i = 0; s && i < ARRAY_SIZE(formats); i++)
                if (streq(s, formats[i].name)) {
                        *ret = formats[i].f;
                        return 0;
                }
        return berth_error_setx(err, EINVAL,
                                "format %s: expected docker-archive, oci-archive "
                                "or oci-dir",
                                QUOTE(s ? s : ""));
}

/* One image to save, with the names it is saved under. */
struct saved {
        struct berth_image *img;
        struct berth_manifest *m;
        char *manifest_mt;
        size_t manifest_size;
        char **names; /* normalized */
        size_t n_names;
};

struct saver {
        struct berth_store *s;
        struct berth_blobstore *bs;
        enum berth_archive_format f;
        struct saved *v;
        size_t n;
        char **blobs; /* each written once */
        size_t n_blobs;
};

/* Where the layout goes: a tar being written, or a directory. */
struct sink {
        struct archive *a;
        int dirfd;
};

static void saver_clear(struct saver *sv)
{
        for (size_t i = 0; i < sv->n; i++) {
                berth_image_free(sv->v[i].img);
                berth_manifest_free(sv->v[i].m);
                free(sv->v[i].manifest_mt);
                strv_free(sv->v[i].names);
        }
        free(sv->v);
        strv_free(sv->blobs);
}

static int tar_header(struct archive *a, const char *name, bool dir, int64_t size,
                      struct berth_error **err)
{
        struct archive_entry *e = archive_entry_new();
        int r;

        if (!e)
                return berth_error_setx(err, ENOMEM, "archive_entry_new failed");
        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
        archive_entry_set_perm(e, dir ? 0755 : 0644);
        archive_entry_set_size(e, dir ? 0 : size);
        archive_entry_set_mtime(e, 0, 0);
        archive_entry_set_uid(e, 0);
        archive_entry_set_gid(e, 0);
        r = archive_write_header(a, e);
        archive_entry_free(e);
        if (r < ARCHIVE_WARN)
                return berth_error_setx(err, EIO, "write %s: %s", name, archive_error_string(a));
        return 0;
}

static int sink_write(struct sink *k, int fd, const char *name, const void *buf, size_t len,
                      struct berth_error **err)
{
        if (k->a) {
                if (archive_write_data(k->a, buf, len) != (ssize_t) len)
                        return berth_error_setx(err, EIO, "write %s: %s", name,
                                                archive_error_string(k->a));
                return 0;
        }
        if (write_all(fd, buf, len) < 0)
                return berth_error_set(err, errno, "write %s", name);
        return 0;
}

static int sink_dir(struct sink *k, const char *name, struct berth_error **err)
{
        if (k->a)
                return tar_header(k->a, name, true, 0, err);
        if (mkdirat(k->dirfd, name, 0755) < 0 && errno != EEXIST)
                return berth_error_set(err, errno, "mkdir %s", name);
        return 0;
}

/* Starts a file: a tar header, or a new file in the directory (its fd in *ret_fd). */
static int sink_open(struct sink *k, const char *name, int64_t size, int *ret_fd,
                     struct berth_error **err)
{
        if (k->a)
                return tar_header(k->a, name, false, size, err);
        *ret_fd =
            openat(k->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (*ret_fd < 0)
                return berth_error_set(err, errno, "create %s", name);
        return 0;
}

static int sink_data(struct sink *k, const char *name, const void *data, size_t len,
                     struct berth_error **err)
{
        _autoclose_ int fd = -EBADF;
        int r;

        r = sink_open(k, name, (int64_t) len, &fd, err);
        if (r < 0)
                return r;
        return sink_write(k, fd, name, data, len, err);
}

static int sink_blob(struct sink *k, struct berth_blobstore *bs, const char *digest,
                     struct berth_error **err)
{
        _autoclose_ int in = -EBADF, out = -EBADF;
        _autofree_ char *name = blob_path(digest), *buf = NULL;
        struct stat st;
        ssize_t n;
        int r;

        r = berth_blobstore_open_blob(bs, digest, &in, err);
        if (r < 0)
                return r;
        if (fstat(in, &st) < 0)
                return berth_error_set(err, errno, "blob %s: fstat", digest);
        r = sink_open(k, name, st.st_size, &out, err);
        if (r < 0)
                return r;
        buf = xcalloc(1, CHUNK);
        while ((n = read(in, buf, CHUNK)) > 0) {
                r = sink_write(k, out, name, buf, (size_t) n, err);
                if (r < 0)
                        return r;
        }
        if (n < 0)
                return berth_error_set(err, errno, "blob %s: read", digest);
        return 0;
}

static int sink_json(struct sink *k, const char *name, json_t *j, struct berth_error **err)
{
        _autofree_ char *text = json_dumps(j, JSON_COMPACT);

        if (!text)
                return berth_error_setx(err, ENOMEM, "write %s: json_dumps failed", name);
        return sink_data(k, name, text, strlen(text), err);
}

static void saver_blob(struct saver *sv, const char *digest)
{
        if (!strv_contains(sv->blobs, digest))
                strv_push(&sv->blobs, &sv->n_blobs, xstrdup(digest));
}

/* The name `what` means, if it is one of the image's names (not an id). */
static char *saved_name(const struct berth_image *img, const char *what)
{
        _autoref_ struct berth_ref *ref = NULL;
        _autofree_ char *name = NULL;

        if (berth_ref_parse(what, &ref, NULL) < 0)
                return NULL;
        name = berth_ref_string(ref);
        return strv_contains(img->names, name) ? steal_ptr(&name) : NULL;
}

static int saver_add(struct saver *sv, const char *what, struct berth_error **err)
{
        struct berth_image *img = NULL;
        _autofree_ char *data = NULL;
        _autoclose_ int fd = -EBADF;
        struct saved *x = NULL;
        char *name;
        size_t len = 0;
        int r;

        r = berth_store_image_lookup(sv->s, what, &img, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < sv->n && !x; i++)
                if (streq(sv->v[i].img->id, img->id))
                        x = &sv->v[i];
        if (!x) {
                sv->v = xreallocarray(sv->v, sv->n + 1, sizeof(*sv->v));
                x = &sv->v[sv->n++];
                memset(x, 0, sizeof(*x));
                x->img = img;
        } else {
                berth_image_free(steal_ptr(&img));
        }
        name = saved_name(x->img, what);
        if (name && !strv_contains(x->names, name))
                strv_push(&x->names, &x->n_names, name);
        else
                free(name);
        if (x->m)
                return 0;
        r = berth_blobstore_open_blob(sv->bs, x->img->manifest, &fd, err);
        if (r >= 0)
                r = berth_read_fd(fd, "manifest", META_MAX, &data, &len, err);
        if (r >= 0)
                r = berth_manifest_parse(data, len, NULL, &x->m, err);
        if (r < 0)
                return berth_error_prefix(err, "image %s", QUOTE(what));
        x->manifest_mt = xstrdup(x->m->media_type ? x->m->media_type : BERTH_MT_OCI_MANIFEST);
        x->manifest_size = len;
        saver_blob(sv, x->img->manifest);
        saver_blob(sv, x->m->config.digest);
        for (size_t i = 0; i < x->m->n_layers; i++)
                saver_blob(sv, x->m->layers[i].digest);
        return 0;
}

static json_t *json_blob_path(const char *digest)
{
        _autofree_ char *p = blob_path(digest);

        return json_string(p);
}

static json_t *index_entry(const struct saved *x, const char *name)
{
        _autoref_ struct berth_ref *ref = NULL;
        json_t *e = json_pack("{s:s, s:s, s:I}", "mediaType", x->manifest_mt, "digest",
                              x->img->manifest, "size", (json_int_t) x->manifest_size);

        if (name && berth_ref_parse(name, &ref, NULL) >= 0)
                json_object_set_new(e, "annotations",
                                    json_pack("{s:s, s:s}", ANN_CONTAINERD_NAME, name, ANN_REF_NAME,
                                              ref->tag ? ref->tag : "latest"));
        return e;
}

static json_t *index_json(const struct saver *sv)
{
        json_t *entries = json_array();

        for (size_t i = 0; i < sv->n; i++) {
                const struct saved *x = &sv->v[i];

                if (x->n_names == 0)
                        json_array_append_new(entries, index_entry(x, NULL));
                for (size_t j = 0; j < x->n_names; j++)
                        json_array_append_new(entries, index_entry(x, x->names[j]));
        }
        return json_pack("{s:i, s:s, s:o}", "schemaVersion", 2, "mediaType", BERTH_MT_OCI_INDEX,
                         "manifests", entries);
}

/* docker's manifest.json (layers named as blobs: docker 25's form) and repositories. */
static void docker_json(const struct saver *sv, json_t **ret_manifest, json_t **ret_repos)
{
        json_t *manifest = json_array(), *repos = json_object();

        for (size_t i = 0; i < sv->n; i++) {
                const struct saved *x = &sv->v[i];
                json_t *tags = x->n_names ? json_array() : json_null(), *layers = json_array();

                for (size_t j = 0; j < x->m->n_layers; j++)
                        json_array_append_new(layers, json_blob_path(x->m->layers[j].digest));
                for (size_t j = 0; j < x->n_names; j++) {
                        _autoref_ struct berth_ref *ref = NULL;
                        _autofree_ char *familiar = berth_ref_familiar(x->names[j]);
                        _autofree_ char *full = NULL, *repo = NULL;

                        json_array_append_new(tags, json_string(familiar));
                        if (berth_ref_parse(x->names[j], &ref, NULL) < 0 || !ref->tag)
                                continue;
                        full = berth_ref_name(ref);
                        repo = berth_ref_familiar(full);
                        if (!json_object_get(repos, repo))
                                json_object_set_new(repos, repo, json_object());
                        json_object_set_new(json_object_get(repos, repo), ref->tag,
                                            json_string(x->img->id + 7));
                }
                json_array_append_new(manifest, json_pack("{s:o, s:o, s:o}", "Config",
                                                          json_blob_path(x->m->config.digest),
                                                          "RepoTags", tags, "Layers", layers));
        }
        *ret_manifest = manifest;
        *ret_repos = repos;
}

static int write_layout(const struct saver *sv, struct sink *k, struct berth_error **err)
{
        _autojson_ json_t *index = index_json(sv), *manifest = NULL, *repos = NULL;
        int r;

        r = sink_dir(k, "blobs", err);
        if (r >= 0)
                r = sink_dir(k, "blobs/sha256", err);
        for (size_t i = 0; r >= 0 && i < sv->n_blobs; i++)
                r = sink_blob(k, sv->bs, sv->blobs[i], err);
        if (r >= 0)
                r = sink_data(k, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30, err);
        if (r >= 0)
                r = sink_json(k, "index.json", index, err);
        if (r < 0 || sv->f != BERTH_ARCHIVE_DOCKER)
                return r;
        docker_json(sv, &manifest, &repos);
        r = sink_json(k, "manifest.json", manifest, err);
        if (r >= 0)
                r = sink_json(k, "repositories", repos, err);
        return r;
}

static int write_tar(const struct saver *sv, int fd, struct berth_error **err)
{
        _cleanup_(archive_write_freep) struct archive *a = archive_write_new();
        struct sink k = {.a = a, .dirfd = -EBADF};
        int r;

        if (!a)
                return berth_error_setx(err, ENOMEM, "archive_write_new failed");
        if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
            archive_write_open_fd(a, fd) != ARCHIVE_OK)
                return berth_error_setx(err, EIO, "write archive: %s", archive_error_string(a));
        r = write_layout(sv, &k, err);
        if (r < 0)
                return r;
        if (archive_write_close(a) != ARCHIVE_OK)
                return berth_error_setx(err, EIO, "write archive: %s", archive_error_string(a));
        return 0;
}

/* A tar written beside path and renamed over it: nothing half-written is ever at path. */
static int save_tar(const struct saver *sv, const char *path, struct berth_error **err)
{
        _autofree_ char *tmp = NULL;
        _autoclose_ int fd = -EBADF;
        int r;

        if (streq(path, "-"))
                return write_tar(sv, STDOUT_FILENO, err);
        tmp = xasprintf("%s.tmp-XXXXXX", path);
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return berth_error_set(err, errno, "create %s", tmp);
        r = write_tar(sv, fd, err);
        if (r >= 0 && fchmod(fd, 0644) < 0)
                r = berth_error_set(err, errno, "chmod %s", tmp);
        if (r >= 0 && fsync(fd) < 0)
                r = berth_error_set(err, errno, "fsync %s", tmp);
        if (r >= 0 && rename(tmp, path) < 0)
                r = berth_error_set(err, errno, "rename %s to %s", tmp, path);
        if (r < 0)
                unlink(tmp);
        return r;
}

/* A directory made beside path and renamed to it (path must be absent or an empty directory). */
static int save_dir(const struct saver *sv, const char *path, struct berth_error **err)
{
        _autofree_ char *tmp = xasprintf("%s.tmp-XXXXXX", path);
        _autoerr_ struct berth_error *e = NULL;
        _autoclose_ int fd = -EBADF;
        struct sink k = {.dirfd = -EBADF};
        int r;

        if (!mkdtemp(tmp))
                return berth_error_set(err, errno, "create %s", tmp);
        fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fchmod(fd, 0755) < 0) {
                r = berth_error_set(err, errno, "open %s", tmp);
        } else {
                k.dirfd = fd;
                r = write_layout(sv, &k, err);
        }
        if (r >= 0 && syncfs(fd) < 0)
                r = berth_error_set(err, errno, "syncfs %s", tmp);
        if (r >= 0 && rename(tmp, path) < 0)
                r = berth_error_set(err, errno, "rename %s to %s", tmp, path);
        if (r < 0 && berth_rm_rf_at(AT_FDCWD, tmp, &e) < 0)
                berth_warn("%s, ignoring", e->msg);
        return r;
}

int berth_image_save(struct berth_store *s, const char *const *images, enum berth_archive_format f,
                     const char *path, struct berth_error **err)
{
        struct saver sv = {.s = s, .bs = berth_store_blobs(s), .f = f};
        int r = 0;

        if (!images || !images[0])
                return berth_error_setx(err, EINVAL, "save: no image given");
        r = berth_archive_load(err);
        if (r < 0)
                return r;
        if (f == BERTH_ARCHIVE_OCI_DIR && streq(path, "-"))
                return berth_error_setx(err, EINVAL, "save: oci-dir needs a directory, not \"-\"");
        for (size_t i = 0; r >= 0 && images[i]; i++)
                r = saver_add(&sv, images[i], err);
        if (r >= 0)
                r = f == BERTH_ARCHIVE_OCI_DIR ? save_dir(&sv, path, err)
                                               : save_tar(&sv, path, err);
        saver_clear(&sv);
        if (r < 0)
                return berth_error_prefix(err, "save to %s", streq(path, "-") ? "stdout" : path);
        return 0;
}
