/* SPDX-License-Identifier: Apache-2.0 */
/* ns.c's checks of linux.sysctl, hostname and domainname. Nothing here joins a namespace or
 * writes a sysctl: paths are only opened and compared. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "runtime/ns.h"
#include "spec/spec.h"
#include "base/util.h"

#define ROOT "'root': {'path': 'rootfs'}"

static struct berth_spec *parse(const char *text)
{
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *json = xstrdup(text);
        struct berth_spec *s = NULL;

        for (char *p = json; *p; p++)
                if (*p == '\'')
                        *p = '"';
        if (berth_spec_parse(json, strlen(json), "config.json", &s, &err) < 0)
                print_error("unexpected error: %s\n", err->msg);
        assert_non_null(s);
        return s;
}

static void expect_validate(const char *text, int code, const char *msg)
{
        _autoerr_ struct berth_error *err = NULL;
        struct berth_spec *s = parse(text);

        assert_int_equal(berth_sysctl_validate(s, &err), code);
        if (msg)
                assert_string_equal(err->msg, msg);
        berth_spec_free(s);
}

#define UTS "'linux': {'namespaces': [{'type': 'uts'}], 'sysctl': "

static void name_conflicts(void **state)
{
        expect_validate("{" ROOT ", 'hostname': 'a', " UTS "{'kernel.hostname': 'b'}}}", -EINVAL,
                        "linux.sysctl \"kernel.hostname\" = \"b\": conflicts with the hostname "
                        "field (\"a\"): set the name with \"hostname\" only (runc and crun refuse "
                        "it too)");
        expect_validate("{" ROOT ", " UTS "{'kernel.hostname': 'b'}}}", -EINVAL,
                        "linux.sysctl \"kernel.hostname\" = \"b\": conflicts with the hostname "
                        "field: set the name with \"hostname\" only (runc and crun refuse it too)");
        expect_validate("{" ROOT ", 'domainname': 'a.org', " UTS "{'kernel.domainname': 'b'}}}",
                        -EINVAL,
                        "linux.sysctl \"kernel.domainname\" = \"b\": conflicts with the "
                        "domainname field (\"a.org\"): set the name with one of them only");
        /* the same name twice: allowed, as crun (crun's test_domainname "domainname with
         * sysctl") and runc 1.1 */
        expect_validate("{" ROOT ", 'domainname': 'a.org', " UTS "{'kernel.domainname': 'a.org'}}}",
                        0, NULL);
        /* kernel.domainname alone is the only way runc 1.1 has to set it */
        expect_validate("{" ROOT ", 'hostname': 'a', " UTS "{'kernel.domainname': 'b'}}}", 0, NULL);
}

static void expect_open(const char *text, int code, const char *msg)
{
        _autoerr_ struct berth_error *err = NULL;
        struct berth_spec *s = parse(text);
        struct berth_ns_fds f;

        assert_int_equal(berth_ns_open_paths(s, &f, &err), code);
        if (code == 0)
                berth_ns_fds_close(&f);
        else
                assert_string_equal(err->msg, msg);
        berth_spec_free(s);
}

static void runtimes_own_namespace(void **state)
{
        expect_open("{" ROOT ", 'linux': {'namespaces': [{'type': 'network', 'path': "
                    "'/proc/self/ns/net'}], 'sysctl': {'net.ipv4.ip_forward': '1'}}}",
                    -EPERM,
                    "linux.sysctl \"net.ipv4.ip_forward\" = \"1\": not allowed in the runtime's "
                    "own network namespace (the linux.namespaces path \"/proc/self/ns/net\" is "
                    "the one berth-oci runs in): Operation not permitted, it would change the "
                    "host's; leave it out or give the container its own network namespace");
        expect_open("{" ROOT ", 'hostname': 'h', 'linux': {'namespaces': [{'type': 'uts', "
                    "'path': '/proc/self/ns/uts'}]}}",
                    -EPERM,
                    "hostname = \"h\": not allowed in the runtime's own uts namespace (the "
                    "linux.namespaces path \"/proc/self/ns/uts\" is the one berth-oci runs in): "
                    "Operation not permitted, it would change the host's; leave it out or give "
                    "the container its own uts namespace");
        expect_open("{" ROOT ", 'linux': {'namespaces': [{'type': 'ipc', 'path': "
                    "'/proc/self/ns/ipc'}], 'sysctl': {'kernel.msgmax': '9'}}}",
                    -EPERM,
                    "linux.sysctl \"kernel.msgmax\" = \"9\": not allowed in the runtime's own ipc "
                    "namespace (the linux.namespaces path \"/proc/self/ns/ipc\" is the one "
                    "berth-oci runs in): Operation not permitted, it would change the host's; "
                    "leave it out or give the container its own ipc namespace");
        /* joining our own namespace is fine when nothing is written in it */
        expect_open("{" ROOT ", 'linux': {'namespaces': [{'type': 'network', 'path': "
                    "'/proc/self/ns/net'}, {'type': 'uts'}], 'sysctl': {'kernel.domainname': "
                    "'d'}}}",
                    0, NULL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(name_conflicts),
            cmocka_unit_test(runtimes_own_namespace),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
