/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "spec/resources.h"
#include "spec/spec.h"
#include "base/util.h"

static const char full[] =
    "{\n"
    "  'devices': [{'allow': false, 'access': 'rwm'},\n"
    "              {'allow': true, 'type': 'c', 'major': 10, 'minor': 229, 'access': 'wr'},\n"
    "              {'allow': false, 'type': 'b', 'major': 8, 'access': 'mmr'},\n"
    "              {'allow': true, 'type': 'a', 'minor': null}],\n"
    "  'memory': {'limit': 536870912, 'reservation': 268435456, 'swap': 1073741824,\n"
    "             'kernel': -1, 'kernelTCP': 0, 'swappiness': 60, 'disableOOMKiller': true,\n"
    "             'useHierarchy': false, 'checkBeforeUpdate': true},\n"
    "  'cpu': {'shares': 1024, 'quota': -1, 'burst': 1000, 'period': 100000,\n"
    "          'realtimeRuntime': 950000, 'realtimePeriod': 1000000, 'cpus': '0-3,7',\n"
    "          'mems': '0', 'idle': 1},\n"
    "  'pids': {'limit': -1},\n"
    "  'blockIO': {'weight': 500, 'leafWeight': 10,\n"
    "              'weightDevice': [{'major': 8, 'minor': 0, 'weight': 1000},\n"
    "                               {'major': 8, 'minor': 16, 'leafWeight': 0}],\n"
    "              'throttleReadBpsDevice': [{'major': 8, 'minor': 0, 'rate': 1048576}],\n"
    "              'throttleWriteBpsDevice': [{'major': 8, 'minor': 1, 'rate': 2}],\n"
    "              'throttleReadIOPSDevice': [{'major': 8, 'minor': 2, 'rate': 3}],\n"
    "              'throttleWriteIOPSDevice': [{'major': 8, 'minor': 3,\n"
    "                                           'rate': 18446744073709551615}]},\n"
    "  'hugepageLimits': [{'pageSize': '2MB', 'limit': 18446744073709551615},\n"
    "                     {'pageSize': '1GB', 'limit': 1073741824}],\n"
    "  'network': {'classID': 1048577, 'priorities': [{'name': 'eth0', 'priority': 5},\n"
    "                                                 {'name': 'lo', 'priority': 0}]},\n"
    "  'rdma': {'mlx5_0': {'hcaHandles': 3, 'hcaObjects': 10000}, 'mlx4_1': {}},\n"
    "  'unified': {'memory.high': '1G', 'io.max': '8:0 rbps=max'},\n"
    "  'futureField': [1, 2, 3]\n"
    "}\n";

/* Test inputs use single quotes for readability; this turns them into JSON. */
static char *dq(const char *json)
{
        char *s = xstrdup(json);

        for (char *p = s; *p; p++)
                if (*p == '\'')
                        *p = '"';
        return s;
}

static struct berth_resources *parse_ok(const char *text)
{
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *json = dq(text);
        struct berth_resources *r = NULL;
        int ret = berth_resources_parse(json, "config.json", "linux.resources", &r, &err);

        if (ret < 0)
                print_error("unexpected error: %s\n", err ? err->msg : "(none)");
        assert_int_equal(ret, 0);
        assert_non_null(r);
        return r;
}

/* The whole message must be "config.json: linux.resources." + expected. */
static void expect_error(const char *text, const char *expected)
{
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *json = dq(text), *want = NULL;
        struct berth_resources *r = NULL;
        int ret = berth_resources_parse(json, "config.json", "linux.resources", &r, &err);

        want = dq(expected);
        if (ret == 0)
                print_error("expected an error for: %s\n", json);
        assert_int_equal(ret, -EINVAL);
        assert_null(r);
        assert_non_null(err);
        assert_int_equal(err->code, EINVAL);
        if (!startswith(err->msg, "config.json: linux.resources.") ||
            !streq(err->msg + strlen("config.json: linux.resources."), want))
                print_error("message: %s\nexpected: config.json: linux.resources.%s\n", err->msg,
                            want);
        assert_true(startswith(err->msg, "config.json: linux.resources."));
        assert_string_equal(err->msg + strlen("config.json: linux.resources."), want);
}

