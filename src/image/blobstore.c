/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "image/blobstore.h"
#include "base/log.h"
#include "base/sha256.h"
#include "base/util.h"

#define TMP_PREFIX ".tmp-"
#define CHUNK_SIZE (64 * 1024)
#define TMP_ATTEMPTS 16

struct berth_blobstore {
        int dirfd;       /* <root>/blobs/sha256 */
        bool no_tmpfile; /* the filesystem refused O_TMPFILE once: use named temp files */
};

/* A blob being written: an O_TMPFILE (name empty) or a named ".tmp-<hex>" file. */
struct blob_tmp {
        int fd;
        char name[sizeof(TMP_PREFIX) + 16];
};

/* Where the content comes from: an fd (data == NULL) or memory. */
struct blob_src {
        int fd;
        const uint8_t *data;
        size_t len;
        size_t off;
        uint8_t *buf;
};

/* An OCI digest algorithm: [a-z0-9]+ ([+._-] [a-z0-9]+)*, ending at ':'. */
static bool is_algorithm(const char *s, size_t n)
{
        bool need_alnum = true;

        if (n == 0)
                return false;
        for (size_t i = 0; i < n; i++) {
                bool alnum = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9');

                if (!alnum && (need_alnum || !strchr("+._-", s[i])))
                        return false;
                need_alnum = !alnum;
        }
        return !need_alnum;
}

int berth_digest_validate(const char *digest, struct berth_error **err)
{
        const char *colon;

        if (!digest)
                return berth_error_setx(err, EINVAL, "digest: missing");
        if (startswith(digest, BERTH_SHA256_PREFIX) && strlen(digest) == BERTH_SHA256_DIGEST_LEN &&
            berth_is_lower_hex(digest + BERTH_SHA256_PREFIX_LEN, BERTH_SHA256_HEX_LEN))
                return 0;
        colon = strchr(digest, ':');
        if (colon && !startswith(digest, BERTH_SHA256_PREFIX) &&
            is_algorithm(digest, colon - digest))
                return berth_error_setx(err, ENOTSUP, "digest %s: algorithm %.*s not supported",
                                        QUOTE(digest), (int) (colon - digest), digest);
        return berth_error_setx(err, EINVAL,
                                "digest %s: expected sha256: followed by 64 lowercase hex digits",
                                QUOTE(digest));
}

/* mkdirat + openat, refusing a symlink in place of the directory. */
static int mkdir_open(int dirfd, const char *name, int *ret_fd, struct berth_error **err)
{
        int fd;

        if (mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST)
                return berth_error_set(err, errno, "mkdirat %s", name);
        fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return berth_error_set(err, errno, "openat %s", name);
        *ret_fd = fd;
        return 0;
}

static bool is_before(const struct timespec *a, const struct timespec *b)
{
        return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/*
 * Removes one crash leftover. A writer holds an flock on its named temp file for its whole life,
 * so a file we can lock is not being written; the age check keeps out files created since the open.
 */
static void remove_stale_tmp(int dirfd, const char *name, const struct timespec *opened)
{
        _autoclose_ int fd = -EBADF;
        struct stat st;

        if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
            !is_before(&st.st_mtim, opened))
                return;
        fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
                return;
        if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
                berth_warn("blobstore: unlinkat stale %s: %s, ignoring", name, strerror(errno));
}

static int remove_stale_tmps(int dirfd, const struct timespec *opened, struct berth_error **err)
{
        DIR *d;
        struct dirent *de;
        int fd;

        fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return berth_error_set(err, errno, "openat blobs/sha256");
        d = fdopendir(fd);
        if (!d) {
                int e = errno;

                close(fd);
                return berth_error_set(err, e, "fdopendir blobs/sha256");
        }
        while ((de = readdir(d)))
                if (startswith(de->d_name, TMP_PREFIX))
                        remove_stale_tmp(dirfd, de->d_name, opened);
        closedir(d);
        return 0;
}

int berth_blobstore_open(const char *root, struct berth_blobstore **ret, struct berth_error **err)
{
        _autoclose_ int rootfd = -EBADF, blobsfd = -EBADF, fd = -EBADF;
        struct berth_blobstore *s;
        struct timespec opened;
        int r;

        /* File timestamps come from the coarse clock: a file created after this has mtime >= it. */
        clock_gettime(CLOCK_REALTIME_COARSE, &opened);
        if (mkdir(root, 0700) < 0 && errno != EEXIST)
                return berth_error_set(err, errno, "open blob store %s: mkdir", QUOTE(root));
        rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return berth_error_set(err, errno, "open blob store %s: open", QUOTE(root));
        r = mkdir_open(rootfd, "blobs", &blobsfd, err);
        if (r >= 0)
                r = mkdir_open(blobsfd, "sha256", &fd, err);
        if (r >= 0)
                r = remove_stale_tmps(fd, &opened, err);
        if (r < 0)
                return berth_error_prefix(err, "open blob store %s", QUOTE(root));
        s = xcalloc(1, sizeof(*s));
        s->dirfd = steal_fd(&fd);
        *ret = s;
        return 0;
}

