/* SPDX-License-Identifier: Apache-2.0 */
/* berth's flag parser (src/berth/args.c) and output helpers (src/berth/output.c). */
#include <errno.h>
#include <setjmp.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdarg.h>
#include <stddef.h>
#include <time.h>
#include <cmocka.h>
#include <jansson.h>

#include "berth.h"
#include "base/util.h"

enum { F_RM, F_INTERACTIVE, F_TTY, F_NAME, F_ENV, F_WORKDIR, F_PLATFORM };

static const struct berth_flag flags[] = {
    [F_RM] = {"rm", 0, BERTH_FLAG_BOOL, NULL, "remove"},
    [F_INTERACTIVE] = {"interactive", 'i', BERTH_FLAG_BOOL, NULL, "keep stdin open"},
    [F_TTY] = {"tty", 't', BERTH_FLAG_BOOL, NULL, "allocate a tty"},
    [F_NAME] = {"name", 'n', BERTH_FLAG_VALUE, "NAME", "name"},
    [F_ENV] = {"env", 'e', BERTH_FLAG_LIST, "K=V", "environment"},
    [F_WORKDIR] = {"workdir", 'w', BERTH_FLAG_VALUE, "DIR", "working dir"},
    [F_PLATFORM] = {"platform", 0, BERTH_FLAG_VALUE, "P", "platform"},
};

static int parse(char **argv, bool stop, struct berth_args *a, struct berth_error **err)
{
        return berth_args_parse(flags, ARRAY_SIZE(flags), (int) strv_length(argv), argv, stop, a,
                                err);
}

/* One row of the table: argv, then what it must produce. */
struct ok_case {
        char *argv[8];
        bool stop;
        const char *name, *workdir, *env0, *env1;
        int rm, it; /* -1: absent, 0 false, 1 true (both -i and -t for it) */
        int n_pos;
        const char *pos0, *pos1;
};

static struct ok_case ok_cases[] = {
    {{"--name", "web", "img"}, false, "web", NULL, NULL, NULL, -1, -1, 1, "img", NULL},
    {{"--name=web", "img"}, false, "web", NULL, NULL, NULL, -1, -1, 1, "img", NULL},
    {{"-n", "web", "img"}, false, "web", NULL, NULL, NULL, -1, -1, 1, "img", NULL},
    {{"-nweb", "img"}, false, "web", NULL, NULL, NULL, -1, -1, 1, "img", NULL},
    {{"-n=web", "img"}, false, "web", NULL, NULL, NULL, -1, -1, 1, "img", NULL},
    {{"--name", "a", "--name", "b"}, false, "b", NULL, NULL, NULL, -1, -1, 0, NULL, NULL},
    {{"--name", "-x"}, false, "-x", NULL, NULL, NULL, -1, -1, 0, NULL, NULL},
    {{"--name="}, false, "", NULL, NULL, NULL, -1, -1, 0, NULL, NULL},
    {{"-it", "img"}, false, NULL, NULL, NULL, NULL, -1, 1, 1, "img", NULL},
    {{"-itw/x", "img"}, false, NULL, "/x", NULL, NULL, -1, 1, 1, "img", NULL},
    {{"-itn", "x", "img"}, false, "x", NULL, NULL, NULL, -1, 1, 1, "img", NULL},
    {{"--rm", "img"}, false, NULL, NULL, NULL, NULL, 1, -1, 1, "img", NULL},
    {{"--rm=false", "img"}, false, NULL, NULL, NULL, NULL, 0, -1, 1, "img", NULL},
    {{"--rm=1", "--rm=F"}, false, NULL, NULL, NULL, NULL, 0, -1, 0, NULL, NULL},
    {{"--rm", "false"}, false, NULL, NULL, NULL, NULL, 1, -1, 1, "false", NULL},
    {{"-e", "A=1", "--env=B=2"}, false, NULL, NULL, "A=1", "B=2", -1, -1, 0, NULL, NULL},
    {{"-eA=1", "-e", "B"}, false, NULL, NULL, "A=1", "B", -1, -1, 0, NULL, NULL},
    /* interspersed: flags after positionals still count */
    {{"a", "--rm", "b"}, false, NULL, NULL, NULL, NULL, 1, -1, 2, "a", "b"},
    /* "--" ends the flags; "-" is a positional */
    {{"--", "--rm", "-"}, false, NULL, NULL, NULL, NULL, -1, -1, 2, "--rm", "-"},
    {{"-", "--rm"}, false, NULL, NULL, NULL, NULL, 1, -1, 1, "-", NULL},
    /* run: flags end at the image */
    {{"--rm", "img", "sh", "--rm", "-c"}, true, NULL, NULL, NULL, NULL, 1, -1, 4, "img", "sh"},
    {{"-it", "img", "--", "-x"}, true, NULL, NULL, NULL, NULL, -1, 1, 3, "img", "--"},
};

