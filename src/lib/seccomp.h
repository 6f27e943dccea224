/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "error.h"
#include "spec.h"

/* src/lib is on the include path, so <seccomp.h> finds this header before libseccomp's. A file
 * that needs libseccomp's API defines BERTH_INCLUDE_LIBSECCOMP before its first include of
 * <seccomp.h> (or "seccomp.h") and gets both. */
#ifdef BERTH_INCLUDE_LIBSECCOMP
#include_next <seccomp.h>
#endif

/*
 * A seccomp filter is compiled in the runtime process, before clone, so every problem (unknown
 * architecture, flag, bad argument index) is reported by `create` with the field it came from,
 * and the container's init only has to load the finished BPF program with one seccomp(2) call.
 * Syscall names unknown to libseccomp are skipped with a warning, as runc and crun do.
 */
struct berth_seccomp_filter;

/*
 * Builds the filter with libseccomp and exports it to BPF. On success *ret owns the program and
 * the kernel flags (free with berth_seccomp_filter_free()). Errors name the field:
 *   -EINVAL  unknown architecture, flag, action or operator; argument index above 5
 *   -ENOTSUP listenerPath or SCMP_ACT_NOTIFY (seccomp notify),
 * SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV -E2BIG   more than BPF_MAXINSNS (4096) instructions
 */
int berth_seccomp_compile(const struct berth_seccomp *sc, struct berth_seccomp_filter **ret,
                          struct berth_error **err);

/* Loads the filter into the calling process: seccomp(SECCOMP_SET_MODE_FILTER) with the config's
 * flags (prctl(PR_SET_SECCOMP) on kernels without seccomp(2)). Needs no_new_privs or
 * CAP_SYS_ADMIN: -EACCES otherwise. Does not allocate. */
int berth_seccomp_load(const struct berth_seccomp_filter *f, struct berth_error **err);

void berth_seccomp_filter_free(struct berth_seccomp_filter *f);
