/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth diff CONTAINER: the container's changes to its image (changes.h), docker's "A /x" lines.
 *
 * berth commit [-a AUTHOR] [-m MSG] [-c CHANGE]... [--pause=false] CONTAINER [REPO[:TAG]]: the
 * container's upper dir as a new gzip'ed layer on top of its image, which keeps the container's
 * Env, Cmd, Entrypoint, WorkingDir and User (then the -c lines apply). A running container is
 * frozen while its upper dir is read, unless --pause=false. Prints the new image's id.
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "berth.h"
#include "image/blobstore.h"
#include "image/changes.h"
#include "runtime/container.h"
#include "engine/engine.h"
#include "image/image-archive.h"
#include "image/imageref.h"
#include "image/imagestore.h"
#include "image/manifest.h"
#include "base/util.h"

/* ---- diff ---------------------------------------------------------------------------------- */

static const struct berth_cmd_spec diff_spec = {
    .name = "diff",
    .usage = "diff CONTAINER",
    .summary = "Inspect changes to files or directories on a container's filesystem",
    .min_args = 1,
    .max_args = 1,
};

static int print_diff(struct berth_global *g, const char *what, struct berth_error **err)
{
        struct berth_store *s;
        struct berth_ctr *c = NULL;
        struct berth_change *v = NULL;
        _autofree_ char *upper = NULL;
        _autostrv_ char **lowers = NULL;
        size_t n = 0;
        int r;

        r = berth_global_store(g, &s, err);
        if (r >= 0)
                r = berth_ctr_lookup(s, what, &c, err);
        if (r < 0)
                return r;
        upper = berth_ctr_upper(c);
        lowers = berth_ctr_lowers(s, c);
        r = berth_changes(upper, (const char *const *) lowers, &v, &n, err);
        berth_ctr_free(c);
        if (r < 0)
                return berth_error_prefix(err, "diff %s", QUOTE(what));
        for (size_t i = 0; i < n; i++)
                printf("%c %s\n", v[i].kind, v[i].path);
        berth_changes_free(v, n);
        return 0;
}

static int cmd_diff(struct berth_global *g, int argc, char **argv)
{
        _autoerr_ struct berth_error *e = NULL;
        struct berth_args a = {0};
        int rc = 0;

        if (!berth_cmd_args(&diff_spec, argc, argv, &a, &rc))
                return rc;
        if (print_diff(g, a.pos[0], &e) < 0)
                rc = berth_print_error(e);
        berth_args_clear(&a);
        return rc;
}

const struct berth_cmd berth_cmd_diff = {
    "diff", "Inspect changes to files or directories on a container's filesystem", cmd_diff};

/* ---- commit -------------------------------------------------------------------------------- */

enum { F_AUTHOR, F_CHANGE, F_MESSAGE, F_PAUSE };

static const struct berth_flag commit_flags[] = {
    [F_AUTHOR] = {"author", 'a', BERTH_FLAG_VALUE, "string",
                  "Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")"},
    [F_CHANGE] = {"change", 'c', BERTH_FLAG_LIST, "list",
                  "Apply Dockerfile instruction to the created image"},
    [F_MESSAGE] = {"message", 'm', BERTH_FLAG_VALUE, "string", "Commit message"},
    [F_PAUSE] = {"pause", 'p', BERTH_FLAG_BOOL, NULL,
                 "Pause container during commit (default true)"},
};

static const struct berth_cmd_spec commit_spec = {
    .name = "commit",
    .usage = "commit [OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
    .summary = "Create a new image from a container's changes",
    .flags = commit_flags,
    .n_flags = ARRAY_SIZE(commit_flags),
    .min_args = 1,
    .max_args = 2,
};

struct commit_opts {
        const char *container, *name; /* name: REPO[:TAG] as given, or NULL */
        const char *author, *message;
        char *const *changes;
        bool pause;
};

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

/* REPO[:TAG] normalized ("x" -> docker.io/library/x:latest); a digest cannot be committed to. */
static int commit_name(const char *raw, char **ret, struct berth_error **err)
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

/* The container's config, then each -c line on top; author, comment and created_by for the
 * history entry. */
static int commit_change(const struct berth_ctr *c, const struct commit_opts *o,
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
static int commit_layer(struct berth_global *g, struct berth_store *s, const struct berth_ctr *c,
                        bool pause, struct new_blob *b, struct berth_error **err)
{
        _autofree_ char *upper = berth_ctr_upper(c);
        _autoclose_ int fd = -EBADF;
        int r;

        r = layer_tmpfile(berth_store_root(s), &fd, err);
        if (r < 0)
                return r;
        r = diff_paused(upper, g->runroot, c->id, pause, fd, b, err);
        if (r < 0)
                return r;
        if (lseek(fd, 0, SEEK_SET) < 0)
                return berth_error_set(err, errno, "seek the layer tar");
        r = berth_blobstore_put_fd(berth_store_blobs(s), fd, b->digest, b->size, NULL, err);
        return r < 0 ? berth_error_prefix(err, "store layer %s", b->digest) : 0;
}

static int commit(struct berth_global *g, const struct commit_opts *o, char **ret_id,
                  struct berth_error **err)
{
        _cleanup_(berth_config_change_clear) struct berth_config_change ch = {0};
        _cleanup_(new_blob_clear) struct new_blob b = {0};
        _autofree_ char *name = NULL;
        _autoclose_ int lease = -EBADF;
        struct berth_store *s;
        struct berth_ctr *c = NULL;
        struct berth_new_layer nl;
        int r;

        r = commit_name(o->name, &name, err);
        if (r >= 0)
                r = berth_global_store(g, &s, err);
        if (r >= 0)
                r = berth_ctr_lookup(s, o->container, &c, err);
        if (r < 0)
                return r;
        r = commit_change(c, o, &ch, err);
        /* the new blob is nobody's until the image records it: keep gc away from it */
        if (r >= 0)
                r = berth_store_lease(s, &lease, err);
        if (r >= 0)
                r = commit_layer(g, s, c, o->pause, &b, err);
        nl = (struct berth_new_layer){.blob = b.digest,
                                      .media_type = BERTH_MT_OCI_LAYER_GZIP,
                                      .size = b.size,
                                      .diff_id = b.diff_id};
        if (r >= 0)
                r = berth_store_image_create(s, c->image, &nl, 1, &ch, NULL, name, ret_id, err);
        berth_ctr_free(c);
        return r < 0 ? berth_error_prefix(err, "commit %s", QUOTE(o->container)) : 0;
}

static int cmd_commit(struct berth_global *g, int argc, char **argv)
{
        _autoerr_ struct berth_error *e = NULL;
        _autofree_ char *id = NULL;
        struct berth_args a = {0};
        struct commit_opts o;
        int rc = 0;

        if (!berth_cmd_args(&commit_spec, argc, argv, &a, &rc))
                return rc;
        o = (struct commit_opts){
            .container = a.pos[0],
            .name = a.n_pos > 1 ? a.pos[1] : NULL,
            .author = a.values[F_AUTHOR],
            .message = a.values[F_MESSAGE],
            .changes = a.lists[F_CHANGE],
            .pause = !a.values[F_PAUSE] || berth_args_bool(&a, F_PAUSE),
        };
        if (commit(g, &o, &id, &e) < 0)
                rc = berth_print_error(e);
        else
                printf("%s\n", id);
        berth_args_clear(&a);
        return rc;
}

const struct berth_cmd berth_cmd_commit = {
    "commit", "Create a new image from a container's changes", cmd_commit};
