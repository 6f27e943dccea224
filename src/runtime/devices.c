/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /dev in the container, as runc builds it when the config does not bind-mount /dev: the default
 * devices plus linux.devices, made from their type and numbers whatever the host has at that path
 * (mknod; where mknod is not allowed, in a user namespace, a bind of a host node of the same type
 * and major:minor), the /dev/fd and /dev/std* symlinks, and /dev/ptmx -> pts/ptmx.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "base/log.h"
#include "base/path.h"
#include "runtime/rootfs-internal.h"
#include "base/util.h"

/* runc's AllowedDevices that have a path. */
static const struct berth_device default_devices[] = {
    {.path = (char *) "/dev/null", .type = 'c', .major = 1, .minor = 3},
    {.path = (char *) "/dev/random", .type = 'c', .major = 1, .minor = 8},
    {.path = (char *) "/dev/full", .type = 'c', .major = 1, .minor = 7},
    {.path = (char *) "/dev/tty", .type = 'c', .major = 5, .minor = 0},
    {.path = (char *) "/dev/zero", .type = 'c', .major = 1, .minor = 5},
    {.path = (char *) "/dev/urandom", .type = 'c', .major = 1, .minor = 9},
};

static mode_t type_bits(char type)
{
        switch (type) {
        case 'c':
        case 'u':
                return S_IFCHR;
        case 'b':
                return S_IFBLK;
        case 'p':
                return S_IFIFO;
        default:
                return 0;
        }
}

static const char *base_name(const char *path)
{
        const char *end = path + strlen(path), *b;

        while (end > path && end[-1] == '/')
                end--;
        for (b = end; b > path && b[-1] != '/'; b--)
                ;
        return b;
}

static int validate_device(const struct berth_device *d, size_t i, struct berth_error **err)
{
        const char *b;

        if (!d->path || d->path[0] != '/')
                return berth_error_setx(err, EINVAL,
                                        "linux.devices[%zu].path \"%s\": must be an absolute path",
                                        i, d->path ? d->path : "");
        b = base_name(d->path);
        if (b[0] == '\0' || streq(b, ".") || streq(b, "..") || strncmp(b, "../", 3) == 0 ||
            strchr(b, '/'))
                return berth_error_setx(
                    err, EINVAL, "linux.devices[%zu].path \"%s\": must name a file", i, d->path);
        if (!type_bits(d->type))
                return berth_error_setx(err, EINVAL,
                                        "linux.devices[%zu].type \"%c\": must be one of c, b, u, p",
                                        i, d->type ? d->type : '?');
        if (d->type != 'p' && (d->major < 0 || d->major > UINT32_MAX))
                return berth_error_setx(err, EINVAL, "linux.devices[%zu].major %lld: out of range",
                                        i, (long long) d->major);
        if (d->type != 'p' && (d->minor < 0 || d->minor > UINT32_MAX))
                return berth_error_setx(err, EINVAL, "linux.devices[%zu].minor %lld: out of range",
                                        i, (long long) d->minor);
        return 0;
}

int berth_devices_validate(const struct berth_spec *spec, struct berth_error **err)
{
        for (size_t i = 0; i < spec->lx.n_devices; i++) {
                int r = validate_device(&spec->lx.devices[i], i, err);

                if (r < 0)
                        return r;
        }
        return 0;
}

/* Splits d->path into its directory, resolved (and created) in the rootfs, and its name. The
 * name is d->path's last component: validate refused "", "." and "..". */
static int open_parent(int rootfd, const char *path, int *ret_dirfd, const char **ret_name,
                       struct berth_error **err)
{
        const char *name = base_name(path);
        _autofree_ char *dir = strndup(path, (size_t) (name - path));
        int r;

        if (!dir)
                abort();
        r = berth_resolve_in_root(rootfd, dir, BERTH_RESOLVE_MKDIR, ret_dirfd, err);
        if (r < 0)
                return r;
        *ret_name = name;
        return 0;
}

/* Whether fd (opened on the host) is a node of d's type and number. */
static bool is_node_of(int fd, const struct berth_device *d)
{
        mode_t type = type_bits(d->type);
        struct stat st;

        return fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == type &&
               major(st.st_rdev) == (unsigned) d->major && minor(st.st_rdev) == (unsigned) d->minor;
}

/* Opens (O_PATH) path relative to dirfd if it is a node of d's type and number. */
static int open_if_node(int dirfd, const char *path, int flags, const struct berth_device *d)
{
        int fd = openat(dirfd, path, O_PATH | O_CLOEXEC | flags);

        if (fd >= 0 && !is_node_of(fd, d)) {
                close(fd);
                return -1;
        }
        return fd;
}

