/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include "caps.h"
#include "hooks.h"
#include "init.h"
#include "log.h"
#include "path.h"
#include "process.h"
#include "state.h"
#include "sync.h"
#include "syscalls.h"
#include "terminal.h"
#include "util.h"

/* Reports err to the parent (before ACK) or to the container's stderr (after), and exits. */
static void __attribute__((noreturn)) fail(struct init_ctx *ctx, struct berth_error *err, int status)
{
        const char *msg = err && err->msg ? err->msg : "container init failed";

        if (ctx->sync_fd >= 0) {
                sync_send(ctx->sync_fd, SYNC_ERROR, err ? err->code : EIO, msg, -1);
        } else {
                _autofree_ char *line = xasprintf("berth-oci: %s\n", msg);

                (void) !write(STDERR_FILENO, line, strlen(line));
        }
        _exit(status);
}

static int wait_for_go(struct init_ctx *ctx, pid_t *ret_host_pid, struct berth_error **err)
{
        struct sync_msg m;

        if (sync_recv(ctx->sync_fd, &m, NULL) < 0)
                _exit(1); /* the runtime is gone: nobody to report to */
        if (m.type != SYNC_GO)
                return berth_error_setx(err, EPROTO, "init: expected GO, got %u", m.type);
        *ret_host_pid = m.code;
        return 0;
}

static int make_time_ns(const struct berth_linux *lx, struct berth_error **err)
{
        char buf[128];
        int n = 0;
        uint64_t t0 = TRACE_T0();

        if (unshare(CLONE_NEWTIME) < 0)
                return berth_error_set(err, errno, "unshare(CLONE_NEWTIME)");
        if (lx->time_monotonic.set)
                n += snprintf(buf + n, sizeof(buf) - (size_t) n, "monotonic %lld %u\n",
                              (long long) lx->time_monotonic.secs, lx->time_monotonic.nanosecs);
        if (lx->time_boottime.set)
                n += snprintf(buf + n, sizeof(buf) - (size_t) n, "boottime %lld %u\n",
                              (long long) lx->time_boottime.secs, lx->time_boottime.nanosecs);
        /* The kernel takes one offset per write. */
        for (char *line = buf, *nl; n > 0 && (nl = strchr(line, '\n')); line = nl + 1) {
                *nl = '\0';
                if (berth_write_file("/proc/self/timens_offsets", line, err) < 0)
                        return berth_error_prefix(err, "linux.timeOffsets");
        }
        TRACE(t0, "unshare(CLONE_NEWTIME), offsets written");
        return 0;
}

/* Joins the namespaces given by path (user first, mount last) and makes the ones that must come
 * after the parent's setup: cgroup (once the init is in its own cgroup) and time (its offsets
 * must be written before any process is inside; the init enters it at execve). */
static int enter_namespaces(struct init_ctx *ctx, struct berth_error **err)
{
        static const enum berth_ns_type order[] = { BERTH_NS_USER, BERTH_NS_PID, BERTH_NS_NET,
                                                    BERTH_NS_IPC, BERTH_NS_UTS, BERTH_NS_CGROUP,
                                                    BERTH_NS_TIME, BERTH_NS_MNT };
        const struct berth_linux *lx = &ctx->spec->lx;
        int r;

        for (size_t i = 0; i < ARRAY_SIZE(order); i++) {
                r = berth_ns_join(&ctx->nsfds, order[i], err);
                if (r < 0)
                        return r;
        }
        if (lx->ns[BERTH_NS_CGROUP].enabled && !lx->ns[BERTH_NS_CGROUP].path &&
            unshare(CLONE_NEWCGROUP) < 0)
                return berth_error_set(err, errno, "unshare(CLONE_NEWCGROUP)");
        if (lx->ns[BERTH_NS_TIME].enabled && !lx->ns[BERTH_NS_TIME].path)
                return make_time_ns(lx, err);
        return 0;
}

static int set_names(const struct berth_spec *s, struct berth_error **err)
{
        if (s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0)
                return berth_error_set(err, errno, "hostname \"%s\": sethostname", s->hostname);
        if (s->domainname && setdomainname(s->domainname, strlen(s->domainname)) < 0)
                return berth_error_set(err, errno, "domainname \"%s\": setdomainname", s->domainname);
        return 0;
}

static int run_child_hooks(struct init_ctx *ctx, int kind, const char *status, pid_t host_pid,
                           struct berth_error **err)
{
        _autofree_ char *state = NULL;

        if (ctx->spec->hooks[kind].n == 0)
                return 0;
        state = berth_hook_state_json(ctx->c, status, host_pid);
        return berth_hooks_run(kind, &ctx->spec->hooks[kind], state, err);
}

/* Everything up to pivot_root: namespaces, names, sysctls, mounts, the create hooks. */
static int build_container(struct init_ctx *ctx, pid_t host_pid, struct berth_error **err)
{
        const struct berth_spec *s = ctx->spec;
        int r;

        r = enter_namespaces(ctx, err);
        if (r >= 0)
                r = set_names(s, err);
        if (r >= 0)
                r = berth_sysctl_apply(s, err);
        if (r >= 0)
                r = berth_rootfs_prepare(s, &ctx->rootfs, err);
        if (r < 0)
                return r;
        if (ctx->parent_hooks) {
                if (sync_send(ctx->sync_fd, SYNC_HOOKS, 0, NULL, -1) < 0)
                        _exit(1);
                r = sync_expect(ctx->sync_fd, SYNC_HOOKS_DONE, "createRuntime hooks", err);
                if (r < 0)
                        return r;
        }
        return run_child_hooks(ctx, BERTH_HOOK_CREATE_CONTAINER, "created", host_pid, err);
}

