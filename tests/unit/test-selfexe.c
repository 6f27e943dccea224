/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The runtime's binary made read-only before anything is cloned into a container (selfexe.c,
 * CVE-2019-5736), with this test's own binary as the runtime: a forked child calls
 * berth_exe_seal(), which re-executes it ("--child-sealed") from the overlay view or a sealed memfd
 * copy; the re-executed program reports what it runs from on stdout. Nothing of the host is
 * mounted: the overlay is an internal mount (fsmount, attached nowhere).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "base/util.h"
#include "runtime/selfexe.h"

#define REEXEC_ENV "_BERTH_EXE_SEALED" /* selfexe.c's marker for the second pass */

static char tmp[] = "/tmp/berth-test-selfexe.XXXXXX";
static char *self; /* argv[0] */

static const char *fs_name(void)
{
        struct statfs sf;

        if (statfs("/proc/self/exe", &sf) < 0)
                return "?";
        return sf.f_type == OVERLAYFS_SUPER_MAGIC ? "overlay"
               : sf.f_type == TMPFS_MAGIC         ? "memfd"
                                                  : "other";
}

/* Whether /proc/self/exe can be written: opened for writing, then its first byte written back
 * unchanged (so a failure of the test leaves the binary as it was). */
static const char *rewrite(void)
{
        _autoclose_ int rd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC), wr = -EBADF;
        char b;

        if (rd < 0 || pread(rd, &b, 1, 0) != 1)
                return "unreadable";
        wr = open("/proc/self/exe", O_WRONLY | O_CLOEXEC);
        if (wr < 0)
                return "refused";
        return pwrite(wr, &b, 1, 0) == 1 ? "ok" : "refused";
}

/* The re-executed program: what a front end sees after berth_exe_seal() re-executed it. */
static int report(char **argv)
{
        _autoerr_ struct berth_error *err = NULL;
        int r = berth_exe_seal(argv, argv[2], &err);

        printf("seal=%d sealed=%d check=%d env=%s fs=%s write=%s\n", r, berth_exe_is_sealed(),
               berth_exe_check_sealed(NULL), getenv(REEXEC_ENV) ? "set" : "unset", fs_name(),
               rewrite());
        return 0;
}

/* What a front end does first: seal, which does not return when it re-executes. */
static int seal(char *prog, char *scratch)
{
        char *argv[] = {prog, "--child-sealed", scratch, NULL};
        _autoerr_ struct berth_error *err = NULL;
        int r = berth_exe_seal(argv, scratch, &err);

        printf("returned %d: %s\n", r, err ? err->msg : "no error");
        return 1;
}

/* Runs `exe --seal scratch` (exe: this binary, or a copy) and returns its stdout. */
static void run_sealed(const char *exe, const char *scratch, char *out, size_t size)
{
        int p[2], status;
        size_t n = 0;
        ssize_t k;
        pid_t pid;

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                dup2(p[1], STDOUT_FILENO);
                execl(exe, "test-selfexe", "--seal", scratch, (char *) NULL);
                _exit(127);
        }
        close(p[1]);
        while (n < size - 1 && (k = read(p[0], out + n, size - 1 - n)) > 0)
                n += (size_t) k;
        out[n] = '\0';
        close(p[0]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fail_msg("%s --seal: status 0x%x: %s", exe, status, out);
}

static int setup(void **state)
{
        return mkdtemp(tmp) ? 0 : -1;
}

static int teardown(void **state)
{
        _autofree_ char *cmd = xasprintf("rm -rf '%s'", tmp);

        return system(cmd) == 0 ? 0 : -1;
}

static void skip_if_already_sealed(void)
{
        if (berth_exe_is_sealed()) {
                print_message("# the test binary is on a read-only mount: nothing to seal\n");
                skip();
        }
}

