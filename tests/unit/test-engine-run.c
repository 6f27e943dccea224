/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth run's engine side (engine-run.c): flags into options, the exit code of a failed create,
 * the image's recorded name, and the steps of a run with fakes for what needs root or a kernel
 * feature (the pull, the overlay mount, the bundle, libberth's create/start and the wait): each
 * step failed in turn, with what is reported, what is undone and what the record says after.
 * The record itself, its finish and its removal are the real ones, on a temp store.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "base/util.h"
#include "engine/engine-run.h"
#include "engine/engine.h"
#include "image/imagestore.h"
#include "image/manifest.h"
#include "runtime/container.h"

#define IMAGE_NAME "docker.io/library/busybox:latest"

struct fixture {
        char root[64];
        char *runroot;
        struct berth_store *s;
        char *image_id;
};

/* ---- fakes --------------------------------------------------------------------------------- */

/* What the fakes do and saw: the steps called, in order ("create mount ..."), and what the
 * front end was shown ("E: msg" / "W: msg" / "pull: x" / "pulled: x"). */
static struct {
        const char *fail_at;   /* the step that fails */
        const char *fail_also; /* and another one (its message: its name) */
        int fail_code;         /* its errno (EIO if 0) */
        const char *fail_msg;
        int wait_status;
        const char *pull_id, *pull_name; /* what the fake pull returns */
        char log[512];
        char **shown;
        bool remove_force;
} fake;

static void logged(const char *step)
{
        if (fake.log[0])
                strncat(fake.log, " ", sizeof(fake.log) - strlen(fake.log) - 1);
        strncat(fake.log, step, sizeof(fake.log) - strlen(fake.log) - 1);
}

static void shown(const char *prefix, const char *s)
{
        _autofree_ char *line = xasprintf("%s%s", prefix, s);
        size_t n = strv_length(fake.shown);

        fake.shown = xreallocarray(fake.shown, n + 2, sizeof(char *));
        fake.shown[n] = steal_ptr(&line);
        fake.shown[n + 1] = NULL;
}

/* Logs the step; fails it (-code) when it is the one to fail. */
static int step(const char *name, struct berth_error **err)
{
        logged(name);
        if (fake.fail_also && streq(fake.fail_also, name))
                return berth_error_setx(err, EIO, "%s", name);
        if (!fake.fail_at || !streq(fake.fail_at, name))
                return 0;
        return berth_error_setx(err, fake.fail_code ? fake.fail_code : EIO, "%s",
                                fake.fail_msg ? fake.fail_msg : name);
}

static int fake_pull(struct berth_store *s, const char *ref, const struct berth_pull_opts *o,
                     char **ret_id, char **ret_name, struct berth_error **err)
{
        int r = step("pull", err);

        if (r < 0)
                return r;
        *ret_id = xstrdup(fake.pull_id);
        *ret_name = fake.pull_name ? xstrdup(fake.pull_name) : NULL;
        return 0;
}

static int fake_create(struct berth_store *s, const char *image_id, char *const *layers,
                       const char *image_name, const struct berth_image_config *img,
                       const struct berth_run_opts *o, struct berth_ctr **ret,
                       struct berth_error **err)
{
        int r = step("create", err);

        return r < 0 ? r : berth_ctr_create(s, image_id, layers, image_name, img, o, ret, err);
}

static int fake_mount(struct berth_store *s, const struct berth_ctr *c, struct berth_error **err)
{
        return step("mount", err);
}

static int fake_prepare(const struct berth_ctr *c, const struct berth_run_opts *o,
                        struct berth_error **err)
{
        return step("prepare", err);
}

static int fake_runtime_create(const struct berth_ctr *c, const char *runroot, bool tty,
                               struct berth_container **ret, struct berth_error **err)
{
        struct berth_container *lc;
        int r = step("runtime_create", err);

        if (r < 0)
                return r;
        lc = xcalloc(1, sizeof(*lc));
        lc->pid = 4242;
        lc->pidfd = lc->pty_master = lc->dirfd = -1;
        *ret = lc;
        return 0;
}

static int fake_save(const struct berth_ctr *c, struct berth_error **err)
{
        int r = step("save", err);

        return r < 0 ? r : berth_ctr_save(c, err);
}

static int fake_start(struct berth_container *lc, struct berth_error **err)
{
        return step("start", err);
}

static int fake_wait(struct berth_foreground *f, pid_t pid, int pidfd, int pty_master,
                     int *ret_status, struct berth_error **err)
{
        int r = step("wait", err);

        assert_int_equal(pid, 4242);
        if (r >= 0)
                *ret_status = fake.wait_status;
        return r;
}

/* The real finish, without the fake runtime container (there is no runtime state to read). */
static int fake_finish(struct berth_ctr *c, const char *runroot, struct berth_container *lc,
                       int wait_status, struct berth_error **err)
{
        int r = step("finish", err);

        return r < 0 ? r : berth_ctr_finish(c, runroot, NULL, wait_status, err);
}

static int fake_remove(struct berth_ctr *c, const char *runroot, bool force,
                       struct berth_error **err)
{
        int r = step("remove", err);

        fake.remove_force = force;
        return r < 0 ? r : berth_ctr_remove(c, runroot, force, err);
}

static const struct berth_run_steps fake_steps = {
    .pull = fake_pull,
    .ctr_create = fake_create,
    .ctr_mount = fake_mount,
    .ctr_prepare = fake_prepare,
    .runtime_create = fake_runtime_create,
    .ctr_save = fake_save,
    .runtime_start = fake_start,
    .wait = fake_wait,
    .ctr_finish = fake_finish,
    .ctr_remove = fake_remove,
};

static void on_pull_begin(const char *what, void *userdata)
{
        shown("pull: ", what);
}

static void on_pull_end(const char *name, void *userdata)
{
        shown("pulled: ", name ? name : "(failed)");
}

static void on_report(const struct berth_error *e, bool warning, void *userdata)
{
        shown(warning ? "W: " : "E: ", e->msg);
}

static const struct berth_run_ops ops = {
    .pull_begin = on_pull_begin,
    .pull_end = on_pull_end,
    .report = on_report,
};

/* ---- fixture ------------------------------------------------------------------------------- */

static int setup(void **state)
{
        struct fixture *f = xcalloc(1, sizeof(*f));
        struct berth_config_change ch = {
            .env = (char *[]){"PATH=/bin", NULL},
            .cmd = (char *[]){"sh", NULL},
            .set_cmd = true,
        };

        snprintf(f->root, sizeof(f->root), "/tmp/berth-test-engine-run.XXXXXX");
        if (!mkdtemp(f->root))
                return -1;
        f->runroot = xasprintf("%s/run", f->root);
        if (berth_store_open(f->root, &f->s, NULL) < 0)
                return -1;
        /* an image without layers: enough for the record, nothing is mounted */
        if (berth_store_image_create(f->s, NULL, NULL, 0, &ch, NULL, IMAGE_NAME, &f->image_id,
                                     NULL) < 0)
                return -1;
        strv_free(fake.shown);
        memset(&fake, 0, sizeof(fake));
        fake.wait_status = 3 << 8; /* exited with 3 */
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        struct fixture *f = *state;
        _autofree_ char *cmd = xasprintf("rm -rf %s", f->root);

        berth_store_free(f->s);
        free(f->runroot);
        free(f->image_id);
        free(f);
        strv_free(fake.shown);
        fake.shown = NULL;
        return system(cmd) == 0 ? 0 : -1;
}

/* A run of `what` through the fakes; the record made (NULL if none) in *ret. */
static int run(struct fixture *f, const char *what, bool auto_remove, struct berth_ctr **ret)
{
        struct berth_run rn = {
            .store = f->s,
            .runroot = f->runroot,
            .o = {.interactive = true, .auto_remove = auto_remove},
            .ops = &ops,
            .steps = &fake_steps,
        };
        int code;

        /* the real finish and removal unmount the rootfs (nothing is mounted, but umount2 needs
         * CAP_SYS_ADMIN to say so) */
        if (geteuid() != 0)
                skip();
        code = berth_run_image(&rn, what);
        *ret = NULL;
        if (rn.c && berth_ctr_lookup(f->s, rn.c->id, ret, NULL) < 0)
                *ret = NULL;
        berth_run_clear(&rn);
        return code;
}

static void assert_shown(const char *const *want)
{
        size_t n = strv_length(fake.shown), i;

        for (i = 0; want[i]; i++) {
                if (i >= n)
                        fail_msg("missing line %zu: %s", i, want[i]);
                if (!startswith(fake.shown[i], want[i]))
                        fail_msg("line %zu: got \"%s\", want \"%s...\"", i, fake.shown[i], want[i]);
        }
        if (i != n)
                fail_msg("extra line %zu: %s", i, fake.shown[i]);
}

#define SHOWN(...) assert_shown((const char *const[]){__VA_ARGS__, NULL})
#define NOTHING_SHOWN() assert_null(fake.shown)

/* ---- flags --------------------------------------------------------------------------------- */

static int flags(struct berth_run *rn, const char *m, const char *p, const char *c,
                 char *const *sec, struct berth_error **err)
{
        const struct berth_run_flags fl = {
            .memory = m, .pids_limit = p, .cpus = c, .security_opts = sec};

        berth_run_clear(rn);
        *rn = (struct berth_run){0};
        return berth_run_apply_flags(rn, &fl, err);
}

static void test_limits(void **state)
{
        _autoerr_ struct berth_error *e = NULL;
        struct berth_run rn = {0};

        assert_int_equal(flags(&rn, "64m", "100", "1.5", NULL, &e), 0);
        assert_int_equal(rn.o.memory, 64 << 20);
        assert_int_equal(rn.o.memory_swap, berth_host_has_swap_accounting() ? 128 << 20 : 0);
        assert_int_equal(rn.o.pids_limit, 100);
        assert_int_equal(rn.o.nano_cpus, 1500000000);
        assert_int_equal(flags(&rn, NULL, NULL, NULL, NULL, &e), 0);
        assert_int_equal(rn.o.memory + rn.o.memory_swap + rn.o.pids_limit + rn.o.nano_cpus, 0);

        assert_int_equal(flags(&rn, "4m", NULL, NULL, NULL, &e), -EINVAL);
        assert_string_equal(e->msg, "Minimum memory limit allowed is 6MB");
        assert_int_equal(flags(&rn, "lots", NULL, NULL, NULL, &e), -EINVAL);
        assert_true(startswith(e->msg, "invalid argument \"lots\" for \"-m, --memory\" flag: "));
        assert_int_equal(flags(&rn, NULL, "x1", NULL, NULL, &e), -EINVAL);
        assert_string_equal(e->msg, "invalid argument \"x1\" for \"--pids-limit\" flag: "
                                    "strconv.ParseInt: parsing \"x1\": invalid syntax");
        assert_int_equal(flags(&rn, NULL, NULL, "one", NULL, &e), -EINVAL);
        assert_true(startswith(e->msg, "invalid argument \"one\" for \"--cpus\" flag: "));
        berth_run_clear(&rn);
}

static void test_security_opts(void **state)
{
        _autoerr_ struct berth_error *e = NULL;
        char tmpl[] = "/tmp/berth-test-seccomp.XXXXXX";
        const char *profile = "{\"defaultAction\": \"SCMP_ACT_ERRNO\", \"syscalls\": "
                              "[{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\"}]}";
        struct berth_run rn = {0};
        int fd = mkstemp(tmpl);
        _autofree_ char *opt = xasprintf("seccomp=%s", tmpl);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, profile, strlen(profile)), (ssize_t) strlen(profile));
        close(fd);

        assert_int_equal(flags(&rn, NULL, NULL, NULL,
                               (char *[]){"no-new-privileges", "systempaths=unconfined",
                                          "label=disable", "apparmor:unconfined", NULL},
                               &e),
                         0);
        assert_true(rn.o.no_new_privileges);
        assert_true(rn.o.systempaths_unconfined);
        assert_false(rn.o.seccomp_unconfined);
        assert_null(rn.o.seccomp);
        assert_int_equal(
            flags(&rn, NULL, NULL, NULL, (char *[]){"no-new-privileges=false", NULL}, &e), 0);
        assert_false(rn.o.no_new_privileges);

        /* a profile file is read now; the last seccomp= wins */
        assert_int_equal(flags(&rn, NULL, NULL, NULL, (char *[]){opt, NULL}, &e), 0);
        assert_non_null(rn.seccomp);
        assert_ptr_equal(rn.o.seccomp, rn.seccomp);
        assert_int_equal(berth_run_security_opt(&rn, "seccomp=unconfined", &e), 0);
        assert_null(rn.seccomp);
        assert_true(rn.o.seccomp_unconfined);
        assert_int_equal(berth_run_security_opt(&rn, "seccomp:builtin", &e), 0);
        assert_false(rn.o.seccomp_unconfined);

        assert_int_equal(berth_run_security_opt(&rn, "seccomp=/nonexistent/p.json", &e), -ENOENT);
        assert_true(startswith(e->msg, "opening seccomp profile (/nonexistent/p.json) failed: "));
        assert_int_equal(berth_run_security_opt(&rn, "no-new-privileges=maybe", &e), -EINVAL);
        assert_string_equal(e->msg, "invalid --security-opt 2: \"no-new-privileges=maybe\"");
        assert_int_equal(berth_run_security_opt(&rn, "label=type:x", &e), -ENOTSUP);
        assert_true(startswith(e->msg, "--security-opt \"label=type:x\": berth has no SELinux"));
        assert_int_equal(berth_run_security_opt(&rn, "bogus", &e), -EINVAL);
        assert_string_equal(e->msg, "invalid --security-opt: \"bogus\"");
        assert_int_equal(berth_run_security_opt(&rn, "seccomp=", &e), -EINVAL);
        assert_int_equal(berth_run_security_opt(&rn, "foo=bar", &e), -EINVAL);
        assert_string_equal(e->msg, "invalid --security-opt 2: \"foo=bar\"");
        berth_run_clear(&rn);
        unlink(tmpl);
}

