/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth top CONTAINER [ps OPTIONS]: docker's top. The container's pids come from its cgroup
 * (engine-exec.h); the table is the host's `ps` with the options (default -ef), given the pids
 * with -q and, should ps refuse that with the options, without it; the rows whose PID is one
 * of the container's are kept (with thread rows, "-" in the PID column, that follow them), the
 * last column takes the rest of each line, and the table is aligned as docker's CLI does it.
 *
 * ps is run here, not in the engine: the library never runs programs, and procps' ps is what
 * docker runs, so its columns, formats and every option are the same (the daemon's user names
 * and times are the host's, as docker's). Errors (exit 1): not running, "ps: <its first line of
 * stderr>", "Couldn't find PID field in ps output", "specifying "k=PID..." is not allowed".
 */
#include <fcntl.h>
#include <regex.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "berth.h"
#include "base/util.h"
#include "engine/engine-exec.h"
#include "engine/engine.h"

static const struct berth_cmd_spec spec = {
    .name = "top",
    .usage = "top CONTAINER [ps OPTIONS]",
    .summary = "Display the running processes of a container",
    .min_args = 1,
    .max_args = -1,
    .stop_at_positional = true,
};

/* docker's tabwriter: minimum width 20, 3 spaces of padding, the last column as it is. */
#define TOP_MIN_WIDTH 20
#define TOP_PADDING 3

/* moby's validatePSArgs: a `-o k=PID...` would rename another column PID. */
static int check_ps_args(const char *args, struct berth_error **err)
{
        regex_t re;
        regmatch_t m[3];
        const char *s = args;
        int r = 0;

        if (regcomp(&re, "[[:space:]]+([^[:space:]]*)=[[:space:]]*(PID[^[:space:]]*)",
                    REG_EXTENDED) != 0)
                return berth_error_setx(err, EINVAL, "top: compile the ps arguments check");
        while (r == 0 && regexec(&re, s, 3, m, 0) == 0) {
                int kl = (int) (m[1].rm_eo - m[1].rm_so), vl = (int) (m[2].rm_eo - m[2].rm_so);

                if (kl != 3 || strncmp(s + m[1].rm_so, "pid", 3) != 0)
                        r = berth_error_setx(err, EINVAL, "specifying \"%.*s=%.*s\" is not allowed",
                                             kl, s + m[1].rm_so, vl, s + m[2].rm_so);
                s += m[0].rm_eo;
        }
        regfree(&re);
        return r;
}

/* moby's strings.Split(psArgs, " "): empty pieces are arguments too. */
static char **split_args(const char *args)
{
        char **v = NULL, *copy = xstrdup(args), *p = copy;
        size_t n = 0;

        for (char *sp; (sp = strchr(p, ' ')); p = sp + 1) {
                *sp = '\0';
                strv_push(&v, &n, xstrdup(p));
        }
        strv_push(&v, &n, xstrdup(p));
        free(copy);
        return v;
}

