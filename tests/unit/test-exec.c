/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth_container_exec() for real (exec.c), into "containers" the test makes itself: a child of
 * the test as the init, in new UTS and pid namespaces or in none, with a bundle whose config.json
 * names them. The exec process is cloned, joins them through the init's pidfd, sets itself up and
 * execs; the test checks what it saw (files it writes), its exit status, the 126/127 answers for a
 * program that cannot run, the pty it hands back, the fds it gets, and the refusals.
 *
 * exec refuses to clone from a writable binary, so the test seals itself first, as a front end
 * does (main re-executes it from a read-only view of its binary), and runs in a mount namespace
 * of its own where /sys/fs/cgroup is an empty tmpfs: the containers have no cgroup, and no cgroup
 * of the host's is ever written.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "base/syscalls.h"
#include "base/util.h"
#include "runtime/exec.h"
#include "runtime/selfexe.h"
#include "runtime/state.h"

#define V(...) ((char *[]){__VA_ARGS__, NULL})

static char tmp[] = "/tmp/berth-test-exec.XXXXXX";

struct ctr {
        struct berth_container *c;
        struct berth_spec *spec;
        pid_t child; /* our child: the init, or the parent of an init in a new pid namespace */
        int pidfd;   /* the init's */
};

static char *path_of(const char *name)
{
        return xasprintf("%s/%s", tmp, name);
}

static char *read_text(const char *path)
{
        char *text = NULL;

        if (berth_read_file_at(AT_FDCWD, path, 0, &text, NULL, NULL) < 0)
                return NULL;
        return text;
}

static int reap(pid_t pid)
{
        int status = 0;

        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        return status;
}

/* The init: sleeps until killed, as "inside" in its own UTS namespace when uts. */
static void __attribute__((noreturn)) init_main(bool uts)
{
        if (uts && sethostname("inside", 6) < 0)
                _exit(3);
        execl("/bin/sleep", "sleep", "1000", (char *) NULL);
        _exit(127);
}

/*
 * A running container "id" with the given linux.namespaces (JSON) whose init has them: "uts"
 * and/or "pid" are made new for it (pid: the init is pid 1 there, a grandchild of the test).
 */
static void ctr_start(struct ctr *t, const char *id, bool uts, bool pid)
{
        _autofree_ char *bundle = path_of(id), *config = NULL, *json = NULL;
        _autoerr_ struct berth_error *err = NULL;
        int flags = (uts ? CLONE_NEWUTS : 0) | (pid ? CLONE_NEWPID : 0);
        int report[2], fd;
        pid_t init;

        json = xasprintf("{\"ociVersion\": \"1.2.0\", \"process\": {\"args\": [\"/bin/true\"], "
                         "\"cwd\": \"/\", \"env\": [\"PATH=/usr/bin:/bin\"]}, \"root\": "
                         "{\"path\": \"/\"}, \"linux\": {\"namespaces\": [%s%s%s]}}",
                         uts ? "{\"type\": \"uts\"}" : "", uts && pid ? ", " : "",
                         pid ? "{\"type\": \"pid\"}" : "");
        assert_int_equal(mkdir(bundle, 0755), 0);
        config = xasprintf("%s/config.json", bundle);
        fd = open(config, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write_all(fd, json, strlen(json)), 0);
        close(fd);
        assert_int_equal(berth_spec_load(AT_FDCWD, config, &t->spec, &err), 0);

        assert_int_equal(pipe2(report, O_CLOEXEC), 0);
        t->child = fork();
        assert_true(t->child >= 0);
        if (t->child == 0) {
                pid_t inner;

                if (unshare(flags) < 0)
                        _exit(2);
                if (!pid) {
                        inner = getpid();
                        (void) !write(report[1], &inner, sizeof(inner));
                        init_main(uts);
                }
                inner = fork();
                if (inner == 0)
                        init_main(uts);
                (void) !write(report[1], &inner, sizeof(inner));
                _exit(WEXITSTATUS(reap(inner)));
        }
        close(report[1]);
        assert_int_equal(read(report[0], &init, sizeof(init)), (ssize_t) sizeof(init));
        close(report[0]);
        t->pidfd = sys_pidfd_open(init, 0);
        assert_true(t->pidfd >= 0);
        t->c = xcalloc(1, sizeof(*t->c));
        t->c->root = xstrdup(tmp);
        t->c->id = xstrdup(id);
        t->c->bundle = xstrdup(bundle);
        t->c->pid = init;
        t->c->pidfd = t->c->pty_master = t->c->dirfd = -1;
        t->c->status = BERTH_STATUS_RUNNING;
        assert_int_equal(berth_proc_starttime(init, &t->c->pid_start, NULL), 0);
}

