/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Image references, normalized as docker does:
 *
 *   busybox                       -> docker.io/library/busybox:latest
 *   127.0.0.1:5000/a/b:v1         -> 127.0.0.1:5000/a/b:v1
 *   localhost/x@sha256:<64 hex>   -> localhost/x@sha256:...
 *
 * The first component is a registry host if it contains '.' or ':' or is "localhost"; otherwise
 * the domain is docker.io, and a one-component path gets "library/". Paths are lowercase
 * [a-z0-9] separated by '.', '_', '__', '-'+; tags [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
 */

#include <stdbool.h>

#include "base/error.h"

struct berth_ref {
        char *domain; /* "docker.io", "127.0.0.1:5000" */
        char *path;   /* "library/busybox" */
        char *tag;    /* "latest" when neither tag nor digest was given; NULL with a digest only */
        char *digest; /* "sha256:...", or NULL */
};

/* Parses and normalizes s. -EINVAL: invalid reference "x": <what is wrong>. */
int berth_ref_parse(const char *s, struct berth_ref **ret, struct berth_error **err);
void berth_ref_free(struct berth_ref *r);

/* "docker.io/library/busybox" (domain/path). malloc'ed. */
char *berth_ref_name(const struct berth_ref *r);
/* The full normalized form: name:tag, name@digest, or name:tag@digest. malloc'ed. */
char *berth_ref_string(const struct berth_ref *r);
/* docker's short form of a normalized name: "docker.io/library/busybox:latest" -> "busybox:latest",
 * "docker.io/u/x:1" -> "u/x:1", others unchanged. malloc'ed. */
char *berth_ref_familiar(const char *normalized);
/* The host to contact: "registry-1.docker.io" for docker.io, else the domain. Not malloc'ed. */
const char *berth_ref_registry_host(const struct berth_ref *r);

static inline void berth_ref_freep(struct berth_ref **r)
{
        berth_ref_free(*r);
        *r = 0;
}
#define _autoref_ __attribute__((cleanup(berth_ref_freep)))
