/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Layer unpacking without archive_write_disk(): libarchive only parses the stream, and every entry
 * is created here with *at() syscalls relative to a directory fd resolved inside the layer.
 *
 * Path semantics (the same as runc's and umoci's "resolve in root"):
 *  - names lose leading "/" and "./", "." components and repeated slashes; a ".." component is
 *    refused, so the name itself never leaves the layer;
 *  - the parent directory of an entry is resolved with openat2(RESOLVE_IN_ROOT |
 *    RESOLVE_NO_MAGICLINKS) from the layer root: symlinks in the layer are followed, but as if the
 *    layer were "/", so "link -> /etc" then "link/passwd" writes <layer>/etc/passwd, and
 *    "a -> ../../.." then "a/x" writes <layer>/x. Missing parents are created (0755, root);
 *    a parent that is a dangling symlink is an error;
 *  - the last component is never followed: an existing entry of the same name is removed first
 *    (a whole tree if it is a directory, unless the new entry is a directory too, which is then
 *    only updated), and files are created with O_CREAT|O_EXCL|O_NOFOLLOW;
 *  - a hardlink's source is resolved the same way; a source with ".." is refused.
 * Whiteouts: ".wh.NAME" removes NAME and leaves a 0/0 character device; ".wh..wh..opq" sets
 * trusted.overlay.opaque="y" on its directory; other ".wh..wh." (aufs metadata) are skipped.
 * Overlay xattrs in the tar itself ("trusted.overlay.*", "user.overlay.*") are ignored with a
 * warning: they would let a layer forge redirects or opaque flags. Root directory entries ("./")
 * are skipped: the caller owns the target directory. Directory times are set when the directory
 * entry is unpacked, so later children in the same layer bump its mtime.
 */
#define _GNU_SOURCE 1
#include "image/archive-dl.h"
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "image/layer.h"
#include "base/log.h"
#include "base/sha256.h"
#include "base/syscalls.h"
#include "base/util.h"

#define DEFAULT_MAX_BYTES (UINT64_C(64) << 30)
#define DEFAULT_MAX_ENTRIES UINT64_C(10000000)
#define WH_PREFIX ".wh."
#define WH_META_PREFIX ".wh..wh."
#define WH_OPAQUE ".wh..wh..opq"

struct unpacker {
        struct archive *a;
        int dirfd;
        bool allow_devices, skip_devices;
        uint64_t max_bytes, max_entries;
        struct berth_layer_stats st;
        const char *entry; /* the entry's name as stored in the tar, for messages */
};

static int entry_fail(const struct unpacker *u, int code, const char *what,
                      struct berth_error **err)
{
        return berth_error_set(err, code, "layer entry %s: %s", QUOTE(u->entry), what);
}

static int entry_failx(const struct unpacker *u, int code, const char *what,
                       struct berth_error **err)
{
        return berth_error_setx(err, code, "layer entry %s: %s", QUOTE(u->entry), what);
}

static int name_fail(const struct unpacker *u, const char *what, const char *raw, int code,
                     const char *why, struct berth_error **err)
{
        if (!what)
                return entry_failx(u, code, why, err);
        return berth_error_setx(err, code, "layer entry %s: %s %s: %s", QUOTE(u->entry), what,
                                QUOTE(raw), why);
}

/* "./a//b/./c" -> "a/b/c"; "/" and "./" -> "". Refuses ".." components. what: NULL for the
 * entry's own name, else what raw is ("hardlink target"), for the message. */
static int normalize_name(const struct unpacker *u, const char *what, const char *raw, char **ret,
                          struct berth_error **err)
{
        size_t len = strlen(raw), o = 0;
        _autofree_ char *out = NULL;

        if (len >= PATH_MAX)
                return name_fail(u, what, raw, ENAMETOOLONG, "name too long", err);
        out = xcalloc(len + 1, 1);
        for (const char *p = raw; *p;) {
                size_t n = strcspn(p, "/");

                if (n == 2 && p[0] == '.' && p[1] == '.')
                        return name_fail(u, what, raw, EINVAL, "path leaves the layer", err);
                if (n > 0 && !(n == 1 && p[0] == '.')) {
                        if (o > 0)
                                out[o++] = '/';
                        memcpy(out + o, p, n);
                        o += n;
                }
                p += n;
                p += strspn(p, "/");
        }
        out[o] = '\0';
        *ret = steal_ptr(&out);
        return 0;
}

