/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `berth run`'s side of a container's config: docker's rules for merging the image config with
 * the command line, user names resolved in the container's own /etc/passwd, and the OCI
 * config.json given to libberth (docker's defaults: capabilities, masked paths, seccomp: the
 * profile's table and its resolution are seccomp-default.c and seccomp-profile.c).
 */
#include <ctype.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>

#include "engine/engine-health.h"
#include "engine/engine.h"
#include "image/manifest.h"
#include "engine/seccomp-profile.h"
#include "spec/spec.h"
#include "base/syscalls.h"
#include "base/json.h"
#include "base/util.h"

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* ---- sizes and cpus ------------------------------------------------------------------------ */

static int unit_shift(char u)
{
        static const char units[] = "bkmgtp";
        const char *p = strchr(units, tolower((unsigned char) u));

        return p && u ? (int) (p - units) * 10 : -1;
}

int berth_parse_memory(const char *s, int64_t *ret, struct berth_error **err)
{
        char *end = NULL;
        double v;
        int shift = 0;

        errno = 0;
        if (!s || !isdigit((unsigned char) s[0]) || strspn(s, "0123456789.") == 0)
                goto bad;
        v = strtod(s, &end);
        if (end != s + strspn(s, "0123456789."))
                goto bad;
        if (errno || end == s)
                goto bad;
        if (*end == ' ')
                end++;
        if (*end && !streq(end, "b") && !streq(end, "B")) {
                shift = unit_shift(*end);
                if (shift <= 0)
                        goto bad;
                end++;
                if (*end == 'i' || *end == 'I')
                        end++;
                if (*end == 'b' || *end == 'B')
                        end++;
                if (*end)
                        goto bad;
        }
        v *= (double) (1LL << shift);
        if (!(v < 9.2e18))
                goto bad;
        *ret = (int64_t) v;
        return 0;
bad:
        return berth_error_setx(err, EINVAL, "invalid size: '%s'", s ? s : "");
}

int berth_parse_cpus(const char *s, int64_t *ret, struct berth_error **err)
{
        char *end = NULL;
        double v;

        errno = 0;
        v = s && *s && strspn(s, "0123456789.") == strlen(s) ? strtod(s, &end) : -1;
        if (errno || !end || *end || !(v >= 0) || v > 1e9)
                return berth_error_setx(err, EINVAL, "failed to parse %s as a rational number",
                                        s ? s : "");
        *ret = (int64_t) (v * 1e9 + 0.5);
        return 0;
}

/* ---- the container's config ------------------------------------------------------------- */

static size_t env_key_len(const char *e)
{
        const char *eq = strchr(e, '=');

        return eq ? (size_t) (eq - e) : strlen(e);
}

/* docker's ReplaceOrAppendEnvValues: "K=V" replaces K or is appended; a bare "K" removes K. */
static void env_merge(char ***envp, const char *e)
{
        char **v = *envp;
        size_t n = strv_length(v), k = env_key_len(e), i;

        for (i = 0; i < n; i++)
                if (env_key_len(v[i]) == k && strncmp(v[i], e, k) == 0)
                        break;
        if (!strchr(e, '=')) {
                if (i < n) {
                        free(v[i]);
                        memmove(v + i, v + i + 1, (n - i) * sizeof(*v));
                }
                return;
        }
        if (i < n) {
                free(v[i]);
                v[i] = xstrdup(e);
                return;
        }
        v = xreallocarray(v, n + 2, sizeof(*v));
        v[n] = xstrdup(e);
        v[n + 1] = NULL;
        *envp = v;
}

static const char *env_lookup(char *const *envp, const char *key)
{
        size_t k = strlen(key);

        for (; envp && *envp; envp++)
                if (strncmp(*envp, key, k) == 0 && (*envp)[k] == '=')
                        return *envp + k + 1;
        return NULL;
}

static char **strv_copy(char *const *v)
{
        size_t n = strv_length(v);
        char **c = xcalloc(n + 1, sizeof(*c));

        for (size_t i = 0; i < n; i++)
                c[i] = xstrdup(v[i]);
        return c;
}

static char **build_env(char *const *image_env, char *const *opt_env, char *const *envp)
{
        char **env = xcalloc(1, sizeof(*env));

        for (char *const *e = image_env; e && *e; e++)
                env_merge(&env, *e);
        for (char *const *e = opt_env; e && *e; e++) {
                const char *v;

                if (strchr(*e, '=') || !(v = env_lookup(envp, *e))) {
                        env_merge(&env, *e);
                } else {
                        _autofree_ char *kv = xasprintf("%s=%s", *e, v);

                        env_merge(&env, kv);
                }
        }
        return env;
}

int berth_ctr_config_apply(struct berth_ctr *c, const struct berth_image_config *img,
                           const struct berth_run_opts *o, char *const *envp,
                           struct berth_error **err)
{
        char **entrypoint = NULL, **cmd = NULL;
        const char *wd = o->workdir ? o->workdir : img->working_dir;

        if (o->workdir && o->workdir[0] != '/')
                return berth_error_setx(err, EINVAL,
                                        "the working directory '%s' is invalid, it needs to be an "
                                        "absolute path",
                                        o->workdir);
        if (o->entrypoint) {
                size_t n = 0;

                if (o->entrypoint[0])
                        strv_push(&entrypoint, &n, xstrdup(o->entrypoint));
        } else if (img->entrypoint)
                entrypoint = strv_copy(img->entrypoint);
        if (o->cmd && o->cmd[0])
                cmd = strv_copy(o->cmd);
        else if (!o->entrypoint && img->cmd)
                cmd = strv_copy(img->cmd);
        if (strv_length(entrypoint) + strv_length(cmd) == 0) {
                strv_free(entrypoint);
                strv_free(cmd);
                return berth_error_setx(err, EINVAL, "no command specified");
        }
        c->entrypoint = entrypoint;
        c->cmd = cmd;
        c->env = build_env(img->env, o->env, envp);
        c->working_dir = xstrdup(wd ? wd : "");
        c->user = xstrdup(o->user ? o->user : img->user ? img->user : "");
        c->hostname = o->hostname ? xstrdup(o->hostname) : xasprintf("%.12s", c->id);
        if (o->stop_signal || (img->stop_signal && *img->stop_signal))
                c->stop_signal = xstrdup(o->stop_signal ? o->stop_signal : img->stop_signal);
        c->has_stop_timeout = o->has_stop_timeout;
        c->stop_timeout = o->stop_timeout;
        return berth_ctr_health_apply(c, img, o, err);
}

/* ---- users --------------------------------------------------------------------------------- */

/* Reads /etc/<name> of the rootfs, never following a link out of it. NULL text if absent. */
static int read_etc(int rootfd, const char *name, char **ret, struct berth_error **err)
{
        struct berth_open_how how = {.flags = O_RDONLY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT};
        _autofree_ char *path = xasprintf("/etc/%s", name);
        _autoclose_ int fd = rootfd >= 0 ? sys_openat2(rootfd, path, &how) : -EBADF;

        if (fd < 0) {
                if (rootfd >= 0 && errno != ENOENT && errno != ENOTDIR)
                        return berth_error_set(err, errno, "open %s in the rootfs", path);
                *ret = NULL;
                return 0;
        }
        return berth_read_fd(fd, path, 16u << 20, ret, NULL, err);
}

/* Splits a passwd/group line into at most n ':' fields (in place); returns the count. */
static size_t split_fields(char *line, char **f, size_t n)
{
        size_t i = 0;

        while (i < n && line) {
                f[i++] = line;
                line = strchr(line, ':');
                if (line)
                        *line++ = '\0';
        }
        return i;
}

/* Finds name (or numeric id) in a passwd/group text: id in *ret_id, passwd gid in *ret_gid. */
static bool find_entry(char *text, const char *name, bool by_id, uint64_t id, uint64_t *ret_id,
                       uint64_t *ret_gid)
{
        char *save = NULL;

        for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                char *f[4] = {0};
                uint64_t v, g = 0;

                if (split_fields(l, f, 4) < 3 || parse_u64(f[2], &v) < 0)
                        continue;
                if (by_id ? v != id : !streq(f[0], name))
                        continue;
                if (f[3])
                        (void) parse_u64(f[3], &g);
                *ret_id = v;
                *ret_gid = g;
                return true;
        }
        return false;
}

