/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The image store on real files under a fresh temp dir per test: layer tars are made here with
 * libarchive, manifests and configs written by hand, then layers and images added, looked up,
 * tagged, removed and collected. Needs root (layers are unpacked with their owners).
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
#include <sys/wait.h>
#include <cmocka.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "image/blobstore.h"
#include "image/imagestore.h"
#include "image/manifest.h"
#include "base/util.h"

struct ctx {
        char root[64];
        struct berth_store *s;
};

struct layer {
        char *blob, *diff_id;
        int64_t size;
};

/* A formatted string that lives until a few more calls: for arguments of one assert. */
static const char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static const char *fmt(const char *f, ...)
{
        static char *ring[8];
        static unsigned next;
        char **slot = &ring[next++ % ARRAY_SIZE(ring)];
        va_list ap;

        free(*slot);
        va_start(ap, f);
        if (vasprintf(slot, f, ap) < 0)
                abort();
        va_end(ap);
        return *slot;
}

static void sha256(const void *data, size_t len, char out[72])
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned n = 0;

        assert_int_equal(EVP_Digest(data, len, md, &n, EVP_sha256(), NULL), 1);
        strcpy(out, "sha256:");
        for (unsigned i = 0; i < n; i++)
                snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
}

/* A tar of files "name=content" (nfiles extra numbered files), plain or gzip, in memory. */
static size_t make_tar(const char *const *files, size_t nfiles, bool gzip, char *buf, size_t cap)
{
        struct archive *w = archive_write_new();
        size_t used = 0;

        assert_int_equal(archive_write_set_format_pax_restricted(w), ARCHIVE_OK);
        if (gzip)
                assert_int_equal(archive_write_add_filter_gzip(w), ARCHIVE_OK);
        assert_int_equal(archive_write_open_memory(w, buf, cap, &used), ARCHIVE_OK);
        for (size_t k = 0; files[k]; k++) {
                struct archive_entry *e = archive_entry_new();
                const char *eq = strchr(files[k], '=');
                _autofree_ char *name = strndup(files[k], (size_t) (eq - files[k]));

                archive_entry_set_pathname(e, name);
                archive_entry_set_filetype(e, AE_IFREG);
                archive_entry_set_perm(e, 0644);
                archive_entry_set_mtime(e, 1000000000, 0);
                archive_entry_set_size(e, (la_int64_t) strlen(eq + 1));
                assert_int_equal(archive_write_header(w, e), ARCHIVE_OK);
                archive_write_data(w, eq + 1, strlen(eq + 1));
                archive_entry_free(e);
        }
        for (size_t k = 0; k < nfiles; k++) {
                struct archive_entry *e = archive_entry_new();
                char name[32];

                snprintf(name, sizeof(name), "many/f%zu", k);
                archive_entry_set_pathname(e, name);
                archive_entry_set_filetype(e, AE_IFREG);
                archive_entry_set_perm(e, 0644);
                archive_entry_set_size(e, 4);
                assert_int_equal(archive_write_header(w, e), ARCHIVE_OK);
                archive_write_data(w, "data", 4);
                archive_entry_free(e);
        }
        assert_int_equal(archive_write_close(w), ARCHIVE_OK);
        archive_write_free(w);
        return used;
}

#define TAR_CAP (4u << 20)

/* Puts a gzip layer blob of the files; its diff id is the sha256 of the plain tar. */
static struct layer put_layer(struct ctx *c, const char *const *files, size_t nfiles)
{
        _autofree_ char *plain = xcalloc(1, TAR_CAP), *gz = xcalloc(1, TAR_CAP);
        size_t np = make_tar(files, nfiles, false, plain, TAR_CAP);
        size_t ng = make_tar(files, nfiles, true, gz, TAR_CAP);
        char diff[72];
        struct layer l = {.size = (int64_t) ng};
        struct berth_error *err = NULL;

        sha256(plain, np, diff);
        l.diff_id = xstrdup(diff);
        assert_int_equal(berth_blobstore_put(berth_store_blobs(c->s), gz, ng, NULL, &l.blob, &err),
                         0);
        return l;
}

static void layer_clear(struct layer *l)
{
        free(l->blob);
        free(l->diff_id);
}

static char *put_json(struct ctx *c, json_t *j)
{
        _autofree_ char *data = json_dumps(j, JSON_COMPACT);
        char *digest = NULL;

        assert_int_equal(
            berth_blobstore_put(berth_store_blobs(c->s), data, strlen(data), NULL, &digest, NULL),
            0);
        json_decref(j);
        return digest;
}

