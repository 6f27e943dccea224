/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The container's filesystem, built by its init inside the new mount namespace:
 *
 *   berth_rootfs_prepare()   rootfs propagation, bind rootfs onto itself, each of spec->mounts in
 *                            order, default devices + linux.devices, /dev symlinks, /dev/pts ptmx
 *                            (everything that happens before the createContainer hooks)
 *   berth_rootfs_pivot()     pivot_root (or chroot with no_pivot), detach the old root, the
 *                            configured rootfsPropagation on the new "/", create process.cwd
 *   berth_rootfs_finalize()  read-only tmpfs and /dev mounts,
 *                            root.readonly, readonlyPaths, maskedPaths (runc's order). Sysctls
 *                            must be written before: /proc/sys is usually a readonlyPath.
 *
 * Mount destinations are resolved inside the rootfs without following any symlink out of it:
 * a destination whose path would leave the rootfs (through "..", or a symlink that climbs above
 * it) is an error naming the field: mounts[3].destination "/x": escapes the rootfs through symlink
 * "/x" -> "../../..". Absolute symlinks inside the rootfs are resolved relative to the rootfs, as
 * the kernel would after pivot_root.
 *
 * Needs the new mount API (open_tree, move_mount, mount_setattr: Linux 5.12); on older kernels
 * the first bind mount fails with ENOSYS and says so.
 */

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "spec/spec.h"

struct berth_rootfs_opts {
        const char *rootfs; /* absolute host path of the rootfs */
        bool no_pivot;      /* --no-pivot: chroot instead of pivot_root */
        bool in_userns;     /* new user namespace: bind host devices instead of mknod */
        bool host_mount_ns; /* no mount namespace in linux.namespaces: the runtime's is
                             * inherited (the spec's rule), so nothing is mounted and the
                             * rootfs is entered with chroot */
        const char *bundle; /* relative mounts[].source are relative to it (runc); NULL: the
                             * init's working directory */
        /* A bind source the init may not open (EACCES/EPERM: in a user namespace, under a
         * directory only the host's root may enter) is asked of the runtime, which clones it on
         * the host side (berth_rootfs_host_source) and hands over the detached mount. NULL: no
         * such help. */
        int (*host_source)(void *data, size_t i, int *ret_tree, struct berth_error **err);
        void *host_source_data;
};

/* Validates what can be checked before clone (mount options, destinations absolute, device
 * types and paths), so `create` fails early with field names. Without a mount namespace of its
 * own, a container may not ask for what would be mounted in the host's: mounts, maskedPaths,
 * readonlyPaths, root.readonly (-EINVAL, naming the field). */
int berth_rootfs_validate(const struct berth_spec *spec, struct berth_error **err);

int berth_rootfs_prepare(const struct berth_spec *spec, const struct berth_rootfs_opts *o,
                         struct berth_error **err);
int berth_rootfs_pivot(const struct berth_spec *spec, const struct berth_rootfs_opts *o,
                       struct berth_error **err);
int berth_rootfs_finalize(const struct berth_spec *spec, const struct berth_rootfs_opts *o,
                          struct berth_error **err);

/* In the runtime (the host's mount namespace and privileges): a detached clone of mounts[i]'s
 * source (recursive for rbind) with the propagation the rootfs gets (rslave unless configured),
 * so that nothing mounted under it in the container propagates back to the host. An idmapped
 * mount (idmap/ridmap, or id mappings of its own) is always made here: mount_setattr(2) needs
 * CAP_SYS_ADMIN over the source's filesystem; it is mapped with the mount's mappings, else
 * with the user namespace of the container's init (pid `init`). */
int berth_rootfs_host_source(const struct berth_spec *spec, const char *bundle, size_t i,
                             pid_t init, int *ret_tree, struct berth_error **err);

/* After pivot_root: binds the pty slave (the fd itself, never its name, which a symlink under
 * /dev/pts could redirect: CVE-2025-52565) on /dev/console, which must be a regular file or a
 * character device of the container's /dev (made empty if missing; a symlink is refused). */
int berth_rootfs_bind_console(int slave, const char *name, struct berth_error **err);

/*
 * Parsed mount options (exposed for tests), runc's table: ro/rw, [no]suid, [no]dev, [no]exec,
 * sync/async, dirsync, remount, [no]mand, [no]atime, [no]diratime, [no]relatime,
 * [no]strictatime, [no]lazytime, [no]acl, [no]iversion, silent/loud, [no]symfollow, defaults,
 * bind, rbind, the propagation names, the recursive flags of mount_setattr(2) ("rro", "rnosuid",
 * ...), idmap/ridmap, tmpcopyup (recorded, not supported yet). Anything else is fs data. The
 * recursive flags apply to filesystem mounts too.
 * MS_BIND and MS_REC are not in `flags`: see bind/rbind.
 */
struct berth_mount_flags {
        unsigned long flags;       /* MS_* to set on mount */
        unsigned long clear;       /* MS_* explicitly cleared ("rw", "suid", "dev", "exec", ...) */
        unsigned long propagation; /* MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE (| MS_REC); the
                                    * last propagation option wins */
        bool bind, rbind;
        bool idmap, ridmap;    /* "idmap" / "ridmap" (recursive): an idmapped bind mount */
        bool tmpcopyup;        /* "tmpcopyup": not supported yet (validate warns) */
        uint64_t rec_attr_set; /* MOUNT_ATTR_* applied recursively ("rro", "rnosuid", ...) */
        uint64_t rec_attr_clr; /* MOUNT_ATTR_* cleared recursively ("rrw", "rsuid", ...) */
        char *data;            /* remaining options joined by ',' (NULL if none) */
};
int berth_mount_parse_options(char *const *options, struct berth_mount_flags *ret,
                              struct berth_error **err);
void berth_mount_flags_clear(struct berth_mount_flags *f);
