/* SPDX-License-Identifier: Apache-2.0 */
/*
 * exec and top of the engine's running containers: the exec process built from the container's
 * config.json and the exec's flags, run through libberth's runtime exec in the foreground or
 * under a keeper (-d); the pids of a container for top.
 */
#include <fcntl.h>
#include <poll.h>
#include <sys/capability.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "base/util.h"
#include "engine/engine-exec.h"
#include "engine/engine-run.h"
#include "engine/engine.h"
#include "runtime/container.h"
#include "runtime/exec.h"
#include "runtime/foreground.h"
#include "spec/spec.h"

/* docker's default PATH (moby oci.DefaultPathEnv), as engine-spec.c gives the container. */
#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* docker's exit code for a refused exec (the daemon's answer, the CLI's 1). */
#define EXIT_REFUSED 1

static int not_running(const struct berth_ctr *c, struct berth_error **err)
{
        return berth_error_setx(err, ESRCH, "container %s is not running", c->id);
}

/* The runtime state of a running container (not paused: docker refuses an exec into one). */
static int load_running(struct berth_ctr *c, const char *runroot, struct berth_container **ret,
                        struct berth_error **err)
{
        _autocontainer_ struct berth_container *lc = NULL;

        berth_ctr_refresh(c, runroot);
        if (!streq_ptr(c->status, "running") || berth_container_load(runroot, c->id, &lc, NULL) < 0)
                return not_running(c, err);
        berth_container_observe(lc);
        if (lc->status == BERTH_STATUS_PAUSED)
                return berth_error_setx(
                    err, EBUSY, "container %s is paused, unpause the container before exec", c->id);
        if (lc->status != BERTH_STATUS_RUNNING)
                return not_running(c, err);
        *ret = steal_ptr(&lc);
        return 0;
}

/* ---- the process ------------------------------------------------------------------------- */

static size_t env_key_len(const char *e)
{
        const char *eq = strchr(e, '=');

        return eq ? (size_t) (eq - e) : strlen(e);
}

static const char *env_lookup(char *const *envp, const char *key)
{
        size_t k = strlen(key);

        for (; envp && *envp; envp++)
                if (strncmp(*envp, key, k) == 0 && (*envp)[k] == '=')
                        return *envp + k + 1;
        return NULL;
}

/* docker's ReplaceOrAppendEnvValues: "K=V" replaces K or is appended; a bare "K" removes K. */
static void env_merge(char ***env, size_t *n, const char *e)
{
        char **v = *env;
        size_t k = env_key_len(e), i;

        for (i = 0; i < *n; i++)
                if (env_key_len(v[i]) == k && strncmp(v[i], e, k) == 0)
                        break;
        if (!strchr(e, '=')) {
                if (i < *n) {
                        free(v[i]);
                        memmove(v + i, v + i + 1, (*n - i) * sizeof(*v));
                        (*n)--;
                }
                return;
        }
        if (i < *n) {
                free(v[i]);
                v[i] = xstrdup(e);
                return;
        }
        strv_push(env, n, xstrdup(e));
}

/* docker's exec environment (moby CreateDaemonEnvironment + ReplaceOrAppendEnvValues): the
 * daemon's PATH, HOSTNAME and, with the exec's -t only, TERM; the container's Env; the exec's. */
static char **exec_env(const struct berth_ctr *c, const struct berth_exec_config *o)
{
        _autofree_ char *host = xasprintf("HOSTNAME=%s", c->hostname ? c->hostname : "");
        char **env = NULL;
        size_t n = 0;

        env_merge(&env, &n, DEFAULT_PATH);
        env_merge(&env, &n, host);
        if (o->tty)
                env_merge(&env, &n, "TERM=xterm");
        for (char **e = c->env; e && *e; e++)
                env_merge(&env, &n, *e);
        for (char *const *e = o->env; e && *e; e++) {
                const char *v = strchr(*e, '=') ? NULL : env_lookup(o->envp, *e);
                _autofree_ char *kv = v ? xasprintf("%s=%s", *e, v) : NULL;

                env_merge(&env, &n, kv ? kv : *e);
        }
        if (!env)
                env = xcalloc(1, sizeof(*env));
        return env;
}

