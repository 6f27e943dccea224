/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The resident part of a detached container's monitor (engine-monitor.h): while the container
 * runs, `berth-monitor` is only this: it relays the container's stdout and stderr (or its pty)
 * into the container's log (ctr-log.h) and to the attached clients (engine-attach.h), their
 * input to the container's stdin, reaps what the container leaves behind (it is a child
 * subreaper, and the init's parent) and returns the init's wait status. It uses base/ and the
 * log writer only, so that the process that stays for the container's whole life is small;
 * creating, starting and recording the end are done by the `berth` binary before and after it
 * (the same process: each stage execs the next).
 */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * The healthcheck's timer (engine-health.h): the watcher runs the health stage, its child, one
 * interval after the start and then one interval after the end of each check (during the start
 * period, while the status is "starting", one start interval), never two at once; the stage's
 * exit code is the status after it. The stage runs in a process group of its own, which is
 * killed at the container's end.
 */
struct berth_watch_health {
        uint64_t interval_ms; /* 0: no healthcheck */
        uint64_t start_period_ms, start_interval_ms;
};

/* The health stage's exit codes (any other: a failure of its own, the timer goes on). */
enum {
        BERTH_HEALTH_EXIT_STARTING = 0,
        BERTH_HEALTH_EXIT_HEALTHY = 1,
        BERTH_HEALTH_EXIT_UNHEALTHY = 2,
        BERTH_HEALTH_EXIT_NONE = 3,    /* no check (any more): the timer stops */
        BERTH_HEALTH_EXIT_SKIPPED = 4, /* paused, or ending: nothing was recorded */
};

struct berth_watch {
        const char *dir;        /* the container's dir: the log is <dir>/ctr.log */
        const char *log_driver; /* "k8s-file", or "none": no log */
        uint64_t log_max_size;  /* 0: no rotation */
        unsigned log_max_file;
        pid_t pid;          /* the container's init: our child */
        bool tty;           /* out_fd is the pty's master: stdin and window size too */
        int out_fd, err_fd; /* read ends (with -t: out_fd the pty's master, err_fd -1) */
        int in_fd;          /* -i without -t: the container's stdin pipe's write end; or -1 */
        int listen_fd;      /* the attach socket (engine-attach.h), or -1 */
        int client_fd;      /* a client attached from the start (run -it), or -1 */
        struct berth_watch_health health;
        const char *health_exe;   /* the health stage: this binary (berth) ... */
        char *const *health_argv; /* ... with this argv (berth-monitor.h) */
};

/* Relays until both streams are over and the init has exited (then at most a short drain for
 * what its leftovers still write); returns the init's wait status (-1: lost). Log failures are
 * warnings: the container is never stopped for them. */
int berth_watch_run(const struct berth_watch *w);
