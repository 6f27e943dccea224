/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <sys/stat.h>

#include "cgroup/cgroup-internal.h"
#include "base/log.h"
#include "base/util.h"

#define BERTH_PARENT "/berth"

/* The controllers a cgroup2 mount lets its children use. A hybrid host's unified root lists the
 * controllers no v1 hierarchy has (often hugetlb) in cgroup.controllers, but until they are
 * enabled in cgroup.subtree_control its children get none of their files. */
static bool v2_delegates_anything(const char *mount)
{
        _autofree_ char *path = xasprintf("%s/cgroup.subtree_control", mount), *text = NULL;

        if (berth_read_file_at(AT_FDCWD, path, 4096, &text, NULL, NULL) < 0)
                return false;
        return text[strspn(text, " \n")] != '\0';
}

/* One line of /proc/self/mountinfo: its mount point and, for a cgroup mount, its controllers. */
static bool parse_cgroup_mount(char *line, char **ret_mount, char **ret_opts, bool *ret_v2)
{
        char *sep = strstr(line, " - "), *f[6] = {0}, *save = NULL, *p = line;
        char fstype[32], super[512];

        if (!sep)
                return false;
        for (int i = 0; i < 6 && (f[i] = strtok_r(p, " ", &save)); i++)
                p = NULL;
        if (!f[4] || sscanf(sep + 3, "%31s %*s %511s", fstype, super) != 2)
                return false;
        if (!startswith(f[4], CGROUP_ROOT "/"))
                return false;
        *ret_v2 = streq(fstype, "cgroup2");
        if (!*ret_v2 && !streq(fstype, "cgroup"))
                return false;
        *ret_mount = xstrdup(f[4]);
        *ret_opts = xstrdup(super);
        return true;
}

/* "rw,cpu,cpuacct" -> "cpu,cpuacct" (the controllers and name=, without mount flags). */
static char *controllers_of(const char *opts)
{
        _autofree_ char *copy = xstrdup(opts);
        char *out = xcalloc(1, strlen(opts) + 1), *save = NULL;

        for (char *o = strtok_r(copy, ",", &save); o; o = strtok_r(NULL, ",", &save)) {
                if (streq(o, "rw") || streq(o, "ro") || streq(o, "relatime") ||
                    streq(o, "nosuid") || streq(o, "nodev") || streq(o, "noexec") ||
                    streq(o, "clone_children") || startswith(o, "release_agent") ||
                    streq(o, "noprefix") || streq(o, "xattr"))
                        continue;
                if (*out)
                        strcat(out, ",");
                strcat(out, o);
        }
        return out;
}

static void add_hier(struct berth_cgroup *cg, char *mount, char *name, bool v2, bool bare)
{
        cg->h = xreallocarray(cg->h, cg->n_h + 1, sizeof(*cg->h));
        cg->h[cg->n_h++] =
            (struct cg_hier){.name = name, .mount = mount, .v2 = v2, .bare = bare, .fd = -1};
}

/* The hierarchies berth uses on this host: every v1 hierarchy under /sys/fs/cgroup plus, on a
 * hybrid host, the cgroup2 mount (bare when it delegates no controller: runc places the container
 * there all the same, and /proc/PID/cgroup's "0::" line shows it); on v2, the one root. */
static int find_hierarchies(struct berth_cgroup *cg, struct berth_error **err)
{
        _autofclose_ FILE *f = NULL;
        _autofree_ char *line = NULL;
        size_t cap = 0;

        if (berth_cgroup_mode() == BERTH_CGROUP_V2) {
                add_hier(cg, xstrdup(CGROUP_ROOT), xstrdup(""), true, false);
                return 0;
        }
        f = fopen("/proc/self/mountinfo", "re");
        if (!f)
                return berth_error_set(err, errno, "read /proc/self/mountinfo");
        while (getline(&line, &cap, f) > 0) {
                char *mount = NULL, *opts = NULL;
                bool v2;

                line[strcspn(line, "\n")] = '\0';
                if (!parse_cgroup_mount(line, &mount, &opts, &v2))
                        continue;
                add_hier(cg, mount, v2 ? xstrdup("") : controllers_of(opts), v2,
                         v2 && !v2_delegates_anything(mount));
                free(opts);
        }
        if (cg->n_h == 0)
                return berth_error_setx(err, ENOENT,
                                        "no cgroup hierarchy is mounted under " CGROUP_ROOT);
        return 0;
}

