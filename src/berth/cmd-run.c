/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth run: find (or pull) the image, make the container's record, mount its overlay, write
 * its bundle, then create + start it in-process through libberth and stay in the foreground
 * until it exits; exit with its code (125 when berth fails, 126/127 when the command cannot be
 * executed / is not found).
 */
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>

#include "berth.h"
#include "image/blobstore.h"
#include "runtime/container.h"
#include "engine/engine.h"
#include "runtime/foreground.h"
#include "image/imageref.h"
#include "image/imagestore.h"
#include "base/log.h"
#include "image/manifest.h"
#include "image/registry.h"
#include "engine/seccomp-profile.h"
#include "runtime/state.h"
#include "base/util.h"

enum {
        F_RM,
        F_INTERACTIVE,
        F_TTY,
        F_DETACH,
        F_ENV,
        F_WORKDIR,
        F_USER,
        F_NAME,
        F_HOSTNAME,
        F_ENTRYPOINT,
        F_MEMORY,
        F_PIDS_LIMIT,
        F_CPUS,
        F_SECURITY_OPT,
};

static const struct berth_flag flags[] = {
    [F_RM] = {"rm", 0, BERTH_FLAG_BOOL, NULL, "Automatically remove the container when it exits"},
    [F_INTERACTIVE] = {"interactive", 'i', BERTH_FLAG_BOOL, NULL,
                       "Keep STDIN open even if not attached"},
    [F_TTY] = {"tty", 't', BERTH_FLAG_BOOL, NULL, "Allocate a pseudo-TTY"},
    [F_DETACH] = {"detach", 'd', BERTH_FLAG_BOOL, NULL,
                  "Run container in background (not supported yet)"},
    [F_ENV] = {"env", 'e', BERTH_FLAG_LIST, "list", "Set environment variables"},
    [F_WORKDIR] = {"workdir", 'w', BERTH_FLAG_VALUE, "string",
                   "Working directory inside the container"},
    [F_USER] = {"user", 'u', BERTH_FLAG_VALUE, "string",
                "Username or UID (format: <name|uid>[:<group|gid>])"},
    [F_NAME] = {"name", 0, BERTH_FLAG_VALUE, "string", "Assign a name to the container"},
    [F_HOSTNAME] = {"hostname", 'h', BERTH_FLAG_VALUE, "string", "Container host name"},
    [F_ENTRYPOINT] = {"entrypoint", 0, BERTH_FLAG_VALUE, "string",
                      "Overwrite the default ENTRYPOINT of the image"},
    [F_MEMORY] = {"memory", 'm', BERTH_FLAG_VALUE, "bytes", "Memory limit"},
    [F_PIDS_LIMIT] = {"pids-limit", 0, BERTH_FLAG_VALUE, "int",
                      "Tune container pids limit (set -1 for unlimited)"},
    [F_CPUS] = {"cpus", 0, BERTH_FLAG_VALUE, "decimal", "Number of CPUs"},
    [F_SECURITY_OPT] = {"security-opt", 0, BERTH_FLAG_LIST, "list", "Security Options"},
};

static const struct berth_cmd_spec spec = {
    .name = "run",
    .usage = "run [OPTIONS] IMAGE [COMMAND] [ARG...]",
    .summary = "Create and run a new container from an image",
    .flags = flags,
    .n_flags = ARRAY_SIZE(flags),
    .min_args = 1,
    .max_args = -1,
    .stop_at_positional = true,
};

/* A run: what was asked, and what exists so far (for the cleanup). */
struct run {
        struct berth_global *g;
        struct berth_store *s;
        struct berth_run_opts o;
        struct berth_image *img;
        struct berth_image_config *cfg;
        char *image_name;
        struct berth_ctr *c;
        struct berth_scmp_profile *seccomp; /* --security-opt seccomp=FILE */
};

static void run_clear(struct run *r)
{
        berth_scmp_profile_free(r->seccomp);
        berth_image_free(r->img);
        berth_image_config_free(r->cfg);
        free(r->image_name);
        berth_ctr_free(r->c);
}

static int parse_limits(const struct berth_args *a, struct berth_run_opts *o,
                        struct berth_error **err)
{
        const char *m = a->values[F_MEMORY], *p = a->values[F_PIDS_LIMIT], *c = a->values[F_CPUS];

