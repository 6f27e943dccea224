/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.json (runtime-spec 1.0-1.2, config.md) into struct berth_spec: root, hostname, mounts,
 * process, hooks, annotations; the "linux" section is in spec-linux.c, the JSON toolkit in
 * spec-json.c. Unknown properties are ignored, as the spec requires.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <strings.h>
#include <sys/resource.h>

#include "base/log.h"
#include "spec/spec-internal.h"
#include "base/syscalls.h"
#include "base/json.h"
#include "base/util.h"

#ifndef SCHED_ISO
#define SCHED_ISO 4 /* reserved by the kernel, never implemented; the spec lists it */
#endif
#ifndef SCHED_DEADLINE
#define SCHED_DEADLINE 6 /* Linux 3.14 */
#endif

/* ---- names --------------------------------------------------------------------------------- */

static const char *const hook_kinds[BERTH_HOOK__MAX] = {
    [BERTH_HOOK_PRESTART] = "prestart",
    [BERTH_HOOK_CREATE_RUNTIME] = "createRuntime",
    [BERTH_HOOK_CREATE_CONTAINER] = "createContainer",
    [BERTH_HOOK_START_CONTAINER] = "startContainer",
    [BERTH_HOOK_POSTSTART] = "poststart",
    [BERTH_HOOK_POSTSTOP] = "poststop",
};

const char *berth_hook_kind_name(int kind)
{
        return kind >= 0 && kind < BERTH_HOOK__MAX ? hook_kinds[kind] : NULL;
}

