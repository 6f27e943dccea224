/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Mounting a container's root: one overlayfs whose lower dirs are the image's unpacked layers
 * (layers/<chain-id>/diff, shared read-only by every container of the image) and whose upper and
 * work dirs are the container's private copy-on-write sheet (containers/<id>/upper, work).
 *
 * The mount always carries "index=off,redirect_dir=off,metacopy=off" (see overlay.c for why):
 * the upper dir then only ever holds whole files, 0/0 whiteouts and opaque directories, so it
 * can be diffed into a layer tar, and the same lower dirs can back many mounts at once.
 */

#include "base/error.h"

/* The kernel's limit on lower dirs in one overlayfs (OVL_MAX_STACK, fs/overlayfs/params.h;
 * "overlay: too many lower directories, limit is 500" on Linux 6.18). */
#define BERTH_OVERLAY_MAX_LOWERS 500

/*
 * How many lower dirs of lower's length one overlay with these upper and work dirs can stack on
 * this kernel: BERTH_OVERLAY_MAX_LOWERS where overlayfs takes "lowerdir+" (Linux 6.8); before,
 * as many as fit in the one-page option string of mount(2) with the paths relative to their
 * common parent (what berth_overlay_mount_classic() does), "volatile" included.
 */
unsigned berth_overlay_max_lowers(const char *lower, const char *upper, const char *work);
/* The mount(2) part of it, for tests on any kernel. */
unsigned berth_overlay_max_lowers_classic(const char *lower, const char *upper, const char *work);

/*
 * Mounts overlayfs on target. lowers is a NULL-terminated list of absolute directory paths, top
 * layer first (1 to BERTH_OVERLAY_MAX_LOWERS of them); upper and work are absolute, empty-at-first
 * directories on one filesystem; target is an existing directory. The caller keeps ownership of
 * every string.
 *
 * Uses the new mount API with one "lowerdir+" per layer (Linux 6.8), so the number of layers is
 * not bounded by the one-page option string of mount(2). On older kernels it falls back to
 * berth_overlay_mount_classic().
 *
 * Returns 0, or -errno with err set to "mount overlay on TARGET: ...", naming the path at fault
 * where the kernel says which one ("lowerdir /x: No such file or directory"). Codes callers may
 * test: ENOENT / ENOTDIR (a missing dir), EINVAL (bad arguments, or dirs the kernel refuses),
 * E2BIG (too many layers, or paths too long for the mount(2) fallback), EPERM.
 */
int berth_overlay_mount(const char *const *lowers, const char *upper, const char *work,
                        const char *target, struct berth_error **err);

/* Flags of berth_overlay_mount_flags(). */
enum {
        /* "volatile" (Linux 5.10): no sync of the upper fs, not even at umount (saves ~10 ms on
         * a busy fs). For throw-away containers only: after a crash the upper dir cannot be
         * mounted again. */
        BERTH_OVERLAY_VOLATILE = 1u << 0,
};
int berth_overlay_mount_flags(const char *const *lowers, const char *upper, const char *work,
                              const char *target, unsigned flags, struct berth_error **err);

/*
 * The mount(2) fallback used before Linux 6.8, exported so that tests can run it on any kernel.
 * Same arguments and errors as berth_overlay_mount(). The "lowerdir=a:b:..." option string must fit
 * in one page: if the absolute paths do not, the paths are made relative to their deepest common
 * parent directory and the mount is made from there, which changes the process's working
 * directory for the duration of the call (not safe while other threads use relative paths).
 * Fails with E2BIG when even the relative string is too long.
 */
int berth_overlay_mount_classic(const char *const *lowers, const char *upper, const char *work,
                                const char *target, struct berth_error **err);

/*
 * Unmounts the overlay on target (not lazily: EBUSY tells the caller that something still uses
 * it). Returns 0, or -errno with err set to "umount TARGET: ..." (EINVAL: nothing mounted there).
 */
int berth_overlay_umount(const char *target, struct berth_error **err);
