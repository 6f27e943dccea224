/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "runtime/container.h"
#include "runtime/state.h"
#include "base/util.h"

static void ids(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        char long_id[1100];

        assert_int_equal(berth_id_validate("web-1_a.b+c", &err), 0);
        assert_int_equal(berth_id_validate("../x", &err), -EINVAL);
        assert_non_null(strstr(err->msg, "\"../x\""));
        assert_int_equal(berth_id_validate("/", &err), -EINVAL);
        assert_int_equal(berth_id_validate("", &err), -EINVAL);
        assert_non_null(strstr(err->msg, "empty"));
        assert_int_equal(berth_id_validate("..", &err), -EINVAL);
        assert_int_equal(berth_id_validate("a b", &err), -EINVAL);
        memset(long_id, 'a', sizeof(long_id) - 1);
        long_id[sizeof(long_id) - 1] = '\0';
        assert_int_equal(berth_id_validate(long_id, &err), -EINVAL);
        assert_non_null(strstr(err->msg, "longer than"));
}

static void starttime_of_self_and_gone(void **state)
{
        unsigned long long a, b;
        bool zombie = true;
        pid_t pid;

        assert_int_equal(berth_proc_starttime(getpid(), &a, &zombie), 0);
        assert_false(zombie);
        assert_int_equal(berth_proc_starttime(getpid(), &b, NULL), 0);
        assert_int_equal(a, b);
        pid = fork();
        if (pid == 0)
                _exit(0);
        /* a zombie until reaped */
        usleep(20000);
        assert_int_equal(berth_proc_starttime(pid, &a, &zombie), 0);
        assert_true(zombie);
        waitpid(pid, NULL, 0);
        assert_int_equal(berth_proc_starttime(pid, &a, NULL), -ESRCH);
}

static struct berth_container *make(const char *root, const char *id)
{
        struct berth_container *c = xcalloc(1, sizeof(*c));

        c->root = xstrdup(root);
        c->id = xstrdup(id);
        c->pidfd = c->pty_master = -1;
        c->dirfd = -1;
        return c;
}

static void save_read_refresh(void **state)
{
        char tmpl[] = "/tmp/berth-test-state.XXXXXX";
        _autoerr_ struct berth_error *err = NULL;
        _autoclose_ int rootfd = -EBADF;
        struct berth_container *c, *d;
        char *root = mkdtemp(tmpl);

        assert_non_null(root);
        assert_int_equal(berth_state_root_open(root, &rootfd, &err), 0);
        c = make(root, "x");
        assert_int_equal(berth_state_dir_create(rootfd, "x", &c->dirfd, &err), 0);
        assert_int_equal(berth_state_dir_create(rootfd, "x", &(int){-1}, &err), -EEXIST);
        assert_string_equal(err->msg, "container \"x\" already exists");
        c->pid = getpid();
        assert_int_equal(berth_proc_starttime(c->pid, &c->pid_start, NULL), 0);
        c->bundle = xstrdup("/b");
        c->rootfs = xstrdup("/b/rootfs");
        c->created = berth_rfc3339_now();
        c->owner = xstrdup("");
        c->oci_version = xstrdup("1.0.2");
        assert_int_equal(berth_state_save(c, &err), 0);

        assert_int_equal(berth_container_load(root, "x", &d, &err), 0);
        assert_int_equal(d->pid, getpid());
        assert_string_equal(d->bundle, "/b");
        assert_string_equal(d->oci_version, "1.0.2");
        assert_int_equal(d->status, BERTH_STATUS_RUNNING); /* alive, no exec fifo */
        assert_int_equal(mkfifoat(d->dirfd, BERTH_EXEC_FIFO, 0622), 0);
        berth_state_refresh(d);
        assert_int_equal(d->status, BERTH_STATUS_CREATED);
        d->pid_start++; /* a reused pid is not our init */
        berth_state_refresh(d);
        assert_int_equal(d->status, BERTH_STATUS_STOPPED);
        berth_container_free(d);

        assert_int_equal(berth_state_dir_remove(rootfd, "x", &err), 0);
        assert_int_equal(berth_container_load(root, "x", &d, &err), -ENOENT);
        assert_string_equal(err->msg, "container \"x\" does not exist");
        berth_container_free(c);
        rmdir(root);
}

/* A damaged state.json is -EBADMSG naming the file; load_any recovers pid, start time, cgroup and
 * bundle from the record written before it. */
