/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Builds a small container filesystem with berth_rootfs_prepare/pivot/finalize in a forked child
 * that has its own mount namespace (and, for the user namespace case, its own user and pid
 * namespaces), then checks from inside what the program would see. Skips (77) without the
 * privileges. Nothing is mounted in the host's namespace; the temp dir is removed at the end.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/magic.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <cmocka.h>
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#endif

#include "base/log.h"
#include "base/path.h"
#include "runtime/rootfs-internal.h"
#include "runtime/rootfs.h"
#include "base/util.h"

static char tmp[] = "/tmp/berth-test-rootfs.XXXXXX";
static int report_fd = -1; /* the child's end of the pipe for failure messages and warnings */

static void __attribute__((format(printf, 1, 2), noreturn)) die(const char *fmt, ...)
{
        char buf[1024];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        (void) !write(report_fd, buf, (size_t) n);
        _exit(1);
}

#define CHECK(cond, ...)                                                                           \
        do {                                                                                       \
                if (!(cond))                                                                       \
                        die(__VA_ARGS__);                                                          \
        } while (0)

static void log_to_pipe(enum berth_log_level level, const char *msg, void *userdata)
{
        if (berth_trace_on)
                dprintf(STDERR_FILENO, "# %s\n", msg);
        if (level == BERTH_LOG_WARN && report_fd >= 0) {
                (void) !write(report_fd, "warning: ", 9);
                (void) !write(report_fd, msg, strlen(msg));
                (void) !write(report_fd, "\n", 1);
        }
}

static void mkpath(const char *kind, const char *name, const char *arg)
{
        _autofree_ char *p = xasprintf("%s/%s", tmp, name);
        int fd;

        if (streq(kind, "dir"))
                assert_int_equal(mkdir(p, 0755), 0);
        else if (streq(kind, "link"))
                assert_int_equal(symlink(arg, p), 0);
        else {
                fd = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
                assert_true(fd >= 0);
                assert_int_equal(write(fd, arg, strlen(arg)), (ssize_t) strlen(arg));
                close(fd);
        }
}

static int setup(void **state)
{
        if (geteuid() != 0)
                return 0;
        if (!mkdtemp(tmp))
                return -1;
        mkpath("dir", "rootfs", NULL);
        mkpath("dir", "rootfs/proc", NULL);
        mkpath("dir", "rootfs/etc", NULL);
        mkpath("dir", "rootfs/secret", NULL);
        mkpath("file", "rootfs/secret/key", "k");
        mkpath("file", "rootfs/etc/hosts", "image");
        mkpath("file", "rootfs/etc/shadow", "secret");
        mkpath("link", "rootfs/evil", "../../../..");
        mkpath("link", "rootfs/abs", "/etc");
        mkpath("dir", "hostdata", NULL);
        mkpath("file", "hostdata/file", "data");
        mkpath("file", "hosts", "bound");
        mkpath("dir", "locked", NULL);
        return 0;
}

static int rm_entry(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
        return remove(p);
}

static int teardown(void **state)
{
        if (geteuid() != 0)
                return 0;
        return nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- running a check in a child ------------------------------------------------------------- */

struct child {
        void (*fn)(void *arg);
        void *arg;
        bool userns;
};

/* cmocka catches crashes and goes on with the next test: a child must die instead. */
static void default_signals(void)
{
        static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};

        for (size_t i = 0; i < ARRAY_SIZE(sigs); i++)
                signal(sigs[i], SIG_DFL);
}

/* The parent writes the child's id maps: a process cannot map more than itself from inside. */
static void map_ids(pid_t pid)
{
        static const char *const files[] = {"uid_map", "gid_map"};

        for (size_t i = 0; i < 2; i++) {
                _autofree_ char *p = xasprintf("/proc/%d/%s", (int) pid, files[i]);

                berth_write_file(p, "0 0 65536", NULL);
        }
}

static int wait_exit(pid_t pid)
{
        int status;

        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* In a user namespace the work runs in a grandchild: pid 1 of a new pid namespace owned by it,
 * so that it may mount proc. */
static void __attribute__((noreturn)) child_main(const struct child *c, int sync_r, int sync_w)
{
        char b;
        pid_t pid;

        if (c->userns) {
                if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID) < 0)
                        _exit(77);
                (void) !write(sync_w, "u", 1);
                if (read(sync_r, &b, 1) != 1 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
                        _exit(77);
                pid = fork();
                if (pid < 0)
                        _exit(77);
                if (pid > 0)
                        _exit(wait_exit(pid));
        } else if (unshare(CLONE_NEWNS) < 0)
                _exit(77);
        /* belt and braces: the code under test does this too */
        if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0)
                _exit(77);
        c->fn(c->arg);
