/* SPDX-License-Identifier: Apache-2.0 */
/*
 * OCI digests (sha256.c): "sha256:" and 64 lowercase hex digits, in one call or fed piece by piece
 * through a context, against FIPS 180-2's test vectors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "base/sha256.h"
#include "base/util.h"

#define EMPTY "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define ABC "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define MILLION_A "sha256:cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"

static void one_call(void **state)
{
        char digest[BERTH_SHA256_DIGEST_LEN + 1];

        berth_sha256_digest("", 0, digest);
        assert_string_equal(digest, EMPTY);
        berth_sha256_digest("abc", 3, digest);
        assert_string_equal(digest, ABC);
        assert_int_equal(strlen(digest), BERTH_SHA256_DIGEST_LEN);
        assert_true(startswith(digest, BERTH_SHA256_PREFIX));
        assert_true(berth_is_lower_hex(digest + BERTH_SHA256_PREFIX_LEN, BERTH_SHA256_HEX_LEN));
}

static void piece_by_piece(void **state)
{
        _cleanup_(evp_md_ctx_freep) EVP_MD_CTX *ctx = NULL;
        _autoerr_ struct berth_error *err = NULL;
        char digest[BERTH_SHA256_DIGEST_LEN + 1], chunk[1000];

        memset(chunk, 'a', sizeof(chunk));
        assert_int_equal(berth_sha256_new(&ctx, &err), 0);
        for (int i = 0; i < 1000; i++)
                assert_int_equal(EVP_DigestUpdate(ctx, chunk, sizeof(chunk)), 1);
        assert_int_equal(berth_sha256_final(ctx, digest, &err), 0);
        assert_string_equal(digest, MILLION_A);
}

static void hex(void **state)
{
        char out[9];

        berth_hex_encode("\x00\x01\xab\xff", 4, out);
        assert_string_equal(out, "0001abff");
        berth_hex_encode("", 0, out);
        assert_string_equal(out, "");
        assert_true(berth_is_lower_hex("0123456789abcdef", 16));
        assert_false(berth_is_lower_hex("ABCDEF", 6));
        assert_false(berth_is_lower_hex("12g4", 4));
        assert_true(berth_is_lower_hex("12g4", 2)); /* only the first n */
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(one_call),
            cmocka_unit_test(piece_by_piece),
            cmocka_unit_test(hex),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
