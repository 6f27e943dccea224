/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The image store (layout in imagestore.h). Three kinds of lock, always taken in this order:
 *
 *   gc.lock            shared while content not yet recorded in an image is being added (a lease:
 *                      berth_store_lease); gc sweeps blobs and layers only when it can take it
 *                      exclusively, without waiting, so a pull never loses its fresh blobs
 *   store.lock         every read-modify-write of images.json, and the sweep itself
 *   layers/<hex>.lock  one layer's unpack or removal
 *
 * images.json is only ever replaced whole (temp file, fsync, rename), so readers need no lock.
 */
#include <dirent.h>
#include <fcntl.h>
#include <search.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include <jansson.h>

#include "image/blobstore.h"
#include "image/imageref.h"
#include "image/imagestore.h"
#include "image/overlay.h"
#include "base/json.h"
#include "base/log.h"
#include "base/sha256.h"
#include "image/manifest.h"
#include "base/util.h"

#include "image/imagestore-internal.h"

/* ---- small helpers ------------------------------------------------------------------------ */

void berth_store_images_clear(struct image_list *l)
{
        berth_images_free(l->v, l->n);
        l->v = NULL;
        l->n = 0;
}

void berth_store_users_free(struct berth_store_user *v, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                free(v[i].id);
                free(v[i].image);
                strv_free(v[i].layers);
                free(v[i].data_dir);
        }
        free(v);
}

bool berth_store_is_hex_name(const char *s)
{
        return strlen(s) == HEX_LEN && berth_is_lower_hex(s, HEX_LEN);
}

/* The hex part of a validated "sha256:<hex>" digest. */
const char *berth_store_digest_hex(const char *digest)
{
        return digest + strlen(DIGEST_PREFIX);
}

/* Appends a copy of s (v may be NULL). */
char **berth_store_strv_add(char **v, const char *s)
{
        size_t n = strv_length(v);

        v = xreallocarray(v, n + 2, sizeof(char *));
        v[n] = xstrdup(s);
        v[n + 1] = NULL;
        return v;
}

static char **strv_copy(char *const *v)
{
        char **c = xcalloc(strv_length(v) + 1, sizeof(char *));

        for (size_t i = 0; v && v[i]; i++)
                c[i] = xstrdup(v[i]);
        return c;
}

char **berth_store_strv_add_unique(char **v, const char *s)
{
        return strv_contains(v, s) ? v : berth_store_strv_add(v, s);
}

/* Removes every s from v; returns whether one was there. */
bool berth_store_strv_remove(char **v, const char *s)
{
        size_t o = 0;
        bool found = false;

        for (size_t i = 0; v && v[i]; i++) {
                if (streq(v[i], s)) {
                        free(v[i]);
                        found = true;
                        continue;
                }
                v[o++] = v[i];
        }
        if (v)
                v[o] = NULL;
        return found;
}

static int json_fail(const json_error_t *je, const char *what, struct berth_error **err)
{
        return berth_error_setx(err, EINVAL, "%s: line %d column %d: %s", what, je->line,
                                je->column, je->text);
}

static int json_load(const char *buf, size_t len, const char *what, json_t **ret,
                     struct berth_error **err)
{
        json_error_t je;
        json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);

        if (!j)
                return json_fail(&je, what, err);
        if (!json_is_object(j)) {
                json_decref(j);
                return berth_error_setx(err, EINVAL, "%s: not a JSON object", what);
        }
        *ret = j;
        return 0;
}

/* A JSON array of strings, or NULL (absent/null) as an empty strv; never returns NULL. */
static int json_strv(json_t *a, const char *what, char ***ret, struct berth_error **err)
{
        _autostrv_ char **v = xcalloc(1, sizeof(char *));
        size_t i;
        json_t *x;

        if (a && !json_is_null(a) && !json_is_array(a))
                return berth_error_setx(err, EINVAL, "%s: not an array", what);
        json_array_foreach(a, i, x)
        {
                if (!json_is_string(x))
                        return berth_error_setx(err, EINVAL, "%s[%zu]: not a string", what, i);
                v = berth_store_strv_add(v, json_string_value(x));
        }
        *ret = steal_ptr(&v);
        return 0;
}

static int json_dump_alloc(json_t *j, const char *what, char **ret, struct berth_error **err)
{
        char *s = json_dumps(j, JSON_COMPACT);

        if (!s)
                return berth_error_setx(err, ENOMEM, "%s: json_dumps failed", what);
        *ret = s;
        return 0;
}

/* ---- open --------------------------------------------------------------------------------- */

static int mkdir_open_at(int dirfd, const char *name, int *ret_fd, struct berth_error **err)
{
        int fd;

        if (mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST)
                return berth_error_set(err, errno, "mkdir %s", name);
        fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return berth_error_set(err, errno, "open %s", name);
        *ret_fd = fd;
        return 0;
}

