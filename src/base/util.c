/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>

#include "base/syscalls.h"
#include "base/util.h"

void strv_free(char **v)
{
        if (!v)
                return;
        for (char **p = v; *p; p++)
                free(*p);
        free(v);
}

size_t strv_length(char *const *v)
{
        size_t n = 0;

        while (v && v[n])
                n++;
        return n;
}

static void __attribute__((noreturn)) oom(void)
{
        static const char msg[] = "berth: out of memory\n";

        (void) !write(STDERR_FILENO, msg, sizeof(msg) - 1);
        abort();
}

char *xasprintf(const char *fmt, ...)
{
        char *s;
        va_list ap;

        va_start(ap, fmt);
        if (vasprintf(&s, fmt, ap) < 0)
                oom();
        va_end(ap);
        return s;
}

char *xstrdup(const char *s)
{
        char *r;

        if (!s)
                return NULL;
        r = strdup(s);
        if (!r)
                oom();
        return r;
}

void *xcalloc(size_t n, size_t size)
{
        void *p = calloc(n ? n : 1, size ? size : 1);

        if (!p)
                oom();
        return p;
}

void *xreallocarray(void *p, size_t n, size_t size)
{
        void *r = reallocarray(p, n ? n : 1, size ? size : 1);

        if (!r)
                oom();
        return r;
}

int write_all(int fd, const void *buf, size_t len)
{
        const char *p = buf;

        while (len > 0) {
                ssize_t n = write(fd, p, len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -1;
                }
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

int berth_read_fd(int fd, const char *what, size_t max, char **ret_buf, size_t *ret_len,
                  struct berth_error **err)
{
        _autofree_ char *buf = NULL;
        size_t len = 0, cap = 0;

        if (max == 0)
                max = 64u << 20;
        for (;;) {
                ssize_t n;

                if (len + 1 >= cap) {
                        cap = cap ? cap * 2 : 4096;
                        buf = xreallocarray(buf, cap, 1);
                }
                n = read(fd, buf + len, cap - len - 1);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return berth_error_set(err, errno, "read %s", what);
                }
                if (n == 0)
                        break;
                len += (size_t) n;
                if (len > max)
                        return berth_error_setx(err, EFBIG, "read %s: larger than %zu bytes", what,
                                                max);
        }
        buf[len] = '\0';
        *ret_buf = steal_ptr(&buf);
        if (ret_len)
                *ret_len = len;
        return 0;
}

int berth_read_file_at(int dirfd, const char *path, size_t max, char **ret_buf, size_t *ret_len,
                       struct berth_error **err)
{
        _autoclose_ int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

        if (fd < 0)
                return berth_error_set(err, errno, "open %s", path);
        return berth_read_fd(fd, path, max, ret_buf, ret_len, err);
}

int berth_write_file(const char *path, const char *value, struct berth_error **err)
{
        _autoclose_ int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);

        if (fd < 0)
                return berth_error_set(err, errno, "open %s", path);
        if (write_all(fd, value, strlen(value)) < 0)
                return berth_error_set(err, errno, "write '%s' to %s", value, path);
        return 0;
}

int berth_write_file_atomic(int dirfd, const char *name, const void *data, size_t len,
                            unsigned mode, bool durable, struct berth_error **err)
{
        _autofree_ char *tmp = xasprintf(".%s.%d.tmp", name, (int) getpid());
        _autoclose_ int fd = -EBADF;

        /* A new file, never one left there (a crashed writer with our pid, or a FIFO someone
         * planted, which an open without O_EXCL would block on). */
        fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0 && errno == EEXIST && unlinkat(dirfd, tmp, 0) == 0)
                fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return berth_error_set(err, errno, "create %s", tmp);
        if (write_all(fd, data, len) < 0 || (durable && fsync(fd) < 0)) {
                int e = errno;

                unlinkat(dirfd, tmp, 0);
                return berth_error_set(err, e, "write %s", tmp);
        }
        if (renameat(dirfd, tmp, dirfd, name) < 0) {
                int e = errno;

                unlinkat(dirfd, tmp, 0);
                return berth_error_set(err, e, "rename %s to %s", tmp, name);
        }
        return 0;
}

int berth_lock_file_at(int dirfd, const char *name, int op, int *ret_fd, struct berth_error **err)
{
        _autoclose_ int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

        if (fd < 0)
                return berth_error_set(err, errno, "open %s", name);
        while (flock(fd, op) < 0) {
                if (errno == EINTR)
                        continue;
                if (errno == EWOULDBLOCK)
                        return -EWOULDBLOCK; /* the caller's normal case: no message */
                return berth_error_set(err, errno, "flock %s", name);
        }
        *ret_fd = steal_fd(&fd);
        return 0;
}

void berth_hex_encode(const void *data, size_t n, char *out)
{
        static const char digits[] = "0123456789abcdef";
        const unsigned char *b = data;

        for (size_t i = 0; i < n; i++) {
                out[2 * i] = digits[b[i] >> 4];
                out[2 * i + 1] = digits[b[i] & 0xf];
        }
        out[2 * n] = '\0';
}

bool berth_is_lower_hex(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

uint64_t berth_now_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

char *berth_rfc3339_now(void)
{
        struct timespec ts;
        struct tm tm;
        char buf[64];

        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
        return xasprintf("%s.%09ldZ", buf, ts.tv_nsec);
}

int parse_u64(const char *s, uint64_t *ret)
{
        char *end;
        unsigned long long v;

        if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno)
                return -errno;
        if (*end)
                return -EINVAL;
        *ret = v;
        return 0;
}

