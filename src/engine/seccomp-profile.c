/* SPDX-License-Identifier: Apache-2.0 */
/*
 * docker-format seccomp profiles (seccomp-profile.h): parsed from a file's JSON, and resolved for
 * one container into the OCI linux.seccomp object, docker's way: a group whose "excludes"
 * matches (the host's architecture, a capability in the container's bounding set, a kernel at
 * least minKernel) or whose "includes" does not (every listed one) is left out.
 */
#include <seccomp.h>

#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <sys/syscall.h>
#include <sys/utsname.h>

#include "base/log.h"
#include "engine/seccomp-profile.h"
#include "base/util.h"
#include "spec/spec.h"

/* ---- parsing ------------------------------------------------------------------------------- */

static bool in_list(const char *const *list, size_t n, const char *s)
{
        for (size_t i = 0; i < n; i++)
                if (streq(list[i], s))
                        return true;
        return false;
}

/* "<path>: <message>" */
static int field_error(struct berth_error **err, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int field_error(struct berth_error **err, const char *path, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = berth_error_vsetx(err, EINVAL, fmt, ap);
        va_end(ap);
        berth_error_prefix(err, "%s", path);
        return r;
}

/* The member key of obj; NULL when absent or null. -EINVAL when not of type `type`. */
static int member(const json_t *obj, const char *path, const char *key, json_type type,
                  json_t **ret, struct berth_error **err)
{
        static const char *const kinds[] = {
            [JSON_OBJECT] = "an object",   [JSON_ARRAY] = "an array", [JSON_STRING] = "a string",
            [JSON_INTEGER] = "an integer", [JSON_REAL] = "a number",  [JSON_TRUE] = "a boolean",
            [JSON_FALSE] = "a boolean",    [JSON_NULL] = "null",
        };
        json_t *v = json_object_get(obj, key);

        *ret = NULL;
        if (!v || json_is_null(v))
                return 0;
        if (json_typeof(v) != type)
                return field_error(err, path, "%s: expected %s, got %s", key, kinds[type],
                                   kinds[json_typeof(v)]);
        *ret = v;
        return 1;
}

static int get_string(const json_t *obj, const char *path, const char *key, const char **ret,
                      struct berth_error **err)
{
        json_t *v;
        int r = member(obj, path, key, JSON_STRING, &v, err);

        *ret = r > 0 ? json_string_value(v) : NULL;
        return r;
}

static int get_u64(const json_t *obj, const char *path, const char *key, uint64_t max,
                   uint64_t *ret, struct berth_error **err)
{
        json_t *v;
        int r = member(obj, path, key, JSON_INTEGER, &v, err);

        if (r <= 0)
                return r;
        if (json_integer_value(v) < 0 || (uint64_t) json_integer_value(v) > max)
                return field_error(err, path, "%s: %lld is out of range (0..%llu)", key,
                                   (long long) json_integer_value(v), (unsigned long long) max);
        *ret = (uint64_t) json_integer_value(v);
        return 1;
}

/* An array of strings as a NULL-terminated vector of pointers into the document (the vector is
 * malloc'ed, the strings are not). Absent: NULL. The profile's vectors are char ** like every
 * string vector here, but nothing writes through them: the casts drop jansson's const. */
static int get_names(const json_t *obj, const char *path, const char *key, char ***ret,
                     struct berth_error **err)
{
        json_t *a, *v;
        char **names;
        size_t i;
        int r = member(obj, path, key, JSON_ARRAY, &a, err);

        *ret = NULL;
        if (r <= 0)
                return r;
        json_array_foreach(a, i, v) if (!json_is_string(v)) return field_error(
            err, path, "%s[%zu]: expected a string", key, i);
        names = xcalloc(json_array_size(a) + 1, sizeof(*names));
        json_array_foreach(a, i, v) names[i] = (char *) (uintptr_t) json_string_value(v);
        *ret = names;
        return 1;
}

/* "5.12" -> (5 << 16) | 12, as docker reads minKernel ("<kernel>.<major>", not 0.0). */
static int parse_kernel(const char *s, unsigned *ret)
{
        uint64_t major, minor;
        _autofree_ char *copy = xstrdup(s);
        char *dot = strchr(copy, '.');

        if (!dot || strchr(dot + 1, '.'))
                return -EINVAL;
        *dot = '\0';
        if (parse_u64(copy, &major) < 0 || parse_u64(dot + 1, &minor) < 0 || major > 255 ||
            minor > 255 || (major == 0 && minor == 0))
                return -EINVAL;
        *ret = (unsigned) (major << 16 | minor);
        return 0;
}

static int parse_cond(const json_t *g, const char *path, const char *key, struct berth_scmp_cond *c,
                      struct berth_error **err)
{
        _autofree_ char *sub = xasprintf("%s.%s", path, key);
        const char *kernel;
        json_t *o;
        int r = member(g, path, key, JSON_OBJECT, &o, err);

        if (r <= 0)
                return r;
        r = get_names(o, sub, "caps", &c->caps, err);
        if (r >= 0)
                r = get_names(o, sub, "arches", &c->arches, err);
        if (r >= 0)
                r = get_string(o, sub, "minKernel", &kernel, err);
        if (r > 0 && *kernel && parse_kernel(kernel, &c->min_kernel) < 0)
                return field_error(err, sub,
                                   "minKernel: invalid kernel version \"%s\", expected "
                                   "\"<kernel>.<major>\"",
                                   kernel);
        return r < 0 ? r : 0;
}

static int parse_arg(const json_t *v, const char *path, struct berth_scmp_arg *a,
                     struct berth_error **err)
{
        uint64_t index = 0;
        int r;

        if (!json_is_object(v))
                return field_error(err, path, "expected an object");
        r = get_u64(v, path, "index", 5, &index, err);
        if (r >= 0)
                r = get_u64(v, path, "value", UINT64_MAX, &a->value, err);
        if (r >= 0)
                r = get_u64(v, path, "valueTwo", UINT64_MAX, &a->value_two, err);
        if (r >= 0)
                r = get_string(v, path, "op", &a->op, err);
        if (r < 0)
                return r;
        if (!a->op)
                return field_error(err, path, "op: missing");
        if (!in_list(berth_seccomp_op_names, BERTH_SCMP_CMP__OPS, a->op))
                return field_error(err, path, "op: unknown operator \"%s\"", a->op);
        a->index = (unsigned) index;
        return 0;
}

static int parse_args(const json_t *g, const char *path, struct berth_scmp_group *grp,
                      struct berth_error **err)
{
        json_t *a, *v;
        size_t i;
        int r = member(g, path, "args", JSON_ARRAY, &a, err);

        if (r <= 0)
                return r;
        grp->args = xcalloc(json_array_size(a) + 1, sizeof(*grp->args));
        json_array_foreach(a, i, v)
        {
                _autofree_ char *sub = xasprintf("%s.args[%zu]", path, i);

                r = parse_arg(v, sub, &grp->args[i], err);
                if (r < 0)
                        return r;
                grp->n_args++;
        }
        return 0;
}

/* The syscall names of a group: "names", or the older single "name" (never both). */
static int parse_group_names(const json_t *g, const char *path, struct berth_scmp_group *grp,
                             struct berth_error **err)
{
        const char *name;
        int r = get_string(g, path, "name", &name, err);

        if (r >= 0)
                r = get_names(g, path, "names", &grp->names, err);
        if (r < 0)
                return r;
        if (name && *name && grp->names)
                return field_error(err, path,
                                   "both 'name' and 'names' are specified in the seccomp "
                                   "profile, use either 'name' or 'names'");
        if (name && *name) {
                grp->names = xcalloc(2, sizeof(*grp->names));
                grp->names[0] = (char *) (uintptr_t) name;
        }
        return 0;
}

static int parse_group(const json_t *g, const char *path, struct berth_scmp_group *grp,
                       struct berth_error **err)
{
        uint64_t e = 0;
        int r;

        grp->errno_ret = -1;
        if (!json_is_object(g))
                return field_error(err, path, "expected an object");
        r = parse_group_names(g, path, grp, err);
        if (r >= 0)
                r = get_string(g, path, "action", &grp->action, err);
        if (r >= 0 && (r = get_u64(g, path, "errnoRet", UINT32_MAX, &e, err)) > 0)
                grp->errno_ret = (int64_t) e;
        if (r >= 0)
                r = parse_args(g, path, grp, err);
        if (r >= 0)
                r = parse_cond(g, path, "includes", &grp->includes, err);
        if (r >= 0)
                r = parse_cond(g, path, "excludes", &grp->excludes, err);
        if (r < 0)
                return r;
        if (!grp->action)
                return field_error(err, path, "action: missing");
        if (!in_list(berth_seccomp_action_names, BERTH_SCMP__ACTIONS, grp->action))
                return field_error(err, path, "action: unknown action \"%s\"", grp->action);
        return 0;
}

static int parse_groups(const json_t *root, struct berth_scmp_profile *p, struct berth_error **err)
{
        json_t *a, *v;
        size_t i;
        int r = member(root, "profile", "syscalls", JSON_ARRAY, &a, err);

        if (r <= 0)
                return r;
        p->groups = xcalloc(json_array_size(a) + 1, sizeof(*p->groups));
        json_array_foreach(a, i, v)
        {
                _autofree_ char *path = xasprintf("syscalls[%zu]", i);

                p->n_groups++;
                r = parse_group(v, path, &p->groups[i], err);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int parse_arch_map(const json_t *root, struct berth_scmp_profile *p,
                          struct berth_error **err)
{
        json_t *a, *v;
        size_t i;
        int r = member(root, "profile", "archMap", JSON_ARRAY, &a, err);

        if (r <= 0)
                return r;
        p->arch_map = xcalloc(json_array_size(a) + 1, sizeof(*p->arch_map));
        json_array_foreach(a, i, v)
        {
                _autofree_ char *path = xasprintf("archMap[%zu]", i);

                if (!json_is_object(v))
                        return field_error(err, path, "expected an object");
                p->n_arch_map++;
                r = get_string(v, path, "architecture", &p->arch_map[i].arch, err);
                if (r >= 0)
                        r = get_names(v, path, "subArchitectures", &p->arch_map[i].subs, err);
                if (r < 0)
                        return r;
                if (!p->arch_map[i].arch)
                        return field_error(err, path, "architecture: missing");
        }
        return 0;
}

static int parse_top(const json_t *root, struct berth_scmp_profile *p, struct berth_error **err)
{
        const char *path = "profile";
        uint64_t e = 0;
        int r;

        p->default_errno_ret = -1;
        r = get_string(root, path, "defaultAction", &p->default_action, err);
        if (r >= 0 && (r = get_u64(root, path, "defaultErrnoRet", UINT32_MAX, &e, err)) > 0)
                p->default_errno_ret = (int64_t) e;
        if (r >= 0)
                r = get_names(root, path, "architectures", &p->architectures, err);
        if (r >= 0)
                r = get_names(root, path, "flags", &p->flags, err);
        if (r >= 0)
                r = get_string(root, path, "listenerPath", &p->listener_path, err);
        if (r >= 0)
                r = get_string(root, path, "listenerMetadata", &p->listener_metadata, err);
        if (r >= 0)
                r = parse_arch_map(root, p, err);
        if (r >= 0)
                r = parse_groups(root, p, err);
        if (r < 0)
                return r;
        if (p->default_action && *p->default_action &&
            !in_list(berth_seccomp_action_names, BERTH_SCMP__ACTIONS, p->default_action))
                return field_error(err, "defaultAction", "unknown action \"%s\"",
                                   p->default_action);
        if (p->architectures && p->architectures[0] && p->n_arch_map)
                return berth_error_setx(err, EINVAL,
                                        "both 'architectures' and 'archMap' are specified in the "
                                        "seccomp profile, use either 'architectures' or 'archMap'");
        return 0;
}

int berth_scmp_profile_parse(const char *text, size_t len, const char *what,
                             struct berth_scmp_profile **ret, struct berth_error **err)
{
        struct berth_scmp_profile *p;
        json_error_t je;
        json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
        int r;

        if (!root)
                return berth_error_setx(err, EINVAL, "seccomp profile %s: line %d column %d: %s",
                                        what, je.line, je.column, je.text);
        if (!json_is_object(root)) {
                json_decref(root);
                return berth_error_setx(err, EINVAL, "seccomp profile %s: expected a JSON object",
                                        what);
        }
        p = xcalloc(1, sizeof(*p));
        p->owned = root;
        r = parse_top(root, p, err);
        if (r < 0) {
                berth_scmp_profile_free(p);
                return berth_error_prefix(err, "seccomp profile %s", what);
        }
        *ret = p;
        return 0;
}

static void cond_clear(struct berth_scmp_cond *c)
{
        free(c->caps);
        free(c->arches);
}

void berth_scmp_profile_free(struct berth_scmp_profile *p)
{
        if (!p || !p->owned) /* NULL, or the built-in table */
                return;
        for (size_t i = 0; i < p->n_groups; i++) {
                free(p->groups[i].names);
                free(p->groups[i].args);
                cond_clear(&p->groups[i].includes);
                cond_clear(&p->groups[i].excludes);
        }
        free(p->groups);
        for (size_t i = 0; i < p->n_arch_map; i++)
                free(p->arch_map[i].subs);
        free(p->arch_map);
        free(p->architectures);
        free(p->flags);
        json_decref(p->owned);
        free(p);
}

/* ---- resolving ----------------------------------------------------------------------------- */

/* docker's name of the host's architecture (Go's GOARCH, libseccomp's spelling) and the
 * libseccomp architecture it maps in archMap. */
#if defined(__x86_64__)
#define HOST_ARCH "amd64"
#define HOST_SCMP_ARCH "SCMP_ARCH_X86_64"
#elif defined(__i386__)
#define HOST_ARCH "x86"
#define HOST_SCMP_ARCH "SCMP_ARCH_X86"
#elif defined(__aarch64__)
#define HOST_ARCH "arm64"
#define HOST_SCMP_ARCH "SCMP_ARCH_AARCH64"
#elif defined(__arm__)
#define HOST_ARCH "arm"
#define HOST_SCMP_ARCH "SCMP_ARCH_ARM"
#elif defined(__s390x__)
#define HOST_ARCH "s390x"
#define HOST_SCMP_ARCH "SCMP_ARCH_S390X"
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_ARCH "ppc64le"
#define HOST_SCMP_ARCH "SCMP_ARCH_PPC64LE"
#elif defined(__riscv) && __riscv_xlen == 64
#define HOST_ARCH "riscv64"
#define HOST_SCMP_ARCH "SCMP_ARCH_RISCV64"
#else
#define HOST_ARCH ""
#define HOST_SCMP_ARCH ""
#endif

/* The running kernel's "<major>.<minor>" as (major << 16) | minor. */
static int host_kernel(unsigned *ret, struct berth_error **err)
{
        struct utsname u;
        unsigned major = 0, minor = 0;

        if (uname(&u) < 0)
                return berth_error_set(err, errno, "uname");
        if (sscanf(u.release, "%u.%u", &major, &minor) != 2)
                return berth_error_setx(err, EINVAL,
                                        "kernel release \"%s\": expected "
                                        "\"<major>.<minor>...\"",
                                        u.release);
        *ret = major << 16 | minor;
        return 0;
}

static bool any_in(char *const *list, char *const *set)
{
        for (; list && *list; list++)
                if (strv_contains(set, *list))
                        return true;
        return false;
}

static bool all_in(char *const *list, char *const *set)
{
        for (; list && *list; list++)
                if (!strv_contains(set, *list))
                        return false;
        return true;
}

/* docker's setupSeccomp: excluded if any "excludes" matches, or if an "includes" does not. */
static bool group_applies(const struct berth_scmp_group *g, const struct berth_scmp_host *h,
                          char *const *caps)
{
        const struct berth_scmp_cond *ex = &g->excludes, *in = &g->includes;

        if (ex->arches && strv_contains(ex->arches, h->arch))
                return false;
        if (any_in(ex->caps, caps))
                return false;
        if (ex->min_kernel && h->kernel >= ex->min_kernel)
                return false;
        if (in->arches && in->arches[0] && !strv_contains(in->arches, h->arch))
                return false;
        if (!all_in(in->caps, caps))
                return false;
        if (in->min_kernel && h->kernel < in->min_kernel)
                return false;
        return true;
}

static bool scmp_knows(const char *name)
{
        return seccomp_syscall_resolve_name(name) != __NR_SCMP_ERROR;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* A growing list of syscall names (pointers into the profile). */
struct names {
        char **v;
        size_t n, cap;
};

static void names_add(struct names *l, char *s)
{
        if (l->n + 1 >= l->cap) {
                l->cap = l->cap ? l->cap * 2 : 64;
                l->v = xreallocarray(l->v, l->cap, sizeof(*l->v));
        }
        l->v[l->n++] = s;
        l->v[l->n] = NULL;
}

static void names_clear(struct names *l)
{
        free(l->v);
        *l = (struct names){0};
}

static json_t *json_names(char *const *v)
{
        json_t *a = json_array();

        for (; v && *v; v++)
                json_array_append_new(a, json_string(*v));
        return a;
}

static json_t *rule_json(char **names, size_t n, const char *action, int64_t errno_ret,
                         const struct berth_scmp_arg *args, size_t n_args)
{
        json_t *a = json_array(), *r;

        for (size_t i = 0; i < n; i++)
                json_array_append_new(a, json_string(names[i]));
        r = json_pack("{s:o, s:s}", "names", a, "action", action);
        if (errno_ret >= 0)
                json_object_set_new(r, "errnoRet", json_integer(errno_ret));
        if (n_args) {
                json_t *args_json = json_array();

                for (size_t i = 0; i < n_args; i++)
                        json_array_append_new(
                            args_json, json_pack("{s:i, s:I, s:I, s:s}", "index", args[i].index,
                                                 "value", (json_int_t) args[i].value, "valueTwo",
                                                 (json_int_t) args[i].value_two, "op", args[i].op));
                json_object_set_new(r, "args", args_json);
        }
        return r;
}

/* The groups that apply, as OCI rules; the names that got a rule go to *ruled. */
static json_t *resolve_groups(const struct berth_scmp_profile *p, const struct berth_scmp_host *h,
                              char *const *caps, struct names *ruled)
{
        json_t *rules = json_array();

        for (size_t i = 0; i < p->n_groups; i++) {
                const struct berth_scmp_group *g = &p->groups[i];
                struct names known = {0};

                if (!group_applies(g, h, caps))
                        continue;
                for (char **n = g->names; n && *n; n++)
                        if (scmp_knows(*n)) {
                                names_add(&known, *n);
                                names_add(ruled, *n);
                        }
                if (known.n)
                        json_array_append_new(rules, rule_json(known.v, known.n, g->action,
                                                               g->errno_ret, g->args, g->n_args));
                names_clear(&known);
        }
        return rules;
}

/* The built-in default's EPERM rule: every name it knows (in any group, or `denied`) that no
 * rule of this container covers. A name with argument rules is left out: a rule without
 * arguments would override them (the default lists the denied values of those). */
static json_t *denied_rule(const struct berth_scmp_profile *p, struct names *ruled)
{
        struct names cand = {0}, out = {0};
        json_t *r = NULL;

        for (size_t i = 0; i < p->n_groups; i++)
                for (char **n = p->groups[i].names; n && *n; n++)
                        names_add(&cand, *n);
        for (char **n = p->denied; *n; n++)
                names_add(&cand, *n);
        if (ruled->n)
                qsort(ruled->v, ruled->n, sizeof(*ruled->v), cmp_str);
        qsort(cand.v, cand.n, sizeof(*cand.v), cmp_str);
        for (size_t i = 0; i < cand.n; i++) {
                if (i > 0 && streq(cand.v[i], cand.v[i - 1]))
                        continue;
                if (ruled->n && bsearch(&cand.v[i], ruled->v, ruled->n, sizeof(*ruled->v), cmp_str))
                        continue;
                if (scmp_knows(cand.v[i]))
                        names_add(&out, cand.v[i]);
        }
        if (out.n)
                r = rule_json(out.v, out.n, "SCMP_ACT_ERRNO", EPERM, NULL, 0);
        names_clear(&cand);
        names_clear(&out);
        return r;
}

/*
 * Whether the kernel runs x32 syscalls (x86_64's __X32_SYSCALL_BIT): Debian builds the x32 ABI
 * but leaves it off unless booted with syscall.x32=y, and Ubuntu and Fedora leave it out. No x32
 * program can run where it is off, so archMap's SCMP_ARCH_X32 is then left out of the filter:
 * that halves what libseccomp 2.5.4 takes to compile the default profile (17 -> 8 ms measured).
 * An x32 syscall (a probe like this one) is then killed as a foreign architecture instead of
 * failing with ENOSYS. A process that is itself under a seccomp filter does not probe (its
 * filter may kill it for the same reason) and keeps SCMP_ARCH_X32.
 */
static bool under_seccomp(void)
{
        _autofree_ char *text = NULL;
        const char *line;

        if (berth_read_file_at(AT_FDCWD, "/proc/self/status", 64u << 10, &text, NULL, NULL) < 0)
                return true;
        line = strstr(text, "\nSeccomp:");
        return !line || strtol(line + strlen("\nSeccomp:"), NULL, 10) != 0;
}

static bool kernel_runs_x32(void)
{
#if defined(__x86_64__)
        static int cached = -1;

        if (cached < 0)
                cached =
                    under_seccomp() || syscall(0x40000000 | SYS_getpid) >= 0 || errno != ENOSYS;
        return cached;
#else
        return true;
#endif
}

static json_t *architectures(const struct berth_scmp_profile *p, const struct berth_scmp_host *h)
{
        json_t *a = json_names(p->architectures);

        for (size_t i = 0; i < p->n_arch_map; i++)
                if (streq(p->arch_map[i].arch, h->scmp_arch)) {
                        json_array_append_new(a, json_string(p->arch_map[i].arch));
                        for (char **s = p->arch_map[i].subs; s && *s; s++)
                                if (!streq(*s, "SCMP_ARCH_X32") || h->x32)
                                        json_array_append_new(a, json_string(*s));
                        break;
                }
        return a;
}

static json_t *resolve(const struct berth_scmp_profile *p, const struct berth_scmp_host *h,
                       char *const *caps)
{
        struct names ruled = {0};
        json_t *o = json_object(), *rules, *deny;

        if (p->default_action && *p->default_action)
                json_object_set_new(o, "defaultAction", json_string(p->default_action));
        if (p->default_errno_ret >= 0)
                json_object_set_new(o, "defaultErrnoRet", json_integer(p->default_errno_ret));
        json_object_set_new(o, "architectures", architectures(p, h));
        if (p->flags)
                json_object_set_new(o, "flags", json_names(p->flags));
        if (p->listener_path)
                json_object_set_new(o, "listenerPath", json_string(p->listener_path));
        if (p->listener_metadata)
                json_object_set_new(o, "listenerMetadata", json_string(p->listener_metadata));
        rules = resolve_groups(p, h, caps, &ruled);
        deny = p->denied ? denied_rule(p, &ruled) : NULL;
        if (deny)
                json_array_append_new(rules, deny);
        json_object_set_new(o, "syscalls", rules);
        names_clear(&ruled);
        return o;
}

int berth_scmp_profile_resolve(const struct berth_scmp_profile *p, char *const *caps,
                               const struct berth_scmp_host *host, struct json_t **ret,
                               struct berth_error **err)
{
        struct berth_scmp_host h = {
            .arch = HOST_ARCH, .scmp_arch = HOST_SCMP_ARCH, .x32 = kernel_runs_x32()};
        uint64_t t = TRACE_T0();
        int r;

        if ((!p->default_action || !*p->default_action) && p->n_groups == 0) {
                *ret = NULL; /* docker: no defaultAction and no syscalls, no seccomp */
                return 0;
        }
        if (host) {
                h = *host;
        } else {
                r = host_kernel(&h.kernel, err);
                if (r < 0)
                        return berth_error_prefix(err, "seccomp profile");
        }
        *ret = resolve(p, &h, caps);
        TRACE(t, "seccomp profile resolved for %s, kernel %u.%u", h.arch, h.kernel >> 16,
              h.kernel & 0xffff);
        return 0;
}
