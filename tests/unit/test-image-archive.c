/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Images in files: archives of every form are made here with libarchive (layers, configs and
 * manifests written by hand), loaded into a store under a fresh temp dir, saved and loaded
 * back; bad archives fail with their exact message and leave nothing in the store. One test
 * loads what tools/mkimage makes, when the tool and busybox are there. Needs root (layers are
 * unpacked with their owners).
 */
#define _GNU_SOURCE 1
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "image/blobstore.h"
#include "image/image-archive.h"
#include "image/imagestore.h"
#include "image/manifest.h"
#include "base/util.h"

#define LAYER_MAX (1 << 20)

struct ctx {
        char dir[64];  /* the test's temp dir */
        char root[96]; /* the store */
        struct berth_store *s;
};

/* An entry of a tar made here: a file (data, len), a directory (dir) or a symlink (link). */
struct tent {
        const char *name;
        const void *data;
        size_t len;
        bool dir;
        const char *link;
};

/* A one-layer image's pieces, made in memory. */
struct img {
        char *layer; /* the blob */
        size_t layer_len;
        char layer_digest[72], diff_id[72];
        char *config;
        char config_digest[72];
        char *manifest;
        char manifest_digest[72];
};

static void sha256(const void *data, size_t len, char out[72])
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned n = 0;

        assert_int_equal(EVP_Digest(data, len, md, &n, EVP_sha256(), NULL), 1);
        strcpy(out, "sha256:");
        for (unsigned i = 0; i < n; i++)
                snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
}

static void add_entry(struct archive *w, const struct tent *t)
{
        struct archive_entry *e = archive_entry_new();

        archive_entry_set_pathname(e, t->name);
        archive_entry_set_mtime(e, 0, 0);
        if (t->dir) {
                archive_entry_set_filetype(e, AE_IFDIR);
                archive_entry_set_perm(e, 0755);
        } else if (t->link) {
                archive_entry_set_filetype(e, AE_IFLNK);
                archive_entry_set_perm(e, 0777);
                archive_entry_set_symlink(e, t->link);
        } else {
                archive_entry_set_filetype(e, AE_IFREG);
                archive_entry_set_perm(e, 0644);
                archive_entry_set_size(e, (la_int64_t) t->len);
        }
        assert_int_equal(archive_write_header(w, e), ARCHIVE_OK);
        if (!t->dir && !t->link && t->len)
                assert_int_equal(archive_write_data(w, t->data, t->len), (ssize_t) t->len);
        archive_entry_free(e);
}

/* A tar of entries (n of them) at path, or in memory (*ret_buf) when path is NULL. */
static void make_tar(const char *path, const struct tent *t, size_t n, bool gzip, char **ret_buf,
                     size_t *ret_len)
{
        struct archive *w = archive_write_new();
        char *buf = NULL;
        size_t used = 0;

        assert_int_equal(archive_write_set_format_pax_restricted(w), ARCHIVE_OK);
        if (gzip)
                assert_int_equal(archive_write_add_filter_gzip(w), ARCHIVE_OK);
        if (path) {
                assert_int_equal(archive_write_open_filename(w, path), ARCHIVE_OK);
        } else {
                buf = xcalloc(1, LAYER_MAX);
                assert_int_equal(archive_write_set_bytes_in_last_block(w, 1), ARCHIVE_OK);
                assert_int_equal(archive_write_open_memory(w, buf, LAYER_MAX, &used), ARCHIVE_OK);
        }
        for (size_t i = 0; i < n; i++)
                add_entry(w, &t[i]);
        assert_int_equal(archive_write_close(w), ARCHIVE_OK);
        archive_write_free(w);
        if (ret_buf) {
                *ret_buf = buf;
                *ret_len = used;
        }
}

#define FILE_ENTRY(n, s)                                                                           \
        {                                                                                          \
                .name = (n), .data = (s), .len = sizeof(s) - 1                                     \
        }

