/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth cp's machinery (engine/cp-tree.h) on plain directories, unprivileged: trees walked into
 * a tar and back, entries written below a root whose symlinks (absolute, "..", swapped-in final
 * components) never lead outside it, names leaving the directory refused, docker's
 * NoOverwriteDirNonDir; and docker's splitCpArg (berth_cp_split_arg).
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "engine/cp-tree.h"
#include "engine/engine-cp.h"
#include "base/util.h"

struct fixture {
        char base[64];
        char *src, *dst, *outside;
};

static char *at(const char *dir, const char *name)
{
        return xasprintf("%s/%s", dir, name);
}

static void write_text(const char *dir, const char *name, const char *text, mode_t mode)
{
        _autofree_ char *p = at(dir, name);
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        assert_true(fd >= 0);
        assert_int_equal(write_all(fd, text, strlen(text)), 0);
        assert_int_equal(fchmod(fd, mode), 0);
        close(fd);
}

static char *read_text(const char *dir, const char *name)
{
        _autofree_ char *p = at(dir, name);
        char *buf = NULL;

        return berth_read_file_at(AT_FDCWD, p, 0, &buf, NULL, NULL) < 0 ? NULL : buf;
}

static void mkdirs(const char *dir, const char *name)
{
        _autofree_ char *p = at(dir, name);

        assert_int_equal(mkdir(p, 0755), 0);
}

static void mkdirs_p(const char *path)
{
        _autofree_ char *cmd = xasprintf("mkdir -p '%s'", path);

        assert_int_equal(system(cmd), 0);
}

static void link_to(const char *dir, const char *name, const char *target)
{
        _autofree_ char *p = at(dir, name);

        assert_int_equal(symlink(target, p), 0);
}

static bool exists(const char *dir, const char *name)
{
        _autofree_ char *p = at(dir, name);
        struct stat st;

        return lstat(p, &st) == 0;
}

static int setup(void **state)
{
        struct fixture *f = xcalloc(1, sizeof(*f));

        snprintf(f->base, sizeof(f->base), "/tmp/berth-test-cp-XXXXXX");
        assert_non_null(mkdtemp(f->base));
        f->src = at(f->base, "src");
        f->dst = at(f->base, "dst");
        f->outside = at(f->base, "outside");
        assert_int_equal(mkdir(f->src, 0755), 0);
        assert_int_equal(mkdir(f->dst, 0755), 0);
        assert_int_equal(mkdir(f->outside, 0755), 0);
        write_text(f->outside, "secret", "HOST\n", 0644);
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        _autofree_ char *cmd = xasprintf("rm -rf '%s'", f->base);

        assert_int_equal(system(cmd), 0);
        free(f->src);
        free(f->dst);
        free(f->outside);
        free(f);
        return 0;
}

static int open_dir(const char *path)
{
        int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);

        assert_true(fd >= 0);
        return fd;
}

/* A sink writing below dir (relative to rootfd) as a container's: RESOLVE_IN_ROOT. */
static struct cp_sink *dir_sink(int rootfd, const char *dir, bool in_root)
{
        struct cp_dir_opts o = {.in_root = in_root, .dir = dir, .owner = CP_OWNER_NONE};
        struct cp_sink *k = NULL;

        assert_int_equal(cp_sink_dir(rootfd, &o, &k, NULL), 0);
        return k;
}

/* ---- a tree through a tar and back --------------------------------------------------------- */

static void make_tree(const char *src)
{
        _autofree_ char *d = at(src, "d"), *a = at(d, "a"), *hl = at(d, "hl"), *fifo = at(d, "p");

        mkdirs(src, "d");
        mkdirs(d, "sub");
        write_text(d, "a", "hello\n", 04750);
        assert_int_equal(link(a, hl), 0);
        assert_int_equal(mkfifo(fifo, 0640), 0);
        link_to(d, "up", "../x");
}

static void test_tar_round_trip(void **state)
{
        struct fixture *f = *state;
        _cleanup_(cp_sink_freep) struct cp_sink *tar = NULL, *k = NULL;
        _autoclose_ int mfd = memfd_create("tar", MFD_CLOEXEC), sfd = -EBADF, dfd = -EBADF;
        _autofree_ char *out = at(f->dst, "copy"), *text = NULL, *a = NULL, *hl = NULL;
        char link[64] = "";
        struct stat st, st2;

        make_tree(f->src);
        sfd = open_dir(f->src);
        dfd = open_dir(f->dst);
        alarm(20); /* the FIFO must never be opened: a walk that did would block here */
        assert_int_equal(cp_sink_tar(mfd, &tar, NULL), 0);
        assert_int_equal(cp_walk(sfd, "d", "copy", tar, NULL), 0);
        assert_int_equal(cp_sink_finish(tar, NULL), 0);
        assert_int_equal(cp_sink_bytes(tar) % 512, 0);
        assert_int_equal(lseek(mfd, 0, SEEK_SET), 0);
        k = dir_sink(dfd, "", true);
        assert_int_equal(cp_untar(mfd, k, NULL), 0);
        assert_int_equal(cp_sink_finish(k, NULL), 0);
        alarm(0);
        text = read_text(out, "a");
        assert_string_equal(text, "hello\n");
        a = at(out, "a");
        hl = at(out, "hl");
        assert_int_equal(lstat(a, &st), 0);
        assert_int_equal(st.st_mode & 07777, 04750);
        assert_int_equal(lstat(hl, &st2), 0);
        assert_int_equal(st.st_ino, st2.st_ino); /* a hard link again */
        free(steal_ptr(&a));
        a = at(out, "p");
        assert_int_equal(lstat(a, &st), 0);
        assert_true(S_ISFIFO(st.st_mode));
        free(steal_ptr(&a));
        a = at(out, "up");
        assert_int_equal(readlink(a, link, sizeof(link) - 1), 4);
        assert_string_equal(link, "../x");
}

