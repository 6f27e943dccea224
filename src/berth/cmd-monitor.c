/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth run as berth-monitor: the start and the end of a detached container's monitor
 * (berth-monitor.h, engine/engine-monitor.h). Between them the process is the small
 * berth-monitor binary (monitor.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "berth-monitor.h"
#include "base/log.h"
#include "base/util.h"
#include "engine/engine-monitor.h"

static void exec_watcher(char **argv, const struct berth_watch *w)
{
        _autofree_ char *pid = xasprintf("%d", (int) w->pid), *out = xasprintf("%d", w->out_fd),
                        *err = xasprintf("%d", w->err_fd),
                        *size = xasprintf("%llu", (unsigned long long) w->log_max_size),
                        *files = xasprintf("%u", w->log_max_file), *driver = xstrdup(w->log_driver),
                        *in = xasprintf("%d", w->in_fd), *listen = xasprintf("%d", w->listen_fd),
                        *client = xasprintf("%d", w->client_fd);
        char *monitor = argv[MON_ARGS], *berth = argv[MON_ARGS + 1];
        char *next[] = {"berth-monitor",
                        argv[MON_ROOT],
                        argv[MON_RUNROOT],
                        argv[MON_ID],
                        "watch",
                        monitor,
                        berth,
                        pid,
                        out,
                        err,
                        driver,
                        size,
                        files,
                        w->tty ? "1" : "0",
                        in,
                        listen,
                        client,
                        NULL};

        execv(monitor, next);
        berth_warn("exec %s: %s; watching the container from here", monitor, strerror(errno));
}

static int stage_start(char **argv)
{
        struct berth_watch w;
        int status;

        int client = streq(argv[MON_ARGS + 2], "-") ? -1 : atoi(argv[MON_ARGS + 2]);

        if (berth_monitor_start(argv, argv[MON_ROOT], argv[MON_RUNROOT], argv[MON_ID], 3, client,
                                &w) < 0)
                return 1;
        exec_watcher(argv, &w);
        status = berth_watch_run(&w); /* the small binary could not be run: the same, here */
        return berth_monitor_finish(argv[MON_ROOT], argv[MON_RUNROOT], argv[MON_ID], status) < 0;
}

int berth_monitor_stage(int argc, char **argv)
{
        if (argc < MON_ARGS + 1) {
                fprintf(stderr, "berth-monitor: started by berth run -d, not by hand\n");
                return 2;
        }
        berth_monitor_log_setup(argv[MON_ROOT], argv[MON_ID]);
        if (streq(argv[MON_STAGE], "start") && argc == MON_ARGS + 3)
                return stage_start(argv);
        if (streq(argv[MON_STAGE], "exited") && argc == MON_ARGS + 3)
                return berth_monitor_finish(argv[MON_ROOT], argv[MON_RUNROOT], argv[MON_ID],
                                            atoi(argv[MON_ARGS])) < 0;
        fprintf(stderr, "berth-monitor: unknown stage %s\n", argv[MON_STAGE]);
        return 2;
}