/* An image with one layer holding hello.txt = content (the layer gzip'ed if asked). */
static void img_make(struct img *m, const char *content, bool gzip)
{
        const struct tent files[] = {
            {.name = "etc", .dir = true},
            {.name = "hello.txt", .data = content, .len = strlen(content)}};
        _autofree_ char *plain = NULL;
        size_t plain_len = 0;

        memset(m, 0, sizeof(*m));
        make_tar(NULL, files, 2, false, &plain, &plain_len);
        sha256(plain, plain_len, m->diff_id);
        if (gzip) {
                make_tar(NULL, files, 2, true, &m->layer, &m->layer_len);
        } else {
                m->layer = steal_ptr(&plain);
                m->layer_len = plain_len;
        }
        sha256(m->layer, m->layer_len, m->layer_digest);
        m->config = xasprintf("{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Cmd\":"
                              "[\"sh\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"%s\"]}}",
                              m->diff_id);
        sha256(m->config, strlen(m->config), m->config_digest);
        m->manifest = xasprintf(
            "{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{"
            "\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu},\"layers\":"
            "[{\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu}]}",
            BERTH_MT_OCI_MANIFEST, BERTH_MT_OCI_CONFIG, m->config_digest, strlen(m->config),
            gzip ? BERTH_MT_OCI_LAYER_GZIP : BERTH_MT_OCI_LAYER, m->layer_digest, m->layer_len);
        sha256(m->manifest, strlen(m->manifest), m->manifest_digest);
}

static void img_clear(struct img *m)
{
        free(m->layer);
        free(m->config);
        free(m->manifest);
}

static char *blob_name(const char *digest)
{
        return xasprintf("blobs/sha256/%s", digest + 7);
}

static char *index_json(const struct img *m, const char *name, const char *tag)
{
        return xasprintf("{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"%s\",\"digest\":"
                         "\"%s\",\"size\":%zu,\"annotations\":{\"io.containerd.image.name\":"
                         "\"%s\",\"org.opencontainers.image.ref.name\":\"%s\"}}]}",
                         BERTH_MT_OCI_MANIFEST, m->manifest_digest, strlen(m->manifest), name, tag);
}

/* An OCI layout of m as a tar at path (gzip'ed as a whole if asked). */
static void make_oci_archive(const char *path, const struct img *m, bool gzip)
{
        _autofree_ char *index = index_json(m, "docker.io/library/hello:latest", "latest");
        _autofree_ char *lb = blob_name(m->layer_digest), *cb = blob_name(m->config_digest);
        _autofree_ char *mb = blob_name(m->manifest_digest);
        const struct tent t[] = {
            FILE_ENTRY("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}"),
            {.name = lb, .data = m->layer, .len = m->layer_len},
            {.name = "index.json", .data = index, .len = strlen(index)},
            {.name = cb, .data = m->config, .len = strlen(m->config)},
            {.name = mb, .data = m->manifest, .len = strlen(m->manifest)},
        };

        make_tar(path, t, ARRAY_SIZE(t), gzip, NULL, NULL);
}

static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
        _autofree_ char *path = xasprintf("%s/%s", dir, name);
        _autofree_ char *parent = xstrdup(path);
        FILE *f;

        *strrchr(parent, '/') = '\0';
        mkdir(parent, 0755);
        f = fopen(path, "we");
        assert_non_null(f);
        assert_int_equal(fwrite(data, 1, len, f), len);
        fclose(f);
}

static void make_oci_dir(const char *dir, const struct img *m)
{
        _autofree_ char *index = index_json(m, "docker.io/library/hello:latest", "latest");
        _autofree_ char *lb = blob_name(m->layer_digest), *cb = blob_name(m->config_digest);
        _autofree_ char *mb = blob_name(m->manifest_digest), *blobs = xasprintf("%s/blobs", dir);

        assert_int_equal(mkdir(dir, 0755), 0);
        assert_int_equal(mkdir(blobs, 0755), 0);
        write_file(dir, "oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}", 30);
        write_file(dir, "index.json", index, strlen(index));
        write_file(dir, lb, m->layer, m->layer_len);
        write_file(dir, cb, m->config, strlen(m->config));
        write_file(dir, mb, m->manifest, strlen(m->manifest));
}

static int setup(void **state)
{
        struct ctx *c = xcalloc(1, sizeof(*c));
        _autoerr_ struct berth_error *err = NULL;

        if (geteuid() != 0) {
                free(c);
                skip();
        }
        snprintf(c->dir, sizeof(c->dir), "/tmp/berth-test-archive.XXXXXX");
        if (!mkdtemp(c->dir))
                return -1;
        snprintf(c->root, sizeof(c->root), "%s/store", c->dir);
        if (berth_store_open(c->root, &c->s, &err) < 0) {
                fprintf(stderr, "# %s\n", err->msg);
                return -1;
        }
        *state = c;
        return 0;
}

static int teardown(void **state)
{
        struct ctx *c = *state;

        berth_store_free(c->s);
        assert_int_equal(berth_rm_rf_at(AT_FDCWD, c->dir, NULL), 0);
        free(c);
        return 0;
}

static char *path_in(const struct ctx *c, const char *name)
{
        return xasprintf("%s/%s", c->dir, name);
}

static int count_entries(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        int n = 0;

        if (!d)
                return -1;
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        n++;
        closedir(d);
        return n;
}