static void full_devices_memory(void **state)
{
        _autoresources_ struct berth_resources *r = parse_ok(full);

        assert_int_equal(r->n_devices, 4);
        assert_false(r->devices[0].allow);
        assert_int_equal(r->devices[0].type, 'a');
        assert_int_equal(r->devices[0].major, -1);
        assert_int_equal(r->devices[0].minor, -1);
        assert_string_equal(r->devices[0].access, "rwm");
        assert_true(r->devices[1].allow);
        assert_int_equal(r->devices[1].type, 'c');
        assert_int_equal(r->devices[1].major, 10);
        assert_int_equal(r->devices[1].minor, 229);
        assert_string_equal(r->devices[1].access, "rw");
        assert_int_equal(r->devices[2].type, 'b');
        assert_int_equal(r->devices[2].major, 8);
        assert_int_equal(r->devices[2].minor, -1);
        assert_string_equal(r->devices[2].access, "rm");
        assert_int_equal(r->devices[3].type, 'a');
        assert_string_equal(r->devices[3].access, "rwm");

        assert_true(r->memory.has_limit && r->memory.limit == 536870912);
        assert_true(r->memory.has_reservation && r->memory.reservation == 268435456);
        assert_true(r->memory.has_swap && r->memory.swap == 1073741824);
        assert_true(r->memory.has_kernel && r->memory.kernel == -1);
        assert_true(r->memory.has_kernel_tcp && r->memory.kernel_tcp == 0);
        assert_true(r->memory.has_swappiness && r->memory.swappiness == 60);
        assert_true(r->memory.has_disable_oom_killer && r->memory.disable_oom_killer);
        assert_true(r->memory.has_use_hierarchy && !r->memory.use_hierarchy);
        assert_true(r->memory.has_check_before_update && r->memory.check_before_update);
}

static void full_cpu_pids_blkio(void **state)
{
        _autoresources_ struct berth_resources *r = parse_ok(full);

        assert_true(r->cpu.has_shares && r->cpu.shares == 1024);
        assert_true(r->cpu.has_quota && r->cpu.quota == -1);
        assert_true(r->cpu.has_burst && r->cpu.burst == 1000);
        assert_true(r->cpu.has_period && r->cpu.period == 100000);
        assert_true(r->cpu.has_realtime_runtime && r->cpu.realtime_runtime == 950000);
        assert_true(r->cpu.has_realtime_period && r->cpu.realtime_period == 1000000);
        assert_true(r->cpu.has_idle && r->cpu.idle == 1);
        assert_string_equal(r->cpu.cpus, "0-3,7");
        assert_string_equal(r->cpu.mems, "0");
        assert_true(r->pids.has_limit && r->pids.limit == -1);

        assert_true(r->blkio.has_weight && r->blkio.weight == 500);
        assert_true(r->blkio.has_leaf_weight && r->blkio.leaf_weight == 10);
        assert_int_equal(r->blkio.n_weight_device, 2);
        assert_int_equal(r->blkio.weight_device[0].major, 8);
        assert_true(r->blkio.weight_device[0].has_weight);
        assert_int_equal(r->blkio.weight_device[0].weight, 1000);
        assert_false(r->blkio.weight_device[0].has_leaf_weight);
        assert_int_equal(r->blkio.weight_device[1].minor, 16);
        assert_false(r->blkio.weight_device[1].has_weight);
        assert_true(r->blkio.weight_device[1].has_leaf_weight);
        assert_int_equal(r->blkio.weight_device[1].leaf_weight, 0);
        assert_int_equal(r->blkio.n_throttle_read_bps, 1);
        assert_int_equal(r->blkio.throttle_read_bps[0].rate, 1048576);
        assert_int_equal(r->blkio.throttle_write_bps[0].minor, 1);
        assert_int_equal(r->blkio.throttle_read_iops[0].rate, 3);
        assert_true(r->blkio.throttle_write_iops[0].rate == UINT64_MAX);
}

