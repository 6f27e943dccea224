/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-oci ps [--format table|json] ID [ps options...]
 *
 * json prints the container's pids. table runs the host's ps(1) (default "-ef") and keeps the
 * header and the rows whose PID column is one of the container's processes, as runc does: the
 * one place a front end runs a host command. libberth never does.
 */
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include "runtime/container.h"
#include "oci.h"
#include "base/util.h"

extern char **environ;

enum { F_FORMAT };

static const struct oci_flag flags[] = {
    [F_FORMAT] = {"format", 'f', true, "select one of: table or json (default: \"table\")"},
};

/* "[1234,1235]"; "null" for none, as Go encodes runc's empty (nil) list. */
static int print_json(const pid_t *pids, size_t n, struct berth_error **err)
{
        _autofree_ char *out = NULL;
        size_t size = 0;
        FILE *f;

        if (n == 0)
                return oci_print_text("null", err);
        f = open_memstream(&out, &size);
        if (!f)
                return berth_error_set(err, errno, "ps: open a memory stream");
        fputc('[', f);
        for (size_t i = 0; i < n; i++)
                fprintf(f, "%s%d", i ? "," : "", (int) pids[i]);
        fputc(']', f);
        if (fclose(f) != 0)
                return berth_error_set(err, errno, "ps: format the pids");
        return oci_print_text(out, err);
}

static int spawn_ps(char **argv, int out_fd, pid_t *ret_pid, struct berth_error **err)
{
        posix_spawn_file_actions_t fa;
        int r;

        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
        posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
        r = posix_spawnp(ret_pid, "ps", &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        if (r != 0)
                return berth_error_set(err, r, "ps: run ps");
        return 0;
}

/* Runs `ps ARGS...` (default: ps -ef) and returns its stdout and stderr together, as runc's
 * CombinedOutput. A failing ps is an error that carries its output. */
static int run_ps(char **args, int n, char **ret, struct berth_error **err)
{
        /* "ps", the options (or "-ef"), NULL */
        _autofree_ char **argv = xcalloc((size_t) n + 3, sizeof(char *));
        _autofree_ char *out = NULL;
        _autoclose_ int rd = -EBADF, wr = -EBADF;
        int p[2], status, r;
        pid_t pid;

        argv[0] = "ps";
        for (int i = 0; i < n; i++)
                argv[i + 1] = args[i];
        if (n == 0)
                argv[1] = "-ef";
        if (pipe2(p, O_CLOEXEC) < 0)
                return berth_error_set(err, errno, "ps: create a pipe");
        rd = p[0];
        wr = p[1];
        r = spawn_ps(argv, wr, &pid, err);
        if (r < 0)
                return r;
        closep(&wr);
        r = berth_read_fd(rd, "the output of ps", 0, &out, NULL, err);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (r < 0)
                return r;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return berth_error_setx(err, EIO, "ps: %s %d: %.*s",
                                        WIFEXITED(status) ? "exit status" : "killed by signal",
                                        WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
                                        (int) strcspn(out, "\n") ?: (int) strlen(out), out);
        *ret = steal_ptr(&out);
        return 0;
}

/* The index'th whitespace-separated field of line, or NULL. */
static const char *field(const char *line, int index, size_t *ret_len)
{
        const char *p = line + strspn(line, " \t");

        for (int i = 0; *p; i++) {
                size_t len = strcspn(p, " \t");

                if (i == index) {
                        *ret_len = len;
                        return p;
                }
                p += len;
                p += strspn(p, " \t");
        }
        return NULL;
}

static int pid_index(const char *header, struct berth_error **err)
{
        size_t len;

        for (int i = 0;; i++) {
                const char *f = field(header, i, &len);

                if (!f)
                        return berth_error_setx(err, EINVAL,
                                                "ps: couldn't find PID field in ps output");
                if (len == 3 && strncmp(f, "PID", 3) == 0)
                        return i;
        }
}

static bool has_pid(const pid_t *pids, size_t n, pid_t pid)
{
        for (size_t i = 0; i < n; i++)
                if (pids[i] == pid)
                        return true;
        return false;
}

/* Keeps the header and the rows of the container's processes. */
static int filter(char *out, const pid_t *pids, size_t n, struct berth_error **err)
{
        char *save = NULL, *header = strtok_r(out, "\n", &save);
        int idx = header ? pid_index(header, err) : pid_index("", err);

        if (idx < 0)
                return idx;
        printf("%s\n", header);
        for (char *l = strtok_r(NULL, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
                size_t len;
                const char *f = field(l, idx, &len);
                char num[32];
                int64_t pid;

                snprintf(num, sizeof(num), "%.*s", f ? (int) len : 0, f ? f : "");
                if (parse_i64(num, &pid) < 0)
                        return berth_error_setx(err, EINVAL, "ps: unable to parse pid %s in %s",
                                                QUOTE(num), QUOTE(l));
                if (has_pid(pids, n, (pid_t) pid))
                        printf("%s\n", l);
        }
        if (fflush(stdout) != 0)
                return berth_error_set(err, errno, "write to stdout");
        return 0;
}

static int cmd_ps(const struct oci_global *g, const struct oci_args *a, struct berth_error **err)
{
        _autocontainer_ struct berth_container *c = NULL;
        const char *format = a->values[F_FORMAT] ? a->values[F_FORMAT] : "table";
        _autofree_ pid_t *pids = NULL;
        _autofree_ char *out = NULL;
        size_t n = 0;
        int r;

        r = oci_load_container(g, a->pos[0], &c, err);
        if (r >= 0)
                r = berth_container_pids(c, &pids, &n, err);
        if (r < 0)
                return r;
        if (streq(format, "json"))
                return print_json(pids, n, err);
        if (!streq(format, "table"))
                return berth_error_setx(
                    err, EINVAL, "invalid format option %s: expected table or json", QUOTE(format));
        r = run_ps(a->pos + 1, a->n_pos - 1, &out, err);
        if (r >= 0)
                r = filter(out, pids, n, err);
        return r < 0 ? r : 0;
}

const struct oci_command oci_cmd_ps = {
    .name = "ps",
    .summary = "ps displays the processes running inside a container",
    .usage = "[command options] <container-id> [ps options]",
    .flags = flags,
    .n_flags = ARRAY_SIZE(flags),
    .min_args = 1,
    .max_args = 1 << 20,
    .flags_end_at_arg = true,
    .needs_cgroups = true,
    .run = cmd_ps,
};
