/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth run, the engine's side: run's flags into options, then find (or pull) the image, make
 * the container's record, mount its overlay, write its bundle, create + start it in-process
 * through libberth and stay in the foreground until it exits; the exit code to leave with
 * (125 when berth fails, 126/127 when the command cannot be executed / is not found).
 */
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "base/log.h"
#include "base/util.h"
#include "engine/engine-attach.h"
#include "engine/engine-events.h"
#include "engine/engine-run.h"
#include "engine/engine-launch.h"
#include "engine/engine.h"
#include "engine/seccomp-profile.h"
#include "image/blobstore.h"
#include "image/imageref.h"
#include "image/imagestore.h"
#include "image/manifest.h"
#include "image/registry.h"
#include "runtime/container.h"
#include "runtime/foreground.h"
#include "runtime/state.h"

const struct berth_run_steps berth_run_steps_default = {
    .pull = berth_pull,
    .ctr_create = berth_ctr_create,
    .ctr_mount = berth_ctr_mount,
    .ctr_prepare = berth_ctr_prepare,
    .runtime_create = berth_ctr_runtime_create,
    .ctr_save = berth_ctr_save,
    .runtime_start = berth_ctr_runtime_start,
    .wait = berth_foreground_wait,
    .ctr_finish = berth_ctr_finish,
    .ctr_remove = berth_ctr_remove,
};

void berth_run_clear(struct berth_run *rn)
{
        berth_scmp_profile_free(steal_ptr(&rn->seccomp));
        berth_image_free(steal_ptr(&rn->img));
        berth_image_config_free(steal_ptr(&rn->cfg));
        free(steal_ptr(&rn->image_name));
        berth_ctr_free(steal_ptr(&rn->c));
        free(steal_ptr(&rn->seccomp_text));
        strv_free(steal_ptr(&rn->security_record));
        free(steal_ptr(&rn->restart_policy));
        berth_healthcheck_free(steal_ptr(&rn->healthcheck));
        rn->o.seccomp = NULL;
        rn->o.security_opts = NULL;
        rn->o.restart_policy = NULL;
        rn->o.healthcheck = NULL;
}

static const struct berth_run_steps *steps(const struct berth_run *rn)
{
        return rn->steps ? rn->steps : &berth_run_steps_default;
}

static void report(const struct berth_run *rn, const struct berth_error *e, bool warning)
{
        if (rn->ops && rn->ops->report)
                rn->ops->report(e, warning, rn->ops->userdata);
}

/* Reports e as the failure that ends the run, and returns code. */
static int fail_with(const struct berth_run *rn, const struct berth_error *e, int code)
{
        report(rn, e, false);
        return code;
}

/* The same, with 125. */
static int fail(const struct berth_run *rn, const struct berth_error *e)
{
        return fail_with(rn, e, BERTH_EXIT_ENGINE);
}

/* ---- flags --------------------------------------------------------------------------------- */