/* Binds the pty slave onto /dev/console, after pivot_root (the pty comes from the container's
 * own devpts, so its path is only meaningful inside). */
static int bind_console(const char *slave, struct berth_error **err)
{
        _autoclose_ int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
        _autoclose_ int fd = -EBADF;
        char buf[BERTH_FD_PATH_MAX];
        int r;

        r = berth_resolve_in_root(root, "/dev/console", BERTH_RESOLVE_MKFILE, &fd, err);
        if (r < 0)
                return berth_error_prefix(err, "create /dev/console");
        if (mount(slave, berth_fd_path(fd, buf), NULL, MS_BIND, NULL) < 0)
                return berth_error_set(err, errno, "bind %s on /dev/console", slave);
        return 0;
}

static void join_session_keyring(const struct init_ctx *ctx)
{
        _autofree_ char *name = NULL;

        if (ctx->opts->no_new_keyring)
                return;
        name = xasprintf("_ses.%s", ctx->c->id);
        if (sys_keyctl_join(name) < 0 && errno != ENOSYS)
                berth_warn("join a new session keyring: %s, continuing with the inherited one",
                           strerror(errno));
}

/* The process's own attributes: everything except what must wait for start. */
static int setup_process(struct init_ctx *ctx, struct berth_error **err)
{
        join_session_keyring(ctx);
        if (ctx->spec->lx.has_personality) {
                int r = berth_process_set_personality(ctx->spec->lx.personality, err);

                if (r < 0)
                        return r;
        }
        return berth_process_apply(&ctx->spec->process, ctx->seccomp, err);
}

/* Blocks until `start` opens the fifo for reading, then tells it we are going. */
static int wait_for_start(struct init_ctx *ctx, struct berth_error **err)
{
        _autoclose_ int fd = -EBADF;

        do
                fd = openat(ctx->state_dirfd, BERTH_EXEC_FIFO, O_WRONLY | O_CLOEXEC);
        while (fd < 0 && errno == EINTR);
        if (fd < 0)
                return berth_error_set(err, errno, "open exec fifo");
        close(ctx->state_dirfd);
        ctx->state_dirfd = -1;
        if (write(fd, "0", 1) != 1)
                return berth_error_set(err, errno, "write exec fifo");
        return 0;
}

static void __attribute__((noreturn)) exec_program(struct init_ctx *ctx, const char *path)
{
        const struct berth_process *p = &ctx->spec->process;
        _autoerr_ struct berth_error *err = NULL;
        /* Trace first: once the filter is in, even the trace's write may be denied. */
        TRACE(berth_now_us(), "execve %s", path);
        berth_process_reset_signals();
        if (ctx->seccomp && p->no_new_privileges && berth_seccomp_load(ctx->seccomp, &err) < 0)
                fail(ctx, err, 1);
        execve(path, p->args, ctx->env);
        berth_error_set(&err, errno, "exec \"%s\"", p->args[0]);
        fail(ctx, err, errno == ENOENT ? 127 : 126);
}

static int finish_create(struct init_ctx *ctx, char **ret_path, struct berth_error **err)
{
        int r;

        r = berth_rootfs_pivot(ctx->spec, &ctx->rootfs, err);
        if (r >= 0)
                r = berth_pty_setup(&ctx->spec->process, bind_console, &ctx->console_fd,
                                    ctx->sync_fd, err);
        if (r >= 0)
                r = berth_rootfs_finalize(ctx->spec, &ctx->rootfs, err);
        if (r >= 0) {
                ctx->env = berth_process_env(&ctx->spec->process);
                r = setup_process(ctx, err);
        }
        if (r >= 0)
                r = berth_process_find_exec(&ctx->spec->process, ret_path, err);
        return r;
}

void berth_init_main(struct init_ctx *ctx)
{
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *path = NULL;
        pid_t host_pid;
        int r;

        /* Die with `create` until it has recorded us; a parent that died before this line is
         * seen as EOF on the handshake. */
        close(ctx->parent_sync_fd);
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
                _exit(1);
        r = wait_for_go(ctx, &host_pid, &err);
        /* The parent has written our id maps: become root of the user namespace. */
        if (r >= 0 && ctx->spec->lx.ns[BERTH_NS_USER].enabled &&
             (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
                r = berth_error_set(&err, errno, "become root in the new user namespace (setresuid)");
        if (r >= 0)
                r = build_container(ctx, host_pid, &err);
        if (r >= 0)
                r = finish_create(ctx, &path, &err);
        if (r < 0)
                fail(ctx, err, 1);
        if (ctx->opts->preserve_fds >= 0)
                sys_close_range(3u + (unsigned) ctx->opts->preserve_fds, ~0u, CLOSE_RANGE_CLOEXEC);
        if (sync_send(ctx->sync_fd, SYNC_CREATED, 0, NULL, -1) < 0 ||
            sync_expect(ctx->sync_fd, SYNC_ACK, "create", NULL) < 0)
                _exit(1);
        prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
        sync_send(ctx->sync_fd, SYNC_DETACHED, 0, NULL, -1);
        close(ctx->sync_fd);
        ctx->sync_fd = -1;
        if (wait_for_start(ctx, &err) < 0)
                fail(ctx, err, 1);
        if (run_child_hooks(ctx, BERTH_HOOK_START_CONTAINER, "created", host_pid, &err) < 0)
                fail(ctx, err, 1);
        exec_program(ctx, path);
}
