/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-monitor ROOT RUNROOT ID health MONITOR BERTH (berth-monitor.h): one healthcheck of a
 * detached container (engine/engine-health.h), run by its watcher as a child; then podman's
 * --health-on-failure when the check made it unhealthy.
 */
#include <spawn.h>
#include <stdlib.h>
#include <unistd.h>

#include "berth-monitor.h"
#include "base/log.h"
#include "base/util.h"
#include "engine/engine-health.h"
#include "engine/engine-watch.h"
#include "engine/engine.h"
#include "runtime/selfexe.h"
#include "runtime/state.h"

/* A failure of the stage itself (logged): the watcher's timer goes on. */
#define EXIT_FAILED 10

/* stop and restart: berth's own commands, `berth --root ROOT --runroot RUNROOT CMD ID`, in a
 * session of their own: they outlive this stage, whose process group the watcher kills at the
 * container's end (and `restart` starts a new monitor once this one has recorded the end). */
static void run_cli(char **argv, const char *root, char *cmd)
{
        char *cli[] = {"berth",
                       (char *) (uintptr_t) "--root",
                       (char *) (uintptr_t) root,
                       "--runroot",
                       argv[MON_RUNROOT],
                       cmd,
                       argv[MON_ID],
                       NULL};
        posix_spawnattr_t attr;
        pid_t pid;
        int r;

        posix_spawnattr_init(&attr);
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID);
        r = posix_spawn(&pid, argv[MON_ARGS + 1], NULL, &attr, cli, environ);
        posix_spawnattr_destroy(&attr);
        if (r != 0)
                berth_warn("--health-on-failure: run %s %s: %s", argv[MON_ARGS + 1], cmd,
                           strerror(r));
}

static void on_failure(char **argv, const char *root, struct berth_ctr *c)
{
        _autoerr_ struct berth_error *e = NULL;
        char stop[] = "stop", restart[] = "restart";

        berth_warn("container %.12s is unhealthy: --health-on-failure=%s", c->id,
                   c->health_on_failure);
        if (streq(c->health_on_failure, "kill")) {
                if (berth_ctr_health_kill(c, argv[MON_RUNROOT], &e) < 0)
                        berth_warn("--health-on-failure=kill: %s", e->msg);
        } else if (streq(c->health_on_failure, "stop")) {
                run_cli(argv, root, stop);
        } else if (streq(c->health_on_failure, "restart")) {
                run_cli(argv, root, restart);
        }
}

int berth_monitor_health(char **argv)
{
        _cleanup_(berth_ctr_freep) struct berth_ctr *c = NULL;
        _autoerr_ struct berth_error *e = NULL;
        _autofree_ char *root = realpath(argv[MON_ROOT], NULL), *dir = NULL;
        _autoclose_ int fd = -EBADF;
        bool changed = false;
        int code;

        if (!root)
                root = xstrdup(argv[MON_ROOT]);
        /* the check is an exec into the container: from a sealed view of this binary
         * (runtime/selfexe.h, CVE-2019-5736); the re-exec comes back here */
        if (berth_state_root_open(argv[MON_RUNROOT], &fd, &e) < 0 ||
            berth_exe_seal(argv, argv[MON_RUNROOT], &e) < 0) {
                berth_warn("healthcheck: %s", e->msg);
                return EXIT_FAILED;
        }
        dir = xasprintf("%s/containers/%s", root, argv[MON_ID]);
        code = berth_ctr_health_check(dir, argv[MON_RUNROOT], &c, &changed, &e);
        if (code < 0) {
                berth_warn("healthcheck of container %.12s: %s", argv[MON_ID], e->msg);
                return EXIT_FAILED;
        }
        /* once, as it turns unhealthy (a stop may take its timeout: not one a check) */
        if (code == BERTH_HEALTH_EXIT_UNHEALTHY && changed && c && c->health_on_failure)
                on_failure(argv, root, c);
        return code;
}