static size_t count_images(struct ctx *c)
{
        _autoerr_ struct berth_error *err = NULL;
        struct berth_image **v = NULL;
        size_t n = 0;

        assert_int_equal(berth_store_images(c->s, &v, &n, &err), 0);
        berth_images_free(v, n);
        return n;
}

/* Nothing left: no image recorded, no blob kept. */
static void assert_store_empty(struct ctx *c)
{
        _autofree_ char *blobs = xasprintf("%s/blobs/sha256", c->root);

        assert_int_equal(count_images(c), 0);
        assert_int_equal(count_entries(blobs), 0);
}

/* The image `what` exists, has id config_digest and its layer holds hello.txt = content. */
static void assert_image(struct ctx *c, const char *what, const char *id, const char *content)
{
        _autoerr_ struct berth_error *err = NULL;
        struct berth_image *img = NULL;
        _autofree_ char *dir = NULL, *path = NULL, *data = NULL;
        size_t len = 0;

        if (berth_store_image_lookup(c->s, what, &img, &err) < 0)
                fail_msg("lookup %s: %s", what, err->msg);
        if (id)
                assert_string_equal(img->id, id);
        assert_non_null(img->layers[0]);
        dir = berth_store_layer_dir(c->s, img->layers[strv_length(img->layers) - 1]);
        path = xasprintf("%s/hello.txt", dir);
        assert_int_equal(berth_read_file_at(AT_FDCWD, path, 0, &data, &len, &err), 0);
        assert_string_equal(data, content);
        berth_image_free(img);
}

static void load_ok(struct ctx *c, const char *path, const char *expect_loaded)
{
        _autoerr_ struct berth_error *err = NULL;
        _autostrv_ char **loaded = NULL;

        if (berth_image_load(c->s, path, NULL, &loaded, &err) < 0)
                fail_msg("load %s: %s", path, err->msg);
        assert_non_null(loaded);
        assert_non_null(loaded[0]);
        assert_string_equal(loaded[0], expect_loaded);
        assert_null(loaded[1]);
}

static void load_fails(struct ctx *c, const char *path, int code, const char *msg)
{
        _autoerr_ struct berth_error *err = NULL;
        char **loaded = NULL;

        assert_int_equal(berth_image_load(c->s, path, NULL, &loaded, &err), -code);
        assert_null(loaded);
        assert_string_equal(err->msg, msg);
        assert_store_empty(c);
}

/* ---- load ----------------------------------------------------------------------------- */

static void load_oci_archive(void **state)
{
        struct ctx *c = *state;
        _autofree_ char *path = path_in(c, "oci.tar"), *gz = path_in(c, "oci.tar.gz");
        int fd, saved;
        struct img m;

        img_make(&m, "plain\n", false);
        make_oci_archive(path, &m, false);
        load_ok(c, path, "docker.io/library/hello:latest");
        assert_image(c, "hello", m.config_digest, "plain\n");
        /* again, from stdin: nothing changes */
        saved = dup(STDIN_FILENO);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        assert_int_equal(dup2(fd, STDIN_FILENO), STDIN_FILENO);
        close(fd);
        load_ok(c, "-", "docker.io/library/hello:latest");
        assert_int_equal(dup2(saved, STDIN_FILENO), STDIN_FILENO);
        close(saved);
        assert_int_equal(count_images(c), 1);
        /* a gzip'ed archive of a gzip'ed layer */
        img_clear(&m);
        img_make(&m, "gzip\n", true);
        make_oci_archive(gz, &m, true);
        load_ok(c, gz, "docker.io/library/hello:latest");
        assert_image(c, "hello:latest", m.config_digest, "gzip\n");
        assert_int_equal(count_images(c), 2);
        img_clear(&m);
}

static void load_oci_dir(void **state)
{
        struct ctx *c = *state;
        _autofree_ char *dir = path_in(c, "layout");
        struct img m;

        img_make(&m, "dir\n", true);
        make_oci_dir(dir, &m);
        load_ok(c, dir, "docker.io/library/hello:latest");
        assert_image(c, "hello", m.config_digest, "dir\n");
        img_clear(&m);
}

