/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The store's removals: gc (layers and blobs nothing refers to, reference counts computed from
 * images.json and what the store's users hold, under store.lock), rmi, prune, and system df.
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
#include "base/log.h"
#include "image/manifest.h"
#include "base/util.h"

#include "image/imagestore-internal.h"

/* ---- garbage ------------------------------------------------------------------------------ */

/* The names in dirfd/path, "." and ".." left out. */
static int list_dir(int dirfd, const char *path, char ***ret, struct berth_error **err)
{
        _autostrv_ char **v = xcalloc(1, sizeof(char *));
        struct dirent *de;
        int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        DIR *d;

        if (fd < 0)
                return berth_error_set(err, errno, "open %s", path);
        d = fdopendir(fd);
        if (!d) {
                close(fd);
                return berth_error_set(err, errno, "read %s", path);
        }
        while ((errno = 0, de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        v = berth_store_strv_add(v, de->d_name);
        if (errno != 0) {
                int e = errno;

                closedir(d);
                return berth_error_set(err, e, "read %s", path);
        }
        closedir(d);
        *ret = steal_ptr(&v);
        return 0;
}

/* Adds the blobs of image i (manifest, config, layers) to *blobs, as hex names. */
static int image_blobs(struct berth_store *s, const struct berth_image *i, char ***blobs,
                       struct berth_error **err)
{
        _cleanup_(berth_manifest_freep) struct berth_manifest *m = NULL;
        int r;

        *blobs = berth_store_strv_add_unique(*blobs, berth_store_digest_hex(i->manifest));
        r = berth_store_load_manifest(s, i->manifest, &m, err);
        if (r < 0)
                return r;
        *blobs = berth_store_strv_add_unique(*blobs, berth_store_digest_hex(m->config.digest));
        for (size_t k = 0; k < m->n_layers; k++)
                *blobs = berth_store_strv_add_unique(*blobs,
                                                     berth_store_digest_hex(m->layers[k].digest));
        return 0;
}

/* The layers (hex chain ids) every image and user holds. */
static char **used_layers(const struct image_list *l, const struct user_list *ul)
{
        char **v = xcalloc(1, sizeof(char *));

        for (size_t k = 0; k < l->n; k++)
                for (size_t j = 0; l->v[k]->layers[j]; j++)
                        if (startswith(l->v[k]->layers[j], DIGEST_PREFIX))
                                v = berth_store_strv_add_unique(
                                    v, berth_store_digest_hex(l->v[k]->layers[j]));
        for (size_t k = 0; k < ul->n; k++)
                for (size_t j = 0; ul->v[k].layers[j]; j++)
                        if (startswith(ul->v[k].layers[j], DIGEST_PREFIX))
                                v = berth_store_strv_add_unique(
                                    v, berth_store_digest_hex(ul->v[k].layers[j]));
        return v;
}

/* Under its lock: renamed out of the way first, so a crash leaves a temp dir, not half a layer. */
static int remove_layer(struct berth_store *s, const char *hex, int64_t *freed,
                        struct berth_error **err)
{
        _autofree_ char *tmp = xasprintf(TMP_PREFIX "%s", hex);
        _autoclose_ int lockfd = -EBADF;
        int64_t size = 0;
        int r;

        r = berth_store_lock_layer(s, hex, false, &lockfd, err);
        if (r < 0)
                return r;
        if (berth_store_layer_size(s, hex, &size, NULL) < 0)
                size = 0;
        r = berth_rm_rf_at(s->layersfd, tmp, err);
        if (r >= 0 && renameat(s->layersfd, hex, s->layersfd, tmp) < 0 && errno != ENOENT)
                r = berth_error_set(err, errno, "rename layers/%s to layers/%s", hex, tmp);
        if (r >= 0)
                r = berth_rm_rf_at(s->layersfd, tmp, err);
        if (r < 0)
                return berth_error_prefix(err, "remove layer sha256:%s", hex);
        berth_store_unlock_layer_remove(s, hex, &lockfd);
        *freed += size;
        return 0;
}

/* A crashed unpack's temp dir or a lock file left alone: removed unless someone holds the lock. */
static int remove_leftover(struct berth_store *s, const char *name, const char *hex,
                           struct berth_error **err)
{
        _autoclose_ int lockfd = -EBADF;
        int r;

        r = berth_store_lock_layer(s, hex, true, &lockfd, err);
        if (r == -EWOULDBLOCK)
                return 0;
        if (r >= 0 && startswith(name, TMP_PREFIX))
                r = berth_rm_rf_at(s->layersfd, name, err);
        if (r < 0)
                return r;
        if (!berth_store_has_layer_hex(s, hex))
                berth_store_unlock_layer_remove(s, hex, &lockfd);
        return 0;
}

static int sweep_layers(struct berth_store *s, char **used, int64_t *freed,
                        struct berth_error **err)
{
        _autostrv_ char **names = NULL;
        int r;

        r = list_dir(s->layersfd, ".", &names, err);
        for (size_t k = 0; r >= 0 && names[k]; k++) {
                const char *n = names[k];
                _autofree_ char *hex = NULL;

                if (berth_store_is_hex_name(n)) {
                        if (!strv_contains(used, n))
                                r = remove_layer(s, n, freed, err);
                        continue;
                }
                if (startswith(n, TMP_PREFIX))
                        hex = xstrdup(n + strlen(TMP_PREFIX));
                else if (strlen(n) == HEX_LEN + 5 && streq(n + HEX_LEN, ".lock"))
                        hex = strndup(n, HEX_LEN);
                if (hex && berth_store_is_hex_name(hex) &&
                    (startswith(n, TMP_PREFIX) || !berth_store_has_layer_hex(s, hex)))
                        r = remove_leftover(s, n, hex, err);
        }
        return r < 0 ? berth_error_prefix(err, "layers") : 0;
}

static int sweep_blobs(struct berth_store *s, char **used, int64_t *freed, struct berth_error **err)
{
        _autostrv_ char **names = NULL;
        _autoclose_ int fd = -EBADF;
        int r;

        fd = openat(s->rootfd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return berth_error_set(err, errno, "open blobs/sha256");
        r = list_dir(fd, ".", &names, err);
        for (size_t k = 0; r >= 0 && names[k]; k++) {
                _autofree_ char *digest = xasprintf(DIGEST_PREFIX "%s", names[k]);
                struct stat st;

                if (!berth_store_is_hex_name(names[k]) || strv_contains(used, names[k]))
                        continue;
                if (fstatat(fd, names[k], &st, AT_SYMLINK_NOFOLLOW) == 0)
                        *freed += st.st_size;
                r = berth_blobstore_remove(s->blobs, digest, err);
        }
        return r < 0 ? berth_error_prefix(err, "blobs") : 0;
}

/* What gc, rmi, prune and df decide on: images.json and what the users hold, read under
 * store.lock (locked = false: df only reads). users NULL: none. */
struct view {
        int lockfd;
        struct image_list l;
        struct user_list ul;
};

static int view_load(struct berth_store *s, bool locked, berth_store_users_fn users, struct view *v,
                     struct berth_error **err)
{
        int r = 0;

        *v = (struct view){.lockfd = -EBADF};
        if (locked)
                r = berth_store_lock(s, &v->lockfd, err);
        if (r >= 0)
                r = berth_store_load_images(s, &v->l, err);
        if (r >= 0 && users)
                r = users(s, &v->ul.v, &v->ul.n, err);
        return r;
}

static void view_clear(struct view *v)
{
        berth_store_images_clear(&v->l);
        berth_store_users_free(v->ul.v, v->ul.n);
        v->ul = (struct user_list){0};
        closep(&v->lockfd);
}

/* Under store.lock, with l and ul the current images and users. */
static int gc_locked(struct berth_store *s, const struct image_list *l, const struct user_list *ul,
                     int64_t *ret_reclaimed, struct berth_error **err)
{
        _autostrv_ char **layers = NULL, **blobs = xcalloc(1, sizeof(char *));
        _autoclose_ int gcfd = -EBADF;
        int64_t freed = 0;
        bool blobs_known = true;
        int r;

        r = berth_lock_file_at(s->rootfd, "gc.lock", LOCK_EX | LOCK_NB, &gcfd, err);
        if (r == -EWOULDBLOCK) {
                TRACE(0, "gc: content is being added (a lease is held), skipping");
                r = 0;
        } else if (r >= 0) {
                for (size_t k = 0; k < l->n && blobs_known; k++) {
                        _autoerr_ struct berth_error *e = NULL;

                        blobs_known = image_blobs(s, l->v[k], &blobs, &e) >= 0;
                        if (!blobs_known)
                                berth_warn("gc: image %s: %s: keeping every blob", l->v[k]->id,
                                           e->msg);
                }
                layers = used_layers(l, ul);
                r = sweep_layers(s, layers, &freed, err);
                if (r >= 0 && blobs_known)
                        r = sweep_blobs(s, blobs, &freed, err);
        }
        if (r < 0)
                return berth_error_prefix(err, "gc %s", s->root);
        if (ret_reclaimed)
                *ret_reclaimed = freed;
        return 0;
}

int berth_store_gc(struct berth_store *s, berth_store_users_fn users, int64_t *ret_reclaimed,
                   struct berth_error **err)
{
        struct view v;
        int r;

        r = view_load(s, true, users, &v, err);
        if (r >= 0)
                r = gc_locked(s, &v.l, &v.ul, ret_reclaimed, err);
        view_clear(&v);
        return r;
}

/* ---- rmi and prune ------------------------------------------------------------------------ */

/* "busybox:latest", or the short id of an image without names. */
static char *display_name(const struct berth_image *i)
{
        if (i->names[0])
                return berth_ref_familiar(i->names[0]);
        return xasprintf("%.12s", berth_store_digest_hex(i->id));
}

static void add_line(char ***lines, const char *prefix, const char *what)
{
        _autofree_ char *s = xasprintf("%s%s", prefix, what);

        *lines = berth_store_strv_add(*lines, s);
}

static void delete_record(struct image_list *l, size_t k, char ***lines)
{
        const struct berth_image *i = l->v[k];

        for (size_t n = 0; i->names[n]; n++) {
                _autofree_ char *f = berth_ref_familiar(i->names[n]);

                add_line(lines, "Untagged: ", f);
        }
        for (size_t n = 0; i->digests[n]; n++) {
                _autofree_ char *f = berth_ref_familiar(i->digests[n]);

                add_line(lines, "Untagged: ", f);
        }
        add_line(lines, "Deleted: ", i->id);
        berth_store_images_remove_at(l, k);
}

/* Returns 1 if the record went (gc is due), 0 if only a name did. */
static int remove_locked(struct image_list *l, const struct user_list *ul, size_t k,
                         enum match_kind kind, const char *name, bool force, char ***lines,
                         struct berth_error **err)
{
        struct berth_image *i = l->v[k];
        const struct berth_store_user *c = berth_store_user_of(ul, i->id);
        _autofree_ char *shown = display_name(i);

        if (kind == MATCH_NAME && strv_length(i->names) > 1) {
                _autofree_ char *f = berth_ref_familiar(name);

                berth_store_strv_remove(i->names, name);
                add_line(lines, "Untagged: ", f);
                return 0;
        }
        if (kind != MATCH_NAME && strv_length(i->names) > 1 && !force)
                return berth_error_setx(err, EBUSY,
                                        "image %.12s is referenced in multiple names: use -f",
                                        berth_store_digest_hex(i->id));
        if (c && !force)
                return berth_error_setx(err, EBUSY,
                                        "image %s is in use by container %.12s: remove it first "
                                        "or use -f",
                                        shown, c->id);
        delete_record(l, k, lines);
        return 1;
}

int berth_store_image_remove(struct berth_store *s, const char *what, bool force,
                             berth_store_users_fn users, char ***ret_removed,
                             struct berth_error **err)
{
        _autostrv_ char **lines = xcalloc(1, sizeof(char *));
        _autofree_ char *name = NULL;
        enum match_kind kind;
        struct view v;
        size_t k;
        int r;

        r = view_load(s, true, users, &v, err);
        if (r >= 0)
                r = berth_store_find_image(&v.l, what, &k, &kind, &name, err);
        if (r >= 0)
                r = remove_locked(&v.l, &v.ul, k, kind, name, force, &lines, err);
        if (r >= 0) {
                int q = berth_store_save_images(s, &v.l, err);

                r = q < 0 ? q : r;
        }
        if (r > 0)
                r = gc_locked(s, &v.l, &v.ul, NULL, err);
        view_clear(&v);
        if (r < 0)
                return berth_error_prefix(err, "remove image %s", QUOTE(what));
        if (ret_removed)
                *ret_removed = steal_ptr(&lines);
        return 0;
}

int berth_store_prune(struct berth_store *s, bool all, berth_store_users_fn users,
                      char ***ret_removed, int64_t *ret_reclaimed, struct berth_error **err)
{
        _autostrv_ char **ids = xcalloc(1, sizeof(char *));
        struct view v;
        int r;

        r = view_load(s, true, users, &v, err);
        for (size_t k = v.l.n; r >= 0 && k-- > 0;) {
                if (berth_store_user_of(&v.ul, v.l.v[k]->id) || (v.l.v[k]->names[0] && !all))
                        continue;
                ids = berth_store_strv_add(ids, v.l.v[k]->id);
                berth_store_images_remove_at(&v.l, k);
        }
        if (r >= 0 && ids[0])
                r = berth_store_save_images(s, &v.l, err);
        if (r >= 0)
                r = gc_locked(s, &v.l, &v.ul, ret_reclaimed, err);
        view_clear(&v);
        if (r < 0)
                return berth_error_prefix(err, "prune images");
        if (ret_removed)
                *ret_removed = steal_ptr(&ids);
        return 0;
}

/* ---- system df ---------------------------------------------------------------------------- */

static int64_t sum_layers(struct berth_store *s, char **hexes)
{
        int64_t total = 0, size;

        for (size_t k = 0; hexes[k]; k++)
                if (berth_store_layer_size(s, hexes[k], &size, NULL) >= 0)
                        total += size;
        return total;
}

static int64_t blobs_size(struct berth_store *s)
{
        _autostrv_ char **names = NULL;
        _autoclose_ int fd =
            openat(s->rootfd, "blobs/sha256", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int64_t total = 0;
        struct stat st;

        if (fd < 0 || list_dir(fd, ".", &names, NULL) < 0)
                return 0;
        for (size_t k = 0; names[k]; k++)
                if (fstatat(fd, names[k], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
                        total += st.st_size;
        return total;
}

/* The users' data dirs (the containers' upper dirs). */
static int users_size(const struct user_list *ul, int64_t *ret, struct berth_error **err)
{
        int64_t total = 0;

        for (size_t k = 0; k < ul->n; k++) {
                int64_t size = 0;
                int r;

                if (!ul->v[k].data_dir)
                        continue;
                r = berth_disk_usage(AT_FDCWD, ul->v[k].data_dir, &size, err);
                if (r == -ENOENT) {
                        if (err)
                                berth_error_freep(err);
                        continue;
                }
                if (r < 0)
                        return r;
                total += size;
        }
        *ret = total;
        return 0;
}

static void df_images(struct berth_store *s, const struct image_list *l, const struct user_list *ul,
                      struct berth_store_df *df)
{
        struct image_list active = {.v = xcalloc(l->n + 1, sizeof(*l->v))};
        _autostrv_ char **all = used_layers(l, ul), **held = NULL;

        for (size_t k = 0; k < l->n; k++)
                if (berth_store_user_of(ul, l->v[k]->id))
                        active.v[active.n++] = l->v[k];
        held = used_layers(&active, ul);
        df->images = l->n;
        df->images_active = active.n;
        df->images_size = sum_layers(s, all);
        df->images_reclaimable = df->images_size - sum_layers(s, held);
        free(active.v); /* borrowed records */
}

int berth_store_df(struct berth_store *s, berth_store_users_fn users, struct berth_store_df *ret,
                   struct berth_error **err)
{
        struct berth_store_df df = {0};
        struct view v;
        int r;

        r = view_load(s, false, users, &v, err);
        if (r >= 0) {
                df_images(s, &v.l, &v.ul, &df);
                df.blobs_size = blobs_size(s);
                df.containers = v.ul.n;
                r = users_size(&v.ul, &df.containers_size, err);
        }
        view_clear(&v);
        if (r < 0)
                return berth_error_prefix(err, "disk use of %s", s->root);
        *ret = df;
        return 0;
}
