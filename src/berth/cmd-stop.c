/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth stop [-t N] [-s SIG], kill [-s SIG], wait: docker's commands on the engine's containers
 * (engine.h, engine-stop.c). stop and kill print each container as given; wait prints each exit
 * code. A missing container is an error for that one, and the others go on (exit 1).
 */
#include <signal.h>

#include "berth.h"
#include "base/signal.h"
#include "base/util.h"
#include "engine/engine.h"

enum { F_TIME, F_SIGNAL };

static const struct berth_flag stop_flags[] = {
    [F_TIME] = {"time", 't', BERTH_FLAG_VALUE, "int",
                "Seconds to wait before killing the container (default 10)"},
    [F_SIGNAL] = {"signal", 's', BERTH_FLAG_VALUE, "string", "Signal to send to the container"},
};

static const struct berth_cmd_spec stop_spec = {
    .name = "stop",
    .usage = "stop [OPTIONS] CONTAINER [CONTAINER...]",
    .summary = "Stop one or more running containers",
    .flags = stop_flags,
    .n_flags = ARRAY_SIZE(stop_flags),
    .min_args = 1,
    .max_args = -1,
};

static const struct berth_flag kill_flags[] = {
    [0] = {"signal", 's', BERTH_FLAG_VALUE, "string",
           "Signal to send to the container (default \"KILL\")"},
};

static const struct berth_cmd_spec kill_spec = {
    .name = "kill",
    .usage = "kill [OPTIONS] CONTAINER [CONTAINER...]",
    .summary = "Kill one or more running containers",
    .flags = kill_flags,
    .n_flags = ARRAY_SIZE(kill_flags),
    .min_args = 1,
    .max_args = -1,
};

static const struct berth_cmd_spec wait_spec = {
    .name = "wait",
    .usage = "wait CONTAINER [CONTAINER...]",
    .summary = "Block until one or more containers stop, then print their exit codes",
    .min_args = 1,
    .max_args = -1,
};

static int lookup(struct berth_global *g, const char *what, struct berth_store **ret_store,
                  struct berth_ctr **ret, struct berth_error **err)
{
        int r = berth_global_store(g, ret_store, err);

        return r < 0 ? r : berth_ctr_lookup(*ret_store, what, ret, err);
}

static int signal_flag(const char *v, int dflt, int *ret, struct berth_error **err)
{
        *ret = dflt;
        if (!v)
                return 0;
        if (berth_signal_parse(v, ret, err) < 0 || *ret == 0)
                return berth_error_setx(err, EINVAL, "invalid signal: %s", v);
        return 0;
}

struct stop_opts {
        int sig, timeout;
        bool has_sig, has_timeout; /* -s, -t given: else the container's (StopSignal...) */
};

static int stop_one(struct berth_global *g, const char *what, void *userdata,
                    struct berth_error **err)
{
        const struct stop_opts *o = userdata;
        _cleanup_(berth_ctr_freep) struct berth_ctr *c = NULL;
        struct berth_store *s;
        int r = lookup(g, what, &s, &c, err), sig, timeout;

        if (r < 0)
                return r;
        berth_ctr_stop_defaults(c, &sig, &timeout);
        r = berth_ctr_stop(s, &c, g->runroot, o->has_sig ? o->sig : sig,
                           o->has_timeout ? o->timeout : timeout, err);
        return r == -ENOENT && c ? 0 : r; /* removed on its way out (--rm) */
}

static int cmd_stop(struct berth_global *g, int argc, char **argv)
{
        struct berth_args a = {0};
        _autoerr_ struct berth_error *e = NULL;
        int64_t timeout = BERTH_STOP_TIMEOUT_DEFAULT;
        struct stop_opts o;
        int rc = 0;

        if (!berth_cmd_args(&stop_spec, argc, argv, &a, &rc))
                return rc;
        o.has_sig = a.values[F_SIGNAL] != NULL;
        o.has_timeout = a.values[F_TIME] != NULL;
        if (a.values[F_TIME] && parse_i64(a.values[F_TIME], &timeout) < 0)
                berth_error_setx(&e, EINVAL,
                                 "invalid argument \"%s\" for \"-t, --time\" flag: "
                                 "strconv.ParseInt: parsing \"%s\": invalid syntax",
                                 a.values[F_TIME], a.values[F_TIME]);
        else
                signal_flag(a.values[F_SIGNAL], SIGTERM, &o.sig, &e);
        o.timeout = (int) timeout;
        rc = e ? berth_print_error(e) : berth_each(g, a.pos, a.n_pos, stop_one, &o);
        berth_args_clear(&a);
        return rc;
}

static int kill_one(struct berth_global *g, const char *what, void *userdata,
                    struct berth_error **err)
{
        _cleanup_(berth_ctr_freep) struct berth_ctr *c = NULL;
        struct berth_store *s;
        int r = lookup(g, what, &s, &c, err);

        if (r >= 0)
                r = berth_ctr_kill(c, g->runroot, *(const int *) userdata, false, err);
        if (r == -EINVAL && c)
                return berth_error_setx(err, EINVAL,
                                        "cannot kill container: %s: container %s is "
                                        "not running",
                                        what, c->id);
        return r;
}

static int cmd_kill(struct berth_global *g, int argc, char **argv)
{
        struct berth_args a = {0};
        _autoerr_ struct berth_error *e = NULL;
        int rc = 0, sig;

        if (!berth_cmd_args(&kill_spec, argc, argv, &a, &rc))
                return rc;
        if (signal_flag(a.values[0], SIGKILL, &sig, &e) < 0)
                rc = berth_print_error(e);
        else
                rc = berth_each(g, a.pos, a.n_pos, kill_one, &sig);
        berth_args_clear(&a);
        return rc;
}

static int wait_one(struct berth_global *g, const char *what, int *ret_code,
                    struct berth_error **err)
{
        _cleanup_(berth_ctr_freep) struct berth_ctr *c = NULL;
        struct berth_store *s;
        int r = lookup(g, what, &s, &c, err);

        if (r >= 0)
                r = berth_ctr_wait(s, &c, g->runroot, err);
        if (r >= 0)
                *ret_code = c->exit_code;
        return r;
}

static int cmd_wait(struct berth_global *g, int argc, char **argv)
{
        struct berth_args a = {0};
        int rc = 0, code;

        if (!berth_cmd_args(&wait_spec, argc, argv, &a, &rc))
                return rc;
        for (int i = 0; i < a.n_pos; i++) {
                _autoerr_ struct berth_error *e = NULL;

                if (wait_one(g, a.pos[i], &code, &e) < 0)
                        rc = berth_print_failure(e);
                else
                        printf("%d\n", code);
                fflush(stdout);
        }
        berth_args_clear(&a);
        return rc;
}

const struct berth_cmd berth_cmd_stop = {"stop", "Stop one or more running containers", cmd_stop};
const struct berth_cmd berth_cmd_kill = {"kill", "Kill one or more running containers", cmd_kill};
const struct berth_cmd berth_cmd_wait = {
    "wait", "Block until one or more containers stop, then print their exit codes", cmd_wait};
