/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The flag parser of berth, with the semantics of docker's (spf13/pflag): --name v, --name=v,
 * -n v, -nv, -n=v, combined booleans (-it), repeated list flags, "--", and flags interspersed
 * with positionals unless the command stops at the first one (run). The messages are pflag's,
 * so scripts written against docker see the same text.
 */
#include <stdio.h>
#include <string.h>

#include "berth.h"
#include "base/util.h"
#include "image/imagestore.h"
#include "runtime/selfexe.h"
#include "runtime/state.h"

static const struct berth_flag *find_long(const struct berth_flag *flags, size_t n,
                                          const char *name, size_t len, size_t *ret_i)
{
        for (size_t i = 0; i < n; i++)
                if (strlen(flags[i].name) == len && strncmp(flags[i].name, name, len) == 0) {
                        *ret_i = i;
                        return &flags[i];
                }
        return NULL;
}

static const struct berth_flag *find_short(const struct berth_flag *flags, size_t n, char c,
                                           size_t *ret_i)
{
        for (size_t i = 0; i < n; i++)
                if (flags[i].short_name && flags[i].short_name == c) {
                        *ret_i = i;
                        return &flags[i];
                }
        return NULL;
}

/* Stores value for flag i: a bool is normalized, a list grows, a value replaces the last one. */
static int set_value(const struct berth_flag *f, size_t i, const char *value, struct berth_args *a,
                     struct berth_error **err)
{
        size_t n;

        switch (f->kind) {
        case BERTH_FLAG_BOOL: {
                const char *b = berth_parse_go_bool(value);

                if (!b) {
                        char shorthand[8] = "";

                        if (f->short_name)
                                snprintf(shorthand, sizeof(shorthand), "-%c, ", f->short_name);
                        return berth_error_setx(err, EINVAL,
                                                "invalid argument \"%s\" for \"%s--%s\" flag: "
                                                "strconv.ParseBool: parsing \"%s\": invalid syntax",
                                                value, shorthand, f->name, value);
                }
                a->values[i] = b;
                return 0;
        }
        case BERTH_FLAG_VALUE:
                a->values[i] = value;
                return 0;
        case BERTH_FLAG_LIST:
                n = strv_length(a->lists[i]);
                a->lists[i] = xreallocarray(a->lists[i], n + 2, sizeof(char *));
                a->lists[i][n] = xstrdup(value);
                a->lists[i][n + 1] = NULL;
                return 0;
        default:
                return berth_error_setx(err, EINVAL, "flag --%s: unknown kind", f->name);
        }
}

/* "--name", "--name=v", "--name v" at argv[*i], advancing *i past a separate value. */
static int parse_long(const struct berth_flag *flags, size_t n_flags, int argc, char **argv, int *i,
                      struct berth_args *a, struct berth_error **err)
{
        const char *name = argv[*i] + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t) (eq - name) : strlen(name), idx;
        const struct berth_flag *f = find_long(flags, n_flags, name, len, &idx);
        const char *value = eq ? eq + 1 : NULL;

        if (!f && len == 4 && strncmp(name, "help", 4) == 0) {
                a->help = true;
                return 0;
        }
        if (!f)
                return berth_error_setx(err, EINVAL, "unknown flag: --%.*s", (int) len, name);
        if (!value && f->kind == BERTH_FLAG_BOOL)
                value = "true";
        if (!value) {
                if (*i + 1 >= argc)
                        return berth_error_setx(err, EINVAL, "flag needs an argument: --%s",
                                                f->name);
                value = argv[++*i];
        }
        return set_value(f, idx, value, a, err);
}

