/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Unpacking one image layer (an OCI/docker layer tar, plain, gzip or zstd) into a directory that
 * becomes an overlayfs lower dir. Whiteouts become overlayfs whiteouts: ".wh.NAME" -> a 0/0
 * character device NAME; ".wh..wh..opq" -> the directory gets trusted.overlay.opaque="y".
 * Nothing is ever written outside the target: "..", absolute names, symlinks (or chains of them)
 * leading out, and hardlinks to outside are refused with an error naming the entry, and the
 * target is left as the caller must then remove it (berth_layer_unpack unpacks into a fresh
 * directory that the caller renames into place only on success).
 */

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"

struct berth_layer_opts {
        bool allow_devices;   /* create block/char device nodes from the tar (root only) */
        bool skip_devices;    /* else leave them out (counted in devices_skipped) instead of
                                 failing with EPERM: `berth import` of a root filesystem */
        uint64_t max_bytes;   /* refuse a layer whose files add up to more (0: 64 GiB) */
        uint64_t max_entries; /* refuse more entries than this (0: 10 million) */
};

struct berth_layer_stats {
        uint64_t entries, bytes, whiteouts, opaque_dirs;
        uint64_t devices_skipped; /* block and character devices left out (skip_devices) */
};

/* Unpacks the tar stream read from fd into the existing, empty directory at dirfd. */
int berth_layer_unpack(int fd, int dirfd, const struct berth_layer_opts *o,
                       struct berth_layer_stats *ret_stats, struct berth_error **err);

/* The same, for a stream that may be compressed (gzip, zstd, ... detected from its bytes), while
 * the sha256 of the uncompressed tar stream (the layer's diff id) is computed in the same pass:
 * "sha256:<hex>" (malloc'ed) in ret_diff_id. The caller compares it with the expected diff id. */
int berth_layer_unpack_digest(int fd, int dirfd, const struct berth_layer_opts *o,
                              char **ret_diff_id, struct berth_layer_stats *ret_stats,
                              struct berth_error **err);