/* cgroupsPath -> the path in every hierarchy. Absolute or relative: from the root (crun's
 * reading, and runc's when it runs in the root cgroup, never under berth's parent); absent: under
 * berth's own parent. ".." and systemd's "slice:prefix:name" form are refused. */
int berth_cgroup_resolve_path(const char *path, const char *id, char **ret,
                              struct berth_error **err)
{
        _autofree_ char *copy = NULL, *full = NULL;
        char *save = NULL;

        if (!path || !*path) {
                *ret = xasprintf(BERTH_PARENT "/%s", id);
                return 0;
        }
        if (strchr(path, ':') && path[0] != '/')
                return berth_error_setx(
                    err, EINVAL,
                    "linux.cgroupsPath %s: a systemd path (slice:prefix:name) needs the systemd "
                    "cgroup driver, which berth does not support yet",
                    QUOTE(path));
        copy = xstrdup(path);
        for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save))
                if (streq(c, "..") || streq(c, "."))
                        return berth_error_setx(
                            err, EINVAL, "linux.cgroupsPath %s: must not contain \".\" or \"..\"",
                            QUOTE(path));
        full = xasprintf("/%s", path + strspn(path, "/"));
        /* "/a//b/" -> "/a/b" */
        for (char *s = full, *d = full;; s++) {
                if (*s == '/' && (s[1] == '/' || s[1] == '\0') && d != full)
                        continue;
                if ((*d++ = *s) == '\0')
                        break;
        }
        if (streq(full, "/"))
                return berth_error_setx(err, EINVAL,
                                        "linux.cgroupsPath %s: the root cgroup is the host's",
                                        QUOTE(path));
        *ret = steal_ptr(&full);
        return 0;
}

static int cgroup_new(const char *path, const char *id, struct berth_cgroup **ret,
                      struct berth_error **err)
{
        struct berth_cgroup *cg = xcalloc(1, sizeof(*cg));
        int r;

        cg->ops =
            berth_cgroup_mode() == BERTH_CGROUP_V2 ? &berth_cgroup_v2_ops : &berth_cgroup_v1_ops;
        r = berth_cgroup_resolve_path(path, id, &cg->path, err);
        if (r >= 0)
                r = find_hierarchies(cg, err);
        if (r < 0) {
                berth_cgroup_free(cg);
                return r;
        }
        *ret = cg;
        return 0;
}

/*
 * runc 1.1's checks of a cgroup that is there before create (libcontainer's Factory.Create), with
 * its words, which its tests and clients look for: frozen, the init would join it and never run,
 * so create is refused; with processes (another container's, or a pod's shared cgroup) it is
 * joined with a warning. Leaves cg with no hierarchy open.
 */
static int check_existing(struct berth_cgroup *cg, struct berth_error **err)
{
        _autofree_ pid_t *pids = NULL;
        size_t n = 0;
        int r = 0;

        if (cg->ops->open(cg, NULL) < 0)
                return 0; /* nothing there yet */
        if (berth_cgroup_is_frozen(cg))
                r = berth_error_setx(err, EBUSY,
                                     "container's cgroup unexpectedly frozen (cgroup %s: thaw it, "
                                     "or remove it, first)",
                                     cg->path);
        else if (berth_cgroup_pids(cg, &pids, &n, NULL) >= 0 && n > 0)
                berth_warn("container's cgroup is not empty: %zu process(es) found (cgroup %s: "
                           "joining it)",
                           n, cg->path);
        for (size_t i = 0; i < cg->n_h; i++)
                closep(&cg->h[i].fd);
        return r;
}

int berth_cgroup_create(const char *path, const char *id, struct berth_cgroup **ret,
                        struct berth_error **err)
{
        struct berth_cgroup *cg;
        int r = cgroup_new(path, id, &cg, err);

        if (r < 0)
                return r;
        r = check_existing(cg, err);
        if (r >= 0)
                r = cg->ops->create(cg, err);
        if (r < 0) {
                berth_cgroup_free(cg);
                return r;
        }
        *ret = cg;
        return 0;
}

int berth_cgroup_open(const char *path, const char *id, struct berth_cgroup **ret,
                      struct berth_error **err)
{
        struct berth_cgroup *cg;
        int r = cgroup_new(path, id, &cg, err);