/* Resolves a user or group; -ENOENT names the file when a name is not found. */
static int resolve_id(int rootfd, const char *what, bool group, uint64_t *ret_id, uint64_t *ret_gid,
                      struct berth_error **err)
{
        _autofree_ char *text = NULL;
        uint64_t id = 0, gid = 0;
        bool numeric = parse_u64(what, &id) == 0;
        int r;

        if (numeric && id > UINT32_MAX - 1)
                return berth_error_setx(err, EINVAL, "%s id %s: out of range",
                                        group ? "group" : "user", what);
        r = read_etc(rootfd, group ? "group" : "passwd", &text, err);
        if (r < 0)
                return r;
        if (text && find_entry(text, what, numeric, id, &id, &gid)) {
                *ret_id = id;
                *ret_gid = group ? id : gid;
                return 0;
        }
        if (!numeric)
                return berth_error_setx(err, ENOENT,
                                        "unable to find %s %s: no matching entries in %s file",
                                        group ? "group" : "user", what, group ? "group" : "passwd");
        *ret_id = id;
        *ret_gid = 0;
        return 0;
}

/* The groups of /etc/group that list user by name (member lists are field 4). */
static void supplementary_groups(int rootfd, const char *user, gid_t primary, gid_t **ret,
                                 size_t *ret_n)
{
        _autofree_ char *text = NULL;
        char *save = NULL;
        gid_t *v = NULL;
        size_t n = 0;

        if (read_etc(rootfd, "group", &text, NULL) < 0 || !text)
                goto out;
        for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                char *f[4] = {0}, *msave = NULL;
                uint64_t g;

                if (split_fields(l, f, 4) < 4 || parse_u64(f[2], &g) < 0 || g == primary)
                        continue;
                for (char *m = strtok_r(f[3], ",", &msave); m; m = strtok_r(NULL, ",", &msave))
                        if (streq(m, user)) {
                                v = xreallocarray(v, n + 1, sizeof(*v));
                                v[n++] = (gid_t) g;
                                break;
                        }
        }
