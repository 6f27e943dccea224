/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "cgroup/cgroup.h"
#include "runtime/hooks.h"
#include "cgroup/oom.h"
#include "runtime/init.h"
#include "base/log.h"
#include "runtime/state.h"
#include "runtime/sync.h"
#include "base/syscalls.h"
#include "runtime/terminal.h"
#include "base/json.h"
#include "base/util.h"

const char *berth_status_name(enum berth_status s)
{
        static const char *const names[] = {"creating", "created", "running", "paused", "stopped"};

        return (unsigned) s < ARRAY_SIZE(names) ? names[s] : "unknown";
}

const char *berth_container_status_name(const struct berth_container *c)
{
        return c->state_error ? "unknown" : berth_status_name(c->status);
}

static struct berth_container *container_new(const char *root, const char *id)
{
        struct berth_container *c = xcalloc(1, sizeof(*c));

        c->root = xstrdup(root);
        c->id = xstrdup(id);
        c->pidfd = c->pty_master = c->dirfd = -1;
        return c;
}

void berth_container_free(struct berth_container *c)
{
        if (!c)
                return;
        free(c->root);
        free(c->id);
        free(c->oci_version);
        free(c->bundle);
        free(c->rootfs);
        free(c->created);
        free(c->owner);
        free(c->cgroup_path);
        free(c->state_error);
        berth_kv_free(c->annotations, c->n_annotations);
        berth_hook_list_clear(&c->poststart);
        berth_hook_list_clear(&c->poststop);
        closep(&c->pidfd);
        closep(&c->pty_master);
        closep(&c->dirfd);
        free(c);
}

static json_t *state_object(const struct berth_container *c, const char *status, pid_t pid)
{
        json_t *o = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s}", "ociVersion",
                              c->oci_version ? c->oci_version : "1.2.0", "id", c->id, "pid",
                              (int) pid, "status", status, "bundle", c->bundle ? c->bundle : "",
                              "rootfs", c->rootfs ? c->rootfs : "", "created",
                              c->created ? c->created : "", "owner", c->owner ? c->owner : "");

        json_object_set_new(o, "annotations", berth_json_kv(c->annotations, c->n_annotations));
        if (c->oom_killed) /* berth's own field: clients ignore what they do not know */
                json_object_set_new(o, "oomKilled", json_true());
        return o;
}

char *berth_hook_state_json(const struct berth_container *c, const char *status, pid_t pid)
{
        json_t *o = state_object(c, status, pid);
        char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);

        json_decref(o);
        return s;
}

char *berth_container_state_json(const struct berth_container *c)
{
        pid_t pid = c->status == BERTH_STATUS_STOPPED ? 0 : c->pid;
        json_t *o = state_object(c, berth_status_name(c->status), pid);
        char *s = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

        json_decref(o);
        return s;
}

/* ---- load ----------------------------------------------------------------------------------- */

void berth_container_observe(struct berth_container *c)
{
        _autocgroup_ struct berth_cgroup *cg = NULL;
        uint64_t kills = 0;

        if (!c->cgroup_path || berth_cgroup_open(c->cgroup_path, c->id, &cg, NULL) < 0)
                return;
        if ((c->status == BERTH_STATUS_RUNNING || c->status == BERTH_STATUS_CREATED) &&
            berth_cgroup_is_frozen(cg))
                c->status = BERTH_STATUS_PAUSED;
        c->oom_killed = berth_oom_kills(cg, &kills, NULL) == 0 && kills > 0;
}

/* The process of the container's cgroup that started first: its init, when nothing recorded
 * which one it is. Leaves c alone if the cgroup has none. */
static void guess_init(struct berth_container *c)
{
        _autocgroup_ struct berth_cgroup *cg = NULL;
        _autofree_ pid_t *pids = NULL;
        unsigned long long start, first = ULLONG_MAX;
        size_t n = 0;
        bool zombie;

        if (!c->cgroup_path || berth_cgroup_open(c->cgroup_path, c->id, &cg, NULL) < 0 ||
            berth_cgroup_pids(cg, &pids, &n, NULL) < 0)
                return;
        for (size_t i = 0; i < n; i++)
                if (berth_proc_starttime(pids[i], &start, &zombie) == 0 && !zombie &&
                    start < first) {
                        first = start;
                        c->pid = pids[i];
                        c->pid_start = start;
                }
}

/* A container whose state.json is damaged: only what the recovery record says, or what can be
 * found again (see berth_container_load_any). Takes over c's dirfd. */
