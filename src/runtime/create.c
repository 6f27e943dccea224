/* SPDX-License-Identifier: Apache-2.0 */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "cgroup/cgroup.h"
#include "runtime/hooks.h"
#include "runtime/init.h"
#include "runtime/process.h"
#include "runtime/selfexe.h"
#include "base/log.h"
#include "runtime/state.h"
#include "runtime/sync.h"
#include "base/syscalls.h"
#include "runtime/terminal.h"
#include "base/util.h"

/* What create builds before clone, and tears down on every path. */
struct prep {
        struct berth_spec *spec;
        struct berth_container *c;
        struct init_ctx ctx;
        struct berth_resources *resources;
        struct berth_cgroup *cg;
        int rootfd;
        int sync[2];
        pid_t pid;
        bool dir_made;
        bool cloned; /* the container existed: a failure ends its lifecycle with poststop */
};

static int resolve_rootfs(const char *bundle, const char *root_path, char **ret,
                          struct berth_error **err)
{
        _autofree_ char *joined =
            root_path[0] == '/' ? xstrdup(root_path) : xasprintf("%s/%s", bundle, root_path);
        _autofree_ char *real = realpath(joined, NULL);
        struct stat st;

        if (!real)
                return berth_error_set(err, errno, "root.path \"%s\": %s", root_path, joined);
        if (stat(real, &st) < 0 || !S_ISDIR(st.st_mode))
                return berth_error_setx(err, ENOTDIR, "root.path \"%s\": %s is not a directory",
                                        root_path, real);
        *ret = steal_ptr(&real);
        return 0;
}

static int check_spec(const struct berth_spec *s, const struct berth_create_opts *o,
                      struct berth_error **err)
{
        int r;

        if (!s->has_process)
                return berth_error_setx(err, EINVAL,
                                        "config.json: process: required to create a container");
        if (s->process.terminal && !o->console_socket && !o->foreground_tty)
                return berth_error_setx(err, EINVAL,
                                        "process.terminal is true: cannot allocate a terminal "
                                        "without --console-socket when the runtime detaches");
        if (!s->process.terminal && o->console_socket)
                return berth_error_setx(err, EINVAL,
                                        "--console-socket given but process.terminal is false: no "
                                        "terminal to hand over");
        r = berth_rootfs_validate(s, err);
        if (r >= 0)
                r = berth_sysctl_validate(s, err);
        if (r >= 0 && o->pid_file)
                r = berth_pid_file_check(o->pid_file, err);
        return r;
}

/* fds 3 .. 3+L+N-1 go to the container: each must be open (runc: "unable to stat preserved-fd"). */
static int check_passed_fds(const struct berth_create_opts *o, struct berth_error **err)
{
        int n = o->listen_fds + (o->preserve_fds > 0 ? o->preserve_fds : 0);

        for (int fd = 3; fd < 3 + n; fd++)
                if (fcntl(fd, F_GETFD) < 0)
                        return berth_error_set(
                            err, errno, "%s fd %d (of %d) is not open",
                            fd < 3 + o->listen_fds ? "LISTEN_FDS:" : "--preserve-fds:", fd, n);
        return 0;
}

