/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth ps [-a] [-q] [-n N] [-l] [-s] [--no-trunc] [-f FILTER]... [--format FMT]: docker's table of
 * containers, newest first (running ones only without -a, -n, -l or a status filter), docker's
 * STATUS texts ("Up 3 minutes (healthy)", "Up 2 minutes (Paused)", "Exited (137) 5 seconds ago",
 * "Restarting (1) 2 seconds ago", "Created") and filters (docker's daemon filters them: its
 * messages are kept, exit 1).
 */
#include <jansson.h>
#include <regex.h>
#include <time.h>

#include "berth.h"
#include "engine/engine-inspect.h"
#include "engine/engine.h"
#include "image/imageref.h"
#include "image/imagestore.h"
#include "base/util.h"

enum { F_ALL, F_QUIET, F_LAST, F_LATEST, F_SIZE, F_NO_TRUNC, F_FILTER, F_FORMAT };

static const struct berth_flag flags[] = {
    [F_ALL] = {"all", 'a', BERTH_FLAG_BOOL, NULL,
               "Show all containers (default shows just running)"},
    [F_QUIET] = {"quiet", 'q', BERTH_FLAG_BOOL, NULL, "Only display container IDs"},
    [F_LAST] = {"last", 'n', BERTH_FLAG_VALUE, "int",
                "Show n last created containers (includes all states)"},
    [F_LATEST] = {"latest", 'l', BERTH_FLAG_BOOL, NULL,
                  "Show the latest created container (includes all states)"},
    [F_SIZE] = {"size", 's', BERTH_FLAG_BOOL, NULL, "Display total file sizes"},
    [F_NO_TRUNC] = {"no-trunc", 0, BERTH_FLAG_BOOL, NULL, "Don't truncate output"},
    [F_FILTER] = {"filter", 'f', BERTH_FLAG_LIST, "filter",
                  "Filter output based on conditions provided"},
    [F_FORMAT] = {"format", 0, BERTH_FLAG_VALUE, "string",
                  "Format output: \"table\", \"table TEMPLATE\", \"json\", \"raw\", or a "
                  "template ({{.ID}})"},
};

static const struct berth_cmd_spec spec = {
    .name = "ps",
    .usage = "ps [OPTIONS]",
    .summary = "List containers",
    .flags = flags,
    .n_flags = ARRAY_SIZE(flags),
    .min_args = 0,
    .max_args = 0,
};

struct ps_opts {
        bool all, quiet, trunc, size;
        int64_t last; /* > 0: the last N created */
        const char *format;
        char **filters; /* "key=value", checked */
};

static int64_t unix_time(const char *rfc3339)
{
        int64_t t = 0;

        return rfc3339 && berth_parse_rfc3339(rfc3339, &t) == 0 ? t : (int64_t) time(NULL);
}

/* ---- filters (docker's daemon/list.go) ----------------------------------------------------- */

static const char *const filter_keys[] = {
    "ancestor", "before", "exited",  "expose",  "health", "id",     "isolation", "is-task",
    "label",    "name",   "network", "publish", "since",  "status", "volume",
};

static const char *const statuses[] = {"created", "restarting", "running", "removing",
                                       "paused",  "exited",     "dead"};

static bool in_list(const char *s, const char *const *v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (streq(s, v[i]))
                        return true;
        return false;
}