/* docker's classic form: <id>.json, <x>/layer.tar (a second image's layer a symlink to it). */
static void load_docker_classic(void **state)
{
        struct ctx *c = *state;
        _autofree_ char *path = path_in(c, "classic.tar"), *cfg = NULL, *manifest = NULL;
        _autostrv_ char **loaded = NULL;
        _autoerr_ struct berth_error *err = NULL;
        struct img m;

        img_make(&m, "classic\n", false);
        cfg = xasprintf("%s.json", m.config_digest + 7);
        manifest = xasprintf("[{\"Config\":\"%s\",\"RepoTags\":[\"hello:latest\"],\"Layers\":"
                             "[\"ab/layer.tar\"]},{\"Config\":\"%s\",\"RepoTags\":"
                             "[\"localhost/other:v1\"],\"Layers\":[\"cd/layer.tar\"]}]",
                             cfg, cfg);
        {
                const struct tent t[] = {
                    {.name = "ab", .dir = true},
                    FILE_ENTRY("ab/VERSION", "1.0"),
                    {.name = "ab/layer.tar", .data = m.layer, .len = m.layer_len},
                    {.name = "cd", .dir = true},
                    {.name = "cd/layer.tar", .link = "../ab/layer.tar"},
                    {.name = cfg, .data = m.config, .len = strlen(m.config)},
                    {.name = "manifest.json", .data = manifest, .len = strlen(manifest)},
                    FILE_ENTRY("repositories", "{}"),
                };

                make_tar(path, t, ARRAY_SIZE(t), false, NULL, NULL);
        }
        if (berth_image_load(c->s, path, NULL, &loaded, &err) < 0)
                fail_msg("load: %s", err->msg);
        assert_int_equal(strv_length(loaded), 2);
        assert_string_equal(loaded[0], "docker.io/library/hello:latest");
        assert_string_equal(loaded[1], "localhost/other:v1");
        assert_image(c, "hello", m.config_digest, "classic\n");
        assert_image(c, "localhost/other:v1", m.config_digest, "classic\n");
        assert_int_equal(count_images(c), 1);
        img_clear(&m);
}

/* docker 25: manifest.json names blobs of an OCI layout; an image without RepoTags is loaded
 * by id. */
static void load_docker25(void **state)
{
        struct ctx *c = *state;
        _autofree_ char *path = path_in(c, "d25.tar"), *manifest = NULL, *index = NULL;
        _autofree_ char *lb = NULL, *cb = NULL, *mb = NULL;
        struct img m;

        img_make(&m, "d25\n", false);
        lb = blob_name(m.layer_digest);
        cb = blob_name(m.config_digest);
        mb = blob_name(m.manifest_digest);
        manifest = xasprintf("[{\"Config\":\"%s\",\"RepoTags\":null,\"Layers\":[\"%s\"]}]", cb, lb);
        index = index_json(&m, "docker.io/library/ignored:latest", "latest");
        {
                const struct tent t[] = {
                    {.name = "manifest.json", .data = manifest, .len = strlen(manifest)},
                    {.name = "index.json", .data = index, .len = strlen(index)},
                    FILE_ENTRY("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}"),
                    {.name = "blobs", .dir = true},
                    {.name = "blobs/sha256", .dir = true},
                    {.name = lb, .data = m.layer, .len = m.layer_len},
                    {.name = cb, .data = m.config, .len = strlen(m.config)},
                    {.name = mb, .data = m.manifest, .len = strlen(m.manifest)},
                };

                make_tar(path, t, ARRAY_SIZE(t), false, NULL, NULL);
        }
        load_ok(c, path, m.config_digest);
        assert_image(c, m.config_digest, m.config_digest, "d25\n");
        img_clear(&m);
}

/* What tools/mkimage makes loads: busybox in every format, and a two-layer image with a
 * whiteout. Skipped when the tool, python3 or busybox is missing. */
static void load_mkimage(void **state)
{
        static const char *const formats[] = {"oci-archive", "oci-dir", "docker-archive",
                                              "docker-classic"};
        struct ctx *c = *state;
        _autofree_ char *src = xstrdup(__FILE__), *tool = NULL;
        _autoerr_ struct berth_error *err = NULL;
        struct berth_image *img = NULL;

        *strrchr(src, '/') = '\0';
        tool = xasprintf("%s/../../tools/mkimage", src);
        if (access(tool, X_OK) < 0 || access("/usr/bin/python3", X_OK) < 0 ||
            access("/bin/busybox", X_OK) < 0)
                skip();
        for (size_t i = 0; i < ARRAY_SIZE(formats); i++) {
                _autofree_ char *out = xasprintf("%s/bb-%s", c->dir, formats[i]);
                _autofree_ char *cmd =
                    xasprintf("%s busybox %s --format %s --name bb:%zu", tool, out, formats[i], i);
                _autofree_ char *name = xasprintf("docker.io/library/bb:%zu", i);

                assert_int_equal(system(cmd), 0);
                load_ok(c, out, name);
        }
        /* every format gives the same image */
        assert_int_equal(count_images(c), 1);
        assert_int_equal(berth_store_image_lookup(c->s, "bb:3", &img, &err), 0);
        assert_int_equal(strv_length(img->names), 4);
        berth_image_free(img);
}

