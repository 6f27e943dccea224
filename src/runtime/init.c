/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include "runtime/caps.h"
#include "runtime/hooks.h"
#include "runtime/init.h"
#include "base/log.h"
#include "base/path.h"
#include "runtime/process.h"
#include "runtime/state.h"
#include "runtime/sync.h"
#include "base/syscalls.h"
#include "runtime/terminal.h"
#include "base/util.h"

/* Reports err to the parent (before ACK), to `start` (after: exec.status), or else to the
 * container's stderr, and exits. */
static void __attribute__((noreturn))
fail(struct init_ctx *ctx, struct berth_error *err, int status)
{
        const char *msg = err && err->msg ? err->msg : "container init failed";

        if (ctx->sync_fd >= 0) {
                sync_send(ctx->sync_fd, SYNC_ERROR, err ? err->code : EIO, msg, -1);
        } else if (ctx->status_fd >= 0) {
                (void) !write(ctx->status_fd, msg, strnlen(msg, PIPE_BUF - 1));
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

/*
 * A new time namespace is made first, before GO: its offsets must be written before any process
 * is inside it (the init enters it at execve), and the runtime writes them (/proc/PID/
 * timens_offsets), since the file of a non-dumpable process is out of the init's own reach in a
 * user namespace. A user namespace given by path is joined before, so that it owns the new one.
 */
static int make_time_ns(struct init_ctx *ctx, struct berth_error **err)
{
        const struct berth_namespace *t = &ctx->spec->lx.ns[BERTH_NS_TIME];
        uint64_t t0 = TRACE_T0();
        int r;

        if (!t->enabled || t->path)
                return 0;
        r = berth_ns_join(&ctx->nsfds, BERTH_NS_USER, err);
        if (r < 0)
                return r;
        if (unshare(CLONE_NEWTIME) < 0)
                return berth_error_set(err, errno, "unshare(CLONE_NEWTIME)");
        TRACE(t0, "unshare(CLONE_NEWTIME)");
        if (sync_send(ctx->sync_fd, SYNC_TIMENS, 0, NULL, -1) < 0)
                _exit(1);
        return 0;
}

/* Joins the namespaces given by path (user first, mount last) and makes the cgroup namespace,
 * which must come after the parent's setup (once the init is in its own cgroup). */
static int enter_namespaces(struct init_ctx *ctx, struct berth_error **err)
{
        static const enum berth_ns_type order[] = {BERTH_NS_USER, BERTH_NS_PID, BERTH_NS_NET,
                                                   BERTH_NS_IPC,  BERTH_NS_UTS, BERTH_NS_CGROUP,
                                                   BERTH_NS_TIME, BERTH_NS_MNT};
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
        return 0;
}

static int set_names(const struct berth_spec *s, struct berth_error **err)
{
        if (s->hostname && sethostname(s->hostname, strlen(s->hostname)) < 0)
                return berth_error_set(err, errno, "hostname \"%s\": sethostname", s->hostname);
        if (s->domainname && setdomainname(s->domainname, strlen(s->domainname)) < 0)
                return berth_error_set(err, errno, "domainname \"%s\": setdomainname",
                                       s->domainname);
        return 0;
}

/* As runc: createContainer hooks start in the rootfs (not yet the root: the mounts are there,
 * pivot_root is next), startContainer hooks in process.cwd, where the init already is. */
static int run_child_hooks(struct init_ctx *ctx, int kind, const char *status, pid_t host_pid,
                           struct berth_error **err)
{
        const char *cwd = kind == BERTH_HOOK_CREATE_CONTAINER ? ctx->rootfs.rootfs : NULL;
        _autofree_ char *state = NULL;

        if (ctx->spec->hooks[kind].n == 0)
                return 0;
        state = berth_hook_state_json(ctx->c, status, host_pid);
        return berth_hooks_run(kind, &ctx->spec->hooks[kind], state, cwd, err);
}

/* rootfs.h's host_source: the runtime clones a bind source we may not open (sync.h). */
static int request_host_source(void *data, size_t i, int *ret_tree, struct berth_error **err)
{
        struct init_ctx *ctx = data;
        struct sync_msg m;
        int fd = -1;

        if (sync_send(ctx->sync_fd, SYNC_MOUNT_SOURCE, (int32_t) i, NULL, -1) < 0 ||
            sync_recv(ctx->sync_fd, &m, &fd) < 0)
                _exit(1);
        if (m.type == SYNC_ERROR)
                return berth_error_setx(err, m.code, "%s", m.text);
        if (m.type != SYNC_MOUNT_SOURCE || fd < 0)
                return berth_error_setx(err, EPROTO, "mounts[%zu]: no source from the runtime", i);
        *ret_tree = fd;
        return 0;
}

/* Everything up to pivot_root: namespaces, names, sysctls, mounts, the create hooks. */
static int build_container(struct init_ctx *ctx, pid_t host_pid, struct berth_error **err)
{
        const struct berth_spec *s = ctx->spec;
        int r;

        berth_log(BERTH_LOG_DEBUG, "init: child process in init()");
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
        int r;

        join_session_keyring(ctx);
        if (ctx->spec->lx.has_personality) {
                r = berth_process_set_personality(ctx->spec->lx.personality, err);
                if (r < 0)
                        return r;
        }
        r = berth_process_setup(&ctx->spec->process, ctx->seccomp, err);
        if (r >= 0)
                r = berth_process_find_exec(&ctx->spec->process, &ctx->path, err);
        return r;
}

/* Blocks until `start` writes its byte into the exec fifo, which the init holds open read-write
 * (so the open never blocks and needs no path inside the container). */
static int wait_for_start(struct init_ctx *ctx, struct berth_error **err)
{
        ssize_t n;
        char b;

        do
                n = read(ctx->fifo_fd, &b, 1);
        while (n < 0 && errno == EINTR);
        if (n != 1)
                return berth_error_set(err, n < 0 ? errno : EPIPE, "wait on the exec fifo");
        closep(&ctx->fifo_fd);
        return 0;
}

/* startContainer hooks run under the seccomp filter, as runc's and crun's do (runc's seccomp.bats
 * "startContainer hook": a syscall the profile kills kills the hook): with such hooks the filter
 * is loaded before them, else just before execve. */
static void __attribute__((noreturn)) exec_program(struct init_ctx *ctx, pid_t host_pid)
{
        _autoerr_ struct berth_error *err = NULL;
        struct berth_seccomp_filter *seccomp = ctx->seccomp;
        int r;

        if (berth_seccomp_listener_fd(seccomp) >= 0) {
                _autofree_ char *state = berth_hook_state_json(ctx->c, "creating", host_pid);

                berth_seccomp_listener_state(seccomp, ctx->spec->lx.seccomp, host_pid, state);
        }
        if (ctx->spec->hooks[BERTH_HOOK_START_CONTAINER].n > 0) {
                if (berth_process_confine(&ctx->spec->process, seccomp, &err) < 0)
                        fail(ctx, err, 126);
                seccomp = NULL;
                if (run_child_hooks(ctx, BERTH_HOOK_START_CONTAINER, "created", host_pid, &err) < 0)
                        fail(ctx, err, 1);
        }
        r = berth_process_exec(&ctx->spec->process, seccomp, ctx->path, ctx->env, &err);

        fail(ctx, err, r == -ENOENT ? 127 : 126);
}

static int finish_create(struct init_ctx *ctx, struct berth_error **err)
{
        int r;

        r = berth_rootfs_pivot(ctx->spec, &ctx->rootfs, err);
        if (r >= 0)
                r = berth_pty_setup(&ctx->spec->process,
                                    ctx->rootfs.host_mount_ns ? NULL : berth_rootfs_bind_console,
                                    &ctx->console_fd, ctx->sync_fd, err);
        if (r >= 0)
                r = berth_rootfs_finalize(ctx->spec, &ctx->rootfs, err);
        if (r >= 0) {
                ctx->env = berth_process_env(&ctx->spec->process, ctx->opts->listen_fds);
                r = setup_process(ctx, err);
        }
        return r;
}

/* The fds the init needs until it has built the container: stdio and the fds passed on, the
 * handshake, the console socket, the exec fifo, the namespaces to join. Everything else the
 * runtime had open (its state dirs, cgroup dirs, log file, whatever its caller left open without
 * close-on-exec) is closed at once: close-on-exec alone would keep them open while the runtime's
 * own code runs in the container (CVE-2024-21626). */
static void close_runtime_fds(const struct init_ctx *ctx, bool created)
{
        int keep[4 + 1 + BERTH_NS__MAX] = {ctx->fifo_fd, ctx->status_fd, ctx->sync_fd,
                                           berth_seccomp_listener_fd(ctx->seccomp)};
        int preserved = ctx->opts->preserve_fds > 0 ? ctx->opts->preserve_fds : 0;
        size_t n = 4;

        if (!created) {
                keep[n++] = ctx->console_fd;
                for (int t = 0; t < BERTH_NS__MAX; t++)
                        keep[n++] = ctx->nsfds.fd[t];
        }
        berth_close_fds_from(3 + ctx->opts->listen_fds + preserved, keep, n);
}

void berth_init_main(struct init_ctx *ctx)
{
        _autoerr_ struct berth_error *err = NULL;
        pid_t host_pid;
        int r;

        /* Born non-dumpable (the runtime is, and the flag is inherited): nothing in the container
         * can open our /proc/PID/{fd,exe,cwd,root,mem} until execve resets it. */
        close(ctx->parent_sync_fd);
        sync_forward_logs(ctx->sync_fd);
        /* The steps runc's --debug names on its init's side (runc's own tests and scripts grep
         * for them); ours reach the runtime's log over the handshake, as theirs do. */
        berth_log(BERTH_LOG_DEBUG, "init: => nsexec container setup");
        close_runtime_fds(ctx, false);
        /* Die with `create` until it has recorded us; a parent that died before this line is
         * seen as EOF on the handshake. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
                _exit(1);
        ctx->rootfs.host_source = request_host_source;
        ctx->rootfs.host_source_data = ctx;
        r = make_time_ns(ctx, &err);
        if (r >= 0)
                r = wait_for_go(ctx, &host_pid, &err);
        /* The parent has written our id maps: become root of the user namespace. */
        if (r >= 0 && ctx->spec->lx.ns[BERTH_NS_USER].enabled &&
            (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
                r = berth_error_set(&err, errno,
                                    "become root in the new user namespace (setresuid)");
        if (r >= 0)
                r = build_container(ctx, host_pid, &err);
        if (r >= 0)
                r = finish_create(ctx, &err);
        if (r < 0)
                fail(ctx, err, 1);
        close_runtime_fds(ctx, true);
        berth_log(BERTH_LOG_DEBUG, "init: closing the pipe to signal completion");
        if (sync_send(ctx->sync_fd, SYNC_CREATED, 0, NULL, -1) < 0 ||
            sync_expect(ctx->sync_fd, SYNC_ACK, "create", NULL) < 0)
                _exit(1);
        prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
        sync_send(ctx->sync_fd, SYNC_DETACHED, 0, NULL, -1);
        closep(&ctx->sync_fd);
        sync_forward_logs(-1);
        if (wait_for_start(ctx, &err) < 0)
                fail(ctx, err, 1);
        exec_program(ctx, host_pid);
}