/* "-abc", "-nVALUE", "-n=VALUE", "-n VALUE" at argv[*i], advancing *i past a separate value. */
static int parse_shorts(const struct berth_flag *flags, size_t n_flags, int argc, char **argv,
                        int *i, struct berth_args *a, struct berth_error **err)
{
        const char *s = argv[*i] + 1;

        while (*s) {
                const struct berth_flag *f;
                const char *value;
                size_t idx;
                int r;

                f = find_short(flags, n_flags, *s, &idx);
                if (!f && *s == 'h') {
                        a->help = true;
                        s++;
                        continue;
                }
                if (!f)
                        return berth_error_setx(err, EINVAL, "unknown shorthand flag: '%c' in -%s",
                                                *s, s);
                if (s[1] == '=') {
                        value = s + 2; /* -n=v, -r=false: the rest is the value */
                        s += strlen(s);
                } else if (f->kind == BERTH_FLAG_BOOL) {
                        value = "true";
                        s++;
                } else if (s[1]) {
                        value = s + 1; /* -nv */
                        s += strlen(s);
                } else if (*i + 1 < argc) {
                        value = argv[++*i];
                        s++;
                } else {
                        return berth_error_setx(err, EINVAL, "flag needs an argument: '%c' in -%s",
                                                *s, s);
                }
                r = set_value(f, idx, value, a, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int berth_args_parse(const struct berth_flag *flags, size_t n_flags, int argc, char **argv,
                     bool stop_at_positional, struct berth_args *ret, struct berth_error **err)
{
        struct berth_args a = {};
        bool only_pos = false;
        int r = 0;

        if (n_flags > BERTH_FLAGS_MAX)
                return berth_error_setx(err, EINVAL, "too many flags in a command table");
        a.pos = xcalloc((size_t) argc + 1, sizeof(char *));
        for (int i = 0; i < argc; i++) {
                const char *arg = argv[i];

                if (only_pos || arg[0] != '-' || arg[1] == '\0') {
                        a.pos[a.n_pos++] = argv[i];
                        /* run IMAGE -x: everything after the image is the container's */
                        only_pos = only_pos || stop_at_positional;
                        continue;
                }
                if (streq(arg, "--")) {
                        only_pos = true;
                        continue;
                }
                if (arg[1] == '-')
                        r = parse_long(flags, n_flags, argc, argv, &i, &a, err);
                else
                        r = parse_shorts(flags, n_flags, argc, argv, &i, &a, err);
                if (r < 0) {
                        berth_args_clear(&a);
                        return r;
                }
        }
        *ret = a;
        return 0;
}

void berth_args_clear(struct berth_args *a)
{
        for (size_t i = 0; i < BERTH_FLAGS_MAX; i++) {
                strv_free(a->lists[i]);
                a->lists[i] = NULL;
                a->values[i] = NULL;
        }
        free(a->pos);
        a->pos = NULL;
        a->n_pos = 0;
        a->help = false;
}

bool berth_args_bool(const struct berth_args *a, size_t i)
{
        return i < BERTH_FLAGS_MAX && a->values[i] && streq(a->values[i], "true");
}

/* "  -n, --name NAME", "      --rm" */
static int flag_label(const struct berth_flag *f, char *buf, size_t size)
{
        const char *sep = f->value_name ? " " : "", *v = f->value_name ? f->value_name : "";

        if (f->kind != BERTH_FLAG_BOOL && !f->value_name)
                sep = " ", v = f->kind == BERTH_FLAG_LIST ? "list" : "string";
        if (f->short_name)
                return snprintf(buf, size, "  -%c, --%s%s%s", f->short_name, f->name, sep, v);
        return snprintf(buf, size, "      --%s%s%s", f->name, sep, v);
}

void berth_args_usage(FILE *f, const char *usage, const char *summary,
                      const struct berth_flag *flags, size_t n_flags)
{
        char label[160];
        int width = 0;

        fprintf(f, "Usage: " BERTH_PROG " %s\n\n%s\n", usage, summary);
        if (n_flags == 0)
                return;
        for (size_t i = 0; i < n_flags; i++) {
                int l = flag_label(&flags[i], label, sizeof(label));

                if (l > width)
                        width = l;
        }
        fprintf(f, "\nOptions:\n");
        for (size_t i = 0; i < n_flags; i++) {
                flag_label(&flags[i], label, sizeof(label));
                fprintf(f, "%-*s   %s\n", width, label, flags[i].usage ? flags[i].usage : "");
        }
}

/* docker's cobra.ExactArgs / MinimumNArgs / MaximumNArgs / NoArgs messages. */
static int check_count(const struct berth_cmd_spec *spec, int n, struct berth_error **err)
{
        int min = spec->min_args, max = spec->max_args;

        if (min == max && n != min) {
                if (min == 0)
                        return berth_error_setx(err, EINVAL, "\"%s %s\" accepts no arguments.",
                                                BERTH_PROG, spec->name);
                return berth_error_setx(err, EINVAL, "\"%s %s\" requires exactly %d argument%s.",
                                        BERTH_PROG, spec->name, min, min == 1 ? "" : "s");
        }
        if (n < min)
                return berth_error_setx(err, EINVAL, "\"%s %s\" requires at least %d argument%s.",
                                        BERTH_PROG, spec->name, min, min == 1 ? "" : "s");
        if (max >= 0 && n > max)
                return berth_error_setx(err, EINVAL, "\"%s %s\" accepts at most %d argument%s.",
                                        BERTH_PROG, spec->name, max, max == 1 ? "" : "s");
        return 0;
}

bool berth_cmd_args(const struct berth_cmd_spec *spec, int argc, char **argv,
                    struct berth_args *ret, int *ret_rc)
{
        _autoerr_ struct berth_error *err = NULL;
        struct berth_args a;
        int r;

        r = berth_args_parse(spec->flags, spec->n_flags, argc > 0 ? argc - 1 : 0, argv + 1,
                             spec->stop_at_positional, &a, &err);
        if (r >= 0 && a.help) {
                berth_args_usage(stdout, spec->usage, spec->summary, spec->flags, spec->n_flags);
                berth_args_clear(&a);
                *ret_rc = 0;
                return false;
        }
        if (r >= 0) {
                r = check_count(spec, a.n_pos, &err);
                if (r < 0)
                        berth_args_clear(&a);
        }
        if (r < 0) {
                fprintf(stderr, BERTH_PROG ": %s\nSee '" BERTH_PROG " %s --help'.\n",
                        err && err->msg ? err->msg : strerror(-r), spec->name);
                *ret_rc = BERTH_EXIT_ENGINE;
                return false;
        }
        *ret = a;
        *ret_rc = 0;
        return true;
}

/* The image store of the global --root, opened on first use. */
int berth_global_store(struct berth_global *g, struct berth_store **ret, struct berth_error **err)
{
        int r;

        if (!g->store) {
                r = berth_store_open(g->root, &g->store, err);
                if (r < 0)
                        return r;
        }
        *ret = g->store;
        return 0;
}

int berth_global_seal(const struct berth_global *g, struct berth_error **err)
{
        _autoclose_ int fd = -EBADF;
        int r = berth_state_root_open(g->runroot, &fd, err);

        return r < 0 ? r : berth_exe_seal(g->argv, g->runroot, err);
}
