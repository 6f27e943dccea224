/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Raw syscall wrappers. Each keeps libc behaviour (-1 with errno). Constants and structs missing
 * from Debian 12's headers are defined under #ifndef with the kernel version that added them.
 */

#define _GNU_SOURCE 1
#include <fcntl.h>
#include <linux/types.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080 /* Linux 5.6 */
#endif
#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000 /* Linux 5.2 */
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL /* Linux 5.7 */
#endif

/* clone3(2), Linux 5.3 */
struct berth_clone_args {
        uint64_t flags;
        uint64_t pidfd;
        uint64_t child_tid;
        uint64_t parent_tid;
        uint64_t exit_signal;
        uint64_t stack;
        uint64_t stack_size;
        uint64_t tls;
        uint64_t set_tid;
        uint64_t set_tid_size;
        uint64_t cgroup;
};

static inline pid_t sys_clone3(struct berth_clone_args *args)
{
        return (pid_t) syscall(__NR_clone3, args, sizeof(*args));
}

/* pidfd_open(2), Linux 5.3 */
static inline int sys_pidfd_open(pid_t pid, unsigned flags)
{
        return (int) syscall(__NR_pidfd_open, pid, flags);
}

/* pidfd_send_signal(2), Linux 5.1 */
static inline int sys_pidfd_send_signal(int pidfd, int sig, siginfo_t *info, unsigned flags)
{
        return (int) syscall(__NR_pidfd_send_signal, pidfd, sig, info, flags);
}

/* pivot_root(2) has no glibc wrapper. */
static inline int sys_pivot_root(const char *new_root, const char *put_old)
{
        return (int) syscall(__NR_pivot_root, new_root, put_old);
}

/* openat2(2), Linux 5.6 */
#ifndef RESOLVE_NO_XDEV
#define RESOLVE_NO_XDEV 0x01
#define RESOLVE_NO_MAGICLINKS 0x02
#define RESOLVE_NO_SYMLINKS 0x04
#define RESOLVE_BENEATH 0x08
#define RESOLVE_IN_ROOT 0x10
#define RESOLVE_CACHED 0x20
#endif
struct berth_open_how {
        uint64_t flags;
        uint64_t mode;
        uint64_t resolve;
};

static inline int sys_openat2(int dirfd, const char *path, struct berth_open_how *how)
{
        return (int) syscall(__NR_openat2, dirfd, path, how, sizeof(*how));
}

/* ioprio_set(2) */
#ifndef IOPRIO_CLASS_SHIFT
#define IOPRIO_CLASS_SHIFT 13
#define IOPRIO_CLASS_NONE 0
#define IOPRIO_CLASS_RT 1
#define IOPRIO_CLASS_BE 2
#define IOPRIO_CLASS_IDLE 3
#define IOPRIO_WHO_PROCESS 1
#endif
static inline int sys_ioprio_set(int which, int who, int ioprio)
{
        return (int) syscall(__NR_ioprio_set, which, who, ioprio);
}

/* sched_setattr(2), Linux 3.14 */
struct berth_sched_attr {
        uint32_t size;
        uint32_t sched_policy;
        uint64_t sched_flags;
        int32_t sched_nice;
        uint32_t sched_priority;
        uint64_t sched_runtime;
        uint64_t sched_deadline;
        uint64_t sched_period;
};
static inline int sys_sched_setattr(pid_t pid, struct berth_sched_attr *attr, unsigned flags)
{
        return (int) syscall(__NR_sched_setattr, pid, attr, flags);
}

/* close_range(2), Linux 5.9 */
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
static inline int sys_close_range(unsigned first, unsigned last, unsigned flags)
{
        return (int) syscall(__NR_close_range, first, last, flags);
}

/* bpf(2), Linux 3.18: the cgroup v2 device filter */
#include <linux/bpf.h>
static inline int sys_bpf(int cmd, union bpf_attr *attr, unsigned size)
{
        return (int) syscall(__NR_bpf, cmd, attr, size);
}

/* keyctl(KEYCTL_JOIN_SESSION_KEYRING) without libkeyutils */
#ifndef KEYCTL_JOIN_SESSION_KEYRING
#define KEYCTL_JOIN_SESSION_KEYRING 1
#endif
static inline long sys_keyctl_join(const char *name)
{
        return syscall(__NR_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name, 0, 0, 0);
}
