/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-monitor ROOT RUNROOT ID watch MONITOR BERTH PID OUT ERR DRIVER ... (berth-monitor.h): the
 * monitor of one detached container while it runs (berth-monitor.h, engine/engine-watch.h), a
 * small static binary; at the container's end it execs `berth` to record it.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "berth-monitor.h"
#include "base/log.h"
#include "base/util.h"
#include "engine/engine-watch.h"

enum {
        W_MONITOR = MON_ARGS,
        W_BERTH,
        W_PID,
        W_OUT,
        W_ERR,
        W_DRIVER,
        W_MAXSIZE,
        W_MAXFILE,
        W_TTY,
        W_IN,
        W_LISTEN,
        W_CLIENT,
        W_HEALTH,
        W_N
};

/* HEALTH: "INTERVAL_MS,START_PERIOD_MS,START_INTERVAL_MS" (engine-watch.h), "-": none. */
static void health_timer(const char *arg, struct berth_watch_health *ret)
{
        uint64_t v[3] = {0};
        const char *p = arg;
        char *end;

        for (int i = 0; i < 3; i++, p = end + 1) {
                v[i] = strtoull(p, &end, 10);
                if (end == p || *end != (i < 2 ? ',' : '\0')) {
                        *ret = (struct berth_watch_health){0};
                        return;
                }
        }
        *ret = (struct berth_watch_health){
            .interval_ms = v[0], .start_period_ms = v[1], .start_interval_ms = v[2]};
}

int main(int argc, char **argv)
{
        struct berth_watch w;
        _autofree_ char *dir = NULL, *status = NULL;

        if (argc != W_N || !streq(argv[MON_STAGE], "watch")) {
                fprintf(stderr, "berth-monitor: started by berth run -d, not by hand\n");
                return 2;
        }
        /* the health stage's argv (berth-monitor.h) */
        char *health[] = {"berth-monitor", argv[MON_ROOT],  argv[MON_RUNROOT], argv[MON_ID],
                          "health",        argv[W_MONITOR], argv[W_BERTH],     NULL};

        berth_monitor_log_setup(argv[MON_ROOT], argv[MON_ID]);
        dir = xasprintf("%s/containers/%s", argv[MON_ROOT], argv[MON_ID]);
        w = (struct berth_watch){
            .dir = dir,
            .log_driver = argv[W_DRIVER],
            .log_max_size = strtoull(argv[W_MAXSIZE], NULL, 10),
            .log_max_file = (unsigned) strtoul(argv[W_MAXFILE], NULL, 10),
            .pid = (pid_t) atoi(argv[W_PID]),
            .out_fd = atoi(argv[W_OUT]),
            .err_fd = atoi(argv[W_ERR]),
            .tty = streq(argv[W_TTY], "1"),
            .in_fd = atoi(argv[W_IN]),
            .listen_fd = atoi(argv[W_LISTEN]),
            .client_fd = atoi(argv[W_CLIENT]),
            .health_exe = argv[W_BERTH],
            .health_argv = health,
        };
        health_timer(argv[W_HEALTH], &w.health);
        /* none of them goes further than this process */
        for (int i = W_OUT; i < W_N; i++)
                if (i != W_DRIVER && i != W_MAXSIZE && i != W_MAXFILE && i != W_TTY &&
                    i != W_HEALTH && atoi(argv[i]) >= 0)
                        fcntl(atoi(argv[i]), F_SETFD, FD_CLOEXEC);
        status = xasprintf("%d", berth_watch_run(&w));
        if (w.out_fd >= 0)
                close(w.out_fd);
        if (w.err_fd >= 0)
                close(w.err_fd);
        char *next[] = {"berth-monitor", argv[MON_ROOT],  argv[MON_RUNROOT], argv[MON_ID], "exited",
                        status,          argv[W_MONITOR], argv[W_BERTH],     NULL};
        execv(argv[W_BERTH], next);
        berth_warn("exec %s to record the end of the container: %s", argv[W_BERTH],
                   strerror(errno));
        return 1;
}
