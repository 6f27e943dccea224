/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <cmocka.h>
#include <seccomp.h>

#include "image/blobstore.h"
#include "base/util.h"

#define HELLO_DIGEST "sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
#define HELLO_HEX (&HELLO_DIGEST[7])
/* sha256 of the empty string: a valid digest that "hello\n" does not match */
#define EMPTY_DIGEST "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

struct fixture {
        char root[64];
        char dir[128]; /* root/blobs/sha256 */
};

static int setup(void **state)
{
        struct fixture *f = xcalloc(1, sizeof(*f));

        snprintf(f->root, sizeof(f->root), "/tmp/berth-test-blobstore.XXXXXX");
        if (!mkdtemp(f->root))
                return -1;
        snprintf(f->dir, sizeof(f->dir), "%s/blobs/sha256", f->root);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        _autofree_ char *cmd = xasprintf("rm -rf '%s'", f->root);

        if (system(cmd) != 0)
                return -1;
        free(f);
        return 0;
}

/* Number of entries in dir other than . and .., or -1. */
static int count_entries(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        int n = 0;

        if (!d)
                return -1;
        while ((de = readdir(d)))
                if (!streq(de->d_name, ".") && !streq(de->d_name, ".."))
                        n++;
        closedir(d);
        return n;
}

static void digest_validate(void **state)
{
        _autoerr_ struct berth_error *err = NULL;

        assert_int_equal(berth_digest_validate(HELLO_DIGEST, &err), 0);
        assert_int_equal(berth_digest_validate("sha256:xyz", &err), -EINVAL);
        assert_string_equal(err->msg, "digest \"sha256:xyz\": expected sha256: followed by 64 "
                                      "lowercase hex digits");
        assert_int_equal(berth_digest_validate("sha256:5891B5B522D5DF086D0FF0B110FBD9D21BB4FC7163"
                                               "AF34D08286A2E846F6BE03",
                                               &err),
                         -EINVAL);
        assert_int_equal(berth_digest_validate(HELLO_DIGEST "0", &err), -EINVAL);
        assert_int_equal(berth_digest_validate(HELLO_HEX, &err), -EINVAL);
        assert_int_equal(berth_digest_validate("", &err), -EINVAL);
        assert_int_equal(berth_digest_validate("sha256:", &err), -EINVAL);
        assert_int_equal(berth_digest_validate("sha256:../../etc/passwd", &err), -EINVAL);
        assert_int_equal(berth_digest_validate(NULL, &err), -EINVAL);
        assert_int_equal(berth_digest_validate("sha512:abcd", &err), -ENOTSUP);
        assert_non_null(strstr(err->msg, "\"sha512:abcd\""));
        assert_non_null(strstr(err->msg, "sha512 not supported"));
        assert_int_equal(berth_digest_validate("SHA256:abcd", &err), -EINVAL);
        assert_int_equal(berth_digest_validate("sha256:abcd", NULL), -EINVAL);
}

static void put_has_open_remove(void **state)
{
        struct fixture *f = *state;
        _autoerr_ struct berth_error *err = NULL;
        struct berth_blobstore *s = NULL;
        _autofree_ char *digest = NULL;
        _autoclose_ int fd = -EBADF;
        char buf[16] = {0};
        struct stat st;

        assert_int_equal(berth_blobstore_open(f->root, &s, &err), 0);
        assert_int_equal(stat(f->dir, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0700);
        assert_false(berth_blobstore_has(s, HELLO_DIGEST));
        assert_false(berth_blobstore_has(s, "sha256:nope"));
        assert_int_equal(berth_blobstore_put(s, "hello\n", 6, NULL, &digest, &err), 0);
        assert_string_equal(digest, HELLO_DIGEST);
        assert_true(berth_blobstore_has(s, HELLO_DIGEST));
        assert_int_equal(count_entries(f->dir), 1);

        assert_int_equal(berth_blobstore_open_blob(s, HELLO_DIGEST, &fd, &err), 0);
        assert_int_equal(read(fd, buf, sizeof(buf)), 6);
        assert_string_equal(buf, "hello\n");
        assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);

        /* again, with the expected digest: an existing blob is success */
        assert_int_equal(berth_blobstore_put(s, "hello\n", 6, HELLO_DIGEST, NULL, &err), 0);
        assert_int_equal(count_entries(f->dir), 1);

        assert_int_equal(berth_blobstore_remove(s, HELLO_DIGEST, &err), 0);
        assert_false(berth_blobstore_has(s, HELLO_DIGEST));
        assert_int_equal(berth_blobstore_remove(s, HELLO_DIGEST, &err), -ENOENT);
        assert_non_null(strstr(err->msg, HELLO_DIGEST));
        assert_non_null(strstr(err->msg, "unlinkat"));
        assert_int_equal(berth_blobstore_open_blob(s, HELLO_DIGEST, &(int){-1}, &err), -ENOENT);
        assert_non_null(strstr(err->msg, HELLO_DIGEST));
        assert_int_equal(berth_blobstore_open_blob(s, "sha256:../x", &(int){-1}, &err), -EINVAL);
        assert_int_equal(berth_blobstore_remove(s, "sha512:00", &err), -ENOTSUP);
        berth_blobstore_free(s);
        berth_blobstore_free(NULL);
}

