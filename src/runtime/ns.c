/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "base/log.h"
#include "runtime/ns.h"
#include "base/syscalls.h"
#include "base/util.h"

void berth_ns_fds_close(struct berth_ns_fds *f)
{
        for (int t = 0; t < BERTH_NS__MAX; t++) {
                if (f->fd[t] >= 0)
                        close(f->fd[t]);
                f->fd[t] = -1;
        }
}

static int open_ns_path(enum berth_ns_type t, const char *path, int *ret_fd,
                        struct berth_error **err)
{
        _autoclose_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        int type;

        if (fd < 0)
                return berth_error_set(err, errno, "linux.namespaces: %s namespace path \"%s\"",
                                       berth_ns_type_name(t), path);
        type = ioctl(fd, NS_GET_NSTYPE);
        if (type < 0 || type != berth_ns_clone_flag(t))
                return berth_error_setx(
                    err, EINVAL, "linux.namespaces: %s namespace path \"%s\": not a %s namespace",
                    berth_ns_type_name(t), path, berth_ns_type_name(t));
        *ret_fd = steal_fd(&fd);
        return 0;
}

int berth_ns_open_paths(const struct berth_spec *s, struct berth_ns_fds *ret,
                        struct berth_error **err)
{
        struct berth_ns_fds f;
        int r = 0;

        for (int t = 0; t < BERTH_NS__MAX; t++)
                f.fd[t] = -1;
        for (int t = 0; r >= 0 && t < BERTH_NS__MAX; t++) {
                const struct berth_namespace *ns = &s->lx.ns[t];

                if (ns->enabled && ns->path)
                        r = open_ns_path(t, ns->path, &f.fd[t], err);
        }
        if (r >= 0)
                r = berth_ns_check_own(s, &f, err);
        if (r < 0) {
                berth_ns_fds_close(&f);
                return r;
        }
        *ret = f;
        return 0;
}

unsigned long berth_ns_new_flags(const struct berth_spec *s)
{
        unsigned long flags = 0;

        for (int t = 0; t < BERTH_NS__MAX; t++)
                if (s->lx.ns[t].enabled && !s->lx.ns[t].path)
                        flags |= (unsigned long) berth_ns_clone_flag(t);
        return flags;
}

int berth_ns_join(struct berth_ns_fds *f, enum berth_ns_type t, struct berth_error **err)
{
        uint64_t t0 = TRACE_T0();
        int r;

        if (f->fd[t] < 0)
                return 0;
        r = setns(f->fd[t], berth_ns_clone_flag(t));
        close(f->fd[t]);
        f->fd[t] = -1;
        if (r < 0)
                return berth_error_set(err, errno, "setns into %s namespace",
                                       berth_ns_type_name(t));
        TRACE(t0, "setns %s", berth_ns_type_name(t));
        return 0;
}

static char *format_map(const struct berth_id_map *m, size_t n)
{
        size_t cap = n * 36 + 1, len = 0;
        char *s = xcalloc(cap, 1);

        for (size_t i = 0; i < n; i++)
                len += (size_t) snprintf(s + len, cap - len, "%u %u %u\n", m[i].container_id,
                                         m[i].host_id, m[i].size);
        return s;
}

static int write_map(pid_t pid, const char *file, const struct berth_id_map *m, size_t n,
                     struct berth_error **err)
{
        _autofree_ char *text = format_map(m, n);
        char path[64];
        uint64_t t0 = TRACE_T0();
        int r;

        snprintf(path, sizeof(path), "/proc/%d/%s", (int) pid, file);
        r = berth_write_file(path, text, err);
        if (r < 0) {
                if (r == -EINVAL || r == -EPERM)
                        berth_error_prefix(err,
                                           "linux.%s (is every host id mapped by the host to "
                                           "the runtime, and are ranges disjoint?)",
                                           streq(file, "uid_map") ? "uidMappings" : "gidMappings");
                return r;
        }
        TRACE(t0, "write %s", path);
        return 0;
}

int berth_userns_write_maps(pid_t pid, const struct berth_spec *s, struct berth_error **err)
{
        char path[64];
        int r;

        if (geteuid() != 0) {
                snprintf(path, sizeof(path), "/proc/%d/setgroups", (int) pid);
                r = berth_write_file(path, "deny", err);
                if (r < 0 && r != -ENOENT)
                        return r;
        }
        if (s->lx.n_uid_mappings > 0) {
                r = write_map(pid, "uid_map", s->lx.uid_mappings, s->lx.n_uid_mappings, err);
                if (r < 0)
                        return r;
        }
        if (s->lx.n_gid_mappings > 0)
                return write_map(pid, "gid_map", s->lx.gid_mappings, s->lx.n_gid_mappings, err);
        return 0;
}

