/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Container diffs and layer tars from an overlay upper dir. The whole binary runs in its own
 * mount namespace (made private) with a fresh tmpfs over /tmp, so every lower, upper and overlay
 * mount made here dies with it. Upper dirs are built by hand (0/0 whiteouts, opaque xattrs) and
 * by a real overlay mount; layer tars are read back with libarchive and unpacked with
 * berth_layer_unpack() to compare with the upper dir they came from.
 */
#define _GNU_SOURCE 1
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <cmocka.h>

#include "image/changes.h"
#include "image/layer.h"
#include "image/overlay.h"
#include "base/util.h"

/* ---- building trees ------------------------------------------------------------------------ */

static char *at(const char *dir, const char *name)
{
        return xasprintf("%s/%s", dir, name);
}

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

static void md(const char *dir, const char *name)
{
        _autofree_ char *p = at(dir, name);

        mkdir_p(p);
}

static void put(const char *dir, const char *name, const char *data)
{
        _autofree_ char *p = at(dir, name);
        _autoclose_ int fd = -EBADF;

        *strrchr(p, '/') = '\0';
        mkdir_p(p);
        p[strlen(p)] = '/';
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write_all(fd, data, strlen(data)), 0);
}

static void whiteout(const char *dir, const char *name)
{
        _autofree_ char *p = at(dir, name);

        assert_int_equal(mknod(p, S_IFCHR, makedev(0, 0)), 0);
}

static void opaque(const char *dir, const char *name)
{
        _autofree_ char *p = at(dir, name);

        mkdir_p(p);
        assert_int_equal(setxattr(p, "trusted.overlay.opaque", "y", 1, 0), 0);
}

static char *readall(const char *dir, const char *name)
{
        _autofree_ char *p = at(dir, name);
        _autofree_ char *buf = NULL;
        _autoclose_ int fd = open(p, O_RDONLY | O_CLOEXEC);
        size_t len;

        if (fd < 0)
                return xstrdup("");
        assert_int_equal(berth_read_fd(fd, p, 0, &buf, &len, NULL), 0);
        return steal_ptr(&buf);
}

/* ---- changes as text ----------------------------------------------------------------------- */

/* "A /x\nC /y\n..." */
static char *changes_text(const char *upper, const char *const *lowers)
{
        _autoerr_ struct berth_error *err = NULL;
        struct berth_change *c = NULL;
        size_t n = 0, len = 0;
        char *s = xstrdup("");
        int r;

        r = berth_changes(upper, lowers, &c, &n, &err);
        if (r < 0)
                print_error("# %s\n", err->msg);
        assert_int_equal(r, 0);
        for (size_t i = 0; i < n; i++) {
                s = xreallocarray(s, len + strlen(c[i].path) + 4, 1);
                len += (size_t) sprintf(s + len, "%c %s\n", c[i].kind, c[i].path);
        }
        berth_changes_free(c, n);
        return s;
}

/* Lowers l0 (top) and l1, and the upper dir of a container that changed them. */
static void build_by_hand(const char *base, char **ret_upper, char ***ret_lowers)
{
        _autofree_ char *l0 = at(base, "l0"), *l1 = at(base, "l1"), *up = at(base, "upper");

        put(l1, "etc/passwd", "root:x:0:0\n");
        put(l1, "etc/motd", "hello\n");
        put(l1, "usr/bin/sh", "#!\n");
        put(l1, "var/lib/x/y", "old\n");
        put(l1, "opt/a", "a\n");
        put(l1, "srv/data/old1", "1\n");
        put(l1, "srv/data/old2", "2\n");
        put(l1, "keep", "k\n");
        put(l0, "etc/hosts", "127.0.0.1 localhost\n");
        whiteout(l0, "opt");   /* l0 deleted /opt */
        opaque(l0, "var/lib"); /* l0 replaced /var/lib */
        put(l0, "var/lib/new", "new\n");

        put(up, "etc/motd", "changed\n");  /* C /etc, C /etc/motd */
        whiteout(up, "etc/passwd");        /* D /etc/passwd */
        whiteout(up, "etc/hosts");         /* D: it is in l0 */
        put(up, "newfile", "n\n");         /* A */
        put(up, "usr/bin/tool", "t\n");    /* C /usr, C /usr/bin, A /usr/bin/tool */
        put(up, "opt/a", "again\n");       /* A /opt, A /opt/a: l0's whiteout hides l1's */
        put(up, "var/lib/x/z", "z\n");     /* A /var/lib/x: l0's opaque dir hides l1's x */
        put(up, "var/lib/new", "newer\n"); /* C */
        opaque(up, "srv/data");            /* C /srv/data (replaced); its children are new */
        put(up, "srv/data/old1", "fresh\n");
        *ret_upper = xstrdup(up);
        *ret_lowers = xcalloc(3, sizeof(char *));
        (*ret_lowers)[0] = xstrdup(l0);
        (*ret_lowers)[1] = xstrdup(l1);
}