/* ---- bad archives ------------------------------------------------------------------------- */

static void load_bad(void **state)
{
        struct ctx *c = *state;
        _autofree_ char *missing = path_in(c, "missing.tar"), *outside = path_in(c, "outside.tar");
        _autofree_ char *mismatch = path_in(c, "mismatch.tar"), *notar = path_in(c, "x.txt");
        _autofree_ char *cfg = NULL, *m1 = NULL, *m2 = NULL, *msg = NULL, *wrong = NULL;
        char got[72];
        struct img m;

        img_make(&m, "bad\n", false);
        cfg = xasprintf("%s.json", m.config_digest + 7);
        m1 = xasprintf("[{\"Config\":\"%s\",\"RepoTags\":[\"x:1\"],\"Layers\":[\"ab/layer.tar\"]}]",
                       cfg);
        m2 = xasprintf("[{\"Config\":\"%s\",\"RepoTags\":[\"x:1\"],\"Layers\":[\"../x\"]}]", cfg);
        {
                /* the config (a blob by now) is removed again */
                const struct tent t1[] = {
                    {.name = cfg, .data = m.config, .len = strlen(m.config)},
                    {.name = "manifest.json", .data = m1, .len = strlen(m1)},
                };
                const struct tent t2[] = {
                    {.name = cfg, .data = m.config, .len = strlen(m.config)},
                    {.name = "manifest.json", .data = m2, .len = strlen(m2)},
                };

                make_tar(missing, t1, ARRAY_SIZE(t1), false, NULL, NULL);
                make_tar(outside, t2, ARRAY_SIZE(t2), false, NULL, NULL);
        }
        msg = xasprintf("load %s: manifest.json: Layers[0]: ab/layer.tar: not in the archive",
                        missing);
        load_fails(c, missing, ENOENT, msg);
        free(msg);
        msg = xasprintf("load %s: manifest.json: Layers[0]: \"../x\": path leaves the archive",
                        outside);
        load_fails(c, outside, EINVAL, msg);

        /* a layout blob whose content is not its name: the layer blob is put first and goes */
        wrong = blob_name(m.config_digest);
        sha256("not the config", 14, got);
        {
                _autofree_ char *index = index_json(&m, "docker.io/library/x:1", "1");
                _autofree_ char *lb = blob_name(m.layer_digest);
                const struct tent t[] = {
                    {.name = lb, .data = m.layer, .len = m.layer_len},
                    FILE_ENTRY("oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}"),
                    {.name = "index.json", .data = index, .len = strlen(index)},
                    {.name = wrong, .data = "not the config", .len = 14},
                };

                make_tar(mismatch, t, ARRAY_SIZE(t), false, NULL, NULL);
        }
        free(msg);
        msg = xasprintf("load %s: %s: blob %s: digest mismatch: got %s", mismatch, wrong,
                        m.config_digest, got);
        load_fails(c, mismatch, EBADMSG, msg);

        write_file(c->dir, "x.txt", "hello, not a tar\n", 17);
        free(msg);
        msg = xasprintf("load %s: not a tar archive: Unrecognized archive format", notar);
        load_fails(c, notar, EINVAL, msg);
        free(msg);
        msg = xasprintf("load %s/nope.tar: open: No such file or directory", c->dir);
        free(notar);
        notar = path_in(c, "nope.tar");
        load_fails(c, notar, ENOENT, msg);
        img_clear(&m);
}

/* A name with a digest is refused before any image is recorded: the first image of the
 * archive is not left in the store (fuzz-docker-archive found it). */
static void load_digest_name(void **state)
{
        struct ctx *c = *state;
        _autofree_ char *path = path_in(c, "digest.tar"), *cfg = NULL, *manifest = NULL;
        _autofree_ char *name = NULL, *msg = NULL;
        struct img m;

        img_make(&m, "digest\n", false);
        cfg = xasprintf("%s.json", m.config_digest + 7);
        name = xasprintf("x@%s", m.config_digest);
        manifest = xasprintf("[{\"Config\":\"%s\",\"RepoTags\":[\"x:1\"],\"Layers\":"
                             "[\"ab/layer.tar\"]},{\"Config\":\"%s\",\"RepoTags\":[\"%s\"],"
                             "\"Layers\":[\"ab/layer.tar\"]}]",
                             cfg, cfg, name);
        {
                const struct tent t[] = {
                    {.name = "ab/layer.tar", .data = m.layer, .len = m.layer_len},
                    {.name = cfg, .data = m.config, .len = strlen(m.config)},
                    {.name = "manifest.json", .data = manifest, .len = strlen(manifest)},
                };

                make_tar(path, t, ARRAY_SIZE(t), false, NULL, NULL);
        }
        msg =
            xasprintf("load %s: manifest.json[1]: RepoTags: name \"%s\": a digest cannot be a tag",
                      path, name);
        load_fails(c, path, EINVAL, msg);
        img_clear(&m);
}

