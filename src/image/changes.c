/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A container's changes: its overlay upper dir, read as docker's overlay differ reads it.
 *
 * The overlay is mounted with index=off,redirect_dir=off,metacopy=off (overlay.c), so the upper
 * dir only holds whole files and directories, 0/0 character devices (whiteouts: deleted) and
 * directories with trusted.overlay.opaque="y" (everything below them in the lower dirs is gone).
 * Other trusted.overlay.* xattrs (origin, impure) are the kernel's bookkeeping and never leave it.
 *
 * Reading is done with *at() calls that never follow a symlink: a running container can change
 * its upper dir while it is read, so the files of a layer are opened through parents resolved
 * with openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), and a file that changes type or inode
 * between the walk and the write is an error rather than something read from elsewhere.
 *
 * The layer tar is written in one pass: libarchive's pax writer hands the tar to a callback that
 * hashes it (the diff id) and feeds a second libarchive writer in "raw" format with the gzip
 * filter, whose callback hashes what it writes (the blob digest). Entries are sorted by name and
 * carry no atime/ctime, mtimes are whole seconds (as docker's), and the gzip header carries no
 * timestamp: committing the same upper dir twice gives the same blob.
 */
#define _GNU_SOURCE 1
#include "image/archive-dl.h"
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "image/changes.h"
#include "base/log.h"
#include "base/sha256.h"
#include "base/syscalls.h"
#include "base/util.h"

#define OPAQUE_XATTR "trusted.overlay.opaque"
#define OVERLAY_XATTR_PREFIX "trusted.overlay."
#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"
#define COPY_CHUNK (128 * 1024)

/* ---- shared helpers ------------------------------------------------------------------------ */

static char *join(const char *dir, const char *name)
{
        return *dir ? xasprintf("%s/%s", dir, name) : xstrdup(name);
}

/* For messages: "<upper>/<rel>" (or upper itself). */
static char *full(const char *upper, const char *rel)
{
        return *rel ? xasprintf("%s/%s", upper, rel) : xstrdup(upper);
}

static int fail_at(const char *upper, const char *rel, int code, const char *what,
                   struct berth_error **err)
{
        _autofree_ char *p = full(upper, rel);

        return berth_error_set(err, code, "%s %s", what, p);
}

static bool is_whiteout(const struct stat *st)
{
        return S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0);
}

/*
 * The mount points the engine's runtime makes in every rootfs that lacks them, docker's "init
 * layer": docker keeps them in a layer of their own below the container's, so they never show up
 * in `docker diff` or a commit. Here they land in the upper dir, as empty directories and empty
 * files (the runtime only ever mounts over them: /etc/hosts is bind-mounted from the container's
 * dir, so writes to it never reach the upper dir). Such an empty entry is left out, and so is a
 * directory that holds nothing else (/etc copied up only to hold /etc/hostname).
 */
static const char *const mount_points[] = {
    "dev",       "dev/console",     "dev/pts", "dev/shm", "etc/hostname",
    "etc/hosts", "etc/resolv.conf", "proc",    "sys",
};

static bool is_mount_point(const char *path)
{
        for (size_t i = 0; i < ARRAY_SIZE(mount_points); i++)
                if (streq(path, mount_points[i]))
                        return true;
        return false;
}

/* An empty file at a mount point: leave it out. */
static bool is_mount_point_file(const char *path, const struct stat *st)
{
        return S_ISREG(st->st_mode) && st->st_size == 0 && is_mount_point(path);
}

/* What a directory holds, for is_left_out_dir(). */
enum dir_content { DIR_EMPTY, DIR_MOUNT_POINTS_ONLY, DIR_OTHER };

static enum dir_content dir_content(const char *rel, char *const *names)
{
        if (!names[0])
                return DIR_EMPTY;
        for (char *const *p = names; *p; p++) {
                _autofree_ char *path = join(rel, *p);

                if (!is_mount_point(path))
                        return DIR_OTHER;
        }
        return DIR_MOUNT_POINTS_ONLY;
}

/* A directory whose walk gave nothing: leave it out when it only held mount points (all left
 * out), or when it is an empty mount point itself. Opaque ones always stay. */
static bool is_left_out_dir(const char *path, bool opaque, bool gave_nothing,
                            enum dir_content content)
{
        if (opaque || !gave_nothing)
                return false;
        return content == DIR_MOUNT_POINTS_ONLY || (content == DIR_EMPTY && is_mount_point(path));
}

/* Whether the directory open at fd carries trusted.overlay.opaque="y". */
static int fd_is_opaque(int fd, bool *ret)
{
        char v[2];
        ssize_t n = fgetxattr(fd, OPAQUE_XATTR, v, sizeof(v));

        if (n < 0 && errno != ENODATA && errno != ENOTSUP && errno != ERANGE)
                return -errno;
        *ret = n == 1 && v[0] == 'y';
        return 0;
}

