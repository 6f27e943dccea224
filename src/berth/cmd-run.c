/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth run: the flags, then the engine (engine-run.h) finds (or pulls) the image, makes the
 * container's record, mounts its overlay, writes its bundle, then creates + starts it in-process
 * through libberth and stays in the foreground until it exits; exit with its code (125 when
 * berth fails, 126/127 when the command cannot be executed / is not found). Shown here: the
 * pull's progress and each failure.
 */
#include <unistd.h>

#include "berth.h"
#include "base/util.h"
#include "engine/engine-run.h"

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

static int fill_opts(const struct berth_args *a, struct berth_run *rn, struct berth_error **err)
{
        const struct berth_run_flags f = {
            .memory = a->values[F_MEMORY],
            .pids_limit = a->values[F_PIDS_LIMIT],
            .cpus = a->values[F_CPUS],
            .security_opts = a->lists[F_SECURITY_OPT],
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
        if (berth_args_bool(a, F_DETACH))
                return berth_error_setx(err, ENOTSUP, "run -d: not supported yet");
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
        int rc;

        if (!berth_cmd_args(&spec, argc, argv, &a, &rc))
                return rc;
        if (fill_opts(&a, &rn, &e) < 0 || berth_global_store(g, &rn.store, &e) < 0) {
                rc = berth_print_error(e);
        } else {
                rc = berth_run_image(&rn, a.pos[0]);
                fflush(stdout);
        }
        berth_run_clear(&rn);
        berth_args_clear(&a);
        return rc;
}

const struct berth_cmd berth_cmd_run = {"run", "Create and run a new container from an image",
                                        cmd_run};