/* An OCI layout whose index names a manifest that is not there, and a layer count that does
 * not match the config. */
static void load_bad_oci(void **state)
{
        struct ctx *c = *state;
        _autofree_ char *dir = path_in(c, "layout"), *msg = NULL, *mb = NULL, *path = NULL;
        _autofree_ char *badmanifest = NULL, *bmb = NULL, *cb = NULL, *tar = NULL, *index = NULL;
        char bmd[72];
        struct img m;

        img_make(&m, "oci\n", false);
        make_oci_dir(dir, &m);
        mb = blob_name(m.manifest_digest);
        path = xasprintf("%s/%s", dir, mb);
        assert_int_equal(unlink(path), 0);
        msg = xasprintf("load %s: index.json: manifests[0]: %s: not in the layout", dir, mb);
        load_fails(c, dir, ENOENT, msg);

        /* a manifest with no layers for a config with one diff id */
        badmanifest = xasprintf("{\"schemaVersion\":2,\"mediaType\":\"%s\",\"config\":{"
                                "\"mediaType\":\"%s\",\"digest\":\"%s\",\"size\":%zu},"
                                "\"layers\":[]}",
                                BERTH_MT_OCI_MANIFEST, BERTH_MT_OCI_CONFIG, m.config_digest,
                                strlen(m.config));
        sha256(badmanifest, strlen(badmanifest), bmd);
        strcpy(m.manifest_digest, bmd);
        free(m.manifest);
        m.manifest = steal_ptr(&badmanifest);
        bmb = blob_name(bmd);
        cb = blob_name(m.config_digest);
        index = index_json(&m, "docker.io/library/x:1", "1");
        tar = path_in(c, "count.tar");
        {
                const struct tent t[] = {
                    {.name = "index.json", .data = index, .len = strlen(index)},
                    {.name = cb, .data = m.config, .len = strlen(m.config)},
                    {.name = bmb, .data = m.manifest, .len = strlen(m.manifest)},
                };

                make_tar(tar, t, ARRAY_SIZE(t), false, NULL, NULL);
        }
        free(msg);
        msg = xasprintf("load %s: index.json: manifests[0]: 0 layers, but the config has 1 diff "
                        "ids",
                        tar);
        load_fails(c, tar, EINVAL, msg);
        img_clear(&m);
}

/* ---- save ------------------------------------------------------------------------------- */

static void save_load_round_trip(void **state)
{
        static const char *const formats[] = {"docker-archive", "oci-archive", "oci-dir"};
        struct ctx *c = *state;
        _autofree_ char *src = path_in(c, "src.tar");
        _autoerr_ struct berth_error *err = NULL;
        struct img m;

        img_make(&m, "round trip\n", true);
        make_oci_archive(src, &m, false);
        load_ok(c, src, "docker.io/library/hello:latest");
        assert_int_equal(berth_store_tag(c->s, "hello", "localhost/again:2", &err), 0);
        for (size_t i = 0; i < ARRAY_SIZE(formats); i++) {
                _autofree_ char *out = xasprintf("%s/out-%s", c->dir, formats[i]);
                _autofree_ char *root = xasprintf("%s/store-%s", c->dir, formats[i]);
                const char *images[] = {"hello", "localhost/again:2", m.config_digest, NULL};
                struct berth_store *s2 = NULL;
                _autostrv_ char **loaded = NULL;
                enum berth_archive_format f;
                struct berth_store *keep = c->s;

                assert_int_equal(berth_archive_format_parse(formats[i], &f, &err), 0);
                if (berth_image_save(c->s, images, f, out, &err) < 0)
                        fail_msg("save %s: %s", formats[i], err->msg);
                /* nothing beside the output: the temp file was renamed */
                assert_int_equal(count_entries(c->dir), 3 + 2 * (int) i);
                assert_int_equal(berth_store_open(root, &s2, &err), 0);
                if (berth_image_load(s2, out, NULL, &loaded, &err) < 0)
                        fail_msg("load %s: %s", formats[i], err->msg);
                assert_int_equal(strv_length(loaded), 2);
                assert_string_equal(loaded[0], "docker.io/library/hello:latest");
                assert_string_equal(loaded[1], "localhost/again:2");
                c->s = s2;
                assert_image(c, "localhost/again:2", m.config_digest, "round trip\n");
                c->s = keep;
                berth_store_free(s2);
        }
        img_clear(&m);
}