static void test_changes_by_hand(void **state)
{
        _autofree_ char *upper = NULL, *s = NULL;
        _autostrv_ char **lowers = NULL;

        (void) state;
        build_by_hand("/tmp/byhand", &upper, &lowers);
        s = changes_text(upper, (const char *const *) lowers);
        assert_string_equal(s, "C /etc\n"
                               "D /etc/hosts\n"
                               "C /etc/motd\n"
                               "D /etc/passwd\n"
                               "A /newfile\n"
                               "A /opt\n"
                               "A /opt/a\n"
                               "C /srv\n"
                               "C /srv/data\n"
                               "A /srv/data/old1\n"
                               "C /usr\n"
                               "C /usr/bin\n"
                               "A /usr/bin/tool\n"
                               "C /var\n"
                               "C /var/lib\n"
                               "C /var/lib/new\n"
                               "A /var/lib/x\n"
                               "A /var/lib/x/z\n");
}

/* Sorted by full path with strcmp, as docker sorts: "/a.b" comes before "/a/b". */
static void test_changes_sorted(void **state)
{
        _autofree_ char *s = NULL;
        const char *none[] = {NULL};

        (void) state;
        put("/tmp/sorted/upper", "a/b", "1");
        put("/tmp/sorted/upper", "a.b", "2");
        put("/tmp/sorted/upper", "a-b", "3");
        s = changes_text("/tmp/sorted/upper", none);
        assert_string_equal(s, "A /a\nA /a-b\nA /a.b\nA /a/b\n");
}

static void test_changes_empty(void **state)
{
        _autofree_ char *s = NULL;
        const char *lowers[] = {"/tmp/empty/l0", NULL};

        (void) state;
        md("/tmp/empty", "upper");
        put("/tmp/empty/l0", "f", "x");
        s = changes_text("/tmp/empty/upper", lowers);
        assert_string_equal(s, "");
        free(s);
        s = changes_text("/tmp/empty/upper", NULL);
        assert_string_equal(s, "");
}

static void test_changes_errors(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        const char *lowers[] = {"/tmp/errs/missing", NULL};
        struct berth_change *c = NULL;
        size_t n = 0;

        (void) state;
        md("/tmp/errs", "upper");
        assert_int_equal(berth_changes("/tmp/errs/nope", NULL, &c, &n, &err), -ENOENT);
        assert_string_equal(err->msg, "open upper dir /tmp/errs/nope: No such file or directory");
        berth_error_freep(&err);
        assert_int_equal(berth_changes("/tmp/errs/upper", lowers, &c, &n, &err), -ENOENT);
        assert_string_equal(err->msg,
                            "open lower dir /tmp/errs/missing: No such file or directory");
        assert_null(c);
}

/* The runtime's mount points (docker's init layer) are no change when they are empty. */
static void test_changes_mount_points(void **state)
{
        const char *lowers[] = {"/tmp/mnt/l0", NULL};
        const char *up = "/tmp/mnt/upper", *up2 = "/tmp/mnt/upper2";
        _autofree_ char *s = NULL;

        (void) state;
        put(lowers[0], "etc/passwd", "root\n");
        md(up, "proc");
        md(up, "sys");
        md(up, "dev");
        put(up, "etc/hostname", "");
        put(up, "etc/hosts", "");
        put(up, "etc/resolv.conf", "");
        s = changes_text(up, lowers);
        assert_string_equal(s, "");
        free(s);
        /* with content, or opaque, they are changes like any other */
        put(up2, "etc/hosts", "127.0.0.1 x\n");
        put(up2, "etc/hostname", "");
        put(up2, "proc/x", "");
        opaque(up2, "dev");
        md(up2, "sys/fs");
        s = changes_text(up2, lowers);
        assert_string_equal(s, "A /dev\nC /etc\nA /etc/hosts\nA /proc\nA /proc/x\nA /sys\n"
                               "A /sys/fs\n");
}