/* Adds the layers and writes config (with `tag` in its labels, to make ids differ) + manifest. */
static char *put_image(struct ctx *c, const struct layer *ls, size_t n, const char *tag)
{
        json_t *diffs = json_array(), *descs = json_array();
        _autofree_ char *config = NULL;
        char *parent = NULL;

        for (size_t k = 0; k < n; k++) {
                struct berth_error *err = NULL;

                assert_int_equal(berth_store_layer_add(c->s, parent, ls[k].diff_id, ls[k].blob,
                                                       NULL, NULL, &err),
                                 0);
                json_array_append_new(diffs, json_string(ls[k].diff_id));
                json_array_append_new(descs, json_pack("{s:s, s:s, s:I}", "mediaType",
                                                       BERTH_MT_OCI_LAYER_GZIP, "digest",
                                                       ls[k].blob, "size", ls[k].size));
                char *next = berth_chain_id(parent, ls[k].diff_id);
                free(parent);
                parent = next;
        }
        free(parent);
        config = put_json(c, json_pack("{s:s, s:s, s:s, s:{s:{s:s}}, s:{s:s, s:o}}", "created",
                                       "2024-01-02T03:04:05Z", "architecture", "amd64", "os",
                                       "linux", "config", "Labels", "tag", tag, "rootfs", "type",
                                       "layers", "diff_ids", diffs));
        return put_json(c, json_pack("{s:i, s:s, s:{s:s, s:s, s:i}, s:o}", "schemaVersion", 2,
                                     "mediaType", BERTH_MT_OCI_MANIFEST, "config", "mediaType",
                                     BERTH_MT_OCI_CONFIG, "digest", config, "size", 100, "layers",
                                     descs));
}

static char *add_image(struct ctx *c, const struct layer *ls, size_t n, const char *tag,
                       const char *name)
{
        _autofree_ char *m = put_image(c, ls, n, tag);
        struct berth_error *err = NULL;
        char *id = NULL;

        if (berth_store_image_add(c->s, m, name, NULL, &id, &err) < 0)
                fail_msg("%s", err->msg);
        return id;
}

static bool exists_at(struct ctx *c, const char *rel)
{
        _autofree_ char *p = xasprintf("%s/%s", c->root, rel);
        struct stat st;

        return lstat(p, &st) == 0;
}

static size_t count_dir(struct ctx *c, const char *rel)
{
        _autofree_ char *p = xasprintf("%s/%s", c->root, rel);
        DIR *d = opendir(p);
        struct dirent *de;
        size_t n = 0;

        assert_non_null(d);
        while ((de = readdir(d)))
                n += de->d_name[0] != '.';
        closedir(d);
        return n;
}

/* The store's users, as the engine would report its containers: one at most here. */
static struct berth_store_user fake_user;
static bool has_fake_user;

static int fake_users(struct berth_store *s, struct berth_store_user **ret, size_t *ret_n,
                      struct berth_error **err)
{
        struct berth_store_user *v = NULL;

        if (has_fake_user) {
                v = xcalloc(1, sizeof(*v));
                v->id = xstrdup(fake_user.id);
                v->image = xstrdup(fake_user.image);
                v->layers = xcalloc(strv_length(fake_user.layers) + 1, sizeof(char *));
                for (size_t k = 0; fake_user.layers[k]; k++)
                        v->layers[k] = xstrdup(fake_user.layers[k]);
        }
        *ret = v;
        *ret_n = has_fake_user;
        return 0;
}

static void write_container(struct ctx *c, char *id, char *image, char **layers)
{
        fake_user = (struct berth_store_user){.id = id, .image = image, .layers = layers};
        has_fake_user = true;
}

static int setup(void **state)
{
        struct ctx *c = xcalloc(1, sizeof(*c));
        struct berth_error *err = NULL;

        has_fake_user = false;
        snprintf(c->root, sizeof(c->root), "/tmp/test-imagestore-XXXXXX");
        assert_non_null(mkdtemp(c->root));
        assert_int_equal(berth_store_open(c->root, &c->s, &err), 0);
        *state = c;
        return 0;
}

static int teardown(void **state)
{
        struct ctx *c = *state;
        int fd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        berth_store_free(c->s);
        assert_int_equal(berth_rm_rf_at(fd, c->root + strlen("/tmp/"), NULL), 0);
        close(fd);
        free(c);
        return 0;
}