/* The contents of a directory ("d/." in docker's words) straight into another one. */
static void test_walk_contents(void **state)
{
        struct fixture *f = *state;
        _cleanup_(cp_sink_freep) struct cp_sink *k = NULL;
        _autoclose_ int sfd = -EBADF, dfd = open_dir(f->dst);
        _autofree_ char *d = at(f->src, "d"), *text = NULL;

        make_tree(f->src);
        sfd = open_dir(d);
        k = dir_sink(dfd, "", false);
        alarm(20);
        assert_int_equal(cp_walk(sfd, ".", ".", k, NULL), 0);
        alarm(0);
        assert_int_equal(cp_sink_finish(k, NULL), 0);
        text = read_text(f->dst, "a");
        assert_string_equal(text, "hello\n");
}

/* A symlink in the tree is copied as a symlink: what it points to is never read. */
static void test_walk_never_follows(void **state)
{
        struct fixture *f = *state;
        _cleanup_(cp_sink_freep) struct cp_sink *k = NULL;
        _autoclose_ int sfd = open_dir(f->src), dfd = open_dir(f->dst);
        _autofree_ char *copied = at(f->dst, "t/out");
        struct stat st;

        mkdirs(f->src, "t");
        {
                _autofree_ char *t = at(f->src, "t");

                link_to(t, "out", f->outside);
        }
        k = dir_sink(dfd, "", false);
        assert_int_equal(cp_walk(sfd, "t", "t", k, NULL), 0);
        assert_int_equal(lstat(copied, &st), 0);
        assert_true(S_ISLNK(st.st_mode));
        assert_false(exists(f->dst, "t/secret"));
}

/* ---- writes below a root ------------------------------------------------------------------ */

struct text_src {
        const char *text;
        size_t off;
};

static ssize_t text_read(void *userdata, void *buf, size_t len)
{
        struct text_src *t = userdata;
        size_t n = strlen(t->text) - t->off;

        if (n > len)
                n = len;
        memcpy(buf, t->text + t->off, n);
        t->off += n;
        return (ssize_t) n;
}

static int put_file(struct cp_sink *k, const char *name, const char *text, struct berth_error **err)
{
        struct cp_entry e = {.name = name, .mode = S_IFREG | 0644, .size = (int64_t) strlen(text)};
        struct text_src t = {.text = text};

        return cp_sink_put(k, &e, text_read, &t, err);
}

/* Absolute symlinks and ".." in the root resolve inside it (a container's "/"), never on the
 * host, and a symlink where the entry goes is replaced, not followed. */
static void test_in_root_confines(void **state)
{
        struct fixture *f = *state;
        _cleanup_(cp_sink_freep) struct cp_sink *k = NULL;
        _autoclose_ int rfd = open_dir(f->dst);
        _autofree_ char *target = at(f->outside, "secret"), *inside = NULL, *secret = NULL;
        struct stat st;

        link_to(f->dst, "abs", f->outside); /* a directory on the host */
        link_to(f->dst, "root", "/");
        link_to(f->dst, "up", "../../../..");
        link_to(f->dst, "victim", target);
        k = dir_sink(rfd, "", true);
        /* not in the root yet: an error (as docker's untar), nothing written on the host */
        assert_int_equal(put_file(k, "abs/planted", "x\n", NULL), -ENOENT);
        assert_false(exists(f->outside, "planted"));
        inside = xasprintf("%s%s", f->dst, f->outside); /* the root's own copy of that path */
        mkdirs_p(inside);
        assert_int_equal(put_file(k, "abs/planted", "x\n", NULL), 0);
        assert_int_equal(put_file(k, "root/viaroot", "z\n", NULL), 0);
        assert_int_equal(put_file(k, "up/viaup", "y\n", NULL), 0);
        assert_int_equal(put_file(k, "victim", "overwritten\n", NULL), 0);
        assert_false(exists(f->outside, "planted"));
        assert_true(exists(inside, "planted"));
        assert_true(exists(f->dst, "viaroot"));
        assert_true(exists(f->dst, "viaup"));
        secret = read_text(f->outside, "secret");
        assert_string_equal(secret, "HOST\n"); /* "victim" was replaced, its target kept */
        free(steal_ptr(&inside));
        inside = at(f->dst, "victim");
        assert_int_equal(lstat(inside, &st), 0);
        assert_true(S_ISREG(st.st_mode));
}

