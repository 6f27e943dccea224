/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The copy machinery of `berth cp` (cp-tree.h): trees walked through directory fds, tar streams
 * in and out, and entries written below a directory with *at() calls on parents that
 * openat2(2) resolved inside a root.
 */
#define _GNU_SOURCE 1
#include "image/archive-dl.h"
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "engine/cp-tree.h"
#include "base/log.h"
#include "base/path.h"
#include "base/syscalls.h"
#include "base/util.h"

#define DATA_CHUNK (64 * 1024)
#define TAR_BLOCK 512
/* The xattr a tar of docker's archiver carries (moby's addTarFile). */
#define XATTR_CAPS "security.capability"

struct dir_time {
        char *path; /* below the extraction dir, for openat2 */
        struct timespec mtime;
};

struct cp_sink {
        /* a tar */
        struct archive *a;
        int fd;
        /* a directory */
        int rootfd;
        struct cp_dir_opts o;
        char *dir, *shown;
        struct dir_time *dirs;
        size_t n_dirs;
        /* both */
        uint64_t bytes;
        char buf[DATA_CHUNK];
};

/* ---- names ------------------------------------------------------------------------------ */

/* Go's filepath.Clean of name taken as relative ("/a//b/../c" -> "a/c", "./" -> ""); NULL when
 * it leaves ("../x", "a/../../x"). */
static char *clean_name(const char *name)
{
        _autofree_ char *out = xcalloc(strlen(name) + 1, 1);
        size_t o = 0;

        for (const char *p = name; *p;) {
                size_t n = strcspn(p, "/");

                if (n == 2 && p[0] == '.' && p[1] == '.') {
                        if (o == 0)
                                return NULL;
                        while (o > 0 && out[o - 1] != '/')
                                o--;
                        o = o > 0 ? o - 1 : 0;
                } else if (n > 0 && !(n == 1 && p[0] == '.')) {
                        if (o > 0)
                                out[o++] = '/';
                        memcpy(out + o, p, n);
                        o += n;
                }
                p += n;
                p += strspn(p, "/");
        }
        out[o] = '\0';
        return steal_ptr(&out);
}

static char *join(const char *dir, const char *name)
{
        if (!*dir)
                return xstrdup(name);
        if (!*name)
                return xstrdup(dir);
        return xasprintf("%s/%s", dir, name);
}

/* ---- the tar sink -------------------------------------------------------------------------- */

static la_ssize_t tar_out(struct archive *a, void *cookie, const void *buf, size_t len)
{
        struct cp_sink *k = cookie;
        int r = write_all(k->fd, buf, len);

        if (r < 0) {
                archive_set_error(a, -r, "write: %s", strerror(-r));
                return -1;
        }
        k->bytes += len;
        return (la_ssize_t) len;
}

static int archive_fail(struct archive *a, const char *what, struct berth_error **err)
{
        int code = archive_errno(a);

        return berth_error_setx(err, code > 0 ? code : EIO, "%s: %s", what,
                                archive_error_string(a) ?: "unknown error");
}

int cp_sink_tar(int fd, struct cp_sink **ret, struct berth_error **err)
{
        struct cp_sink *k;
        int r = berth_archive_load(err);

        if (r < 0)
                return r;
        k = xcalloc(1, sizeof(*k));
        k->fd = fd;
        k->rootfd = -EBADF;
        k->a = archive_write_new();
        if (!k->a) {
                free(k);
                return berth_error_setx(err, ENOMEM, "archive_write_new failed");
        }
        /* Go's tar writer ends with 1024 zero bytes, no padding to a 10240-byte record */
        if (archive_write_set_format_pax_restricted(k->a) != ARCHIVE_OK ||
            archive_write_add_filter_none(k->a) != ARCHIVE_OK ||
            archive_write_set_bytes_in_last_block(k->a, 1) != ARCHIVE_OK ||
            archive_write_open(k->a, k, NULL, tar_out, NULL) != ARCHIVE_OK) {
                r = archive_fail(k->a, "write tar", err);
                cp_sink_free(k);
                return r;
        }
        *ret = k;
        return 0;
}

static struct archive_entry *tar_header(const struct cp_entry *e)
{
        struct archive_entry *h = archive_entry_new();

