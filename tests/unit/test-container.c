/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A container's lifecycle after create (container.c): start, kill, wait, delete, list, the state
 * JSON and the refusals, on a state root in a temp dir. The "init" is a child of the test that
 * does what a created init does: it holds exec.fifo and exec.status open read-write, blocks on the
 * fifo, then execs sleep (EOF on exec.status) or writes why it cannot. The containers have no
 * cgroup (cgroupPath absent), so no cgroup of the host is ever opened for writing.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "base/log.h"
#include "base/util.h"
#include "runtime/container.h"
#include "runtime/init.h"
#include "runtime/state.h"
#include "spec/resources.h"

static char tmp[] = "/tmp/berth-test-container.XXXXXX";
static char *root; /* the state root of the test: tmp, or a directory in it */
static char warnings[4096];

static void keep_warning(enum berth_log_level level, const char *msg, void *userdata)
{
        size_t n = strlen(warnings);

        if (level == BERTH_LOG_WARN)
                snprintf(warnings + n, sizeof(warnings) - n, "%s\n", msg);
}

static int setup(void **state)
{
        berth_log_set_handler(keep_warning, NULL);
        root = tmp;
        return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void **state)
{
        _autofree_ char *cmd = xasprintf("rm -rf '%s'", tmp);

        berth_log_set_handler(NULL, NULL);
        return system(cmd) == 0 ? 0 : -1;
}

static char *path_of(const char *name)
{
        return xasprintf("%s/%s", root, name);
}

static char *read_text(const char *path)
{
        char *text = NULL;

        if (berth_read_file_at(AT_FDCWD, path, 0, &text, NULL, NULL) < 0)
                return NULL;
        return text;
}

/* The state dir of "id", made as create makes it; its fd. */
static int state_dir(const char *id)
{
        _autoerr_ struct berth_error *err = NULL;
        _autoclose_ int rootfd = -EBADF;
        int dirfd = -1;

        assert_int_equal(berth_state_root_open(root, &rootfd, &err), 0);
        assert_int_equal(berth_state_dir_create(rootfd, id, &dirfd, &err), 0);
        return dirfd;
}

/* state.json in dirfd for a container whose init is pid (0: never started), with the given
 * poststart and poststop hooks (JSON, or NULL). */
static void write_state(int dirfd, const char *id, pid_t pid, const char *poststart,
                        const char *poststop)
{
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *cid = xstrdup(id);
        struct berth_container c = {.root = root, .id = cid, .pid = pid, .dirfd = dirfd};

        if (pid > 0)
                assert_int_equal(berth_proc_starttime(pid, &c.pid_start, NULL), 0);
        c.bundle = "/bundle";
        c.rootfs = "/bundle/rootfs";
        c.created = "2026-01-02T03:04:05.000000006Z";
        if (poststart)
                assert_int_equal(berth_hooks_from_json(poststart, &c.poststart, &err), 0);
        if (poststop)
                assert_int_equal(berth_hooks_from_json(poststop, &c.poststop, &err), 0);
        assert_int_equal(berth_state_save(&c, &err), 0);
        berth_hook_list_clear(&c.poststart);
        berth_hook_list_clear(&c.poststop);
}

static void save_state(const char *id, pid_t pid, const char *poststop)
{
        _autoclose_ int dirfd = state_dir(id);

        write_state(dirfd, id, pid, NULL, poststop);
}

static struct berth_container *load(const char *id)
{
        _autoerr_ struct berth_error *err = NULL;
        struct berth_container *c = NULL;

        if (berth_container_load(root, id, &c, &err) < 0)
                fail_msg("load %s: %s", id, err->msg);
        return c;
}

static pid_t sleeper(void)
{
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0) {
                execl("/bin/sleep", "sleep", "100", (char *) NULL);
                _exit(127);
        }
        return pid;
}

static int reap(pid_t pid)
{
        int status = 0;

        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        return status;
}

/*
 * A created container "id": its init blocks on exec.fifo, then, when started, either execs sleep
 * (answer NULL: EOF on exec.status) or writes `answer` there and exits 1, as an init does when a
 * startContainer hook or the program fails.
 */