#ifdef __SANITIZE_ADDRESS__
        if (__lsan_do_recoverable_leak_check())
                die("leaks (see stderr)");
#endif
        _exit(0);
}

static int run_child(const struct child *c, char *msg, size_t size)
{
        int rep[2], to_child[2], to_parent[2];
        ssize_t n = 0, k;
        char b;
        pid_t pid;

        assert_int_equal(pipe2(rep, O_CLOEXEC), 0);
        assert_int_equal(pipe2(to_child, O_CLOEXEC), 0);
        assert_int_equal(pipe2(to_parent, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                default_signals();
                report_fd = rep[1];
                berth_log_set_handler(log_to_pipe, NULL);
                child_main(c, to_child[0], to_parent[1]);
        }
        close(rep[1]);
        close(to_parent[1]);
        if (c->userns && read(to_parent[0], &b, 1) == 1) {
                map_ids(pid);
                (void) !write(to_child[1], "g", 1);
        }
        while (n < (ssize_t) size - 1 && (k = read(rep[0], msg + n, size - 1 - (size_t) n)) > 0)
                n += k;
        msg[n] = '\0';
        close(rep[0]);
        close(to_child[0]);
        close(to_child[1]);
        close(to_parent[0]);
        return wait_exit(pid);
}

static void expect_child_ok(void (*fn)(void *), void *arg, bool userns, char *msg, size_t size)
{
        struct child c = {.fn = fn, .arg = arg, .userns = userns};
        int r = run_child(&c, msg, size);

        if (r == 77)
                skip();
        if (r != 0)
                fail_msg("child exited %d: %s", r, msg);
}

/* ---- the spec ---------------------------------------------------------------------------------
 */

/* A NULL-terminated option vector that outlives the caller (static: no leak for LSan). */
static char **opts_v(char *first, ...)
{
        static char *pool[32][16];
        static size_t used;
        char **v = pool[used++ % ARRAY_SIZE(pool)];
        size_t n = 0;
        va_list ap;

        va_start(ap, first);
        for (char *o = first; o && n < 15; o = va_arg(ap, char *))
                v[n++] = o;
        va_end(ap);
        v[n] = NULL;
        return v;
}
#define OPTS(...) opts_v(__VA_ARGS__, NULL)

struct fixture {
        struct berth_spec spec;
        struct berth_mount mounts[16];
        struct berth_device devices[2];
        struct berth_rootfs_opts opts;
        char *rootfs, *hostdata, *hosts, *locked;
};

static void add_mount(struct fixture *f, char *dest, char *type, char *src, char **options)
{
        f->mounts[f->spec.n_mounts++] = (struct berth_mount){
            .destination = dest, .type = type, .source = src, .options = options};
}

static void fixture_init(struct fixture *f, bool userns)
{
        static char *masked[] = {"/proc/kcore", "/etc/shadow", "/secret", "/does/not/exist", NULL};
        static char *ro[] = {"/proc/sys", "/proc/does-not-exist", NULL};

        *f = (struct fixture){0};
        f->rootfs = xasprintf("%s/rootfs", tmp);
        f->hostdata = xasprintf("%s/hostdata", tmp);
        f->hosts = xasprintf("%s/hosts", tmp);
        f->locked = xasprintf("%s/locked", tmp);
        f->spec.mounts = f->mounts;
        f->spec.lx.masked_paths = masked;
        f->spec.lx.readonly_paths = ro;
        f->spec.lx.ns[BERTH_NS_MNT].enabled = true;
        f->spec.lx.ns[BERTH_NS_USER].enabled = userns;
        f->spec.root_readonly = true;
        f->spec.has_process = true;
        f->spec.process.cwd = "/work/dir";
        add_mount(f, "/proc", "proc", "proc", NULL);
        add_mount(f, "/dev", "tmpfs", "tmpfs",
                  OPTS("nosuid", "strictatime", "mode=755", "size=65536k"));
        add_mount(f, "/dev/pts", "devpts", "devpts",
                  OPTS("nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"));
        add_mount(f, "/dev/shm", "tmpfs", "shm", OPTS("nosuid", "noexec", "nodev", "mode=1777"));
        add_mount(f, "/sys", "sysfs", "sysfs", OPTS("nosuid", "noexec", "nodev", "ro"));
        add_mount(f, "/sys/fs/cgroup", "cgroup", "cgroup",
                  OPTS("nosuid", "noexec", "nodev", "relatime", "ro"));
        add_mount(f, "/data", NULL, f->hostdata, OPTS("rbind", "ro", "nosuid"));
        add_mount(f, "/abs/hosts", "bind", f->hosts, NULL);
        add_mount(f, "/ro-tmp", "tmpfs", "tmpfs", OPTS("ro", "mode=700"));
        f->devices[0] = (struct berth_device){.path = "/dev/mine/null2",
                                              .type = 'c',
                                              .major = 1,
                                              .minor = 3,
                                              .has_file_mode = true,
                                              .file_mode = 0600,
                                              .has_uid = true,
                                              .uid = 1,
                                              .has_gid = true,
                                              .gid = 2};
        f->devices[1] = (struct berth_device){.path = "/dev/fifo", .type = 'p'};
        /* in a user namespace devices are bound from the host's path, which must exist */
        f->spec.lx.devices = userns ? f->devices + 1 : f->devices;
        f->spec.lx.n_devices = userns ? 1 : 2;
        f->opts = (struct berth_rootfs_opts){.rootfs = f->rootfs, .in_userns = userns};
}

static void fixture_done(struct fixture *f)
{
        free(f->rootfs);
        free(f->hostdata);
        free(f->hosts);
        free(f->locked);
}

static void build(struct fixture *f)
{
        _autoerr_ struct berth_error *err = NULL;
        int r;

        r = berth_rootfs_validate(&f->spec, &err);
        CHECK(r == 0, "validate: %s", err ? err->msg : "?");
        r = berth_rootfs_prepare(&f->spec, &f->opts, &err);
        CHECK(r == 0, "prepare: %s", err ? err->msg : "?");
        r = berth_rootfs_pivot(&f->spec, &f->opts, &err);
        CHECK(r == 0, "pivot: %s", err ? err->msg : "?");
        r = berth_rootfs_finalize(&f->spec, &f->opts, &err);
        CHECK(r == 0, "finalize: %s", err ? err->msg : "?");
}

/* ---- checks from inside ------------------------------------------------------------------- */

static bool is_ro(const char *path)
{
        struct statvfs st;

        return statvfs(path, &st) == 0 && (st.f_flag & ST_RDONLY);
}

static void check_read(const char *path, const char *want)
{
        char buf[64] = {0};
        int fd = open(path, O_RDONLY | O_CLOEXEC);

        CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
        CHECK(read(fd, buf, sizeof(buf) - 1) >= 0, "read %s: %s", path, strerror(errno));
        CHECK(streq(buf, want), "%s: \"%s\", want \"%s\"", path, buf, want);
        close(fd);
}

static void check_link(const char *path, const char *want)
{
        char buf[256] = {0};

        CHECK(readlink(path, buf, sizeof(buf) - 1) > 0 && streq(buf, want),
              "%s -> \"%s\", want \"%s\"", path, buf, want);
}

static void check_char_dev(const char *path, unsigned ma, unsigned mi)
{
        struct stat st;

        CHECK(stat(path, &st) == 0, "stat %s: %s", path, strerror(errno));
        CHECK(S_ISCHR(st.st_mode) && major(st.st_rdev) == ma && minor(st.st_rdev) == mi,
              "%s: not char device %u:%u (mode 0%o)", path, ma, mi, st.st_mode);
}

static void check_fs(const char *path, long magic)
{
        struct statfs sf;

        CHECK(statfs(path, &sf) == 0 && sf.f_type == magic, "%s: fs type 0x%lx, want 0x%lx", path,
              (long) sf.f_type, magic);
}

static void check_errno(int r, int want, const char *what)
{
        CHECK(r < 0 && errno == want, "%s: got %d (%s), want %s", what, r, strerror(errno),
              strerror(want));
}

static void check_common(bool userns)
{
        struct stat st;
        DIR *d;

        check_fs("/proc", PROC_SUPER_MAGIC);
        check_read("/proc/self/comm", "test-rootfs\n");
        check_char_dev("/dev/null", 1, 3);
        check_char_dev("/dev/urandom", 1, 9);
        CHECK(stat("/dev/fifo", &st) == 0 && S_ISFIFO(st.st_mode), "/dev/fifo is not a fifo");
        check_link("/dev/fd", "/proc/self/fd");
        check_link("/dev/stderr", "/proc/self/fd/2");
        check_link("/dev/ptmx", "pts/ptmx");
        check_fs("/dev/pts", DEVPTS_SUPER_MAGIC);
        check_fs("/sys", SYSFS_MAGIC);
        CHECK(is_ro("/sys"), "/sys is writable");
        /* masked: /etc/shadow reads as /dev/null, /secret is an empty read-only tmpfs */
        check_char_dev("/etc/shadow", 1, 3);
        check_read("/etc/shadow", "");
        check_fs("/secret", TMPFS_MAGIC);
        check_errno(open("/secret/key", O_RDONLY | O_CLOEXEC), ENOENT, "open masked /secret/key");
        CHECK(is_ro("/secret"), "masked /secret is writable");
        /* read-only paths, root.readonly, read-only binds and tmpfs */
        check_errno(open("/proc/sys/kernel/hostname", O_WRONLY | O_CLOEXEC), EROFS,
                    "write /proc/sys/kernel/hostname");
        check_errno(mkdir("/newdir", 0755), EROFS, "mkdir on the read-only root");
        check_read("/data/file", "data");
        check_errno(open("/data/new", O_CREAT | O_WRONLY | O_CLOEXEC, 0644), EROFS,
                    "create in /data");
        check_read("/etc/hosts", "bound");
        CHECK(is_ro("/ro-tmp"), "/ro-tmp is writable");
        CHECK(stat("/ro-tmp", &st) == 0 && (st.st_mode & 07777) == 0700, "/ro-tmp mode 0%o",
              st.st_mode & 07777);
        CHECK(!is_ro("/dev") && !is_ro("/dev/shm"), "/dev is read-only");
        CHECK(stat("/work/dir", &st) == 0 && S_ISDIR(st.st_mode), "process.cwd was not created");
        /* cgroup: read-only as its "ro" says (runc's rule), never written to (that would create
         * cgroups on the host) */
        CHECK(is_ro("/sys/fs/cgroup"), "/sys/fs/cgroup is writable");
        d = opendir("/sys/fs/cgroup");
        CHECK(d != NULL, "opendir /sys/fs/cgroup: %s", strerror(errno));
        closedir(d);
        /* the host is gone */
        check_errno(access(tmp, F_OK), ENOENT, "the host's temp dir is visible");
        if (!userns) {
                check_char_dev("/dev/mine/null2", 1, 3);
                CHECK(stat("/dev/mine/null2", &st) == 0 && st.st_uid == 1 && st.st_gid == 2 &&
                          (st.st_mode & 07777) == 0600,
                      "/dev/mine/null2: %u:%u 0%o", st.st_uid, st.st_gid, st.st_mode & 07777);
        }
}

static void full_container(void *arg)
{
        bool userns = arg != NULL;
        struct fixture f;

        fixture_init(&f, userns);
        build(&f);
        check_common(userns);
        fixture_done(&f);
}

static bool have_root(void)
{
        if (geteuid() == 0)
                return true;
        skip();
        return false;
}

static void builds_a_container(void **state)
{
        char msg[4096];

        if (have_root())
                expect_child_ok(full_container, NULL, false, msg, sizeof(msg));
}

static void builds_a_container_in_a_user_namespace(void **state)
{
        char msg[4096];

        if (have_root())
                expect_child_ok(full_container, (void *) 1, true, msg, sizeof(msg));
}

static void no_pivot(void *arg)
{
        struct fixture f;

        fixture_init(&f, false);
        f.opts.no_pivot = true;
        build(&f);
        check_common(false);
        fixture_done(&f);
}

static void builds_without_pivot_root(void **state)
{
        char msg[4096];

        if (have_root())
                expect_child_ok(no_pivot, NULL, false, msg, sizeof(msg));
}

static bool root_is_shared(void)
{
        _autofree_ char *buf = NULL;
        char *line, *save = NULL;

        if (berth_read_file_at(AT_FDCWD, "/proc/self/mountinfo", 0, &buf, NULL, NULL) < 0)
                return false;
        for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
                char mp[4096];

                if (sscanf(line, "%*d %*d %*s %*s %4095s", mp) == 1 && streq(mp, "/"))
                        return strstr(line, " shared:") != NULL;
        }
        return false;
}