        if (!h)
                return NULL;
        archive_entry_set_pathname(h, e->name);
        archive_entry_set_uid(h, e->uid);
        archive_entry_set_gid(h, e->gid);
        archive_entry_set_perm(h, e->mode & 07777);
        /* whole seconds and no atime or ctime: docker's archiver truncates them */
        archive_entry_set_mtime(h, e->mtime.tv_sec, 0);
        for (size_t i = 0; i < e->n_xattrs; i++)
                archive_entry_xattr_add_entry(h, e->xattrs[i].name, e->xattrs[i].value,
                                              e->xattrs[i].len);
        if (e->hardlink) {
                archive_entry_set_filetype(h, AE_IFREG);
                archive_entry_set_hardlink(h, e->hardlink);
                archive_entry_set_size(h, 0);
                return h;
        }
        archive_entry_set_filetype(h, e->mode & S_IFMT);
        if (S_ISLNK(e->mode))
                archive_entry_set_symlink(h, e->symlink);
        if (S_ISREG(e->mode))
                archive_entry_set_size(h, e->size);
        if (S_ISCHR(e->mode) || S_ISBLK(e->mode)) {
                archive_entry_set_rdevmajor(h, major(e->rdev));
                archive_entry_set_rdevminor(h, minor(e->rdev));
        }
        return h;
}

static int tar_put(struct cp_sink *k, const struct cp_entry *e, cp_read_fn rd, void *userdata,
                   struct berth_error **err)
{
        _cleanup_(archive_entry_freep) struct archive_entry *h = tar_header(e);
        int64_t left = S_ISREG(e->mode) && !e->hardlink ? e->size : 0;

        if (!h)
                return berth_error_setx(err, ENOMEM, "archive_entry_new failed");
        if (archive_write_header(k->a, h) < ARCHIVE_WARN)
                return archive_fail(k->a, "write tar", err);
        while (left > 0) {
                ssize_t n = rd(userdata, k->buf,
                               (size_t) (left < DATA_CHUNK ? left : (int64_t) DATA_CHUNK));

                if (n < 0)
                        return berth_error_set(err, (int) -n, "read %s", QUOTE(e->name));
                if (n == 0)
                        break; /* shrank meanwhile: libarchive pads the entry with zeros */
                if (archive_write_data(k->a, k->buf, (size_t) n) < 0)
                        return archive_fail(k->a, "write tar", err);
                left -= n;
        }
        return 0;
}

/* ---- the directory sink ------------------------------------------------------------------ */

int cp_sink_dir(int rootfd, const struct cp_dir_opts *o, struct cp_sink **ret,
                struct berth_error **err)
{
        struct cp_sink *k = xcalloc(1, sizeof(*k));

        (void) err;
        k->fd = -EBADF;
        k->rootfd = rootfd;
        k->o = *o;
        k->dir = xstrdup(o->dir ? o->dir : "");
        k->shown = o->shown ? xstrdup(o->shown) : xasprintf("/%s", k->dir);
        k->o.dir = k->dir;
        k->o.shown = k->shown;
        *ret = k;
        return 0;
}

static int resolve_dir(const struct cp_sink *k, const char *path, int flags)
{
        struct berth_open_how how = {
            .flags = (uint64_t) flags | O_DIRECTORY | O_CLOEXEC,
            .resolve = RESOLVE_NO_MAGICLINKS | (k->o.in_root ? RESOLVE_IN_ROOT : RESOLVE_BENEATH),
        };
        int fd;

        /* -EAGAIN: a rename raced with a ".." step; the kernel asks us to try again */
        do
                fd = sys_openat2(k->rootfd, *path ? path : ".", &how);
        while (fd < 0 && errno == EAGAIN);
        return fd;
}

/* The name messages show: the path in the container ("/tmp/d/a"), or on the host. */
static char *shown_path(const struct cp_sink *k, const char *rel)
{
        size_t n = strlen(k->dir), s = strlen(k->shown);
        const char *below = rel;

        if (n > 0 && (!startswith(rel, k->dir) || (rel[n] != '/' && rel[n] != '\0')))
                return xasprintf("/%s", rel);
        if (n > 0)
                below = rel + n + (rel[n] == '/');
        if (!*below)
                return xstrdup(k->shown);
        return xasprintf("%s%s%s", k->shown, s > 0 && k->shown[s - 1] == '/' ? "" : "/", below);
}