static void ctr_stop(struct ctr *t)
{
        sys_pidfd_send_signal(t->pidfd, SIGKILL, NULL, 0);
        close(t->pidfd);
        reap(t->child);
        berth_container_free(t->c);
        berth_spec_free(t->spec);
}

/* Runs p in t; returns its wait status (the exec must succeed). */
static int exec_wait(struct ctr *t, const struct berth_process *p, const struct berth_exec_opts *o)
{
        struct berth_exec_opts none = {0};
        struct berth_exec_result res = {0};
        _autoerr_ struct berth_error *err = NULL;
        int failure = -1;

        if (berth_container_exec(t->c, p, o ? o : &none, &res, &failure, &err) < 0)
                fail_msg("exec: %s", err->msg);
        assert_int_equal(failure, 0);
        assert_true(res.pid > 0 && res.pidfd >= 0);
        assert_int_equal(res.pty_master, -1);
        close(res.pidfd);
        return reap(res.pid);
}

static struct berth_process process_of(const struct ctr *t, char **args)
{
        struct berth_process p = t->spec->process;

        p.args = args;
        return p;
}

/* ---- the tests ------------------------------------------------------------------------------ */

static void runs_in_the_containers_namespaces(void **state)
{
        _autofree_ char *out = path_of("ns.out"), *script = NULL, *got = NULL;
        struct ctr t;
        struct berth_process p;
        int status;

        ctr_start(&t, "ns", true, true);
        script = xasprintf("echo $(hostname) $$ $X > %s; exit 3", out);
        p = process_of(&t, V("/bin/sh", "-c", script));
        p.env = V("PATH=/usr/bin:/bin", "X=from-env");
        status = exec_wait(&t, &p, NULL);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 3);
        got = read_text(out);
        /* its hostname, and pid 2 of the container's pid namespace (the init is 1) */
        assert_string_equal(got, "inside 2 from-env\n");
        ctr_stop(&t);
}

