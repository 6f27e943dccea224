/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth diff and berth commit, the engine's side: a container's upper dir read against its
 * image's layers (changes.h), and written back as a gzip'ed layer of a new image that keeps the
 * container's Env, Cmd, Entrypoint, WorkingDir and User (then the -c lines apply). A running
 * container is frozen while its upper dir is read, unless the caller says not to.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "base/util.h"
#include "engine/engine-commit.h"
#include "engine/engine.h"
#include "image/blobstore.h"
#include "image/changes.h"
#include "image/image-archive.h"
#include "image/imageref.h"
#include "image/imagestore.h"
#include "image/manifest.h"
#include "runtime/container.h"

/* ---- diff ---------------------------------------------------------------------------------- */

int berth_ctr_diff(struct berth_store *s, const char *what, struct berth_change **ret,
                   size_t *ret_n, struct berth_error **err)
{
        struct berth_ctr *c = NULL;
        _autofree_ char *upper = NULL;
        _autostrv_ char **lowers = NULL;
        int r;

        r = berth_ctr_lookup(s, what, &c, err);
        if (r < 0)
                return r;
        upper = berth_ctr_upper(c);
        lowers = berth_ctr_lowers(s, c);
        r = berth_changes(upper, (const char *const *) lowers, ret, ret_n, err);
        berth_ctr_free(c);
        if (r < 0)
                return berth_error_prefix(err, "diff %s", QUOTE(what));
        return 0;
}

/* ---- commit -------------------------------------------------------------------------------- */

/* The new layer, as written to the blob store. */
struct new_blob {
        char *digest, *diff_id;
        int64_t size;
};

static void new_blob_clear(struct new_blob *b)
{
        free(b->digest);
        free(b->diff_id);
        *b = (struct new_blob){0};
}

static char **strv_copy(char *const *v)
{
        size_t n = strv_length(v);
        char **out;

        if (!v)
                return NULL;
        out = xcalloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++)
                out[i] = xstrdup(v[i]);
        return out;
}

static char *strdup_or_null(const char *s)
{
        return s && *s ? xstrdup(s) : NULL;
}

int berth_commit_name(const char *raw, char **ret, struct berth_error **err)
{
        _autoref_ struct berth_ref *ref = NULL;
        _autofree_ char *s = NULL;
        int r;

        if (!raw) {
                *ret = NULL;
                return 0;
        }
        r = berth_ref_parse(raw, &ref, err);
        if (r < 0)
                return r;
        s = berth_ref_string(ref);
        if (strchr(s, '@'))
                return berth_error_setx(err, EINVAL,
                                        "invalid reference %s: refusing to create a tag with a "
                                        "digest reference",
                                        QUOTE(raw));
        *ret = steal_ptr(&s);
        return 0;
}

int berth_commit_config(const struct berth_ctr *c, const struct berth_commit_opts *o,
                        struct berth_config_change *ch, struct berth_error **err)
{
        int r;

        ch->env = strv_copy(c->env);
        ch->cmd = strv_copy(c->cmd);
        ch->set_cmd = true;
        ch->entrypoint = strv_copy(c->entrypoint);
        ch->set_entrypoint = true;
        ch->working_dir = strdup_or_null(c->working_dir);
        ch->user = strdup_or_null(c->user);
        for (char *const *p = o->changes; p && *p; p++) {
                r = berth_config_change_parse(*p, ch, err);
                if (r < 0)
                        return r;
        }
        ch->author = strdup_or_null(o->author);
        ch->comment = strdup_or_null(o->message);
        ch->created_by = xstrdup("berth commit");
        return 0;
}

/* An unnamed file under the store root for the layer (same filesystem as the blobs). */
static int layer_tmpfile(const char *root, int *ret_fd, struct berth_error **err)
{
        int fd = open(root, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);

        if (fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR)) {
                _autofree_ char *tmpl = xasprintf("%s/.commit-XXXXXX", root);

                fd = mkostemp(tmpl, O_CLOEXEC);
                if (fd >= 0)
                        unlink(tmpl);
        }
        if (fd < 0)
                return berth_error_set(err, errno, "create a temporary file in %s", root);
        *ret_fd = fd;
        return 0;
}