/* The names in the directory open at fd (without "." and ".."), unsorted. */
static int list_dir(int fd, char ***ret)
{
        _autostrv_ char **v = xcalloc(1, sizeof(char *));
        int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        size_t n = 0, cap = 0;
        struct dirent *de;
        DIR *d;
        int r = 0;

        if (dfd < 0)
                return -errno;
        d = fdopendir(dfd);
        if (!d) {
                r = -errno;
                close(dfd);
                return r;
        }
        while ((errno = 0, de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                if (n + 1 >= cap) {
                        cap = cap ? cap * 2 : 16;
                        v = xreallocarray(v, cap, sizeof(char *));
                }
                v[n++] = xstrdup(de->d_name);
                v[n] = NULL;
        }
        r = errno ? -errno : 0;
        closedir(d);
        if (r < 0)
                return r;
        *ret = steal_ptr(&v);
        return 0;
}

/* lstat of name below fd. Returns 1 when it is gone (removed while the dir was read). */
static int stat_entry(const char *upper, int fd, const char *path, const char *name,
                      struct stat *st, struct berth_error **err)
{
        if (fstatat(fd, name, st, AT_SYMLINK_NOFOLLOW) == 0)
                return 0;
        if (errno == ENOENT)
                return 1;
        return fail_at(upper, path, errno, "stat", err);
}

static int open_subdir(const char *upper, int fd, const char *path, const char *name, int *ret_fd,
                       struct berth_error **err)
{
        int cfd = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

        if (cfd < 0)
                return fail_at(upper, path, errno, "open", err);
        *ret_fd = cfd;
        return 0;
}

static int upper_open(const char *upper, int *ret_fd, struct berth_error **err)
{
        int fd = open(upper, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return berth_error_set(err, errno, "open upper dir %s", upper);
        *ret_fd = fd;
        return 0;
}

/* ---- berth_changes ------------------------------------------------------------------------- */

struct differ {
        const char *upper;
        const char *const *lowers;
        int *lower_fds; /* O_PATH, top first */
        size_t n_lowers;
        struct berth_change *v;
        size_t n, cap;
};

static void differ_clear(struct differ *d)
{
        for (size_t i = 0; d->lower_fds && i < d->n_lowers; i++)
                closep(&d->lower_fds[i]);
        free(d->lower_fds);
        berth_changes_free(d->v, d->n);
        *d = (struct differ){0};
}

static void add_change(struct differ *d, char kind, const char *path)
{
        if (d->n == d->cap) {
                d->cap = d->cap ? d->cap * 2 : 32;
                d->v = xreallocarray(d->v, d->cap, sizeof(*d->v));
        }
        d->v[d->n++] = (struct berth_change){.kind = kind, .path = xasprintf("/%s", path)};
}

static int lower_stat(const struct differ *d, size_t i, const char *path, struct stat *st,
                      struct berth_error **err)
{
        if (fstatat(d->lower_fds[i], path, st, AT_SYMLINK_NOFOLLOW) == 0)
                return 1;
        if (errno == ENOENT)
                return 0;
        return berth_error_set(err, errno, "stat %s/%s", d->lowers[i], path);
}

/* Whether path exists in the merged lower dirs `layers` (indexes, top first): the topmost lower
 * that has it decides, and a whiteout there means it is gone. Every parent of path is a real
 * directory in each of `layers` (checked on the way down), so fstatat cannot be redirected. */
static int lower_has(const struct differ *d, const size_t *layers, size_t n, const char *path,
                     struct berth_error **err)
{
        struct stat st;
        int r;

        for (size_t k = 0; k < n; k++) {
                r = lower_stat(d, layers[k], path, &st, err);
                if (r < 0)
                        return r;
                if (r > 0)
                        return !is_whiteout(&st);
        }
        return 0;
}

static int lower_dir_opaque(const struct differ *d, size_t i, const char *path, bool *ret,
                            struct berth_error **err)
{
        _autoclose_ int fd =
            openat(d->lower_fds[i], path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int r;

        if (fd < 0)
                return berth_error_set(err, errno, "open %s/%s", d->lowers[i], path);
        r = fd_is_opaque(fd, ret);
        if (r < 0)
                return berth_error_set(err, -r, "read %s of %s/%s", OPAQUE_XATTR, d->lowers[i],
                                       path);
        return 0;
}

/* The lower dirs merged at directory path, as overlayfs merges them: from the top, every lower
 * where path is a directory, until one where it is missing-and-whited-out, not a directory, or
 * an opaque directory (which is still merged). */
static int lower_dirs(const struct differ *d, const size_t *layers, size_t n, const char *path,
                      size_t *ret, size_t *ret_n, struct berth_error **err)
{
        size_t m = 0;
        struct stat st;
        bool opaque = false;
        int r;

        for (size_t k = 0; k < n && !opaque; k++) {
                r = lower_stat(d, layers[k], path, &st, err);
                if (r < 0)
                        return r;
                if (r == 0)
                        continue;
                if (!S_ISDIR(st.st_mode))
                        break;
                r = lower_dir_opaque(d, layers[k], path, &opaque, err);
                if (r < 0)
                        return r;
                ret[m++] = layers[k];
        }
        *ret_n = m;
        return 0;
}

static int changes_dir(struct differ *d, int fd, const char *rel, const size_t *layers, size_t n,
                       struct berth_error **err);

/* A directory in upper, its change at d->v[idx]: an opaque one hides every lower below it, so its
 * children are all new. */
static int changes_subdir(struct differ *d, size_t idx, int fd, const char *name, const char *path,
                          const size_t *layers, size_t n, struct berth_error **err)
{
        _autofree_ size_t *sub = xcalloc(n + 1, sizeof(size_t));
        _autoclose_ int cfd = -EBADF;
        bool opaque = false;
        size_t m = 0;
        int r;

        r = open_subdir(d->upper, fd, path, name, &cfd, err);
        if (r < 0)
                return r;
        r = fd_is_opaque(cfd, &opaque);
        if (r < 0)
                return fail_at(d->upper, path, -r, "read " OPAQUE_XATTR " of", err);
        if (!opaque) {
                r = lower_dirs(d, layers, n, path, sub, &m, err);
                if (r < 0)
                        return r;
        }
        r = changes_dir(d, cfd, path, sub, m, err);
        if (r < 0)
                return r;
        if (is_left_out_dir(path, opaque, d->n == idx + 1, (enum dir_content) r)) {
                free(d->v[idx].path);
                d->n = idx;
        }
        return 0;
}

static int changes_entry(struct differ *d, int fd, const char *rel, const char *name,
                         const size_t *layers, size_t n, struct berth_error **err)
{
        _autofree_ char *path = join(rel, name);
        struct stat st;
        int r;

        r = stat_entry(d->upper, fd, path, name, &st, err);
        if (r != 0)
                return r < 0 ? r : 0;
        if (is_whiteout(&st)) {
                add_change(d, 'D', path);
                return 0;
        }
        if (is_mount_point_file(path, &st))
                return 0;
        r = lower_has(d, layers, n, path, err);
        if (r < 0)
                return r;
        add_change(d, r ? 'C' : 'A', path);
        if (!S_ISDIR(st.st_mode))
                return 0;
        return changes_subdir(d, d->n - 1, fd, name, path, layers, n, err);
}

/* layers: the lower dirs merged at rel (indexes into d->lowers, top first). Returns what rel holds
 * (enum dir_content). */
static int changes_dir(struct differ *d, int fd, const char *rel, const size_t *layers, size_t n,
                       struct berth_error **err)
{
        _autostrv_ char **names = NULL;
        int r;

        r = list_dir(fd, &names);
        if (r < 0)
                return fail_at(d->upper, rel, -r, "read directory", err);
        for (char **p = names; *p; p++) {
                r = changes_entry(d, fd, rel, *p, layers, n, err);
                if (r < 0)
                        return r;
        }
        return (int) dir_content(rel, names);
}

static int change_cmp(const void *a, const void *b)
{
        return strcmp(((const struct berth_change *) a)->path,
                      ((const struct berth_change *) b)->path);
}

static int differ_open_lowers(struct differ *d, struct berth_error **err)
{
        d->n_lowers = 0;
        while (d->lowers && d->lowers[d->n_lowers])
                d->n_lowers++;
        d->lower_fds = xcalloc(d->n_lowers + 1, sizeof(int));
        for (size_t i = 0; i < d->n_lowers; i++)
                d->lower_fds[i] = -EBADF;
        for (size_t i = 0; i < d->n_lowers; i++) {
                d->lower_fds[i] = open(d->lowers[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (d->lower_fds[i] < 0)
                        return berth_error_set(err, errno, "open lower dir %s", d->lowers[i]);
        }
        return 0;
}

int berth_changes(const char *upper, const char *const *lowers, struct berth_change **ret,
                  size_t *ret_n, struct berth_error **err)
{
        _cleanup_(differ_clear) struct differ d = {.upper = upper, .lowers = lowers};
        _autofree_ size_t *layers = NULL;
        _autoclose_ int fd = -EBADF;
        int r;

        r = upper_open(upper, &fd, err);
        if (r < 0)
                return r;
        r = differ_open_lowers(&d, err);
        if (r < 0)
                return r;
        layers = xcalloc(d.n_lowers + 1, sizeof(size_t));
        for (size_t i = 0; i < d.n_lowers; i++)
                layers[i] = i;
        r = changes_dir(&d, fd, "", layers, d.n_lowers, err);
        if (r < 0)
                return r;
        if (d.n > 0)
                qsort(d.v, d.n, sizeof(*d.v), change_cmp);
        *ret = steal_ptr(&d.v);
        *ret_n = d.n;
        d.n = 0;
        return 0;
}

void berth_changes_free(struct berth_change *c, size_t n)
{
        for (size_t i = 0; c && i < n; i++)
                free(c[i].path);
        free(c);
}

/* ---- the upper dir as a list of entries ---------------------------------------------------- */

struct entry {
        char *path; /* relative to upper: "etc/motd" */
        struct stat st;
        bool whiteout, opaque;
        const char *link; /* hardlink target (another entry's path), or NULL */
};

struct entries {
        const char *upper;
        struct entry *v;
        size_t n, cap;
};

static void entries_clear(struct entries *l)
{
        for (size_t i = 0; i < l->n; i++)
                free(l->v[i].path);
        free(l->v);
        l->v = NULL;
        l->n = l->cap = 0;
}

static struct entry *entries_push(struct entries *l, char *path, const struct stat *st)
{
        if (l->n == l->cap) {
                l->cap = l->cap ? l->cap * 2 : 64;
                l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
        }
        l->v[l->n] = (struct entry){.path = path, .st = *st, .whiteout = is_whiteout(st)};
        return &l->v[l->n++];
}

static int collect_dir(struct entries *l, int fd, const char *rel, struct berth_error **err);

static int collect_entry(struct entries *l, int fd, const char *rel, const char *name,
                         struct berth_error **err)
{
        _autofree_ char *path = join(rel, name);
        _autoclose_ int cfd = -EBADF;
        struct entry *e;
        struct stat st;
        bool opaque = false;
        size_t idx;
        int r;

        r = stat_entry(l->upper, fd, path, name, &st, err);
        if (r != 0)
                return r < 0 ? r : 0;
        if (S_ISSOCK(st.st_mode)) {
                berth_warn("%s/%s: a socket cannot be stored in a layer, ignoring", l->upper, path);
                return 0;
        }
        if (is_mount_point_file(path, &st))
                return 0;
        if (!S_ISDIR(st.st_mode)) {
                entries_push(l, steal_ptr(&path), &st);
                return 0;
        }
        r = open_subdir(l->upper, fd, path, name, &cfd, err);
        if (r < 0)
                return r;
        r = fd_is_opaque(cfd, &opaque);
        if (r < 0)
                return fail_at(l->upper, path, -r, "read " OPAQUE_XATTR " of", err);
        idx = l->n;
        e = entries_push(l, xstrdup(path), &st);
        e->opaque = opaque;
        r = collect_dir(l, cfd, path, err);
        if (r < 0)
                return r;
        if (is_left_out_dir(path, opaque, l->n == idx + 1, (enum dir_content) r)) {
                free(l->v[idx].path);
                l->n = idx;
        }
        return 0;
}

/* Returns what rel holds (enum dir_content). */
static int collect_dir(struct entries *l, int fd, const char *rel, struct berth_error **err)
{
        _autostrv_ char **names = NULL;
        int r;

        r = list_dir(fd, &names);
        if (r < 0)
                return fail_at(l->upper, rel, -r, "read directory", err);
        for (char **p = names; *p; p++) {
                r = collect_entry(l, fd, rel, *p, err);
                if (r < 0)
                        return r;
        }
        return (int) dir_content(rel, names);
}

static int entry_cmp(const void *a, const void *b)
{
        return strcmp(((const struct entry *) a)->path, ((const struct entry *) b)->path);
}

static bool can_hardlink(const struct entry *e)
{
        return !S_ISDIR(e->st.st_mode) && !e->whiteout && e->st.st_nlink > 1;
}

/* Sorts by (dev, ino), then by position: the first of a group in tar order is the file. */
static int inode_cmp(const void *a, const void *b)
{
        const struct entry *x = *(const struct entry *const *) a;
        const struct entry *y = *(const struct entry *const *) b;

        if (x->st.st_dev != y->st.st_dev)
                return x->st.st_dev < y->st.st_dev ? -1 : 1;
        if (x->st.st_ino != y->st.st_ino)
                return x->st.st_ino < y->st.st_ino ? -1 : 1;
        return x < y ? -1 : x > y;
}

/* Later names of an inode become hardlinks to its first name (entries sorted by path). Whiteouts
 * are left out: overlayfs may make them all links of one shared inode. */
static void link_hardlinks(struct entries *l)
{
        _autofree_ struct entry **v = xcalloc(l->n + 1, sizeof(*v));
        size_t m = 0;

        for (size_t i = 0; i < l->n; i++)
                if (can_hardlink(&l->v[i]))
                        v[m++] = &l->v[i];
        if (m < 2)
                return;
        qsort(v, m, sizeof(*v), inode_cmp);
        for (size_t i = 1; i < m; i++) {
                const struct entry *prev = v[i - 1];

                if (v[i]->st.st_dev == prev->st.st_dev && v[i]->st.st_ino == prev->st.st_ino)
                        v[i]->link = prev->link ? prev->link : prev->path;
        }
}

static int collect_upper(const char *upper, int fd, struct entries *l, struct berth_error **err)
{
        int r;

        l->upper = upper;
        r = collect_dir(l, fd, "", err);
        if (r < 0)
                return r;
        if (l->n > 0)
                qsort(l->v, l->n, sizeof(*l->v), entry_cmp);
        link_hardlinks(l);
        return 0;
}

/* ---- the layer writer ---------------------------------------------------------------------- */

struct writer {
        const char *upper;
        struct archive *tar; /* pax, no filter: its output goes to tar_out() */
        struct archive *gz;  /* raw + gzip: its output goes to gz_out() */
        EVP_MD_CTX *tar_md, *gz_md;
        int out_fd;
        int64_t size;
        bool discard; /* an error happened: swallow what closing the archives still writes */
        char *buf;    /* COPY_CHUNK */
};

static la_ssize_t gz_out(struct archive *a, void *cookie, const void *buf, size_t len)
{
        struct writer *w = cookie;

        if (w->discard)
                return (la_ssize_t) len;
        if (EVP_DigestUpdate(w->gz_md, buf, len) != 1) {
                archive_set_error(a, EIO, "sha256 of the blob failed");
                return -1;
        }
        if (write_all(w->out_fd, buf, len) < 0) {
                archive_set_error(a, errno, "write: %s", strerror(errno));
                return -1;
        }
        w->size += (int64_t) len;
        return (la_ssize_t) len;
}

static la_ssize_t tar_out(struct archive *a, void *cookie, const void *buf, size_t len)
{
        struct writer *w = cookie;

        if (w->discard || len == 0)
                return (la_ssize_t) len;
        if (EVP_DigestUpdate(w->tar_md, buf, len) != 1) {
                archive_set_error(a, EIO, "sha256 of the tar failed");
                return -1;
        }
        if (archive_write_data(w->gz, buf, len) != (la_ssize_t) len) {
                archive_set_error(a, archive_errno(w->gz) > 0 ? archive_errno(w->gz) : EIO,
                                  "gzip: %s", archive_error_string(w->gz) ?: "write failed");
                return -1;
        }
        return (la_ssize_t) len;
}

static void writer_clear(struct writer *w)
{
        w->discard = true;
        if (w->tar)
                archive_write_free(w->tar);
        if (w->gz)
                archive_write_free(w->gz);
        EVP_MD_CTX_free(w->tar_md);
        EVP_MD_CTX_free(w->gz_md);
        free(w->buf);
        *w = (struct writer){0};
}

static int archive_fail(struct archive *a, const char *what, struct berth_error **err)
{
        int code = archive_errno(a);

        return berth_error_setx(err, code > 0 ? code : EIO, "%s: %s", what,
                                archive_error_string(a) ?: "unknown error");
}

static int open_gzip(struct writer *w, struct berth_error **err)
{
        struct archive_entry *e;
        int r;

        w->gz = archive_write_new();
        if (!w->gz)
                return berth_error_setx(err, ENOMEM, "archive_write_new failed");
        if (archive_write_set_format_raw(w->gz) != ARCHIVE_OK ||
            archive_write_add_filter_gzip(w->gz) != ARCHIVE_OK ||
            archive_write_set_bytes_in_last_block(w->gz, 1) != ARCHIVE_OK)
                return archive_fail(w->gz, "set up gzip writer", err);
        /* no mtime in the gzip header: the same layer gives the same blob */
        if (archive_write_set_filter_option(w->gz, "gzip", "timestamp", NULL) < ARCHIVE_WARN)
                berth_warn("gzip writer: cannot drop the timestamp, ignoring");
        if (archive_write_open(w->gz, w, NULL, gz_out, NULL) != ARCHIVE_OK)
                return archive_fail(w->gz, "open gzip writer", err);
        e = archive_entry_new();
        if (!e)
                return berth_error_setx(err, ENOMEM, "archive_entry_new failed");
        archive_entry_set_pathname(e, "layer.tar");
        archive_entry_set_filetype(e, AE_IFREG);
        r = archive_write_header(w->gz, e);
        archive_entry_free(e);
        if (r != ARCHIVE_OK)
                return archive_fail(w->gz, "open gzip writer", err);
        return 0;
}

static int writer_open(struct writer *w, const char *upper, int out_fd, struct berth_error **err)
{
        int r;

        *w = (struct writer){.upper = upper, .out_fd = out_fd, .buf = xcalloc(1, COPY_CHUNK)};
        r = berth_sha256_new(&w->tar_md, err);
        if (r >= 0)
                r = berth_sha256_new(&w->gz_md, err);
        if (r >= 0)
                r = open_gzip(w, err);
        if (r < 0)
                return r;
        w->tar = archive_write_new();
        if (!w->tar)
                return berth_error_setx(err, ENOMEM, "archive_write_new failed");
        if (archive_write_set_format_pax_restricted(w->tar) != ARCHIVE_OK ||
            archive_write_add_filter_none(w->tar) != ARCHIVE_OK ||
            archive_write_set_bytes_in_last_block(w->tar, 1) != ARCHIVE_OK)
                return archive_fail(w->tar, "set up tar writer", err);
        /* xattrs as SCHILY.xattr.* records only (what Go's archive/tar, docker and containerd
         * read), not also as LIBARCHIVE.xattr.* copies */
        if (archive_write_set_format_option(w->tar, "pax", "xattrheader", "SCHILY") != ARCHIVE_OK)
                return archive_fail(w->tar, "set up tar writer", err);
        if (archive_write_open(w->tar, w, NULL, tar_out, NULL) != ARCHIVE_OK)
                return archive_fail(w->tar, "open tar writer", err);
        return 0;
}

static int digest_final(EVP_MD_CTX *ctx, char **ret, struct berth_error **err)
{
        char digest[BERTH_SHA256_DIGEST_LEN + 1];
        int r = berth_sha256_final(ctx, digest, err);

        if (r < 0)
                return r;
        *ret = xstrdup(digest);
        return 0;
}

static int writer_finish(struct writer *w, char **ret_diff_id, char **ret_digest, int64_t *ret_size,
                         struct berth_error **err)
{
        _autofree_ char *diff_id = NULL, *digest = NULL;
        int r;

        if (archive_write_close(w->tar) != ARCHIVE_OK)
                return archive_fail(w->tar, "write layer tar", err);
        if (archive_write_close(w->gz) != ARCHIVE_OK)
                return archive_fail(w->gz, "write layer tar: gzip", err);
        r = digest_final(w->tar_md, &diff_id, err);
        if (r < 0)
                return r;
        r = digest_final(w->gz_md, &digest, err);
        if (r < 0)
                return r;
        if (ret_diff_id)
                *ret_diff_id = steal_ptr(&diff_id);
        if (ret_digest)
                *ret_digest = steal_ptr(&digest);
        if (ret_size)
                *ret_size = w->size;
        return 0;
}

/* ---- one entry ----------------------------------------------------------------------------- */

/* A header with what docker keeps: type, permissions, owner, mtime in whole seconds. */
static struct archive_entry *header_new(const char *name, const struct stat *st)
{
        struct archive_entry *e = archive_entry_new();

        if (!e)
                abort();
        archive_entry_set_pathname(e, name);
        archive_entry_set_filetype(e, st->st_mode & S_IFMT);
        archive_entry_set_perm(e, st->st_mode & 07777);
        archive_entry_set_uid(e, st->st_uid);
        archive_entry_set_gid(e, st->st_gid);
        archive_entry_set_mtime(e, st->st_mtim.tv_sec, 0);
        archive_entry_set_size(e, 0);
        return e;
}

static int header_write(struct writer *w, struct archive_entry *e, struct berth_error **err)
{
        int r = archive_write_header(w->tar, e);

        if (r == ARCHIVE_WARN)
                berth_warn("layer entry %s: %s, ignoring", QUOTE(archive_entry_pathname(e)),
                           archive_error_string(w->tar) ?: "?");
        else if (r != ARCHIVE_OK)
                return berth_error_setx(
                    err, archive_errno(w->tar) > 0 ? archive_errno(w->tar) : EIO,
                    "write layer entry %s: %s", QUOTE(archive_entry_pathname(e)),
                    archive_error_string(w->tar) ?: "unknown error");
        return 0;
}

static int name_cmp(const void *a, const void *b)
{
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* The xattr names of path (a /proc/self/fd/N/NAME path, not followed), sorted: NULL-terminated
 * pointers into *ret_buf. */
static int list_xattrs(const char *path, char **ret_buf, char ***ret_names)
{
        _autofree_ char *buf = NULL;
        _autofree_ char **names = NULL;
        ssize_t len;
        size_t n = 0;

        for (int tries = 0;; tries++) {
                len = llistxattr(path, NULL, 0);
                if (len < 0)
                        return errno == ENOTSUP ? 0 : -errno;
                if (len == 0)
                        return 0;
                free(buf);
                buf = xcalloc((size_t) len + 1, 1);
                len = llistxattr(path, buf, (size_t) len);
                if (len >= 0)
                        break;
                if (errno != ERANGE || tries >= 8)
                        return -errno;
        }
        names = xcalloc((size_t) len + 1, sizeof(char *));
        for (char *p = buf; p < buf + len; p += strlen(p) + 1)
                if (*p && !startswith(p, OVERLAY_XATTR_PREFIX))
                        names[n++] = p;
        qsort(names, n, sizeof(char *), name_cmp);
        *ret_buf = steal_ptr(&buf);
        *ret_names = steal_ptr(&names);
        return 0;
}

static int add_xattr(struct archive_entry *e, const char *path, const char *name)
{
        _autofree_ char *v = NULL;
        ssize_t n;

        for (int tries = 0;; tries++) {
                n = lgetxattr(path, name, NULL, 0);
                if (n < 0)
                        return errno == ENODATA ? 0 : -errno;
                if (n == 0)
                        break;
                free(v);
                v = xcalloc((size_t) n + 1, 1);
                n = lgetxattr(path, name, v, (size_t) n);
                if (n >= 0)
                        break;
                if (errno == ENODATA)
                        return 0;
                if (errno != ERANGE || tries >= 8)
                        return -errno;
        }
        archive_entry_xattr_add_entry(e, name, v ? v : "", (size_t) n);
        return 0;
}

/* Copies the xattrs of base below pfd (but trusted.overlay.*) into the header. */
static int add_xattrs(struct writer *w, struct archive_entry *e, int pfd, const char *base,
                      const char *rel, struct berth_error **err)
{
        char path[64 + NAME_MAX];
        _autofree_ char *buf = NULL;
        _autofree_ char **names = NULL;
        int r;

        /* /proc/self/fd/N resolves to the already checked parent; l*xattr do not follow base */
        snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", pfd, base);
        r = list_xattrs(path, &buf, &names);
        if (r < 0)
                return fail_at(w->upper, rel, -r, "list xattrs of", err);
        for (char **p = names; p && *p; p++) {
                r = add_xattr(e, path, *p);
                if (r < 0) {
                        _autofree_ char *f = full(w->upper, rel);

                        return berth_error_set(err, -r, "read xattr %s of %s", *p, f);
                }
        }
        return 0;
}

/* The entry's parent directory, resolved below upper without following any symlink. */
static int open_parent(int ufd, const char *path, const char **ret_base)
{
        struct berth_open_how how = {
            .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
            .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
        };
        const char *slash = strrchr(path, '/');
        _autofree_ char *parent = NULL;

        *ret_base = slash ? slash + 1 : path;
        if (!slash)
                return sys_openat2(ufd, ".", &how);
        parent = strndup(path, (size_t) (slash - path));
        if (!parent)
                abort();
        return sys_openat2(ufd, parent, &how);
}

static bool same_file(const struct stat *a, const struct stat *b)
{
        return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
               (a->st_mode & S_IFMT) == (b->st_mode & S_IFMT);
}

static int changed_fail(struct writer *w, const char *rel, struct berth_error **err)
{
        _autofree_ char *f = full(w->upper, rel);

        return berth_error_setx(err, EBUSY, "%s: changed while the layer was written", f);
}

static int copy_data(struct writer *w, int fd, const char *rel, int64_t size,
                     struct berth_error **err)
{
        for (int64_t left = size; left > 0;) {
                size_t want = left < COPY_CHUNK ? (size_t) left : COPY_CHUNK;
                ssize_t n = read(fd, w->buf, want);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return fail_at(w->upper, rel, errno, "read", err);
                if (n == 0)
                        return changed_fail(w, rel, err);
                if (archive_write_data(w->tar, w->buf, (size_t) n) != n)
                        return archive_fail(w->tar, "write layer tar", err);
                left -= n;
        }
        return 0;
}

static int write_file(struct writer *w, const struct entry *x, int pfd, const char *base,
                      struct berth_error **err)
{
        _cleanup_(archive_entry_freep) struct archive_entry *e = NULL;
        _autoclose_ int fd = -EBADF;
        struct stat st;
        int r;

        /* O_NONBLOCK: should a fifo have taken its place, open must not hang */
        fd = openat(pfd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return fail_at(w->upper, x->path, errno, "open", err);
        if (fstat(fd, &st) < 0)
                return fail_at(w->upper, x->path, errno, "stat", err);
        if (!same_file(&st, &x->st))
                return changed_fail(w, x->path, err);
        e = header_new(x->path, &st);
        archive_entry_set_size(e, st.st_size);
        r = add_xattrs(w, e, pfd, base, x->path, err);
        if (r < 0)
                return r;
        r = header_write(w, e, err);
        if (r < 0)
                return r;
        return copy_data(w, fd, x->path, st.st_size, err);
}

/* Directories, symlinks, device nodes, fifos and hardlinks: a header without data. */
static int write_other(struct writer *w, const struct entry *x, int pfd, const char *base,
                       struct berth_error **err)
{
        _cleanup_(archive_entry_freep) struct archive_entry *e = NULL;
        char target[PATH_MAX];
        struct stat st;
        ssize_t n;
        int r;

        if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return fail_at(w->upper, x->path, errno, "stat", err);
        if (!same_file(&st, &x->st))
                return changed_fail(w, x->path, err);
        e = header_new(x->path, &st);
        if (x->link) {
                archive_entry_set_hardlink(e, x->link);
        } else if (S_ISLNK(st.st_mode)) {
                n = readlinkat(pfd, base, target, sizeof(target));
                if (n < 0)
                        return fail_at(w->upper, x->path, errno, "readlink", err);
                if ((size_t) n >= sizeof(target))
                        return fail_at(w->upper, x->path, ENAMETOOLONG, "readlink", err);
                target[n] = '\0';
                archive_entry_set_symlink(e, target);
        } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
                archive_entry_set_rdevmajor(e, major(st.st_rdev));
                archive_entry_set_rdevminor(e, minor(st.st_rdev));
        }
        /* a hardlink's xattrs belong to its inode: the first name of it carries them */
        if (!x->link) {
                r = add_xattrs(w, e, pfd, base, x->path, err);
                if (r < 0)
                        return r;
        }
        return header_write(w, e, err);
}

/* A whiteout: an empty regular file ".wh.NAME", 0600, with the whiteout's owner and mtime. */
static int write_whiteout(struct writer *w, const struct entry *x, struct berth_error **err)
{
        _cleanup_(archive_entry_freep) struct archive_entry *e = NULL;
        const char *slash = strrchr(x->path, '/');
        _autofree_ char *name = NULL;
        struct stat st = x->st;

        name = slash
                   ? xasprintf("%.*s/" WH_PREFIX "%s", (int) (slash - x->path), x->path, slash + 1)
                   : xasprintf(WH_PREFIX "%s", x->path);
        st.st_mode = S_IFREG | 0600;
        e = header_new(name, &st);
        return header_write(w, e, err);
}

/* An opaque directory: "DIR/.wh..wh..opq" right after it, with the directory's owner and mode. */
static int write_opaque(struct writer *w, const struct entry *x, struct berth_error **err)
{
        _cleanup_(archive_entry_freep) struct archive_entry *e = NULL;
        _autofree_ char *name = xasprintf("%s/" WH_OPAQUE, x->path);
        struct stat st = x->st;

        st.st_mode = S_IFREG | (x->st.st_mode & 0777);
        e = header_new(name, &st);
        return header_write(w, e, err);
}

static int write_entry(struct writer *w, int ufd, const struct entry *x, struct berth_error **err)
{
        _autoclose_ int pfd = -EBADF;
        const char *base;
        int r;

        if (x->whiteout)
                return write_whiteout(w, x, err);
        pfd = open_parent(ufd, x->path, &base);
        if (pfd < 0 && (errno == ELOOP || errno == ENOTDIR || errno == EXDEV))
                return changed_fail(w, x->path, err);
        if (pfd < 0)
                return fail_at(w->upper, x->path, errno, "open the parent of", err);
        if (S_ISREG(x->st.st_mode) && !x->link)
                return write_file(w, x, pfd, base, err);
        r = write_other(w, x, pfd, base, err);
        if (r < 0 || !x->opaque)
                return r;
        return write_opaque(w, x, err);
}

int berth_layer_diff_write(const char *upper, int out_fd, char **ret_diff_id, char **ret_digest,
                           int64_t *ret_size, struct berth_error **err)
{
        _cleanup_(entries_clear) struct entries list = {0};
        _cleanup_(writer_clear) struct writer w = {0};
        _autoclose_ int ufd = -EBADF;
        uint64_t t = TRACE_T0();
        int r;

        r = berth_archive_load(err);
        if (r >= 0)
                r = upper_open(upper, &ufd, err);
        if (r < 0)
                return r;
        r = collect_upper(upper, ufd, &list, err);
        if (r < 0)
                return r;
        r = writer_open(&w, upper, out_fd, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < list.n; i++) {
                r = write_entry(&w, ufd, &list.v[i], err);
                if (r < 0)
                        return r;
        }
        r = writer_finish(&w, ret_diff_id, ret_digest, ret_size, err);
        TRACE(t, "layer tar of %s: %zu entries", upper, list.n);
        return r;
}
