/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The "linux" section of config.json (runtime-spec config-linux.md): namespaces, id mappings,
 * time offsets, devices, cgroups path and resources, sysctl, seccomp, rootfs propagation,
 * masked and read-only paths, mount label and personality; intelRdt is refused.
 */
#include <inttypes.h>
#include <sys/mount.h>
#include <sys/personality.h>

#include "spec/spec-internal.h"
#include "base/syscalls.h"
#include "base/util.h"

/* ---- namespaces ---------------------------------------------------------------------------- */

static const struct {
        const char *name; /* config.json */
        const char *proc; /* /proc/PID/ns/ */
        int flag;
} ns_table[BERTH_NS__MAX] = {
    [BERTH_NS_PID] = {"pid", "pid", CLONE_NEWPID},
    [BERTH_NS_NET] = {"network", "net", CLONE_NEWNET},
    [BERTH_NS_MNT] = {"mount", "mnt", CLONE_NEWNS},
    [BERTH_NS_IPC] = {"ipc", "ipc", CLONE_NEWIPC},
    [BERTH_NS_UTS] = {"uts", "uts", CLONE_NEWUTS},
    [BERTH_NS_USER] = {"user", "user", CLONE_NEWUSER},
    [BERTH_NS_CGROUP] = {"cgroup", "cgroup", CLONE_NEWCGROUP},
    [BERTH_NS_TIME] = {"time", "time", CLONE_NEWTIME},
};

static bool ns_valid(enum berth_ns_type t)
{
        return (unsigned) t < BERTH_NS__MAX;
}

const char *berth_ns_type_name(enum berth_ns_type t)
{
        return ns_valid(t) ? ns_table[t].name : NULL;
}

int berth_ns_clone_flag(enum berth_ns_type t)
{
        return ns_valid(t) ? ns_table[t].flag : 0;
}

const char *berth_ns_proc_name(enum berth_ns_type t)
{
        return ns_valid(t) ? ns_table[t].proc : NULL;
}

static int ns_from_name(const char *name)
{
        for (int t = 0; t < BERTH_NS__MAX; t++)
                if (streq(ns_table[t].name, name))
                        return t;
        return -1;
}

static int parse_namespace(json_t *v, const struct spec_path *p, struct berth_linux *lx,
                           struct berth_error **err)
{
        _autofree_ char *type = NULL, *path = NULL;
        int t;

        if (spec_to_object(v, p, err) < 0 || spec_get_string(v, "type", p, REQ, &type, err) < 0 ||
            spec_get_string(v, "path", p, OPT, &path, err) < 0)
                return -EINVAL;
        t = ns_from_name(type);
        if (t < 0)
                return spec_error(err, FIELD(p, "type"), "unknown namespace type %s", QUOTE(type));
        if (lx->ns[t].enabled)
                return spec_error(err, FIELD(p, "type"), "duplicate namespace type %s",
                                  QUOTE(type));
        if (path && spec_check_absolute(path, FIELD(p, "path"), err) < 0)
                return -EINVAL;
        lx->ns[t].enabled = true;
        lx->ns[t].path = steal_ptr(&path);
        return 0;
}

static int parse_namespaces(const json_t *o, const struct spec_path *up, struct berth_linux *lx,
                            struct berth_error **err)
{
        const struct spec_path *p = FIELD(up, "namespaces");
        json_t *a = NULL;
        int r;

