/* SPDX-License-Identifier: Apache-2.0 */
/*
 * exec: the runtime clones the new process into the container's pid namespace (and cgroup),
 * the child joins the other namespaces through the init's pidfd, sets itself up as the init did,
 * and execs. The two talk over a SOCK_SEQPACKET pair whose child end is close-on-exec: EOF after
 * GO means the execve happened, an ERROR message says what failed first.
 *
 *   runtime                                    child
 *   setns(init, CLONE_NEWPID) (for children)
 *   clone3(CLONE_PIDFD [| CLONE_INTO_CGROUP])
 *   restore our pid namespace
 *   attach to the v1 cgroups; GO --------->    setns(init pidfd, user|mnt|net|ipc|uts|cgroup|time)
 *                                              terminal (PTY to us or the console socket),
 *                                              rlimits, sched, LSM, seccomp, caps, user, cwd,
 *                          <-------- EOF       no_new_privs, execve
 */
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "runtime/caps.h"
#include "cgroup/cgroup.h"
#include "runtime/exec.h"
#include "runtime/init.h"
#include "base/log.h"
#include "runtime/process.h"
#include "runtime/ns.h"
#include "runtime/seccomp.h"
#include "runtime/selfexe.h"
#include "runtime/state.h"
#include "runtime/sync.h"
#include "base/syscalls.h"
#include "runtime/terminal.h"
#include "base/util.h"

struct exec_ctx {
        const struct berth_container *c;
        const struct berth_spec *spec;
        const struct berth_process *p;
        const struct berth_exec_opts *o;
        struct berth_seccomp_filter *seccomp;
        struct berth_cgroup *cg;
        int init_pidfd;
        int console_fd; /* connected --console-socket, or -1 */
        int sync[2];    /* [0] runtime, [1] child */
};

int berth_container_spec(const struct berth_container *c, struct berth_spec **ret,
                         struct berth_error **err)
{
        _autoclose_ int dirfd = open(c->bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);

        if (dirfd < 0)
                return berth_error_set(err, errno, "open bundle %s of container \"%s\"", c->bundle,
                                       c->id);
        return berth_spec_load(dirfd, "config.json", ret, err);
}

/* ---- the child ------------------------------------------------------------------------------- */

/* Sends the error (its code, or the exit status 126/127 when the program cannot be run) and
 * exits with status. */
static void __attribute__((noreturn))
child_fail(struct exec_ctx *x, struct berth_error *err, int status)
{
        int code = status == 126 || status == 127 ? status : err ? err->code : EIO;

        sync_send(x->sync[1], SYNC_ERROR, code, err && err->msg ? err->msg : "exec failed", -1);
        _exit(status);
}

/* runc's exit statuses for a program that cannot be run. */
static int exec_status(int r)
{
        return r == -ENOENT ? 127 : r == -EACCES ? 126 : 1;
}

/* Every namespace the container's init is in by the config's choice, except pid (entered by the
 * runtime before the clone). */
static int join_flags(const struct berth_spec *s)
{
        int flags = 0;

        for (int t = 0; t < BERTH_NS__MAX; t++)
                if (s->lx.ns[t].enabled && t != BERTH_NS_PID)
                        flags |= berth_ns_clone_flag((enum berth_ns_type) t);
        return flags;
}

static int join_namespaces(struct exec_ctx *x, struct berth_error **err)
{
        int flags = join_flags(x->spec);
        uint64_t t0 = TRACE_T0();

        if (flags && setns(x->init_pidfd, flags) < 0)
                return berth_error_set(err, errno,
                                       "join the namespaces of container \"%s\" (setns "
                                       "pidfd %d)",
                                       x->c->id, (int) x->c->pid);
        TRACE(t0, "setns(init pidfd, 0x%x)", (unsigned) flags);
        if (x->spec->lx.ns[BERTH_NS_USER].enabled &&
            (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0))
                return berth_error_set(err, errno, "become root in the container's user namespace");
        return 0;
}

/* The child keeps its stdio, the fds passed on, the handshake, the console socket and the init's
 * pidfd (to join its namespaces); everything else the runtime had open is closed before it
 * enters the container: close-on-exec alone would keep the runtime's state dir, cgroup dirs and
 * log open while its own code runs in there (CVE-2024-21626). */
