/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Layer unpacking. The whole binary runs in its own mount namespace, chrooted into a fresh tmpfs
 * (with /proc bind-mounted), so a broken unpacker can only ever write into that tmpfs: there,
 * /etc/passwd and /abs are sentinels that every test checks are untouched. Tars are built here
 * with libarchive's writer, hostile entries included.
 */
#define _GNU_SOURCE 1
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <cmocka.h>

#include "fork-child.h"
#include "image/layer.h"
#include "base/util.h"

#define SENTINEL "sentinel\n"

struct ent {
        const char *name;
        mode_t type;   /* AE_IF*; 0: regular file */
        unsigned mode; /* 0: 0644 / 0755 */
        const char *data;
        const char *link;     /* symlink target */
        const char *hardlink; /* hardlink target */
        unsigned major, minor;
        int64_t size; /* > 0: declared size, data is zeros */
        const char *xname, *xval;
        size_t xlen;
        unsigned uid, gid;
};

static void add_entry(struct archive *w, const struct ent *x)
{
        struct archive_entry *e = archive_entry_new();
        mode_t type = x->type ? x->type : AE_IFREG;
        size_t len = x->data ? strlen(x->data) : 0;

        archive_entry_set_pathname(e, x->name);
        archive_entry_set_filetype(e, type);
        archive_entry_set_perm(e, x->mode ? x->mode : type == AE_IFDIR ? 0755 : 0644);
        archive_entry_set_uid(e, x->uid);
        archive_entry_set_gid(e, x->gid);
        archive_entry_set_mtime(e, 1000000000, 0);
        if (x->link)
                archive_entry_set_symlink(e, x->link);
        if (x->hardlink)
                archive_entry_set_hardlink(e, x->hardlink);
        if (type == AE_IFCHR || type == AE_IFBLK)
                archive_entry_set_rdev(e, makedev(x->major, x->minor));
        if (x->xname)
                archive_entry_xattr_add_entry(e, x->xname, x->xval,
                                              x->xlen ? x->xlen : strlen(x->xval));
        archive_entry_set_size(e, x->size > 0 ? x->size : (la_int64_t) len);
        assert_int_equal(archive_write_header(w, e), ARCHIVE_OK);
        if (len)
                assert_int_equal(archive_write_data(w, x->data, len), (la_ssize_t) len);
        for (int64_t left = x->size; left > 0; left -= 512)
                assert_true(archive_write_data(w, (char[512]){0}, 512) > 0);
        archive_entry_free(e);
}

/* A tar (filter: "none", "gzip", "zstd") of the entries, in a memfd positioned at 0. */
static int make_tar(const char *filter, const struct ent *ents, size_t n)
{
        struct archive *w = archive_write_new();
        int fd = memfd_create("layer", MFD_CLOEXEC);

        assert_true(fd >= 0);
        assert_int_equal(archive_write_set_format_pax_restricted(w), ARCHIVE_OK);
        if (streq(filter, "gzip"))
                assert_int_equal(archive_write_add_filter_gzip(w), ARCHIVE_OK);
        else if (streq(filter, "zstd"))
                assert_int_equal(archive_write_add_filter_zstd(w), ARCHIVE_OK);
        assert_int_equal(archive_write_open_fd(w, fd), ARCHIVE_OK);
        for (size_t i = 0; i < n; i++)
                add_entry(w, &ents[i]);
        assert_int_equal(archive_write_close(w), ARCHIVE_OK);
        archive_write_free(w);
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        return fd;
}

/* A fresh, empty target directory. */
static int new_layer(char *path, size_t size)
{
        static int counter;
        int fd;

        snprintf(path, size, "/layer-%d", ++counter);
        assert_int_equal(mkdir(path, 0755), 0);
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(fd >= 0);
        return fd;
}

static size_t count_entries(const char *dir)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        size_t n = 0;

        assert_non_null(d);
        while ((de = readdir(d)))
                n += !streq(de->d_name, ".") && !streq(de->d_name, "..");
        closedir(d);
        return n;
}

