/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "base/error.h"

/* A signal given as a number, or a name with or without "SIG" (any case), RTMIN+n and RTMAX-n
 * (glibc's SIGRTMIN, as docker and podman count), and the aliases IOT, POLL, CLD: berth-oci kill
 * and the engine's kill/stop take the same. -EINVAL: unknown signal "FOO". */
int berth_signal_parse(const char *s, int *ret, struct berth_error **err);