static void shared(void *arg)
{
        struct fixture f;

        fixture_init(&f, false);
        f.spec.lx.rootfs_propagation = MS_SHARED | MS_REC;
        build(&f);
        check_common(false);
        CHECK(root_is_shared(), "/ is not shared");
        fixture_done(&f);
}

static void shared_root_propagation(void **state)
{
        char msg[4096];

        if (have_root())
                expect_child_ok(shared, NULL, false, msg, sizeof(msg));
}

static void escape(void *arg)
{
        _autoerr_ struct berth_error *err = NULL;
        struct fixture f;
        int r;

        fixture_init(&f, false);
        f.spec.n_mounts = 0;
        add_mount(&f, "/evil/tmp", "tmpfs", "tmpfs", NULL);
        r = berth_rootfs_prepare(&f.spec, &f.opts, &err);
        CHECK(r == -EXDEV, "prepare returned %d (%s)", r, err ? err->msg : "");
        CHECK(streq(err->msg, "mounts[0].destination \"/evil/tmp\": escapes the rootfs through "
                              "symlink \"/evil\" -> \"../../../..\""),
              "message: %s", err->msg);
        fixture_done(&f);
}

static void refuses_symlink_escapes(void **state)
{
        char msg[4096];

        if (have_root())
                expect_child_ok(escape, NULL, false, msg, sizeof(msg));
}