static struct berth_container *salvage(struct berth_container *c, const char *why)
{
        struct berth_container *s = container_new(c->root, c->id);

        s->dirfd = steal_fd(&c->dirfd);
        s->state_error = xstrdup(why);
        berth_container_free(c);
        if (berth_state_read_recovery(s) < 0 || !s->cgroup_path) {
                free(s->cgroup_path);
                s->cgroup_path = NULL;
                (void) berth_cgroup_resolve_path(NULL, s->id, &s->cgroup_path, NULL);
        }
        if (s->pid <= 0)
                guess_init(s);
        return s;
}

static int load(const char *root, const char *id, bool any, struct berth_container **ret,
                struct berth_error **err)
{
        struct berth_container *c;
        _autoclose_ int rootfd = -EBADF;
        _autoerr_ struct berth_error *e = NULL;
        int r;

        r = berth_id_validate(id, err);
        if (r < 0)
                return r;
        c = container_new(root, id);
        rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd >= 0)
                c->dirfd = openat(rootfd, id, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (c->dirfd < 0) {
                r = errno == ENOENT
                        ? berth_error_setx(err, ENOENT, "container \"%s\" does not exist", id)
                        : berth_error_set(err, errno, "open state of \"%s\" in %s", id, root);
                berth_container_free(c);
                return r;
        }
        r = berth_state_read(c, any ? &e : err);
        if (r == -EBADMSG && any) {
                c = salvage(c, e->msg);
                r = 0;
        }
        if (r < 0) {
                if (any)
                        r = berth_error_setx(err, -r, "%s", e->msg);
                berth_container_free(c);
                return r;
        }
        berth_state_refresh(c);
        *ret = c;
        return 0;
}

int berth_container_load(const char *root, const char *id, struct berth_container **ret,
                         struct berth_error **err)
{
        return load(root, id, false, ret, err);
}

int berth_container_load_any(const char *root, const char *id, struct berth_container **ret,
                             struct berth_error **err)
{
        return load(root, id, true, ret, err);
}

int berth_container_list(const char *root, struct berth_container ***ret, size_t *ret_n,
                         struct berth_error **err)
{
        struct berth_container **v = NULL;
        struct dirent **names = NULL;
        size_t n = 0;
        int count = scandir(root, &names, NULL, alphasort);

        if (count < 0) {
                if (errno != ENOENT)
                        return berth_error_set(err, errno, "list %s", root);
                count = 0;
        }
        for (int i = 0; i < count; i++) {
                _autoerr_ struct berth_error *e = NULL;
                struct berth_container *c;

                if (names[i]->d_name[0] != '.' && names[i]->d_type == DT_DIR) {
                        if (berth_container_load_any(root, names[i]->d_name, &c, &e) < 0) {
                                berth_warn("%s, skipping", e->msg);
                        } else {
                                if (c->state_error)
                                        berth_warn("%s", c->state_error);
                                berth_container_observe(c);
                                v = xreallocarray(v, n + 1, sizeof(*v));
                                v[n++] = c;
                        }
                }
                free(names[i]);
        }
        free(names);
        *ret = v;
        *ret_n = n;
        return 0;
}

/* ---- signals and waiting -------------------------------------------------------------------- */

/* A pidfd for the init that is certain to be the init (not a reused pid). */
int berth_container_pidfd(struct berth_container *c, struct berth_error **err)
{
        unsigned long long start;
        int fd;

        if (c->pidfd >= 0)
                return c->pidfd;
        fd = sys_pidfd_open(c->pid, 0);
        if (fd < 0 || berth_proc_starttime(c->pid, &start, NULL) < 0 || start != c->pid_start) {
                if (fd >= 0)
                        close(fd);
                c->status = BERTH_STATUS_STOPPED;
                return berth_error_setx(err, ESRCH, "container \"%s\" is not running", c->id);
        }
        c->pidfd = fd;
        return fd;
}

static bool same_pid_ns(pid_t pid, const struct stat *ns)
{
        char path[64];
        struct stat st;

        snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int) pid);
        return stat(path, &st) == 0 && st.st_ino == ns->st_ino && st.st_dev == ns->st_dev;
}