static void full_hugetlb_network_rdma_unified(void **state)
{
        _autoresources_ struct berth_resources *r = parse_ok(full);

        assert_int_equal(r->n_hugepages, 2);
        assert_string_equal(r->hugepages[0].page_size, "2MB");
        assert_true(r->hugepages[0].limit == UINT64_MAX);
        assert_string_equal(r->hugepages[1].page_size, "1GB");
        assert_int_equal(r->hugepages[1].limit, 1073741824);
        assert_true(r->network.has_class_id);
        assert_int_equal(r->network.class_id, 1048577);
        assert_int_equal(r->network.n_priorities, 2);
        assert_string_equal(r->network.priorities[0].key, "eth0");
        assert_string_equal(r->network.priorities[0].value, "5");
        assert_string_equal(r->network.priorities[1].value, "0");
        assert_int_equal(r->n_rdma, 2);
        assert_string_equal(r->rdma[0].device, "mlx5_0");
        assert_true(r->rdma[0].has_hca_handles && r->rdma[0].hca_handles == 3);
        assert_true(r->rdma[0].has_hca_objects && r->rdma[0].hca_objects == 10000);
        assert_string_equal(r->rdma[1].device, "mlx4_1");
        assert_false(r->rdma[1].has_hca_handles || r->rdma[1].has_hca_objects);
        assert_int_equal(r->n_unified, 2);
        assert_string_equal(r->unified[0].key, "memory.high");
        assert_string_equal(r->unified[0].value, "1G");
        assert_string_equal(r->unified[1].key, "io.max");
}

static void empty_and_absent(void **state)
{
        static const char *const empties[] = {NULL, "", " \n", "{}",
                                              "{'memory': {}, 'cpu': null, 'devices': []}"};

        for (size_t i = 0; i < ARRAY_SIZE(empties); i++) {
                _autofree_ char *json = empties[i] ? dq(empties[i]) : NULL;
                _autoresources_ struct berth_resources *r = NULL;

                assert_int_equal(berth_resources_parse(json, "x", "p", &r, NULL), 0);
                assert_non_null(r);
                assert_int_equal(r->n_devices, 0);
                assert_false(r->memory.has_limit || r->cpu.has_shares || r->pids.has_limit);
                assert_null(r->cpu.cpus);
                assert_int_equal(r->n_hugepages + r->n_rdma + r->n_unified, 0);
        }
}

/* Docker once sent swappiness -1 as an unsigned 64-bit integer; runc skips it, so do we. */
static void swappiness_max_is_unset(void **state)
{
        _autoresources_ struct berth_resources *r =
            parse_ok("{'memory': {'swappiness': 18446744073709551615}}");

        assert_false(r->memory.has_swappiness);
}

/* The spec parser keeps linux.resources as text; big integers must survive the round trip. */
static void from_spec_resources_json(void **state)
{
        static const char config[] =
            "{'root': {'path': 'rootfs'}, 'linux': {'resources': {"
            "'hugepageLimits': [{'pageSize': '2MB', 'limit': 18446744073709551615}],"
            "'memory': {'limit': -1, 'swap': 9223372036854775807}}}}";
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *json = dq(config);
        _autospec_ struct berth_spec *s = NULL;
        _autoresources_ struct berth_resources *r = NULL;

        assert_int_equal(berth_spec_parse(json, strlen(json), "config.json", &s, &err), 0);
        assert_int_equal(
            berth_resources_parse(s->lx.resources_json, "config.json", "linux.resources", &r, &err),
            0);
        assert_true(r->hugepages[0].limit == UINT64_MAX);
        assert_int_equal(r->memory.limit, -1);
        assert_true(r->memory.swap == INT64_MAX);
}

