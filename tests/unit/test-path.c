/* SPDX-License-Identifier: Apache-2.0 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "base/path.h"
#include "base/util.h"

/*
 * The tree under a mkdtemp() directory that stands for a rootfs. Nothing here needs privileges:
 * the resolver only opens, reads links and creates files.
 */
static char root[] = "/tmp/berth-test-path.XXXXXX";
static int rootfd = -EBADF;

static void mk(const char *kind, const char *name, const char *target)
{
        _autofree_ char *p = xasprintf("%s/%s", root, name);

        if (streq(kind, "dir"))
                assert_int_equal(mkdir(p, 0755), 0);
        else if (streq(kind, "file"))
                assert_int_equal(close(open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644)), 0);
        else
                assert_int_equal(symlink(target, p), 0);
}

static int setup(void **state)
{
        if (!mkdtemp(root))
                return -1;
        rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        mk("dir", "dir", NULL);
        mk("file", "dir/file", NULL);
        mk("dir", "deep", NULL);
        mk("dir", "deep/er", NULL);
        mk("link", "inside", "dir");
        mk("link", "abs", "/dir");
        mk("link", "chain", "inside/file");
        mk("link", "escape", "../../..");
        mk("link", "deep/er/esc", "../../../../etc");
        mk("link", "absesc", "/../etc");
        mk("link", "loop1", "loop2");
        mk("link", "loop2", "loop1");
        mk("link", "dangling", "/newdir/sub/newfile");
        mk("link", "nest", "inside2/../../..");
        mk("link", "inside2", "dir");
        mk("link", "hostlink", "/etc/passwd");
        mk("link", "updown", "deep/er/../../dir/file");
        return rootfd >= 0 ? 0 : -1;
}

static int rm_entry(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
        return remove(p);
}

