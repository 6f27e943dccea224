/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The OCI runtime configuration (runtime-spec 1.0-1.2, config.md + config-linux.md) as typed C
 * structs. JSON is parsed once, at the edge (spec.c, with jansson); nothing else walks JSON.
 * Every "has_" flag says whether the optional field was present. Arrays are pointer + count.
 * Strings are owned by the spec and freed by berth_spec_free().
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/error.h"
#include "base/kv.h"

struct berth_id_map {
        uint32_t container_id;
        uint32_t host_id;
        uint32_t size;
};

/* ---- mounts ------------------------------------------------------------------------------ */

struct berth_mount {
        char *destination; /* absolute path inside the container (validated: absolute, no NUL) */
        char *type;        /* may be NULL (bind mounts) */
        char *source;      /* may be NULL */
        char **options;    /* NULL-terminated, raw strings from config.json; parsed by mount.c */
        struct berth_id_map *uid_mappings; /* idmapped mounts (1.1); parsed, not yet applied */
        size_t n_uid_mappings;
        struct berth_id_map *gid_mappings;
        size_t n_gid_mappings;
};

/* ---- process ----------------------------------------------------------------------------- */

enum {
        BERTH_CAP_BOUNDING,
        BERTH_CAP_EFFECTIVE,
        BERTH_CAP_INHERITABLE,
        BERTH_CAP_PERMITTED,
        BERTH_CAP_AMBIENT,
        BERTH_CAP__SETS
};

struct berth_caps {
        bool has[BERTH_CAP__SETS];     /* the set was present in config.json */
        uint64_t set[BERTH_CAP__SETS]; /* bit n = capability n (CAP_CHOWN = bit 0) */
};

/* "CAP_SYS_ADMIN" -> 21. Returns the number, or -EINVAL for an unknown name (also for names this
 * kernel does not have: above the last capability in /proc/sys/kernel/cap_last_cap). */
int berth_cap_from_name(const char *name);
/* Whether berth knows the name ("cap_bpf" too), whether or not the running kernel has it. */
bool berth_cap_name_known(const char *name);
/* 21 -> "CAP_SYS_ADMIN" (static string), NULL if unknown. */
const char *berth_cap_name(int cap);
/* The highest capability number the running kernel knows (cached). */
int berth_cap_last_cap(void);

struct berth_rlimit {
        int resource; /* RLIMIT_* */
        char *type;   /* as written, "RLIMIT_NOFILE", for error messages */
        uint64_t soft;
        uint64_t hard;
};

struct berth_scheduler {
        bool set;
        int policy; /* SCHED_* */
        int32_t nice;
        int32_t priority;
        uint64_t flags; /* SCHED_FLAG_* */
        uint64_t runtime, deadline, period;
};

struct berth_process {
        bool terminal;
        bool has_console_size;
        uint32_t console_height, console_width;
        uint32_t uid, gid;
        int32_t umask; /* -1 when unset */
        uint32_t *additional_gids;
        size_t n_additional_gids;
        char **args; /* NULL-terminated, non-empty */
        char **env;  /* NULL-terminated, may be empty (never NULL) */
        char *cwd;   /* absolute */
        bool has_caps;
        struct berth_caps caps;
        struct berth_rlimit *rlimits;
        size_t n_rlimits;
        bool no_new_privileges;
        char *apparmor_profile;
        char *selinux_label;
        bool has_oom_score_adj;
        int oom_score_adj;
        bool has_io_priority;
        int io_priority_class; /* IOPRIO_CLASS_RT / BE / IDLE */
        int io_priority;
        struct berth_scheduler scheduler;
        char *exec_cpu_affinity_initial; /* cpu list strings, 1.2 */
        char *exec_cpu_affinity_final;
};

/* ---- hooks ------------------------------------------------------------------------------- */

struct berth_hook {
        char *path;  /* absolute */
        char **args; /* NULL-terminated, may be NULL */
        char **env;  /* NULL-terminated, may be NULL */
        int timeout; /* seconds; 0 = none */
};