/* Fills the container record from the options and the spec. */
static int describe(struct prep *p, const struct berth_create_opts *o, struct berth_error **err)
{
        struct berth_container *c = p->c;
        _autofree_ char *json = NULL;
        int r;

        c->bundle = realpath(o->bundle ? o->bundle : ".", NULL);
        if (!c->bundle)
                return berth_error_set(err, errno, "bundle %s", o->bundle ? o->bundle : ".");
        r = berth_spec_load(AT_FDCWD, (json = xasprintf("%s/config.json", c->bundle)), &p->spec,
                            err);
        if (r < 0)
                return r;
        r = check_spec(p->spec, o, err);
        if (r < 0)
                return r;
        r = resolve_rootfs(c->bundle, p->spec->root_path, &c->rootfs, err);
        if (r < 0)
                return r;
        r = berth_resources_parse(p->spec->lx.resources_json, "config.json", "linux.resources",
                                  &p->resources, err);
        if (r >= 0)
                r = berth_cgroup_resolve_path(p->spec->lx.cgroups_path, c->id, &c->cgroup_path,
                                              err);
        if (r < 0)
                return r;
        c->created = berth_rfc3339_now();
        c->owner = xstrdup("");
        c->oci_version = xstrdup(p->spec->oci_version ? p->spec->oci_version : "1.2.0");
        c->n_annotations = p->spec->n_annotations;
        c->annotations = berth_kv_copy(p->spec->annotations, p->spec->n_annotations);
        /* start and delete run these without re-reading the bundle */
        c->poststart = p->spec->hooks[BERTH_HOOK_POSTSTART];
        c->poststop = p->spec->hooks[BERTH_HOOK_POSTSTOP];
        p->spec->hooks[BERTH_HOOK_POSTSTART] = (struct berth_hook_list){0};
        p->spec->hooks[BERTH_HOOK_POSTSTOP] = (struct berth_hook_list){0};
        return 0;
}

/* The resources the init inherits: namespaces to join, seccomp program, console socket. */
static int prepare_init(struct prep *p, const struct berth_create_opts *o, struct berth_error **err)
{
        struct init_ctx *x = &p->ctx;
        const struct berth_spec *s = p->spec;
        int r;

        x->spec = s;
        x->opts = o;
        x->c = p->c;
        x->console_fd = x->sync_fd = x->parent_sync_fd = x->fifo_fd = x->status_fd = -1;
        x->rootfs = (struct berth_rootfs_opts){.rootfs = p->c->rootfs,
                                               .bundle = p->c->bundle,
                                               .no_pivot = o->no_pivot,
                                               .in_userns = s->lx.ns[BERTH_NS_USER].enabled,
                                               .host_mount_ns = !s->lx.ns[BERTH_NS_MNT].enabled};
        x->parent_hooks =
            s->hooks[BERTH_HOOK_PRESTART].n + s->hooks[BERTH_HOOK_CREATE_RUNTIME].n > 0;
        for (int t = 0; t < BERTH_NS__MAX; t++)
                x->nsfds.fd[t] = -1;
        r = berth_ns_open_paths(s, &x->nsfds, err);
        if (r >= 0 && s->lx.seccomp)
                r = berth_seccomp_compile(s->lx.seccomp, o->root, &x->seccomp, err);
        if (r >= 0 && x->seccomp)
                r = berth_seccomp_listener_connect(s->lx.seccomp, x->seccomp, err);
        if (r >= 0 && o->console_socket)
                r = berth_console_socket_connect(o->console_socket, &x->console_fd, err);
        return r;
}

static int make_state_dir(struct prep *p, struct berth_error **err)
{
        int r;

        r = berth_state_root_open(p->c->root, &p->rootfd, err);
        if (r >= 0)
                r = berth_state_dir_create(p->rootfd, p->c->id, &p->c->dirfd, err);
        if (r < 0)
                return r;
        p->dir_made = true;
        if (mkfifoat(p->c->dirfd, BERTH_EXEC_FIFO, 0622) < 0 ||
            fchmodat(p->c->dirfd, BERTH_EXEC_FIFO, 0622, 0) < 0)
                return berth_error_set(err, errno, "create exec fifo in %s/%s", p->c->root,
                                       p->c->id);
        /* Read-write: the open does not wait for a writer, and the init, which keeps this fd,
         * never needs a path to the state dir once it is in the container. */
        p->ctx.fifo_fd = openat(p->c->dirfd, BERTH_EXEC_FIFO, O_RDWR | O_CLOEXEC);
        if (p->ctx.fifo_fd < 0)
                return berth_error_set(err, errno, "open exec fifo in %s/%s", p->c->root, p->c->id);
        if (mkfifoat(p->c->dirfd, BERTH_EXEC_STATUS, 0600) < 0)
                return berth_error_set(err, errno, "create %s in %s/%s", BERTH_EXEC_STATUS,
                                       p->c->root, p->c->id);
        p->ctx.status_fd = openat(p->c->dirfd, BERTH_EXEC_STATUS, O_RDWR | O_CLOEXEC);
        if (p->ctx.status_fd < 0)
                return berth_error_set(err, errno, "open %s in %s/%s", BERTH_EXEC_STATUS,
                                       p->c->root, p->c->id);
        return 0;
}