out:
        *ret = v;
        *ret_n = n;
}

int berth_user_resolve(int rootfd, const char *user, uid_t *ret_uid, gid_t *ret_gid,
                       gid_t **ret_groups, size_t *ret_n, struct berth_error **err)
{
        _autofree_ char *u = xstrdup(user && *user ? user : "0");
        char *g = strchr(u, ':');
        uint64_t uid, gid, gid2;
        int r;

        if (g)
                *g++ = '\0';
        r = resolve_id(rootfd, u, false, &uid, &gid, err);
        if (r >= 0 && g && *g)
                r = resolve_id(rootfd, g, true, &gid, &gid2, err);
        if (r < 0)
                return r;
        if (ret_groups) {
                *ret_groups = NULL;
                *ret_n = 0;
                if (!(g && *g))
                        supplementary_groups(rootfd, u, (gid_t) gid, ret_groups, ret_n);
        }
        *ret_uid = (uid_t) uid;
        *ret_gid = (gid_t) gid;
        return 0;
}

/* ---- the OCI spec -------------------------------------------------------------------------- */

static json_t *json_strs(const char *const *v, size_t n)
{
        json_t *a = json_array();

        for (size_t i = 0; i < n; i++)
                json_array_append_new(a, json_string(v[i]));
        return a;
}

/* docker's default capabilities (moby oci/caps/defaults.go). */
static char *const default_caps[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
    NULL,
};

/* A user other than root gets them in the bounding set only (moby#36587): with them effective at
 * its execve, CAP_DAC_OVERRIDE would let uid 1000 run a root-only 0700 program (docker: 126). */
