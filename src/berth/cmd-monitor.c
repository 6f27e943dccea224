/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth run as berth-monitor: the start and the end of a detached container's monitor
 * (berth-monitor.h, engine/engine-monitor.h). Between them the process is the small
 * berth-monitor binary (monitor.c).
 */
#include <errno.h>
#include <fcntl.h>
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
                        *client = xasprintf("%d", w->client_fd),
                        *health = w->health.interval_ms
                                      ? xasprintf("%llu,%llu,%llu",
                                                  (unsigned long long) w->health.interval_ms,
                                                  (unsigned long long) w->health.start_period_ms,
                                                  (unsigned long long) w->health.start_interval_ms)
                                      : xstrdup("-");
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
                        health,
                        NULL};

        execv(monitor, next);
        berth_warn("exec %s: %s; watching the container from here", monitor, strerror(errno));
}

static int stage_start(char **argv);

/* Stage 3, then, when the restart policy says so, stage 1 again in this process (it re-executes
 * itself from the sealed view): nobody reads its report (fd 3 is /dev/null: berth_monitor_stage)
 * and no client is attached. */
static int finish_then_restart(char *root, char *runroot, char *id, int status, char *monitor,
                               char *berth)
{
        char *next[] = {"berth-monitor", root, runroot, id, "start", monitor, berth, "-", NULL};
        int r = berth_monitor_finish(root, runroot, id, status);

        if (r != BERTH_MONITOR_RESTART)
                return r < 0;
        return stage_start(next);
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
        /* the small binary could not be run: the same, here */
        char *health[] = {"berth-monitor", argv[MON_ROOT], argv[MON_RUNROOT],  argv[MON_ID],
                          "health",        argv[MON_ARGS], argv[MON_ARGS + 1], NULL};

        w.health_exe = argv[MON_ARGS + 1];
        w.health_argv = health;
        status = berth_watch_run(&w);
        return finish_then_restart(argv[MON_ROOT], argv[MON_RUNROOT], argv[MON_ID], status,
                                   argv[MON_ARGS], argv[MON_ARGS + 1]);
}

/* fd 3 taken by /dev/null before anything else opens a file: if the container is started again
 * from this process, stage 1 reports there (and its log is not fd 3). */
static void fd3_devnull(void)
{
        int fd = open("/dev/null", O_RDWR);

        if (fd >= 0 && fd != 3) {
                dup2(fd, 3);
                close(fd);
        }
}

int berth_monitor_stage(int argc, char **argv)
{
        if (argc < MON_ARGS + 1) {
                fprintf(stderr, "berth-monitor: started by berth run -d, not by hand\n");
                return 2;
        }
        if (getenv("BERTH_TRACE")) /* the CLI's --debug: traced into monitor.log */
                berth_trace_enable(true);
        if (streq(argv[MON_STAGE], "exited"))
                fd3_devnull();
        berth_monitor_log_setup(argv[MON_ROOT], argv[MON_ID]);
        if (streq(argv[MON_STAGE], "start") && argc == MON_ARGS + 3)
                return stage_start(argv);
        if (streq(argv[MON_STAGE], "health") && argc == MON_ARGS + 2)
                return berth_monitor_health(argv);
        if (streq(argv[MON_STAGE], "exited") && argc == MON_ARGS + 3)
                return finish_then_restart(argv[MON_ROOT], argv[MON_RUNROOT], argv[MON_ID],
                                           atoi(argv[MON_ARGS]), argv[MON_ARGS + 1],
                                           argv[MON_ARGS + 2]);
        fprintf(stderr, "berth-monitor: unknown stage %s\n", argv[MON_STAGE]);
        return 2;
}
