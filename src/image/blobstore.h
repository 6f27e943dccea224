/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * A content-addressed store of blobs: <root>/blobs/sha256/<hex>. A blob is written to a
 * temporary file in the same directory while its sha256 is computed, checked against the
 * expected digest, fsync'ed and renamed into place: a reader never sees a partial or wrong blob,
 * and a crash leaves at most a temporary file that the next open of the store removes.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"

struct berth_blobstore;

/* "sha256:" + 64 lowercase hex digits. A well-formed digest of another algorithm ("sha512:...")
 * is -ENOTSUP naming it; anything else is -EINVAL naming the value. */
int berth_digest_validate(const char *digest, struct berth_error **err);

/* Opens (creating) the store under root. */
int berth_blobstore_open(const char *root, struct berth_blobstore **ret, struct berth_error **err);
void berth_blobstore_free(struct berth_blobstore *s);

/* Streams fd into the store; if expected is not NULL the content must match it (-EBADMSG:
 * "blob sha256:...: digest mismatch: got sha256:..."), and size, if >= 0, must match too
 * (-EBADMSG as well).
 * The computed digest is returned in ret_digest (malloc'ed) if not NULL. */
int berth_blobstore_put_fd(struct berth_blobstore *s, int fd, const char *expected, int64_t size,
                           char **ret_digest, struct berth_error **err);
/* The same from memory. */
int berth_blobstore_put(struct berth_blobstore *s, const void *data, size_t len,
                        const char *expected, char **ret_digest, struct berth_error **err);

/* Moves the complete file dirfd/name (for example a finished download) into the store: its
 * sha256 is computed and checked against expected (may be NULL) and size (if >= 0), it is
 * fsync'ed, made read-only and renamed into place (copied if it is on another filesystem). On
 * success name is gone; on -EBADMSG (mismatch, as berth_blobstore_put_fd) it is left for the
 * caller to remove. The computed digest is returned in ret_digest (malloc'ed) if not NULL. */
int berth_blobstore_put_file(struct berth_blobstore *s, int dirfd, const char *name,
                             const char *expected, int64_t size, char **ret_digest,
                             struct berth_error **err);
/* Opens a blob read-only (O_CLOEXEC); -ENOENT if absent. */
int berth_blobstore_open_blob(struct berth_blobstore *s, const char *digest, int *ret_fd,
                              struct berth_error **err);
bool berth_blobstore_has(struct berth_blobstore *s, const char *digest);
int berth_blobstore_remove(struct berth_blobstore *s, const char *digest, struct berth_error **err);