/* One -f value checked: "bad format" is the CLI's (125); the others are the daemon's (1). */
static int filter_check(const char *f, int *ret_rc, struct berth_error **err)
{
        const char *eq = strchr(f, '=');
        _autofree_ char *key = eq ? xasprintf("%.*s", (int) (eq - f), f) : NULL;
        int64_t n;

        *ret_rc = BERTH_EXIT_FAILED;
        if (!eq) {
                *ret_rc = BERTH_EXIT_ENGINE;
                return berth_error_setx(err, EINVAL,
                                        "invalid argument \"%s\" for \"-f, --filter\" flag: bad "
                                        "format of filter (expected name=value)",
                                        f);
        }
        if (!in_list(key, filter_keys, ARRAY_SIZE(filter_keys)))
                return berth_error_setx(err, EINVAL, "Invalid filter '%s'", key);
        if (streq(key, "status") && !in_list(eq + 1, statuses, ARRAY_SIZE(statuses)))
                return berth_error_setx(err, EINVAL, "Invalid filter 'status=%s'", eq + 1);
        if (streq(key, "exited") && parse_i64(eq + 1, &n) < 0)
                return berth_error_setx(err, EINVAL, "strconv.Atoi: parsing \"%s\": invalid syntax",
                                        eq + 1);
        if (streq(key, "health") && !streq(eq + 1, "starting") && !streq(eq + 1, "healthy") &&
            !streq(eq + 1, "unhealthy") && !streq(eq + 1, "none"))
                return berth_error_setx(err, EINVAL, "Unrecognised filter value for health: %s",
                                        eq + 1);
        if (streq(key, "is-task") && !streq(eq + 1, "true") && !streq(eq + 1, "false"))
                return berth_error_setx(err, EINVAL, "Invalid filter 'is-task=[%s]'", eq + 1);
        return 0;
}

/* Go's regexp.MatchString, as POSIX extended: a pattern that does not compile matches nothing. */
static bool regex_match(const char *pattern, const char *s)
{
        regex_t re;
        bool m;

        if (regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB) != 0)
                return false;
        m = regexec(&re, s, 0, NULL, 0) == 0;
        regfree(&re);
        return m;
}

/* docker's ancestor: the image (by any name or id) or one made on top of it (its layers first). */
static bool is_ancestor(struct berth_store *s, const char *what, const struct berth_ctr *c)
{
        _cleanup_(berth_image_freep) struct berth_image *img = NULL;
        size_t n;

        if (berth_store_image_lookup(s, what, &img, NULL) < 0)
                return false;
        if (streq_ptr(c->image, img->id))
                return true;
        n = strv_length(img->layers);
        if (n == 0 || n > strv_length(c->layers))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!streq(img->layers[i], c->layers[i]))
                        return false;
        return true;
}

/* The index in v of container `what` (before= / since=); -ENOENT: docker's message. */
static int find_ref(struct berth_ctr **v, size_t n, const char *what, size_t *ret,
                    struct berth_error **err)
{
        const char *name = what[0] == '/' ? what + 1 : what;

        for (size_t i = 0; i < n; i++)
                if (streq(v[i]->id, what) || streq(v[i]->name, name) ||
                    (strlen(what) >= 1 && startswith(v[i]->id, what))) {
                        *ret = i;
                        return 0;
                }
        return berth_error_setx(err, ENOENT, "no such container %s", what);
}

struct match_ctx {
        struct berth_store *store;
        struct berth_ctr **v;
        size_t n;
        size_t before, since; /* indexes (v is newest first); n: none */
};

static bool value_matches(const struct match_ctx *m, size_t i, const char *key, const char *val)
{
        const struct berth_ctr *c = m->v[i];
        _autofree_ char *slashed = xasprintf("/%s", c->name);
        int64_t code = 0;

        if (streq(key, "status"))
                return streq(berth_ctr_state_name(c), val);
        if (streq(key, "name"))
                return regex_match(val, c->name) || regex_match(val, slashed);
        if (streq(key, "id"))
                return regex_match(val, c->id);
        if (streq(key, "exited"))
                return parse_i64(val, &code) == 0 && streq(berth_ctr_state_name(c), "exited") &&
                       code == c->exit_code;
        if (streq(key, "ancestor"))
                return is_ancestor(m->store, val, c);
        if (streq(key, "health"))
                return streq(val, berth_ctr_health_status(c) ?: "none");
        if (streq(key, "is-task"))
                return streq(val, "false");
        /* before/since: by index (below); label, network, volume, publish, expose, isolation:
         * berth's containers have none of these yet */
        return streq(key, "before") || streq(key, "since");
}