static int path_fail(const struct cp_sink *k, const char *rel, int code, const char *what,
                     struct berth_error **err)
{
        _autofree_ char *p = shown_path(k, rel);

        return berth_error_set(err, code, "%s %s", what, p);
}

/* Creates the missing directories of path (below the root) one component at a time, each step
 * resolved again from the root. */
static int make_parents(const struct cp_sink *k, const char *path, struct berth_error **err)
{
        _autofree_ char *prefix = xstrdup(path);
        _autoclose_ int fd = resolve_dir(k, "", O_PATH);

        if (fd < 0)
                return path_fail(k, "", errno, "open", err);
        for (char *slash = prefix, *name; slash;) {
                _autoclose_ int next = -EBADF;

                slash = strchr(slash, '/');
                if (slash)
                        *slash = '\0';
                name = strrchr(prefix, '/') ? strrchr(prefix, '/') + 1 : prefix;
                next = resolve_dir(k, prefix, O_PATH);
                if (next < 0 && errno == ENOENT) {
                        if (mkdirat(fd, name, 0755) < 0 && errno != EEXIST)
                                return path_fail(k, prefix, errno, "mkdir", err);
                        next = resolve_dir(k, prefix, O_PATH);
                }
                if (next < 0)
                        return path_fail(k, prefix, errno, "open", err);
                closep(&fd);
                fd = steal_fd(&next);
                if (slash)
                        *slash++ = '/';
        }
        return 0;
}

static int open_parent(const struct cp_sink *k, const char *parent, int *ret_fd,
                       struct berth_error **err)
{
        int fd = resolve_dir(k, parent, O_PATH), r;

        if (fd < 0 && errno == ENOENT) {
                r = make_parents(k, parent, err);
                if (r < 0)
                        return r;
                fd = resolve_dir(k, parent, O_PATH);
        }
        if (fd < 0)
                return path_fail(k, parent, errno, "open", err);
        *ret_fd = fd;
        return 0;
}

/* Docker's NoOverwriteDirNonDir, then room for the entry: an existing non-directory is removed;
 * returns 1 when an existing directory stays (the entry is a directory too). */
static int make_room(const struct cp_sink *k, const struct cp_entry *e, int pfd, const char *base,
                     const char *rel, struct berth_error **err)
{
        bool is_dir = S_ISDIR(e->mode) && !e->hardlink;
        _autofree_ char *p = NULL, *d = NULL;
        struct stat st;

        if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : path_fail(k, rel, errno, "lstat", err);
        if (S_ISDIR(st.st_mode) && is_dir)
                return 1;
        p = shown_path(k, rel);
        d = xstrdup(k->shown);
        if (S_ISDIR(st.st_mode))
                return berth_error_setx(err, EISDIR,
                                        "cannot overwrite directory \"%s\" with non-directory "
                                        "\"%s\"",
                                        p, d);
        if (is_dir)
                return berth_error_setx(err, ENOTDIR,
                                        "cannot overwrite non-directory \"%s\" with directory "
                                        "\"%s\"",
                                        p, d);
        if (unlinkat(pfd, base, 0) < 0 && errno != ENOENT)
                return path_fail(k, rel, errno, "remove", err);
        return 0;
}

static bool is_overlay_xattr(const char *name)
{
        return startswith(name, "trusted.overlay.") || startswith(name, "user.overlay.");
}

/* xattrs on fd, or (fd < 0: symlinks, nodes) on base below pfd without following it. Those the
 * filesystem refuses are left out with a warning, as docker's untar does. */
static void put_xattrs(const struct cp_sink *k, const struct cp_entry *e, int fd, int pfd,
                       const char *base, const char *rel)
{
        char path[64 + NAME_MAX];

        snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", pfd, base);
        for (size_t i = 0; i < e->n_xattrs; i++) {
                const struct cp_xattr *x = &e->xattrs[i];
                _autofree_ char *p = NULL;
                int r;

                if (is_overlay_xattr(x->name))
                        r = -1, errno = EPERM;
                else
                        r = fd >= 0 ? fsetxattr(fd, x->name, x->value, x->len, 0)
                                    : lsetxattr(path, x->name, x->value, x->len, 0);
                if (r == 0)
                        continue;
                p = shown_path(k, rel);
                berth_warn("cp: %s: xattr %s: %s, ignoring", p, x->name, strerror(errno));
        }
}

