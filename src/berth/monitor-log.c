/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The monitor's own warnings (every stage: berth-monitor.h): to ROOT/containers/ID/monitor.log,
 * one line each with the time and the pid; it has no terminal, and the container's log is the
 * container's.
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "berth-monitor.h"
#include "base/log.h"
#include "base/util.h"

static int log_fd = -1;

static void log_handler(enum berth_log_level level, const char *msg, void *userdata)
{
        _autofree_ char *line = NULL, *now = berth_rfc3339_now();

        if (log_fd < 0 || (level > BERTH_LOG_WARN && !berth_trace_on))
                return;
        line = xasprintf("%s berth-monitor[%d]: %s%s\n", now, (int) getpid(),
                         level == BERTH_LOG_ERROR ? "error: " : "", msg);
        (void) !write(log_fd, line, strlen(line));
}

void berth_monitor_log_setup(const char *root, const char *id)
{
        _autofree_ char *path = xasprintf("%s/containers/%s/monitor.log", root, id);

        if (log_fd < 0)
                log_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        berth_log_set_handler(log_handler, NULL);
}
