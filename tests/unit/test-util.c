/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The helpers every layer uses (util.c): number parsing, quoting for messages, string vectors,
 * Go's booleans, reading with a size limit, atomic writes, the tree removal that never leaves its
 * filesystem (a tmpfs mounted in a mount namespace of a child), closing fds around a keep-list.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "fork-child.h"

#include "base/util.h"

static char tmp[] = "/tmp/berth-test-util.XXXXXX";

static int setup(void **state)
{
        return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void **state)
{
        _autofree_ char *cmd = xasprintf("rm -rf '%s'", tmp);

        return system(cmd) == 0 ? 0 : -1;
}

static void numbers(void **state)
{
        uint64_t u = 7;
        int64_t i = 7;

        assert_int_equal(parse_u64("0", &u), 0);
        assert_int_equal(u, 0);
        assert_int_equal(parse_u64("18446744073709551615", &u), 0);
        assert_true(u == UINT64_MAX);
        assert_int_equal(parse_u64("18446744073709551616", &u), -ERANGE);
        u = 7;
        /* the whole string, digits only: no sign, space, or trailing text */
        assert_int_equal(parse_u64("-1", &u), -EINVAL);
        assert_int_equal(parse_u64("+1", &u), -EINVAL);
        assert_int_equal(parse_u64(" 1", &u), -EINVAL);
        assert_int_equal(parse_u64("1 ", &u), -EINVAL);
        assert_int_equal(parse_u64("1k", &u), -EINVAL);
        assert_int_equal(parse_u64("", &u), -EINVAL);
        assert_int_equal(parse_u64(NULL, &u), -EINVAL);
        assert_int_equal(u, 7);
        assert_int_equal(parse_i64("-9223372036854775808", &i), 0);
        assert_true(i == INT64_MIN);
        assert_int_equal(parse_i64("9223372036854775808", &i), -ERANGE);
        assert_int_equal(parse_i64("-5", &i), 0);
        assert_int_equal(i, -5);
        i = 7;
        assert_int_equal(parse_i64(" 5", &i), -EINVAL);
        assert_int_equal(parse_i64("5x", &i), -EINVAL);
        assert_int_equal(i, 7);
}

/* A user-supplied string in a message: quoted, JSON-escaped, one line, cut at the limit. */
static void quoting(void **state)
{
        char long_text[400], cut[BERTH_QUOTE_MAX];
        const char *q;

        assert_string_equal(QUOTE("web"), "\"web\"");
        assert_string_equal(QUOTE("a\"b\\c"), "\"a\\\"b\\\\c\"");
        assert_string_equal(QUOTE("line\nnext\ttab\r"), "\"line\\nnext\\ttab\\r\"");
        assert_string_equal(QUOTE("\x01\x7f"), "\"\\u0001\\u007f\"");
        assert_string_equal(QUOTE("é"), "\"é\"");
        memset(long_text, 'x', sizeof(long_text) - 1);
        long_text[sizeof(long_text) - 1] = '\0';
        q = berth_quote(long_text, cut);
        assert_true(strlen(q) < BERTH_QUOTE_MAX);
        assert_true(startswith(q, "\"xxx"));
        assert_non_null(strstr(q, "...\""));
        /* never half of a UTF-8 sequence */
        for (size_t i = 0; i + 2 < sizeof(long_text); i += 2)
                memcpy(long_text + i, "\xc3\xa9", 2);
        long_text[sizeof(long_text) - 2] = '\0';
        q = berth_quote(long_text, cut);
        assert_true(strlen(q) < BERTH_QUOTE_MAX);
        {
                const char *dots = strstr(q, "...\"");

                assert_non_null(dots);
                assert_true(((unsigned char) dots[-1]) == 0xa9);
        }
}

static void string_vectors(void **state)
{
        _autostrv_ char **v = NULL;
        size_t n = 0;

        assert_int_equal(strv_length(v), 0);
        assert_false(strv_contains(v, "a"));
        strv_push(&v, &n, xstrdup("a"));
        strv_push(&v, &n, xstrdup("b"));
        assert_int_equal(n, 2);
        assert_int_equal(strv_length(v), 2);
        assert_null(v[2]);
        assert_true(strv_contains(v, "b"));
        assert_false(strv_contains(v, "c"));
        strv_free(NULL);
}

/* Go's strconv.ParseBool, as both front ends' flag parsers take booleans. */
static void go_booleans(void **state)
{
        static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True"};
        static const char *const no[] = {"0", "f", "F", "false", "FALSE", "False"};
        static const char *const neither[] = {"", "yes", "tRUE", "2", "true "};

        for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
                assert_string_equal(berth_parse_go_bool(yes[i]), "true");
                assert_string_equal(berth_parse_go_bool(no[i]), "false");
        }
        for (size_t i = 0; i < ARRAY_SIZE(neither); i++)
                assert_null(berth_parse_go_bool(neither[i]));
}