static int teardown(void **state)
{
        close(rootfd);
        return nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Resolves path and checks that the fd is the same inode as root/expect. */
static void assert_resolves(const char *path, int flags, const char *expect)
{
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *host = xasprintf("%s/%s", root, expect);
        _autoclose_ int fd = -EBADF;
        struct stat a, b;
        int r;

        r = berth_resolve_in_root(rootfd, path, flags, &fd, &err);
        if (r < 0)
                fail_msg("%s: %s", path, err->msg);
        assert_int_equal(fstat(fd, &a), 0);
        assert_int_equal(lstat(host, &b), 0);
        assert_int_equal(a.st_dev, b.st_dev);
        assert_int_equal(a.st_ino, b.st_ino);
}

static void assert_fails(const char *path, int flags, int code, const char *msg)
{
        _autoerr_ struct berth_error *err = NULL;
        int fd = -7;

        assert_int_equal(berth_resolve_in_root(rootfd, path, flags, &fd, &err), -code);
        assert_int_equal(fd, -7);
        assert_non_null(err);
        if (msg)
                assert_string_equal(err->msg, msg);
}

static void plain_and_relative_links(void **state)
{
        assert_resolves("/dir/file", 0, "dir/file");
        assert_resolves("dir//file/", 0, "dir/file");
        assert_resolves("/inside/file", 0, "dir/file");
        assert_resolves("/chain", 0, "dir/file");
        assert_resolves("/updown", 0, "dir/file");
        assert_resolves("/", 0, ".");
        assert_resolves("", 0, ".");
        assert_resolves("/./dir/.", 0, "dir");
}

static void absolute_links_stay_in_root(void **state)
{
        assert_resolves("/abs/file", 0, "dir/file");
        /* the host's /etc/passwd must not be reached */
        assert_fails("/hostlink", 0, ENOENT, "open \"/etc\": No such file or directory");
}

static void literal_dotdot_clamps(void **state)
{
        assert_resolves("/../../dir/file", 0, "dir/file");
        assert_resolves("/dir/../../../dir", 0, "dir");
}

static void symlink_escape_is_exdev(void **state)
{
        assert_fails("/escape", 0, EXDEV,
                     "escapes the rootfs through symlink \"/escape\" -> \"../../..\"");
        assert_fails("/deep/er/esc/x", 0, EXDEV,
                     "escapes the rootfs through symlink \"/deep/er/esc\" -> \"../../../../etc\"");
        assert_fails("/absesc", 0, EXDEV,
                     "escapes the rootfs through symlink \"/absesc\" -> \"/../etc\"");
        assert_fails("/nest", 0, EXDEV,
                     "escapes the rootfs through symlink \"/nest\" -> \"inside2/../../..\"");
}

static void loops_are_eloop(void **state)
{
        assert_fails("/loop1", 0, ELOOP, NULL);
        assert_fails("/loop1/x", BERTH_RESOLVE_MKDIR, ELOOP, NULL);
}

static void errors_name_the_component(void **state)
{
        assert_fails("/dir/missing/x", 0, ENOENT,
                     "open \"/dir/missing\": No such file or directory");
        assert_fails("/dir/file/x", 0, ENOTDIR, "open \"/dir/file\": Not a directory");
        assert_fails("/dir/file/x", BERTH_RESOLVE_MKDIR, ENOTDIR, NULL);
}

static void nofollow_last(void **state)
{
        assert_resolves("/inside", BERTH_RESOLVE_NOFOLLOW_LAST, "inside");
        assert_resolves("/inside/", BERTH_RESOLVE_NOFOLLOW_LAST, "inside");
        assert_resolves("/inside/file", BERTH_RESOLVE_NOFOLLOW_LAST, "dir/file");
}

static void assert_type(const char *name, mode_t type)
{
        _autofree_ char *p = xasprintf("%s/%s", root, name);
        struct stat st;

        assert_int_equal(lstat(p, &st), 0);
        assert_int_equal(st.st_mode & S_IFMT, type);
}

static void mkdir_and_mkfile(void **state)
{
        assert_resolves("/new/a/b", BERTH_RESOLVE_MKDIR, "new/a/b");
        assert_type("new/a/b", S_IFDIR);
        assert_resolves("/inside/made/f", BERTH_RESOLVE_MKDIR | BERTH_RESOLVE_MKFILE, "dir/made/f");
        assert_type("dir/made/f", S_IFREG);
        assert_type("dir/made", S_IFDIR);

        /* a dangling absolute link is created inside the root, never on the host */
        assert_resolves("/dangling", BERTH_RESOLVE_MKDIR | BERTH_RESOLVE_MKFILE,
                        "newdir/sub/newfile");
        assert_type("newdir/sub/newfile", S_IFREG);
        /* MKFILE alone does not create directories */
        assert_fails("/nodir/f", BERTH_RESOLVE_MKFILE, ENOENT, NULL);
        /* existing entries are kept */
        assert_resolves("/dir/file", BERTH_RESOLVE_MKDIR, "dir/file");
}

static int count_fds(void)
{
        DIR *d = opendir("/proc/self/fd");
        int n = 0;

        while (d && readdir(d))
                n++;
        if (d)
                closedir(d);
        return n;
}

static void no_fd_leaks(void **state)
{
        int before = count_fds();
        _autoerr_ struct berth_error *err = NULL;
        int fd;

        for (int i = 0; i < 50; i++) {
                berth_resolve_in_root(rootfd, "/escape", 0, &fd, &err);
                berth_error_freep(&err);
                berth_resolve_in_root(rootfd, "/loop1", 0, &fd, &err);
                berth_error_freep(&err);
                assert_int_equal(berth_resolve_in_root(rootfd, "/abs/file", 0, &fd, &err), 0);
                close(fd);
        }
        assert_int_equal(count_fds(), before);
}

static void fd_path(void **state)
{
        char buf[BERTH_FD_PATH_MAX];

        assert_string_equal(berth_fd_path(12, buf), "/proc/self/fd/12");
        assert_string_equal(berth_fd_path(2147483647, buf), "/proc/self/fd/2147483647");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(plain_and_relative_links),
            cmocka_unit_test(absolute_links_stay_in_root),
            cmocka_unit_test(literal_dotdot_clamps),
            cmocka_unit_test(symlink_escape_is_exdev),
            cmocka_unit_test(loops_are_eloop),
            cmocka_unit_test(errors_name_the_component),
            cmocka_unit_test(nofollow_last),
            cmocka_unit_test(mkdir_and_mkfile),
            cmocka_unit_test(no_fd_leaks),
            cmocka_unit_test(fd_path),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
