/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth start [-a] [-i] [--detach-keys K] [--all-restart] CONTAINER..., restart [-t N] [-s SIG]
 * CONTAINER...: docker's commands on existing containers (engine/engine-start.h): each is started
 * under a monitor as `run -d` does; several at once (a child each), each name printed as given, in
 * argument order. `start --all-restart` is what dockerd does when it starts (after a reboot: the
 * systemd unit contrib/systemd/berth-restart.service runs it).
 */
#include <signal.h>
#include <sys/socket.h>

#include "berth.h"
#include "base/signal.h"
#include "base/util.h"
#include "engine/engine-start.h"
#include "engine/engine-run.h"
#include "engine/engine-attach.h"
#include "engine/engine.h"

enum { F_ATTACH, F_INTERACTIVE, F_DETACH_KEYS, F_ALL_RESTART };

static const struct berth_flag start_flags[] = {
    [F_ATTACH] = {"attach", 'a', BERTH_FLAG_BOOL, NULL, "Attach STDOUT/STDERR and forward signals"},
    [F_INTERACTIVE] = {"interactive", 'i', BERTH_FLAG_BOOL, NULL, "Attach container's STDIN"},
    [F_DETACH_KEYS] = {"detach-keys", 0, BERTH_FLAG_VALUE, "string",
                       "Override the key sequence for detaching a container"},
    [F_ALL_RESTART] = {"all-restart", 0, BERTH_FLAG_BOOL, NULL,
                       "Start every container whose restart policy says so, as after a reboot "
                       "(what dockerd does when it starts)"},
};

static const struct berth_cmd_spec start_spec = {
    .name = "start",
    .usage = "start [OPTIONS] CONTAINER [CONTAINER...]",
    .summary = "Start one or more stopped containers",
    .flags = start_flags,
    .n_flags = ARRAY_SIZE(start_flags),
    .min_args = 0,
    .max_args = -1,
};

enum { F_TIME, F_SIGNAL };

static const struct berth_flag restart_flags[] = {
    [F_TIME] = {"time", 't', BERTH_FLAG_VALUE, "int",
                "Seconds to wait before killing the container (default 10)"},
    [F_SIGNAL] = {"signal", 's', BERTH_FLAG_VALUE, "string", "Signal to send to the container"},
};

static const struct berth_cmd_spec restart_spec = {
    .name = "restart",
    .usage = "restart [OPTIONS] CONTAINER [CONTAINER...]",
    .summary = "Restart one or more containers",
    .flags = restart_flags,
    .n_flags = ARRAY_SIZE(restart_flags),
    .min_args = 1,
    .max_args = -1,
};

struct start_opts {
        const char *monitor;
        bool stop_first; /* restart */
        int sig, timeout;
        bool has_sig, has_timeout; /* -s, -t given: else the container's (StopSignal...) */
};

static int start_one(struct berth_global *g, const char *what, void *userdata,
                     struct berth_error **err)
{
        const struct start_opts *o = userdata;
        _cleanup_(berth_ctr_freep) struct berth_ctr *c = NULL;
        struct berth_store *s;
        int r;

        r = berth_global_store(g, &s, err);
        if (r >= 0)
                r = berth_ctr_lookup(s, what, &c, err);
        if (r >= 0 && o->stop_first) {
                int sig, timeout;

                berth_ctr_stop_defaults(c, &sig, &timeout);
                berth_ctr_mark_restarted(c); /* its --rm waits for the start */
                r = berth_ctr_stop(s, &c, g->runroot, o->has_sig ? o->sig : sig,
                                   o->has_timeout ? o->timeout : timeout, err);
        }
        if (r < 0)
                return r;
        return berth_ctr_start_detached(s, &c, g->runroot, o->monitor, -1, err) == 0 ? 0 : -EIO;
}

static void restored(const struct berth_ctr *c, void *userdata)
{
        printf("%s\n", c->name);
        fflush(stdout);
}

static void not_restored(const struct berth_ctr *c, const struct berth_error *e, void *userdata)
{
        fprintf(stderr, BERTH_PROG ": %s: %s\n", c->name, e ? e->msg : "failed");
}

/* start --all-restart: berth_ctrs_restore; the name of each container started. */
static int start_all(struct berth_global *g, const char *monitor)
{
        _autoerr_ struct berth_error *e = NULL;
        const struct berth_restore_ops ops = {.started = restored, .failed = not_restored};
        struct berth_store *s;
        int r;

        r = berth_global_store(g, &s, &e);
        if (r >= 0)
                r = berth_ctrs_restore(s, g->runroot, monitor, &ops, &e);
        if (r < 0)
                return berth_print_failure(e);
        return r > 0 ? BERTH_EXIT_FAILED : 0;
}

