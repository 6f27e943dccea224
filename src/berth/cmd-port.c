/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth port CONTAINER [PRIVATE_PORT[/PROTO]]: the container's published ports, as docker's
 * `port` prints them ("80/tcp -> 0.0.0.0:8080"). berth publishes none yet (networks come with
 * issue 12): nothing is printed, and asking for one port is docker's "No public port" (1).
 */
#include <errno.h>
#include <stdlib.h>

#include "berth.h"
#include "base/util.h"
#include "engine/engine.h"

static const struct berth_cmd_spec spec = {
    .name = "port",
    .usage = "port CONTAINER [PRIVATE_PORT[/PROTO]]",
    .summary = "List port mappings or a specific mapping for the container",
    .min_args = 1,
    .max_args = 2,
};

/* "80", "80/tcp", "53/udp" -> "80/tcp", "53/udp" (docker's nat.NewPort); NULL if not a port. */
static char *port_name(const char *s)
{
        const char *slash = strchr(s, '/'), *proto = slash ? slash + 1 : "tcp";
        _autofree_ char *num = slash ? strndup(s, (size_t) (slash - s)) : xstrdup(s);
        char *end = NULL;
        long n = num ? strtol(num, &end, 10) : -1;

        if (!num || !*num || *end || n < 0 || n > 65535 ||
            (!streq(proto, "tcp") && !streq(proto, "udp") && !streq(proto, "sctp")))
                return NULL;
        return xasprintf("%ld/%s", n, proto);
}

static int port(struct berth_global *g, char **pos, int n_pos, struct berth_error **err)
{
        _cleanup_(berth_ctr_freep) struct berth_ctr *c = NULL;
        _autofree_ char *want = NULL;
        struct berth_store *s;
        int r = berth_global_store(g, &s, err);

        if (r >= 0)
                r = berth_ctr_lookup(s, pos[0], &c, err);
        if (r < 0)
                return r;
        if (n_pos < 2)
                return 0; /* no mapping to list */
        want = port_name(pos[1]);
        if (!want)
                return berth_error_setx(err, EINVAL, "Invalid containerPort: %s", pos[1]);
        return berth_error_setx(err, ENOENT, "No public port '%s' published for %s", want, pos[0]);
}

static int cmd_port(struct berth_global *g, int argc, char **argv)
{
        _autoerr_ struct berth_error *e = NULL;
        struct berth_args a = {0};
        int rc = 0;

        if (!berth_cmd_args(&spec, argc, argv, &a, &rc))
                return rc;
        if (port(g, a.pos, a.n_pos, &e) < 0)
                rc = berth_print_failure(e);
        berth_args_clear(&a);
        return rc;
}

const struct berth_cmd berth_cmd_port = {
    "port", "List port mappings or a specific mapping for the container", cmd_port};