static void check_bool(const struct berth_args *a, size_t i, int want)
{
        if (want < 0)
                assert_null(a->values[i]);
        else
                assert_int_equal(berth_args_bool(a, i), want);
}

static void ok_table(void **state)
{
        for (size_t c = 0; c < ARRAY_SIZE(ok_cases); c++) {
                struct ok_case *t = &ok_cases[c];
                _autoerr_ struct berth_error *err = NULL;
                struct berth_args a;

                assert_int_equal(parse(t->argv, t->stop, &a, &err), 0);
                assert_false(a.help);
                if (t->name)
                        assert_string_equal(a.values[F_NAME], t->name);
                else
                        assert_null(a.values[F_NAME]);
                if (t->workdir)
                        assert_string_equal(a.values[F_WORKDIR], t->workdir);
                if (t->env0) {
                        assert_string_equal(a.lists[F_ENV][0], t->env0);
                        assert_string_equal(a.lists[F_ENV][1], t->env1);
                        assert_null(a.lists[F_ENV][2]);
                } else {
                        assert_null(a.lists[F_ENV]);
                }
                check_bool(&a, F_RM, t->rm);
                check_bool(&a, F_INTERACTIVE, t->it);
                check_bool(&a, F_TTY, t->it);
                assert_int_equal(a.n_pos, t->n_pos);
                if (t->pos0)
                        assert_string_equal(a.pos[0], t->pos0);
                if (t->pos1)
                        assert_string_equal(a.pos[1], t->pos1);
                assert_null(a.pos[a.n_pos]);
                berth_args_clear(&a);
        }
}

struct err_case {
        char *argv[4];
        const char *msg;
};

static struct err_case err_cases[] = {
    {{"--foo"}, "unknown flag: --foo"},
    {{"--foo=1", "x"}, "unknown flag: --foo"},
    {{"-z"}, "unknown shorthand flag: 'z' in -z"},
    {{"-itz"}, "unknown shorthand flag: 'z' in -z"},
    {{"-izt"}, "unknown shorthand flag: 'z' in -zt"},
    {{"img", "--name"}, "flag needs an argument: --name"},
    {{"-n"}, "flag needs an argument: 'n' in -n"},
    {{"-in"}, "flag needs an argument: 'n' in -n"},
    {{"--env"}, "flag needs an argument: --env"},
    {{"--rm=maybe"},
     "invalid argument \"maybe\" for \"--rm\" flag: strconv.ParseBool: parsing \"maybe\": "
     "invalid syntax"},
    {{"-i=2"},
     "invalid argument \"2\" for \"-i, --interactive\" flag: strconv.ParseBool: parsing \"2\": "
     "invalid syntax"},
};

static void error_table(void **state)
{
        for (size_t c = 0; c < ARRAY_SIZE(err_cases); c++) {
                _autoerr_ struct berth_error *err = NULL;
                struct berth_args a;

                assert_int_equal(parse(err_cases[c].argv, false, &a, &err), -EINVAL);
                assert_string_equal(err->msg, err_cases[c].msg);
        }
}

static void help(void **state)
{
        char *l[] = {"--help", NULL}, *s[] = {"-ih", NULL}, *after[] = {"img", "-h", NULL};
        char *run[] = {"img", "-h", NULL};
        struct berth_args a;

        assert_int_equal(parse(l, false, &a, NULL), 0);
        assert_true(a.help);
        berth_args_clear(&a);
        assert_int_equal(parse(s, false, &a, NULL), 0);
        assert_true(a.help);
        assert_true(berth_args_bool(&a, F_INTERACTIVE));
        berth_args_clear(&a);
        assert_int_equal(parse(after, false, &a, NULL), 0);
        assert_true(a.help);
        berth_args_clear(&a);
        /* run img -h: -h is the container's */
        assert_int_equal(parse(run, true, &a, NULL), 0);
        assert_false(a.help);
        assert_int_equal(a.n_pos, 2);
        berth_args_clear(&a);
}

