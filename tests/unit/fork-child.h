/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Runs a test step in a forked child, for steps that change the process for good (caps, seccomp,
 * uid, rlimits). The child must not use cmocka's asserts (they would longjmp into the child's copy
 * of the runner): it returns 0 for success or a small number that says which check failed, and
 * may send one message (an error text) back to the parent through `msg_fd`.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef int (*child_fn)(int msg_fd, void *arg);

/* Returns the child's exit status, or 128 + signal number; copies its message into msg. */
static inline int run_in_child(child_fn fn, void *arg, char *msg, size_t msg_size)
{
        int p[2], status = 0;
        size_t len = 0;
        pid_t pid;

        if (pipe2(p, O_CLOEXEC) < 0)
                return -1;
        pid = fork();
        if (pid < 0)
                return -1;
        if (pid == 0) {
                close(p[0]);
                _exit(fn(p[1], arg));
        }
        close(p[1]);
        while (msg && len + 1 < msg_size) {
                ssize_t n = read(p[0], msg + len, msg_size - len - 1);

                if (n <= 0)
                        break;
                len += (size_t) n;
        }
        if (msg)
                msg[len] = '\0';
        close(p[0]);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static inline void child_send(int msg_fd, const char *msg)
{
        if (msg)
                (void) !write(msg_fd, msg, strlen(msg));
}

/* The hex value of a "CapEff:"-like line of /proc/self/status, or UINT64_MAX. */
static inline uint64_t status_hex(const char *key)
{
        char buf[4096], *s;
        int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
        ssize_t n;

        if (fd < 0)
                return UINT64_MAX;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                return UINT64_MAX;
        buf[n] = '\0';
        s = strstr(buf, key);
        if (!s)
                return UINT64_MAX;
        return strtoull(s + strlen(key), NULL, 16);
}

/* Whether id is mapped in this user namespace ("/proc/self/uid_map" or gid_map). */
static inline int id_is_mapped(const char *map_file, unsigned long id)
{
        unsigned long inside, outside, count;
        int found = 0;
        FILE *f = fopen(map_file, "re");

        if (!f)
                return 1; /* no user namespaces: every id is usable */
        while (!found && fscanf(f, "%lu %lu %lu", &inside, &outside, &count) == 3)
                found = id >= inside && id - inside < count;
        fclose(f);
        return found;
}

/* Whether setgroups(2) may work here (not "deny" in a user namespace). */
static inline int setgroups_allowed(void)
{
        char buf[16] = "";
        int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);

        if (fd < 0)
                return 1;
        (void) !read(fd, buf, sizeof(buf) - 1);
        close(fd);
        return strncmp(buf, "deny", 4) != 0;
}

/* Runs fn in a child and asserts that it returned 0, showing its message if not (cmocka). */
#define assert_child_ok(fn, arg, msg)                                                              \
        do {                                                                                       \
                int rc_ = run_in_child((fn), (arg), (msg), sizeof(msg));                           \
                if (rc_ != 0)                                                                      \
                        print_message("# child exited with %d: %s\n", rc_, (msg));                 \
                assert_int_equal(rc_, 0);                                                          \
        } while (0)
