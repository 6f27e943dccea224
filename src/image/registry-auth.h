/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * registry.c's pure helpers (internal to libberth-image; unit-tested in test-registry.c):
 * WWW-Authenticate challenges, the auth file, --creds, base64, the certs.d directory and the
 * config file's insecure-registries.
 */

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "image/registry.h"

enum berth_auth_scheme { BERTH_AUTH_NONE, BERTH_AUTH_BASIC, BERTH_AUTH_BEARER };

struct berth_auth_challenge {
        enum berth_auth_scheme scheme;
        char *realm, *service, *scope; /* NULL when absent */
};

/* Parses a WWW-Authenticate value (several challenges may be joined with ", "): the first Bearer
 * challenge wins, else the first Basic one. An unknown scheme alone is -ENOTSUP; a malformed
 * value -EINVAL ("WWW-Authenticate "...": ..."); a Bearer without realm -EINVAL. */
int berth_auth_challenge_parse(const char *value, struct berth_auth_challenge *ret,
                               struct berth_error **err);
void berth_auth_challenge_clear(struct berth_auth_challenge *c);

/* base64 (RFC 4648, padded) with OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock. decode: -EINVAL for
 * anything that is not base64. Results are malloc'ed and NUL-terminated. */
char *berth_base64_encode(const void *data, size_t len);
int berth_base64_decode(const char *s, char **ret, size_t *ret_len);

/* "user[:pass]" -> user, pass ("" when absent). -EINVAL for an empty user. */
int berth_creds_split(const char *creds, char **ret_user, char **ret_pass,
                      struct berth_error **err);

/* The auth-file key for a registry given as "HOST[:PORT]", "https://HOST/...", or "" / NULL
 * (docker.io). -EINVAL names a value with spaces, '@' or an empty host. malloc'ed. */
int berth_registry_key(const char *registry, char **ret, struct berth_error **err);

/* Credentials stored for key in the auth file at path (docker's config.json form). -ENOENT when
 * the file or the entry is missing; -EINVAL for a malformed file ("PATH: line L column C: ..."). */
int berth_auth_file_get(const char *path, const char *key, char **ret_user, char **ret_pass,
                        struct berth_error **err);
/* Adds or replaces key's entry, keeping everything else in the file; creates the directory
 * (0700) and writes the file atomically with mode 0600. */
int berth_auth_file_set(const char *path, const char *key, const char *user, const char *pass,
                        struct berth_error **err);
/* Removes key's entry: -ENOENT "not logged in to KEY". */
int berth_auth_file_remove(const char *path, const char *key, struct berth_error **err);

/* o->cert_dir, else /etc/berth/certs.d/<host> (malloc'ed). */
char *berth_registry_cert_dir(const struct berth_registry_opts *o, const char *host);
/* True when host is in the config file's "insecure-registries" (a missing file: false). */
int berth_registry_is_insecure(const char *config_file, const char *host, bool *ret,
                               struct berth_error **err);
