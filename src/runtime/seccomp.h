/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <sys/types.h>

#include "base/error.h"
#include "spec/spec.h"

/*
 * A seccomp filter is compiled in the runtime process, before clone, so every problem (unknown
 * architecture, flag, bad argument index) is reported by `create` with the field it came from,
 * and the container's init only has to load the finished BPF program with one seccomp(2) call.
 * Syscall names unknown to libseccomp are skipped with a warning, as runc and crun do. Unless the
 * default action lets syscalls through, a syscall whose number is above the highest one the
 * profile names (per architecture) gets ENOSYS, not the default action, as runc gives it, so that
 * a libc newer than the profile falls back to older calls (clone3, faccessat2, openat2...).
 */
struct berth_seccomp_filter;

/*
 * Builds the filter with libseccomp and exports it to BPF. On success *ret owns the program and
 * the kernel flags (free with berth_seccomp_filter_free()). With cache_root (the state root), a
 * program compiled before for the same config, libseccomp, kernel and machine is read from
 * cache_root/.seccomp:bpf/ instead (files only our euid may write; the whole key is compared).
 * Errors name the field:
 *   -EINVAL  unknown architecture, flag, action or operator; argument index above 5
 *   -EINVAL  WAIT_KILLABLE_RECV without listenerPath, TSYNC with it
 *   -E2BIG   more than BPF_MAXINSNS (4096) instructions
 */
int berth_seccomp_compile(const struct berth_seccomp *sc, const char *cache_root,
                          struct berth_seccomp_filter **ret, struct berth_error **err);

/* Loads the filter into the calling process: seccomp(SECCOMP_SET_MODE_FILTER) with the config's
 * flags (prctl(PR_SET_SECCOMP) on kernels without seccomp(2)). Needs no_new_privs or
 * CAP_SYS_ADMIN: -EACCES otherwise. Does not allocate. With listenerPath, the new listener fd
 * goes to the agent (berth_seccomp_listener_connect) with the message set by
 * berth_seccomp_listener_state(), and the connection is closed. */
int berth_seccomp_load(struct berth_seccomp_filter *f, struct berth_error **err);

/*
 * linux.seccomp.listenerPath (seccomp notify). The runtime connects to the agent's socket before
 * clone (the path is the host's), and the process that loads the filter (the init at start, an
 * exec child) sends the listener fd with the container process state of runtime-spec's
 * config-linux.md: {"ociVersion", "fds": ["seccompFd"], "pid", "metadata", "state"}, as runc
 * and crun do (status "creating" for the init, as theirs; "running" for exec). The socket is
 * the one fd of the host the process keeps until then; listener_fd() names it (-1: none).
 */
int berth_seccomp_listener_connect(const struct berth_seccomp *sc, struct berth_seccomp_filter *f,
                                   struct berth_error **err);
int berth_seccomp_listener_fd(const struct berth_seccomp_filter *f);
void berth_seccomp_listener_state(struct berth_seccomp_filter *f, const struct berth_seccomp *sc,
                                  pid_t pid, const char *state_json);

void berth_seccomp_filter_free(struct berth_seccomp_filter *f);
