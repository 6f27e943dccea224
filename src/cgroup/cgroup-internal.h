/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Shared by cgroup.c and its drivers; not part of the library's interface. The driver ops are in
 * cgroup-v1.c and cgroup-v2.c, their limits in cgroup-v*-apply.c, the helpers below the ops in
 * cgroup-util.c (which uses none of the others).
 */

#include "cgroup/cgroup.h"

#define CGROUP_ROOT "/sys/fs/cgroup"

struct cg_hier {
        char *name;  /* "memory", "cpu", "name=systemd", or "" for a cgroup2 hierarchy */
        char *mount; /* "/sys/fs/cgroup/memory" */
        bool v2;     /* the cgroup2 mount of a hybrid host (e.g. hugetlb) or of a v2 host */
        bool bare;   /* a hybrid host's cgroup2 mount that delegates no controller: the container
                      * is placed there (as runc places it), nothing else is read or written */
        int fd;      /* O_RDONLY|O_DIRECTORY of the container's cgroup in it, or -1 */
        char *sub;   /* exec --cgroup: the sub-cgroup to attach to ("a/b", relative), or NULL */
};

struct cgroup_ops;

struct berth_cgroup {
        const struct cgroup_ops *ops;
        char *path;        /* "/berth/web": the same in every hierarchy */
        struct cg_hier *h; /* v1 + hybrid: every hierarchy; v2: exactly one */
        size_t n_h;
};

struct cgroup_ops {
        /* mkdir the path in every hierarchy (parents as needed), open the leaves */
        int (*create)(struct berth_cgroup *cg, struct berth_error **err);
        int (*open)(struct berth_cgroup *cg, struct berth_error **err);
        int (*apply)(struct berth_cgroup *cg, const struct berth_resources *r,
                     struct berth_error **err);
        int (*attach)(struct berth_cgroup *cg, pid_t pid, struct berth_error **err);
        int (*kill)(struct berth_cgroup *cg, int sig, struct berth_error **err);
        int (*freeze)(struct berth_cgroup *cg, bool frozen, struct berth_error **err);
        /* frozen by itself (v1: freezer.self_freezing), not only through a parent */
        bool (*is_frozen)(struct berth_cgroup *cg);
        /* rmdir the leaves (processes already dead) */
        int (*destroy)(struct berth_cgroup *cg, struct berth_error **err);
};

extern const struct cgroup_ops berth_cgroup_v1_ops;
extern const struct cgroup_ops berth_cgroup_v2_ops;

/* cgroup-util.c: the hierarchy for a v1 controller ("memory"), or NULL if this host does not
 * mount it; "" the cgroup2 one, unless bare. */
struct cg_hier *berth_cg_hier(struct berth_cgroup *cg, const char *controller);

/* cgroup-util.c: nanosleep for ms milliseconds, the drivers' step while a cgroup empties. */
void berth_cg_sleep_ms(long ms);

/* cgroup-util.c: whether the space-separated list (cgroup.controllers, a v2 leaf's
 * cgroup.subtree_control) holds word. */
bool berth_cg_has_word(const char *list, const char *word);

/* openat(h->fd, file, O_WRONLY) + write; errors name the file and value:
 *   cgroup /berth/web: write "512" to memory.limit_in_bytes: Device or resource busy */
int berth_cg_write(const struct berth_cgroup *cg, const struct cg_hier *h, const char *file,
                   const char *value, struct berth_error **err);
/* Reads a cgroup file into a malloc'ed string (trailing newline kept). */
int berth_cg_read(const struct berth_cgroup *cg, const struct cg_hier *h, const char *file,
                  char **ret, struct berth_error **err);

/* cgroup-util.c, for v1 realtime group scheduling: a file of one decimal number; a cgroup's
 * realtime time (cpu.rt_runtime_us) in microseconds per `period` of the caller's, rounded up (0
 * if none or unreadable); the sum of that over the cgroup's children but `skip` (may be NULL). */
int berth_cg_read_i64_at(int dir, const char *file, int64_t *ret);
int64_t berth_cg_rt_share(int dir, int64_t period);
int64_t berth_cg_rt_children(int dir, int64_t period, const char *skip);

/* v1 limits (cgroup-v1-apply.c) and v2 limits (cgroup-v2-apply.c). */
int berth_cgroup_v1_apply(struct berth_cgroup *cg, const struct berth_resources *r,
                          struct berth_error **err);
int berth_cgroup_v2_apply(struct berth_cgroup *cg, const struct berth_resources *r,
                          struct berth_error **err);