/* Why clone3 said ENOSPC: the first user.max_*_namespaces limit the requested flags run into. */
static const char *ns_limit_hint(unsigned long flags, char *buf, size_t size)
{
        static const char *const files[BERTH_NS__MAX] = {
            [BERTH_NS_PID] = "pid",       [BERTH_NS_NET] = "net",   [BERTH_NS_MNT] = "mnt",
            [BERTH_NS_IPC] = "ipc",       [BERTH_NS_UTS] = "uts",   [BERTH_NS_USER] = "user",
            [BERTH_NS_CGROUP] = "cgroup", [BERTH_NS_TIME] = "time",
        };

        for (int t = 0; t < BERTH_NS__MAX; t++) {
                _autofree_ char *path = NULL, *text = NULL;

                if (!(flags & (unsigned long) berth_ns_clone_flag(t)))
                        continue;
                path = xasprintf("/proc/sys/user/max_%s_namespaces", files[t]);
                if (berth_read_file_at(AT_FDCWD, path, 64, &text, NULL, NULL) < 0)
                        continue;
                text[strcspn(text, "\n")] = '\0';
                if (streq(text, "0")) {
                        snprintf(buf, size, ": user.max_%s_namespaces is 0", files[t]);
                        return buf;
                }
        }
        snprintf(buf, size, ": a user.max_*_namespaces limit is reached (see /proc/sys/user)");
        return buf;
}

/* "CLONE_NEWNS|CLONE_NEWPID|..." for errors and traces. */
static const char *clone_flags_str(uint64_t flags, char *buf, size_t size)
{
        static const struct {
                uint64_t flag;
                const char *name;
        } names[] = {
            {CLONE_NEWNS, "NEWNS"},         {CLONE_NEWPID, "NEWPID"},
            {CLONE_NEWNET, "NEWNET"},       {CLONE_NEWIPC, "NEWIPC"},
            {CLONE_NEWUTS, "NEWUTS"},       {CLONE_NEWUSER, "NEWUSER"},
            {CLONE_NEWCGROUP, "NEWCGROUP"}, {CLONE_PIDFD, "PIDFD"},
            {CLONE_PARENT, "PARENT"},       {CLONE_INTO_CGROUP, "INTO_CGROUP"},
        };
        size_t n = 0;

        buf[0] = '\0';
        for (size_t i = 0; i < ARRAY_SIZE(names); i++)
                if ((flags & names[i].flag) && n < size)
                        n += (size_t) snprintf(buf + n, size - n, "%sCLONE_%s", n ? "|" : "",
                                               names[i].name);
        return buf;
}

/* The container's cgroup, with its limits in place before the init exists. Its path is recorded
 * first (state.json with no pid yet), so a create killed from here on leaves a state that
 * delete --force fully cleans. */
static int make_cgroup(struct prep *p, struct berth_error **err)
{
        int r;

        r = berth_state_save(p->c, err);
        if (r >= 0)
                r = berth_cgroup_create(p->spec->lx.cgroups_path, p->c->id, &p->cg, err);
        if (r >= 0)
                r = berth_cgroup_apply(p->cg, p->resources, err);
        return r;
}

