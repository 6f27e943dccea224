/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/error.h"

#define _cleanup_(f) __attribute__((cleanup(f)))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static inline void freep(void *p)
{
        int saved = errno;

        free(*(void **) p);
        *(void **) p = NULL;
        errno = saved;
}
#define _autofree_ _cleanup_(freep)

static inline void closep(int *fd)
{
        int saved = errno;

        if (*fd >= 0)
                close(*fd);
        *fd = -EBADF;
        errno = saved;
}
#define _autoclose_ _cleanup_(closep)

static inline void fclosep(FILE **f)
{
        int saved = errno;

        if (*f)
                fclose(*f);
        *f = NULL;
        errno = saved;
}
#define _autofclose_ _cleanup_(fclosep)

/* NULL-terminated string vectors. */
void strv_free(char **v);
static inline void strv_freep(char ***v)
{
        strv_free(*v);
        *v = NULL;
}
#define _autostrv_ _cleanup_(strv_freep)
size_t strv_length(char *const *v);
/* Appends s (taken) to the NULL-terminated *v of *n entries. */
void strv_push(char ***v, size_t *n, char *s);
bool strv_contains(char *const *v, const char *s);

static inline int steal_fd(int *fd)
{
        int r = *fd;

        *fd = -EBADF;
        return r;
}

#define steal_ptr(pp)                                                                              \
        ({                                                                                         \
                __typeof__(*(pp)) _p = *(pp);                                                      \
                *(pp) = NULL;                                                                      \
                _p;                                                                                \
        })

static inline bool streq(const char *a, const char *b)
{
        return strcmp(a, b) == 0;
}

static inline bool streq_ptr(const char *a, const char *b)
{
        return (a && b) ? strcmp(a, b) == 0 : a == b;
}

static inline bool startswith(const char *s, const char *prefix)
{
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* asprintf() that aborts on OOM: allocation failure is not a recoverable error for a CLI. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xstrdup(const char *s);
void *xcalloc(size_t n, size_t size);
void *xreallocarray(void *p, size_t n, size_t size);

/* write(2) until all is written or an error; -1 with errno on failure. */
int write_all(int fd, const void *buf, size_t len);

/* Reads fd to EOF (at most max bytes; 0 means 64 MiB) into a NUL-terminated buffer. `what` names
 * it in errors: "read WHAT: ...", "read WHAT: larger than N bytes" (-EFBIG). */
int berth_read_fd(int fd, const char *what, size_t max, char **ret_buf, size_t *ret_len,
                  struct berth_error **err);

/* Reads a whole file (at most max bytes; 0 means 64 MiB) relative to dirfd into a NUL-terminated
 * buffer. Returns 0, or -errno with err set to "read PATH: ...". */
int berth_read_file_at(int dirfd, const char *path, size_t max, char **ret_buf, size_t *ret_len,
                       struct berth_error **err);

/* Opens path (O_WRONLY|O_CLOEXEC, no create) and writes the string. For /proc and /sys knobs.
 * Returns 0 or -errno, with err set to "write 'VALUE' to PATH: ...". */
int berth_write_file(const char *path, const char *value, struct berth_error **err);

/* Writes data to dirfd/name atomically: a temporary file in the same directory, fsync when
 * `durable`, then rename over name. */
int berth_write_file_atomic(int dirfd, const char *name, const void *data, size_t len,
                            unsigned mode, bool durable, struct berth_error **err);

/* Quotes a user-supplied string for a message: JSON escapes (a newline becomes \n, so a message
 * stays one line), cut with "..." at BERTH_QUOTE_MAX bytes. The buffer of QUOTE() lives until the
 * end of the enclosing statement: berth_error_setx(err, EINVAL, "bad id %s", QUOTE(id)). */
#define BERTH_QUOTE_MAX 160
const char *berth_quote(const char *s, char *buf);
#define QUOTE(s) berth_quote((s), (char[BERTH_QUOTE_MAX]){0})

/* Opens (creating it 0600, never through a symlink) the lock file dirfd/name and flock(2)s it with
 * op (LOCK_EX or LOCK_SH, | LOCK_NB), retrying on EINTR; the fd, held while locked, goes to
 * *ret_fd. Errors: "open NAME: ...", "flock NAME: ..."; -EWOULDBLOCK without a message when
 * LOCK_NB finds it taken (the caller's normal case). */
int berth_lock_file_at(int dirfd, const char *name, int op, int *ret_fd, struct berth_error **err);

/* The n bytes at data as 2n lowercase hex digits and a NUL in out (2n + 1 bytes). */
void berth_hex_encode(const void *data, size_t n, char *out);
/* Whether the n chars at s are all lowercase hex digits. */
bool berth_is_lower_hex(const char *s, size_t n);

/* Monotonic clock in microseconds. */
uint64_t berth_now_us(void);
/* The realtime clock in RFC 3339 with nanoseconds, UTC: "2026-11-29T19:50:01.123456789Z". */
char *berth_rfc3339_now(void);

/* Parses a decimal unsigned/signed integer that must use the whole string. -EINVAL/-ERANGE. */
int parse_u64(const char *s, uint64_t *ret);
int parse_i64(const char *s, int64_t *ret);

/* Removes dirfd/name and, if it is a directory, everything below it: *at() calls only, symlinks
 * are removed, never followed, and a directory on another filesystem (a mount point) is refused
 * with -EBUSY rather than emptied. A missing name is success. One fd is open per directory level
 * while it runs. Errors name the entry: "remove NAME/a/b: unlinkat: Permission denied". */
int berth_rm_rf_at(int dirfd, const char *name, struct berth_error **err);

/* Closes every fd of the calling process from `from` up, except those in keep[0..n) (unsorted;
 * negative entries and those below `from` are ignored): close_range(2) over the gaps, so the
 * cost does not grow with the fd limit. The container's init and exec children call it right
 * after clone, because a close-on-exec fd is still open while the runtime's own code runs inside
 * the container. */
void berth_close_fds_from(int from, const int *keep, size_t n);

/* Go's strconv.ParseBool, which both front ends' flag parsers follow (runc's urfave/cli, docker's
 * pflag): "true" or "false" (static strings), NULL for anything else. */
const char *berth_parse_go_bool(const char *v);
