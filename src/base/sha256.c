/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/sha256.h"
#include "base/util.h"

int berth_sha256_new(EVP_MD_CTX **ret, struct berth_error **err)
{
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();

        if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
                EVP_MD_CTX_free(ctx);
                return berth_error_setx(err, ENOMEM, "EVP_DigestInit_ex sha256 failed");
        }
        *ret = ctx;
        return 0;
}

int berth_sha256_final(EVP_MD_CTX *ctx, char digest[BERTH_SHA256_DIGEST_LEN + 1],
                       struct berth_error **err)
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned len = 0;

        if (EVP_DigestFinal_ex(ctx, md, &len) != 1 || len * 2 != BERTH_SHA256_HEX_LEN)
                return berth_error_setx(err, EIO, "EVP_DigestFinal_ex failed");
        memcpy(digest, BERTH_SHA256_PREFIX, BERTH_SHA256_PREFIX_LEN);
        berth_hex_encode(md, len, digest + BERTH_SHA256_PREFIX_LEN);
        return 0;
}

void berth_sha256_digest(const void *data, size_t len, char digest[BERTH_SHA256_DIGEST_LEN + 1])
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned n = 0;

        if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1 || n * 2 != BERTH_SHA256_HEX_LEN)
                abort(); /* sha256 of memory cannot fail short of OOM */
        memcpy(digest, BERTH_SHA256_PREFIX, BERTH_SHA256_PREFIX_LEN);
        berth_hex_encode(md, n, digest + BERTH_SHA256_PREFIX_LEN);
}