static const char *const FILES_A[] = {"etc/os-release=base\n", "bin/sh=#!\n", NULL};
static const char *const FILES_B[] = {"app/run=hello\n", NULL};
static const char *const FILES_C[] = {"other=x\n", NULL};

static void layer_add_once(void **state)
{
        struct ctx *c = *state;
        struct layer a = put_layer(c, FILES_A, 0);
        struct berth_layer_stats st = {0};
        struct berth_error *err = NULL;
        _autofree_ char *dir = NULL, *buf = NULL, *stale = NULL;

        /* a crashed unpack's leftovers go first */
        stale = xasprintf("%s/layers/.tmp-%s", c->root, a.diff_id + 7);
        assert_int_equal(mkdir(stale, 0700), 0);
        assert_int_equal(mkdir(fmt("%s/junk", stale), 0700), 0);
        assert_int_equal(berth_store_layer_add(c->s, NULL, a.diff_id, a.blob, NULL, &st, &err), 0);
        assert_int_equal(st.entries, 2);
        assert_false(exists_at(c, stale + strlen(c->root) + 1));
        assert_true(berth_store_has_layer(c->s, a.diff_id));
        dir = berth_store_layer_dir(c->s, a.diff_id);
        assert_int_equal(
            berth_read_file_at(AT_FDCWD, fmt("%s/etc/os-release", dir), 0, &buf, NULL, &err), 0);
        assert_string_equal(buf, "base\n");
        /* a second add keeps it */
        assert_int_equal(berth_store_layer_add(c->s, NULL, a.diff_id, a.blob, NULL, &st, &err), 0);
        assert_int_equal(st.entries, 0);
        /* nothing but the layer dir in layers/ */
        assert_int_equal(count_dir(c, "layers"), 1);
        layer_clear(&a);
}

static void diff_id_mismatch(void **state)
{
        struct ctx *c = *state;
        struct layer a = put_layer(c, FILES_A, 0), b = put_layer(c, FILES_B, 0);
        struct berth_error *err = NULL;
        DIR *d;

        assert_int_equal(berth_store_layer_add(c->s, NULL, b.diff_id, a.blob, NULL, NULL, &err),
                         -EBADMSG);
        assert_non_null(strstr(err->msg, "diff id mismatch: got "));
        assert_non_null(strstr(err->msg, a.diff_id));
        print_message("# %s\n", err->msg);
        berth_error_free(err);
        assert_false(berth_store_has_layer(c->s, b.diff_id));
        d = opendir(fmt("%s/layers", c->root));
        assert_non_null(d);
        for (struct dirent *de; (de = readdir(d));)
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        fail_msg("left behind: layers/%s", de->d_name);
        closedir(d);
        layer_clear(&a);
        layer_clear(&b);
}

struct race {
        struct ctx *c;
        struct layer *l;
};

/* Exit 10 if this process unpacked the layer, 0 if it was there already, 1 on error. */
static int race_child(const char *root, const struct layer *l, int start_fd)
{
        struct berth_store *s = NULL;
        struct berth_layer_stats st = {0};
        char go;

        if (read(start_fd, &go, 1) != 1 || berth_store_open(root, &s, NULL) < 0)
                return 1;
        if (berth_store_layer_add(s, NULL, l->diff_id, l->blob, NULL, &st, NULL) < 0)
                return 1;
        berth_store_free(s);
        return st.entries > 0 ? 10 : 0;
}

static void concurrent_layer_add(void **state)
{
        struct ctx *c = *state;
        struct layer l = put_layer(c, FILES_A, 1000);
        int p[2], status[2], unpacked = 0;
        pid_t pid[2];

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        for (int k = 0; k < 2; k++) {
                pid[k] = fork();
                assert_true(pid[k] >= 0);
                if (pid[k] == 0)
                        _exit(race_child(c->root, &l, p[0]));
        }
        assert_int_equal(write(p[1], "gg", 2), 2);
        for (int k = 0; k < 2; k++) {
                assert_int_equal(waitpid(pid[k], &status[k], 0), pid[k]);
                assert_true(WIFEXITED(status[k]));
                assert_true(WEXITSTATUS(status[k]) == 0 || WEXITSTATUS(status[k]) == 10);
                unpacked += WEXITSTATUS(status[k]) == 10;
        }
        close(p[0]);
        close(p[1]);
        assert_int_equal(unpacked, 1);
        assert_true(berth_store_has_layer(c->s, l.diff_id));
        assert_int_equal(count_dir(c, "layers"), 1);
        layer_clear(&l);
}

