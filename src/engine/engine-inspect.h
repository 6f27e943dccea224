/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * What `inspect` and `ps` show of a container, docker's way (engine-inspect.c): its state name,
 * its sizes, and inspect's JSON object (berth_ctr_inspect_json in engine.h: without the sizes).
 */

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"

struct berth_store;
struct berth_ctr;
struct json_t;

/* docker's State.Status ("StateString"): "paused" or "restarting" (both count as running),
 * "running", "dead", "created" (never started), "exited". c as berth_ctr_refresh left it. */
const char *berth_ctr_state_name(const struct berth_ctr *c);

/* Running as docker's State.Running: running, paused or restarting. */
bool berth_ctr_is_up(const struct berth_ctr *c);

/* The health status of the record's "health" ("starting", "healthy", "unhealthy"), NULL when
 * the container has no healthcheck. */
const char *berth_ctr_health_status(const struct berth_ctr *c);

/* docker's SizeRw (bytes of the files in its upper dir, each inode once) and SizeRootFs (those
 * plus its image's unpacked layers, when the image is still in the store). */
int berth_ctr_size(struct berth_store *s, const struct berth_ctr *c, int64_t *ret_rw,
                   int64_t *ret_rootfs, struct berth_error **err);

/* docker inspect's object; with size, SizeRw and SizeRootFs after GraphDriver (`inspect -s`;
 * a size that cannot be read is left out). A new reference. */
struct json_t *berth_ctr_inspect_json_sized(struct berth_store *s, const struct berth_ctr *c,
                                            bool size);
