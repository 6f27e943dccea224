/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth pause|unpause CONTAINER..., berth rename CONTAINER NEW_NAME: docker's commands
 * (engine/engine-state.h). pause and unpause print each container as given, or its error
 * (docker's "Container ID is not running", "... is already paused", "... is not paused"), and
 * exit 1 if any failed; rename prints nothing, and on a failure docker's two lines.
 */
#include "berth.h"
#include "base/util.h"
#include "engine/engine-state.h"
#include "engine/engine.h"

static const struct berth_cmd_spec pause_spec = {
    .name = "pause",
    .usage = "pause CONTAINER [CONTAINER...]",
    .summary = "Pause all processes within one or more containers",
    .min_args = 1,
    .max_args = -1,
};

static const struct berth_cmd_spec unpause_spec = {
    .name = "unpause",
    .usage = "unpause CONTAINER [CONTAINER...]",
    .summary = "Unpause all processes within one or more containers",
    .min_args = 1,
    .max_args = -1,
};

static const struct berth_cmd_spec rename_spec = {
    .name = "rename",
    .usage = "rename CONTAINER NEW_NAME",
    .summary = "Rename a container",
    .min_args = 2,
    .max_args = 2,
};

static int pause_one(struct berth_global *g, const char *what, void *userdata,
                     struct berth_error **err)
{
        _cleanup_(berth_ctr_freep) struct berth_ctr *c = NULL;
        bool pause = *(const bool *) userdata;
        struct berth_store *s;
        int r;

        r = berth_global_store(g, &s, err);
        if (r >= 0)
                r = berth_ctr_lookup(s, what, &c, err);
        if (r < 0)
                return r;
        return pause ? berth_ctr_pause(c, g->runroot, err) : berth_ctr_unpause(c, g->runroot, err);
}

static int run_pause(struct berth_global *g, int argc, char **argv,
                     const struct berth_cmd_spec *spec, bool pause)
{
        struct berth_args a = {0};
        int rc = 0;

        if (!berth_cmd_args(spec, argc, argv, &a, &rc))
                return rc;
        rc = berth_each(g, a.pos, a.n_pos, pause_one, &pause);
        berth_args_clear(&a);
        return rc;
}

static int cmd_pause(struct berth_global *g, int argc, char **argv)
{
        return run_pause(g, argc, argv, &pause_spec, true);
}

static int cmd_unpause(struct berth_global *g, int argc, char **argv)
{
        return run_pause(g, argc, argv, &unpause_spec, false);
}

static int cmd_rename(struct berth_global *g, int argc, char **argv)
{
        struct berth_args a = {0};
        _autoerr_ struct berth_error *e = NULL;
        struct berth_store *s;
        int rc = 0;

        if (!berth_cmd_args(&rename_spec, argc, argv, &a, &rc))
                return rc;
        if (berth_global_store(g, &s, &e) < 0 || berth_ctr_rename(s, a.pos[0], a.pos[1], &e) < 0) {
                rc = berth_print_failure(e);
                fprintf(stderr, BERTH_PROG ": failed to rename container named %s\n", a.pos[0]);
        }
        berth_args_clear(&a);
        return rc;
}

const struct berth_cmd berth_cmd_pause = {
    "pause", "Pause all processes within one or more containers", cmd_pause};
const struct berth_cmd berth_cmd_unpause = {
    "unpause", "Unpause all processes within one or more containers", cmd_unpause};
const struct berth_cmd berth_cmd_rename = {"rename", "Rename a container", cmd_rename};