static bool chowns(const struct cp_sink *k)
{
        return k->o.owner != CP_OWNER_NONE;
}

static uid_t owner_uid(const struct cp_sink *k, const struct cp_entry *e)
{
        return k->o.owner == CP_OWNER_FIXED ? k->o.uid : e->uid;
}

static gid_t owner_gid(const struct cp_sink *k, const struct cp_entry *e)
{
        return k->o.owner == CP_OWNER_FIXED ? k->o.gid : e->gid;
}

/* Owner, mode (after chown, which clears set-id bits), xattrs (chown and writes clear file
 * capabilities), times: all through an fd of the file or directory itself. */
static int meta_fd(const struct cp_sink *k, const struct cp_entry *e, int fd, int pfd,
                   const char *base, const char *rel, bool times, struct berth_error **err)
{
        struct timespec ts[2] = {e->mtime, e->mtime};

        if (chowns(k) && fchown(fd, owner_uid(k, e), owner_gid(k, e)) < 0)
                return path_fail(k, rel, errno, "chown", err);
        if (fchmod(fd, e->mode & 07777) < 0)
                return path_fail(k, rel, errno, "chmod", err);
        put_xattrs(k, e, fd, pfd, base, rel);
        if (times && futimens(fd, ts) < 0)
                return path_fail(k, rel, errno, "set times of", err);
        return 0;
}

static int write_data(struct cp_sink *k, int fd, const struct cp_entry *e, const char *rel,
                      cp_read_fn rd, void *userdata, struct berth_error **err)
{
        char *buf = k->buf;
        int64_t left = e->size;

        while (left > 0) {
                ssize_t n =
                    rd(userdata, buf, (size_t) (left < DATA_CHUNK ? left : (int64_t) DATA_CHUNK));
                int r;

                if (n < 0)
                        return berth_error_set(err, (int) -n, "read %s", QUOTE(e->name));
                if (n == 0)
                        break;
                r = write_all(fd, buf, (size_t) n);
                if (r < 0)
                        return path_fail(k, rel, -r, "write", err);
                left -= n;
        }
        return 0;
}

static int put_file(struct cp_sink *k, const struct cp_entry *e, int pfd, const char *base,
                    const char *rel, cp_read_fn rd, void *userdata, struct berth_error **err)
{
        _autoclose_ int fd =
            openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        int r;

        if (fd < 0)
                return path_fail(k, rel, errno, "create", err);
        r = write_data(k, fd, e, rel, rd, userdata, err);
        if (r >= 0)
                r = meta_fd(k, e, fd, pfd, base, rel, true, err);
        return r;
}

static int put_dir(struct cp_sink *k, const struct cp_entry *e, int pfd, const char *base,
                   const char *rel, bool exists, struct berth_error **err)
{
        _autoclose_ int fd = -EBADF;
        int r;

        if (!exists && mkdirat(pfd, base, 0700) < 0)
                return path_fail(k, rel, errno, "mkdir", err);
        fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return path_fail(k, rel, errno, "open", err);
        r = meta_fd(k, e, fd, pfd, base, rel, false, err);
        if (r < 0)
                return r;
        /* its children change its mtime: set at the end, as docker's untar does */
        k->dirs = xreallocarray(k->dirs, k->n_dirs + 1, sizeof(*k->dirs));
        k->dirs[k->n_dirs++] = (struct dir_time){xstrdup(rel), e->mtime};
        return 0;
}

/* Owner, mode and times of what was just made at base (a symlink or a node): without following
 * base, which a container could have swapped for a symlink meanwhile. chmod goes through an
 * O_PATH fd of the node itself (fchmodat(2) has no "don't follow"). */