int berth_userns_from_maps(const struct berth_id_map *uid, size_t n_uid,
                           const struct berth_id_map *gid, size_t n_gid, int *ret_fd,
                           struct berth_error **err)
{
        struct berth_clone_args args = {.flags = CLONE_NEWUSER, .exit_signal = SIGCHLD};
        _autoclose_ int rd = -EBADF, wr = -EBADF, fd = -EBADF;
        int hold[2], r;
        char path[64], b;
        pid_t pid;

        if (pipe2(hold, O_CLOEXEC) < 0)
                return berth_error_set(err, errno, "pipe for an id-mapping user namespace");
        rd = hold[0];
        wr = hold[1];
        pid = sys_clone3(&args);
        if (pid < 0)
                return berth_error_set(err, errno, "clone3(CLONE_NEWUSER) for an id mapping");
        if (pid == 0) {
                close(wr);
                (void) !read(rd, &b, 1); /* until the runtime lets go */
                _exit(0);
        }
        r = write_map(pid, "uid_map", uid, n_uid, err);
        if (r >= 0)
                r = write_map(pid, "gid_map", gid, n_gid, err);
        snprintf(path, sizeof(path), "/proc/%d/ns/user", (int) pid);
        if (r >= 0 && (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
                r = berth_error_set(err, errno, "open %s", path);
        closep(&wr);
        waitpid(pid, NULL, 0);
        if (r < 0)
                return r;
        *ret_fd = steal_fd(&fd);
        return 0;
}

/* Which namespace makes a sysctl key safe to write, or -1 if none does. */
static int sysctl_namespace(const char *key)
{
        static const struct {
                const char *prefix;
                int ns;
        } table[] = {
            {"net.", BERTH_NS_NET},
            {"kernel.msgmax", BERTH_NS_IPC},
            {"kernel.msgmnb", BERTH_NS_IPC},
            {"kernel.msgmni", BERTH_NS_IPC},
            {"kernel.sem", BERTH_NS_IPC},
            {"kernel.shmall", BERTH_NS_IPC},
            {"kernel.shmmax", BERTH_NS_IPC},
            {"kernel.shmmni", BERTH_NS_IPC},
            {"kernel.shm_rmid_forced", BERTH_NS_IPC},
            {"fs.mqueue.", BERTH_NS_IPC},
            {"kernel.hostname", BERTH_NS_UTS},
            {"kernel.domainname", BERTH_NS_UTS},
        };

        for (size_t i = 0; i < ARRAY_SIZE(table); i++) {
                size_t n = strlen(table[i].prefix);

                if (table[i].prefix[n - 1] == '.' ? startswith(key, table[i].prefix)
                                                  : streq(key, table[i].prefix))
                        return table[i].ns;
        }
        return -1;
}

/* runc and crun refuse kernel.hostname always (the hostname field is the way to set it); a
 * kernel.domainname that differs from the domainname field is refused as crun does (the sysctl,
 * written after the names, would silently win); the same value twice is fine (crun, and runc
 * 1.1, which has no domainname field, allow it). */
static int check_name_conflict(const struct berth_spec *s, const struct berth_kv *kv,
                               struct berth_error **err)
{
        if (streq(kv->key, "kernel.hostname"))
                return berth_error_setx(err, EINVAL,
                                        "linux.sysctl \"kernel.hostname\" = %s: conflicts with the "
                                        "hostname field%s%s%s: set the name with \"hostname\" only "
                                        "(runc and crun refuse it too)",
                                        QUOTE(kv->value), s->hostname ? " (" : "",
                                        s->hostname ? QUOTE(s->hostname) : "",
                                        s->hostname ? ")" : "");
        if (streq(kv->key, "kernel.domainname") && s->domainname &&
            !streq(kv->value, s->domainname))
                return berth_error_setx(
                    err, EINVAL,
                    "linux.sysctl \"kernel.domainname\" = %s: conflicts with the "
                    "domainname field (%s): set the name with one of them only",
                    QUOTE(kv->value), QUOTE(s->domainname));
        return 0;
}

int berth_sysctl_validate(const struct berth_spec *s, struct berth_error **err)
{
        for (size_t i = 0; i < s->lx.n_sysctl; i++) {
                const char *key = s->lx.sysctl[i].key;
                int ns = sysctl_namespace(key), r;

                if (strstr(key, "..") || strchr(key, '/') || ns < 0)
                        return berth_error_setx(err, EINVAL,
                                                "linux.sysctl \"%s\": not a namespaced sysctl, "
                                                "refusing to change the host's",
                                                key);
                if (!s->lx.ns[ns].enabled)
                        return berth_error_setx(
                            err, EINVAL,
                            "linux.sysctl \"%s\": requires a %s namespace (linux.namespaces)", key,
                            berth_ns_type_name(ns));
                r = check_name_conflict(s, &s->lx.sysctl[i], err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* What the config writes in namespace t: the first sysctl of that namespace, else (uts) the
 * hostname or domainname field; NULL if nothing. */
static const char *written_in(const struct berth_spec *s, enum berth_ns_type t,
                              const char **ret_value)
{
        for (size_t i = 0; i < s->lx.n_sysctl; i++)
                if (sysctl_namespace(s->lx.sysctl[i].key) == (int) t) {
                        *ret_value = s->lx.sysctl[i].value;
                        return s->lx.sysctl[i].key;
                }
        if (t == BERTH_NS_UTS && s->hostname) {
                *ret_value = s->hostname;
                return "hostname";
        }
        if (t == BERTH_NS_UTS && s->domainname) {
                *ret_value = s->domainname;
                return "domainname";
        }
        return NULL;
}

static bool is_runtime_ns(int fd, enum berth_ns_type t)
{
        char self[64];
        struct stat a, b;

        snprintf(self, sizeof(self), "/proc/self/ns/%s", berth_ns_proc_name(t));
        return fstat(fd, &a) == 0 && stat(self, &b) == 0 && a.st_dev == b.st_dev &&
               a.st_ino == b.st_ino;
}

int berth_ns_check_own(const struct berth_spec *s, const struct berth_ns_fds *f,
                       struct berth_error **err)
{
        static const enum berth_ns_type types[] = {BERTH_NS_NET, BERTH_NS_IPC, BERTH_NS_UTS};

        for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
                enum berth_ns_type t = types[i];
                const char *value = NULL, *what;
                _autofree_ char *field = NULL;

                if (f->fd[t] < 0 || !(what = written_in(s, t, &value)) ||
                    !is_runtime_ns(f->fd[t], t))
                        continue;
                field = streq(what, "hostname") || streq(what, "domainname")
                            ? xstrdup(what)
                            : xasprintf("linux.sysctl \"%s\"", what);
                return berth_error_setx(
                    err, EPERM,
                    "%s = %s: not allowed in the runtime's own %s namespace (the linux.namespaces "
                    "path %s is the one berth-oci runs in): %s, it would change the host's; leave "
                    "it out or give the container its own %s namespace",
                    field, QUOTE(value), berth_ns_type_name(t), QUOTE(s->lx.ns[t].path),
                    strerror(EPERM), berth_ns_type_name(t));
        }
        return 0;
}

int berth_sysctl_apply(const struct berth_spec *s, struct berth_error **err)
{
        for (size_t i = 0; i < s->lx.n_sysctl; i++) {
                _autofree_ char *path = xasprintf("/proc/sys/%s", s->lx.sysctl[i].key);
                uint64_t t0 = TRACE_T0();

                for (char *p = path + strlen("/proc/sys/"); *p; p++)
                        if (*p == '.')
                                *p = '/';
                if (berth_write_file(path, s->lx.sysctl[i].value, err) < 0)
                        return berth_error_prefix(err, "linux.sysctl \"%s\"", s->lx.sysctl[i].key);
                TRACE(t0, "sysctl %s = %s", s->lx.sysctl[i].key, s->lx.sysctl[i].value);
        }
        return 0;
}

int berth_pidns_enter(int fd, const char *what, int *ret_own, struct berth_error **err)
{
        _autoclose_ int own = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);

        if (own < 0)
                return berth_error_set(err, errno, "open /proc/self/ns/pid");
        if (setns(fd, CLONE_NEWPID) < 0)
                return berth_error_set(err, errno, "enter the pid namespace of %s", what);
        *ret_own = steal_fd(&own);
        return 0;
}

int berth_pidns_restore(int *own, struct berth_error **err)
{
        int r = 0;

        if (*own < 0)
                return 0;
        if (setns(*own, CLONE_NEWPID) < 0)
                r = berth_error_set(err, errno, "go back to the runtime's own pid namespace");
        closep(own);
        return r;
}
