/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Shared by rootfs.c, devices.c and mount-opts.c; not part of the library's interface.
 * `what` / `dest` name the operation in traces and errors ("bind /src on /dev/null").
 */

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "runtime/rootfs.h"
#include "spec/spec.h"

/* MOUNT_ATTR_* to set and clear for the per-mount flags in f (the non-recursive ones). */
void berth_mount_flags_attrs(const struct berth_mount_flags *f, uint64_t *ret_set,
                             uint64_t *ret_clr);
/* "ro,nosuid,..." for traces and messages. */
const char *berth_mount_attrs_str(uint64_t set, char *buf, size_t size);

/* mount_setattr(2) on the mount whose root is fd. Clearing a flag the kernel locked (user
 * namespaces) keeps it, with a warning. */
int berth_mount_setattr(int fd, const char *what, uint64_t set, uint64_t clr, bool rec,
                        struct berth_error **err);
/* MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE, recursive with MS_REC; 0 does nothing. */
int berth_mount_propagate(int fd, const char *what, unsigned long propagation,
                          struct berth_error **err);
/* move_mount(2) of the detached mount mntfd onto dstfd. */
int berth_mount_attach(int mntfd, int dstfd, const char *what, struct berth_error **err);
/* Clones the mount at srcfd (recursively with f->rbind), sets f's flags on the copy, attaches it
 * on dstfd, then sets f's propagation. *ret_mnt (if not NULL) gets the new mount's fd. */
int berth_mount_bind(int srcfd, int dstfd, const struct berth_mount_flags *f, const char *what,
                     int *ret_mnt, struct berth_error **err);
/* The clone alone (open_tree OPEN_TREE_CLONE): a detached mount, fd in *ret_fd. */
int berth_mount_clone(int srcfd, bool rec, const char *what, int *ret_fd, struct berth_error **err);
/* berth_mount_bind() for a tree already cloned (by the runtime, on the host side). */
int berth_mount_bind_tree(int tree, int dstfd, const struct berth_mount_flags *f, const char *what,
                          struct berth_error **err);
/* mount(2) of a filesystem on dstfd through /proc/self/fd/N. */
int berth_mount_fs(const char *source, int dstfd, const char *type, unsigned long flags,
                   const char *data, const char *dest, struct berth_error **err);

/* An empty tmpfs with these MOUNT_ATTR_* on dstfd (fsopen + fsmount + move_mount). */
int berth_mount_empty_tmpfs(int dstfd, uint64_t attrs, const char *what, struct berth_error **err);

/* devices.c: default devices + linux.devices, /dev symlinks, /dev/ptmx (before pivot_root). */
int berth_devices_setup(const struct berth_spec *spec, const struct berth_rootfs_opts *o,
                        int rootfd, struct berth_error **err);
/* devices.c: validation of linux.devices (parent side). */
int berth_devices_validate(const struct berth_spec *spec, struct berth_error **err);