/* The pid of a pidfd, in our pid namespace (from /proc/self/fdinfo). */
static pid_t pidfd_pid(int pidfd)
{
        _autofree_ char *text = NULL;
        char path[64];
        const char *line;

        snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", pidfd);
        if (berth_read_file_at(AT_FDCWD, path, 0, &text, NULL, NULL) < 0)
                return -1;
        line = strstr(text, "\nPid:");
        return line ? (pid_t) atoi(line + 5) : -1;
}

/* Joining a user namespace by path while creating other namespaces: those must be owned by the
 * joined user namespace, so a short-lived helper joins it first and clones the init with
 * CLONE_PARENT, which keeps the init a child of the runtime. The helper hands back the init's
 * pidfd, or its error, on the handshake socket. */
static void __attribute__((noreturn)) userns_hop(struct prep *p, struct berth_clone_args args)
{
        _autoerr_ struct berth_error *err = NULL;
        int pidfd = -1;
        pid_t pid;

        if (berth_ns_join(&p->ctx.nsfds, BERTH_NS_USER, &err) < 0) {
                sync_send(p->sync[1], SYNC_ERROR, err->code, err->msg, -1);
                _exit(1);
        }
        args.flags |= CLONE_PARENT;
        args.exit_signal = 0; /* required with CLONE_PARENT: the init inherits our SIGCHLD */
        args.pidfd = (uint64_t) (uintptr_t) &pidfd;
        pid = sys_clone3(&args);
        if (pid == 0)
                berth_init_main(&p->ctx);
        if (pid < 0) {
                char names[256];

                berth_error_set(&err, errno, "clone3(%s) in user namespace \"%s\"",
                                clone_flags_str(args.flags, names, sizeof(names)),
                                p->spec->lx.ns[BERTH_NS_USER].path);
                sync_send(p->sync[1], SYNC_ERROR, err->code, err->msg, -1);
                _exit(1);
        }
        sync_send(p->sync[1], SYNC_GO, 0, NULL, pidfd);
        _exit(0);
}

static pid_t clone_via_userns(struct prep *p, const struct berth_clone_args *args, int *ret_pidfd,
                              struct berth_error **err)
{
        struct berth_clone_args hop = {.exit_signal = SIGCHLD};
        struct sync_msg m;
        pid_t pid, helper = sys_clone3(&hop);
        int r;

        if (helper < 0)
                return berth_error_set(err, errno, "clone3 the user namespace helper");
        if (helper == 0)
                userns_hop(p, *args);
        r = sync_recv(p->sync[0], &m, ret_pidfd);
        waitpid(helper, NULL, 0);
        if (r < 0)
                return berth_error_setx(err, ECHILD,
                                        "the user namespace helper exited without an answer");
        if (m.type == SYNC_ERROR)
                return berth_error_setx(err, m.code, "%s", m.text);
        pid = pidfd_pid(*ret_pidfd);
        return pid > 0 ? pid : berth_error_setx(err, ESRCH, "read the init's pid from its pidfd");
}

/* Clones the init straight into its new namespaces. A pid namespace given by path is entered by
 * the runtime itself for the duration of the clone (setns(CLONE_NEWPID) only affects children). */
