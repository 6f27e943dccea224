/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One healthcheck (engine-health.h), as the monitor's health stage runs it: the check's process
 * through berth exec, its output, its timeout; the result into the record under its lock; the
 * event; --health-on-failure=kill. (The config and the record's fields: engine-health-config.c.)
 */
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

#include "base/duration.h"
#include "base/log.h"
#include "base/syscalls.h"
#include "base/util.h"
#include "engine/ctr-log.h"
#include "engine/engine-events.h"
#include "engine/engine-exec.h"
#include "engine/engine-health.h"
#include "engine/engine-watch.h"
#include "engine/engine.h"
#include "runtime/container.h"

#define _autoctr_ _cleanup_(berth_ctr_freep)

/* berth_ctr_exec's exit code for an exec refused because the container is not running or paused
 * (engine-exec.h): nothing to record. */
#define EXEC_REFUSED 1

/* How long a timed-out check's berth process may take to go once its process is killed. */
#define KILL_WAIT_MS 2000

static const char *status_of(json_t *health)
{
        const char *s = json_string_value(json_object_get(health, "status"));

        return s ? s : "starting";
}

struct result {
        int64_t start_ns, end_ns;
        int exit_code;
        char *output;
        bool skipped; /* the container stopped or was paused meanwhile: nothing to record */
};

struct capture {
        char buf[BERTH_HEALTH_OUTPUT_MAX];
        size_t len;
        bool truncated;
};

static int64_t now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Test's command: CMD's as it is, CMD-SHELL's through /bin/sh -c (docker's default shell). */
static char **check_args(const struct berth_healthcheck *h)
{
        char **v = xcalloc(1, sizeof(char *));
        size_t n = 0;

        if (streq(h->test[0], "CMD-SHELL")) {
                strv_push(&v, &n, xstrdup("/bin/sh"));
                strv_push(&v, &n, xstrdup("-c"));
        }
        for (char *const *t = h->test + 1; *t; t++)
                strv_push(&v, &n, xstrdup(*t));
        return v;
}

/* The check's berth process: the exec (engine-exec.h) with our pipe as its stdout and stderr;
 * its exit code is the process's; a failure to start it is written to msg. */
static void __attribute__((noreturn))
check_child(struct berth_ctr *c, const char *runroot, char *const *args, int out, int msg)
{
        const struct berth_exec_config o = {.args = args};
        struct berth_error *e = NULL;
        int code = 0;

        if (dup2(out, STDOUT_FILENO) < 0 || dup2(out, STDERR_FILENO) < 0) {
                (void) write_all(msg, "dup2 the check's output", 23);
                _exit(125);
        }
        if (berth_ctr_exec(c, runroot, &o, &code, &e) < 0) {
                (void) write_all(msg, e->msg, strlen(e->msg));
                _exit(code);
        }
        _exit(code);
}

/* One read of the output; false at its end. What is past the limit is read and dropped. */
static bool take(struct capture *cap, int fd)
{
        char tmp[BERTH_HEALTH_OUTPUT_MAX];
        ssize_t n = read(fd, tmp, sizeof(tmp));
        size_t keep;

        if (n < 0 && (errno == EINTR || errno == EAGAIN))
                return true;
        if (n <= 0)
                return false;
        keep = sizeof(cap->buf) - cap->len < (size_t) n ? sizeof(cap->buf) - cap->len : (size_t) n;
        memcpy(cap->buf + cap->len, tmp, keep);
        cap->len += keep;
        cap->truncated |= keep < (size_t) n;
        return true;
}

/* What the pipe holds once the check's process has exited (processes it left in the background
 * may hold the pipe open: no waiting for its EOF). */
static void drain(struct capture *cap, int fd)
{
        struct pollfd p = {.fd = fd, .events = POLLIN};

        for (int i = 0; i < 64 && poll(&p, 1, 0) > 0 && (p.revents & POLLIN); i++)
                if (!take(cap, fd))
                        break;
}