int berth_store_open(const char *root, struct berth_store **ret, struct berth_error **err)
{
        _autoclose_ int rootfd = -EBADF, layersfd = -EBADF;
        struct berth_blobstore *blobs = NULL;
        struct berth_store *s;
        int r;

        if (mkdir(root, 0700) < 0 && errno != EEXIST)
                return berth_error_set(err, errno, "open image store %s: mkdir", QUOTE(root));
        rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return berth_error_set(err, errno, "open image store %s", QUOTE(root));
        r = mkdir_open_at(rootfd, "layers", &layersfd, err);
        if (r < 0)
                return berth_error_prefix(err, "open image store %s", QUOTE(root));
        r = berth_blobstore_open(root, &blobs, err);
        if (r < 0)
                return berth_error_prefix(err, "open image store %s", QUOTE(root));
        s = xcalloc(1, sizeof(*s));
        s->root = xstrdup(root);
        s->rootfd = steal_fd(&rootfd);
        s->layersfd = steal_fd(&layersfd);
        s->blobs = blobs;
        *ret = s;
        return 0;
}

void berth_store_free(struct berth_store *s)
{
        if (!s)
                return;
        berth_blobstore_free(s->blobs);
        closep(&s->rootfd);
        closep(&s->layersfd);
        free(s->root);
        free(s);
}

const char *berth_store_root(const struct berth_store *s)
{
        return s->root;
}

struct berth_blobstore *berth_store_blobs(struct berth_store *s)
{
        return s->blobs;
}

/* ---- locks -------------------------------------------------------------------------------- */

int berth_store_lock(struct berth_store *s, int *ret_fd, struct berth_error **err)
{
        return berth_lock_file_at(s->rootfd, "store.lock", LOCK_EX, ret_fd, err);
}

int berth_store_lease(struct berth_store *s, int *ret_fd, struct berth_error **err)
{
        int r = berth_lock_file_at(s->rootfd, "gc.lock", LOCK_SH, ret_fd, err);

        return r < 0 ? berth_error_prefix(err, "image store %s", QUOTE(s->root)) : r;
}

/*
 * Locks layers/<hex>.lock. A lock file is removed along with its layer (by its holder), so after
 * waiting, check that the file locked is still the one under that name; if not, lock the new one.
 * Returns -EWOULDBLOCK (no message) with nonblock when someone holds it.
 */
int berth_store_lock_layer(struct berth_store *s, const char *hex, bool nonblock, int *ret_fd,
                           struct berth_error **err)
{
        _autofree_ char *name = xasprintf("%s.lock", hex);

