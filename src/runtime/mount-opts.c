/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Mount options: runc's option table, and the few mount primitives rootfs.c and devices.c share.
 * Bind mounts use the new mount API (Linux 5.12): open_tree(OPEN_TREE_CLONE) gives a detached
 * copy, mount_setattr() sets its flags *before* it is attached (no window where a "ro" bind is
 * writable, no re-resolution of the destination for the remount) and only touches the flags we
 * name, so flags the kernel locked in a user namespace survive; move_mount() attaches it on the
 * destination fd. It is also cheaper than mount(2) + remount (figures in bench/README.md).
 * Filesystems (tmpfs, proc, ...) still use mount(2) on /proc/self/fd/N: one syscall instead of
 * fsopen + fsconfig per option + fsmount + move_mount, and just as fast.
 */
#include <sys/mount.h>
#include <sys/statvfs.h>

#include "base/log.h"
#include "base/path.h"
#include "runtime/rootfs-internal.h"
#include "runtime/rootfs.h"
#include "base/util.h"

struct flag_opt {
        const char *name;
        unsigned long set, clear;
};

static const struct flag_opt flag_opts[] = {
    {"ro", MS_RDONLY, 0},
    {"rw", 0, MS_RDONLY},
    {"nosuid", MS_NOSUID, 0},
    {"suid", 0, MS_NOSUID},
    {"nodev", MS_NODEV, 0},
    {"dev", 0, MS_NODEV},
    {"noexec", MS_NOEXEC, 0},
    {"exec", 0, MS_NOEXEC},
    {"sync", MS_SYNCHRONOUS, 0},
    {"async", 0, MS_SYNCHRONOUS},
    {"dirsync", MS_DIRSYNC, 0},
    {"remount", MS_REMOUNT, 0},
    {"mand", MS_MANDLOCK, 0},
    {"nomand", 0, MS_MANDLOCK},
    {"noatime", MS_NOATIME, 0},
    {"atime", 0, MS_NOATIME},
    {"nodiratime", MS_NODIRATIME, 0},
    {"diratime", 0, MS_NODIRATIME},
    {"relatime", MS_RELATIME, 0},
    {"norelatime", 0, MS_RELATIME},
    {"strictatime", MS_STRICTATIME, 0},
    {"nostrictatime", 0, MS_STRICTATIME},
    {"lazytime", MS_LAZYTIME, 0},
    {"nolazytime", 0, MS_LAZYTIME},
    {"acl", MS_POSIXACL, 0},
    {"noacl", 0, MS_POSIXACL},
    {"iversion", MS_I_VERSION, 0},
    {"noiversion", 0, MS_I_VERSION},
    {"silent", MS_SILENT, 0},
    {"loud", 0, MS_SILENT},
    {"nosymfollow", MS_NOSYMFOLLOW, 0},
    {"symfollow", 0, MS_NOSYMFOLLOW},
    {"defaults", 0, 0},
};

static const struct flag_opt propagation_opts[] = {
    {"private", MS_PRIVATE, 0},       {"rprivate", MS_PRIVATE | MS_REC, 0},
    {"shared", MS_SHARED, 0},         {"rshared", MS_SHARED | MS_REC, 0},
    {"slave", MS_SLAVE, 0},           {"rslave", MS_SLAVE | MS_REC, 0},
    {"unbindable", MS_UNBINDABLE, 0}, {"runbindable", MS_UNBINDABLE | MS_REC, 0},
};

/* mount_setattr(2) flags applied to the whole tree, as runc 1.1 names them. */
static const struct flag_opt rec_attr_opts[] = {
    {"rro", MOUNT_ATTR_RDONLY, 0},
    {"rrw", 0, MOUNT_ATTR_RDONLY},
    {"rnosuid", MOUNT_ATTR_NOSUID, 0},
    {"rsuid", 0, MOUNT_ATTR_NOSUID},
    {"rnodev", MOUNT_ATTR_NODEV, 0},
    {"rdev", 0, MOUNT_ATTR_NODEV},
    {"rnoexec", MOUNT_ATTR_NOEXEC, 0},
    {"rexec", 0, MOUNT_ATTR_NOEXEC},
    {"rnodiratime", MOUNT_ATTR_NODIRATIME, 0},
    {"rdiratime", 0, MOUNT_ATTR_NODIRATIME},
    {"rrelatime", MOUNT_ATTR_RELATIME, MOUNT_ATTR__ATIME},
    {"rnorelatime", 0, MOUNT_ATTR__ATIME},
    {"rnoatime", MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME},
    {"ratime", 0, MOUNT_ATTR__ATIME},
    {"rstrictatime", MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME},
    {"rnostrictatime", 0, MOUNT_ATTR__ATIME},
    {"rnosymfollow", MOUNT_ATTR_NOSYMFOLLOW, 0},
    {"rsymfollow", 0, MOUNT_ATTR_NOSYMFOLLOW},
};

