/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * The create handshake between the runtime (parent) and the container's init (child), over a
 * SOCK_SEQPACKET socketpair so every message arrives whole:
 *
 *   parent                                   init
 *   clone3 ------------------------------->  (in its new namespaces)
 *                          <--------------- TIMENS  (only with a new time namespace: made)
 *   uid/gid maps, time offsets,
 *   oom_score_adj written; GO(pid) ------->  setresuid(0); setns; unshare cgroup; rootfs
 *                          <--------------- MOUNT_SOURCE(i)  (a bind source it may not open)
 *   clone it on the host side: MOUNT_SOURCE(fd) -->
 *                          <--------------- HOOKS   (only if prestart/createRuntime hooks exist)
 *   run them; HOOKS_DONE ----------------->  createContainer hooks, pivot_root, pty, finalize,
 *                          <--------------- PTY (fd)  (foreground run with a terminal)
 *                          <--------------- CREATED  (user, caps, cwd, program found)
 *   state.json, pid file; ACK ------------>  clear PDEATHSIG
 *                          <--------------- DETACHED; block on exec.fifo
 *   exit                                     (start: its answer on exec.status, see state.h)
 *
 * Any step of the init that fails sends ERROR(code, message) and exits. Its warnings and --debug
 * trace lines travel as LOG(level, line) until DETACHED: the init holds no fd of the runtime's log
 * (a host file), and sync_recv() hands them to the runtime's own log handler. The init dies with
 * its parent until ACK (PR_SET_PDEATHSIG), so a killed `create` leaves no orphan behind; create
 * waits for DETACHED because its own exit would otherwise kill an init that has not yet cleared it.
 */

#include <stdint.h>

#include "base/error.h"

enum sync_type {
        SYNC_GO = 1,
        SYNC_HOOKS,
        SYNC_HOOKS_DONE,
        SYNC_PTY,
        SYNC_CREATED,
        SYNC_ACK,
        SYNC_DETACHED,
        SYNC_ERROR,
        SYNC_LOG,
        SYNC_TIMENS, /* the init has made its time namespace: the runtime writes the offsets */
        SYNC_MOUNT_SOURCE, /* init: code = i of mounts[i], a bind source it may not open;
                            * runtime: the same type with the detached clone's fd, or ERROR */
};

struct sync_msg {
        uint32_t type;
        int32_t code;    /* errno for ERROR, the init's host pid for GO, the level for LOG */
        char text[3800]; /* the error message for ERROR, the line for LOG */
};

/* Sends a message, with fd attached (SCM_RIGHTS) when fd >= 0. */
int sync_send(int sock, uint32_t type, int32_t code, const char *text, int fd);
/* Receives one message; a received fd lands in *ret_fd (if ret_fd, else it is closed). LOG
 * messages are passed to berth_log() and skipped. Returns 0, -EPIPE on EOF, or -errno. */
int sync_recv(int sock, struct sync_msg *m, int *ret_fd);
/* Receives one message and requires it to be `type`; an ERROR message becomes err. */
int sync_expect(int sock, uint32_t type, const char *what, struct berth_error **err);

/* In a child of the runtime (the init, an exec child): sends its warnings and trace lines to the
 * runtime as LOG messages on sock; with sock < 0, warnings go to stderr (the container's) and
 * trace lines are dropped. */
void sync_forward_logs(int sock);
