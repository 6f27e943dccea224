/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The engine's default seccomp profile, in docker's conditional form (seccomp-profile.h): the
 * syscalls and argument values that docker's current default profile (moby/profiles
 * seccomp/default.json) allows, group by group, and the known syscalls and argument values it
 * denies, answered EPERM (personality's excepted, see below). Everything else gets the default
 * action, ENOSYS.
 *
 * Keep it in step with docker's: a syscall docker starts to allow goes in the first list (and
 * out of `denied`); a new capability-conditional group goes below with its condition.
 */
#include "engine/seccomp-profile.h"
#include "base/util.h"

#define NAMES(...) ((char *[]){__VA_ARGS__, NULL})
#define ALLOW "SCMP_ACT_ALLOW"
#define ERRNO "SCMP_ACT_ERRNO"
#define NO_ERRNO (-1)
#define ARGS(...)                                                                                  \
        .args = (struct berth_scmp_arg[]){__VA_ARGS__},                                            \
        .n_args = sizeof((struct berth_scmp_arg[]){__VA_ARGS__}) / sizeof(struct berth_scmp_arg)
#define KERNEL(major, minor) (((major) << 16) | (minor))

/* Allowed to every container. */
#define ALWAYS(...)                                                                                \
        {                                                                                          \
                .names = NAMES(__VA_ARGS__), .action = ALLOW, .errno_ret = NO_ERRNO                \
        }
/* Allowed when the container's bounding set has cap. */
#define WITH_CAP(cap, ...)                                                                         \
        {                                                                                          \
                .names = NAMES(__VA_ARGS__), .action = ALLOW, .errno_ret = NO_ERRNO, .includes = { \
                        .caps = NAMES(cap)                                                         \
                }                                                                                  \
        }
/* Allowed on these architectures (docker's names: the host's, not the sub-architectures). */
#define ON_ARCH(arch_list, ...)                                                                    \
        {                                                                                          \
                .names = NAMES(__VA_ARGS__), .action = ALLOW, .errno_ret = NO_ERRNO, .includes = { \
                        .arches = arch_list                                                        \
                }                                                                                  \
        }