static void damaged_state(void **state)
{
        static const char *const damages[] = {"",
                                              "{\"id\": \"x\", \"pid\": 1",
                                              "\xff garbage",
                                              "[1]",
                                              "{\"id\": \"y\", \"pid\": 1, \"pidStart\": 2}",
                                              "{\"id\": \"x\", \"pid\": -4, \"pidStart\": 2}"};
        char tmpl[] = "/tmp/berth-test-damaged.XXXXXX";
        _autoclose_ int rootfd = -EBADF;
        struct berth_error *err = NULL;
        struct berth_container *c, *d;
        char *root = mkdtemp(tmpl);

        assert_non_null(root);
        assert_int_equal(berth_state_root_open(root, &rootfd, &err), 0);
        c = make(root, "x");
        assert_int_equal(berth_state_dir_create(rootfd, "x", &c->dirfd, &err), 0);
        c->pid = getpid();
        assert_int_equal(berth_proc_starttime(c->pid, &c->pid_start, NULL), 0);
        c->bundle = xstrdup("/b");
        c->rootfs = xstrdup("/b/rootfs");
        c->created = berth_rfc3339_now();
        c->cgroup_path = xstrdup("/berth/custom path");
        assert_int_equal(berth_state_save(c, &err), 0);
        for (size_t i = 0; i < ARRAY_SIZE(damages); i++) {
                assert_int_equal(berth_write_file_atomic(c->dirfd, BERTH_STATE_FILE, damages[i],
                                                         strlen(damages[i]), 0600, false, &err),
                                 0);
                assert_int_equal(berth_container_load(root, "x", &d, &err), -EBADMSG);
                assert_non_null(strstr(err->msg, "state file "));
                assert_non_null(strstr(err->msg, "/x/state.json is damaged: "));
                berth_error_free(err);
                err = NULL;
                assert_int_equal(berth_container_load_any(root, "x", &d, &err), 0);
                assert_non_null(d->state_error);
                assert_string_equal(berth_container_status_name(d), "unknown");
                assert_int_equal(d->pid, getpid());
                assert_true(d->pid_start == c->pid_start);
                assert_int_equal(d->status, BERTH_STATUS_RUNNING);
                assert_string_equal(d->cgroup_path, "/berth/custom path");
                assert_string_equal(d->bundle, "/b");
                berth_container_free(d);
        }
        /* without the record: the default cgroup path, nobody in it */
        assert_int_equal(unlinkat(c->dirfd, BERTH_RECOVERY_FILE, 0), 0);
        assert_int_equal(berth_container_load_any(root, "x", &d, &err), 0);
        assert_string_equal(d->cgroup_path, "/berth/x");
        assert_int_equal(d->pid, 0);
        assert_int_equal(d->status, BERTH_STATUS_STOPPED);
        berth_container_free(d);
        assert_int_equal(berth_state_dir_remove(rootfd, "x", &err), 0);
        berth_container_free(c);
        rmdir(root);
}

/* A pid file is written only to a regular file or to nothing: a FIFO would block, a device must
 * be neither written nor replaced. */
static void pid_file_kinds(void **state)
{
        char tmpl[] = "/tmp/berth-test-pidfile.XXXXXX";
        char *dir = mkdtemp(tmpl);
        _autofree_ char *reg = NULL, *fifo = NULL, *sub = NULL, *missing = NULL, *text = NULL;
        struct berth_error *err = NULL;
        struct stat st;

        assert_non_null(dir);
        reg = xasprintf("%s/reg", dir);
        fifo = xasprintf("%s/fifo", dir);
        sub = xasprintf("%s/sub", dir);
        missing = xasprintf("%s/no/pid", dir);
        assert_int_equal(berth_pid_file_check(reg, &err), 0);
        assert_int_equal(berth_pid_file_write(reg, 42, &err), 0);
        assert_int_equal(berth_pid_file_write(reg, 4242, &err), 0); /* replaced */
        assert_int_equal(berth_read_file_at(AT_FDCWD, reg, 0, &text, NULL, &err), 0);
        assert_string_equal(text, "4242");

        assert_int_equal(mkfifo(fifo, 0600), 0);
        assert_int_equal(berth_pid_file_check(fifo, &err), -EEXIST);
        berth_error_free(err);
        err = NULL;
        assert_int_equal(berth_pid_file_write(fifo, 42, &err), -EEXIST);
        assert_non_null(strstr(err->msg, "a FIFO is there, not a regular file (File exists)"));
        berth_error_free(err);
        err = NULL;
        assert_int_equal(lstat(fifo, &st), 0);
        assert_true(S_ISFIFO(st.st_mode));

        assert_int_equal(mkdir(sub, 0700), 0);
        assert_int_equal(berth_pid_file_check(sub, &err), -EEXIST);
        assert_non_null(strstr(err->msg, "a directory is there"));
        berth_error_free(err);
        err = NULL;
        assert_int_equal(berth_pid_file_check(missing, &err), -ENOENT);
        assert_non_null(strstr(err->msg, "open its directory: No such file or directory"));
        berth_error_free(err);

        unlink(reg);
        unlink(fifo);
        rmdir(sub);
        rmdir(dir);
}

static void rfc3339(void **state)
{
        _autofree_ char *s = berth_rfc3339_now();

        assert_int_equal(strlen(s), strlen("2026-11-29T19:50:01.123456789Z"));
        assert_int_equal(s[10], 'T');
        assert_int_equal(s[strlen(s) - 1], 'Z');
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(ids),
            cmocka_unit_test(starttime_of_self_and_gone),
            cmocka_unit_test(save_read_refresh),
            cmocka_unit_test(rfc3339),
            cmocka_unit_test(pid_file_kinds),
            cmocka_unit_test(damaged_state),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
