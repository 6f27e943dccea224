/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the cgroup dispatcher (cgroup.c), both drivers, their limits, stats and OOM events share:
 * the host's mode, a hierarchy by controller, a cgroup file read or written, the cgroup's
 * processes, v1 realtime shares. It uses none of those files, so that no two of them use each
 * other.
 */
#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/vfs.h>
#include <time.h>

#include "cgroup/cgroup-internal.h"
#include "base/log.h"
#include "base/util.h"

enum berth_cgroup_mode berth_cgroup_mode(void)
{
        static int mode = -1;
        struct statfs sf;

        if (mode >= 0)
                return (enum berth_cgroup_mode) mode;
        if (statfs(CGROUP_ROOT, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
                mode = BERTH_CGROUP_V2;
        else if (statfs(CGROUP_ROOT "/unified", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC)
                mode = BERTH_CGROUP_HYBRID;
        else
                mode = BERTH_CGROUP_V1;
        return (enum berth_cgroup_mode) mode;
}

bool berth_cg_has_word(const char *list, const char *word)
{
        size_t n = strlen(word);

        for (const char *p = list; (p = strstr(p, word)); p += n)
                if ((p == list || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' ' || p[n] == '\n'))
                        return true;
        return false;
}

void berth_cg_sleep_ms(long ms)
{
        struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

        nanosleep(&ts, NULL);
}

static bool has_controller(const char *list, const char *controller)
{
        size_t n = strlen(controller);

        for (const char *p = list; (p = strstr(p, controller)); p += n)
                if ((p == list || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
                        return true;
        return false;
}

struct cg_hier *berth_cg_hier(struct berth_cgroup *cg, const char *controller)
{
        for (size_t i = 0; i < cg->n_h; i++) {
                struct cg_hier *h = &cg->h[i];

                if (h->fd < 0 || h->bare)
                        continue;
                if (*controller == '\0' ? h->v2 : (!h->v2 && has_controller(h->name, controller)))
                        return h;
        }
        return NULL;
}

int berth_cg_write(const struct berth_cgroup *cg, const struct cg_hier *h, const char *file,
                   const char *value, struct berth_error **err)
{
        _autoclose_ int fd = openat(h->fd, file, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        uint64_t t0 = TRACE_T0();

        if (fd < 0 || write_all(fd, value, strlen(value)) < 0)
                return berth_error_set(err, errno, "cgroup %s: write %s to %s", cg->path,
                                       QUOTE(value), file);
        TRACE(t0, "cgroup %s: %s = %s", cg->path, file, value);
        return 0;
}

int berth_cg_read(const struct berth_cgroup *cg, const struct cg_hier *h, const char *file,
                  char **ret, struct berth_error **err)
{
        if (berth_read_file_at(h->fd, file, 0, ret, NULL, err) < 0)
                return berth_error_prefix(err, "cgroup %s", cg->path);
        return 0;
}

/* Appends the pids of dir's cgroup.procs, then of its sub-cgroups'. A sub-cgroup that goes
 * meanwhile is skipped; only the top's cgroup.procs must be readable. */
static int add_pids(int dir, int depth, pid_t **v, size_t *n)
{
        _autofree_ char *text = NULL;
        char *save = NULL;
        DIR *d;
        struct dirent *e;
        int r = berth_read_file_at(dir, "cgroup.procs", 0, &text, NULL, NULL);

        if (r < 0)
                return r;
        for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                *v = xreallocarray(*v, *n + 1, sizeof(**v));
                (*v)[(*n)++] = (pid_t) atoi(l);
        }
        if (depth >= 32 || !(d = fdopendir(openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC))))
                return 0;
        while ((e = readdir(d))) {
                _autoclose_ int sub = -EBADF;

                if (e->d_type != DT_DIR || streq(e->d_name, ".") || streq(e->d_name, ".."))
                        continue;
                sub = openat(dir, e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (sub >= 0)
                        (void) add_pids(sub, depth + 1, v, n);
        }
        closedir(d);
        return 0;
}

int berth_cgroup_pids(struct berth_cgroup *cg, pid_t **ret, size_t *ret_n, struct berth_error **err)
{
        struct cg_hier *h = berth_cg_hier(cg, berth_cgroup_mode() == BERTH_CGROUP_V2 ? "" : "pids");
        pid_t *v = NULL;
        size_t n = 0;
        int r;

        if (!h)
                h = cg->n_h > 0 && cg->h[0].fd >= 0 ? &cg->h[0] : NULL;
        if (!h)
                return berth_error_setx(err, ENOENT, "cgroup %s: not open", cg->path);
        r = add_pids(h->fd, 0, &v, &n);
        if (r < 0) {
                free(v);
                return berth_error_set(err, -r, "cgroup %s: open cgroup.procs", cg->path);
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

int berth_cg_read_i64_at(int dir, const char *file, int64_t *ret)
{
        _autofree_ char *text = NULL;

        if (berth_read_file_at(dir, file, 64, &text, NULL, NULL) < 0)
                return -EIO;
        text[strcspn(text, "\n")] = '\0';
        return parse_i64(text, ret) < 0 ? -EIO : 0;
}

int64_t berth_cg_rt_share(int dir, int64_t period)
{
        int64_t runtime, own_period;

        if (berth_cg_read_i64_at(dir, "cpu.rt_runtime_us", &runtime) < 0 ||
            berth_cg_read_i64_at(dir, "cpu.rt_period_us", &own_period) < 0 || runtime <= 0 ||
            own_period <= 0)
                return 0;
        return (int64_t) (((__int128) runtime * period + own_period - 1) / own_period);
}

int64_t berth_cg_rt_children(int dir, int64_t period, const char *skip)
{
        struct dirent *de;
        int64_t sum = 0;
        DIR *d = fdopendir(openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));

        if (!d)
                return 0;
        while ((de = readdir(d))) {
                _autoclose_ int sub = -EBADF;

                if (de->d_type != DT_DIR || de->d_name[0] == '.' || streq_ptr(skip, de->d_name))
                        continue;
                sub = openat(dir, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (sub >= 0)
                        sum += berth_cg_rt_share(sub, period);
        }
        closedir(d);
        return sum;
}
