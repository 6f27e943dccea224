/* SPDX-License-Identifier: Apache-2.0 */
/*
 * checkpoint / restore: CRIU's job. Before anything else the host is asked whether CRIU can work
 * at all (`criu check`, "criu" found through $PATH; runc's --criu is accepted and ignored):
 *   - no criu: "checkpoint is not supported on this host: criu is not installed (no criu in
 *     PATH=/usr/sbin:/usr/bin)";
 *   - a kernel CRIU cannot handle: its own reason, e.g. "checkpoint is not supported on this
 *     host: criu check failed: Error (criu/vdso.c:381): vdso: Unexpected rt vDSO area bounds".
 * Where CRIU works, berth-oci does not drive it yet, and says so.
 */
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>

#include "oci.h"
#include "base/util.h"

/* runc's flags, accepted so that the error is about CRIU, not about a flag. */
static const struct oci_flag checkpoint_flags[] = {
    {"image-path", 0, true, "path for saving criu image files", false},
    {"work-path", 0, true, "path for saving work files and logs", false},
    {"parent-path", 0, true, "path for previous criu image files in pre-dump", false},
    {"leave-running", 0, false, "leave the process running after checkpointing", false},
    {"tcp-established", 0, false, "allow open tcp connections", false},
    {"ext-unix-sk", 0, false, "allow external unix sockets", false},
    {"shell-job", 0, false, "allow shell jobs", false},
    {"lazy-pages", 0, false, "use userfaultfd to lazily restore memory pages", false},
    {"status-fd", 0, true, "criu writes \\0 to this FD once lazy-pages is ready", false},
    {"page-server", 0, true, "ADDRESS:PORT of the page server", false},
    {"file-locks", 0, false, "handle file locks, for safety", false},
    {"pre-dump", 0, false, "dump container's memory information only, leave the container running",
     false},
    {"manage-cgroups-mode", 0, true, "cgroups mode: soft|full|strict|ignore", false},
    {"empty-ns", 0, true, "create a namespace, but don't restore its properties", true},
    {"auto-dedup", 0, false, "enable auto deduplication of memory images", false},
};

static const struct oci_flag restore_flags[] = {
    {"console-socket", 0, true, OCI_USAGE_CONSOLE_SOCKET, false},
    {"image-path", 0, true, "path to criu image files for restoring", false},
    {"work-path", 0, true, "path for saving work files and logs", false},
    {"tcp-established", 0, false, "allow open tcp connections", false},
    {"ext-unix-sk", 0, false, "allow external unix sockets", false},
    {"shell-job", 0, false, "allow shell jobs", false},
    {"file-locks", 0, false, "handle file locks, for safety", false},
    {"manage-cgroups-mode", 0, true, "cgroups mode: soft|full|strict|ignore", false},
    {"bundle", 'b', true, OCI_USAGE_BUNDLE, false},
    {"detach", 'd', false, "detach from the container's process", false},
    {"pid-file", 0, true, OCI_USAGE_PID_FILE, false},
    {"no-subreaper", 0, false, "disable the use of the subreaper used to reap reparented processes",
     false},
    {"no-pivot", 0, false, OCI_USAGE_NO_PIVOT, false},
    {"empty-ns", 0, true, "create a namespace, but don't restore its properties", true},
    {"auto-dedup", 0, false, "enable auto deduplication of memory images", false},
    {"lazy-pages", 0, false, "use userfaultfd to lazily restore memory pages", false},
    {"lsm-profile", 0, true, "Specify an LSM profile to be used during restore", false},
    {"lsm-mount-context", 0, true, "Specify an LSM mount context to be used during restore", false},
};

/* The first line criu printed that says "Error" (the cause; later ones are consequences),
 * else its last line. */
static char *criu_reason(const char *out)
{
        const char *best = NULL, *last = NULL;

        for (const char *l = out; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
                if (*l == '\n')
                        continue;
                last = l;
                if (!best && startswith(l, "Error"))
                        best = l;
        }
        best = best ? best : last;
        return best ? strndup(best, strcspn(best, "\n")) : xstrdup("no output");
}

/* Runs `criu check`; 0 when CRIU can work here, else -ENOTSUP with its reason. */
static int criu_check(const char *what, struct berth_error **err)
{
        char *argv[] = {(char *) "criu", (char *) "check", NULL};
        posix_spawn_file_actions_t fa;
        _autoclose_ int out = -EBADF;
        _autofree_ char *text = NULL, *reason = NULL;
        int pipefd[2], status = 0, r;
        pid_t pid;

        if (pipe2(pipefd, O_CLOEXEC) < 0)
                return berth_error_set(err, errno, "%s: pipe", what);
        out = pipefd[0];
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
        posix_spawn_file_actions_adddup2(&fa, pipefd[1], 2);
        r = posix_spawnp(&pid, "criu", &fa, NULL, argv, environ);
        posix_spawn_file_actions_destroy(&fa);
        close(pipefd[1]);
        if (r == ENOENT)
                return berth_error_setx(err, ENOTSUP,
                                        "%s is not supported on this host: criu is "
                                        "not installed (no criu in PATH=%s)",
                                        what, getenv("PATH") ? getenv("PATH") : "(unset)");
        if (r != 0)
                return berth_error_set(err, r, "%s is not supported on this host: run criu", what);
        (void) berth_read_fd(out, "criu check", 1u << 20, &text, NULL, NULL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
                return 0;
        reason = criu_reason(text ? text : "");
        return berth_error_setx(err, ENOTSUP,
                                "%s is not supported on this host: criu check "
                                "failed: %s",
                                what, reason);
}

static int cmd_criu(const char *what, struct berth_error **err)
{
        int r = criu_check(what, err);

        if (r < 0)
                return r;
        return berth_error_setx(
            err, ENOTSUP, "%s: CRIU works on this host, but " OCI_PROG " does not drive it yet",
            what);
}

static int cmd_checkpoint(const struct oci_global *g, const struct oci_args *a,
                          struct berth_error **err)
{
        return cmd_criu("checkpoint", err);
}

static int cmd_restore(const struct oci_global *g, const struct oci_args *a,
                       struct berth_error **err)
{
        return cmd_criu("restore", err);
}

const struct oci_command oci_cmd_checkpoint = {
    .name = "checkpoint",
    .summary = "checkpoint a running container",
    .usage = "[command options] <container-id>",
    .description = OCI_HELP_ID,
    .flags = checkpoint_flags,
    .n_flags = ARRAY_SIZE(checkpoint_flags),
    .min_args = 1,
    .max_args = 1,
    .run = cmd_checkpoint,
};

const struct oci_command oci_cmd_restore = {
    .name = "restore",
    .summary = "restore a container from a previous checkpoint",
    .usage = "[command options] <container-id>",
    .description = OCI_HELP_ID,
    .flags = restore_flags,
    .n_flags = ARRAY_SIZE(restore_flags),
    .min_args = 1,
    .max_args = 1,
    .run = cmd_restore,
};