static int clone_init(struct prep *p, struct berth_error **err)
{
        const struct berth_spec *s = p->spec;
        struct berth_clone_args args = {.exit_signal = SIGCHLD};
        _autoclose_ int own_pidns = -EBADF;
        uint64_t t0 = TRACE_T0();
        int pidfd = -1, r;
        pid_t pid;

        /* Every clone below is born non-dumpable: nothing in the container can open its /proc
         * files (fd, exe, cwd, root, mem) before its execve. */
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                return berth_error_set(err, errno, "prctl(PR_SET_DUMPABLE, 0)");
        p->ctx.clone_flags =
            berth_ns_new_flags(s) & ~(unsigned long) (CLONE_NEWCGROUP | CLONE_NEWTIME);
        args.flags = p->ctx.clone_flags | CLONE_PIDFD;
        args.pidfd = (uint64_t) (uintptr_t) &pidfd;
        if (berth_cgroup_clone_fd(p->cg) >= 0) {
                /* cgroup v2: born in its cgroup, no attach step */
                args.flags |= CLONE_INTO_CGROUP;
                args.cgroup = (uint64_t) berth_cgroup_clone_fd(p->cg);
        }
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p->sync) < 0)
                return berth_error_set(err, errno, "socketpair for the create handshake");
        p->ctx.sync_fd = p->sync[1];
        p->ctx.parent_sync_fd = p->sync[0];
        if (p->ctx.nsfds.fd[BERTH_NS_PID] >= 0) {
                _autofree_ char *what = xasprintf("\"%s\"", s->lx.ns[BERTH_NS_PID].path);

                r = berth_pidns_enter(p->ctx.nsfds.fd[BERTH_NS_PID], what, &own_pidns, err);
                if (r < 0)
                        return r;
        }
        if (p->ctx.nsfds.fd[BERTH_NS_USER] >= 0 && p->ctx.clone_flags) {
                pid = clone_via_userns(p, &args, &pidfd, err);
        } else {
                pid = sys_clone3(&args);
                if (pid == 0)
                        berth_init_main(&p->ctx);
                if (pid < 0) {
                        int e = errno;
                        char hint[96] = "", names[256];

                        if (e == ENOSPC)
                                ns_limit_hint(args.flags, hint, sizeof(hint));
                        pid = berth_error_set(err, e, "clone3(%s)%s",
                                              clone_flags_str(args.flags, names, sizeof(names)),
                                              hint);
                }
        }
        r = berth_pidns_restore(&own_pidns, pid < 0 ? NULL : err);
        if (pid < 0)
                return pid;
        p->pid = p->c->pid = pid;
        p->c->pidfd = pidfd;
        p->cloned = true;
        if (r < 0)
                return r; /* prep_undo kills the init */
        if (berth_trace_on) {
                char names[256];

                TRACE(t0, "clone3(%s) -> pid %d", clone_flags_str(args.flags, names, sizeof(names)),
                      (int) pid);
        }
        closep(&p->sync[1]);
        p->ctx.sync_fd = -1;
        berth_ns_fds_close(&p->ctx.nsfds);
        closep(&p->ctx.console_fd);
        closep(&p->ctx.fifo_fd);   /* the init holds the only reader: start writes to it */
        closep(&p->ctx.status_fd); /* and the only writer: EOF for start when it execs */
        return berth_proc_starttime(pid, &p->c->pid_start, NULL) < 0
                   ? berth_error_setx(err, ESRCH, "container init (pid %d) vanished", (int) pid)
                   : 0;
}

static int run_parent_hooks(struct prep *p, struct berth_error **err)
{
        _autofree_ char *state = berth_hook_state_json(p->c, "creating", p->pid);
        int r;

        r = berth_hooks_run(BERTH_HOOK_PRESTART, &p->spec->hooks[BERTH_HOOK_PRESTART], state,
                            p->c->bundle, err);
        if (r >= 0)
                r = berth_hooks_run(BERTH_HOOK_CREATE_RUNTIME,
                                    &p->spec->hooks[BERTH_HOOK_CREATE_RUNTIME], state, p->c->bundle,
                                    err);
        return r;
}

static int init_died(struct prep *p, struct berth_error **err)
{
        int status = 0;

        if (waitpid(p->pid, &status, 0) == p->pid)
                p->pid = 0;
        if (WIFSIGNALED(status))
                return berth_error_setx(err, ECHILD,
                                        "container init was killed by signal %d during create",
                                        WTERMSIG(status));
        return berth_error_setx(err, ECHILD, "container init exited with status %d during create",
                                WEXITSTATUS(status));
}

