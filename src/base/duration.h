/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Go's durations, as docker's flags take and print them (--health-interval, --stop-timeout's
 * kin): "300ms", "1.5h", "2h45m", "-1s", "0"; units ns, us (µs, μs), ms, s, m, h.
 */

#include <stdint.h>

#include "base/error.h"

/* Go's time.ParseDuration into nanoseconds. -EINVAL with Go's messages: "time: invalid duration
 * "x"", "time: missing unit in duration "1"", "time: unknown unit "x" in duration "1x"". */
int berth_duration_parse(const char *s, int64_t *ret_ns, struct berth_error **err);

/* Go's Duration.String(): "1m30s", "500ms", "1.5s", "1h0m0s", "0s" (malloc'ed). */
char *berth_duration_format(int64_t ns);