/*
 * A bind of a read-only nosuid mount inside a user namespace: the kernel locked those flags, a
 * plain "rw" bind keeps them (with a warning) instead of failing with EPERM.
 */
static void locked(void *arg)
{
        _autoerr_ struct berth_error *err = NULL;
        struct fixture f;
        int r;

        fixture_init(&f, true);
        f.spec.n_mounts = 0;
        f.spec.lx.n_devices = 0;
        f.spec.root_readonly = false;
        add_mount(&f, "/proc", "proc", "proc", NULL);
        add_mount(&f, "/locked", NULL, f.locked, OPTS("rbind", "rw", "nodev"));
        r = berth_rootfs_prepare(&f.spec, &f.opts, &err);
        CHECK(r == 0, "prepare: %s", err ? err->msg : "?");
        r = berth_rootfs_pivot(&f.spec, &f.opts, &err);
        CHECK(r == 0, "pivot: %s", err ? err->msg : "?");
        CHECK(is_ro("/locked"), "/locked lost its locked read-only flag");
        fixture_done(&f);
}

static void locked_flags_are_kept(void **state)
{
        char msg[4096];
        struct child c = {.fn = locked, .userns = true};
        pid_t pid;
        int r;

        if (!have_root())
                return;
        /* the read-only mount has to exist before the user namespace: make it in a child that
         * has its own mount namespace, and run the check from there */
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                default_signals();
                _autofree_ char *p = xasprintf("%s/locked", tmp);

                if (unshare(CLONE_NEWNS) < 0 ||
                    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
                    mount("tmpfs", p, "tmpfs", MS_RDONLY | MS_NOSUID, NULL) < 0)
                        _exit(77);
                r = run_child(&c, msg, sizeof(msg));
                if (r != 0 && r != 77)
                        fprintf(stderr, "# %s\n", msg);
                _exit(r);
        }
        r = wait_exit(pid);
        if (r == 77)
                skip();
        assert_int_equal(r, 0);
}