static void put_fd(void **state)
{
        struct fixture *f = *state;
        _autoerr_ struct berth_error *err = NULL;
        struct berth_blobstore *s = NULL;
        _autofree_ char *digest = NULL;
        char path[160];
        int fd, p[2];

        assert_int_equal(berth_blobstore_open(f->root, &s, &err), 0);
        snprintf(path, sizeof(path), "%s/input", f->root);
        fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "hello\n", 6), 6);
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        assert_int_equal(berth_blobstore_put_fd(s, fd, HELLO_DIGEST, 6, &digest, &err), 0);
        assert_string_equal(digest, HELLO_DIGEST);
        close(fd);

        /* a pipe, unknown size */
        assert_int_equal(berth_blobstore_remove(s, HELLO_DIGEST, &err), 0);
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        assert_int_equal(write(p[1], "hello\n", 6), 6);
        close(p[1]);
        assert_int_equal(berth_blobstore_put_fd(s, p[0], NULL, -1, NULL, &err), 0);
        close(p[0]);
        assert_true(berth_blobstore_has(s, HELLO_DIGEST));
        assert_int_equal(count_entries(f->dir), 1);

        /* the empty blob */
        assert_int_equal(berth_blobstore_put(s, NULL, 0, EMPTY_DIGEST, NULL, &err), 0);
        assert_true(berth_blobstore_has(s, EMPTY_DIGEST));
        berth_blobstore_free(s);
}

static void digest_and_size_mismatch(void **state)
{
        struct fixture *f = *state;
        _autoerr_ struct berth_error *err = NULL;
        struct berth_blobstore *s = NULL;
        _autofree_ char *digest = NULL;
        int p[2];

        assert_int_equal(berth_blobstore_open(f->root, &s, &err), 0);
        assert_int_equal(berth_blobstore_put(s, "hello\n", 6, EMPTY_DIGEST, &digest, &err),
                         -EBADMSG);
        assert_null(digest);
        assert_string_equal(err->msg, "blob " EMPTY_DIGEST ": digest mismatch: got " HELLO_DIGEST);
        assert_int_equal(count_entries(f->dir), 0);

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        assert_int_equal(write(p[1], "hello\n", 6), 6);
        close(p[1]);
        assert_int_equal(berth_blobstore_put_fd(s, p[0], HELLO_DIGEST, 5, NULL, &err), -EBADMSG);
        assert_non_null(strstr(err->msg, "size mismatch"));
        assert_non_null(strstr(err->msg, HELLO_DIGEST));
        close(p[0]);
        assert_int_equal(count_entries(f->dir), 0);

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        assert_int_equal(write(p[1], "hello\n", 6), 6);
        close(p[1]);
        assert_int_equal(berth_blobstore_put_fd(s, p[0], NULL, 7, NULL, &err), -EBADMSG);
        assert_non_null(strstr(err->msg, "expected 7 bytes, got 6"));
        close(p[0]);
        assert_int_equal(count_entries(f->dir), 0);

        assert_int_equal(berth_blobstore_put(s, "hello\n", 6, "sha256:HELLO", NULL, &err), -EINVAL);
        assert_non_null(strstr(err->msg, "\"sha256:HELLO\""));
        assert_int_equal(berth_blobstore_put(s, "hello\n", 6, "sha512:00", NULL, &err), -ENOTSUP);
        assert_int_equal(count_entries(f->dir), 0);
        berth_blobstore_free(s);
}