/* Denied (EPERM) when arg `index` matches. */
#define DENY_ARG(name, index, op, value, value2)                                                   \
        {                                                                                          \
                .names = NAMES(name), .action = ERRNO, .errno_ret = EPERM,                         \
                ARGS({index, value, value2, "SCMP_CMP_" #op})                                      \
        }

/*
 * personality(2): docker allows PER_LINUX (0), PER_LINUX32 (8), UNAME26 (0x20000), their union
 * (0x20008) and the query 0xffffffff, nothing else. The other values get the default action,
 * ENOSYS (as under podman), not EPERM: a rule cannot say "none of these", libseccomp lets a
 * rule without arguments override the ones with arguments, and the 33 single-comparison rules
 * that cover every other value cost libseccomp 2.5.4 7 to 16 ms per container start (measured
 * on x86_64 with the x86 sub-architecture). Denied either way.
 */

/* clone(2) without CAP_SYS_ADMIN: any of the namespace flags denied (docker allows the flags
 * & 0x7E020000 == 0 rule only); s390 passes the flags as the second argument. */
#define CLONE_NS_FLAGS 0x7E020000ULL
#define CLONE_DENY(bit)                                                                            \
        {.names = NAMES("clone"),                                                                  \
         .action = ERRNO,                                                                          \
         .errno_ret = EPERM,                                                                       \
         ARGS({0, bit, bit, "SCMP_CMP_MASKED_EQ"}),                                                \
         .excludes = {.caps = NAMES("CAP_SYS_ADMIN"), .arches = NAMES("s390", "s390x")}},          \
        {                                                                                          \
                .names = NAMES("clone"), .action = ERRNO, .errno_ret = EPERM,                      \
                ARGS({1, bit, bit, "SCMP_CMP_MASKED_EQ"}),                                         \
                .includes = {.arches = NAMES("s390", "s390x")}, .excludes = {                      \
                        .caps = NAMES("CAP_SYS_ADMIN")                                             \
                }                                                                                  \
        }

static struct berth_scmp_group groups[] = {
    ALWAYS(
        "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget",
        "capset", "chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64",
        "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64",
        "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range", "connect",
        "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1",
        "epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old",
        "eventfd", "eventfd2", "execve", "execveat", "exit", "exit_group", "faccessat",
        "faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod",
        "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync",
        "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr", "fstat", "fstat64",
        "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex",
        "futex_requeue", "futex_time64", "futex_wait", "futex_waitv", "futex_wake", "futimesat",
        "getcpu", "getcwd", "getdents", "getdents64", "getegid", "getegid32", "geteuid",
        "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getitimer", "getpeername",
        "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid",
        "getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list", "getrusage",
        "getsid", "getsockname", "getsockopt", "get_thread_area", "gettid", "gettimeofday",
        "getuid", "getuid32", "getxattr", "getxattrat", "inotify_add_watch", "inotify_init",
        "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents",
        "io_pgetevents", "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup",
        "io_submit", "ipc", "kill", "landlock_add_rule", "landlock_create_ruleset",
        "landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link", "linkat", "listen",
        "listmount", "listxattr", "listxattrat", "llistxattr", "_llseek", "lremovexattr", "lseek",
        "lsetxattr", "lstat", "lstat64", "madvise", "map_shadow_stack", "membarrier",
        "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock",
        "mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open",
        "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64",
        "mq_unlink", "mremap", "mseal", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock",
        "munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat", "_newselect",
        "open", "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2",
        "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl",
        "pread64", "preadv", "preadv2", "prlimit64", "process_mrelease", "pselect6",
        "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink",
        "readlinkat", "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg",
        "remap_file_pages", "removexattr", "removexattrat", "rename", "renameat", "renameat2",
        "restart_syscall", "riscv_hwprobe", "rmdir", "rseq", "rt_sigaction", "rt_sigpending",
        "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
        "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr",
        "sched_getparam", "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
        "sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity",
        "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select",
        "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send", "sendfile",
        "sendfile64", "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid",
        "setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setitimer", "setpgid",
        "setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid",
        "setresuid32", "setreuid", "setreuid32", "setrlimit", "set_robust_list", "setsid",
        "setsockopt", "set_thread_area", "set_tid_address", "setuid", "setuid32", "setxattr",
        "setxattrat", "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd",
        "signalfd4", "sigprocmask", "sigreturn", "socketcall", "socketpair", "splice", "stat",
        "stat64", "statfs", "statfs64", "statmount", "statx", "symlink", "symlinkat", "sync",
        "sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create",
        "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime",
        "timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64",
        "timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate", "truncate64",
        "ugetrlimit", "umask", "uname", "unlink", "unlinkat", "uretprobe", "utime", "utimensat",
        "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write",
        "writev"),
    {.names = NAMES("process_vm_readv", "process_vm_writev", "ptrace"),
     .action = ALLOW,
     .errno_ret = NO_ERRNO,
     .includes = {.min_kernel = KERNEL(4, 8)}},

    /* socket(2): every family but AF_ALG (38) and AF_VSOCK (40). */
    {.names = NAMES("socket"),
     .action = ALLOW,
     .errno_ret = NO_ERRNO,
     ARGS({0, 38, 0, "SCMP_CMP_LT"})},
    {.names = NAMES("socket"),
     .action = ALLOW,
     .errno_ret = NO_ERRNO,
     ARGS({0, 39, 0, "SCMP_CMP_EQ"})},
    {.names = NAMES("socket"),
     .action = ALLOW,
     .errno_ret = NO_ERRNO,
     ARGS({0, 40, 0, "SCMP_CMP_GT"})},
    DENY_ARG("socket", 0, EQ, 38, 0),
    DENY_ARG("socket", 0, EQ, 40, 0),

    /* personality(2), see above */
    {.names = NAMES("personality"),
     .action = ALLOW,
     .errno_ret = NO_ERRNO,
     ARGS({0, 0x0, 0, "SCMP_CMP_EQ"})},
    {.names = NAMES("personality"),
     .action = ALLOW,
     .errno_ret = NO_ERRNO,
     ARGS({0, 0x8, 0, "SCMP_CMP_EQ"})},
    {.names = NAMES("personality"),
     .action = ALLOW,
     .errno_ret = NO_ERRNO,
     ARGS({0, 0x20000, 0, "SCMP_CMP_EQ"})},
    {.names = NAMES("personality"),
     .action = ALLOW,
     .errno_ret = NO_ERRNO,
     ARGS({0, 0x20008, 0, "SCMP_CMP_EQ"})},
    {.names = NAMES("personality"),
     .action = ALLOW,
     .errno_ret = NO_ERRNO,
     ARGS({0, 0xffffffff, 0, "SCMP_CMP_EQ"})},

    /* architecture-specific */
    ON_ARCH(NAMES("ppc64le"), "sync_file_range2", "swapcontext"),
    ON_ARCH(NAMES("arm", "arm64"), "arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2",
            "breakpoint", "cacheflush", "set_tls"),
    ON_ARCH(NAMES("amd64", "x32"), "arch_prctl"),
    ON_ARCH(NAMES("amd64", "x32", "x86"), "modify_ldt"),
    ON_ARCH(NAMES("s390", "s390x"), "s390_pci_mmio_read", "s390_pci_mmio_write",
            "s390_runtime_instr"),
    ON_ARCH(NAMES("riscv64"), "riscv_flush_icache"),

    /* capability-conditional */
    WITH_CAP("CAP_DAC_READ_SEARCH", "open_by_handle_at"),
    WITH_CAP("CAP_SYS_ADMIN", "bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount",
             "fsopen", "fspick", "lookup_dcookie", "lsm_get_self_attr", "lsm_list_modules",
             "lsm_set_self_attr", "mount", "mount_setattr", "move_mount", "open_tree",
             "perf_event_open", "quotactl", "quotactl_fd", "setdomainname", "sethostname", "setns",
             "syslog", "umount", "umount2", "unshare"),
    {.names = NAMES("clone"),
     .action = ALLOW,
     .errno_ret = NO_ERRNO,
     ARGS({0, CLONE_NS_FLAGS, 0, "SCMP_CMP_MASKED_EQ"}),
     .excludes = {.caps = NAMES("CAP_SYS_ADMIN"), .arches = NAMES("s390", "s390x")}},
    {.names = NAMES("clone"),
     .action = ALLOW,
     .errno_ret = NO_ERRNO,
     ARGS({1, CLONE_NS_FLAGS, 0, "SCMP_CMP_MASKED_EQ"}),
     .includes = {.arches = NAMES("s390", "s390x")},
     .excludes = {.caps = NAMES("CAP_SYS_ADMIN")}},
    CLONE_DENY(0x00020000ULL), /* CLONE_NEWNS */
    CLONE_DENY(0x02000000ULL), /* CLONE_NEWCGROUP */
    CLONE_DENY(0x04000000ULL), /* CLONE_NEWUTS */
    CLONE_DENY(0x08000000ULL), /* CLONE_NEWIPC */
    CLONE_DENY(0x10000000ULL), /* CLONE_NEWUSER */
    CLONE_DENY(0x20000000ULL), /* CLONE_NEWPID */
    CLONE_DENY(0x40000000ULL), /* CLONE_NEWNET */
    /* clone3's flags are in memory that seccomp cannot read: ENOSYS makes libcs use clone. */
    {.names = NAMES("clone3"),
     .action = ERRNO,
     .errno_ret = ENOSYS,
     .excludes = {.caps = NAMES("CAP_SYS_ADMIN")}},
    WITH_CAP("CAP_SYS_BOOT", "reboot"),
    WITH_CAP("CAP_SYS_CHROOT", "chroot"),
    WITH_CAP("CAP_SYS_MODULE", "delete_module", "init_module", "finit_module"),
    WITH_CAP("CAP_SYS_PACCT", "acct"),
    WITH_CAP("CAP_SYS_PTRACE", "kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv",
             "process_vm_writev", "ptrace"),
    WITH_CAP("CAP_SYS_RAWIO", "iopl", "ioperm"),
    WITH_CAP("CAP_SYS_TIME", "settimeofday", "stime", "clock_settime", "clock_settime64"),
    WITH_CAP("CAP_SYS_TTY_CONFIG", "vhangup"),
    WITH_CAP("CAP_SYS_NICE", "get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"),
    WITH_CAP("CAP_SYSLOG", "syslog"),
    WITH_CAP("CAP_BPF", "bpf"),
    WITH_CAP("CAP_PERFMON", "perf_event_open"),
};

/* Syscalls libseccomp 2.5.4 knows (on x86_64, x86, x32, aarch64 and arm) that no group above
 * names: docker denies them all (EPERM). io_uring among them: docker stopped allowing it. */
static char *denied[] = {
    "_sysctl",
    "add_key",
    "afs_syscall",
    "bdflush",
    "break",
    "create_module",
    "ftime",
    "get_kernel_syms",
    "get_tls",
    "getpmsg",
    "gtty",
    "idle",
    "io_uring_enter",
    "io_uring_register",
    "io_uring_setup",
    "kexec_file_load",
    "kexec_load",
    "keyctl",
    "lock",
    "migrate_pages",
    "move_pages",
    "mpx",
    "nfsservctl",
    "nice",
    "oldfstat",
    "oldlstat",
    "oldolduname",
    "oldstat",
    "olduname",
    "pciconfig_iobase",
    "pciconfig_read",
    "pciconfig_write",
    "pivot_root",
    "prof",
    "profil",
    "putpmsg",
    "query_module",
    "readdir",
    "request_key",
    "security",
    "sgetmask",
    "sigaction",
    "signal",
    "sigpending",
    "sigsuspend",
    "ssetmask",
    "stty",
    "swapoff",
    "swapon",
    "sysfs",
    "tuxcall",
    "ulimit",
    "uselib",
    "userfaultfd",
    "usr26",
    "usr32",
    "ustat",
    "vm86",
    "vm86old",
    "vserver",
    NULL,
};

static const struct berth_scmp_profile default_profile = {
    .default_action = ERRNO,
    .default_errno_ret = ENOSYS,
    .arch_map =
        (struct berth_scmp_arch[]){
            {"SCMP_ARCH_X86_64", NAMES("SCMP_ARCH_X86", "SCMP_ARCH_X32")},
            {"SCMP_ARCH_AARCH64", NAMES("SCMP_ARCH_ARM")},
            {"SCMP_ARCH_MIPS64", NAMES("SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64N32")},
            {"SCMP_ARCH_MIPS64N32", NAMES("SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64")},
            {"SCMP_ARCH_MIPSEL64", NAMES("SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64N32")},
            {"SCMP_ARCH_MIPSEL64N32", NAMES("SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64")},
            {"SCMP_ARCH_S390X", NAMES("SCMP_ARCH_S390")},
            {"SCMP_ARCH_RISCV64", NULL},
            {"SCMP_ARCH_LOONGARCH64", NULL},
        },
    .n_arch_map = 9,
    .groups = groups,
    .n_groups = ARRAY_SIZE(groups),
    .denied = denied,
};

const struct berth_scmp_profile *berth_scmp_profile_default(void)
{
        return &default_profile;
}