/* ---- reading a layer tar back -------------------------------------------------------------- */

static char *sha256_hex(const void *data, size_t len)
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned mdlen = 0;
        char hex[2 * EVP_MAX_MD_SIZE + 1];

        assert_int_equal(EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL), 1);
        for (unsigned i = 0; i < mdlen; i++)
                snprintf(hex + 2 * i, 3, "%02x", md[i]);
        return xasprintf("sha256:%s", hex);
}

static void fd_bytes(int fd, char **ret, size_t *ret_len)
{
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        assert_int_equal(berth_read_fd(fd, "layer", 0, ret, ret_len, NULL), 0);
}

/* gunzip with libarchive's raw reader. */
static void gunzip(const char *gz, size_t len, char **ret, size_t *ret_len)
{
        struct archive *a = archive_read_new();
        struct archive_entry *e;
        size_t cap = 1 << 16, n = 0;
        char *out = xcalloc(cap, 1);
        la_ssize_t k;

        assert_int_equal(archive_read_support_filter_gzip(a), ARCHIVE_OK);
        assert_int_equal(archive_read_support_format_raw(a), ARCHIVE_OK);
        assert_int_equal(archive_read_open_memory(a, gz, len), ARCHIVE_OK);
        assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_OK);
        assert_int_equal(archive_filter_code(a, 0), ARCHIVE_FILTER_GZIP);
        while ((k = archive_read_data(a, out + n, cap - n)) > 0) {
                n += (size_t) k;
                if (n == cap) {
                        cap *= 2;
                        out = xreallocarray(out, cap, 1);
                }
        }
        assert_int_equal(k, 0);
        archive_read_free(a);
        *ret = out;
        *ret_len = n;
}

static char type_char(struct archive_entry *e)
{
        if (archive_entry_hardlink(e))
                return 'h';
        switch (archive_entry_filetype(e)) {
        case AE_IFDIR:
                return 'd';
        case AE_IFLNK:
                return 'l';
        case AE_IFCHR:
                return 'c';
        case AE_IFIFO:
                return 'p';
        default:
                return 'f';
        }
}

/* One line per tar entry: "name type mode uid:gid size [-> link] [xattr names]". */
static char *tar_listing(const char *tar, size_t len)
{
        struct archive *a = archive_read_new();
        struct archive_entry *e;
        char *s = xstrdup("");

        assert_int_equal(archive_read_support_format_tar(a), ARCHIVE_OK);
        assert_int_equal(archive_read_open_memory(a, tar, len), ARCHIVE_OK);
        while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
                _autofree_ char *line = NULL, *xs = xstrdup("");
                const char *name, *hl = archive_entry_hardlink(e), *sl = archive_entry_symlink(e);
                const void *v;
                size_t vlen;

                archive_entry_xattr_reset(e);
                while (archive_entry_xattr_next(e, &name, &v, &vlen) == ARCHIVE_OK) {
                        char *x = xasprintf("%s %s", xs, name);

                        free(xs);
                        xs = x;
                }
                line =
                    xasprintf("%s%s %c %o %lld:%lld %lld%s%s%s%s%s\n", s, archive_entry_pathname(e),
                              type_char(e), archive_entry_perm(e), (long long) archive_entry_uid(e),
                              (long long) archive_entry_gid(e), (long long) archive_entry_size(e),
                              hl || sl ? " -> " : "", hl ? hl : (sl ? sl : ""), *xs ? " [" : "",
                              *xs ? xs + 1 : "", *xs ? "]" : "");
                free(s);
                s = steal_ptr(&line);
        }
        archive_read_free(a);
        return s;
}

