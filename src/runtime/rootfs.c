/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The container's filesystem, with runc's semantics (libcontainer/rootfs_linux.go). Every mount
 * destination is resolved inside the rootfs by berth_resolve_in_root() and mounted on the
 * resulting fd, never on a host path string built by concatenation (CVE-2015-3627,
 * CVE-2021-30465).
 */
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

#include "base/log.h"
#include "runtime/ns.h"
#include "base/path.h"
#include "runtime/rootfs-internal.h"
#include "runtime/rootfs.h"
#include "base/syscalls.h"
#include "base/util.h"

/* ---- small helpers --------------------------------------------------------------------------- */

static bool is_bind(const struct berth_mount *m, const struct berth_mount_flags *f)
{
        return f->bind || f->rbind || streq_ptr(m->type, "bind");
}

/* runc never creates device nodes when the config bind-mounts something on /dev. */
static bool needs_dev_setup(const struct berth_spec *s)
{
        for (size_t i = 0; i < s->n_mounts; i++) {
                struct berth_mount_flags f = {0};
                bool b;

                berth_mount_parse_options(s->mounts[i].options, &f, NULL);
                b = is_bind(&s->mounts[i], &f);
                berth_mount_flags_clear(&f);
                if (b && berth_path_is(s->mounts[i].destination, "/dev"))
                        return false;
        }
        return true;
}

/* Hands an error kept aside (to test its code first) to the caller's err, which may be NULL. */
static void move_error(struct berth_error **err, struct berth_error **e)
{
        if (err) {
                berth_error_free(*err);
                *err = steal_ptr(e);
        }
}

static bool is_fs(int fd, long magic)
{
        struct statfs sf;

        return fstatfs(fd, &sf) == 0 && sf.f_type == magic;
}

/* ---- validation (parent side) -----------------------------------------------------------------
 */

static bool is_idmapped(const struct berth_mount *m, const struct berth_mount_flags *f)
{
        return f->idmap || m->n_uid_mappings || m->n_gid_mappings;
}

/* config.md, "idmap": the mount's own mappings, else the container's user namespace's; with
 * neither, an error. Only a bind mount can be idmapped here. */
static int validate_idmap(const struct berth_spec *spec, const struct berth_mount *m,
                          const struct berth_mount_flags *f, size_t i, struct berth_error **err)
{
        if (!is_bind(m, f))
                return berth_error_setx(err, EINVAL,
                                        "mounts[%zu] \"%s\": idmap: only a bind mount "
                                        "can be idmapped",
                                        i, m->destination);
        if (!m->n_uid_mappings && !spec->lx.ns[BERTH_NS_USER].enabled)
                return berth_error_setx(err, EINVAL,
                                        "mounts[%zu] \"%s\": idmap: no uidMappings "
                                        "and gidMappings for the mount, and the container has no "
                                        "user namespace to take them from",
                                        i, m->destination);
        return 0;
}

static int validate_mount(const struct berth_spec *spec, const struct berth_mount *m, size_t i,
                          struct berth_error **err)
{
        struct berth_mount_flags f = {0};
        int r;

        if (!m->destination || m->destination[0] != '/')
                return berth_error_setx(err, EINVAL,
                                        "mounts[%zu].destination \"%s\": must be an absolute path",
                                        i, m->destination ? m->destination : "");
        r = berth_mount_parse_options(m->options, &f, err);
        if (r < 0)
                return berth_error_prefix(err, "mounts[%zu].options", i);
        if (f.tmpcopyup)
                berth_warn("mounts[%zu] \"%s\": \"tmpcopyup\" is not supported yet, ignoring", i,
                           m->destination);
        if (is_bind(m, &f) && !m->source)
                r = berth_error_setx(err, EINVAL, "mounts[%zu].source: required for a bind mount",
                                     i);
        else if (!is_bind(m, &f) && !m->type)
                r = berth_error_setx(
                    err, EINVAL,
                    "mounts[%zu].type: required unless the options contain \"bind\" or \"rbind\"",
                    i);
        else if (is_idmapped(m, &f))
                r = validate_idmap(spec, m, &f, i, err);
        berth_mount_flags_clear(&f);
        return r;
}

static int validate_paths(char *const *paths, const char *field, struct berth_error **err)
{
        for (size_t i = 0; paths && paths[i]; i++)
                if (paths[i][0] != '/')
                        return berth_error_setx(err, EINVAL,
                                                "linux.%s[%zu] \"%s\": must be an absolute path",
                                                field, i, paths[i]);
        return 0;
}

/* Without a mount namespace, each of these would be mounted in the host's and outlive the
 * container (runc makes them there; crun ignores some): refused, by name. */
static int validate_host_mount_ns(const struct berth_spec *spec, struct berth_error **err)
{
        const char *field =
            spec->n_mounts                                          ? "mounts"
            : spec->lx.masked_paths && spec->lx.masked_paths[0]     ? "linux.maskedPaths"
            : spec->lx.readonly_paths && spec->lx.readonly_paths[0] ? "linux.readonlyPaths"
            : spec->root_readonly                                   ? "root.readonly"
                                                                    : NULL;

        if (!field)
                return 0;
        return berth_error_setx(err, EINVAL,
                                "%s: needs a mount namespace, and linux.namespaces has none (the "
                                "runtime's is inherited): it would be mounted in the host's; add "
                                "{\"type\": \"mount\"} or remove it",
                                field);
}

int berth_rootfs_validate(const struct berth_spec *spec, struct berth_error **err)
{
        int r;

        if (!spec->lx.ns[BERTH_NS_MNT].enabled) {
                r = validate_host_mount_ns(spec, err);
                if (r < 0)
                        return r;
        }

        for (size_t i = 0; i < spec->n_mounts; i++) {
                r = validate_mount(spec, &spec->mounts[i], i, err);
                if (r < 0)
                        return r;
        }
        r = validate_paths(spec->lx.masked_paths, "maskedPaths", err);
        if (r >= 0)
                r = validate_paths(spec->lx.readonly_paths, "readonlyPaths", err);
        if (r >= 0)
                r = berth_devices_validate(spec, err);
        if (r >= 0 && spec->lx.mount_label && spec->lx.mount_label[0])
                berth_warn("mountLabel: SELinux is not enabled on this host, ignoring");
        return r;
}

/* ---- /proc/self/mountinfo ------------------------------------------------------------------- */

struct mnt_entry {
        int id;
        char *root, *mountpoint, *optional, *fstype, *super_opts;
};