static void origin_and_prefix(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        struct berth_resources *r = NULL;

        assert_int_equal(
            berth_resources_parse("{\"pids\": {\"limit\": -2}}", "update.json", NULL, &r, &err),
            -EINVAL);
        assert_string_equal(err->msg, "update.json: pids.limit: -2 is out of range "
                                      "(-1..9223372036854775807)");
        assert_int_equal(
            berth_resources_parse("{\"pids\": {\"limit\": -2}}", NULL, "a.b.c", &r, &err), -EINVAL);
        assert_string_equal(err->msg, "resources.json: a.b.c.pids.limit: -2 is out of range "
                                      "(-1..9223372036854775807)");
        assert_int_equal(berth_resources_parse("{\"pids\": {\"limit\": -2}}", "u", "r", &r, NULL),
                         -EINVAL);
        assert_null(r);
}

static void syntax_and_type_errors(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        struct berth_resources *r = NULL;

        assert_int_equal(
            berth_resources_parse("{\"memory\": {", "config.json", "linux.resources", &r, &err),
            -EINVAL);
        assert_true(startswith(err->msg, "config.json:1:"));
        assert_int_equal(berth_resources_parse("[]", "config.json", "linux.resources", &r, &err),
                         -EINVAL);
        assert_string_equal(err->msg, "config.json: expected a JSON object, got array");
        expect_error("{'memory': []}", "memory: expected an object, got array");
        expect_error("{'memory': {'limit': '1G'}}",
                     "memory.limit: expected an integer, got string");
        expect_error("{'memory': {'disableOOMKiller': 1}}",
                     "memory.disableOOMKiller: expected a boolean, got integer");
        expect_error("{'devices': {}}", "devices: expected an array, got object");
        expect_error("{'devices': [1]}", "devices[0]: expected an object, got integer");
        expect_error("{'cpu': {'cpus': 3}}", "cpu.cpus: expected a string, got integer");
        expect_error("{'unified': {'a.b': 1}}", "unified['a.b']: expected a string, got integer");
        expect_error("{'rdma': {'mlx': 1}}", "rdma.mlx: expected an object, got integer");
        expect_error("{'hugepageLimits': [{'pageSize': '2MB'}]}",
                     "hugepageLimits[0].limit: required field is missing");
}

static void device_errors(void **state)
{
        expect_error("{'devices': [{'allow': true}, {'allow': true},"
                     " {'allow': true, 'type': 'x'}]}",
                     "devices[2].type: unknown device type 'x'");
        expect_error("{'devices': [{'allow': true, 'access': 'rwx'}]}",
                     "devices[0].access: 'rwx' is not a subset of 'rwm'");
        /* in a deny rule other letters are ignored (with a warning), as runc does; not alone */
        {
                struct berth_resources *r =
                    parse_ok("{'devices': [{'allow': false, 'type': 'c', 'access': 'arwa'}]}");

                assert_string_equal(r->devices[0].access, "rw");
                berth_resources_free(r);
        }
        expect_error("{'devices': [{'allow': false, 'access': 'a'}]}",
                     "devices[0].access: 'a' is not a subset of 'rwm'");
        expect_error("{'devices': [{'allow': true, 'access': ''}]}",
                     "devices[0].access: must not be empty (a subset of 'rwm')");
        expect_error("{'devices': [{'type': 'c'}]}", "devices[0].allow: required field is missing");
        expect_error("{'devices': [{'allow': true, 'major': -2}]}",
                     "devices[0].major: -2 is out of range (-1..4294967295)");
        expect_error("{'devices': [{'allow': true, 'type': 'c', 'minor': 4294967296}]}",
                     "devices[0].minor: 4294967296 is out of range (-1..4294967295)");
        expect_error("{'devices': [{'allow': true, 'type': 'cc'}]}",
                     "devices[0].type: unknown device type 'cc'");
}

static void memory_errors(void **state)
{
        expect_error("{'memory': {'limit': -5}}",
                     "memory.limit: -5 is out of range (-1..9223372036854775807)");
        expect_error("{'memory': {'reservation': -2}}",
                     "memory.reservation: -2 is out of range (-1..9223372036854775807)");
        expect_error("{'memory': {'swap': 18446744073709551615}}",
                     "memory.swap: 18446744073709551615 is out of range "
                     "(-1..9223372036854775807)");
        expect_error("{'memory': {'kernelTCP': -3}}",
                     "memory.kernelTCP: -3 is out of range (-1..9223372036854775807)");
        expect_error("{'memory': {'swappiness': 101}}",
                     "memory.swappiness: 101 is out of range (0..100)");
        expect_error("{'memory': {'swappiness': -1}}",
                     "memory.swappiness: -1 is out of range (0..18446744073709551615)");
        expect_error("{'memory': {'limit': 2048, 'swap': 1024}}",
                     "memory.swap: memory+swap limit 1024 should be >= memory limit 2048");
}