/* docker: the values of one key are alternatives, the keys all apply. */
static bool matches(const struct match_ctx *m, size_t i, char *const *filters)
{
        if (m->before < m->n && i <= m->before)
                return false;
        if (m->since < m->n && i >= m->since)
                return false;
        for (char *const *f = filters; f && *f; f++) {
                size_t klen = strcspn(*f, "=");
                bool any = false;

                for (char *const *g = filters; *g && !any; g++)
                        if (strcspn(*g, "=") == klen && !strncmp(*f, *g, klen)) {
                                _autofree_ char *key = xasprintf("%.*s", (int) klen, *g);

                                any = value_matches(m, i, key, *g + klen + 1);
                        }
                if (!any)
                        return false;
        }
        return true;
}

static bool has_filter(char *const *filters, const char *key)
{
        for (char *const *f = filters; f && *f; f++)
                if (startswith(*f, key) && (*f)[strlen(key)] == '=')
                        return true;
        return false;
}

/* before= / since=: the last value of each (as docker's walk leaves it). */
static int refs_resolve(struct match_ctx *m, char *const *filters, struct berth_error **err)
{
        m->before = m->since = m->n;
        for (char *const *f = filters; f && *f; f++) {
                if (startswith(*f, "before=") && find_ref(m->v, m->n, *f + 7, &m->before, err) < 0)
                        return -ENOENT;
                if (startswith(*f, "since=") && find_ref(m->v, m->n, *f + 6, &m->since, err) < 0)
                        return -ENOENT;
        }
        return 0;
}

/* The containers to show, in order (borrowed pointers into v). */
static int select_rows(const struct ps_opts *o, struct match_ctx *m, struct berth_ctr ***ret,
                       size_t *ret_n, struct berth_error **err)
{
        bool all = o->all || o->last > 0 || has_filter(o->filters, "status");
        struct berth_ctr **rows = xcalloc(m->n + 1, sizeof(*rows));
        size_t k = 0;

        if (refs_resolve(m, o->filters, err) < 0) {
                free(rows);
                return -ENOENT;
        }
        for (size_t i = 0; i < m->n && (o->last <= 0 || (int64_t) k < o->last); i++)
                if ((all || berth_ctr_is_up(m->v[i])) && matches(m, i, o->filters))
                        rows[k++] = m->v[i];
        *ret = rows;
        *ret_n = k;
        return 0;
}

/* ---- the columns ------------------------------------------------------------------------- */

/* Go's strconv.Quote of s, appended to b (UTF-8 kept as it is). */
static char *go_quote(const char *s)
{
        char *q = xcalloc(4 * strlen(s) + 3, 1), *w = q;

        *w++ = '"';
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                static const char esc[] = "\a\b\f\n\r\t\v", name[] = "abfnrtv";
                const char *e = *p ? strchr(esc, *p) : NULL;

                if (*p == '"' || *p == '\\')
                        w += sprintf(w, "\\%c", *p);
                else if (e)
                        w += sprintf(w, "\\%c", name[e - esc]);
                else if (*p < 0x20 || *p == 0x7f)
                        w += sprintf(w, "\\x%02x", *p);
                else
                        *w++ = (char) *p;
        }
        *w++ = '"';
        return q;
}

/* Go's formatter.Ellipsis: at most max characters, the last one "…" when cut (s has room). */
static void ellipsis(char *s, size_t max)
{
        size_t chars = 0;
        char *cut = NULL;

        for (char *p = s; *p; p++)
                if ((*p & 0xc0) != 0x80 && ++chars == max)
                        cut = p;
        if (chars > max && cut)
                strcpy(cut, "…");
}

/* docker's Command: path and args (an arg with a space in single quotes), cut to 20 characters
 * unless --no-trunc, then Go-quoted. */
static char *command(const struct berth_ctr *c, bool trunc)
{
        size_t len = 8;
        char *s, *q;
        bool first = true;

        for (int part = 0; part < 2; part++)
                for (char **v = part ? c->cmd : c->entrypoint; v && *v; v++)
                        len += strlen(*v) + 3;
        s = xcalloc(len, 1);
        for (int part = 0; part < 2; part++)
                for (char **v = part ? c->cmd : c->entrypoint; v && *v; v++, first = false) {
                        bool quote = !first && strchr(*v, ' ');

                        sprintf(s + strlen(s), "%s%s%s%s", first ? "" : " ", quote ? "'" : "", *v,
                                quote ? "'" : "");
                }
        if (trunc)
                ellipsis(s, 20);
        q = go_quote(s);
        free(s);
        return q;
}

