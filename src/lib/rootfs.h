/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The container's filesystem, built by its init inside the new mount namespace:
 *
 *   berth_rootfs_prepare()   rootfs propagation, bind rootfs onto itself, each of spec->mounts in
 *                            order, default devices + linux.devices, /dev symlinks, /dev/pts ptmx
 *                            (everything that happens before the createContainer hooks)
 *   berth_rootfs_pivot()     pivot_root (or chroot with no_pivot), detach the old root
 *   berth_rootfs_finalize()  maskedPaths, readonlyPaths, root.readonly, final propagation
 *
 * Mount destinations are resolved inside the rootfs without following any symlink out of it:
 * a destination whose path would leave the rootfs (through "..", or a symlink that climbs above
 * it) is an error naming the field: mounts[3].destination "/x": escapes the rootfs through symlink "/x" -> "../../..".
 * Absolute symlinks inside the rootfs are resolved relative to the rootfs, as the kernel would
 * after pivot_root.
 */

#include <stdbool.h>

#include "error.h"
#include "spec.h"

struct berth_rootfs_opts {
        const char *rootfs;   /* absolute host path of the rootfs */
        bool no_pivot;        /* --no-pivot: chroot instead of pivot_root */
        bool in_userns;       /* new user namespace: bind host devices instead of mknod */
        const char *console;  /* host path of the pty slave to bind on /dev/console, or NULL */
};

/* Validates what can be checked before clone (mount options, destinations absolute, device
 * types and paths), so `create` fails early with field names. */
int berth_rootfs_validate(const struct berth_spec *spec, struct berth_error **err);

int berth_rootfs_prepare(const struct berth_spec *spec, const struct berth_rootfs_opts *o,
                         struct berth_error **err);
int berth_rootfs_pivot(const struct berth_spec *spec, const struct berth_rootfs_opts *o,
                       struct berth_error **err);
int berth_rootfs_finalize(const struct berth_spec *spec, const struct berth_rootfs_opts *o,
                          struct berth_error **err);

/* Parsed mount options (exposed for tests). */
struct berth_mount_flags {
        unsigned long flags;       /* MS_* to set on mount */
        unsigned long clear;       /* MS_* explicitly cleared ("rw", "suid", "dev", "exec", ...) */
        unsigned long propagation; /* MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (| MS_REC) */
        bool bind, rbind;
        char *data;                /* remaining options joined by ',' (NULL if none) */
};
int berth_mount_parse_options(char *const *options, struct berth_mount_flags *ret,
                              struct berth_error **err);
void berth_mount_flags_clear(struct berth_mount_flags *f);
