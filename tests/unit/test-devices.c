/* SPDX-License-Identifier: Apache-2.0 */
/*
 * /dev of a container (devices.c): berth_devices_setup() on a tmpfs rootfs in a forked child with
 * a mount namespace of its own (nothing is mounted in the host's), then checks of what it made:
 * the default devices and linux.devices with their numbers, modes and owners, what it replaces
 * and what it keeps, the /dev symlinks and /dev/ptmx, and the bind of a host node where mknod is
 * not allowed (a user namespace). Validation of linux.devices runs in the test itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <cmocka.h>

#include "fork-child.h"

#include "base/util.h"
#include "runtime/rootfs-internal.h"

static char tmp[] = "/tmp/berth-test-devices.XXXXXX";

#define CHECK(cond, ...)                                                                           \
        do {                                                                                       \
                if (!(cond)) {                                                                     \
                        dprintf(msg_fd, "line %d: ", __LINE__);                                    \
                        dprintf(msg_fd, __VA_ARGS__);                                              \
                        return 1;                                                                  \
                }                                                                                  \
        } while (0)

struct dev_case {
        struct berth_spec spec;
        struct berth_device devices[4];
        struct berth_mount mounts[1];
        bool in_userns;
        /* before setup: what the image has in its /dev */
        int (*prepare)(int rootfd);
        /* after: the checks (0 or the failure, with a message on msg_fd) */
        int (*check)(int msg_fd, int rootfd, const struct dev_case *c);
        const char *want_error; /* setup must fail with this message */
};

/* In a child: a tmpfs rootfs in a mount namespace of its own, /dev set up on it, checked. */
static int devices_child(int msg_fd, void *arg)
{
        const struct dev_case *c = arg;
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *root = xasprintf("%s/rootfs", tmp);
        struct berth_rootfs_opts o = {.rootfs = root, .in_userns = c->in_userns};
        _autoclose_ int rootfd = -EBADF;
        int r;

        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return 77;
        if (mount("tmpfs", root, "tmpfs", 0, "mode=755") < 0)
                return 77;
        rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
        CHECK(rootfd >= 0, "open the rootfs: %s", strerror(errno));
        if (c->prepare)
                CHECK(c->prepare(rootfd) == 0, "prepare: %s", strerror(errno));
        r = berth_devices_setup(&c->spec, &o, rootfd, &err);
        if (c->want_error) {
                CHECK(r < 0, "setup succeeded, want \"%s\"", c->want_error);
                CHECK(streq(err->msg, c->want_error), "error \"%s\", want \"%s\"", err->msg,
                      c->want_error);
                return 0;
        }
        CHECK(r == 0, "setup: %s", err ? err->msg : "?");
        return c->check ? c->check(msg_fd, rootfd, c) : 0;
}

static void run_case(struct dev_case *c)
{
        char msg[1024] = "";
        int rc;

        if (geteuid() != 0)
                skip();
        c->spec.lx.devices = c->devices;
        c->spec.mounts = c->mounts;
        rc = run_in_child(devices_child, c, msg, sizeof(msg));
        if (rc == 77)
                skip();
        if (rc != 0)
                fail_msg("child exited %d: %s", rc, msg);
}

/* "c 1:3 0666 0:0" for what is at path in the rootfs (lstat), "l -> target" for a symlink. */
static const char *describe(int rootfd, const char *path, char *buf, size_t size)
{
        struct stat st;
        char target[256] = "";

        if (fstatat(rootfd, path, &st, AT_SYMLINK_NOFOLLOW) < 0) {
                snprintf(buf, size, "missing (%s)", strerror(errno));
                return buf;
        }
        if (S_ISLNK(st.st_mode)) {
                (void) !readlinkat(rootfd, path, target, sizeof(target) - 1);
                snprintf(buf, size, "l -> %s", target);
        } else {
                snprintf(buf, size, "%c %u:%u %04o %u:%u",
                         S_ISCHR(st.st_mode)    ? 'c'
                         : S_ISBLK(st.st_mode)  ? 'b'
                         : S_ISFIFO(st.st_mode) ? 'p'
                         : S_ISDIR(st.st_mode)  ? 'd'
                                                : 'f',
                         S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? major(st.st_rdev) : 0,
                         S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) ? minor(st.st_rdev) : 0,
                         st.st_mode & 07777, st.st_uid, st.st_gid);
        }
        return buf;
}

#define EXPECT(path, want)                                                                         \
        do {                                                                                       \
                char got_[128];                                                                    \
                describe(rootfd, (path), got_, sizeof(got_));                                      \
                CHECK(streq(got_, (want)), "%s: \"%s\", want \"%s\"", (path), got_, (want));       \
        } while (0)