/* Runs `ps ARGS [-qPIDS]`: its stdout, or the first line of its stderr as the error. */
static int run_ps(char *const *args, const char *pid_arg, char **ret_out, struct berth_error **err)
{
        _autoclose_ int rd = -EBADF, errfd = memfd_create("ps-stderr", MFD_CLOEXEC);
        _autofree_ char *errtext = NULL;
        _autostrv_ char **argv = NULL;
        size_t n = 0;
        int fds[2], status = 0, r;
        pid_t pid;

        strv_push(&argv, &n, xstrdup("ps"));
        for (char *const *a = args; *a; a++)
                strv_push(&argv, &n, xstrdup(*a));
        if (pid_arg)
                strv_push(&argv, &n, xstrdup(pid_arg));
        if (errfd < 0 || pipe2(fds, O_CLOEXEC) < 0)
                return berth_error_set(err, errno, "ps: pipe");
        rd = fds[0];
        pid = fork();
        if (pid == 0) {
                if (dup2(fds[1], STDOUT_FILENO) < 0 || dup2(errfd, STDERR_FILENO) < 0)
                        _exit(127);
                execvp("ps", argv);
                dprintf(STDERR_FILENO, "exec: \"ps\": %s\n", strerror(errno));
                _exit(127);
        }
        close(fds[1]);
        if (pid < 0)
                return berth_error_set(err, errno, "ps: fork");
        r = berth_read_fd(rd, "ps's output", 64u << 20, ret_out, NULL, err);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (r >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        if (r >= 0)
                free(steal_ptr(ret_out));
        lseek(errfd, 0, SEEK_SET);
        if (berth_read_fd(errfd, "ps's errors", 1u << 20, &errtext, NULL, NULL) >= 0 && *errtext) {
                errtext[strcspn(errtext, "\n")] = '\0';
                return berth_error_setx(err, EIO, "ps: %s", errtext);
        }
        return berth_error_setx(err, EIO, "ps: exit status %d",
                                WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

/* "-q1,2,3" (moby's psPidsArg). */
static char *pids_arg(const pid_t *pids, size_t n)
{
        char *s = xstrdup("-q");

        for (size_t i = 0; i < n; i++) {
                char *t = xasprintf("%s%s%d", s, i ? "," : "", (int) pids[i]);

                free(s);
                s = t;
        }
        return s;
}

/* ---- the table ----------------------------------------------------------------------------- */

struct top_table {
        char ***rows; /* rows[0]: the titles; each row has n_cols cells */
        size_t n_rows, n_cols;
};

static void table_free(struct top_table *t)
{
        for (size_t i = 0; i < t->n_rows; i++)
                strv_free(t->rows[i]);
        free(t->rows);
}

/* strings.Fields */
static char **fields(const char *line, size_t *ret_n)
{
        char **v = NULL;
        size_t n = 0;

        for (const char *p = line;;) {
                size_t len;

                p += strspn(p, " \t\n\v\f\r");
                if (!*p)
                        break;
                len = strcspn(p, " \t\n\v\f\r");
                strv_push(&v, &n, strndup(p, len));
                p += len;
        }
        *ret_n = n;
        return v;
}

/* The row's cells: the first n_cols-1 fields, then the rest of the fields joined with spaces
 * (moby's appendProcess2ProcList: a command line with spaces stays one cell). */
static void add_row(struct top_table *t, char **f, size_t n)
{
        char **row = xcalloc(t->n_cols + 1, sizeof(char *));
        size_t last = t->n_cols - 1;

        for (size_t i = 0; i < last; i++)
                row[i] = xstrdup(i < n ? f[i] : "");
        row[last] = xstrdup("");
        for (size_t i = last; i < n; i++) {
                char *s = xasprintf("%s%s%s", row[last], i > last ? " " : "", f[i]);

                free(row[last]);
                row[last] = s;
        }
        t->rows = xreallocarray(t->rows, t->n_rows + 1, sizeof(*t->rows));
        t->rows[t->n_rows++] = row;
}

static bool has_pid(const pid_t *pids, size_t n, int64_t v)
{
        for (size_t i = 0; i < n; i++)
                if (pids[i] == v)
                        return true;
        return false;
}

/* moby's parsePSOutput: the titles, then the container's rows. */
static int parse_ps(char *out, const pid_t *pids, size_t n_pids, struct top_table *t,
                    struct berth_error **err)
{
        char *save = NULL, *line = strtok_r(out, "\n", &save);
        size_t n, pid_col = SIZE_MAX;
        _autostrv_ char **titles = fields(line ? line : "", &n);
        bool in_container = false;
        int64_t pid;

        for (size_t i = 0; i < n && pid_col == SIZE_MAX; i++)
                if (streq(titles[i], "PID"))
                        pid_col = i;
        if (pid_col == SIZE_MAX)
                return berth_error_setx(err, EINVAL, "Couldn't find PID field in ps output");
        t->n_cols = n;
        add_row(t, titles, n);
        while ((line = strtok_r(NULL, "\n", &save))) {
                _autostrv_ char **f = fields(line, &n);

                if (n <= pid_col)
                        continue;
                if (streq(f[pid_col], "-")) { /* a thread of the process above */
                        if (in_container)
                                add_row(t, f, n);
                        continue;
                }
                if (parse_i64(f[pid_col], &pid) < 0)
                        return berth_error_setx(err, EINVAL, "Unexpected pid '%s'", f[pid_col]);
                in_container = has_pid(pids, n_pids, pid);
                if (in_container)
                        add_row(t, f, n);
        }
        return 0;
}

/* Go's tabwriter counts runes. */
static size_t width(const char *s)
{
        size_t w = 0;

        for (; *s; s++)
                w += ((unsigned char) *s & 0xc0) != 0x80;
        return w;
}

static void table_print(const struct top_table *t)
{
        _autofree_ size_t *w = xcalloc(t->n_cols ? t->n_cols : 1, sizeof(size_t));

        for (size_t r = 0; r < t->n_rows; r++)
                for (size_t c = 0; c + 1 < t->n_cols; c++)
                        if (width(t->rows[r][c]) + TOP_PADDING > w[c])
                                w[c] = width(t->rows[r][c]) + TOP_PADDING;
        for (size_t r = 0; r < t->n_rows; r++) {
                for (size_t c = 0; c + 1 < t->n_cols; c++)
                        printf("%s%*s", t->rows[r][c],
                               (int) ((w[c] < TOP_MIN_WIDTH ? TOP_MIN_WIDTH : w[c]) -
                                      width(t->rows[r][c])),
                               "");
                printf("%s\n", t->n_cols ? t->rows[r][t->n_cols - 1] : "");
        }
}

/* ---- the command --------------------------------------------------------------------------- */

/* ps with the container's pids, or, when ps refuses that with these options (f and q cannot
 * go together), without them. */
static int ps_table(char *const *args, const pid_t *pids, size_t n, struct top_table *t,
                    struct berth_error **err)
{
        _autofree_ char *out = NULL, *q = pids_arg(pids, n);
        int r;

        r = run_ps(args, q, &out, NULL);
        if (r < 0)
                r = run_ps(args, NULL, &out, err);
        if (r < 0)
                return r;
        return parse_ps(out, pids, n, t, err);
}

static int top(struct berth_global *g, const struct berth_args *a, struct berth_error **err)
{
        _cleanup_(berth_ctr_freep) struct berth_ctr *c = NULL;
        _autofree_ char *joined = NULL;
        _autofree_ pid_t *pids = NULL;
        _autostrv_ char **args = NULL;
        struct top_table t = {0};
        struct berth_store *s;
        size_t n = 0;
        int r;

        joined = xstrdup(a->n_pos > 1 ? "" : "-ef");
        for (int i = 1; i < a->n_pos; i++) {
                char *j = xasprintf("%s%s%s", joined, i > 1 ? " " : "", a->pos[i]);

                free(joined);
                joined = j;
        }
        r = check_ps_args(joined, err);
        if (r >= 0)
                r = berth_global_store(g, &s, err);
        if (r >= 0)
                r = berth_ctr_lookup(s, a->pos[0], &c, err);
        if (r >= 0)
                r = berth_ctr_pids(c, g->runroot, &pids, &n, err);
        if (r < 0)
                return r;
        args = split_args(joined);
        r = ps_table(args, pids, n, &t, err);
        if (r >= 0)
                table_print(&t);
        table_free(&t);
        return r;
}

static int cmd_top(struct berth_global *g, int argc, char **argv)
{
        struct berth_args a = {0};
        _autoerr_ struct berth_error *e = NULL;
        int rc;

        if (!berth_cmd_args(&spec, argc, argv, &a, &rc))
                return rc;
        rc = top(g, &a, &e) < 0 ? berth_print_failure(e) : 0;
        fflush(stdout);
        berth_args_clear(&a);
        return rc;
}

const struct berth_cmd berth_cmd_top = {"top", "Display the running processes of a container",
                                        cmd_top};
