/* SPDX-License-Identifier: Apache-2.0 */
/*
 * vmhelper: the static program the VM checks put inside the test containers' rootfs.
 *
 *   vmhelper alloc MB        malloc and touch MB MiB, 1 MiB at a time; exit 0 if it survived
 *   vmhelper bomb SECONDS    fork bomb: every process forks as fast as it can (errors ignored)
 *                            until SECONDS have passed, then exits; prints how many forks of the
 *                            first process failed with EAGAIN
 *   vmhelper spin MS         busy-loop for MS milliseconds of wall time
 *   vmhelper open PATH r|w   open(2); prints "open PATH: ok" or the errno name ("open PATH: EPERM")
 *   vmhelper mknod PATH c|b MAJ MIN   mknod(2); prints "mknod PATH: ok" or the errno name
 *
 * Build: gcc -static -O2 -o vmhelper vmhelper.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *errname(int e)
{
        switch (e) {
        case EPERM:
                return "EPERM";
        case EACCES:
                return "EACCES";
        case ENOENT:
                return "ENOENT";
        case ENXIO:
                return "ENXIO";
        case ENODEV:
                return "ENODEV";
        case EROFS:
                return "EROFS";
        case EEXIST:
                return "EEXIST";
        case EINVAL:
                return "EINVAL";
        default:
                return strerror(e);
        }
}

static int do_alloc(long mb)
{
        for (long i = 0; i < mb; i++) {
                char *p = malloc(1 << 20);

                if (!p) {
                        printf("alloc: malloc failed at %ld MiB\n", i);
                        return 3;
                }
                memset(p, 0x5a, 1 << 20);
        }
        printf("alloc: survived %ld MiB\n", mb);
        return 0;
}

static int do_bomb(long seconds)
{
        double end = now() + seconds;
        pid_t top = getpid();
        long eagain = 0;

        while (now() < end) {
                pid_t p = fork();

                if (p < 0 && errno == EAGAIN && getpid() == top)
                        eagain++;
        }
        if (getpid() == top) {
                printf("bomb: top process saw %ld EAGAIN\n", eagain);
                fflush(stdout);
        }
        return 0;
}

static int do_spin(long ms)
{
        double end = now() + ms / 1000.0;
        volatile unsigned long x = 0;

        while (now() < end)
                x++;
        return 0;
}

int main(int argc, char **argv)
{
        if (argc >= 3 && !strcmp(argv[1], "alloc"))
                return do_alloc(atol(argv[2]));
        if (argc >= 3 && !strcmp(argv[1], "bomb"))
                return do_bomb(atol(argv[2]));
        if (argc >= 3 && !strcmp(argv[1], "spin"))
                return do_spin(atol(argv[2]));
        if (argc >= 4 && !strcmp(argv[1], "open")) {
                int fd = open(argv[2], (argv[3][0] == 'w' ? O_WRONLY : O_RDONLY) | O_CLOEXEC);

                printf("open %s: %s\n", argv[2], fd >= 0 ? "ok" : errname(errno));
                return fd >= 0 ? 0 : 1;
        }
        if (argc >= 6 && !strcmp(argv[1], "mknod")) {
                mode_t type = argv[3][0] == 'b' ? S_IFBLK : S_IFCHR;
                int r = mknod(argv[2], type | 0666, makedev(atoi(argv[4]), atoi(argv[5])));

                printf("mknod %s: %s\n", argv[2], r == 0 ? "ok" : errname(errno));
                return r == 0 ? 0 : 1;
        }
        fprintf(stderr, "usage: vmhelper alloc MB | bomb S | spin MS | open PATH r|w | "
                        "mknod PATH c|b MAJ MIN\n");
        return 2;
}