static void images_lookup_and_tag(void **state)
{
        struct ctx *c = *state;
        struct layer a = put_layer(c, FILES_A, 0), b = put_layer(c, FILES_B, 0);
        struct layer ab[] = {a, b};
        _autofree_ char *id1 = add_image(c, &a, 1, "one", "busybox");
        _autofree_ char *id2 = add_image(c, ab, 2, "two", "127.0.0.1:5000/app:v1");
        struct berth_image *i = NULL, **all = NULL;
        struct berth_error *err = NULL;
        char prefix[16];
        size_t n = 0;

        assert_int_equal(berth_store_images(c->s, &all, &n, &err), 0);
        assert_int_equal(n, 2);
        assert_string_equal(all[0]->id, id2); /* newest first */
        assert_string_equal(all[0]->names[0], "127.0.0.1:5000/app:v1");
        assert_int_equal(strv_length(all[0]->layers), 2);
        assert_string_equal(all[1]->names[0], "docker.io/library/busybox:latest");
        assert_string_equal(all[1]->created, "2024-01-02T03:04:05Z");
        assert_true(all[0]->size > all[1]->size && all[1]->size == strlen("base\n#!\n"));
        berth_images_free(all, n);

        assert_int_equal(berth_store_image_lookup(c->s, "busybox:latest", &i, &err), 0);
        assert_string_equal(i->id, id1);
        berth_image_free(i);
        assert_int_equal(berth_store_image_lookup(c->s, id2, &i, &err), 0);
        berth_image_free(i);
        assert_int_equal(berth_store_image_lookup(c->s, id2 + 7, &i, &err), 0);
        berth_image_free(i);
        snprintf(prefix, sizeof(prefix), "%.12s", id1 + 7);
        assert_int_equal(berth_store_image_lookup(c->s, prefix, &i, &err), 0);
        assert_string_equal(i->id, id1);
        berth_image_free(i);
        assert_int_equal(berth_store_image_lookup(c->s, "nothere", &i, &err), -ENOENT);
        assert_string_equal(err->msg, "image \"nothere\" not found");
        berth_error_free(err);
        err = NULL;

        /* a tag moves the name: image 1 becomes dangling */
        assert_int_equal(berth_store_tag(c->s, prefix, "127.0.0.1:5000/app:v1", &err), 0);
        assert_int_equal(berth_store_image_lookup(c->s, "127.0.0.1:5000/app:v1", &i, &err), 0);
        assert_string_equal(i->id, id1);
        assert_int_equal(strv_length(i->names), 2);
        berth_image_free(i);
        assert_int_equal(berth_store_image_lookup(c->s, id2, &i, &err), 0);
        assert_null(i->names[0]);
        berth_image_free(i);
        layer_clear(&a);
        layer_clear(&b);
}

static void repo_digest_lookup(void **state)
{
        struct ctx *c = *state;
        struct layer a = put_layer(c, FILES_A, 0);
        _autofree_ char *m = put_image(c, &a, 1, "d");
        _autofree_ char *rd = xasprintf("127.0.0.1:5000/x@%s", m), *id = NULL;
        struct berth_image *i = NULL;

        assert_int_equal(berth_store_image_add(c->s, m, "127.0.0.1:5000/x:1", rd, &id, NULL), 0);
        assert_int_equal(berth_store_image_lookup(c->s, rd, &i, NULL), 0);
        assert_string_equal(i->id, id);
        assert_string_equal(i->digests[0], rd);
        berth_image_free(i);
        layer_clear(&a);
}