static int meta_at(const struct cp_sink *k, const struct cp_entry *e, int pfd, const char *base,
                   const char *rel, struct berth_error **err)
{
        struct timespec ts[2] = {e->mtime, e->mtime};
        char proc[BERTH_FD_PATH_MAX];
        _autoclose_ int fd = -EBADF;
        struct stat st;

        if (chowns(k) &&
            fchownat(pfd, base, owner_uid(k, e), owner_gid(k, e), AT_SYMLINK_NOFOLLOW) < 0)
                return path_fail(k, rel, errno, "chown", err);
        if (!S_ISLNK(e->mode)) {
                fd = openat(pfd, base, O_PATH | O_NOFOLLOW | O_CLOEXEC);
                if (fd < 0 || fstat(fd, &st) < 0)
                        return path_fail(k, rel, errno, "open", err);
                if ((st.st_mode & S_IFMT) != (e->mode & S_IFMT))
                        return path_fail(k, rel, ESTALE, "replaced while written:", err);
                if (chmod(berth_fd_path(fd, proc), e->mode & 07777) < 0)
                        return path_fail(k, rel, errno, "chmod", err);
        }
        put_xattrs(k, e, -EBADF, pfd, base, rel);
        if (utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
                return path_fail(k, rel, errno, "set times of", err);
        return 0;
}

static int put_hardlink(struct cp_sink *k, const struct cp_entry *e, int pfd, const char *base,
                        const char *rel, struct berth_error **err)
{
        _autofree_ char *target = clean_name(e->hardlink), *full = NULL, *p = NULL;
        _autoclose_ int tfd = -EBADF;
        char *slash;

        if (!target || !*target) {
                p = shown_path(k, rel);
                return berth_error_setx(err, EXDEV, "%s: hard link %s is outside of \"%s\"", p,
                                        QUOTE(e->hardlink), k->shown);
        }
        full = join(k->dir, target);
        slash = strrchr(full, '/');
        if (slash)
                *slash = '\0';
        tfd = resolve_dir(k, slash ? full : "", O_PATH);
        if (tfd < 0)
                return path_fail(k, rel, errno, "link: open the directory of", err);
        /* flags 0: a symlink is linked itself, never followed */
        if (linkat(tfd, slash ? slash + 1 : full, pfd, base, 0) < 0)
                return path_fail(k, rel, errno, "link", err);
        return 0;
}

static int put_at(struct cp_sink *k, const struct cp_entry *e, int pfd, const char *base,
                  const char *rel, cp_read_fn rd, void *userdata, struct berth_error **err)
{
        int r = make_room(k, e, pfd, base, rel, err);

        if (r < 0)
                return r;
        if (e->hardlink)
                return put_hardlink(k, e, pfd, base, rel, err);
        switch (e->mode & S_IFMT) {
        case S_IFREG:
                return put_file(k, e, pfd, base, rel, rd, userdata, err);
        case S_IFDIR:
                return put_dir(k, e, pfd, base, rel, r == 1, err);
        case S_IFLNK:
                if (symlinkat(e->symlink, pfd, base) < 0)
                        return path_fail(k, rel, errno, "symlink", err);
                return meta_at(k, e, pfd, base, rel, err);
        case S_IFIFO:
        case S_IFCHR:
        case S_IFBLK:
                if (mknodat(pfd, base, (e->mode & S_IFMT) | 0600, e->rdev) < 0)
                        return path_fail(k, rel, errno, "mknod", err);
                return meta_at(k, e, pfd, base, rel, err);
        default:
                return 0; /* sockets: nothing to make, as docker's untar */
        }
}

/* docker's tar: 512 bytes a header, data padded to 512 (hard links have none), 1024 at the end;
 * a name too long for ustar takes a pax header more. */
static uint64_t tar_size(const struct cp_entry *e)
{
        uint64_t n = TAR_BLOCK;

        if (strlen(e->name) + S_ISDIR(e->mode) > 100 || (e->symlink && strlen(e->symlink) > 100))
                n += 2 * TAR_BLOCK;
        if (S_ISREG(e->mode) && !e->hardlink && e->size > 0)
                n += ((uint64_t) e->size + TAR_BLOCK - 1) / TAR_BLOCK * TAR_BLOCK;
        return n;
}

static int dir_put(struct cp_sink *k, const struct cp_entry *e, cp_read_fn rd, void *userdata,
                   struct berth_error **err)
{
        _autofree_ char *name = clean_name(e->name), *rel = NULL;
        _autoclose_ int pfd = -EBADF;
        char *slash;
        int r;

        if (!name)
                return berth_error_setx(err, EXDEV, "%s is outside of \"%s\"", QUOTE(e->name),
                                        k->shown);
        k->bytes += tar_size(e);
        if (!*name)
                return 0; /* the extraction directory itself ("./"): it exists, docker skips it */
        rel = join(k->dir, name);
        slash = strrchr(rel, '/');
        if (slash)
                *slash = '\0';
        r = open_parent(k, slash ? rel : "", &pfd, err);
        if (slash)
                *slash = '/';
        if (r < 0)
                return r;
        return put_at(k, e, pfd, slash ? slash + 1 : rel, rel, rd, userdata, err);
}

int cp_sink_put(struct cp_sink *k, const struct cp_entry *e, cp_read_fn rd, void *userdata,
                struct berth_error **err)
{
        return k->a ? tar_put(k, e, rd, userdata, err) : dir_put(k, e, rd, userdata, err);
}

/* Directory times, deepest first (a parent's would change with its children's). */
static int dir_times(struct cp_sink *k, struct berth_error **err)
{
        for (size_t i = k->n_dirs; i-- > 0;) {
                struct timespec ts[2] = {k->dirs[i].mtime, k->dirs[i].mtime};
                _autoclose_ int fd = resolve_dir(k, k->dirs[i].path, O_RDONLY);

                if (fd < 0 || futimens(fd, ts) < 0)
                        return path_fail(k, k->dirs[i].path, errno, "set times of", err);
        }
        return 0;
}

int cp_sink_finish(struct cp_sink *k, struct berth_error **err)
{
        if (!k->a) {
                k->bytes += 2 * TAR_BLOCK;
                return dir_times(k, err);
        }
        if (archive_write_close(k->a) != ARCHIVE_OK)
                return archive_fail(k->a, "write tar", err);
        return 0;
}

uint64_t cp_sink_bytes(const struct cp_sink *k)
{
        return k->bytes;
}

void cp_sink_free(struct cp_sink *k)
{
        if (!k)
                return;
        if (k->a)
                archive_write_free(k->a);
        for (size_t i = 0; i < k->n_dirs; i++)
                free(k->dirs[i].path);
        free(k->dirs);
        free(k->dir);
        free(k->shown);
        free(k);
}

/* ---- the tree walker --------------------------------------------------------------------- */

struct seen {
        dev_t dev;
        ino_t ino;
        char *name;
};

struct walker {
        struct cp_sink *k;
        struct seen *seen; /* inodes with more than one link, and their first name */
        size_t n_seen;
};

static ssize_t fd_read(void *userdata, void *buf, size_t len)
{
        ssize_t n;

        do
                n = read(*(int *) userdata, buf, len);
        while (n < 0 && errno == EINTR);
        return n < 0 ? -errno : n;
}

static void entry_clear(struct cp_entry *e)
{
        for (size_t i = 0; i < e->n_xattrs; i++) {
                free(e->xattrs[i].name);
                free(e->xattrs[i].value);
        }
        free(e->xattrs);
        free(e->symlink);
        free(e->hardlink);
        *e = (struct cp_entry){0};
}

static void entry_from_stat(struct cp_entry *e, const char *name, const struct stat *st)
{
        *e = (struct cp_entry){
            .name = name,
            .mode = st->st_mode,
            .uid = st->st_uid,
            .gid = st->st_gid,
            .size = S_ISREG(st->st_mode) ? st->st_size : 0,
            .mtime = st->st_mtim,
            .rdev = st->st_rdev,
        };
}

/* security.capability of a file, as docker's archiver keeps it. */
static void read_caps(struct cp_entry *e, int fd)
{
        char buf[256];
        ssize_t n = fgetxattr(fd, XATTR_CAPS, buf, sizeof(buf));

        if (n <= 0)
                return;
        e->xattrs = xcalloc(1, sizeof(*e->xattrs));
        e->xattrs[0] = (struct cp_xattr){xstrdup(XATTR_CAPS), xcalloc(1, (size_t) n), (size_t) n};
        memcpy(e->xattrs[0].value, buf, (size_t) n);
        e->n_xattrs = 1;
}

/* Returns true when the inode of a regular file was seen under another name (e->hardlink). */
static bool hardlinked(struct walker *w, struct cp_entry *e, const struct stat *st)
{
        if (st->st_nlink < 2)
                return false;
        for (size_t i = 0; i < w->n_seen; i++)
                if (w->seen[i].dev == st->st_dev && w->seen[i].ino == st->st_ino) {
                        e->hardlink = xstrdup(w->seen[i].name);
                        e->size = 0;
                        return true;
                }
        w->seen = xreallocarray(w->seen, w->n_seen + 1, sizeof(*w->seen));
        w->seen[w->n_seen++] = (struct seen){st->st_dev, st->st_ino, xstrdup(e->name)};
        return false;
}

static int walk_file(struct walker *w, int fd, struct cp_entry *e, const struct stat *st,
                     struct berth_error **err)
{
        char proc[BERTH_FD_PATH_MAX];
        _autoclose_ int rfd = -EBADF;
        struct stat again;

        if (hardlinked(w, e, st))
                return cp_sink_put(w->k, e, NULL, NULL, err);
        /* the inode fstat checked, never a name: a FIFO or device swapped in is not opened */
        rfd = open(berth_fd_path(fd, proc), O_RDONLY | O_NOCTTY | O_CLOEXEC);
        if (rfd < 0 || fstat(rfd, &again) < 0 || again.st_ino != st->st_ino)
                return berth_error_set(err, rfd < 0 ? errno : ESTALE, "open %s", QUOTE(e->name));
        read_caps(e, rfd);
        return cp_sink_put(w->k, e, fd_read, &rfd, err);
}

static int walk_node(struct walker *w, int pfd, const char *base, const char *name, bool top,
                     struct berth_error **err);

static int cmp_names(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* The names in a directory (without "." and ".."), sorted as Go's WalkDir reads them. */
static int list_dir(int dfd, const char *name, char ***ret, size_t *ret_n, struct berth_error **err)
{
        int fd = fcntl(dfd, F_DUPFD_CLOEXEC, 3);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        char **v = NULL;
        size_t n = 0;
        struct dirent *de;

        if (!d) {
                if (fd >= 0)
                        close(fd);
                return berth_error_set(err, errno, "read directory %s", QUOTE(name));
        }
        while ((errno = 0, de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        strv_push(&v, &n, xstrdup(de->d_name));
        closedir(d);
        if (n > 1)
                qsort(v, n, sizeof(*v), cmp_names);
        *ret = v;
        *ret_n = n;
        return 0;
}

static int walk_dir(struct walker *w, int fd, struct cp_entry *e, struct berth_error **err)
{
        _autoclose_ int dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _autostrv_ char **names = NULL;
        size_t n = 0;
        int r;

        if (dfd < 0)
                return berth_error_set(err, errno, "open %s", QUOTE(e->name));
        r = cp_sink_put(w->k, e, NULL, NULL, err);
        if (r >= 0)
                r = list_dir(dfd, e->name, &names, &n, err);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                _autofree_ char *child = streq(e->name, "/")
                                             ? xasprintf("/%s", names[i])
                                             : xasprintf("%s/%s", e->name, names[i]);

                r = walk_node(w, dfd, names[i], child, false, err);
        }
        return r;
}

static int walk_node(struct walker *w, int pfd, const char *base, const char *name, bool top,
                     struct berth_error **err)
{
        _autoclose_ int fd = openat(pfd, base ? base : ".", O_PATH | O_NOFOLLOW | O_CLOEXEC);
        _cleanup_(entry_clear) struct cp_entry e = {0};
        char target[PATH_MAX];
        struct stat st;
        ssize_t n;

        if (fd < 0 && errno == ENOENT && !top)
                return 0; /* gone meanwhile: docker's archiver leaves it out too */
        if (fd < 0 || fstat(fd, &st) < 0)
                return berth_error_set(err, errno, "open %s", QUOTE(name));
        entry_from_stat(&e, name, &st);
        switch (st.st_mode & S_IFMT) {
        case S_IFREG:
                return walk_file(w, fd, &e, &st, err);
        case S_IFDIR:
                return walk_dir(w, fd, &e, err);
        case S_IFLNK:
                n = readlinkat(fd, "", target, sizeof(target) - 1);
                if (n < 0)
                        return berth_error_set(err, errno, "readlink %s", QUOTE(name));
                target[n] = '\0';
                e.symlink = xstrdup(target);
                return cp_sink_put(w->k, &e, NULL, NULL, err);
        case S_IFSOCK:
                return 0; /* docker's archiver skips sockets */
        default:
                return cp_sink_put(w->k, &e, NULL, NULL, err);
        }
}

int cp_walk(int pfd, const char *base, const char *top, struct cp_sink *k, struct berth_error **err)
{
        struct walker w = {.k = k};
        int r = walk_node(&w, pfd, base, top, true, err);

        for (size_t i = 0; i < w.n_seen; i++)
                free(w.seen[i].name);
        free(w.seen);
        return r;
}

/* ---- a tar stream in ------------------------------------------------------------------------ */

static ssize_t archive_read(void *userdata, void *buf, size_t len)
{
        struct archive *a = userdata;
        la_ssize_t n = archive_read_data(a, buf, len);

        if (n < 0)
                return -(archive_errno(a) > 0 ? archive_errno(a) : EIO);
        return n;
}

static void entry_from_archive(struct cp_entry *e, struct archive_entry *h)
{
        const char *xname;
        const void *value;
        size_t len;

        *e = (struct cp_entry){
            .name = archive_entry_pathname(h),
            .mode = archive_entry_filetype(h) | (archive_entry_perm(h) & 07777),
            .uid = (uid_t) archive_entry_uid(h),
            .gid = (gid_t) archive_entry_gid(h),
            .size = archive_entry_size(h),
            .mtime = {archive_entry_mtime(h), archive_entry_mtime_nsec(h)},
            .rdev = makedev(archive_entry_rdevmajor(h), archive_entry_rdevminor(h)),
        };
        if (archive_entry_symlink(h))
                e->symlink = xstrdup(archive_entry_symlink(h));
        if (archive_entry_hardlink(h))
                e->hardlink = xstrdup(archive_entry_hardlink(h));
        if (archive_entry_xattr_reset(h) == 0)
                return;
        while (archive_entry_xattr_next(h, &xname, &value, &len) == ARCHIVE_OK) {
                e->xattrs = xreallocarray(e->xattrs, e->n_xattrs + 1, sizeof(*e->xattrs));
                e->xattrs[e->n_xattrs] =
                    (struct cp_xattr){xstrdup(xname), xcalloc(1, len + 1), len};
                memcpy(e->xattrs[e->n_xattrs++].value, value, len);
        }
}

static int open_reader(int fd, struct archive **ret, struct berth_error **err)
{
        _cleanup_(archive_read_freep) struct archive *a = archive_read_new();

        if (!a)
                return berth_error_setx(err, ENOMEM, "archive_read_new failed");
        if (archive_read_support_format_tar(a) != ARCHIVE_OK ||
            archive_read_support_format_gnutar(a) != ARCHIVE_OK ||
            archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
            archive_read_support_filter_zstd(a) != ARCHIVE_OK ||
            archive_read_support_filter_none(a) != ARCHIVE_OK)
                return archive_fail(a, "read tar", err);
        if (archive_read_open_fd(a, fd, DATA_CHUNK) != ARCHIVE_OK)
                return archive_fail(a, "read tar", err);
        *ret = steal_ptr(&a);
        return 0;
}

int cp_untar(int fd, struct cp_sink *k, struct berth_error **err)
{
        _cleanup_(archive_read_freep) struct archive *a = NULL;
        struct archive_entry *h;
        int r = berth_archive_load(err);

        if (r >= 0)
                r = open_reader(fd, &a, err);
        while (r >= 0) {
                _cleanup_(entry_clear) struct cp_entry e = {0};

                r = archive_read_next_header(a, &h);
                if (r == ARCHIVE_EOF)
                        return 0;
                if (r == ARCHIVE_WARN)
                        berth_warn("read tar: %s, ignoring", archive_error_string(a) ?: "?");
                else if (r != ARCHIVE_OK)
                        return archive_fail(a, "read tar", err);
                entry_from_archive(&e, h);
                if (!e.name)
                        return berth_error_setx(err, EINVAL, "read tar: an entry without a name");
                r = cp_sink_put(k, &e, archive_read, a, err);
        }
        return r;
}
