/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth run: the flags, then the engine (engine-run.h) finds (or pulls) the image, makes the
 * container's record, mounts its overlay, writes its bundle, then creates + starts it in-process
 * through libberth and stays in the foreground until it exits; exit with its code (125 when
 * berth fails, 126/127 when the command cannot be executed / is not found). Shown here: the
 * pull's progress and each failure.
 */
#include <limits.h>
#include <unistd.h>

#include "berth.h"
#include "engine/engine-attach.h"
#include "base/signal.h"
#include "base/util.h"
#include "engine/engine-run.h"

enum {
        F_RM,
        F_INTERACTIVE,
        F_TTY,
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
        F_LOG_DRIVER,
        F_LOG_OPT,
        F_RESTART,
        F_HEALTH_CMD,
        F_HEALTH_INTERVAL,
        F_HEALTH_RETRIES,
        F_HEALTH_START_INTERVAL,
        F_HEALTH_START_PERIOD,
        F_HEALTH_TIMEOUT,
        F_NO_HEALTHCHECK,
        F_HEALTH_ON_FAILURE,
        F_STOP_SIGNAL,
        F_STOP_TIMEOUT,
        /* run's own (create's flags are the ones before) */
        F_DETACH,
        F_DETACH_KEYS,
        F_SIG_PROXY,
};

