/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Attaching to a detached container (`berth attach`, `run -it`, `start -ai`): its monitor
 * (engine-watch.h) listens on <dir>/attach, a unix SOCK_SEQPACKET socket; each packet is one
 * type byte and its data:
 *
 *   monitor -> client  STDOUT, STDERR: the container's output (with -t one stream: STDOUT),
 *                      sent to every client attached, as it is written to the log;
 *   client -> monitor  STDIN: bytes for the container's stdin (a pipe with -i, the pty with -t);
 *                      STDIN_EOF: the client's stdin ended (the container's stdin pipe is closed,
 *                      as docker's StdinOnce); RESIZE: rows and columns, two uint16_t.
 *
 * The monitor closes every client once the container has exited and its output is drained: EOF
 * is the end (its exit code is then in the record: berth_ctr_wait). A `run -it` gets its client
 * before the container starts (a socketpair end handed to the monitor), so no output is lost.
 * The socket is reached through /proc/self/fd/N/attach (N: an O_PATH fd of the dir): a
 * container's dir may be longer than sun_path's 108 bytes.
 */

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"

#define BERTH_ATTACH_SOCK "attach"
#define BERTH_ATTACH_DATA_MAX 16384

enum berth_attach_type {
        BERTH_ATTACH_STDIN = 0,
        BERTH_ATTACH_STDOUT = 1,
        BERTH_ATTACH_STDERR = 2,
        BERTH_ATTACH_STDIN_EOF = 3,
        BERTH_ATTACH_RESIZE = 4,
};

/* bind (listen, the monitor) or connect (a client) to <dir>/attach; ret: the socket. */
int berth_attach_listen(const char *dir, int *ret_fd, struct berth_error **err);
int berth_attach_connect(const char *dir, int *ret_fd, struct berth_error **err);

#define BERTH_DETACH_KEYS_MAX 16
#define BERTH_DETACH_KEYS_DEFAULT "ctrl-p,ctrl-q"

/* docker's --detach-keys: "ctrl-p,ctrl-q", "a,ctrl-@"...: the bytes (at most 16); "" none. */
int berth_detach_keys_parse(const char *s, unsigned char *ret, size_t *ret_n,
                            struct berth_error **err);

struct berth_attach_opts {
        bool tty;                                    /* the container has a terminal */
        bool in;                                     /* relay our stdin (-i) */
        unsigned char detach[BERTH_DETACH_KEYS_MAX]; /* typed on stdin: detach */
        size_t n_detach;
        /* --sig-proxy (without a terminal): the signals we get, to the container; NULL: none */
        void (*proxy)(int sig, void *userdata);
        void *userdata;
};

/* Relays until the container's end (0) or the detach keys (1). With a terminal on both sides,
 * ours is in raw mode meanwhile and its size follows our window. */
int berth_attach_relay(int sock, const struct berth_attach_opts *o, struct berth_error **err);
