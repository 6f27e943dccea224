/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-oci exec: a new process in a container, from --process FILE or from the container's own
 * process with the command line's changes (runc's rules: terminal off unless --tty, --env
 * appended, --cap added to the bounding, effective and permitted sets). Flags end at the
 * container id; what follows it is the command. In the foreground the process's signals are
 * forwarded, its terminal relayed, and its exit status becomes ours; --detach returns once it
 * has started. Any failure of exec itself exits 255, as runc's.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/prctl.h>

#include "spec/spec.h"
#include "runtime/container.h"
#include "runtime/exec.h"
#include "runtime/foreground.h"
#include "base/log.h"
#include "oci.h"
#include "base/util.h"

enum {
        F_CONSOLE_SOCKET,
        F_CWD,
        F_ENV,
        F_TTY,
        F_USER,
        F_ADDITIONAL_GIDS,
        F_PROCESS,
        F_DETACH,
        F_PID_FILE,
        F_PROCESS_LABEL,
        F_APPARMOR,
        F_NO_NEW_PRIVS,
        F_CAP,
        F_PRESERVE_FDS,
        F_IGNORE_PAUSED,
        F_CGROUP,
};

static const struct oci_flag flags[] = {
    [F_CONSOLE_SOCKET] = {"console-socket", 0, true, OCI_USAGE_CONSOLE_SOCKET},
    [F_CWD] = {"cwd", 0, true, "current working directory in the container"},
    [F_ENV] = {"env", 'e', true, "set environment variables", true},
    [F_TTY] = {"tty", 't', false, "allocate a pseudo-TTY"},
    [F_USER] = {"user", 'u', true, "UID (format: <uid>[:<gid>])"},
    [F_ADDITIONAL_GIDS] = {"additional-gids", 'g', true, "additional gids", true},
    [F_PROCESS] = {"process", 'p', true, "path to the process.json"},
    [F_DETACH] = {"detach", 'd', false, "detach from the container's process"},
    [F_PID_FILE] = {"pid-file", 0, true, OCI_USAGE_PID_FILE},
    [F_PROCESS_LABEL] = {"process-label", 0, true,
                         "set the asm process label for the process "
                         "commonly used with selinux"},
    [F_APPARMOR] = {"apparmor", 0, true, "set the apparmor profile for the process"},
    [F_NO_NEW_PRIVS] = {"no-new-privs", 0, false,
                        "set the no new privileges value for the process"},
    [F_CAP] = {"cap", 'c', true, "add a capability to the bounding set for the process", true},
    [F_PRESERVE_FDS] = {"preserve-fds", 0, true, OCI_USAGE_PRESERVE_FDS},
    [F_IGNORE_PAUSED] = {"ignore-paused", 0, false, "allow exec in a paused container"},
    [F_CGROUP] = {"cgroup", 0, true,
                  "run the process in an (existing) sub-cgroup(s). Format is "
                  "[<controller>:]<cgroup>.",
                  true},
};

static int read_process_file(const char *path, struct berth_process *ret, struct berth_error **err)
{
        _autofree_ char *text = NULL;
        size_t len;
        int r;

        r = berth_read_file_at(AT_FDCWD, path, 16u << 20, &text, &len, err);
        if (r < 0)
                return berth_error_prefix(err, "--process");
        return berth_process_parse(text, len, path, ret, err);
}

/* "--env K=V" replaces K or is appended. */
static void add_env(struct berth_process *p, const char *kv)
{
        size_t n = strv_length(p->env), klen = strcspn(kv, "=");

        for (size_t i = 0; i < n; i++)
                if (strncmp(p->env[i], kv, klen) == 0 && p->env[i][klen] == '=') {
                        free(p->env[i]);
                        p->env[i] = xstrdup(kv);
                        return;
                }
        p->env = xreallocarray(p->env, n + 2, sizeof(char *));
        p->env[n] = xstrdup(kv);
        p->env[n + 1] = NULL;
}