static void image_add_refuses_missing(void **state)
{
        struct ctx *c = *state;
        struct layer a = put_layer(c, FILES_A, 0), b = put_layer(c, FILES_B, 0);
        _autofree_ char *m = put_image(c, &a, 1, "x");
        _autofree_ char *blobless = xasprintf("sha256:%064d", 0);
        struct berth_error *err = NULL;
        json_t *bad;

        /* a layer that was never added */
        bad = json_pack("{s:s, s:s, s:s, s:{s:s, s:[s]}}", "created", "2024-01-01T00:00:00Z",
                        "architecture", "amd64", "os", "linux", "rootfs", "type", "layers",
                        "diff_ids", b.diff_id);
        _autofree_ char *cfg = put_json(c, bad);
        _autofree_ char *m2 = put_json(
            c, json_pack("{s:i, s:s, s:{s:s, s:s, s:i}, s:[{s:s, s:s, s:I}]}", "schemaVersion", 2,
                         "mediaType", BERTH_MT_OCI_MANIFEST, "config", "mediaType",
                         BERTH_MT_OCI_CONFIG, "digest", cfg, "size", 1, "layers", "mediaType",
                         BERTH_MT_OCI_LAYER_GZIP, "digest", b.blob, "size", b.size));
        assert_int_equal(berth_store_image_add(c->s, m2, "x", NULL, NULL, &err), -ENOENT);
        print_message("# %s\n", err->msg);
        assert_non_null(strstr(err->msg, "is not in the store"));
        berth_error_free(err);
        err = NULL;
        assert_int_equal(berth_store_image_add(c->s, blobless, "x", NULL, NULL, &err), -ENOENT);
        print_message("# %s\n", err->msg);
        berth_error_free(err);
        assert_int_equal(berth_store_image_add(c->s, m, "x", NULL, NULL, NULL), 0);
        layer_clear(&a);
        layer_clear(&b);
}

static void rmi_semantics(void **state)
{
        struct ctx *c = *state;
        struct layer a = put_layer(c, FILES_A, 0), b = put_layer(c, FILES_B, 0);
        struct layer ab[] = {a, b};
        _autofree_ char *id1 = add_image(c, &a, 1, "one", "busybox");
        _autofree_ char *id2 = add_image(c, ab, 2, "two", "app:1");
        struct berth_error *err = NULL;
        struct berth_image *i = NULL;
        char **out = NULL;

        assert_int_equal(berth_store_tag(c->s, "app:1", "app:2", &err), 0);
        /* by name with two names: untag only */
        assert_int_equal(berth_store_image_remove(c->s, "app:1", false, fake_users, &out, &err), 0);
        assert_string_equal(out[0], "Untagged: app:1");
        assert_null(out[1]);
        strv_free(out);
        /* by id with... one name left now: add one back to test the refusal */
        assert_int_equal(berth_store_tag(c->s, "app:2", "app:3", &err), 0);
        assert_int_equal(berth_store_image_remove(c->s, id2, false, fake_users, &out, &err),
                         -EBUSY);
        assert_non_null(strstr(err->msg, "referenced in multiple names: use -f"));
        berth_error_free(err);
        err = NULL;

        /* in use by a container */
        write_container(c, "4f2e0000000000000000", id1, (char *[]){a.diff_id, NULL});
        assert_int_equal(berth_store_image_remove(c->s, "busybox", false, fake_users, &out, &err),
                         -EBUSY);
        print_message("# %s\n", err->msg);
        assert_non_null(
            strstr(err->msg, "image busybox:latest is in use by container 4f2e00000000"));
        berth_error_free(err);
        err = NULL;

        /* forced, both go; the container's layer stays, image 2's top layer and blobs go */
        assert_int_equal(berth_store_image_remove(c->s, id2, true, fake_users, &out, &err), 0);
        assert_string_equal(out[0], "Untagged: app:2");
        assert_string_equal(out[1], "Untagged: app:3");
        assert_string_equal(out[2], fmt("Deleted: %s", id2));
        strv_free(out);
        assert_false(berth_blobstore_has(berth_store_blobs(c->s), b.blob));
        assert_true(berth_blobstore_has(berth_store_blobs(c->s), a.blob));
        assert_int_equal(berth_store_image_remove(c->s, "busybox", true, fake_users, &out, &err),
                         0);
        strv_free(out);
        assert_int_equal(berth_store_image_lookup(c->s, id1, &i, NULL), -ENOENT);
        assert_true(berth_store_has_layer(c->s, a.diff_id));
        assert_int_equal(count_dir(c, "layers"), 1);
        assert_false(berth_blobstore_has(berth_store_blobs(c->s), a.blob));

        /* container gone: gc takes the layer */
        has_fake_user = false;
        assert_int_equal(berth_store_gc(c->s, fake_users, NULL, &err), 0);
        assert_false(berth_store_has_layer(c->s, a.diff_id));
        assert_int_equal(count_dir(c, "layers"), 0);
        assert_int_equal(count_dir(c, "blobs/sha256"), 0);
        layer_clear(&a);
        layer_clear(&b);
}