static void reading_with_a_limit(void **state)
{
        _autofree_ char *path = xasprintf("%s/data", tmp), *buf = NULL;
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *big = xcalloc(1, 10001);
        size_t len = 0;
        int fd;

        memset(big, 'z', 10000);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_int_equal(write_all(fd, big, 10000), 0);
        close(fd);
        assert_int_equal(berth_read_file_at(AT_FDCWD, path, 0, &buf, &len, &err), 0);
        assert_int_equal(len, 10000);
        assert_int_equal(strlen(buf), 10000);
        free(buf);
        buf = NULL;
        assert_int_equal(berth_read_file_at(AT_FDCWD, path, 10000, &buf, &len, &err), 0);
        free(buf);
        buf = NULL;
        assert_int_equal(berth_read_file_at(AT_FDCWD, path, 9999, &buf, &len, &err), -EFBIG);
        assert_null(buf);
        assert_non_null(strstr(err->msg, "/data: larger than 9999 bytes"));
        assert_int_equal(berth_read_file_at(AT_FDCWD, "/nonexistent/x", 0, &buf, NULL, &err),
                         -ENOENT);
        assert_string_equal(err->msg, "open /nonexistent/x: No such file or directory");
        /* an empty file is an empty string */
        fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
        close(fd);
        assert_int_equal(berth_read_file_at(AT_FDCWD, path, 0, &buf, &len, &err), 0);
        assert_string_equal(buf, "");
        assert_int_equal(len, 0);
}

