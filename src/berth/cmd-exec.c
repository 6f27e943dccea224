/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth exec [-i] [-t] [-d] [-e K=V]... [--env-file F]... [-u USER[:GROUP]] [-w DIR]
 * [--privileged] CONTAINER CMD [ARG...]: a process in a running container (engine-exec.h).
 * The flags end at the container. Exit code: the process's own; 126/127 when it cannot be
 * executed / is not found; 1 when the container is missing, not running or paused (docker's
 * daemon refusing); 125 for a flag error or berth's own failure.
 */
#include <unistd.h>

#include "berth.h"
#include "base/util.h"
#include "engine/engine-exec.h"
#include "engine/engine.h"

extern char **environ;

enum {
        F_DETACH,
        F_ENV,
        F_ENV_FILE,
        F_INTERACTIVE,
        F_PRIVILEGED,
        F_TTY,
        F_USER,
        F_WORKDIR,
};

static const struct berth_flag flags[] = {
    [F_DETACH] = {"detach", 'd', BERTH_FLAG_BOOL, NULL,
                  "Detached mode: run command in the background"},
    [F_ENV] = {"env", 'e', BERTH_FLAG_LIST, "list", "Set environment variables"},
    [F_ENV_FILE] = {"env-file", 0, BERTH_FLAG_LIST, "list",
                    "Read in a file of environment variables"},
    [F_INTERACTIVE] = {"interactive", 'i', BERTH_FLAG_BOOL, NULL,
                       "Keep STDIN open even if not attached"},
    [F_PRIVILEGED] = {"privileged", 0, BERTH_FLAG_BOOL, NULL,
                      "Give extended privileges to the command"},
    [F_TTY] = {"tty", 't', BERTH_FLAG_BOOL, NULL, "Allocate a pseudo-TTY"},
    [F_USER] = {"user", 'u', BERTH_FLAG_VALUE, "string",
                "Username or UID (format: \"<name|uid>[:<group|gid>]\")"},
    [F_WORKDIR] = {"workdir", 'w', BERTH_FLAG_VALUE, "string",
                   "Working directory inside the container"},
};

static const struct berth_cmd_spec spec = {
    .name = "exec",
    .usage = "exec [OPTIONS] CONTAINER COMMAND [ARG...]",
    .summary = "Execute a command in a running container",
    .flags = flags,
    .n_flags = ARRAY_SIZE(flags),
    .min_args = 2,
    .max_args = -1,
    .stop_at_positional = true,
};

/* --env-file lines first, then -e, as docker's CLI merges them. */
static int env_list(const struct berth_args *a, char ***ret, struct berth_error **err)
{
        _autostrv_ char **env = NULL;
        size_t n = 0;
        int r;

        for (char *const *f = a->lists[F_ENV_FILE]; f && *f; f++) {
                r = berth_env_file_read(*f, environ, &env, &n, err);
                if (r < 0)
                        return r;
        }
        for (char *const *e = a->lists[F_ENV]; e && *e; e++)
                strv_push(&env, &n, xstrdup(*e));
        *ret = steal_ptr(&env);
        return 0;
}

static int exec_in(struct berth_global *g, const struct berth_args *a,
                   const struct berth_exec_config *o)
{
        _cleanup_(berth_ctr_freep) struct berth_ctr *c = NULL;
        _autoerr_ struct berth_error *e = NULL;
        struct berth_store *s;
        int code;

        /* the process is a clone of berth: sealed first (CVE-2019-5736) */
        if (berth_global_seal(g, &e) < 0 || berth_global_store(g, &s, &e) < 0)
                return berth_print_error(e);
        if (berth_ctr_lookup(s, a->pos[0], &c, &e) < 0)
                return berth_print_failure(e);
        if (berth_ctr_exec(c, g->runroot, o, &code, &e) < 0)
                berth_print_error(e);
        return code;
}

static int cmd_exec(struct berth_global *g, int argc, char **argv)
{
        struct berth_args a = {0};
        _autoerr_ struct berth_error *e = NULL;
        _autostrv_ char **env = NULL;
        int rc;

        if (!berth_cmd_args(&spec, argc, argv, &a, &rc))
                return rc;
        const struct berth_exec_config o = {
            .args = a.pos + 1,
            .envp = environ,
            .user = a.values[F_USER],
            .workdir = a.values[F_WORKDIR],
            .tty = berth_args_bool(&a, F_TTY),
            .interactive = berth_args_bool(&a, F_INTERACTIVE),
            .detach = berth_args_bool(&a, F_DETACH),
            .privileged = berth_args_bool(&a, F_PRIVILEGED),
        };
        if (o.interactive && o.tty && !o.detach && !isatty(STDIN_FILENO)) {
                fprintf(stderr, BERTH_PROG ": the input device is not a TTY\n");
                rc = BERTH_EXIT_FAILED; /* docker's CLI */
        } else if (env_list(&a, &env, &e) < 0) {
                rc = berth_print_error(e);
        } else {
                struct berth_exec_config with_env = o;

                with_env.env = env;
                rc = exec_in(g, &a, &with_env);
        }
        fflush(stdout);
        berth_args_clear(&a);
        return rc;
}

const struct berth_cmd berth_cmd_exec = {"exec", "Execute a command in a running container",
                                         cmd_exec};