static void clean_paths(void **state)
{
        assert_true(berth_path_is("/dev", "/dev"));
        assert_true(berth_path_is("//dev/./", "/dev"));
        assert_true(berth_path_is("/dev/pts/..", "/dev"));
        assert_true(berth_path_is("/x/../dev", "/dev"));
        assert_true(berth_path_is("/../../dev", "/dev"));
        assert_true(berth_path_is("/.", "/"));
        assert_false(berth_path_is("/dev2", "/dev"));
        assert_false(berth_path_is("/de", "/dev"));
        assert_false(berth_path_is(NULL, "/dev"));
}

static char warnings[1024];

static void keep_warning(enum berth_log_level level, const char *msg, void *userdata)
{
        if (level == BERTH_LOG_WARN)
                snprintf(warnings, sizeof(warnings), "%s", msg);
}

static void expect_invalid(const struct berth_spec *s, const char *msg)
{
        _autoerr_ struct berth_error *err = NULL;

        assert_int_equal(berth_rootfs_validate(s, &err), -EINVAL);
        assert_string_equal(err->msg, msg);
}

static void validation_names_fields(void **state)
{
        struct berth_mount m[2] = {{.destination = "/proc", .type = "proc"}};
        struct berth_device d = {.path = "/dev/x", .type = 'c', .major = 1, .minor = 3};
        char *relative[] = {"/ok", "proc/kcore", NULL};
        struct berth_spec s = {.mounts = m, .n_mounts = 2};

        /* without a mount namespace, what would be mounted in the host's is refused */
        expect_invalid(&s, "mounts: needs a mount namespace, and linux.namespaces has none (the "
                           "runtime's is inherited): it would be mounted in the host's; add "
                           "{\"type\": \"mount\"} or remove it");
        s.lx.ns[BERTH_NS_MNT].enabled = true;
        m[1] = (struct berth_mount){.destination = "tmp", .type = "tmpfs"};
        expect_invalid(&s, "mounts[1].destination \"tmp\": must be an absolute path");
        m[1] = (struct berth_mount){.destination = "/data", .options = OPTS("rbind", "ro")};
        expect_invalid(&s, "mounts[1].source: required for a bind mount");
        m[1] = (struct berth_mount){.destination = "/data", .source = "x"};
        expect_invalid(&s,
                       "mounts[1].type: required unless the options contain \"bind\" or \"rbind\"");
        m[1] = (struct berth_mount){
            .destination = "/data", .type = "bind", .source = "/x", .options = OPTS("idmap")};
        expect_invalid(&s, "mounts[1] \"/data\": idmap: no uidMappings and gidMappings for the "
                           "mount, and the container has no user namespace to take them from");
        s.lx.ns[BERTH_NS_USER].enabled = true;
        assert_int_equal(berth_rootfs_validate(&s, NULL), 0);
        s.lx.ns[BERTH_NS_USER].enabled = false;
        m[1] = (struct berth_mount){.destination = "/t", .type = "tmpfs", .options = OPTS("idmap")};
        expect_invalid(&s, "mounts[1] \"/t\": idmap: only a bind mount can be idmapped");
        m[1] = (struct berth_mount){.destination = "/t", .type = "tmpfs"};
        berth_log_set_handler(keep_warning, NULL);
        s.lx.mount_label = "system_u:object_r:container_file_t:s0";
        assert_int_equal(berth_rootfs_validate(&s, NULL), 0);
        assert_string_equal(warnings, "mountLabel: SELinux is not enabled on this host, ignoring");
        berth_log_set_handler(NULL, NULL);

        s.lx.masked_paths = relative;
        expect_invalid(&s, "linux.maskedPaths[1] \"proc/kcore\": must be an absolute path");
        s.lx.masked_paths = NULL;
        s.lx.devices = &d;
        s.lx.n_devices = 1;
        assert_int_equal(berth_rootfs_validate(&s, NULL), 0);
        d.type = 'x';
        expect_invalid(&s, "linux.devices[0].type \"x\": must be one of c, b, u, p");
        d.type = 'b';
        d.major = -1;
        expect_invalid(&s, "linux.devices[0].major -1: out of range");
        d.major = 8;
        d.path = "/dev/..";
        expect_invalid(&s, "linux.devices[0].path \"/dev/..\": must name a file");
        d.path = "dev/sda";
        expect_invalid(&s, "linux.devices[0].path \"dev/sda\": must be an absolute path");
}

int main(void)
{
        /* BERTH_TRACE=1 shows every kernel step of the children on stderr */
        berth_trace_enable(getenv("BERTH_TRACE") && streq(getenv("BERTH_TRACE"), "1"));
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(clean_paths),
            cmocka_unit_test(validation_names_fields),
            cmocka_unit_test(builds_a_container),
            cmocka_unit_test(builds_a_container_in_a_user_namespace),
            cmocka_unit_test(builds_without_pivot_root),
            cmocka_unit_test(shared_root_propagation),
            cmocka_unit_test(refuses_symlink_escapes),
            cmocka_unit_test(locked_flags_are_kept),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
