/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * A container's control group, whatever the host has: cgroup v1 (one hierarchy per controller),
 * v2 (one unified hierarchy), or hybrid (v1 controllers plus a cgroup2 mount at
 * /sys/fs/cgroup/unified holding what v1 does not, often hugetlb). One interface; the v1
 * and v2 drivers sit behind it (cgroup-v1.c, cgroup-v2.c).
 *
 * Paths: linux.cgroupsPath, absolute or relative, is taken from the root of each hierarchy (the
 * root of the runtime's cgroup namespace on v2), as crun takes it and runc does when it runs in
 * the root cgroup ("foo/bar" is /sys/fs/cgroup/memory/foo/bar on v1). Without cgroupsPath the
 * container's cgroup is "/berth/<id>", under berth's own parent. berth creates, writes and removes
 * only the cgroups it made, never the host's; the one exception is runc's: a v1 cpuset cgroup on
 * the container's path whose cpuset.cpus or cpuset.mems is empty (it cannot hold a task) gets its
 * parent's. Parents stay when their container goes, as with runc and crun (the v1 cpuset parent
 * costs ~2 ms to make).
 */

#include <stdbool.h>
#include <sys/types.h>

#include "base/error.h"
#include "spec/resources.h"

enum berth_cgroup_mode { BERTH_CGROUP_V1, BERTH_CGROUP_V2, BERTH_CGROUP_HYBRID };

/* Detected once (statfs of /sys/fs/cgroup and /sys/fs/cgroup/unified) and cached. */
enum berth_cgroup_mode berth_cgroup_mode(void);

struct berth_cgroup;

/* The path a container's cgroup gets in every hierarchy ("/berth/web" without cgroupsPath, "/a/b"
 * for "a/b" or "/a/b"), or an error naming linux.cgroupsPath for "..", "." or a systemd slice
 * path. Creates nothing. */
int berth_cgroup_resolve_path(const char *path, const char *id, char **ret,
                              struct berth_error **err);

/* Creates the cgroup for `path` (the config's cgroupsPath, or NULL for "/berth/<id>") in every
 * hierarchy, with the directories up to it that did not exist (they stay when the container
 * goes). An existing one is checked first, as runc 1.1 checks it: frozen (by itself, not through
 * a parent), it is refused with runc's error "container's cgroup unexpectedly frozen" (EBUSY)
 * and nothing is made; with processes, it is joined with runc's warning "container's cgroup is
 * not empty: N process(es) found". */
int berth_cgroup_create(const char *path, const char *id, struct berth_cgroup **ret,
                        struct berth_error **err);

/* Opens an existing container's cgroup (for kill, delete, pause, ps, stats). */
int berth_cgroup_open(const char *path, const char *id, struct berth_cgroup **ret,
                      struct berth_error **err);

/* The resolved path inside each hierarchy ("/berth/web"), for state.json. */
const char *berth_cgroup_path(const struct berth_cgroup *cg);

/* Writes the limits. A resource this host cannot apply is a warning naming it and why; an invalid
 * value is an error naming the field. */
int berth_cgroup_apply(struct berth_cgroup *cg, const struct berth_resources *r,
                       struct berth_error **err);

/* Moves pid into the cgroup (every hierarchy), or into the sub-cgroups berth_cgroup_select_sub
 * chose. */
int berth_cgroup_attach(struct berth_cgroup *cg, pid_t pid, struct berth_error **err);

/*
 * `exec --cgroup`, runc 1.1's forms: "SUB" (every hierarchy; given alone) or "CTRL[,CTRL]:SUB"
 * (the hierarchies of those v1 controllers; repeatable). Makes a later berth_cgroup_attach put
 * the process in the existing sub-cgroup SUB of the container's cgroup ("/" or "" is the
 * container's own). Checks the words only; a missing sub-cgroup fails the attach with runc's
 * words ("adding pid N to cgroups: write PATH/cgroup.procs: no such file or directory").
 * Errors (EINVAL), runc's words: "invalid --cgroup argument: a:b:c", "invalid --cgroup argument:
 * SUB (missing <controller>: prefix)" (two without a controller), "unknown controller X in
 * SubCgroupPaths" (not mounted here, or any controller on a v2 host), "SUB is not a sub cgroup
 * path" (it leaves the container's cgroup through "..").
 */
int berth_cgroup_select_sub(struct berth_cgroup *cg, const char *const *args,
                            struct berth_error **err);

/* cgroup v2: makes a later berth_cgroup_attach put the process where pid is (its "0::" line of
 * /proc/PID/cgroup), a sub-cgroup of the container's: runc's way into a container whose init
 * moved down into one, once its own cgroup has domain controllers enabled and takes no process
 * (EBUSY). -ENOENT if pid is in the container's cgroup itself or outside it. */
int berth_cgroup_select_cgroup_of(struct berth_cgroup *cg, pid_t pid, struct berth_error **err);

/* cgroup v2: an O_RDONLY|O_DIRECTORY fd of the leaf for clone3(CLONE_INTO_CGROUP) (a real open
 * file, as attaching the device filter needs); -1 on v1/hybrid, and once a sub-cgroup is selected
 * (berth_cgroup_attach then moves the process, and says which sub-cgroup failed). */
int berth_cgroup_clone_fd(const struct berth_cgroup *cg);

/* Sends sig to every process in the cgroup (cgroup.kill for SIGKILL on v2 when available). */
int berth_cgroup_kill(struct berth_cgroup *cg, int sig, struct berth_error **err);

/* The pids in the cgroup and its sub-cgroups (host pid namespace), as runc's GetAllPids: those
 * of exec --cgroup too. */
int berth_cgroup_pids(struct berth_cgroup *cg, pid_t **ret, size_t *ret_n,
                      struct berth_error **err);

/* Freezes or thaws, and waits until the kernel reports the new state. */
int berth_cgroup_freeze(struct berth_cgroup *cg, bool frozen, struct berth_error **err);
/* True if frozen (FROZEN on v1, cgroup.freeze 1 on v2). */
bool berth_cgroup_is_frozen(struct berth_cgroup *cg);

/* Removes the leaf and the parents this container created, if empty. Waits briefly for the last
 * processes to leave (they must already be dead). */
int berth_cgroup_destroy(struct berth_cgroup *cg, struct berth_error **err);

void berth_cgroup_free(struct berth_cgroup *cg);
static inline void berth_cgroup_freep(struct berth_cgroup **cg)
{
        berth_cgroup_free(*cg);
        *cg = NULL;
}
#define _autocgroup_ __attribute__((cleanup(berth_cgroup_freep)))
