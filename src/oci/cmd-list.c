/* SPDX-License-Identifier: Apache-2.0 */
/* berth-oci list [--format table|json] [--quiet] */
#include <jansson.h>
#include <stdio.h>

#include "runtime/container.h"
#include "oci.h"
#include "base/json.h"
#include "base/util.h"

enum { F_FORMAT, F_QUIET };

static const struct oci_flag flags[] = {
    [F_FORMAT] = {"format", 'f', true, "select one of: table or json (default: \"table\")"},
    [F_QUIET] = {"quiet", 'q', false, "display only container IDs"},
};

enum { COL_ID, COL_PID, COL_STATUS, COL_BUNDLE, COL_CREATED, COL_OWNER, COL__N };

struct list {
        struct berth_container **v;
        size_t n;
};

static void list_clear(struct list *l)
{
        for (size_t i = 0; i < l->n; i++)
                berth_container_free(l->v[i]);
        free(l->v);
        l->v = NULL;
        l->n = 0;
}

/* As runc: a stopped container has no pid. */
static long shown_pid(const struct berth_container *c)
{
        return c->status == BERTH_STATUS_STOPPED ? 0 : (long) c->pid;
}

static void row_cells(const struct berth_container *c, char pid[24], const char *cells[COL__N])
{
        snprintf(pid, 24, "%ld", shown_pid(c));
        cells[COL_ID] = c->id;
        cells[COL_PID] = pid;
        cells[COL_STATUS] = berth_container_status_name(c);
        cells[COL_BUNDLE] = c->bundle ? c->bundle : "";
        cells[COL_CREATED] = c->created ? c->created : "";
        cells[COL_OWNER] = c->owner ? c->owner : "";
}

static void print_row(const char *const cells[COL__N], const int width[COL__N])
{
        for (int i = 0; i < COL__N - 1; i++)
                printf("%-*s", width[i], cells[i]);
        printf("%s\n", cells[COL__N - 1]);
}

/* Go's tabwriter as runc sets it up: minimum width 12, padding 3, the last column unpadded. */
static void print_table(const struct list *l)
{
        static const char *const header[COL__N] = {"ID",     "PID",     "STATUS",
                                                   "BUNDLE", "CREATED", "OWNER"};
        const char *cells[COL__N];
        int width[COL__N];
        char pid[24];

        for (int i = 0; i < COL__N; i++)
                width[i] = (int) strlen(header[i]) + 3 > 12 ? (int) strlen(header[i]) + 3 : 12;
        for (size_t k = 0; k < l->n; k++) {
                row_cells(l->v[k], pid, cells);
                for (int i = 0; i < COL__N; i++)
                        if ((int) strlen(cells[i]) + 3 > width[i])
                                width[i] = (int) strlen(cells[i]) + 3;
        }
        print_row(header, width);
        for (size_t k = 0; k < l->n; k++) {
                row_cells(l->v[k], pid, cells);
                print_row(cells, width);
        }
}

/* The config's ociVersion is only in the state JSON. */
static json_t *oci_version_of(const struct berth_container *c)
{
        _autofree_ char *state = berth_container_state_json(c);
        json_t *s = state ? json_loads(state, 0, NULL) : NULL;
        json_t *v = json_object_get(s, "ociVersion");

        v = json_is_string(v) ? json_incref(v) : json_string(OCI_SPEC_VERSION);
        json_decref(s);
        return v;
}

/* runc's containerState, field for field, in its order. */
static json_t *container_json(const struct berth_container *c)
{
        json_t *o = json_object(), *ann = json_object();

        json_object_set_new(o, "ociVersion", oci_version_of(c));
        json_object_set_new(o, "id", json_string(c->id));
        json_object_set_new(o, "pid", json_integer(shown_pid(c)));
        json_object_set_new(o, "status", json_string(berth_container_status_name(c)));
        json_object_set_new(o, "bundle", json_string(c->bundle ? c->bundle : ""));
        json_object_set_new(o, "rootfs", json_string(c->rootfs ? c->rootfs : ""));
        json_object_set_new(o, "created", json_string(c->created ? c->created : ""));
        berth_json_set_kv(ann, c->annotations, c->n_annotations);
        if (json_object_size(ann) > 0)
                json_object_set(o, "annotations", ann);
        json_decref(ann);
        json_object_set_new(o, "owner", json_string(c->owner ? c->owner : ""));
        return o;
}

static int print_json(const struct list *l, struct berth_error **err)
{
        _autofree_ char *text = NULL;
        json_t *arr;

        /* runc encodes a nil slice when there are no containers. */
        if (l->n == 0)
                return oci_print_text("null\n", err);
        arr = json_array();
        for (size_t i = 0; i < l->n; i++)
                json_array_append_new(arr, container_json(l->v[i]));
        text = json_dumps(arr, JSON_COMPACT);
        json_decref(arr);
        if (!text)
                return berth_error_setx(err, ENOMEM, "list: out of memory");
        return oci_print_text(text, err);
}

static int cmd_list(const struct oci_global *g, const struct oci_args *a, struct berth_error **err)
{
        _cleanup_(list_clear) struct list l = {0};
        const char *format = a->values[F_FORMAT] ? a->values[F_FORMAT] : "table";
        int r;

        if (!streq(format, "table") && !streq(format, "json"))
                return berth_error_setx(err, EINVAL,
                                        "invalid format \"%s\": expected table or json", format);
        r = berth_container_list(g->root, &l.v, &l.n, err);
        /* As runc: a state root that does not exist yet holds no containers. */
        if (r == -ENOENT)
                r = 0;
        if (r < 0)
                return r;
        if (oci_args_bool(a, F_QUIET)) {
                for (size_t i = 0; i < l.n; i++)
                        printf("%s\n", l.v[i]->id);
        } else if (streq(format, "json")) {
                return print_json(&l, err);
        } else {
                print_table(&l);
        }
        return oci_print_text("", err);
}

const struct oci_command oci_cmd_list = {
    .name = "list",
    .summary = "lists containers started by " OCI_PROG " with the given root",
    .usage = "[command options]",
    .description = "\nWhere the given root is specified via the global option \"--root\"\n"
                   "(default: \"" OCI_DEFAULT_ROOT "\").\n\n"
                   "EXAMPLE 1:\n"
                   "To list containers created via the default \"--root\":\n"
                   "       # " OCI_PROG " list\n\n"
                   "EXAMPLE 2:\n"
                   "To list containers created using a non-default value for \"--root\":\n"
                   "       # " OCI_PROG " --root value list\n",
    .flags = flags,
    .n_flags = ARRAY_SIZE(flags),
    .min_args = 0,
    .max_args = 0,
    .run = cmd_list,
};
