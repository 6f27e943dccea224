/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The copy machinery of `berth cp` (engine-cp.c): a file tree read through directory fds, a tar
 * stream read or written (libarchive, image/archive-dl.h), and entries written below a directory
 * the kernel keeps them in. A source hands each entry to a sink:
 *
 *   cp_walk()    a tree, from an fd of its parent: every node opened O_PATH|O_NOFOLLOW relative
 *                to the directory fd above it and read only through that fd (a directory
 *                reopened from it, a file through /proc/self/fd/N after fstat said "regular": a
 *                device or FIFO swapped in is never opened), so a symlink swapped in by the
 *                container during the walk is copied as a symlink, never followed;
 *   cp_untar()   a tar stream (plain, gzip or zstd);
 *   cp_sink_tar()  a tar stream (pax, docker's names: "d/", "d/a", "./a");
 *   cp_sink_dir()  files below a directory: each entry's parent resolved from a root fd with
 *                openat2(RESOLVE_IN_ROOT) (a container's root: its symlinks, absolute or "..",
 *                resolve inside it) or RESOLVE_BENEATH (the host: a symlink leading out is an
 *                error), the entry itself made with *at() calls on that parent's fd, never
 *                following its last component (CVE-2018-15664, CVE-2019-14271).
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "base/error.h"

struct cp_xattr {
        char *name;
        void *value;
        size_t len;
};

/* One node of the copy. */
struct cp_entry {
        const char *name; /* as it goes into the tar: "d", "d/a", ".", "./a", "/", "/bin" */
        mode_t mode;      /* type and permission bits */
        uid_t uid;
        gid_t gid;
        int64_t size; /* regular files (0 for a hard link) */
        struct timespec mtime;
        dev_t rdev;
        char *symlink;  /* a symlink's target */
        char *hardlink; /* a hard link: the name of an earlier entry of the same inode */
        struct cp_xattr *xattrs;
        size_t n_xattrs;
};

/* Reads the data of the entry being put (regular files): bytes read, 0 at its end, or -errno. */
typedef ssize_t (*cp_read_fn)(void *userdata, void *buf, size_t len);

struct cp_sink;

/* A tar stream written to fd (pax, mtimes in whole seconds, no padding after the end, as
 * docker's Go writer). */
int cp_sink_tar(int fd, struct cp_sink **ret, struct berth_error **err);

enum cp_owner {
        CP_OWNER_NONE,  /* the writer's own (files copied to the host, docker's NoLchown) */
        CP_OWNER_KEEP,  /* the entry's uid and gid */
        CP_OWNER_FIXED, /* uid and gid below (cp -a into a container with a User) */
};

struct cp_dir_opts {
        bool in_root;    /* RESOLVE_IN_ROOT (rootfd is a container's root); else RESOLVE_BENEATH */
        const char *dir; /* the extraction directory below rootfd ("" for rootfd itself) */
        const char *shown; /* how messages name that directory ("/tmp/d"; NULL: "/" + dir) */
        enum cp_owner owner;
        uid_t uid;
        gid_t gid;
};

/* Entries written below o->dir of rootfd (which the caller keeps open), docker's Untar with
 * NoOverwriteDirNonDir: a directory never replaces a non-directory nor the reverse ("cannot
 * overwrite directory "/tmp/x" with non-directory "/tmp""), other existing entries are replaced,
 * missing parents made (0755), names leaving the directory refused (""../x" is outside of
 * "/tmp""), an entry named as the directory itself ("." "./") skipped. Directory times are set by
 * cp_sink_finish(). */
int cp_sink_dir(int rootfd, const struct cp_dir_opts *o, struct cp_sink **ret,
                struct berth_error **err);

int cp_sink_put(struct cp_sink *k, const struct cp_entry *e, cp_read_fn rd, void *userdata,
                struct berth_error **err);
/* Ends the tar (its last 1024 zero bytes) or sets the times of the directories written. */
int cp_sink_finish(struct cp_sink *k, struct berth_error **err);
/* The size of the entries put as a tar (written, or what docker's would take): "Successfully
 * copied 2.05kB". */
uint64_t cp_sink_bytes(const struct cp_sink *k);
void cp_sink_free(struct cp_sink *k);
static inline void cp_sink_freep(struct cp_sink **k)
{
        cp_sink_free(*k);
        *k = NULL;
}

/*
 * Puts the tree at base below the directory pfd (base NULL: pfd itself, a directory) into k,
 * named top ("d" -> "d", "d/a"; "." -> ".", "./a"; "/" -> "/", "/a"), children in byte order.
 * Hard links become links to the first name of their inode; sockets are left out, as docker's
 * archiver does; security.capability is kept. A node that vanishes during the walk is left out
 * (not the first). -ENOENT when base does not exist.
 */
int cp_walk(int pfd, const char *base, const char *top, struct cp_sink *k,
            struct berth_error **err);

/* Puts every entry of the tar stream on fd (plain, gzip or zstd) into k. */
int cp_untar(int fd, struct cp_sink *k, struct berth_error **err);
