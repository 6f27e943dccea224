/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * sha256 digests as OCI writes them ("sha256:" + 64 lowercase hex digits), over libcrypto's EVP.
 * Built into libberth-image, the library that links libcrypto: berth-oci never hashes.
 */

#include <openssl/evp.h>
#include <stddef.h>

#include "base/error.h"

#define BERTH_SHA256_PREFIX "sha256:"
#define BERTH_SHA256_PREFIX_LEN (sizeof(BERTH_SHA256_PREFIX) - 1)
#define BERTH_SHA256_HEX_LEN 64
/* "sha256:" + 64 hex, without the NUL */
#define BERTH_SHA256_DIGEST_LEN (BERTH_SHA256_PREFIX_LEN + BERTH_SHA256_HEX_LEN)

static inline void evp_md_ctx_freep(EVP_MD_CTX **ctx)
{
        EVP_MD_CTX_free(*ctx);
        *ctx = NULL;
}

/* A new sha256 context for EVP_DigestUpdate(); free it with EVP_MD_CTX_free() (or
 * _cleanup_(evp_md_ctx_freep)). -ENOMEM: "EVP_DigestInit_ex sha256 failed". */
int berth_sha256_new(EVP_MD_CTX **ret, struct berth_error **err);

/* The digest of what ctx hashed, "sha256:<hex>", into digest. -EIO: "EVP_DigestFinal_ex failed". */
int berth_sha256_final(EVP_MD_CTX *ctx, char digest[BERTH_SHA256_DIGEST_LEN + 1],
                       struct berth_error **err);

/* The digest of len bytes at data. Cannot fail short of OOM, which aborts (as xasprintf). */
void berth_sha256_digest(const void *data, size_t len, char digest[BERTH_SHA256_DIGEST_LEN + 1]);
