/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What starting a container under its monitor takes, for run -d, start and the monitor's
 * restarts (engine-launch.h): the monitor spawned and its report read, the start lock, the
 * restart policy's syntax, and the marks stop/kill/restart leave in the record.
 */
#include <fcntl.h>
#include <limits.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "base/log.h"
#include "base/util.h"
#include "engine/engine-launch.h"
#include "engine/engine.h"

#define _autoctr_ _cleanup_(berth_ctr_freep)

/* ---- the policy ---------------------------------------------------------------------------- */

int berth_restart_policy_parse(const char *s, char **ret_name, int *ret_max,
                               struct berth_error **err)
{
        _autofree_ char *name = xstrdup(s ? s : "");
        char *colon = strchr(name, ':');
        int64_t max = 0;

        if (colon) {
                *colon++ = '\0';
                if (!*name)
                        return berth_error_setx(err, EINVAL,
                                                "invalid restart policy format: no policy provided "
                                                "before colon");
                if (*colon && (parse_i64(colon, &max) < 0 || max > INT_MAX || max < INT_MIN))
                        return berth_error_setx(err, EINVAL,
                                                "invalid restart policy format: maximum retry "
                                                "count must be an integer");
        }
        if (!*name) {
                free(name);
                name = xstrdup("no");
        }
        if (!streq(name, "no") && !streq(name, "always") && !streq(name, "unless-stopped") &&
            !streq(name, "on-failure"))
                return berth_error_setx(err, EINVAL,
                                        "invalid restart policy: unknown policy '%s'; use one of "
                                        "'no', 'always', 'on-failure', or 'unless-stopped'",
                                        name);
        if (!streq(name, "on-failure") && max != 0)
                return berth_error_setx(err, EINVAL,
                                        "invalid restart policy: maximum retry count can only be "
                                        "used with 'on-failure'%s",
                                        max < 0 ? " and cannot be negative" : "");
        if (max < 0)
                return berth_error_setx(err, EINVAL,
                                        "invalid restart policy: maximum retry count cannot be "
                                        "negative");
        *ret_name = steal_ptr(&name);
        *ret_max = (int) max;
        return 0;
}

bool berth_ctr_has_restart_policy(const struct berth_ctr *c)
{
        return c->restart_policy && *c->restart_policy && !streq(c->restart_policy, "no");
}

/* ---- marks set by the user's commands -------------------------------------------------------- */

/* Re-reads the record and sets the marks under berth_ctr_lock: the monitor's writes of the
 * record, under the same lock, keep them. */
static void mark(struct berth_ctr *c, bool stopped, bool restarted)
{
        _autoctr_ struct berth_ctr *now = NULL;
        _autoclose_ int lock = -EBADF;

        if (berth_ctr_lock(c, &lock, NULL) < 0 || berth_ctr_reload(c, &now, NULL) < 0)
                return;
        now->stopped_by_user |= stopped;
        now->restarted_by_user |= restarted;
        if (berth_ctr_save(now, NULL) < 0)
                return;
        c->stopped_by_user = now->stopped_by_user;
        c->restarted_by_user = now->restarted_by_user;
}

void berth_ctr_mark_stopped(struct berth_ctr *c)
{
        if (berth_ctr_has_restart_policy(c) && !c->stopped_by_user)
                mark(c, true, false);
}

void berth_ctr_mark_restarted(struct berth_ctr *c)
{
        if (c->auto_remove)
                mark(c, false, true);
}

/* ---- the monitor ----------------------------------------------------------------------------- */

/* The monitor, in a session of its own and not our child (double fork): it must outlive us and
 * no terminal signal of ours may reach it. Its first stage is this binary run as berth-monitor
 * (engine-monitor.h); its report comes on fd 3, a client attached from the start on fd 4;
 * stdio /dev/null. */
static pid_t spawn_monitor(const struct berth_monitor_launch *l, int report_fd,
                           struct berth_error **err)
{
        _autofree_ char *self = realpath("/proc/self/exe", NULL), *root = xstrdup(l->root),
                        *runroot = xstrdup(l->runroot), *id = xstrdup(l->id),
                        *monitor = xstrdup(l->monitor);
        char *argv[] = {"berth-monitor",
                        root,
                        runroot,
                        id,
                        "start",
                        monitor,
                        self,
                        l->client_fd >= 0 ? "4" : "-",
                        NULL};
        pid_t pid;
        int null;

