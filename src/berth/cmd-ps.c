/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth ps [-a] [-q] [--no-trunc] [--format json]: docker's table of containers, newest first
 * (running ones only without -a).
 */
#include <jansson.h>
#include <time.h>

#include "berth.h"
#include "engine/engine.h"
#include "image/imageref.h"
#include "base/util.h"

enum { F_ALL, F_QUIET, F_NO_TRUNC, F_FORMAT };

static const struct berth_flag flags[] = {
    [F_ALL] = {"all", 'a', BERTH_FLAG_BOOL, NULL,
               "Show all containers (default shows just running)"},
    [F_QUIET] = {"quiet", 'q', BERTH_FLAG_BOOL, NULL, "Only display container IDs"},
    [F_NO_TRUNC] = {"no-trunc", 0, BERTH_FLAG_BOOL, NULL, "Don't truncate output"},
    [F_FORMAT] = {"format", 0, BERTH_FLAG_VALUE, "string",
                  "Format output: \"json\", or a template ({{.ID}})"},
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

static int64_t unix_time(const char *rfc3339)
{
        int64_t t = 0;

        return rfc3339 && berth_parse_rfc3339(rfc3339, &t) == 0 ? t : (int64_t) time(NULL);
}

/* "\"echo hello\"", cut to 20 characters with an ellipsis unless --no-trunc, as docker. */
static char *command(const struct berth_ctr *c, bool trunc)
{
        size_t len = 3;
        char *s, *q;

        for (char **v = c->entrypoint; v && *v; v++)
                len += strlen(*v) + 1;
        for (char **v = c->cmd; v && *v; v++)
                len += strlen(*v) + 1;
        s = xcalloc(len, 1);
        for (char **v = c->entrypoint; v && *v; v++)
                strcat(strcat(s, *s ? " " : ""), *v);
        for (char **v = c->cmd; v && *v; v++)
                strcat(strcat(s, *s ? " " : ""), *v);
        if (trunc && strlen(s) > 20)
                strcpy(s + 19, "…");
        q = xasprintf("\"%s\"", s);
        free(s);
        return q;
}

static char *status_text(const struct berth_ctr *c)
{
        _autofree_ char *d = NULL;

        if (streq(c->status, "running")) {
                d = berth_human_duration((int64_t) time(NULL) - unix_time(c->started_at));
                return xasprintf("Up %s", d);
        }
        if (streq(c->status, "exited")) {
                d = berth_human_ago(unix_time(c->finished_at));
                return xasprintf("Exited (%d) %s", c->exit_code, d);
        }
        if (streq(c->status, "dead"))
                return xstrdup("Dead");
        return xstrdup("Created");
}

static char *image_text(const struct berth_ctr *c, bool trunc)
{
        if (c->image_name && !startswith(c->image_name, "sha256:"))
                return berth_ref_familiar(c->image_name);
        if (c->image_name && trunc)
                return xasprintf("%.12s", c->image_name + 7);
        return xstrdup(c->image_name ? c->image_name : c->image ? c->image : "");
}

static char *created_at(const struct berth_ctr *c)
{
        time_t t = (time_t) unix_time(c->created);
        struct tm tm;
        char buf[64];

        gmtime_r(&t, &tm);
        strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S +0000 UTC", &tm);
        return xstrdup(buf);
}

static json_t *row_json(const struct berth_ctr *c, bool trunc)
{
        _autofree_ char *cmd = command(c, trunc), *status = status_text(c),
                        *image = image_text(c, trunc), *at = created_at(c),
                        *ago = berth_human_ago(unix_time(c->created));
        _autofree_ char *id = trunc ? xasprintf("%.12s", c->id) : xstrdup(c->id);

        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}",
                         "Command", cmd, "CreatedAt", at, "ID", id, "Image", image, "Labels", "",
                         "LocalVolumes", "0", "Mounts", "", "Names", c->name, "Networks", "",
                         "Ports", "", "RunningFor", ago, "State", c->status, "Status", status);
}

static void print_table(struct berth_ctr **v, size_t n, bool all, bool trunc)
{
        struct berth_table *t = berth_table_new(7, "CONTAINER ID", "IMAGE", "COMMAND", "CREATED",
                                                "STATUS", "PORTS", "NAMES");

        for (size_t i = 0; i < n; i++) {
                json_t *o;

                if (!all && !streq(v[i]->status, "running"))
                        continue;
                o = row_json(v[i], trunc);
                berth_table_add(t, json_string_value(json_object_get(o, "ID")),
                                json_string_value(json_object_get(o, "Image")),
                                json_string_value(json_object_get(o, "Command")),
                                json_string_value(json_object_get(o, "RunningFor")),
                                json_string_value(json_object_get(o, "Status")), "", v[i]->name);
                json_decref(o);
        }
        berth_table_print(t, stdout);
        berth_table_free(t);
}

static int print_rows(struct berth_ctr **v, size_t n, const struct berth_args *a)
{
        const char *fmt = a->values[F_FORMAT];
        bool all = berth_args_bool(a, F_ALL), trunc = !berth_args_bool(a, F_NO_TRUNC);

        if (!fmt && !berth_args_bool(a, F_QUIET)) {
                print_table(v, n, all, trunc);
                return 0;
        }
        for (size_t i = 0; i < n; i++) {
                _autoerr_ struct berth_error *e = NULL;
                _autofree_ char *text = NULL;
                json_t *o;

                if (!all && !streq(v[i]->status, "running"))
                        continue;
                if (!fmt) {
                        printf("%.*s\n", trunc ? 12 : 64, v[i]->id);
                        continue;
                }
                o = row_json(v[i], trunc);
                if (streq(fmt, "json") || streq(fmt, "{{json .}}"))
                        text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
                else if (berth_format_template(fmt, o, &text, &e) < 0) {
                        json_decref(o);
                        return berth_print_error(e);
                }
                json_decref(o);
                printf("%s\n", text);
        }
        return 0;
}

static int cmd_ps(struct berth_global *g, int argc, char **argv)
{
        struct berth_args a = {0};
        _autoerr_ struct berth_error *e = NULL;
        struct berth_store *s;
        struct berth_ctr **v = NULL;
        size_t n = 0;
        int rc;

        if (!berth_cmd_args(&spec, argc, argv, &a, &rc))
                return rc;
        if (berth_global_store(g, &s, &e) < 0 || berth_ctr_list(s, &v, &n, &e) < 0) {
                rc = berth_print_error(e);
        } else {
                for (size_t i = 0; i < n; i++)
                        berth_ctr_refresh(v[i], g->runroot);
                rc = print_rows(v, n, &a);
        }
        berth_ctrs_free(v, n);
        berth_args_clear(&a);
        return rc;
}

const struct berth_cmd berth_cmd_ps = {"ps", "List containers", cmd_ps};
