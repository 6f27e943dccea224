/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * libarchive, loaded on first use rather than at every start of berth: linked, it and what it
 * brings (libxml2, ICU and libstdc++, nettle, lzma, ...) would load into every process, and a
 * `berth run` never reads a tar (bench/README.md: what that costs). layer.c, changes.c,
 * image-archive.c and image-save.c include this header instead of <archive.h>; their archive_*
 * calls go through the table (base/dlib.h) that berth_archive_load() fills.
 * To use a new libarchive function, add it to BERTH_ARCHIVE_FUNCS and below.
 */

#include <archive.h>
#include <archive_entry.h>

#include "base/dlib.h"
#include "base/error.h"

#define BERTH_ARCHIVE_FUNCS(X)                                                                     \
        X(archive_entry_atime)                                                                     \
        X(archive_entry_atime_is_set)                                                              \
        X(archive_entry_atime_nsec)                                                                \
        X(archive_entry_filetype)                                                                  \
        X(archive_entry_free)                                                                      \
        X(archive_entry_gid)                                                                       \
        X(archive_entry_hardlink)                                                                  \
        X(archive_entry_mtime)                                                                     \
        X(archive_entry_mtime_is_set)                                                              \
        X(archive_entry_mtime_nsec)                                                                \
        X(archive_entry_new)                                                                       \
        X(archive_entry_pathname)                                                                  \
        X(archive_entry_perm)                                                                      \
        X(archive_entry_rdevmajor)                                                                 \
        X(archive_entry_rdevminor)                                                                 \
        X(archive_entry_set_filetype)                                                              \
        X(archive_entry_set_gid)                                                                   \
        X(archive_entry_set_hardlink)                                                              \
        X(archive_entry_set_mtime)                                                                 \
        X(archive_entry_set_pathname)                                                              \
        X(archive_entry_set_perm)                                                                  \
        X(archive_entry_set_rdevmajor)                                                             \
        X(archive_entry_set_rdevminor)                                                             \
        X(archive_entry_set_size)                                                                  \
        X(archive_entry_set_symlink)                                                               \
        X(archive_entry_set_uid)                                                                   \
        X(archive_entry_size)                                                                      \
        X(archive_entry_size_is_set)                                                               \
        X(archive_entry_symlink)                                                                   \
        X(archive_entry_uid)                                                                       \
        X(archive_entry_xattr_add_entry)                                                           \
        X(archive_entry_xattr_next)                                                                \
        X(archive_entry_xattr_reset)                                                               \
        X(archive_errno)                                                                           \
        X(archive_error_string)                                                                    \
        X(archive_read_data)                                                                       \
        X(archive_read_data_block)                                                                 \
        X(archive_read_free)                                                                       \
        X(archive_read_new)                                                                        \
        X(archive_read_next_header)                                                                \
        X(archive_read_open)                                                                       \
        X(archive_read_open_fd)                                                                    \
        X(archive_read_support_filter_all)                                                         \
        X(archive_read_support_filter_gzip)                                                        \
        X(archive_read_support_filter_none)                                                        \
        X(archive_read_support_filter_zstd)                                                        \
        X(archive_read_support_format_gnutar)                                                      \
        X(archive_read_support_format_raw)                                                         \
        X(archive_read_support_format_tar)                                                         \
        X(archive_set_error)                                                                       \
        X(archive_write_add_filter_gzip)                                                           \
        X(archive_write_add_filter_none)                                                           \
        X(archive_write_close)                                                                     \
        X(archive_write_data)                                                                      \
        X(archive_write_free)                                                                      \
        X(archive_write_header)                                                                    \
        X(archive_write_new)                                                                       \
        X(archive_write_open)                                                                      \
        X(archive_write_open_fd)                                                                   \
        X(archive_write_set_bytes_in_last_block)                                                   \
        X(archive_write_set_filter_option)                                                         \
        X(archive_write_set_format_option)                                                         \
        X(archive_write_set_format_pax_restricted)                                                 \
        X(archive_write_set_format_raw)

BERTH_DLIB_TABLE(berth_archive_api, BERTH_ARCHIVE_FUNCS);
extern struct berth_archive_api berth_archive;

/* Loads libarchive once (thread-safe). -ELIBACC naming the library, the symbol and the Debian
 * package (base/dlib.h). Every public entry point that reads or writes a tar calls it first. */
int berth_archive_load(struct berth_error **err);