        r = spec_get_array(o, "namespaces", up, OPT, &a, err);
        if (r <= 0)
                return r;
        for (size_t i = 0; i < json_array_size(a); i++) {
                r = parse_namespace(json_array_get(a, i), INDEX(p, i), lx, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* A new user namespace needs both maps (runc's rule too); joining one or none takes none. */
static int check_user_mappings(const struct berth_linux *lx, const struct spec_path *up,
                               struct berth_error **err)
{
        const struct berth_namespace *user = &lx->ns[BERTH_NS_USER];
        bool has_uid = lx->n_uid_mappings > 0, has_gid = lx->n_gid_mappings > 0;
        const char *key = has_uid ? "uidMappings" : "gidMappings";

        if (!user->enabled && (has_uid || has_gid))
                return spec_error(err, FIELD(up, key),
                                  "requires a new user namespace (linux.namespaces)");
        if (user->enabled && user->path && (has_uid || has_gid))
                return spec_error(err, FIELD(up, key),
                                  "cannot be used when joining the user namespace %s",
                                  QUOTE(user->path));
        if (user->enabled && !user->path && (!has_uid || !has_gid))
                return spec_error(err, FIELD(up, has_uid ? "gidMappings" : "uidMappings"),
                                  "required for a new user namespace (linux.namespaces)");
        return 0;
}

/* ---- time offsets -------------------------------------------------------------------------- */

static int parse_time_offset(json_t *v, const struct spec_path *p, struct berth_time_offset *t,
                             struct berth_error **err)
{
        if (spec_to_object(v, p, err) < 0 ||
            spec_get_i64(v, "secs", p, OPT, INT64_MIN, INT64_MAX, &t->secs, err) < 0)
                return -EINVAL;
        if (spec_get_u32(v, "nanosecs", p, OPT, &t->nanosecs, err) < 0)
                return -EINVAL;
        if (t->nanosecs > 999999999)
                return spec_error(err, FIELD(p, "nanosecs"),
                                  "%" PRIu32 " is out of range (0..999999999)", t->nanosecs);
        t->set = true;
        return 0;
}

static int parse_time_offsets(const json_t *o, const struct spec_path *up, struct berth_linux *lx,
                              struct berth_error **err)
{
        const struct spec_path *p = FIELD(up, "timeOffsets");
        const struct berth_namespace *time_ns = &lx->ns[BERTH_NS_TIME];
        json_t *offsets = NULL, *v;
        const char *clock;
        int r;

        r = spec_get_object(o, "timeOffsets", up, OPT, &offsets, err);
        if (r <= 0 || json_object_size(offsets) == 0)
                return r;
        if (!time_ns->enabled || time_ns->path)
                return spec_error(err, p, "requires a new time namespace (linux.namespaces)");
        json_object_foreach(offsets, clock, v)
        {
                struct berth_time_offset *t = streq(clock, "monotonic")  ? &lx->time_monotonic
                                              : streq(clock, "boottime") ? &lx->time_boottime
                                                                         : NULL;

                if (!t)
                        return spec_error(err, p,
                                          "unknown clock %s (expected \"monotonic\" or "
                                          "\"boottime\")",
                                          QUOTE(clock));
                if (parse_time_offset(v, FIELD(p, clock), t, err) < 0)
                        return -EINVAL;
        }
        return 0;
}

/* ---- devices ------------------------------------------------------------------------------- */

static void clear_device(void *elem)
{
        struct berth_device *d = elem;

        free(d->path);
}

/* The kernel's dev_t keeps 12 bits of major and 20 bits of minor. */
#define DEV_MAJOR_MAX 4095
#define DEV_MINOR_MAX 1048575

static int parse_device(json_t *v, const struct spec_path *p, void *elem, struct berth_error **err)
{
        struct berth_device *d = elem;
        _autofree_ char *type = NULL;
        enum spec_need need;
        int r;

        if (spec_to_object(v, p, err) < 0 || spec_get_string(v, "type", p, REQ, &type, err) < 0)
                return -EINVAL;
        if (strlen(type) != 1 || !strchr("cbup", type[0]))
                return spec_error(err, FIELD(p, "type"),
                                  "unknown device type %s (expected c, b, u or p)", QUOTE(type));
        d->type = type[0];
        need = d->type == 'p' ? OPT : REQ;
        if (spec_get_string(v, "path", p, REQ, &d->path, err) < 0 ||
            spec_check_absolute(d->path, FIELD(p, "path"), err) < 0 ||
            spec_get_i64(v, "major", p, need, 0, DEV_MAJOR_MAX, &d->major, err) < 0 ||
            spec_get_i64(v, "minor", p, need, 0, DEV_MINOR_MAX, &d->minor, err) < 0)
                return -EINVAL;
        r = spec_get_u32(v, "fileMode", p, OPT, &d->file_mode, err);
        if (r < 0)
                return r;
        d->has_file_mode = r > 0;
        r = spec_get_u32(v, "uid", p, OPT, &d->uid, err);
        if (r < 0)
                return r;
        d->has_uid = r > 0;
        r = spec_get_u32(v, "gid", p, OPT, &d->gid, err);
        if (r < 0)
                return r;
        d->has_gid = r > 0;
        return 0;
}

/* ---- resources ----------------------------------------------------------------------------- */

/* Turns the "\u0000<digits>" stand-ins for big unsigned integers back into numbers. */
static void restore_bigints(char *s)
{
        static const char marker[] = "\"\\u0000";
        char *w = s;

        for (char *r = s; *r;) {
                size_t n = 0;

                if (startswith(r, marker) && (r == s || r[-1] != '\\')) {
                        char *d = r + strlen(marker);

                        n = strspn(d, "0123456789");
                        if (n > 0 && d[n] == '"') {
                                memmove(w, d, n);
                                w += n;
                                r = d + n + 1;
                                continue;
                        }
                }
                *w++ = *r++;
        }
        *w = '\0';
}

static int parse_resources(const json_t *o, const struct spec_path *up, struct berth_linux *lx,
                           struct berth_error **err)
{
        json_t *res = NULL;
        int r;

        r = spec_get_object(o, "resources", up, OPT, &res, err);
        if (r <= 0)
                return r;
        free(lx->resources_json);
        lx->resources_json = json_dumps(res, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (!lx->resources_json)
                return berth_error_setx(err, ENOMEM, "linux.resources: cannot serialize");
        restore_bigints(lx->resources_json);
        return 0;
}

/* ---- seccomp ------------------------------------------------------------------------------- */

const char *const berth_seccomp_action_names[BERTH_SCMP__ACTIONS] = {
    [BERTH_SCMP_KILL] = "SCMP_ACT_KILL",
    [BERTH_SCMP_KILL_PROCESS] = "SCMP_ACT_KILL_PROCESS",
    [BERTH_SCMP_KILL_THREAD] = "SCMP_ACT_KILL_THREAD",
    [BERTH_SCMP_TRAP] = "SCMP_ACT_TRAP",
    [BERTH_SCMP_ERRNO] = "SCMP_ACT_ERRNO",
    [BERTH_SCMP_TRACE] = "SCMP_ACT_TRACE",
    [BERTH_SCMP_ALLOW] = "SCMP_ACT_ALLOW",
    [BERTH_SCMP_LOG] = "SCMP_ACT_LOG",
    [BERTH_SCMP_NOTIFY] = "SCMP_ACT_NOTIFY",
};

const char *const berth_seccomp_op_names[BERTH_SCMP_CMP__OPS] = {
    [BERTH_SCMP_CMP_NE] = "SCMP_CMP_NE",
    [BERTH_SCMP_CMP_LT] = "SCMP_CMP_LT",
    [BERTH_SCMP_CMP_LE] = "SCMP_CMP_LE",
    [BERTH_SCMP_CMP_EQ] = "SCMP_CMP_EQ",
    [BERTH_SCMP_CMP_GE] = "SCMP_CMP_GE",
    [BERTH_SCMP_CMP_GT] = "SCMP_CMP_GT",
    [BERTH_SCMP_CMP_MASKED_EQ] = "SCMP_CMP_MASKED_EQ",
};

/* The index of name in names[n], or -1. */
static long name_index(const char *const *names, size_t n, const char *name)
{
        for (size_t i = 0; i < n; i++)
                if (streq(names[i], name))
                        return (long) i;
        return -1;
}

/* seccomp(2) returns 16 bits of data (SECCOMP_RET_DATA) with ERRNO and TRACE. */
#define SECCOMP_DATA_MAX 65535

/* Reads a named constant from `table`; "unknown <what> "x"" otherwise. */
static int get_enum(const json_t *o, const char *key, const struct spec_path *up,
                    const struct spec_name *table, const char *what, long *ret,
                    struct berth_error **err)
{
        _autofree_ char *s = NULL;

        if (spec_get_string(o, key, up, REQ, &s, err) < 0)
                return -EINVAL;
        if (spec_lookup(table, s, ret) < 0)
                return spec_error(err, FIELD(up, key), "unknown %s %s", what, QUOTE(s));
        return 0;
}

/* One of names[n] (berth_seccomp_action_names, _op_names): its index in *ret. */
static int get_named(const json_t *o, const char *key, const struct spec_path *up,
                     const char *const *names, size_t n, const char *what, long *ret,
                     struct berth_error **err)
{
        _autofree_ char *s = NULL;

        if (spec_get_string(o, key, up, REQ, &s, err) < 0)
                return -EINVAL;
        *ret = name_index(names, n, s);
        if (*ret < 0)
                return spec_error(err, FIELD(up, key), "unknown %s %s", what, QUOTE(s));
        return 0;
}

static int get_action(const json_t *o, const char *key, const struct spec_path *up,
                      enum berth_seccomp_action *ret, struct berth_error **err)
{
        long v;

        if (get_named(o, key, up, berth_seccomp_action_names, BERTH_SCMP__ACTIONS, "seccomp action",
                      &v, err) < 0)
                return -EINVAL;
        *ret = (enum berth_seccomp_action) v;
        return 0;
}

/* errnoRet / defaultErrnoRet: only meaningful (and accepted) with ERRNO and TRACE. */
static int get_errno_ret(const json_t *o, const char *key, const struct spec_path *up,
                         enum berth_seccomp_action action, uint32_t *ret, struct berth_error **err)
{
        uint64_t v;
        int r;

        r = spec_get_u64(o, key, up, OPT, SECCOMP_DATA_MAX, &v, err);
        if (r <= 0)
                return r;
        if (action != BERTH_SCMP_ERRNO && action != BERTH_SCMP_TRACE)
                return spec_error(err, FIELD(up, key),
                                  "only valid with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not %s",
                                  berth_seccomp_action_names[action]);
        *ret = (uint32_t) v;
        return 1;
}

static void clear_nothing(void *elem)
{
}

static int parse_seccomp_arg(json_t *v, const struct spec_path *p, void *elem,
                             struct berth_error **err)
{
        struct berth_seccomp_arg *a = elem;
        int64_t index;
        long op;

        if (spec_to_object(v, p, err) < 0 ||
            spec_get_i64(v, "index", p, REQ, 0, 5, &index, err) < 0 ||
            spec_get_u64(v, "value", p, REQ, UINT64_MAX, &a->value, err) < 0 ||
            spec_get_u64(v, "valueTwo", p, OPT, UINT64_MAX, &a->value_two, err) < 0 ||
            get_named(v, "op", p, berth_seccomp_op_names, BERTH_SCMP_CMP__OPS, "seccomp operator",
                      &op, err) < 0)
                return -EINVAL;
        a->index = (unsigned) index;
        a->op = (enum berth_seccomp_op) op;
        return 0;
}

static void clear_seccomp_rule(void *elem)
{
        struct berth_seccomp_rule *rule = elem;

        strv_free(rule->names);
        free(rule->args);
}

static int parse_seccomp_rule(json_t *v, const struct spec_path *p, void *elem,
                              struct berth_error **err)
{
        struct berth_seccomp_rule *rule = elem;
        int r;

        if (spec_to_object(v, p, err) < 0 ||
            spec_get_strv(v, "names", p, REQ, &rule->names, err) < 0)
                return -EINVAL;
        if (!rule->names[0])
                return spec_error(err, FIELD(p, "names"), "must not be empty");
        if (get_action(v, "action", p, &rule->action, err) < 0)
                return -EINVAL;
        r = get_errno_ret(v, "errnoRet", p, rule->action, &rule->errno_ret, err);
        if (r < 0)
                return r;
        rule->has_errno_ret = r > 0;
        return spec_get_list(v, "args", p, OPT, sizeof(struct berth_seccomp_arg), parse_seccomp_arg,
                             clear_nothing, &rule->args, &rule->n_args, err);
}

static void seccomp_free(struct berth_seccomp *sc)
{
        if (!sc)
                return;
        strv_free(sc->architectures);
        strv_free(sc->flags);
        free(sc->listener_path);
        free(sc->listener_metadata);
        for (size_t i = 0; i < sc->n_syscalls; i++)
                clear_seccomp_rule(&sc->syscalls[i]);
        free(sc->syscalls);
        free(sc);
}

/* SCMP_ACT_NOTIFY hands syscalls to an agent: it needs the agent's socket, and the kernel
 * refuses it as the default action. */
static int check_seccomp_notify(const struct berth_seccomp *sc, const struct spec_path *p,
                                struct berth_error **err)
{
        if (sc->default_action == BERTH_SCMP_NOTIFY)
                return spec_error(err, FIELD(p, "defaultAction"),
                                  "SCMP_ACT_NOTIFY cannot be the default action");
        if (sc->listener_metadata && !sc->listener_path)
                return spec_error(err, FIELD(p, "listenerMetadata"),
                                  "requires linux.seccomp.listenerPath");
        for (size_t i = 0; i < sc->n_syscalls; i++)
                if (sc->syscalls[i].action == BERTH_SCMP_NOTIFY && !sc->listener_path)
                        return spec_error(err, FIELD(INDEX(FIELD(p, "syscalls"), i), "action"),
                                          "SCMP_ACT_NOTIFY requires linux.seccomp.listenerPath");
        return 0;
}

static int parse_seccomp_fields(const json_t *o, const struct spec_path *p,
                                struct berth_seccomp *sc, struct berth_error **err)
{
        int r;

        if (get_action(o, "defaultAction", p, &sc->default_action, err) < 0)
                return -EINVAL;
        r = get_errno_ret(o, "defaultErrnoRet", p, sc->default_action, &sc->default_errno_ret, err);
        if (r < 0)
                return r;
        sc->has_default_errno_ret = r > 0;
        if (spec_get_strv0(o, "architectures", p, &sc->architectures, err) < 0 ||
            spec_get_strv0(o, "flags", p, &sc->flags, err) < 0 ||
            spec_get_string(o, "listenerPath", p, OPT, &sc->listener_path, err) < 0 ||
            spec_get_string(o, "listenerMetadata", p, OPT, &sc->listener_metadata, err) < 0)
                return -EINVAL;
        r = spec_get_list(o, "syscalls", p, OPT, sizeof(struct berth_seccomp_rule),
                          parse_seccomp_rule, clear_seccomp_rule, &sc->syscalls, &sc->n_syscalls,
                          err);
        if (r < 0)
                return r;
        return check_seccomp_notify(sc, p, err);
}

static int parse_seccomp(const json_t *o, const struct spec_path *up, struct berth_linux *lx,
                         struct berth_error **err)
{
        json_t *so = NULL;
        struct berth_seccomp *sc;
        int r;

        r = spec_get_object(o, "seccomp", up, OPT, &so, err);
        if (r <= 0)
                return r;
        sc = xcalloc(1, sizeof(*sc));
        r = parse_seccomp_fields(so, FIELD(up, "seccomp"), sc, err);
        if (r < 0) {
                seccomp_free(sc);
                return r;
        }
        lx->seccomp = sc;
        return 0;
}

/* ---- propagation, paths, personality ------------------------------------------------------- */

static const struct spec_name propagations[] = {
    {"shared", MS_SHARED},
    {"slave", MS_SLAVE},
    {"private", MS_PRIVATE},
    {"unbindable", MS_UNBINDABLE},
    {"rshared", MS_SHARED | MS_REC},
    {"rslave", MS_SLAVE | MS_REC},
    {"rprivate", MS_PRIVATE | MS_REC},
    {"runbindable", MS_UNBINDABLE | MS_REC},
    {NULL, 0},
};

static int parse_propagation(const json_t *o, const struct spec_path *up, struct berth_linux *lx,
                             struct berth_error **err)
{
        _autofree_ char *s = NULL;
        long v;
        int r;

        r = spec_get_string(o, "rootfsPropagation", up, OPT, &s, err);
        if (r <= 0)
                return r;
        if (spec_lookup(propagations, s, &v) < 0)
                return spec_error(err, FIELD(up, "rootfsPropagation"),
                                  "unknown propagation %s (expected [r]shared, [r]slave, "
                                  "[r]private or [r]unbindable)",
                                  QUOTE(s));
        lx->rootfs_propagation = (unsigned long) v;
        return 0;
}

static int get_abs_paths(const json_t *o, const char *key, const struct spec_path *up, char ***ret,
                         struct berth_error **err)
{
        if (spec_get_strv0(o, key, up, ret, err) < 0)
                return -EINVAL;
        for (size_t i = 0; (*ret)[i]; i++)
                if (spec_check_absolute((*ret)[i], INDEX(FIELD(up, key), i), err) < 0)
                        return -EINVAL;
        return 0;
}

static const struct spec_name personality_domains[] = {
    {"LINUX", PER_LINUX},
    {"LINUX32", PER_LINUX32},
    {NULL, 0},
};

static int parse_personality(const json_t *o, const struct spec_path *up, struct berth_linux *lx,
                             struct berth_error **err)
{
        const struct spec_path *p = FIELD(up, "personality");
        _autostrv_ char **flags = NULL;
        json_t *po = NULL;
        long domain;
        int r;

        r = spec_get_object(o, "personality", up, OPT, &po, err);
        if (r <= 0)
                return r;
        if (get_enum(po, "domain", p, personality_domains, "personality domain", &domain, err) <
                0 ||
            spec_get_strv(po, "flags", p, OPT, &flags, err) < 0)
                return -EINVAL;
        /* The spec defines no flags yet. */
        if (flags && flags[0])
                return spec_error(err, INDEX(FIELD(p, "flags"), 0), "unknown personality flag %s",
                                  QUOTE(flags[0]));
        lx->has_personality = true;
        lx->personality = (unsigned long) domain;
        return 0;
}

/* ---- intelRdt ------------------------------------------------------------------------------ */

/*
 * berth does not manage Intel RDT. A config that sets intelRdt asks for the container's pid in a
 * resctrl group (config-linux.md: the runtime "MUST write the container process ID to the tasks
 * file", and "MUST generate an error" when no resctrl is mounted): running it outside that class
 * of service would ignore the field silently, so it is refused, after the checks the spec makes
 * on its values.
 */
static int parse_intel_rdt(const json_t *o, const struct spec_path *up, struct berth_error **err)
{
        const struct spec_path *p = FIELD(up, "intelRdt");
        _autofree_ char *clos = NULL, *l3 = NULL, *mb = NULL;
        json_t *rdt = NULL;
        bool flag;
        int r;

        r = spec_get_object(o, "intelRdt", up, OPT, &rdt, err);
        if (r <= 0)
                return r;
        if (spec_get_string(rdt, "closID", p, OPT, &clos, err) < 0 ||
            spec_get_string(rdt, "l3CacheSchema", p, OPT, &l3, err) < 0 ||
            spec_get_string(rdt, "memBwSchema", p, OPT, &mb, err) < 0 ||
            spec_get_bool(rdt, "enableCMT", p, &flag, err) < 0 ||
            spec_get_bool(rdt, "enableMBM", p, &flag, err) < 0)
                return -EINVAL;
        if (mb && (!startswith(mb, "MB:") || strchr(mb, '\n')))
                return spec_error(err, FIELD(p, "memBwSchema"),
                                  "%s must start with \"MB:\" and hold no newline", QUOTE(mb));
        return spec_error(err, p,
                          "Intel RDT (resctrl) is not supported by berth-oci; remove the field to "
                          "run without a class of service");
}

/* ---- the section --------------------------------------------------------------------------- */

static int parse_linux_fields(const json_t *o, const struct spec_path *p, struct berth_linux *lx,
                              struct berth_error **err)
{
        if (parse_namespaces(o, p, lx, err) < 0 ||
            spec_get_id_maps(o, "uidMappings", p, &lx->uid_mappings, &lx->n_uid_mappings, err) <
                0 ||
            spec_get_id_maps(o, "gidMappings", p, &lx->gid_mappings, &lx->n_gid_mappings, err) <
                0 ||
            check_user_mappings(lx, p, err) < 0 || parse_time_offsets(o, p, lx, err) < 0)
                return -EINVAL;
        if (spec_get_list(o, "devices", p, OPT, sizeof(struct berth_device), parse_device,
                          clear_device, &lx->devices, &lx->n_devices, err) < 0)
                return -EINVAL;
        if (spec_get_string(o, "cgroupsPath", p, OPT, &lx->cgroups_path, err) < 0 ||
            parse_resources(o, p, lx, err) < 0 ||
            spec_get_kv(o, "sysctl", p, &lx->sysctl, &lx->n_sysctl, err) < 0 ||
            parse_seccomp(o, p, lx, err) < 0 || parse_propagation(o, p, lx, err) < 0)
                return -EINVAL;
        if (get_abs_paths(o, "maskedPaths", p, &lx->masked_paths, err) < 0 ||
            get_abs_paths(o, "readonlyPaths", p, &lx->readonly_paths, err) < 0 ||
            spec_get_string(o, "mountLabel", p, OPT, &lx->mount_label, err) < 0 ||
            parse_intel_rdt(o, p, err) < 0)
                return -EINVAL;
        return parse_personality(o, p, lx, err);
}

int spec_parse_linux(const json_t *root, struct berth_linux *lx, struct berth_error **err)
{
        json_t *o = NULL;
        int r;

        r = spec_get_object(root, "linux", NULL, OPT, &o, err);
        if (r < 0)
                return r;
        if (r == 0) {
                /* no "linux": the vectors that are never NULL still must be set */
                lx->masked_paths = xcalloc(1, sizeof(char *));
                lx->readonly_paths = xcalloc(1, sizeof(char *));
                return 0;
        }
        return parse_linux_fields(o, FIELD(NULL, "linux"), lx, err);
}

void spec_linux_clear(struct berth_linux *lx)
{
        for (int t = 0; t < BERTH_NS__MAX; t++)
                free(lx->ns[t].path);
        free(lx->uid_mappings);
        free(lx->gid_mappings);
        for (size_t i = 0; i < lx->n_devices; i++)
                clear_device(&lx->devices[i]);
        free(lx->devices);
        free(lx->cgroups_path);
        free(lx->resources_json);
        berth_kv_free(lx->sysctl, lx->n_sysctl);
        seccomp_free(lx->seccomp);
        strv_free(lx->masked_paths);
        strv_free(lx->readonly_paths);
        free(lx->mount_label);
        memset(lx, 0, sizeof(*lx));
}