/* Writes upper as a layer into a memfd, checks digest, size and diff id against the bytes, and
 * returns the gunzip'ed tar. */
static void diff_write(const char *upper, char **ret_tar, size_t *ret_len, char **ret_digest)
{
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *diff_id = NULL, *digest = NULL, *gz = NULL, *want = NULL, *tar = NULL;
        _autoclose_ int fd = memfd_create("layer", MFD_CLOEXEC);
        int64_t size = -1;
        size_t len, tlen;
        int r;

        assert_true(fd >= 0);
        r = berth_layer_diff_write(upper, fd, &diff_id, &digest, &size, &err);
        if (r < 0)
                print_error("# %s\n", err->msg);
        assert_int_equal(r, 0);
        fd_bytes(fd, &gz, &len);
        assert_int_equal(size, (int64_t) len);
        want = sha256_hex(gz, len);
        assert_string_equal(digest, want);
        free(want);
        gunzip(gz, len, &tar, &tlen);
        want = sha256_hex(tar, tlen);
        assert_string_equal(diff_id, want);
        *ret_tar = steal_ptr(&tar);
        *ret_len = tlen;
        if (ret_digest)
                *ret_digest = steal_ptr(&digest);
}

/* ---- comparing trees ----------------------------------------------------------------------- */

static int line_cmp(const void *a, const void *b)
{
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* Overlay bookkeeping xattrs are not part of a tree's content, but the opaque flag is. */
static char *xattr_text(const char *p)
{
        char names[1024], val[256];
        ssize_t n = llistxattr(p, names, sizeof(names));
        char *s = xstrdup("");

        for (char *x = names; n > 0 && x < names + n; x += strlen(x) + 1) {
                ssize_t vl;
                char *t;

                if (startswith(x, "trusted.overlay.") && !streq(x, "trusted.overlay.opaque"))
                        continue;
                vl = lgetxattr(p, x, val, sizeof(val));
                assert_true(vl >= 0);
                t = xasprintf("%s %s=%zd", s, x, vl);
                free(s);
                s = t;
        }
        return s;
}

static void describe_dir(const char *root, const char *rel, char ***lines, size_t *n);

static char *describe_one(const char *root, const char *rel, const struct stat *st)
{
        _autofree_ char *p = xasprintf("%s/%s", root, rel), *x = xattr_text(p), *what = NULL;
        char target[PATH_MAX] = "";

        if (S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0))
                return xasprintf("%s whiteout", rel);
        if (S_ISREG(st->st_mode)) {
                _autofree_ char *data = readall(root, rel);

                what = xasprintf("file %s nlink=%ju", data, (uintmax_t) st->st_nlink);
        } else if (S_ISLNK(st->st_mode)) {
                assert_true(readlink(p, target, sizeof(target) - 1) > 0);
                what = xasprintf("symlink %s", target);
        } else if (S_ISDIR(st->st_mode)) {
                what = xstrdup("dir");
        } else {
                what = xasprintf("node %o %u:%u", st->st_mode & S_IFMT, major(st->st_rdev),
                                 minor(st->st_rdev));
        }
        /* a directory's mtime moves as its children are unpacked */
        return xasprintf("%s %s %o %u:%u mtime=%lld%s", rel, what, st->st_mode & 07777, st->st_uid,
                         st->st_gid, S_ISDIR(st->st_mode) ? 0LL : (long long) st->st_mtim.tv_sec,
                         x);
}

static void describe_dir(const char *root, const char *rel, char ***lines, size_t *n)
{
        _autofree_ char *dir = *rel ? xasprintf("%s/%s", root, rel) : xstrdup(root);
        DIR *d = opendir(dir);
        struct dirent *de;

        assert_non_null(d);
        while ((de = readdir(d))) {
                _autofree_ char *r = NULL;
                struct stat st;

                if (streq(de->d_name, ".") || streq(de->d_name, ".."))
                        continue;
                r = *rel ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
                assert_int_equal(fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW), 0);
                *lines = xreallocarray(*lines, *n + 2, sizeof(char *));
                (*lines)[(*n)++] = describe_one(root, r, &st);
                (*lines)[*n] = NULL;
                if (S_ISDIR(st.st_mode))
                        describe_dir(root, r, lines, n);
        }
        closedir(d);
}