/* -u USER[:GROUP] in the container's /etc/passwd and /etc/group (its rootfs as mounted for
 * it), with the user's supplementary groups, as docker's exec resolves it. */
static int set_user(const struct berth_ctr *c, const char *user, struct berth_process *p,
                    struct berth_error **err)
{
        _autofree_ char *rootfs = xasprintf("%s/rootfs", c->dir);
        _autoclose_ int rootfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
        gid_t *groups = NULL;
        size_t n = 0;
        uid_t uid;
        gid_t gid;
        int r;

        if (rootfd < 0)
                return berth_error_set(err, errno, "open %s", rootfs);
        r = berth_user_resolve(rootfd, user, &uid, &gid, &groups, &n, err);
        if (r < 0)
                return r;
        p->uid = (uint32_t) uid;
        p->gid = (uint32_t) gid;
        free(p->additional_gids);
        p->additional_gids = xcalloc(n ? n : 1, sizeof(uint32_t));
        for (size_t i = 0; i < n; i++)
                p->additional_gids[i] = (uint32_t) groups[i];
        p->n_additional_gids = n;
        free(groups);
        return 0;
}

/* The capabilities berth holds (bounding and permitted): what a --privileged exec can get.
 * Every one the kernel has where berth runs as the host's root, as docker's "all". */
static uint64_t held_caps(void)
{
        struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
        struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {{0}};
        uint64_t set = 0;

        if (capget(&hdr, data) < 0)
                return 0;
        for (int cap = 0; cap <= berth_cap_last_cap() && cap < 64; cap++)
                if ((data[cap / 32].permitted & (UINT32_C(1) << (cap % 32))) &&
                    prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1)
                        set |= UINT64_C(1) << cap;
        return set;
}

/* The container's bounding set; effective and permitted for root only (a user other than root
 * holds them in the bounding set only, as engine-spec.c gives them to the container's process,
 * moby#36587); --privileged: everything berth holds, in all three (docker's exec). */
static void set_caps(struct berth_process *p, bool privileged)
{
        struct berth_caps *k = &p->caps;
        uint64_t set = privileged ? held_caps() : k->set[BERTH_CAP_BOUNDING];

        k->set[BERTH_CAP_BOUNDING] = set;
        k->set[BERTH_CAP_EFFECTIVE] = k->set[BERTH_CAP_PERMITTED] =
            privileged || p->uid == 0 ? set : 0;
        k->has[BERTH_CAP_BOUNDING] = k->has[BERTH_CAP_EFFECTIVE] = k->has[BERTH_CAP_PERMITTED] =
            true;
        p->has_caps = true;
}

/* The pty starts with our terminal's size, before the program can ask for it. */
static void set_console_size(struct berth_process *p)
{
        struct winsize ws;

        p->has_console_size = false;
        if ((ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) == 0 ||
             ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0) &&
            ws.ws_row && ws.ws_col) {
                p->has_console_size = true;
                p->console_height = ws.ws_row;
                p->console_width = ws.ws_col;
        }
}

/* The container's config.json process with the exec's changes. */
static int build_process(const struct berth_ctr *c, const struct berth_container *lc,
                         const struct berth_exec_config *o, struct berth_process *ret,
                         struct berth_error **err)
{
        _autospec_ struct berth_spec *spec = NULL;
        struct berth_process *p;
        int r;