static void gc_only_unused(void **state)
{
        struct ctx *c = *state;
        struct layer a = put_layer(c, FILES_A, 0), b = put_layer(c, FILES_B, 0);
        struct layer x = put_layer(c, FILES_C, 0);
        struct layer ab[] = {a, b};
        _autofree_ char *id1 = add_image(c, &a, 1, "one", "base");
        _autofree_ char *id2 = add_image(c, ab, 2, "two", "app");
        _autofree_ char *stale = NULL;
        struct berth_error *err = NULL;
        int64_t freed = 0;
        size_t blobs;
        int lease = -1;
        char **out = NULL;

        /* an orphan layer, an orphan blob and a crashed unpack */
        assert_int_equal(berth_store_layer_add(c->s, NULL, x.diff_id, x.blob, NULL, NULL, &err), 0);
        stale = xasprintf("%s/layers/.tmp-%s", c->root, b.diff_id + 7);
        assert_int_equal(mkdir(stale, 0700), 0);
        blobs = count_dir(c, "blobs/sha256");

        /* a lease holds everything */
        assert_int_equal(berth_store_lease(c->s, &lease, &err), 0);
        assert_int_equal(berth_store_gc(c->s, fake_users, &freed, &err), 0);
        assert_int_equal(freed, 0);
        assert_true(berth_store_has_layer(c->s, x.diff_id));
        close(lease);

        assert_int_equal(berth_store_gc(c->s, fake_users, &freed, &err), 0);
        assert_int_equal(freed, (int64_t) strlen("x\n") + x.size);
        assert_false(berth_store_has_layer(c->s, x.diff_id));
        assert_false(berth_blobstore_has(berth_store_blobs(c->s), x.blob));
        assert_int_equal(count_dir(c, "blobs/sha256"), blobs - 1);
        assert_false(exists_at(c, fmt("layers/.tmp-%s", b.diff_id + 7)));
        assert_int_equal(count_dir(c, "layers"), 2);

        /* the app goes: its top layer too, the shared base stays */
        assert_int_equal(berth_store_image_remove(c->s, "app", false, fake_users, &out, &err), 0);
        strv_free(out);
        assert_true(berth_store_has_layer(c->s, a.diff_id));
        assert_int_equal(count_dir(c, "layers"), 1);
        assert_true(berth_blobstore_has(berth_store_blobs(c->s), a.blob));
        assert_false(berth_blobstore_has(berth_store_blobs(c->s), b.blob));

        /* prune: only dangling by default */
        assert_int_equal(berth_store_prune(c->s, false, fake_users, &out, &freed, &err), 0);
        assert_null(out[0]);
        strv_free(out);
        assert_int_equal(berth_store_prune(c->s, true, fake_users, &out, &freed, &err), 0);
        assert_string_equal(out[0], id1);
        strv_free(out);
        assert_int_equal(count_dir(c, "layers"), 0);
        assert_int_equal(count_dir(c, "blobs/sha256"), 0);
        (void) id2;
        layer_clear(&a);
        layer_clear(&b);
        layer_clear(&x);
}