static void close_runtime_fds(const struct exec_ctx *x)
{
        const int keep[] = {x->sync[1], x->console_fd, x->init_pidfd,
                            berth_seccomp_listener_fd(x->seccomp)};
        int preserved = x->o->preserve_fds > 0 ? x->o->preserve_fds : 0;

        berth_close_fds_from(3 + preserved, keep, ARRAY_SIZE(keep));
}

/* Born non-dumpable (the runtime made itself so before the clone): nothing in the container can
 * open our /proc/PID/{fd,exe,cwd,root,mem} until execve resets it. */
static void __attribute__((noreturn)) child_main(struct exec_ctx *x)
{
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *path = NULL;
        _autofree_ char **env = NULL;
        struct sync_msg m;
        int r;

        sync_forward_logs(x->sync[1]);
        /* The steps runc's --debug names for an exec (runc's own tests grep for them); ours
         * reach the runtime's log over the handshake, as theirs do. */
        berth_log(BERTH_LOG_DEBUG, "exec: => nsexec container setup");
        close_runtime_fds(x);
        /* before the runtime moves us into the container's v1 cgroups, then GO */
        r = berth_process_set_affinity(x->p->exec_cpu_affinity_initial, "initial", &err);
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || sync_recv(x->sync[1], &m, NULL) < 0 ||
            m.type != SYNC_GO)
                _exit(1);
        /* Before the user namespace: our /proc files are the host root's (non-dumpable). */
        if (r >= 0 && x->p->has_oom_score_adj)
                r = berth_process_set_oom_score_adj(0, x->p->oom_score_adj, &err);
        if (r >= 0)
                r = berth_process_set_affinity(x->p->exec_cpu_affinity_final, "final", &err);
        if (r >= 0)
                r = join_namespaces(x, &err);
        closep(&x->init_pidfd);
        berth_log(BERTH_LOG_DEBUG, "exec: child process in init()");
        if (r >= 0)
                r = berth_pty_setup(x->p, NULL, &x->console_fd, x->sync[1], &err);
        if (r >= 0)
                r = berth_process_setup(x->p, x->seccomp, &err);
        if (r < 0)
                child_fail(x, err, 1);
        r = berth_process_find_exec(x->p, &path, &err);
        if (r < 0)
                child_fail(x, err, exec_status(r));
        env = berth_process_env(x->p, 0);
        if (berth_seccomp_listener_fd(x->seccomp) >= 0) {
                _autofree_ char *state = berth_hook_state_json(x->c, "running", (pid_t) m.code);

                berth_seccomp_listener_state(x->seccomp, x->spec->lx.seccomp, (pid_t) m.code,
                                             state);
        }
        prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
        berth_log(BERTH_LOG_DEBUG, "setns_init: about to exec");
        r = berth_process_exec(x->p, x->seccomp, path, env, &err);
        child_fail(x, err, exec_status(r) == 127 ? 127 : 126);
}

/* ---- the runtime ------------------------------------------------------------------------------
 */

static int check_status(struct berth_container *c, const struct berth_exec_opts *o,
                        struct berth_error **err)
{
        berth_container_observe(c);
        /* runc's words, which its tests and clients match (the caller names the container) */
        if (c->status == BERTH_STATUS_STOPPED)
                return berth_error_setx(err, EINVAL, "cannot exec in a stopped container");
        if (c->status == BERTH_STATUS_PAUSED && !o->ignore_paused)
                return berth_error_setx(err, EINVAL,
                                        "cannot exec in a paused container (resume it, or use "
                                        "--ignore-paused to override)");
        return 0;
}