        if (o->workdir && o->workdir[0] != '/')
                return berth_error_setx(err, EINVAL, "Cwd must be an absolute path: \"%s\"",
                                        o->workdir);
        r = berth_container_spec(lc, &spec, err);
        if (r < 0)
                return r;
        p = &spec->process;
        strv_free(p->args);
        p->args = xcalloc(strv_length(o->args) + 1, sizeof(char *));
        for (size_t i = 0; o->args[i]; i++)
                p->args[i] = xstrdup(o->args[i]);
        strv_free(p->env);
        p->env = exec_env(c, o);
        if (o->workdir) {
                free(p->cwd);
                p->cwd = xstrdup(o->workdir);
        }
        r = o->user ? set_user(c, o->user, p, err) : 0;
        if (r < 0)
                return r;
        set_caps(p, o->privileged);
        p->terminal = o->tty;
        if (o->tty && !o->detach)
                set_console_size(p);
        else
                p->has_console_size = false;
        *ret = *p;
        *p = (struct berth_process){0}; /* moved out */
        return 0;
}

/* ---- running it -------------------------------------------------------------------------- */

static int devnull_onto(int fd, struct berth_error **err)
{
        _autoclose_ int null = open("/dev/null", O_RDWR | O_CLOEXEC);

        if (null < 0)
                return berth_error_set(err, errno, "open /dev/null");
        if (dup2(null, fd) < 0)
                return berth_error_set(err, errno, "dup /dev/null onto fd %d", fd);
        return 0;
}

/* Whether the container's init still runs after at most wait_ms (its pidfd, checked against pid
 * reuse). */
static bool init_alive(struct berth_container *lc, int wait_ms)
{
        struct pollfd p = {.events = POLLIN};
        int r;

        if (berth_container_pidfd(lc, NULL) < 0)
                return false;
        p.fd = lc->pidfd;
        do
                r = poll(&p, 1, wait_ms);
        while (r < 0 && errno == EINTR);
        return r == 0;
}

/* How long a failed start waits to see whether the container is going away (a stop under way
 * kills the exec'd child, or its namespaces vanish: ESRCH, EPIPE), before it calls the failure
 * its own. */
#define STOPPING_WAIT_MS 500

/* docker's exit code for a process that could not be started (the runtime's 126/127 as they
 * are); a container that stopped meanwhile is "not running" (1), as docker answers then. */
static int start_failure(const struct berth_ctr *c, struct berth_container *lc, int failure,
                         struct berth_error **err)
{
        if (failure == BERTH_EXIT_CANNOT_EXEC || failure == BERTH_EXIT_NOT_FOUND)
                return failure;
        if (!init_alive(lc, STOPPING_WAIT_MS)) {
                berth_error_freep(err);
                not_running(c, err);
                return EXIT_REFUSED;
        }
        return BERTH_EXIT_CANNOT_EXEC;
}

static int run_foreground(const struct berth_ctr *c, struct berth_container *lc,
                          const struct berth_process *p, bool interactive, int *ret_code,
                          struct berth_error **err)
{
        _autoforeground_ struct berth_foreground *fg = NULL;
        struct berth_exec_opts eo = {.foreground_tty = true};
        struct berth_exec_result res;
        int failure = 0, status = 0, r;

        *ret_code = BERTH_EXIT_ENGINE;
        r = interactive ? 0 : devnull_onto(STDIN_FILENO, err);
        if (r >= 0)
                r = berth_foreground_begin(&fg, err);
        if (r < 0)
                return r;
        r = berth_container_exec(lc, p, &eo, &res, &failure, err);
        if (r < 0) {
                *ret_code = start_failure(c, lc, failure, err);
                return -(*err)->code;
        }
        r = berth_foreground_wait(fg, res.pid, res.pidfd, res.pty_master, &status, err);
        closep(&res.pidfd);
        closep(&res.pty_master);
        if (r < 0)
                return r;
        *ret_code = berth_exit_code(status);
        return 0;
}

/* The keeper's report: "0 " once the process runs, else "CODE MESSAGE". */
static void report(int fd, int code, const struct berth_error *e)
{
        _autofree_ char *msg = xasprintf("%d %s", code, e && e->msg ? e->msg : "");

        (void) write_all(fd, msg, strlen(msg));
        close(fd);
}

/* The keeper: in a session of its own (no terminal signal of the caller's reaches it), its
 * stdio /dev/null (the process's, or the pty it drains), none of the caller's fds; it starts
 * the process, reports, and waits for it, reaping it the moment it exits. */