static void create_from_scratch_and_base(void **state)
{
        struct ctx *c = *state;
        struct layer a = put_layer(c, FILES_A, 0), b = put_layer(c, FILES_B, 0);
        struct berth_new_layer nl = {a.blob, BERTH_MT_OCI_LAYER_GZIP, a.size, a.diff_id, NULL,
                                     NULL};
        struct berth_new_layer nl2 = {b.blob, BERTH_MT_OCI_LAYER_GZIP, -1, b.diff_id, NULL, NULL};
        struct berth_config_change ch = {
            .env = (char *[]){"A=1", "PATH=/bin", NULL},
            .cmd = (char *[]){"/bin/sh", NULL},
            .set_cmd = true,
            .created_by = "import",
        };
        struct berth_config_change ch2 = {
            .env = (char *[]){"A=2", NULL},
            .exposed_ports = (char *[]){"80", NULL},
            .comment = "commit",
        };
        _autofree_ char *id = NULL, *id2 = NULL, *buf = NULL;
        struct berth_image_config *cfg = NULL;
        struct berth_error *err = NULL;
        struct berth_image *i = NULL;
        int fd = -1;

        if (berth_store_image_create(c->s, NULL, &nl, 1, &ch, "linux/arm64/v8", "imported:1", &id,
                                     &err) < 0)
                fail_msg("%s", err->msg);
        assert_int_equal(berth_store_image_lookup(c->s, "imported:1", &i, &err), 0);
        assert_string_equal(i->id, id);
        assert_string_equal(i->layers[0], a.diff_id);
        berth_image_free(i);

        if (berth_store_image_create(c->s, "imported:1", &nl2, 1, &ch2, NULL, "committed", &id2,
                                     &err) < 0)
                fail_msg("%s", err->msg);
        assert_int_equal(berth_store_image_lookup(c->s, "committed", &i, &err), 0);
        assert_int_equal(strv_length(i->layers), 2);
        assert_true(berth_store_has_layer(c->s, i->layers[1]));
        berth_image_free(i);

        assert_int_equal(berth_blobstore_open_blob(berth_store_blobs(c->s), id2, &fd, &err), 0);
        assert_int_equal(berth_read_fd(fd, "config", 0, &buf, NULL, &err), 0);
        close(fd);
        if (berth_image_config_parse(buf, strlen(buf), &cfg, &err) < 0)
                fail_msg("%s", err->msg);
        assert_string_equal(cfg->architecture, "arm64");
        assert_string_equal(cfg->variant, "v8");
        assert_int_equal(cfg->n_diff_ids, 2);
        assert_int_equal(cfg->n_history, 2);
        assert_string_equal(cfg->history[0].created_by, "import");
        assert_string_equal(cfg->history[1].comment, "commit");
        assert_string_equal(cfg->env[0], "A=2");
        assert_string_equal(cfg->env[1], "PATH=/bin");
        assert_null(cfg->env[2]);
        assert_string_equal(cfg->cmd[0], "/bin/sh");
        assert_string_equal(cfg->exposed_ports[0], "80/tcp");
        berth_image_config_free(cfg);
        layer_clear(&a);
        layer_clear(&b);
}

static void write_at(int dirfd, const char *path, const char *data)
{
        int fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, strlen(data)), (ssize_t) strlen(data));
        close(fd);
}

static void disk_usage_and_rm_rf(void **state)
{
        struct ctx *c = *state;
        int fd = open(c->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        struct berth_store_df df;
        int64_t size = 0;

        assert_true(fd >= 0);
        assert_int_equal(mkdirat(fd, "du", 0755), 0);
        assert_int_equal(mkdirat(fd, "du/sub", 0755), 0);
        assert_int_equal(mkdirat(fd, "outside", 0755), 0);
        write_at(fd, "outside/keep", "keep");
        write_at(fd, "du/sub/f", "12345");
        assert_int_equal(linkat(fd, "du/sub/f", fd, "du/hard", 0), 0);
        assert_int_equal(symlinkat("../outside", fd, "du/link"), 0); /* 10 bytes */
        assert_int_equal(berth_disk_usage(fd, "du", &size, NULL), 0);
        assert_int_equal(size, 5 + 10);
        assert_int_equal(berth_rm_rf_at(fd, "du", NULL), 0);
        assert_false(exists_at(c, "du"));
        assert_true(exists_at(c, "outside/keep"));
        assert_int_equal(berth_rm_rf_at(fd, "du", NULL), 0);
        assert_int_equal(berth_store_df(c->s, fake_users, &df, NULL), 0);
        assert_int_equal(df.images, 0);
        close(fd);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(layer_add_once, setup, teardown),
            cmocka_unit_test_setup_teardown(diff_id_mismatch, setup, teardown),
            cmocka_unit_test_setup_teardown(concurrent_layer_add, setup, teardown),
            cmocka_unit_test_setup_teardown(images_lookup_and_tag, setup, teardown),
            cmocka_unit_test_setup_teardown(repo_digest_lookup, setup, teardown),
            cmocka_unit_test_setup_teardown(image_add_refuses_missing, setup, teardown),
            cmocka_unit_test_setup_teardown(rmi_semantics, setup, teardown),
            cmocka_unit_test_setup_teardown(gc_only_unused, setup, teardown),
            cmocka_unit_test_setup_teardown(create_from_scratch_and_base, setup, teardown),
            cmocka_unit_test_setup_teardown(disk_usage_and_rm_rf, setup, teardown),
        };

        if (geteuid() != 0) {
                printf("1..0 # SKIP needs root (layers keep their owners)\n");
                return 77;
        }
        return cmocka_run_group_tests(tests, NULL, NULL);
}
