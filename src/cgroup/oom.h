/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * OOM kills in a container's memory cgroup, for `events`:
 *
 *   cgroup v1  an eventfd registered through the cgroup's cgroup.event_control for its
 *              memory.oom_control: the kernel signals it each time the cgroup runs out of memory
 *              (before the victim is killed), and once more when the cgroup is removed.
 *   cgroup v2  inotify on the cgroup's memory.events; the kernel updates it after an OOM kill (the
 *              notification may trail the kill by ~10 ms: cgroup_file_notify() rate-limits).
 *
 * The counts come from "oom_kill N" in memory.oom_control (v1) or memory.events (v2).
 */

#include <stdint.h>

#include "base/error.h"

struct berth_cgroup;
struct berth_oom_watch;

/* The OOM kills in the cgroup so far. -ENOENT when the host has no memory controller for it or the
 * cgroup is gone; errors name the file ("cgroup /berth/web: read memory.events: ..."). */
int berth_oom_kills(struct berth_cgroup *cg, uint64_t *ret, struct berth_error **err);

/* Starts watching cg for OOM events. The watcher keeps its own reference to the cgroup directory,
 * so cg may be freed afterwards. Errors name the file ("cgroup /berth/web: write "5 6" to
 * cgroup.event_control: ..."). */
int berth_oom_watch_open(struct berth_cgroup *cg, struct berth_oom_watch **ret,
                         struct berth_error **err);

/* The fd to poll for POLLIN (owned by the watcher). */
int berth_oom_watch_fd(const struct berth_oom_watch *w);

/* Drains the watcher's fd without blocking and sets *ret_n to the OOM events since the last call
 * (v1: the kernel's notifications; v2: how much oom_kill grew), 0 if none. Call it after POLLIN,
 * and once more before giving up on the container, to catch a trailing v2 notification.
 * -ENOENT: the cgroup was removed (no more events will come). */
int berth_oom_watch_read(struct berth_oom_watch *w, uint64_t *ret_n, struct berth_error **err);

void berth_oom_watch_free(struct berth_oom_watch *w);
static inline void berth_oom_watch_freep(struct berth_oom_watch **w)
{
        berth_oom_watch_free(*w);
        *w = NULL;
}
#define _autooomwatch_ __attribute__((cleanup(berth_oom_watch_freep)))
