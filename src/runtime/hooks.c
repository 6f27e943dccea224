/* SPDX-License-Identifier: Apache-2.0 */
#include <ctype.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "runtime/hooks.h"
#include "base/log.h"
#include "base/syscalls.h"
#include "base/util.h"

/* The state is put into the hook's stdin before the hook starts, and the write end is closed: a
 * hook that never reads cannot block us, and a hook that exits early cannot raise SIGPIPE here.
 * A pipe takes the state when it fits (64 KiB by default, more after F_SETPIPE_SZ); anything
 * larger goes through a memfd, which reads the same. */
static int state_in_pipe(const char *state, size_t len)
{
        _autoclose_ int rfd = -EBADF, wfd = -EBADF;
        int p[2];

        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        rfd = p[0];
        wfd = p[1];
        if (len > 65536 && fcntl(wfd, F_SETPIPE_SZ, (int) len) < 0)
                return -errno;
        /* Non-blocking: a pipe shrunk by pipe-user-pages-soft makes this EAGAIN, not a hang. */
        if (fcntl(wfd, F_SETFL, O_NONBLOCK) < 0 || write_all(wfd, state, len) < 0)
                return -errno;
        return steal_fd(&rfd);
}

static int state_in_memfd(const char *state, size_t len, struct berth_error **err)
{
        _autoclose_ int fd = memfd_create("berth-hook-state", MFD_CLOEXEC);

        if (fd < 0)
                return berth_error_set(err, errno, "memfd_create for the hook state");
        if (write_all(fd, state, len) < 0 || lseek(fd, 0, SEEK_SET) < 0)
                return berth_error_set(err, errno, "write the hook state (%zu bytes)", len);
        return steal_fd(&fd);
}

static int state_fd(const char *state, struct berth_error **err)
{
        size_t len = strlen(state);
        int fd = state_in_pipe(state, len);

        return fd >= 0 ? fd : state_in_memfd(state, len, err);
}

/* posix_spawn: a vfork-like clone in glibc, and exec errors come back as its return value.
 * cwd_fd: the directory the hook starts in, or -1 for ours. A hook without "env" gets the
 * runtime's environment, as runc's and crun's do (Go's exec.Cmd with a nil Env). */
static int spawn_hook(const struct berth_hook *h, int stdin_fd, int cwd_fd, pid_t *ret_pid)
{
        char *default_argv[] = {h->path, NULL};
        posix_spawn_file_actions_t fa;
        posix_spawnattr_t attr;
        sigset_t none, all;
        int r;

        sigemptyset(&none);
        sigfillset(&all);
        posix_spawn_file_actions_init(&fa);
        posix_spawnattr_init(&attr);
        /* Before the fds above stderr are closed: cwd_fd is one of them. */
        r = cwd_fd >= 0 ? posix_spawn_file_actions_addfchdir_np(&fa, cwd_fd) : 0;
        /* stdout and stderr stay the caller's; every other fd is closed in the hook. */
        if (r == 0)
                r = posix_spawn_file_actions_adddup2(&fa, stdin_fd, STDIN_FILENO);
        if (r == 0)
                r = posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
        /* Blocked or ignored signals of the runtime must not leak into the hook. */
        if (r == 0)
                r = posix_spawnattr_setsigmask(&attr, &none);
        if (r == 0)
                r = posix_spawnattr_setsigdefault(&attr, &all);
        if (r == 0)
                r = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        if (r == 0)
                r = posix_spawn(ret_pid, h->path, &fa, &attr, h->args ? h->args : default_argv,
                                h->env ? h->env : environ);
        posix_spawn_file_actions_destroy(&fa);
        posix_spawnattr_destroy(&attr);
        return -r;
}

static int reap(pid_t pid, int *ret_status)
{
        while (waitpid(pid, ret_status, 0) < 0)
                if (errno != EINTR)
                        return -errno;
        return 0;
}

/* Waits until the hook exits or `timeout` seconds (0: none) pass. Returns 1 on exit, 0 on
 * timeout, -errno on failure. */
static int wait_exit(int pidfd, int timeout)
{
        struct pollfd p = {.fd = pidfd, .events = POLLIN};
        uint64_t deadline = berth_now_us() + (uint64_t) timeout * 1000000u;

        if (timeout <= 0)
                return 1;
        for (;;) {
                uint64_t now = berth_now_us();
                int r;

                if (now >= deadline)
                        return 0;
                r = poll(&p, 1, (int) ((deadline - now + 999) / 1000));
                if (r > 0)
                        return 1;
                if (r < 0 && errno != EINTR)
                        return -errno;
        }
}

