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
};

/* Relays until both streams are over and the init has exited (then at most a short drain for
 * what its leftovers still write); returns the init's wait status (-1: lost). Log failures are
 * warnings: the container is never stopped for them. */
int berth_watch_run(const struct berth_watch *w);