#define archive_entry_atime (*berth_archive.archive_entry_atime)
#define archive_entry_atime_is_set (*berth_archive.archive_entry_atime_is_set)
#define archive_entry_atime_nsec (*berth_archive.archive_entry_atime_nsec)
#define archive_entry_filetype (*berth_archive.archive_entry_filetype)
#define archive_entry_free (*berth_archive.archive_entry_free)
#define archive_entry_gid (*berth_archive.archive_entry_gid)
#define archive_entry_hardlink (*berth_archive.archive_entry_hardlink)
#define archive_entry_mtime (*berth_archive.archive_entry_mtime)
#define archive_entry_mtime_is_set (*berth_archive.archive_entry_mtime_is_set)
#define archive_entry_mtime_nsec (*berth_archive.archive_entry_mtime_nsec)
#define archive_entry_new (*berth_archive.archive_entry_new)
#define archive_entry_pathname (*berth_archive.archive_entry_pathname)
#define archive_entry_perm (*berth_archive.archive_entry_perm)
#define archive_entry_rdevmajor (*berth_archive.archive_entry_rdevmajor)
#define archive_entry_rdevminor (*berth_archive.archive_entry_rdevminor)
#define archive_entry_set_filetype (*berth_archive.archive_entry_set_filetype)
#define archive_entry_set_gid (*berth_archive.archive_entry_set_gid)
#define archive_entry_set_hardlink (*berth_archive.archive_entry_set_hardlink)
#define archive_entry_set_mtime (*berth_archive.archive_entry_set_mtime)
#define archive_entry_set_pathname (*berth_archive.archive_entry_set_pathname)
#define archive_entry_set_perm (*berth_archive.archive_entry_set_perm)
#define archive_entry_set_rdevmajor (*berth_archive.archive_entry_set_rdevmajor)
#define archive_entry_set_rdevminor (*berth_archive.archive_entry_set_rdevminor)
#define archive_entry_set_size (*berth_archive.archive_entry_set_size)
#define archive_entry_set_symlink (*berth_archive.archive_entry_set_symlink)
#define archive_entry_set_uid (*berth_archive.archive_entry_set_uid)
#define archive_entry_size (*berth_archive.archive_entry_size)
#define archive_entry_size_is_set (*berth_archive.archive_entry_size_is_set)
#define archive_entry_symlink (*berth_archive.archive_entry_symlink)
#define archive_entry_uid (*berth_archive.archive_entry_uid)
#define archive_entry_xattr_add_entry (*berth_archive.archive_entry_xattr_add_entry)
#define archive_entry_xattr_next (*berth_archive.archive_entry_xattr_next)
#define archive_entry_xattr_reset (*berth_archive.archive_entry_xattr_reset)
#define archive_errno (*berth_archive.archive_errno)
#define archive_error_string (*berth_archive.archive_error_string)
#define archive_read_data (*berth_archive.archive_read_data)
#define archive_read_data_block (*berth_archive.archive_read_data_block)
#define archive_read_free (*berth_archive.archive_read_free)
#define archive_read_new (*berth_archive.archive_read_new)
#define archive_read_next_header (*berth_archive.archive_read_next_header)
#define archive_read_open (*berth_archive.archive_read_open)
#define archive_read_open_fd (*berth_archive.archive_read_open_fd)
#define archive_read_support_filter_all (*berth_archive.archive_read_support_filter_all)
#define archive_read_support_filter_gzip (*berth_archive.archive_read_support_filter_gzip)
#define archive_read_support_filter_none (*berth_archive.archive_read_support_filter_none)
#define archive_read_support_filter_zstd (*berth_archive.archive_read_support_filter_zstd)
#define archive_read_support_format_gnutar (*berth_archive.archive_read_support_format_gnutar)
#define archive_read_support_format_raw (*berth_archive.archive_read_support_format_raw)
#define archive_read_support_format_tar (*berth_archive.archive_read_support_format_tar)
#define archive_set_error (*berth_archive.archive_set_error)
#define archive_write_add_filter_gzip (*berth_archive.archive_write_add_filter_gzip)
#define archive_write_add_filter_none (*berth_archive.archive_write_add_filter_none)
#define archive_write_close (*berth_archive.archive_write_close)
#define archive_write_data (*berth_archive.archive_write_data)
#define archive_write_free (*berth_archive.archive_write_free)
#define archive_write_header (*berth_archive.archive_write_header)
#define archive_write_new (*berth_archive.archive_write_new)
#define archive_write_open (*berth_archive.archive_write_open)
#define archive_write_open_fd (*berth_archive.archive_write_open_fd)
#define archive_write_set_bytes_in_last_block (*berth_archive.archive_write_set_bytes_in_last_block)
#define archive_write_set_filter_option (*berth_archive.archive_write_set_filter_option)
#define archive_write_set_format_option (*berth_archive.archive_write_set_format_option)
#define archive_write_set_format_pax_restricted                                                    \
        (*berth_archive.archive_write_set_format_pax_restricted)
#define archive_write_set_format_raw (*berth_archive.archive_write_set_format_raw)

/* Cleanup functions for the three libarchive objects berth owns (_cleanup_(archive_read_freep)). */
static inline void archive_read_freep(struct archive **a)
{
        if (*a)
                archive_read_free(*a);
        *a = NULL;
}

static inline void archive_write_freep(struct archive **a)
{
        if (*a)
                archive_write_free(*a);
        *a = NULL;
}

static inline void archive_entry_freep(struct archive_entry **e)
{
        if (*e)
                archive_entry_free(*e);
        *e = NULL;
}