static int parse_limits(const struct berth_run_flags *f, struct berth_run_opts *o,
                        struct berth_error **err)
{
        const char *m = f->memory, *p = f->pids_limit, *c = f->cpus;

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
bool berth_host_has_swap_accounting(void)
{
        return access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0 ||
               access("/sys/fs/cgroup/memory.swap.max", F_OK) == 0 ||
               access("/sys/fs/cgroup/berth/memory.swap.max", F_OK) == 0;
}

/* seccomp=FILE: read and parsed now, so that a bad profile fails before anything is made. */
static int read_seccomp_profile(const char *file, struct berth_run *rn, struct berth_error **err)
{
        _autofree_ char *text = NULL;
        size_t len = 0;
        int r;

        r = berth_read_file_at(AT_FDCWD, file, 4u << 20, &text, &len, err);
        if (r < 0)
                return berth_error_prefix(err, "opening seccomp profile (%s) failed", file);
        berth_scmp_profile_free(steal_ptr(&rn->seccomp));
        r = berth_scmp_profile_parse(text, len, file, &rn->seccomp, err);
        if (r >= 0) { /* the record keeps the text (docker's SecurityOpt): each start reads it */
                free(rn->seccomp_text);
                rn->seccomp_text = steal_ptr(&text);
        }
        return r;
}

static int seccomp_opt(const char *v, struct berth_run *rn, struct berth_error **err)
{
        rn->o.seccomp_unconfined = streq(v, "unconfined");
        if (streq(v, "unconfined") || streq(v, "builtin")) {
                berth_scmp_profile_free(steal_ptr(&rn->seccomp));
                return 0;
        }
        return read_seccomp_profile(v, rn, err);
}

/* SELinux labels and AppArmor profiles do not exist here: only their "off" values pass. */
int berth_run_security_opt(struct berth_run *rn, const char *opt, struct berth_error **err)
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

/* --restart, checked (engine-launch.h), and docker's conflict with --rm. */
static int restart_opt(struct berth_run *rn, const char *v, struct berth_error **err)
{
        int r;

        free(steal_ptr(&rn->restart_policy));
        r = berth_restart_policy_parse(v, &rn->restart_policy, &rn->o.restart_max, err);
        if (r < 0)
                return r;
        if (rn->o.auto_remove && !streq(rn->restart_policy, "no"))
                return berth_error_setx(err, EINVAL,
                                        "conflicting options: cannot specify both --restart and "
                                        "--rm");
        rn->o.restart_policy = rn->restart_policy;
        return 0;
}

int berth_run_apply_flags(struct berth_run *rn, const struct berth_run_flags *f,
                          struct berth_error **err)
{
        struct berth_run_opts *o = &rn->o;
        size_t n = 0;
        int r;

        r = parse_limits(f, o, err);
        if (r < 0)
                return r;
        if (o->memory > 0 && berth_host_has_swap_accounting())
                o->memory_swap = o->memory * 2;
        for (char *const *s = f->security_opts; s && *s; s++) {
                free(steal_ptr(&rn->seccomp_text));
                r = berth_run_security_opt(rn, *s, err);
                if (r < 0)
                        return r;
                strv_push(&rn->security_record, &n,
                          rn->seccomp_text ? xasprintf("seccomp=%s", rn->seccomp_text)
                                           : xstrdup(*s));
        }
        o->seccomp = rn->seccomp;
        o->security_opts = rn->security_record;
        berth_healthcheck_free(steal_ptr(&rn->healthcheck));
        r = berth_health_flags_parse(&f->health, &rn->healthcheck, err);
        if (r < 0)
                return r;
        o->healthcheck = rn->healthcheck;
        o->health_on_failure = f->health.on_failure;
        return restart_opt(rn, f->restart, err);
}

/* ---- a start of an existing container: the bundle again from its record ----------------- */

/* One recorded --security-opt: seccomp=<JSON> is the profile's text as run read it. */
static int security_opt_again(struct berth_run *rn, const char *opt, struct berth_error **err)
{
        const char *text = opt + strlen("seccomp=");

        if (!startswith(opt, "seccomp=") || text[0] != '{')
                return berth_run_security_opt(rn, opt, err);
        berth_scmp_profile_free(steal_ptr(&rn->seccomp));
        rn->o.seccomp_unconfined = false;
        return berth_scmp_profile_parse(text, strlen(text), "the recorded seccomp profile",
                                        &rn->seccomp, err);
}

/* What berth_ctr_prepare takes from run's flags, from the record (rn only holds them). */
static int opts_from_record(struct berth_run *rn, const struct berth_ctr *c,
                            struct berth_error **err)
{
        struct berth_run_opts *o = &rn->o;
        int r;

