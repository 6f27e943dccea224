/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The log destination of berth-oci. libberth calls our handler for warnings and debug traces,
 * also from the container's init between clone and exec, where stdio may already point at the
 * container's terminal: so every entry is formatted into one buffer and written with a single
 * write(2) to a dedicated close-on-exec fd, never through stdio.
 */
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <time.h>

#include "base/log.h"
#include "oci.h"
#include "base/util.h"

/* A high fd keeps the log out of the range that --preserve-fds hands to the container. */
#define LOG_FD_MIN 100

static int log_fd = -EBADF;
static bool log_json;
static bool log_to_file;

static const char *level_name(enum berth_log_level level)
{
        switch (level) {
        case BERTH_LOG_ERROR:
                return "error";
        case BERTH_LOG_WARN:
                return "warning";
        case BERTH_LOG_INFO:
                return "info";
        default:
                return "debug";
        }
}

/* {"level":"error","msg":"...","time":"2026-11-29T19:50:01Z"}, as runc's logrus writes it. */
static int format_json(enum berth_log_level level, const char *msg, char *buf, size_t size)
{
        char stamp[32] = "";
        struct tm tm;
        time_t now = time(NULL);
        json_t *o;
        size_t n;

        if (gmtime_r(&now, &tm))
                strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
        o = json_pack("{s:s, s:s, s:s}", "level", level_name(level), "msg", msg, "time", stamp);
        if (!o)
                return -1;
        n = json_dumpb(o, buf, size - 1, JSON_COMPACT);
        json_decref(o);
        if (n == 0 || n >= size - 1)
                return -1;
        buf[n++] = '\n';
        return (int) n;
}

static int format_text(enum berth_log_level level, const char *msg, char *buf, size_t size)
{
        int n;

        if (level == BERTH_LOG_ERROR)
                n = snprintf(buf, size, OCI_PROG ": %s\n", msg);
        else if (level == BERTH_LOG_WARN)
                n = snprintf(buf, size, OCI_PROG ": warning: %s\n", msg);
        else
                n = snprintf(buf, size, "%s\n", msg);
        if (n < 0)
                return -1;
        if ((size_t) n >= size) {
                buf[size - 2] = '\n'; /* truncated, but still one line */
                n = (int) size - 1;
        }
        return n;
}

/* jansson refuses invalid UTF-8 (a path in a message may hold any bytes): keep ASCII only. */
static void to_ascii(const char *msg, char *buf, size_t size)
{
        size_t i;

        for (i = 0; msg[i] && i + 1 < size; i++)
                buf[i] = (unsigned char) msg[i] < 0x80 ? msg[i] : '?';
        buf[i] = '\0';
}

static void write_entry(int fd, bool json, enum berth_log_level level, const char *msg)
{
        char buf[6144], ascii[4096];
        int n = json ? format_json(level, msg, buf, sizeof(buf)) : -1;

        if (n < 0 && json) {
                to_ascii(msg, ascii, sizeof(ascii));
                n = format_json(level, ascii, buf, sizeof(buf));
        }
        if (n < 0)
                n = format_text(level, msg, buf, sizeof(buf));
        if (n > 0 && fd >= 0)
                (void) !write(fd, buf, (size_t) n);
}

static void log_handler(enum berth_log_level level, const char *msg, void *userdata)
{
        int saved = errno;

        write_entry(log_fd, log_json, level, msg);
        errno = saved;
}

static int open_dest(const char *path, int *ret_fd, struct berth_error **err)
{
        _autoclose_ int fd = -EBADF;
        int high;

        if (path)
                fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
        else
                fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
        if (fd < 0)
                return berth_error_set(err, errno, "open log %s", path ? path : "stderr");
        high = fcntl(fd, F_DUPFD_CLOEXEC, LOG_FD_MIN);
        if (high >= 0) {
                closep(&fd);
                fd = high;
        }
        *ret_fd = steal_fd(&fd);
        return 0;
}

int oci_log_setup(const char *path, bool json, struct berth_error **err)
{
        int fd = -EBADF, r;

        r = open_dest(path, &fd, err);
        if (r < 0)
                return r;
        if (log_fd >= 0)
                close(log_fd);
        log_fd = fd;
        log_json = json;
        log_to_file = path != NULL;
        berth_log_set_handler(log_handler, NULL);
        return 0;
}

void oci_print_error(const struct berth_error *e)
{
        const char *msg = e && e->msg ? e->msg : "unknown error";

        if (log_fd < 0 || log_to_file)
                write_entry(STDERR_FILENO, false, BERTH_LOG_ERROR, msg);
        if (log_fd >= 0)
                write_entry(log_fd, log_json, BERTH_LOG_ERROR, msg);
}

int oci_print_text(const char *s, struct berth_error **err)
{
        size_t len = strlen(s);

        if (fputs(s, stdout) < 0 || (len > 0 && s[len - 1] != '\n' && putchar('\n') < 0) ||
            fflush(stdout) != 0)
                return berth_error_set(err, errno ? errno : EIO, "write to stdout");
        return 0;
}