/* Every process in the init's pid namespace, when it has one of its own. */
static void kill_pid_ns(struct berth_container *c, int sig)
{
        char path[64];
        struct stat ns, self;
        DIR *d;
        struct dirent *de;

        snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int) c->pid);
        if (stat(path, &ns) < 0 || stat("/proc/self/ns/pid", &self) < 0 || ns.st_ino == self.st_ino)
                return;
        d = opendir("/proc");
        if (!d)
                return;
        while ((de = readdir(d))) {
                pid_t pid = (pid_t) atoi(de->d_name);

                if (pid > 0 && pid != c->pid && same_pid_ns(pid, &ns))
                        kill(pid, sig);
        }
        closedir(d);
}

/* Every process in the container's cgroup; false if it has none to use. */
static bool kill_cgroup(const struct berth_container *c, int sig)
{
        _autocgroup_ struct berth_cgroup *cg = NULL;

        if (!c->cgroup_path || berth_cgroup_open(c->cgroup_path, c->id, &cg, NULL) < 0)
                return false;
        return berth_cgroup_kill(cg, sig, NULL) >= 0;
}

static int kill_running(struct berth_container *c, int sig, bool all, struct berth_error **err)
{
        int fd;

        fd = berth_container_pidfd(c, err);
        if (fd < 0)
                return fd;
        /* the init is in its cgroup: signalled there once, not again through its pidfd */
        if (all && kill_cgroup(c, sig))
                return 0;
        if (all)
                kill_pid_ns(c, sig);
        if (sys_pidfd_send_signal(fd, sig, NULL, 0) < 0 && errno != ESRCH)
                return berth_error_set(err, errno, "kill container \"%s\" (pid %d) with signal %d",
                                       c->id, (int) c->pid, sig);
        return 0;
}

int berth_container_kill(struct berth_container *c, int sig, bool all, struct berth_error **err)
{
        _autoerr_ struct berth_error *e = NULL;
        int r;

        r = c->status == BERTH_STATUS_STOPPED
                ? berth_error_setx(&e, ESRCH, "container \"%s\" is not running", c->id)
                : kill_running(c, sig, all, &e);
        /* runc's --all succeeds on a stopped container, signalling what is left in its cgroup:
         * after a KILL the init is gone before the rest of its processes (runc's kill.bats). */
        if (r == -ESRCH && all) {
                kill_cgroup(c, sig);
                return 0;
        }
        if (r < 0 && err) {
                berth_error_free(*err);
                *err = steal_ptr(&e);
        }
        return r;
}

/* Waits until the init has exited (its pidfd polls readable), at most timeout_ms. */
static int wait_exited(struct berth_container *c, int timeout_ms)
{
        struct pollfd p = {.fd = c->pidfd, .events = POLLIN};
        int r;

        if (c->pidfd < 0)
                return 0;
        do
                r = poll(&p, 1, timeout_ms);
        while (r < 0 && errno == EINTR);
        return r > 0 ? 0 : -ETIMEDOUT;
}

int berth_container_wait(struct berth_container *c, int *ret_status, struct berth_error **err)
{
        int status;

        while (waitpid(c->pid, &status, 0) < 0)
                if (errno != EINTR)
                        return berth_error_set(err, errno, "wait for container \"%s\" (pid %d)",
                                               c->id, (int) c->pid);
        c->status = BERTH_STATUS_STOPPED;
        *ret_status = status;
        return 0;
}

/* ---- start and delete ----------------------------------------------------------------------- */

static void run_warn_hooks(const struct berth_container *c, int kind,
                           const struct berth_hook_list *l, const char *status)
{
        _autoerr_ struct berth_error *e = NULL;
        _autofree_ char *state = NULL;

        if (l->n == 0)
                return;
        state = berth_hook_state_json(c, status, c->pid);
        if (berth_hooks_run(kind, l, state, c->bundle, &e) < 0)
                berth_warn("%s, continuing", e->msg);
}

static int wait_exited(struct berth_container *c, int timeout_ms);

/* What the init answers on exec.status once released: EOF when its execve closed its end (or it
 * died: the status then says so), else the error that stopped it (a startContainer hook, the
 * program). A container made by an older berth has no exec.status: nothing to wait for. */