int parse_i64(const char *s, int64_t *ret)
{
        char *end;
        long long v;

        if (!s || !*s || *s == ' ')
                return -EINVAL;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno)
                return -errno;
        if (*end)
                return -EINVAL;
        *ret = v;
        return 0;
}

const char *berth_quote(const char *s, char *buf)
{
        size_t o = 0;

        buf[o++] = '"';
        for (; *s; s++) {
                unsigned char c = (unsigned char) *s;

                /* room for this character (6: "\u001f") and the end ("...", '"', NUL) */
                if (o + 6 + 5 > BERTH_QUOTE_MAX) {
                        /* do not cut a UTF-8 sequence in half */
                        while (o > 1 && ((unsigned char) buf[o - 1] & 0xC0) == 0x80)
                                o--;
                        if (o > 1 && (unsigned char) buf[o - 1] >= 0xC0)
                                o--;
                        memcpy(buf + o, "...", 3);
                        o += 3;
                        break;
                }
                if (c == '"' || c == '\\' || c == '\n' || c == '\t' || c == '\r') {
                        buf[o++] = '\\';
                        buf[o++] = c == '\n' ? 'n' : c == '\t' ? 't' : c == '\r' ? 'r' : (char) c;
                } else if (c < 0x20 || c == 0x7f) {
                        o += (size_t) snprintf(buf + o, 7, "\\u%04x", c);
                } else {
                        buf[o++] = (char) c;
                }
        }
        buf[o++] = '"';
        buf[o] = '\0';
        return buf;
}

static int rm_tree_at(int pfd, const char *name, dev_t dev, const char *path,
                      struct berth_error **err);

/* Removes the entries of the directory fd (owned: closed here); path names it for errors. */
static int rm_children(int fd, dev_t dev, const char *path, struct berth_error **err)
{
        DIR *d = fdopendir(fd);
        struct dirent *de;
        int r = 0;

        if (!d) {
                r = berth_error_set(err, errno, "remove %s: fdopendir", path);
                close(fd);
                return r;
        }
        while (r >= 0 && (errno = 0, de = readdir(d))) {
                _autofree_ char *sub = NULL;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                sub = xasprintf("%s/%s", path, de->d_name);
                r = rm_tree_at(dirfd(d), de->d_name, dev, sub, err);
        }
        if (r >= 0 && errno != 0)
                r = berth_error_set(err, errno, "remove %s: readdir", path);
        closedir(d);
        return r;
}

static int rm_tree_at(int pfd, const char *name, dev_t dev, const char *path,
                      struct berth_error **err)
{
        struct stat st;
        int fd, r;

        if (unlinkat(pfd, name, 0) == 0 || errno == ENOENT)
                return 0;
        if (errno != EISDIR)
                return berth_error_set(err, errno, "remove %s: unlinkat", path);
        fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return berth_error_set(err, errno, "remove %s: openat", path);
        if (fstat(fd, &st) < 0) {
                r = berth_error_set(err, errno, "remove %s: fstat", path);
                close(fd);
                return r;
        }
        if (st.st_dev != dev) {
                close(fd);
                return berth_error_setx(err, EBUSY, "remove %s: a mount point, not removing it",
                                        path);
        }
        r = rm_children(fd, dev, path, err);
        if (r < 0)
                return r;
        if (unlinkat(pfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
                return berth_error_set(err, errno, "remove %s: rmdir", path);
        return 0;
}

int berth_rm_rf_at(int dirfd, const char *name, struct berth_error **err)
{
        struct stat st;

        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0
                                       : berth_error_set(err, errno, "remove %s: fstatat", name);
        /* the top entry itself may be a mount point too: compare with its parent */
        if (S_ISDIR(st.st_mode) && !strchr(name, '/')) {
                struct stat parent;

                if (fstatat(dirfd, ".", &parent, 0) < 0)
                        return berth_error_set(err, errno, "remove %s: fstat parent", name);
                if (parent.st_dev != st.st_dev)
                        return berth_error_setx(err, EBUSY,
                                                "remove %s: a mount point, not removing it", name);
        }
        return rm_tree_at(dirfd, name, st.st_dev, name, err);
}

const char *berth_parse_go_bool(const char *v)
{
        static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True"};
        static const char *const no[] = {"0", "f", "F", "false", "FALSE", "False"};

        for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
                if (streq(v, yes[i]))
                        return "true";
                if (streq(v, no[i]))
                        return "false";
        }
        return NULL;
}

void strv_push(char ***v, size_t *n, char *s)
{
        *v = xreallocarray(*v, *n + 2, sizeof(**v));
        (*v)[(*n)++] = s;
        (*v)[*n] = NULL;
}

bool strv_contains(char *const *v, const char *s)
{
        for (; v && *v; v++)
                if (streq(*v, s))
                        return true;
        return false;
}

/* The smallest keep[i] >= from, or -1. */
static int next_kept(int from, const int *keep, size_t n)
{
        int next = -1;

        for (size_t i = 0; i < n; i++)
                if (keep[i] >= from && (next < 0 || keep[i] < next))
                        next = keep[i];
        return next;
}

/* No copy to sort and no allocation: the kept fds are a handful, so each gap's end is found by a
 * scan (this runs in a child right after clone). */
void berth_close_fds_from(int from, const int *keep, size_t n)
{
        for (int k; (k = next_kept(from, keep, n)) >= 0; from = k + 1)
                if (k > from)
                        sys_close_range((unsigned) from, (unsigned) k - 1, 0);
        sys_close_range((unsigned) from, ~0u, 0);
}