static void writable_binary_is_refused(void **state)
{
        _autoerr_ struct berth_error *err = NULL;

        skip_if_already_sealed();
        assert_int_equal(berth_exe_check_sealed(&err), -EPERM);
        assert_string_equal(err->msg,
                            "the runtime's binary is writable through /proc/self/exe: a process in "
                            "the container could overwrite it (CVE-2019-5736); the front end must "
                            "call berth_exe_seal() first");
}

/* A second pass that still finds the binary writable is an error, not a re-exec loop; the
 * marker never reaches what the runtime starts. */
static void second_pass_still_writable_is_an_error(void **state)
{
        char *argv[] = {self, NULL};
        _autoerr_ struct berth_error *err = NULL;

        skip_if_already_sealed();
        setenv(REEXEC_ENV, "1", 1);
        assert_int_equal(berth_exe_seal(argv, tmp, &err), -EPERM);
        assert_string_equal(err->msg, "seal the runtime binary (CVE-2019-5736): re-executed from "
                                      "a read-only view, yet still writable");
        assert_null(getenv(REEXEC_ENV));
}

static void reexec_from_the_overlay_view(void **state)
{
        char out[512];

        skip_if_already_sealed();
        run_sealed("/proc/self/exe", tmp, out, sizeof(out));
        if (geteuid() != 0) {
                /* overlayfs needs CAP_SYS_ADMIN: the memfd copy instead */
                assert_string_equal(out, "seal=0 sealed=1 check=0 env=unset fs=memfd "
                                         "write=refused\n");
                return;
        }
        assert_string_equal(out, "seal=0 sealed=1 check=0 env=unset fs=overlay write=refused\n");
}

/* Where overlayfs cannot be mounted (here: its second layer does not exist), a sealed memfd. */
static void reexec_from_a_sealed_memfd(void **state)
{
        _autofree_ char *missing = xasprintf("%s/does-not-exist", tmp);
        char out[512];

        skip_if_already_sealed();
        run_sealed("/proc/self/exe", missing, out, sizeof(out));
        assert_string_equal(out, "seal=0 sealed=1 check=0 env=unset fs=memfd write=refused\n");
}

static void copy_file(const char *from, const char *to)
{
        _autofree_ char *data = NULL;
        size_t len = 0;
        int fd;

        assert_int_equal(berth_read_file_at(AT_FDCWD, from, 0, &data, &len, NULL), 0);
        fd = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755);
        assert_true(fd >= 0);
        assert_int_equal(write_all(fd, data, len), 0);
        close(fd);
}

/* overlayfs splits lowerdir at ':' (and takes '\' as an escape): a binary in a directory named
 * with both still gets the overlay view, not the memfd fallback. */
static void binary_dir_with_colons(void **state)
{
        _autofree_ char *dir = xasprintf("%s/a:b\\c", tmp);
        _autofree_ char *exe = xasprintf("%s/test-selfexe", dir);
        _autofree_ char *scratch = xasprintf("%s/scratch:1", tmp);
        char out[512];

        skip_if_already_sealed();
        if (geteuid() != 0)
                skip();
        assert_int_equal(mkdir(dir, 0755), 0);
        assert_int_equal(mkdir(scratch, 0755), 0);
        copy_file("/proc/self/exe", exe);
        run_sealed(exe, scratch, out, sizeof(out));
        assert_string_equal(out, "seal=0 sealed=1 check=0 env=unset fs=overlay write=refused\n");
}

int main(int argc, char **argv)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(writable_binary_is_refused),
            cmocka_unit_test(second_pass_still_writable_is_an_error),
            cmocka_unit_test(reexec_from_the_overlay_view),
            cmocka_unit_test(reexec_from_a_sealed_memfd),
            cmocka_unit_test(binary_dir_with_colons),
        };

        if (argc == 3 && streq(argv[1], "--seal"))
                return seal(argv[0], argv[2]);
        if (argc == 3 && streq(argv[1], "--child-sealed"))
                return report(argv);
        self = argv[0];
        return cmocka_run_group_tests(tests, setup, teardown);
}
