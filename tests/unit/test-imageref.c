/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <cmocka.h>

#include "image/imageref.h"
#include "base/util.h"

#define HEX "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define DIGEST "sha256:" HEX

struct norm_case {
        const char *in;
        const char *domain, *path, *tag, *digest; /* expected; domain NULL: an error */
        const char *error;                        /* the message after 'invalid reference "in": ' */
};

static const struct norm_case cases[] = {
    {"busybox", "docker.io", "library/busybox", "latest", NULL, NULL},
    {"busybox:1.36", "docker.io", "library/busybox", "1.36", NULL, NULL},
    {"library/busybox", "docker.io", "library/busybox", "latest", NULL, NULL},
    {"docker.io/busybox", "docker.io", "library/busybox", "latest", NULL, NULL},
    {"index.docker.io/busybox", "docker.io", "library/busybox", "latest", NULL, NULL},
    {"docker.io/library/busybox:x", "docker.io", "library/busybox", "x", NULL, NULL},
    {"user/app", "docker.io", "user/app", "latest", NULL, NULL},
    {"user/sub/app:v_1.0-rc", "docker.io", "user/sub/app", "v_1.0-rc", NULL, NULL},
    {"quay.io/coreos/etcd:v3", "quay.io", "coreos/etcd", "v3", NULL, NULL},
    {"127.0.0.1:5000/a/b:v1", "127.0.0.1:5000", "a/b", "v1", NULL, NULL},
    {"localhost/x", "localhost", "x", "latest", NULL, NULL},
    {"localhost:5000/x", "localhost:5000", "x", "latest", NULL, NULL},
    {"localhost:5000", "docker.io", "library/localhost", "5000", NULL, NULL},
    {"[::1]:5000/img", "[::1]:5000", "img", "latest", NULL, NULL},
    {"Registry.Example/app", "Registry.Example", "app", "latest", NULL, NULL},
    {"busybox@" DIGEST, "docker.io", "library/busybox", NULL, DIGEST, NULL},
    {"localhost/x@" DIGEST, "localhost", "x", NULL, DIGEST, NULL},
    {"busybox:1@" DIGEST, "docker.io", "library/busybox", "1", DIGEST, NULL},
    {"a__b/c-d---e/f.g_h", "docker.io", "a__b/c-d---e/f.g_h", "latest", NULL, NULL},
    {"docker.io/library/" HEX, "docker.io", "library/" HEX, "latest", NULL, NULL},
    {"index.docker.io/a.b/c", "docker.io", "a.b/c", "latest", NULL, NULL},
    {"Busybox", NULL, NULL, NULL, NULL, "repository name must be lowercase"},
    {"user/App:1", NULL, NULL, NULL, NULL, "repository name must be lowercase"},
    {"quay.io/Foo/bar", NULL, NULL, NULL, NULL, "repository name must be lowercase"},
    {HEX, NULL, NULL, NULL, NULL, "repository name cannot be a 64-byte hex string"},
    {":tag", NULL, NULL, NULL, NULL, "repository name is empty"},
    {"a//b", NULL, NULL, NULL, NULL, "empty path component"},
    {"user/", NULL, NULL, NULL, NULL, "empty path component"},
    {"a..b", NULL, NULL, NULL, NULL,
     "path component must be lowercase letters and digits separated by '.', '_', '__' or "
     "'-', not \"a..b\""},
    {"a___b", NULL, NULL, NULL, NULL,
     "path component must be lowercase letters and digits separated by '.', '_', '__' or "
     "'-', not \"a___b\""},
    {"-a", NULL, NULL, NULL, NULL,
     "path component must be lowercase letters and digits separated by '.', '_', '__' or "
     "'-', not \"-a\""},
    {"busy box", NULL, NULL, NULL, NULL,
     "path component must be lowercase letters and digits separated by '.', '_', '__' or "
     "'-', not \"busy box\""},
    {"busybox:", NULL, NULL, NULL, NULL,
     "tag must be up to 128 of [A-Za-z0-9_.-], not starting with '.' or '-', not \"\""},
    {"busybox:.x", NULL, NULL, NULL, NULL,
     "tag must be up to 128 of [A-Za-z0-9_.-], not starting with '.' or '-', not \".x\""},
    {"busybox:a+b", NULL, NULL, NULL, NULL,
     "tag must be up to 128 of [A-Za-z0-9_.-], not starting with '.' or '-', not \"a+b\""},
    {"busybox@sha256:abc", NULL, NULL, NULL, NULL,
     "digest \"sha256:abc\": expected sha256: followed by 64 lowercase hex digits"},
    {"busybox@sha512:abc", NULL, NULL, NULL, NULL,
     "digest \"sha512:abc\": algorithm sha512 not supported"},
    {"-bad-.io/x", NULL, NULL, NULL, NULL,
     "registry host is not a valid host[:port]: \"-bad-.io\""},
    {"host:port/x", NULL, NULL, NULL, NULL,
     "registry host is not a valid host[:port]: \"host:port\""},
    {"[zz]:1/x", NULL, NULL, NULL, NULL, "registry host is not a valid host[:port]: \"[zz]:1\""},
    {"[zz]/x", NULL, NULL, NULL, NULL, /* no '.' or ':': a path component, as for docker */
     "path component must be lowercase letters and digits separated by '.', '_', '__' or "
     "'-', not \"[zz]\""},
};