/* go-units HumanSizeWithPrecision(size, 3), as docker's Size column. */
static char *size3(int64_t bytes)
{
        static const char *const units[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"};
        double v = (double) bytes;
        size_t i = 0;

        while (v >= 1000.0 && i < ARRAY_SIZE(units) - 1) {
                v /= 1000.0;
                i++;
        }
        return xasprintf("%.3g%s", v, units[i]);
}

static char *size_text(struct berth_store *s, const struct berth_ctr *c, bool want)
{
        int64_t rw = 0, rootfs = 0;
        _autofree_ char *a = NULL, *b = NULL;

        if (want)
                (void) berth_ctr_size(s, c, &rw, &rootfs, NULL);
        a = size3(rw);
        if (rootfs <= 0)
                return steal_ptr(&a);
        b = size3(rootfs);
        return xasprintf("%s (virtual %s)", a, b);
}

static char *since(const char *rfc3339)
{
        return berth_human_duration((int64_t) time(NULL) - unix_time(rfc3339));
}

/* docker's State.String(). */
static char *status_text(const struct berth_ctr *c)
{
        const char *state = berth_ctr_state_name(c), *health = berth_ctr_health_status(c);
        _autofree_ char *d = NULL;

        if (streq(state, "paused"))
                return d = since(c->started_at), xasprintf("Up %s (Paused)", d);
        if (streq(state, "restarting"))
                return d = since(c->finished_at),
                       xasprintf("Restarting (%d) %s ago", c->exit_code, d);
        if (streq(state, "running") && health)
                return d = since(c->started_at),
                       xasprintf("Up %s (%s%s)", d, streq(health, "starting") ? "health: " : "",
                                 health);
        if (streq(state, "running"))
                return d = since(c->started_at), xasprintf("Up %s", d);
        if (streq(state, "dead"))
                return xstrdup("Dead");
        if (streq(state, "created"))
                return xstrdup("Created");
        if (!c->finished_at)
                return xstrdup("");
        return d = since(c->finished_at), xasprintf("Exited (%d) %s ago", c->exit_code, d);
}

/* docker's IMAGE: what the user gave; berth keeps the normalized name: familiar, and without
 * ":latest" as the name was most likely given ("busybox"). */
static char *image_text(const struct berth_ctr *c, bool trunc)
{
        char *s;

        if (c->image_name && !startswith(c->image_name, "sha256:")) {
                s = berth_ref_familiar(c->image_name);
                if (strlen(s) > 7 && streq(s + strlen(s) - 7, ":latest") && !strchr(s, '@'))
                        s[strlen(s) - strlen(":latest")] = '\0';
                return s;
        }
        if (c->image_name && trunc)
                return xasprintf("%.12s", c->image_name + 7);
        return xstrdup(c->image_name ? c->image_name : c->image ? c->image : "");
}

static char *created_at(const struct berth_ctr *c)
{
        time_t t = (time_t) unix_time(c->created);
        struct tm tm;
        char buf[64];

        localtime_r(&t, &tm);
        strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S %z %Z", &tm);
        return xstrdup(buf);
}

/* The row as docker's --format json prints it. */
static json_t *row_json(struct berth_store *s, const struct berth_ctr *c, const struct ps_opts *o)
{
        _autofree_ char *cmd = command(c, o->trunc), *status = status_text(c),
                        *image = image_text(c, o->trunc), *at = created_at(c),
                        *ago = berth_human_ago(unix_time(c->created)),
                        *size = size_text(s, c, o->size);
        _autofree_ char *id = o->trunc ? xasprintf("%.12s", c->id) : xstrdup(c->id);

        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                         "Command", cmd, "CreatedAt", at, "ID", id, "Image", image, "Labels", "",
                         "LocalVolumes", "0", "Mounts", "", "Names", c->name, "Networks", "",
                         "Ports", "", "RunningFor", ago, "Size", size, "State",
                         berth_ctr_state_name(c), "Status", status);
}