/* The time namespace's offsets, once the init has made it, before it is entered. */
static int write_time_offsets(struct prep *p, struct berth_error **err)
{
        const struct berth_linux *lx = &p->spec->lx;
        char path[64], line[64];
        uint64_t t0 = TRACE_T0();
        int r;

        r = sync_expect(p->sync[0], SYNC_TIMENS, "time namespace", err);
        if (r < 0)
                return r == -EPIPE ? init_died(p, err) : r;
        snprintf(path, sizeof(path), "/proc/%d/timens_offsets", (int) p->pid);
        /* The kernel takes one offset per write. */
        if (lx->time_monotonic.set) {
                snprintf(line, sizeof(line), "monotonic %lld %u",
                         (long long) lx->time_monotonic.secs, lx->time_monotonic.nanosecs);
                r = berth_write_file(path, line, err);
        }
        if (r >= 0 && lx->time_boottime.set) {
                snprintf(line, sizeof(line), "boottime %lld %u", (long long) lx->time_boottime.secs,
                         lx->time_boottime.nanosecs);
                r = berth_write_file(path, line, err);
        }
        if (r < 0)
                return berth_error_prefix(err, "linux.timeOffsets");
        TRACE(t0, "time namespace offsets written");
        return 0;
}

/* What the init cannot write itself: the files of a non-dumpable process in /proc belong to the
 * host's root, out of reach from a user namespace. */
static int write_init_files(struct prep *p, struct berth_error **err)
{
        const struct berth_namespace *time = &p->spec->lx.ns[BERTH_NS_TIME];
        const struct berth_process *proc = &p->spec->process;
        int r = 0;

        if (time->enabled && !time->path)
                r = write_time_offsets(p, err);
        if (r >= 0 && proc->has_oom_score_adj)
                r = berth_process_set_oom_score_adj(p->pid, proc->oom_score_adj, err);
        return r;
}

/* A bind source the init may not open, cloned here on the host side; a failure goes to the init,
 * which reports it as its own. */
static void send_host_source(struct prep *p, size_t i)
{
        _autoerr_ struct berth_error *e = NULL;
        _autoclose_ int tree = -EBADF;

        if (berth_rootfs_host_source(p->spec, p->c->bundle, i, p->pid, &tree, &e) < 0)
                sync_send(p->sync[0], SYNC_ERROR, e->code, e->msg, -1);
        else
                sync_send(p->sync[0], SYNC_MOUNT_SOURCE, 0, NULL, tree);
}

/* The runtime's half of the handshake in sync.h, up to CREATED. */
static int handshake(struct prep *p, struct berth_error **err)
{
        const int sock = p->sync[0];
        struct sync_msg m;
        int r, fd;

        if (p->spec->lx.ns[BERTH_NS_USER].enabled && !p->spec->lx.ns[BERTH_NS_USER].path) {
                r = berth_userns_write_maps(p->pid, p->spec, err);
                if (r < 0)
                        return r;
        }
        r = write_init_files(p, err);
        if (r < 0)
                return r;
        /* before GO: the init unshares its cgroup namespace once it is in its own cgroup */
        if (berth_cgroup_clone_fd(p->cg) < 0) {
                r = berth_cgroup_attach(p->cg, p->pid, err);
                if (r < 0)
                        return r;
        }
        if (sync_send(sock, SYNC_GO, p->pid, NULL, -1) < 0)
                return init_died(p, err);
        for (;;) {
                fd = -1;
                r = sync_recv(sock, &m, &fd);
                if (r < 0)
                        return init_died(p, err);
                switch (m.type) {
                case SYNC_CREATED:
                        return 0;
                case SYNC_ERROR:
                        return berth_error_setx(err, m.code, "%s", m.text);
                case SYNC_PTY:
                        closep(&p->c->pty_master);
                        p->c->pty_master = fd;
                        break;
                case SYNC_MOUNT_SOURCE:
                        send_host_source(p, (size_t) m.code);
                        break;
                case SYNC_HOOKS:
                        r = run_parent_hooks(p, err);
                        if (r < 0)
                                return r;
                        sync_send(sock, SYNC_HOOKS_DONE, 0, NULL, -1);
                        break;
                default:
                        closep(&fd);
                        return berth_error_setx(err, EPROTO,
                                                "create handshake: unexpected message %u", m.type);
                }
        }
}

