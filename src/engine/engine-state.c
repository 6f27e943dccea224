/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pause, unpause and rename (engine-state.h): what changes a container without starting or
 * stopping it.
 */
#include <jansson.h>

#include "base/util.h"
#include "engine/engine-events.h"
#include "engine/engine-state.h"
#include "engine/engine.h"
#include "runtime/container.h"

static int set_paused(struct berth_ctr *c, const char *runroot, bool pause,
                      struct berth_error **err)
{
        _autocontainer_ struct berth_container *lc = NULL;
        int r;

        r = berth_container_load(runroot, c->id, &lc, err);
        if (r >= 0)
                r = pause ? berth_container_pause(lc, err) : berth_container_resume(lc, err);
        if (r < 0)
                return r;
        c->paused = pause;
        berth_event_emit(NULL, pause ? "pause" : "unpause", c, NULL);
        return 0;
}

int berth_ctr_pause(struct berth_ctr *c, const char *runroot, struct berth_error **err)
{
        berth_ctr_refresh(c, runroot);
        if (streq_ptr(c->status, "restarting"))
                return berth_error_setx(err, EINVAL,
                                        "Container %s is restarting, wait until the container is "
                                        "running",
                                        c->id);
        if (!streq_ptr(c->status, "running"))
                return berth_error_setx(err, EINVAL, "Container %s is not running", c->id);
        if (c->paused)
                return berth_error_setx(err, EALREADY, "Container %s is already paused", c->id);
        return set_paused(c, runroot, true, err);
}

int berth_ctr_unpause(struct berth_ctr *c, const char *runroot, struct berth_error **err)
{
        berth_ctr_refresh(c, runroot);
        if (!c->paused)
                return berth_error_setx(err, EINVAL, "Container %s is not paused", c->id);
        return set_paused(c, runroot, false, err);
}

/* Under berth_ctr_lock: want is free (else -EEXIST), and the record of id as it is now. */
static int claim_name(struct berth_store *s, const char *id, const char *want,
                      struct berth_ctr **ret, struct berth_error **err)
{
        struct berth_ctr **v = NULL;
        size_t n = 0;
        int r;

        r = berth_ctr_list(s, &v, &n, err);
        for (size_t i = 0; r >= 0 && i < n; i++)
                if (streq(v[i]->name, want) && !streq(v[i]->id, id))
                        r = berth_error_setx(err, EEXIST,
                                             "Error when allocating new name: Conflict. The "
                                             "container name \"/%s\" is already in use by "
                                             "container \"%s\". You have to remove (or rename) "
                                             "that container to be able to reuse that name.",
                                             want, v[i]->id);
        for (size_t i = 0; r >= 0 && i < n; i++)
                if (streq(v[i]->id, id)) {
                        *ret = steal_ptr(&v[i]);
                        break;
                }
        if (r >= 0 && !*ret)
                r = berth_error_setx(err, ENOENT, "no such container: %s", id);
        berth_ctrs_free(v, n);
        return r;
}

int berth_ctr_rename(struct berth_store *s, const char *what, const char *new_name,
                     struct berth_error **err)
{
        _cleanup_(berth_ctr_freep) struct berth_ctr *c = NULL, *now = NULL;
        const char *want = new_name[0] == '/' ? new_name + 1 : new_name;
        _autofree_ char *slashed = xasprintf("/%s", want), *old = NULL;
        _autoclose_ int lock = -EBADF;
        int r;

        if (!*what || !*want)
                return berth_error_setx(err, EINVAL, "Neither old nor new names may be empty");
        r = berth_ctr_lookup(s, what, &c, err);
        if (r < 0)
                return r;
        if (streq(c->name, want))
                return berth_error_setx(err, EINVAL,
                                        "Renaming a container with the same name as its current "
                                        "name");
        if (berth_ctr_name_validate(slashed, err) < 0)
                return berth_error_prefix(err, "Error when allocating new name");
        r = berth_ctr_lock(c, &lock, err);
        if (r >= 0)
                r = claim_name(s, c->id, want, &now, err);
        if (r < 0 || !now)
                return r < 0 ? r : -ENOENT;
        old = xasprintf("/%s", now->name);
        free(now->name);
        now->name = xstrdup(want);
        r = berth_ctr_save(now, err);
        if (r < 0)
                return r;
        berth_event_emit(NULL, "rename", now, (const char *const[]){"oldName", old, NULL});
        return 0;
}
