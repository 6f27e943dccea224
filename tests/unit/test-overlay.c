/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The overlay mount and overlayfs' copy-on-write rules as the engine relies on them. The whole
 * binary runs in its own mount namespace (made private) with a fresh tmpfs over /tmp, so every
 * layer, upper dir and mount lives and dies with that namespace: nothing reaches the host.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <cmocka.h>

#include "image/overlay.h"
#include "base/util.h"

typedef int (*mount_fn)(const char *const *, const char *, const char *, const char *,
                        struct berth_error **);

/* One test's tree: BASE/l0 .. l<n-1> (l0 on top), BASE/upper, work, merged. */
struct tree {
        char base[PATH_MAX];
        char upper[PATH_MAX], work[PATH_MAX], merged[PATH_MAX];
        char **lowers; /* NULL-terminated */
        size_t n;
};

static void mkdir_p(const char *path)
{
        char buf[PATH_MAX];

        snprintf(buf, sizeof(buf), "%s", path);
        for (char *s = buf + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                assert_true(mkdir(buf, 0755) == 0 || errno == EEXIST);
                *s = '/';
        }
        assert_true(mkdir(buf, 0755) == 0 || errno == EEXIST);
}

static void put(const char *dir, const char *name, const char *data)
{
        _autofree_ char *path = xasprintf("%s/%s", dir, name);
        _autoclose_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        assert_true(fd >= 0);
        assert_int_equal(write_all(fd, data, strlen(data)), 0);
}

/* The file's content, or "" with errno set when it cannot be read. */
static const char *get(const char *dir, const char *name)
{
        static char buf[256];
        _autofree_ char *path = xasprintf("%s/%s", dir, name);
        _autoclose_ int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n;

        buf[0] = '\0';
        if (fd < 0)
                return buf;
        n = read(fd, buf, sizeof(buf) - 1);
        buf[n > 0 ? n : 0] = '\0';
        return buf;
}

static bool exists(const char *dir, const char *name)
{
        _autofree_ char *path = xasprintf("%s/%s", dir, name);
        struct stat st;

        return lstat(path, &st) == 0;
}

/* A tree of n empty lower dirs under base/<layer_dir>NNN/diff (or base/lNNN when layer_dir is
 * NULL), plus upper, work and merged. */
static void tree_new(struct tree *t, const char *base, size_t n, const char *layer_dir)
{
        memset(t, 0, sizeof(*t));
        snprintf(t->base, sizeof(t->base), "%s", base);
        snprintf(t->upper, sizeof(t->upper), "%s/upper", base);
        snprintf(t->work, sizeof(t->work), "%s/work", base);
        snprintf(t->merged, sizeof(t->merged), "%s/merged", base);
        mkdir_p(t->upper);
        mkdir_p(t->work);
        mkdir_p(t->merged);
        t->n = n;
        t->lowers = xcalloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++) {
                t->lowers[i] = layer_dir ? xasprintf("%s/%s%03zu/diff", base, layer_dir, i)
                                         : xasprintf("%s/l%zu", base, i);
                mkdir_p(t->lowers[i]);
        }
}

static void tree_free(struct tree *t)
{
        strv_free(t->lowers);
        t->lowers = NULL;
}

static void tree_mount_with(struct tree *t, mount_fn fn)
{
        _autoerr_ struct berth_error *err = NULL;
        int r = fn((const char *const *) t->lowers, t->upper, t->work, t->merged, &err);

        if (r < 0)
                print_message("# %s\n", err->msg);
        assert_int_equal(r, 0);
        assert_null(err);
}

static void tree_mount(struct tree *t)
{
        tree_mount_with(t, berth_overlay_mount);
}

static void tree_umount(struct tree *t)
{
        _autoerr_ struct berth_error *err = NULL;

        assert_int_equal(berth_overlay_umount(t->merged, &err), 0);
        tree_free(t);
}

static void test_upper_shadows_lower(void **state)
{
        struct tree t;

        (void) state;
        tree_new(&t, "/tmp/shadow", 1, NULL);
        put(t.lowers[0], "f", "lower");
        put(t.upper, "f", "upper");
        tree_mount(&t);
        assert_string_equal(get(t.merged, "f"), "upper");
        tree_umount(&t);
}

static void test_lower_only(void **state)
{
        struct tree t;

        (void) state;
        tree_new(&t, "/tmp/lower-only", 2, NULL);
        put(t.lowers[1], "f", "bottom");
        tree_mount(&t);
        assert_string_equal(get(t.merged, "f"), "bottom");
        tree_umount(&t);
}

static void test_upper_only(void **state)
{
        struct tree t;

        (void) state;
        tree_new(&t, "/tmp/upper-only", 1, NULL);
        put(t.upper, "u", "upper");
        tree_mount(&t);
        assert_string_equal(get(t.merged, "u"), "upper");
        assert_false(exists(t.lowers[0], "u"));
        tree_umount(&t);
}