void berth_blobstore_free(struct berth_blobstore *s)
{
        if (!s)
                return;
        if (s->dirfd >= 0)
                close(s->dirfd);
        free(s);
}

static void blob_tmp_discard(int dirfd, struct blob_tmp *t)
{
        if (t->name[0])
                unlinkat(dirfd, t->name, 0);
        t->name[0] = '\0';
        closep(&t->fd);
}

static int tmp_create_named(int dirfd, struct blob_tmp *t, struct berth_error **err)
{
        for (int i = 0; i < TMP_ATTEMPTS; i++) {
                uint64_t rnd;
                struct stat st;
                int fd;

                if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
                        rnd = berth_now_us() ^ ((uint64_t) getpid() << 32) ^ (uint64_t) i;
                snprintf(t->name, sizeof(t->name), TMP_PREFIX "%016llx", (unsigned long long) rnd);
                fd = openat(dirfd, t->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                            0400);
                if (fd < 0 && errno == EEXIST)
                        continue;
                if (fd < 0)
                        return berth_error_set(err, errno, "openat %s", t->name);
                /* A concurrent open may have taken it for a crash leftover before our lock. */
                if (flock(fd, LOCK_EX) < 0 || fstat(fd, &st) < 0) {
                        int e = errno;

                        close(fd);
                        unlinkat(dirfd, t->name, 0);
                        return berth_error_set(err, e, "flock %s", t->name);
                }
                if (st.st_nlink > 0) {
                        t->fd = fd;
                        return 0;
                }
                close(fd);
        }
        t->name[0] = '\0';
        return berth_error_setx(err, EEXIST, "openat temporary file: too many collisions");
}

static int tmp_create(struct berth_blobstore *s, struct blob_tmp *t, struct berth_error **err)
{
        int fd;

        t->name[0] = '\0';
        if (!s->no_tmpfile) {
                fd = openat(s->dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0400);
                if (fd >= 0) {
                        t->fd = fd;
                        return 0;
                }
                /* EISDIR: kernel without O_TMPFILE; EOPNOTSUPP: filesystem without it. */
                if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
                        return berth_error_set(err, errno, "openat O_TMPFILE");
                s->no_tmpfile = true;
        }
        return tmp_create_named(s->dirfd, t, err);
}

/* Gives an O_TMPFILE a name. An existing blob has the same content: that is success. */
static int tmp_link(int dirfd, struct blob_tmp *t, const char *hex, struct berth_error **err)
{
        char proc[64];

        /* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; /proc/self/fd needs /proc: try both. */
        if (linkat(t->fd, "", dirfd, hex, AT_EMPTY_PATH) == 0 || errno == EEXIST)
                return 0;
        if (errno != ENOENT && errno != EPERM)
                return berth_error_set(err, errno, "linkat");
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", t->fd);
        if (linkat(AT_FDCWD, proc, dirfd, hex, AT_SYMLINK_FOLLOW) == 0 || errno == EEXIST)
                return 0;
        return berth_error_set(err, errno, "linkat %s", proc);
}

static int tmp_commit(int dirfd, struct blob_tmp *t, const char *hex, struct berth_error **err)
{
        int r;

        if (fsync(t->fd) < 0)
                return berth_error_set(err, errno, "fsync");
        if (t->name[0]) {
                /* Over an existing blob this replaces identical content: still one file. */
                if (renameat(dirfd, t->name, dirfd, hex) < 0)
                        return berth_error_set(err, errno, "renameat %s", t->name);
                t->name[0] = '\0';
        } else {
                r = tmp_link(dirfd, t, hex, err);
                if (r < 0)
                        return r;
        }
        if (fsync(dirfd) < 0)
                return berth_error_set(err, errno, "fsync blobs/sha256");
        return 0;
}

/* Returns the next chunk's length (0 at the end) or -1 with errno. */
static ssize_t src_next(struct blob_src *src, const uint8_t **ret)
{
        ssize_t n;

        if (src->data) {
                n = (ssize_t) (src->len - src->off < CHUNK_SIZE ? src->len - src->off : CHUNK_SIZE);
                *ret = src->data + src->off;
                src->off += (size_t) n;
                return n;
        }
        do
                n = read(src->fd, src->buf, CHUNK_SIZE);
        while (n < 0 && errno == EINTR);
        *ret = src->buf;
        return n;
}