static void swap_limit_combinations(void **state)
{
        static const char *const ok[] = {
            "{'memory': {'limit': 1024, 'swap': 1024}}",
            "{'memory': {'limit': 1024, 'swap': -1}}",
            "{'memory': {'limit': -1, 'swap': -1}}",
            "{'memory': {'limit': 0, 'swap': 5}}",
            "{'memory': {'limit': 1024, 'swap': 0}}",
            "{'memory': {'swap': 5}}",
            "{'memory': {'limit': -1, 'swap': 9223372036854775807}}",
        };

        for (size_t i = 0; i < ARRAY_SIZE(ok); i++) {
                _autoresources_ struct berth_resources *r = parse_ok(ok[i]);

                assert_true(r->memory.has_swap);
        }
}

static void cpu_errors(void **state)
{
        expect_error("{'cpu': {'shares': 1}}",
                     "cpu.shares: 1 is out of range (2..262144, or 0 for unset)");
        expect_error("{'cpu': {'shares': 262145}}",
                     "cpu.shares: 262145 is out of range (2..262144, or 0 for unset)");
        expect_error("{'cpu': {'quota': -2}}",
                     "cpu.quota: -2 is out of range (-1..9223372036854775807)");
        expect_error("{'cpu': {'quota': 999}}",
                     "cpu.quota: 999 is out of range (-1 for unlimited, 0 for unset, or >= 1000 "
                     "microseconds)");
        expect_error("{'cpu': {'period': 999}}",
                     "cpu.period: 999 is out of range (1000..1000000, or 0 for unset)");
        expect_error("{'cpu': {'period': 1000001}}",
                     "cpu.period: 1000001 is out of range (1000..1000000, or 0 for unset)");
        expect_error("{'cpu': {'realtimeRuntime': -7}}",
                     "cpu.realtimeRuntime: -7 is out of range (-1..9223372036854775807)");
        expect_error("{'cpu': {'realtimePeriod': -1}}",
                     "cpu.realtimePeriod: -1 is out of range (0..18446744073709551615)");
        expect_error("{'cpu': {'idle': 2}}", "cpu.idle: 2 is out of range (0..1)");
        expect_error("{'cpu': {'quota': 50000, 'burst': 60000}}",
                     "cpu.burst: 60000 is above the quota of 50000 microseconds");
        expect_error("{'cpu': {'burst': -1}}",
                     "cpu.burst: -1 is out of range (0..18446744073709551615)");
}

static void cpu_list_syntax(void **state)
{
        static const char *const good[] = {"", "0", "0-3", "0-3,5", "1,2,3", "0-0", "4194303"};
        static const char *const bad[] = {"a",  "0-", "-1",    "3-1",     "0,,1", "0,",
                                          " 0", "0 ", "0-3:1", "4194304", "1-2-3"};
        char json[128];

        for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
                snprintf(json, sizeof(json), "{'cpu': {'cpus': '%s', 'mems': '%s'}}", good[i],
                         good[i]);
                _autoresources_ struct berth_resources *r = parse_ok(json);

                assert_string_equal(r->cpu.cpus, good[i]);
                assert_string_equal(r->cpu.mems, good[i]);
        }
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                char want[128];

                snprintf(json, sizeof(json), "{'cpu': {'cpus': '%s'}}", bad[i]);
                snprintf(want, sizeof(want),
                         "cpu.cpus: invalid CPU list '%s' (expected e.g. '0-3,7')", bad[i]);
                expect_error(json, want);
                snprintf(json, sizeof(json), "{'cpu': {'mems': '%s'}}", bad[i]);
                snprintf(want, sizeof(want),
                         "cpu.mems: invalid memory node list '%s' (expected e.g. '0-3,7')", bad[i]);
                expect_error(json, want);
        }
}