/* start -a [-i]: attached from before the program starts until its end (its exit code), or the
 * detach keys (0); stdin with -i (to a container made with -i), signals proxied without a
 * terminal, as docker's. */
static int start_attached(struct berth_global *g, const struct berth_args *a, const char *monitor)
{
        _cleanup_(berth_ctr_freep) struct berth_ctr *c = NULL;
        _autoerr_ struct berth_error *e = NULL;
        _autoclose_ int ours = -EBADF, theirs = -EBADF;
        struct berth_sig_proxy px = {g, &c};
        struct berth_attach_opts o = {0};
        struct berth_store *s;
        int sp[2], code;

        if (berth_attach_opts_fill(a->values[F_DETACH_KEYS], true, &px, &o, &e) < 0)
                return berth_print_error(e);
        if (berth_global_store(g, &s, &e) < 0 || berth_ctr_lookup(s, a->pos[0], &c, &e) < 0)
                return berth_print_failure(e);
        if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
                berth_error_set(&e, errno, "socketpair to attach to the monitor");
                return berth_print_error(e);
        }
        ours = sp[0];
        theirs = sp[1];
        code = berth_ctr_start_detached(s, &c, g->runroot, monitor, theirs, &e);
        closep(&theirs);
        if (code != 0) /* the monitor has undone it: docker's start fails with 1 */
                return berth_print_failure(e);
        o.tty = c->tty;
        o.in = berth_args_bool(a, F_INTERACTIVE) && c->open_stdin;
        if (berth_ctr_attached(s, c, g->runroot, ours, &o, &code, &e) < 0)
                return berth_print_failure(e);
        return code;
}

/* A usage error of start (exit 125). */
static int refuse(const char *msg)
{
        _autoerr_ struct berth_error *e = NULL;

        berth_error_setx(&e, EINVAL, "%s", msg);
        return berth_print_error(e);
}

static int cmd_start(struct berth_global *g, int argc, char **argv)
{
        struct berth_args a = {0};
        _autofree_ char *monitor = berth_monitor_path();
        struct start_opts o = {.monitor = monitor};
        bool all, attach;
        int rc;

        if (!berth_cmd_args(&start_spec, argc, argv, &a, &rc))
                return rc;
        all = berth_args_bool(&a, F_ALL_RESTART);
        attach = berth_args_bool(&a, F_ATTACH) || berth_args_bool(&a, F_INTERACTIVE);
        if (attach && (all || a.n_pos != 1))
                rc = refuse("you cannot start and attach multiple containers at once");
        else if (attach)
                rc = start_attached(g, &a, monitor);
        else if (all && a.n_pos > 0)
                rc = refuse("start --all-restart takes no container: it chooses them");
        else if (!all && a.n_pos == 0) {
                fprintf(stderr, BERTH_PROG ": \"" BERTH_PROG " start\" requires at least 1 "
                                           "argument.\nSee '" BERTH_PROG " start --help'.\n");
                rc = BERTH_EXIT_ENGINE;
        } else
                rc = all ? start_all(g, monitor) : berth_each(g, a.pos, a.n_pos, start_one, &o);
        berth_args_clear(&a);
        return rc;
}

static int cmd_restart(struct berth_global *g, int argc, char **argv)
{
        struct berth_args a = {0};
        _autoerr_ struct berth_error *e = NULL;
        _autofree_ char *monitor = berth_monitor_path();
        struct start_opts o = {.monitor = monitor, .stop_first = true, .sig = SIGTERM};
        int64_t timeout = BERTH_STOP_TIMEOUT_DEFAULT;
        const char *sig;
        int rc;

        if (!berth_cmd_args(&restart_spec, argc, argv, &a, &rc))
                return rc;
        sig = a.values[F_SIGNAL];
        if (a.values[F_TIME] && parse_i64(a.values[F_TIME], &timeout) < 0)
                berth_error_setx(&e, EINVAL,
                                 "invalid argument \"%s\" for \"-t, --time\" flag: "
                                 "strconv.ParseInt: parsing \"%s\": invalid syntax",
                                 a.values[F_TIME], a.values[F_TIME]);
        else if (sig && (berth_signal_parse(sig, &o.sig, &e) < 0 || o.sig == 0))
                berth_error_setx(&e, EINVAL, "invalid signal: %s", sig);
        o.timeout = (int) timeout;
        o.has_sig = sig != NULL;
        o.has_timeout = a.values[F_TIME] != NULL;
        rc = e ? berth_print_error(e) : berth_each(g, a.pos, a.n_pos, start_one, &o);
        berth_args_clear(&a);
        return rc;
}

const struct berth_cmd berth_cmd_start = {"start", "Start one or more stopped containers",
                                          cmd_start};
const struct berth_cmd berth_cmd_restart = {"restart", "Restart one or more containers",
                                            cmd_restart};
