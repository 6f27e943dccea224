/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The engine's seccomp profiles, in docker's format: the OCI linux.seccomp fields plus
 * "archMap" and, per group of syscalls, "includes"/"excludes" conditions on the container's
 * capabilities, the host's architecture and its kernel version. A profile is resolved for one
 * container into the plain OCI linux.seccomp that libberth compiles (seccomp.c).
 *
 * The built-in default (seccomp-default.c) allows what docker's current default profile allows,
 * with every argument filter and capability-conditional group. What it leaves out is answered
 * in two ways: a syscall it knows (one it names anywhere, or one that libseccomp knows) fails
 * with EPERM, as under docker; any other one (a syscall newer than the profile, or a number the
 * kernel does not have) fails with ENOSYS, so that libcs fall back to an older syscall. The
 * filter's default action is ERRNO(ENOSYS), and the known, denied ones are listed with EPERM
 * (containers-common's scheme), including the denied argument values of the conditionally
 * allowed socket and clone (personality's are ENOSYS: seccomp-default.c says why).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

struct json_t;

/* docker's "includes" / "excludes". */
struct berth_scmp_cond {
        char **caps;         /* "CAP_SYS_ADMIN"...; NULL-terminated, NULL: no condition */
        char **arches;       /* docker's names: "amd64", "x32", "x86", "arm64", "s390x"... */
        unsigned min_kernel; /* (major << 16) | minor; 0: no condition */
};

struct berth_scmp_arg {
        unsigned index;
        uint64_t value, value_two;
        const char *op; /* "SCMP_CMP_EQ"... */
};

struct berth_scmp_group {
        char **names;
        const char *action; /* "SCMP_ACT_ALLOW"... */
        int64_t errno_ret;  /* < 0: none */
        struct berth_scmp_arg *args;
        size_t n_args;
        struct berth_scmp_cond includes, excludes;
};

struct berth_scmp_arch {
        const char *arch; /* "SCMP_ARCH_X86_64" */
        char **subs;      /* NULL-terminated or NULL */
};

struct berth_scmp_profile {
        const char *default_action; /* NULL: not given */
        int64_t default_errno_ret;  /* < 0: none */
        char **architectures;
        struct berth_scmp_arch *arch_map;
        size_t n_arch_map;
        char **flags;
        const char *listener_path, *listener_metadata;
        struct berth_scmp_group *groups;
        size_t n_groups;
        /* The built-in default: names answered EPERM when no group allows them (besides every
         * name its groups list). NULL for a profile read from a file. */
        char **denied;
        void *owned; /* parse's own storage (json text); NULL for the built-in table */
};

/* The built-in default profile (static). */
const struct berth_scmp_profile *berth_scmp_profile_default(void);

/*
 * Parses a docker-format profile (what `--security-opt seccomp=FILE` reads; `what` names it in
 * errors). Unknown fields are ignored, as docker does. -EINVAL: not JSON, a field of the wrong
 * type, "name" and "names" both set, "architectures" and "archMap" both set, a bad minKernel,
 * an unknown action or operator; the message names the field ("syscalls[3].args[0].op").
 */
int berth_scmp_profile_parse(const char *text, size_t len, const char *what,
                             struct berth_scmp_profile **ret, struct berth_error **err);
void berth_scmp_profile_free(struct berth_scmp_profile *p);

/* What a profile's conditions look at besides the capabilities. */
struct berth_scmp_host {
        const char *arch;      /* docker's name of the host's architecture: "amd64", "arm64"... */
        const char *scmp_arch; /* the archMap entry it selects: "SCMP_ARCH_X86_64"... */
        unsigned kernel;       /* (major << 16) | minor */
        bool x32;              /* the kernel runs x32 syscalls: archMap's SCMP_ARCH_X32 is kept */
};

/*
 * The OCI linux.seccomp object of p for a container whose bounding set is caps, on host (NULL:
 * the machine berth runs on; its architecture and kernel version decide "arches" and
 * "minKernel" conditions, and archMap's entry for it gives the architectures, SCMP_ARCH_X32 only
 * where the kernel runs x32 syscalls). Syscall names that libseccomp does not
 * know are left out (they get the default action). *ret is NULL when the profile is empty (no
 * defaultAction and no syscalls: docker runs such a container unconfined). -EINVAL: the kernel
 * version could not be read.
 */
int berth_scmp_profile_resolve(const struct berth_scmp_profile *p, char *const *caps,
                               const struct berth_scmp_host *host, struct json_t **ret,
                               struct berth_error **err);
