/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Pulling images over the OCI distribution (docker registry v2) API with libcurl.
 *
 * TLS: the system CAs, plus every *.crt in <cert_dir> (default /etc/berth/certs.d/HOST:PORT/,
 * docker's layout; client.cert + client.key there are used too). http is used only with
 * tls_verify = 0 or for a registry listed in the config file's "insecure-registries"
 * (default /etc/berth/config.json: {"insecure-registries": ["127.0.0.1:5000"]}).
 * Auth: anonymous; a 401 with "Bearer realm=..,service=..,scope=.." gets a token (with the
 * stored credentials if any); "Basic" sends them. Credentials are read from and written to an
 * auth file in docker's config.json form ({"auths": {"HOST:PORT": {"auth": base64(user:pass)}}},
 * mode 0600; default $BERTH_AUTH_FILE, else $XDG_RUNTIME_DIR/berth/auth.json... see
 * berth_auth_file_default()).
 * Downloads: up to max_parallel layers at once, each into <root>/downloads/<hex>.partial under a
 * per-blob lock, resumed with a Range request after an interruption, verified and moved into the
 * blob store, then unpacked (berth_store_layer_add). An interrupted pull (even kill -9) leaves a
 * store that the next pull completes.
 */

#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "image/layer.h"

struct berth_store;

struct berth_registry_opts {
        const char *cert_dir;    /* NULL: /etc/berth/certs.d/<host:port> */
        int tls_verify;          /* -1: default (https, verified, unless configured insecure) */
        const char *auth_file;   /* NULL: berth_auth_file_default() */
        const char *creds;       /* "user[:pass]" (--creds), overrides the auth file */
        const char *config_file; /* NULL: /etc/berth/config.json */
};

enum berth_pull_phase {
        BERTH_PULL_WAITING,     /* queued */
        BERTH_PULL_EXISTS,      /* layer already in the store */
        BERTH_PULL_DOWNLOADING, /* done/total bytes */
        BERTH_PULL_VERIFYING,
        BERTH_PULL_EXTRACTING,
        BERTH_PULL_COMPLETE,
};

struct berth_pull_event {
        const char *digest; /* the layer blob; NULL for messages about the whole image */
        enum berth_pull_phase phase;
        int64_t done, total; /* bytes; total -1 if unknown */
};
/* Called from the pulling threads, one call at a time (serialized by the puller). */
typedef void (*berth_pull_progress_fn)(const struct berth_pull_event *ev, void *userdata);

struct berth_pull_opts {
        struct berth_registry_opts reg;
        const char *platform; /* "os/arch[/variant]"; NULL: the host's */
        int max_parallel;     /* 0: 3 */
        struct berth_layer_opts layer;
        berth_pull_progress_fn progress; /* may be NULL */
        void *userdata;
};

/* Pulls ref (berth_ref_parse form) into the store and names it. Returns the image id and the
 * normalized name (both malloc'ed, may be NULL). Errors name the registry and the step:
 * "pull 127.0.0.1:5000/x:1: GET https://127.0.0.1:5000/v2/x/manifests/1: 404 manifest unknown",
 * "...: SSL certificate problem: self-signed certificate (put the CA in
 * /etc/berth/certs.d/127.0.0.1:5000/ca.crt or use --tls-verify=false)", "...: 401 unauthorized:
 * log in with berth login 127.0.0.1:5000". */
int berth_pull(struct berth_store *s, const char *ref, const struct berth_pull_opts *o,
               char **ret_id, char **ret_name, struct berth_error **err);

/* Checks the credentials against https://HOST/v2/ (a 401 is "login to HOST: unauthorized:
 * incorrect username or password") and stores them. */
int berth_login(const char *registry, const char *user, const char *password,
                const struct berth_registry_opts *o, struct berth_error **err);
/* Removes the stored credentials; -ENOENT: "not logged in to HOST". */
int berth_logout(const char *registry, const struct berth_registry_opts *o,
                 struct berth_error **err);

/* $BERTH_AUTH_FILE, else $XDG_RUNTIME_DIR/berth/auth.json when XDG_RUNTIME_DIR is set, else
 * $HOME/.config/berth/auth.json (malloc'ed). */
char *berth_auth_file_default(void);