/* The whole tree below root as sorted lines. */
static char *describe(const char *root)
{
        _autostrv_ char **lines = xcalloc(1, sizeof(char *));
        size_t n = 0, len = 0;
        char *s = xstrdup("");

        describe_dir(root, "", &lines, &n);
        qsort(lines, n, sizeof(char *), line_cmp);
        for (size_t i = 0; i < n; i++) {
                s = xreallocarray(s, len + strlen(lines[i]) + 2, 1);
                len += (size_t) sprintf(s + len, "%s\n", lines[i]);
        }
        return s;
}

/* Unpacks tar into a fresh dir and checks that it describes like upper. */
static void check_round_trip(const char *tar, size_t len, const char *upper, const char *into)
{
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *a = NULL, *b = NULL;
        struct berth_layer_opts o = {.allow_devices = true};
        _autoclose_ int fd = memfd_create("tar", MFD_CLOEXEC), dfd = -EBADF;
        int r;

        assert_int_equal(write_all(fd, tar, len), 0);
        assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
        mkdir_p(into);
        dfd = open(into, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(dfd >= 0);
        r = berth_layer_unpack(fd, dfd, &o, NULL, &err);
        if (r < 0)
                print_error("# %s\n", err->msg);
        assert_int_equal(r, 0);
        a = describe(upper);
        b = describe(into);
        assert_string_equal(b, a);
}

/* ---- layer tars ---------------------------------------------------------------------------- */

/* A VFS_CAP_REVISION_2 file capability: cap_net_bind_service in permitted. */
static const char file_caps[20] = {0x01, 0x00, 0x00, 0x02, 0x00, 0x04};

static void build_rich_upper(const char *up)
{
        _autofree_ char *f = at(up, "bin/ping"), *l = at(up, "bin/link"), *h = at(up, "bin/hard");
        _autofree_ char *dev = at(up, "dev/null"), *fifo = at(up, "run/fifo");
        _autofree_ char *lnk = at(up, "lib"), *o = at(up, "opq");
        struct timespec ts[2] = {{1000000000, 5}, {1000000000, 5}};

        put(up, "bin/ping", "ping binary");
        assert_int_equal(setxattr(f, "user.note", "hi", 2, 0), 0);
        assert_int_equal(setxattr(f, "trusted.overlay.origin", "xx", 2, 0), 0);
        assert_int_equal(link(f, h), 0);
        assert_int_equal(link(f, l), 0);
        assert_int_equal(chown(f, 1000, 100), 0);
        assert_int_equal(chmod(f, 04755), 0);
        /* after chown, which clears file capabilities */
        assert_int_equal(setxattr(f, "security.capability", file_caps, sizeof(file_caps), 0), 0);
        assert_int_equal(utimensat(AT_FDCWD, f, ts, 0), 0);
        md(up, "dev");
        assert_int_equal(mknod(dev, S_IFCHR | 0666, makedev(1, 3)), 0);
        assert_int_equal(chmod(dev, 0666), 0);
        md(up, "run");
        assert_int_equal(mkfifo(fifo, 0600), 0);
        assert_int_equal(symlink("usr/lib", lnk), 0);
        assert_int_equal(lchown(lnk, 7, 8), 0);
        whiteout(up, "gone");
        md(up, "etc");
        whiteout(up, "etc/passwd");
        whiteout(up, "etc/group");
        opaque(up, "opq");
        assert_int_equal(chmod(o, 0750), 0);
        put(up, "opq/-first", "f");
        put(up, "opq/inside", "i");
        md(up, "empty");
        assert_int_equal(setxattr(o, "trusted.overlay.impure", "y", 1, 0), 0);
}

static void test_layer_tar(void **state)
{
        _autofree_ char *tar = NULL, *list = NULL;
        size_t len;

        (void) state;
        build_rich_upper("/tmp/rich/upper");
        diff_write("/tmp/rich/upper", &tar, &len, NULL);
        list = tar_listing(tar, len);
        assert_string_equal(list, "bin/ d 755 0:0 0\n"
                                  "bin/hard f 4755 1000:100 11 [security.capability user.note]\n"
                                  "bin/link h 4755 1000:100 0 -> bin/hard\n"
                                  "bin/ping h 4755 1000:100 0 -> bin/hard\n"
                                  "dev/ d 755 0:0 0\n"
                                  "dev/null c 666 0:0 0\n"
                                  "empty/ d 755 0:0 0\n"
                                  "etc/ d 755 0:0 0\n"
                                  "etc/.wh.group f 600 0:0 0\n"
                                  "etc/.wh.passwd f 600 0:0 0\n"
                                  ".wh.gone f 600 0:0 0\n"
                                  "lib l 777 7:8 0 -> usr/lib\n"
                                  "opq/ d 750 0:0 0\n"
                                  "opq/.wh..wh..opq f 750 0:0 0\n"
                                  "opq/-first f 644 0:0 1\n"
                                  "opq/inside f 644 0:0 1\n"
                                  "run/ d 755 0:0 0\n"
                                  "run/fifo p 600 0:0 0\n");
        check_round_trip(tar, len, "/tmp/rich/upper", "/tmp/rich/unpacked");
}

/* The same upper dir gives the same blob: no timestamps in the gzip header, sorted entries. */
static void test_layer_reproducible(void **state)
{
        _autofree_ char *t1 = NULL, *t2 = NULL, *d1 = NULL, *d2 = NULL;
        size_t l1, l2;

        (void) state;
        put("/tmp/repro/upper", "a/b", "1");
        put("/tmp/repro/upper", "c", "2");
        diff_write("/tmp/repro/upper", &t1, &l1, &d1);
        sleep(1);
        diff_write("/tmp/repro/upper", &t2, &l2, &d2);
        assert_string_equal(d1, d2);
        assert_int_equal(l1, l2);
}

static void test_layer_empty(void **state)
{
        _autofree_ char *tar = NULL, *list = NULL;
        size_t len;

        (void) state;
        md("/tmp/emptylayer", "upper");
        diff_write("/tmp/emptylayer/upper", &tar, &len, NULL);
        list = tar_listing(tar, len);
        assert_string_equal(list, "");
        assert_int_equal(len, 1024); /* the two zero blocks only */
}

/* A file larger than one copy chunk, and long names (pax headers). */
static void test_layer_big(void **state)
{
        _autofree_ char *tar = NULL, *big = xcalloc(1, 300001);
        char name[256];
        size_t len;

        (void) state;
        for (size_t i = 0; i < 300000; i++)
                big[i] = (char) ('a' + (i * 7) % 26);
        put("/tmp/big/upper", "big", big);
        memset(name, 'n', 200);
        memcpy(name + 200, "/deep", 6);
        put("/tmp/big/upper", name, "deep");
        diff_write("/tmp/big/upper", &tar, &len, NULL);
        check_round_trip(tar, len, "/tmp/big/upper", "/tmp/big/unpacked");
}

static void make_socket(const char *dir, const char *name)
{
        _autofree_ char *p = at(dir, name);
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        _autoclose_ int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0 && strlen(p) < sizeof(sa.sun_path));
        strcpy(sa.sun_path, p);
        assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
}

