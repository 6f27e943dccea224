/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth cp [-a] [-L] [-q] CONTAINER:SRC DEST|-, berth cp [-a] [-L] [-q] SRC|- CONTAINER:DEST:
 * docker's cp (engine/engine-cp.h has its rules). Every failure is exit 1, as docker's CLI (its
 * RunE errors); on a terminal (stdout), "Successfully copied 2.05kB to DEST" on stderr.
 */
#include <unistd.h>

#include "berth.h"
#include "engine/engine-cp.h"
#include "engine/engine.h"
#include "base/util.h"

enum { F_ARCHIVE, F_FOLLOW_LINK, F_QUIET };

static const struct berth_flag flags[] = {
    [F_ARCHIVE] = {"archive", 'a', BERTH_FLAG_BOOL, NULL,
                   "Archive mode (copy all uid/gid information)"},
    [F_FOLLOW_LINK] = {"follow-link", 'L', BERTH_FLAG_BOOL, NULL,
                       "Always follow symbol link in SRC_PATH"},
    [F_QUIET] = {"quiet", 'q', BERTH_FLAG_BOOL, NULL,
                 "Suppress progress output during copy. Progress output is automatically "
                 "suppressed if no terminal is attached"},
};

static const struct berth_cmd_spec spec = {
    .name = "cp",
    .usage = "cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n"
             "       berth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
    .summary = "Copy files/folders between a container and the local filesystem\n\n"
               "Use '-' as the source to read a tar archive from stdin\n"
               "and extract it to a directory destination in a container.\n"
               "Use '-' as the destination to stream a tar archive of a\n"
               "container source to stdout.",
    .flags = flags,
    .n_flags = ARRAY_SIZE(flags),
    .min_args = 2,
    .max_args = 2,
};

struct cp_args {
        char *src_ctr, *src_path, *dst_ctr, *dst_path;
};

static void cp_args_clear(struct cp_args *c)
{
        free(c->src_ctr);
        free(c->src_path);
        free(c->dst_ctr);
        free(c->dst_path);
}

/* docker's runCopy: which way, or its messages. */
static int direction(const struct berth_args *a, struct cp_args *c, struct berth_error **err)
{
        if (!*a->pos[0])
                return berth_error_setx(err, EINVAL, "source can not be empty");
        if (!*a->pos[1])
                return berth_error_setx(err, EINVAL, "destination can not be empty");
        berth_cp_split_arg(a->pos[0], &c->src_ctr, &c->src_path);
        berth_cp_split_arg(a->pos[1], &c->dst_ctr, &c->dst_path);
        if (c->src_ctr && c->dst_ctr)
                return berth_error_setx(err, EINVAL, "copying between containers is not supported");
        if (!c->src_ctr && !c->dst_ctr)
                return berth_error_setx(err, EINVAL, "must specify at least one container source");
        return 0;
}

static int copy(struct berth_global *g, const struct berth_args *a, bool *ret_summary,
                struct berth_cp_result *ret, struct berth_error **err)
{
        _cleanup_(cp_args_clear) struct cp_args c = {0};
        _cleanup_(berth_ctr_freep) struct berth_ctr *ctr = NULL;
        struct berth_cp_opts o;
        struct berth_store *s;
        int r = direction(a, &c, err);

        if (r >= 0)
                r = berth_global_store(g, &s, err);
        if (r >= 0)
                r = berth_ctr_lookup(s, c.src_ctr ? c.src_ctr : c.dst_ctr, &ctr, err);
        if (r < 0)
                return r;
        o = (struct berth_cp_opts){
            .container = c.src_ctr ? c.src_ctr : c.dst_ctr,
            .ctr_path = c.src_ctr ? c.src_path : c.dst_path,
            .host_path = c.src_ctr ? c.dst_path : c.src_path,
            .stream_fd = c.src_ctr ? STDOUT_FILENO : STDIN_FILENO,
            .to_container = c.dst_ctr != NULL,
            .follow_link = berth_args_bool(a, F_FOLLOW_LINK),
            .archive = berth_args_bool(a, F_ARCHIVE),
        };
        /* docker: progress only on a terminal, none for a tar on stdout */
        *ret_summary = !berth_args_bool(a, F_QUIET) && isatty(STDOUT_FILENO) &&
                       !(c.src_ctr && streq(c.dst_path, "-"));
        fflush(stdout);
        return berth_ctr_cp(s, ctr, &o, ret, err);
}

static int cmd_cp(struct berth_global *g, int argc, char **argv)
{
        _cleanup_(berth_cp_result_clear) struct berth_cp_result res = {0};
        _autoerr_ struct berth_error *e = NULL;
        struct berth_args a = {0};
        bool summary = false;
        int rc = 0;

        if (!berth_cmd_args(&spec, argc, argv, &a, &rc))
                return rc;
        if (copy(g, &a, &summary, &res, &e) < 0) {
                rc = berth_print_failure(e);
        } else if (summary) {
                _autofree_ char *size = berth_human_size_prec(res.bytes, 3);

                fprintf(stderr, "Successfully copied %s to %s\n", size, res.dest);
        }
        berth_args_clear(&a);
        return rc;
}

const struct berth_cmd berth_cmd_cp = {
    "cp", "Copy files/folders between a container and the local filesystem", cmd_cp};
