/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <sys/capability.h>
#include <sys/prctl.h>

#include "runtime/caps.h"
#include "base/log.h"
#include "fork-child.h"
#include "runtime/process.h"
#include "base/util.h"

#define BIT(c) (UINT64_C(1) << (c))

static void name_round_trip(void **state)
{
        int last = berth_cap_last_cap();

        assert_true(last >= CAP_AUDIT_READ);
        for (int i = 0; i <= last; i++) {
                const char *name = berth_cap_name(i);

                assert_non_null(name);
                assert_int_equal(berth_cap_from_name(name), i);
        }
        assert_int_equal(berth_cap_from_name("cap_sys_admin"), CAP_SYS_ADMIN);
        assert_int_equal(berth_cap_from_name("CAP_NOPE"), -EINVAL);
        assert_int_equal(berth_cap_from_name(""), -EINVAL);
        assert_null(berth_cap_name(-1));
        assert_null(berth_cap_name(1000));
        assert_string_equal(berth_cap_name(CAP_NET_BIND_SERVICE), "CAP_NET_BIND_SERVICE");
        assert_true(berth_cap_name_known("cap_bpf"));
        assert_true(berth_cap_name_known("CAP_CHECKPOINT_RESTORE"));
        assert_false(berth_cap_name_known("CAP_BOGUS"));
        assert_false(berth_cap_name_known(""));
}

static int child_msg(int fd, struct berth_error *err, int code)
{
        child_send(fd, err ? err->msg : "no error");
        return code;
}

static int apply_child(int fd, void *arg)
{
        const struct berth_caps *caps = arg;
        _autoerr_ struct berth_error *err = NULL;

        if (berth_caps_drop_bounding(caps, &err) < 0 || berth_caps_apply(caps, &err) < 0)
                return child_msg(fd, err, 10);
        if (status_hex("CapBnd:") != caps->set[BERTH_CAP_BOUNDING])
                return 11;
        if (status_hex("CapEff:") != caps->set[BERTH_CAP_EFFECTIVE])
                return 12;
        if (status_hex("CapPrm:") != caps->set[BERTH_CAP_PERMITTED])
                return 13;
        if (status_hex("CapInh:") != caps->set[BERTH_CAP_INHERITABLE])
                return 14;
        if (status_hex("CapAmb:") != caps->set[BERTH_CAP_AMBIENT])
                return 15;
        return 0;
}

static void skip_without(int cap)
{
        if (!berth_cap_is_effective(cap)) {
                print_message("# skipped: needs %s\n", berth_cap_name(cap));
                skip();
        }
}

static void apply_sets(void **state)
{
        uint64_t small = BIT(CAP_CHOWN) | BIT(CAP_KILL) | BIT(CAP_NET_BIND_SERVICE);
        struct berth_caps caps = {.set = {
                                      [BERTH_CAP_BOUNDING] = small | BIT(CAP_SETPCAP),
                                      [BERTH_CAP_EFFECTIVE] = BIT(CAP_KILL),
                                      [BERTH_CAP_PERMITTED] = small,
                                      [BERTH_CAP_INHERITABLE] = BIT(CAP_NET_BIND_SERVICE),
                                      [BERTH_CAP_AMBIENT] = BIT(CAP_NET_BIND_SERVICE),
                                  }};
        char msg[512];

        skip_without(CAP_SETPCAP);
        assert_child_ok(apply_child, &caps, msg);
        /* Absent sets are empty: the process ends with no capability at all. */
        memset(caps.set, 0, sizeof(caps.set));
        assert_child_ok(apply_child, &caps, msg);
}

static char warned[512];

static void record_warning(enum berth_log_level level, const char *msg, void *userdata)
{
        if (level == BERTH_LOG_DEBUG && startswith(msg, "process.capabilities"))
                snprintf(warned, sizeof(warned), "%s", msg);
}

static int ambient_child(int fd, void *arg)
{
        _autoerr_ struct berth_error *err = NULL;
        int r;

        berth_log_set_handler(record_warning, NULL);
        berth_trace_enable(true);
        r = berth_caps_apply(arg, &err);
        child_send(fd, warned);
        if (r < 0)
                return 1;
        return status_hex("CapAmb:") == 0 ? 0 : 2; /* left out, not raised */
}

