/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Namespaces: which ones the init is cloned into, which it joins by path, the user namespace's
 * id maps (written by the runtime, the parent), and linux.sysctl (written by the init once it
 * is in its namespaces).
 */

#include <sys/types.h>

#include "base/error.h"
#include "spec/spec.h"

struct berth_ns_fds {
        int fd[BERTH_NS__MAX]; /* an open namespace to join, or -1 */
};

/* Opens every linux.namespaces[].path (before clone, so a bad path fails create with the field
 * named), checks it is a namespace of that type, and refuses what the config would write in the
 * runtime's own namespaces (berth_ns_check_own). Closes them all on failure. */
int berth_ns_open_paths(const struct berth_spec *s, struct berth_ns_fds *ret,
                        struct berth_error **err);
void berth_ns_fds_close(struct berth_ns_fds *f);

/* CLONE_NEW* flags for the namespaces to create (enabled and without a path). */
unsigned long berth_ns_new_flags(const struct berth_spec *s);

/* setns() into the opened namespace of type t, if any; closes its fd. */
int berth_ns_join(struct berth_ns_fds *f, enum berth_ns_type t, struct berth_error **err);

/* Writes /proc/PID/{setgroups,uid_map,gid_map}. setgroups stays "allow" when the runtime itself
 * may call setgroups (root in its user namespace), else "deny" as the kernel requires. */
int berth_userns_write_maps(pid_t pid, const struct berth_spec *s, struct berth_error **err);

/* A user namespace with these maps and nothing in it, for an idmapped mount: a helper is cloned
 * into a new one, its maps written, the namespace opened (*ret_fd), and the helper let go. */
int berth_userns_from_maps(const struct berth_id_map *uid, size_t n_uid,
                           const struct berth_id_map *gid, size_t n_gid, int *ret_fd,
                           struct berth_error **err);

/* Refuses keys that would change the host: only namespaced sysctls (net.*, kernel.msg*,
 * kernel.sem, kernel.shm*, fs.mqueue.*, kernel.domainname with a uts namespace), and only
 * when the config lists that namespace. Names the key: linux.sysctl "vm.swappiness": not
 * namespaced, refusing to change the host's. Also refuses kernel.hostname (the hostname field
 * sets it) and kernel.domainname next to a domainname field, as crun does. */
int berth_sysctl_validate(const struct berth_spec *s, struct berth_error **err);

/* Refuses linux.sysctl keys of the network, ipc or uts namespace, and hostname/domainname, when
 * that namespace is joined by path and is the runtime's own (same dev and inode as
 * /proc/self/ns/X): they would change the host's (runc: "sysctl %q not allowed in host network
 * namespace"). berth_ns_open_paths() calls it, before anything is made. -EPERM. */
int berth_ns_check_own(const struct berth_spec *s, const struct berth_ns_fds *f,
                       struct berth_error **err);
/* Writes them through /proc/sys, from inside the container's namespaces. */
int berth_sysctl_apply(const struct berth_spec *s, struct berth_error **err);

/*
 * The pid namespace, entered by the runtime itself for the duration of one clone (setns with
 * CLONE_NEWPID only moves the caller's future children). berth_pidns_enter() keeps an fd of the
 * caller's own namespace in *ret_own and enters fd's (a namespace fd or a pidfd);
 * berth_pidns_restore() goes back and closes *own. A failed restore is an error the caller must
 * not ignore: every later fork of the runtime (hooks) would be born inside the container.
 */
int berth_pidns_enter(int fd, const char *what, int *ret_own, struct berth_error **err);
int berth_pidns_restore(int *own, struct berth_error **err);