struct berth_hook_list {
        struct berth_hook *v;
        size_t n;
};

enum {
        BERTH_HOOK_PRESTART,
        BERTH_HOOK_CREATE_RUNTIME,
        BERTH_HOOK_CREATE_CONTAINER,
        BERTH_HOOK_START_CONTAINER,
        BERTH_HOOK_POSTSTART,
        BERTH_HOOK_POSTSTOP,
        BERTH_HOOK__MAX
};

/* "prestart", "createRuntime", ... */
const char *berth_hook_kind_name(int kind);

/* ---- linux ------------------------------------------------------------------------------- */

enum berth_ns_type {
        BERTH_NS_PID,
        BERTH_NS_NET,
        BERTH_NS_MNT,
        BERTH_NS_IPC,
        BERTH_NS_UTS,
        BERTH_NS_USER,
        BERTH_NS_CGROUP,
        BERTH_NS_TIME,
        BERTH_NS__MAX
};

struct berth_namespace {
        bool enabled; /* listed in linux.namespaces */
        char *path;   /* join this one instead of creating a new one; NULL = new */
};

/* "pid", "network", ...: the spec's names. */
const char *berth_ns_type_name(enum berth_ns_type t);
/* CLONE_NEWPID, ... */
int berth_ns_clone_flag(enum berth_ns_type t);
/* "pid", "net", "mnt", ...: the names under /proc/PID/ns/. */
const char *berth_ns_proc_name(enum berth_ns_type t);

struct berth_device {
        char *path; /* absolute, in the container */
        char type;  /* 'c', 'b', 'u', 'p' */
        int64_t major, minor;
        bool has_file_mode;
        uint32_t file_mode;
        bool has_uid, has_gid;
        uint32_t uid, gid;
};

enum berth_seccomp_action {
        BERTH_SCMP_KILL,
        BERTH_SCMP_KILL_PROCESS,
        BERTH_SCMP_KILL_THREAD,
        BERTH_SCMP_TRAP,
        BERTH_SCMP_ERRNO,
        BERTH_SCMP_TRACE,
        BERTH_SCMP_ALLOW,
        BERTH_SCMP_LOG,
        BERTH_SCMP_NOTIFY,
        BERTH_SCMP__ACTIONS
};

enum berth_seccomp_op {
        BERTH_SCMP_CMP_NE,
        BERTH_SCMP_CMP_LT,
        BERTH_SCMP_CMP_LE,
        BERTH_SCMP_CMP_EQ,
        BERTH_SCMP_CMP_GE,
        BERTH_SCMP_CMP_GT,
        BERTH_SCMP_CMP_MASKED_EQ,
        BERTH_SCMP_CMP__OPS
};

/* The names config.json gives them ("SCMP_ACT_ALLOW", "SCMP_CMP_EQ"), indexed by the enums: the
 * one list the parser, the runtime's messages, `features` and the engine's profiles use. */
extern const char *const berth_seccomp_action_names[BERTH_SCMP__ACTIONS];
extern const char *const berth_seccomp_op_names[BERTH_SCMP_CMP__OPS];

struct berth_seccomp_arg {
        unsigned index;
        uint64_t value;
        uint64_t value_two;
        enum berth_seccomp_op op;
};

struct berth_seccomp_rule {
        char **names; /* NULL-terminated */
        enum berth_seccomp_action action;
        bool has_errno_ret;
        uint32_t errno_ret;
        struct berth_seccomp_arg *args;
        size_t n_args;
};

struct berth_seccomp {
        enum berth_seccomp_action default_action;
        bool has_default_errno_ret;
        uint32_t default_errno_ret;
        char **architectures; /* NULL-terminated, "SCMP_ARCH_X86_64" as written */
        char **flags;         /* NULL-terminated, "SECCOMP_FILTER_FLAG_LOG" as written */
        char *listener_path;
        char *listener_metadata;
        struct berth_seccomp_rule *syscalls;
        size_t n_syscalls;
};