/* Until the check's berth process exits (true) or the deadline (false). */
static bool wait_check(struct capture *cap, int out, int pidfd, uint64_t deadline_us)
{
        struct pollfd p[2] = {{.fd = out, .events = POLLIN}, {.fd = pidfd, .events = POLLIN}};

        for (;;) {
                int64_t left = (int64_t) (deadline_us - berth_now_us());
                int r;

                if (left <= 0)
                        return false;
                r = poll(p, 2, (int) ((left + 999) / 1000));
                if (r < 0 && errno != EINTR)
                        return false;
                if (p[0].fd >= 0 && p[0].revents && !take(cap, out))
                        p[0].fd = -1;
                if (p[1].revents & POLLIN) {
                        if (p[0].fd >= 0)
                                drain(cap, out);
                        return true;
                }
        }
}

/* Whether pid's parent is ppid (/proc/PID/stat, after the command's parentheses). */
static bool parent_is(pid_t pid, pid_t ppid)
{
        _autofree_ char *path = xasprintf("/proc/%d/stat", (int) pid), *text = NULL;
        const char *p;
        int parent = 0;

        if (berth_read_file_at(AT_FDCWD, path, 4096, &text, NULL, NULL) < 0)
                return false;
        p = strrchr(text, ')');
        return p && sscanf(p + 1, " %*c %d", &parent) == 1 && parent == (int) ppid;
}

/* The timeout: the check's process (the exec's child, in the container) is killed, as dockerd
 * kills it; then its berth process returns. */
static void kill_check(pid_t child, int pidfd)
{
        _autofree_ char *path = xasprintf("/proc/%d/task/%d/children", (int) child, (int) child),
                        *text = NULL;
        struct pollfd p = {.fd = pidfd, .events = POLLIN};

        if (berth_read_file_at(AT_FDCWD, path, 4096, &text, NULL, NULL) >= 0) {
                for (char *s = text, *end; *s; s = end) {
                        long pid = strtol(s, &end, 10);
                        _autoclose_ int fd = -EBADF;

                        if (end == s)
                                break;
                        fd = sys_pidfd_open((pid_t) pid, 0);
                        /* still its child: the pidfd is the process, not a reused pid */
                        if (fd >= 0 && parent_is((pid_t) pid, child))
                                (void) sys_pidfd_send_signal(fd, SIGKILL, NULL, 0);
                }
        }
        if (poll(&p, 1, KILL_WAIT_MS) <= 0) /* a frozen container: its end comes at the thaw */
                (void) kill(child, SIGKILL);
}

/* Valid UTF-8 for JSON (Go's encoder writes U+FFFD for what is not), NUL as U+FFFD too (a record
 * with \u0000 could not be read back), "..." after output that was cut (docker's). */
static char *output_text(const struct capture *cap)
{
        char *out = xcalloc(cap->len * 3 + 4, 1), *o = out;
        const unsigned char *s = (const unsigned char *) cap->buf, *end = s + cap->len;

        while (s < end) {
                size_t n = *s < 0x80             ? 1
                           : (*s & 0xe0) == 0xc0 ? 2
                           : (*s & 0xf0) == 0xe0 ? 3
                           : (*s & 0xf8) == 0xf0 ? 4
                                                 : 0;
                bool ok = n > 0 && *s != 0 && (size_t) (end - s) >= n && (n != 2 || *s >= 0xc2);

                for (size_t i = 1; ok && i < n; i++)
                        ok = (s[i] & 0xc0) == 0x80;
                if (ok && n == 3)
                        ok = !(s[0] == 0xe0 && s[1] < 0xa0) && !(s[0] == 0xed && s[1] >= 0xa0);
                if (ok && n == 4)
                        ok = !(s[0] == 0xf0 && s[1] < 0x90) && !(s[0] == 0xf4 && s[1] >= 0x90) &&
                             s[0] <= 0xf4;
                if (!ok) {
                        memcpy(o, "\xef\xbf\xbd", 3);
                        o += 3;
                        s++;
                        continue;
                }
                memcpy(o, s, n);
                o += n;
                s += n;
        }
        if (cap->truncated)
                strcpy(o, "...");
        return out;
}