static int open_in_root(int dirfd, const char *path)
{
        struct berth_open_how how = {
            .flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
            .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
        };

        return sys_openat2(dirfd, *path ? path : ".", &how);
}

/* Creates the missing directories of path one component at a time; each step resolves again
 * from the layer root, so a symlink created by an earlier entry is followed inside the layer. */
static int create_parents(const struct unpacker *u, const char *path, struct berth_error **err)
{
        _autofree_ char *prefix = xstrdup(path);
        _autoclose_ int fd = open_in_root(u->dirfd, "");
        char *slash = prefix;

        if (fd < 0)
                return entry_fail(u, errno, "open layer root", err);
        for (bool last = false; !last;) {
                _autoclose_ int next = -EBADF;
                char *name;

                slash = strchr(slash, '/');
                last = !slash;
                if (slash)
                        *slash = '\0';
                name = strrchr(prefix, '/') ? strrchr(prefix, '/') + 1 : prefix;
                next = open_in_root(u->dirfd, prefix);
                if (next < 0 && errno == ENOENT) {
                        if (mkdirat(fd, name, 0755) < 0 && errno != EEXIST)
                                return entry_fail(u, errno, "create parent: mkdirat", err);
                        next = open_in_root(u->dirfd, prefix);
                }
                if (next < 0)
                        return entry_fail(u, errno, "resolve parent: openat2", err);
                closep(&fd);
                fd = steal_fd(&next);
                if (slash)
                        *slash++ = '/';
        }
        return 0;
}

static int open_parent(const struct unpacker *u, const char *parent, int *ret_fd,
                       struct berth_error **err)
{
        int fd = open_in_root(u->dirfd, parent), r;

        if (fd < 0 && errno == ENOENT) {
                r = create_parents(u, parent, err);
                if (r < 0)
                        return r;
                fd = open_in_root(u->dirfd, parent);
        }
        if (fd < 0)
                return entry_fail(u, errno, "resolve parent: openat2", err);
        *ret_fd = fd;
        return 0;
}

/* Later entries win: removes an existing base unless both are directories. Returns 1 if an
 * existing directory is kept, 0 if base is free now. */
static int make_room(const struct unpacker *u, int pfd, const char *base, bool is_dir,
                     struct berth_error **err)
{
        struct stat st;
        int r;

        if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
                return errno == ENOENT ? 0 : entry_fail(u, errno, "fstatat", err);
        if (is_dir && S_ISDIR(st.st_mode))
                return 1;
        r = berth_rm_rf_at(pfd, base, NULL);
        if (r < 0)
                return entry_fail(u, -r, "replace existing entry", err);
        return 0;
}

static bool is_overlay_xattr(const char *name)
{
        return startswith(name, "trusted.overlay.") || startswith(name, "user.overlay.");
}

/* Sets the entry's xattrs on fd, or on base below pfd (symlinks, nodes) when fd < 0. */
static int apply_xattrs(const struct unpacker *u, struct archive_entry *e, int fd, int pfd,
                        const char *base, struct berth_error **err)
{
        char path[64 + NAME_MAX];
        const char *name;
        const void *value;
        size_t size;
        int r;

        if (archive_entry_xattr_reset(e) == 0)
                return 0;
        /* No fsetxattr on O_PATH fds: go through the already resolved parent, not following base.
         */
        snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", pfd, base);
        while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
                if (is_overlay_xattr(name)) {
                        berth_warn("layer entry %s: overlay xattr %s, ignoring", QUOTE(u->entry),
                                   name);
                        continue;
                }
                r = fd >= 0 ? fsetxattr(fd, name, value, size, 0)
                            : lsetxattr(path, name, value, size, 0);
                if (r == 0)
                        continue;
                /* The kernel allows user.* xattrs only on files and directories (EPERM on a
                 * symlink): skipped with a warning, as containerd does, like unsupported ones. */
                if (errno != ENOTSUP && !(errno == EPERM && fd < 0 && startswith(name, "user.")))
                        return berth_error_set(err, errno, "layer entry %s: setxattr %s",
                                               QUOTE(u->entry), QUOTE(name));
                berth_warn("layer entry %s: xattr %s: %s, ignoring", QUOTE(u->entry), name,
                           strerror(errno));
        }
        return 0;
}