/* Nothing was written outside the layers: / holds proc, etc, abs and layer-N only. */
static void check_outside(void)
{
        _autofree_ char *buf = NULL;
        struct dirent *de;
        size_t len = 0;
        DIR *d = opendir("/");

        assert_non_null(d);
        while ((de = readdir(d))) {
                if (streq(de->d_name, ".") || streq(de->d_name, "..") ||
                    streq(de->d_name, "proc") || streq(de->d_name, "etc") ||
                    streq(de->d_name, "abs") || startswith(de->d_name, "layer-"))
                        continue;
                print_error("unexpected /%s\n", de->d_name);
                fail();
        }
        closedir(d);
        assert_int_equal(count_entries("/abs"), 0);
        assert_int_equal(count_entries("/etc"), 1);
        assert_int_equal(berth_read_file_at(AT_FDCWD, "/etc/passwd", 0, &buf, &len, NULL), 0);
        assert_string_equal(buf, SENTINEL);
}

/* Unpacks ents into a fresh layer; returns the result, leaves the layer's fd in *ret_dir and its
 * path in path. */
static int unpack(const char *filter, const struct ent *ents, size_t n,
                  const struct berth_layer_opts *o, int *ret_dir, char path[64],
                  struct berth_layer_stats *st, struct berth_error **err)
{
        _autoclose_ int tar = make_tar(filter, ents, n);
        int dir = new_layer(path, 64), r;

        r = berth_layer_unpack(tar, dir, o, st, err);
        if (r < 0 && *err)
                print_message("# %s\n", (*err)->msg);
        *ret_dir = dir;
        return r;
}

static void expect_refused(const struct ent *ents, size_t n, const struct berth_layer_opts *o,
                           int code, const char *msg)
{
        _autoerr_ struct berth_error *err = NULL;
        _autoclose_ int dir = -EBADF;
        struct berth_layer_stats st = {99, 99, 99, 99, 99};
        char path[64];

        assert_int_equal(unpack("none", ents, n, o, &dir, path, &st, &err), -code);
        assert_non_null(err);
        if (!strstr(err->msg, msg))
                print_error("message %s lacks %s\n", err->msg, msg);
        assert_non_null(strstr(err->msg, msg));
        assert_int_equal(st.entries, 99); /* untouched on failure */
        check_outside();
}

static char *read_at(int dir, const char *path)
{
        char *buf = NULL;
        size_t len;

        assert_int_equal(berth_read_file_at(dir, path, 0, &buf, &len, NULL), 0);
        return buf;
}

static void assert_content(int dir, const char *path, const char *want)
{
        _autofree_ char *buf = read_at(dir, path);

        assert_string_equal(buf, want);
}