/* The first node of d's type and number under parent, `depth` levels deep at most; symlinks are
 * not followed and the node is checked again once opened. */
static int walk_for_node(int parent, int depth, const struct berth_device *d)
{
        _autoclose_ int fd = openat(parent, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        mode_t type = type_bits(d->type);
        struct dirent *de;
        struct stat st;
        int found = -1;
        DIR *dir;

        if (fd < 0 || !(dir = fdopendir(fd)))
                return -1;
        fd = -EBADF; /* owned by dir now */
        while (found < 0 && (de = readdir(dir))) {
                if (de->d_name[0] == '.' ||
                    fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0)
                        continue;
                if ((st.st_mode & S_IFMT) == type && major(st.st_rdev) == (unsigned) d->major &&
                    minor(st.st_rdev) == (unsigned) d->minor)
                        found = open_if_node(dirfd(dir), de->d_name, O_NOFOLLOW, d);
                else if (S_ISDIR(st.st_mode) && depth > 1) {
                        _autoclose_ int sub = openat(dirfd(dir), de->d_name,
                                                     O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

                        if (sub >= 0)
                                found = walk_for_node(sub, depth - 1, d);
                }
        }
        closedir(dir);
        return found;
}

/*
 * A node of the host's that is d's device, to bind where mknod is not allowed: d->path itself
 * when the host has that very node there, else udev's /dev/{char,block}/MAJ:MIN, else the first
 * one found in the host's /dev (three levels deep). Runs before pivot_root, so "/" is the host's.
 * Returns an O_PATH fd, or -1 if the host has no such node.
 */
static int find_host_node(const struct berth_device *d)
{
        _autoclose_ int devfd = -EBADF;
        char byname[64];
        int fd;

        fd = open_if_node(AT_FDCWD, d->path, 0, d);
        if (fd >= 0)
                return fd;
        snprintf(byname, sizeof(byname), "/dev/%s/%lld:%lld", d->type == 'b' ? "block" : "char",
                 (long long) d->major, (long long) d->minor);
        fd = open_if_node(AT_FDCWD, byname, 0, d);
        if (fd >= 0)
                return fd;
        devfd = open("/dev", O_PATH | O_DIRECTORY | O_CLOEXEC);
        return devfd < 0 ? -1 : walk_for_node(devfd, 3, d);
}

/* Where mknod is not allowed (a user namespace): an empty file with a host node of the same type
 * and number bound on it. The host's node keeps its own mode and owner: fileMode, uid and gid are
 * not applied to it (as runc). `why` is mknod's errno (EPERM) or 0 in a user namespace. */
static int bind_device(const struct berth_device *d, int dirfd, const char *name, int why,
                       struct berth_error **err)
{
        const struct berth_mount_flags none = {0};
        _autoclose_ int fd = -EBADF, src = -EBADF;
        _autofree_ char *what = NULL;

        src = find_host_node(d);
        if (src < 0)
                return berth_error_setx(
                    err, EPERM,
                    "path \"%s\" (%c %lld:%lld): %s, and the host has no %s node %lld:%lld to "
                    "bind instead: %s (bind-mount a host device with a \"mounts\" entry, or %s)",
                    d->path, d->type, (long long) d->major, (long long) d->minor,
                    why ? "mknod is not allowed" : "mknod is not allowed in a user namespace",
                    d->type == 'b' ? "block" : "character", (long long) d->major,
                    (long long) d->minor, strerror(why ? why : EPERM),
                    why ? "run the runtime with CAP_MKNOD" : "leave out the user namespace");
        fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0000);
        if (fd < 0)
                return berth_error_set(err, errno, "create %s", d->path);
        closep(&fd);
        fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0)
                return berth_error_set(err, errno, "open %s", d->path);
        what = xasprintf("bind a host %c %lld:%lld node on %s", d->type, (long long) d->major,
                         (long long) d->minor, d->path);
        return berth_mount_bind(src, fd, &none, what, NULL, err);
}

static bool is_same_node(int dirfd, const char *name, mode_t type, dev_t dev)
{
        struct stat st;

        return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
               (st.st_mode & S_IFMT) == type && (type == S_IFIFO || st.st_rdev == dev);
}

/* mknod, replacing anything else of that name. Returns 1 when the very node already exists (kept
 * as it is, like runc), 0 when made, -1 with errno on failure, like mknod(2). */