/* Freezes the container if its process runs (runtime state under runroot): *ret is then the
 * container to resume, else NULL. A container without runtime state is not running. */
static int pause_running(const char *runroot, const char *id, struct berth_container **ret,
                         struct berth_error **err)
{
        _autoerr_ struct berth_error *e = NULL;
        _autocontainer_ struct berth_container *lc = NULL;
        int r;

        *ret = NULL;
        r = berth_container_load(runroot, id, &lc, &e);
        if (r == -ENOENT)
                return 0;
        if (r < 0) {
                if (err)
                        *err = steal_ptr(&e);
                return r;
        }
        berth_container_observe(lc);
        if (lc->status != BERTH_STATUS_RUNNING)
                return 0;
        r = berth_container_pause(lc, err);
        if (r < 0)
                return r;
        *ret = steal_ptr(&lc);
        return 0;
}

static int diff_paused(const char *upper, const char *runroot, const char *id, bool pause, int fd,
                       struct new_blob *b, struct berth_error **err)
{
        _autocontainer_ struct berth_container *lc = NULL;
        _autoerr_ struct berth_error *e = NULL;
        int r = 0;

        if (pause)
                r = pause_running(runroot, id, &lc, err);
        if (r < 0)
                return r;
        r = berth_layer_diff_write(upper, fd, &b->diff_id, &b->digest, &b->size, err);
        if (lc && berth_container_resume(lc, &e) < 0 && r >= 0) {
                r = -e->code;
                new_blob_clear(b);
                if (err)
                        *err = steal_ptr(&e);
        }
        return r;
}

/* The upper dir as a gzip'ed layer tar in the blob store. */
static int commit_layer(struct berth_store *s, const char *runroot, const struct berth_ctr *c,
                        bool pause, struct new_blob *b, struct berth_error **err)
{
        _autofree_ char *upper = berth_ctr_upper(c);
        _autoclose_ int fd = -EBADF;
        int r;

        r = layer_tmpfile(berth_store_root(s), &fd, err);
        if (r < 0)
                return r;
        r = diff_paused(upper, runroot, c->id, pause, fd, b, err);
        if (r < 0)
                return r;
        if (lseek(fd, 0, SEEK_SET) < 0)
                return berth_error_set(err, errno, "seek the layer tar");
        r = berth_blobstore_put_fd(berth_store_blobs(s), fd, b->digest, b->size, NULL, err);
        return r < 0 ? berth_error_prefix(err, "store layer %s", b->digest) : 0;
}

int berth_ctr_commit(struct berth_store *s, const char *runroot, const struct berth_commit_opts *o,
                     char **ret_id, struct berth_error **err)
{
        _cleanup_(berth_config_change_clear) struct berth_config_change ch = {0};
        _cleanup_(new_blob_clear) struct new_blob b = {0};
        _autoclose_ int lease = -EBADF;
        struct berth_ctr *c = NULL;
        struct berth_new_layer nl;
        int r;

        r = berth_ctr_lookup(s, o->container, &c, err);
        if (r < 0)
                return r;
        r = berth_commit_config(c, o, &ch, err);
        /* the new blob is nobody's until the image records it: keep gc away from it */
        if (r >= 0)
                r = berth_store_lease(s, &lease, err);
        if (r >= 0)
                r = commit_layer(s, runroot, c, o->pause, &b, err);
        nl = (struct berth_new_layer){.blob = b.digest,
                                      .media_type = BERTH_MT_OCI_LAYER_GZIP,
                                      .size = b.size,
                                      .diff_id = b.diff_id};
        if (r >= 0)
                r = berth_store_image_create(s, c->image, &nl, 1, &ch, NULL, o->name, ret_id, err);
        berth_ctr_free(c);
        return r < 0 ? berth_error_prefix(err, "commit %s", QUOTE(o->container)) : 0;
}