static int result_set(struct result *res, int code, char *output)
{
        res->end_ns = now_ns();
        res->exit_code = code;
        res->output = output;
        return 0;
}

/* The check's process and its result: exit code and output, or -1 and the timeout's message or
 * the failure to start it. */
static int probe(struct berth_ctr *c, const char *runroot, struct result *res)
{
        const struct berth_healthcheck *h = c->healthcheck;
        int64_t timeout = h->timeout > 0 ? h->timeout : BERTH_HEALTH_TIMEOUT_NS;
        _autostrv_ char **args = check_args(h);
        _autoclose_ int out_r = -EBADF, out_w = -EBADF, msg_r = -EBADF, msg_w = -EBADF,
                        pidfd = -EBADF;
        _autofree_ struct capture *cap = xcalloc(1, sizeof(*cap));
        _autofree_ char *msg = NULL;
        int fds[4], st = 0;
        pid_t pid;

        res->start_ns = now_ns();
        if (!args[0])
                return result_set(res, -1, xstrdup("No exec command specified"));
        if (pipe2(fds, O_CLOEXEC) < 0 || pipe2(fds + 2, O_CLOEXEC) < 0)
                return result_set(res, -1, xasprintf("pipe for the check: %s", strerror(errno)));
        out_r = fds[0], out_w = fds[1], msg_r = fds[2], msg_w = fds[3];
        pid = fork();
        if (pid < 0)
                return result_set(res, -1, xasprintf("fork the check: %s", strerror(errno)));
        if (pid == 0)
                check_child(c, runroot, args, out_w, msg_w);
        closep(&out_w);
        closep(&msg_w);
        pidfd = sys_pidfd_open(pid, 0);
        if (pidfd < 0 ||
            !wait_check(cap, out_r, pidfd, berth_now_us() + (uint64_t) timeout / 1000)) {
                _autofree_ char *d = berth_duration_format(timeout);

                kill_check(pid, pidfd);
                while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                        ;
                return result_set(res, -1, xasprintf("Health check exceeded timeout (%s)", d));
        }
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
        (void) berth_read_fd(msg_r, "the check's report", 65536, &msg, NULL, NULL);
        if (msg && *msg) {
                res->skipped = WIFEXITED(st) && WEXITSTATUS(st) == EXEC_REFUSED;
                return result_set(res, -1, steal_ptr(&msg));
        }
        return result_set(res, WIFEXITED(st) ? WEXITSTATUS(st) : -1, output_text(cap));
}

/* Whether the check that started at start_ns did so within c's start period. */
static bool in_start_period(const struct berth_ctr *c, int64_t start_ns)
{
        int64_t started;

        if (c->healthcheck->start_period <= 0 || !c->started_at ||
            berth_log_parse_time(c->started_at, strlen(c->started_at), &started) < 0)
                return false;
        return start_ns - started < c->healthcheck->start_period;
}

/* Go's RFC3339Nano in UTC: the fraction without its trailing zeros. */
static json_t *time_json(int64_t ns)
{
        char buf[BERTH_LOG_TIME_SIZE];
        size_t n = berth_log_format_time(ns, buf);

        while (n > 0 && buf[n - 2] == '0') /* "...05.120000000Z" -> "...05.12Z" */
                memmove(buf + n - 2, buf + n - 1, 2), n--;
        if (buf[n - 2] == '.')
                memmove(buf + n - 2, buf + n - 1, 2), n--;
        return json_stringn(buf, n);
}