/* ---- the defaults --------------------------------------------------------------------------- */

static int check_defaults(int msg_fd, int rootfd, const struct dev_case *c)
{
        EXPECT("dev/null", "c 1:3 0666 0:0");
        EXPECT("dev/zero", "c 1:5 0666 0:0");
        EXPECT("dev/full", "c 1:7 0666 0:0");
        EXPECT("dev/random", "c 1:8 0666 0:0");
        EXPECT("dev/urandom", "c 1:9 0666 0:0");
        EXPECT("dev/tty", "c 5:0 0666 0:0");
        EXPECT("dev/fd", "l -> /proc/self/fd");
        EXPECT("dev/stdin", "l -> /proc/self/fd/0");
        EXPECT("dev/stdout", "l -> /proc/self/fd/1");
        EXPECT("dev/stderr", "l -> /proc/self/fd/2");
        /* runc links /dev/core only where the kernel has /proc/kcore */
        EXPECT("dev/core", access("/proc/kcore", F_OK) == 0
                               ? "l -> /proc/kcore"
                               : "missing (No such file or directory)");
        /* no devpts mount: /dev/ptmx is left alone */
        EXPECT("dev/ptmx", "missing (No such file or directory)");
        return 0;
}

static void default_devices_and_links(void **state)
{
        struct dev_case c = {.check = check_defaults};

        run_case(&c);
}

/* ---- linux.devices -------------------------------------------------------------------------- */

static int check_config_devices(int msg_fd, int rootfd, const struct dev_case *c)
{
        /* the config's /dev/null replaces the default one, with its mode and owner */
        EXPECT("dev/null", "c 1:3 0600 5:6");
        EXPECT("dev/loop7", "b 7:7 0660 0:0");
        EXPECT("dev/deep/er/fifo", "p 0:0 0666 0:0");
        EXPECT("dev/deep/er", "d 0:0 0755 0:0");
        EXPECT("dev/zero", "c 1:5 0666 0:0");
        return 0;
}

static void config_devices(void **state)
{
        struct dev_case c = {.check = check_config_devices};

        c.devices[0] = (struct berth_device){.path = "/dev/null",
                                             .type = 'c',
                                             .major = 1,
                                             .minor = 3,
                                             .has_file_mode = true,
                                             .file_mode = 0600,
                                             .has_uid = true,
                                             .uid = 5,
                                             .has_gid = true,
                                             .gid = 6};
        c.devices[1] = (struct berth_device){.path = "/dev/loop7",
                                             .type = 'b',
                                             .major = 7,
                                             .minor = 7,
                                             .has_file_mode = true,
                                             .file_mode = 0660};
        c.devices[2] = (struct berth_device){.path = "/dev/deep/er/fifo", .type = 'p'};
        c.spec.lx.n_devices = 3;
        run_case(&c);
}

/* ---- what the image has in /dev ------------------------------------------------------------- */

/* A symlink named like a device (it must not survive to be used as one), a regular file, the
 * very node already there with another mode (kept as it is, as runc), and a /dev/ptmx file. */
static int image_dev(int rootfd)
{
        if (mkdirat(rootfd, "dev", 0755) < 0 || symlinkat("/etc/passwd", rootfd, "dev/zero") < 0 ||
            mknodat(rootfd, "dev/full", S_IFCHR | 0600, makedev(1, 7)) < 0 ||
            mknodat(rootfd, "dev/random", S_IFREG | 0644, 0) < 0 ||
            mknodat(rootfd, "dev/tty", S_IFCHR | 0640, makedev(1, 3)) < 0 ||
            mknodat(rootfd, "dev/ptmx", S_IFREG | 0644, 0) < 0)
                return -1;
        return 0;
}

static int check_image_dev(int msg_fd, int rootfd, const struct dev_case *c)
{
        EXPECT("dev/zero", "c 1:5 0666 0:0");
        EXPECT("dev/full", "c 1:7 0600 0:0");
        EXPECT("dev/random", "c 1:8 0666 0:0");
        /* a node of other numbers is replaced */
        EXPECT("dev/tty", "c 5:0 0666 0:0");
        /* a devpts mount in the config: /dev/ptmx is its instance's */
        EXPECT("dev/ptmx", "l -> pts/ptmx");
        return 0;
}

static void what_the_image_has_is_replaced(void **state)
{
        struct dev_case c = {.prepare = image_dev, .check = check_image_dev};

        c.mounts[0] = (struct berth_mount){.destination = "/dev/pts", .type = "devpts"};
        c.spec.n_mounts = 1;
        run_case(&c);
}