static void blkio_errors(void **state)
{
        _autoresources_ struct berth_resources *r =
            parse_ok("{'blockIO': {'weight': 0, 'leafWeight': 1000}}");

        assert_true(r->blkio.has_weight);
        assert_int_equal(r->blkio.weight, 0);
        assert_int_equal(r->blkio.leaf_weight, 1000);
        expect_error("{'blockIO': {'weight': 9}}",
                     "blockIO.weight: 9 is out of range (10..1000, or 0 for unset)");
        expect_error("{'blockIO': {'leafWeight': 1001}}",
                     "blockIO.leafWeight: 1001 is out of range (10..1000, or 0 for unset)");
        expect_error("{'blockIO': {'weightDevice': [{'major': 8, 'minor': 0, 'weight': 5}]}}",
                     "blockIO.weightDevice[0].weight: 5 is out of range (10..1000, or 0 for "
                     "unset)");
        expect_error("{'blockIO': {'weightDevice': [{'major': 8, 'minor': 0}]}}",
                     "blockIO.weightDevice[0]: needs a weight or a leafWeight");
        expect_error("{'blockIO': {'weightDevice': [{'major': 8, 'weight': 50}]}}",
                     "blockIO.weightDevice[0].minor: required field is missing");
        expect_error("{'blockIO': {'throttleReadBpsDevice': [{'major': -1, 'minor': 0, "
                     "'rate': 1}]}}",
                     "blockIO.throttleReadBpsDevice[0].major: -1 is out of range (0..4294967295)");
        expect_error("{'blockIO': {'throttleWriteIOPSDevice': [{'major': 8, 'minor': 0}]}}",
                     "blockIO.throttleWriteIOPSDevice[0].rate: required field is missing");
        expect_error("{'blockIO': {'throttleWriteBpsDevice': [{'major': 8, 'minor': 0, "
                     "'rate': -1}]}}",
                     "blockIO.throttleWriteBpsDevice[0].rate: -1 is out of range "
                     "(0..18446744073709551615)");
}

static void hugetlb_network_rdma_errors(void **state)
{
        static const char *const bad_sizes[] = {"2M",    "0MB",           "MB", "2mb", "../2MB",
                                                "2MB/x", "12345678901MB", ""};
        char json[128], want[160];

        for (size_t i = 0; i < ARRAY_SIZE(bad_sizes); i++) {
                snprintf(json, sizeof(json), "{'hugepageLimits': [{'pageSize': '%s', 'limit': 1}]}",
                         bad_sizes[i]);
                snprintf(want, sizeof(want),
                         "hugepageLimits[0].pageSize: invalid page size '%s' (expected e.g. '2MB' "
                         "or '1GB')",
                         bad_sizes[i]);
                expect_error(json, want);
        }
        expect_error("{'network': {'classID': -1}}",
                     "network.classID: -1 is out of range (0..4294967295)");
        expect_error("{'network': {'priorities': [{'name': 'eth 0', 'priority': 1}]}}",
                     "network.priorities[0].name: 'eth 0' is not a valid device name");
        expect_error("{'network': {'priorities': [{'name': '', 'priority': 1}]}}",
                     "network.priorities[0].name: must not be empty");
        expect_error("{'network': {'priorities': [{'name': '0123456789abcdef', 'priority': 1}]}}",
                     "network.priorities[0].name: '0123456789abcdef' is longer than 15 bytes");
        expect_error("{'network': {'priorities': [{'name': 'eth0'}]}}",
                     "network.priorities[0].priority: required field is missing");
        expect_error("{'rdma': {'mlx5_0': {'hcaHandles': 4294967296}}}",
                     "rdma.mlx5_0.hcaHandles: 4294967296 is out of range (0..4294967295)");
        expect_error("{'rdma': {'a\\nb': {}}}",
                     "rdma['a\\nb']: 'a\\nb' is not a valid device name");
}