static void test_layer_mount_points(void **state)
{
        _autofree_ char *tar = NULL, *list = NULL;
        const char *up = "/tmp/mntlayer/upper";
        size_t len;

        (void) state;
        md(up, "proc");
        md(up, "dev");
        put(up, "etc/hostname", "");
        put(up, "etc/hosts", "");
        put(up, "etc/motd", "");
        put(up, "etc/ssl/hosts", ""); /* not a mount point */
        md(up, "run");
        make_socket(up, "run/sock"); /* left out of the layer, but not its directory */
        diff_write(up, &tar, &len, NULL);
        list = tar_listing(tar, len);
        assert_string_equal(list, "etc/ d 755 0:0 0\n"
                                  "etc/motd f 644 0:0 0\n"
                                  "etc/ssl/ d 755 0:0 0\n"
                                  "etc/ssl/hosts f 644 0:0 0\n"
                                  "run/ d 755 0:0 0\n");
}

static void test_layer_errors(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        char *d = NULL;
        int fd = open("/dev/full", O_WRONLY | O_CLOEXEC);

        (void) state;
        assert_int_equal(berth_layer_diff_write("/tmp/nope", fd, &d, &d, NULL, &err), -ENOENT);
        assert_string_equal(err->msg, "open upper dir /tmp/nope: No such file or directory");
        berth_error_freep(&err);
        put("/tmp/full/upper", "f", "data");
        assert_int_equal(berth_layer_diff_write("/tmp/full/upper", fd, &d, &d, NULL, &err),
                         -ENOSPC);
        assert_non_null(strstr(err->msg, "No space left on device"));
        assert_null(d);
        close(fd);
}

