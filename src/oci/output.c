/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The log destination of berth-oci. libberth calls our handler for warnings and debug traces;
 * the container's init and exec children send theirs to us over the handshake (sync.c), so
 * every record of a command, the init's included, is written here, in one format, to one place.
 * Each record is formatted into one buffer and written with one write(2) to a dedicated
 * close-on-exec fd, never through stdio.
 *
 * What runc 1.1 writes is the reference (logrus, logrec.h):
 *   - with --log FILE, every record goes to FILE as runc's record (text or json), and a failed
 *     command's error is also printed on stderr (runc prints it there too);
 *   - without --log, stderr is the log: with --log-format json every record is JSON; in text,
 *     debug records are runc's (`time="..." level=debug msg="..."`, which scripts grep for), while
 *     errors and warnings stay berth-oci's lines `berth-oci: MSG`, `berth-oci: warning: MSG`:
 *     people read those, and no client parses their envelope (containerd and podman read the
 *     --log file's JSON records, which are runc's).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include "base/log.h"
#include "logrec.h"
#include "oci.h"
#include "base/util.h"

/* A high fd keeps the log out of the range that --preserve-fds hands to the container. */
#define LOG_FD_MIN 100
/* The --log fd kept open across the re-exec from the sealed binary (oci_log_keep_across_exec). */
#define LOG_FD_ENV "_BERTH_OCI_LOG_FD"

static int log_fd = -EBADF;
static bool log_json;
static bool log_to_file;
static int inherited_fd = -EBADF;

/* logrus's level names */
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

/* One runc record; a message too long for the stack buffer is formatted on the heap, so that an
 * error arrives whole, as one record (containerd reads the last one). */
static void write_record(int fd, bool json, enum berth_log_level level, const char *msg)
{
        _autofree_ char *big = NULL;
        char stamp[40], buf[8192];
        const char *out = buf;
        size_t n;

        oci_logrec_time(time(NULL), stamp, sizeof(stamp));
        n = oci_logrec_format(json, level_name(level), msg, stamp, buf, sizeof(buf));
        if (n >= sizeof(buf)) {
                big = malloc(n + 1);
                if (big) {
                        oci_logrec_format(json, level_name(level), msg, stamp, big, n + 1);
                        out = big;
                } else {
                        n = sizeof(buf) - 1;
                        buf[n - 1] = '\n'; /* cut, but still one line */
                }
        }
        (void) write_all(fd, out, n);
}

/* "berth-oci: MSG" or "berth-oci: warning: MSG" */
static void write_line(int fd, enum berth_log_level level, const char *msg)
{
        const char *prefix = level == BERTH_LOG_WARN ? OCI_PROG ": warning: " : OCI_PROG ": ";
        _autofree_ char *line = NULL;

        if (asprintf(&line, "%s%s\n", prefix, msg) < 0) {
                (void) !(write_all(fd, prefix, strlen(prefix)) < 0 ||
                         write_all(fd, msg, strlen(msg)) < 0 || write_all(fd, "\n", 1) < 0);
                return;
        }
        (void) write_all(fd, line, strlen(line));
}

static void write_entry(enum berth_log_level level, const char *msg)
{
        if (log_json || log_to_file || level >= BERTH_LOG_INFO)
                write_record(log_fd, log_json, level, msg);
        else
                write_line(log_fd, level, msg);
}

static void log_handler(enum berth_log_level level, const char *msg, void *userdata)
{
        int saved = errno;

        write_entry(level, msg);
        errno = saved;
}

/* The --log fd of the process that re-executed us, if $_BERTH_OCI_LOG_FD names one; the variable
 * is removed at once, so nothing we start inherits it. */
static void take_inherited_fd(void)
{
        const char *v = getenv(LOG_FD_ENV);
        uint64_t fd;

        if (!v)
                return;
        if (parse_u64(v, &fd) >= 0 && fd >= 3 && fd <= INT32_MAX)
                inherited_fd = (int) fd;
        unsetenv(LOG_FD_ENV);
}

/* The inherited fd, when it is the file path names (same device and inode), close-on-exec again. */
static int adopt_inherited_fd(const char *path)
{
        struct stat a, b;
        int fd = inherited_fd;

        inherited_fd = -EBADF;
        if (fd < 0 || fstat(fd, &a) < 0 || stat(path, &b) < 0 || a.st_dev != b.st_dev ||
            a.st_ino != b.st_ino || fcntl(fd, F_SETFD, FD_CLOEXEC) < 0)
                return -EBADF;
        return fd;
}

static int open_dest(const char *path, int *ret_fd, struct berth_error **err)
{
        _autoclose_ int fd = -EBADF;
        int high;

        if (path) {
                fd = adopt_inherited_fd(path);
                if (fd >= 0) {
                        *ret_fd = steal_fd(&fd);
                        return 0;
                }
                fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);
        } else {
                fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
        }
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
        static bool first = true;
        int fd = -EBADF, r;

        if (first) {
                first = false;
                take_inherited_fd();
                tzset(); /* the records' local time, read once before anything is cloned */
        }
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

void oci_log_keep_across_exec(bool keep)
{
        char num[16];

        if (!log_to_file || log_fd < 0)
                return;
        if (keep && fcntl(log_fd, F_SETFD, 0) >= 0) {
                snprintf(num, sizeof(num), "%d", log_fd);
                setenv(LOG_FD_ENV, num, 1);
                return;
        }
        fcntl(log_fd, F_SETFD, FD_CLOEXEC);
        unsetenv(LOG_FD_ENV);
}

void oci_print_error(const struct berth_error *e)
{
        const char *msg = e && e->msg ? e->msg : "unknown error";

        if (log_fd < 0 || log_to_file)
                write_line(STDERR_FILENO, BERTH_LOG_ERROR, msg);
        if (log_fd >= 0)
                write_entry(BERTH_LOG_ERROR, msg);
}

int oci_print_text(const char *s, struct berth_error **err)
{
        size_t len = strlen(s);

        if (fputs(s, stdout) < 0 || (len > 0 && s[len - 1] != '\n' && putchar('\n') < 0) ||
            fflush(stdout) != 0)
                return berth_error_set(err, errno ? errno : EIO, "write to stdout");
        return 0;
}