/* Undoes the octal escapes of mountinfo ("\040" for a space) in place. */
static char *unescape(char *s)
{
        char *r = s, *w = s;

        for (; *r; r++, w++) {
                if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
                    r[3] >= '0' && r[3] <= '7') {
                        *w = (char) ((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
                        r += 3;
                } else
                        *w = *r;
        }
        *w = '\0';
        return s;
}

static bool parse_mountinfo_line(char *line, struct mnt_entry *e)
{
        char *f[6], *sep, *save = NULL;

        sep = strstr(line, " - ");
        if (!sep)
                return false;
        *sep = '\0';
        for (int i = 0; i < 6; i++)
                f[i] = strtok_r(i ? NULL : line, " ", &save);
        if (!f[5])
                return false;
        e->id = atoi(f[0]);
        e->root = unescape(f[3]);
        e->mountpoint = unescape(f[4]);
        e->optional = save ? save : (char *) "";
        save = NULL;
        e->fstype = strtok_r(sep + 3, " ", &save);
        strtok_r(NULL, " ", &save); /* source */
        e->super_opts = strtok_r(NULL, " \n", &save);
        return e->fstype && e->super_opts;
}

/* Calls fn for each mount of the caller's namespace; stops at the first fn < 0 and returns it. */
static int for_each_mount(int (*fn)(const struct mnt_entry *e, void *data), void *data,
                          struct berth_error **err)
{
        _autofree_ char *buf = NULL;
        char *line, *save = NULL;
        struct mnt_entry e;
        int r;

        r = berth_read_file_at(AT_FDCWD, "/proc/self/mountinfo", 0, &buf, NULL, err);
        if (r < 0)
                return r;
        for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                if (!parse_mountinfo_line(line, &e))
                        continue;
                r = fn(&e, data);
                if (r != 0)
                        return r;
        }
        return 0;
}

/* ---- the root ------------------------------------------------------------------------------ */

struct find_mnt {
        int id;
        char *mountpoint;
        bool shared;
};

static int match_mnt_id(const struct mnt_entry *e, void *data)
{
        struct find_mnt *m = data;

        if (e->id != m->id)
                return 0;
        m->mountpoint = xstrdup(e->mountpoint);
        m->shared = strstr(e->optional, "shared:") != NULL;
        return 1;
}

/*
 * pivot_root(2) fails when the new root's parent mount is shared, and with a shared parent the
 * bind of the rootfs onto itself would propagate out of our namespace: make the mount holding
 * the rootfs private first (runc's rootfsParentMountPrivate). Only needed for "shared".
 */
static int make_parent_private(const char *rootfs, struct berth_error **err)
{
        struct find_mnt m = {0};
        struct statx stx;
        uint64_t t;
        int r;

        if (statx(AT_FDCWD, rootfs, 0, STATX_MNT_ID, &stx) < 0)
                return berth_error_set(err, errno, "statx %s", rootfs);
        m.id = (int) stx.stx_mnt_id;
        r = for_each_mount(match_mnt_id, &m, err);
        if (r < 0 || !m.shared) {
                free(m.mountpoint);
                return r < 0 ? r : 0;
        }
        t = TRACE_T0();
        r = mount(NULL, m.mountpoint, NULL, MS_PRIVATE, NULL);
        TRACE(t, "mount --make-private %s", m.mountpoint);
        if (r < 0)
                r = berth_error_set(err, errno, "make %s private", m.mountpoint);
        free(m.mountpoint);
        return r;
}

/*
 * What "/" gets before anything is mounted, always recursive so that nothing we mount can
 * propagate back to the host: rslave, or rshared/rprivate when configured so. "unbindable" is
 * applied after pivot_root only (an unbindable rootfs could not be bound onto itself).
 */
static unsigned long root_propagation(unsigned long configured)
{
        if (configured & (MS_SHARED | MS_PRIVATE))
                return (configured & (MS_SHARED | MS_PRIVATE)) | MS_REC;
        return MS_SLAVE | MS_REC;
}

/* Propagation of "/" (rslave unless configured), then the rootfs bound onto itself so that it
 * is a mount point for pivot_root. Returns the new mount's fd: the container's "/". */
