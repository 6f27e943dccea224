/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The cgroup v1 driver, also used on hybrid hosts: the container's cgroup is the same path in
 * every v1 hierarchy and in a hybrid host's cgroup2 mount (where, if it delegates no controller,
 * only the placement is done: see cg_hier.bare).
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#include "cgroup/cgroup-internal.h"
#include "base/log.h"
#include "base/util.h"

static bool is_empty_value(const char *v)
{
        return v[strspn(v, " \n")] == '\0';
}

/*
 * A new v1 cpuset cgroup starts with no cpus and no mems, and refuses tasks until it has some
 * (ENOSPC on cgroup.procs): each cgroup on the container's path whose cpuset.cpus or cpuset.mems
 * is empty gets its parent's, top down, as runc's cpusetEnsureParent does. That includes
 * directories berth did not make (a pod's cgroup made empty by mkdir): an empty one can hold no
 * task, so no one's placement changes. `made`: dir is new, and known to be empty.
 */
static int cpuset_inherit(int parent, int dir, bool made, const char *path,
                          struct berth_error **err)
{
        static const char *const files[] = {"cpuset.cpus", "cpuset.mems"};

        for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
                _autofree_ char *own = NULL, *v = NULL;
                _autoclose_ int fd = -EBADF;

                if (!made && berth_read_file_at(dir, files[i], 4096, &own, NULL, NULL) >= 0 &&
                    !is_empty_value(own))
                        continue;
                if (berth_read_file_at(parent, files[i], 4096, &v, NULL, err) < 0)
                        return berth_error_prefix(err, "cgroup %s", path);
                fd = openat(dir, files[i], O_WRONLY | O_CLOEXEC);
                if (fd < 0 || write_all(fd, v, strlen(v)) < 0)
                        return berth_error_set(err, errno, "cgroup %s: inherit %s", path, files[i]);
        }
        return 0;
}