/* ---- output ------------------------------------------------------------------------------ */

static const char *const table_fields[] = {"ID",     "Image", "Command", "RunningFor",
                                           "Status", "Ports", "Names",   "Size"};

/* What a `table` template's header shows for each field (docker's header context). */
static json_t *header_json(void)
{
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                         "ID", "CONTAINER ID", "Image", "IMAGE", "Command", "COMMAND", "CreatedAt",
                         "CREATED AT", "RunningFor", "CREATED", "Ports", "PORTS", "State", "STATE",
                         "Status", "STATUS", "Size", "SIZE", "Names", "NAMES", "Labels", "LABELS",
                         "Mounts", "MOUNTS", "Networks", "NETWORKS", "LocalVolumes",
                         "LOCAL VOLUMES");
}

/* A rendered line's tab-separated cells, into t (made from the first line: the header). */
static void table_line(struct berth_table **t, char *line)
{
        const char *cells[64];
        size_t n = 0;

        for (char *p = line, *tab; n < ARRAY_SIZE(cells); p = tab + 1) {
                tab = strchr(p, '\t');
                cells[n++] = p;
                if (!tab)
                        break;
                *tab = '\0';
        }
        if (!*t)
                *t = berth_table_new_cells(cells, n);
        else
                berth_table_add_cells(*t, cells, n);
}

/* "table TEMPLATE" (tmpl without "table"): the header, then a line per row, aligned. */
static int print_table(struct berth_store *s, struct berth_ctr **rows, size_t n,
                       const struct ps_opts *o, const char *tmpl)
{
        _autoerr_ struct berth_error *e = NULL;
        struct berth_table *t = NULL;
        json_auto_t *h = header_json();
        _autofree_ char *text = NULL;

        if (berth_format_template(tmpl, h, &text, &e) < 0)
                return berth_print_error(e);
        table_line(&t, text);
        for (size_t i = 0; i < n; i++) {
                json_auto_t *r = row_json(s, rows[i], o);

                free(steal_ptr(&text));
                if (berth_format_template(tmpl, r, &text, &e) < 0) {
                        berth_table_free(t);
                        return berth_print_error(e);
                }
                table_line(&t, text);
        }
        berth_table_print(t, stdout);
        berth_table_free(t);
        return 0;
}

static void print_raw(json_t *r, bool size)
{
        static const char *const keys[] = {"container_id", "image",  "command", "created_at",
                                           "state",        "status", "names",   "labels",
                                           "ports",        "size"};
        static const char *const fields[] = {"ID",     "Image", "Command", "CreatedAt", "State",
                                             "Status", "Names", "Labels",  "Ports",     "Size"};

        for (size_t k = 0; k < ARRAY_SIZE(keys) - (size ? 0 : 1); k++) {
                const char *v = json_string_value(json_object_get(r, fields[k]));

                printf("%s:%s%s\n", keys[k], v && *v ? " " : "", v ? v : "");
        }
        printf("\n");
}

static int print_each(struct berth_store *s, struct berth_ctr **rows, size_t n,
                      const struct ps_opts *o)
{
        for (size_t i = 0; i < n; i++) {
                _autoerr_ struct berth_error *e = NULL;
                json_auto_t *r = row_json(s, rows[i], o);
                _autofree_ char *text = NULL;

                if (streq(o->format, "raw")) {
                        print_raw(r, o->size);
                        continue;
                }
                if (streq(o->format, "json") || streq(o->format, "{{json .}}"))
                        text = json_dumps(r, JSON_COMPACT | JSON_PRESERVE_ORDER);
                else if (berth_format_template(o->format, r, &text, &e) < 0)
                        return berth_print_error(e);
                printf("%s\n", text);
        }
        return 0;
}