static const struct spec_name rlimit_types[] = {
    {"RLIMIT_AS", RLIMIT_AS},
    {"RLIMIT_CORE", RLIMIT_CORE},
    {"RLIMIT_CPU", RLIMIT_CPU},
    {"RLIMIT_DATA", RLIMIT_DATA},
    {"RLIMIT_FSIZE", RLIMIT_FSIZE},
    {"RLIMIT_LOCKS", RLIMIT_LOCKS},
    {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
    {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
    {"RLIMIT_NICE", RLIMIT_NICE},
    {"RLIMIT_NOFILE", RLIMIT_NOFILE},
    {"RLIMIT_NPROC", RLIMIT_NPROC},
    {"RLIMIT_RSS", RLIMIT_RSS},
    {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
    {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
    {"RLIMIT_STACK", RLIMIT_STACK},
    {NULL, 0},
};

static const struct spec_name io_classes[] = {
    {"IOPRIO_CLASS_RT", IOPRIO_CLASS_RT},
    {"IOPRIO_CLASS_BE", IOPRIO_CLASS_BE},
    {"IOPRIO_CLASS_IDLE", IOPRIO_CLASS_IDLE},
    {NULL, 0},
};

static const struct spec_name sched_policies[] = {
    {"SCHED_OTHER", SCHED_OTHER},
    {"SCHED_FIFO", SCHED_FIFO},
    {"SCHED_RR", SCHED_RR},
    {"SCHED_BATCH", SCHED_BATCH},
    {"SCHED_ISO", SCHED_ISO},
    {"SCHED_IDLE", SCHED_IDLE},
    {"SCHED_DEADLINE", SCHED_DEADLINE},
    {NULL, 0},
};

/* include/uapi/linux/sched.h */
static const struct spec_name sched_flags[] = {
    {"SCHED_FLAG_RESET_ON_FORK", 0x01},  {"SCHED_FLAG_RECLAIM", 0x02},
    {"SCHED_FLAG_DL_OVERRUN", 0x04},     {"SCHED_FLAG_KEEP_POLICY", 0x08},
    {"SCHED_FLAG_KEEP_PARAMS", 0x10},    {"SCHED_FLAG_UTIL_CLAMP_MIN", 0x20},
    {"SCHED_FLAG_UTIL_CLAMP_MAX", 0x40}, {NULL, 0},
};

/* Reads a required string naming a constant of `table`. */
static int get_name(const json_t *o, const char *key, const struct spec_path *up,
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

/* ---- process ------------------------------------------------------------------------------- */

static int parse_console_size(const json_t *o, const struct spec_path *up,
                              struct berth_process *proc, struct berth_error **err)
{
        const struct spec_path *p = FIELD(up, "consoleSize");
        json_t *cs = NULL;
        int h, w, r;

        r = spec_get_object(o, "consoleSize", up, OPT, &cs, err);
        if (r <= 0)
                return r;
        /* struct winsize holds unsigned shorts */
        if (spec_get_int(cs, "height", p, REQ, 0, USHRT_MAX, &h, err) < 0 ||
            spec_get_int(cs, "width", p, REQ, 0, USHRT_MAX, &w, err) < 0)
                return -EINVAL;
        proc->has_console_size = true;
        proc->console_height = (uint32_t) h;
        proc->console_width = (uint32_t) w;
        return 0;
}

static int get_gids(const json_t *o, const char *key, const struct spec_path *up,
                    struct berth_process *proc, struct berth_error **err)
{
        const struct spec_path *p = FIELD(up, key);
        _autofree_ uint32_t *gids = NULL;
        json_t *a = NULL;
        size_t n;
        int r;

        r = spec_get_array(o, key, up, OPT, &a, err);
        if (r <= 0)
                return r;
        n = json_array_size(a);
        gids = n > 0 ? xcalloc(n, sizeof(*gids)) : NULL;
        for (size_t i = 0; i < n; i++) {
                uint64_t g;

                if (spec_to_u64(json_array_get(a, i), INDEX(p, i), UINT32_MAX, &g, err) < 0)
                        return -EINVAL;
                gids[i] = (uint32_t) g;
        }
        free(proc->additional_gids);
        proc->additional_gids = steal_ptr(&gids);
        proc->n_additional_gids = n;
        return 0;
}

static int parse_user(const json_t *o, const struct spec_path *up, struct berth_process *proc,
                      struct berth_error **err)
{
        const struct spec_path *p = FIELD(up, "user");
        json_t *u = NULL;
        int r;

        r = spec_get_object(o, "user", up, OPT, &u, err);
        if (r <= 0)
                return r;
        if (spec_get_u32(u, "uid", p, OPT, &proc->uid, err) < 0 ||
            spec_get_u32(u, "gid", p, OPT, &proc->gid, err) < 0 ||
            spec_get_int(u, "umask", p, OPT, 0, 0777, &proc->umask, err) < 0)
                return -EINVAL;
        return get_gids(u, "additionalGids", p, proc, err);
}

static const char *const cap_set_keys[BERTH_CAP__SETS] = {
    [BERTH_CAP_BOUNDING] = "bounding",       [BERTH_CAP_EFFECTIVE] = "effective",
    [BERTH_CAP_INHERITABLE] = "inheritable", [BERTH_CAP_PERMITTED] = "permitted",
    [BERTH_CAP_AMBIENT] = "ambient",
};

/* Capability names that cannot be granted, each with the sets that list it. */
struct cap_unknowns {
        struct {
                char *name;
                unsigned sets; /* 1 << BERTH_CAP_* */
        } * v;
        size_t n;
};

static void note_unknown_cap(struct cap_unknowns *u, const char *name, int set)
{
        for (size_t i = 0; i < u->n; i++)
                if (streq(u->v[i].name, name)) {
                        u->v[i].sets |= 1u << set;
                        return;
                }
        u->v = xreallocarray(u->v, u->n + 1, sizeof(*u->v));
        u->v[u->n].name = xstrdup(name);
        u->v[u->n++].sets = 1u << set;
}

/* runtime-spec: "runtimes SHOULD NOT fail if the container configuration requests capabilities
 * that cannot be granted" (runc warns, crun is silent): one warning per name, with its sets. */
static void warn_unknown_caps(const struct spec_path *p, struct cap_unknowns *u)
{
        for (size_t i = 0; i < u->n; i++) {
                char sets[64] = "";
                size_t len = 0;

                for (int set = 0; set < BERTH_CAP__SETS; set++)
                        if (u->v[i].sets & (1u << set))
                                len += (size_t) snprintf(sets + len, sizeof(sets) - len, "%s%s",
                                                         len ? ", " : "", cap_set_keys[set]);
                if (berth_cap_name_known(u->v[i].name))
                        spec_warn(p,
                                  "capability %s (in %s) is not supported by this kernel "
                                  "(/proc/sys/kernel/cap_last_cap is %d), ignoring",
                                  QUOTE(u->v[i].name), sets, berth_cap_last_cap());
                else
                        spec_warn(p, "unknown capability %s (in %s), ignoring", QUOTE(u->v[i].name),
                                  sets);
                free(u->v[i].name);
        }
        free(u->v);
        *u = (struct cap_unknowns){0};
}

static int parse_cap_set(const json_t *o, int set, const struct spec_path *up,
                         struct berth_caps *caps, struct cap_unknowns *unknown,
                         struct berth_error **err)
{
        _autostrv_ char **names = NULL;
        int r;

        r = spec_get_strv(o, cap_set_keys[set], up, OPT, &names, err);
        if (r <= 0)
                return r;
        caps->has[set] = true;
        for (size_t i = 0; names[i]; i++) {
                int cap = berth_cap_from_name(names[i]);

                if (cap < 0)
                        note_unknown_cap(unknown, names[i], set);
                else
                        caps->set[set] |= UINT64_C(1) << cap;
        }
        return 0;
}

static int parse_caps(const json_t *o, const struct spec_path *up, struct berth_process *proc,
                      struct berth_error **err)
{
        const struct spec_path *p = FIELD(up, "capabilities");
        struct cap_unknowns unknown = {0};
        json_t *c = NULL;
        int r = 0;

        r = spec_get_object(o, "capabilities", up, OPT, &c, err);
        if (r <= 0)
                return r;
        for (int set = 0; r >= 0 && set < BERTH_CAP__SETS; set++)
                r = parse_cap_set(c, set, p, &proc->caps, &unknown, err);
        if (r < 0) {
                for (size_t i = 0; i < unknown.n; i++)
                        free(unknown.v[i].name);
                free(unknown.v);
                return -EINVAL;
        }
        warn_unknown_caps(p, &unknown);
        proc->has_caps = true;
        return 0;
}

static void clear_rlimit(void *elem)
{
        struct berth_rlimit *rl = elem;

        free(rl->type);
}

static int parse_rlimit(json_t *v, const struct spec_path *p, void *elem, struct berth_error **err)
{
        struct berth_rlimit *rl = elem;
        long resource;

        if (spec_to_object(v, p, err) < 0 ||
            get_name(v, "type", p, rlimit_types, "rlimit type", &resource, err) < 0 ||
            spec_get_string(v, "type", p, REQ, &rl->type, err) < 0 ||
            spec_get_u64(v, "soft", p, REQ, UINT64_MAX, &rl->soft, err) < 0 ||
            spec_get_u64(v, "hard", p, REQ, UINT64_MAX, &rl->hard, err) < 0)
                return -EINVAL;
        rl->resource = (int) resource;
        if (rl->soft > rl->hard)
                return spec_error(err, p, "soft limit %" PRIu64 " is above the hard limit %" PRIu64,
                                  rl->soft, rl->hard);
        return 0;
}

static int parse_rlimits(const json_t *o, const struct spec_path *up, struct berth_process *proc,
                         struct berth_error **err)
{
        const struct spec_path *p = FIELD(up, "rlimits");
        int r;

        r = spec_get_list(o, "rlimits", up, OPT, sizeof(struct berth_rlimit), parse_rlimit,
                          clear_rlimit, &proc->rlimits, &proc->n_rlimits, err);
        if (r <= 0)
                return r;
        for (size_t i = 1; i < proc->n_rlimits; i++)
                for (size_t j = 0; j < i; j++)
                        if (proc->rlimits[i].resource == proc->rlimits[j].resource)
                                return spec_error(err, FIELD(INDEX(p, i), "type"),
                                                  "duplicate rlimit %s (also in rlimits[%zu])",
                                                  QUOTE(proc->rlimits[i].type), j);
        return 0;
}

static int parse_io_priority(const json_t *o, const struct spec_path *up,
                             struct berth_process *proc, struct berth_error **err)
{
        const struct spec_path *p = FIELD(up, "ioPriority");
        json_t *io = NULL;
        long class;
        int r;

        r = spec_get_object(o, "ioPriority", up, OPT, &io, err);
        if (r <= 0)
                return r;
        if (get_name(io, "class", p, io_classes, "I/O priority class", &class, err) < 0 ||
            spec_get_int(io, "priority", p, REQ, 0, 7, &proc->io_priority, err) < 0)
                return -EINVAL;
        proc->io_priority_class = (int) class;
        proc->has_io_priority = true;
        return 0;
}

static int get_sched_flags(const json_t *o, const struct spec_path *up, uint64_t *ret,
                           struct berth_error **err)
{
        _autostrv_ char **flags = NULL;
        long bit;

        if (spec_get_strv(o, "flags", up, OPT, &flags, err) < 0)
                return -EINVAL;
        for (size_t i = 0; flags && flags[i]; i++) {
                if (spec_lookup(sched_flags, flags[i], &bit) < 0)
                        return spec_error(err, INDEX(FIELD(up, "flags"), i),
                                          "unknown scheduler flag %s", QUOTE(flags[i]));
                *ret |= (uint64_t) bit;
        }
        return 0;
}

static int parse_scheduler(const json_t *o, const struct spec_path *up, struct berth_process *proc,
                           struct berth_error **err)
{
        const struct spec_path *p = FIELD(up, "scheduler");
        struct berth_scheduler *sc = &proc->scheduler;
        json_t *so = NULL;
        long policy;
        int r, nice = 0, prio = 0;

        r = spec_get_object(o, "scheduler", up, OPT, &so, err);
        if (r <= 0)
                return r;
        if (get_name(so, "policy", p, sched_policies, "scheduling policy", &policy, err) < 0 ||
            spec_get_int(so, "nice", p, OPT, -20, 19, &nice, err) < 0 ||
            spec_get_int(so, "priority", p, OPT, 0, 99, &prio, err) < 0 ||
            get_sched_flags(so, p, &sc->flags, err) < 0 ||
            spec_get_u64(so, "runtime", p, OPT, UINT64_MAX, &sc->runtime, err) < 0 ||
            spec_get_u64(so, "deadline", p, OPT, UINT64_MAX, &sc->deadline, err) < 0 ||
            spec_get_u64(so, "period", p, OPT, UINT64_MAX, &sc->period, err) < 0)
                return -EINVAL;
        sc->policy = (int) policy;
        sc->nice = nice;
        sc->priority = prio;
        sc->set = true;
        return 0;
}

static int parse_cpu_affinity(const json_t *o, const struct spec_path *up,
                              struct berth_process *proc, struct berth_error **err)
{
        const struct spec_path *p = FIELD(up, "execCPUAffinity");
        json_t *a = NULL;
        int r;

        r = spec_get_object(o, "execCPUAffinity", up, OPT, &a, err);
        if (r <= 0)
                return r;
        if (spec_get_cpu_list(a, "initial", p, &proc->exec_cpu_affinity_initial, "CPU", err) < 0 ||
            spec_get_cpu_list(a, "final", p, &proc->exec_cpu_affinity_final, "CPU", err) < 0)
                return -EINVAL;
        return 0;
}

static int parse_args_cwd(const json_t *o, const struct spec_path *up, struct berth_process *proc,
                          struct berth_error **err)
{
        if (spec_get_strv(o, "args", up, REQ, &proc->args, err) < 0)
                return -EINVAL;
        if (!proc->args[0])
                return spec_error(err, FIELD(up, "args"), "must not be empty");
        if (spec_get_strv0(o, "env", up, &proc->env, err) < 0 ||
            spec_get_string(o, "cwd", up, REQ, &proc->cwd, err) < 0 ||
            spec_check_absolute(proc->cwd, FIELD(up, "cwd"), err) < 0)
                return -EINVAL;
        return 0;
}

/* `up` is "process" in config.json and NULL for a bare process file (exec --process). */
static int parse_process_fields(const json_t *o, const struct spec_path *up,
                                struct berth_process *proc, struct berth_error **err)
{
        int r;

        if (spec_get_bool(o, "terminal", up, &proc->terminal, err) < 0 ||
            parse_console_size(o, up, proc, err) < 0 || parse_user(o, up, proc, err) < 0 ||
            parse_args_cwd(o, up, proc, err) < 0 || parse_caps(o, up, proc, err) < 0 ||
            parse_rlimits(o, up, proc, err) < 0)
                return -EINVAL;
        if (spec_get_bool(o, "noNewPrivileges", up, &proc->no_new_privileges, err) < 0 ||
            spec_get_string(o, "apparmorProfile", up, OPT, &proc->apparmor_profile, err) < 0 ||
            spec_get_string(o, "selinuxLabel", up, OPT, &proc->selinux_label, err) < 0)
                return -EINVAL;
        r = spec_get_int(o, "oomScoreAdj", up, OPT, -1000, 1000, &proc->oom_score_adj, err);
        if (r < 0)
                return r;
        proc->has_oom_score_adj = r > 0;
        if (parse_io_priority(o, up, proc, err) < 0 || parse_scheduler(o, up, proc, err) < 0)
                return -EINVAL;
        return parse_cpu_affinity(o, up, proc, err);
}

void berth_process_clear(struct berth_process *p)
{
        if (!p)
                return;
        free(p->additional_gids);
        strv_free(p->args);
        strv_free(p->env);
        free(p->cwd);
        for (size_t i = 0; i < p->n_rlimits; i++)
                clear_rlimit(&p->rlimits[i]);
        free(p->rlimits);
        free(p->apparmor_profile);
        free(p->selinux_label);
        free(p->exec_cpu_affinity_initial);
        free(p->exec_cpu_affinity_final);
        memset(p, 0, sizeof(*p));
        p->umask = -1;
}

int berth_process_parse(const char *json, size_t len, const char *origin, struct berth_process *ret,
                        struct berth_error **err)
{
        struct berth_process proc = {.umask = -1};
        json_t *root = NULL;
        int r;

        if (!origin)
                origin = "process.json";
        r = spec_load_json(json, len, origin, &root, err);
        if (r < 0)
                return r;
        r = parse_process_fields(root, NULL, &proc, err);
        json_decref(root);
        if (r < 0) {
                berth_process_clear(&proc);
                berth_error_prefix(err, "%s", origin);
                return r;
        }
        *ret = proc;
        return 0;
}

/* ---- hooks --------------------------------------------------------------------------------- */

static void clear_hook(void *elem)
{
        struct berth_hook *h = elem;

        free(h->path);
        strv_free(h->args);
        strv_free(h->env);
}

static int parse_hook(json_t *v, const struct spec_path *p, void *elem, struct berth_error **err)
{
        struct berth_hook *h = elem;

        if (spec_to_object(v, p, err) < 0 ||
            spec_get_string(v, "path", p, REQ, &h->path, err) < 0 ||
            spec_check_absolute(h->path, FIELD(p, "path"), err) < 0 ||
            spec_get_strv(v, "args", p, OPT, &h->args, err) < 0 ||
            spec_get_strv(v, "env", p, OPT, &h->env, err) < 0 ||
            spec_get_int(v, "timeout", p, OPT, 1, INT_MAX, &h->timeout, err) < 0)
                return -EINVAL;
        return 0;
}

void berth_hook_list_clear(struct berth_hook_list *l)
{
        if (!l)
                return;
        for (size_t i = 0; i < l->n; i++)
                clear_hook(&l->v[i]);
        free(l->v);
        l->v = NULL;
        l->n = 0;
}

static int parse_hooks(const json_t *root, struct berth_spec *s, struct berth_error **err)
{
        const struct spec_path *p = FIELD(NULL, "hooks");
        json_t *hooks = NULL;
        int r;

        r = spec_get_object(root, "hooks", NULL, OPT, &hooks, err);
        if (r <= 0)
                return r;
        for (int k = 0; k < BERTH_HOOK__MAX; k++) {
                struct berth_hook_list *l = &s->hooks[k];

                r = spec_get_list(hooks, hook_kinds[k], p, OPT, sizeof(struct berth_hook),
                                  parse_hook, clear_hook, &l->v, &l->n, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

char *berth_hooks_to_json(const struct berth_hook_list *list)
{
        json_t *a = json_array();
        char *s;

        for (size_t i = 0; list && i < list->n; i++) {
                const struct berth_hook *h = &list->v[i];
                json_t *o = json_object();

                json_object_set_new(o, "path", json_string(h->path));
                if (h->args)
                        json_object_set_new(o, "args", berth_json_strv(h->args));
                if (h->env)
                        json_object_set_new(o, "env", berth_json_strv(h->env));
                if (h->timeout > 0)
                        json_object_set_new(o, "timeout", json_integer(h->timeout));
                json_array_append_new(a, o);
        }
        s = json_dumps(a, JSON_COMPACT | JSON_PRESERVE_ORDER);
        json_decref(a);
        return s;
}

int berth_hooks_from_json(const char *json, struct berth_hook_list *ret, struct berth_error **err)
{
        json_t *a, *root;
        json_error_t e;
        int r;

        if (!json)
                return berth_error_setx(err, EINVAL, "hooks: no JSON text");
        a = json_loads(json, JSON_REJECT_DUPLICATES, &e);
        if (!a)
                return berth_error_setx(err, EINVAL, "hooks:%d:%d: %s", e.line, e.column, e.text);
        /* wrap the array so the toolkit's list getter (and its messages) apply */
        root = json_object();
        json_object_set_new(root, "hooks", a);
        r = spec_get_list(root, "hooks", NULL, OPT, sizeof(struct berth_hook), parse_hook,
                          clear_hook, &ret->v, &ret->n, err);
        json_decref(root);
        if (r == 0) {
                ret->v = NULL;
                ret->n = 0;
        }
        return r < 0 ? r : 0;
}

/* ---- mounts -------------------------------------------------------------------------------- */

static void clear_mount(void *elem)
{
        struct berth_mount *m = elem;

        free(m->destination);
        free(m->type);
        free(m->source);
        strv_free(m->options);
        free(m->uid_mappings);
        free(m->gid_mappings);
}

/* runtime-spec 1.1: a relative destination is deprecated and means relative to "/". */
static int get_destination(json_t *v, const struct spec_path *p, struct berth_mount *m,
                           struct berth_error **err)
{
        const struct spec_path *dp = FIELD(p, "destination");
        char *abs;

        if (spec_get_string(v, "destination", p, REQ, &m->destination, err) < 0)
                return -EINVAL;
        if (m->destination[0] == '\0')
                return spec_error(err, dp, "must not be empty");
        if (m->destination[0] == '/')
                return 0;
        abs = xasprintf("/%s", m->destination);
        spec_warn(dp, "relative path %s is deprecated, using %s", QUOTE(m->destination),
                  QUOTE(abs));
        free(m->destination);
        m->destination = abs;
        return 0;
}

static int parse_mount(json_t *v, const struct spec_path *p, void *elem, struct berth_error **err)
{
        struct berth_mount *m = elem;

        if (spec_to_object(v, p, err) < 0 || get_destination(v, p, m, err) < 0 ||
            spec_get_string(v, "type", p, OPT, &m->type, err) < 0 ||
            spec_get_string(v, "source", p, OPT, &m->source, err) < 0 ||
            spec_get_strv0(v, "options", p, &m->options, err) < 0)
                return -EINVAL;
        if (spec_get_id_maps(v, "uidMappings", p, &m->uid_mappings, &m->n_uid_mappings, err) < 0 ||
            spec_get_id_maps(v, "gidMappings", p, &m->gid_mappings, &m->n_gid_mappings, err) < 0)
                return -EINVAL;
        if ((m->n_uid_mappings > 0) != (m->n_gid_mappings > 0))
                return spec_error(err, FIELD(p, m->n_uid_mappings ? "gidMappings" : "uidMappings"),
                                  "required together with %s",
                                  m->n_uid_mappings ? "uidMappings" : "gidMappings");
        return 0;
}

/* ---- the whole config ---------------------------------------------------------------------- */

/* A SemVer 2.0.0 numeric identifier: digits, no leading zero (but "0"). */
static bool is_semver_number(const char *s, size_t n)
{
        return n > 0 && strspn(s, "0123456789") >= n && (n == 1 || s[0] != '0');
}

/* Dot-separated identifiers of [0-9A-Za-z-], none empty, ending at the string's end or at `end`
 * (a character the identifiers cannot hold). Pre-release numbers lack leading zeros. */
static const char *semver_idents(const char *s, bool pre, char end)
{
        static const char ok[] = "0123456789abcdefghijklmnopqrstuvwxyz"
                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ-";

        for (;;) {
                size_t n = strspn(s, ok);

                if (n == 0)
                        return NULL;
                if (pre && strspn(s, "0123456789") == n && !is_semver_number(s, n))
                        return NULL;
                s += n;
                if (*s != '.')
                        return *s == '\0' || *s == end ? s : NULL;
                s++;
        }
}

/* MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD] (semver.org 2.0.0); *ret_major is MAJOR, capped. */
static bool is_semver(const char *v, unsigned long *ret_major)
{
        const char *s = v;

        for (int i = 0; i < 3; i++) {
                size_t n = strspn(s, "0123456789");

                if (!is_semver_number(s, n))
                        return false;
                if (i == 0)
                        *ret_major = n > 9 ? ULONG_MAX : strtoul(s, NULL, 10);
                s += n;
                if (i < 2 && *s++ != '.')
                        return false;
        }
        if (*s == '-' && !(s = semver_idents(s + 1, true, '+')))
                return false;
        if (*s == '+' && !(s = semver_idents(s + 1, false, '\0')))
                return false;
        return *s == '\0';
}

/* config.md: ociVersion "MUST be in SemVer v2.0.0 format"; the spec keeps compatibility within a
 * major version only, so a 2.x config is not one this runtime can promise to run. */
static int check_oci_version(const struct berth_spec *s, struct berth_error **err)
{
        unsigned long major = 0;

        if (!s->oci_version)
                return 0;
        if (!is_semver(s->oci_version, &major))
                return spec_error(err, FIELD(NULL, "ociVersion"),
                                  "%s is not a SemVer 2.0.0 version (MAJOR.MINOR.PATCH, as "
                                  "\"1.2.0\")",
                                  QUOTE(s->oci_version));
        if (major > 1)
                return spec_error(err, FIELD(NULL, "ociVersion"),
                                  "%s: runtime-spec %lu.x is not supported (berth-oci implements "
                                  "1.0 to 1.2)",
                                  QUOTE(s->oci_version), major);
        return 0;
}

static int parse_root(const json_t *o, struct berth_spec *s, struct berth_error **err)
{
        const struct spec_path *p = FIELD(NULL, "root");
        json_t *root = NULL;

        if (spec_get_object(o, "root", NULL, REQ, &root, err) < 0 ||
            spec_get_string(root, "path", p, REQ, &s->root_path, err) < 0 ||
            spec_get_bool(root, "readonly", p, &s->root_readonly, err) < 0)
                return -EINVAL;
        if (s->root_path[0] == '\0')
                return spec_error(err, FIELD(p, "path"), "must not be empty");
        return 0;
}

static int parse_process(const json_t *o, struct berth_spec *s, struct berth_error **err)
{
        json_t *po = NULL;
        int r;

        s->process.umask = -1;
        r = spec_get_object(o, "process", NULL, OPT, &po, err);
        if (r <= 0)
                return r;
        s->has_process = true;
        return parse_process_fields(po, FIELD(NULL, "process"), &s->process, err);
}

/* An empty hostname or domainname is not set at all, as runc does ("" means "not given"): without
 * a uts namespace of its own, setting it would clear the host's name. */
static void drop_empty_names(struct berth_spec *s)
{
        if (s->hostname && !s->hostname[0])
                freep(&s->hostname);
        if (s->domainname && !s->domainname[0])
                freep(&s->domainname);
}

/* config.md: "Annotations MUST be a key-value map", "Keys MUST NOT be an empty string", "Values
 * MUST be strings". */
static int parse_annotations(const json_t *o, struct berth_spec *s, struct berth_error **err)
{
        if (spec_get_kv(o, "annotations", NULL, &s->annotations, &s->n_annotations, err) < 0)
                return -EINVAL;
        for (size_t i = 0; i < s->n_annotations; i++)
                if (s->annotations[i].key[0] == '\0')
                        return spec_error(err, FIELD(NULL, "annotations"),
                                          "keys must not be empty");
        return 0;
}

/* Setting the host's own hostname from a config would be a surprise: runc refuses it too. */
static int check_uts(const struct berth_spec *s, struct berth_error **err)
{
        if (s->lx.ns[BERTH_NS_UTS].enabled)
                return 0;
        if (s->hostname && s->hostname[0])
                return spec_error(err, FIELD(NULL, "hostname"),
                                  "requires a new uts namespace (linux.namespaces)");
        if (s->domainname && s->domainname[0])
                return spec_error(err, FIELD(NULL, "domainname"),
                                  "requires a new uts namespace (linux.namespaces)");
        return 0;
}

static int parse_spec(const json_t *o, struct berth_spec *s, struct berth_error **err)
{
        if (spec_get_string(o, "ociVersion", NULL, OPT, &s->oci_version, err) < 0 ||
            check_oci_version(s, err) < 0 || parse_root(o, s, err) < 0 ||
            spec_get_string(o, "hostname", NULL, OPT, &s->hostname, err) < 0 ||
            spec_get_string(o, "domainname", NULL, OPT, &s->domainname, err) < 0)
                return -EINVAL;
        if (spec_get_list(o, "mounts", NULL, OPT, sizeof(struct berth_mount), parse_mount,
                          clear_mount, &s->mounts, &s->n_mounts, err) < 0)
                return -EINVAL;
        if (parse_process(o, s, err) < 0 || parse_hooks(o, s, err) < 0 ||
            parse_annotations(o, s, err) < 0 || spec_parse_linux(o, &s->lx, err) < 0)
                return -EINVAL;
        drop_empty_names(s);
        return check_uts(s, err);
}

void berth_spec_free(struct berth_spec *s)
{
        if (!s)
                return;
        free(s->oci_version);
        free(s->root_path);
        free(s->hostname);
        free(s->domainname);
        for (size_t i = 0; i < s->n_mounts; i++)
                clear_mount(&s->mounts[i]);
        free(s->mounts);
        berth_process_clear(&s->process);
        for (int k = 0; k < BERTH_HOOK__MAX; k++)
                berth_hook_list_clear(&s->hooks[k]);
        berth_kv_free(s->annotations, s->n_annotations);
        spec_linux_clear(&s->lx);
        free(s);
}

int berth_spec_parse(const char *json, size_t len, const char *origin, struct berth_spec **ret,
                     struct berth_error **err)
{
        _autospec_ struct berth_spec *s = NULL;
        json_t *root = NULL;
        int r;

        if (!origin)
                origin = "config.json";
        r = spec_load_json(json, len, origin, &root, err);
        if (r < 0)
                return r;
        s = xcalloc(1, sizeof(*s));
        r = parse_spec(root, s, err);
        json_decref(root);
        if (r < 0) {
                berth_error_prefix(err, "%s", origin);
                return r;
        }
        *ret = steal_ptr(&s);
        return 0;
}

int berth_spec_load(int dirfd, const char *path, struct berth_spec **ret, struct berth_error **err)
{
        _autospec_ struct berth_spec *s = NULL;
        _autofree_ char *text = NULL;
        size_t len;
        int r;

        r = berth_read_file_at(dirfd, path, 0, &text, &len, err);
        if (r < 0)
                return r;
        r = berth_spec_parse(text, len, path, &s, err);
        if (r < 0)
                return r;
        /* REQUIRED in a bundle's config (config.md); fragments given to berth_spec_parse may
         * leave it out. */
        if (!s->oci_version)
                return berth_error_setx(err, EINVAL,
                                        "%s: ociVersion: required field is missing (the "
                                        "runtime-spec version of the bundle, as \"1.2.0\")",
                                        path);
        *ret = steal_ptr(&s);
        return 0;
}