static pid_t created_container(const char *id, const char *answer, const char *poststart)
{
        _autoclose_ int dirfd = state_dir(id), fifo = -EBADF, status = -EBADF;
        pid_t pid;

        assert_int_equal(mkfifoat(dirfd, BERTH_EXEC_FIFO, 0622), 0);
        assert_int_equal(mkfifoat(dirfd, BERTH_EXEC_STATUS, 0600), 0);
        fifo = openat(dirfd, BERTH_EXEC_FIFO, O_RDWR | O_CLOEXEC);
        status = openat(dirfd, BERTH_EXEC_STATUS, O_RDWR | O_CLOEXEC);
        assert_true(fifo >= 0 && status >= 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                char b;

                if (read(fifo, &b, 1) != 1)
                        _exit(2);
                if (answer) {
                        (void) !write(status, answer, strlen(answer));
                        _exit(1);
                }
                execl("/bin/sleep", "sleep", "100", (char *) NULL);
                _exit(127);
        }
        write_state(dirfd, id, pid, poststart, NULL);
        return pid;
}

/* ---- names and the state JSON --------------------------------------------------------------- */

static void status_names(void **state)
{
        struct berth_container c = {.status = BERTH_STATUS_PAUSED};

        assert_string_equal(berth_status_name(BERTH_STATUS_CREATING), "creating");
        assert_string_equal(berth_status_name(BERTH_STATUS_CREATED), "created");
        assert_string_equal(berth_status_name(BERTH_STATUS_RUNNING), "running");
        assert_string_equal(berth_status_name(BERTH_STATUS_PAUSED), "paused");
        assert_string_equal(berth_status_name(BERTH_STATUS_STOPPED), "stopped");
        assert_string_equal(berth_status_name((enum berth_status) 42), "unknown");
        assert_string_equal(berth_container_status_name(&c), "paused");
        c.state_error = "damaged";
        assert_string_equal(berth_container_status_name(&c), "unknown");
}

static void state_json_as_runc_prints_it(void **state)
{
        struct berth_kv notes[] = {{.key = "org.example", .value = "1"}};
        struct berth_container c = {.id = "web",
                                    .pid = 42,
                                    .status = BERTH_STATUS_RUNNING,
                                    .bundle = "/b",
                                    .rootfs = "/b/rootfs",
                                    .created = "2026-01-02T03:04:05.000000006Z",
                                    .owner = "",
                                    .annotations = notes,
                                    .n_annotations = 1};
        _autofree_ char *running = NULL, *stopped = NULL, *oom = NULL, *hook = NULL;

        running = berth_container_state_json(&c);
        assert_string_equal(running, "{\n"
                                     "  \"ociVersion\": \"1.2.0\",\n"
                                     "  \"id\": \"web\",\n"
                                     "  \"pid\": 42,\n"
                                     "  \"status\": \"running\",\n"
                                     "  \"bundle\": \"/b\",\n"
                                     "  \"rootfs\": \"/b/rootfs\",\n"
                                     "  \"created\": \"2026-01-02T03:04:05.000000006Z\",\n"
                                     "  \"owner\": \"\",\n"
                                     "  \"annotations\": {\n"
                                     "    \"org.example\": \"1\"\n"
                                     "  }\n"
                                     "}");
        /* a stopped container has no pid, whatever the record says */
        c.status = BERTH_STATUS_STOPPED;
        stopped = berth_container_state_json(&c);
        assert_non_null(strstr(stopped, "\"pid\": 0,\n  \"status\": \"stopped\""));
        /* berth's own field, only when true */
        assert_null(strstr(stopped, "oomKilled"));
        c.oom_killed = true;
        c.oci_version = "1.0.2";
        oom = berth_container_state_json(&c);
        assert_non_null(strstr(oom, "\"ociVersion\": \"1.0.2\""));
        assert_non_null(strstr(oom, "  },\n  \"oomKilled\": true\n}"));
        /* what hooks get on stdin: one line, the status and pid given */
        c.oom_killed = false;
        c.n_annotations = 0;
        hook = berth_hook_state_json(&c, "creating", 7);
        assert_string_equal(hook, "{\"ociVersion\":\"1.0.2\",\"id\":\"web\",\"pid\":7,\"status\":"
                                  "\"creating\",\"bundle\":\"/b\",\"rootfs\":\"/b/rootfs\","
                                  "\"created\":\"2026-01-02T03:04:05.000000006Z\",\"owner\":\"\","
                                  "\"annotations\":{}}");
}

/* ---- start ---------------------------------------------------------------------------------- */