static void make_file(const char *dir, const char *name, bool backdate)
{
        _autofree_ char *path = xasprintf("%s/%s", dir, name);
        struct timespec old[2] = {{.tv_sec = time(NULL) - 3600}, {.tv_sec = time(NULL) - 3600}};
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, "partial", 7), 7);
        if (backdate)
                assert_int_equal(futimens(fd, old), 0);
        close(fd);
}

static void stale_tmp_removed(void **state)
{
        struct fixture *f = *state;
        _autoerr_ struct berth_error *err = NULL;
        struct berth_blobstore *s = NULL;
        _autofree_ char *live = NULL;
        _autoclose_ int lfd = -EBADF;
        struct stat st;

        assert_int_equal(berth_blobstore_open(f->root, &s, &err), 0);
        berth_blobstore_free(s);
        make_file(f->dir, ".tmp-0123456789abcdef", true);
        make_file(f->dir, ".tmp-live", true);
        make_file(f->dir, "not-a-tmp", true);
        /* a writer in another process holds its temp file locked */
        live = xasprintf("%s/.tmp-live", f->dir);
        lfd = open(live, O_RDONLY | O_CLOEXEC);
        assert_true(lfd >= 0);
        assert_int_equal(flock(lfd, LOCK_EX), 0);
        assert_int_equal(count_entries(f->dir), 3);

        assert_int_equal(berth_blobstore_open(f->root, &s, &err), 0);
        assert_int_equal(count_entries(f->dir), 2);
        assert_int_equal(stat(live, &st), 0);
        berth_blobstore_free(s);

        closep(&lfd);
        assert_int_equal(berth_blobstore_open(f->root, &s, &err), 0);
        assert_int_equal(count_entries(f->dir), 1);
        berth_blobstore_free(s);
}

/* Makes syscall nr fail with errno e when (argument arg & mask) != 0, as on a kernel or
 * filesystem without the feature. Irreversible: only in a forked child. */
static int deny_flag(int nr, unsigned arg, uint64_t mask, int e)
{
        scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
        struct scmp_arg_cmp cmp = {
            .arg = arg, .op = SCMP_CMP_MASKED_EQ, .datum_a = mask, .datum_b = mask};
        int r;

        if (!ctx)
                return -ENOMEM;
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(e), nr, 1, cmp);
        if (r == 0)
                r = seccomp_load(ctx);
        seccomp_release(ctx);
        return r;
}

static int deny_tmpfile(void)
{
        return deny_flag(SCMP_SYS(openat), 2, __O_TMPFILE, EOPNOTSUPP);
}

#define BIG_SIZE (1024 * 1024 + 123)

static uint8_t *big_data(void)
{
        uint8_t *d = malloc(BIG_SIZE);

        for (size_t i = 0; i < BIG_SIZE; i++)
                d[i] = (uint8_t) (i * 7 + i / 251);
        return d;
}

/* A child: waits for the go byte, then puts the big blob. */
static int put_child(const char *root, int go_fd, bool no_tmpfile)
{
        struct berth_blobstore *s = NULL;
        uint8_t *data = big_data();
        char c;
        int r;

        if (no_tmpfile && deny_tmpfile() < 0)
                return 2;
        if (read(go_fd, &c, 1) != 0)
                return 3;
        if (berth_blobstore_open(root, &s, NULL) < 0)
                return 4;
        r = berth_blobstore_put(s, data, BIG_SIZE, NULL, NULL, NULL);
        berth_blobstore_free(s);
        free(data);
        return r < 0 ? 5 : 0;
}