static const struct flag_opt *find_opt(const struct flag_opt *t, size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (streq(t[i].name, name))
                        return &t[i];
        return NULL;
}

static void append_data(char **data, const char *o)
{
        char *d;

        if (!*data) {
                *data = xstrdup(o);
                return;
        }
        d = xasprintf("%s,%s", *data, o);
        free(*data);
        *data = d;
}

/* The options that are neither flags nor data. Returns false if `o` is not one of them. */
static bool parse_special(const char *o, struct berth_mount_flags *f)
{
        const struct flag_opt *p;

        if (streq(o, "bind"))
                f->bind = true;
        else if (streq(o, "rbind"))
                f->rbind = true;
        else if (streq(o, "idmap"))
                f->idmap = true;
        else if (streq(o, "ridmap"))
                f->idmap = f->ridmap = true;
        else if (streq(o, "tmpcopyup"))
                f->tmpcopyup = true;
        else if ((p = find_opt(propagation_opts, ARRAY_SIZE(propagation_opts), o)))
                f->propagation = p->set;
        else if ((p = find_opt(rec_attr_opts, ARRAY_SIZE(rec_attr_opts), o))) {
                if (p->clear & MOUNT_ATTR__ATIME) {
                        /* the atime modes replace each other: one setting, cleared as a whole */
                        f->rec_attr_set = (f->rec_attr_set & ~MOUNT_ATTR__ATIME) | p->set;
                        f->rec_attr_clr |= MOUNT_ATTR__ATIME;
                } else {
                        f->rec_attr_set = (f->rec_attr_set & ~p->clear) | p->set;
                        f->rec_attr_clr = (f->rec_attr_clr & ~p->set) | p->clear;
                }
        } else
                return false;
        return true;
}

/*
 * A filesystem mounted anew has no submounts yet, so the recursive flags ("rro", "rnosuid",
 * "rnoatime", ...) are its own flags at mount(2) time, as crun applies them; without this they
 * were dropped for anything but a bind mount. Bind mounts keep them for mount_setattr(2)
 * AT_RECURSIVE. The recursive forms act after the plain ones, as when applied after the mount.
 */
static void fold_rec_attrs(struct berth_mount_flags *f)
{
        static const struct {
                uint64_t attr;
                unsigned long ms;
        } map[] = {
            {MOUNT_ATTR_RDONLY, MS_RDONLY},         {MOUNT_ATTR_NOSUID, MS_NOSUID},
            {MOUNT_ATTR_NODEV, MS_NODEV},           {MOUNT_ATTR_NOEXEC, MS_NOEXEC},
            {MOUNT_ATTR_NODIRATIME, MS_NODIRATIME}, {MOUNT_ATTR_NOSYMFOLLOW, MS_NOSYMFOLLOW},
        };
        const unsigned long atime = MS_NOATIME | MS_STRICTATIME | MS_RELATIME;

        if (f->bind || f->rbind)
                return;
        for (size_t i = 0; i < ARRAY_SIZE(map); i++) {
                if (f->rec_attr_clr & map[i].attr) {
                        f->flags &= ~map[i].ms;
                        f->clear |= map[i].ms;
                }
                if (f->rec_attr_set & map[i].attr) {
                        f->flags |= map[i].ms;
                        f->clear &= ~map[i].ms;
                }
        }
        if (!(f->rec_attr_clr & MOUNT_ATTR__ATIME))
                return;
        /* one atime mode: noatime, strictatime, or the kernel's default (relatime) */
        f->flags &= ~atime;
        if ((f->rec_attr_set & MOUNT_ATTR__ATIME) == MOUNT_ATTR_NOATIME)
                f->flags |= MS_NOATIME;
        else if ((f->rec_attr_set & MOUNT_ATTR__ATIME) == MOUNT_ATTR_STRICTATIME)
                f->flags |= MS_STRICTATIME;
        else
                f->flags |= MS_RELATIME;
}

int berth_mount_parse_options(char *const *options, struct berth_mount_flags *ret,
                              struct berth_error **err)
{
        struct berth_mount_flags f = {0};
        const struct flag_opt *p;

        for (size_t i = 0; options && options[i]; i++) {
                const char *o = options[i];

                if (o[0] == '\0' || parse_special(o, &f))
                        continue;
                p = find_opt(flag_opts, ARRAY_SIZE(flag_opts), o);
                if (!p) {
                        append_data(&f.data, o);
                        continue;
                }
                f.flags = (f.flags & ~p->clear) | p->set;
                f.clear = (f.clear & ~p->set) | p->clear;
        }
        fold_rec_attrs(&f);
        *ret = f;
        return 0;
}

