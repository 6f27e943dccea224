/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth inspect [-f FORMAT] [-s] [--type container|image] NAME...: docker's JSON array of the
 * objects (a container, else an image of that name), or with -f/--format a template per object
 * ({{.State.ExitCode}}, {{json .Config}}). An object that is not found is an error for it, and
 * the others are printed (exit 1, as docker's CLI).
 */
#include <jansson.h>

#include "berth.h"
#include "engine/engine-inspect.h"
#include "engine/engine.h"
#include "base/util.h"

enum { F_FORMAT, F_SIZE, F_TYPE };

static const struct berth_flag flags[] = {
    [F_FORMAT] = {"format", 'f', BERTH_FLAG_VALUE, "string",
                  "Format output using a custom template"},
    [F_SIZE] = {"size", 's', BERTH_FLAG_BOOL, NULL,
                "Display total file sizes if the type is container"},
    [F_TYPE] = {"type", 0, BERTH_FLAG_VALUE, "string", "Return JSON for specified type"},
};

static const struct berth_cmd_spec spec = {
    .name = "inspect",
    .usage = "inspect [OPTIONS] NAME|ID [NAME|ID...]",
    .summary = "Return low-level information on containers and images",
    .flags = flags,
    .n_flags = ARRAY_SIZE(flags),
    .min_args = 1,
    .max_args = -1,
};

struct inspect_opts {
        const char *type; /* "container", "image", NULL: either */
        bool size;
};

static int inspect_container(struct berth_global *g, struct berth_store *s, const char *what,
                             bool size, json_t **ret, struct berth_error **err)
{
        _cleanup_(berth_ctr_freep) struct berth_ctr *c = NULL;
        int r;

        r = berth_ctr_lookup(s, what, &c, err);
        if (r < 0)
                return r;
        berth_ctr_refresh(c, g->runroot);
        *ret = berth_ctr_inspect_json_sized(s, c, size);
        return 0;
}

/* docker's order: a container of that name or id first, then an image. */
static int inspect_one(struct berth_global *g, const char *what, const struct inspect_opts *o,
                       json_t **ret, struct berth_error **err)
{
        struct berth_store *s;
        int r;

        r = berth_global_store(g, &s, err);
        if (r < 0)
                return r;
        if (!streq_ptr(o->type, "image")) {
                r = inspect_container(g, s, what, o->size, ret, o->type ? err : NULL);
                if (r >= 0 || o->type)
                        return r;
        }
        r = berth_image_inspect_json(s, what, ret, o->type ? err : NULL);
        if (r < 0 && !o->type)
                return berth_error_setx(err, ENOENT, "No such object: %s", what);
        return r;
}

static int print_formatted(const char *tmpl, json_t *o)
{
        _autoerr_ struct berth_error *e = NULL;
        _autofree_ char *text = NULL;

        if (berth_format_template(tmpl, o, &text, &e) < 0)
                return berth_print_failure(e);
        printf("%s\n", text);
        return 0;
}

static int inspect_all(struct berth_global *g, const struct berth_args *a,
                       const struct inspect_opts *o)
{
        const char *tmpl = a->values[F_FORMAT];
        json_auto_t *all = json_array();
        int rc = 0;

        for (int i = 0; i < a->n_pos; i++) {
                _autoerr_ struct berth_error *e = NULL;
                json_t *obj = NULL;

                if (inspect_one(g, a->pos[i], o, &obj, &e) < 0) {
                        rc = berth_print_failure(e);
                        continue;
                }
                if (tmpl && print_formatted(tmpl, obj) != 0)
                        rc = BERTH_EXIT_FAILED;
                json_array_append_new(all, obj);
        }
        if (!tmpl) {
                _autofree_ char *text = json_dumps(all, JSON_INDENT(4) | JSON_PRESERVE_ORDER);

                printf("%s\n", text ? text : "[]");
        }
        return rc;
}

static int cmd_inspect(struct berth_global *g, int argc, char **argv)
{
        struct berth_args a = {0};
        _autoerr_ struct berth_error *e = NULL;
        struct inspect_opts o;
        int rc = 0;

        if (!berth_cmd_args(&spec, argc, argv, &a, &rc))
                return rc;
        o = (struct inspect_opts){.type = a.values[F_TYPE], .size = berth_args_bool(&a, F_SIZE)};
        if (o.type && !streq(o.type, "container") && !streq(o.type, "image")) {
                berth_error_setx(&e, EINVAL,
                                 "unknown type: \"%s\": must be one of \"container\", \"image\"",
                                 o.type);
                rc = berth_print_failure(e);
        } else {
                rc = inspect_all(g, &a, &o);
        }
        berth_args_clear(&a);
        return rc;
}

const struct berth_cmd berth_cmd_inspect = {
    "inspect", "Return low-level information on containers and images", cmd_inspect};
