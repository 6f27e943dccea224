/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The flag parser of berth-oci. getopt_long cannot do what runc's urfave/cli accepts (single-dash
 * long flags "-root /x", booleans as "--detach=false", flags after positionals), so this is a
 * small parser driven by a table of struct oci_flag.
 */
#include <stdio.h>
#include <string.h>

#include "oci.h"
#include "runtime/container.h"
#include "runtime/state.h"
#include "base/util.h"

static const struct oci_flag *find_flag(const struct oci_flag *flags, size_t n, const char *name,
                                        size_t len, size_t *ret_i)
{
        for (size_t i = 0; i < n; i++) {
                bool match = len == 1 && flags[i].short_name == name[0];

                if (!match)
                        match =
                            strlen(flags[i].name) == len && strncmp(flags[i].name, name, len) == 0;
                if (match) {
                        *ret_i = i;
                        return &flags[i];
                }
        }
        return NULL;
}

static bool is_help(const char *name, size_t len)
{
        return (len == 1 && name[0] == 'h') || (len == 4 && strncmp(name, "help", 4) == 0);
}

/* Parses the flag at argv[*i] (which starts with '-'), advancing *i past a separate value. */
static int parse_one(const struct oci_flag *flags, size_t n_flags, int argc, char **argv, int *i,
                     struct oci_args *a, struct berth_error **err)
{
        const char *arg = argv[*i], *name = arg + (arg[1] == '-' ? 2 : 1);
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t) (eq - name) : strlen(name), idx;
        const struct oci_flag *f = find_flag(flags, n_flags, name, len, &idx);
        const char *value = eq ? eq + 1 : NULL;

        if (!f && is_help(name, len)) {
                a->help = true;
                return 0;
        }
        if (!f)
                return berth_error_setx(err, EINVAL, "unknown flag %.*s",
                                        (int) (len + (name - arg)), arg);
        if (f->takes_value && !value) {
                if (*i + 1 >= argc)
                        return berth_error_setx(err, EINVAL, "flag --%s needs a value", f->name);
                value = argv[++*i];
        } else if (!f->takes_value) {
                const char *b = value ? berth_parse_go_bool(value) : "true";

                if (!b)
                        return berth_error_setx(
                            err, EINVAL, "invalid boolean value \"%s\" for --%s", value, f->name);
                value = b;
        }
        a->values[idx] = value;
        if (f->repeatable) {
                size_t n = 0;

                while (a->lists[idx] && a->lists[idx][n])
                        n++;
                a->lists[idx] = xreallocarray(a->lists[idx], n + 2, sizeof(char *));
                a->lists[idx][n] = value;
                a->lists[idx][n + 1] = NULL;
        }
        return 0;
}

int oci_args_parse(const struct oci_flag *flags, size_t n_flags, int argc, char **argv,
                   bool stop_at_positional, struct oci_args *ret, struct berth_error **err)
{
        struct oci_args a = {.next = argc};
        bool only_pos = false;
        int r;

        if (n_flags > OCI_FLAGS_MAX)
                return berth_error_setx(err, EINVAL, "too many flags in a command table");
        a.pos = xcalloc((size_t) argc + 1, sizeof(char *));
        for (int i = 0; i < argc; i++) {
                const char *arg = argv[i];

                if (!only_pos && streq(arg, "--")) {
                        only_pos = true;
                        continue;
                }
                if (only_pos || arg[0] != '-' || arg[1] == '\0') {
                        if (stop_at_positional) {
                                /* the rest, flags or not, belongs to the positionals */
                                a.next = i;
                                for (; i < argc; i++)
                                        a.pos[a.n_pos++] = argv[i];
                                break;
                        }
                        a.pos[a.n_pos++] = argv[i];
                        continue;
                }
                r = parse_one(flags, n_flags, argc, argv, &i, &a, err);
                if (r < 0) {
                        oci_args_clear(&a);
                        return r;
                }
        }
        *ret = a;
        return 0;
}

void oci_args_clear(struct oci_args *a)
{
        for (size_t i = 0; i < OCI_FLAGS_MAX; i++) {
                free(a->lists[i]);
                a->lists[i] = NULL;
        }
        free(a->pos);
        a->pos = NULL;
        a->n_pos = 0;
}

bool oci_args_bool(const struct oci_args *a, size_t i)
{
        return a->values[i] && streq(a->values[i], "true");
}

/* "--bundle value, -b value" */
static int flag_label(const struct oci_flag *f, char *buf, size_t size)
{
        const char *v = f->takes_value ? " value" : "";

        if (f->short_name)
                return snprintf(buf, size, "--%s%s, -%c%s", f->name, v, f->short_name, v);
        return snprintf(buf, size, "--%s%s", f->name, v);
}

static void print_flags(const struct oci_flag *flags, size_t n)
{
        char label[128];
        int width = 0;

        for (size_t i = 0; i < n; i++) {
                int l = flag_label(&flags[i], label, sizeof(label));

                if (l > width)
                        width = l;
        }
        printf("\nOPTIONS:\n");
        for (size_t i = 0; i < n; i++) {
                flag_label(&flags[i], label, sizeof(label));
                printf("   %-*s  %s\n", width, label, flags[i].usage);
        }
        /* urfave/cli's template (runc's help) ends the list with an indented empty line */
        printf("   \n");
}

void oci_command_help(const struct oci_command *cmd)
{
        printf("NAME:\n   %s %s - %s\n\n", OCI_PROG, cmd->name, cmd->summary);
        printf("USAGE:\n   %s %s %s\n", OCI_PROG, cmd->name, cmd->usage ? cmd->usage : "");
        if (cmd->description)
                printf("%s", cmd->description);
        if (cmd->n_flags > 0)
                print_flags(cmd->flags, cmd->n_flags);
        fflush(stdout);
}

int oci_load_container(const struct oci_global *g, const char *id, struct berth_container **ret,
                       struct berth_error **err)
{
        _autocontainer_ struct berth_container *c = NULL;
        int r = berth_id_validate(id, err);

        if (r < 0)
                return r;
        r = berth_container_load(g->root, id, &c, err);
        if (r < 0)
                return r;
        /* Its state is written before its init exists (so that a killed create leaves what
         * delete --force needs): until create records the init, it does not exist for state,
         * start, exec..., as runc's does not (crun's test_start polls state, then starts). */
        if (c->pid <= 0)
                return berth_error_setx(
                    err, ENOENT,
                    "container \"%s\" does not exist (it is being created, or its "
                    "create was killed: delete --force removes what is left)",
                    id);
        *ret = steal_ptr(&c);
        return 0;
}