/* An unknown name (or one this kernel does not have) is a warning and left out, as runc does:
 * runtime-spec says runtimes SHOULD NOT fail on capabilities that cannot be granted. */
static void add_caps(struct berth_process *p, const char *const *names)
{
        static const int sets[] = {BERTH_CAP_BOUNDING, BERTH_CAP_EFFECTIVE, BERTH_CAP_PERMITTED};

        for (; names && *names; names++) {
                int cap = berth_cap_from_name(*names);

                if (cap < 0) {
                        berth_warn("--cap %s: %s, not added to the bounding, effective and "
                                   "permitted sets, ignoring",
                                   QUOTE(*names),
                                   berth_cap_name_known(*names) ? "not supported by this kernel"
                                                                : "unknown capability");
                        continue;
                }
                for (size_t i = 0; i < ARRAY_SIZE(sets); i++) {
                        p->caps.set[sets[i]] |= 1ull << cap;
                        p->caps.has[sets[i]] = true;
                }
                p->has_caps = true;
        }
}

static int parse_id(const char *s, const char *what, uint32_t *ret, struct berth_error **err)
{
        uint64_t v;

        if (parse_u64(s, &v) < 0 || v > UINT32_MAX)
                return berth_error_setx(err, EINVAL, "%s: invalid id \"%s\"", what, s);
        *ret = (uint32_t) v;
        return 0;
}

/* --user uid[:gid], --additional-gids (numbers only, as runc). */
static int set_ids(struct berth_process *p, const struct oci_args *a, struct berth_error **err)
{
        const char *user = a->values[F_USER];
        const char *const *gids = a->lists[F_ADDITIONAL_GIDS];
        int r = 0;

        if (user) {
                _autofree_ char *u = xstrdup(user);
                char *colon = strchr(u, ':');

                if (colon)
                        *colon++ = '\0';
                r = parse_id(u, "--user", &p->uid, err);
                if (r >= 0 && colon)
                        r = parse_id(colon, "--user", &p->gid, err);
        }
        for (size_t i = 0; r >= 0 && gids && gids[i]; i++) {
                p->additional_gids =
                    xreallocarray(p->additional_gids, p->n_additional_gids + 1, sizeof(uint32_t));
                r = parse_id(gids[i], "--additional-gids",
                             &p->additional_gids[p->n_additional_gids], err);
                if (r >= 0)
                        p->n_additional_gids++;
        }
        return r;
}

static void set_string(char **field, const char *value)
{
        if (!value)
                return;
        free(*field);
        *field = xstrdup(value);
}

/* The container's process with the command line's changes, as runc's exec builds it. */
static int process_from_args(const struct berth_container *c, const struct oci_args *a,
                             struct berth_process *ret, struct berth_error **err)
{
        _autospec_ struct berth_spec *spec = NULL;
        struct berth_process *p;
        int r;

        if (a->n_pos < 2)
                return berth_error_setx(err, EINVAL,
                                        "exec: a command is needed after the "
                                        "container id (or --process FILE)");
        r = berth_container_spec(c, &spec, err);
        if (r < 0)
                return r;
        p = &spec->process;
        strv_free(p->args);
        p->args = xcalloc((size_t) a->n_pos, sizeof(char *));
        for (int i = 1; i < a->n_pos; i++)
                p->args[i - 1] = xstrdup(a->pos[i]);
        set_string(&p->cwd, a->values[F_CWD]);
        set_string(&p->apparmor_profile, a->values[F_APPARMOR]);
        set_string(&p->selinux_label, a->values[F_PROCESS_LABEL]);
        for (const char *const *e = a->lists[F_ENV]; e && *e; e++)
                add_env(p, *e);
        p->terminal = oci_args_bool(a, F_TTY);
        if (a->values[F_NO_NEW_PRIVS])
                p->no_new_privileges = oci_args_bool(a, F_NO_NEW_PRIVS);
        add_caps(p, a->lists[F_CAP]);
        r = set_ids(p, a, err);
        if (r < 0)
                return r;
        if (p->cwd && p->cwd[0] != '/')
                return berth_error_setx(err, EINVAL, "--cwd \"%s\": must be an absolute path",
                                        p->cwd);
        *ret = *p;
        *p = (struct berth_process){0}; /* moved out */
        return 0;
}