        if (!self)
                return berth_error_set(err, errno, "find this binary (/proc/self/exe)");
        pid = fork();
        if (pid != 0)
                return pid > 0 ? pid : berth_error_set(err, errno, "fork the monitor");
        if (setsid() < 0 || fork() != 0)
                _exit(0);
        null = open("/dev/null", O_RDWR);
        if (null < 0 || dup2(report_fd, 3) < 0 ||
            (l->client_fd >= 0 && dup2(l->client_fd, 4) < 0) || dup2(null, 0) < 0 ||
            dup2(null, 1) < 0 || dup2(null, 2) < 0)
                _exit(127);
        berth_close_fds_from(l->client_fd >= 0 ? 5 : 4, NULL, 0);
        execv(self, argv);
        _exit(127);
}

/* The monitor's report: "0 PID" (the program runs) or "CODE MESSAGE". */
static int read_report(int fd, int *ret_code, char **ret_msg)
{
        _autofree_ char *text = NULL;
        char *end = NULL;
        long code;

        if (berth_read_fd(fd, "the monitor's report", 65536, &text, NULL, NULL) < 0 || !*text)
                return -EPIPE;
        code = strtol(text, &end, 10);
        if (end == text || *end != ' ')
                return -EBADMSG;
        text[strcspn(text, "\n")] = '\0';
        *ret_code = (int) code;
        *ret_msg = xstrdup(end + 1);
        return 0;
}

/* --debug: the monitor traces its start stage into monitor.log (BERTH_TRACE, inherited); what
 * it wrote there from offset on comes to our log, so that run -d's trace shows the whole start. */
static void relay_trace(const struct berth_monitor_launch *l, off_t offset)
{
        _autofree_ char *path = xasprintf("%s/containers/%s/monitor.log", l->root, l->id),
                        *text = NULL;
        _autoclose_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

        if (fd < 0 || lseek(fd, offset, SEEK_SET) < 0 ||
            berth_read_fd(fd, path, 0, &text, NULL, NULL) < 0)
                return;
        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
                berth_log(BERTH_LOG_DEBUG, "monitor: %s", line);
}

static off_t log_size(const struct berth_monitor_launch *l)
{
        _autofree_ char *path = xasprintf("%s/containers/%s/monitor.log", l->root, l->id);
        struct stat st;

        return stat(path, &st) == 0 ? st.st_size : 0;
}

int berth_monitor_launch(const struct berth_monitor_launch *l, int *ret_code,
                         struct berth_error **err)
{
        _autoclose_ int rd = -EBADF, wr = -EBADF;
        _autofree_ char *msg = NULL;
        off_t traced = berth_trace_on ? log_size(l) : 0;
        int p[2], code = 0, r;
        pid_t pid;

        if (pipe2(p, O_CLOEXEC) < 0)
                return berth_error_set(err, errno, "pipe for the monitor's report");
        rd = p[0];
        wr = p[1];
        if (berth_trace_on)
                setenv("BERTH_TRACE", "1", 1);
        pid = spawn_monitor(l, wr, err);
        if (pid < 0)
                return (int) pid;
        closep(&wr);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        r = read_report(rd, &code, &msg);
        if (berth_trace_on) /* all of the start stage's trace is there once it has reported */
                relay_trace(l, traced);
        if (r < 0)
                return berth_error_setx(err, EPIPE,
                                        "the monitor exited without starting the container (see "
                                        "%s/containers/%s/monitor.log)",
                                        l->root, l->id);
        if (code != 0)
                berth_error_setx(err, EIO, "%s", msg);
        *ret_code = code;
        return 0;
}

/* ---- the start lock ----------------------------------------------------------------------- */

/* <dir>/start.lock, held by whoever starts the container (run until the program runs, start):
 * a second start waits and finds it running; stop and wait tell a container being started from
 * one that was only created. */
int berth_ctr_start_lock(const struct berth_ctr *c, int *ret_fd, struct berth_error **err)
{
        _autofree_ char *path = xasprintf("%s/start.lock", c->dir);
        int r = berth_lock_file_at(AT_FDCWD, path, LOCK_EX, ret_fd, err);

        if (r == -ENOENT)
                return berth_error_setx(err, ENOENT, "No such container: %s", c->name);
        return r;
}

bool berth_ctr_starting(const struct berth_ctr *c)
{
        _autofree_ char *path = xasprintf("%s/start.lock", c->dir);
        _autoclose_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

        return streq_ptr(c->status, "created") && fd >= 0 && flock(fd, LOCK_SH | LOCK_NB) < 0 &&
               errno == EWOULDBLOCK;
}