        if (r < 0)
                return r;
        r = cg->ops->open(cg, err);
        if (r < 0) {
                berth_cgroup_free(cg);
                return r;
        }
        *ret = cg;
        return 0;
}

const char *berth_cgroup_path(const struct berth_cgroup *cg)
{
        return cg->path;
}

int berth_cgroup_apply(struct berth_cgroup *cg, const struct berth_resources *r,
                       struct berth_error **err)
{
        return r ? cg->ops->apply(cg, r, err) : 0;
}

static bool has_sub(const struct berth_cgroup *cg)
{
        for (size_t i = 0; i < cg->n_h; i++)
                if (cg->h[i].sub)
                        return true;
        return false;
}

/* errno text as Go prints it ("no such file or directory"): runc's errors, which clients and
 * runc's own tests match, carry it so. */
static void errno_text(int code, char *buf, size_t size)
{
        snprintf(buf, size, "%s", strerror(code));
        if (buf[0] >= 'A' && buf[0] <= 'Z' && !(buf[1] >= 'A' && buf[1] <= 'Z'))
                buf[0] = (char) (buf[0] - 'A' + 'a');
}

/* The attach of exec --cgroup, in runc's words: each hierarchy's sub-cgroup's cgroup.procs. */
static int attach_sub(struct berth_cgroup *cg, pid_t pid, struct berth_error **err)
{
        char text[32];

        snprintf(text, sizeof(text), "%d", (int) pid);
        for (size_t i = 0; i < cg->n_h; i++) {
                const struct cg_hier *h = &cg->h[i];
                _autofree_ char *file = NULL;
                _autoclose_ int fd = -EBADF;
                char why[128];
                int e;

                if (h->fd < 0)
                        continue;
                file = h->sub && *h->sub ? xasprintf("%s/cgroup.procs", h->sub)
                                         : xstrdup("cgroup.procs");
                fd = openat(h->fd, file, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
                if (fd >= 0 && write_all(fd, text, strlen(text)) == 0)
                        continue;
                e = errno;
                errno_text(e, why, sizeof(why));
                return berth_error_setx(err, e, "adding pid %d to cgroups: write %s%s/%s: %s",
                                        (int) pid, h->mount, cg->path, file, why);
        }
        return 0;
}

int berth_cgroup_attach(struct berth_cgroup *cg, pid_t pid, struct berth_error **err)
{
        return has_sub(cg) ? attach_sub(cg, pid, err) : cg->ops->attach(cg, pid, err);
}

/* SUB of --cgroup as a path below the container's cgroup `base` ("/berth/web"), cleaned
 * lexically as runc's path.Join does ("a//b/./c" -> "a/b/c", "/" -> "", "../web/x" -> "x"), or
 * NULL when it ends outside base (runc only compares strings, and would take "../web2"). */
static char *sub_below(const char *base, const char *sub)
{
        _autofree_ char *copy = xasprintf("%s/%s", base, sub);
        char *out = xcalloc(1, strlen(copy) + 1), *save = NULL;
        size_t len = 0, base_len = strlen(base);

        for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                if (streq(c, "."))
                        continue;
                if (streq(c, "..")) {
                        while (len > 0 && out[len - 1] != '/')
                                len--;
                        len -= len > 0; /* the slash */
                        out[len] = '\0';
                        continue;
                }
                len += (size_t) sprintf(out + len, "/%s", c);
        }
        if (strncmp(out, base, base_len) != 0 || (out[base_len] != '\0' && out[base_len] != '/')) {
                free(out);
                return NULL;
        }
        base_len += out[base_len] == '/';
        memmove(out, out + base_len, len - base_len + 1);
        return out;
}

/* Sets h->sub ("" is the container's own cgroup, chosen explicitly). */
static void set_sub(struct cg_hier *h, const char *sub)
{
        free(h->sub);
        h->sub = xstrdup(sub);
}

/* "CTRL[,CTRL]:SUB": each controller names the v1 hierarchy that has it. */
static int select_by_controllers(struct berth_cgroup *cg, const char *arg, const char *sub,
                                 struct berth_error **err)
{
        _autofree_ char *copy = xasprintf("%.*s", (int) strcspn(arg, ":"), arg);
        char *save = NULL;

        for (char *c = strtok_r(copy, ",", &save); c; c = strtok_r(NULL, ",", &save)) {
                struct cg_hier *h = berth_cg_hier(cg, c);

                if (!h)
                        return berth_error_setx(err, EINVAL,
                                                "unknown controller %s in SubCgroupPaths", c);
                set_sub(h, sub);
        }
        return 0;
}

