/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A command on several containers (stop, restart, ...) acts on all of them at once, as docker's
 * CLI does: one child process per container, so `stop -t 10` of fifty takes ten seconds, not
 * five hundred. The results come out in argument order: each name, or its error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "berth.h"
#include "base/util.h"

/* Children running at once, at most (each mostly waits). */
#define MAX_AT_ONCE 128

struct child {
        pid_t pid;
        int fd; /* the child's error message, read to EOF */
};

static void child_run(struct berth_global *g, const char *what, berth_each_fn fn, void *userdata,
                      int fd)
{
        _autoerr_ struct berth_error *e = NULL;

        if (fn(g, what, userdata, &e) >= 0)
                _exit(0);
        if (e && e->msg)
                (void) !write(fd, e->msg, strlen(e->msg));
        _exit(1);
}

static int start_child(struct berth_global *g, const char *what, berth_each_fn fn, void *userdata,
                       struct child *ret, struct berth_error **err)
{
        int p[2];

        if (pipe2(p, O_CLOEXEC) < 0)
                return berth_error_set(err, errno, "pipe for '%s'", what);
        fflush(stdout);
        fflush(stderr);
        ret->pid = fork();
        if (ret->pid < 0) {
                int r = berth_error_set(err, errno, "fork for '%s'", what);

                close(p[0]);
                close(p[1]);
                return r;
        }
        if (ret->pid == 0) {
                close(p[0]);
                child_run(g, what, fn, userdata, p[1]);
        }
        close(p[1]);
        ret->fd = p[0];
        return 0;
}

/* Waits for the child of `what` and prints its outcome. Returns 0 or BERTH_EXIT_FAILED. */
static int finish_child(const char *what, struct child *c)
{
        char msg[4096];
        size_t len = 0;
        ssize_t n;
        int status = 0;

        while (len < sizeof(msg) - 1 && ((n = read(c->fd, msg + len, sizeof(msg) - 1 - len)) > 0 ||
                                         (n < 0 && errno == EINTR)))
                len += n > 0 ? (size_t) n : 0;
        msg[len] = '\0';
        close(c->fd);
        while (waitpid(c->pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
                printf("%s\n", what);
                fflush(stdout);
                return 0;
        }
        fprintf(stderr, BERTH_PROG ": %s\n", len ? msg : "failed (the worker process was killed)");
        return BERTH_EXIT_FAILED;
}

int berth_each(struct berth_global *g, char *const *whats, int n, berth_each_fn fn, void *userdata)
{
        _autofree_ struct child *kids = calloc(n > 0 ? n : 1, sizeof(*kids));
        int rc = 0;

        if (n == 1) { /* no child for one */
                _autoerr_ struct berth_error *e = NULL;

                if (fn(g, whats[0], userdata, &e) < 0)
                        return berth_print_failure(e);
                printf("%s\n", whats[0]);
                return 0;
        }
        if (!kids) {
                fprintf(stderr, BERTH_PROG ": %s\n", strerror(ENOMEM));
                return BERTH_EXIT_ENGINE;
        }
        for (int i = 0, done = 0; done < n;) {
                _autoerr_ struct berth_error *e = NULL;

                if (i < n && i - done < MAX_AT_ONCE) {
                        if (start_child(g, whats[i], fn, userdata, &kids[i], &e) < 0) {
                                kids[i].pid = -1;
                                kids[i].fd = -1;
                                fprintf(stderr, BERTH_PROG ": %s\n", e->msg);
                                rc = BERTH_EXIT_FAILED;
                        }
                        i++;
                        continue;
                }
                if (kids[done].pid > 0 && finish_child(whats[done], &kids[done]))
                        rc = BERTH_EXIT_FAILED;
                done++;
        }
        return rc;
}
