/* SPDX-License-Identifier: Apache-2.0 */
#include <signal.h>
#include <string.h>
#include <strings.h>

#include "base/signal.h"
#include "base/util.h"

/* Names glibc's sigabbrev_np() does not return for their number. */
static const struct {
        const char *name;
        int sig;
} aliases[] = {
    {"IOT", SIGIOT},
    {"POLL", SIGPOLL},
    {"CLD", SIGCHLD},
};

/* "RTMIN", "RTMIN+3", "RTMAX-2"; glibc's SIGRTMIN (34), as docker and podman count. */
static int parse_rt(const char *s)
{
        bool min = strncasecmp(s, "RTMIN", 5) == 0;
        int base = min ? SIGRTMIN : SIGRTMAX, sig;
        uint64_t off = 0;

        if (!min && strncasecmp(s, "RTMAX", 5) != 0)
                return -EINVAL;
        s += 5;
        if (*s != '\0' && (*s != (min ? '+' : '-') || parse_u64(s + 1, &off) < 0 || off > 64))
                return -EINVAL;
        sig = min ? base + (int) off : base - (int) off;
        return sig >= SIGRTMIN && sig <= SIGRTMAX ? sig : -EINVAL;
}

static int signal_from_name(const char *name)
{
        for (int sig = 1; sig < SIGRTMIN; sig++) {
                const char *abbrev = sigabbrev_np(sig);

                if (abbrev && strcasecmp(abbrev, name) == 0)
                        return sig;
        }
        for (size_t i = 0; i < ARRAY_SIZE(aliases); i++)
                if (strcasecmp(aliases[i].name, name) == 0)
                        return aliases[i].sig;
        return parse_rt(name);
}

int berth_signal_parse(const char *s, int *ret, struct berth_error **err)
{
        const char *name = strncasecmp(s, "SIG", 3) == 0 ? s + 3 : s;
        uint64_t n;
        int sig;

        if (parse_u64(s, &n) == 0) {
                if (n > (uint64_t) SIGRTMAX)
                        return berth_error_setx(err, EINVAL, "unknown signal \"%s\"", s);
                *ret = (int) n;
                return 0;
        }
        sig = *name ? signal_from_name(name) : -EINVAL;
        if (sig < 0)
                return berth_error_setx(err, EINVAL, "unknown signal \"%s\"", s);
        *ret = sig;
        return 0;
}
