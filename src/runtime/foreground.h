/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Staying in the foreground with a container's process, as `runc run` and `runc exec` do: every
 * catchable signal is forwarded to it, its pty (if the caller got one) is relayed to our stdin /
 * stdout with the window size kept in step, other children are reaped (the caller may be a
 * subreaper), and the process's wait status is returned.
 *
 *   berth_foreground_begin()   before the process exists: blocks the forwarded signals so that
 *                              none is lost (children reset their mask before exec)
 *   berth_foreground_wait()    relays and waits until the process exits
 *   berth_foreground_end()     restores the signal mask and the terminal
 */

#include <stdbool.h>
#include <sys/types.h>

#include "base/error.h"

struct berth_foreground;

int berth_foreground_begin(struct berth_foreground **ret, struct berth_error **err);
/* pidfd may be -1 (then pid is polled with waitid); pty_master -1 when there is no terminal to
 * relay. The returned status is waitpid()'s. The process is reaped. */
int berth_foreground_wait(struct berth_foreground *f, pid_t pid, int pidfd, int pty_master,
                          int *ret_status, struct berth_error **err);
void berth_foreground_end(struct berth_foreground *f);

/* 128+n for a signal, the exit code otherwise (runc's and docker's convention). */
int berth_exit_code(int wait_status);

static inline void berth_foreground_endp(struct berth_foreground **f)
{
        berth_foreground_end(*f);
        *f = NULL;
}
#define _autoforeground_ __attribute__((cleanup(berth_foreground_endp)))