/* Copies src to fd while hashing; stops early once more than `size` bytes came. */
static int copy_hashing(struct blob_src *src, int fd, int64_t size, EVP_MD_CTX *ctx,
                        uint64_t *ret_total, struct berth_error **err)
{
        uint64_t total = 0;
        const uint8_t *p;
        ssize_t n;

        while ((n = src_next(src, &p)) > 0) {
                if (EVP_DigestUpdate(ctx, p, (size_t) n) != 1)
                        return berth_error_setx(err, EIO, "EVP_DigestUpdate failed");
                if (write_all(fd, p, (size_t) n) < 0)
                        return berth_error_set(err, errno, "write");
                total += (uint64_t) n;
                if (size >= 0 && total > (uint64_t) size)
                        break;
        }
        if (n < 0)
                return berth_error_set(err, errno, "read");
        *ret_total = total;
        return 0;
}

/* Writes the content to t, then checks size and digest; the computed digest goes to `digest`. */
static int write_checked(struct blob_src *src, struct blob_tmp *t, const char *expected,
                         int64_t size, char digest[BERTH_SHA256_DIGEST_LEN + 1],
                         struct berth_error **err)
{
        _cleanup_(evp_md_ctx_freep) EVP_MD_CTX *ctx = NULL;
        uint64_t total = 0;
        int r;

        r = berth_sha256_new(&ctx, err);
        if (r < 0)
                return r;
        r = copy_hashing(src, t->fd, size, ctx, &total, err);
        if (r < 0)
                return r;
        if (size >= 0 && total != (uint64_t) size)
                return berth_error_setx(
                    err, EBADMSG, "size mismatch: expected %lld bytes, got %s%llu",
                    (long long) size, total > (uint64_t) size ? "at least " : "",
                    (unsigned long long) total);
        r = berth_sha256_final(ctx, digest, err);
        if (r < 0)
                return r;
        if (expected && !streq(expected, digest))
                return berth_error_setx(err, EBADMSG, "digest mismatch: got %s", digest);
        return 0;
}

static int put_src(struct berth_blobstore *s, struct blob_src *src, const char *expected,
                   int64_t size, char **ret_digest, struct berth_error **err)
{
        struct blob_tmp t = {.fd = -EBADF};
        char digest[BERTH_SHA256_DIGEST_LEN + 1] = "";
        int r;

        if (expected) {
                r = berth_digest_validate(expected, err);
                if (r < 0)
                        return berth_error_prefix(err, "put blob");
        }
        r = tmp_create(s, &t, err);
        if (r >= 0)
                r = write_checked(src, &t, expected, size, digest, err);
        if (r >= 0)
                r = tmp_commit(s->dirfd, &t, digest + BERTH_SHA256_PREFIX_LEN, err);
        blob_tmp_discard(s->dirfd, &t);
        if (r < 0 && (expected || digest[0]))
                return berth_error_prefix(err, "blob %s", expected ? expected : digest);
        if (r < 0)
                return berth_error_prefix(err, "put blob");
        if (ret_digest)
                *ret_digest = xstrdup(digest);
        return 0;
}

int berth_blobstore_put_fd(struct berth_blobstore *s, int fd, const char *expected, int64_t size,
                           char **ret_digest, struct berth_error **err)
{
        _autofree_ uint8_t *buf = malloc(CHUNK_SIZE);
        struct blob_src src = {.fd = fd, .buf = buf};

        if (!buf)
                return berth_error_set(err, ENOMEM, "put blob");
        return put_src(s, &src, expected, size, ret_digest, err);
}

int berth_blobstore_put(struct berth_blobstore *s, const void *data, size_t len,
                        const char *expected, char **ret_digest, struct berth_error **err)
{
        /* data may be NULL for an empty blob; a non-NULL pointer marks the memory source. */
        struct blob_src src = {.fd = -EBADF, .len = len};

        src.data = data ? data : (const uint8_t *) "";
        return put_src(s, &src, expected, (int64_t) len, ret_digest, err);
}

