/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * `berth cp`: files between a container (running or not) and the host, or a tar stream, with
 * docker's rules (its CLI's CopyInfoSourcePath/CopyInfoDestinationPath/PrepareArchiveCopy and its
 * daemon's ContainerArchivePath/ContainerExtractToDir):
 *
 *   SRC a file:  DEST missing -> a file DEST; DEST missing and ending in "/" -> "no such
 *                directory"; DEST a file -> overwritten; DEST a directory -> DEST/basename(SRC)
 *   SRC a dir:   DEST missing -> DEST made, SRC's contents in it; DEST a file -> "cannot copy
 *                directory"; DEST a directory -> DEST/basename(SRC), or with SRC ending in "/."
 *                the contents of SRC in DEST
 *   "-":         a tar stream: out, SRC archived under its basename ("d/", "d/a"; "./" for
 *                "/."); in, extracted into DEST, which must be a directory
 *
 * Paths in the container are taken from its "/"; every one is resolved inside its root
 * (openat2 RESOLVE_IN_ROOT, engine/cp-tree.h): an absolute symlink or ".." in the container
 * never leads to the host, also when the container swaps one in during the copy. A symlink SRC
 * is copied as a symlink, unless -L; a symlink DEST in the container is followed (inside it).
 * Ownership: files copied into the container keep their uid/gid (the host files' or the
 * archive's; with -a, the container's User when it has one); files copied out belong to the
 * caller (with -a, they keep the container's uid/gid). Modes and mtimes are kept.
 *
 * The copy runs in a child process in a mount namespace of its own: a running container's root
 * is its overlay as mounted at <dir>/rootfs (a copy, so the container's exit can unmount it
 * meanwhile); a stopped one's overlay is mounted there for the copy only, and goes with the
 * namespace, even when berth is killed; its start lock (<dir>/start.lock), held shared meanwhile,
 * makes a `start` wait for the copy rather than mount the same upper dir twice. /etc/hostname,
 * /etc/hosts and /etc/resolv.conf are the container's (bound from <dir> as in the container), as
 * docker shows them.
 */

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"

struct berth_store;
struct berth_ctr;

struct berth_cp_opts {
        const char *container; /* the container as the user named it (messages, the summary) */
        const char *ctr_path;  /* the path in the container, as given ("/tmp/x", "tmp/x/.") */
        const char *host_path; /* the local path as given, or "-": a tar stream on stream_fd */
        int stream_fd;         /* "-": read (into the container) or written (out of it) */
        bool to_container;
        bool follow_link; /* -L: a symlink SRC is copied as what it points to */
        bool archive;     /* -a: keep uid/gid (see above) */
};

struct berth_cp_result {
        uint64_t bytes; /* the tar's size, docker's "Successfully copied 2.05kB" */
        char *dest;     /* docker's summary's destination: "/abs/path" or "CONTAINER:/path" */
};

void berth_cp_result_clear(struct berth_cp_result *r);

/*
 * Copies per o, docker's way (above). Errors are docker's messages: "Could not find the file
 * /x in container c1" (-ENOENT), "cannot copy directory", "no such directory", "destination
 * "c1:/f" must be a directory", "invalid output path: directory "/x" does not exist", "extraction
 * point is not a directory", ""../x" is outside of "/tmp"".
 */
int berth_ctr_cp(struct berth_store *s, const struct berth_ctr *c, const struct berth_cp_opts *o,
                 struct berth_cp_result *ret, struct berth_error **err);

/* docker's splitCpArg: "CTR:PATH" -> container and path; a local path (absolute, starting with
 * ".", or without ":") -> *ret_ctr NULL. *ret_ctr and *ret_path are malloc'ed. */
void berth_cp_split_arg(const char *arg, char **ret_ctr, char **ret_path);