struct berth_time_offset {
        bool set;
        int64_t secs;
        uint32_t nanosecs;
};

struct berth_linux {
        struct berth_namespace ns[BERTH_NS__MAX];
        struct berth_id_map *uid_mappings;
        size_t n_uid_mappings;
        struct berth_id_map *gid_mappings;
        size_t n_gid_mappings;
        struct berth_time_offset time_monotonic, time_boottime;
        struct berth_device *devices;
        size_t n_devices;
        char *cgroups_path;
        char *
            resources_json; /* linux.resources re-serialized compactly; typed in the cgroup issue */
        struct berth_kv *sysctl;
        size_t n_sysctl;
        struct berth_seccomp *seccomp;    /* NULL = none */
        unsigned long rootfs_propagation; /* 0 = unset, else MS_SHARED|MS_REC, MS_SLAVE, ... */
        char **masked_paths;              /* NULL-terminated, never NULL */
        char **readonly_paths;            /* NULL-terminated, never NULL */
        char *mount_label;
        bool has_personality;
        unsigned long personality; /* PER_LINUX or PER_LINUX32 (flags or'ed in) */
};

/* ---- the whole config -------------------------------------------------------------------- */

struct berth_spec {
        char *oci_version;
        char *root_path; /* as written; relative to the bundle when not absolute */
        bool root_readonly;
        char *hostname;
        char *domainname;
        struct berth_mount *mounts;
        size_t n_mounts;
        bool has_process;
        struct berth_process process;
        struct berth_hook_list hooks[BERTH_HOOK__MAX];
        struct berth_kv *annotations;
        size_t n_annotations;
        struct berth_linux lx; /* "linux" (a predefined macro in GNU C) */
};

/*
 * Parses and validates config.json text. `origin` names the input in messages
 * ("config.json"). Errors name the field and, for JSON syntax errors, line and column:
 *   config.json:3:17: '[' or '{' expected near 'x'
 *   config.json: process.args: expected an array of strings, got integer
 *   config.json: linux.namespaces[2].type: unknown namespace type "foo"
 * Returns 0 with *ret set, or -EINVAL (or -ENOMEM) with err set.
 */
int berth_spec_parse(const char *json, size_t len, const char *origin, struct berth_spec **ret,
                     struct berth_error **err);

/* Reads dirfd/path (normally "<bundle>/config.json") and parses it; a bundle's config must also
 * name its ociVersion (REQUIRED by config.md), which berth_spec_parse() lets fragments leave out.
 */
int berth_spec_load(int dirfd, const char *path, struct berth_spec **ret, struct berth_error **err);

/* Parses a bare "process" object (for `exec --process FILE`). */
int berth_process_parse(const char *json, size_t len, const char *origin, struct berth_process *ret,
                        struct berth_error **err);
void berth_process_clear(struct berth_process *p);

void berth_spec_free(struct berth_spec *s);
static inline void berth_spec_freep(struct berth_spec **s)
{
        berth_spec_free(*s);
        *s = NULL;
}
#define _autospec_ __attribute__((cleanup(berth_spec_freep)))

/* The default config.json that `berth-oci spec` writes (runc's defaults; with `rootless`, runc's
 * rootless variant mapping the caller's uid/gid). Returns a malloc'ed, pretty-printed JSON text. */
char *berth_spec_default_json(bool rootless, uid_t uid, gid_t gid);

/* Hook entries (path/args/env/timeout) as a JSON array text, and back: the state dir keeps the
 * poststart and poststop hooks so `start` and `delete` need not re-read the bundle. */
char *berth_hooks_to_json(const struct berth_hook_list *list);
int berth_hooks_from_json(const char *json, struct berth_hook_list *ret, struct berth_error **err);
void berth_hook_list_clear(struct berth_hook_list *l);
