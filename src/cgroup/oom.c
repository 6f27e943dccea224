/* SPDX-License-Identifier: Apache-2.0 */
/* OOM notifications of a container's memory cgroup (see oom.h). */
#include <fcntl.h>
#include <inttypes.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>

#include "cgroup/cgroup-internal.h"
#include "cgroup/oom.h"
#include "base/util.h"

struct berth_oom_watch {
        int fd;    /* eventfd (v1) or inotify (v2) */
        int dirfd; /* the cgroup's directory in the memory hierarchy */
        bool v2;
        char *path;     /* "/berth/web", for messages */
        uint64_t kills; /* v2: oom_kill as of the last read */
};

static bool is_v2(void)
{
        return berth_cgroup_mode() == BERTH_CGROUP_V2;
}

static const char *kills_file(bool v2)
{
        return v2 ? "memory.events" : "memory.oom_control";
}

static struct cg_hier *memory_hier(struct berth_cgroup *cg, struct berth_error **err)
{
        struct cg_hier *h = berth_cg_hier(cg, is_v2() ? "" : "memory");

        if (!h)
                berth_error_setx(err, ENOENT, "cgroup %s: no memory controller", cg->path);
        return h;
}

/* The "oom_kill N" line of memory.oom_control or memory.events (0 on kernels before 4.13, which
 * do not count kills). */
static int read_oom_kill(int dirfd, const char *path, const char *file, uint64_t *ret,
                         struct berth_error **err)
{
        _autofree_ char *text = NULL;
        int r = berth_read_file_at(dirfd, file, 0, &text, NULL, NULL);

        if (r < 0)
                return berth_error_set(err, -r, "cgroup %s: read %s", path, file);
        for (const char *l = text; l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
                if (!startswith(l, "oom_kill "))
                        continue;
                if (sscanf(l, "oom_kill %" SCNu64, ret) != 1)
                        return berth_error_setx(err, EINVAL, "cgroup %s: %s: invalid line %s", path,
                                                file, QUOTE(l));
                return 0;
        }
        *ret = 0;
        return 0;
}

int berth_oom_kills(struct berth_cgroup *cg, uint64_t *ret, struct berth_error **err)
{
        struct cg_hier *h = memory_hier(cg, err);

        if (!h)
                return -ENOENT;
        return read_oom_kill(h->fd, cg->path, kills_file(is_v2()), ret, err);
}

/* v1: "<eventfd> <fd of memory.oom_control>" into cgroup.event_control. The kernel drops the
 * registration when the eventfd is closed. */
static int v1_register(struct berth_cgroup *cg, struct cg_hier *h, struct berth_oom_watch *w,
                       struct berth_error **err)
{
        _autoclose_ int ctl = openat(h->fd, "memory.oom_control", O_RDONLY | O_CLOEXEC);
        _autoclose_ int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        char line[64];
        int r;

        if (ctl < 0)
                return berth_error_set(err, errno, "cgroup %s: open memory.oom_control", cg->path);
        if (efd < 0)
                return berth_error_set(err, errno, "create an eventfd");
        snprintf(line, sizeof(line), "%d %d", efd, ctl);
        r = berth_cg_write(cg, h, "cgroup.event_control", line, err);
        if (r < 0)
                return r;
        w->fd = steal_fd(&efd);
        return 0;
}

/* v2: inotify on memory.events, which the kernel touches after each OOM kill. */
static int v2_register(struct berth_cgroup *cg, struct cg_hier *h, struct berth_oom_watch *w,
                       struct berth_error **err)
{
        _autofree_ char *file = xasprintf("%s%s/memory.events", h->mount, cg->path);
        _autoclose_ int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
        int r;

        if (fd < 0)
                return berth_error_set(err, errno, "create an inotify instance");
        if (inotify_add_watch(fd, file, IN_MODIFY) < 0)
                return berth_error_set(err, errno, "cgroup %s: watch memory.events", cg->path);
        r = read_oom_kill(h->fd, cg->path, "memory.events", &w->kills, err);
        if (r < 0)
                return r;
        w->fd = steal_fd(&fd);
        return 0;
}

int berth_oom_watch_open(struct berth_cgroup *cg, struct berth_oom_watch **ret,
                         struct berth_error **err)
{
        struct cg_hier *h = memory_hier(cg, err);
        struct berth_oom_watch *w;
        int r;

        if (!h)
                return -ENOENT;
        w = xcalloc(1, sizeof(*w));
        w->fd = -EBADF;
        w->v2 = is_v2();
        w->path = xstrdup(cg->path);
        w->dirfd = fcntl(h->fd, F_DUPFD_CLOEXEC, 3);
        if (w->dirfd < 0)
                r = berth_error_set(err, errno, "cgroup %s: duplicate its fd", cg->path);
        else
                r = w->v2 ? v2_register(cg, h, w, err) : v1_register(cg, h, w, err);
        if (r < 0) {
                berth_oom_watch_free(w);
                return r;
        }
        *ret = w;
        return 0;
}

int berth_oom_watch_fd(const struct berth_oom_watch *w)
{
        return w->fd;
}

static int v1_read(struct berth_oom_watch *w, uint64_t *ret_n, struct berth_error **err)
{
        uint64_t v = 0;

        if (read(w->fd, &v, sizeof(v)) < 0) {
                if (errno != EAGAIN)
                        return berth_error_set(err, errno, "cgroup %s: read the OOM eventfd",
                                               w->path);
                *ret_n = 0;
                return 0;
        }
        /* the kernel also signals the eventfd when the cgroup is removed */
        if (faccessat(w->dirfd, "memory.oom_control", F_OK, 0) < 0 && errno == ENOENT)
                return berth_error_setx(err, ENOENT, "cgroup %s: removed", w->path);
        *ret_n = v;
        return 0;
}

static int v2_read(struct berth_oom_watch *w, uint64_t *ret_n, struct berth_error **err)
{
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        uint64_t kills;
        int r;

        while (read(w->fd, buf, sizeof(buf)) > 0)
                ;
        r = read_oom_kill(w->dirfd, w->path, "memory.events", &kills, err);
        if (r < 0)
                return r;
        *ret_n = kills > w->kills ? kills - w->kills : 0;
        w->kills = kills;
        return 0;
}

int berth_oom_watch_read(struct berth_oom_watch *w, uint64_t *ret_n, struct berth_error **err)
{
        return w->v2 ? v2_read(w, ret_n, err) : v1_read(w, ret_n, err);
}

void berth_oom_watch_free(struct berth_oom_watch *w)
{
        if (!w)
                return;
        closep(&w->fd);
        closep(&w->dirfd);
        free(w->path);
        free(w);
}
