/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <linux/capability.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "runtime/caps.h"
#include "base/log.h"
#include "runtime/process.h"
#include "runtime/seccomp.h"
#include "base/syscalls.h"
#include "base/util.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* ---- rlimits ------------------------------------------------------------------------------ */

static const char *limit_str(uint64_t v, char buf[static 24])
{
        if (v == (uint64_t) RLIM_INFINITY)
                return "unlimited";
        snprintf(buf, 24, "%llu", (unsigned long long) v);
        return buf;
}

static const char *rlimit_name(const struct berth_rlimit *rl, char buf[static 24])
{
        if (rl->type)
                return rl->type;
        snprintf(buf, 24, "rlimit %d", rl->resource);
        return buf;
}

/* The hint after the errno text of a failed raise of the hard limit. */
static const char *raise_hint(const struct berth_rlimit *rl, char buf[static 64])
{
        _autofree_ char *nr_open = NULL;
        uint64_t max;

        if (!berth_cap_is_effective(CAP_SYS_RESOURCE))
                return " (needs CAP_SYS_RESOURCE, which this process does not have)";
        /* With the capability, RLIMIT_NOFILE is still capped by fs.nr_open. */
        if (rl->resource == RLIMIT_NOFILE &&
            berth_read_file_at(AT_FDCWD, "/proc/sys/fs/nr_open", 64, &nr_open, NULL, NULL) == 0) {
                nr_open[strcspn(nr_open, "\n")] = '\0';
                if (parse_u64(nr_open, &max) == 0 && rl->hard > max) {
                        snprintf(buf, 64, " (above fs.nr_open, %llu)", (unsigned long long) max);
                        return buf;
                }
        }
        return "";
}

static int set_rlimit_error(const struct berth_rlimit *rl, int e, struct berth_error **err)
{
        char name[24], soft[24], hard[24], cur[24], hint[64];
        struct rlimit now;

        if (e == EPERM && getrlimit(rl->resource, &now) == 0 && rl->hard > now.rlim_max)
                return berth_error_setx(
                    err, e, "rlimit %s: cannot raise the hard limit from %s to %s: %s%s",
                    rlimit_name(rl, name), limit_str(now.rlim_max, cur), limit_str(rl->hard, hard),
                    strerror(e), raise_hint(rl, hint));
        return berth_error_set(err, e, "setrlimit %s soft=%s hard=%s", rlimit_name(rl, name),
                               limit_str(rl->soft, soft), limit_str(rl->hard, hard));
}

static int set_rlimit(const struct berth_rlimit *rl, struct berth_error **err)
{
        struct rlimit want = {.rlim_cur = rl->soft, .rlim_max = rl->hard};
        char name[24], soft[24], hard[24];
        uint64_t t = TRACE_T0();

        if (rl->soft > rl->hard)
                return berth_error_setx(
                    err, EINVAL, "rlimit %s: soft limit %s is above the hard limit %s",
                    rlimit_name(rl, name), limit_str(rl->soft, soft), limit_str(rl->hard, hard));
        if (setrlimit(rl->resource, &want) < 0)
                return set_rlimit_error(rl, errno, err);
        TRACE(t, "setrlimit %s soft=%s hard=%s", rlimit_name(rl, name), limit_str(rl->soft, soft),
              limit_str(rl->hard, hard));
        return 0;
}