static void __attribute__((noreturn)) keeper_main(const struct berth_ctr *c, const char *runroot,
                                                  const struct berth_process *p, int report_fd)
{
        _autoforeground_ struct berth_foreground *fg = NULL;
        _autocontainer_ struct berth_container *lc = NULL;
        _autoerr_ struct berth_error *e = NULL;
        struct berth_exec_opts eo = {.foreground_tty = true};
        struct berth_exec_result res;
        int failure = 0, status, r = 0;

        berth_close_fds_from(3, &report_fd, 1);
        for (int fd = 0; fd < 3 && r >= 0; fd++)
                r = devnull_onto(fd, &e);
        if (r >= 0 && chdir("/") < 0)
                r = berth_error_set(&e, errno, "chdir /");
        if (r >= 0)
                r = berth_foreground_begin(&fg, &e);
        if (r < 0) {
                report(report_fd, BERTH_EXIT_ENGINE, e);
                _exit(BERTH_EXIT_ENGINE);
        }
        if (berth_container_load(runroot, c->id, &lc, NULL) < 0) {
                not_running(c, &e);
                report(report_fd, EXIT_REFUSED, e);
                _exit(EXIT_REFUSED);
        }
        r = berth_container_exec(lc, p, &eo, &res, &failure, &e);
        if (r < 0) {
                int code = start_failure(c, lc, failure, &e);

                report(report_fd, code, e);
                _exit(code);
        }
        report(report_fd, 0, NULL);
        (void) berth_foreground_wait(fg, res.pid, res.pidfd, res.pty_master, &status, NULL);
        _exit(0);
}

/* The keeper's report, "CODE MESSAGE": 0 and *ret_code 0 once the process runs. */
static int read_report(int fd, int *ret_code, struct berth_error **err)
{
        _autofree_ char *text = NULL;
        char *end = NULL;
        long code;

        *ret_code = BERTH_EXIT_ENGINE;
        if (berth_read_fd(fd, "the exec keeper's report", 65536, &text, NULL, NULL) < 0 || !*text)
                return berth_error_setx(err, EPIPE, "the exec keeper exited without a report");
        code = strtol(text, &end, 10);
        if (end == text || *end != ' ' || code < 0 || code > 255)
                return berth_error_setx(err, EBADMSG, "the exec keeper's report: \"%s\"", text);
        *ret_code = (int) code;
        if (code == 0)
                return 0;
        return berth_error_setx(err, code == EXIT_REFUSED ? ESRCH : EIO, "%s", end + 1);
}

/* Detached: the keeper is not our child (double fork), so that we return at once and it is
 * reaped by whoever reaps our orphans. */
static int run_detached(const struct berth_ctr *c, const char *runroot,
                        const struct berth_process *p, int *ret_code, struct berth_error **err)
{
        _autoclose_ int rd = -EBADF, wr = -EBADF;
        int fds[2];
        pid_t pid;

        *ret_code = BERTH_EXIT_ENGINE;
        if (pipe2(fds, O_CLOEXEC) < 0)
                return berth_error_set(err, errno, "pipe for the exec keeper's report");
        rd = fds[0];
        wr = fds[1];
        pid = fork();
        if (pid < 0)
                return berth_error_set(err, errno, "fork the exec keeper");
        if (pid == 0) {
                closep(&rd);
                if (setsid() < 0 || fork() != 0)
                        _exit(0);
                keeper_main(c, runroot, p, wr);
        }
        closep(&wr);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
                ;
        return read_report(rd, ret_code, err);
}

int berth_ctr_exec(struct berth_ctr *c, const char *runroot, const struct berth_exec_config *o,
                   int *ret_code, struct berth_error **err)
{
        _autocontainer_ struct berth_container *lc = NULL;
        struct berth_process p = {0};
        int r;

        *ret_code = EXIT_REFUSED;
        r = load_running(c, runroot, &lc, err);
        if (r < 0)
                return r;
        *ret_code = BERTH_EXIT_CANNOT_EXEC;
        r = build_process(c, lc, o, &p, err);
        if (r < 0)
                return r;
        if (o->detach)
                r = run_detached(c, runroot, &p, ret_code, err);
        else
                r = run_foreground(c, lc, &p, o->interactive, ret_code, err);
        berth_process_clear(&p);
        return r;
}