static int entry_ids(const struct unpacker *u, struct archive_entry *e, uid_t *uid, gid_t *gid,
                     struct berth_error **err)
{
        la_int64_t ui = archive_entry_uid(e), gi = archive_entry_gid(e);

        if (ui < 0 || gi < 0 || ui >= UINT32_MAX || gi >= UINT32_MAX)
                return entry_failx(u, EINVAL, "owner out of range", err);
        *uid = (uid_t) ui;
        *gid = (gid_t) gi;
        return 0;
}

static void entry_times(struct archive_entry *e, struct timespec ts[2])
{
        ts[0] = (struct timespec){.tv_nsec = UTIME_OMIT};
        ts[1] = (struct timespec){.tv_nsec = UTIME_OMIT};
        if (archive_entry_atime_is_set(e))
                ts[0] = (struct timespec){archive_entry_atime(e), archive_entry_atime_nsec(e)};
        if (archive_entry_mtime_is_set(e))
                ts[1] = (struct timespec){archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
}

/* Owner, then mode (chown clears setuid bits), then xattrs (chown and writes clear file caps),
 * then times, all through an fd opened on the file or directory itself. */
static int apply_meta_fd(const struct unpacker *u, struct archive_entry *e, int fd, int pfd,
                         const char *base, struct berth_error **err)
{
        struct timespec ts[2];
        uid_t uid;
        gid_t gid;
        int r;

        r = entry_ids(u, e, &uid, &gid, err);
        if (r < 0)
                return r;
        if (fchown(fd, uid, gid) < 0)
                return entry_fail(u, errno, "fchown", err);
        if (fchmod(fd, archive_entry_perm(e) & 07777) < 0)
                return entry_fail(u, errno, "fchmod", err);
        r = apply_xattrs(u, e, fd, pfd, base, err);
        if (r < 0)
                return r;
        entry_times(e, ts);
        if (futimens(fd, ts) < 0)
                return entry_fail(u, errno, "futimens", err);
        return 0;
}

/* The same for entries that cannot be opened (symlinks, nodes): *at() without following. */
static int apply_meta_at(const struct unpacker *u, struct archive_entry *e, int pfd,
                         const char *base, bool is_link, struct berth_error **err)
{
        struct timespec ts[2];
        uid_t uid;
        gid_t gid;
        int r;

        r = entry_ids(u, e, &uid, &gid, err);
        if (r < 0)
                return r;
        if (fchownat(pfd, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
                return entry_fail(u, errno, "fchownat", err);
        /* base was just created by us as a node, not a symlink: fchmodat cannot be redirected */
        if (!is_link && fchmodat(pfd, base, archive_entry_perm(e) & 07777, 0) < 0)
                return entry_fail(u, errno, "fchmodat", err);
        r = apply_xattrs(u, e, -EBADF, pfd, base, err);
        if (r < 0)
                return r;
        entry_times(e, ts);
        if (utimensat(pfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0)
                return entry_fail(u, errno, "utimensat", err);
        return 0;
}

static int write_data(const struct unpacker *u, int fd, la_int64_t size, struct berth_error **err)
{
        const void *buf;
        size_t len;
        la_int64_t off;
        int r;

        while ((r = archive_read_data_block(u->a, &buf, &len, &off)) == ARCHIVE_OK) {
                /* sparse maps come from the tar too: never write past the size counted */
                if (off < 0 || (uint64_t) off > (uint64_t) size || len > (uint64_t) (size - off))
                        return entry_failx(u, EFBIG, "data beyond the entry's size", err);
                for (size_t done = 0; done < len;) {
                        ssize_t n =
                            pwrite(fd, (const char *) buf + done, len - done, off + (off_t) done);

                        if (n < 0)
                                return entry_fail(u, errno, "write", err);
                        done += (size_t) n;
                }
        }
        if (r != ARCHIVE_EOF)
                return berth_error_setx(err, archive_errno(u->a) > 0 ? archive_errno(u->a) : EIO,
                                        "layer entry %s: read data: %s", QUOTE(u->entry),
                                        archive_error_string(u->a) ?: "unknown error");
        /* a sparse file's trailing hole */
        if (ftruncate(fd, size) < 0)
                return entry_fail(u, errno, "ftruncate", err);
        return 0;
}

static int unpack_file(const struct unpacker *u, struct archive_entry *e, int pfd, const char *base,
                       struct berth_error **err)
{
        _autoclose_ int fd = -EBADF;
        int r;

        r = make_room(u, pfd, base, false, err);
        if (r < 0)
                return r;
        fd = openat(pfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd < 0)
                return entry_fail(u, errno, "openat", err);
        r = write_data(u, fd, archive_entry_size(e), err);
        if (r < 0)
                return r;
        return apply_meta_fd(u, e, fd, pfd, base, err);
}

static int unpack_dir(const struct unpacker *u, struct archive_entry *e, int pfd, const char *base,
                      struct berth_error **err)
{
        _autoclose_ int fd = -EBADF;
        int r;

        r = make_room(u, pfd, base, true, err);
        if (r < 0)
                return r;
        if (r == 0 && mkdirat(pfd, base, 0700) < 0)
                return entry_fail(u, errno, "mkdirat", err);
        fd = openat(pfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return entry_fail(u, errno, "openat", err);
        return apply_meta_fd(u, e, fd, pfd, base, err);
}

static int unpack_symlink(const struct unpacker *u, struct archive_entry *e, int pfd,
                          const char *base, struct berth_error **err)
{
        const char *target = archive_entry_symlink(e);
        int r;

        /* stored as-is: it is only resolved later through RESOLVE_IN_ROOT */
        if (!target || !*target)
                return entry_failx(u, EINVAL, "symlink without a target", err);
        r = make_room(u, pfd, base, false, err);
        if (r < 0)
                return r;
        if (symlinkat(target, pfd, base) < 0)
                return entry_fail(u, errno, "symlinkat", err);
        return apply_meta_at(u, e, pfd, base, true, err);
}

static int unpack_node(struct unpacker *u, struct archive_entry *e, int pfd, const char *base,
                       struct berth_error **err)
{
        mode_t type = archive_entry_filetype(e);
        dev_t dev = 0;
        int r;

        if (type == AE_IFCHR || type == AE_IFBLK) {
                if (!u->allow_devices && u->skip_devices) {
                        u->st.devices_skipped++;
                        return 0;
                }
                if (!u->allow_devices)
                        return entry_failx(u, EPERM, "device nodes are not allowed in image layers",
                                           err);
                dev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
        }
        r = make_room(u, pfd, base, false, err);
        if (r < 0)
                return r;
        if (mknodat(pfd, base, type | 0600, dev) < 0)
                return entry_fail(u, errno, "mknodat", err);
        return apply_meta_at(u, e, pfd, base, false, err);
}

static int unpack_hardlink(const struct unpacker *u, const char *target, int pfd, const char *base,
                           struct berth_error **err)
{
        _autofree_ char *src = NULL;
        _autoclose_ int spfd = -EBADF;
        char *slash;
        int r;

        r = normalize_name(u, "hardlink target", target, &src, err);
        if (r < 0)
                return r;
        if (!*src)
                return entry_failx(u, EINVAL, "hardlink to the layer root", err);
        slash = strrchr(src, '/');
        if (slash)
                *slash = '\0';
        spfd = open_in_root(u->dirfd, slash ? src : "");
        if (spfd < 0)
                return entry_fail(u, errno, "resolve hardlink target: openat2", err);
        r = make_room(u, pfd, base, false, err);
        if (r < 0)
                return r;
        /* flags 0: a symlink source is linked itself, never followed */
        if (linkat(spfd, slash ? slash + 1 : src, pfd, base, 0) < 0)
                return entry_fail(u, errno, "linkat", err);
        return 0;
}

static int set_opaque(struct unpacker *u, int pfd, struct berth_error **err)
{
        _autoclose_ int fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return entry_fail(u, errno, "openat", err);
        if (fsetxattr(fd, "trusted.overlay.opaque", "y", 1, 0) < 0)
                return entry_fail(u, errno, "setxattr trusted.overlay.opaque", err);
        u->st.opaque_dirs++;
        return 0;
}

/* Returns 1 if base was a whiteout (handled), 0 if it is an ordinary entry. */
static int unpack_whiteout(struct unpacker *u, int pfd, const char *base, struct berth_error **err)
{
        const char *name = base + strlen(WH_PREFIX);
        int r;

        if (!startswith(base, WH_PREFIX))
                return 0;
        if (streq(base, WH_OPAQUE)) {
                r = set_opaque(u, pfd, err);
                return r < 0 ? r : 1;
        }
        if (startswith(base, WH_META_PREFIX))
                return 1; /* aufs metadata (".wh..wh..plnk"): no overlay equivalent */
        if (!*name || streq(name, ".") || streq(name, ".."))
                return entry_failx(u, EINVAL, "bad whiteout name", err);
        r = make_room(u, pfd, name, false, err);
        if (r < 0)
                return r;
        if (mknodat(pfd, name, S_IFCHR, makedev(0, 0)) < 0)
                return entry_fail(u, errno, "create whiteout: mknodat", err);
        u->st.whiteouts++;
        return 1;
}

static int check_limits(struct unpacker *u, struct archive_entry *e, struct berth_error **err)
{
        la_int64_t size = archive_entry_size_is_set(e) ? archive_entry_size(e) : 0;

        if (size < 0)
                return entry_failx(u, EINVAL, "negative size", err);
        if (++u->st.entries > u->max_entries)
                return berth_error_setx(err, EFBIG, "layer entry %s: more than %llu entries",
                                        QUOTE(u->entry), (unsigned long long) u->max_entries);
        if ((uint64_t) size > u->max_bytes - u->st.bytes)
                return berth_error_setx(err, EFBIG,
                                        "layer entry %s: size %lld makes the layer larger than "
                                        "%llu bytes",
                                        QUOTE(u->entry), (long long) size,
                                        (unsigned long long) u->max_bytes);
        u->st.bytes += (uint64_t) size;
        return 0;
}

static int unpack_at(struct unpacker *u, struct archive_entry *e, int pfd, const char *base,
                     struct berth_error **err)
{
        const char *hardlink = archive_entry_hardlink(e);
        int r;

        r = unpack_whiteout(u, pfd, base, err);
        if (r != 0)
                return r < 0 ? r : 0;
        if (hardlink)
                return unpack_hardlink(u, hardlink, pfd, base, err);
        switch (archive_entry_filetype(e)) {
        case AE_IFREG:
                return unpack_file(u, e, pfd, base, err);
        case AE_IFDIR:
                return unpack_dir(u, e, pfd, base, err);
        case AE_IFLNK:
                return unpack_symlink(u, e, pfd, base, err);
        case AE_IFCHR:
        case AE_IFBLK:
        case AE_IFIFO:
                return unpack_node(u, e, pfd, base, err);
        default:
                return entry_failx(u, EINVAL, "unsupported file type", err);
        }
}

static int unpack_entry(struct unpacker *u, struct archive_entry *e, struct berth_error **err)
{
        _autofree_ char *name = NULL;
        _autoclose_ int pfd = -EBADF;
        uint64_t t = TRACE_T0();
        char *slash;
        int r;

        u->entry = archive_entry_pathname(e);
        if (!u->entry)
                return berth_error_setx(err, EINVAL, "layer entry %llu: name is not readable",
                                        (unsigned long long) u->st.entries + 1);
        r = check_limits(u, e, err);
        if (r < 0)
                return r;
        r = normalize_name(u, NULL, u->entry, &name, err);
        if (r < 0)
                return r;
        if (!*name)
                return 0; /* "./": the caller owns the target directory */
        slash = strrchr(name, '/');
        if (slash)
                *slash = '\0';
        r = open_parent(u, slash ? name : "", &pfd, err);
        if (r < 0)
                return r;
        r = unpack_at(u, e, pfd, slash ? slash + 1 : name, err);
        TRACE(t, "unpack layer entry %s", QUOTE(u->entry));
        return r;
}

static int archive_fail(struct archive *a, const char *what, struct berth_error **err)
{
        int code = archive_errno(a);

        return berth_error_setx(err, code > 0 ? code : EINVAL, "%s: %s", what,
                                archive_error_string(a) ?: "unknown error");
}

static int open_archive(int fd, struct archive **ret, struct berth_error **err)
{
        _cleanup_(archive_read_freep) struct archive *a = archive_read_new();

        if (!a)
                return berth_error_setx(err, ENOMEM, "archive_read_new failed");
        if (archive_read_support_format_tar(a) != ARCHIVE_OK ||
            archive_read_support_format_gnutar(a) != ARCHIVE_OK ||
            archive_read_support_filter_gzip(a) != ARCHIVE_OK ||
            archive_read_support_filter_zstd(a) != ARCHIVE_OK ||
            archive_read_support_filter_none(a) != ARCHIVE_OK)
                return archive_fail(a, "set up layer reader", err);
        if (archive_read_open_fd(a, fd, 64 * 1024) != ARCHIVE_OK)
                return archive_fail(a, "read layer", err);
        *ret = steal_ptr(&a);
        return 0;
}

static void init_unpacker(struct unpacker *u, struct archive *a, int dirfd,
                          const struct berth_layer_opts *o)
{
        *u = (struct unpacker){
            .a = a,
            .dirfd = dirfd,
            .allow_devices = o && o->allow_devices,
            .skip_devices = o && o->skip_devices,
            .max_bytes = o && o->max_bytes ? o->max_bytes : DEFAULT_MAX_BYTES,
            .max_entries = o && o->max_entries ? o->max_entries : DEFAULT_MAX_ENTRIES,
        };
}

/* Reads every entry of the opened tar reader a into dirfd. */
static int unpack_entries(struct archive *a, int dirfd, const struct berth_layer_opts *o,
                          struct berth_layer_stats *ret_stats, struct berth_error **err)
{
        struct unpacker u;
        struct archive_entry *e;
        int r;

        init_unpacker(&u, a, dirfd, o);
        for (;;) {
                r = archive_read_next_header(a, &e);
                if (r == ARCHIVE_EOF)
                        break;
                if (r == ARCHIVE_WARN)
                        berth_warn("read layer: %s, ignoring", archive_error_string(a) ?: "?");
                else if (r != ARCHIVE_OK)
                        return archive_fail(a, "read layer", err);
                r = unpack_entry(&u, e, err);
                if (r < 0)
                        return r;
        }
        if (ret_stats)
                *ret_stats = u.st;
        return 0;
}

int berth_layer_unpack(int fd, int dirfd, const struct berth_layer_opts *o,
                       struct berth_layer_stats *ret_stats, struct berth_error **err)
{
        _cleanup_(archive_read_freep) struct archive *a = NULL;
        int r;

        r = berth_archive_load(err);
        if (r >= 0)
                r = open_archive(fd, &a, err);
        if (r < 0)
                return r;
        return unpack_entries(a, dirfd, o, ret_stats, err);
}

/*
 * The diff id is the sha256 of the uncompressed tar stream. Two readers share one pass: the outer
 * one only decompresses (format "raw"), and the inner tar reader pulls its bytes through
 * digest_read(), which hashes them on the way.
 */
#define DIGEST_CHUNK (64 * 1024)

struct digest_src {
        struct archive *outer;
        EVP_MD_CTX *ctx;
        uint8_t *buf;
        bool eof;
};

static la_ssize_t digest_read(struct archive *inner, void *data, const void **ret_buf)
{
        struct digest_src *src = data;
        la_ssize_t n;

        if (src->eof)
                return 0;
        n = archive_read_data(src->outer, src->buf, DIGEST_CHUNK);
        if (n < 0) {
                archive_set_error(
                    inner, archive_errno(src->outer) > 0 ? archive_errno(src->outer) : EIO,
                    "decompress: %s", archive_error_string(src->outer) ?: "unknown error");
                return -1;
        }
        if (n == 0)
                src->eof = true;
        if (n > 0 && EVP_DigestUpdate(src->ctx, src->buf, (size_t) n) != 1) {
                archive_set_error(inner, EIO, "EVP_DigestUpdate failed");
                return -1;
        }
        *ret_buf = src->buf;
        return n;
}

/* The outer reader: any compression, no format. */
static int open_raw(int fd, struct archive **ret, struct berth_error **err)
{
        _cleanup_(archive_read_freep) struct archive *a = archive_read_new();
        struct archive_entry *e;

        if (!a)
                return berth_error_setx(err, ENOMEM, "archive_read_new failed");
        if (archive_read_support_filter_all(a) != ARCHIVE_OK ||
            archive_read_support_format_raw(a) != ARCHIVE_OK)
                return archive_fail(a, "set up layer reader", err);
        if (archive_read_open_fd(a, fd, DIGEST_CHUNK) != ARCHIVE_OK)
                return archive_fail(a, "read layer", err);
        if (archive_read_next_header(a, &e) != ARCHIVE_OK)
                return archive_fail(a, "read layer", err);
        *ret = steal_ptr(&a);
        return 0;
}

static int open_inner(struct digest_src *src, struct archive **ret, struct berth_error **err)
{
        _cleanup_(archive_read_freep) struct archive *a = archive_read_new();

        if (!a)
                return berth_error_setx(err, ENOMEM, "archive_read_new failed");
        if (archive_read_support_format_tar(a) != ARCHIVE_OK ||
            archive_read_support_format_gnutar(a) != ARCHIVE_OK)
                return archive_fail(a, "set up layer reader", err);
        if (archive_read_open(a, src, NULL, digest_read, NULL) != ARCHIVE_OK)
                return archive_fail(a, "read layer", err);
        *ret = steal_ptr(&a);
        return 0;
}

/* The tar's end may be followed by padding: the diff id covers every byte, so hash the rest. */
static int digest_rest(struct digest_src *src, char **ret, struct berth_error **err)
{
        char digest[BERTH_SHA256_DIGEST_LEN + 1];
        la_ssize_t n;
        int r;

        while (!src->eof && (n = archive_read_data(src->outer, src->buf, DIGEST_CHUNK)) != 0) {
                if (n < 0)
                        return archive_fail(src->outer, "read layer: decompress", err);
                if (EVP_DigestUpdate(src->ctx, src->buf, (size_t) n) != 1)
                        return berth_error_setx(err, EIO, "EVP_DigestUpdate failed");
        }
        r = berth_sha256_final(src->ctx, digest, err);
        if (r < 0)
                return r;
        *ret = xstrdup(digest);
        return 0;
}

int berth_layer_unpack_digest(int fd, int dirfd, const struct berth_layer_opts *o,
                              char **ret_diff_id, struct berth_layer_stats *ret_stats,
                              struct berth_error **err)
{
        _cleanup_(archive_read_freep) struct archive *outer = NULL, *inner = NULL;
        _cleanup_(evp_md_ctx_freep) EVP_MD_CTX *ctx = NULL;
        _autofree_ uint8_t *buf = xcalloc(1, DIGEST_CHUNK);
        struct digest_src src = {.buf = buf};
        struct berth_layer_stats st;
        int r;

        r = berth_archive_load(err);
        if (r < 0)
                return r;
        r = berth_sha256_new(&ctx, err);
        if (r < 0)
                return r;
        src.ctx = ctx;
        r = open_raw(fd, &outer, err);
        if (r < 0)
                return r;
        src.outer = outer;
        r = open_inner(&src, &inner, err);
        if (r < 0)
                return r;
        r = unpack_entries(inner, dirfd, o, &st, err);
        if (r < 0)
                return r;
        r = digest_rest(&src, ret_diff_id, err);
        if (r < 0)
                return r;
        if (ret_stats)
                *ret_stats = st;
        return 0;
}