static void start_releases_the_init(void **state)
{
        _autofree_ char *mark = path_of("poststart.out"), *hooks = NULL, *got = NULL;
        _autofree_ char *fifo = path_of("s/" BERTH_EXEC_FIFO);
        _autoerr_ struct berth_error *err = NULL;
        struct berth_container *c;
        int status = 0;
        pid_t pid;

        hooks =
            xasprintf("[{\"path\": \"/bin/sh\", \"args\": [\"sh\", \"-c\", \"cat > %s\"]}]", mark);
        pid = created_container("s", NULL, hooks);
        c = load("s");
        assert_int_equal(c->status, BERTH_STATUS_CREATED);
        assert_int_equal(c->pid, pid);
        assert_int_equal(berth_container_start(c, &err), 0);
        assert_int_equal(c->status, BERTH_STATUS_RUNNING);
        /* the fifo is gone: start cannot happen twice */
        assert_int_equal(access(fifo, F_OK), -1);
        assert_int_equal(berth_container_start(c, &err), -EINVAL);
        assert_string_equal(err->msg, "container \"s\" is running, not created: cannot start it");
        /* poststart hooks ran with the state on stdin */
        got = read_text(mark);
        assert_non_null(got);
        assert_non_null(strstr(got, "\"status\":\"running\""));

        assert_int_equal(berth_container_kill(c, SIGTERM, false, &err), 0);
        assert_int_equal(berth_container_wait(c, &status, &err), 0);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
        assert_int_equal(c->status, BERTH_STATUS_STOPPED);
        berth_container_free(c);
}

/* The init's answer on exec.status (a startContainer hook failed, the program cannot run) is
 * start's error, and the container is stopped once start returns. */
static void start_reports_what_stopped_the_init(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        struct berth_container *c;
        pid_t pid;

        pid = created_container(
            "f", "error running hook #0 (startContainer, /bin/false): exited with status 1", NULL);
        c = load("f");
        assert_int_equal(berth_container_start(c, &err), -EIO);
        assert_string_equal(
            err->msg,
            "container \"f\": error running hook #0 (startContainer, /bin/false): exited with "
            "status 1");
        berth_state_refresh(c);
        assert_int_equal(c->status, BERTH_STATUS_STOPPED);
        assert_true(WIFEXITED(reap(pid)));
        berth_container_free(c);
}

/* A poststart hook that fails is a warning: the container runs. */
static void failing_poststart_hook_is_a_warning(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        struct berth_container *c;
        pid_t pid;

        warnings[0] = '\0';
        pid = created_container("w", NULL, "[{\"path\": \"/bin/false\"}]");
        c = load("w");
        assert_int_equal(berth_container_start(c, &err), 0);
        assert_string_equal(warnings,
                            "error running hook #0 (poststart, /bin/false): exited with status 1, "
                            "continuing\n");
        assert_int_equal(berth_container_kill(c, SIGKILL, false, &err), 0);
        reap(pid);
        berth_container_free(c);
}

/* ---- kill, delete and the refusals ---------------------------------------------------------- */

static void stopped_container_refusals(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ pid_t *pids = (pid_t *) 1;
        struct berth_container *c;
        struct berth_cgroup *cg = NULL;
        struct berth_resources r = {0};
        size_t n = 1;

        save_state("gone", 0, NULL);
        c = load("gone");
        assert_int_equal(c->status, BERTH_STATUS_STOPPED);
        assert_int_equal(berth_container_kill(c, SIGTERM, false, &err), -ESRCH);
        assert_string_equal(err->msg, "container \"gone\" is not running");
        assert_int_equal(berth_container_start(c, &err), -EINVAL);
        assert_string_equal(err->msg,
                            "container \"gone\" is stopped, not created: cannot start it");
        assert_int_equal(berth_container_pause(c, &err), -EINVAL);
        assert_string_equal(err->msg,
                            "container \"gone\" is stopped, not running: cannot pause it");
        assert_int_equal(berth_container_resume(c, &err), -EINVAL);
        assert_string_equal(err->msg,
                            "container \"gone\" is stopped, not paused: cannot resume it");
        assert_int_equal(berth_container_update(c, &r, &err), -EINVAL);
        assert_string_equal(err->msg, "container \"gone\" is stopped: nothing to update");
        assert_int_equal(berth_container_pids(c, &pids, &n, &err), 0);
        assert_null(pids);
        assert_int_equal(n, 0);
        assert_int_equal(berth_container_cgroup(c, &cg, &err), -ENOENT);
        assert_string_equal(err->msg, "container \"gone\" has no cgroup");
        assert_null(cg);
        berth_container_free(c);
}

/* A live process with another start time is not the container's init (pid reuse). */
static void reused_pid_is_not_the_init(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        struct berth_container *c;

        save_state("reused", getpid(), NULL);
        c = load("reused");
        assert_int_equal(c->status, BERTH_STATUS_RUNNING);
        c->pid_start++;
        assert_int_equal(berth_container_pidfd(c, &err), -ESRCH);
        assert_string_equal(err->msg, "container \"reused\" is not running");
        assert_int_equal(c->status, BERTH_STATUS_STOPPED);
        berth_container_free(c);
}

