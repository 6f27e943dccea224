/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "error.h"
#include "spec.h"

/*
 * Runs each hook in order: fork, exec path with args and env, the container state JSON on its
 * stdin, killed with SIGKILL after `timeout` seconds. A hook that exits non-zero, dies from a
 * signal or times out is an error naming the hook kind, its index and path:
 *   createRuntime hook #1 (/usr/bin/foo): exited with status 3
 *   poststart hook #0 (/bin/slow): timed out after 2 s
 * Stops at the first failure. The hook's stdout/stderr are the caller's.
 */
int berth_hooks_run(int kind, const struct berth_hook_list *hooks, const char *state_json,
                    struct berth_error **err);
