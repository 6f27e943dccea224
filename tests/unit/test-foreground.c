/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The foreground loop of `run` (foreground.c): each scenario runs in a forked child that plays the
 * runtime (it blocks and forwards signals, so the test runner's own mask is never touched) with
 * a grandchild as the container's process: signals forwarded to it, with and without a pidfd,
 * other children reaped on the way, its pty relayed to stdout, the wait status returned.
 */
#include <errno.h>
#include <fcntl.h>
#include <pty.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "fork-child.h"

#include "base/syscalls.h"
#include "base/util.h"
#include "runtime/foreground.h"

/* The container's process: signals back to default, unblocked, then `sh -c script`. */
static pid_t spawn(const char *script, int tty)
{
        pid_t pid = fork();

        if (pid == 0) {
                sigset_t none;

                sigemptyset(&none);
                sigprocmask(SIG_SETMASK, &none, NULL);
                if (tty >= 0) {
                        setsid();
                        dup2(tty, STDIN_FILENO);
                        dup2(tty, STDOUT_FILENO);
                        dup2(tty, STDERR_FILENO);
                }
                execl("/bin/sh", "sh", "-c", script, (char *) NULL);
                _exit(127);
        }
        return pid;
}

static bool blocked(int sig)
{
        sigset_t now;

        sigprocmask(SIG_BLOCK, NULL, &now);
        return sigismember(&now, sig);
}

/* A signal sent to the runtime reaches the process: with its pidfd (arg non-NULL) or by pid. */
static int forward_child(int msg_fd, void *arg)
{
        struct berth_foreground *f = NULL;
        _autoerr_ struct berth_error *err = NULL;
        int status = 0, pidfd = -1;
        pid_t pid;

        if (berth_foreground_begin(&f, &err) < 0) {
                child_send(msg_fd, err->msg);
                return 1;
        }
        /* forwarded signals are blocked; the synchronous faults never are */
        if (!blocked(SIGTERM) || !blocked(SIGINT) || !blocked(SIGHUP) || blocked(SIGSEGV) ||
            blocked(SIGWINCH))
                return 2;
        pid = spawn("sleep 100", -1);
        if (arg)
                pidfd = sys_pidfd_open(pid, 0);
        kill(getpid(), SIGTERM);
        if (berth_foreground_wait(f, pid, pidfd, -1, &status, &err) < 0) {
                child_send(msg_fd, err->msg);
                return 3;
        }
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGTERM)
                return 4;
        if (berth_exit_code(status) != 128 + SIGTERM)
                return 5;
        berth_foreground_end(f);
        /* the mask is what it was */
        return blocked(SIGTERM) ? 6 : 0;
}

static void signals_are_forwarded(void **state)
{
        char msg[256] = "";

        assert_child_ok(forward_child, NULL, msg);
        assert_child_ok(forward_child, (void *) 1, msg);
}

/* As a subreaper the runtime inherits orphans: they are reaped while it waits. */
static int reap_child(int msg_fd, void *arg)
{
        struct berth_foreground *f = NULL;
        _autoerr_ struct berth_error *err = NULL;
        int status = 0;
        pid_t other, pid;

        if (berth_foreground_begin(&f, &err) < 0)
                return 1;
        other = spawn("exit 0", -1);
        pid = spawn("sleep 0.2; exit 5", -1);
        if (berth_foreground_wait(f, pid, -1, -1, &status, &err) < 0) {
                child_send(msg_fd, err->msg);
                return 2;
        }
        berth_foreground_end(f);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 5 || berth_exit_code(status) != 5)
                return 3;
        /* reaped by the loop */
        return waitpid(other, NULL, WNOHANG) < 0 && errno == ECHILD ? 0 : 4;
}

static void other_children_are_reaped(void **state)
{
        char msg[256] = "";

        assert_child_ok(reap_child, NULL, msg);
}

/* The process's terminal is copied to our stdout (here the message pipe), what it wrote before it
 * exited included. */
static int pty_child(int msg_fd, void *arg)
{
        struct berth_foreground *f = NULL;
        _autoerr_ struct berth_error *err = NULL;
        int master, slave, status = 0, null = open("/dev/null", O_RDONLY | O_CLOEXEC);
        pid_t pid;

        if (openpty(&master, &slave, NULL, NULL, NULL) < 0 || null < 0)
                return 77;
        dup2(null, STDIN_FILENO);
        dup2(msg_fd, STDOUT_FILENO);
        if (berth_foreground_begin(&f, &err) < 0)
                return 1;
        pid = spawn("echo from the container; exit 3", slave);
        close(slave);
        if (berth_foreground_wait(f, pid, -1, master, &status, &err) < 0)
                return 2;
        berth_foreground_end(f);
        close(master);
        return WIFEXITED(status) && WEXITSTATUS(status) == 3 ? 0 : 3;
}

static void pty_is_relayed(void **state)
{
        char msg[256] = "";
        int rc = run_in_child(pty_child, NULL, msg, sizeof(msg));

        if (rc == 77)
                skip();
        assert_int_equal(rc, 0);
        assert_string_equal(msg, "from the container\r\n");
}

static void exit_codes(void **state)
{
        assert_int_equal(berth_exit_code(0), 0);
        assert_int_equal(berth_exit_code(3 << 8), 3);
        assert_int_equal(berth_exit_code(SIGKILL), 137);
        assert_int_equal(berth_exit_code(SIGTERM | 0x80), 143); /* with a core dump */
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(exit_codes),
            cmocka_unit_test(signals_are_forwarded),
            cmocka_unit_test(other_children_are_reaped),
            cmocka_unit_test(pty_is_relayed),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