static void test_topmost_lower_wins(void **state)
{
        struct tree t;

        (void) state;
        tree_new(&t, "/tmp/topmost", 3, NULL);
        put(t.lowers[0], "f", "top");
        put(t.lowers[2], "f", "bottom");
        put(t.lowers[1], "g", "middle");
        put(t.lowers[2], "g", "bottom");
        tree_mount(&t);
        assert_string_equal(get(t.merged, "f"), "top");
        assert_string_equal(get(t.merged, "g"), "middle");
        tree_umount(&t);
}

static void test_copy_up(void **state)
{
        struct tree t;
        _autofree_ char *path = NULL;
        _autoclose_ int fd = -EBADF;

        (void) state;
        tree_new(&t, "/tmp/copy-up", 1, NULL);
        put(t.lowers[0], "f", "lower");
        tree_mount(&t);
        assert_false(exists(t.upper, "f"));
        path = xasprintf("%s/f", t.merged);
        fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_int_equal(write_all(fd, "+new", 4), 0);
        closep(&fd);
        assert_string_equal(get(t.merged, "f"), "lower+new");
        assert_string_equal(get(t.upper, "f"), "lower+new");
        assert_string_equal(get(t.lowers[0], "f"), "lower");
        tree_umount(&t);
}

static void test_whiteout(void **state)
{
        struct tree t;
        _autofree_ char *path = NULL, *up = NULL;
        struct stat st;

        (void) state;
        tree_new(&t, "/tmp/whiteout", 1, NULL);
        put(t.lowers[0], "f", "lower");
        tree_mount(&t);
        path = xasprintf("%s/f", t.merged);
        assert_int_equal(unlink(path), 0);
        assert_false(exists(t.merged, "f"));
        up = xasprintf("%s/f", t.upper);
        assert_int_equal(lstat(up, &st), 0);
        assert_true(S_ISCHR(st.st_mode));
        assert_int_equal(st.st_rdev, makedev(0, 0));
        assert_string_equal(get(t.lowers[0], "f"), "lower");
        tree_umount(&t);
}

static void test_opaque_dir(void **state)
{
        struct tree t;
        _autofree_ char *top = NULL, *bottom = NULL, *merged = NULL;

        (void) state;
        tree_new(&t, "/tmp/opaque", 2, NULL);
        top = xasprintf("%s/d", t.lowers[0]);
        bottom = xasprintf("%s/d", t.lowers[1]);
        merged = xasprintf("%s/d", t.merged);
        mkdir_p(top);
        mkdir_p(bottom);
        put(top, "a", "top");
        put(bottom, "b", "bottom");
        assert_int_equal(setxattr(top, "trusted.overlay.opaque", "y", 1, 0), 0);
        put(t.lowers[1], "outside", "bottom"); /* not under the opaque dir: stays visible */
        tree_mount(&t);
        assert_string_equal(get(merged, "a"), "top");
        assert_false(exists(merged, "b"));
        assert_string_equal(get(t.merged, "outside"), "bottom");
        tree_umount(&t);
}

/* n layers with long, store-like paths (64-character ids): far more than one page of options. */
static void many_layers(const char *base, size_t n, mount_fn fn)
{
        struct tree t;
        size_t total = 0;

        tree_new(&t, base, n, "layers/0123456789abcdef0123456789abcdef0123456789abcdef01234567");
        for (size_t i = 0; i < n; i++)
                total += strlen(t.lowers[i]) + 1;
        assert_true(total > 4096);
        put(t.lowers[n - 1], "bottom", "bottom");
        put(t.lowers[n - 1], "f", "bottom");
        put(t.lowers[0], "f", "top");
        tree_mount_with(&t, fn);
        assert_string_equal(get(t.merged, "bottom"), "bottom");
        assert_string_equal(get(t.merged, "f"), "top");
        tree_umount(&t);
}

static void test_128_layers(void **state)
{
        (void) state;
        many_layers("/tmp/many128", 128, berth_overlay_mount);
}

static void test_500_layers(void **state)
{
        (void) state;
        many_layers("/tmp/many500", 500, berth_overlay_mount);
}

static void test_501_layers(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        struct tree t;

        (void) state;
        tree_new(&t, "/tmp/many501", 501, NULL);
        assert_int_equal(
            berth_overlay_mount((const char *const *) t.lowers, t.upper, t.work, t.merged, &err),
            -E2BIG);
        assert_string_equal(err->msg,
                            "mount overlay on /tmp/many501/merged: 501 lower dirs, the kernel's "
                            "limit is 500");
        tree_free(&t);
}

