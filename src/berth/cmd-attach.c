/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth attach [--detach-keys K] [--no-stdin] [--sig-proxy=false] CONTAINER: our terminal to a
 * detached container's, through its monitor (engine/engine-attach.h); and what run -i/-t and
 * start -a share with it: the detach keys, the signal proxy.
 */
#include "berth.h"
#include "base/util.h"
#include "engine/engine-attach.h"
#include "engine/engine.h"

enum { F_DETACH_KEYS, F_NO_STDIN, F_SIG_PROXY };

static const struct berth_flag flags[] = {
    [F_DETACH_KEYS] = {"detach-keys", 0, BERTH_FLAG_VALUE, "string",
                       "Override the key sequence for detaching a container"},
    [F_NO_STDIN] = {"no-stdin", 0, BERTH_FLAG_BOOL, NULL, "Do not attach STDIN"},
    [F_SIG_PROXY] = {"sig-proxy", 0, BERTH_FLAG_BOOL, NULL,
                     "Proxy all received signals to the process (default true)"},
};

static const struct berth_cmd_spec spec = {
    .name = "attach",
    .usage = "attach [OPTIONS] CONTAINER",
    .summary = "Attach local standard input, output, and error streams to a running container",
    .flags = flags,
    .n_flags = ARRAY_SIZE(flags),
    .min_args = 1,
    .max_args = 1,
};

void berth_sig_proxy(int sig, void *userdata)
{
        const struct berth_sig_proxy *p = userdata;
        _cleanup_(berth_ctr_freep) struct berth_ctr *now = NULL;
        struct berth_store *s;

        /* the record as it is now (the one we hold may say "created") */
        if (*p->c && berth_global_store(p->g, &s, NULL) >= 0 &&
            berth_ctr_lookup(s, (*p->c)->id, &now, NULL) >= 0)
                (void) berth_ctr_kill(now, p->g->runroot, sig, false, NULL);
}

int berth_attach_opts_fill(const char *detach_keys, bool sig_proxy, struct berth_sig_proxy *proxy,
                           struct berth_attach_opts *o, struct berth_error **err)
{
        o->proxy = sig_proxy ? berth_sig_proxy : NULL;
        o->userdata = proxy;
        return berth_detach_keys_parse(detach_keys ? detach_keys : BERTH_DETACH_KEYS_DEFAULT,
                                       o->detach, &o->n_detach, err);
}

static int attach(struct berth_global *g, const struct berth_args *a, struct berth_ctr **c,
                  struct berth_error **err)
{
        struct berth_sig_proxy px = {g, c};
        struct berth_attach_opts o = {0};
        _autoclose_ int sock = -EBADF;
        struct berth_store *s;
        int r;

        r = berth_attach_opts_fill(a->values[F_DETACH_KEYS],
                                   !streq_ptr(a->values[F_SIG_PROXY], "false"), &px, &o, err);
        if (r >= 0)
                r = berth_global_store(g, &s, err);
        if (r >= 0)
                r = berth_ctr_lookup(s, a->pos[0], c, err);
        if (r < 0)
                return r;
        berth_ctr_refresh(*c, g->runroot);
        if (!streq_ptr((*c)->status, "running"))
                return berth_error_setx(err, EINVAL,
                                        "You cannot attach to a stopped container, start it first");
        r = berth_attach_connect((*c)->dir, &sock, err);
        if (r < 0)
                return r;
        o.tty = (*c)->tty;
        o.in = (*c)->open_stdin && !berth_args_bool(a, F_NO_STDIN);
        r = berth_attach_relay(sock, &o, err);
        if (r != 0)
                return r < 0 ? r : -EINTR; /* detached */
        return berth_ctr_wait(s, c, g->runroot, err);
}

static int cmd_attach(struct berth_global *g, int argc, char **argv)
{
        _cleanup_(berth_ctr_freep) struct berth_ctr *c = NULL;
        _autoerr_ struct berth_error *e = NULL;
        struct berth_args a = {0};
        int rc = 0, r;

        if (!berth_cmd_args(&spec, argc, argv, &a, &rc))
                return rc;
        r = attach(g, &a, &c, &e);
        if (r == -EINTR)
                rc = 0; /* the detach keys: it runs on */
        else if (r < 0)
                rc = berth_print_failure(e);
        else
                rc = c->exit_code;
        berth_args_clear(&a);
        return rc;
}

const struct berth_cmd berth_cmd_attach = {
    "attach", "Attach local standard input, output, and error streams to a running container",
    cmd_attach};