static char *capture(FILE *f, char *buf, size_t size)
{
        size_t n;

        fflush(f);
        rewind(f);
        n = fread(buf, 1, size - 1, f);
        buf[n] = '\0';
        return buf;
}

static void usage_text(void **state)
{
        static const struct berth_flag two[] = {
            {"all", 'a', BERTH_FLAG_BOOL, NULL, "Show all images"},
            {"format", 0, BERTH_FLAG_VALUE, "FORMAT", "Format output"},
        };
        _autofclose_ FILE *f = tmpfile();
        char buf[1024];

        assert_non_null(f);
        berth_args_usage(f, "images [OPTIONS]", "List images", two, ARRAY_SIZE(two));
        assert_string_equal(capture(f, buf, sizeof(buf)),
                            "Usage: berth images [OPTIONS]\n\nList images\n\nOptions:\n"
                            "  -a, --all             Show all images\n"
                            "      --format FORMAT   Format output\n");
}

static void cmd_args_counts(void **state)
{
        static const struct berth_cmd_spec spec = {
            "tag", "tag SOURCE TARGET", "Tag", flags, ARRAY_SIZE(flags), 2, 2, false};
        char *ok[] = {"tag", "a", "--rm", "b", NULL}, *few[] = {"tag", "a", NULL};
        char *bad[] = {"tag", "--nope", NULL}, *h[] = {"tag", "--help", NULL};
        struct berth_args a;
        int rc = -1;

        assert_true(berth_cmd_args(&spec, 4, ok, &a, &rc));
        assert_int_equal(a.n_pos, 2);
        berth_args_clear(&a);
        assert_false(berth_cmd_args(&spec, 2, few, &a, &rc));
        assert_int_equal(rc, 125);
        assert_false(berth_cmd_args(&spec, 2, bad, &a, &rc));
        assert_int_equal(rc, 125);
        rc = -1;
        /* the usage text goes to stdout: keep it out of the TAP stream */
        fflush(stdout);
        int saved = dup(STDOUT_FILENO), null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        assert_true(saved >= 0 && null >= 0 && dup2(null, STDOUT_FILENO) == STDOUT_FILENO);
        bool shown = berth_cmd_args(&spec, 2, h, &a, &rc);
        fflush(stdout);
        dup2(saved, STDOUT_FILENO);
        close(saved);
        close(null);
        assert_false(shown);
        assert_int_equal(rc, 0);
}

static void human_sizes(void **state)
{
        static const struct {
                int64_t bytes;
                const char *text;
        } cases[] = {
            {0, "0B"},
            {1, "1B"},
            {999, "999B"},
            {1000, "1kB"},
            {1024, "1.024kB"},
            {812345, "812.3kB"},
            {4260000, "4.26MB"},
            {4261237, "4.261MB"},
            {1230000000, "1.23GB"},
            {999999, "1000kB"},
            {1000000, "1MB"},
            {INT64_C(3) * 1000 * 1000 * 1000 * 1000, "3TB"},
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                _autofree_ char *s = berth_human_size(cases[i].bytes);

                assert_string_equal(s, cases[i].text);
        }
}

static void human_durations(void **state)
{
        static const struct {
                int64_t seconds;
                const char *text;
        } cases[] = {
            {-5, "Less than a second"}, {0, "Less than a second"}, {1, "1 second"},
            {59, "59 seconds"},         {60, "About a minute"},    {119, "About a minute"},
            {180, "3 minutes"},         {3599, "59 minutes"},      {3600, "About an hour"},
            {5399, "About an hour"},    {5400, "2 hours"},         {47 * 3600, "47 hours"},
            {48 * 3600, "2 days"},      {13 * 86400, "13 days"},   {14 * 86400, "2 weeks"},
            {59 * 86400, "8 weeks"},    {90 * 86400, "3 months"},  {729 * 86400, "24 months"},
            {730 * 86400, "2 years"},
        };

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                _autofree_ char *s = berth_human_duration(cases[i].seconds);

                assert_string_equal(s, cases[i].text);
        }
}