/* ---- in a user namespace: host nodes bound --------------------------------------------------- */

static int check_bound(int msg_fd, int rootfd, const struct dev_case *c)
{
        struct stat host, st;

        /* the host's node itself, bound on an empty file: its mode and owner are the host's */
        CHECK(stat("/dev/null", &host) == 0, "stat /dev/null: %s", strerror(errno));
        CHECK(fstatat(rootfd, "dev/null", &st, 0) == 0, "stat dev/null: %s", strerror(errno));
        CHECK(st.st_ino == host.st_ino && st.st_dev == host.st_dev,
              "dev/null is not the host's node");
        CHECK(fstatat(rootfd, "dev/mine", &st, 0) == 0 && S_ISCHR(st.st_mode) &&
                  st.st_rdev == makedev(1, 5),
              "dev/mine is not a bind of a host 1:5 node");
        /* a fifo needs no host node: made */
        EXPECT("dev/fifo", "p 0:0 0666 0:0");
        return 0;
}

static void host_nodes_bound_in_a_user_namespace(void **state)
{
        struct dev_case c = {.in_userns = true, .check = check_bound};

        /* no node at that path on the host: found by number (/dev/char/1:5 or /dev/zero) */
        c.devices[0] =
            (struct berth_device){.path = "/dev/mine", .type = 'c', .major = 1, .minor = 5};
        c.devices[1] = (struct berth_device){.path = "/dev/fifo", .type = 'p'};
        c.spec.lx.n_devices = 2;
        run_case(&c);
}

static void no_host_node_to_bind(void **state)
{
        struct dev_case c = {
            .in_userns = true,
            .want_error = "linux.devices[0]: path \"/dev/nothing\" (c 1:250): mknod is not allowed "
                          "in a user namespace, and the host has no character node 1:250 to bind "
                          "instead: Operation not permitted (bind-mount a host device with a "
                          "\"mounts\" entry, or leave out the user namespace)"};

        c.devices[0] =
            (struct berth_device){.path = "/dev/nothing", .type = 'c', .major = 1, .minor = 250};
        c.spec.lx.n_devices = 1;
        run_case(&c);
}

/* ---- validation ----------------------------------------------------------------------------- */

static void validation(void **state)
{
        static const struct {
                struct berth_device d;
                const char *msg;
        } cases[] = {
            {{.path = "/dev/ok", .type = 'u', .major = 1, .minor = 3}, NULL},
            {{.path = "/dev/ok", .type = 'p', .major = -1, .minor = -1}, NULL},
            {{.path = "/dev/ok", .type = 'c', .major = 4294967295LL, .minor = 0}, NULL},
            {{.path = NULL, .type = 'c'}, "linux.devices[0].path \"\": must be an absolute path"},
            {{.path = "/", .type = 'c'}, "linux.devices[0].path \"/\": must name a file"},
            {{.path = "/dev/.", .type = 'c'}, "linux.devices[0].path \"/dev/.\": must name a file"},
            {{.path = "/dev/x", .type = 0},
             "linux.devices[0].type \"?\": must be one of c, b, u, p"},
            {{.path = "/dev/x", .type = 'c', .major = 4294967296LL},
             "linux.devices[0].major 4294967296: out of range"},
            {{.path = "/dev/x", .type = 'b', .minor = -2},
             "linux.devices[0].minor -2: out of range"},
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                struct berth_device d = cases[i].d;
                struct berth_spec s = {.lx = {.devices = &d, .n_devices = 1}};
                _autoerr_ struct berth_error *err = NULL;
                int r = berth_devices_validate(&s, &err);

                if (!cases[i].msg) {
                        assert_int_equal(r, 0);
                        continue;
                }
                assert_int_equal(r, -EINVAL);
                assert_string_equal(err->msg, cases[i].msg);
        }
}

static int setup(void **state)
{
        _autofree_ char *root = NULL;

        if (!mkdtemp(tmp))
                return -1;
        root = xasprintf("%s/rootfs", tmp);
        return mkdir(root, 0755);
}

static int teardown(void **state)
{
        _autofree_ char *cmd = xasprintf("rm -rf '%s'", tmp);

        return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(validation),
            cmocka_unit_test(default_devices_and_links),
            cmocka_unit_test(config_devices),
            cmocka_unit_test(what_the_image_has_is_replaced),
            cmocka_unit_test(host_nodes_bound_in_a_user_namespace),
            cmocka_unit_test(no_host_node_to_bind),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