static int prepare_root(const struct berth_spec *s, const struct berth_rootfs_opts *o,
                        int *ret_rootfd, struct berth_error **err)
{
        unsigned long prop = root_propagation(s->lx.rootfs_propagation);
        const struct berth_mount_flags self = {.rbind = true};
        _autoclose_ int fd = -EBADF;
        _autofree_ char *what = NULL;
        uint64_t t = TRACE_T0();
        int r;

        r = mount(NULL, "/", NULL, prop, NULL);
        TRACE(t, "mount propagation 0x%lx on /", prop);
        if (r < 0)
                return berth_error_set(err, errno,
                                       "set propagation of / (linux.rootfsPropagation)");
        if (prop & MS_SHARED) {
                r = make_parent_private(o->rootfs, err);
                if (r < 0)
                        return r;
        }
        fd = open(o->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return berth_error_set(err, errno, "open rootfs %s", o->rootfs);
        what = xasprintf("bind rootfs %s onto itself", o->rootfs);
        return berth_mount_bind(fd, fd, &self, what, ret_rootfd, err);
}

/* ---- one entry of spec->mounts ----------------------------------------------------------------
 */

struct mnt_ctx {
        const struct berth_spec *spec;
        const struct berth_rootfs_opts *o;
        const struct berth_mount *m;
        struct berth_mount_flags f;
        size_t i;
        int rootfd;
};

static int resolve_dest(const struct mnt_ctx *c, int flags, int *ret_fd, struct berth_error **err)
{
        int r = berth_resolve_in_root(c->rootfd, c->m->destination, flags, ret_fd, err);

        if (r < 0)
                return berth_error_prefix(err, "mounts[%zu].destination \"%s\"", c->i,
                                          c->m->destination);
        return 0;
}

/* Entries lxcfs emulates: the only places inside procfs where runc lets a mount go. */
static bool proc_dest_allowed(const char *dest)
{
        static const char *const ok[] = {"/proc/cpuinfo", "/proc/diskstats",
                                         "/proc/meminfo", "/proc/stat",
                                         "/proc/swaps",   "/proc/uptime",
                                         "/proc/loadavg", "/proc/slabinfo",
                                         "/proc/net/dev", "/proc/sys/kernel/ns_last_pid"};

        for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
                if (berth_path_is(dest, ok[i]))
                        return true;
        return false;
}

/*
 * A mount over procfs entries can hide what AppArmor or the masked paths rely on
 * (CVE-2019-16884, CVE-2019-19921): refuse destinations on a procfs mount, and on /proc
 * anything but a procfs. srcfd is the bind source, or -1.
 */
static int check_proc_dest(const struct mnt_ctx *c, int destfd, int srcfd, struct berth_error **err)
{
        const char *dest = c->m->destination;

        if (is_fs(destfd, PROC_SUPER_MAGIC) && !proc_dest_allowed(dest))
                return berth_error_setx(
                    err, EPERM, "mounts[%zu].destination \"%s\": is inside /proc", c->i, dest);
        if (berth_path_is(dest, "/proc") && !streq_ptr(c->m->type, "proc") &&
            !(srcfd >= 0 && is_fs(srcfd, PROC_SUPER_MAGIC)))
                return berth_error_setx(err, EPERM,
                                        "mounts[%zu].destination \"/proc\": only a proc filesystem "
                                        "can be mounted there",
                                        c->i);
        return 0;
}

/* tmpfs and /dev are mounted writable and made read-only by finalize (devices, chmod). */
static bool delays_ro(const struct berth_mount *m)
{
        return streq_ptr(m->type, "tmpfs") || berth_path_is(m->destination, "/dev");
}

static int open_source_path(const char *bundle, const char *source, size_t i, int *ret_fd,
                            struct berth_error **err)
{
        _autofree_ char *path = NULL;
        int fd;

        if (source[0] != '/' && bundle)
                source = path = xasprintf("%s/%s", bundle, source);
        fd = open(source, O_PATH | O_CLOEXEC);
        if (fd < 0)
                return berth_error_set(err, errno, "mounts[%zu].source \"%s\"", i, source);
        *ret_fd = fd;
        return 0;
}

/* The source as the init sees it, or, where the init may not open it, a detached clone the
 * runtime made on the host side (*ret_is_tree). */
static int open_source(const struct mnt_ctx *c, int *ret_fd, bool *ret_is_tree,
                       struct berth_error **err)
{
        _autoerr_ struct berth_error *e = NULL;
        int r;

        *ret_is_tree = false;
        /* idmapped: made by the runtime, whatever the init could open */
        r = is_idmapped(c->m, &c->f)
                ? -EPERM
                : open_source_path(c->o->bundle, c->m->source, c->i, ret_fd, &e);
        if (r >= 0)
                return 0;
        if ((r != -EACCES && r != -EPERM) || !c->o->host_source) {
                if (!e)
                        return berth_error_setx(err, ENOTSUP,
                                                "mounts[%zu]: idmap: the runtime "
                                                "cannot make it here",
                                                c->i);
                move_error(err, &e);
                return r;
        }
        r = c->o->host_source(c->o->host_source_data, c->i, ret_fd, err);
        *ret_is_tree = r >= 0;
        return r;
}

/* mount_setattr(MOUNT_ATTR_IDMAP) on the detached tree: the mount's own mappings, or those of
 * the container's user namespace (its init's). */
static int idmap_tree(const struct berth_spec *spec, const struct berth_mount *m,
                      const struct berth_mount_flags *f, pid_t init, int tree, const char *what,
                      struct berth_error **err)
{
        struct mount_attr a = {.attr_set = MOUNT_ATTR_IDMAP};
        _autoclose_ int userns = -EBADF;
        uint64_t t = TRACE_T0();
        char path[64];
        int r;

        if (m->n_uid_mappings) {
                r = berth_userns_from_maps(m->uid_mappings, m->n_uid_mappings, m->gid_mappings,
                                           m->n_gid_mappings, &userns, err);
                if (r < 0)
                        return berth_error_prefix(err, "%s: idmap", what);
        } else {
                snprintf(path, sizeof(path), "/proc/%d/ns/user", (int) init);
                userns = open(path, O_RDONLY | O_CLOEXEC);
                if (userns < 0)
                        return berth_error_set(err, errno, "%s: idmap: open %s", what, path);
        }
        a.userns_fd = (uint64_t) userns;
        if (mount_setattr(tree, "", AT_EMPTY_PATH | (f->ridmap ? AT_RECURSIVE : 0), &a, sizeof(a)) <
            0)
                return berth_error_set(err, errno, "%s: idmap (mount_setattr MOUNT_ATTR_IDMAP%s)",
                                       what,
                                       errno == EINVAL ? ": does its filesystem support "
                                                         "idmapped mounts?"
                                                       : "");
        TRACE(t, "idmap%s %s", f->ridmap ? " (recursive)" : "", what);
        return 0;
}

int berth_rootfs_host_source(const struct berth_spec *spec, const char *bundle, size_t i,
                             pid_t init, int *ret_tree, struct berth_error **err)
{
        const struct berth_mount *m = i < spec->n_mounts ? &spec->mounts[i] : NULL;
        struct berth_mount_flags f = {0};
        _autoclose_ int src = -EBADF, tree = -EBADF;
        _autofree_ char *what = NULL;
        int r;

        if (!m || !m->source || berth_mount_parse_options(m->options, &f, NULL) < 0 ||
            !is_bind(m, &f)) {
                berth_mount_flags_clear(&f);
                return berth_error_setx(err, EINVAL, "mounts[%zu]: not a bind mount", i);
        }
        what = xasprintf("mounts[%zu] source \"%s\" (host side)", i, m->source);
        r = open_source_path(bundle, m->source, i, &src, err);
        if (r >= 0)
                r = berth_mount_clone(src, f.rbind || (streq_ptr(m->type, "bind") && !f.bind), what,
                                      &tree, err);
        if (r >= 0 && is_idmapped(m, &f))
                r = idmap_tree(spec, m, &f, init, tree, what, err);
        berth_mount_flags_clear(&f);
        if (r >= 0)
                r = berth_mount_propagate(tree, what, root_propagation(spec->lx.rootfs_propagation),
                                          err);
        if (r < 0)
                return r;
        *ret_tree = steal_fd(&tree);
        return 0;
}

static int mount_bind_entry(struct mnt_ctx *c, struct berth_error **err)
{
        _autoclose_ int srcfd = -EBADF, destfd = -EBADF;
        _autofree_ char *what = NULL;
        struct stat src, dst;
        bool is_tree;
        int r;

        r = open_source(c, &srcfd, &is_tree, err);
        if (r < 0)
                return r;
        if (fstat(srcfd, &src) < 0)
                return berth_error_set(err, errno, "mounts[%zu].source \"%s\"", c->i, c->m->source);
        r = resolve_dest(c, BERTH_RESOLVE_MKDIR | (S_ISDIR(src.st_mode) ? 0 : BERTH_RESOLVE_MKFILE),
                         &destfd, err);
        if (r >= 0)
                r = check_proc_dest(c, destfd, srcfd, err);
        if (r < 0)
                return r;
        if (fstat(destfd, &dst) == 0 && S_ISDIR(src.st_mode) != S_ISDIR(dst.st_mode))
                return berth_error_setx(
                    err, ENOTDIR, "mounts[%zu]: cannot bind %s \"%s\" on %s \"%s\"", c->i,
                    S_ISDIR(src.st_mode) ? "directory" : "file", c->m->source,
                    S_ISDIR(dst.st_mode) ? "directory" : "file", c->m->destination);
        if (streq_ptr(c->m->type, "bind") && !c->f.bind)
                c->f.rbind = true; /* "type": "bind" without an option: recursive, like crun */
        if (delays_ro(c->m))
                c->f.flags &= ~(unsigned long) MS_RDONLY;
        what = xasprintf("bind %s on %s", c->m->source, c->m->destination);
        r = is_tree ? berth_mount_bind_tree(srcfd, destfd, &c->f, what, err)
                    : berth_mount_bind(srcfd, destfd, &c->f, what, NULL, err);
        return r < 0 ? berth_error_prefix(err, "mounts[%zu]", c->i) : 0;
}

/* runc gives a tmpfs on an existing directory that directory's mode. */
static int tmpfs_data(struct mnt_ctx *c, int *ret_fd, char **ret_data, struct berth_error **err)
{
        _autoerr_ struct berth_error *e = NULL;
        struct stat st;
        int r;

        r = berth_resolve_in_root(c->rootfd, c->m->destination, 0, ret_fd, &e);
        if (r == -ENOENT) {
                *ret_data = xstrdup(c->f.data);
                return resolve_dest(c, BERTH_RESOLVE_MKDIR, ret_fd, err);
        }
        if (r < 0) {
                move_error(err, &e);
                return berth_error_prefix(err, "mounts[%zu].destination \"%s\"", c->i,
                                          c->m->destination);
        }
        if (fstat(*ret_fd, &st) == 0 && S_ISDIR(st.st_mode))
                *ret_data = c->f.data ? xasprintf("mode=%04o,%s", st.st_mode & 07777, c->f.data)
                                      : xasprintf("mode=%04o", st.st_mode & 07777);
        else
                *ret_data = xstrdup(c->f.data);
        return 0;
}

/* proc and sysfs must land on a real directory, not through a symlink (runc). */
static int resolve_fs_dest(struct mnt_ctx *c, int *ret_fd, char **ret_data,
                           struct berth_error **err)
{
        const char *type = c->m->type;
        struct stat st;
        int r;

        if (streq(type, "tmpfs"))
                return tmpfs_data(c, ret_fd, ret_data, err);
        *ret_data = xstrdup(c->f.data);
        if (!streq(type, "proc") && !streq(type, "sysfs"))
                return resolve_dest(c, BERTH_RESOLVE_MKDIR, ret_fd, err);
        r = resolve_dest(c, BERTH_RESOLVE_MKDIR | BERTH_RESOLVE_NOFOLLOW_LAST, ret_fd, err);
        if (r >= 0 && (fstat(*ret_fd, &st) < 0 || !S_ISDIR(st.st_mode)))
                return berth_error_setx(
                    err, ENOTDIR,
                    "mounts[%zu].destination \"%s\": %s must be mounted on ordinary directory "
                    "(it is a symlink or not a directory in the rootfs)",
                    c->i, c->m->destination, type);
        return r;
}

/* data without its "name=..." option (NULL if nothing is left). */
static char *drop_option(const char *data, const char *name)
{
        _autofree_ char *copy = xstrdup(data);
        char *out = xcalloc(1, strlen(data) + 1), *save = NULL;

        for (char *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
                if (startswith(o, name))
                        continue;
                if (*out)
                        strcat(out, ",");
                strcat(out, o);
        }
        if (!*out) {
                free(out);
                return NULL;
        }
        return out;
}

/* In a user namespace where gid 5 (tty) is not mapped, devpts refuses gid=5 with EINVAL: mount
 * it without the gid, as crun does, rather than failing the container. */
static int mount_fs_retry(struct mnt_ctx *c, int destfd, unsigned long flags, const char *data,
                          int r, struct berth_error **err)
{
        _autofree_ char *fewer = NULL;

        if (r != -EINVAL || !c->o->in_userns || !streq(c->m->type, "devpts") || !data ||
            !strstr(data, "gid="))
                return r;
        berth_error_freep(err);
        fewer = drop_option(data, "gid=");
        berth_log(BERTH_LOG_DEBUG,
                  "mounts[%zu]: devpts refused gid= in this user namespace, "
                  "mounting without it",
                  c->i);
        return berth_mount_fs(c->m->source, destfd, c->m->type, flags, fewer, c->m->destination,
                              err);
}

static int mount_fs_entry(struct mnt_ctx *c, struct berth_error **err)
{
        _autoclose_ int destfd = -EBADF, mnt = -EBADF;
        _autofree_ char *data = NULL;
        unsigned long flags = c->f.flags;
        int r;

        r = resolve_fs_dest(c, &destfd, &data, err);
        if (r >= 0 && !streq(c->m->type, "proc"))
                r = check_proc_dest(c, destfd, -1, err);
        if (r < 0)
                return r;
        if (delays_ro(c->m))
                flags &= ~(unsigned long) MS_RDONLY;
        r = berth_mount_fs(c->m->source, destfd, c->m->type, flags, data, c->m->destination, err);
        if (r < 0)
                r = mount_fs_retry(c, destfd, flags, data, r, err);
        if (r < 0)
                return berth_error_prefix(err, "mounts[%zu]", c->i);
        if (!c->f.propagation)
                return 0;
        /* the fd we mounted on is the directory underneath: look the mount up again */
        r = resolve_dest(c, 0, &mnt, err);
        if (r >= 0)
                r = berth_mount_propagate(mnt, c->m->destination, c->f.propagation, err);
        return r < 0 ? berth_error_prefix(err, "mounts[%zu]", c->i) : 0;
}

/*
 * sysfs belongs to the network namespace: a user namespace without its own network namespace
 * may not mount it. Bind the host's /sys (recursively, with the flags asked for applied to
 * every submount) instead, as runc 1.2 and crun do.
 */
static int mount_sysfs_entry(struct mnt_ctx *c, struct berth_error **err)
{
        const struct berth_namespace *net = &c->spec->lx.ns[BERTH_NS_NET];
        _autoclose_ int srcfd = -EBADF, destfd = -EBADF;
        _autofree_ char *data = NULL;
        uint64_t set, clr;
        int r;

        if (!c->o->in_userns || (net->enabled && !net->path)) {
                r = mount_fs_entry(c, err);
                if (r != -EPERM || !c->o->in_userns)
                        return r;
                if (err)
                        berth_error_freep(err);
        }
        srcfd = open("/sys", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (srcfd < 0)
                return berth_error_set(err, errno, "mounts[%zu]: open /sys", c->i);
        r = resolve_fs_dest(c, &destfd, &data, err);
        if (r < 0)
                return r;
        berth_mount_flags_attrs(&c->f, &set, &clr);
        c->f.rbind = true;
        c->f.rec_attr_set |= set;
        c->f.flags = c->f.clear = 0; /* all applied recursively */
        r = berth_mount_bind(srcfd, destfd, &c->f, "bind /sys (sysfs in a user namespace)", NULL,
                             err);
        return r < 0 ? berth_error_prefix(err, "mounts[%zu]", c->i) : 0;
}

/* ---- "cgroup" mounts ---------------------------------------------------------------------- */

struct cg_line {
        char *controllers; /* "cpu,cpuacct", "name=systemd", "" for cgroup2 */
        char *path;
};

struct cg_ctx {
        struct mnt_ctx *c;
        struct cg_line *lines;
        size_t n_lines;
        int tmpfd;           /* the tmpfs at the destination (cgroup v1) */
        unsigned long flags; /* MS_* of each hierarchy's mount */
        bool cgroupns;
        struct berth_error **err;
};

static int read_own_cgroups(char **ret_buf, struct cg_line **ret, size_t *ret_n,
                            struct berth_error **err)
{
        char *line, *save = NULL, *c1, *c2;
        struct cg_line *v = NULL;
        size_t n = 0;
        int r;

        r = berth_read_file_at(AT_FDCWD, "/proc/self/cgroup", 0, ret_buf, NULL, err);
        if (r < 0)
                return r;
        for (line = strtok_r(*ret_buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                c1 = strchr(line, ':');
                c2 = c1 ? strchr(c1 + 1, ':') : NULL;
                if (!c2)
                        continue;
                *c1 = *c2 = '\0';
                v = xreallocarray(v, n + 1, sizeof(*v));
                v[n++] = (struct cg_line){.controllers = c1 + 1, .path = c2 + 1};
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

static bool has_token(const char *list, const char *tok, size_t len)
{
        for (const char *p = list; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
                if (strncmp(p, tok, len) == 0 && (p[len] == ',' || p[len] == '\0'))
                        return true;
        return false;
}

/* The line of /proc/self/cgroup for the v1 hierarchy mounted with these super options. */
static const struct cg_line *own_line(const struct cg_ctx *g, const char *super_opts)
{
        for (size_t i = 0; i < g->n_lines; i++) {
                const char *c = g->lines[i].controllers;

                if (c[0] && has_token(super_opts, c, strcspn(c, ",")))
                        return &g->lines[i];
        }
        return NULL;
}

/* Our own cgroup in that hierarchy, as a host path: mount point + path below the mount root. */
static char *own_cgroup_path(const struct mnt_entry *e, const char *own)
{
        size_t len = strlen(e->root);

        if (streq(own, "/"))
                own = "";
        if (streq(e->root, "/"))
                return xasprintf("%s%s", e->mountpoint, own);
        if (strncmp(own, e->root, len) == 0 && (own[len] == '/' || own[len] == '\0'))
                return xasprintf("%s%s", e->mountpoint, own + len);
        return xstrdup(e->mountpoint);
}

static int cg_bind(struct cg_ctx *g, const char *src, int dstfd, const char *dest)
{
        const struct berth_mount_flags f = {
            .rbind = true, .flags = g->flags, .propagation = g->c->f.propagation};
        _autofree_ char *what = xasprintf("bind %s on %s", src, dest);
        _autoclose_ int srcfd = open(src, O_PATH | O_DIRECTORY | O_CLOEXEC);

        if (srcfd < 0)
                return berth_error_set(g->err, errno, "open %s", src);
        return berth_mount_bind(srcfd, dstfd, &f, what, NULL, g->err);
}

/* runc makes "cpu" and "cpuacct" symlinks to a "cpu,cpuacct" hierarchy. */
static int cg_symlinks(struct cg_ctx *g, const char *name)
{
        _autofree_ char *copy = xstrdup(name);
        char *save = NULL;

        if (!strchr(name, ','))
                return 0;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
                if (symlinkat(name, g->tmpfd, t) < 0 && errno != EEXIST)
                        return berth_error_set(g->err, errno, "symlink %s/%s", g->c->m->destination,
                                               t);
        return 0;
}

/* One v1 hierarchy: in a cgroup namespace a fresh mount shows the namespace's view; otherwise
 * only our own cgroup is bound, never the host's whole hierarchy. */
static int cg_v1_one(const struct mnt_entry *e, void *data)
{
        struct cg_ctx *g = data;
        const struct cg_line *own;
        const char *name = strrchr(e->mountpoint, '/');
        _autofree_ char *dest = NULL, *src = NULL;
        _autoclose_ int sub = -EBADF;
        int r;

        if (!streq(e->fstype, "cgroup") || !(own = own_line(g, e->super_opts)) || !name)
                return 0;
        name++;
        dest = xasprintf("%s/%s", g->c->m->destination, name);
        if (mkdirat(g->tmpfd, name, 0755) < 0 && errno != EEXIST)
                return berth_error_set(g->err, errno, "mkdir %s", dest);
        sub = openat(g->tmpfd, name, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
        if (sub < 0)
                return berth_error_set(g->err, errno, "open %s", dest);
        if (is_fs(sub, CGROUP_SUPER_MAGIC))
                return 0; /* the same hierarchy mounted twice on the host */
        if (g->cgroupns)
                r = berth_mount_fs("cgroup", sub, "cgroup", g->flags, own->controllers, dest,
                                   g->err);
        else
                r = cg_bind(g, (src = own_cgroup_path(e, own->path)), sub, dest);
        return r < 0 ? r : cg_symlinks(g, name);
}

static int cg_v1(struct cg_ctx *g)
{
        struct mnt_ctx *c = g->c;
        _autoclose_ int destfd = -EBADF;
        int r;

        r = resolve_dest(c, BERTH_RESOLVE_MKDIR, &destfd, g->err);
        if (r >= 0)
                r = berth_mount_fs("tmpfs", destfd, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                                   "mode=755", c->m->destination, g->err);
        if (r >= 0)
                r = resolve_dest(c, 0, &g->tmpfd, g->err);
        if (r >= 0)
                r = for_each_mount(cg_v1_one, g, g->err);
        if (r >= 0 && (g->flags & MS_RDONLY))
                r = berth_mount_setattr(g->tmpfd, c->m->destination, MOUNT_ATTR_RDONLY, 0, false,
                                        g->err);
        if (r >= 0)
                r = berth_mount_propagate(g->tmpfd, c->m->destination, c->f.propagation, g->err);
        return r;
}

/* A cgroup2 mount in a cgroup namespace; otherwise (or if the kernel refuses) our own cgroup. */
static int cg_v2(struct cg_ctx *g)
{
        struct mnt_ctx *c = g->c;
        _autoclose_ int destfd = -EBADF;
        _autofree_ char *src = NULL;
        int r;

        r = resolve_dest(c, BERTH_RESOLVE_MKDIR, &destfd, g->err);
        if (r < 0)
                return r;
        if (g->cgroupns) {
                r = berth_mount_fs("cgroup2", destfd, "cgroup2", g->flags, NULL, c->m->destination,
                                   g->err);
                if (r >= 0 || (r != -EPERM && r != -EBUSY))
                        return r;
                if (g->err)
                        berth_error_freep(g->err);
        }
        for (size_t i = 0; i < g->n_lines; i++)
                if (g->lines[i].controllers[0] == '\0')
                        src = xasprintf("/sys/fs/cgroup%s", g->lines[i].path);
        if (!src)
                return berth_error_setx(g->err, ENOENT, "no cgroup2 entry in /proc/self/cgroup");
        return cg_bind(g, src, destfd, c->m->destination);
}

/* runc's "cgroup" mount type; read-only only when the options say "ro", as runc's (its own
 * tests make sub-cgroups inside a container whose config drops "ro"; every config berth and
 * `spec` write has it). */
static int mount_cgroup_entry(struct mnt_ctx *c, struct berth_error **err)
{
        struct cg_ctx g = {.c = c, .tmpfd = -EBADF, .err = err};
        _autofree_ char *buf = NULL;
        struct statfs sf;
        int r;

        g.cgroupns = c->spec->lx.ns[BERTH_NS_CGROUP].enabled;
        g.flags = MS_NOSUID | MS_NODEV | MS_NOEXEC | (c->f.flags & ~(unsigned long) MS_REMOUNT);
        r = read_own_cgroups(&buf, &g.lines, &g.n_lines, err);
        if (r >= 0 && statfs("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
                r = cg_v2(&g);
        else if (r >= 0)
                r = cg_v1(&g);
        free(g.lines);
        closep(&g.tmpfd);
        return r < 0 ? berth_error_prefix(err, "mounts[%zu]", c->i) : 0;
}

static int mount_entry(const struct berth_spec *s, const struct berth_rootfs_opts *o, int rootfd,
                       size_t i, struct berth_error **err)
{
        struct mnt_ctx c = {.spec = s, .o = o, .m = &s->mounts[i], .i = i, .rootfd = rootfd};
        int r;

        r = berth_mount_parse_options(c.m->options, &c.f, err);
        if (r < 0)
                return berth_error_prefix(err, "mounts[%zu].options", i);
        if (is_bind(c.m, &c.f))
                r = mount_bind_entry(&c, err);
        else if (streq(c.m->type, "cgroup"))
                r = mount_cgroup_entry(&c, err);
        else if (streq(c.m->type, "sysfs"))
                r = mount_sysfs_entry(&c, err);
        else
                r = mount_fs_entry(&c, err);
        berth_mount_flags_clear(&c.f);
        return r;
}

int berth_rootfs_prepare(const struct berth_spec *spec, const struct berth_rootfs_opts *o,
                         struct berth_error **err)
{
        _autoclose_ int rootfd = -EBADF;
        int r;

        if (o->host_mount_ns) {
                /* no mounts (refused by validate): only the device nodes, if allowed */
                rootfd = open(o->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (rootfd < 0)
                        return berth_error_set(err, errno, "open rootfs %s", o->rootfs);
                return needs_dev_setup(spec) ? berth_devices_setup(spec, o, rootfd, err) : 0;
        }
        r = prepare_root(spec, o, &rootfd, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < spec->n_mounts; i++) {
                r = mount_entry(spec, o, rootfd, i, err);
                if (r < 0)
                        return r;
        }
        if (needs_dev_setup(spec))
                return berth_devices_setup(spec, o, rootfd, err);
        return 0;
}

/* ---- pivot ---------------------------------------------------------------------------------- */

static int pivot(const char *rootfs, struct berth_error **err)
{
        _autoclose_ int oldroot = -EBADF, newroot = -EBADF;
        uint64_t t;
        int r;

        oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        newroot = open(rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (oldroot < 0 || newroot < 0)
                return berth_error_set(err, errno, "open %s", oldroot < 0 ? "/" : rootfs);
        if (fchdir(newroot) < 0)
                return berth_error_set(err, errno, "chdir %s", rootfs);
        t = TRACE_T0();
        r = sys_pivot_root(".", ".");
        TRACE(t, "pivot_root %s", rootfs);
        if (r < 0)
                return berth_error_set(err, errno, "pivot_root %s", rootfs);
        /* The old root now sits on top of the new one at "/". Make it a slave so that the
         * unmount cannot propagate to the host, then detach it. */
        if (fchdir(oldroot) < 0)
                return berth_error_set(err, errno, "chdir to the old root");
        if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
                return berth_error_set(err, errno, "make the old root rslave");
        t = TRACE_T0();
        r = umount2(".", MNT_DETACH);
        TRACE(t, "umount2 old root (MNT_DETACH)");
        if (r < 0)
                return berth_error_set(err, errno, "detach the old root");
        if (chdir("/") < 0)
                return berth_error_set(err, errno, "chdir /");
        return 0;
}

struct hide_ctx {
        const char *rootfs;
        char **paths;
        size_t n;
};

static int collect_host_procfs(const struct mnt_entry *e, void *data)
{
        struct hide_ctx *h = data;
        size_t len = strlen(h->rootfs);

        if (!streq(e->root, "/") || (!streq(e->fstype, "proc") && !streq(e->fstype, "sysfs")))
                return 0;
        if (strncmp(e->mountpoint, h->rootfs, len) == 0 &&
            (e->mountpoint[len] == '/' || e->mountpoint[len] == '\0'))
                return 0;
        h->paths = xreallocarray(h->paths, h->n + 2, sizeof(char *));
        h->paths[h->n++] = xstrdup(e->mountpoint);
        h->paths[h->n] = NULL;
        return 0;
}

/*
 * With chroot the host's /proc and /sys stay reachable in our namespace, and the kernel checks
 * every procfs/sysfs mount of the namespace before letting the container mount a new one
 * (mount_too_revealing): detach them, or cover them where we may not (runc's msMoveRoot).
 */
static int hide_host_procfs(const char *rootfs, struct berth_error **err)
{
        struct hide_ctx h = {.rootfs = rootfs};
        _autostrv_ char **paths = NULL;
        int r;

        r = for_each_mount(collect_host_procfs, &h, err);
        paths = h.paths;
        for (size_t i = 0; r >= 0 && i < h.n; i++) {
                uint64_t t = TRACE_T0();

                if (mount(NULL, paths[i], NULL, MS_SLAVE | MS_REC, NULL) < 0) {
                        if (errno == ENOENT || errno == EINVAL)
                                continue; /* gone, or already detached with its parent */
                        return berth_error_set(err, errno, "make %s rslave", paths[i]);
                }
                if (umount2(paths[i], MNT_DETACH) == 0) {
                        TRACE(t, "umount2 the host's %s (MNT_DETACH)", paths[i]);
                        continue;
                }
                if ((errno != EINVAL && errno != EPERM) ||
                    mount("tmpfs", paths[i], "tmpfs", MS_RDONLY, NULL) < 0)
                        return berth_error_set(err, errno, "hide the host's %s", paths[i]);
                TRACE(t, "mount tmpfs over the host's %s", paths[i]);
        }
        return r;
}

/* --no-pivot: move the rootfs onto "/" and chroot into it. */
static int move_root(const char *rootfs, struct berth_error **err)
{
        uint64_t t;
        int r;

        if (chdir(rootfs) < 0)
                return berth_error_set(err, errno, "chdir %s", rootfs);
        r = hide_host_procfs(rootfs, err);
        if (r < 0)
                return r;
        t = TRACE_T0();
        r = mount(rootfs, "/", NULL, MS_MOVE, NULL);
        TRACE(t, "mount --move %s /", rootfs);
        if (r < 0)
                return berth_error_set(err, errno, "move %s onto /", rootfs);
        if (chroot(".") < 0)
                return berth_error_set(err, errno, "chroot %s", rootfs);
        if (chdir("/") < 0)
                return berth_error_set(err, errno, "chdir /");
        return 0;
}

/* The mount namespace is the host's: pivot_root or a move would change it for everyone. */
static int enter_root(const char *rootfs, struct berth_error **err)
{
        uint64_t t = TRACE_T0();

        if (chroot(rootfs) < 0 || chdir("/") < 0)
                return berth_error_set(err, errno, "chroot %s", rootfs);
        TRACE(t, "chroot %s (no mount namespace)", rootfs);
        return 0;
}

/* One directory of process.cwd: there (a symlink to a directory counts), or made 0755. */
static int make_cwd_dir(const char *path)
{
        struct stat st;

        if (stat(path, &st) == 0)
                return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
        if (mkdir(path, 0755) == 0)
                return 0;
        /* EEXIST for a dangling symlink: runc does not make its target */
        if (errno == EEXIST && lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
                return 0;
        return -errno;
}

/*
 * runc creates process.cwd when it is missing, as the runtime (root of the container), after
 * pivot_root and before the root is made read-only: Go's os.MkdirAll, each missing directory 0755
 * under the runtime's umask. A component that is a file is ENOTDIR, a dangling symlink EEXIST.
 * We are in the container's root, so its paths cannot lead out of it.
 */
static int make_cwd(const struct berth_spec *s, struct berth_error **err)
{
        _autofree_ char *path = NULL;
        uint64_t t = TRACE_T0();
        struct stat st;

        if (!s->has_process || !s->process.cwd)
                return 0;
        if (stat(s->process.cwd, &st) == 0 && S_ISDIR(st.st_mode))
                return 0;
        path = xstrdup(s->process.cwd);
        for (char *p = path + 1;; p++) {
                char c = *p;
                int r;

                if (c != '/' && c != '\0')
                        continue;
                *p = '\0';
                r = make_cwd_dir(path);
                if (r < 0)
                        return berth_error_set(err, -r, "process.cwd \"%s\": mkdir %s",
                                               s->process.cwd, path);
                *p = c;
                if (c == '\0')
                        break;
        }
        TRACE(t, "create process.cwd %s", s->process.cwd);
        return 0;
}

int berth_rootfs_pivot(const struct berth_spec *spec, const struct berth_rootfs_opts *o,
                       struct berth_error **err)
{
        unsigned long prop = spec->lx.rootfs_propagation;
        int r;

        if (o->host_mount_ns) {
                r = enter_root(o->rootfs, err);
                return r < 0 ? r : make_cwd(spec, err);
        }
        r = o->no_pivot ? move_root(o->rootfs, err) : pivot(o->rootfs, err);
        if (r < 0)
                return r;
        /* The configured propagation is applied to the new "/" only now: applied before
         * pivot_root, "shared" would have made the rootfs a peer of the host's mount. "private"
         * is already in force (runc). */
        if (prop && !(prop & MS_PRIVATE) && mount(NULL, "/", NULL, prop, NULL) < 0)
                return berth_error_set(err, errno, "linux.rootfsPropagation: set propagation of /");
        return make_cwd(spec, err);
}

/* ---- finalize ---------------------------------------------------------------------------- */

int berth_rootfs_bind_console(int slave, const char *name, struct berth_error **err)
{
        const struct berth_mount_flags none = {0};
        _autoclose_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC), dst = -EBADF;
        struct stat st;
        int r;

        if (root < 0)
                return berth_error_set(err, errno, "open /");
        if (!is_fs(slave, DEVPTS_SUPER_MAGIC))
                return berth_error_setx(err, EINVAL, "console %s: not a devpts pty", name);
        r = berth_resolve_in_root(root, "/dev/console",
                                  BERTH_RESOLVE_MKFILE | BERTH_RESOLVE_NOFOLLOW_LAST, &dst, err);
        if (r < 0)
                return berth_error_prefix(err, "create /dev/console");
        if (fstat(dst, &st) < 0)
                return berth_error_set(err, errno, "/dev/console");
        if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
                return berth_error_setx(err, EINVAL,
                                        "/dev/console: a %s, not a file or a device: "
                                        "refusing to mount the console there",
                                        S_ISLNK(st.st_mode) ? "symlink" : "special file");
        return berth_mount_bind(slave, dst, &none, "bind the console on /dev/console", NULL, err);
}

/* Read-only tmpfs and /dev mounts were left writable by prepare; now they can be sealed. */
static int seal_delayed_ro(const struct berth_spec *s, int rootfd, struct berth_error **err)
{
        for (size_t i = 0; i < s->n_mounts; i++) {
                const struct berth_mount *m = &s->mounts[i];
                struct berth_mount_flags f = {0};
                _autoclose_ int fd = -EBADF;
                bool ro;
                int r;

                berth_mount_parse_options(m->options, &f, NULL);
                ro = f.flags & MS_RDONLY;
                berth_mount_flags_clear(&f);
                if (!ro || !delays_ro(m))
                        continue;
                r = berth_resolve_in_root(rootfd, m->destination, 0, &fd, err);
                if (r >= 0)
                        r = berth_mount_setattr(fd, m->destination, MOUNT_ATTR_RDONLY, 0, false,
                                                err);
                if (r < 0)
                        return berth_error_prefix(err, "mounts[%zu] \"%s\": make read-only", i,
                                                  m->destination);
        }
        return 0;
}

/* Resolves one of maskedPaths/readonlyPaths; a missing path is not an error (-ENOENT, no err). */
static int resolve_listed(int rootfd, const char *field, size_t i, const char *path, int *ret_fd,
                          struct berth_error **err)
{
        _autoerr_ struct berth_error *e = NULL;
        int r = berth_resolve_in_root(rootfd, path, 0, ret_fd, &e);

        if (r == -ENOENT)
                return r;
        if (r < 0) {
                move_error(err, &e);
                return berth_error_prefix(err, "linux.%s[%zu] \"%s\"", field, i, path);
        }
        return 0;
}

static int readonly_paths(const struct berth_spec *s, int rootfd, struct berth_error **err)
{
        /* Recursive, unlike runc 1.1: a submount (binfmt_misc under /proc/sys) stays sealed. */
        const struct berth_mount_flags ro = {.rbind = true, .rec_attr_set = MOUNT_ATTR_RDONLY};
        char *const *p = s->lx.readonly_paths;

        for (size_t i = 0; p && p[i]; i++) {
                _autoclose_ int fd = -EBADF;
                int r = resolve_listed(rootfd, "readonlyPaths", i, p[i], &fd, err);

                if (r == -ENOENT)
                        continue;
                if (r >= 0)
                        r = berth_mount_bind(fd, fd, &ro, p[i], NULL, err);
                if (r < 0)
                        return berth_error_prefix(err, "linux.readonlyPaths[%zu]", i);
        }
        return 0;
}

/* Directories get an empty read-only tmpfs, everything else /dev/null. */
static int mask_one(int rootfd, int nullfd, const char *path, size_t i, struct berth_error **err)
{
        const struct berth_mount_flags none = {0};
        _autoclose_ int fd = -EBADF;
        struct stat st;
        int r;

        r = resolve_listed(rootfd, "maskedPaths", i, path, &fd, err);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return r;
        if (fstat(fd, &st) < 0)
                return berth_error_set(err, errno, "linux.maskedPaths[%zu] \"%s\"", i, path);
        if (S_ISDIR(st.st_mode))
                r = berth_mount_empty_tmpfs(fd, MOUNT_ATTR_RDONLY, path, err);
        else
                r = berth_mount_bind(nullfd, fd, &none, path, NULL, err);
        return r < 0 ? berth_error_prefix(err, "linux.maskedPaths[%zu]", i) : 0;
}

/* The container's /dev/null, which masks files, must be the null device itself: a symlink or
 * any other file there (a bundle or a shared /dev can put one) would be bound over the masked
 * path instead, and could be a writable procfs file (CVE-2025-31133). */
static int open_null(int *ret_fd, struct berth_error **err)
{
        _autoclose_ int fd = open("/dev/null", O_PATH | O_NOFOLLOW | O_CLOEXEC);
        struct stat st;

        if (fd < 0)
                return berth_error_set(err, errno, "open /dev/null");
        if (fstat(fd, &st) < 0)
                return berth_error_set(err, errno, "stat /dev/null");
        if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
                return berth_error_setx(err, EPERM,
                                        "/dev/null in the container is not the null device (char "
                                        "1:3) but a %s: refusing to mask paths with it",
                                        S_ISLNK(st.st_mode)   ? "symlink"
                                        : S_ISCHR(st.st_mode) ? "different character device"
                                        : S_ISREG(st.st_mode) ? "regular file"
                                                              : "special file");
        *ret_fd = steal_fd(&fd);
        return 0;
}

static int masked_paths(const struct berth_spec *s, int rootfd, struct berth_error **err)
{
        char *const *p = s->lx.masked_paths;
        _autoclose_ int nullfd = -EBADF;
        int r;

        if (!p || !p[0])
                return 0;
        r = open_null(&nullfd, err);
        if (r < 0)
                return berth_error_prefix(err, "linux.maskedPaths");
        for (size_t i = 0; p[i] && r >= 0; i++)
                r = mask_one(rootfd, nullfd, p[i], i, err);
        return r;
}

int berth_rootfs_finalize(const struct berth_spec *spec, const struct berth_rootfs_opts *o,
                          struct berth_error **err)
{
        _autoclose_ int rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        int r = 0;

        if (rootfd < 0)
                return berth_error_set(err, errno, "open /");
        if (o->host_mount_ns)
                return 0;
        r = seal_delayed_ro(spec, rootfd, err);
        if (r >= 0 && spec->root_readonly) {
                r = berth_mount_setattr(rootfd, "/", MOUNT_ATTR_RDONLY, 0, false, err);
                if (r < 0)
                        return berth_error_prefix(err, "root.readonly");
        }
        if (r >= 0)
                r = readonly_paths(spec, rootfd, err);
        if (r >= 0)
                r = masked_paths(spec, rootfd, err);
        return r;
}
