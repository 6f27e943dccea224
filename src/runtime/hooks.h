/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "base/error.h"
#include "spec/spec.h"

/*
 * Runs each hook in order: posix_spawn of path with args (NULL: just the path) and env (NULL: an
 * empty environment), the container state JSON on its stdin (written before the hook starts, so
 * a hook that does not read it neither blocks us nor makes us die of SIGPIPE), killed with SIGKILL
 * after `timeout` seconds (0: no limit) and always reaped. A hook that exits non-zero, dies from a
 * signal or times out is an error naming its index, the hook kind and path (runc's words first):
 *   error running hook #1 (createRuntime, /usr/bin/foo): exited with status 3          (-EIO)
 *   error running hook #0 (poststop, /bin/x): killed by signal 11 (SIGSEGV: segmentation fault)
 *   error running hook #0 (poststart, /bin/slow): timed out after 2 s             (-ETIMEDOUT)
 *   error running hook #0 (prestart, /bin/nope): exec: No such file or directory  (-errno)
 * Stops at the first failure, except for poststart and poststop hooks, whose failures the spec
 * makes warnings: each is logged ("<message>, continuing"), the next hook runs, and the result is
 * 0. The hook's stdout/stderr are the caller's; every other fd is closed, and its signal mask and
 * dispositions are reset. The hooks start in `cwd` (NULL, or a directory that cannot be opened:
 * the caller's working directory); runc runs the runtime's hooks in the bundle and
 * createContainer in the rootfs.
 */
int berth_hooks_run(int kind, const struct berth_hook_list *hooks, const char *state_json,
                    const char *cwd, struct berth_error **err);