static void test_create_exit_code(void **state)
{
        static const struct {
                int code;
                char *msg;
                int want;
        } cases[] = {
            {ENOENT, "exec: \"nope\": executable file not found in $PATH", 127},
            {EACCES, "exec: \"/etc\": permission denied", 126},
            {ENOEXEC, "exec: \"/x\": exec format error", 126},
            {EISDIR, "exec: \"/\": is a directory", 126},
            {EPERM, "exec: \"/x\": operation not permitted", 126},
            {EIO, "exec: \"/x\": input/output error", 125},
            {ENOENT, "mount proc: No such file or directory", 125},
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                struct berth_error e = {cases[i].code, cases[i].msg};

                assert_int_equal(berth_run_create_exit_code(&e), cases[i].want);
        }
        assert_int_equal(berth_run_create_exit_code(NULL), 125);
}

static void test_image_name(void **state)
{
        struct fixture *f = *state;
        struct berth_image *img = NULL;
        _autofree_ char *a = NULL, *b = NULL, *c = NULL;

        assert_int_equal(berth_store_image_lookup(f->s, "busybox", &img, NULL), 0);
        a = berth_run_image_name(img, "busybox");
        b = berth_run_image_name(img, f->image_id);
        c = berth_run_image_name(img, "other:1");
        assert_string_equal(a, IMAGE_NAME);
        assert_string_equal(b, f->image_id);
        assert_string_equal(c, "other:1");
        berth_image_free(img);
}

