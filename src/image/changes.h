/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * What a container changed: its overlay upper dir read against the image's lower dirs.
 * `berth diff` lists it (A added, C changed, D deleted, as docker: a changed file's parent
 * directories are listed as C); `berth commit` turns it into a layer tar, 0/0 whiteouts becoming
 * ".wh.NAME" and opaque directories ".wh..wh..opq".
 *
 * Both leave out what docker keeps in its "init layer": the empty directories and files that the
 * runtime makes as mount points (/proc, /sys, /dev, /dev/pts, /dev/shm, /dev/console,
 * /etc/hostname, /etc/hosts, /etc/resolv.conf) when the image lacks them, and a directory that
 * holds nothing else.
 */

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

struct berth_change {
        char kind;  /* 'A', 'C' or 'D' */
        char *path; /* absolute in the container: "/etc/motd" */
};

/* Lists the changes in upper against lowers (top first, NULL-terminated), sorted by path. */
int berth_changes(const char *upper, const char *const *lowers, struct berth_change **ret,
                  size_t *ret_n, struct berth_error **err);
void berth_changes_free(struct berth_change *c, size_t n);

/* Writes upper as a gzip'ed OCI layer tar to out_fd. Returns the diff id (sha256 of the tar),
 * the blob's digest (sha256 of what was written) and its size. Entries are sorted; ownership,
 * modes, mtimes, xattrs (but trusted.overlay.*), hardlinks, symlinks, devices are kept. */
int berth_layer_diff_write(const char *upper, int out_fd, char **ret_diff_id, char **ret_digest,
                           int64_t *ret_size, struct berth_error **err);
