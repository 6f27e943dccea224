/* SPDX-License-Identifier: Apache-2.0 */
/* berth-oci kill [--all] ID [SIGNAL] */
#include <signal.h>
#include <string.h>
#include <strings.h>

#include "runtime/container.h"
#include "oci.h"
#include "base/util.h"

enum { F_ALL };

static const struct oci_flag flags[] = {
    [F_ALL] = {"all", 'a', false,
               "send the specified signal to all processes inside the container"},
};

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

int oci_parse_signal(const char *s, int *ret, struct berth_error **err)
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

static int cmd_kill(const struct oci_global *g, const struct oci_args *a, struct berth_error **err)
{
        _autocontainer_ struct berth_container *c = NULL;
        int sig = SIGTERM, r;

        r = berth_id_validate(a->pos[0], err);
        if (r < 0)
                return r;
        if (a->n_pos > 1) {
                r = oci_parse_signal(a->pos[1], &sig, err);
                if (r < 0)
                        return r;
        }
        /* a damaged state.json does not make the container unkillable */
        r = berth_container_load_any(g->root, a->pos[0], &c, err);
        if (r < 0)
                return r;
        r = berth_container_kill(c, sig, oci_args_bool(a, F_ALL), err);
        return r < 0 ? r : 0;
}

const struct oci_command oci_cmd_kill = {
    .name = "kill",
    .summary = "kill sends the specified signal (default: SIGTERM) to the container's init process",
    .usage = "[command options] <container-id> [signal]",
    .description =
        "\nWhere \"<container-id>\" is the name for the instance of the container and\n"
        "\"[signal]\" is the signal to be sent to the init process.\n\n"
        "EXAMPLE:\n"
        "For example, if the container id is \"ubuntu01\" the following will send a \"KILL\"\n"
        "signal to the init process of the \"ubuntu01\" container:\n\n"
        "       # " OCI_PROG " kill ubuntu01 KILL\n",
    .flags = flags,
    .n_flags = ARRAY_SIZE(flags),
    .min_args = 1,
    .max_args = 2,
    .run = cmd_kill,
};