static int mknod_device(const struct berth_device *d, int dirfd, const char *name)
{
        mode_t type = type_bits(d->type), mode = d->has_file_mode ? d->file_mode & 07777 : 0666;
        dev_t dev = type == S_IFIFO ? 0 : makedev((unsigned) d->major, (unsigned) d->minor);
        uint64_t t = TRACE_T0();
        int r;

        r = mknodat(dirfd, name, type | mode, dev);
        if (r < 0 && errno == EEXIST && is_same_node(dirfd, name, type, dev))
                return 1;
        /* Something else of that name (from the image) is replaced: a symlink named like a
         * device must not survive to be used as one. */
        if (r < 0 && errno == EEXIST && unlinkat(dirfd, name, 0) == 0)
                r = mknodat(dirfd, name, type | mode, dev);
        TRACE(t, "mknod %s %c %lld:%lld", d->path, d->type, (long long) d->major,
              (long long) d->minor);
        return r;
}

static int create_device(int rootfd, const struct berth_device *d, bool in_userns,
                         struct berth_error **err)
{
        _autoclose_ int dirfd = -EBADF;
        const char *name;
        int r;

        r = open_parent(rootfd, d->path, &dirfd, &name, err);
        if (r < 0)
                return r;
        if (in_userns && d->type != 'p')
                return bind_device(d, dirfd, name, 0, err);
        r = mknod_device(d, dirfd, name);
        if (r < 0)
                return errno == EPERM ? bind_device(d, dirfd, name, EPERM, err)
                                      : berth_error_set(err, errno, "mknod %s", d->path);
        if (r == 0 && (d->has_uid || d->has_gid) &&
            fchownat(dirfd, name, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0)
                return berth_error_set(err, errno, "chown %s to %u:%u", d->path, d->uid, d->gid);
        return 0;
}

static bool overridden(const struct berth_spec *s, const char *path)
{
        for (size_t i = 0; i < s->lx.n_devices; i++)
                if (streq(s->lx.devices[i].path, path))
                        return true;
        return false;
}

static int create_devices(const struct berth_spec *s, bool in_userns, int rootfd,
                          struct berth_error **err)
{
        int r = 0;

        for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(default_devices); i++)
                if (!overridden(s, default_devices[i].path))
                        r = create_device(rootfd, &default_devices[i], in_userns, err);
        for (size_t i = 0; r >= 0 && i < s->lx.n_devices; i++) {
                r = create_device(rootfd, &s->lx.devices[i], in_userns, err);
                if (r < 0)
                        r = berth_error_prefix(err, "linux.devices[%zu]", i);
        }
        return r;
}

static int dev_symlinks(int devfd, struct berth_error **err)
{
        static const char *const links[][2] = {
            {"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"},
            {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
            {"/proc/kcore", "core"},
        };
        /* runc only links /dev/core when the kernel has /proc/kcore (CONFIG_PROC_KCORE) */
        size_t n = access("/proc/kcore", F_OK) == 0 ? ARRAY_SIZE(links) : ARRAY_SIZE(links) - 1;

        for (size_t i = 0; i < n; i++)
                if (symlinkat(links[i][0], devfd, links[i][1]) < 0 && errno != EEXIST)
                        return berth_error_set(err, errno, "symlink /dev/%s -> %s", links[i][1],
                                               links[i][0]);
        return 0;
}

static bool mounts_devpts(const struct berth_spec *s)
{
        for (size_t i = 0; i < s->n_mounts; i++) {
                const char *d = s->mounts[i].destination;

                if (d && berth_path_is(d, "/dev/pts"))
                        return true;
        }
        return false;
}

/* /dev/ptmx must be the container's devpts instance's, not the host's. */
static int setup_ptmx(int devfd, struct berth_error **err)
{
        if (unlinkat(devfd, "ptmx", 0) < 0 && errno != ENOENT)
                return berth_error_set(err, errno, "remove /dev/ptmx");
        if (symlinkat("pts/ptmx", devfd, "ptmx") < 0)
                return berth_error_set(err, errno, "symlink /dev/ptmx -> pts/ptmx");
        return 0;
}

int berth_devices_setup(const struct berth_spec *spec, const struct berth_rootfs_opts *o,
                        int rootfd, struct berth_error **err)
{
        _autoclose_ int devfd = -EBADF;
        mode_t old = umask(0);
        int r;

        r = create_devices(spec, o->in_userns, rootfd, err);
        umask(old);
        if (r < 0)
                return r;
        r = berth_resolve_in_root(rootfd, "/dev", BERTH_RESOLVE_MKDIR, &devfd, err);
        if (r < 0)
                return berth_error_prefix(err, "/dev");
        /* devfd is an O_PATH fd: fine as the dirfd of symlinkat/unlinkat */
        r = dev_symlinks(devfd, err);
        if (r >= 0 && mounts_devpts(spec))
                r = setup_ptmx(devfd, err);
        return r;
}