/* ---- a real overlay ------------------------------------------------------------------------ */

static void test_real_overlay(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        const char *lowers[] = {"/tmp/real/l0", "/tmp/real/l1", NULL};
        _autofree_ char *s = NULL, *tar = NULL, *motd = NULL;
        const char *m = "/tmp/real/merged";
        size_t len;
        int r;

        (void) state;
        put(lowers[1], "etc/motd", "hello\n");
        put(lowers[1], "etc/passwd", "root\n");
        put(lowers[1], "data/a", "a\n");
        put(lowers[1], "data/sub/b", "b\n");
        put(lowers[0], "usr/bin/sh", "sh\n");
        md("/tmp/real", "upper");
        md("/tmp/real", "work");
        md("/tmp/real", "merged");
        r = berth_overlay_mount(lowers, "/tmp/real/upper", "/tmp/real/work", m, &err);
        if (r < 0)
                print_error("# %s\n", err->msg);
        assert_int_equal(r, 0);
        put(m, "etc/motd", "changed\n");                            /* modify */
        assert_int_equal(unlink("/tmp/real/merged/etc/passwd"), 0); /* delete */
        put(m, "new/file", "new\n");                                /* create */
        assert_int_equal(unlink("/tmp/real/merged/data/a"), 0);     /* rmdir + mkdir */
        assert_int_equal(unlink("/tmp/real/merged/data/sub/b"), 0);
        assert_int_equal(rmdir("/tmp/real/merged/data/sub"), 0);
        assert_int_equal(rmdir("/tmp/real/merged/data"), 0);
        put(m, "data/c", "c\n");
        assert_int_equal(chmod("/tmp/real/merged/usr/bin/sh", 0700), 0); /* copy-up of metadata */
        assert_int_equal(berth_overlay_umount(m, &err), 0);

        s = changes_text("/tmp/real/upper", lowers);
        assert_string_equal(s, "C /data\n"
                               "A /data/c\n"
                               "C /etc\n"
                               "C /etc/motd\n"
                               "D /etc/passwd\n"
                               "A /new\n"
                               "A /new/file\n"
                               "C /usr\n"
                               "C /usr/bin\n"
                               "C /usr/bin/sh\n");
        diff_write("/tmp/real/upper", &tar, &len, NULL);
        check_round_trip(tar, len, "/tmp/real/upper", "/tmp/real/unpacked");
        motd = readall("/tmp/real/unpacked", "etc/motd");
        assert_string_equal(motd, "changed\n");
}

/* ---- main ---------------------------------------------------------------------------------- */

/* Private mount namespace with a tmpfs over /tmp: dies with this process. */
static int enter_sandbox(void)
{
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return -errno;
        if (mount("tmpfs", "/tmp", "tmpfs", 0, "mode=01777") < 0)
                return -errno;
        return 0;
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_changes_by_hand),
            cmocka_unit_test(test_changes_sorted),
            cmocka_unit_test(test_changes_empty),
            cmocka_unit_test(test_changes_errors),
            cmocka_unit_test(test_changes_mount_points),
            cmocka_unit_test(test_layer_tar),
            cmocka_unit_test(test_layer_reproducible),
            cmocka_unit_test(test_layer_empty),
            cmocka_unit_test(test_layer_big),
            cmocka_unit_test(test_layer_mount_points),
            cmocka_unit_test(test_layer_errors),
            cmocka_unit_test(test_real_overlay),
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
        return cmocka_run_group_tests(tests, NULL, NULL);
}