static void set_caps(json_t *process, uid_t uid)
{
        char *const none[] = {NULL};
        json_t *c = json_object();

        json_object_set_new(c, "bounding", berth_json_strv(default_caps));
        json_object_set_new(c, "effective", berth_json_strv(uid ? none : default_caps));
        json_object_set_new(c, "permitted", berth_json_strv(uid ? none : default_caps));
        json_object_set_new(process, "capabilities", c);
}

/* docker's daemon environment: PATH, HOSTNAME, TERM with -t, then the container's Env replacing
 * or adding (so an image's PATH wins over the default). */
static json_t *spec_env(const struct berth_ctr *c, bool tty)
{
        char **env = xcalloc(1, sizeof(*env));
        _autofree_ char *host = xasprintf("HOSTNAME=%s", c->hostname);
        json_t *a;

        env_merge(&env, DEFAULT_PATH);
        env_merge(&env, host);
        if (tty)
                env_merge(&env, "TERM=xterm");
        for (char **e = c->env; e && *e; e++)
                env_merge(&env, *e);
        a = berth_json_strv(env);
        strv_free(env);
        return a;
}

static json_t *spec_args(const struct berth_ctr *c)
{
        json_t *a = berth_json_strv(c->entrypoint);

        for (char **v = c->cmd; v && *v; v++)
                json_array_append_new(a, json_string(*v));
        return a;
}

static int set_process(json_t *spec, const struct berth_ctr *c, const struct berth_run_opts *o,
                       int rootfd, struct berth_error **err)
{
        json_t *p = json_object_get(spec, "process"), *user, *groups;
        _autofree_ gid_t *gids = NULL;
        size_t n_gids = 0;
        uid_t uid;
        gid_t gid;
        json_t *args = spec_args(c);
        int r;

        r = berth_user_resolve(rootfd, c->user, &uid, &gid, &gids, &n_gids, err);
        if (r < 0) {
                json_decref(args);
                return r;
        }
        json_object_set_new(p, "terminal", json_boolean(o->tty));
        json_object_set_new(p, "args", args);
        json_object_set_new(p, "env", spec_env(c, o->tty));
        json_object_set_new(p, "cwd",
                            json_string(c->working_dir && *c->working_dir ? c->working_dir : "/"));
        user = json_pack("{s:I, s:I}", "uid", (json_int_t) uid, "gid", (json_int_t) gid);
        if (n_gids) {
                groups = json_array();
                for (size_t i = 0; i < n_gids; i++)
                        json_array_append_new(groups, json_integer(gids[i]));
                json_object_set_new(user, "additionalGids", groups);
        }
        json_object_set_new(p, "user", user);
        set_caps(p, uid);
        json_object_del(p, "rlimits"); /* inherited from berth, as docker's from its daemon */
        json_object_set_new(p, "noNewPrivileges", json_boolean(o->no_new_privileges));
        return 0;
}

static json_t *bind_mount(const char *dir, const char *name, const char *dest)
{
        _autofree_ char *src = xasprintf("%s/%s", dir, name);

        return json_pack("{s:s, s:s, s:s, s:[s,s]}", "destination", dest, "type", "bind", "source",
                         src, "options", "rbind", "rprivate");
}

static void set_mounts(json_t *spec, const struct berth_ctr *c)
{
        json_t *m = json_object_get(spec, "mounts");

        json_array_append_new(m, bind_mount(c->dir, "resolv.conf", "/etc/resolv.conf"));
        json_array_append_new(m, bind_mount(c->dir, "hostname", "/etc/hostname"));
        json_array_append_new(m, bind_mount(c->dir, "hosts", "/etc/hosts"));
}

static json_t *namespaces(void)
{
        static const char *const types[] = {"mount", "network", "uts", "pid", "ipc", "cgroup"};
        json_t *a = json_array();

        for (size_t i = 0; i < ARRAY_SIZE(types); i++)
                json_array_append_new(a, json_pack("{s:s}", "type", types[i]));
        return a;
}

/* The seccomp profile (the built-in default unless o names one) for docker's capabilities;
 * NULL with seccomp=unconfined, or for a profile without defaultAction and syscalls. */