/* ---- --env-file ------------------------------------------------------------------------ */

static bool is_utf8(const unsigned char *s, size_t n)
{
        size_t i = 0;

        while (i < n) {
                unsigned char b = s[i];
                size_t len = b < 0x80         ? 1
                             : (b >> 5) == 6  ? 2
                             : (b >> 4) == 14 ? 3
                             : (b >> 3) == 30 ? 4
                                              : 0;

                if (!len || i + len > n || (len == 2 && b < 0xc2) || (len == 4 && b > 0xf4))
                        return false;
                for (size_t k = 1; k < len; k++)
                        if ((s[i + k] & 0xc0) != 0x80)
                                return false;
                i += len;
        }
        return true;
}

/* One line of an env file (docker's parseKeyValueFile); appends what it defines. */
static int env_file_line(const char *path, char *line, size_t lineno, char *const *envp,
                         char ***env, size_t *n, struct berth_error **err)
{
        char *key = line + strspn(line, " \t\n\v\f\r"), *eq;
        _autofree_ char *whole = xstrdup(key);
        const char *v;

        if (!is_utf8((const unsigned char *) line, strlen(line)))
                return berth_error_setx(err, EINVAL,
                                        "env file %s contains invalid utf8 bytes at line %zu", path,
                                        lineno);
        if (!*key || *key == '#')
                return 0;
        eq = strchr(key, '=');
        if (eq)
                *eq++ = '\0';
        if (key[strcspn(key, " \t")])
                return berth_error_setx(err, EINVAL,
                                        "invalid env file (%s): variable '%s' contains "
                                        "whitespaces",
                                        path, key);
        if (!*key)
                return berth_error_setx(err, EINVAL,
                                        "invalid env file (%s): no variable name on line '%s'",
                                        path, whole);
        if (eq)
                strv_push(env, n, xasprintf("%s=%s", key, eq));
        else if ((v = env_lookup(envp, key)))
                strv_push(env, n, xasprintf("%s=%s", key, v));
        return 0;
}

int berth_env_file_read(const char *path, char *const *envp, char ***env, size_t *n_env,
                        struct berth_error **err)
{
        _autofree_ char *text = NULL;
        size_t len = 0, lineno = 0;
        char *line;
        int r;

        r = berth_read_file_at(AT_FDCWD, path, 16u << 20, &text, &len, err);
        if (r < 0)
                return r;
        if (strlen(text) != len)
                return berth_error_setx(err, EINVAL, "env file %s contains a NUL byte", path);
        line = startswith(text, "\xef\xbb\xbf") ? text + 3 : text;
        for (char *next; line; line = next) {
                size_t l;

                next = strchr(line, '\n');
                if (next)
                        *next++ = '\0';
                l = strlen(line);
                if (l && line[l - 1] == '\r') /* bufio.ScanLines drops it */
                        line[l - 1] = '\0';
                r = env_file_line(path, line, ++lineno, envp, env, n_env, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ---- top --------------------------------------------------------------------------------- */

int berth_ctr_pids(struct berth_ctr *c, const char *runroot, pid_t **ret, size_t *ret_n,
                   struct berth_error **err)
{
        _autocontainer_ struct berth_container *lc = NULL;
        int r;

        berth_ctr_refresh(c, runroot);
        if (!streq_ptr(c->status, "running") ||
            berth_container_load(runroot, c->id, &lc, NULL) < 0 ||
            lc->status == BERTH_STATUS_STOPPED)
                return not_running(c, err);
        r = berth_container_pids(lc, ret, ret_n, err);
        if (r < 0)
                return berth_error_prefix(err, "container %s", c->id);
        return 0;
}
