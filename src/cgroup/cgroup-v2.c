/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cgroup v2 driver: one unified hierarchy (cg->h[0], v2 = true), used only on a pure v2 host
 * (berth_cgroup_mode() == BERTH_CGROUP_V2). A hybrid host's cgroup2 mount belongs to the v1
 * driver.
 *
 * Controllers. A cgroup only has the files of the controllers its parent enabled in
 * cgroup.subtree_control, so create walks the path from the root and, in each directory above
 * the leaf, enables the controllers berth uses (memory pids cpu io cpuset hugetlb rdma misc, as
 * far as that directory's cgroup.controllers offers them):
 *
 *   - in a directory this create made: all of them;
 *   - in the root and in directories berth did not make (the host's, an engine's slice): only the
 *     ones not enabled yet, and only on a pure v2 host, where nothing else manages them the v1
 *     way. This is what systemd or an engine would have done for its own children; enabling a
 *     controller there changes no limit of the host's cgroups. A host directory other than the
 *     root that has processes of its own is left alone: v2 gives such a cgroup's children no
 *     domain controllers ("no internal processes"), and enabling only the threaded ones (cpu,
 *     cpuset, pids, which it would accept) would make it a thread root whose domain children
 *     refuse tasks, the container's and the host's. A refusal (EACCES: delegated to someone
 *     else) is a warning too: the container still runs, and apply warns for each resource it
 *     then cannot set.
 *
 * The leaf never gets controllers enabled: it holds the container's processes.
 */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#include "cgroup/cgroup-internal.h"
#include "base/log.h"
#include "base/util.h"

/* Domain controllers first: the kernel enables them in the order written. */
static const char *const wanted_controllers[] = {
    "cpuset", "cpu", "io", "memory", "hugetlb", "pids", "rdma", "misc",
};

#define WAIT_MS 5000 /* freeze and rmdir give up after this long */

/* Whole word `name` in a space-separated list ("cpu" is not in "cpuset"). */
static bool in_list(const char *list, const char *name)
{
        size_t n = strlen(name);

        for (const char *p = list; (p = strstr(p, name)); p += n)
                if ((p == list || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' ' || p[n] == '\n'))
                        return true;
        return false;
}

/* The value of "key N" in a flat-keyed file such as cgroup.events, or -1. */
static long flat_key(const char *text, const char *key)
{
        size_t n = strlen(key);

        for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
                if (strncmp(l, key, n) == 0 && l[n] == ' ')
                        return strtol(l + n + 1, NULL, 10);
        return -1;
}

/* Writes "+name" to dir's cgroup.subtree_control; -errno. */
static int enable_one(int dir, const char *name)
{
        _autoclose_ int fd = openat(dir, "cgroup.subtree_control", O_WRONLY | O_CLOEXEC);
        _autofree_ char *word = xasprintf("+%s", name);

        if (fd < 0 || write_all(fd, word, strlen(word)) < 0)
                return -errno;
        return 0;
}

static bool has_own_processes(int dir)
{
        _autofree_ char *procs = NULL;

        return berth_read_file_at(dir, "cgroup.procs", 4096, &procs, NULL, NULL) == 0 &&
               procs[0] != '\0';
}

/*
 * Enables in `dir` (the cgroup `where`, which this create made when `ours`) the wanted
 * controllers it offers and has not enabled yet. One write for all of them, then one per
 * controller if that was refused, so that one refusal costs only that controller.
 */
static void enable_controllers(int dir, const char *where, bool ours)
{
        _autofree_ char *offered = NULL, *enabled = NULL, *list = NULL;
        size_t len = 0;

        if (!ours && berth_cgroup_mode() != BERTH_CGROUP_V2)
                return;
        if (berth_read_file_at(dir, "cgroup.controllers", 4096, &offered, NULL, NULL) < 0 ||
            berth_read_file_at(dir, "cgroup.subtree_control", 4096, &enabled, NULL, NULL) < 0)
                return;
        list = xcalloc(1, 128);
        for (size_t i = 0; i < ARRAY_SIZE(wanted_controllers); i++) {
                const char *c = wanted_controllers[i];

                if (in_list(offered, c) && !in_list(enabled, c))
                        len += (size_t) snprintf(list + len, 128 - len, "%s+%s", len ? " " : "", c);
        }
        if (len == 0)
                return;
        /* Not even partly: threaded controllers (cpu, cpuset, pids) would go in, and a cgroup
         * with processes and those becomes a thread root, whose domain children refuse tasks. */
        if (!ours && !streq(where, "/") && has_own_processes(dir)) {
                berth_warn(
                    "cgroup %s (not berth's) has processes of its own: cgroup v2 gives its "
                    "children no controllers (\"no internal processes\"), leaving it as it is",
                    where);
                return;
        }
        {
                _autoclose_ int fd = openat(dir, "cgroup.subtree_control", O_WRONLY | O_CLOEXEC);
                uint64_t t0 = TRACE_T0();

                if (fd >= 0 && write_all(fd, list, len) == 0) {
                        TRACE(t0, "cgroup %s: cgroup.subtree_control += %s", where, list);
                        return;
                }
        }
        for (size_t i = 0; i < ARRAY_SIZE(wanted_controllers); i++) {
                const char *c = wanted_controllers[i];
                int r;

                if (!in_list(offered, c) || in_list(enabled, c))
                        continue;
                r = enable_one(dir, c);
                if (r < 0)
                        berth_warn("cgroup %s%s: cannot enable the %s controller for its children: "
                                   "%s, ignoring",
                                   where, ours ? "" : " (not berth's)", c, strerror(-r));
        }
}

/* mkdir -p of cg->path under the root, enabling controllers on the way; the leaf's fd. */
static int make_path(struct berth_cgroup *cg, int *ret_fd, struct berth_error **err)
{
        const struct cg_hier *h = &cg->h[0];
        _autofree_ char *copy = xstrdup(cg->path), *where = xstrdup("/");
        _autoclose_ int dir = open(h->mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        char *save = NULL, *c, *next;
        bool ours = false;

        if (dir < 0)
                return berth_error_set(err, errno, "open cgroup hierarchy %s", h->mount);
        for (c = strtok_r(copy, "/", &save); c; c = next) {
                bool made;
                int fd;

                next = strtok_r(NULL, "/", &save);
                enable_controllers(dir, where, ours);
                made = mkdirat(dir, c, 0755) == 0;
                if (!made && errno != EEXIST)
                        return berth_error_set(err, errno, "create cgroup %s", cg->path);
                fd = openat(dir, c, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (fd < 0)
                        return berth_error_set(err, errno, "open cgroup %s", cg->path);
                close(dir);
                dir = fd;
                ours = made;
                free(where);
                where = xasprintf("%.*s", (int) (c - copy + strlen(c)), cg->path);
                /* an existing leaf is joined, with runc's warning when it has processes (see
                 * berth_cgroup_create) */
        }
        *ret_fd = steal_fd(&dir);
        return 0;
}

/* The fd stays O_RDONLY (not O_PATH): clone3(CLONE_INTO_CGROUP) takes either, but
 * bpf(BPF_PROG_ATTACH) needs a real open file of the directory. */
static int v2_create(struct berth_cgroup *cg, struct berth_error **err)
{
        uint64_t t0 = TRACE_T0();
        int r;

        if (cg->n_h != 1 || !cg->h[0].v2)
                return berth_error_setx(err, EINVAL,
                                        "cgroup %s: the v2 driver needs exactly one "
                                        "cgroup2 hierarchy",
                                        cg->path);
        r = make_path(cg, &cg->h[0].fd, err);
        /* a concurrent delete of a shared parent between two mkdirs (a host's cleanup): retry */
        for (int tries = 0; r == -ENOENT && tries < 3; tries++)
                r = make_path(cg, &cg->h[0].fd, err);
        if (r < 0)
                return r;
        TRACE(t0, "cgroup %s created", cg->path);
        return 0;
}

static int v2_open(struct berth_cgroup *cg, struct berth_error **err)
{
        _autofree_ char *p = NULL;

        if (cg->n_h != 1)
                return berth_error_setx(err, EINVAL,
                                        "cgroup %s: the v2 driver needs exactly one "
                                        "cgroup2 hierarchy",
                                        cg->path);
        p = xasprintf("%s%s", cg->h[0].mount, cg->path);
        cg->h[0].fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (cg->h[0].fd < 0)
                return berth_error_set(err, errno, "open cgroup %s", cg->path);
        return 0;
}

static int v2_attach(struct berth_cgroup *cg, pid_t pid, struct berth_error **err)
{
        char text[32];

        snprintf(text, sizeof(text), "%d", (int) pid);
        if (berth_cg_write(cg, &cg->h[0], "cgroup.procs", text, err) < 0)
                return berth_error_prefix(err, "attach pid %d", (int) pid);
        return 0;
}

static bool has_file(const struct cg_hier *h, const char *file)
{
        return faccessat(h->fd, file, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

static bool v2_is_frozen(struct berth_cgroup *cg)
{
        _autofree_ char *v = NULL;

        return cg->h[0].fd >= 0 && berth_cg_read(cg, &cg->h[0], "cgroup.freeze", &v, NULL) == 0 &&
               v[0] == '1';
}

/*
 * Writes cgroup.freeze and waits for cgroup.events to report "frozen 0|1": the kernel stops the
 * tasks asynchronously. cgroup.events signals changes with POLLPRI (kernfs_notify), and a read
 * re-arms it; the poll timeout only guards against a missed wakeup.
 */
static int v2_freeze(struct berth_cgroup *cg, bool frozen, struct berth_error **err)
{
        const struct cg_hier *h = &cg->h[0];
        _autoclose_ int fd = -EBADF;
        uint64_t start = berth_now_us();
        int r;

        if (!has_file(h, "cgroup.freeze"))
                return berth_error_setx(err, ENOTSUP,
                                        "cgroup %s: this kernel has no cgroup.freeze "
                                        "(Linux 5.2)",
                                        cg->path);
        r = berth_cg_write(cg, h, "cgroup.freeze", frozen ? "1" : "0", err);
        if (r < 0)
                return r;
        fd = openat(h->fd, "cgroup.events", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return berth_error_set(err, errno, "cgroup %s: open cgroup.events", cg->path);
        for (;;) {
                char buf[256];
                ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
                struct pollfd p = {.fd = fd, .events = POLLPRI};

                if (n < 0)
                        return berth_error_set(err, errno, "cgroup %s: read cgroup.events",
                                               cg->path);
                buf[n] = '\0';
                if (flat_key(buf, "frozen") == (frozen ? 1 : 0))
                        return 0;
                if (berth_now_us() - start > WAIT_MS * 1000ULL)
                        return berth_error_setx(err, ETIMEDOUT,
                                                "cgroup %s: still not %s after %d s", cg->path,
                                                frozen ? "frozen" : "thawed", WAIT_MS / 1000);
                poll(&p, 1, 50);
        }
}

/*
 * SIGKILL: cgroup.kill (Linux 5.14) kills every process, including ones forking at that moment.
 * Without it, or for another signal, each pid in cgroup.procs gets the signal; for SIGKILL the
 * cgroup is frozen meanwhile so that nothing forks away between the read and the kills.
 */
static int v2_kill(struct berth_cgroup *cg, int sig, struct berth_error **err)
{
        const struct cg_hier *h = &cg->h[0];
        bool freeze;
        _autofree_ pid_t *pids = NULL;
        size_t n = 0;
        int r;

        if (sig == SIGKILL && has_file(h, "cgroup.kill"))
                return berth_cg_write(cg, h, "cgroup.kill", "1", err);
        freeze = sig == SIGKILL && has_file(h, "cgroup.freeze") && !v2_is_frozen(cg);
        if (freeze && v2_freeze(cg, true, NULL) < 0)
                freeze = false;
        r = berth_cgroup_pids(cg, &pids, &n, err);
        for (size_t i = 0; r >= 0 && i < n; i++)
                kill(pids[i], sig);
        if (freeze)
                v2_freeze(cg, false, NULL);
        return r;
}

/* rmdir, waiting for dying tasks to leave; -errno. */
static int remove_dir(int parent, const char *name)
{
        for (long waited = 0, step = 1; unlinkat(parent, name, AT_REMOVEDIR) < 0;
             waited += step, step = step < 64 ? step * 2 : step) {
                if (errno == ENOENT)
                        return 0;
                if (errno != EBUSY || waited >= WAIT_MS)
                        return -errno;
                berth_cg_sleep_ms(step);
        }
        return 0;
}

/*
 * Removes dir/name after its sub-cgroups, depth first: a container with its own cgroup namespace
 * may have made some (systemd in a container does), and rmdir refuses a cgroup with children.
 */
static int remove_tree(int parent, const char *name, int depth)
{
        _autoclose_ int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        DIR *d;
        struct dirent *e;

        if (fd < 0)
                return errno == ENOENT ? 0 : -errno;
        /* a child that cannot go makes the rmdir below fail with EBUSY, which says enough */
        if (depth < 32 && (d = fdopendir(fcntl(fd, F_DUPFD_CLOEXEC, 3)))) {
                while ((e = readdir(d)))
                        if (e->d_type == DT_DIR && !streq(e->d_name, ".") &&
                            !streq(e->d_name, ".."))
                                remove_tree(fd, e->d_name, depth + 1);
                closedir(d);
        }
        return remove_dir(parent, name);
}

static int v2_destroy(struct berth_cgroup *cg, struct berth_error **err)
{
        uint64_t t0 = TRACE_T0();
        _autoclose_ int root = open(cg->h[0].mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int r;

        closep(&cg->h[0].fd);
        if (root < 0)
                return berth_error_set(err, errno, "open cgroup hierarchy %s", cg->h[0].mount);
        /* cg->path is absolute and has no "." or ".." (berth_cgroup_resolve_path) */
        r = remove_tree(root, cg->path + 1, 0);
        if (r < 0)
                return berth_error_set(err, -r, "remove cgroup %s", cg->path);
        TRACE(t0, "cgroup %s removed", cg->path);
        return 0;
}

const struct cgroup_ops berth_cgroup_v2_ops = {
    .create = v2_create,
    .open = v2_open,
    .apply = berth_cgroup_v2_apply,
    .attach = v2_attach,
    .kill = v2_kill,
    .freeze = v2_freeze,
    .is_frozen = v2_is_frozen,
    .destroy = v2_destroy,
};