int berth_process_set_rlimits(const struct berth_process *p, struct berth_error **err)
{
        for (size_t i = 0; i < p->n_rlimits; i++) {
                int r = set_rlimit(&p->rlimits[i], err);

                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- oom_score_adj, io priority, scheduler ------------------------------------------------ */

static int read_oom_score_adj(const char *path, int *ret)
{
        _autofree_ char *buf = NULL;
        int64_t v;

        if (berth_read_file_at(AT_FDCWD, path, 64, &buf, NULL, NULL) < 0)
                return -1;
        buf[strcspn(buf, "\n")] = '\0';
        if (parse_i64(buf, &v) < 0)
                return -1;
        *ret = (int) v;
        return 0;
}

int berth_process_set_oom_score_adj(pid_t pid, int value, struct berth_error **err)
{
        _autoclose_ int fd = -EBADF;
        char buf[16], path[64];
        uint64_t t = TRACE_T0();
        int cur, e;

        snprintf(buf, sizeof(buf), "%d", value);
        if (pid > 0)
                snprintf(path, sizeof(path), "/proc/%d/oom_score_adj", (int) pid);
        else
                snprintf(path, sizeof(path), "/proc/self/oom_score_adj");
        fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
        if (fd >= 0 && write_all(fd, buf, strlen(buf)) == 0) {
                TRACE(t, "oom_score_adj %d", value);
                return 0;
        }
        e = errno;
        /* The kernel refuses (EACCES) to go below the lowest value a privileged writer set. */
        if ((e == EACCES || e == EPERM) && read_oom_score_adj(path, &cur) == 0 && value < cur &&
            !berth_cap_is_effective(CAP_SYS_RESOURCE))
                return berth_error_setx(
                    err, e,
                    "oom_score_adj: cannot lower it from %d to %d: %s "
                    "(needs CAP_SYS_RESOURCE, which this process does not have)",
                    cur, value, strerror(e));
        return berth_error_set(err, e, "write %d to %s", value, path);
}

static int set_io_priority(int class, int prio, struct berth_error **err)
{
        uint64_t t = TRACE_T0();

        if (sys_ioprio_set(IOPRIO_WHO_PROCESS, 0, (class << IOPRIO_CLASS_SHIFT) | prio) < 0)
                return berth_error_set(err, errno, "ioprio_set class=%d priority=%d", class, prio);
        TRACE(t, "ioprio_set class=%d priority=%d", class, prio);
        return 0;
}

static int set_scheduler(const struct berth_scheduler *s, struct berth_error **err)
{
        struct berth_sched_attr attr = {
            .size = sizeof(attr),
            .sched_policy = (uint32_t) s->policy,
            .sched_flags = s->flags,
            .sched_nice = s->nice,
            .sched_priority = (uint32_t) s->priority,
            .sched_runtime = s->runtime,
            .sched_deadline = s->deadline,
            .sched_period = s->period,
        };
        uint64_t t = TRACE_T0();

        if (sys_sched_setattr(0, &attr, 0) < 0)
                return berth_error_set(
                    err, errno, "sched_setattr policy=%d priority=%d nice=%d flags=0x%llx",
                    s->policy, s->priority, s->nice, (unsigned long long) s->flags);
        TRACE(t, "sched_setattr policy=%d priority=%d nice=%d", s->policy, s->priority, s->nice);
        return 0;
}

int berth_process_set_sched(const struct berth_process *p, struct berth_error **err)
{
        int r;

        if (p->has_io_priority) {
                r = set_io_priority(p->io_priority_class, p->io_priority, err);
                if (r < 0)
                        return r;
        }
        if (p->scheduler.set)
                return set_scheduler(&p->scheduler, err);
        return 0;
}

int berth_process_set_personality(unsigned long persona, struct berth_error **err)
{
        uint64_t t = TRACE_T0();

        if (personality(persona) < 0)
                return berth_error_set(err, errno, "personality 0x%lx", persona);
        TRACE(t, "personality 0x%lx", persona);
        return 0;
}

/* ---- execCPUAffinity (runtime-spec 1.2, exec only) ------------------------------------------ */

/* "0-3,7" (checked by the spec parser) into set; -EINVAL above CPU_SETSIZE. */
static int parse_cpus(const char *list, cpu_set_t *set)
{
        const char *p = list;

        CPU_ZERO(set);
        while (*p) {
                char *end;
                unsigned long a = strtoul(p, &end, 10), b = a;

                if (*end == '-')
                        b = strtoul(end + 1, &end, 10);
                if (end == p || b < a || b >= CPU_SETSIZE)
                        return -EINVAL;
                for (unsigned long c = a; c <= b; c++)
                        CPU_SET(c, set);
                p = *end == ',' ? end + 1 : end;
                if (*end && *end != ',')
                        return -EINVAL;
        }
        return 0;
}

int berth_process_set_affinity(const char *cpus, const char *field, struct berth_error **err)
{
        uint64_t t = TRACE_T0();
        cpu_set_t set;

        if (!cpus || !*cpus)
                return 0;
        if (parse_cpus(cpus, &set) < 0)
                return berth_error_setx(err, EINVAL,
                                        "process.execCPUAffinity.%s %s: not a CPU "
                                        "list this runtime can set (CPUs 0-%d)",
                                        field, QUOTE(cpus), CPU_SETSIZE - 1);
        if (sched_setaffinity(0, sizeof(set), &set) < 0)
                return berth_error_set(err, errno,
                                       "process.execCPUAffinity.%s %s: "
                                       "sched_setaffinity",
                                       field, QUOTE(cpus));
        TRACE(t, "sched_setaffinity %s (%s)", cpus, field);
        return 0;
}

/* ---- user and groups ---------------------------------------------------------------------- */

/* In a user namespace whose setgroups file says "deny", setgroups(2) always fails. */
static bool setgroups_allowed(void)
{
        _autofree_ char *buf = NULL;

        if (berth_read_file_at(AT_FDCWD, "/proc/self/setgroups", 64, &buf, NULL, NULL) < 0)
                return true; /* no file: a kernel before 3.19, or no user namespace support */
        return !startswith(buf, "deny");
}

static int set_groups(const struct berth_process *p, struct berth_error **err)
{
        uint64_t t = TRACE_T0();

        if (!setgroups_allowed()) {
                if (p->n_additional_gids == 0)
                        return 0;
                return berth_error_setx(err, EPERM,
                                        "process.user.additionalGids: cannot set %zu "
                                        "supplementary groups: /proc/self/setgroups is \"deny\"",
                                        p->n_additional_gids);
        }
        /* Also with no additionalGids: the runtime's own groups must not leak into the container.
         */
        if (setgroups(p->n_additional_gids, p->additional_gids) < 0)
                return berth_error_set(err, errno, "setgroups (%zu groups)", p->n_additional_gids);
        TRACE(t, "setgroups (%zu groups)", p->n_additional_gids);
        return 0;
}

/* EINVAL from setres[ug]id: the id has no mapping in the user namespace. */
static int id_error(const char *call, const char *field, unsigned id, int e,
                    struct berth_error **err)
{
        if (e == EINVAL)
                return berth_error_setx(err, e,
                                        "%s %u: %s (%s is not mapped in the user namespace)", call,
                                        id, strerror(e), field);
        return berth_error_set(err, e, "%s %u", call, id);
}

static int switch_ids(uid_t uid, gid_t gid, struct berth_error **err)
{
        uint64_t t = TRACE_T0();

        if (setresgid(gid, gid, gid) < 0)
                return id_error("setresgid", "process.user.gid", gid, errno, err);
        if (setresuid(uid, uid, uid) < 0)
                return id_error("setresuid", "process.user.uid", uid, errno, err);
        TRACE(t, "setresgid %u, setresuid %u", (unsigned) gid, (unsigned) uid);
        return 0;
}

/* The null device, which runc never chowns (a process's stdio is often /dev/null). */
static bool is_null_device(const struct stat *st)
{
        return S_ISCHR(st->st_mode) && st->st_rdev == makedev(1, 3);
}

/*
 * As runc, before the switch to the process's user, each of fds 0-2 that is neither /dev/null nor
 * already the user's gets the user as owner; the group stays (the pty's is the tty group, from
 * devpts' gid=5). The user may then reopen its stdio: /dev/stdout, /proc/self/fd/1, its tty by
 * name. A terminal the runtime was given, rather than the pty made for process.terminal, is left
 * alone: the caller's own terminal must not become the container user's. The errors runc ignores
 * are ignored: EINVAL (the group is not mapped in the user namespace), EPERM (the owner is not),
 * EROFS.
 */
static int own_stdio(const struct berth_process *p, struct berth_error **err)
{
        uint64_t t = TRACE_T0();
        struct stat st;

        for (int fd = STDIN_FILENO; fd <= STDERR_FILENO; fd++) {
                if (fstat(fd, &st) < 0) {
                        if (errno == EBADF)
                                continue;
                        return berth_error_set(err, errno, "stat stdio fd %d", fd);
                }
                if (st.st_uid == p->uid || is_null_device(&st) || (!p->terminal && isatty(fd)))
                        continue;
                if (fchown(fd, p->uid, st.st_gid) < 0) {
                        if (errno == EINVAL || errno == EPERM || errno == EROFS)
                                continue;
                        return berth_error_set(err, errno, "chown stdio fd %d to %u:%u", fd,
                                               (unsigned) p->uid, (unsigned) st.st_gid);
                }
                TRACE(t, "chown stdio fd %d to %u:%u", fd, (unsigned) p->uid, (unsigned) st.st_gid);
        }
        return 0;
}

int berth_process_set_user(const struct berth_process *p, struct berth_error **err)
{
        int r;

        r = own_stdio(p, err);
        if (r >= 0)
                r = set_groups(p, err);
        if (r < 0)
                return r;
        /* Keep the permitted set across the uid change; berth_caps_apply() sets the final sets. */
        if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
                return berth_error_set(err, errno, "prctl(PR_SET_KEEPCAPS, 1)");
        r = switch_ids(p->uid, p->gid, err);
        if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0 && r >= 0)
                return berth_error_set(err, errno, "prctl(PR_SET_KEEPCAPS, 0)");
        if (r < 0)
                return r;
        /* runc sets 0022 when process.user.umask is absent (libcontainer/rootfs_linux.go). */
        umask(p->umask >= 0 ? (mode_t) p->umask : 0022);
        return 0;
}

/* ---- executable lookup -------------------------------------------------------------------- */

/* 0 if path is a file that execve(2) may run, else -errno (-EISDIR for a directory). */
static int check_exec(const char *path)
{
        struct stat st;

        if (stat(path, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EACCES;
        if (faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) < 0)
                return -errno;
        return 0;
}

static const char *env_path(char *const *env)
{
        for (char *const *e = env; e && *e; e++)
                if (startswith(*e, "PATH="))
                        return *e + strlen("PATH=");
        return DEFAULT_PATH;
}

/* Like execvp(3): an empty PATH entry is the current directory; a candidate that exists but
 * cannot be run is remembered (EACCES) and the search goes on. */
static int search_path(const char *name, const char *path, char **ret, char **ret_denied)
{
        for (const char *dir = path;; dir++) {
                size_t len = strcspn(dir, ":");
                _autofree_ char *cand =
                    len == 0 ? xasprintf("./%s", name) : xasprintf("%.*s/%s", (int) len, dir, name);
                int r = check_exec(cand);

                if (r == 0) {
                        *ret = steal_ptr(&cand);
                        return 0;
                }
                if ((r == -EACCES || r == -EISDIR) && !*ret_denied)
                        *ret_denied = steal_ptr(&cand);
                dir += len;
                if (*dir == '\0')
                        return -ENOENT;
        }
}

static char *make_absolute(char *path)
{
        _autofree_ char *cwd = NULL;
        char *abs;

        if (path[0] == '/')
                return path;
        cwd = getcwd(NULL, 0);
        if (!cwd)
                return path; /* still runnable relative to the cwd */
        abs = xasprintf("%s/%s", streq(cwd, "/") ? "" : cwd,
                        startswith(path, "./") ? path + 2 : path);
        free(path);
        return abs;
}

int berth_process_find_exec(const struct berth_process *p, char **ret_path,
                            struct berth_error **err)
{
        const char *name = p->args && p->args[0] ? p->args[0] : "";
        _autofree_ char *found = NULL, *denied = NULL;
        uint64_t t = TRACE_T0();
        int r;

        if (strchr(name, '/')) {
                r = check_exec(name);
                if (r < 0)
                        return berth_error_set(err, -r, "exec: \"%s\"", name);
                found = xstrdup(name);
        } else if (name[0] == '\0' || search_path(name, env_path(p->env), &found, &denied) < 0) {
                if (denied)
                        return berth_error_set(err, EACCES, "exec: \"%s\": %s", name, denied);
                return berth_error_setx(err, ENOENT,
                                        "exec: \"%s\": executable file not found in $PATH", name);
        }
        *ret_path = make_absolute(steal_ptr(&found));
        TRACE(t, "find executable \"%s\": %s", name, *ret_path);
        return 0;
}

/* ---- LSM labels --------------------------------------------------------------------------- */

static bool apparmor_enabled(void)
{
        _autofree_ char *buf = NULL;

        if (berth_read_file_at(AT_FDCWD, "/sys/module/apparmor/parameters/enabled", 64, &buf, NULL,
                               NULL) < 0)
                return false;
        return buf[0] == 'Y';
}

static int set_apparmor(const char *profile, struct berth_error **err)
{
        _autofree_ char *value = NULL;
        uint64_t t = TRACE_T0();
        int r;

        if (!profile || !*profile)
                return 0;
        if (!apparmor_enabled()) {
                berth_warn("apparmorProfile \"%s\": AppArmor is not enabled on this host, ignoring",
                           profile);
                return 0;
        }
        value = xasprintf("exec %s", profile);
        /* The per-LSM directory exists since Linux 5.1; before, the shared attr file. */
        r = berth_write_file("/proc/self/attr/apparmor/exec", value, err);
        if (r == -ENOENT)
                r = berth_write_file("/proc/self/attr/exec", value, err);
        if (r < 0) {
                berth_error_prefix(err, "apparmorProfile \"%s\"", profile);
                return r;
        }
        TRACE(t, "apparmor exec profile \"%s\"", profile);
        return 0;
}

static int set_selinux(const char *label, struct berth_error **err)
{
        uint64_t t = TRACE_T0();
        int r;

        if (!label || !*label)
                return 0;
        if (access("/sys/fs/selinux/enforce", F_OK) < 0) {
                berth_warn("selinuxLabel \"%s\": SELinux is not enabled on this host, ignoring",
                           label);
                return 0;
        }
        r = berth_write_file("/proc/self/attr/exec", label, err);
        if (r < 0) {
                berth_error_prefix(err, "selinuxLabel \"%s\"", label);
                return r;
        }
        TRACE(t, "selinux exec label \"%s\"", label);
        return 0;
}

int berth_process_set_lsm(const struct berth_process *p, struct berth_error **err)
{
        int r;

        r = set_apparmor(p->apparmor_profile, err);
        if (r < 0)
                return r;
        return set_selinux(p->selinux_label, err);
}

/* ---- environment -------------------------------------------------------------------------- */

/* The home directory of uid in the container's /etc/passwd, "/" if there is none (as runc). */
static char *passwd_home(uid_t uid)
{
        _autofree_ char *text = NULL;
        char *save = NULL;

        if (berth_read_file_at(AT_FDCWD, "/etc/passwd", 16u << 20, &text, NULL, NULL) < 0)
                return xstrdup("/");
        for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char *f[7] = {0}, *p = line;
                uint64_t id;

                for (int i = 0; i < 7 && p; i++) {
                        f[i] = p;
                        p = strchr(p, ':');
                        if (p)
                                *p++ = '\0';
                }
                if (f[5] && parse_u64(f[2], &id) == 0 && id == uid && f[5][0])
                        return xstrdup(f[5]);
        }
        return xstrdup("/");
}

char **berth_process_env(const struct berth_process *p, int listen_fds)
{
        size_t n = 0;
        char **ret = xcalloc(strv_length(p->env) + 4, sizeof(char *));
        bool has_home = false;

        for (char **e = p->env; e && *e; e++) {
                if (listen_fds > 0 &&
                    (startswith(*e, "LISTEN_FDS=") || startswith(*e, "LISTEN_PID=")))
                        continue;
                has_home |= startswith(*e, "HOME=");
                ret[n++] = *e;
        }
        if (!has_home) {
                _autofree_ char *home = passwd_home(p->uid);

                ret[n++] = xasprintf("HOME=%s", home);
        }
        if (listen_fds > 0) {
                ret[n++] = xasprintf("LISTEN_FDS=%d", listen_fds);
                ret[n++] = xstrdup("LISTEN_PID=1");
        }
        return ret;
}

/* ---- everything, in order -------------------------------------------------------------------- */

/* Whether the filter must be loaded without no_new_privs by a process whose final capabilities
 * lack CAP_SYS_ADMIN, which seccomp(2) then requires: setup keeps it until the filter is in. */
static bool holds_admin(const struct berth_process *p, const struct berth_seccomp_filter *seccomp)
{
        const uint64_t admin = UINT64_C(1) << CAP_SYS_ADMIN;

        return seccomp && !p->no_new_privileges &&
               (p->caps.set[BERTH_CAP_EFFECTIVE] & p->caps.set[BERTH_CAP_PERMITTED] & admin) == 0;
}

static int set_caps(const struct berth_process *p, bool hold_admin, struct berth_error **err)
{
        struct berth_caps c = p->caps;

        if (hold_admin) {
                c.set[BERTH_CAP_EFFECTIVE] |= UINT64_C(1) << CAP_SYS_ADMIN;
                c.set[BERTH_CAP_PERMITTED] |= UINT64_C(1) << CAP_SYS_ADMIN;
        }
        return berth_caps_apply(&c, err);
}

/* runc tries process.cwd as root first (a directory the runtime may enter but the user may not),
 * and again as the user when root was refused (a volume owned by the user, on a root-squashing
 * filesystem): right after the switch of user, whose effective capabilities the kernel has then
 * cleared (a non-root user), before the process's own are set. */
static int enter_cwd(const char *cwd, bool as_user, bool *pending, struct berth_error **err)
{
        uint64_t t = TRACE_T0();

        if (!cwd || (as_user && !*pending))
                return 0;
        if (chdir(cwd) < 0) {
                if (!as_user && (errno == EACCES || errno == EPERM)) {
                        *pending = true;
                        return 0;
                }
                return berth_error_set(err, errno, "process.cwd \"%s\"", cwd);
        }
        *pending = false;
        TRACE(t, "chdir %s", cwd);
        return 0;
}

int berth_process_setup(const struct berth_process *p, const struct berth_seccomp_filter *seccomp,
                        struct berth_error **err)
{
        bool cwd_pending = false;
        int r;

        r = berth_process_set_rlimits(p, err);
        if (r >= 0)
                r = berth_process_set_sched(p, err);
        if (r >= 0)
                r = berth_process_set_lsm(p, err);
        if (r >= 0)
                r = enter_cwd(p->cwd, false, &cwd_pending, err);
        if (r >= 0)
                r = berth_caps_drop_bounding(&p->caps, err);
        if (r >= 0)
                r = berth_process_set_user(p, err);
        if (r >= 0)
                r = enter_cwd(p->cwd, true, &cwd_pending, err);
        if (r >= 0)
                r = set_caps(p, holds_admin(p, seccomp), err);
        if (r < 0)
                return r;
        if (p->no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return berth_error_set(err, errno, "prctl(PR_SET_NO_NEW_PRIVS)");
        return 0;
}

int berth_process_confine(const struct berth_process *p, struct berth_seccomp_filter *seccomp,
                          struct berth_error **err)
{
        int r;

        berth_process_reset_signals();
        if (!seccomp)
                return 0;
        r = berth_seccomp_load(seccomp, err);
        if (r < 0)
                return r;
        /* Dropping what the load needed: the only call between the filter and execve. */
        return holds_admin(p, seccomp) ? berth_caps_set(&p->caps, err) : 0;
}

int berth_process_exec(const struct berth_process *p, struct berth_seccomp_filter *seccomp,
                       const char *path, char *const *env, struct berth_error **err)
{
        int r;

        TRACE(berth_now_us(), "execve %s", path);
        r = berth_process_confine(p, seccomp, err);
        if (r < 0)
                return r;
        execve(path, p->args, env);
        return berth_error_set(err, errno, "exec \"%s\"", p->args[0]);
}

void berth_process_reset_signals(void)
{
        sigset_t none;

        for (int sig = 1; sig < NSIG; sig++)
                if (sig != SIGKILL && sig != SIGSTOP)
                        signal(sig, SIG_DFL);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
}