static void concurrent_put(const char *root, const char *dir, bool no_tmpfile)
{
        _autoerr_ struct berth_error *err = NULL;
        struct berth_blobstore *s = NULL;
        _autofree_ uint8_t *data = big_data();
        _autofree_ char *digest = NULL;
        pid_t pids[8];
        int go[2], status;

        assert_int_equal(pipe2(go, O_CLOEXEC), 0);
        for (size_t i = 0; i < ARRAY_SIZE(pids); i++) {
                pids[i] = fork();
                assert_true(pids[i] >= 0);
                if (pids[i] == 0) {
                        close(go[1]);
                        _exit(put_child(root, go[0], no_tmpfile));
                }
        }
        close(go[0]);
        close(go[1]); /* EOF starts them all at once */
        for (size_t i = 0; i < ARRAY_SIZE(pids); i++) {
                assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
                assert_true(WIFEXITED(status));
                assert_int_equal(WEXITSTATUS(status), 0);
        }
        assert_int_equal(count_entries(dir), 1);
        assert_int_equal(berth_blobstore_open(root, &s, &err), 0);
        assert_int_equal(berth_blobstore_put(s, data, BIG_SIZE, NULL, &digest, &err), 0);
        assert_true(berth_blobstore_has(s, digest));
        assert_int_equal(count_entries(dir), 1);
        assert_int_equal(berth_blobstore_remove(s, digest, &err), 0);
        berth_blobstore_free(s);
}

static void concurrent_put_tmpfile(void **state)
{
        struct fixture *f = *state;

        concurrent_put(f->root, f->dir, false);
}

static void concurrent_put_named(void **state)
{
        struct fixture *f = *state;

        concurrent_put(f->root, f->dir, true);
}

/* The named-temp-file fallback, in a child because the seccomp filter stays for good. */
static int fallback_child(const char *root, const char *dir)
{
        _autoerr_ struct berth_error *err = NULL;
        struct berth_blobstore *s = NULL;
        _autofree_ char *digest = NULL;
        int r = 0;

        if (deny_tmpfile() < 0)
                return 2;
        if (berth_blobstore_open(root, &s, &err) < 0)
                return 3;
        if (berth_blobstore_put(s, "hello\n", 6, EMPTY_DIGEST, NULL, &err) != -EBADMSG)
                r = 4;
        else if (count_entries(dir) != 0)
                r = 5;
        else if (berth_blobstore_put(s, "hello\n", 6, NULL, &digest, &err) < 0)
                r = 6;
        else if (!streq(digest, HELLO_DIGEST) || count_entries(dir) != 1)
                r = 7;
        else if (berth_blobstore_put(s, "hello\n", 6, HELLO_DIGEST, NULL, &err) < 0)
                r = 8;
        else if (!berth_blobstore_has(s, HELLO_DIGEST) || count_entries(dir) != 1)
                r = 9;
        berth_blobstore_free(s);
        return r;
}

static void named_fallback(void **state)
{
        struct fixture *f = *state;
        int status;
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0)
                _exit(fallback_child(f->root, f->dir));
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

/* linkat(AT_EMPTY_PATH) without CAP_DAC_READ_SEARCH fails with ENOENT: /proc/self/fd is used. */
static int proc_link_child(const char *root, const char *dir)
{
        struct berth_blobstore *s = NULL;
        int r = 0;

        if (deny_flag(SCMP_SYS(linkat), 4, AT_EMPTY_PATH, ENOENT) < 0)
                return 2;
        if (berth_blobstore_open(root, &s, NULL) < 0)
                return 3;
        if (berth_blobstore_put(s, "hello\n", 6, HELLO_DIGEST, NULL, NULL) < 0)
                r = 4;
        else if (berth_blobstore_put(s, "hello\n", 6, HELLO_DIGEST, NULL, NULL) < 0)
                r = 5;
        else if (!berth_blobstore_has(s, HELLO_DIGEST) || count_entries(dir) != 1)
                r = 6;
        berth_blobstore_free(s);
        return r;
}

static void proc_link_fallback(void **state)
{
        struct fixture *f = *state;
        int status;
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0)
                _exit(proc_link_child(f->root, f->dir));
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(digest_validate),
            cmocka_unit_test_setup_teardown(put_has_open_remove, setup, teardown),
            cmocka_unit_test_setup_teardown(put_fd, setup, teardown),
            cmocka_unit_test_setup_teardown(digest_and_size_mismatch, setup, teardown),
            cmocka_unit_test_setup_teardown(stale_tmp_removed, setup, teardown),
            cmocka_unit_test_setup_teardown(named_fallback, setup, teardown),
            cmocka_unit_test_setup_teardown(proc_link_fallback, setup, teardown),
            cmocka_unit_test_setup_teardown(concurrent_put_tmpfile, setup, teardown),
            cmocka_unit_test_setup_teardown(concurrent_put_named, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