static void delete_refuses_a_running_container(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *dir = path_of("busy");
        struct berth_container *c;
        pid_t pid = sleeper();

        save_state("busy", pid, NULL);
        c = load("busy");
        assert_int_equal(berth_container_delete(c, false, &err), -EBUSY);
        assert_string_equal(err->msg,
                            "container \"busy\" is running: stop it first or use --force");
        assert_int_equal(access(dir, F_OK), 0);
        kill(pid, SIGKILL);
        reap(pid);
        /* the init exited: delete without force now */
        assert_int_equal(berth_container_delete(c, false, &err), 0);
        assert_int_equal(access(dir, F_OK), -1);
        berth_container_free(c);
}

/* --force: SIGKILL, wait for the init to exit, remove the state, then the poststop hooks. */
static void delete_force_kills_then_runs_poststop(void **state)
{
        _autofree_ char *mark = path_of("poststop.out"), *hooks = NULL, *got = NULL;
        _autofree_ char *dir = path_of("forced");
        _autoerr_ struct berth_error *err = NULL;
        struct berth_container *c;
        pid_t pid = sleeper();
        int status;

        hooks =
            xasprintf("[{\"path\": \"/bin/sh\", \"args\": [\"sh\", \"-c\", \"cat > %s\"]}]", mark);
        save_state("forced", pid, hooks);
        c = load("forced");
        assert_int_equal(c->status, BERTH_STATUS_RUNNING);
        assert_int_equal(berth_container_delete(c, true, &err), 0);
        assert_int_equal(c->status, BERTH_STATUS_STOPPED);
        assert_int_equal(access(dir, F_OK), -1);
        status = reap(pid);
        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        got = read_text(mark);
        assert_non_null(got);
        assert_non_null(strstr(got, "\"id\":\"forced\""));
        assert_non_null(strstr(got, "\"status\":\"stopped\""));
        berth_container_free(c);
}

static void load_refuses_bad_and_missing_ids(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        struct berth_container *c = NULL;

        assert_int_equal(berth_container_load(root, "nope", &c, &err), -ENOENT);
        assert_string_equal(err->msg, "container \"nope\" does not exist");
        assert_int_equal(berth_container_load(root, "../etc", &c, &err), -EINVAL);
        assert_non_null(strstr(err->msg, "\"../etc\""));
        assert_null(c);
}

/* ---- list ----------------------------------------------------------------------------------- */

static void list_sorted_with_damaged_ones(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *list_root = path_of("list"), *hidden = NULL, *file = NULL;
        _autofree_ char *damaged = NULL;
        struct berth_container **v = NULL;
        size_t n = 9;
        int fd;

        /* a root that does not exist yet: no containers */
        assert_int_equal(berth_container_list(list_root, &v, &n, &err), 0);
        assert_int_equal(n, 0);

        root = list_root;
        hidden = path_of(".hidden");
        file = path_of("a-file");
        damaged = path_of("c/state.json");

        save_state("b", 0, NULL);
        save_state("a", getpid(), NULL);
        save_state("c", 0, NULL);
        fd = open(damaged, O_WRONLY | O_TRUNC | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "{\"id\": ", 7), 7);
        close(fd);
        assert_int_equal(mkdir(hidden, 0700), 0);
        fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        close(fd);
        warnings[0] = '\0';
        assert_int_equal(berth_container_list(root, &v, &n, &err), 0);
        assert_int_equal(n, 3);
        assert_string_equal(v[0]->id, "a");
        assert_string_equal(berth_container_status_name(v[0]), "running");
        assert_string_equal(v[1]->id, "b");
        assert_string_equal(berth_container_status_name(v[1]), "stopped");
        assert_string_equal(v[2]->id, "c");
        assert_string_equal(berth_container_status_name(v[2]), "unknown");
        assert_non_null(strstr(warnings, "/c/state.json is damaged"));
        for (size_t i = 0; i < n; i++)
                berth_container_free(v[i]);
        free(v);
        root = tmp;
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(status_names),
            cmocka_unit_test(state_json_as_runc_prints_it),
            cmocka_unit_test(start_releases_the_init),
            cmocka_unit_test(start_reports_what_stopped_the_init),
            cmocka_unit_test(failing_poststart_hook_is_a_warning),
            cmocka_unit_test(stopped_container_refusals),
            cmocka_unit_test(reused_pid_is_not_the_init),
            cmocka_unit_test(delete_refuses_a_running_container),
            cmocka_unit_test(delete_force_kills_then_runs_poststop),
            cmocka_unit_test(load_refuses_bad_and_missing_ids),
            cmocka_unit_test(list_sorted_with_damaged_ones),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
