/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * CVE-2019-5736: every process the runtime puts in a container (the init, an exec child) is a
 * clone of the runtime and runs the runtime's binary until its execve; a program in the image
 * that starts with "#!/proc/self/exe" even runs the runtime again inside the container. A process
 * there that opens /proc/PID/exe of one of them, and reopens it for writing once it is free,
 * would overwrite the host's binary. So the runtime never clones into a container from its
 * binary as installed: before that, it re-executes itself from a read-only view of it.
 *
 *   1. an internal overlayfs mount (fsopen + fsmount, attached nowhere) whose top layer is the
 *      binary's directory and which has no upper layer: nothing can write through it, and
 *      unlike a read-only bind mount it cannot be made writable again. One mount and one
 *      execve; no copy. Needs CAP_SYS_ADMIN.
 *   2. otherwise, a sealed memfd copy (F_SEAL_WRITE etc.), as runc and crun do.
 *
 * A binary already on a read-only mount, or already a sealed memfd, is used as it is.
 */

#include <stdbool.h>

#include "base/error.h"

/*
 * Makes sure this process runs from a read-only view of its binary, re-executing it (same argv,
 * same environment, same fds) if not; on success of the re-exec it does not return. scratch_dir
 * is an existing directory of the runtime's that does not contain the binary's directory nor lie
 * inside it (the state root): overlayfs needs a second, empty-or-not, lower layer. Returns 0 when
 * already sealed, -errno when neither way worked ("seal the runtime binary (CVE-2019-5736): ...").
 */
int berth_exe_seal(char *const *argv, const char *scratch_dir, struct berth_error **err);

/* Whether /proc/self/exe cannot be opened for writing through any path: on a read-only mount
 * (the overlay view, or a read-only installation) or a memfd sealed against writes. */
bool berth_exe_is_sealed(void);

/* For create and exec, before they clone anything into a container: -EPERM when the binary is
 * not sealed ("... call berth_exe_seal() first"), so that no front end can forget it. */
int berth_exe_check_sealed(struct berth_error **err);