void berth_mount_flags_clear(struct berth_mount_flags *f)
{
        if (!f)
                return;
        free(f->data);
        *f = (struct berth_mount_flags){0};
}

/* ---- applying flags ------------------------------------------------------------------------ */

static uint64_t attrs_of(unsigned long ms)
{
        static const struct {
                unsigned long ms;
                uint64_t attr;
        } map[] = {
            {MS_RDONLY, MOUNT_ATTR_RDONLY},         {MS_NOSUID, MOUNT_ATTR_NOSUID},
            {MS_NODEV, MOUNT_ATTR_NODEV},           {MS_NOEXEC, MOUNT_ATTR_NOEXEC},
            {MS_NODIRATIME, MOUNT_ATTR_NODIRATIME}, {MS_NOSYMFOLLOW, MOUNT_ATTR_NOSYMFOLLOW},
        };
        uint64_t a = 0;

        for (size_t i = 0; i < ARRAY_SIZE(map); i++)
                if (ms & map[i].ms)
                        a |= map[i].attr;
        return a;
}

void berth_mount_flags_attrs(const struct berth_mount_flags *f, uint64_t *ret_set,
                             uint64_t *ret_clr)
{
        const unsigned long atime = MS_NOATIME | MS_STRICTATIME | MS_RELATIME;
        uint64_t set = attrs_of(f->flags), clr = attrs_of(f->clear) & ~set;

        /* The atime mode is one setting: naming any of them replaces it (relatime by default). */
        if ((f->flags | f->clear) & atime) {
                clr |= MOUNT_ATTR__ATIME;
                if (f->flags & MS_NOATIME)
                        set |= MOUNT_ATTR_NOATIME;
                else if (f->flags & MS_STRICTATIME)
                        set |= MOUNT_ATTR_STRICTATIME;
        }
        *ret_set = set;
        *ret_clr = clr;
}

const char *berth_mount_attrs_str(uint64_t set, char *buf, size_t size)
{
        static const struct {
                uint64_t attr;
                const char *name;
        } names[] = {
            {MOUNT_ATTR_RDONLY, "ro"},
            {MOUNT_ATTR_NOSUID, "nosuid"},
            {MOUNT_ATTR_NODEV, "nodev"},
            {MOUNT_ATTR_NOEXEC, "noexec"},
            {MOUNT_ATTR_NOATIME, "noatime"},
            {MOUNT_ATTR_STRICTATIME, "strictatime"},
            {MOUNT_ATTR_NODIRATIME, "nodiratime"},
            {MOUNT_ATTR_NOSYMFOLLOW, "nosymfollow"},
        };
        size_t n = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < ARRAY_SIZE(names) && n < size; i++)
                if (set & names[i].attr)
                        n += (size_t) snprintf(buf + n, size - n, "%s%s", n ? "," : "",
                                               names[i].name);
        return buf;
}

/* The flags of the mount under fd that a user namespace may have locked, as MOUNT_ATTR_*. */
static uint64_t current_attrs(int fd)
{
        struct statvfs st;
        uint64_t a;

        if (fstatvfs(fd, &st) < 0)
                return 0;
        a = attrs_of(st.f_flag & (ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC | ST_NODIRATIME));
        if (st.f_flag & ST_NOATIME)
                a |= MOUNT_ATTR_NOATIME;
        return a;
}

static int setattr(int fd, bool rec, uint64_t set, uint64_t clr)
{
        struct mount_attr a = {.attr_set = set, .attr_clr = clr};

        return mount_setattr(fd, "", AT_EMPTY_PATH | (rec ? AT_RECURSIVE : 0), &a, sizeof(a));
}

int berth_mount_setattr(int fd, const char *what, uint64_t set, uint64_t clr, bool rec,
                        struct berth_error **err)
{
        uint64_t t = TRACE_T0(), locked;
        char buf[128];
        int r;

        if (set == 0 && clr == 0)
                return 0;
        r = setattr(fd, rec, set, clr);
        TRACE(t, "mount_setattr %s%s on %s", berth_mount_attrs_str(set, buf, sizeof(buf)),
              rec ? " (recursive)" : "", what);
        if (r < 0 && errno == EPERM && clr) {
                /* A flag the kernel locked (the mount came from a more privileged user
                 * namespace) cannot be cleared: keep it, as runc does. */
                locked = current_attrs(fd) & clr;
                if (clr & MOUNT_ATTR__ATIME) {
                        locked |= MOUNT_ATTR__ATIME;
                        set &= ~(uint64_t) MOUNT_ATTR__ATIME;
                }
                berth_warn("%s: cannot clear flags the kernel locked on the source, keeping them",
                           what);
                r = setattr(fd, rec, set, clr & ~locked);
        }
        if (r < 0)
                return berth_error_set(err, errno, "set %s on %s",
                                       berth_mount_attrs_str(set, buf, sizeof(buf)), what);
        return 0;
}