/* runc's exit statuses for a program that cannot be run: 127 not found, 126 not executable. */
static void program_that_cannot_run(void **state)
{
        _autofree_ char *file = path_of("not-executable");
        struct berth_exec_opts o = {0};
        struct berth_exec_result res = {.pid = -1};
        _autoerr_ struct berth_error *err = NULL;
        struct berth_process p;
        struct ctr t;
        int failure = -1;

        ctr_start(&t, "bad", false, false);
        close(open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
        p = process_of(&t, V("/nonexistent/prog"));
        assert_int_equal(berth_container_exec(t.c, &p, &o, &res, &failure, &err), -ENOEXEC);
        assert_int_equal(failure, 127);
        assert_string_equal(err->msg, "exec in container \"bad\": exec: \"/nonexistent/prog\": No "
                                      "such file or directory");
        p = process_of(&t, V(file));
        assert_int_equal(berth_container_exec(t.c, &p, &o, &res, &failure, &err), -ENOEXEC);
        assert_int_equal(failure, 126);
        assert_non_null(strstr(err->msg, "Permission denied"));
        p = process_of(&t, V("no-such-program-in-path"));
        assert_int_equal(berth_container_exec(t.c, &p, &o, &res, &failure, &err), -ENOEXEC);
        assert_int_equal(failure, 127);
        assert_string_equal(err->msg, "exec in container \"bad\": exec: "
                                      "\"no-such-program-in-path\": executable file not found in "
                                      "$PATH");
        assert_int_equal(res.pid, -1); /* untouched on failure */
        ctr_stop(&t);
}

static void refusals_before_anything_runs(void **state)
{
        _autofree_ char *fifo = path_of("pid.fifo");
        struct berth_exec_opts console = {.console_socket = "/nonexistent.sock"};
        struct berth_exec_opts pid_fifo = {.pid_file = fifo};
        struct berth_exec_result res = {.pid = -1};
        _autoerr_ struct berth_error *err = NULL;
        struct berth_process p;
        struct ctr t;
        int failure = -1;

        ctr_start(&t, "refused", false, false);
        p = process_of(&t, V("/bin/true"));
        assert_int_equal(berth_container_exec(t.c, &p, &console, &res, &failure, &err), -EINVAL);
        assert_string_equal(err->msg, "exec in container \"refused\": --console-socket needs a "
                                      "terminal (--tty or process.terminal)");
        assert_int_equal(mkfifo(fifo, 0600), 0);
        assert_int_equal(berth_container_exec(t.c, &p, &pid_fifo, &res, &failure, &err), -EEXIST);
        assert_non_null(strstr(err->msg, "a FIFO is there, not a regular file"));
        t.c->status = BERTH_STATUS_STOPPED;
        assert_int_equal(berth_container_exec(t.c, &p, &pid_fifo, &res, &failure, &err), -EINVAL);
        assert_string_equal(err->msg,
                            "exec in container \"refused\": cannot exec in a stopped container");
        t.c->status = BERTH_STATUS_PAUSED;
        assert_int_equal(berth_container_exec(t.c, &p, &pid_fifo, &res, &failure, &err), -EINVAL);
        assert_string_equal(err->msg, "exec in container \"refused\": cannot exec in a paused "
                                      "container (resume it, or use --ignore-paused to override)");
        /* an init that is gone (or a reused pid) */
        t.c->status = BERTH_STATUS_RUNNING;
        t.c->pid_start++;
        assert_int_equal(
            berth_container_exec(t.c, &p, &(struct berth_exec_opts){0}, &res, &failure, &err),
            -ESRCH);
        assert_string_equal(err->msg, "exec in container \"refused\": container \"refused\" is not "
                                      "running");
        assert_int_equal(res.pid, -1);
        ctr_stop(&t);
}

static void pid_file_and_oom_score_adj(void **state)
{
        _autofree_ char *pid_file = path_of("exec.pid"), *out = path_of("oom.out");
        _autofree_ char *script = NULL, *got = NULL, *pid_text = NULL;
        struct berth_exec_opts o = {.pid_file = pid_file};
        struct berth_exec_result res = {0};
        _autoerr_ struct berth_error *err = NULL;
        struct berth_process p;
        struct ctr t;
        int failure = -1;

        ctr_start(&t, "pidfile", false, false);
        script = xasprintf("cat /proc/self/oom_score_adj > %s", out);
        p = process_of(&t, V("/bin/sh", "-c", script));
        p.has_oom_score_adj = true;
        p.oom_score_adj = 123;
        assert_int_equal(berth_container_exec(t.c, &p, &o, &res, &failure, &err), 0);
        pid_text = read_text(pid_file);
        assert_non_null(pid_text);
        assert_int_equal(atoi(pid_text), res.pid);
        close(res.pidfd);
        assert_true(WIFEXITED(reap(res.pid)));
        got = read_text(out);
        assert_string_equal(got, "123\n");
        ctr_stop(&t);
}

/* The process gets stdio and the --preserve-fds ones; any other fd the runtime had open, with or
 * without close-on-exec, is closed before it enters the container. */
static void only_preserved_fds_pass(void **state)
{
        struct berth_exec_opts o = {.preserve_fds = 1};
        struct berth_process p;
        struct ctr t;
        int passed[2], other[2], saved3 = -1, status;
        char buf[64] = "";
        ssize_t n;

        ctr_start(&t, "fds", false, false);
        assert_int_equal(pipe(passed), 0);
        assert_int_equal(pipe(other), 0);
        if (fcntl(3, F_GETFD) >= 0)
                saved3 = fcntl(3, F_DUPFD_CLOEXEC, 10);
        assert_int_equal(dup2(passed[1], 3), 3);
        p = process_of(
            &t, V("/bin/sh", "-c", xasprintf("echo passed >&3; echo leaked >&%d", other[1])));
        status = exec_wait(&t, &p, &o);
        assert_true(WIFEXITED(status));
        if (saved3 >= 0) {
                dup2(saved3, 3);
                close(saved3);
        } else {
                close(3);
        }
        close(passed[1]);
        close(other[1]);
        n = read(passed[0], buf, sizeof(buf) - 1);
        assert_int_equal(n, 7);
        assert_memory_equal(buf, "passed\n", 7);
        assert_int_equal(read(other[0], buf, sizeof(buf)), 0);
        close(passed[0]);
        close(other[0]);
        free(p.args[2]);
        ctr_stop(&t);
}

/* A terminal and no console socket (a foreground exec): the pty master comes back. */
static void terminal_comes_back(void **state)
{
        struct berth_exec_opts o = {.foreground_tty = true};
        struct berth_exec_result res = {0};
        _autoerr_ struct berth_error *err = NULL;
        struct berth_process p;
        struct ctr t;
        char buf[64] = "";
        size_t n = 0;
        ssize_t k;
        int failure = -1;

        ctr_start(&t, "tty", false, false);
        p = process_of(&t, V("/bin/sh", "-c", "test -t 0 && test -t 1 && echo on-a-tty"));
        p.terminal = true;
        assert_int_equal(berth_container_exec(t.c, &p, &o, &res, &failure, &err), 0);
        assert_true(res.pty_master >= 0);
        while (n < sizeof(buf) - 1 && (k = read(res.pty_master, buf + n, sizeof(buf) - 1 - n)) > 0)
                n += (size_t) k;
        assert_string_equal(buf, "on-a-tty\r\n");
        close(res.pty_master);
        close(res.pidfd);
        assert_int_equal(WEXITSTATUS(reap(res.pid)), 0);
        ctr_stop(&t);
}

static void the_bundles_config_is_read(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        struct berth_container c = {.id = "gone", .bundle = "/nonexistent-bundle"};
        struct berth_spec *spec = NULL;

        assert_int_equal(berth_container_spec(&c, &spec, &err), -ENOENT);
        assert_string_equal(err->msg, "open bundle /nonexistent-bundle of container \"gone\": No "
                                      "such file or directory");
        assert_null(spec);
}

static int setup(void **state)
{
        return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void **state)
{
        _autofree_ char *cmd = xasprintf("rm -rf '%s'", tmp);

        return system(cmd) == 0 ? 0 : -1;
}

int main(int argc, char **argv)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(runs_in_the_containers_namespaces),
            cmocka_unit_test(program_that_cannot_run),
            cmocka_unit_test(refusals_before_anything_runs),
            cmocka_unit_test(pid_file_and_oom_score_adj),
            cmocka_unit_test(only_preserved_fds_pass),
            cmocka_unit_test(terminal_comes_back),
            cmocka_unit_test(the_bundles_config_is_read),
        };
        _autoerr_ struct berth_error *err = NULL;
        char *again[] = {argv[0], NULL};

        if (geteuid() != 0) {
                printf("1..0 # SKIP needs root (namespaces, the sealed binary)\n");
                return 77;
        }
        /* as a front end does before exec: re-executes from a read-only view of the binary */
        if (berth_exe_seal(again, "/tmp", &err) < 0) {
                printf("1..0 # SKIP %s\n", err->msg);
                return 77;
        }
        /* Never a cgroup of the host's: /sys/fs/cgroup is an empty tmpfs in a mount namespace of
         * the test's own. */
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("tmpfs", "/sys/fs/cgroup", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
                printf("1..0 # SKIP a mount namespace of its own: %s\n", strerror(errno));
                return 77;
        }
        return cmocka_run_group_tests(tests, setup, teardown);
}
