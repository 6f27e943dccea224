/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <sys/socket.h>

#include "base/log.h"
#include "runtime/sync.h"
#include "base/util.h"

int sync_send(int sock, uint32_t type, int32_t code, const char *text, int fd)
{
        struct sync_msg m = {.type = type, .code = code};
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } ctl = {0};
        struct iovec iov = {.iov_base = &m, .iov_len = sizeof(m)};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

        if (text)
                snprintf(m.text, sizeof(m.text), "%s", text);
        if (fd >= 0) {
                mh.msg_control = ctl.buf;
                mh.msg_controllen = sizeof(ctl.buf);
                ctl.h.cmsg_level = SOL_SOCKET;
                ctl.h.cmsg_type = SCM_RIGHTS;
                ctl.h.cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(&ctl.h), &fd, sizeof(int));
        }
        while (sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
                if (errno != EINTR)
                        return -errno;
        return 0;
}

static int recv_one(int sock, struct sync_msg *m, int *ret_fd)
{
        union {
                struct cmsghdr h;
                char buf[CMSG_SPACE(sizeof(int))];
        } ctl;
        struct iovec iov = {.iov_base = m, .iov_len = sizeof(*m)};
        struct msghdr mh = {.msg_iov = &iov,
                            .msg_iovlen = 1,
                            .msg_control = ctl.buf,
                            .msg_controllen = sizeof(ctl.buf)};
        ssize_t n;

        do
                n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
        while (n < 0 && errno == EINTR);
        if (n < 0)
                return -errno;
        if (n == 0)
                return -EPIPE;
        if ((size_t) n < offsetof(struct sync_msg, text))
                return -EBADMSG;
        m->text[sizeof(m->text) - 1] = '\0';
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
                int fd;

                if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
                        continue;
                memcpy(&fd, CMSG_DATA(c), sizeof(int));
                if (ret_fd)
                        *ret_fd = fd;
                else
                        close(fd);
        }
        return 0;
}

int sync_recv(int sock, struct sync_msg *m, int *ret_fd)
{
        for (;;) {
                int r = recv_one(sock, m, ret_fd);

                if (r < 0 || m->type != SYNC_LOG)
                        return r;
                berth_log((enum berth_log_level) m->code, "%s", m->text);
        }
}

int sync_expect(int sock, uint32_t type, const char *what, struct berth_error **err)
{
        struct sync_msg m;
        int r = sync_recv(sock, &m, NULL);

        if (r == -EPIPE)
                return berth_error_setx(err, EPIPE, "%s: the other side of the handshake exited",
                                        what);
        if (r < 0)
                return berth_error_set(err, -r, "%s: receive", what);
        if (m.type == SYNC_ERROR)
                return berth_error_setx(err, m.code, "%s", m.text);
        if (m.type != type)
                return berth_error_setx(err, EPROTO, "%s: unexpected message %u", what, m.type);
        return 0;
}

static int log_sock = -1;

static void forward_log(enum berth_log_level level, const char *msg, void *userdata)
{
        if (log_sock >= 0) {
                sync_send(log_sock, SYNC_LOG, (int32_t) level, msg, -1);
        } else if (level <= BERTH_LOG_WARN) {
                _autofree_ char *line =
                    xasprintf("%s: warning: %s\n", program_invocation_short_name, msg);

                (void) !write(STDERR_FILENO, line, strlen(line));
        }
}

void sync_forward_logs(int sock)
{
        log_sock = sock;
        berth_log_set_handler(forward_log, NULL);
}
