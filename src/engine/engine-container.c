/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The engine's containers: the record (<root>/containers/<id>/container.json), its overlay, its
 * bundle, and the runtime side through libberth in-process (never by exec'ing berth-oci).
 *
 * Order matters for crash safety: the record is written before anything is mounted or started,
 * so whatever a kill -9 of berth leaves (a mount, a runtime state dir, a cgroup) is found from
 * the record and removed by `berth rm -f`.
 */
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "cgroup/cgroup.h"
#include "runtime/container.h"
#include "engine/engine-events.h"
#include "engine/engine-health.h"
#include "engine/engine-run.h"
#include "engine/engine.h"
#include "runtime/foreground.h"
#include "image/imagestore.h"
#include "base/json.h"
#include "base/log.h"
#include "image/overlay.h"
#include "base/path.h"
#include "runtime/state.h"
#include "base/syscalls.h"
#include "base/util.h"

#define RECORD "container.json"

void berth_ctr_free(struct berth_ctr *c)
{
        if (!c)
                return;
        free(c->id);
        free(c->name);
        free(c->image);
        free(c->image_name);
        strv_free(c->layers);
        free(c->created);
        free(c->dir);
        strv_free(c->env);
        strv_free(c->cmd);
        strv_free(c->entrypoint);
        free(c->working_dir);
        free(c->user);
        free(c->hostname);
        free(c->stop_signal);
        free(c->status);
        free(c->started_at);
        free(c->finished_at);
        free(c->log_driver);
        json_decref(c->health);
        berth_healthcheck_free(c->healthcheck);
        free(c->health_on_failure);
        free(c->restart_policy);
        strv_free(c->security_opts);
        free(c);
}

#define _autoctr_ _cleanup_(berth_ctr_freep)

void berth_ctrs_free(struct berth_ctr **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                berth_ctr_free(v[i]);
        free(v);
}

char *berth_ctr_upper(const struct berth_ctr *c)
{
        return xasprintf("%s/upper", c->dir);
}

char **berth_ctr_lowers(struct berth_store *s, const struct berth_ctr *c)
{
        size_t n = strv_length(c->layers);
        char **v = xcalloc(n + 1, sizeof(*v));

        for (size_t i = 0; i < n; i++)
                v[i] = berth_store_layer_dir(s, c->layers[n - 1 - i]);
        return v;
}

/* <root>/containers, absolute (the overlay and the bundle need absolute paths). */
static char *containers_dir(struct berth_store *s)
{
        _autofree_ char *abs = realpath(berth_store_root(s), NULL);

        return xasprintf("%s/containers", abs ? abs : berth_store_root(s));
}

/* ---- the record ---------------------------------------------------------------------------- */

static char **json_strv_get(json_t *o, const char *key, bool null_ok)
{
        json_t *a = json_object_get(o, key), *v;
        char **r;
        size_t i, n = 0;

        if (!json_is_array(a))
                return null_ok ? NULL : xcalloc(1, sizeof(char *));
        r = xcalloc(json_array_size(a) + 1, sizeof(*r));
        json_array_foreach(a, i, v) if (json_is_string(v)) r[n++] = xstrdup(json_string_value(v));
        return r;
}

static char *json_str_get(json_t *o, const char *key)
{
        const char *v = json_string_value(json_object_get(o, key));

        return v ? xstrdup(v) : NULL;
}

/* The restart policy's fields (engine-start.h) and the security options, added to "state" and
 * "hostConfig". */
static void record_restart_json(json_t *o, const struct berth_ctr *c)
{
        json_t *st = json_object_get(o, "state"), *hc = json_object_get(o, "hostConfig");

        json_object_set_new(st, "stoppedByUser", json_boolean(c->stopped_by_user));
        json_object_set_new(st, "restartedByUser", json_boolean(c->restarted_by_user));
        json_object_set_new(st, "restartDelayMs", json_integer(c->restart_delay_ms));
        json_object_set_new(hc, "RestartPolicy",
                            json_pack("{s:s, s:i}", "Name",
                                      c->restart_policy ? c->restart_policy : "no",
                                      "MaximumRetryCount", c->restart_max));
        json_object_set_new(hc, "SecurityOpt", berth_json_strv_or_null(c->security_opts));
}

static void record_restart_parse(struct berth_ctr *c, json_t *o)
{
        json_t *st = json_object_get(o, "state"), *hc = json_object_get(o, "hostConfig"),
               *rp = json_object_get(hc, "RestartPolicy");

        c->stopped_by_user = json_is_true(json_object_get(st, "stoppedByUser"));
        c->restarted_by_user = json_is_true(json_object_get(st, "restartedByUser"));
        c->restart_delay_ms = json_integer_value(json_object_get(st, "restartDelayMs"));
        c->restart_policy = json_str_get(rp, "Name");
        c->restart_max = (int) json_integer_value(json_object_get(rp, "MaximumRetryCount"));
        c->security_opts = json_strv_get(hc, "SecurityOpt", true);
}

static json_t *record_json(const struct berth_ctr *c)
{
        json_t *o = json_pack("{s:s, s:s, s:s, s:s?, s:o, s:s}", "id", c->id, "name", c->name,
                              "image", c->image, "imageName", c->image_name, "layers",
                              berth_json_strv_or_null(c->layers), "created", c->created);

        json_object_set_new(
            o, "config",
            json_pack("{s:o, s:o, s:o, s:s, s:s, s:s}", "Env", berth_json_strv_or_null(c->env),
                      "Cmd", berth_json_strv_or_null(c->cmd), "Entrypoint",
                      berth_json_strv_or_null(c->entrypoint), "WorkingDir",
                      c->working_dir ? c->working_dir : "", "User", c->user ? c->user : "",
                      "Hostname", c->hostname ? c->hostname : ""));
        if (c->stop_signal)
                json_object_set_new(json_object_get(o, "config"), "StopSignal",
                                    json_string(c->stop_signal));
        if (c->has_stop_timeout)
                json_object_set_new(json_object_get(o, "config"), "StopTimeout",
                                    json_integer(c->stop_timeout));
        json_object_set_new(o, "state",
                            json_pack("{s:s, s:i, s:s?, s:s?, s:i, s:b, s:i, s:I, s:i}", "status",
                                      c->status ? c->status : "created", "exitCode", c->exit_code,
                                      "startedAt", c->started_at, "finishedAt", c->finished_at,
                                      "pid", c->pid, "OOMKilled", c->oom_killed, "monitorPid",
                                      c->monitor_pid, "monitorStart", (json_int_t) c->monitor_start,
                                      "restartCount", c->restart_count));
        if (c->health)
                json_object_set(o, "health", c->health);
        json_object_set_new(
            o, "hostConfig",
            json_pack("{s:I, s:I, s:I, s:b, s:b, s:b, s:b, s:s, s:I, s:i}", "Memory",
                      (json_int_t) c->memory, "PidsLimit", (json_int_t) c->pids_limit, "NanoCpus",
                      (json_int_t) c->nano_cpus, "AutoRemove", c->auto_remove, "Detached",
                      c->detached, "Tty", c->tty, "OpenStdin", c->open_stdin, "LogDriver",
                      c->log_driver ? c->log_driver : "k8s-file", "LogMaxSize",
                      (json_int_t) c->log_max_size, "LogMaxFile",
                      c->log_max_file > 0 ? c->log_max_file : 1));
        record_restart_json(o, c);
        berth_ctr_health_record_json(o, c);
        return o;
}

int berth_ctr_save(const struct berth_ctr *c, struct berth_error **err)
{
        _autojson_ json_t *o = record_json(c);
        _autofree_ char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        _autoclose_ int dfd = open(c->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);

        if (dfd < 0)
                return berth_error_set(err, errno, "open %s", c->dir);
        /* atomic always (a killed berth leaves the old or the new record); durable across a power
         * loss only for containers that are kept: a --rm one is gone after a reboot anyway */
        if (berth_write_file_atomic(dfd, RECORD, text, strlen(text), 0600, !c->auto_remove, err) <
            0)
                return berth_error_prefix(err, "write the record of %.12s", c->id);
        return 0;
}

static void record_parse_state(struct berth_ctr *c, json_t *o)
{
        json_t *st = json_object_get(o, "state"), *hc = json_object_get(o, "hostConfig");

        c->status = json_str_get(st, "status");
        if (!c->status)
                c->status = xstrdup("created");
        c->exit_code = (int) json_integer_value(json_object_get(st, "exitCode"));
        c->pid = (int) json_integer_value(json_object_get(st, "pid"));
        c->oom_killed = json_is_true(json_object_get(st, "OOMKilled"));
        c->started_at = json_str_get(st, "startedAt");
        c->finished_at = json_str_get(st, "finishedAt");
        c->memory = json_integer_value(json_object_get(hc, "Memory"));
        c->pids_limit = json_integer_value(json_object_get(hc, "PidsLimit"));
        c->nano_cpus = json_integer_value(json_object_get(hc, "NanoCpus"));
        c->auto_remove = json_is_true(json_object_get(hc, "AutoRemove"));
        c->monitor_pid = (int) json_integer_value(json_object_get(st, "monitorPid"));
        c->monitor_start = (uint64_t) json_integer_value(json_object_get(st, "monitorStart"));
        c->detached = json_is_true(json_object_get(hc, "Detached"));
        c->tty = json_is_true(json_object_get(hc, "Tty"));
        c->open_stdin = json_is_true(json_object_get(hc, "OpenStdin"));
        c->log_driver = json_str_get(hc, "LogDriver");
        c->log_max_size = json_integer_value(json_object_get(hc, "LogMaxSize"));
        c->log_max_file = (int) json_integer_value(json_object_get(hc, "LogMaxFile"));
        c->restart_count = (int) json_integer_value(json_object_get(st, "restartCount"));
        record_restart_parse(c, o);
}

/* What the store's gc, rmi and prune rely on ("image" and "layers"), checked: a record misread
 * there could let gc take the layers that the container holds. */
static int record_check(json_t *o, const char *what, struct berth_error **err)
{
        json_t *a = json_object_get(o, "layers");

        if (!json_is_object(o))
                return berth_error_setx(err, EINVAL, "%s: not a JSON object", what);
        if (a && !json_is_null(a) && !json_is_array(a))
                return berth_error_setx(err, EINVAL, "%s: layers: not an array", what);
        for (size_t i = 0; i < json_array_size(a); i++)
                if (!json_is_string(json_array_get(a, i)))
                        return berth_error_setx(err, EINVAL, "%s: layers[%zu]: not a string", what,
                                                i);
        return 0;
}

/* The record of the container in dir; what names it in errors. strict (for the store's users):
 * duplicate keys and malformed layers are errors, id and name may be missing. */
static int record_parse(const char *text, const char *dir, const char *what, bool strict,
                        struct berth_ctr **ret, struct berth_error **err)
{
        json_error_t jerr;
        _autojson_ json_t *o = json_loads(text, strict ? JSON_REJECT_DUPLICATES : 0, &jerr);
        json_t *cfg;
        struct berth_ctr *c;

        if (!o)
                return berth_error_setx(err, EINVAL, "%s: line %d column %d: %s", what, jerr.line,
                                        jerr.column, jerr.text);
        if (strict && record_check(o, what, err) < 0)
                return -EINVAL;
        if (!strict && (!json_is_string(json_object_get(o, "id")) ||
                        !json_is_string(json_object_get(o, "name"))))
                return berth_error_setx(err, EINVAL, "%s: id or name: missing", what);
        c = xcalloc(1, sizeof(*c));
        c->id = json_str_get(o, "id");
        c->name = json_str_get(o, "name");
        c->image = json_str_get(o, "image");
        c->image_name = json_str_get(o, "imageName");
        c->layers = json_strv_get(o, "layers", false);
        c->created = json_str_get(o, "created");
        c->dir = xstrdup(dir);
        cfg = json_object_get(o, "config");
        c->env = json_strv_get(cfg, "Env", false);
        c->cmd = json_strv_get(cfg, "Cmd", true);
        c->entrypoint = json_strv_get(cfg, "Entrypoint", true);
        c->working_dir = json_str_get(cfg, "WorkingDir");
        c->user = json_str_get(cfg, "User");
        c->hostname = json_str_get(cfg, "Hostname");
        c->stop_signal = json_str_get(cfg, "StopSignal");
        c->has_stop_timeout = json_is_integer(json_object_get(cfg, "StopTimeout"));
        c->stop_timeout = (int) json_integer_value(json_object_get(cfg, "StopTimeout"));
        record_parse_state(c, o);
        c->health = json_is_object(json_object_get(o, "health"))
                        ? json_incref(json_object_get(o, "health"))
                        : NULL;
        berth_ctr_health_record_parse(c, o);
        *ret = c;
        return 0;
}

static int record_read(const char *cdir, const char *id, struct berth_ctr **ret,
                       struct berth_error **err)
{
        _autofree_ char *dir = xasprintf("%s/%s", cdir, id), *path = NULL, *text = NULL;
        int r;

        path = xasprintf("%s/" RECORD, dir);
        r = berth_read_file_at(AT_FDCWD, path, 0, &text, NULL, err);
        if (r < 0)
                return r;
        return record_parse(text, dir, path, false, ret, err);
}

/* ---- list and lookup -------------------------------------------------------------------- */

static int cmp_created(const void *a, const void *b)
{
        const struct berth_ctr *x = *(struct berth_ctr *const *) a,
                               *y = *(struct berth_ctr *const *) b;

        return -strcmp(x->created ? x->created : "", y->created ? y->created : "");
}

static bool is_id(const char *s)
{
        return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* A container dir without its record: what a berth killed between the mkdir and the record's
 * first write leaves (nothing is mounted or started before the record exists). Listed as
 * "dead", as docker lists containers it could not finish, so that `rm -f` can find it. */
static struct berth_ctr *dead_ctr(const char *cdir, const char *id)
{
        struct berth_ctr *c = xcalloc(1, sizeof(*c));

        c->id = xstrdup(id);
        c->name = xasprintf("%.12s", id);
        c->dir = xasprintf("%s/%s", cdir, id);
        c->layers = xcalloc(1, sizeof(char *));
        c->env = xcalloc(1, sizeof(char *));
        c->status = xstrdup("dead");
        return c;
}

int berth_ctr_list(struct berth_store *s, struct berth_ctr ***ret, size_t *ret_n,
                   struct berth_error **err)
{
        _autofree_ char *cdir = containers_dir(s);
        struct berth_ctr **v = NULL;
        struct dirent *de;
        size_t n = 0;
        DIR *d = opendir(cdir);

        if (!d && errno != ENOENT)
                return berth_error_set(err, errno, "list %s", cdir);
        while (d && (de = readdir(d))) {
                _autoerr_ struct berth_error *e = NULL;
                struct berth_ctr *c;

                if (!is_id(de->d_name))
                        continue;
                if (record_read(cdir, de->d_name, &c, &e) < 0) {
                        if (e->code != ENOENT) {
                                berth_warn("container %.12s: %s, skipping", de->d_name, e->msg);
                                continue;
                        }
                        c = dead_ctr(cdir, de->d_name);
                }
                v = xreallocarray(v, n + 1, sizeof(*v));
                v[n++] = c;
        }
        if (d)
                closedir(d);
        if (n)
                qsort(v, n, sizeof(*v), cmp_created);
        *ret = v;
        *ret_n = n;
        return 0;
}

/* docker's order: full id, then name, then a unique id prefix. */
static int find_in(struct berth_ctr **v, size_t n, const char *what, size_t *ret,
                   struct berth_error **err)
{
        const char *name = what[0] == '/' ? what + 1 : what;
        size_t found = n, hits = 0;

        for (size_t i = 0; i < n; i++)
                if (streq(v[i]->id, what)) {
                        *ret = i;
                        return 0;
                }
        for (size_t i = 0; i < n; i++)
                if (streq(v[i]->name, name)) {
                        *ret = i;
                        return 0;
                }
        for (size_t i = 0; *what && strspn(what, "0123456789abcdef") == strlen(what) && i < n; i++)
                if (startswith(v[i]->id, what)) {
                        found = i;
                        hits++;
                }
        if (hits > 1)
                return berth_error_setx(err, EINVAL,
                                        "multiple containers found with provided prefix: %s", what);
        if (hits == 0)
                return berth_error_setx(err, ENOENT, "no such container: %s", what);
        *ret = found;
        return 0;
}

int berth_ctr_lookup(struct berth_store *s, const char *what, struct berth_ctr **ret,
                     struct berth_error **err)
{
        struct berth_ctr **v = NULL;
        size_t n = 0, i = 0;
        int r;

        r = berth_ctr_list(s, &v, &n, err);
        if (r < 0)
                return r;
        r = find_in(v, n, what, &i, err);
        if (r >= 0) {
                *ret = v[i];
                v[i] = NULL;
        }
        berth_ctrs_free(v, n);
        return r;
}

/* ---- what the containers hold in the image store ------------------------------------------- */

#define MAX_RECORD (64u << 20)

int berth_ctr_reload(const struct berth_ctr *c, struct berth_ctr **ret, struct berth_error **err)
{
        _autofree_ char *path = xasprintf("%s/" RECORD, c->dir), *text = NULL;
        int r;

        r = berth_read_file_at(AT_FDCWD, path, MAX_RECORD, &text, NULL, err);
        if (r < 0)
                return r;
        return record_parse(text, c->dir, path, false, ret, err);
}

/* The user of the store that the record of container <cfd>/<id> makes; -ENOENT / -ENOTDIR: not a
 * container dir with a record. */
static int store_user_read(int cfd, const char *cdir, const char *id, struct berth_store_user *ret,
                           struct berth_error **err)
{
        _autofree_ char *what = xasprintf("%s/" RECORD, id), *dir = xasprintf("%s/%s", cdir, id),
                        *text = NULL;
        _autoctr_ struct berth_ctr *c = NULL;
        int r;

        r = berth_read_file_at(cfd, what, MAX_RECORD, &text, NULL, err);
        if (r >= 0)
                r = record_parse(text, dir, what, true, &c, err);
        if (r < 0)
                return r;
        *ret = (struct berth_store_user){
            .id = xstrdup(id),
            .image = steal_ptr(&c->image),
            .layers = steal_ptr(&c->layers),
            .data_dir = berth_ctr_upper(c),
        };
        return 0;
}

/* d: the containers dir (cdir, cfd), closed here. */
static int store_users_read(DIR *d, int cfd, const char *cdir, struct berth_store_user **ret,
                            size_t *ret_n, struct berth_error **err)
{
        struct berth_store_user *v = NULL, u;
        struct dirent *de;
        size_t n = 0;
        int r = 0;

        while (r >= 0 && (de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                r = store_user_read(cfd, cdir, de->d_name, &u, err);
                if (r == -ENOENT || r == -ENOTDIR) {
                        if (err)
                                berth_error_freep(err);
                        r = 0;
                        continue;
                }
                if (r < 0)
                        break;
                v = xreallocarray(v, n + 1, sizeof(*v));
                v[n++] = u;
        }
        closedir(d);
        if (r < 0) {
                berth_store_users_free(v, n);
                return r;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

int berth_ctr_store_users(struct berth_store *s, struct berth_store_user **ret, size_t *ret_n,
                          struct berth_error **err)
{
        _autofree_ char *cdir = containers_dir(s);
        _autoclose_ int cfd = open(cdir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        DIR *d;

        if (cfd < 0 && errno == ENOENT) {
                *ret = NULL;
                *ret_n = 0;
                return 0;
        }
        if (cfd < 0)
                return berth_error_set(err, errno, "open %s/containers", berth_store_root(s));
        d = fdopendir(openat(cfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!d)
                return berth_error_set(err, errno, "read %s/containers", berth_store_root(s));
        if (store_users_read(d, cfd, cdir, ret, ret_n, err) < 0)
                return berth_error_prefix(err, "%s/containers", berth_store_root(s));
        return 0;
}

/* ---- names and ids -------------------------------------------------------------------------- */

int berth_ctr_name_validate(const char *name, struct berth_error **err)
{
        static const char first[] =
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        const char *n = name[0] == '/' ? name + 1 : name;

        if (strlen(n) < 2 || !strchr(first, n[0]) ||
            strspn(n + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") !=
                strlen(n + 1))
                return berth_error_setx(err, EINVAL,
                                        "Invalid container name (%s), only "
                                        "[a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                                        name);
        return 0;
}

static int random_bytes(void *buf, size_t n, struct berth_error **err)
{
        uint8_t *p = buf;

        while (n > 0) {
                ssize_t r = getrandom(p, n, 0);

                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return berth_error_set(err, errno, "getrandom");
                p += r;
                n -= (size_t) r;
        }
        return 0;
}

static char *random_id(struct berth_error **err)
{
        uint8_t b[32];
        char *id;

        if (random_bytes(b, sizeof(b), err) < 0)
                return NULL;
        id = xcalloc(2 * sizeof(b) + 1, 1);
        berth_hex_encode(b, sizeof(b), id);
        return id;
}

/* docker's names-generator style: adjective_scientist. */
static char *random_name(void)
{
        static const char *const adj[] = {
            "admiring",   "brave",     "clever",   "dazzling", "eager",  "festive", "gallant",
            "happy",      "inspiring", "jolly",    "keen",     "loving", "modest",  "nifty",
            "optimistic", "peaceful",  "quirky",   "relaxed",  "serene", "tender",  "upbeat",
            "vibrant",    "wizardly",  "youthful", "zealous",  "bold",   "calm",    "dreamy",
        };
        static const char *const noun[] = {
            "archimedes", "babbage",   "curie",   "darwin",  "euclid",   "fermi",    "galileo",
            "hopper",     "hypatia",   "johnson", "kepler",  "lovelace", "meitner",  "newton",
            "noether",    "pascal",    "ritchie", "shannon", "thompson", "turing",   "wozniak",
            "yalow",      "zhukovsky", "bohr",    "cori",    "dijkstra", "einstein", "feynman",
        };
        uint32_t r[2] = {0, 0};

        (void) random_bytes(r, sizeof(r), NULL);
        return xasprintf("%s_%s", adj[r[0] % ARRAY_SIZE(adj)], noun[r[1] % ARRAY_SIZE(noun)]);
}

/* ---- create ---------------------------------------------------------------------------------- */

/* flock on <root>/containers.lock: name checks and record creation are one step. */
static int lock_containers(struct berth_store *s, int *ret_fd, struct berth_error **err)
{
        _autofree_ char *path = xasprintf("%s/containers.lock", berth_store_root(s));

        return berth_lock_file_at(AT_FDCWD, path, LOCK_EX, ret_fd, err);
}

/* The same lock, found from a container's dir (<root>/containers/<id>). */
int berth_ctr_lock(const struct berth_ctr *c, int *ret_fd, struct berth_error **err)
{
        _autofree_ char *root = xstrdup(c->dir), *path = NULL;
        char *slash;

        for (int i = 0; i < 2 && (slash = strrchr(root, '/')); i++)
                *slash = '\0';
        path = xasprintf("%s/containers.lock", root);
        return berth_lock_file_at(AT_FDCWD, path, LOCK_EX, ret_fd, err);
}

/* The name, checked against every record (under the lock). */
static int pick_name(struct berth_store *s, const char *want, char **ret, struct berth_error **err)
{
        struct berth_ctr **v = NULL;
        size_t n = 0, i;
        int r;

        r = berth_ctr_list(s, &v, &n, err);
        if (r < 0)
                return r;
        for (int attempt = 0; r >= 0 && attempt < 16; attempt++) {
                _autofree_ char *name =
                    want ? xstrdup(want[0] == '/' ? want + 1 : want) : random_name();

                for (i = 0; i < n && !streq(v[i]->name, name); i++)
                        ;
                if (i == n) {
                        *ret = steal_ptr(&name);
                        break;
                }
                if (want)
                        r = berth_error_setx(err, EEXIST,
                                             "the container name \"/%s\" is already in use by "
                                             "container %s: remove it or choose another name",
                                             name, v[i]->id);
                else if (attempt == 15)
                        r = berth_error_setx(err, EEXIST, "could not pick a free container name");
        }
        berth_ctrs_free(v, n);
        return r;
}

static int make_dirs(const struct berth_ctr *c, struct berth_error **err)
{
        static const char *const subs[] = {"upper", "work", "rootfs", "bundle"};
        _autofree_ char *parent = xstrdup(c->dir);

        *strrchr(parent, '/') = '\0';
        if (mkdir(parent, 0700) < 0 && errno != EEXIST)
                return berth_error_set(err, errno, "mkdir %s", parent);
        if (mkdir(c->dir, 0700) < 0)
                return berth_error_set(err, errno, "mkdir %s", c->dir);
        for (size_t i = 0; i < ARRAY_SIZE(subs); i++) {
                _autofree_ char *p = xasprintf("%s/%s", c->dir, subs[i]);

                if (mkdir(p, i == 0 ? 0755 : 0700) < 0)
                        return berth_error_set(err, errno, "mkdir %s", p);
        }
        return 0;
}

static struct berth_ctr *ctr_new(struct berth_store *s, const char *id, const char *image_id,
                                 char *const *layers, const char *image_name,
                                 const struct berth_run_opts *o)
{
        struct berth_ctr *c = xcalloc(1, sizeof(*c));
        _autofree_ char *cdir = containers_dir(s);
        size_t n = strv_length(layers);

        c->id = xstrdup(id);
        c->image = xstrdup(image_id);
        c->image_name = image_name ? xstrdup(image_name) : NULL;
        c->layers = xcalloc(n + 1, sizeof(char *));
        for (size_t i = 0; i < n; i++)
                c->layers[i] = xstrdup(layers[i]);
        c->created = berth_rfc3339_now();
        c->dir = xasprintf("%s/%s", cdir, id);
        c->status = xstrdup("created");
        c->memory = o->memory;
        c->pids_limit = o->pids_limit;
        c->nano_cpus = o->nano_cpus;
        c->auto_remove = o->auto_remove;
        c->detached = o->detach;
        c->tty = o->tty;
        c->open_stdin = o->interactive;
        c->log_driver = xstrdup(o->log_driver ? o->log_driver : "k8s-file");
        c->log_max_size = o->log_max_size;
        c->log_max_file = o->log_max_file > 0 ? o->log_max_file : 1;
        c->restart_policy = o->restart_policy ? xstrdup(o->restart_policy) : NULL;
        c->restart_max = o->restart_max;
        for (size_t i = 0, k = 0; o->security_opts && o->security_opts[i]; i++)
                strv_push(&c->security_opts, &k, xstrdup(o->security_opts[i]));
        return c;
}

int berth_ctr_create(struct berth_store *s, const char *image_id, char *const *layers,
                     const char *image_name, const struct berth_image_config *img,
                     const struct berth_run_opts *o, struct berth_ctr **ret,
                     struct berth_error **err)
{
        extern char **environ;
        _autoctr_ struct berth_ctr *c = NULL;
        _autofree_ char *id = NULL;
        _autoclose_ int lock = -EBADF;
        int r;

        if (o->name && berth_ctr_name_validate(o->name, err) < 0)
                return -EINVAL;
        id = random_id(err);
        if (!id)
                return -EIO;
        c = ctr_new(s, id, image_id, layers, image_name, o);
        r = berth_ctr_config_apply(c, img, o, environ, err);
        if (r < 0)
                return r;
        r = lock_containers(s, &lock, err);
        if (r >= 0)
                r = pick_name(s, o->name, &c->name, err);
        if (r >= 0)
                r = make_dirs(c, err);
        if (r >= 0)
                r = berth_ctr_save(c, err);
        if (r < 0)
                return r;
        berth_event_emit(NULL, "create", c, NULL);
        *ret = steal_ptr(&c);
        return 0;
}

/* ---- mount and prepare --------------------------------------------------------------------- */

int berth_ctr_mount(struct berth_store *s, const struct berth_ctr *c, struct berth_error **err)
{
        _autostrv_ char **lowers = berth_ctr_lowers(s, c);
        _autofree_ char *upper = berth_ctr_upper(c), *work = xasprintf("%s/work", c->dir),
                        *rootfs = xasprintf("%s/rootfs", c->dir);

        if (!lowers[0])
                return berth_error_setx(err, EINVAL, "image %s has no layers", c->image);
        /* --rm: nothing of the upper dir outlives the container, so skip its syncs */
        return berth_overlay_mount_flags((const char *const *) lowers, upper, work, rootfs,
                                         c->auto_remove ? BERTH_OVERLAY_VOLATILE : 0, err);
}

int berth_ctr_umount(const struct berth_ctr *c, struct berth_error **err)
{
        _autofree_ char *rootfs = xasprintf("%s/rootfs", c->dir);
        int r;

        r = berth_overlay_umount(rootfs, NULL);
        if (r == -EINVAL || r == -ENOENT || r >= 0)
                return 0;
        return berth_overlay_umount(rootfs, err);
}

static int write_text(int dfd, const char *name, const char *text, struct berth_error **err)
{
        return berth_write_file_atomic(dfd, name, text, strlen(text), 0644, false, err);
}

/* hostname, hosts and resolv.conf beside the record, bound into the container. */
static int write_etc_files(const struct berth_ctr *c, struct berth_error **err)
{
        _autoclose_ int dfd = open(c->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        _autofree_ char *host = xasprintf("%s\n", c->hostname), *resolv = NULL,
                        *hosts = xasprintf("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost "
                                           "ip6-loopback\n127.0.1.1\t%s\n",
                                           c->hostname);
        int r;

        if (dfd < 0)
                return berth_error_set(err, errno, "open %s", c->dir);
        if (berth_read_file_at(AT_FDCWD, "/etc/resolv.conf", 1u << 20, &resolv, NULL, NULL) < 0)
                resolv = xstrdup("");
        r = write_text(dfd, "hostname", host, err);
        if (r >= 0)
                r = write_text(dfd, "hosts", hosts, err);
        if (r >= 0)
                r = write_text(dfd, "resolv.conf", resolv, err);
        return r;
}

/* docker creates a missing working dir (owned by the container's user). */
static void make_workdir(int rootfd, const struct berth_ctr *c)
{
        _autoerr_ struct berth_error *e = NULL;
        _autoclose_ int fd = -EBADF;
        uid_t uid;
        gid_t gid;

        if (!c->working_dir || !*c->working_dir || streq(c->working_dir, "/"))
                return;
        if (berth_resolve_in_root(rootfd, c->working_dir, BERTH_RESOLVE_MKDIR, &fd, &e) < 0) {
                berth_warn("create the working dir %s: %s, ignoring", c->working_dir, e->msg);
                return;
        }
        if (berth_user_resolve(rootfd, c->user, &uid, &gid, NULL, NULL, NULL) == 0 && uid != 0 &&
            fchownat(fd, "", uid, gid, AT_EMPTY_PATH) < 0)
                berth_log(BERTH_LOG_DEBUG, "chown the working dir %s to %u:%u: %m, ignoring",
                          c->working_dir, uid, gid);
}

int berth_ctr_prepare(const struct berth_ctr *c, const struct berth_run_opts *o,
                      struct berth_error **err)
{
        _autofree_ char *rootfs = xasprintf("%s/rootfs", c->dir), *json = NULL,
                        *bundle = xasprintf("%s/bundle", c->dir);
        _autoclose_ int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        _autoclose_ int bfd = open(bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
        int r;

        if (rootfd < 0 || bfd < 0)
                return berth_error_set(err, errno, "open %s", rootfd < 0 ? rootfs : bundle);
        r = write_etc_files(c, err);
        if (r < 0)
                return r;
        r = berth_engine_spec(c, o, rootfd, rootfs, &json, err);
        if (r < 0)
                return r;
        make_workdir(rootfd, c);
        return berth_write_file_atomic(bfd, "config.json", json, strlen(json), 0600, false, err);
}

/* ---- runtime ------------------------------------------------------------------------------- */

int berth_ctr_runtime_create(const struct berth_ctr *c, const char *runroot, bool tty,
                             struct berth_container **ret, struct berth_error **err)
{
        _autofree_ char *bundle = xasprintf("%s/bundle", c->dir);
        struct berth_create_opts co = {
            .root = runroot,
            .id = c->id,
            .bundle = bundle,
            .foreground_tty = tty,
        };
        _autoclose_ int rfd = -EBADF;
        int r;

        r = berth_state_root_open(runroot, &rfd, err);
        if (r < 0)
                return r;
        return berth_container_create(&co, ret, err);
}

/* create's failures to find or run args[0] (init.c resolves it before CREATED): 127 / 126. */
int berth_run_create_exit_code(const struct berth_error *e)
{
        if (!e || !startswith(e->msg, "exec: "))
                return BERTH_EXIT_ENGINE;
        if (e->code == ENOENT)
                return BERTH_EXIT_NOT_FOUND;
        if (e->code == EACCES || e->code == ENOEXEC || e->code == EISDIR || e->code == EPERM)
                return BERTH_EXIT_CANNOT_EXEC;
        return BERTH_EXIT_ENGINE;
}

int berth_ctr_runtime_start(struct berth_container *lc, struct berth_error **err)
{
        /* start releases the state dir's lock when it returns: `berth rm -f` can take it while
         * the foreground run waits */
        return berth_container_start(lc, err);
}

/* Kills and removes what libberth left for this id in runroot: the state dir and the cgroup,
 * also after a crash half-way through create (a state dir without state.json). */
static int runtime_remove(const struct berth_ctr *c, const char *runroot,
                          struct berth_container *lc, struct berth_error **err)
{
        _autocontainer_ struct berth_container *loaded = NULL;
        _autocgroup_ struct berth_cgroup *cg = NULL;
        _autofree_ char *cgpath = xasprintf("/berth/%s", c->id);
        _autoclose_ int rfd = -EBADF;
        int r = 0;

        /* _any: a damaged state.json must not keep rm -f from the container's processes */
        if (!lc && berth_container_load_any(runroot, c->id, &loaded, NULL) >= 0)
                lc = loaded;
        if (lc) {
                _autoerr_ struct berth_error *derr = NULL;

                r = berth_container_delete(lc, true, &derr);
                /* a concurrent `rm -f` deleted it first */
                if (r < 0 && r != -ENOENT)
                        return berth_error_setx(err, -r, "%s", derr->msg);
                r = 0;
        }
        rfd = open(runroot, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (rfd >= 0 && faccessat(rfd, c->id, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
                r = berth_state_dir_remove(rfd, c->id, err);
                if (r < 0)
                        return r;
        }
        if (berth_cgroup_open(cgpath, c->id, &cg, NULL) >= 0) {
                berth_cgroup_kill(cg, SIGKILL, NULL);
                r = berth_cgroup_destroy(cg, err);
        }
        return r;
}

/* The name as the record has it now (under berth_ctr_lock): `berth rename` may have changed it
 * since c was read, and a save from c must not undo that. */
static void record_name_reload(struct berth_ctr *c)
{
        _autofree_ char *path = xasprintf("%s/" RECORD, c->dir), *text = NULL;
        _autojson_ json_t *o = NULL;
        const char *name;

        if (berth_read_file_at(AT_FDCWD, path, MAX_RECORD, &text, NULL, NULL) < 0)
                return;
        o = json_loads(text, 0, NULL);
        name = json_string_value(json_object_get(o, "name"));
        if (name && !streq(name, c->name)) {
                free(c->name);
                c->name = xstrdup(name);
        }
}

int berth_ctr_save_keeping(struct berth_ctr *c, struct berth_error **err)
{
        _autoclose_ int lock = -EBADF;
        int r = berth_ctr_lock(c, &lock, err);

        if (r < 0)
                return r;
        if (access(c->dir, F_OK) < 0 && errno == ENOENT)
                return berth_error_setx(err, ENOENT, "No such container: %s", c->name);
        record_name_reload(c);
        return berth_ctr_save(c, err);
}

int berth_ctr_finish(struct berth_ctr *c, const char *runroot, struct berth_container *lc,
                     int wait_status, struct berth_error **err)
{
        _autoclose_ int lock = -EBADF;
        int r;

        if (lc) {
                berth_container_observe(lc); /* before delete removes the cgroup */
                c->oom_killed = lc->oom_killed;
        }
        r = runtime_remove(c, runroot, lc, err);
        if (r >= 0)
                r = berth_ctr_umount(c, err);
        free(c->status);
        c->status = xstrdup(c->restart_pending ? "restarting" : "exited");
        c->exit_code = wait_status >= 0 ? berth_exit_code(wait_status) : c->exit_code;
        c->pid = 0;
        berth_ctr_health_end(c); /* dockerd's: unhealthy once the checks stop */
        free(c->finished_at);
        c->finished_at = berth_rfc3339_now();
        /* under the lock that `rm` holds while it removes the dir: never write into a dir
         * being removed */
        if (berth_ctr_lock(c, &lock, NULL) < 0)
                lock = -EBADF;
        if (access(c->dir, F_OK) < 0 && errno == ENOENT) {
                /* removed meanwhile by `rm -f`, which cleaned up what we could not */
                if (r < 0 && err) {
                        berth_error_free(*err);
                        *err = NULL;
                }
                return 0;
        }
        record_name_reload(c);
        if (r < 0) {
                _autoerr_ struct berth_error *e = NULL;

                (void) berth_ctr_save(c, &e);
                return r;
        }
        return berth_ctr_save(c, err);
}

bool berth_ctr_monitor_alive(const struct berth_ctr *c)
{
        unsigned long long start = 0;
        bool zombie = false;

        return c->monitor_pid > 0 &&
               berth_proc_starttime((pid_t) c->monitor_pid, &start, &zombie) >= 0 && !zombie &&
               start == c->monitor_start;
}

int berth_ctr_waiter_hold(const struct berth_ctr *c)
{
        _autoclose_ int fd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (fd < 0)
                return -errno;
        while (flock(fd, LOCK_SH) < 0)
                if (errno != EINTR)
                        return -errno;
        return steal_fd(&fd);
}

#define WAITERS_MAX_MS 60000
#define WAITERS_POLL_MS 10

int berth_ctr_waiters_gone(const struct berth_ctr *c)
{
        int fd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        for (int ms = 0; fd >= 0 && ms < WAITERS_MAX_MS; ms += WAITERS_POLL_MS) {
                if (flock(fd, LOCK_EX | LOCK_NB) == 0 || errno != EWOULDBLOCK)
                        break;
                usleep(WAITERS_POLL_MS * 1000);
        }
        return fd;
}

/* refresh's verdict on a record whose monitor is gone (status: what to record), saved under
 * berth_ctr_lock and only if the record still says what c says: a monitor may have recorded
 * the end, or a start a new run, since c was read; the name as it is now (a rename). */
static void record_lost(struct berth_ctr *c, const char *status, bool lost_end)
{
        _autoclose_ int lock = -EBADF;
        _autoctr_ struct berth_ctr *now = NULL;

        if (berth_ctr_lock(c, &lock, NULL) < 0 || berth_ctr_reload(c, &now, NULL) < 0 ||
            !streq(now->status, c->status) || now->monitor_pid != c->monitor_pid)
                return;
        free(c->name);
        c->name = steal_ptr(&now->name);
        free(c->status);
        c->status = xstrdup(status);
        if (lost_end) {
                /* berth (or its monitor) was killed while it ran: the code is lost, docker's 255 */
                c->exit_code = 255;
                c->pid = 0;
                if (!c->finished_at)
                        c->finished_at = berth_rfc3339_now();
        }
        (void) berth_ctr_save(c, NULL);
}

void berth_ctr_refresh(struct berth_ctr *c, const char *runroot)
{
        _autocontainer_ struct berth_container *lc = NULL;

        if (streq(c->status, "exited"))
                return;
        if (berth_container_load(runroot, c->id, &lc, NULL) >= 0 &&
            (lc->status == BERTH_STATUS_RUNNING || lc->status == BERTH_STATUS_CREATED ||
             lc->status == BERTH_STATUS_PAUSED)) {
                berth_container_observe(lc); /* the freezer: paused */
                c->paused = streq(c->status, "running") && lc->status == BERTH_STATUS_PAUSED;
                return;
        }
        /* its monitor is recording the end right now, or waits to start it again */
        if (berth_ctr_monitor_alive(c))
                return;
        /* its monitor died between two runs: the last end stays as recorded */
        if (streq(c->status, "restarting"))
                record_lost(c, "exited", false);
        else if (streq(c->status, "running"))
                record_lost(c, "exited", true);
}

static bool runtime_alive(const struct berth_ctr *c, const char *runroot)
{
        _autocontainer_ struct berth_container *lc = NULL;

        return berth_container_load_any(runroot, c->id, &lc, NULL) >= 0 &&
               lc->status != BERTH_STATUS_STOPPED;
}

/* rm -f of a container under a restart policy: its monitor could start it again behind rm's
 * back (between two runs, or as rm kills it), so it goes first (SIGKILL, through a pidfd taken
 * before its start time is checked); what it leaves is rm's to clean. */
static void restart_monitor_kill(const struct berth_ctr *c)
{
        _autoclose_ int fd = -EBADF;
        struct pollfd p;

        if (!c->restart_policy || streq(c->restart_policy, "no") || c->monitor_pid <= 0)
                return;
        fd = sys_pidfd_open((pid_t) c->monitor_pid, 0);
        if (fd < 0 || !berth_ctr_monitor_alive(c) ||
            sys_pidfd_send_signal(fd, SIGKILL, NULL, 0) < 0)
                return;
        p = (struct pollfd){.fd = fd, .events = POLLIN};
        while (poll(&p, 1, 5000) < 0 && errno == EINTR)
                ;
}

int berth_ctr_remove(struct berth_ctr *c, const char *runroot, bool force, struct berth_error **err)
{
        _autofree_ char *parent = xstrdup(c->dir);
        _autoclose_ int pfd = -EBADF, lock = -EBADF;
        bool alive = runtime_alive(c, runroot);
        int r;

        if (!force && alive)
                return berth_error_setx(err, EBUSY,
                                        "cannot remove container \"%s\": container is running: "
                                        "stop the container before removing or force remove",
                                        c->name);
        if (!force && streq_ptr(c->status, "restarting") && berth_ctr_monitor_alive(c))
                return berth_error_setx(err, EBUSY,
                                        "cannot remove container \"%s\": container is "
                                        "restarting: stop the container before removing or force "
                                        "remove",
                                        c->name);
        if (force)
                restart_monitor_kill(c);
        if (alive) /* docker's rm -f: a kill with SIGKILL */
                berth_event_emit(NULL, "kill", c, (const char *const[]){"signal", "9", NULL});
        r = runtime_remove(c, runroot, NULL, err);
        if (r < 0)
                return berth_error_prefix(err, "remove container %s", c->name);
        *strrchr(parent, '/') = '\0';
        pfd = open(parent, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (pfd < 0)
                return berth_error_set(err, errno, "open %s", parent);
        r = berth_ctr_lock(c, &lock, err);
        /* under the lock: a monitor starting the container again mounts under it too
         * (engine-start.h), so that nothing is mounted once the record is gone */
        if (r >= 0)
                r = berth_ctr_umount(c, err);
        if (r >= 0)
                r = berth_rm_rf_at(pfd, c->id, err);
        if (r < 0)
                return berth_error_prefix(err, "remove container %s", c->name);
        berth_event_emit(NULL, "destroy", c, NULL);
        return 0;
}