static const struct berth_flag flags[] = {
    [F_RM] = {"rm", 0, BERTH_FLAG_BOOL, NULL, "Automatically remove the container when it exits"},
    [F_INTERACTIVE] = {"interactive", 'i', BERTH_FLAG_BOOL, NULL,
                       "Keep STDIN open even if not attached"},
    [F_TTY] = {"tty", 't', BERTH_FLAG_BOOL, NULL, "Allocate a pseudo-TTY"},
    [F_DETACH] = {"detach", 'd', BERTH_FLAG_BOOL, NULL,
                  "Run container in background and print container ID"},
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
    [F_LOG_DRIVER] = {"log-driver", 0, BERTH_FLAG_VALUE, "string",
                      "Logging driver for the container (k8s-file, none)"},
    [F_LOG_OPT] = {"log-opt", 0, BERTH_FLAG_LIST, "list", "Log driver options"},
    [F_RESTART] = {"restart", 0, BERTH_FLAG_VALUE, "string",
                   "Restart policy to apply when a container exits (default \"no\")"},
    [F_HEALTH_CMD] = {"health-cmd", 0, BERTH_FLAG_VALUE, "string",
                      "Command to run to check health"},
    [F_HEALTH_INTERVAL] = {"health-interval", 0, BERTH_FLAG_VALUE, "duration",
                           "Time between running the check (ms|s|m|h) (default 30s)"},
    [F_HEALTH_RETRIES] = {"health-retries", 0, BERTH_FLAG_VALUE, "int",
                          "Consecutive failures needed to report unhealthy (default 3)"},
    [F_HEALTH_START_INTERVAL] = {"health-start-interval", 0, BERTH_FLAG_VALUE, "duration",
                                 "Time between running the check during the start period "
                                 "(ms|s|m|h) (default 5s)"},
    [F_HEALTH_START_PERIOD] = {"health-start-period", 0, BERTH_FLAG_VALUE, "duration",
                               "Start period for the container to initialize before starting "
                               "health-retries countdown (ms|s|m|h) (default 0s)"},
    [F_HEALTH_TIMEOUT] = {"health-timeout", 0, BERTH_FLAG_VALUE, "duration",
                          "Maximum time to allow one check to run (ms|s|m|h) (default 30s)"},
    [F_NO_HEALTHCHECK] = {"no-healthcheck", 0, BERTH_FLAG_BOOL, NULL,
                          "Disable any container-specified HEALTHCHECK"},
    [F_HEALTH_ON_FAILURE] = {"health-on-failure", 0, BERTH_FLAG_VALUE, "string",
                             "Action to take once the container turns unhealthy (none, kill, "
                             "restart, stop) (default \"none\")"},
    [F_STOP_SIGNAL] = {"stop-signal", 0, BERTH_FLAG_VALUE, "string",
                       "Signal to stop the container"},
    [F_STOP_TIMEOUT] = {"stop-timeout", 0, BERTH_FLAG_VALUE, "int",
                        "Timeout (in seconds) to stop a container"},
    [F_DETACH_KEYS] = {"detach-keys", 0, BERTH_FLAG_VALUE, "string",
                       "Override the key sequence for detaching a container"},
    [F_SIG_PROXY] = {"sig-proxy", 0, BERTH_FLAG_BOOL, NULL,
                     "Proxy received signals to the process (default true)"},
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

static const struct berth_cmd_spec create_spec = {
    .name = "create",
    .usage = "create [OPTIONS] IMAGE [COMMAND] [ARG...]",
    .summary = "Create a new container",
    .flags = flags,
    .n_flags = F_DETACH,
    .min_args = 1,
    .max_args = -1,
    .stop_at_positional = true,
};

/* What the terminal shows while the engine works: a pull's progress (on stderr), failures. */
static void pull_begin(const char *what, void *userdata)
{
        struct berth_progress **p = userdata;

        fprintf(stderr, "Unable to find image '%s' locally\n", what);
        *p = berth_progress_new(stderr, isatty(STDERR_FILENO));
}

static void pull_progress(const struct berth_pull_event *ev, void *userdata)
{
        struct berth_progress **p = userdata;

        berth_progress_event(ev, *p);
}

static void pull_end(const char *name, void *userdata)
{
        struct berth_progress **p = userdata;

        berth_progress_finish(*p);
        berth_progress_free(steal_ptr(p));
        if (name)
                fprintf(stderr, "Status: Downloaded newer image for %s\n", name);
}

static void report(const struct berth_error *e, bool warning, void *userdata)
{
        if (warning)
                berth_print_warning("%s", e->msg);
        else
                berth_print_error(e);
}

/* $BERTH_CONFIG names the engine's config file (insecure-registries); unset or empty: the
 * library's default, /etc/berth/config.json. */
static const char *config_file(void)
{
        const char *s = getenv("BERTH_CONFIG");

        return s && *s ? s : NULL;
}

/* --log-driver k8s-file|none (docker's json-file and journald are other formats: refused by
 * name), --log-opt max-size=SIZE (docker's units), max-file=N. */
static int log_opts(const struct berth_args *a, struct berth_run_opts *o, struct berth_error **err)
{
        const char *d = a->values[F_LOG_DRIVER];
        int64_t n;

        if (d && !streq(d, "k8s-file") && !streq(d, "none"))
                return berth_error_setx(err, EINVAL,
                                        "failed to create task for container: logger: no log "
                                        "driver named '%s' is registered (berth has k8s-file "
                                        "and none)",
                                        d);
        o->log_driver = d;
        for (char *const *opt = a->lists[F_LOG_OPT]; opt && *opt; opt++) {
                const char *v = strchr(*opt, '=');

                if (!v)
                        return berth_error_setx(err, EINVAL, "invalid log opt '%s'", *opt);
                v++;
                if (startswith(*opt, "max-size=")) {
                        if (berth_parse_memory(v, &o->log_max_size, err) < 0)
                                return berth_error_prefix(err, "--log-opt %s", *opt);
                } else if (startswith(*opt, "max-file=")) {
                        if (parse_i64(v, &n) < 0 || n < 1 || n > 1000)
                                return berth_error_setx(err, EINVAL,
                                                        "--log-opt %s: max-file "
                                                        "must be a number from 1 to 1000",
                                                        *opt);
                        o->log_max_file = (int) n;
                } else {
                        return berth_error_setx(err, EINVAL,
                                                "unknown log opt '%.*s' for "
                                                "k8s-file log driver",
                                                (int) (v - 1 - *opt), *opt);
                }
        }
        return 0;
}

char *berth_monitor_path(void)
{
        _autofree_ char *self = realpath("/proc/self/exe", NULL);
        char *slash = self ? strrchr(self, '/') : NULL;

        if (!slash)
                return xstrdup("/usr/bin/berth-monitor");
        *slash = '\0';
        return xasprintf("%s/berth-monitor", self);
}

/* --restart other than "no" (checked later, by the engine). */
static bool has_restart_policy(const char *v)
{
        return v && *v && !streq(v, "no") && !startswith(v, "no:");
}

/* --stop-signal (a signal name or number, kept as given) and --stop-timeout (seconds; -1: no
 * limit), as docker checks them. */
static int stop_opts(const struct berth_args *a, struct berth_run_opts *o, struct berth_error **err)
{
        const char *sig = a->values[F_STOP_SIGNAL], *t = a->values[F_STOP_TIMEOUT];
        int64_t timeout;
        int n;

        if (sig && (berth_signal_parse(sig, &n, NULL) < 0 || n == 0))
                return berth_error_setx(err, EINVAL, "invalid signal: %s", sig);
        if (t && (parse_i64(t, &timeout) < 0 || timeout < -1 || timeout > INT_MAX))
                return berth_error_setx(err, EINVAL,
                                        "invalid argument \"%s\" for \"--stop-timeout\" flag: "
                                        "strconv.ParseInt: parsing \"%s\": invalid syntax",
                                        t, t);
        o->stop_signal = sig;
        o->has_stop_timeout = t != NULL;
        o->stop_timeout = t ? (int) timeout : 0;
        return 0;
}

static int fill_opts(const struct berth_args *a, struct berth_run *rn, struct berth_error **err)
{
        int r;

        const struct berth_run_flags f = {
            .memory = a->values[F_MEMORY],
            .pids_limit = a->values[F_PIDS_LIMIT],
            .cpus = a->values[F_CPUS],
            .security_opts = a->lists[F_SECURITY_OPT],
            .restart = a->values[F_RESTART],
            .health = {.cmd = a->values[F_HEALTH_CMD],
                       .interval = a->values[F_HEALTH_INTERVAL],
                       .timeout = a->values[F_HEALTH_TIMEOUT],
                       .start_period = a->values[F_HEALTH_START_PERIOD],
                       .start_interval = a->values[F_HEALTH_START_INTERVAL],
                       .retries = a->values[F_HEALTH_RETRIES],
                       .none = berth_args_bool(a, F_NO_HEALTHCHECK),
                       .on_failure = a->values[F_HEALTH_ON_FAILURE]},
        };

        rn->o = (struct berth_run_opts){
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
        rn->o.detach = berth_args_bool(a, F_DETACH);
        r = stop_opts(a, &rn->o, err);
        if (r >= 0)
                r = log_opts(a, &rn->o, err);
        if (r < 0)
                return r;
        return berth_run_apply_flags(rn, &f, err);
}

static int cmd_run(struct berth_global *g, int argc, char **argv)
{
        struct berth_args a = {0};
        _autoerr_ struct berth_error *e = NULL;
        struct berth_progress *progress = NULL;
        const struct berth_run_ops ops = {
            .pull_begin = pull_begin,
            .pull_progress = pull_progress,
            .pull_end = pull_end,
            .report = report,
            .userdata = &progress,
        };
        struct berth_run rn = {
            .runroot = g->runroot, .registry_config = config_file(), .ops = &ops};
        struct berth_sig_proxy px = {g, &rn.c};
        struct berth_attach_opts att = {0};
        _autofree_ char *monitor = NULL;
        bool detach, attach;
        int rc;

        if (!berth_cmd_args(&spec, argc, argv, &a, &rc))
                return rc;
        /* -i/-t or a restart policy without -d: under a monitor as -d, attached to it (the
         * detach keys leave it running; the monitor restarts it); a plain foreground run clones
         * the container's init itself: sealed first (it re-executes berth); otherwise the
         * monitor does that */
        detach = berth_args_bool(&a, F_DETACH);
        attach = !detach && (berth_args_bool(&a, F_INTERACTIVE) || berth_args_bool(&a, F_TTY) ||
                             has_restart_policy(a.values[F_RESTART]));
        if ((!detach && !attach && berth_global_seal(g, &e) < 0) || fill_opts(&a, &rn, &e) < 0 ||
            (attach && berth_attach_opts_fill(a.values[F_DETACH_KEYS],
                                              !streq_ptr(a.values[F_SIG_PROXY], "false"), &px, &att,
                                              &e) < 0) ||
            berth_global_store(g, &rn.store, &e) < 0) {
                rc = berth_print_error(e);
        } else {
                if (attach) {
                        att.tty = rn.o.tty;
                        att.in = rn.o.interactive;
                        rn.o.detach = true;
                        rn.attach = &att;
                }
                if (rn.o.detach)
                        rn.monitor = monitor = berth_monitor_path();
                rc = berth_run_image(&rn, a.pos[0]);
                if (detach && rc == 0)
                        printf("%s\n", rn.c->id);
                fflush(stdout);
        }
        berth_run_clear(&rn);
        berth_args_clear(&a);
        return rc;
}

/* berth create: run's steps up to the record (nothing mounted or started); prints the id. */
static int cmd_create(struct berth_global *g, int argc, char **argv)
{
        struct berth_args a = {0};
        _autoerr_ struct berth_error *e = NULL;
        struct berth_progress *progress = NULL;
        const struct berth_run_ops ops = {
            .pull_begin = pull_begin,
            .pull_progress = pull_progress,
            .pull_end = pull_end,
            .report = report,
            .userdata = &progress,
        };
        struct berth_run rn = {.runroot = g->runroot,
                               .registry_config = config_file(),
                               .ops = &ops,
                               .create_only = true};
        int rc;

        if (!berth_cmd_args(&create_spec, argc, argv, &a, &rc))
                return rc;
        if (fill_opts(&a, &rn, &e) < 0 || berth_global_store(g, &rn.store, &e) < 0) {
                rc = berth_print_error(e);
        } else {
                rc = berth_run_image(&rn, a.pos[0]);
                if (rc == 0)
                        printf("%s\n", rn.c->id);
                fflush(stdout);
        }
        berth_run_clear(&rn);
        berth_args_clear(&a);
        return rc;
}

const struct berth_cmd berth_cmd_run = {"run", "Create and run a new container from an image",
                                        cmd_run};
const struct berth_cmd berth_cmd_create = {"create", "Create a new container", cmd_create};