static void normalization_table(void **state)
{
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                const struct norm_case *c = &cases[i];
                _autoerr_ struct berth_error *err = NULL;
                _autoref_ struct berth_ref *r = NULL;
                int k = berth_ref_parse(c->in, &r, &err);

                if (k != (c->domain ? 0 : -EINVAL))
                        print_message("# %s: %s\n", c->in, err ? err->msg : "parsed");
                if (!c->domain) {
                        _autofree_ char *want =
                            xasprintf("invalid reference %s: %s", QUOTE(c->in), c->error);

                        assert_int_equal(k, -EINVAL);
                        assert_null(r);
                        assert_string_equal(err->msg, want);
                        continue;
                }
                assert_int_equal(k, 0);
                assert_string_equal(r->domain, c->domain);
                assert_string_equal(r->path, c->path);
                if (c->tag)
                        assert_string_equal(r->tag, c->tag);
                else
                        assert_null(r->tag);
                if (c->digest)
                        assert_string_equal(r->digest, c->digest);
                else
                        assert_null(r->digest);
        }
}

static void bad_inputs(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        struct berth_ref *r = NULL;
        char long_name[300];

        assert_int_equal(berth_ref_parse("", &r, &err), -EINVAL);
        assert_string_equal(err->msg, "invalid reference \"\": empty");
        assert_int_equal(berth_ref_parse(NULL, &r, &err), -EINVAL);
        assert_null(r);

        memset(long_name, 'a', sizeof(long_name) - 1);
        long_name[sizeof(long_name) - 1] = '\0';
        assert_int_equal(berth_ref_parse(long_name, &r, NULL), -EINVAL);
        assert_int_equal(berth_ref_parse(long_name, &r, &err), -EINVAL);
        assert_non_null(strstr(err->msg, ": repository name must not be more than 255 characters"));
        /* 255 in all is fine: "docker.io/library/" is 18 */
        long_name[255 - 18] = '\0';
        assert_int_equal(berth_ref_parse(long_name, &r, &err), 0);
        berth_ref_free(r);
}

static void tag_limits(void **state)
{
        _autoref_ struct berth_ref *r = NULL;
        char ref[200] = "x:";

        memset(ref + 2, 'T', 128);
        assert_int_equal(berth_ref_parse(ref, &r, NULL), 0);
        assert_int_equal(strlen(r->tag), 128);
        berth_ref_freep(&r);
        ref[2 + 128] = 'T';
        assert_int_equal(berth_ref_parse(ref, &r, NULL), -EINVAL);
        assert_int_equal(berth_ref_parse("x:_", &r, NULL), 0);
}

static void strings(void **state)
{
        static const struct {
                const char *in, *name, *full, *host;
        } t[] = {
            {"busybox", "docker.io/library/busybox", "docker.io/library/busybox:latest",
             "registry-1.docker.io"},
            {"localhost:5000/a/b@" DIGEST, "localhost:5000/a/b", "localhost:5000/a/b@" DIGEST,
             "localhost:5000"},
            {"quay.io/a/b:1@" DIGEST, "quay.io/a/b", "quay.io/a/b:1@" DIGEST, "quay.io"},
        };

        for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
                _autoref_ struct berth_ref *r = NULL;
                _autofree_ char *name = NULL, *full = NULL;

                assert_int_equal(berth_ref_parse(t[i].in, &r, NULL), 0);
                name = berth_ref_name(r);
                full = berth_ref_string(r);
                assert_string_equal(name, t[i].name);
                assert_string_equal(full, t[i].full);
                assert_string_equal(berth_ref_registry_host(r), t[i].host);
        }
}

static void familiar(void **state)
{
        static const char *const t[][2] = {
            {"docker.io/library/busybox:latest", "busybox:latest"},
            {"docker.io/library/busybox", "busybox"},
            {"docker.io/library/busybox@" DIGEST, "busybox@" DIGEST},
            {"docker.io/u/x:1", "u/x:1"},
            {"docker.io/library/a/b:1", "library/a/b:1"},
            {"quay.io/library/x:1", "quay.io/library/x:1"},
            {"localhost:5000/a:1", "localhost:5000/a:1"},
            {"docker.io.example/x", "docker.io.example/x"},
            /* "a.b/c" would name the registry a.b */
            {"docker.io/a.b/c:1", "docker.io/a.b/c:1"},
            {"docker.io/localhost/c", "docker.io/localhost/c"},
            {"docker.io/localhostx/c", "localhostx/c"},
        };

        for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
                _autofree_ char *f = berth_ref_familiar(t[i][0]);

                assert_string_equal(f, t[i][1]);
        }
}

/* Normalizing the normal form gives it back. */
static void round_trip(void **state)
{
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                _autoref_ struct berth_ref *r = NULL, *again = NULL;
                _autofree_ char *s = NULL, *s2 = NULL, *fam = NULL;

                if (!cases[i].domain)
                        continue;
                assert_int_equal(berth_ref_parse(cases[i].in, &r, NULL), 0);
                s = berth_ref_string(r);
                assert_int_equal(berth_ref_parse(s, &again, NULL), 0);
                s2 = berth_ref_string(again);
                assert_string_equal(s, s2);
                fam = berth_ref_familiar(s);
                berth_ref_freep(&again);
                assert_int_equal(berth_ref_parse(fam, &again, NULL), 0);
                free(s2);
                s2 = berth_ref_string(again);
                assert_string_equal(s, s2);
        }
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(normalization_table),
            cmocka_unit_test(bad_inputs),
            cmocka_unit_test(tag_limits),
            cmocka_unit_test(strings),
            cmocka_unit_test(familiar),
            cmocka_unit_test(round_trip),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
