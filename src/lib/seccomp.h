/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "error.h"
#include "spec.h"

/*
 * A seccomp filter is compiled in the runtime process, before clone, so every problem (unknown
 * architecture, flag, bad argument index) is reported by `create` with the field it came from,
 * and the container's init only has to load the finished BPF program.
 * Syscall names unknown to libseccomp are skipped with a warning, as runc and crun do.
 */
struct berth_seccomp_filter;

int berth_seccomp_compile(const struct berth_seccomp *sc, struct berth_seccomp_filter **ret,
                          struct berth_error **err);
/* Loads the filter into the calling process (seccomp(2) with the config's flags). */
int berth_seccomp_load(const struct berth_seccomp_filter *f, struct berth_error **err);
void berth_seccomp_filter_free(struct berth_seccomp_filter *f);