static void assert_stat(int dir, const char *path, mode_t mode, uid_t uid, gid_t gid)
{
        struct stat st;

        assert_int_equal(fstatat(dir, path, &st, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(st.st_mode, mode);
        assert_int_equal(st.st_uid, uid);
        assert_int_equal(st.st_gid, gid);
}

static void assert_xattr(const char *layer, const char *path, const char *name, const void *want,
                         size_t len)
{
        _autofree_ char *full = xasprintf("%s/%s", layer, path);
        char buf[256];

        assert_int_equal(lgetxattr(full, name, buf, sizeof(buf)), (ssize_t) len);
        assert_memory_equal(buf, want, len);
}

static bool absent(int dir, const char *path)
{
        struct stat st;

        return fstatat(dir, path, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT;
}

/* vfs_cap_data v2 (little endian): revision 2 + effective, CAP_NET_RAW (13) permitted. */
static const char file_caps[20] = {0x01, 0x00, 0x00, 0x02, 0x00, 0x20};

static const struct ent normal[] = {
    {.name = "./", .type = AE_IFDIR},
    {.name = "etc/", .type = AE_IFDIR},
    {.name = "etc/hosts", .data = "127.0.0.1 localhost\n"},
    {.name = "usr/bin/tool", .data = "#!/bin/sh\n", .mode = 04755, .uid = 1000, .gid = 1001},
    {.name = "etc/link", .type = AE_IFLNK, .link = "hosts"},
    {.name = "etc/hard", .hardlink = "etc/hosts"},
    {.name = "etc/x", .data = "x", .xname = "user.test", .xval = "value"},
    {.name = "bin/ping",
     .data = "elf",
     .mode = 0755,
     .xname = "security.capability",
     .xval = file_caps,
     .xlen = sizeof(file_caps)},
    {.name = "run/fifo", .type = AE_IFIFO, .mode = 0620},
    {.name = "secret/", .type = AE_IFDIR, .mode = 0700, .uid = 5, .gid = 6},
};

static void check_normal(const char *filter)
{
        _autoerr_ struct berth_error *err = NULL;
        _autoclose_ int dir = -EBADF;
        struct berth_layer_stats st = {0};
        char buf[64] = "", path[64];
        struct stat a, b;

        assert_int_equal(unpack(filter, normal, ARRAY_SIZE(normal), NULL, &dir, path, &st, &err),
                         0);
        assert_int_equal(st.entries, ARRAY_SIZE(normal));
        assert_int_equal(st.bytes, 20 + 10 + 1 + 3);
        assert_content(dir, "etc/hosts", "127.0.0.1 localhost\n");
        assert_content(dir, "usr/bin/tool", "#!/bin/sh\n");
        assert_stat(dir, "etc/hosts", S_IFREG | 0644, 0, 0);
        assert_stat(dir, "usr/bin/tool", S_IFREG | 04755, 1000, 1001);
        assert_stat(dir, "usr/bin", S_IFDIR | 0755, 0, 0);
        assert_stat(dir, "run/fifo", S_IFIFO | 0620, 0, 0);
        assert_stat(dir, "secret", S_IFDIR | 0700, 5, 6);
        assert_int_equal(readlinkat(dir, "etc/link", buf, sizeof(buf)), 5);
        assert_string_equal(buf, "hosts");
        assert_int_equal(fstatat(dir, "etc/hosts", &a, 0), 0);
        assert_int_equal(fstatat(dir, "etc/hard", &b, 0), 0);
        assert_int_equal(a.st_ino, b.st_ino);
        assert_int_equal(a.st_mtime, 1000000000);
        assert_xattr(path, "etc/x", "user.test", "value", 5);
        assert_xattr(path, "bin/ping", "security.capability", file_caps, sizeof(file_caps));
        check_outside();
}

static void test_normal(void **state)
{
        (void) state;
        check_normal("none");
}

static void test_gzip(void **state)
{
        (void) state;
        check_normal("gzip");
}

static void test_zstd(void **state)
{
        (void) state;
        check_normal("zstd");
}

static void test_whiteouts(void **state)
{
        static const struct ent ents[] = {
            {.name = "d/f", .data = "old"},
            {.name = "d/sub/deep", .data = "old"},
            {.name = "d/.wh.f"},
            {.name = "d/.wh.sub"},
            {.name = "d/.wh.gone"},
            {.name = "o/keep", .data = "k"},
            {.name = "o/.wh..wh..opq"},
            {.name = ".wh..wh..plnk/1"},
        };
        _autoerr_ struct berth_error *err = NULL;
        _autoclose_ int dir = -EBADF;
        struct berth_layer_stats st = {0};
        char path[64];
        struct stat s;

        (void) state;
        assert_int_equal(unpack("none", ents, ARRAY_SIZE(ents), NULL, &dir, path, &st, &err), 0);
        assert_int_equal(st.whiteouts, 3);
        assert_int_equal(st.opaque_dirs, 1);
        for (const char *const *p = (const char *const[]){"d/f", "d/sub", "d/gone", NULL}; *p;
             p++) {
                assert_int_equal(fstatat(dir, *p, &s, AT_SYMLINK_NOFOLLOW), 0);
                assert_true(S_ISCHR(s.st_mode));
                assert_int_equal(s.st_rdev, makedev(0, 0));
        }
        assert_true(absent(dir, "d/.wh.f"));
        assert_true(absent(dir, "o/.wh..wh..opq"));
        assert_xattr(path, "o", "trusted.overlay.opaque", "y", 1);
        assert_content(dir, "o/keep", "k");
        check_outside();
}

static void test_replace(void **state)
{
        static const struct ent ents[] = {
            {.name = "r/c/x", .data = "1"},
            {.name = "r", .data = "file now"},
            {.name = "s", .data = "file"},
            {.name = "s", .type = AE_IFLNK, .link = "/"},
            {.name = "k/", .type = AE_IFDIR},
            {.name = "k/a", .data = "a"},
            {.name = "k/", .type = AE_IFDIR, .mode = 0711},
        };
        _autoerr_ struct berth_error *err = NULL;
        _autoclose_ int dir = -EBADF;
        char path[64];

        (void) state;
        assert_int_equal(unpack("none", ents, ARRAY_SIZE(ents), NULL, &dir, path, NULL, &err), 0);
        assert_content(dir, "r", "file now");
        assert_stat(dir, "s", S_IFLNK | 0777, 0, 0);
        assert_stat(dir, "k", S_IFDIR | 0711, 0, 0);
        assert_content(dir, "k/a", "a");
        check_outside();
}

static void test_dotdot(void **state)
{
        (void) state;
        expect_refused((const struct ent[]){{.name = "../evil", .data = "x"}}, 1, NULL, EINVAL,
                       "layer entry \"../evil\": path leaves the layer");
        expect_refused((const struct ent[]){{.name = "a/../../evil", .data = "x"}}, 1, NULL, EINVAL,
                       "layer entry \"a/../../evil\": path leaves the layer");
        expect_refused(
            (const struct ent[]){{.name = "ok", .data = "x"}, {.name = "..", .type = AE_IFDIR}}, 2,
            NULL, EINVAL, "path leaves the layer");
}

static void test_absolute(void **state)
{
        static const struct ent ents[] = {{.name = "/abs/evil", .data = "in"},
                                          {.name = "//abs/./../", .type = AE_IFDIR}};
        _autoerr_ struct berth_error *err = NULL;
        _autoclose_ int dir = -EBADF;
        char path[64];

        (void) state;
        assert_int_equal(unpack("none", ents, 1, NULL, &dir, path, NULL, &err), 0);
        assert_content(dir, "abs/evil", "in");
        check_outside();
        expect_refused(ents + 1, 1, NULL, EINVAL, "path leaves the layer");
}

static void test_symlink_parent(void **state)
{
        static const struct ent ents[] = {
            {.name = "etc/", .type = AE_IFDIR},
            {.name = "link", .type = AE_IFLNK, .link = "/etc"},
            {.name = "link/passwd", .data = "pwned\n"},
            {.name = "a", .type = AE_IFLNK, .link = "../../.."},
            {.name = "a/x", .data = "x"},
            {.name = "b", .type = AE_IFLNK, .link = "a/../../a/etc"},
            {.name = "b/y", .data = "y"},
        };
        _autoerr_ struct berth_error *err = NULL;
        _autoclose_ int dir = -EBADF;
        char path[64];

        (void) state;
        assert_int_equal(unpack("none", ents, ARRAY_SIZE(ents), NULL, &dir, path, NULL, &err), 0);
        assert_content(dir, "etc/passwd", "pwned\n");
        assert_content(dir, "x", "x");
        assert_content(dir, "etc/y", "y");
        check_outside();
        /* a dangling symlink parent is not created, and never resolved on the host */
        expect_refused((const struct ent[]){{.name = "l", .type = AE_IFLNK, .link = "/abs"},
                                            {.name = "l/evil", .data = "x"}},
                       2, NULL, ENOENT, "layer entry \"l/evil\": resolve parent");
}

static void test_hardlink_outside(void **state)
{
        (void) state;
        expect_refused(
            (const struct ent[]){{.name = "h", .hardlink = "../../etc/passwd"}}, 1, NULL, EINVAL,
            "layer entry \"h\": hardlink target \"../../etc/passwd\": path leaves the layer");
        /* through a symlink: resolved in the layer, where there is no etc/passwd */
        expect_refused((const struct ent[]){{.name = "l", .type = AE_IFLNK, .link = "/etc"},
                                            {.name = "h", .hardlink = "l/passwd"}},
                       2, NULL, ENOENT, "layer entry \"h\": resolve hardlink target");
}

/* A hardlink to a symlink links the symlink itself; following it later stays in the layer. */
static void test_hardlink_symlink(void **state)
{
        static const struct ent ents[] = {{.name = "l", .type = AE_IFLNK, .link = "/"},
                                          {.name = "h", .hardlink = "l"},
                                          {.name = "h/etc/passwd", .data = "x"}};
        _autoerr_ struct berth_error *err = NULL;
        _autoclose_ int dir = -EBADF;
        char path[64];

        (void) state;
        assert_int_equal(unpack("none", ents, ARRAY_SIZE(ents), NULL, &dir, path, NULL, &err), 0);
        assert_stat(dir, "h", S_IFLNK | 0777, 0, 0);
        assert_content(dir, "etc/passwd", "x");
        check_outside();
}

static void test_devices(void **state)
{
        static const struct ent ents[] = {
            {.name = "dev/sda", .type = AE_IFBLK, .major = 8, .minor = 0, .mode = 0660},
            {.name = "dev/null", .type = AE_IFCHR, .major = 1, .minor = 3, .mode = 0666},
        };
        struct berth_layer_opts o = {.allow_devices = true};
        _autoerr_ struct berth_error *err = NULL;
        _autoclose_ int dir = -EBADF;
        char path[64];
        struct stat s;

        (void) state;
        expect_refused(ents, 1, NULL, EPERM,
                       "layer entry \"dev/sda\": device nodes are not allowed in image layers");
        expect_refused(ents + 1, 1, &(struct berth_layer_opts){.max_bytes = 1}, EPERM,
                       "device nodes are not allowed");
        assert_int_equal(unpack("none", ents, 2, &o, &dir, path, NULL, &err), 0);
        assert_int_equal(fstatat(dir, "dev/sda", &s, AT_SYMLINK_NOFOLLOW), 0);
        assert_int_equal(s.st_mode, S_IFBLK | 0660);
        assert_int_equal(s.st_rdev, makedev(8, 0));
        assert_stat(dir, "dev/null", S_IFCHR | 0666, 0, 0);
        check_outside();
}

/* skip_devices (berth import of a root filesystem): devices left out and counted, the rest of
 * the tree unpacked; a 0/0 character device in a tar is a device like any other. */
static void test_skip_devices(void **state)
{
        static const struct ent ents[] = {
            {.name = "dev/", .type = AE_IFDIR, .mode = 0755},
            {.name = "dev/sda", .type = AE_IFBLK, .major = 8, .minor = 0, .mode = 0660},
            {.name = "dev/null", .type = AE_IFCHR, .major = 1, .minor = 3, .mode = 0666},
            {.name = "dev/zero-zero", .type = AE_IFCHR, .mode = 0600},
            {.name = "dev/fifo", .type = AE_IFIFO, .mode = 0600},
            {.name = "etc/hostname", .type = AE_IFREG, .data = "x", .mode = 0644},
        };
        struct berth_layer_opts o = {.skip_devices = true};
        struct berth_layer_stats st = {0};
        _autoerr_ struct berth_error *err = NULL;
        _autoclose_ int dir = -EBADF;
        char path[64];
        struct stat s;

        (void) state;
        assert_int_equal(unpack("none", ents, ARRAY_SIZE(ents), &o, &dir, path, &st, &err), 0);
        assert_int_equal(st.devices_skipped, 3);
        assert_int_equal(fstatat(dir, "dev/sda", &s, AT_SYMLINK_NOFOLLOW), -1);
        assert_int_equal(fstatat(dir, "dev/null", &s, AT_SYMLINK_NOFOLLOW), -1);
        assert_int_equal(fstatat(dir, "dev/zero-zero", &s, AT_SYMLINK_NOFOLLOW), -1);
        assert_stat(dir, "dev/fifo", S_IFIFO | 0600, 0, 0);
        assert_content(dir, "etc/hostname", "x");
        check_outside();
}

static void test_limits(void **state)
{
        static const struct ent ents[] = {
            {.name = "small", .data = "0123456789"}, {.name = "big", .size = 4096}, {.name = "c"}};

        (void) state;
        expect_refused(ents, 2, &(struct berth_layer_opts){.max_bytes = 4000}, EFBIG,
                       "layer entry \"big\": size 4096 makes the layer larger than 4000 bytes");
        expect_refused(ents, 3, &(struct berth_layer_opts){.max_entries = 2}, EFBIG,
                       "layer entry \"c\": more than 2 entries");
}

/* A hand-made ustar header whose size field (base-256) claims 2^62 bytes, with no data. */
static void test_huge_header(void **state)
{
        unsigned char h[1536] = {0};
        _autoerr_ struct berth_error *err = NULL;
        _autoclose_ int tar = memfd_create("huge", MFD_CLOEXEC), dir = -EBADF;
        unsigned sum = 0;
        int r;
        char path[64];

        (void) state;
        strcpy((char *) h, "bomb");
        memcpy(h + 100, "0000644", 8);
        memcpy(h + 108, "0000000", 8);
        memcpy(h + 116, "0000000", 8);
        h[124] = 0x80;
        h[128] = 0x40; /* bytes 125..135 big-endian: 0x40 << 56 = 2^62 */
        memcpy(h + 136, "00000000000", 12);
        h[156] = '0';
        memcpy(h + 257, "ustar", 6);
        memcpy(h + 263, "00", 2);
        memset(h + 148, ' ', 8);
        for (size_t i = 0; i < 512; i++)
                sum += h[i];
        snprintf((char *) h + 148, 8, "%06o", sum);
        assert_int_equal(write(tar, h, sizeof(h)), (ssize_t) sizeof(h));
        assert_int_equal(lseek(tar, 0, SEEK_SET), 0);
        dir = new_layer(path, sizeof(path));
        r = berth_layer_unpack(tar, dir, NULL, NULL, &err);
        print_message("# %s\n", err ? err->msg : "");
        assert_int_equal(r, -EFBIG);
        assert_non_null(strstr(err->msg, "layer entry \"bomb\": size 4611686018427387904 makes"));
        assert_int_equal(count_entries(path), 0);
        check_outside();
}

static void test_garbage(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        _autoclose_ int tar = memfd_create("garbage", MFD_CLOEXEC), dir = -EBADF;
        char path[64];

        (void) state;
        assert_int_equal(write(tar, "not a tar at all", 16), 16);
        assert_int_equal(lseek(tar, 0, SEEK_SET), 0);
        dir = new_layer(path, sizeof(path));
        assert_true(berth_layer_unpack(tar, dir, NULL, NULL, &err) < 0);
        assert_non_null(strstr(err->msg, "read layer"));
        check_outside();
}

static void test_truncated(void **state)
{
        static const struct ent ents[] = {{.name = "f", .size = 8192}};
        _autoerr_ struct berth_error *err = NULL;
        _autoclose_ int tar = make_tar("none", ents, 1), dir = -EBADF;
        char path[64];

        (void) state;
        assert_int_equal(ftruncate(tar, 2048), 0);
        dir = new_layer(path, sizeof(path));
        assert_true(berth_layer_unpack(tar, dir, NULL, NULL, &err) < 0);
        assert_non_null(strstr(err->msg, "layer entry \"f\": read data: "));
        check_outside();
}

/* Private mount namespace, a tmpfs as the new root with /proc in it and the sentinels. The
 * tmpfs goes over /tmp in that namespace only: no dir of ours is left on the host's /tmp. */
static int enter_sandbox(void)
{
        const char *root = "/tmp";
        int fd;

        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return -errno;
        if (mount("tmpfs", root, "tmpfs", 0, "mode=0755") < 0 || chdir(root) < 0 ||
            mkdir("proc", 0555) < 0 || mount("/proc", "proc", NULL, MS_BIND | MS_REC, NULL) < 0 ||
            mkdir("etc", 0755) < 0 || mkdir("abs", 0755) < 0)
                return -errno;
        fd = open("etc/passwd", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 || write_all(fd, SENTINEL, strlen(SENTINEL)) < 0)
                return -errno;
        close(fd);
        /* the mount dies with the namespace */
        if (chroot(".") < 0 || chdir("/") < 0)
                return -errno;
        return 0;
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_normal),
            cmocka_unit_test(test_gzip),
            cmocka_unit_test(test_zstd),
            cmocka_unit_test(test_whiteouts),
            cmocka_unit_test(test_replace),
            cmocka_unit_test(test_dotdot),
            cmocka_unit_test(test_absolute),
            cmocka_unit_test(test_symlink_parent),
            cmocka_unit_test(test_hardlink_outside),
            cmocka_unit_test(test_hardlink_symlink),
            cmocka_unit_test(test_devices),
            cmocka_unit_test(test_skip_devices),
            cmocka_unit_test(test_limits),
            cmocka_unit_test(test_huge_header),
            cmocka_unit_test(test_garbage),
            cmocka_unit_test(test_truncated),
        };
        int r;

        /* owners 1000 and trusted.overlay.opaque need root of the initial user namespace */
        if (!id_is_mapped("/proc/self/uid_map", 1000) ||
            !id_is_mapped("/proc/self/gid_map", 1001)) {
                printf("1..0 # SKIP needs root with uids 1000 and 1001 mapped\n");
                return 0;
        }
        r = enter_sandbox();

        if (r < 0) {
                printf("1..0 # SKIP needs a private mount namespace and tmpfs: %s\n", strerror(-r));
                return 0;
        }
        return cmocka_run_group_tests(tests, NULL, NULL);
}