static int wait_for_exec(struct berth_container *c, int status, struct berth_error **err)
{
        struct pollfd p = {.fd = status, .events = POLLIN};
        char msg[PIPE_BUF];
        size_t n = 0;
        ssize_t k;

        if (status < 0)
                return 0;
        while (n < sizeof(msg) - 1) {
                k = read(status, msg + n, sizeof(msg) - 1 - n);
                if (k > 0)
                        n += (size_t) k;
                else if (k == 0)
                        break; /* no writer left */
                else if (errno == EAGAIN)
                        (void) poll(&p, 1, -1);
                else if (errno != EINTR)
                        return berth_error_set(err, errno, "read %s of \"%s\"", BERTH_EXEC_STATUS,
                                               c->id);
        }
        unlinkat(c->dirfd, BERTH_EXEC_STATUS, 0);
        if (n == 0)
                return 0;
        msg[n] = '\0';
        /* the init exits right after it says why: `state` must then show it stopped */
        wait_exited(c, 5000);
        return berth_error_setx(err, EIO, "container \"%s\": %s", c->id, msg);
}

/* Writes the byte the init waits for on the exec fifo (which it holds open read-write, so the
 * open cannot block: ENXIO, no reader, means the init is gone), then waits for its answer. */
static int release_init(struct berth_container *c, struct berth_error **err)
{
        _autoclose_ int fifo = openat(c->dirfd, BERTH_EXEC_FIFO, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        _autoclose_ int status =
            openat(c->dirfd, BERTH_EXEC_STATUS, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        uint64_t t0 = TRACE_T0();
        int r;

        if (fifo < 0 && errno == ENXIO)
                return berth_error_setx(err, ESRCH,
                                        "container \"%s\": the init exited before start", c->id);
        if (fifo < 0)
                return berth_error_set(err, errno, "open exec fifo of \"%s\"", c->id);
        if (write(fifo, "1", 1) != 1)
                return berth_error_set(err, errno, "write exec fifo of \"%s\"", c->id);
        unlinkat(c->dirfd, BERTH_EXEC_FIFO, 0);
        TRACE(t0, "start: exec fifo released");
        t0 = TRACE_T0();
        r = wait_for_exec(c, status, err);
        TRACE(t0, "start: the init has %s", r < 0 ? "failed" : "exec'd the program");
        return r;
}

static int start_locked(struct berth_container *c, struct berth_error **err)
{
        int r;

        berth_state_refresh(c);
        if (c->status != BERTH_STATUS_CREATED)
                return berth_error_setx(err, EINVAL,
                                        "container \"%s\" is %s, not created: cannot start it",
                                        c->id, berth_status_name(c->status));
        r = berth_container_pidfd(c, err);
        if (r >= 0)
                r = release_init(c, err);
        if (r < 0)
                return r;
        c->status = BERTH_STATUS_RUNNING;
        run_warn_hooks(c, BERTH_HOOK_POSTSTART, &c->poststart, "running");
        return 0;
}

/* The state lock covers the start itself, not the container's life: a foreground `run` keeps c
 * until the container exits, and `delete --force` from elsewhere must not wait for that. */
int berth_container_start(struct berth_container *c, struct berth_error **err)
{
        int r;

        r = berth_state_lock(c, err);
        if (r < 0)
                return r;
        r = start_locked(c, err);
        berth_state_unlock(c);
        return r;
}

/* Kills what is left in the container's cgroup (processes that outlived the init when it had no
 * pid namespace of its own) and removes it. */
static int remove_cgroup(const struct berth_container *c, struct berth_error **err)
{
        _autocgroup_ struct berth_cgroup *cg = NULL;
        int r;

        if (!c->cgroup_path)
                return 0;
        r = berth_cgroup_open(c->cgroup_path, c->id, &cg, NULL);
        if (r == -ENOENT)
                return 0;
        if (r < 0)
                return berth_cgroup_open(c->cgroup_path, c->id, &cg, err);
        berth_cgroup_kill(cg, SIGKILL, NULL);
        return berth_cgroup_destroy(cg, err);
}

int berth_container_delete(struct berth_container *c, bool force, struct berth_error **err)
{
        _autoclose_ int rootfd = -EBADF;
        int r;

        r = berth_state_lock(c, err);
        if (r < 0)
                return r;
        berth_state_refresh(c);
        if (c->status != BERTH_STATUS_STOPPED) {
                if (!force) {
                        berth_container_observe(c); /* say "paused" rather than "running" */
                        return berth_error_setx(
                            err, EBUSY, "container \"%s\" is %s: stop it first or use --force",
                            c->id, berth_status_name(c->status));
                }
                if (berth_container_kill(c, SIGKILL, true, NULL) == 0 && wait_exited(c, 10000) < 0)
                        return berth_error_setx(
                            err, ETIMEDOUT,
                            "container \"%s\": init (pid %d) did not exit 10 s after SIGKILL",
                            c->id, (int) c->pid);
        }
        r = remove_cgroup(c, err);
        if (r < 0)
                return r;
        rootfd = open(c->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rootfd < 0)
                return berth_error_set(err, errno, "open state root %s", c->root);
        r = berth_state_dir_remove(rootfd, c->id, err);
        if (r < 0)
                return r;
        c->status = BERTH_STATUS_STOPPED;
        if (c->state_error)
                berth_warn("container \"%s\": its poststop hooks, if any, were in the damaged "
                           "state file: not run",
                           c->id);
        run_warn_hooks(c, BERTH_HOOK_POSTSTOP, &c->poststop, "stopped");
        return 0;
}

/* ---- cgroup operations ---------------------------------------------------------------------- */

int berth_container_cgroup(const struct berth_container *c, struct berth_cgroup **ret,
                           struct berth_error **err)
{
        if (!c->cgroup_path)
                return berth_error_setx(err, ENOENT, "container \"%s\" has no cgroup", c->id);
        if (berth_cgroup_open(c->cgroup_path, c->id, ret, err) < 0)
                return berth_error_prefix(err, "container \"%s\"", c->id);
        return 0;
}

static int set_frozen_locked(struct berth_container *c, bool frozen, struct berth_error **err)
{
        _autocgroup_ struct berth_cgroup *cg = NULL;
        int r;

        berth_state_refresh(c);
        berth_container_observe(c);
        if (frozen && c->status != BERTH_STATUS_RUNNING && c->status != BERTH_STATUS_CREATED)
                return berth_error_setx(err, EINVAL,
                                        "container \"%s\" is %s, not running: cannot pause it",
                                        c->id, berth_status_name(c->status));
        if (!frozen && c->status != BERTH_STATUS_PAUSED)
                return berth_error_setx(err, EINVAL,
                                        "container \"%s\" is %s, not paused: cannot resume it",
                                        c->id, berth_status_name(c->status));
        r = berth_container_cgroup(c, &cg, err);
        if (r >= 0)
                r = berth_cgroup_freeze(cg, frozen, err);
        if (r < 0)
                return r;
        if (frozen)
                c->status = BERTH_STATUS_PAUSED;
        else
                berth_state_refresh(c); /* created or running again */
        return 0;
}

/* Under the state lock, let go at once (as start): an engine holds c while it waits for the
 * container's end, and whoever records that end takes the lock. */
static int set_frozen(struct berth_container *c, bool frozen, struct berth_error **err)
{
        int r = berth_state_lock(c, err);

        if (r < 0)
                return r;
        r = set_frozen_locked(c, frozen, err);
        berth_state_unlock(c);
        return r;
}

int berth_container_pause(struct berth_container *c, struct berth_error **err)
{
        return set_frozen(c, true, err);
}

int berth_container_resume(struct berth_container *c, struct berth_error **err)
{
        return set_frozen(c, false, err);
}

static int cmp_pid(const void *a, const void *b)
{
        return *(const pid_t *) a - *(const pid_t *) b;
}

int berth_container_pids(struct berth_container *c, pid_t **ret, size_t *ret_n,
                         struct berth_error **err)
{
        _autocgroup_ struct berth_cgroup *cg = NULL;
        int r;

        if (c->status == BERTH_STATUS_STOPPED) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        r = berth_container_cgroup(c, &cg, err);
        if (r >= 0)
                r = berth_cgroup_pids(cg, ret, ret_n, err);
        if (r >= 0)
                qsort(*ret, *ret_n, sizeof(pid_t), cmp_pid);
        return r;
}

int berth_container_update(struct berth_container *c, const struct berth_resources *r,
                           struct berth_error **err)
{
        _autocgroup_ struct berth_cgroup *cg = NULL;
        struct berth_resources update = *r;
        int rc;

        if (c->status == BERTH_STATUS_STOPPED)
                return berth_error_setx(err, EINVAL,
                                        "container \"%s\" is stopped: nothing to update", c->id);
        /* as runc: an update never rewrites the device rules (rewriting starts with deny-all,
         * which would take away what the config allowed) */
        update.skip_devices = true;
        if (r->n_devices > 0)
                berth_warn("devices: device rules cannot be updated, ignoring");
        rc = berth_container_cgroup(c, &cg, err);
        if (rc >= 0)
                rc = berth_cgroup_apply(cg, &update, err);
        return rc;
}