        if (m && berth_parse_memory(m, &o->memory, err) < 0)
                return berth_error_prefix(err, "invalid argument \"%s\" for \"-m, --memory\" flag",
                                          m);
        if (m && o->memory > 0 && o->memory < 6 * 1024 * 1024)
                return berth_error_setx(err, EINVAL, "Minimum memory limit allowed is 6MB");
        if (p && parse_i64(p, &o->pids_limit) < 0)
                return berth_error_setx(err, EINVAL,
                                        "invalid argument \"%s\" for \"--pids-limit\" flag: "
                                        "strconv.ParseInt: parsing \"%s\": invalid syntax",
                                        p, p);
        if (c && berth_parse_cpus(c, &o->nano_cpus, err) < 0)
                return berth_error_prefix(err, "invalid argument \"%s\" for \"--cpus\" flag", c);
        return 0;
}

/* docker sets memory+swap to twice the memory when swap accounting is there to limit it. */
static bool has_swap_accounting(void)
{
        return access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0 ||
               access("/sys/fs/cgroup/memory.swap.max", F_OK) == 0 ||
               access("/sys/fs/cgroup/berth/memory.swap.max", F_OK) == 0;
}

/* seccomp=FILE: read and parsed now, so that a bad profile fails before anything is made. */
static int read_seccomp_profile(const char *file, struct run *rn, struct berth_error **err)
{
        _autofree_ char *text = NULL;
        size_t len = 0;
        int r;

        r = berth_read_file_at(AT_FDCWD, file, 4u << 20, &text, &len, err);
        if (r < 0)
                return berth_error_prefix(err, "opening seccomp profile (%s) failed", file);
        berth_scmp_profile_free(steal_ptr(&rn->seccomp));
        return berth_scmp_profile_parse(text, len, file, &rn->seccomp, err);
}

static int seccomp_opt(const char *v, struct run *rn, struct berth_error **err)
{
        rn->o.seccomp_unconfined = streq(v, "unconfined");
        if (streq(v, "unconfined") || streq(v, "builtin")) {
                berth_scmp_profile_free(steal_ptr(&rn->seccomp));
                return 0;
        }
        return read_seccomp_profile(v, rn, err);
}

/* docker's --security-opt: KEY=VALUE (KEY:VALUE is the deprecated form) or no-new-privileges.
 * SELinux labels and AppArmor profiles do not exist here: only their "off" values pass. */
static int security_opt(const char *opt, struct run *rn, struct berth_error **err)
{
        _autofree_ char *k = xstrdup(opt);
        char *v = strchr(k, '=') ? strchr(k, '=') : strchr(k, ':');
        const char *b;

        if (streq(opt, "no-new-privileges")) {
                rn->o.no_new_privileges = true;
                return 0;
        }
        if (!v || !v[1])
                return berth_error_setx(err, EINVAL, "invalid --security-opt: \"%s\"", opt);
        *v++ = '\0';
        if (streq(k, "seccomp"))
                return seccomp_opt(v, rn, err);
        if (streq(k, "no-new-privileges")) {
                b = berth_parse_go_bool(v);
                if (!b)
                        return berth_error_setx(err, EINVAL, "invalid --security-opt 2: \"%s\"",
                                                opt);
                rn->o.no_new_privileges = streq(b, "true");
                return 0;
        }
        if (streq(k, "systempaths") && streq(v, "unconfined")) {
                rn->o.systempaths_unconfined = true;
                return 0;
        }
        if ((streq(k, "label") && streq(v, "disable")) ||
            (streq(k, "apparmor") && streq(v, "unconfined")))
                return 0;
        if (streq(k, "label") || streq(k, "apparmor"))
                return berth_error_setx(err, ENOTSUP,
                                        "--security-opt \"%s\": berth has no SELinux or AppArmor "
                                        "support (only label=disable and apparmor=unconfined)",
                                        opt);
        return berth_error_setx(err, EINVAL, "invalid --security-opt 2: \"%s\"", opt);
}

static int security_opts(const struct berth_args *a, struct run *rn, struct berth_error **err)
{
        for (char **s = a->lists[F_SECURITY_OPT]; s && *s; s++) {
                int r = security_opt(*s, rn, err);

                if (r < 0)
                        return r;
        }
        return 0;
}

