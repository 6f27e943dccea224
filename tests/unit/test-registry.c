/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <cmocka.h>

#include "image/blobstore.h"
#include "image/registry-auth.h"
#include "base/util.h"

#define HELLO "sha256:5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
#define EMPTY "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void write_text(const char *path, const char *text)
{
        FILE *f = fopen(path, "we");

        assert_non_null(f);
        assert_int_equal(fputs(text, f) >= 0, 1);
        assert_int_equal(fclose(f), 0);
}

static void challenge_bearer(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        struct berth_auth_challenge c;

        assert_int_equal(berth_auth_challenge_parse("Bearer realm=\"https://auth.docker.io/token\","
                                                    "service=\"registry.docker.io\","
                                                    "scope=\"repository:library/busybox:pull\"",
                                                    &c, &err),
                         0);
        assert_int_equal(c.scheme, BERTH_AUTH_BEARER);
        assert_string_equal(c.realm, "https://auth.docker.io/token");
        assert_string_equal(c.service, "registry.docker.io");
        assert_string_equal(c.scope, "repository:library/busybox:pull");
        berth_auth_challenge_clear(&c);

        /* Case-insensitive scheme and names, spaces, unquoted values, escapes. */
        assert_int_equal(berth_auth_challenge_parse("bearer  Realm = \"http://x/t\\\"q\" , "
                                                    "service=svc",
                                                    &c, &err),
                         0);
        assert_int_equal(c.scheme, BERTH_AUTH_BEARER);
        assert_string_equal(c.realm, "http://x/t\"q");
        assert_string_equal(c.service, "svc");
        assert_null(c.scope);
        berth_auth_challenge_clear(&c);
}

static void challenge_basic_and_several(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        struct berth_auth_challenge c;

        assert_int_equal(berth_auth_challenge_parse("Basic realm=\"r\"", &c, &err), 0);
        assert_int_equal(c.scheme, BERTH_AUTH_BASIC);
        assert_string_equal(c.realm, "r");
        berth_auth_challenge_clear(&c);

        /* Two headers joined: Bearer wins wherever it is. */
        assert_int_equal(
            berth_auth_challenge_parse("Basic realm=\"r\", Bearer realm=\"https://t\"", &c, &err),
            0);
        assert_int_equal(c.scheme, BERTH_AUTH_BEARER);
        assert_string_equal(c.realm, "https://t");
        berth_auth_challenge_clear(&c);

        assert_int_equal(berth_auth_challenge_parse("Negotiate, Basic realm=x", &c, &err), 0);
        assert_int_equal(c.scheme, BERTH_AUTH_BASIC);
        berth_auth_challenge_clear(&c);
}

static void challenge_errors(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        struct berth_auth_challenge c;

        assert_int_equal(berth_auth_challenge_parse("Negotiate", &c, &err), -ENOTSUP);
        assert_string_equal(err->msg,
                            "WWW-Authenticate \"Negotiate\": no Bearer or Basic challenge");
        berth_error_freep(&err);
        assert_int_equal(berth_auth_challenge_parse("Bearer service=\"s\"", &c, &err), -EINVAL);
        assert_string_equal(err->msg, "WWW-Authenticate \"Bearer service=\\\"s\\\"\": Bearer "
                                      "without realm");
        berth_error_freep(&err);
        assert_int_equal(berth_auth_challenge_parse("Bearer realm=\"unterminated", &c, &err),
                         -EINVAL);
        berth_error_freep(&err);
        assert_int_equal(berth_auth_challenge_parse("Bearer realm=", &c, &err), -EINVAL);
        berth_error_freep(&err);
        assert_int_equal(berth_auth_challenge_parse("", &c, &err), -ENOTSUP);
}