/* runc's checks of --tty / --console-socket / --detach. */
static int check_terminal(const struct berth_process *p, bool detach, const char *console_socket,
                          struct berth_error **err)
{
        if (detach && p->terminal && !console_socket)
                return berth_error_setx(err, EINVAL,
                                        "cannot allocate tty if " OCI_PROG
                                        " will detach without setting console socket");
        if ((!detach || !p->terminal) && console_socket)
                return berth_error_setx(err, EINVAL,
                                        "cannot use console socket if " OCI_PROG
                                        " will not detach or allocate tty");
        return 0;
}

static int exec_foreground(struct berth_container *c, const struct berth_process *p,
                           struct berth_exec_opts *o, struct berth_error **err)
{
        _autoforeground_ struct berth_foreground *fg = NULL;
        struct berth_exec_result res;
        int status = 0, failure = 0, r;

        r = berth_foreground_begin(&fg, err);
        if (r < 0)
                return r;
        o->foreground_tty = true;
        r = berth_container_exec(c, p, o, &res, &failure, err);
        if (r < 0)
                return r;
        r = berth_foreground_wait(fg, res.pid, res.pidfd, res.pty_master, &status, err);
        closep(&res.pidfd);
        closep(&res.pty_master);
        return r < 0 ? r : berth_exit_code(status);
}

static int cmd_exec(const struct oci_global *g, const struct oci_args *a, struct berth_error **err)
{
        _autocontainer_ struct berth_container *c = NULL;
        struct berth_process p = {0};
        struct berth_exec_opts o = {
            .console_socket = a->values[F_CONSOLE_SOCKET],
            .pid_file = a->values[F_PID_FILE],
            .ignore_paused = oci_args_bool(a, F_IGNORE_PAUSED),
            .sub_cgroups = a->lists[F_CGROUP],
        };
        bool detach = oci_args_bool(a, F_DETACH);
        int r;

        r = oci_parse_preserve_fds(a->values[F_PRESERVE_FDS], &o.preserve_fds, err);
        if (r >= 0)
                r = oci_load_container(g, a->pos[0], &c, err);
        if (r >= 0)
                r = a->values[F_PROCESS] ? read_process_file(a->values[F_PROCESS], &p, err)
                                         : process_from_args(c, a, &p, err);
        if (r >= 0)
                r = check_terminal(&p, detach, o.console_socket, err);
        if (r >= 0 && detach) {
                struct berth_exec_result res;

                r = berth_container_exec(c, &p, &o, &res, NULL, err);
                if (r >= 0)
                        close(res.pidfd);
        } else if (r >= 0) {
                r = exec_foreground(c, &p, &o, err);
        }
        berth_process_clear(&p);
        if (r < 0) {
                /* runc exits 255 when exec fails, whatever the reason */
                oci_print_error(*err);
                return 255;
        }
        return r;
}

const struct oci_command oci_cmd_exec = {
    .name = "exec",
    .summary = "execute new process inside the container",
    .usage = "[command options] <container-id> <command> [command options]  || -p "
             "process.json <container-id>",
    .description =
        OCI_HELP_ID "\nEXAMPLE:\n"
                    "For example, if the container is configured to run the linux ps command the\n"
                    "following will output a list of processes running in the container:\n\n"
                    "       # " OCI_PROG " exec <container-id> ps\n",
    .flags = flags,
    .n_flags = ARRAY_SIZE(flags),
    .min_args = 1,
    .max_args = 1 << 20,
    .flags_end_at_arg = true,
    .seals_binary = true,
    .run = cmd_exec,
};