        *o = (struct berth_run_opts){
            .tty = c->tty,
            .interactive = c->open_stdin,
            .auto_remove = c->auto_remove,
            .detach = true,
            .memory = c->memory,
            .pids_limit = c->pids_limit,
            .nano_cpus = c->nano_cpus,
        };
        if (o->memory > 0 && berth_host_has_swap_accounting())
                o->memory_swap = o->memory * 2;
        for (char **s = c->security_opts; s && *s; s++) {
                r = security_opt_again(rn, *s, err);
                if (r < 0)
                        return berth_error_prefix(err, "container %.12s", c->id);
        }
        o->seccomp = rn->seccomp;
        return 0;
}

/* A --rm container's overlay is volatile (no syncs); overlayfs refuses to mount one again while
 * its work dir holds work/incompat/volatile (Documentation/filesystems/overlayfs.rst, "Volatile
 * mount"): what a clean unmount left is consistent, so it goes. */
static int volatile_mark_remove(const struct berth_ctr *c, struct berth_error **err)
{
        _autofree_ char *work = xasprintf("%s/work/work", c->dir);
        _autoclose_ int fd = open(work, O_PATH | O_DIRECTORY | O_CLOEXEC);

        if (!c->auto_remove || fd < 0)
                return 0;
        if (faccessat(fd, "incompat", F_OK, AT_SYMLINK_NOFOLLOW) < 0)
                return 0;
        return berth_rm_rf_at(fd, "incompat", err);
}

/* The overlay mounted (what a crash left unmounted first) and the bundle written again. */
int berth_run_prepare_again(struct berth_store *s, const struct berth_ctr *c,
                            struct berth_error **err)
{
        struct berth_run rn = {0};
        int r;

        r = berth_ctr_umount(c, err);
        if (r >= 0)
                r = volatile_mark_remove(c, err);
        if (r >= 0)
                r = opts_from_record(&rn, c, err);
        if (r >= 0)
                r = berth_ctr_mount(s, c, err);
        if (r >= 0)
                r = berth_ctr_prepare(c, &rn.o, err);
        berth_run_clear(&rn);
        return r;
}

/* ---- the image ----------------------------------------------------------------------------- */

static int pull_image(struct berth_run *rn, const char *what, struct berth_error **err)
{
        const struct berth_run_ops *ops = rn->ops;
        struct berth_pull_opts po = {
            .reg = {.tls_verify = -1, .config_file = rn->registry_config},
            .progress = ops ? ops->pull_progress : NULL,
            .userdata = ops ? ops->userdata : NULL,
        };
        _autofree_ char *id = NULL, *name = NULL;
        int r;

        if (ops && ops->pull_begin)
                ops->pull_begin(what, ops->userdata);
        r = steps(rn)->pull(rn->store, what, &po, &id, &name, err);
        if (ops && ops->pull_end)
                ops->pull_end(r < 0 ? NULL : name ? name : what, ops->userdata);
        if (r < 0)
                return r;
        return berth_store_image_lookup(rn->store, id, &rn->img, err);
}

char *berth_run_image_name(const struct berth_image *img, const char *what)
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

static int read_image_config(struct berth_run *rn, struct berth_error **err)
{
        _autoclose_ int fd = -EBADF;
        _autofree_ char *text = NULL;
        size_t len = 0;
        int r;

        r = berth_blobstore_open_blob(berth_store_blobs(rn->store), rn->img->id, &fd, err);
        if (r >= 0)
                r = berth_read_fd(fd, rn->img->id, 0, &text, &len, err);
        if (r >= 0)
                r = berth_image_config_parse(text, len, &rn->cfg, err);
        if (r < 0)
                return berth_error_prefix(err, "image %.19s: config", rn->img->id);
        return 0;
}

static int find_image(struct berth_run *rn, const char *what, struct berth_error **err)
{
        _autoerr_ struct berth_error *lerr = NULL;
        int r;

        r = berth_store_image_lookup(rn->store, what, &rn->img, &lerr);
        if (r == -ENOENT)
                r = pull_image(rn, what, err);
        else if (r < 0)
                r = berth_error_setx(err, -r, "%s", lerr->msg);
        if (r < 0)
                return r;
        rn->image_name = berth_run_image_name(rn->img, what);
        return read_image_config(rn, err);
}

/* ---- the container ------------------------------------------------------------------------- */

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

/* Processes the container leaves behind are reparented to us and reaped. */
static void become_subreaper(const struct berth_run *rn)
{
        _autoerr_ struct berth_error *e = NULL;

        int saved;

        if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
                saved = errno;
                berth_error_setx(&e, saved, "become a child subreaper: %s, ignoring",
                                 strerror(saved));
                report(rn, e, true);
        }
}

