/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth system df: the disk the store uses, docker's table (or JSON lines).
 */
#include <fcntl.h>
#include <jansson.h>

#include "berth.h"
#include "engine/engine.h"
#include "image/imagestore.h"
#include "base/util.h"

struct df_row {
        const char *type;
        size_t total, active;
        int64_t size, reclaimable;
};

/* Containers: all of them, the running ones (active), and the upper dirs of the others. */
static void containers_row(struct berth_global *g, struct berth_store *s,
                           const struct berth_store_df *df, struct df_row *ret)
{
        struct berth_ctr **ctrs = NULL;
        size_t n = 0;

        *ret = (struct df_row){"Containers", df->containers, 0, df->containers_size, 0};
        if (berth_ctr_list(s, &ctrs, &n, NULL) < 0)
                return;
        ret->total = n;
        ret->size = 0;
        for (size_t i = 0; i < n; i++) {
                _autofree_ char *upper = berth_ctr_upper(ctrs[i]);
                int64_t bytes = 0;

                berth_ctr_refresh(ctrs[i], g->runroot);
                if (berth_disk_usage(AT_FDCWD, upper, &bytes, NULL) < 0)
                        bytes = 0;
                ret->size += bytes;
                if (streq_ptr(ctrs[i]->status, "running"))
                        ret->active++;
                else
                        ret->reclaimable += bytes;
        }
        berth_ctrs_free(ctrs, n);
}

/* "1.2MB (40%)", docker's RECLAIMABLE column. */
static char *reclaimable_text(const struct df_row *r)
{
        _autofree_ char *h = berth_human_size(r->reclaimable);

        if (r->size <= 0)
                return xstrdup(h);
        return xasprintf("%s (%lld%%)", h, (long long) (r->reclaimable * 100 / r->size));
}

static void print_table(const struct df_row *rows, size_t n)
{
        struct berth_table *t =
            berth_table_new(5, "TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE");

        for (size_t i = 0; i < n; i++) {
                _autofree_ char *total = xasprintf("%zu", rows[i].total);
                _autofree_ char *active = xasprintf("%zu", rows[i].active);
                _autofree_ char *size = berth_human_size(rows[i].size);
                _autofree_ char *recl = reclaimable_text(&rows[i]);

                berth_table_add(t, rows[i].type, total, active, size, recl);
        }
        berth_table_print(t, stdout);
        berth_table_free(t);
}

static json_t *row_json(const struct df_row *r)
{
        _autofree_ char *size = berth_human_size(r->size);
        _autofree_ char *recl = reclaimable_text(r);

        return json_pack("{s:s, s:I, s:I, s:s, s:s, s:I, s:I}", "Type", r->type, "TotalCount",
                         (json_int_t) r->total, "Active", (json_int_t) r->active, "Size", size,
                         "Reclaimable", recl, "SizeBytes", (json_int_t) r->size, "ReclaimableBytes",
                         (json_int_t) r->reclaimable);
}

static int print_formatted(const struct df_row *rows, size_t n, const char *format)
{
        for (size_t i = 0; i < n; i++) {
                _autoerr_ struct berth_error *err = NULL;
                json_auto_t *j = row_json(&rows[i]);
                _autofree_ char *text = NULL;

                if (streq(format, "json"))
                        text = json_dumps(j, JSON_COMPACT);
                else if (berth_format_template(format, j, &text, &err) < 0)
                        return berth_print_error(err);
                printf("%s\n", text ? text : "");
        }
        return 0;
}

enum { DF_FORMAT, DF_VERBOSE };
static const struct berth_flag df_flags[] = {
    [DF_FORMAT] = {"format", 0, BERTH_FLAG_VALUE, "FORMAT", "\"json\", \"table\" or a template"},
    [DF_VERBOSE] = {"verbose", 'v', BERTH_FLAG_BOOL, NULL, "Accepted; no details yet"},
};
static const struct berth_cmd_spec df_spec = {
    "system df", "system df [OPTIONS]", "Show disk usage", df_flags, ARRAY_SIZE(df_flags), 0, 0,
    false};

static int df(struct berth_global *g, const char *format)
{
        _autoerr_ struct berth_error *err = NULL;
        struct berth_store_df d = {};
        struct berth_store *s;
        struct df_row rows[2];

        if (berth_global_store(g, &s, &err) < 0 ||
            berth_store_df(s, berth_ctr_store_users, &d, &err) < 0)
                return berth_print_error(err);
        rows[0] = (struct df_row){"Images", d.images, d.images_active, d.images_size,
                                  d.images_reclaimable};
        containers_row(g, s, &d, &rows[1]);
        if (format && !streq(format, "table"))
                return print_formatted(rows, ARRAY_SIZE(rows), format);
        print_table(rows, ARRAY_SIZE(rows));
        return 0;
}

static int df_run(struct berth_global *g, int argc, char **argv)
{
        struct berth_args a;
        int rc;

        if (!berth_cmd_args(&df_spec, argc, argv, &a, &rc))
                return rc;
        rc = df(g, a.values[DF_FORMAT]);
        berth_args_clear(&a);
        return rc;
}

const struct berth_cmd berth_cmd_system_df = {"system df", "Show disk usage", df_run};
