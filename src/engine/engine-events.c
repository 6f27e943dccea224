/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The engine's event journal (engine-events.h): one JSON line per event appended to
 * <root>/events.log, rotated by rename; read back (and followed) by `berth events`.
 */
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>

#include "base/json.h"
#include "base/log.h"
#include "base/util.h"
#include "engine/engine-events.h"
#include "engine/engine.h"
#include "image/imageref.h"

#define OLD_FILE BERTH_EVENTS_FILE ".1"
#define LOCK_FILE "events.lock"

static int64_t now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- the writer ---------------------------------------------------------------------------- */

/* <root> of <root>/containers/<id>. */
static char *root_of(const struct berth_ctr *c)
{
        char *root = xstrdup(c->dir ? c->dir : "."), *slash;

        for (int i = 0; i < 2 && (slash = strrchr(root, '/')); i++)
                *slash = '\0';
        return root;
}

/* What docker names the image by (what the user gave): the reference the container was made
 * from, familiar and without a ":latest" tag ("busybox"); the image id when made from an id. */
static char *image_of(const struct berth_ctr *c)
{
        char *s;

        if (!c->image_name || startswith(c->image_name, "sha256:"))
                return xstrdup(c->image_name ? c->image_name : c->image ? c->image : "");
        s = berth_ref_familiar(c->image_name);
        if (strlen(s) > 7 && streq(s + strlen(s) - 7, ":latest") && !strchr(s, '@'))
                s[strlen(s) - strlen(":latest")] = '\0';
        return s;
}

static int cmp_key(const void *a, const void *b)
{
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* {"image", "name", attrs...} with its keys sorted, as Go marshals a map. */
static json_t *attributes(const struct berth_ctr *c, const char *image, const char *const *attrs)
{
        size_t n = 0;
        _autofree_ const char **kv = NULL;
        json_t *o = json_object();

        while (attrs && attrs[2 * n] && attrs[2 * n + 1])
                n++;
        kv = xcalloc(2 * (n + 2), sizeof(*kv));
        kv[0] = "image", kv[1] = image;
        kv[2] = "name", kv[3] = c->name ? c->name : "";
        for (size_t i = 0; i < n; i++)
                kv[4 + 2 * i] = attrs[2 * i], kv[5 + 2 * i] = attrs[2 * i + 1];
        qsort(kv, n + 2, 2 * sizeof(*kv), cmp_key);
        for (size_t i = 0; i < n + 2; i++)
                json_object_set_new(o, kv[2 * i], json_string(kv[2 * i + 1]));
        return o;
}

static char *event_line(const char *action, const struct berth_ctr *c, const char *const *attrs)
{
        _autofree_ char *image = image_of(c), *text = NULL;
        int64_t t = now_ns();
        _autojson_ json_t *ev =
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:o}, s:s, s:I, s:I}", "status", action,
                      "id", c->id, "from", image, "Type", "container", "Action", action, "Actor",
                      "ID", c->id, "Attributes", attributes(c, image, attrs), "scope", "local",
                      "time", (json_int_t) (t / 1000000000), "timeNano", (json_int_t) t);

        text = ev ? json_dumps(ev, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        return text ? xasprintf("%s\n", text) : NULL;
}