static void missing_lower(const char *base, mount_fn fn)
{
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *want = NULL;
        struct tree t;

        tree_new(&t, base, 2, NULL);
        put(t.lowers[0], "f", "top");
        free(t.lowers[1]);
        t.lowers[1] = xasprintf("%s/nope", base);
        assert_int_equal(fn((const char *const *) t.lowers, t.upper, t.work, t.merged, &err),
                         -ENOENT);
        want = xasprintf("mount overlay on %s/merged: lowerdir %s/nope: No such file or directory",
                         base, base);
        assert_string_equal(err->msg, want);
        assert_false(exists(t.merged, "f")); /* nothing mounted */
        tree_free(&t);
}

static void test_missing_lower(void **state)
{
        (void) state;
        missing_lower("/tmp/missing", berth_overlay_mount);
}

/* A refusal at FSCONFIG_CMD_CREATE carries the kernel's own reason. */
static void test_create_error(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        struct tree t;

        (void) state;
        tree_new(&t, "/tmp/create-error", 1, NULL);
        /* upper and work on different mounts */
        assert_int_equal(mount("tmpfs", t.work, "tmpfs", 0, NULL), 0);
        assert_int_equal(
            berth_overlay_mount((const char *const *) t.lowers, t.upper, t.work, t.merged, &err),
            -EINVAL);
        assert_true(startswith(err->msg, "mount overlay on /tmp/create-error/merged: create"));
        assert_int_equal(umount(t.work), 0);
        tree_free(&t);
}

static void test_bad_args(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        const char *none[] = {NULL};
        const char *relative[] = {"layer", NULL};

        (void) state;
        assert_int_equal(berth_overlay_mount(none, "/u", "/w", "/m", &err), -EINVAL);
        assert_string_equal(err->msg, "mount overlay on /m: no lower dirs");
        berth_error_freep(&err);
        assert_int_equal(berth_overlay_mount(relative, "/u", "/w", "/m", &err), -EINVAL);
        assert_string_equal(err->msg, "mount overlay on /m: lowerdir layer: not an absolute path");
        berth_error_freep(&err);
        assert_int_equal(berth_overlay_mount_classic(relative, "/u", "/w", "/m", &err), -EINVAL);
}

static void test_umount(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        struct tree t;

        (void) state;
        tree_new(&t, "/tmp/umount", 1, NULL);
        put(t.lowers[0], "f", "lower");
        tree_mount(&t);
        assert_true(exists(t.merged, "f"));
        assert_int_equal(berth_overlay_umount(t.merged, &err), 0);
        assert_false(exists(t.merged, "f"));
        assert_int_equal(berth_overlay_umount(t.merged, &err), -EINVAL);
        assert_string_equal(err->msg, "umount /tmp/umount/merged: Invalid argument");
        tree_free(&t);
}

/* The mount(2) fallback: a short option string as it is. */
static void test_classic(void **state)
{
        struct tree t;

        (void) state;
        tree_new(&t, "/tmp/classic", 2, NULL);
        put(t.lowers[1], "f", "bottom");
        put(t.lowers[1], "g", "bottom");
        put(t.lowers[0], "g", "top");
        put(t.upper, "u", "upper");
        tree_mount_with(&t, berth_overlay_mount_classic);
        assert_string_equal(get(t.merged, "f"), "bottom");
        assert_string_equal(get(t.merged, "g"), "top");
        assert_string_equal(get(t.merged, "u"), "upper");
        tree_umount(&t);
}

/* The mount(2) fallback with paths that only fit relative to their common parent; the working
 * directory is back where it was afterwards. */
static void test_classic_relative(void **state)
{
        char before[PATH_MAX], after[PATH_MAX], base[PATH_MAX];
        struct tree t;

        (void) state;
        /* a deep parent: 128 absolute paths need ~28 KiB, relative ones ~600 bytes */
        snprintf(base, sizeof(base), "/tmp/classic-rel/%0200d", 0);
        tree_new(&t, base, 128, NULL);
        put(t.lowers[127], "bottom", "bottom");
        assert_non_null(getcwd(before, sizeof(before)));
        tree_mount_with(&t, berth_overlay_mount_classic);
        assert_non_null(getcwd(after, sizeof(after)));
        assert_string_equal(before, after);
        assert_string_equal(get(t.merged, "bottom"), "bottom");
        tree_umount(&t);
}

static void test_classic_too_long(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        struct tree t;

        (void) state;
        tree_new(&t, "/tmp/classic-long", 128,
                 "layers/0123456789abcdef0123456789abcdef0123456789abcdef01234567");
        put(t.lowers[0], "f", "top");
        assert_int_equal(berth_overlay_mount_classic((const char *const *) t.lowers, t.upper,
                                                     t.work, t.merged, &err),
                         -E2BIG);
        assert_non_null(strstr(err->msg, "mount overlay on /tmp/classic-long/merged: the lowerdir "
                                         "option needs "));
        assert_non_null(strstr(err->msg, "even with relative paths"));
        assert_false(exists(t.merged, "f"));
        tree_free(&t);
}