/* ---- the steps ----------------------------------------------------------------------------- */

static void test_run_exits(void **state)
{
        struct fixture *f = *state;
        struct berth_ctr *c = NULL;

        assert_int_equal(run(f, "busybox", false, &c), 3);
        assert_string_equal(fake.log, "create mount prepare runtime_create save start wait finish");
        NOTHING_SHOWN();
        assert_non_null(c);
        assert_string_equal(c->status, "exited");
        assert_int_equal(c->exit_code, 3);
        assert_string_equal(c->image, f->image_id);
        assert_string_equal(c->image_name, IMAGE_NAME);
        assert_non_null(c->started_at);
        assert_non_null(c->finished_at);
        assert_int_equal(c->pid, 0);
        berth_ctr_free(c);

        /* killed by a signal: 128 + n */
        fake.log[0] = '\0';
        fake.wait_status = SIGKILL;
        assert_int_equal(run(f, "busybox", true, &c), 128 + SIGKILL);
}

static void test_run_rm(void **state)
{
        struct fixture *f = *state;
        struct berth_ctr *c = NULL;

        assert_int_equal(run(f, "busybox", true, &c), 3);
        assert_string_equal(fake.log,
                            "create mount prepare runtime_create save start wait finish remove");
        assert_false(fake.remove_force);
        NOTHING_SHOWN();
        assert_null(c); /* gone */
}