static int prepare(struct exec_ctx *x, struct berth_container *c, struct berth_error **err)
{
        int r;

        if (x->o->console_socket && !x->p->terminal)
                return berth_error_setx(err, EINVAL,
                                        "--console-socket needs a terminal (--tty or "
                                        "process.terminal)");
        r = berth_container_pidfd(c, err);
        if (r < 0)
                return r;
        x->init_pidfd = r;
        if (x->spec->lx.seccomp) {
                r = berth_seccomp_compile(x->spec->lx.seccomp, x->c->root, &x->seccomp, err);
                if (r >= 0)
                        r = berth_seccomp_listener_connect(x->spec->lx.seccomp, x->seccomp, err);
                if (r < 0)
                        return berth_error_prefix(err, "linux.seccomp");
        }
        if (x->p->terminal && x->o->console_socket) {
                r = berth_console_socket_connect(x->o->console_socket, &x->console_fd, err);
                if (r < 0)
                        return r;
        }
        r = berth_container_cgroup(c, &x->cg, err);
        if (r < 0 && (r != -ENOENT || x->o->sub_cgroups))
                return r;
        if (x->cg && x->o->sub_cgroups) {
                r = berth_cgroup_select_sub(x->cg, x->o->sub_cgroups, err);
                if (r < 0)
                        return r;
        }
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, x->sync) < 0)
                return berth_error_set(err, errno, "socketpair for exec");
        return 0;
}

/* On cgroup v2 the child is cloned straight into the container's cgroup (CLONE_INTO_CGROUP),
 * unless execCPUAffinity.initial asks for CPUs it runs on before it joins it. */
static bool born_in_cgroup(const struct exec_ctx *x)
{
        const char *initial = x->p->exec_cpu_affinity_initial;

        return x->cg && berth_cgroup_clone_fd(x->cg) >= 0 && !(initial && *initial);
}

/* With CLONE_INTO_CGROUP the kernel charges the fork to the container's cgroup: EAGAIN there is
 * most likely its pids.max, so the error names the cgroup. */
static int clone_error(const struct exec_ctx *x, uint64_t flags, int code, struct berth_error **err)
{
        if (!(flags & CLONE_INTO_CGROUP))
                return berth_error_set(err, code, "clone3 the exec process");
        return berth_error_set(err, code, "clone3 the exec process into cgroup %s%s",
                               berth_cgroup_path(x->cg),
                               code == EAGAIN ? " (is it at its pids.max?)" : "");
}

/* cgroup v2: the container's cgroup refuses processes (EBUSY) once it has enabled domain
 * controllers for children, say after its init moved into one of them: then, as runc, the
 * process joins the init's cgroup, unless --cgroup chose one (after the clone: the attach names
 * what failed). */
static bool into_init_cgroup(struct exec_ctx *x)
{
        uint64_t t0 = TRACE_T0();

        if (x->o->sub_cgroups || berth_cgroup_select_cgroup_of(x->cg, x->c->pid, NULL) < 0)
                return false;
        TRACE(t0, "cgroup %s refuses processes (EBUSY): the exec process joins the init's",
              berth_cgroup_path(x->cg));
        return true;
}

/* Clones the child in the container's pid namespace: the runtime enters it for its children
 * for the duration of the clone. */
static pid_t clone_child(struct exec_ctx *x, int *ret_pidfd, struct berth_error **err)
{
        struct berth_clone_args args = {.flags = CLONE_PIDFD, .exit_signal = SIGCHLD};
        _autoclose_ int own_pidns = -EBADF;
        bool pidns = x->spec->lx.ns[BERTH_NS_PID].enabled;
        uint64_t t0 = TRACE_T0();
        pid_t pid;
        int r;

        /* The child is born non-dumpable (see child_main). */
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                return berth_error_set(err, errno, "prctl(PR_SET_DUMPABLE, 0)");
        args.pidfd = (uint64_t) (uintptr_t) ret_pidfd;
        if (born_in_cgroup(x)) {
                args.flags |= CLONE_INTO_CGROUP;
                args.cgroup = (uint64_t) berth_cgroup_clone_fd(x->cg);
        }
        if (pidns) {
                _autofree_ char *what = xasprintf("container \"%s\"", x->c->id);

                r = berth_pidns_enter(x->init_pidfd, what, &own_pidns, err);
                if (r < 0)
                        return r;
        }
        pid = sys_clone3(&args);
        if (pid < 0 && errno == EBUSY && into_init_cgroup(x)) {
                args.flags &= ~(uint64_t) CLONE_INTO_CGROUP;
                pid = sys_clone3(&args);
        }
        if (pid == 0)
                child_main(x);
        if (pid < 0)
                pid = clone_error(x, args.flags, errno, err);
        r = berth_pidns_restore(&own_pidns, pid < 0 ? NULL : err);
        if (r < 0 && pid > 0) {
                sys_pidfd_send_signal(*ret_pidfd, SIGKILL, NULL, 0);
                waitpid(pid, NULL, __WALL);
                closep(ret_pidfd);
                return r;
        }
        TRACE(t0, "clone3 exec process -> pid %d", (int) pid);
        return pid;
}