static void base64(void **state)
{
        _autofree_ char *e1 = berth_base64_encode("user:pass", 9);
        _autofree_ char *e2 = berth_base64_encode("u:p", 3);
        _autofree_ char *e3 = berth_base64_encode("", 0);
        _autofree_ char *d = NULL;
        size_t n = 0;

        assert_string_equal(e1, "dXNlcjpwYXNz");
        assert_string_equal(e2, "dTpw");
        assert_string_equal(e3, "");
        assert_int_equal(berth_base64_decode("dXNlcjpwYXNzMQ==", &d, &n), 0);
        assert_string_equal(d, "user:pass1");
        assert_int_equal(n, 10);
        freep(&d);
        assert_int_equal(berth_base64_decode("dXNlcjpwYXNzMTI=", &d, &n), 0);
        assert_string_equal(d, "user:pass12");
        freep(&d);
        assert_int_equal(berth_base64_decode("abc", &d, &n), -EINVAL);
        assert_int_equal(berth_base64_decode("a*c=", &d, &n), -EINVAL);
}

static void creds_and_keys(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *u = NULL, *p = NULL, *k = NULL;

        assert_int_equal(berth_creds_split("me:se:cret", &u, &p, &err), 0);
        assert_string_equal(u, "me");
        assert_string_equal(p, "se:cret");
        freep(&u);
        freep(&p);
        assert_int_equal(berth_creds_split("me", &u, &p, &err), 0);
        assert_string_equal(p, "");
        assert_int_equal(berth_creds_split(":x", &u, &p, &err), -EINVAL);
        assert_string_equal(err->msg, "credentials: empty user name");

        assert_int_equal(berth_registry_key("127.0.0.1:5000", &k, NULL), 0);
        assert_string_equal(k, "127.0.0.1:5000");
        freep(&k);
        assert_int_equal(berth_registry_key("https://r.example.com/v2/", &k, NULL), 0);
        assert_string_equal(k, "r.example.com");
        freep(&k);
        assert_int_equal(berth_registry_key(NULL, &k, NULL), 0);
        assert_string_equal(k, "docker.io");
        freep(&k);
        assert_int_equal(berth_registry_key("index.docker.io", &k, NULL), 0);
        assert_string_equal(k, "docker.io");
        freep(&k);
        assert_int_equal(berth_registry_key("u@host", &k, NULL), -EINVAL);
        assert_int_equal(berth_registry_key("https://", &k, NULL), -EINVAL);
}