/* As runc: an ambient capability the kernel cannot raise is left out (said in the trace). */
static void ambient_needs_inheritable(void **state)
{
        struct berth_caps caps = {.set = {
                                      [BERTH_CAP_BOUNDING] = BIT(CAP_NET_RAW),
                                      [BERTH_CAP_EFFECTIVE] = BIT(CAP_NET_RAW),
                                      [BERTH_CAP_PERMITTED] = BIT(CAP_NET_RAW),
                                      [BERTH_CAP_AMBIENT] = BIT(CAP_NET_RAW),
                                  }};
        char msg[512];

        skip_without(CAP_SETPCAP);
        assert_child_ok(ambient_child, &caps, msg);
        assert_string_equal(msg, "process.capabilities.ambient: CAP_NET_RAW is not in both the "
                                 "permitted and the inheritable set, ignoring");
}

static int no_setpcap_child(int fd, void *arg)
{
        struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
        struct __user_cap_data_struct data[2];
        _autoerr_ struct berth_error *err = NULL;

        if (capget(&hdr, data) < 0)
                return 1;
        data[0].effective &= ~(1u << CAP_SETPCAP);
        if (capset(&hdr, data) < 0)
                return 2;
        if (berth_caps_drop_bounding(arg, &err) != -EPERM)
                return 3;
        child_send(fd, err->msg);
        return 0;
}

static void drop_bounding_needs_setpcap(void **state)
{
        struct berth_caps caps = {.set = {[BERTH_CAP_BOUNDING] = UINT64_MAX & ~BIT(CAP_CHOWN)}};
        char msg[512];

        skip_without(CAP_SETPCAP);
        assert_child_ok(no_setpcap_child, &caps, msg);
        assert_string_equal(msg, "drop CAP_CHOWN from the bounding set: Operation not permitted "
                                 "(needs CAP_SETPCAP)");
}

/* The init's order: bounding while still root, user switch with keepcaps, then the sets. */
static int user_switch_child(int fd, void *arg)
{
        struct berth_process p = {.uid = 65534, .gid = 65534, .umask = -1};
        _autoerr_ struct berth_error *err = NULL;
        const struct berth_caps *caps = arg;
        uid_t r, e, s;

        if (berth_caps_drop_bounding(caps, &err) < 0 || berth_process_set_user(&p, &err) < 0 ||
            berth_caps_apply(caps, &err) < 0)
                return child_msg(fd, err, 10);
        if (getresuid(&r, &e, &s) < 0 || r != 65534 || e != 65534 || s != 65534)
                return 11;
        if (status_hex("CapEff:") != caps->set[BERTH_CAP_EFFECTIVE])
                return 12;
        if (status_hex("CapBnd:") != caps->set[BERTH_CAP_BOUNDING])
                return 13;
        if (prctl(PR_GET_KEEPCAPS, 0, 0, 0, 0) != 0)
                return 14;
        return 0;
}

static void apply_after_user_switch(void **state)
{
        uint64_t set = BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_KILL);
        struct berth_caps caps = {.set = {
                                      [BERTH_CAP_BOUNDING] = set,
                                      [BERTH_CAP_EFFECTIVE] = set,
                                      [BERTH_CAP_PERMITTED] = set,
                                  }};
        char msg[512];

        skip_without(CAP_SETUID);
        skip_without(CAP_SETGID);
        skip_without(CAP_SETPCAP);
        if (!id_is_mapped("/proc/self/uid_map", 65534) ||
            !id_is_mapped("/proc/self/gid_map", 65534))
                skip();
        assert_child_ok(user_switch_child, &caps, msg);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(name_round_trip),
            cmocka_unit_test(apply_sets),
            cmocka_unit_test(ambient_needs_inheritable),
            cmocka_unit_test(drop_bounding_needs_setpcap),
            cmocka_unit_test(apply_after_user_switch),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