static void test_names_leaving(void **state)
{
        struct fixture *f = *state;
        _cleanup_(cp_sink_freep) struct cp_sink *k = NULL;
        _autoclose_ int rfd = open_dir(f->dst);
        static const char *const bad[] = {"../x", "a/../../x", "..", "./../x"};

        mkdirs(f->dst, "d");
        k = dir_sink(rfd, "d", true);
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                _autoerr_ struct berth_error *e = NULL;

                assert_int_equal(put_file(k, bad[i], "x", &e), -EXDEV);
                assert_non_null(strstr(e->msg, "is outside of \"/d\""));
        }
        /* ".", "/" and "./" are the directory itself: nothing to do */
        assert_int_equal(put_file(k, "./", "x", NULL), 0);
        assert_int_equal(put_file(k, "/abs/ok", "x", NULL), 0); /* docker: below DEST */
        {
                _autofree_ char *p = at(f->dst, "d/abs/ok");
                struct stat st;

                assert_int_equal(lstat(p, &st), 0);
        }
}

/* docker's NoOverwriteDirNonDir. */
static void test_no_overwrite_dir_non_dir(void **state)
{
        struct fixture *f = *state;
        _cleanup_(cp_sink_freep) struct cp_sink *k = NULL;
        _autoclose_ int rfd = open_dir(f->dst);
        struct cp_entry dir = {.name = "file", .mode = S_IFDIR | 0755};
        _autoerr_ struct berth_error *e1 = NULL, *e2 = NULL;

        mkdirs(f->dst, "dir");
        write_text(f->dst, "file", "old\n", 0644);
        k = dir_sink(rfd, "", true);
        assert_int_equal(put_file(k, "dir", "x", &e1), -EISDIR);
        assert_string_equal(e1->msg,
                            "cannot overwrite directory \"/dir\" with non-directory \"/\"");
        assert_int_equal(cp_sink_put(k, &dir, NULL, NULL, &e2), -ENOTDIR);
        assert_string_equal(e2->msg,
                            "cannot overwrite non-directory \"/file\" with directory \"/\"");
        assert_int_equal(put_file(k, "file", "new\n", NULL), 0); /* a file over a file */
}

/* A hard link's target resolves inside the root too; one leaving it is refused. */
static void test_hardlinks(void **state)
{
        struct fixture *f = *state;
        _cleanup_(cp_sink_freep) struct cp_sink *k = NULL;
        _autoclose_ int rfd = open_dir(f->dst);
        _autofree_ char *a = at(f->dst, "a"), *b = at(f->dst, "b"), *to_a = xstrdup("a"),
                        *to_out = xstrdup("../x");
        struct cp_entry ok = {.name = "b", .mode = S_IFREG | 0644, .hardlink = to_a};
        struct cp_entry bad = {.name = "c", .mode = S_IFREG | 0644, .hardlink = to_out};
        struct stat sa, sb;

        k = dir_sink(rfd, "", true);
        assert_int_equal(put_file(k, "a", "A", NULL), 0);
        assert_int_equal(cp_sink_put(k, &ok, NULL, NULL, NULL), 0);
        assert_int_equal(cp_sink_put(k, &bad, NULL, NULL, NULL), -EXDEV);
        assert_int_equal(lstat(a, &sa), 0);
        assert_int_equal(lstat(b, &sb), 0);
        assert_int_equal(sa.st_ino, sb.st_ino);
}

/* ---- docker's splitCpArg ----------------------------------------------------------------- */

static void split(const char *arg, const char *ctr, const char *path)
{
        _autofree_ char *c = NULL, *p = NULL;

        berth_cp_split_arg(arg, &c, &p);
        if (ctr)
                assert_string_equal(c, ctr);
        else
                assert_null(c);
        assert_string_equal(p, path);
}

static void test_split_arg(void **state)
{
        (void) state;
        split("web:/etc/hosts", "web", "/etc/hosts");
        split("web:tmp/x", "web", "tmp/x");
        split("web:", "web", "");
        split("/abs/file:name", NULL, "/abs/file:name");
        split("./file:name", NULL, "./file:name");
        split("file", NULL, "file");
        split("-", NULL, "-");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_tar_round_trip, setup, teardown),
            cmocka_unit_test_setup_teardown(test_walk_contents, setup, teardown),
            cmocka_unit_test_setup_teardown(test_walk_never_follows, setup, teardown),
            cmocka_unit_test_setup_teardown(test_in_root_confines, setup, teardown),
            cmocka_unit_test_setup_teardown(test_names_leaving, setup, teardown),
            cmocka_unit_test_setup_teardown(test_no_overwrite_dir_non_dir, setup, teardown),
            cmocka_unit_test_setup_teardown(test_hardlinks, setup, teardown),
            cmocka_unit_test(test_split_arg),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