static int record(struct prep *p, const struct berth_create_opts *o, struct berth_error **err)
{
        int r;

        r = berth_state_save(p->c, err);
        if (r >= 0 && o->pid_file)
                r = berth_pid_file_write(o->pid_file, p->pid, err);
        if (r >= 0 && (sync_send(p->sync[0], SYNC_ACK, 0, NULL, -1) < 0 ||
                       sync_expect(p->sync[0], SYNC_DETACHED, "create", NULL) < 0))
                r = init_died(p, err);
        return r;
}

static void prep_undo(struct prep *p, bool failed)
{
        if (failed && p->pid > 0) {
                kill(p->pid, SIGKILL);
                waitpid(p->pid, NULL, 0);
        }
        if (failed && p->cg)
                berth_cgroup_destroy(p->cg, NULL);
        if (failed && p->dir_made)
                berth_state_dir_remove(p->rootfd, p->c->id, NULL);
        berth_cgroup_free(p->cg);
        berth_resources_free(p->resources);
        closep(&p->sync[0]);
        closep(&p->sync[1]);
        closep(&p->rootfd);
        closep(&p->ctx.console_fd);
        closep(&p->ctx.fifo_fd);
        closep(&p->ctx.status_fd);
        berth_ns_fds_close(&p->ctx.nsfds);
        berth_seccomp_filter_free(p->ctx.seccomp);
        berth_spec_free(p->spec);
}

/* A create that fails once the container exists continues its lifecycle at delete, and the
 * poststop hooks run (runtime.md, steps 12 and 13), as runc does; their failures are warnings. */
static void run_poststop(const struct berth_container *c)
{
        _autoerr_ struct berth_error *e = NULL;
        _autofree_ char *state = NULL;

        if (c->poststop.n == 0)
                return;
        state = berth_hook_state_json(c, "stopped", 0);
        if (berth_hooks_run(BERTH_HOOK_POSTSTOP, &c->poststop, state, c->bundle, &e) < 0)
                berth_warn("%s, continuing", e->msg);
}

int berth_container_create(const struct berth_create_opts *o, struct berth_container **ret,
                           struct berth_error **err)
{
        struct prep p = {.rootfd = -1, .sync = {-1, -1}};
        int r;

        r = berth_id_validate(o->id, err);
        if (r >= 0)
                r = berth_exe_check_sealed(err);
        if (r >= 0)
                r = check_passed_fds(o, err);
        if (r < 0)
                return r;
        p.c = xcalloc(1, sizeof(*p.c));
        p.c->root = xstrdup(o->root);
        p.c->id = xstrdup(o->id);
        p.c->pidfd = p.c->pty_master = p.c->dirfd = -1;
        for (int t = 0; t < BERTH_NS__MAX; t++)
                p.ctx.nsfds.fd[t] = -1;
        p.ctx.console_fd = p.ctx.fifo_fd = p.ctx.status_fd = -1;
        r = describe(&p, o, err);
        if (r >= 0)
                r = prepare_init(&p, o, err);
        if (r >= 0)
                r = make_state_dir(&p, err);
        if (r >= 0)
                r = make_cgroup(&p, err);
        if (r >= 0)
                r = clone_init(&p, err);
        if (r >= 0)
                r = handshake(&p, err);
        if (r >= 0)
                r = record(&p, o, err);
        prep_undo(&p, r < 0);
        if (r < 0) {
                if (p.cloned)
                        run_poststop(p.c);
                berth_container_free(p.c);
                return r;
        }
        p.c->status = BERTH_STATUS_CREATED;
        *ret = p.c;
        return 0;
}
