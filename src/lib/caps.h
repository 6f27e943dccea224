/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdint.h>

#include "error.h"
#include "spec.h"

/* "CAP_SYS_ADMIN" -> 21. Returns the number, or -EINVAL for an unknown name (also for names this
 * kernel does not have: above the last capability in /proc/sys/kernel/cap_last_cap). */
int berth_cap_from_name(const char *name);
/* 21 -> "CAP_SYS_ADMIN" (static string), NULL if unknown. */
const char *berth_cap_name(int cap);
/* The highest capability number the running kernel knows (cached). */
int berth_cap_last_cap(void);

/*
 * In the container's init, after the user and group switch (called with PR_SET_KEEPCAPS set by
 * the caller): drops everything not in the bounding set, then sets effective/permitted/
 * inheritable, then raises ambient. Sets that were absent in the config are empty, as in runc.
 */
int berth_caps_apply(const struct berth_caps *caps, struct berth_error **err);

/* Drops the bounding set to `caps->set[BERTH_CAP_BOUNDING]` (needs CAP_SETPCAP; call before
 * switching user). */
int berth_caps_drop_bounding(const struct berth_caps *caps, struct berth_error **err);