static void save_errors(void **state)
{
        struct ctx *c = *state;
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *out = path_in(c, "out.tar"), *msg = NULL;
        const char *images[] = {"nope", NULL};
        enum berth_archive_format f;

        assert_int_equal(berth_archive_format_parse("tar", &f, &err), -EINVAL);
        assert_string_equal(err->msg, "format \"tar\": expected docker-archive, oci-archive or "
                                      "oci-dir");
        assert_int_equal(berth_image_save(c->s, images, BERTH_ARCHIVE_OCI, out, &err), -ENOENT);
        msg = xasprintf("save to %s: image \"nope\" not found", out);
        assert_string_equal(err->msg, msg);
        assert_int_equal(access(out, F_OK), -1);
        assert_int_equal(count_entries(c->dir), 1);
}

/* ---- import ----------------------------------------------------------------------------- */

static void import_tars(void **state)
{
        struct ctx *c = *state;
        _autofree_ char *plain = path_in(c, "rootfs.tar"), *gz = path_in(c, "rootfs.tgz");
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *id = NULL, *id2 = NULL;
        char *changes[] = {"CMD [\"/bin/echo\", \"hi\"]", "ENV A=1", "WORKDIR /w", NULL};
        struct berth_import_opts o = {.name = "imp:1", .changes = changes};
        struct berth_image *img = NULL;
        const struct tent t[] = {FILE_ENTRY("hello.txt", "imported\n")};

        make_tar(plain, t, 1, false, NULL, NULL);
        make_tar(gz, t, 1, true, NULL, NULL);
        if (berth_image_import(c->s, plain, &o, &id, &err) < 0)
                fail_msg("import: %s", err->msg);
        assert_true(startswith(id, "sha256:"));
        assert_image(c, "imp:1", id, "imported\n");
        o.name = "imp:2";
        if (berth_image_import(c->s, gz, &o, &id2, &err) < 0)
                fail_msg("import gzip: %s", err->msg);
        assert_image(c, "imp:2", id2, "imported\n");
        assert_int_equal(berth_store_image_lookup(c->s, "imp:2", &img, &err), 0);
        berth_image_free(img);
}

static void import_bad(void **state)
{
        struct ctx *c = *state;
        _autofree_ char *notar = path_in(c, "x.txt"), *msg = NULL;
        _autoerr_ struct berth_error *err = NULL;
        char *id = NULL;
        char *changes[] = {"FROM x", NULL};
        struct berth_import_opts o = {.name = "imp:1"};

        write_file(c->dir, "x.txt", "hello, not a tar\n", 17);
        assert_int_equal(berth_image_import(c->s, notar, &o, &id, &err), -EINVAL);
        msg = xasprintf("import %s: not a tar archive: Unrecognized archive format", notar);
        assert_string_equal(err->msg, msg);
        assert_null(id);
        assert_store_empty(c);
        o.changes = changes;
        assert_int_equal(berth_image_import(c->s, notar, &o, &id, &err), -EINVAL);
        assert_non_null(strstr(err->msg, "FROM is not supported"));
        assert_store_empty(c);
}

/* ---- --change --------------------------------------------------------------------------- */

static void change_ok(struct berth_config_change *c, const char *line)
{
        _autoerr_ struct berth_error *err = NULL;

        if (berth_config_change_parse(line, c, &err) < 0)
                fail_msg("%s: %s", line, err->msg);
}

static void assert_strv(char **v, const char *const *want)
{
        size_t i;

        assert_non_null(v);
        for (i = 0; want[i]; i++) {
                assert_non_null(v[i]);
                assert_string_equal(v[i], want[i]);
        }
        assert_null(v[i]);
}