static void writing(void **state)
{
        _autofree_ char *name = xasprintf("%s/knob", tmp), *back = NULL, *fifo = NULL;
        _autoerr_ struct berth_error *err = NULL;
        _autoclose_ int dir = open(tmp, O_PATH | O_DIRECTORY | O_CLOEXEC);
        struct stat st;

        /* berth_write_file: an existing file only (a /proc or /sys knob) */
        assert_int_equal(berth_write_file(name, "1", &err), -ENOENT);
        assert_non_null(strstr(err->msg, "/knob: No such file or directory"));
        assert_int_equal(berth_write_file_atomic(dir, "knob", "old value", 9, 0640, true, &err), 0);
        assert_int_equal(berth_write_file(name, "new", &err), 0);
        assert_int_equal(berth_read_file_at(dir, "knob", 0, &back, NULL, &err), 0);
        assert_string_equal(back, "new value"); /* no truncation, as the kernel's knobs need */
        free(back);
        back = NULL;
        /* atomic: replaced whole, with its mode */
        assert_int_equal(berth_write_file_atomic(dir, "knob", "v2", 2, 0600, false, &err), 0);
        assert_int_equal(berth_read_file_at(dir, "knob", 0, &back, NULL, &err), 0);
        assert_string_equal(back, "v2");
        assert_int_equal(fstatat(dir, "knob", &st, 0), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        /* a FIFO planted at the temporary name does not block the write */
        fifo = xasprintf(".knob.%d.tmp", (int) getpid());
        assert_int_equal(mkfifoat(dir, fifo, 0600), 0);
        assert_int_equal(berth_write_file_atomic(dir, "knob", "v3", 2, 0600, false, &err), 0);
        assert_int_equal(faccessat(dir, fifo, F_OK, AT_SYMLINK_NOFOLLOW), -1);
        /* a directory in the way: nothing is left behind */
        assert_int_equal(mkdirat(dir, "adir", 0700), 0);
        assert_int_equal(mkdirat(dir, "adir/x", 0700), 0);
        assert_true(berth_write_file_atomic(dir, "adir", "v", 1, 0600, false, &err) < 0);
        assert_true(startswith(err->msg, "rename .adir."));
}

/* ---- removal -------------------------------------------------------------------------------- */

static void removes_a_tree(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        _autoclose_ int dir = open(tmp, O_PATH | O_DIRECTORY | O_CLOEXEC);
        _autofree_ char *outside = xasprintf("%s/outside", tmp);
        int fd;

        assert_int_equal(mkdirat(dir, "t", 0755), 0);
        assert_int_equal(mkdirat(dir, "t/a", 0755), 0);
        assert_int_equal(mkdirat(dir, "t/a/b", 0000), 0); /* not even readable: root removes it */
        fd = openat(dir, "t/a/file", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        close(fd);
        assert_int_equal(mkdirat(dir, "outside", 0755), 0);
        fd = openat(dir, "outside/keep", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        close(fd);
        /* a symlink is removed, never followed */
        assert_int_equal(symlinkat(outside, dir, "t/link"), 0);
        assert_int_equal(mkfifoat(dir, "t/fifo", 0600), 0);
        if (geteuid() != 0)
                assert_int_equal(fchmodat(dir, "t/a/b", 0755, 0), 0);
        assert_int_equal(berth_rm_rf_at(dir, "t", &err), 0);
        assert_int_equal(faccessat(dir, "t", F_OK, AT_SYMLINK_NOFOLLOW), -1);
        assert_int_equal(faccessat(dir, "outside/keep", F_OK, 0), 0);
        /* a name that is not there is success; a file is removed */
        assert_int_equal(berth_rm_rf_at(dir, "t", &err), 0);
        assert_int_equal(berth_rm_rf_at(dir, "outside/keep", &err), 0);
        assert_int_equal(faccessat(dir, "outside/keep", F_OK, 0), -1);
}

/* A mount point inside the tree (or the tree itself) is refused, not emptied: in a child with
 * its own mount namespace and a tmpfs mounted there. */
static int mount_point_child(int msg_fd, void *arg)
{
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *mnt = xasprintf("%s/m/inner", tmp), *top = xasprintf("%s/top", tmp);
        _autoclose_ int dir = -EBADF;
        int fd;

        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return 77;
        /* opened in the new namespace: an fd from before would not see its mounts */
        dir = open(tmp, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (mkdirat(dir, "m", 0755) < 0 || mkdirat(dir, "m/inner", 0755) < 0 ||
            mount("tmpfs", mnt, "tmpfs", 0, NULL) < 0)
                return 77;
        fd = openat(dir, "m/inner/precious", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        close(fd);
        if (berth_rm_rf_at(dir, "m", &err) != -EBUSY)
                return 1;
        if (!streq(err->msg, "remove m/inner: a mount point, not removing it")) {
                child_send(msg_fd, err->msg);
                return 2;
        }
        if (faccessat(dir, "m/inner/precious", F_OK, 0) < 0)
                return 3;
        if (mkdirat(dir, "top", 0755) < 0 || mount("tmpfs", top, "tmpfs", 0, NULL) < 0)
                return 77;
        if (berth_rm_rf_at(dir, "top", &err) != -EBUSY)
                return 4;
        umount2(mnt, MNT_DETACH);
        umount2(top, MNT_DETACH);
        return 0;
}

static void refuses_mount_points(void **state)
{
        char msg[512] = "";
        int rc;

        if (geteuid() != 0)
                skip();
        rc = run_in_child(mount_point_child, NULL, msg, sizeof(msg));
        if (rc == 77)
                skip();
        if (rc != 0)
                fail_msg("child exited %d: %s", rc, msg);
}

/* ---- closing fds ---------------------------------------------------------------------------- */

/* In a child: fds 100..110 open; everything from 100 but 102, 105 and 110 (and a negative and a
 * low entry, ignored) is closed. What is below 100 (stdio, the message pipe) stays. */
static int close_child(int msg_fd, void *arg)
{
        const int keep[] = {105, -1, 102, 2, 110};
        int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

        if (null < 0 || null >= 100 || msg_fd >= 100)
                return 77;
        for (int fd = 100; fd <= 110; fd++)
                if (dup2(null, fd) != fd)
                        return 1;
        dup2(null, 300);
        berth_close_fds_from(100, keep, ARRAY_SIZE(keep));
        for (int fd = 100; fd <= 400; fd++) {
                bool open_now = fcntl(fd, F_GETFD) >= 0;
                bool kept = fd == 102 || fd == 105 || fd == 110;

                if (open_now != kept) {
                        char buf[64];

                        snprintf(buf, sizeof(buf), "fd %d is %s", fd, open_now ? "open" : "closed");
                        child_send(msg_fd, buf);
                        return 2;
                }
        }
        return fcntl(2, F_GETFD) >= 0 && fcntl(null, F_GETFD) >= 0 ? 0 : 3;
}

static void closes_fds_around_a_keep_list(void **state)
{
        char msg[256] = "";

        assert_child_ok(close_child, NULL, msg);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(numbers),
            cmocka_unit_test(quoting),
            cmocka_unit_test(string_vectors),
            cmocka_unit_test(go_booleans),
            cmocka_unit_test(reading_with_a_limit),
            cmocka_unit_test(writing),
            cmocka_unit_test(removes_a_tree),
            cmocka_unit_test(refuses_mount_points),
            cmocka_unit_test(closes_fds_around_a_keep_list),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
