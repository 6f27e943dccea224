/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth rm [-f] CONTAINER...: each container's runtime state (killed first with -f), its
 * mount and its directory; prints each name or id as given. A running container needs -f.
 */
#include <signal.h>
#include <unistd.h>

#include "berth.h"
#include "engine/engine.h"
#include "base/util.h"

enum { F_FORCE, F_VOLUMES };

static const struct berth_flag flags[] = {
    [F_FORCE] = {"force", 'f', BERTH_FLAG_BOOL, NULL,
                 "Force the removal of a running container (uses SIGKILL)"},
    [F_VOLUMES] = {"volumes", 'v', BERTH_FLAG_BOOL, NULL,
                   "Remove anonymous volumes associated with the container (none yet)"},
};

static const struct berth_cmd_spec spec = {
    .name = "rm",
    .usage = "rm [OPTIONS] CONTAINER [CONTAINER...]",
    .summary = "Remove one or more containers",
    .flags = flags,
    .n_flags = ARRAY_SIZE(flags),
    .min_args = 1,
    .max_args = -1,
};

/* docker's rm -f of a running container under a monitor: SIGKILL, its end recorded by the
 * monitor (the "die" event), then the removal ("destroy"). true when it is gone already (--rm:
 * its monitor removed it). */
static bool killed_by_its_monitor(struct berth_global *g, struct berth_store *s,
                                  struct berth_ctr **c)
{
        berth_ctr_refresh(*c, g->runroot);
        if (!(*c)->detached || !streq_ptr((*c)->status, "running") ||
            !berth_ctr_monitor_alive(*c) || berth_ctr_kill(*c, g->runroot, SIGKILL, true, NULL) < 0)
                return false;
        if (berth_ctr_wait(s, c, g->runroot, NULL) == -ENOENT)
                return true;
        if (!(*c)->auto_remove)
                return false;
        berth_ctr_wait_monitor(*c);
        return access((*c)->dir, F_OK) < 0 && errno == ENOENT;
}

static int remove_one(struct berth_global *g, const char *what, bool force,
                      struct berth_error **err)
{
        struct berth_store *s;
        struct berth_ctr *c = NULL;
        int r;

        r = berth_global_store(g, &s, err);
        if (r >= 0)
                r = berth_ctr_lookup(s, what, &c, err);
        if (r < 0)
                return r;
        if (!force || !killed_by_its_monitor(g, s, &c))
                r = berth_ctr_remove(c, g->runroot, force, err);
        berth_ctr_free(c);
        return r;
}

static int cmd_rm(struct berth_global *g, int argc, char **argv)
{
        struct berth_args a = {0};
        int rc = 0;

        if (!berth_cmd_args(&spec, argc, argv, &a, &rc))
                return rc;
        rc = 0;
        for (int i = 0; i < a.n_pos; i++) {
                _autoerr_ struct berth_error *e = NULL;

                if (remove_one(g, a.pos[i], berth_args_bool(&a, F_FORCE), &e) < 0)
                        rc = berth_print_failure(e);
                else
                        printf("%s\n", a.pos[i]);
                fflush(stdout);
        }
        berth_args_clear(&a);
        return rc;
}

const struct berth_cmd berth_cmd_rm = {"rm", "Remove one or more containers", cmd_rm};