static void print_quiet(struct berth_ctr **rows, size_t n, const struct ps_opts *o)
{
        if (o->format && *o->format)
                berth_print_warning("Ignoring custom format, because both --format and --quiet "
                                    "are set.");
        for (size_t i = 0; i < n; i++)
                printf("%s%.*s\n", streq_ptr(o->format, "raw") ? "container_id: " : "",
                       o->trunc ? 12 : 64, rows[i]->id);
}

static int print_rows(struct berth_store *s, struct berth_ctr **rows, size_t n,
                      const struct ps_opts *o)
{
        _autofree_ char *dflt = NULL;

        if (o->quiet) {
                print_quiet(rows, n, o);
                return 0;
        }
        if (!o->format || !*o->format || streq(o->format, "table")) {
                dflt = xstrdup("");
                for (size_t k = 0; k < ARRAY_SIZE(table_fields) - (o->size ? 0 : 1); k++) {
                        _autofree_ char *before = steal_ptr(&dflt);

                        dflt = xasprintf("%s%s{{.%s}}", before, k ? "\t" : "", table_fields[k]);
                }
                return print_table(s, rows, n, o, dflt);
        }
        if (startswith(o->format, "table ") || startswith(o->format, "table\t"))
                return print_table(s, rows, n, o, o->format + 6);
        return print_each(s, rows, n, o);
}

/* ---- the command ------------------------------------------------------------------------- */

static int parse_opts(const struct berth_args *a, struct ps_opts *o, int *ret_rc,
                      struct berth_error **err)
{
        *o = (struct ps_opts){
            .all = berth_args_bool(a, F_ALL),
            .quiet = berth_args_bool(a, F_QUIET),
            .trunc = !berth_args_bool(a, F_NO_TRUNC),
            .size = berth_args_bool(a, F_SIZE),
            .format = a->values[F_FORMAT],
            .filters = a->lists[F_FILTER],
            .last = berth_args_bool(a, F_LATEST) ? 1 : -1,
        };
        *ret_rc = BERTH_EXIT_ENGINE;
        if (a->values[F_LAST] && parse_i64(a->values[F_LAST], &o->last) < 0)
                return berth_error_setx(err, EINVAL,
                                        "invalid argument \"%s\" for \"-n, --last\" flag: "
                                        "strconv.ParseInt: parsing \"%s\": invalid syntax",
                                        a->values[F_LAST], a->values[F_LAST]);
        if (berth_args_bool(a, F_LATEST))
                o->last = 1;
        /* docker computes the sizes when the template shows them */
        if (o->format && strstr(o->format, ".Size"))
                o->size = true;
        for (char **f = o->filters; f && *f; f++)
                if (filter_check(*f, ret_rc, err) < 0)
                        return -EINVAL;
        return 0;
}

static int list_and_print(struct berth_global *g, const struct ps_opts *o, struct berth_error **err,
                          int *ret_rc)
{
        struct match_ctx m = {0};
        struct berth_ctr **rows = NULL;
        size_t n = 0;
        int r;

        *ret_rc = BERTH_EXIT_ENGINE;
        r = berth_global_store(g, &m.store, err);
        if (r >= 0)
                r = berth_ctr_list(m.store, &m.v, &m.n, err);
        if (r < 0)
                return r;
        for (size_t i = 0; i < m.n; i++)
                berth_ctr_refresh(m.v[i], g->runroot);
        r = select_rows(o, &m, &rows, &n, err);
        if (r < 0)
                *ret_rc = BERTH_EXIT_FAILED;
        else
                *ret_rc = print_rows(m.store, rows, n, o);
        free(rows);
        berth_ctrs_free(m.v, m.n);
        return r;
}

static int cmd_ps(struct berth_global *g, int argc, char **argv)
{
        struct berth_args a = {0};
        _autoerr_ struct berth_error *e = NULL;
        struct ps_opts o;
        int rc;

        if (!berth_cmd_args(&spec, argc, argv, &a, &rc))
                return rc;
        if (parse_opts(&a, &o, &rc, &e) < 0 || list_and_print(g, &o, &e, &rc) < 0)
                berth_print_error(e);
        berth_args_clear(&a);
        return rc;
}

const struct berth_cmd berth_cmd_ps = {"ps", "List containers", cmd_ps};