/* Hashes fd (at offset 0) to its end; checks size (if >= 0) and expected (if not NULL). */
static int hash_file_checked(int fd, const char *expected, int64_t size,
                             char digest[BERTH_SHA256_DIGEST_LEN + 1], struct berth_error **err)
{
        _cleanup_(evp_md_ctx_freep) EVP_MD_CTX *ctx = NULL;
        _autofree_ uint8_t *buf = malloc(CHUNK_SIZE);
        struct stat st;
        ssize_t n;
        int r;

        if (!buf)
                return berth_error_setx(err, ENOMEM, "EVP_DigestInit_ex sha256 failed");
        r = berth_sha256_new(&ctx, err);
        if (r < 0)
                return r;
        if (fstat(fd, &st) < 0)
                return berth_error_set(err, errno, "fstat");
        if (!S_ISREG(st.st_mode))
                return berth_error_setx(err, EINVAL, "not a regular file");
        if (size >= 0 && st.st_size != size)
                return berth_error_setx(err, EBADMSG,
                                        "size mismatch: expected %lld bytes, got %lld",
                                        (long long) size, (long long) st.st_size);
        while ((n = read(fd, buf, CHUNK_SIZE)) != 0) {
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return berth_error_set(err, errno, "read");
                if (EVP_DigestUpdate(ctx, buf, (size_t) n) != 1)
                        return berth_error_setx(err, EIO, "EVP_DigestUpdate failed");
        }
        r = berth_sha256_final(ctx, digest, err);
        if (r < 0)
                return r;
        if (expected && !streq(expected, digest))
                return berth_error_setx(err, EBADMSG, "digest mismatch: got %s", digest);
        return 0;
}

/* Renames dirfd/name to the blob; across filesystems, copies it through put_fd. */
static int move_file(struct berth_blobstore *s, int dirfd, const char *name, int fd,
                     const char *digest, struct berth_error **err)
{
        int r;

        if (fsync(fd) < 0)
                return berth_error_set(err, errno, "fsync");
        if (fchmod(fd, 0400) < 0)
                return berth_error_set(err, errno, "fchmod");
        if (renameat(dirfd, name, s->dirfd, digest + BERTH_SHA256_PREFIX_LEN) < 0) {
                if (errno != EXDEV)
                        return berth_error_set(err, errno, "renameat %s", name);
                if (lseek(fd, 0, SEEK_SET) < 0)
                        return berth_error_set(err, errno, "lseek");
                r = berth_blobstore_put_fd(s, fd, digest, -1, NULL, err);
                if (r < 0)
                        return r;
                if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
                        return berth_error_set(err, errno, "unlinkat %s", name);
                return 0;
        }
        if (fsync(s->dirfd) < 0)
                return berth_error_set(err, errno, "fsync blobs/sha256");
        return 0;
}

int berth_blobstore_put_file(struct berth_blobstore *s, int dirfd, const char *name,
                             const char *expected, int64_t size, char **ret_digest,
                             struct berth_error **err)
{
        _autoclose_ int fd = -EBADF;
        char digest[BERTH_SHA256_DIGEST_LEN + 1] = "";
        int r;

        if (expected) {
                r = berth_digest_validate(expected, err);
                if (r < 0)
                        return berth_error_prefix(err, "put blob from %s", name);
        }
        fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return berth_error_set(err, errno, "put blob from %s: openat", name);
        r = hash_file_checked(fd, expected, size, digest, err);
        if (r >= 0)
                r = move_file(s, dirfd, name, fd, digest, err);
        if (r < 0)
                return berth_error_prefix(err, "blob %s from %s", expected ? expected : digest,
                                          name);
        if (ret_digest)
                *ret_digest = xstrdup(digest);
        return 0;
}

int berth_blobstore_open_blob(struct berth_blobstore *s, const char *digest, int *ret_fd,
                              struct berth_error **err)
{
        int r, fd;

        r = berth_digest_validate(digest, err);
        if (r < 0)
                return berth_error_prefix(err, "open blob");
        fd = openat(s->dirfd, digest + BERTH_SHA256_PREFIX_LEN, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return berth_error_set(err, errno, "blob %s: openat", digest);
        *ret_fd = fd;
        return 0;
}

bool berth_blobstore_has(struct berth_blobstore *s, const char *digest)
{
        struct stat st;

        if (berth_digest_validate(digest, NULL) < 0)
                return false;
        return fstatat(s->dirfd, digest + BERTH_SHA256_PREFIX_LEN, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
               S_ISREG(st.st_mode);
}

int berth_blobstore_remove(struct berth_blobstore *s, const char *digest, struct berth_error **err)
{
        int r;

        r = berth_digest_validate(digest, err);
        if (r < 0)
                return berth_error_prefix(err, "remove blob");
        if (unlinkat(s->dirfd, digest + BERTH_SHA256_PREFIX_LEN, 0) < 0)
                return berth_error_set(err, errno, "blob %s: unlinkat", digest);
        return 0;
}
