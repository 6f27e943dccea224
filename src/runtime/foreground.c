/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The foreground loop of `berth-oci run` and `berth run`: forward signals to the container's
 * process, relay its pty, reap the children we inherit as a subreaper, wait for it.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

#include "runtime/foreground.h"
#include "base/log.h"
#include "base/syscalls.h"
#include "runtime/terminal.h"
#include "base/util.h"

struct berth_foreground {
        int sfd;        /* signalfd of the forwarded signals and SIGCHLD */
        sigset_t saved; /* the mask before begin */
};

/* What one wait is about. */
struct fg_wait {
        int sfd;
        pid_t pid;
        int pidfd;      /* -1: none */
        int pty_master; /* -1: none */
        bool relay;     /* still relaying the terminal */
};

/* Every signal a process may catch is forwarded, except SIGCHLD (ours to reap), SIGWINCH (the pty
 * relay resizes the terminal itself), SIGURG (runc skips it too), and the synchronous faults,
 * which must never be blocked. sigfillset() leaves out glibc's internal realtime signals. */
static void forwarded_set(sigset_t *set)
{
        static const int keep_out[] = {SIGKILL, SIGSTOP, SIGWINCH, SIGURG,  SIGSEGV,
                                       SIGBUS,  SIGILL,  SIGFPE,   SIGTRAP, SIGSYS};

        sigfillset(set);
        for (size_t i = 0; i < ARRAY_SIZE(keep_out); i++)
                sigdelset(set, keep_out[i]);
}

/* Blocked before create, so no signal is lost: the init and the hooks reset their signal mask and
 * dispositions before exec. */
int berth_foreground_begin(struct berth_foreground **ret, struct berth_error **err)
{
        struct berth_foreground *f = xcalloc(1, sizeof(*f));
        sigset_t set;

        forwarded_set(&set);
        if (sigprocmask(SIG_BLOCK, &set, &f->saved) < 0) {
                free(f);
                return berth_error_set(err, errno, "block signals");
        }
        f->sfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
        if (f->sfd < 0) {
                int e = errno;

                sigprocmask(SIG_SETMASK, &f->saved, NULL);
                free(f);
                return berth_error_set(err, e, "create signalfd");
        }
        *ret = f;
        return 0;
}

void berth_foreground_end(struct berth_foreground *f)
{
        if (!f)
                return;
        closep(&f->sfd);
        sigprocmask(SIG_SETMASK, &f->saved, NULL);
        free(f);
}

static bool is_readable(int fd, int timeout_ms)
{
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r;

        do
                r = poll(&p, 1, timeout_ms);
        while (r < 0 && errno == EINTR);
        return r > 0;
}

/* Reaps exited children other than pid (we may be their subreaper); true once pid itself has
 * exited, which is left for the final waitpid(). __WALL: the init may have been cloned with an
 * exit signal other than SIGCHLD. */
static bool reap_children(pid_t pid)
{
        for (;;) {
                siginfo_t si = {0};

                if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT | __WALL) < 0 ||
                    si.si_pid == 0)
                        return false;
                if (si.si_pid == pid)
                        return true;
                (void) waitpid(si.si_pid, NULL, __WALL);
        }
}

static bool has_exited(const struct fg_wait *w)
{
        if (w->pidfd >= 0 && is_readable(w->pidfd, 0))
                return true;
        return reap_children(w->pid);
}

static void forward(const struct fg_wait *w, int sig)
{
        int r = w->pidfd >= 0 ? sys_pidfd_send_signal(w->pidfd, sig, NULL, 0) : kill(w->pid, sig);

        if (r < 0 && errno != ESRCH)
                berth_warn("forward signal %d to the container (pid %d): %s, ignoring", sig,
                           (int) w->pid, strerror(errno));
}

/* Drains the signalfd, forwarding each signal; *ret_exited once the process has exited. */
static int handle_signals(const struct fg_wait *w, bool *ret_exited, struct berth_error **err)
{
        struct signalfd_siginfo si;

        for (;;) {
                ssize_t n = read(w->sfd, &si, sizeof(si));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        break;
                if (n != (ssize_t) sizeof(si))
                        return berth_error_set(err, n < 0 ? errno : EIO, "read signalfd");
                if (si.ssi_signo != SIGCHLD)
                        forward(w, (int) si.ssi_signo);
        }
        *ret_exited = has_exited(w);
        return 0;
}

/* Waits for a signal or, through its pidfd, for the process to exit. */
static void wait_event(const struct fg_wait *w)
{
        struct pollfd p[2] = {{.fd = w->sfd, .events = POLLIN}, {.fd = w->pidfd, .events = POLLIN}};

        while (poll(p, w->pidfd >= 0 ? 2 : 1, -1) < 0 && errno == EINTR)
                ;
}

/* After the process exits, copies what it wrote to its terminal and nobody read yet. */
static void drain_pty(int master)
{
        char buf[16384];
        int fl = fcntl(master, F_GETFL);
        ssize_t n;

        if (fl < 0 || fcntl(master, F_SETFL, fl | O_NONBLOCK) < 0)
                return;
        while ((n = read(master, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
                if (n > 0 && write_all(STDOUT_FILENO, buf, (size_t) n) < 0)
                        break;
}

/* Relays the terminal (while it lasts) and forwards signals until the process exits. */
static int wait_loop(struct fg_wait *w, struct berth_error **err)
{
        bool exited = false;
        int r;

        r = handle_signals(w, &exited, err);
        while (r >= 0 && !exited) {
                if (w->relay) {
                        _autoerr_ struct berth_error *rerr = NULL;

                        /* Returns when a signal is pending or the container hangs up the pty. */
                        if (berth_pty_relay(w->pty_master, w->sfd, &rerr) < 0) {
                                berth_warn("relay the container's terminal: %s, ignoring",
                                           rerr ? rerr->msg : "");
                                w->relay = false;
                        } else if (!is_readable(w->sfd, 0)) {
                                w->relay = false;
                        }
                } else {
                        wait_event(w);
                }
                r = handle_signals(w, &exited, err);
        }
        if (w->relay)
                drain_pty(w->pty_master);
        return r;
}

int berth_foreground_wait(struct berth_foreground *f, pid_t pid, int pidfd, int pty_master,
                          int *ret_status, struct berth_error **err)
{
        struct fg_wait w = {.sfd = f->sfd,
                            .pid = pid,
                            .pidfd = pidfd,
                            .pty_master = pty_master,
                            .relay = pty_master >= 0};
        int status, r;

        r = wait_loop(&w, err);
        if (r < 0)
                return r;
        while (waitpid(pid, &status, __WALL) < 0)
                if (errno != EINTR)
                        return berth_error_set(err, errno, "wait for pid %d", (int) pid);
        *ret_status = status;
        return 0;
}

int berth_exit_code(int wait_status)
{
        if (WIFSIGNALED(wait_status))
                return 128 + WTERMSIG(wait_status);
        return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 1;
}
