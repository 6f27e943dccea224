/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>

#include "base/error.h"

/*
 * Resolves `path` (absolute or relative, interpreted inside rootfd) component by component with
 * O_PATH|O_NOFOLLOW opens and readlinkat, treating rootfd as "/": absolute symlinks restart at
 * rootfd, ".." never goes above rootfd. Any step that would go above rootfd is -EXDEV with a
 * message naming the symlink. At most 40 symlinks (-ELOOP).
 * With BERTH_RESOLVE_MKDIR, missing directories are created (0755); with BERTH_RESOLVE_MKFILE the
 * last component is created as an empty file (0644) when missing; with BERTH_RESOLVE_MKDIR alone
 * the last component is created as a directory.
 * Returns an O_PATH|O_CLOEXEC fd of the final component.
 */
enum {
        BERTH_RESOLVE_MKDIR = 1 << 0,
        BERTH_RESOLVE_MKFILE = 1 << 1,
        BERTH_RESOLVE_NOFOLLOW_LAST = 1 << 2, /* do not follow a symlink in the last component */
};
int berth_resolve_in_root(int rootfd, const char *path, int flags, int *ret_fd,
                          struct berth_error **err);

/* "/proc/self/fd/N" in the caller's buffer, for mount(2) on an O_PATH fd. */
#define BERTH_FD_PATH_MAX 32
const char *berth_fd_path(int fd, char buf[BERTH_FD_PATH_MAX]);

/* Whether path, cleaned lexically as Go's filepath.Clean ("//dev/./pts/.." is "/dev"), is
 * `clean`. False for a NULL path. */
bool berth_path_is(const char *path, const char *clean);
