/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * pause, unpause and rename of the engine's containers (engine-state.c), with docker's errors
 * and events.
 */

#include "base/error.h"

struct berth_store;
struct berth_ctr;

/*
 * Freezes every process of a running container (libberth's freezer on its runtime state in
 * runroot). Nothing is recorded: berth_ctr_refresh finds the frozen cgroup (c->paused), so a
 * container thawed or ended by other means is never shown paused. -EINVAL: "Container ID is not
 * running" (also when restarting: "Container ID is restarting, wait until the container is
 * running"); -EALREADY: "Container ID is already paused".
 */
int berth_ctr_pause(struct berth_ctr *c, const char *runroot, struct berth_error **err);

/* Thaws a paused container. -EINVAL: "Container ID is not paused". */
int berth_ctr_unpause(struct berth_ctr *c, const char *runroot, struct berth_error **err);

/*
 * Renames the container `what` (running or not) to new_name (a leading '/' is dropped), docker's
 * checks in docker's order: "Neither old nor new names may be empty", "no such container: x"
 * (-ENOENT, berth_ctr_lookup's), "Renaming a container with the same name as its current
 * name", "Error when allocating new name: Invalid container name (/x), ..." (-EINVAL), "Error
 * when allocating new name: Conflict. The container name "/x" is already in use by container "ID".
 * You have to remove (or rename) that container to be able to reuse that name." (-EEXIST). The
 * record is re-read and rewritten under berth_ctr_lock (the lock of every name check), so two
 * renames, or a rename and a run --name, never take one name twice.
 */
int berth_ctr_rename(struct berth_store *s, const char *what, const char *new_name,
                     struct berth_error **err);
