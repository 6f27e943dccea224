/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-oci run: create + start, then (unless --detach) stay in the foreground as runc does:
 * a child subreaper that forwards signals to the container's init, relays its terminal when it
 * has one and no console socket, waits for it, deletes it (unless --keep) and exits with its
 * exit code, or 128 + the signal that killed it.
 */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>

#include "container.h"
#include "log.h"
#include "oci.h"
#include "terminal.h"
#include "util.h"

enum {
        F_BUNDLE,
        F_CONSOLE_SOCKET,
        F_DETACH,
        F_KEEP,
        F_PID_FILE,
        F_NO_SUBREAPER,
        F_NO_PIVOT,
        F_NO_NEW_KEYRING,
        F_PRESERVE_FDS
};

static const struct oci_flag flags[] = {
    [F_BUNDLE] = {"bundle", 'b', true, OCI_USAGE_BUNDLE},
    [F_CONSOLE_SOCKET] = {"console-socket", 0, true, OCI_USAGE_CONSOLE_SOCKET},
    [F_DETACH] = {"detach", 'd', false, "detach from the container's process"},
    [F_KEEP] = {"keep", 0, false, "do not delete the container after it exits"},
    [F_PID_FILE] = {"pid-file", 0, true, OCI_USAGE_PID_FILE},
    [F_NO_SUBREAPER] = {"no-subreaper", 0, false,
                        "disable the use of the subreaper used to reap reparented processes"},
    [F_NO_PIVOT] = {"no-pivot", 0, false, OCI_USAGE_NO_PIVOT},
    [F_NO_NEW_KEYRING] = {"no-new-keyring", 0, false, OCI_USAGE_NO_NEW_KEYRING},
    [F_PRESERVE_FDS] = {"preserve-fds", 0, true, OCI_USAGE_PRESERVE_FDS},
};

struct runner {
        struct berth_container *c;
        int sfd;    /* signalfd of the forwarded signals and SIGCHLD */
        bool relay; /* still relaying the container's terminal */
};

/* runc's check of --console-socket that needs no config; the ones that depend on
 * process.terminal are create's (berth_container_create). */
static int check_console_socket(bool detach, const char *console_socket, struct berth_error **err)
{
        if (!detach && console_socket)
                return berth_error_setx(err, EINVAL,
                                        "cannot use console socket if " OCI_PROG " will not detach");
        return 0;
}

static int fill_opts(const struct oci_global *g, const struct oci_args *a,
                     struct berth_create_opts *o, struct berth_error **err)
{
        bool detach = oci_args_bool(a, F_DETACH);
        int r;

        *o = (struct berth_create_opts){
            .root = g->root,
            .id = a->pos[0],
            .bundle = a->values[F_BUNDLE] ? a->values[F_BUNDLE] : ".",
            .pid_file = a->values[F_PID_FILE],
            .console_socket = a->values[F_CONSOLE_SOCKET],
            .no_pivot = oci_args_bool(a, F_NO_PIVOT),
            .no_new_keyring = oci_args_bool(a, F_NO_NEW_KEYRING),
        };
        r = berth_id_validate(o->id, err);
        if (r < 0)
                return r;
        r = oci_parse_preserve_fds(a->values[F_PRESERVE_FDS], &o->preserve_fds, err);
        if (r < 0)
                return r;
        r = check_console_socket(detach, o->console_socket, err);
        if (r < 0)
                return r;
        /* relay the terminal ourselves if the config asks for one */
        o->foreground_tty = !o->console_socket && !detach;
        return 0;
}

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
static int open_signalfd(int *ret_fd, struct berth_error **err)
{
        sigset_t set;
        int fd;

        forwarded_set(&set);
        if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
                return berth_error_set(err, errno, "block signals");
        fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
        if (fd < 0)
                return berth_error_set(err, errno, "create signalfd");
        *ret_fd = fd;
        return 0;
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

/* Reaps exited children other than the init (we may be their subreaper); true once the init
 * itself has exited, which is left for berth_container_wait(). __WALL: the init may have been
 * cloned with an exit signal other than SIGCHLD. */
static bool reap_children(pid_t init)
{
        for (;;) {
                siginfo_t si = {0};

                if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT | __WALL) < 0 ||
                    si.si_pid == 0)
                        return false;
                if (si.si_pid == init)
                        return true;
                (void)waitpid(si.si_pid, NULL, __WALL);
        }
}

static bool init_exited(const struct berth_container *c)
{
        if (c->pidfd >= 0 && is_readable(c->pidfd, 0))
                return true;
        return reap_children(c->pid);
}

static void forward(struct berth_container *c, int sig)
{
        _autoerr_ struct berth_error *kerr = NULL;
        int r = berth_container_kill(c, sig, false, &kerr);

        if (r < 0 && r != -ESRCH)
                berth_warn("forward signal %d to the container: %s, ignoring", sig,
                           kerr ? kerr->msg : "unknown error");
}