/* After GO: EOF means execve happened; ERROR carries the child's error; PTY its terminal. */
static int await_exec(struct exec_ctx *x, struct berth_exec_result *res, int *ret_failure,
                      struct berth_error **err)
{
        for (;;) {
                struct sync_msg m;
                int fd = -1;

                if (sync_recv(x->sync[0], &m, &fd) < 0)
                        return 0; /* EOF: the close-on-exec end went with execve */
                if (m.type == SYNC_PTY) {
                        if (x->o->foreground_tty && res->pty_master < 0)
                                res->pty_master = fd;
                        else if (fd >= 0)
                                close(fd);
                        continue;
                }
                if (fd >= 0)
                        close(fd);
                if (m.type == SYNC_ERROR) {
                        bool exec_failed = m.code == 126 || m.code == 127;

                        *ret_failure = exec_failed ? m.code : 0;
                        return berth_error_setx(err, exec_failed ? ENOEXEC : m.code, "%s", m.text);
                }
        }
}

static void ctx_clear(struct exec_ctx *x)
{
        berth_seccomp_filter_free(x->seccomp);
        berth_cgroup_free(x->cg);
        closep(&x->console_fd);
        closep(&x->sync[0]);
        closep(&x->sync[1]);
}

static int run_child(struct exec_ctx *x, struct berth_exec_result *res, int *ret_failure,
                     struct berth_error **err)
{
        int pidfd = -1, r;
        pid_t pid;

        pid = clone_child(x, &pidfd, err);
        if (pid < 0)
                return pid;
        closep(&x->sync[1]);
        closep(&x->console_fd);
        res->pid = pid;
        res->pidfd = pidfd;
        r = x->cg && !born_in_cgroup(x) ? berth_cgroup_attach(x->cg, pid, err) : 0;
        if (r >= 0 && sync_send(x->sync[0], SYNC_GO, pid, NULL, -1) < 0)
                r = berth_error_set(err, errno, "start the exec process");
        if (r >= 0)
                r = await_exec(x, res, ret_failure, err);
        if (r >= 0 && x->o->pid_file)
                r = berth_pid_file_write(x->o->pid_file, pid, err);
        if (r < 0) {
                sys_pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
                waitpid(pid, NULL, __WALL);
                close(pidfd);
                closep(&res->pty_master);
        }
        return r;
}

int berth_container_exec(struct berth_container *c, const struct berth_process *p,
                         const struct berth_exec_opts *o, struct berth_exec_result *ret,
                         int *ret_exec_failure, struct berth_error **err)
{
        _autospec_ struct berth_spec *spec = NULL;
        struct berth_exec_result res = {.pid = -1, .pidfd = -1, .pty_master = -1};
        struct exec_ctx x = {.c = c, .p = p, .o = o, .console_fd = -1, .sync = {-1, -1}};
        int failure = 0, r;

        r = berth_exe_check_sealed(err);
        if (r >= 0)
                r = check_status(c, o, err);
        if (r >= 0 && o->pid_file)
                r = berth_pid_file_check(o->pid_file, err);
        if (r >= 0)
                r = berth_container_spec(c, &spec, err);
        if (r >= 0) {
                x.spec = spec;
                r = prepare(&x, c, err);
        }
        if (r >= 0)
                r = run_child(&x, &res, &failure, err);
        ctx_clear(&x);
        if (ret_exec_failure)
                *ret_exec_failure = failure;
        if (r < 0)
                return berth_error_prefix(err, "exec in container \"%s\"", c->id);
        *ret = res;
        return 0;
}