static int fill_opts(const struct berth_args *a, struct run *rn, struct berth_error **err)
{
        struct berth_run_opts *o = &rn->o;
        int r;

        *o = (struct berth_run_opts){
            .name = a->values[F_NAME],
            .hostname = a->values[F_HOSTNAME],
            .workdir = a->values[F_WORKDIR],
            .user = a->values[F_USER],
            .entrypoint = a->values[F_ENTRYPOINT],
            .env = a->lists[F_ENV],
            .cmd = a->n_pos > 1 ? a->pos + 1 : NULL,
            .tty = berth_args_bool(a, F_TTY),
            .interactive = berth_args_bool(a, F_INTERACTIVE),
            .auto_remove = berth_args_bool(a, F_RM),
        };
        if (berth_args_bool(a, F_DETACH))
                return berth_error_setx(err, ENOTSUP, "run -d: not supported yet");
        r = parse_limits(a, o, err);
        if (r < 0)
                return r;
        if (o->memory > 0 && has_swap_accounting())
                o->memory_swap = o->memory * 2;
        r = security_opts(a, rn, err);
        if (r < 0)
                return r;
        o->seccomp = rn->seccomp;
        return 0;
}

/* $BERTH_CONFIG names the engine's config file (insecure-registries); unset or empty: the
 * library's default, /etc/berth/config.json. */
static const char *config_file(void)
{
        const char *s = getenv("BERTH_CONFIG");

        return s && *s ? s : NULL;
}

static int pull_image(struct run *rn, const char *what, struct berth_error **err)
{
        struct berth_progress *p = berth_progress_new(stderr, isatty(STDERR_FILENO));
        struct berth_pull_opts po = {.reg = {.tls_verify = -1, .config_file = config_file()},
                                     .progress = berth_progress_event,
                                     .userdata = p};
        _autofree_ char *id = NULL, *name = NULL;
        int r;

        fprintf(stderr, "Unable to find image '%s' locally\n", what);
        r = berth_pull(rn->s, what, &po, &id, &name, err);
        berth_progress_finish(p);
        berth_progress_free(p);
        if (r < 0)
                return r;
        fprintf(stderr, "Status: Downloaded newer image for %s\n", name ? name : what);
        return berth_store_image_lookup(rn->s, id, &rn->img, err);
}

/* The name the container records: the normalized name when run by one, else what was given. */
static char *image_name(const struct berth_image *img, const char *what)
{
        _autoref_ struct berth_ref *ref = NULL;
        _autofree_ char *norm = NULL;

        if (berth_ref_parse(what, &ref, NULL) < 0)
                return xstrdup(what);
        norm = berth_ref_string(ref);
        for (char **n = img->names; n && *n; n++)
                if (streq(*n, norm))
                        return steal_ptr(&norm);
        return xstrdup(what);
}

static int read_image_config(struct run *rn, struct berth_error **err)
{
        _autoclose_ int fd = -EBADF;
        _autofree_ char *text = NULL;
        size_t len = 0;
        int r;

        r = berth_blobstore_open_blob(berth_store_blobs(rn->s), rn->img->id, &fd, err);
        if (r >= 0)
                r = berth_read_fd(fd, rn->img->id, 0, &text, &len, err);
        if (r >= 0)
                r = berth_image_config_parse(text, len, &rn->cfg, err);
        if (r < 0)
                return berth_error_prefix(err, "image %.19s: config", rn->img->id);
        return 0;
}

static int find_image(struct run *rn, const char *what, struct berth_error **err)
{
        _autoerr_ struct berth_error *lerr = NULL;
        int r;

        r = berth_global_store(rn->g, &rn->s, err);
        if (r < 0)
                return r;
        r = berth_store_image_lookup(rn->s, what, &rn->img, &lerr);
        if (r == -ENOENT)
                r = pull_image(rn, what, err);
        else if (r < 0)
                r = berth_error_setx(err, -r, "%s", lerr->msg);
        if (r < 0)
                return r;
        rn->image_name = image_name(rn->img, what);
        return read_image_config(rn, err);
}

/* Without -i, docker gives the container /dev/null as stdin. */
static int stdin_devnull(struct berth_error **err)
{
        _autoclose_ int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return berth_error_set(err, errno, "open /dev/null");
        if (dup2(fd, STDIN_FILENO) < 0)
                return berth_error_set(err, errno, "dup /dev/null onto stdin");
        return 0;
}

/* create's failures to find or run args[0] (init.c resolves it before CREATED): 127 / 126. */
static int exec_failure_code(const struct berth_error *e)
{
        if (!e || !startswith(e->msg, "exec: "))
                return BERTH_EXIT_ENGINE;
        if (e->code == ENOENT)
                return BERTH_EXIT_NOT_FOUND;
        if (e->code == EACCES || e->code == ENOEXEC || e->code == EISDIR || e->code == EPERM)
                return BERTH_EXIT_CANNOT_EXEC;
        return BERTH_EXIT_ENGINE;
}