int berth_mount_propagate(int fd, const char *what, unsigned long propagation,
                          struct berth_error **err)
{
        struct mount_attr a = {.propagation = propagation & ~(unsigned long) MS_REC};
        bool rec = propagation & MS_REC;
        uint64_t t = TRACE_T0();
        int r;

        if (propagation == 0)
                return 0;
        r = mount_setattr(fd, "", AT_EMPTY_PATH | (rec ? AT_RECURSIVE : 0), &a, sizeof(a));
        TRACE(t, "mount_setattr propagation 0x%lx%s on %s", propagation, rec ? " (recursive)" : "",
              what);
        if (r < 0)
                return berth_error_set(err, errno, "set propagation of %s", what);
        return 0;
}

static int clone_tree(int srcfd, bool rec, const char *what, int *ret_fd, struct berth_error **err)
{
        uint64_t t = TRACE_T0();
        int fd = open_tree(srcfd, "",
                           OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH |
                               (rec ? AT_RECURSIVE : 0));

        TRACE(t, "open_tree%s for %s", rec ? " (recursive)" : "", what);
        if (fd < 0 && errno == ENOSYS)
                return berth_error_setx(
                    err, ENOSYS, "%s: open_tree: the new mount API (Linux 5.12) is required", what);
        if (fd < 0)
                return berth_error_set(err, errno, "%s: open_tree", what);
        *ret_fd = fd;
        return 0;
}

int berth_mount_attach(int mntfd, int dstfd, const char *what, struct berth_error **err)
{
        uint64_t t = TRACE_T0();
        int r = move_mount(mntfd, "", dstfd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);

        TRACE(t, "move_mount %s", what);
        if (r < 0)
                return berth_error_set(err, errno, "%s", what);
        return 0;
}

int berth_mount_clone(int srcfd, bool rec, const char *what, int *ret_fd, struct berth_error **err)
{
        return clone_tree(srcfd, rec, what, ret_fd, err);
}

int berth_mount_bind(int srcfd, int dstfd, const struct berth_mount_flags *f, const char *what,
                     int *ret_mnt, struct berth_error **err)
{
        _autoclose_ int tree = -EBADF;
        int r;

        r = clone_tree(srcfd, f->rbind, what, &tree, err);
        if (r < 0)
                return r;
        r = berth_mount_bind_tree(tree, dstfd, f, what, err);
        if (r >= 0 && ret_mnt)
                *ret_mnt = steal_fd(&tree);
        return r;
}

int berth_mount_bind_tree(int tree, int dstfd, const struct berth_mount_flags *f, const char *what,
                          struct berth_error **err)
{
        uint64_t set, clr;
        int r;

        berth_mount_flags_attrs(f, &set, &clr);
        r = berth_mount_setattr(tree, what, set, clr, false, err);
        if (r >= 0)
                r = berth_mount_setattr(tree, what, f->rec_attr_set, f->rec_attr_clr, true, err);
        if (r >= 0)
                r = berth_mount_attach(tree, dstfd, what, err);
        if (r >= 0)
                r = berth_mount_propagate(tree, what, f->propagation, err);
        return r;
}

int berth_mount_fs(const char *source, int dstfd, const char *type, unsigned long flags,
                   const char *data, const char *dest, struct berth_error **err)
{
        char buf[BERTH_FD_PATH_MAX];
        uint64_t t = TRACE_T0();
        int r;

        r = mount(source ? source : type, berth_fd_path(dstfd, buf), type, flags, data);
        TRACE(t, "mount %s on %s (0x%lx, %s)", type, dest, flags, data ? data : "");
        if (r < 0)
                return berth_error_set(err, errno, "mount %s on %s", type, dest);
        return 0;
}

int berth_mount_empty_tmpfs(int dstfd, uint64_t attrs, const char *what, struct berth_error **err)
{
        _autoclose_ int fs = -EBADF, mnt = -EBADF;
        uint64_t t = TRACE_T0();

        /* fsopen/fsmount rather than mount(2): no need for a /proc in the container */
        fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
        if (fs < 0)
                return berth_error_set(err, errno, "%s: fsopen tmpfs", what);
        if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
                return berth_error_set(err, errno, "%s: create tmpfs", what);
        mnt = fsmount(fs, FSMOUNT_CLOEXEC, (unsigned) attrs);
        if (mnt < 0)
                return berth_error_set(err, errno, "%s: fsmount tmpfs", what);
        TRACE(t, "fsmount tmpfs for %s", what);
        return berth_mount_attach(mnt, dstfd, what, err);
}