static void unified_errors(void **state)
{
        expect_error("{'unified': {'../memory.max': '1'}}",
                     "unified['../memory.max']: '../memory.max' is not a cgroup file name (no '/' "
                     "or '..')");
        expect_error("{'unified': {'memory.max': '1', 'a/b': '2'}}",
                     "unified['a/b']: 'a/b' is not a cgroup file name (no '/' or '..')");
        expect_error("{'unified': {'': '1'}}",
                     "unified['']: '' is not a cgroup file name (no '/' or '..')");
        expect_error("{'unified': {'..': '1'}}",
                     "unified['..']: '..' is not a cgroup file name (no '/' or '..')");
}

static void conversions(void **state)
{
        assert_int_equal(berth_cpu_shares_to_weight(0), 0);
        assert_int_equal(berth_cpu_shares_to_weight(1), 1);
        assert_int_equal(berth_cpu_shares_to_weight(2), 1);
        assert_int_equal(berth_cpu_shares_to_weight(1024), 39);
        assert_int_equal(berth_cpu_shares_to_weight(262144), 10000);
        assert_int_equal(berth_cpu_shares_to_weight(UINT64_MAX), 10000);
        assert_int_equal(berth_blkio_weight_to_io_weight(0), 0);
        assert_int_equal(berth_blkio_weight_to_io_weight(5), 1);
        assert_int_equal(berth_blkio_weight_to_io_weight(10), 1);
        assert_int_equal(berth_blkio_weight_to_io_weight(500), 4950);
        assert_int_equal(berth_blkio_weight_to_io_weight(1000), 10000);
        assert_int_equal(berth_blkio_weight_to_io_weight(5000), 10000);
        /* monotonic over the whole v1 range */
        for (uint64_t s = 3; s <= 262144; s++)
                assert_true(berth_cpu_shares_to_weight(s) >= berth_cpu_shares_to_weight(s - 1));
        for (uint64_t w = 11; w <= 1000; w++)
                assert_true(berth_blkio_weight_to_io_weight(w) >
                            berth_blkio_weight_to_io_weight(w - 1));
}

static void default_rules(void **state)
{
        static const char *const want[] = {
            "c -1:-1 m", "b -1:-1 m", "c 1:3 rwm", "c 1:8 rwm",    "c 1:7 rwm", "c 5:0 rwm",
            "c 1:5 rwm", "c 1:9 rwm", "c 5:1 rwm", "c 136:-1 rwm", "c 5:2 rwm", "c 10:200 rwm"};

        assert_int_equal(berth_n_default_device_rules, ARRAY_SIZE(want));
        for (size_t i = 0; i < berth_n_default_device_rules; i++) {
                const struct berth_device_rule *d = &berth_default_device_rules[i];
                char buf[64];

                snprintf(buf, sizeof(buf), "%c %lld:%lld %s", d->type, (long long) d->major,
                         (long long) d->minor, d->access);
                assert_string_equal(buf, want[i]);
                assert_true(d->allow);
        }
}

static void free_null(void **state)
{
        berth_resources_free(NULL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(full_devices_memory),
            cmocka_unit_test(full_cpu_pids_blkio),
            cmocka_unit_test(full_hugetlb_network_rdma_unified),
            cmocka_unit_test(empty_and_absent),
            cmocka_unit_test(swappiness_max_is_unset),
            cmocka_unit_test(from_spec_resources_json),
            cmocka_unit_test(origin_and_prefix),
            cmocka_unit_test(syntax_and_type_errors),
            cmocka_unit_test(device_errors),
            cmocka_unit_test(memory_errors),
            cmocka_unit_test(swap_limit_combinations),
            cmocka_unit_test(cpu_errors),
            cmocka_unit_test(cpu_list_syntax),
            cmocka_unit_test(blkio_errors),
            cmocka_unit_test(hugetlb_network_rdma_errors),
            cmocka_unit_test(unified_errors),
            cmocka_unit_test(conversions),
            cmocka_unit_test(default_rules),
            cmocka_unit_test(free_null),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