/* Waits for the hook (killing it with SIGKILL on timeout) and reaps it in every case. */
static int wait_hook(pid_t pid, int timeout, int *ret_status, struct berth_error **err)
{
        _autoclose_ int pidfd = timeout > 0 ? sys_pidfd_open(pid, 0) : -EBADF;
        int r = 1, e;

        if (timeout > 0 && pidfd < 0) {
                e = errno;
                kill(pid, SIGKILL);
                reap(pid, ret_status);
                return berth_error_set(err, e, "pidfd_open %d", (int) pid);
        }
        r = wait_exit(pidfd, timeout);
        if (r <= 0)
                sys_pidfd_send_signal(pidfd, SIGKILL, NULL, 0);
        e = reap(pid, ret_status);
        if (e < 0)
                return berth_error_set(err, -e, "wait for pid %d", (int) pid);
        if (r < 0)
                return berth_error_set(err, -r, "wait for pid %d", (int) pid);
        if (r == 0)
                return berth_error_setx(err, ETIMEDOUT, "timed out after %d s", timeout);
        return 0;
}

static int check_status(int status, struct berth_error **err)
{
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        if (WIFEXITED(status))
                return berth_error_setx(err, EIO, "exited with status %d", WEXITSTATUS(status));
        if (WIFSIGNALED(status)) {
                const char *name = sigabbrev_np(WTERMSIG(status));
                const char *descr = sigdescr_np(WTERMSIG(status));

                /* "bad system call", as runc says it (its seccomp.bats greps for it) */
                return berth_error_setx(err, EIO, "killed by signal %d (SIG%s: %c%s)",
                                        WTERMSIG(status), name ? name : "?",
                                        descr ? tolower((unsigned char) descr[0]) : '?',
                                        descr ? descr + 1 : "");
        }
        return berth_error_setx(err, EIO, "unexpected wait status 0x%x", (unsigned) status);
}

static int run_hook(const struct berth_hook *h, const char *state, int cwd_fd,
                    struct berth_error **err)
{
        _autoclose_ int in = -EBADF;
        pid_t pid;
        int r, status = 0;

        in = state_fd(state, err);
        if (in < 0)
                return in;
        r = spawn_hook(h, in, cwd_fd, &pid);
        if (r < 0)
                return berth_error_set(err, -r, "exec");
        closep(&in);
        r = wait_hook(pid, h->timeout, &status, err);
        if (r < 0)
                return r;
        return check_status(status, err);
}

/* runtime.md lifecycle 9 and 13: a failing poststart or poststop hook "MUST log a warning, but
 * the remaining hooks and lifecycle continue as if the hook had succeeded". */
static bool failure_is_warning(int kind)
{
        return kind == BERTH_HOOK_POSTSTART || kind == BERTH_HOOK_POSTSTOP;
}

/* The hooks' working directory; -1 (the caller's) when there is none or it cannot be opened. */
static int open_cwd(const char *cwd)
{
        uint64_t t = TRACE_T0();
        int fd;

        if (!cwd)
                return -1;
        fd = open(cwd, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                TRACE(t, "hooks: open %s: %s, running them in our working directory", cwd,
                      strerror(errno));
        return fd < 0 ? -1 : fd;
}

int berth_hooks_run(int kind, const struct berth_hook_list *hooks, const char *state_json,
                    const char *cwd, struct berth_error **err)
{
        const char *kind_name = berth_hook_kind_name(kind);
        _autoclose_ int cwd_fd = hooks->n ? open_cwd(cwd) : -EBADF;

        for (size_t i = 0; i < hooks->n; i++) {
                const struct berth_hook *h = &hooks->v[i];
                _autoerr_ struct berth_error *e = NULL;
                uint64_t t = TRACE_T0();
                int r;

                r = run_hook(h, state_json ? state_json : "", cwd_fd, &e);
                if (r < 0) {
                        /* runc's "error running hook #N", which its tests look for */
                        berth_error_prefix(&e, "error running hook #%zu (%s, %s)", i, kind_name,
                                           h->path);
                        if (failure_is_warning(kind)) {
                                berth_warn("%s, continuing", e->msg);
                                continue;
                        }
                        if (err) {
                                berth_error_free(*err);
                                *err = steal_ptr(&e);
                        }
                        return r;
                }
                TRACE(t, "%s hook #%zu (%s)", kind_name, i, h->path);
        }
        return 0;
}