/* How many layers fit: 500 here with "lowerdir+"; with mount(2), what the page holds (the
 * count mounts, two more do not: "volatile" is counted in, so one more may still fit). */
static void test_max_lowers(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        struct tree t;
        unsigned n;

        (void) state;
        tree_new(&t, "/tmp/max", 1, "layers/0123456789abcdef0123456789abcdef0123456789abcdef01234");
        n = berth_overlay_max_lowers_classic(t.lowers[0], t.upper, t.work);
        print_message("# mount(2) takes %u lower dirs like %s\n", n, t.lowers[0]);
        assert_true(n > 30 && n < 100);
        if (berth_overlay_max_lowers(t.lowers[0], t.upper, t.work) != BERTH_OVERLAY_MAX_LOWERS)
                print_message("# no \"lowerdir+\" on this kernel (Linux < 6.8)\n");
        tree_free(&t);

        tree_new(&t, "/tmp/max", n, "layers/0123456789abcdef0123456789abcdef0123456789abcdef01234");
        tree_mount_with(&t, berth_overlay_mount_classic);
        tree_umount(&t);
        tree_new(&t, "/tmp/max", n + 2,
                 "layers/0123456789abcdef0123456789abcdef0123456789abcdef01234");
        assert_int_equal(berth_overlay_mount_classic((const char *const *) t.lowers, t.upper,
                                                     t.work, t.merged, &err),
                         -E2BIG);
        tree_free(&t);
        assert_int_equal(berth_overlay_max_lowers_classic("/x", "/u", "/w") >= 500, true);
}

static void test_classic_missing_lower(void **state)
{
        (void) state;
        missing_lower("/tmp/classic-missing", berth_overlay_mount_classic);
}

/* The mount(2) fallback escapes ':' and ',' in paths. */
static void test_classic_escapes(void **state)
{
        struct tree t;

        (void) state;
        tree_new(&t, "/tmp/classic,esc:aped", 2, NULL);
        put(t.lowers[1], "f", "bottom");
        tree_mount_with(&t, berth_overlay_mount_classic);
        assert_string_equal(get(t.merged, "f"), "bottom");
        tree_umount(&t);
}

/* Private mount namespace with a tmpfs over /tmp: dies with this process. */
static int enter_sandbox(void)
{
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return -errno;
        if (mount("tmpfs", "/tmp", "tmpfs", 0, "mode=01777") < 0)
                return -errno;
        return 0;
}

/* Whether this kernel mounts overlayfs here at all. */
static bool overlay_works(void)
{
        _autoerr_ struct berth_error *err = NULL;
        struct tree t;
        int r;

        tree_new(&t, "/tmp/probe", 1, NULL);
        r = berth_overlay_mount_classic((const char *const *) t.lowers, t.upper, t.work, t.merged,
                                        &err);
        if (r < 0) {
                printf("1..0 # SKIP overlayfs: %s\n", err->msg);
                tree_free(&t);
                return false;
        }
        tree_umount(&t);
        return true;
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_upper_shadows_lower),
            cmocka_unit_test(test_lower_only),
            cmocka_unit_test(test_upper_only),
            cmocka_unit_test(test_topmost_lower_wins),
            cmocka_unit_test(test_copy_up),
            cmocka_unit_test(test_whiteout),
            cmocka_unit_test(test_opaque_dir),
            cmocka_unit_test(test_128_layers),
            cmocka_unit_test(test_500_layers),
            cmocka_unit_test(test_501_layers),
            cmocka_unit_test(test_missing_lower),
            cmocka_unit_test(test_create_error),
            cmocka_unit_test(test_bad_args),
            cmocka_unit_test(test_umount),
            cmocka_unit_test(test_classic),
            cmocka_unit_test(test_classic_relative),
            cmocka_unit_test(test_max_lowers),
            cmocka_unit_test(test_classic_too_long),
            cmocka_unit_test(test_classic_missing_lower),
            cmocka_unit_test(test_classic_escapes),
        };
        int r;

        /* trusted.overlay.* xattrs and mknod of whiteouts need root of the initial namespace */
        if (geteuid() != 0) {
                printf("1..0 # SKIP needs root\n");
                return 0;
        }
        r = enter_sandbox();
        if (r < 0) {
                printf("1..0 # SKIP needs a private mount namespace and tmpfs: %s\n", strerror(-r));
                return 0;
        }
        if (!overlay_works())
                return 0;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
