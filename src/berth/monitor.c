/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-monitor ROOT RUNROOT ID: the monitor of one detached container (engine-monitor.h),
 * started by `berth run -d` with its report pipe on fd 3. Its own warnings go to
 * ROOT/containers/ID/monitor.log: it has no terminal, and the container's log is the
 * container's.
 */
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "engine/engine-monitor.h"

static int log_fd = -1;

static void log_handler(enum berth_log_level level, const char *msg, void *userdata)
{
        _autofree_ char *line = NULL, *now = berth_rfc3339_now();

        if (log_fd < 0 || level > BERTH_LOG_WARN)
                return;
        line = xasprintf("%s berth-monitor[%d]: %s%s\n", now, (int) getpid(),
                         level == BERTH_LOG_ERROR ? "error: " : "", msg);
        (void) !write(log_fd, line, strlen(line));
}

int main(int argc, char **argv)
{
        _autofree_ char *log = NULL;

        if (argc != 4) {
                fprintf(stderr, "usage: berth-monitor ROOT RUNROOT ID (started by berth run -d)\n");
                return 2;
        }
        log = xasprintf("%s/containers/%s/monitor.log", argv[1], argv[3]);
        log_fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        berth_log_set_handler(log_handler, NULL);
        return berth_monitor_main(argv, argv[1], argv[2], argv[3], 3);
}