static void human_ago(void **state)
{
        _autofree_ char *now = berth_human_ago((int64_t) time(NULL));
        _autofree_ char *min = berth_human_ago((int64_t) time(NULL) - 70);
        _autofree_ char *days = berth_human_ago((int64_t) time(NULL) - 2 * 86400 - 10);

        assert_string_equal(now, "Less than a second ago");
        assert_string_equal(min, "About a minute ago");
        assert_string_equal(days, "2 days ago");
}

static void table(void **state)
{
        struct berth_table *t =
            berth_table_new(5, "REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE");
        _autofclose_ FILE *f = tmpfile();
        char buf[1024];

        assert_non_null(f);
        berth_table_add(t, "busybox", "latest", "a416a98b71e2", "3 weeks ago", "4.26MB");
        berth_table_add(t, "127.0.0.1:5000/x", "<none>", "0123456789ab", "2 days ago", "1kB");
        berth_table_print(t, f);
        berth_table_free(t);
        assert_string_equal(capture(f, buf, sizeof(buf)),
                            "REPOSITORY         TAG       IMAGE ID       CREATED       SIZE\n"
                            "busybox            latest    a416a98b71e2   3 weeks ago   4.26MB\n"
                            "127.0.0.1:5000/x   <none>    0123456789ab   2 days ago    1kB\n");
}

static void rfc3339(void **state)
{
        int64_t t = 0;

        assert_int_equal(berth_parse_rfc3339("1970-01-01T00:01:40Z", &t), 0);
        assert_int_equal(t, 100);
        assert_int_equal(berth_parse_rfc3339("2024-01-02T03:04:05.123456789Z", &t), 0);
        assert_int_equal(t, 1704164645);
        assert_int_equal(berth_parse_rfc3339("2024-01-02T05:04:05+02:00", &t), 0);
        assert_int_equal(t, 1704164645);
        assert_int_equal(berth_parse_rfc3339("yesterday", &t), -EINVAL);
        assert_int_equal(berth_parse_rfc3339("2024-01-02T03:04:05Zjunk", &t), -EINVAL);
}

static void templates(void **state)
{
        static const struct {
                const char *tmpl, *out;
        } cases[] = {
            {"{{.Id}}", "sha256:ab"},
            {"{{ .Id }}!", "sha256:ab!"},
            {"{{.Config.Cmd}}", "[sh -c x]"},
            {"{{.Config.Entrypoint}}", "<nil>"},
            {"{{.Config.Labels}}", "map[a:1 b:2]"},
            {"{{.Size}}", "42"},
            {"{{.Nope}}", "<no value>"},
            {"{{json .Config.Cmd}}", "[\"sh\",\"-c\",\"x\"]"},
            {"{{.Repo}}:{{.Tag}}\\t{{.Size}}", "r:t\t42"},
            {"plain", "plain"},
        };
        _autoerr_ struct berth_error *err = NULL;
        json_t *obj = json_pack("{s:s, s:s, s:s, s:i, s:{s:[s,s,s], s:n, s:{s:s, s:s}}}", "Id",
                                "sha256:ab", "Repo", "r", "Tag", "t", "Size", 42, "Config", "Cmd",
                                "sh", "-c", "x", "Entrypoint", "Labels", "b", "2", "a", "1");
        char *out;

        assert_non_null(obj);
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                assert_int_equal(berth_format_template(cases[i].tmpl, obj, &out, &err), 0);
                assert_string_equal(out, cases[i].out);
                free(out);
        }
        assert_int_equal(berth_format_template("{{range .X}}", obj, &out, &err), -EINVAL);
        assert_string_equal(err->msg, "template: unsupported action \"{{range .X}}\" (supported: "
                                      "{{.Field.Sub}}, {{json .Field}})");
        assert_int_equal(berth_format_template("{{.Id", obj, &out, &err), -EINVAL);
        json_decref(obj);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(ok_table),
            cmocka_unit_test(error_table),
            cmocka_unit_test(help),
            cmocka_unit_test(usage_text),
            cmocka_unit_test(cmd_args_counts),
            cmocka_unit_test(human_sizes),
            cmocka_unit_test(human_durations),
            cmocka_unit_test(human_ago),
            cmocka_unit_test(table),
            cmocka_unit_test(rfc3339),
            cmocka_unit_test(templates),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
