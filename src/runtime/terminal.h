/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "spec/spec.h"

/*
 * process.terminal: the container's init opens a new pty from the container's own devpts
 * (/dev/ptmx after pivot_root), makes the slave its controlling terminal and stdio, applies
 * consoleSize before the program starts, and hands the master to the client over the console
 * socket (SCM_RIGHTS), as runc does.
 */

/* Connects to the console socket at path (AF_UNIX, SOCK_STREAM). Done by the runtime before
 * clone, so a bad --console-socket fails `create` early. Paths longer than sun_path work (through
 * /proc/self/fd). The caller owns *ret_fd (O_CLOEXEC). Errors name the path; -ENOENT,
 * -ECONNREFUSED (nobody listening) and -ENOTSOCK are the usual ones. */
int berth_console_socket_connect(const char *path, int *ret_fd, struct berth_error **err);

/* In the init: opens /dev/ptmx, unlocks it, opens the slave, applies size (if w and h are not 0),
 * returns master and slave fds, and the slave's path ("/dev/pts/0") in ret_name (malloc'ed).
 * The slave comes from TIOCGPTPEER (Linux 4.13, no path lookup) or, on older kernels, from the
 * path, checked to be the master's peer. Both fds are O_CLOEXEC and owned by the caller.
 * -ERANGE when a size does not fit in 16 bits. */
int berth_pty_open(uint32_t width, uint32_t height, int *ret_master, int *ret_slave,
                   char **ret_name, struct berth_error **err);

/* Sends fd over the unix socket with SCM_RIGHTS, with `name` as the payload (runc sends the
 * pty name, clients ignore it; NULL sends one NUL byte). fd stays owned by the caller. */
int berth_send_fd(int sock, int fd, const char *name, struct berth_error **err);
/* Receives one fd sent by berth_send_fd(), O_CLOEXEC, owned by the caller; extra fds in the
 * message are closed. -ECONNRESET when the peer closed, -EBADMSG when no fd came. */
int berth_recv_fd(int sock, int *ret_fd, struct berth_error **err);

/* process.terminal, in the init and in an exec'd process: opens the pty with consoleSize applied
 * (before the program writes a byte), calls before_stdio(slave fd, name) if given (the init binds
 * the slave on /dev/console), makes the slave the controlling terminal and stdio, and hands the
 * master to *console_fd (closed after) or, without one, to the runtime on sync_fd as SYNC_PTY.
 * Does nothing without process.terminal. */
int berth_pty_setup(const struct berth_process *p,
                    int (*before_stdio)(int slave, const char *name, struct berth_error **err),
                    int *console_fd, int sync_fd, struct berth_error **err);

/* In the init: setsid, TIOCSCTTY on the slave, dup2 it onto 0, 1, 2 (without O_CLOEXEC, also
 * when slave is one of them). The caller still owns `slave` and closes it if it is above 2. */
int berth_pty_become_stdio(int slave, struct berth_error **err);

/*
 * The foreground `run` with a terminal and no --console-socket: puts our stdin in raw mode (if a
 * tty), copies stdin -> master and master -> stdout until the master hangs up (EIO: every slave fd
 * is closed) or `stop_fd` (a pidfd or signalfd, or -1 for none) becomes readable, after reading
 * what output is left. Our terminal's size is copied to the master at start and on each SIGWINCH
 * (received through a signalfd while SIGWINCH is blocked; the old mask is restored). stdin EOF
 * only stops the copy in that direction. If stdout fails, output is discarded with a warning so
 * the container never blocks on a full pty. The terminal mode and the master's flags are
 * restored. stop_fd is not read. Returns 0 or -errno.
 */
int berth_pty_relay(int master, int stop_fd, struct berth_error **err);
