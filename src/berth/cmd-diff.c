/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth diff CONTAINER: the container's changes to its image (engine-commit.h), docker's "A /x"
 * lines.
 *
 * berth commit [-a AUTHOR] [-m MSG] [-c CHANGE]... [--pause=false] CONTAINER [REPO[:TAG]]: the
 * container's upper dir as a new gzip'ed layer on top of its image, which keeps the container's
 * Env, Cmd, Entrypoint, WorkingDir and User (then the -c lines apply). A running container is
 * frozen while its upper dir is read, unless --pause=false. Prints the new image's id. The
 * engine does the work (engine-commit.h).
 */
#include "berth.h"
#include "base/util.h"
#include "engine/engine-commit.h"
#include "image/changes.h"

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
        struct berth_change *v = NULL;
        size_t n = 0;
        int r;

        r = berth_global_store(g, &s, err);
        if (r >= 0)
                r = berth_ctr_diff(s, what, &v, &n, err);
        if (r < 0)
                return r;
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

/* The name first (a bad one fails before the store is opened), then the engine. */
static int commit(struct berth_global *g, struct berth_commit_opts *o, const char *raw_name,
                  char **ret_id, struct berth_error **err)
{
        _autofree_ char *name = NULL;
        struct berth_store *s;
        int r;

        r = berth_commit_name(raw_name, &name, err);
        if (r >= 0)
                r = berth_global_store(g, &s, err);
        if (r < 0)
                return r;
        o->name = name;
        return berth_ctr_commit(s, g->runroot, o, ret_id, err);
}

static int cmd_commit(struct berth_global *g, int argc, char **argv)
{
        _autoerr_ struct berth_error *e = NULL;
        _autofree_ char *id = NULL;
        struct berth_args a = {0};
        struct berth_commit_opts o;
        int rc = 0;

        if (!berth_cmd_args(&commit_spec, argc, argv, &a, &rc))
                return rc;
        o = (struct berth_commit_opts){
            .container = a.pos[0],
            .author = a.values[F_AUTHOR],
            .message = a.values[F_MESSAGE],
            .changes = a.lists[F_CHANGE],
            .pause = !a.values[F_PAUSE] || berth_args_bool(&a, F_PAUSE),
        };
        if (commit(g, &o, a.n_pos > 1 ? a.pos[1] : NULL, &id, &e) < 0)
                rc = berth_print_error(e);
        else
                printf("%s\n", id);
        berth_args_clear(&a);
        return rc;
}

const struct berth_cmd berth_cmd_commit = {
    "commit", "Create a new image from a container's changes", cmd_commit};