static int seccomp_profile(const struct berth_run_opts *o, json_t **ret, struct berth_error **err)
{
        const struct berth_scmp_profile *p = o->seccomp ? o->seccomp : berth_scmp_profile_default();

        if (o->seccomp_unconfined) {
                *ret = NULL;
                return 0;
        }
        return berth_scmp_profile_resolve(p, default_caps, NULL, (struct json_t **) ret, err);
}

static void set_resources(json_t *lx, const struct berth_run_opts *o)
{
        json_t *res = json_object_get(lx, "resources");

        if (!res) {
                res = json_object();
                json_object_set_new(lx, "resources", res);
        }
        if (o->memory > 0) {
                json_t *m = json_pack("{s:I}", "limit", (json_int_t) o->memory);

                if (o->memory_swap)
                        json_object_set_new(m, "swap", json_integer(o->memory_swap));
                json_object_set_new(res, "memory", m);
        }
        if (o->pids_limit > 0)
                json_object_set_new(res, "pids",
                                    json_pack("{s:I}", "limit", (json_int_t) o->pids_limit));
        if (o->nano_cpus > 0)
                json_object_set_new(res, "cpu",
                                    json_pack("{s:I, s:I}", "quota",
                                              (json_int_t) (o->nano_cpus / 10000), "period",
                                              (json_int_t) 100000));
}

/* docker's masked and read-only paths (moby oci/defaults.go). */
static int set_linux(json_t *spec, const struct berth_ctr *c, const struct berth_run_opts *o,
                     struct berth_error **err)
{
        static const char *const masked[] = {
            "/proc/asound",     "/proc/acpi",        "/proc/interrupts",
            "/proc/kcore",      "/proc/keys",        "/proc/latency_stats",
            "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
            "/proc/scsi",       "/sys/firmware",     "/sys/devices/virtual/powercap",
        };
        static const char *const readonly[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                               "/proc/sysrq-trigger"};
        bool sys = !o->systempaths_unconfined;
        json_t *lx = json_object_get(spec, "linux"), *sc = NULL;
        _autofree_ char *cgpath = xasprintf("/berth/%s", c->id);
        int r;

        r = seccomp_profile(o, &sc, err);
        if (r < 0)
                return r;
        if (sc)
                json_object_set_new(lx, "seccomp", sc);
        json_object_set_new(lx, "namespaces", namespaces());
        json_object_set_new(lx, "maskedPaths", json_strs(masked, sys ? ARRAY_SIZE(masked) : 0));
        json_object_set_new(lx, "readonlyPaths",
                            json_strs(readonly, sys ? ARRAY_SIZE(readonly) : 0));
        /* absolute: berth-oci takes a relative cgroupsPath from the hierarchy's root, as runc */
        json_object_set_new(lx, "cgroupsPath", json_string(cgpath));
        set_resources(lx, o);
        return 0;
}

int berth_engine_spec(const struct berth_ctr *c, const struct berth_run_opts *o, int rootfd,
                      const char *rootfs, char **ret_json, struct berth_error **err)
{
        _autofree_ char *text = berth_spec_default_json(false, 0, 0);
        json_error_t jerr;
        json_t *spec = json_loads(text, 0, &jerr);
        int r;

        if (!spec || !json_is_object(json_object_get(spec, "process")) ||
            !json_is_object(json_object_get(spec, "linux")) ||
            !json_is_array(json_object_get(spec, "mounts"))) {
                json_decref(spec);
                return berth_error_setx(err, EINVAL, "default spec: line %d column %d: %s",
                                        jerr.line, jerr.column,
                                        spec ? "unexpected shape" : jerr.text);
        }
        r = set_process(spec, c, o, rootfd, err);
        if (r < 0) {
                json_decref(spec);
                return r;
        }
        json_object_set_new(spec, "root", json_pack("{s:s, s:b}", "path", rootfs, "readonly", 0));
        json_object_set_new(spec, "hostname", json_string(c->hostname));
        set_mounts(spec, c);
        r = set_linux(spec, c, o, err);
        if (r < 0) {
                json_decref(spec);
                return r;
        }
        *ret_json = json_dumps(spec, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(spec);
        return 0;
}