/* A step that fails before the process ran: reported, then the record says exited with code, or
 * the container is gone with --rm. */
static void failed_before_run(struct fixture *f, const char *at, int errno_code, const char *msg,
                              int code, const char *log)
{
        struct berth_ctr *c = NULL;
        _autofree_ char *want = xasprintf("E: %s", msg);

        for (int rm = 0; rm < 2; rm++) {
                _autofree_ char *with_rm = xasprintf("%s remove", log);

                fake.log[0] = '\0';
                strv_free(steal_ptr(&fake.shown));
                fake.fail_at = at;
                fake.fail_code = errno_code;
                fake.fail_msg = msg;
                fake.remove_force = false;
                assert_int_equal(run(f, "busybox", rm, &c), code);
                assert_string_equal(fake.log, rm ? with_rm : log);
                SHOWN(want);
                if (rm) {
                        assert_true(fake.remove_force); /* whatever runs is killed */
                        assert_null(c);
                        continue;
                }
                assert_non_null(c);
                assert_string_equal(c->status, "exited");
                assert_int_equal(c->exit_code, code);
                assert_null(c->started_at);
                assert_non_null(c->finished_at);
                berth_ctr_free(c);
        }
}

static void test_mount_fails(void **state)
{
        failed_before_run(*state, "mount", EPERM, "mount overlay: Operation not permitted", 125,
                          "create mount finish");
}