/* Undo after a failure before the process ran: runtime state, mount, record (or the whole
 * container with --rm). Failures here are warnings: the first error is the one to report. */
static void abandon(struct run *rn, int code)
{
        _autoerr_ struct berth_error *e = NULL;

        rn->c->exit_code = code;
        if (berth_ctr_finish(rn->c, rn->g->runroot, NULL, -1, &e) < 0)
                berth_print_warning("%s", e->msg);
        if (rn->o.auto_remove && berth_ctr_remove(rn->c, rn->g->runroot, true, &e) < 0)
                berth_print_warning("%s", e->msg);
}

static int mark_running(struct run *rn, const struct berth_container *lc, struct berth_error **err)
{
        free(rn->c->status);
        rn->c->status = xstrdup("running");
        rn->c->pid = (int) lc->pid;
        free(rn->c->started_at);
        rn->c->started_at = berth_rfc3339_now();
        return berth_ctr_save(rn->c, err);
}

/* create, start, wait; then finish (and --rm). Returns the exit code to use. */
static int run_container(struct run *rn, struct berth_foreground *fg)
{
        _autocontainer_ struct berth_container *lc = NULL;
        _autoerr_ struct berth_error *e = NULL;
        int status = -1, r, code;

        r = berth_ctr_runtime_create(rn->c, rn->g->runroot, rn->o.tty, &lc, &e);
        if (r < 0) {
                code = exec_failure_code(e);
                berth_print_error(e);
                abandon(rn, code);
                return code;
        }
        r = mark_running(rn, lc, &e);
        if (r >= 0)
                r = berth_ctr_runtime_start(lc, &e);
        if (r >= 0)
                r = berth_foreground_wait(fg, lc->pid, lc->pidfd, lc->pty_master, &status, &e);
        if (r < 0) {
                berth_print_error(e);
                berth_error_free(steal_ptr(&e));
        }
        code = r < 0 ? BERTH_EXIT_ENGINE : berth_exit_code(status);
        rn->c->exit_code = code;
        if (berth_ctr_finish(rn->c, rn->g->runroot, lc, r < 0 ? -1 : status, &e) < 0) {
                berth_print_error(e);
                return BERTH_EXIT_ENGINE;
        }
        if (rn->o.auto_remove && berth_ctr_remove(rn->c, rn->g->runroot, false, &e) < 0) {
                berth_print_error(e);
                return BERTH_EXIT_ENGINE;
        }
        return code;
}

/* Record, mount, bundle; then run. */
static int run(struct run *rn, const char *what)
{
        _autoforeground_ struct berth_foreground *fg = NULL;
        _autoerr_ struct berth_error *e = NULL;
        int r;

        r = find_image(rn, what, &e);
        if (r >= 0)
                r = berth_ctr_create(rn->s, rn->img->id, rn->img->layers, rn->image_name, rn->cfg,
                                     &rn->o, &rn->c, &e);
        if (r >= 0 && !rn->o.interactive)
                r = stdin_devnull(&e);
        if (r < 0)
                return berth_print_error(e);
        /* Processes the container leaves behind are reparented to us and reaped. */
        if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
                berth_print_warning("become a child subreaper: %s, ignoring", strerror(errno));
        r = berth_foreground_begin(&fg, &e);
        if (r >= 0)
                r = berth_ctr_mount(rn->s, rn->c, &e);
        if (r >= 0)
                r = berth_ctr_prepare(rn->c, &rn->o, &e);
        if (r < 0) {
                berth_print_error(e);
                abandon(rn, BERTH_EXIT_ENGINE);
                return BERTH_EXIT_ENGINE;
        }
        return run_container(rn, fg);
}

static int cmd_run(struct berth_global *g, int argc, char **argv)
{
        struct berth_args a = {0};
        _autoerr_ struct berth_error *e = NULL;
        struct run rn = {.g = g};
        int rc;

        if (!berth_cmd_args(&spec, argc, argv, &a, &rc))
                return rc;
        if (fill_opts(&a, &rn, &e) < 0) {
                rc = berth_print_error(e);
        } else {
                rc = run(&rn, a.pos[0]);
                fflush(stdout);
        }
        run_clear(&rn);
        berth_args_clear(&a);
        return rc;
}

const struct berth_cmd berth_cmd_run = {"run", "Create and run a new container from an image",
                                        cmd_run};