static void auth_file_roundtrip(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        char dir[] = "/tmp/berth-test-registry.XXXXXX";
        _autofree_ char *path = NULL, *u = NULL, *p = NULL, *data = NULL, *cmd = NULL;
        struct stat st;

        assert_non_null(mkdtemp(dir));
        path = xasprintf("%s/a/b/auth.json", dir);
        assert_int_equal(berth_auth_file_get(path, "h:1", &u, &p, &err), -ENOENT);
        berth_error_freep(&err);
        assert_int_equal(berth_auth_file_remove(path, "h:1", &err), -ENOENT);
        assert_string_equal(err->msg, "not logged in to h:1");
        berth_error_freep(&err);

        assert_int_equal(berth_auth_file_set(path, "h:1", "user", "pa:ss", &err), 0);
        assert_int_equal(berth_auth_file_set(path, "h:2", "other", "x", &err), 0);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(berth_auth_file_get(path, "h:1", &u, &p, &err), 0);
        assert_string_equal(u, "user");
        assert_string_equal(p, "pa:ss");
        freep(&u);
        freep(&p);

        assert_int_equal(berth_auth_file_remove(path, "h:1", &err), 0);
        assert_int_equal(berth_auth_file_get(path, "h:1", &u, &p, &err), -ENOENT);
        berth_error_freep(&err);
        assert_int_equal(berth_auth_file_get(path, "h:2", &u, &p, &err), 0);
        assert_string_equal(u, "other");
        freep(&u);
        freep(&p);

        /* A malformed file is reported with line and column, and never overwritten. */
        write_text(path, "{\n  \"auths\": [\n");
        assert_int_equal(berth_auth_file_set(path, "h:1", "u", "p", &err), -EINVAL);
        assert_non_null(strstr(err->msg, "auth.json: line "));
        berth_error_freep(&err);
        assert_int_equal(berth_read_file_at(AT_FDCWD, path, 0, &data, NULL, &err), 0);
        assert_string_equal(data, "{\n  \"auths\": [\n");

        cmd = xasprintf("rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
}

static void auth_file_default(void **state)
{
        _autofree_ char *a = NULL, *b = NULL, *c = NULL;

        setenv("BERTH_AUTH_FILE", "/x/auth.json", 1);
        a = berth_auth_file_default();
        assert_string_equal(a, "/x/auth.json");
        unsetenv("BERTH_AUTH_FILE");
        setenv("XDG_RUNTIME_DIR", "/run/user/7", 1);
        b = berth_auth_file_default();
        assert_string_equal(b, "/run/user/7/berth/auth.json");
        unsetenv("XDG_RUNTIME_DIR");
        setenv("HOME", "/home/me", 1);
        c = berth_auth_file_default();
        assert_string_equal(c, "/home/me/.config/berth/auth.json");
}

static void tls_config(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        struct berth_registry_opts o = {.cert_dir = "/my/certs"};
        _autofree_ char *d1 = berth_registry_cert_dir(NULL, "127.0.0.1:5000");
        _autofree_ char *d2 = berth_registry_cert_dir(&o, "127.0.0.1:5000");
        char dir[] = "/tmp/berth-test-registry.XXXXXX";
        _autofree_ char *path = NULL, *cmd = NULL;
        bool insecure = true;

        assert_string_equal(d1, "/etc/berth/certs.d/127.0.0.1:5000");
        assert_string_equal(d2, "/my/certs");

        assert_non_null(mkdtemp(dir));
        path = xasprintf("%s/config.json", dir);
        assert_int_equal(berth_registry_is_insecure(path, "h:1", &insecure, &err), 0);
        assert_false(insecure);
        write_text(path, "{\"insecure-registries\": [\"h:1\"]}");
        assert_int_equal(berth_registry_is_insecure(path, "h:1", &insecure, &err), 0);
        assert_true(insecure);
        assert_int_equal(berth_registry_is_insecure(path, "h:2", &insecure, &err), 0);
        assert_false(insecure);
        write_text(path, "{\"insecure-registries\": \"h:1\"}");
        assert_int_equal(berth_registry_is_insecure(path, "h:1", &insecure, &err), -EINVAL);
        assert_non_null(strstr(err->msg, "config.json: insecure-registries: not an array"));
        cmd = xasprintf("rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
}

/* blobstore.c's put from a finished download (registry.c's only user). */
static void blob_put_file(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        char dir[] = "/tmp/berth-test-registry.XXXXXX";
        _autofree_ char *path = NULL, *cmd = NULL, *digest = NULL;
        struct berth_blobstore *s = NULL;
        int dfd;

        assert_non_null(mkdtemp(dir));
        assert_int_equal(berth_blobstore_open(dir, &s, &err), 0);
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(dfd >= 0);
        path = xasprintf("%s/x.partial", dir);
        write_text(path, "hello\n");
        assert_int_equal(berth_blobstore_put_file(s, dfd, "x.partial", HELLO, 7, NULL, &err),
                         -EBADMSG);
        assert_string_equal(err->msg, "blob " HELLO " from x.partial: size mismatch: expected 7 "
                                      "bytes, got 6");
        berth_error_freep(&err);
        assert_int_equal(berth_blobstore_put_file(s, dfd, "x.partial", EMPTY, -1, NULL, &err),
                         -EBADMSG);
        berth_error_freep(&err);
        assert_int_equal(access(path, F_OK), 0); /* left for the caller */
        assert_int_equal(berth_blobstore_put_file(s, dfd, "x.partial", HELLO, 6, &digest, &err), 0);
        assert_string_equal(digest, HELLO);
        assert_int_equal(access(path, F_OK), -1);
        assert_true(berth_blobstore_has(s, HELLO));
        close(dfd);
        berth_blobstore_free(s);
        cmd = xasprintf("rm -rf '%s'", dir);
        assert_int_equal(system(cmd), 0);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(challenge_bearer),  cmocka_unit_test(challenge_basic_and_several),
            cmocka_unit_test(challenge_errors),  cmocka_unit_test(base64),
            cmocka_unit_test(creds_and_keys),    cmocka_unit_test(auth_file_roundtrip),
            cmocka_unit_test(auth_file_default), cmocka_unit_test(tls_config),
            cmocka_unit_test(blob_put_file),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