/* docker's handleProbeResult on the record's health: the log's last 5, the streak, the status. */
static void add_result(struct berth_ctr *c, const struct result *res)
{
        int retries = c->healthcheck->retries > 0 ? c->healthcheck->retries : BERTH_HEALTH_RETRIES;
        json_t *log;
        const char *status;
        int64_t streak;

        if (!json_is_object(c->health))
                berth_ctr_health_reset(c);
        log = json_object_get(c->health, "log");
        if (!json_is_array(log)) {
                log = json_array();
                json_object_set_new(c->health, "log", log);
        }
        json_array_append_new(log,
                              json_pack("{s:o, s:o, s:i, s:s}", "Start", time_json(res->start_ns),
                                        "End", time_json(res->end_ns), "ExitCode", res->exit_code,
                                        "Output", res->output ? res->output : ""));
        while (json_array_size(log) > BERTH_HEALTH_LOG_MAX)
                json_array_remove(log, 0);
        status = status_of(c->health);
        streak = json_integer_value(json_object_get(c->health, "failingStreak"));
        if (res->exit_code == 0) {
                streak = 0;
                status = "healthy";
        } else if (!streq(status, "starting") || !in_start_period(c, res->start_ns)) {
                if (++streak >= retries)
                        status = "unhealthy";
        }
        json_object_set_new(c->health, "status", json_string(status));
        json_object_set_new(c->health, "failingStreak", json_integer(streak));
}

/* The result into the record as it is now, under berth_ctr_lock (other writers' fields kept);
 * *c becomes that record. 0: recorded (*ret_old: the status before), 1: the container is no
 * longer the run that was checked (nothing written). */
static int record(struct berth_ctr **c, const struct result *res, char **ret_old,
                  struct berth_error **err)
{
        _autoclose_ int lock = -EBADF;
        _autoctr_ struct berth_ctr *now = NULL;
        int r;

        r = berth_ctr_lock(*c, &lock, err);
        if (r >= 0)
                r = berth_ctr_reload(*c, &now, err);
        if (r == -ENOENT)
                return 1;
        if (r < 0)
                return r;
        if (!streq_ptr(now->status, "running") || !streq_ptr(now->started_at, (*c)->started_at))
                return 1;
        *ret_old = xstrdup(status_of(now->health));
        add_result(now, res);
        r = berth_ctr_save(now, err);
        if (r < 0)
                return r;
        berth_ctr_free(*c);
        *c = steal_ptr(&now);
        return 0;
}

static int exit_of(const char *status)
{
        if (streq(status, "healthy"))
                return BERTH_HEALTH_EXIT_HEALTHY;
        if (streq(status, "unhealthy"))
                return BERTH_HEALTH_EXIT_UNHEALTHY;
        return BERTH_HEALTH_EXIT_STARTING;
}

int berth_ctr_health_check(const char *dir, const char *runroot, struct berth_ctr **ret,
                           bool *ret_changed, struct berth_error **err)
{
        _autofree_ char *d = xstrdup(dir), *old = NULL, *action = NULL;
        struct berth_ctr stub = {.dir = d};
        _autoctr_ struct berth_ctr *c = NULL;
        struct result res = {0};
        const char *now;
        int r;

        r = berth_ctr_reload(&stub, &c, err);
        if (r < 0)
                return r;
        if (!berth_ctr_has_healthcheck(c))
                return BERTH_HEALTH_EXIT_NONE;
        berth_ctr_refresh(c, runroot);
        if (!streq_ptr(c->status, "running") || c->paused)
                return BERTH_HEALTH_EXIT_SKIPPED; /* docker: no checks while paused */
        (void) probe(c, runroot, &res);
        r = res.skipped ? 1 : record(&c, &res, &old, err);
        free(res.output);
        if (r < 0)
                return r;
        if (r > 0)
                return BERTH_HEALTH_EXIT_SKIPPED;
        now = status_of(c->health);
        *ret_changed = !streq(old, now);
        if (*ret_changed) {
                action = xasprintf("health_status: %s", now);
                berth_event_emit(NULL, action, c, NULL);
        }
        r = exit_of(now);
        *ret = steal_ptr(&c);
        return r;
}

int berth_ctr_health_kill(struct berth_ctr *c, const char *runroot, struct berth_error **err)
{
        _autocontainer_ struct berth_container *lc = NULL;
        int r;

        r = berth_container_load(runroot, c->id, &lc, err);
        if (r < 0)
                return r;
        /* first: the watcher ends this stage as soon as the container is gone */
        berth_event_emit(NULL, "kill", c, (const char *const[]){"signal", "9", NULL});
        return berth_container_kill(lc, SIGKILL, false, err);
}