/* Undo after a failure before the process ran: runtime state, mount, record (or the whole
 * container with --rm). Failures here are warnings: the first error is the one reported. */
static void abandon(struct berth_run *rn, int code)
{
        _autoerr_ struct berth_error *e = NULL;

        rn->c->exit_code = code;
        if (steps(rn)->ctr_finish(rn->c, rn->runroot, NULL, -1, &e) < 0)
                report(rn, e, true);
        berth_error_freep(&e);
        if (rn->o.auto_remove && steps(rn)->ctr_remove(rn->c, rn->runroot, true, &e) < 0)
                report(rn, e, true);
}

static int mark_running(struct berth_run *rn, const struct berth_container *lc,
                        struct berth_error **err)
{
        free(rn->c->status);
        rn->c->status = xstrdup("running");
        rn->c->pid = (int) lc->pid;
        free(rn->c->started_at);
        rn->c->started_at = berth_rfc3339_now();
        return steps(rn)->ctr_save(rn->c, err);
}

/* `berth restart` stopped it to start it again: --rm does not apply (docker's). */
static bool restarted_by_user(const struct berth_ctr *c)
{
        _cleanup_(berth_ctr_freep) struct berth_ctr *now = NULL;

        return berth_ctr_reload(c, &now, NULL) >= 0 && now->restarted_by_user;
}

/* create, start, wait; then finish (and --rm). Returns the exit code to use. */
static int run_container(struct berth_run *rn, struct berth_foreground *fg, int *start_lock)
{
        const struct berth_run_steps *st = steps(rn);
        _autocontainer_ struct berth_container *lc = NULL;
        _autoerr_ struct berth_error *e = NULL;
        int status = -1, r, code;

        r = st->runtime_create(rn->c, rn->runroot, rn->o.tty, &lc, &e);
        if (r < 0) {
                code = berth_run_create_exit_code(e);
                report(rn, e, false);
                abandon(rn, code);
                return code;
        }
        r = mark_running(rn, lc, &e);
        closep(start_lock);
        if (r >= 0)
                r = st->runtime_start(lc, &e);
        if (r >= 0) {
                berth_event_emit(NULL, "start", rn->c, NULL);
                r = st->wait(fg, lc->pid, lc->pidfd, lc->pty_master, &status, &e);
        }
        if (r < 0) {
                report(rn, e, false);
                berth_error_freep(&e);
        }
        code = r < 0 ? BERTH_EXIT_ENGINE : berth_exit_code(status);
        rn->c->exit_code = code;
        if (st->ctr_finish(rn->c, rn->runroot, lc, r < 0 ? -1 : status, &e) < 0)
                return fail(rn, e);
        berth_ctr_emit_end(rn->c);
        if (rn->o.auto_remove && !restarted_by_user(rn->c) &&
            st->ctr_remove(rn->c, rn->runroot, false, &e) < 0)
                return fail(rn, e);
        return code;
}

/* ---- -d: the monitor --------------------------------------------------------------------- */

/* run -i / -t without -d: attached to the monitor from the start (engine-attach.h) until the
 * container's end (its exit code) or the detach keys (0, it runs on). A --rm container's end is
 * held for us before it can be removed. */
int berth_ctr_attached(struct berth_store *s, const struct berth_ctr *c0, const char *runroot,
                       int sock, const struct berth_attach_opts *o, int *ret_code,
                       struct berth_error **err)
{
        _autoerr_ struct berth_error *relay_err = NULL;
        _autoclose_ int hold = c0->auto_remove ? berth_ctr_waiter_hold(c0) : -EBADF;
        _cleanup_(berth_ctr_freep) struct berth_ctr *c = NULL;
        int r = berth_attach_relay(sock, o, &relay_err);