static int journal_open(int dfd)
{
        return openat(dfd, BERTH_EVENTS_FILE, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
}

/* Before a write that would take the journal past its bound: renames it events.log.1, under
 * events.lock and only while events.log is still the file fd has open (another writer may have
 * rotated it meanwhile). Returns the fd to write to: fd, or a new events.log. */
static int rotate_if_full(int dfd, int fd, size_t len)
{
        _autoclose_ int lock = -EBADF;
        struct stat st, named;

        if (fstat(fd, &st) < 0 || (uint64_t) st.st_size + len <= BERTH_EVENTS_MAX_SIZE ||
            st.st_size == 0)
                return fd;
        if (berth_lock_file_at(dfd, LOCK_FILE, LOCK_EX, &lock, NULL) < 0)
                return fd;
        if (fstatat(dfd, BERTH_EVENTS_FILE, &named, 0) == 0 && named.st_ino == st.st_ino &&
            named.st_dev == st.st_dev && renameat(dfd, BERTH_EVENTS_FILE, dfd, OLD_FILE) < 0)
                return fd;
        close(fd);
        return journal_open(dfd);
}

void berth_event_emit(const char *root, const char *action, const struct berth_ctr *c,
                      const char *const *attrs)
{
        _autofree_ char *own = root ? NULL : root_of(c), *line = event_line(action, c, attrs);
        _autoclose_ int dfd = open(root ? root : own, O_PATH | O_DIRECTORY | O_CLOEXEC);
        _autoclose_ int fd = -EBADF;
        ssize_t n;

        if (dfd >= 0)
                fd = journal_open(dfd);
        if (fd >= 0 && line)
                fd = rotate_if_full(dfd, fd, strlen(line));
        n = fd >= 0 && line ? write(fd, line, strlen(line)) : -1;
        if (n != (ssize_t) (line ? strlen(line) : 0))
                berth_log(BERTH_LOG_DEBUG, "event %s of %.12s: write %s/%s: %m, ignoring", action,
                          c->id, root ? root : own, BERTH_EVENTS_FILE);
}

/* ---- the reader ---------------------------------------------------------------------------- */

struct reader {
        const struct berth_events_read_opts *o;
        berth_event_fn fn;
        void *userdata;
        int64_t after_ns; /* history: since_ns; else the time of the call */
        char *part;       /* a line without its newline yet (a write in progress) */
        size_t part_len;
};

static int one_line(struct reader *rd, const char *s, size_t n)
{
        _autojson_ json_t *ev = json_loadb(s, n, 0, NULL);
        int64_t t;

        if (!json_is_object(ev))
                return 0;
        t = json_integer_value(json_object_get(ev, "timeNano"));
        if (t < rd->after_ns || (rd->o->until_ns > 0 && t > rd->o->until_ns))
                return 0;
        return rd->fn(ev, rd->userdata);
}

/* Splits data into lines, the piece before the first newline continuing rd->part. */
static int feed(struct reader *rd, const char *data, size_t n)
{
        const char *end = data + n, *nl;
        int r;

        while ((nl = memchr(data, '\n', (size_t) (end - data)))) {
                if (rd->part_len) {
                        size_t k = (size_t) (nl - data);

                        rd->part = xreallocarray(rd->part, rd->part_len + k + 1, 1);
                        memcpy(rd->part + rd->part_len, data, k);
                        r = one_line(rd, rd->part, rd->part_len + k);
                        rd->part_len = 0;
                } else {
                        r = one_line(rd, data, (size_t) (nl - data));
                }
                if (r < 0)
                        return r;
                data = nl + 1;
        }
        if (data < end) {
                rd->part = xreallocarray(rd->part, rd->part_len + (size_t) (end - data) + 1, 1);
                memcpy(rd->part + rd->part_len, data, (size_t) (end - data));
                rd->part_len += (size_t) (end - data);
        }
        return 0;
}

static int read_to_end(struct reader *rd, int fd, struct berth_error **err)
{
        char buf[65536];
        ssize_t n;
        int r;

        for (;;) {
                n = read(fd, buf, sizeof(buf));
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return berth_error_set(err, errno, "read %s", BERTH_EVENTS_FILE);
                if (n == 0)
                        return 0;
                r = feed(rd, buf, (size_t) n);
                if (r < 0)
                        return r;
        }
}

/* events.log and, for the history, events.log.1 (-1 where missing). A rotation between the two
 * opens makes them the same file: then that one is the old file, and events.log is opened again. */
static void open_journal(int dfd, bool history, int *ret_old, int *ret_cur)
{
        struct stat a, b;
        int cur = openat(dfd, BERTH_EVENTS_FILE, O_RDONLY | O_CLOEXEC);
        int old = history ? openat(dfd, OLD_FILE, O_RDONLY | O_CLOEXEC) : -1;

        if (cur >= 0 && old >= 0 && fstat(cur, &a) == 0 && fstat(old, &b) == 0 &&
            a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
                close(old);
                old = cur;
                cur = openat(dfd, BERTH_EVENTS_FILE, O_RDONLY | O_CLOEXEC);
        }
        if (!history && cur >= 0)
                lseek(cur, 0, SEEK_END);
        *ret_old = old;
        *ret_cur = cur;
}

/* Whether events.log is no longer the file fd has open (rotated), or appeared (fd < 0). */
static bool replaced(int dfd, int fd)
{
        struct stat a, b;

        if (fstatat(dfd, BERTH_EVENTS_FILE, &b, 0) < 0)
                return false;
        return fd < 0 || fstat(fd, &a) < 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev;
}

/* Waits (at most 1 s, and not past until_ns) for the root dir to change. */
static void wait_change(int ifd, int64_t until_ns)
{
        struct pollfd p = {.fd = ifd, .events = POLLIN};
        int64_t left = until_ns > 0 ? (until_ns - now_ns()) / 1000000 + 1 : 1000;
        char buf[4096];

        if (poll(&p, 1, (int) (left < 1000 ? (left > 0 ? left : 0) : 1000)) > 0)
                while (read(ifd, buf, sizeof(buf)) > 0)
                        ;
}

/* The journal from where *cur is, across rotations, until until_ns (or fn stops it). The root
 * dir is watched: a write to events.log, its creation and its rotation wake us up. */
static int follow(struct reader *rd, const char *root, int dfd, int *cur, struct berth_error **err)
{
        _autoclose_ int ifd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        int r;

        if (ifd < 0)
                return berth_error_set(err, errno, "inotify_init1");
        if (inotify_add_watch(ifd, root, IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM) < 0)
                return berth_error_set(err, errno, "watch %s", root);
        for (;;) {
                if (*cur >= 0 && (r = read_to_end(rd, *cur, err)) < 0)
                        return r;
                if (replaced(dfd, *cur)) {
                        /* rotated: the old file's last events first (read above), then the new */
                        if (*cur >= 0 && (r = read_to_end(rd, *cur, err)) < 0)
                                return r;
                        closep(cur);
                        rd->part_len = 0;
                        *cur = openat(dfd, BERTH_EVENTS_FILE, O_RDONLY | O_CLOEXEC);
                        continue;
                }
                if (rd->o->until_ns > 0 && now_ns() > rd->o->until_ns)
                        return 0;
                wait_change(ifd, rd->o->until_ns);
        }
}

int berth_events_read(const char *root, const struct berth_events_read_opts *o, berth_event_fn fn,
                      void *userdata, struct berth_error **err)
{
        struct reader rd = {.o = o, .fn = fn, .userdata = userdata};
        _autoclose_ int dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        _autoclose_ int old = -EBADF, cur = -EBADF;
        int r = 0;

        if (dfd < 0)
                return berth_error_set(err, errno, "open %s", root);
        rd.after_ns = o->history ? o->since_ns : now_ns();
        open_journal(dfd, o->history, &old, &cur);
        if (old >= 0 && old != cur)
                r = read_to_end(&rd, old, err);
        rd.part_len = 0;
        if (r >= 0 && cur >= 0)
                r = read_to_end(&rd, cur, err);
        if (r >= 0 && o->follow && !(o->until_ns > 0 && now_ns() > o->until_ns))
                r = follow(&rd, root, dfd, &cur, err);
        free(rd.part);
        return r < 0 ? r : 0;
}

void berth_ctr_emit_end(const struct berth_ctr *c)
{
        char code[16];

        if (c->oom_killed)
                berth_event_emit(NULL, "oom", c, NULL);
        snprintf(code, sizeof(code), "%d", c->exit_code);
        berth_event_emit(NULL, "die", c, (const char *const[]){"exitCode", code, NULL});
}
