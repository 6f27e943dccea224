/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * A fake cgroup for the cgroup layer's tests: a temp dir per hierarchy (its "mount"), the
 * container's cgroup directory in it, files named and filled like the kernel's, and a struct
 * berth_cgroup whose hierarchies point there. Never touches /sys/fs/cgroup.
 *
 * A file written by berth_cg_write() is opened without O_TRUNC (the kernel's files need none): a
 * value written over a longer one keeps the longer one's tail, so tests write files once or read
 * them back by prefix (fake_prefix).
 */
#include <fcntl.h>
#include <sys/stat.h>

#include "base/util.h"
#include "cgroup/cgroup-internal.h"

struct fake_cgroup {
        char root[64];
        struct berth_cgroup *cg;
};

/* A cgroup at `path` ("/berth/test") with no hierarchy yet. */
static inline struct fake_cgroup *fake_cgroup_new(const char *path)
{
        struct fake_cgroup *f = xcalloc(1, sizeof(*f));

        snprintf(f->root, sizeof(f->root), "/tmp/berth-test-cgroup.XXXXXX");
        if (!mkdtemp(f->root))
                abort();
        f->cg = xcalloc(1, sizeof(*f->cg));
        f->cg->path = xstrdup(path);
        return f;
}

static inline char *fake_cgroup_mount(const struct fake_cgroup *f, const char *dir)
{
        return xasprintf("%s/%s", f->root, dir);
}

/* mkdir -p */
static inline void fake_cgroup_mkdirs(const char *path)
{
        _autofree_ char *copy = xstrdup(path);

        for (char *s = copy + 1; *s; s++) {
                if (*s != '/')
                        continue;
                *s = '\0';
                (void) mkdir(copy, 0755);
                *s = '/';
        }
        (void) mkdir(copy, 0755);
}

/* Adds a hierarchy of controllers `name` ("memory", "cpu,cpuacct"; "" for cgroup2) mounted at
 * root/dir; with `leaf`, the cgroup's directory exists there and is open, as after create. */
static inline struct cg_hier *fake_cgroup_hier(struct fake_cgroup *f, const char *name,
                                               const char *dir, bool leaf)
{
        struct berth_cgroup *cg = f->cg;
        char *mount = fake_cgroup_mount(f, dir);
        int fd = -1;

        fake_cgroup_mkdirs(mount);
        if (leaf) {
                _autofree_ char *p = xasprintf("%s%s", mount, cg->path);

                fake_cgroup_mkdirs(p);
                fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd < 0)
                        abort();
        }
        cg->h = xreallocarray(cg->h, cg->n_h + 1, sizeof(*cg->h));
        cg->h[cg->n_h] =
            (struct cg_hier){.name = xstrdup(name), .mount = mount, .v2 = !*name, .fd = fd};
        return &cg->h[cg->n_h++];
}

/* root/dir/<rel>, where rel is relative to the hierarchy's mount ("berth/test/memory.stat"). */
static inline char *fake_cgroup_path(const struct fake_cgroup *f, const char *dir, const char *rel)
{
        return xasprintf("%s/%s/%s", f->root, dir, rel);
}

/* Writes (creates or truncates) a file of the cgroup: fake_cgroup_set(f, "memory",
 * "berth/test/memory.max", "max\n"). */
static inline void fake_cgroup_set(const struct fake_cgroup *f, const char *dir, const char *rel,
                                   const char *value)
{
        _autofree_ char *p = fake_cgroup_path(f, dir, rel);
        int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

        if (fd < 0 || write_all(fd, value, strlen(value)) < 0)
                abort();
        close(fd);
}

/* What the file holds (malloc'ed), or NULL if it does not exist. */
static inline char *fake_cgroup_get(const struct fake_cgroup *f, const char *dir, const char *rel)
{
        _autofree_ char *p = fake_cgroup_path(f, dir, rel);
        char *text = NULL;

        if (berth_read_file_at(AT_FDCWD, p, 0, &text, NULL, NULL) < 0)
                return NULL;
        return text;
}

static inline void fake_cgroup_free(struct fake_cgroup *f)
{
        _autofree_ char *cmd = NULL;

        if (!f)
                return;
        cmd = xasprintf("rm -rf '%s'", f->root);
        berth_cgroup_free(f->cg);
        if (system(cmd) != 0)
                abort();
        free(f);
}

static inline void fake_cgroup_freep(struct fake_cgroup **f)
{
        fake_cgroup_free(*f);
        *f = NULL;
}
#define _autofake_ __attribute__((cleanup(fake_cgroup_freep)))