        for (;;) {
                _autoclose_ int fd = -EBADF;
                struct stat a, b;
                int r;

                r = berth_lock_file_at(s->layersfd, name, LOCK_EX | (nonblock ? LOCK_NB : 0), &fd,
                                       err);
                if (r < 0)
                        return r == -EWOULDBLOCK ? r : berth_error_prefix(err, "layers");
                if (fstat(fd, &a) < 0)
                        return berth_error_set(err, errno, "layers/%s: fstat", name);
                if (fstatat(s->layersfd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
                    a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
                        *ret_fd = steal_fd(&fd);
                        return 0;
                }
        }
}

/* Removes the lock file of hex, then releases it: only while holding it. */
void berth_store_unlock_layer_remove(struct berth_store *s, const char *hex, int *fd)
{
        _autofree_ char *name = xasprintf("%s.lock", hex);

        if (unlinkat(s->layersfd, name, 0) < 0 && errno != ENOENT)
                berth_warn("layers/%s: unlink: %s, ignoring", name, strerror(errno));
        closep(fd);
}

/* ---- layers ------------------------------------------------------------------------------- */

char *berth_chain_id(const char *parent_chain, const char *diff_id)
{
        char out[BERTH_SHA256_DIGEST_LEN + 1];
        _autofree_ char *s = NULL;

        if (!parent_chain)
                return xstrdup(diff_id);
        s = xasprintf("%s %s", parent_chain, diff_id);
        berth_sha256_digest(s, strlen(s), out);
        return xstrdup(out);
}

char *berth_store_layer_dir(const struct berth_store *s, const char *chain_id)
{
        const char *hex =
            startswith(chain_id, DIGEST_PREFIX) ? berth_store_digest_hex(chain_id) : chain_id;

        return xasprintf("%s/layers/%s/diff", s->root, hex);
}

unsigned berth_store_max_layers(const struct berth_store *s)
{
        static const char hex[] =
            "0000000000000000000000000000000000000000000000000000000000000000";
        _autofree_ char *abs = realpath(s->root, NULL);
        const char *root = abs ? abs : s->root;
        _autofree_ char *lower = xasprintf("%s/layers/%s/diff", root, hex);
        _autofree_ char *upper = xasprintf("%s/containers/%s/upper", root, hex);
        _autofree_ char *work = xasprintf("%s/containers/%s/work", root, hex);

        return berth_overlay_max_lowers(lower, upper, work);
}

int berth_store_layers_error(const struct berth_store *s, size_t n, struct berth_error **err)
{
        unsigned max = berth_store_max_layers(s);

        return berth_error_setx(err, EFBIG,
                                "the image has %zu layers: a container can mount at most %u "
                                "(%s)",
                                n, max,
                                max == BERTH_OVERLAY_MAX_LOWERS
                                    ? "overlayfs' limit on this kernel"
                                    : "the lower dirs that fit in mount(2)'s options before "
                                      "Linux 6.8");
}

bool berth_store_has_layer_hex(struct berth_store *s, const char *hex)
{
        _autofree_ char *p = xasprintf("%s/layer.json", hex);
        struct stat st;

        return fstatat(s->layersfd, p, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

bool berth_store_has_layer(struct berth_store *s, const char *chain_id)
{
        if (berth_digest_validate(chain_id, NULL) < 0)
                return false;
        return berth_store_has_layer_hex(s, berth_store_digest_hex(chain_id));
}

/* layers/<hex>/layer.json "size". */
int berth_store_layer_size(struct berth_store *s, const char *hex, int64_t *ret,
                           struct berth_error **err)
{
        _autofree_ char *p = xasprintf("%s/layer.json", hex), *buf = NULL;
        json_auto_t *j = NULL;
        json_t *size;
        size_t len;
        int r;

        r = berth_read_file_at(s->layersfd, p, MAX_JSON, &buf, &len, err);
        if (r >= 0)
                r = json_load(buf, len, p, &j, err);
        if (r < 0)
                return berth_error_prefix(err, "layers");
        size = json_object_get(j, "size");
        if (!json_is_integer(size))
                return berth_error_setx(err, EINVAL, "layers/%s: size: not an integer", p);
        *ret = json_integer_value(size);
        return 0;
}

static int write_layer_json(int tmpfd, const char *chain, const char *diff_id, const char *parent,
                            const char *blob, int64_t size, struct berth_error **err)
{
        json_auto_t *j =
            json_pack("{s:s, s:s, s:s?, s:s, s:I}", "chainId", chain, "diffId", diff_id, "parent",
                      parent, "blob", blob, "size", (json_int_t) size);
        _autofree_ char *data = NULL;
        int r;

        if (!j)
                return berth_error_setx(err, ENOMEM, "layer.json: json_pack failed");
        r = json_dump_alloc(j, "layer.json", &data, err);
        if (r < 0)
                return r;
        return berth_write_file_atomic(tmpfd, "layer.json", data, strlen(data), 0600, true, err);
}

/* Unpacks blob into tmpfd/diff, checking its diff id. */
static int unpack_checked(struct berth_store *s, int tmpfd, const char *diff_id, const char *blob,
                          const struct berth_layer_opts *o, struct berth_layer_stats *st,
                          struct berth_error **err)
{
        _autoclose_ int bfd = -EBADF, dfd = -EBADF;
        _autofree_ char *got = NULL;
        int r;

        r = berth_blobstore_open_blob(s->blobs, blob, &bfd, err);
        if (r < 0)
                return r;
        r = mkdir_open_at(tmpfd, "diff", &dfd, err);
        if (r < 0)
                return r;
        if (fchmod(dfd, 0755) < 0)
                return berth_error_set(err, errno, "chmod diff");
        r = berth_layer_unpack_digest(bfd, dfd, o, &got, st, err);
        if (r < 0)
                return berth_error_prefix(err, "unpack blob %s", blob);
        if (!streq(got, diff_id))
                return berth_error_setx(err, EBADMSG, "diff id mismatch: got %s (blob %s)", got,
                                        blob);
        return 0;
}

/* The unpack into layers/.tmp-<hex>, under the layer's lock; renamed into place on success. */
static int layer_build(struct berth_store *s, const char *hex, const char *chain,
                       const char *parent, const char *diff_id, const char *blob,
                       const struct berth_layer_opts *o, struct berth_layer_stats *st,
                       struct berth_error **err)
{
        _autofree_ char *tmp = xasprintf(TMP_PREFIX "%s", hex);
        _autoclose_ int tmpfd = -EBADF;
        int64_t size = 0;
        int r;

        r = berth_rm_rf_at(s->layersfd, tmp, err);
        if (r >= 0)
                r = mkdir_open_at(s->layersfd, tmp, &tmpfd, err);
        if (r >= 0)
                r = unpack_checked(s, tmpfd, diff_id, blob, o, st, err);
        if (r >= 0)
                r = berth_disk_usage(tmpfd, "diff", &size, err);
        if (r >= 0)
                r = write_layer_json(tmpfd, chain, diff_id, parent, blob, size, err);
        /* the unpacked files reach the disk before the layer gets its name */
        if (r >= 0 && syncfs(tmpfd) < 0)
                r = berth_error_set(err, errno, "syncfs");
        if (r >= 0 && renameat(s->layersfd, tmp, s->layersfd, hex) < 0)
                r = berth_error_set(err, errno, "rename layers/%s to layers/%s", tmp, hex);
        if (r >= 0 && fsync(s->layersfd) < 0)
                r = berth_error_set(err, errno, "fsync layers");
        if (r < 0) {
                berth_rm_rf_at(s->layersfd, tmp, NULL);
                return r;
        }
        return 0;
}

int berth_store_layer_add(struct berth_store *s, const char *parent_chain, const char *diff_id,
                          const char *blob, const struct berth_layer_opts *o,
                          struct berth_layer_stats *st, struct berth_error **err)
{
        _autofree_ char *chain = NULL;
        _autoclose_ int lockfd = -EBADF;
        struct berth_layer_stats stats = {0};
        uint64_t t = TRACE_T0();
        int r;

        r = berth_digest_validate(diff_id, err);
        if (r >= 0 && parent_chain)
                r = berth_digest_validate(parent_chain, err);
        if (r >= 0)
                r = berth_digest_validate(blob, err);
        if (r < 0)
                return berth_error_prefix(err, "add layer");
        chain = berth_chain_id(parent_chain, diff_id);
        r = berth_store_lock_layer(s, berth_store_digest_hex(chain), false, &lockfd, err);
        if (r < 0)
                return berth_error_prefix(err, "layer %s", diff_id);
        if (!berth_store_has_layer_hex(s, berth_store_digest_hex(chain))) {
                r = layer_build(s, berth_store_digest_hex(chain), chain, parent_chain, diff_id,
                                blob, o, &stats, err);
                TRACE(t, "unpack layer %s (%llu entries)", chain,
                      (unsigned long long) stats.entries);
        }
        /* lock files go with their work: berth_store_lock_layer() copes with one removed under a
         * waiter */
        berth_store_unlock_layer_remove(s, berth_store_digest_hex(chain), &lockfd);
        if (r < 0)
                return berth_error_prefix(err, "layer %s", diff_id);
        if (st)
                *st = stats;
        return 0;
}

/* ---- disk usage --------------------------------------------------------------------------- */

struct inode_key {
        dev_t dev;
        ino_t ino;
};

static int inode_cmp(const void *a, const void *b)
{
        const struct inode_key *x = a, *y = b;

        if (x->dev != y->dev)
                return x->dev < y->dev ? -1 : 1;
        return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/* Whether this inode was counted already (hardlinks); remembers it otherwise. */
static bool inode_seen(void **tree, const struct stat *st)
{
        struct inode_key *k, **found;

        if (st->st_nlink <= 1)
                return false;
        k = xcalloc(1, sizeof(*k));
        k->dev = st->st_dev;
        k->ino = st->st_ino;
        found = tsearch(k, tree, inode_cmp);
        if (!found)
                abort();
        if (*found != k) {
                free(k);
                return true;
        }
        return false;
}

static int du_dir(int fd, dev_t dev, void **tree, int64_t *total, const char *path,
                  struct berth_error **err)
{
        DIR *d = fdopendir(fd);
        struct dirent *de;
        int r = 0;

        if (!d) {
                r = berth_error_set(err, errno, "%s: fdopendir", path);
                close(fd);
                return r;
        }
        while (r >= 0 && (errno = 0, de = readdir(d))) {
                struct stat st;
                int sub;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                        r = berth_error_set(err, errno, "%s/%s: fstatat", path, de->d_name);
                        break;
                }
                if (!S_ISDIR(st.st_mode)) {
                        if (!inode_seen(tree, &st))
                                *total += st.st_size;
                        continue;
                }
                if (st.st_dev != dev)
                        continue; /* a mount point: not ours */
                sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
                if (sub < 0) {
                        r = berth_error_set(err, errno, "%s/%s: openat", path, de->d_name);
                        break;
                }
                {
                        _autofree_ char *p = xasprintf("%s/%s", path, de->d_name);

                        r = du_dir(sub, dev, tree, total, p, err);
                }
        }
        if (r >= 0 && errno != 0)
                r = berth_error_set(err, errno, "%s: readdir", path);
        closedir(d);
        return r;
}

/*
 * Apparent sizes (st_size) of everything but directories, each inode once, as docker's image and
 * container sizes: a hardlinked file counts once, a symlink counts its target's length, and
 * directory entries are not counted.
 */
int berth_disk_usage(int dirfd, const char *path, int64_t *ret, struct berth_error **err)
{
        void *tree = NULL;
        int64_t total = 0;
        struct stat st;
        int fd, r;

        fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return berth_error_set(err, errno, "disk usage of %s: open", path);
        if (fstat(fd, &st) < 0) {
                r = berth_error_set(err, errno, "disk usage of %s: fstat", path);
                close(fd);
                return r;
        }
        r = du_dir(fd, st.st_dev, &tree, &total, path, err);
        tdestroy(tree, free);
        if (r < 0)
                return berth_error_prefix(err, "disk usage");
        *ret = total;
        return 0;
}

/* ---- image records (images.json) ---------------------------------------------------------- */

void berth_image_free(struct berth_image *i)
{
        if (!i)
                return;
        free(i->id);
        free(i->manifest);
        strv_free(i->names);
        strv_free(i->digests);
        strv_free(i->layers);
        free(i->created);
        free(i);
}

void berth_images_free(struct berth_image **v, size_t n)
{
        for (size_t i = 0; v && i < n; i++)
                berth_image_free(v[i]);
        free(v);
}

static struct berth_image *image_dup(const struct berth_image *i)
{
        struct berth_image *c = xcalloc(1, sizeof(*c));

        *c = (struct berth_image){
            .id = xstrdup(i->id),
            .manifest = xstrdup(i->manifest),
            .created = xstrdup(i->created),
            .size = i->size,
            .added = i->added,
        };
        c->names = strv_copy(i->names);
        c->digests = strv_copy(i->digests);
        c->layers = strv_copy(i->layers);
        return c;
}

static int record_string(json_t *o, const char *key, bool optional, char **ret,
                         struct berth_error **err)
{
        json_t *v = json_object_get(o, key);

        if (optional && (!v || json_is_null(v))) {
                *ret = NULL;
                return 0;
        }
        if (!json_is_string(v))
                return berth_error_setx(err, EINVAL, "%s: %s", key, v ? "not a string" : "missing");
        *ret = xstrdup(json_string_value(v));
        return 0;
}

static int parse_record(json_t *o, struct berth_image **ret, struct berth_error **err)
{
        _cleanup_(berth_image_freep) struct berth_image *i = xcalloc(1, sizeof(*i));
        int r;

        if (!json_is_object(o))
                return berth_error_setx(err, EINVAL, "not an object");
        r = record_string(o, "id", false, &i->id, err);
        if (r >= 0)
                r = record_string(o, "manifest", false, &i->manifest, err);
        if (r >= 0)
                r = record_string(o, "created", true, &i->created, err);
        if (r >= 0)
                r = json_strv(json_object_get(o, "names"), "names", &i->names, err);
        if (r >= 0)
                r = json_strv(json_object_get(o, "digests"), "digests", &i->digests, err);
        if (r >= 0)
                r = json_strv(json_object_get(o, "layers"), "layers", &i->layers, err);
        if (r < 0)
                return r;
        i->size = json_integer_value(json_object_get(o, "size"));
        i->added = json_integer_value(json_object_get(o, "added"));
        *ret = steal_ptr(&i);
        return 0;
}

static int parse_images(const char *buf, size_t len, struct image_list *l, struct berth_error **err)
{
        json_auto_t *j = NULL;
        json_t *a, *o;
        size_t k;
        int r;

        r = json_load(buf, len, "images.json", &j, err);
        if (r < 0)
                return r;
        a = json_object_get(j, "images");
        if (!json_is_array(a))
                return berth_error_setx(err, EINVAL, "images.json: images: not an array");
        l->v = xcalloc(json_array_size(a) + 1, sizeof(*l->v));
        json_array_foreach(a, k, o)
        {
                r = parse_record(o, &l->v[l->n], err);
                if (r < 0)
                        return berth_error_prefix(err, "images.json: images[%zu]", k);
                l->n++;
        }
        return 0;
}

int berth_store_load_images(struct berth_store *s, struct image_list *ret, struct berth_error **err)
{
        _autofree_ char *buf = NULL;
        struct image_list l = {0};
        size_t len = 0;
        int r;

        r = berth_read_file_at(s->rootfd, "images.json", MAX_JSON, &buf, &len, err);
        if (r == -ENOENT) {
                if (err)
                        berth_error_freep(err);
                *ret = l;
                return 0;
        }
        if (r >= 0)
                r = parse_images(buf, len, &l, err);
        if (r < 0) {
                berth_store_images_clear(&l);
                return berth_error_prefix(err, "image store %s", QUOTE(s->root));
        }
        *ret = l;
        return 0;
}

static json_t *record_json(const struct berth_image *i)
{
        return json_pack("{s:s, s:s, s:o, s:o, s:o, s:s?, s:I, s:I}", "id", i->id, "manifest",
                         i->manifest, "names", berth_json_strv(i->names), "digests",
                         berth_json_strv(i->digests), "layers", berth_json_strv(i->layers),
                         "created", i->created, "size", (json_int_t) i->size, "added",
                         (json_int_t) i->added);
}

int berth_store_save_images(struct berth_store *s, const struct image_list *l,
                            struct berth_error **err)
{
        json_auto_t *a = json_array();
        json_auto_t *j = NULL;
        _autofree_ char *data = NULL;
        int r;

        for (size_t k = 0; k < l->n; k++)
                json_array_append_new(a, record_json(l->v[k]));
        j = json_pack("{s:O}", "images", a);
        r = json_dump_alloc(j, "images.json", &data, err);
        if (r >= 0)
                r = berth_write_file_atomic(s->rootfd, "images.json", data, strlen(data), 0600,
                                            true, err);
        if (r >= 0 && fsync(s->rootfd) < 0)
                r = berth_error_set(err, errno, "fsync %s", s->root);
        return r < 0 ? berth_error_prefix(err, "image store %s", QUOTE(s->root)) : 0;
}

void berth_store_images_remove_at(struct image_list *l, size_t k)
{
        berth_image_free(l->v[k]);
        memmove(&l->v[k], &l->v[k + 1], (l->n - k - 1) * sizeof(*l->v));
        l->n--;
}

/* ---- users --------------------------------------------------------------------------------- */

const struct berth_store_user *berth_store_user_of(const struct user_list *ul, const char *image_id)
{
        for (size_t k = 0; k < ul->n; k++)
                if (streq_ptr(ul->v[k].image, image_id))
                        return &ul->v[k];
        return NULL;
}

/* ---- lookup ------------------------------------------------------------------------------- */

static ssize_t find_id(const struct image_list *l, const char *id)
{
        for (size_t k = 0; k < l->n; k++)
                if (streq(l->v[k]->id, id))
                        return (ssize_t) k;
        return -1;
}

static ssize_t find_name(const struct image_list *l, const char *name)
{
        for (size_t k = 0; k < l->n; k++)
                if (strv_contains(l->v[k]->names, name))
                        return (ssize_t) k;
        return -1;
}

/* name@digest: a recorded repo digest, else the manifest digest with a name of that repo. */
static ssize_t find_digest(const struct image_list *l, const struct berth_ref *ref)
{
        _autofree_ char *repo = berth_ref_name(ref);
        _autofree_ char *full = xasprintf("%s@%s", repo, ref->digest);
        _autofree_ char *prefix = xasprintf("%s:", repo);

        for (size_t k = 0; k < l->n; k++)
                if (strv_contains(l->v[k]->digests, full))
                        return (ssize_t) k;
        for (size_t k = 0; k < l->n; k++) {
                if (!streq(l->v[k]->manifest, ref->digest))
                        continue;
                for (size_t n = 0; l->v[k]->names[n]; n++)
                        if (startswith(l->v[k]->names[n], prefix))
                                return (ssize_t) k;
        }
        return -1;
}

/* A hex id prefix, with or without "sha256:": returns the index, -1 if none, -2 if ambiguous. */
static ssize_t find_prefix(const struct image_list *l, const char *what)
{
        const char *hex = startswith(what, DIGEST_PREFIX) ? berth_store_digest_hex(what) : what;
        size_t len = strlen(hex);
        ssize_t found = -1;

        if (len < 3 || len > HEX_LEN || !berth_is_lower_hex(hex, len))
                return -1;
        for (size_t k = 0; k < l->n; k++) {
                if (strncmp(berth_store_digest_hex(l->v[k]->id), hex, len) != 0)
                        continue;
                if (found >= 0)
                        return -2;
                found = (ssize_t) k;
        }
        return found;
}

/* Finds `what` in l. ret_name: the normalized name when matched by name (may be NULL). */
int berth_store_find_image(const struct image_list *l, const char *what, size_t *ret_idx,
                           enum match_kind *ret_kind, char **ret_name, struct berth_error **err)
{
        _autoref_ struct berth_ref *ref = NULL;
        _autofree_ char *name = NULL;
        enum match_kind kind = MATCH_ID;
        ssize_t k = -1;

        if (berth_ref_parse(what, &ref, NULL) >= 0 && !berth_store_is_hex_name(what)) {
                if (ref->digest && !ref->tag) {
                        k = find_digest(l, ref);
                        kind = MATCH_DIGEST;
                } else {
                        _autofree_ char *repo = berth_ref_name(ref);

                        name = ref->digest ? xasprintf("%s:%s", repo, ref->tag)
                                           : berth_ref_string(ref);
                        k = find_name(l, name);
                        kind = MATCH_NAME;
                }
        }
        if (k < 0) {
                kind = MATCH_ID;
                k = find_prefix(l, what);
        }
        if (k == -2)
                return berth_error_setx(err, EINVAL, "image id prefix %s is ambiguous",
                                        QUOTE(what));
        if (k < 0)
                return berth_error_setx(err, ENOENT, "image %s not found", QUOTE(what));
        *ret_idx = (size_t) k;
        if (ret_kind)
                *ret_kind = kind;
        if (ret_name)
                *ret_name = kind == MATCH_NAME ? steal_ptr(&name) : NULL;
        return 0;
}

int berth_store_images(struct berth_store *s, struct berth_image ***ret, size_t *ret_n,
                       struct berth_error **err)
{
        struct image_list l;
        int r;

        r = berth_store_load_images(s, &l, err);
        if (r < 0)
                return r;
        /* records are appended as they are added: newest first is the reverse */
        for (size_t a = 0, b = l.n ? l.n - 1 : 0; a < b; a++, b--) {
                struct berth_image *t = l.v[a];

                l.v[a] = l.v[b];
                l.v[b] = t;
        }
        if (!l.v)
                l.v = xcalloc(1, sizeof(*l.v));
        *ret = l.v;
        *ret_n = l.n;
        return 0;
}

int berth_store_image_lookup(struct berth_store *s, const char *what, struct berth_image **ret,
                             struct berth_error **err)
{
        struct image_list l;
        size_t k;
        int r;

        r = berth_store_load_images(s, &l, err);
        if (r < 0)
                return r;
        r = berth_store_find_image(&l, what, &k, NULL, NULL, err);
        if (r >= 0)
                *ret = image_dup(l.v[k]);
        berth_store_images_clear(&l);
        return r;
}

/* ---- adding and naming images ------------------------------------------------------------- */

static int read_blob(struct berth_store *s, const char *digest, char **ret, size_t *ret_len,
                     struct berth_error **err)
{
        _autoclose_ int fd = -EBADF;
        int r;

        r = berth_blobstore_open_blob(s->blobs, digest, &fd, err);
        if (r < 0)
                return r;
        return berth_read_fd(fd, digest, MAX_JSON, ret, ret_len, err);
}

/* The image manifest stored as digest (an index is refused). */
int berth_store_load_manifest(struct berth_store *s, const char *digest,
                              struct berth_manifest **ret, struct berth_error **err)
{
        _cleanup_(berth_manifest_freep) struct berth_manifest *m = NULL;
        _autofree_ char *buf = NULL;
        size_t len = 0;
        int r;

        r = read_blob(s, digest, &buf, &len, err);
        if (r >= 0)
                r = berth_manifest_parse(buf, len, NULL, &m, err);
        if (r < 0)
                return berth_error_prefix(err, "manifest %s", digest);
        if (m->kind != BERTH_MANIFEST_IMAGE)
                return berth_error_setx(err, EINVAL, "manifest %s: an index, not an image manifest",
                                        digest);
        *ret = steal_ptr(&m);
        return 0;
}

static int load_config(struct berth_store *s, const char *digest, struct berth_image_config **ret,
                       struct berth_error **err)
{
        _autofree_ char *buf = NULL;
        size_t len = 0;
        int r;

        r = read_blob(s, digest, &buf, &len, err);
        if (r >= 0)
                r = berth_image_config_parse(buf, len, ret, err);
        return r < 0 ? berth_error_prefix(err, "config %s", digest) : 0;
}

/* Chain ids from diff ids, each layer present in the store; their sizes summed. */
static int image_layers(struct berth_store *s, const struct berth_image_config *c,
                        struct berth_image *img, struct berth_error **err)
{
        for (size_t k = 0; k < c->n_diff_ids; k++) {
                char *chain = berth_chain_id(k ? img->layers[k - 1] : NULL, c->diff_ids[k]);
                int64_t size = 0;
                int r;

                img->layers = berth_store_strv_add(img->layers, chain);
                free(chain);
                if (!berth_store_has_layer(s, img->layers[k]))
                        return berth_error_setx(err, ENOENT,
                                                "layer %s (diff id %s) is not in the store",
                                                img->layers[k], c->diff_ids[k]);
                r = berth_store_layer_size(s, berth_store_digest_hex(img->layers[k]), &size, err);
                if (r < 0)
                        return r;
                img->size += size;
        }
        return 0;
}

/* The record of the image whose manifest is stored as digest. */
static int image_from_manifest(struct berth_store *s, const char *digest, struct berth_image **ret,
                               struct berth_error **err)
{
        _cleanup_(berth_manifest_freep) struct berth_manifest *m = NULL;
        _cleanup_(berth_image_config_freep) struct berth_image_config *c = NULL;
        _cleanup_(berth_image_freep) struct berth_image *img = xcalloc(1, sizeof(*img));
        int r;

        r = berth_store_load_manifest(s, digest, &m, err);
        if (r >= 0)
                r = load_config(s, m->config.digest, &c, err);
        if (r < 0)
                return r;
        if (c->n_diff_ids != m->n_layers)
                return berth_error_setx(err, EINVAL,
                                        "config %s has %zu diff ids for the manifest's %zu layers",
                                        m->config.digest, c->n_diff_ids, m->n_layers);
        img->id = xstrdup(m->config.digest);
        img->manifest = xstrdup(digest);
        img->created = xstrdup(c->created);
        img->names = xcalloc(1, sizeof(char *));
        img->digests = xcalloc(1, sizeof(char *));
        img->layers = xcalloc(1, sizeof(char *));
        img->added = (int64_t) time(NULL);
        r = image_layers(s, c, img, err);
        if (r < 0)
                return r;
        *ret = steal_ptr(&img);
        return 0;
}

/* A name for an image: normalized, with a tag, without a digest. */
static int normalize_name(const char *name, char **ret, struct berth_error **err)
{
        _autoref_ struct berth_ref *ref = NULL;
        int r;

        r = berth_ref_parse(name, &ref, err);
        if (r < 0)
                return r;
        if (ref->digest)
                return berth_error_setx(err, EINVAL, "name %s: a digest cannot be a tag",
                                        QUOTE(name));
        *ret = berth_ref_string(ref);
        return 0;
}

/* Gives image k the name, taking it from any other image (which may become dangling). */
static void move_name(struct image_list *l, size_t k, const char *name)
{
        for (size_t j = 0; j < l->n; j++)
                if (j != k)
                        berth_store_strv_remove(l->v[j]->names, name);
        l->v[k]->names = berth_store_strv_add_unique(l->v[k]->names, name);
}

static int add_locked(struct berth_store *s, struct berth_image **img, const char *name,
                      const char *repo_digest, struct berth_error **err)
{
        _autoclose_ int lockfd = -EBADF;
        struct image_list l = {0};
        ssize_t k;
        int r;

        r = berth_store_lock(s, &lockfd, err);
        if (r >= 0)
                r = berth_store_load_images(s, &l, err);
        if (r < 0)
                return r;
        k = find_id(&l, (*img)->id);
        if (k < 0) {
                l.v = xreallocarray(l.v, l.n + 1, sizeof(*l.v));
                l.v[l.n++] = steal_ptr(img);
                k = (ssize_t) l.n - 1;
        }
        if (name)
                move_name(&l, (size_t) k, name);
        if (repo_digest)
                l.v[k]->digests = berth_store_strv_add_unique(l.v[k]->digests, repo_digest);
        r = berth_store_save_images(s, &l, err);
        berth_store_images_clear(&l);
        return r;
}

int berth_store_image_add(struct berth_store *s, const char *manifest_digest, const char *name,
                          const char *repo_digest, char **ret_id, struct berth_error **err)
{
        _cleanup_(berth_image_freep) struct berth_image *img = NULL;
        _autofree_ char *norm = NULL, *id = NULL;
        int r;

        r = berth_digest_validate(manifest_digest, err);
        if (r >= 0 && name)
                r = normalize_name(name, &norm, err);
        if (r >= 0)
                r = image_from_manifest(s, manifest_digest, &img, err);
        /* !img never with r >= 0: spelled out for -Wnull-dereference, which cannot know that the
         * error setters return a negative value */
        if (r < 0 || !img)
                return berth_error_prefix(err, "add image %s", manifest_digest);
        id = xstrdup(img->id);
        r = add_locked(s, &img, norm, repo_digest, err);
        if (r < 0)
                return berth_error_prefix(err, "add image %s", manifest_digest);
        if (ret_id)
                *ret_id = steal_ptr(&id);
        return 0;
}

int berth_store_tag(struct berth_store *s, const char *what, const char *name,
                    struct berth_error **err)
{
        _autoclose_ int lockfd = -EBADF;
        _autofree_ char *norm = NULL;
        struct image_list l = {0};
        size_t k;
        int r;

        r = normalize_name(name, &norm, err);
        if (r >= 0)
                r = berth_store_lock(s, &lockfd, err);
        if (r >= 0)
                r = berth_store_load_images(s, &l, err);
        if (r >= 0)
                r = berth_store_find_image(&l, what, &k, NULL, NULL, err);
        if (r >= 0) {
                move_name(&l, k, norm);
                r = berth_store_save_images(s, &l, err);
        }
        berth_store_images_clear(&l);
        return r < 0 ? berth_error_prefix(err, "tag %s as %s", QUOTE(what), QUOTE(name)) : 0;
}
