/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth inspect CONTAINER...: docker's JSON array of container objects, or with -f/--format a
 * template per container ({{.State.ExitCode}}, {{json .Config}}).
 */
#include <jansson.h>

#include "berth.h"
#include "engine/engine.h"
#include "base/util.h"

enum { F_FORMAT };

static const struct berth_flag flags[] = {
    [F_FORMAT] = {"format", 'f', BERTH_FLAG_VALUE, "string",
                  "Format output using a custom template"},
};

static const struct berth_cmd_spec spec = {
    .name = "inspect",
    .usage = "inspect [OPTIONS] CONTAINER [CONTAINER...]",
    .summary = "Return low-level information on containers",
    .flags = flags,
    .n_flags = ARRAY_SIZE(flags),
    .min_args = 1,
    .max_args = -1,
};

static int inspect_one(struct berth_global *g, const char *what, json_t **ret,
                       struct berth_error **err)
{
        struct berth_store *s;
        struct berth_ctr *c = NULL;
        int r;

        r = berth_global_store(g, &s, err);
        if (r >= 0)
                r = berth_ctr_lookup(s, what, &c, err);
        if (r < 0)
                return r;
        berth_ctr_refresh(c, g->runroot);
        *ret = berth_ctr_inspect_json(s, c);
        berth_ctr_free(c);
        return 0;
}

static int print_formatted(const char *tmpl, json_t *o)
{
        _autoerr_ struct berth_error *e = NULL;
        _autofree_ char *text = NULL;

        if (berth_format_template(tmpl, o, &text, &e) < 0)
                return berth_print_error(e);
        printf("%s\n", text);
        return 0;
}

static int cmd_inspect(struct berth_global *g, int argc, char **argv)
{
        struct berth_args a = {0};
        const char *tmpl;
        json_t *all;
        int rc = 0;

        if (!berth_cmd_args(&spec, argc, argv, &a, &rc))
                return rc;
        rc = 0;
        tmpl = a.values[F_FORMAT];
        all = json_array();
        for (int i = 0; i < a.n_pos; i++) {
                _autoerr_ struct berth_error *e = NULL;
                json_t *o = NULL;

                if (inspect_one(g, a.pos[i], &o, &e) < 0) {
                        rc = berth_print_error(e);
                        continue;
                }
                if (tmpl && print_formatted(tmpl, o) != 0)
                        rc = BERTH_EXIT_ENGINE;
                json_array_append_new(all, o);
        }
        if (!tmpl) {
                char *text = json_dumps(all, JSON_INDENT(4) | JSON_PRESERVE_ORDER);

                printf("%s\n", text);
                free(text);
        }
        json_decref(all);
        berth_args_clear(&a);
        return rc;
}

const struct berth_cmd berth_cmd_inspect = {"inspect", "Return low-level information on containers",
                                            cmd_inspect};