/* mkdir -p of cg->path in one hierarchy; returns an O_RDONLY fd of the leaf. */
static int make_path(const struct berth_cgroup *cg, const struct cg_hier *h, int *ret_fd,
                     struct berth_error **err)
{
        _autofree_ char *copy = xstrdup(cg->path);
        _autoclose_ int dir = open(h->mount, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        bool cpuset = !h->v2 && strstr(h->name, "cpuset");
        char *save = NULL;

        if (dir < 0)
                return berth_error_set(err, errno, "open cgroup hierarchy %s", h->mount);
        for (char *c = strtok_r(copy, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
                bool made = mkdirat(dir, c, 0755) == 0;
                int next;

                if (!made && errno != EEXIST)
                        return berth_error_set(err, errno, "create cgroup %s in %s", cg->path,
                                               h->mount);
                next = openat(dir, c, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (next < 0)
                        return berth_error_set(err, errno, "open cgroup %s in %s", cg->path,
                                               h->mount);
                if (cpuset && cpuset_inherit(dir, next, made, cg->path, err) < 0) {
                        close(next);
                        return -EIO;
                }
                close(dir);
                dir = next;
        }
        *ret_fd = steal_fd(&dir);
        return 0;
}

static int v1_create(struct berth_cgroup *cg, struct berth_error **err)
{
        uint64_t t0 = TRACE_T0();

        for (size_t i = 0; i < cg->n_h; i++) {
                int r = make_path(cg, &cg->h[i], &cg->h[i].fd, err);

                /* a concurrent delete may remove a shared parent between two mkdirs: retry */
                for (int tries = 0; r == -ENOENT && tries < 3; tries++)
                        r = make_path(cg, &cg->h[i], &cg->h[i].fd, err);
                if (r < 0)
                        return r;
        }
        TRACE(t0, "cgroup %s created in %zu hierarchies", cg->path, cg->n_h);
        return 0;
}

static int v1_open(struct berth_cgroup *cg, struct berth_error **err)
{
        size_t found = 0;

        for (size_t i = 0; i < cg->n_h; i++) {
                _autofree_ char *p = xasprintf("%s%s", cg->h[i].mount, cg->path);

                cg->h[i].fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                found += cg->h[i].fd >= 0;
        }
        if (found == 0)
                return berth_error_setx(err, ENOENT, "cgroup %s does not exist", cg->path);
        return 0;
}

static int v1_attach(struct berth_cgroup *cg, pid_t pid, struct berth_error **err)
{
        char text[32];

        snprintf(text, sizeof(text), "%d", (int) pid);
        for (size_t i = 0; i < cg->n_h; i++)
                if (cg->h[i].fd >= 0 &&
                    berth_cg_write(cg, &cg->h[i], "cgroup.procs", text, err) < 0)
                        return berth_error_prefix(err, "attach pid %d", (int) pid);
        return 0;
}

/* FROZEN by itself: a cgroup whose parent is frozen reads FROZEN too, but freezer.self_freezing
 * (Linux 3.11) says 0, and runc calls that thawed. */
static bool v1_is_frozen(struct berth_cgroup *cg)
{
        struct cg_hier *h = berth_cg_hier(cg, "freezer");
        _autofree_ char *state = NULL, *self = NULL;

        if (!h || berth_cg_read(cg, h, "freezer.state", &state, NULL) < 0 ||
            !startswith(state, "FROZEN"))
                return false;
        return berth_cg_read(cg, h, "freezer.self_freezing", &self, NULL) < 0 || self[0] != '0';
}

static int v1_freeze(struct berth_cgroup *cg, bool frozen, struct berth_error **err)
{
        struct cg_hier *h = berth_cg_hier(cg, "freezer");
        const char *want = frozen ? "FROZEN" : "THAWED";

        if (!h)
                return berth_error_setx(
                    err, ENOTSUP, "cgroup %s: the freezer controller is not mounted", cg->path);
        for (long waited = 0, step = 1; waited < 5000;
             waited += step, step = step < 64 ? step * 2 : step) {
                _autofree_ char *state = NULL;
                int r = berth_cg_write(cg, h, "freezer.state", want, err);

                if (r < 0)
                        return r;
                if (berth_cg_read(cg, h, "freezer.state", &state, err) < 0)
                        return -EIO;
                if (startswith(state, want))
                        return 0;
                berth_cg_sleep_ms(step);
        }
        return berth_error_setx(err, ETIMEDOUT, "cgroup %s: still not %s after 5 s", cg->path,
                                want);
}

/* SIGKILL goes to a frozen cgroup, so nothing forks away between the read of cgroup.procs and
 * the kill; the tasks die once thawed, so a cgroup that was paused before is thawed too. An empty
 * cgroup (delete after the container exited) is left alone: freezing costs ~1.5 ms each way. */
static int v1_kill(struct berth_cgroup *cg, int sig, struct berth_error **err)
{
        bool freeze = sig == SIGKILL && berth_cg_hier(cg, "freezer");
        _autofree_ pid_t *pids = NULL;
        size_t n = 0;
        int r;

        r = berth_cgroup_pids(cg, &pids, &n, err);
        if (r < 0 || n == 0)
                return r;
        if (freeze && v1_freeze(cg, true, NULL) == 0) {
                free(pids);
                pids = NULL;
                r = berth_cgroup_pids(cg, &pids, &n, err); /* what is left, now frozen */
        } else {
                freeze = false;
        }
        for (size_t i = 0; r >= 0 && i < n; i++)
                kill(pids[i], sig);
        if (freeze)
                v1_freeze(cg, false, NULL);
        return r;
}

/* rmdir, waiting for dying tasks to leave: they leave at exit, before being reaped. */
static int remove_dir(const char *path, struct berth_error **err)
{
        for (long waited = 0, step = 1; rmdir(path) < 0;
             waited += step, step = step < 64 ? step * 2 : step) {
                if (errno == ENOENT)
                        return 0;
                if (errno != EBUSY || waited >= 5000)
                        return berth_error_set(err, errno, "remove cgroup %s", path);
                berth_cg_sleep_ms(step);
        }
        return 0;
}

/*
 * Removes path after its sub-cgroups, depth first, as runc's RemovePath: `exec --cgroup` runs
 * processes in sub-cgroups that someone made inside the container's cgroup, and rmdir refuses a
 * cgroup with children. A child that cannot go makes the last rmdir fail, which says enough.
 */
static int remove_tree(const char *path, int depth, struct berth_error **err)
{
        DIR *d;
        struct dirent *e;

        if (rmdir(path) == 0 || errno == ENOENT)
                return 0;
        if (depth < 32 && (d = opendir(path))) {
                while ((e = readdir(d)))
                        if (e->d_type == DT_DIR && !streq(e->d_name, ".") &&
                            !streq(e->d_name, "..")) {
                                _autofree_ char *sub = xasprintf("%s/%s", path, e->d_name);

                                remove_tree(sub, depth + 1, NULL);
                        }
                closedir(d);
        }
        return remove_dir(path, err);
}

/* Lowers the realtime time of the cgroup at dir to what its children hold. */
static void shrink_rt(int dir)
{
        int64_t have, period, need;
        char buf[24];

        if (berth_cg_read_i64_at(dir, "cpu.rt_period_us", &period) < 0 || period <= 0 ||
            (have = berth_cg_rt_share(dir, period)) <= 0)
                return;
        need = berth_cg_rt_children(dir, period, NULL);
        if (need >= have)
                return;
        snprintf(buf, sizeof(buf), "%" PRId64, need);
        /* a removed child counts until the kernel releases it (after an RCU grace period) */
        for (long waited = 0, step = 1; waited < 500; waited += step, step *= 2) {
                _autoclose_ int fd = openat(dir, "cpu.rt_runtime_us", O_WRONLY | O_CLOEXEC);

                if (fd < 0 || write_all(fd, buf, strlen(buf)) == 0 || errno != EINVAL)
                        return;
                berth_cg_sleep_ms(step);
        }
}

/*
 * Gives back the realtime time a container's ancestors were given for it (cgroup-v1-apply.c,
 * raise_parent_rt), bottom up: each keeps what its remaining children hold, so that /berth, which
 * stays between containers, does not sit on the host's realtime budget (runc's and crun's
 * cgroups, right below the root, could get none). Best effort: the container is gone already.
 */
static void release_parent_rt(const struct berth_cgroup *cg, const char *cpu_mount)
{
        _autofree_ char *path = xstrdup(cg->path);
        char *slash;

        while ((slash = strrchr(path, '/')) && slash != path) {
                _autofree_ char *dir_path = NULL;
                _autoclose_ int dir = -EBADF;

                *slash = '\0';
                dir_path = xasprintf("%s%s", cpu_mount, path);
                dir = open(dir_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (dir >= 0)
                        shrink_rt(dir);
        }
}

/* The container's cgroup gives up its realtime time before it goes: a removed cgroup keeps
 * counting against its parent until the kernel releases it, long after rmdir when a zombie of it
 * is still to be reaped, and the parent could not shrink meanwhile. */
static void drop_own_rt(const struct cg_hier *cpu)
{
        int64_t runtime = 0;
        _autoclose_ int fd = -EBADF;

        if (!cpu || berth_cg_read_i64_at(cpu->fd, "cpu.rt_runtime_us", &runtime) < 0 ||
            runtime <= 0)
                return;
        fd = openat(cpu->fd, "cpu.rt_runtime_us", O_WRONLY | O_CLOEXEC);
        if (fd >= 0)
                (void) write_all(fd, "0", 1);
}

static int v1_destroy(struct berth_cgroup *cg, struct berth_error **err)
{
        struct cg_hier *cpu = berth_cg_hier(cg, "cpu"); /* before the fds close */
        _autofree_ char *cpu_mount = cpu ? xstrdup(cpu->mount) : NULL;
        uint64_t t0 = TRACE_T0();
        int r = 0;

        drop_own_rt(cpu);
        for (size_t i = 0; i < cg->n_h; i++) {
                _autofree_ char *leaf = xasprintf("%s%s", cg->h[i].mount, cg->path);

                closep(&cg->h[i].fd);
                /* Parents stay, as with runc and crun: making the cpuset parent again costs
                 * ~2 ms of the kernel rebuilding its scheduling domains on every start. */
                if (remove_tree(leaf, 0, r < 0 ? NULL : err) < 0)
                        r = -EBUSY;
        }
        if (r >= 0 && cpu_mount)
                release_parent_rt(cg, cpu_mount);
        TRACE(t0, "cgroup %s removed", cg->path);
        return r;
}

const struct cgroup_ops berth_cgroup_v1_ops = {
    .create = v1_create,
    .open = v1_open,
    .apply = berth_cgroup_v1_apply,
    .attach = v1_attach,
    .kill = v1_kill,
    .freeze = v1_freeze,
    .is_frozen = v1_is_frozen,
    .destroy = v1_destroy,
};