        if (r == 1) {
                *ret_code = 0; /* detached: it runs on */
                return 1;
        }
        if (r < 0)
                berth_warn("%s", relay_err->msg);
        r = berth_ctr_lookup(s, c0->id, &c, err);
        if (r >= 0)
                r = berth_ctr_wait(s, &c, runroot, err);
        closep(&hold);
        if (r < 0)
                return r;
        *ret_code = c->exit_code;
        /* --rm: gone when we return, as docker's run */
        if (c->auto_remove)
                berth_ctr_wait_monitor(c);
        return 0;
}

static int attached(struct berth_run *rn, int sock)
{
        _autoerr_ struct berth_error *e = NULL;
        int code;

        if (berth_ctr_attached(rn->store, rn->c, rn->runroot, sock, rn->attach, &code, &e) < 0)
                return fail(rn, e);
        return code;
}

/* The monitor starts the container (engine-launch.h berth_monitor_launch); once it reports, the
 * start lock is let go. */
static int run_detached(struct berth_run *rn, struct berth_foreground **fg, int *start_lock)
{
        _autoerr_ struct berth_error *e = NULL;
        _autoclose_ int ours = -EBADF, theirs = -EBADF;
        struct berth_monitor_launch l = {.root = berth_store_root(rn->store),
                                         .runroot = rn->runroot,
                                         .id = rn->c->id,
                                         .monitor = rn->monitor,
                                         .client_fd = -1};
        int p[2], code = BERTH_EXIT_ENGINE, r;

        if (rn->attach && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p) < 0) {
                berth_error_set(&e, errno, "socketpair to attach to the monitor");
                goto undo;
        }
        if (rn->attach) {
                ours = p[0];
                l.client_fd = theirs = p[1];
        }
        r = berth_monitor_launch(&l, &code, &e);
        closep(&theirs);
        closep(start_lock);
        if (r < 0) {
                code = BERTH_EXIT_ENGINE;
                goto undo;
        }
        if (code != 0) /* the monitor has undone what it could */
                return fail_with(rn, e, code);
        if (!rn->attach)
                return 0;
        /* the signals are the relay's now (--sig-proxy), or kill us as they would docker's CLI */
        berth_foreground_end(steal_ptr(fg));
        return attached(rn, ours);
undo:
        report(rn, e, false);
        abandon(rn, code);
        return code;
}

int berth_run_image(struct berth_run *rn, const char *what)
{
        _autoforeground_ struct berth_foreground *fg = NULL;
        _autoerr_ struct berth_error *e = NULL;
        _autoclose_ int start_lock = -EBADF;
        int r;

        r = find_image(rn, what, &e);
        if (r >= 0)
                r = steps(rn)->ctr_create(rn->store, rn->img->id, rn->img->layers, rn->image_name,
                                          rn->cfg, &rn->o, &rn->c, &e);
        if (r >= 0 && rn->create_only)
                return 0;
        /* until the program runs: a `berth start` of it waits, stop and wait know it starts */
        if (r >= 0 && berth_ctr_start_lock(rn->c, &start_lock, NULL) < 0)
                start_lock = -EBADF;
        if (r >= 0 && !rn->o.interactive)
                r = stdin_devnull(&e);
        if (r < 0)
                return fail(rn, e);
        become_subreaper(rn);
        r = berth_foreground_begin(&fg, &e);
        if (r >= 0)
                r = steps(rn)->ctr_mount(rn->store, rn->c, &e);
        if (r >= 0)
                r = steps(rn)->ctr_prepare(rn->c, &rn->o, &e);
        if (r < 0) {
                report(rn, e, false);
                abandon(rn, BERTH_EXIT_ENGINE);
                return BERTH_EXIT_ENGINE;
        }
        if (rn->o.detach)
                return run_detached(rn, &fg, &start_lock);
        return run_container(rn, fg, &start_lock);
}
