/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container's overlayfs root.
 *
 * Options, the same choices as containers/storage (podman) and containerd's overlay snapshotter:
 *  - index=off: with the inode index on, the kernel ties an upper dir to the exact lower stack it
 *    was first mounted with (file handles recorded in trusted.overlay.origin) and refuses or warns
 *    when a lower dir is in use by another overlay; image layers are shared by many containers
 *    and an upper dir is remounted over a re-created stack, so the index only gets in the way.
 *  - redirect_dir=off: renaming a lower directory then fails with EXDEV (tools fall back to a copy)
 *    instead of leaving a trusted.overlay.redirect xattr, which no layer tar can express, so a
 *    "commit" of the upper dir would lose the rename. It also keeps the kernel from following
 *    redirects stored in dirs it did not write.
 *  - metacopy=off: copy-up copies data too, so the upper dir never holds metadata-only files that
 *    point into a lower layer (again not expressible in a tar, and the kernel docs warn against
 *    metacopy=on with untrusted lower dirs).
 * The options are set explicitly because distributions build the kernel with different defaults.
 *
 * Many layers: the option string of mount(2) is limited to one page, so 128 layers with
 * /var/lib/berth/layers/<64 hex>/diff paths (about 10 KiB) cannot be mounted that way. Linux 6.8
 * added "lowerdir+", one fsconfig(2) call per layer ("ovl: add support for appending lowerdirs one
 * by one"), which has no such limit (only OVL_MAX_STACK, 500). Older kernels get mount(2) with the
 * paths relative to their common parent; the symlink farm of containers/storage (short "l/<id>"
 * links) is not implemented yet.
 */
#define _GNU_SOURCE 1
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "base/log.h"
#include "image/overlay.h"
#include "base/syscalls.h"
#include "base/util.h"

static const char *const safe_opts[][2] = {
    {"index", "off"},
    {"redirect_dir", "off"},
    {"metacopy", "off"},
};

static int check_dir_arg(const char *what, const char *path, const char *target,
                         struct berth_error **err)
{
        if (!path || path[0] != '/')
                return berth_error_setx(err, EINVAL,
                                        "mount overlay on %s: %s %s: not an absolute path", target,
                                        what, path ? path : "(null)");
        return 0;
}

static int check_args(const char *const *lowers, const char *upper, const char *work,
                      const char *target, struct berth_error **err)
{
        size_t n = 0;
        int r;

        if (!target || !lowers || !lowers[0])
                return berth_error_setx(err, EINVAL, "mount overlay on %s: no lower dirs",
                                        target ? target : "(null)");
        for (; lowers[n]; n++) {
                r = check_dir_arg("lowerdir", lowers[n], target, err);
                if (r < 0)
                        return r;
        }
        if (n > BERTH_OVERLAY_MAX_LOWERS)
                return berth_error_setx(
                    err, E2BIG, "mount overlay on %s: %zu lower dirs, the kernel's limit is %d",
                    target, n, BERTH_OVERLAY_MAX_LOWERS);
        r = check_dir_arg("upperdir", upper, target, err);
        if (r < 0)
                return r;
        return check_dir_arg("workdir", work, target, err);
}

/* The last message the kernel logged on the fs_context fd ("overlay: ..."), or "". Keeps errno
 * (an empty log reads as ENODATA). */
static const char *kernel_msg(int fsfd, char *buf, size_t size)
{
        char line[512];
        int saved = errno;
        ssize_t n;

        buf[0] = '\0';
        while ((n = read(fsfd, line, sizeof(line) - 1)) > 0) {
                line[n] = '\0';
                line[strcspn(line, "\n")] = '\0';
                /* "e overlay: ...": the first two bytes give the level */
                const char *s = n > 2 && line[1] == ' ' ? line + 2 : line;
                size_t len = strnlen(s, size - 1);

                memcpy(buf, s, len);
                buf[len] = '\0';
        }
        errno = saved;
        return buf;
}

/*
 * Whether overlayfs takes "lowerdir+" (Linux 6.8). Asked once on a scratch fs_context: 6.5-6.7
 * refuse the key with EINVAL; before 6.5 overlayfs has no fs_context of its own and the VFS's
 * legacy wrapper accepts any key (failing only at FSCONFIG_CMD_CREATE), which shows as an unknown
 * key being accepted too.
 */
static int lowerdir_plus_supported(void)
{
        static int cached = -1;
        _autoclose_ int fd = -EBADF;
        int r = __atomic_load_n(&cached, __ATOMIC_RELAXED);

        if (r >= 0)
                return r;
        fd = fsopen("overlay", FSOPEN_CLOEXEC);
        if (fd < 0)
                return errno == ENOSYS ? 0 : -errno; /* not cached: EPERM may pass */
        r = fsconfig(fd, FSCONFIG_SET_STRING, "lowerdir+", "/", 0) == 0 &&
            fsconfig(fd, FSCONFIG_SET_STRING, "berth-probe", "1", 0) < 0 && errno == EINVAL;
        __atomic_store_n(&cached, r, __ATOMIC_RELAXED);
        return r;
}

static int set_string(int fsfd, const char *key, const char *value, const char *target,
                      struct berth_error **err)
{
        char msg[256];

        if (fsconfig(fsfd, FSCONFIG_SET_STRING, key, value, 0) == 0)
                return 0;
        if (errno == ENOENT || errno == ENOTDIR || errno == EACCES)
                return berth_error_set(err, errno, "mount overlay on %s: %s %s", target,
                                       key[0] == 'l' ? "lowerdir" : key, value);
        kernel_msg(fsfd, msg, sizeof(msg));
        return berth_error_set(err, errno, "mount overlay on %s: %s %s%s%s", target,
                               key[0] == 'l' ? "lowerdir" : key, value, msg[0] ? ": " : "", msg);
}

/* fsopen + one "lowerdir+" per layer + upper, work, options; returns the fs_context fd. */
static int configure(const char *const *lowers, const char *upper, const char *work,
                     const char *target, unsigned flags, int *ret_fd, struct berth_error **err)
{
        _autoclose_ int fd = -EBADF;
        uint64_t t = TRACE_T0();
        size_t i;
        int r;

        fd = fsopen("overlay", FSOPEN_CLOEXEC);
        if (fd < 0)
                return berth_error_set(err, errno, "mount overlay on %s: fsopen", target);
        for (i = 0; lowers[i]; i++) {
                r = set_string(fd, "lowerdir+", lowers[i], target, err);
                if (r < 0)
                        return r;
        }
        TRACE(t, "fsconfig overlay: %zu lower dirs, top %s", i, lowers[0]);
        r = set_string(fd, "upperdir", upper, target, err);
        if (r < 0)
                return r;
        r = set_string(fd, "workdir", work, target, err);
        if (r < 0)
                return r;
        for (i = 0; i < ARRAY_SIZE(safe_opts); i++) {
                r = set_string(fd, safe_opts[i][0], safe_opts[i][1], target, err);
                if (r < 0)
                        return r;
        }
        if ((flags & BERTH_OVERLAY_VOLATILE) &&
            fsconfig(fd, FSCONFIG_SET_FLAG, "volatile", NULL, 0) < 0)
                return berth_error_set(err, errno, "mount overlay on %s: volatile", target);
        *ret_fd = steal_fd(&fd);
        return 0;
}

static int mount_new_api(const char *const *lowers, const char *upper, const char *work,
                         const char *target, unsigned flags, struct berth_error **err)
{
        _autoclose_ int fd = -EBADF, mfd = -EBADF;
        uint64_t t;
        char msg[256];
        int r;

        r = configure(lowers, upper, work, target, flags, &fd, err);
        if (r < 0)
                return r;
        t = TRACE_T0();
        if (fsconfig(fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
                kernel_msg(fd, msg, sizeof(msg));
                return berth_error_set(err, errno, "mount overlay on %s: create%s%s", target,
                                       msg[0] ? ": " : "", msg);
        }
        TRACE(t, "fsconfig overlay: create");
        t = TRACE_T0();
        mfd = fsmount(fd, FSMOUNT_CLOEXEC, 0);
        if (mfd < 0)
                return berth_error_set(err, errno, "mount overlay on %s: fsmount", target);
        if (move_mount(mfd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
                return berth_error_set(err, errno, "mount overlay on %s: move_mount", target);
        TRACE(t, "fsmount + move_mount overlay on %s", target);
        return 0;
}

static int mount_classic(const char *const *lowers, const char *upper, const char *work,
                         const char *target, unsigned flags, struct berth_error **err);

int berth_overlay_mount(const char *const *lowers, const char *upper, const char *work,
                        const char *target, struct berth_error **err)
{
        return berth_overlay_mount_flags(lowers, upper, work, target, 0, err);
}

int berth_overlay_mount_flags(const char *const *lowers, const char *upper, const char *work,
                              const char *target, unsigned flags, struct berth_error **err)
{
        int r;

        r = check_args(lowers, upper, work, target, err);
        if (r < 0)
                return r;
        r = lowerdir_plus_supported();
        if (r < 0)
                return berth_error_set(err, -r, "mount overlay on %s: fsopen", target);
        if (r == 0) {
                TRACE(TRACE_T0(), "overlay: no \"lowerdir+\" (Linux < 6.8), using mount(2)");
                return mount_classic(lowers, upper, work, target, flags, err);
        }
        return mount_new_api(lowers, upper, work, target, flags, err);
}

/* Appends path to buf at *len (when it fits in size), with overlayfs' escapes: "\" before ':'
 * (the lowerdir separator), ',' (the option separator) and '\' itself. Counts the full length. */
static void append_escaped(char *buf, size_t size, size_t *len, const char *path)
{
        for (; *path; path++) {
                if (strchr(":,\\", *path)) {
                        if (*len + 1 < size)
                                buf[*len] = '\\';
                        (*len)++;
                }
                if (*len + 1 < size)
                        buf[*len] = *path;
                (*len)++;
        }
}

static void append_raw(char *buf, size_t size, size_t *len, const char *s)
{
        for (; *s; s++, (*len)++)
                if (*len + 1 < size)
                        buf[*len] = *s;
}

/* The path without its first `skip` bytes and the slashes after them, "." when nothing is left;
 * the path itself when skip is NO_SKIP. */
#define NO_SKIP SIZE_MAX
static const char *rel(const char *path, size_t skip)
{
        if (skip == NO_SKIP)
                return path;
        path += skip;
        while (*path == '/')
                path++;
        return *path ? path : ".";
}

/* "lowerdir=A:B,upperdir=U,workdir=W,index=off,..." with each path's first `skip` bytes dropped
 * (NO_SKIP: absolute). Returns the length the string needs; it is complete when that is < size. */
static size_t build_options(const char *const *lowers, const char *upper, const char *work,
                            size_t skip, unsigned flags, char *buf, size_t size)
{
        size_t len = 0;

        append_raw(buf, size, &len, "lowerdir=");
        for (size_t i = 0; lowers[i]; i++) {
                if (i > 0)
                        append_raw(buf, size, &len, ":");
                append_escaped(buf, size, &len, rel(lowers[i], skip));
        }
        append_raw(buf, size, &len, ",upperdir=");
        append_escaped(buf, size, &len, rel(upper, skip));
        append_raw(buf, size, &len, ",workdir=");
        append_escaped(buf, size, &len, rel(work, skip));
        for (size_t i = 0; i < ARRAY_SIZE(safe_opts); i++) {
                append_raw(buf, size, &len, ",");
                append_raw(buf, size, &len, safe_opts[i][0]);
                append_raw(buf, size, &len, "=");
                append_raw(buf, size, &len, safe_opts[i][1]);
        }
        if (flags & BERTH_OVERLAY_VOLATILE)
                append_raw(buf, size, &len, ",volatile");
        buf[len < size ? len : size - 1] = '\0';
        return len;
}

static bool under(const char *path, const char *dir, size_t dirlen)
{
        return strncmp(path, dir, dirlen) == 0 && path[dirlen] == '/';
}

/* The length of the deepest directory that contains every path ("/a/b" of "/a/b/c", "/a/b/d");
 * 0 for "/". */
static size_t common_parent_len(const char *const *lowers, const char *upper, const char *work)
{
        const char *first = lowers[0];
        size_t len = (size_t) (strrchr(first, '/') - first);
        bool all;

        for (;;) {
                all = under(upper, first, len) && under(work, first, len);
                for (size_t i = 0; all && lowers[i]; i++)
                        all = under(lowers[i], first, len);
                if (all || len == 0)
                        return len;
                while (len > 0 && first[--len] != '/')
                        ;
        }
}

/* 0 if path is a directory, else the errno that says why not. */
static int dir_errno(const char *path)
{
        struct stat st;

        if (stat(path, &st) < 0)
                return errno;
        return S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
}

/* After mount(2) failed with ENOENT/ENOTDIR/EACCES, names the first dir that cannot be used: the
 * classic mount says only which errno, not which of the paths. */
static int explain(const char *const *lowers, const char *upper, const char *work,
                   const char *target, int code, struct berth_error **err)
{
        int e;

        for (size_t i = 0; lowers[i]; i++)
                if ((e = dir_errno(lowers[i])) != 0)
                        return berth_error_set(err, e, "mount overlay on %s: lowerdir %s", target,
                                               lowers[i]);
        if ((e = dir_errno(upper)) != 0)
                return berth_error_set(err, e, "mount overlay on %s: upperdir %s", target, upper);
        if ((e = dir_errno(work)) != 0)
                return berth_error_set(err, e, "mount overlay on %s: workdir %s", target, work);
        return berth_error_set(err, code, "mount overlay on %s", target);
}

/* mount(2) from inside dir, so that relative paths in the options resolve there. */
static int mount_in(const char *dir, const char *target, const char *opts)
{
        _autoclose_ int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
        int r, saved;

        if (cwd < 0 || chdir(dir) < 0)
                return -1;
        r = mount("overlay", target, "overlay", 0, opts);
        saved = errno;
        if (fchdir(cwd) < 0)
                berth_warn("overlay: cannot return to the working directory: %s, ignoring",
                           strerror(errno));
        errno = saved;
        return r;
}

int berth_overlay_mount_classic(const char *const *lowers, const char *upper, const char *work,
                                const char *target, struct berth_error **err)
{
        return mount_classic(lowers, upper, work, target, 0, err);
}

static int mount_classic(const char *const *lowers, const char *upper, const char *work,
                         const char *target, unsigned flags, struct berth_error **err)
{
        long page = sysconf(_SC_PAGESIZE);
        size_t size = page > 0 ? (size_t) page : 4096, skip, len;
        _autofree_ char *opts = NULL, *dir = NULL;
        uint64_t t;
        int r;

        r = check_args(lowers, upper, work, target, err);
        if (r < 0)
                return r;
        /* the kernel copies one page and cuts the last byte for the NUL */
        opts = xcalloc(1, size);
        skip = NO_SKIP;
        len = build_options(lowers, upper, work, skip, flags, opts, size);
        if (len >= size) {
                /* relative to the common parent: a workaround, not a cure (see the top comment) */
                skip = common_parent_len(lowers, upper, work);
                len = build_options(lowers, upper, work, skip, flags, opts, size);
        }
        if (len >= size)
                return berth_error_setx(err, E2BIG,
                                        "mount overlay on %s: the lowerdir option needs %zu bytes, "
                                        "more than a page (%zu) even with relative paths",
                                        target, len + 1, size);
        t = TRACE_T0();
        if (skip == NO_SKIP)
                r = mount("overlay", target, "overlay", 0, opts);
        else {
                dir = skip ? strndup(lowers[0], skip) : strdup("/");
                if (!dir)
                        abort();
                r = mount_in(dir, target, opts);
        }
        if (r < 0) {
                if (errno == ENOENT || errno == ENOTDIR || errno == EACCES)
                        return explain(lowers, upper, work, target, errno, err);
                return berth_error_set(err, errno, "mount overlay on %s", target);
        }
        TRACE(t, "mount overlay on %s (%zu option bytes%s%s)", target, len,
              dir ? ", relative to " : "", dir ? dir : "");
        return 0;
}

unsigned berth_overlay_max_lowers(const char *lower, const char *upper, const char *work)
{
        if (lowerdir_plus_supported() > 0)
                return BERTH_OVERLAY_MAX_LOWERS;
        return berth_overlay_max_lowers_classic(lower, upper, work);
}

unsigned berth_overlay_max_lowers_classic(const char *lower, const char *upper, const char *work)
{
        const char *one[] = {lower, NULL}, *two[] = {lower, lower, NULL};
        long page = sysconf(_SC_PAGESIZE);
        size_t size = page > 0 ? (size_t) page : 4096, skip, len1, per, n;
        char c;

        skip = common_parent_len(one, upper, work);
        len1 = build_options(one, upper, work, skip, BERTH_OVERLAY_VOLATILE, &c, 1);
        per = build_options(two, upper, work, skip, BERTH_OVERLAY_VOLATILE, &c, 1) - len1;
        /* the kernel keeps size - 1 bytes: n lowers take len1 + (n - 1) * per */
        if (len1 > size - 1)
                return 0;
        n = (size - 1 - len1) / per + 1;
        return n < BERTH_OVERLAY_MAX_LOWERS ? (unsigned) n : BERTH_OVERLAY_MAX_LOWERS;
}

int berth_overlay_umount(const char *target, struct berth_error **err)
{
        uint64_t t = TRACE_T0();

        if (umount2(target, UMOUNT_NOFOLLOW) < 0)
                return berth_error_set(err, errno, "umount %s", target);
        TRACE(t, "umount overlay %s", target);
        return 0;
}