static void test_prepare_fails(void **state)
{
        failed_before_run(*state, "prepare", ENOENT, "unable to find user x", 125,
                          "create mount prepare finish");
}

static void test_create_fails_not_found(void **state)
{
        failed_before_run(*state, "runtime_create", ENOENT,
                          "exec: \"nope\": executable file not found in $PATH", 127,
                          "create mount prepare runtime_create finish");
}

static void test_create_fails_cannot_exec(void **state)
{
        failed_before_run(*state, "runtime_create", EACCES, "exec: \"/etc\": permission denied",
                          126, "create mount prepare runtime_create finish");
}

/* Failures once the runtime container exists: reported, then finished (125 recorded). */
static void failed_running(struct fixture *f, const char *at, const char *log)
{
        struct berth_ctr *c = NULL;
        _autofree_ char *want = xasprintf("E: %s", at);

        fake.fail_at = at;
        assert_int_equal(run(f, "busybox", false, &c), 125);
        assert_string_equal(fake.log, log);
        SHOWN(want);
        assert_non_null(c);
        assert_string_equal(c->status, "exited");
        assert_int_equal(c->exit_code, 125);
        berth_ctr_free(c);
}

static void test_save_fails(void **state)
{
        failed_running(*state, "save", "create mount prepare runtime_create save finish");
}

static void test_start_fails(void **state)
{
        failed_running(*state, "start", "create mount prepare runtime_create save start finish");
}

static void test_wait_fails(void **state)
{
        failed_running(*state, "wait",
                       "create mount prepare runtime_create save start wait finish");
}

/* Cleanup failures: warnings after a failure before the process ran; errors (125) after it. */
static void test_cleanup_fails(void **state)
{
        struct fixture *f = *state;
        struct berth_ctr *c = NULL;

        /* the process ran (exit 3), its finish failed: 125, one error */
        fake.fail_at = "finish";
        assert_int_equal(run(f, "busybox", true, &c), 125);
        assert_string_equal(fake.log, "create mount prepare runtime_create save start wait finish");
        SHOWN("E: finish");
        berth_ctr_free(c);

        /* --rm's removal failed after a clean exit: 125 */
        fake.log[0] = '\0';
        strv_free(steal_ptr(&fake.shown));
        fake.fail_at = "remove";
        assert_int_equal(run(f, "busybox", true, &c), 125);
        SHOWN("E: remove");
        berth_ctr_free(c);
}

static void test_abandon_warns(void **state)
{
        struct fixture *f = *state;
        struct berth_ctr *c = NULL;

        /* mount fails, then finish fails too: the mount's error, the finish's warning */
        fake.fail_at = "mount";
        fake.fail_msg = "mount overlay: boom";
        fake.fail_also = "finish";
        assert_int_equal(run(f, "busybox", false, &c), 125);
        assert_string_equal(fake.log, "create mount finish");
        SHOWN("E: mount overlay: boom", "W: finish");
        berth_ctr_free(c);

        /* and with --rm the removal is still tried, its failure one more warning */
        fake.log[0] = '\0';
        strv_free(steal_ptr(&fake.shown));
        fake.fail_also = "remove";
        assert_int_equal(run(f, "busybox", true, &c), 125);
        assert_string_equal(fake.log, "create mount finish remove");
        SHOWN("E: mount overlay: boom", "W: remove");
        berth_ctr_free(c);

        /* create's exit code is recorded and returned even when the cleanup fails */
        fake.log[0] = '\0';
        strv_free(steal_ptr(&fake.shown));
        fake.fail_at = "runtime_create";
        fake.fail_code = ENOENT;
        fake.fail_msg = "exec: \"x\": executable file not found in $PATH";
        fake.fail_also = "finish";
        assert_int_equal(run(f, "busybox", false, &c), 127);
        SHOWN("E: exec: ", "W: finish");
        berth_ctr_free(c);
}