/* Drains the signalfd, forwarding each signal; returns true once the init has exited. */
static int handle_signals(struct runner *rn, bool *ret_exited, struct berth_error **err)
{
        struct signalfd_siginfo si;

        for (;;) {
                ssize_t n = read(rn->sfd, &si, sizeof(si));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0 && errno == EAGAIN)
                        break;
                if (n != (ssize_t)sizeof(si))
                        return berth_error_set(err, n < 0 ? errno : EIO, "read signalfd");
                if (si.ssi_signo != SIGCHLD)
                        forward(rn->c, (int)si.ssi_signo);
        }
        *ret_exited = init_exited(rn->c);
        return 0;
}

/* Waits for a signal or, through its pidfd, for the init to exit. */
static void wait_event(const struct runner *rn)
{
        struct pollfd p[2] = {{.fd = rn->sfd, .events = POLLIN},
                              {.fd = rn->c->pidfd, .events = POLLIN}};

        while (poll(p, rn->c->pidfd >= 0 ? 2 : 1, -1) < 0 && errno == EINTR)
                ;
}

/* After the init exits, copies what the container wrote to its terminal and nobody read yet. */
static void drain_pty(int master)
{
        char buf[16384];
        int fl = fcntl(master, F_GETFL);
        ssize_t n;

        if (fl < 0 || fcntl(master, F_SETFL, fl | O_NONBLOCK) < 0)
                return;
        while ((n = read(master, buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR))
                if (n > 0 && write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
                        break;
}

/* Relays the terminal (while it lasts) and forwards signals until the init exits. */
static int wait_loop(struct runner *rn, struct berth_error **err)
{
        bool exited = false;
        int r;

        r = handle_signals(rn, &exited, err);
        while (r >= 0 && !exited) {
                if (rn->relay) {
                        _autoerr_ struct berth_error *rerr = NULL;

                        /* Returns when a signal is pending or the container hangs up the pty. */
                        if (berth_pty_relay(rn->c->pty_master, rn->sfd, &rerr) < 0) {
                                berth_warn("relay the container's terminal: %s, ignoring",
                                           rerr ? rerr->msg : "");
                                rn->relay = false;
                        } else if (!is_readable(rn->sfd, 0)) {
                                rn->relay = false;
                        }
                } else {
                        wait_event(rn);
                }
                r = handle_signals(rn, &exited, err);
        }
        if (rn->relay)
                drain_pty(rn->c->pty_master);
        return r;
}

static int exit_code(int status)
{
        if (WIFSIGNALED(status))
                return 128 + WTERMSIG(status);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

static void discard(struct berth_container *c)
{
        _autoerr_ struct berth_error *derr = NULL;

        if (berth_container_delete(c, true, &derr) < 0)
                oci_print_error(derr);
}

static int run_foreground(struct berth_container *c, int sfd, bool keep, struct berth_error **err)
{
        struct runner rn = {.c = c, .sfd = sfd, .relay = c->pty_master >= 0};
        int status = 0, r;

        r = berth_container_start(c, err);
        if (r >= 0)
                r = wait_loop(&rn, err);
        if (r >= 0)
                r = berth_container_wait(c, &status, err);
        if (r < 0) {
                discard(c);
                return r;
        }
        if (!keep)
                discard(c);
        return exit_code(status);
}

static int cmd_run(const struct oci_global *g, const struct oci_args *a, struct berth_error **err)
{
        _autocontainer_ struct berth_container *c = NULL;
        _autoclose_ int sfd = -EBADF;
        struct berth_create_opts o;
        bool detach = oci_args_bool(a, F_DETACH);
        int r;

        r = fill_opts(g, a, &o, err);
        if (r < 0)
                return r;
        /* Processes the container leaves behind are reparented to us and reaped by wait_loop. */
        if (!detach && !oci_args_bool(a, F_NO_SUBREAPER) && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                berth_warn("become a child subreaper: %s, ignoring", strerror(errno));
        if (!detach) {
                r = open_signalfd(&sfd, err);
                if (r < 0)
                        return r;
        }
        r = berth_container_create(&o, &c, err);
        if (r < 0)
                return r;
        if (!detach)
                return run_foreground(c, sfd, oci_args_bool(a, F_KEEP), err);
        r = berth_container_start(c, err);
        if (r < 0)
                discard(c);
        return r < 0 ? r : 0;
}

const struct oci_command oci_cmd_run = {
    .name = "run",
    .summary = "create and run a container",
    .usage = "[command options] <container-id>",
    .description = OCI_HELP_ID_NEW
    "\nDESCRIPTION:\n"
    "   The run command creates an instance of a container for a bundle. The bundle\n"
    "is a directory with a specification file named \"config.json\" and a root\n"
    "filesystem.\n\n"
    "The specification file includes an args parameter. The args parameter is used\n"
    "to specify command(s) that get run when the container is started. To change the\n"
    "command(s) that get executed on start, edit the args parameter of the spec. See\n"
    "\"" OCI_PROG " spec --help\" for more explanation.\n",
    .flags = flags,
    .n_flags = ARRAY_SIZE(flags),
    .min_args = 1,
    .max_args = 1,
    .needs_cgroups = true,
    .run = cmd_run,
};