static void change_parse(void **state)
{
        struct berth_config_change c = {0};

        change_ok(&c, "CMD [\"sh\", \"-c\", \"echo hi\"]");
        assert_true(c.set_cmd);
        assert_strv(c.cmd, (const char *[]){"sh", "-c", "echo hi", NULL});
        change_ok(&c, "cmd echo \"hi there\"");
        assert_strv(c.cmd, (const char *[]){"/bin/sh", "-c", "echo \"hi there\"", NULL});
        change_ok(&c, "CMD [not json");
        assert_strv(c.cmd, (const char *[]){"/bin/sh", "-c", "[not json", NULL});
        change_ok(&c, "ENTRYPOINT [\"/init\"]");
        assert_true(c.set_entrypoint);
        assert_strv(c.entrypoint, (const char *[]){"/init", NULL});
        change_ok(&c, "ENV A=1 B=\"two words\" C=x\\ y");
        change_ok(&c, "ENV A 3 4");
        change_ok(&c, "ENV D=");
        assert_strv(c.env, (const char *[]){"A=3 4", "B=two words", "C=x y", "D=", NULL});
        change_ok(&c, "WORKDIR /srv/app");
        assert_string_equal(c.working_dir, "/srv/app");
        change_ok(&c, "USER nobody:nogroup");
        assert_string_equal(c.user, "nobody:nogroup");
        change_ok(&c, "STOPSIGNAL SIGINT");
        assert_string_equal(c.stop_signal, "SIGINT");
        change_ok(&c, "EXPOSE 80 53/udp 8000-8001/tcp");
        change_ok(&c, "EXPOSE 80/tcp");
        assert_strv(c.exposed_ports,
                    (const char *[]){"80/tcp", "53/udp", "8000/tcp", "8001/tcp", NULL});
        change_ok(&c, "VOLUME /data");
        change_ok(&c, "VOLUME [\"/a\", \"/data\"]");
        assert_strv(c.volumes, (const char *[]){"/data", "/a", NULL});
        change_ok(&c, "LABEL a=1 \"b c\"=\"d e\"");
        change_ok(&c, "LABEL a=2");
        assert_int_equal(c.n_labels, 2);
        assert_string_equal(c.labels[0].key, "a");
        assert_string_equal(c.labels[0].value, "2");
        assert_string_equal(c.labels[1].key, "b c");
        assert_string_equal(c.labels[1].value, "d e");
        berth_config_change_clear(&c);
}

static void change_errors(void **state)
{
        static const struct {
                const char *line, *msg;
        } bad[] = {
            {"FROM x", "--change \"FROM x\": FROM is not supported (CMD, ENTRYPOINT, ENV, "
                       "EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR)"},
            {"run x", "--change \"run x\": RUN is not supported (CMD, ENTRYPOINT, ENV, "
                      "EXPOSE, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR)"},
            {"", "--change \"\": empty"},
            {"CMD", "--change \"CMD\": CMD needs an argument"},
            {"ENV A=1 B", "--change \"ENV A=1 B\": ENV: \"B\": expected KEY=VALUE"},
            {"ENV A", "--change \"ENV A\": ENV needs KEY=VALUE or KEY VALUE"},
            {"ENV A=\"x", "--change \"ENV A=\\\"x\": unterminated \" quote"},
            {"LABEL =x", "--change \"LABEL =x\": LABEL: \"=x\": expected KEY=VALUE"},
            {"EXPOSE 0", "--change \"EXPOSE 0\": EXPOSE: invalid port \"0\" "
                         "(PORT[-PORT][/tcp|udp|sctp])"},
            {"EXPOSE 80/icmp", "--change \"EXPOSE 80/icmp\": EXPOSE: invalid port "
                               "\"80/icmp\" (PORT[-PORT][/tcp|udp|sctp])"},
            {"EXPOSE 90-80", "--change \"EXPOSE 90-80\": EXPOSE: invalid port \"90-80\" "
                             "(PORT[-PORT][/tcp|udp|sctp])"},
            {"VOLUME data", "--change \"VOLUME data\": VOLUME: \"data\": not an absolute "
                            "path"},
            {"USER a b", "--change \"USER a b\": USER takes one argument"},
        };

        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                struct berth_config_change c = {0};
                _autoerr_ struct berth_error *err = NULL;

                assert_int_equal(berth_config_change_parse(bad[i].line, &c, &err), -EINVAL);
                assert_string_equal(err->msg, bad[i].msg);
                berth_config_change_clear(&c);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(change_parse),
            cmocka_unit_test(change_errors),
            cmocka_unit_test_setup_teardown(load_oci_archive, setup, teardown),
            cmocka_unit_test_setup_teardown(load_oci_dir, setup, teardown),
            cmocka_unit_test_setup_teardown(load_docker_classic, setup, teardown),
            cmocka_unit_test_setup_teardown(load_docker25, setup, teardown),
            cmocka_unit_test_setup_teardown(load_mkimage, setup, teardown),
            cmocka_unit_test_setup_teardown(load_bad, setup, teardown),
            cmocka_unit_test_setup_teardown(load_digest_name, setup, teardown),
            cmocka_unit_test_setup_teardown(load_bad_oci, setup, teardown),
            cmocka_unit_test_setup_teardown(save_load_round_trip, setup, teardown),
            cmocka_unit_test_setup_teardown(save_errors, setup, teardown),
            cmocka_unit_test_setup_teardown(import_tars, setup, teardown),
            cmocka_unit_test_setup_teardown(import_bad, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