static void test_record_fails(void **state)
{
        struct fixture *f = *state;
        struct berth_ctr *c = NULL;
        struct berth_ctr **v = NULL;
        size_t n = 0;

        /* nothing made: no cleanup */
        fake.fail_at = "create";
        assert_int_equal(run(f, "busybox", true, &c), 125);
        assert_string_equal(fake.log, "create");
        SHOWN("E: create");
        assert_int_equal(berth_ctr_list(f->s, &v, &n, NULL), 0);
        assert_int_equal(n, 0);
        berth_ctrs_free(v, n);
}

static void test_no_such_image_pulls(void **state)
{
        struct fixture *f = *state;
        struct berth_ctr *c = NULL;

        fake.pull_id = f->image_id;
        fake.pull_name = "docker.io/library/other:1";
        assert_int_equal(run(f, "other:1", true, &c), 3);
        assert_true(startswith(fake.log, "pull create mount"));
        SHOWN("pull: other:1", "pulled: docker.io/library/other:1");

        /* the registry gave no name: what was asked */
        fake.log[0] = '\0';
        strv_free(steal_ptr(&fake.shown));
        fake.pull_name = NULL;
        assert_int_equal(run(f, "other:2", true, &c), 3);
        SHOWN("pull: other:2", "pulled: other:2");

        /* the pull failed: reported after its end, nothing made */
        fake.log[0] = '\0';
        strv_free(steal_ptr(&fake.shown));
        fake.fail_at = "pull";
        fake.fail_msg = "pull other:3: 404 manifest unknown";
        assert_int_equal(run(f, "other:3", true, &c), 125);
        assert_string_equal(fake.log, "pull");
        SHOWN("pull: other:3", "pulled: (failed)", "E: pull other:3: 404 manifest unknown");
        assert_null(c);
}

static void test_store_unreadable(void **state)
{
        struct fixture *f = *state;
        struct berth_ctr *c = NULL;
        _autofree_ char *path = xasprintf("%s/images.json", f->root);
        int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);

        /* a lookup that fails otherwise than "not found": its error, no pull */
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "{", 1), 1);
        close(fd);
        assert_int_equal(run(f, "busybox", false, &c), 125);
        assert_string_equal(fake.log, "");
        assert_int_equal(strv_length(fake.shown), 1);
        assert_true(startswith(fake.shown[0], "E: "));
        assert_non_null(strstr(fake.shown[0], "images.json"));
        assert_null(c);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_limits),
            cmocka_unit_test(test_security_opts),
            cmocka_unit_test(test_create_exit_code),
            cmocka_unit_test_setup_teardown(test_image_name, setup, teardown),
            cmocka_unit_test_setup_teardown(test_run_exits, setup, teardown),
            cmocka_unit_test_setup_teardown(test_run_rm, setup, teardown),
            cmocka_unit_test_setup_teardown(test_mount_fails, setup, teardown),
            cmocka_unit_test_setup_teardown(test_prepare_fails, setup, teardown),
            cmocka_unit_test_setup_teardown(test_create_fails_not_found, setup, teardown),
            cmocka_unit_test_setup_teardown(test_create_fails_cannot_exec, setup, teardown),
            cmocka_unit_test_setup_teardown(test_save_fails, setup, teardown),
            cmocka_unit_test_setup_teardown(test_start_fails, setup, teardown),
            cmocka_unit_test_setup_teardown(test_wait_fails, setup, teardown),
            cmocka_unit_test_setup_teardown(test_cleanup_fails, setup, teardown),
            cmocka_unit_test_setup_teardown(test_abandon_warns, setup, teardown),
            cmocka_unit_test_setup_teardown(test_record_fails, setup, teardown),
            cmocka_unit_test_setup_teardown(test_no_such_image_pulls, setup, teardown),
            cmocka_unit_test_setup_teardown(test_store_unreadable, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