/* One --cgroup value: its SUB, cleaned, and whether it names controllers. */
static int parse_sub_arg(const char *base, const char *arg, size_t n_args, char **ret_sub,
                         bool *ret_ctrls, struct berth_error **err)
{
        const char *colon = strchr(arg, ':');
        const char *raw = colon ? colon + 1 : arg;

        if (colon && strchr(colon + 1, ':'))
                return berth_error_setx(err, EINVAL, "invalid --cgroup argument: %s", arg);
        if (!colon && n_args != 1)
                return berth_error_setx(
                    err, EINVAL, "invalid --cgroup argument: %s (missing <controller>: prefix)",
                    arg);
        *ret_sub = sub_below(base, raw);
        if (!*ret_sub)
                return berth_error_setx(err, EINVAL, "%s is not a sub cgroup path", raw);
        *ret_ctrls = colon && colon != arg; /* runc reads ":SUB" as SUB */
        return 0;
}

int berth_cgroup_select_sub(struct berth_cgroup *cg, const char *const *args,
                            struct berth_error **err)
{
        _autofree_ char *every = NULL;
        size_t n = 0;

        while (args && args[n])
                n++;
        for (size_t i = 0; i < n; i++) {
                _autofree_ char *sub = NULL;
                bool ctrls = false;
                int r = parse_sub_arg(cg->path, args[i], n, &sub, &ctrls, err);

                if (r >= 0 && ctrls)
                        r = select_by_controllers(cg, args[i], sub, err);
                if (r < 0)
                        return r;
                if (!ctrls) {
                        free(every);
                        every = steal_ptr(&sub);
                }
        }
        /* as runc: a SUB for every hierarchy wins over the per-controller ones */
        for (size_t k = 0; every && k < cg->n_h; k++)
                set_sub(&cg->h[k], every);
        return 0;
}

int berth_cgroup_select_cgroup_of(struct berth_cgroup *cg, pid_t pid, struct berth_error **err)
{
        _autofree_ char *path = xasprintf("/proc/%d/cgroup", (int) pid), *text = NULL;
        const char *line, *sub;
        size_t n = strlen(cg->path);

        if (berth_read_file_at(AT_FDCWD, path, 0, &text, NULL, err) < 0)
                return -ENOENT;
        line = startswith(text, "0::") ? text : strstr(text, "\n0::");
        if (!line)
                return berth_error_setx(err, ENOENT, "%s has no cgroup v2 line", path);
        line += line[0] == '\n' ? 4 : 3;
        sub = line + n + 1;
        if (strncmp(line, cg->path, n) != 0 || line[n] != '/' || *sub == '\n' || *sub == '\0')
                return berth_error_setx(err, ENOENT, "pid %d is not in a sub-cgroup of %s",
                                        (int) pid, cg->path);
        for (size_t i = 0; i < cg->n_h; i++) {
                free(cg->h[i].sub);
                cg->h[i].sub = xasprintf("%.*s", (int) strcspn(sub, "\n"), sub);
        }
        return 0;
}

int berth_cgroup_clone_fd(const struct berth_cgroup *cg)
{
        return berth_cgroup_mode() == BERTH_CGROUP_V2 && cg->n_h == 1 && !has_sub(cg) ? cg->h[0].fd
                                                                                      : -1;
}

int berth_cgroup_kill(struct berth_cgroup *cg, int sig, struct berth_error **err)
{
        return cg->ops->kill(cg, sig, err);
}

int berth_cgroup_freeze(struct berth_cgroup *cg, bool frozen, struct berth_error **err)
{
        return cg->ops->freeze(cg, frozen, err);
}

bool berth_cgroup_is_frozen(struct berth_cgroup *cg)
{
        return cg->ops->is_frozen && cg->ops->is_frozen(cg);
}

int berth_cgroup_destroy(struct berth_cgroup *cg, struct berth_error **err)
{
        return cg->ops->destroy(cg, err);
}

void berth_cgroup_free(struct berth_cgroup *cg)
{
        if (!cg)
                return;
        for (size_t i = 0; i < cg->n_h; i++) {
                free(cg->h[i].name);
                free(cg->h[i].mount);
                free(cg->h[i].sub);
                closep(&cg->h[i].fd);
        }
        free(cg->h);
        free(cg->path);
        free(cg);
}
