/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "spec/spec.h"

/* Whether `cap` is in the calling thread's effective set (capget(2)); false if capget fails. */
bool berth_cap_is_effective(int cap);

/*
 * Drops from the bounding set every capability up to berth_cap_last_cap() that is not in
 * `caps->set[BERTH_CAP_BOUNDING]` (PR_CAPBSET_DROP, one call each). Needs CAP_SETPCAP in the
 * effective set: call it before switching user.
 * Errors: -EPERM "drop CAP_X from the bounding set: Operation not permitted (needs CAP_SETPCAP)".
 */
int berth_caps_drop_bounding(const struct berth_caps *caps, struct berth_error **err);

/*
 * In the container's init, after berth_caps_drop_bounding() and berth_process_set_user() (which
 * keeps the permitted set across the uid change): sets effective/permitted/inheritable with
 * capset(2), then clears the ambient set and raises each ambient capability that the kernel
 * allows (one not in both permitted and inheritable is left out, said in the --debug trace).
 * Sets that were absent in the config are empty, as in runc.
 * Errors: -EPERM from capset when a set asks for more than the process has.
 */
int berth_caps_apply(const struct berth_caps *caps, struct berth_error **err);

/* Only the capset(2) of berth_caps_apply(): the last step before execve when the seccomp filter
 * needed CAP_SYS_ADMIN (berth_process_exec), which must not touch the ambient set again. */
int berth_caps_set(const struct berth_caps *caps, struct berth_error **err);
