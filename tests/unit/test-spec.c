/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/resource.h>
#include <cmocka.h>
#include <linux/capability.h>

#include "runtime/caps.h"
#include "base/log.h"
#include "spec/spec.h"
#include "base/syscalls.h"
#include "base/util.h"

#define ROOT "'root': {'path': 'rootfs'}"

static const char full_config[] =
    "{\n"
    "  'ociVersion': '1.2.0',\n"
    "  'root': {'path': 'rootfs', 'readonly': true},\n"
    "  'hostname': 'web', 'domainname': 'example.org',\n"
    "  'mounts': [\n"
    "    {'destination': '/proc', 'type': 'proc', 'source': 'proc'},\n"
    "    {'destination': '/data', 'source': '/srv', 'options': ['rbind', 'ro'],\n"
    "     'uidMappings': [{'containerID': 0, 'hostID': 100000, 'size': 65536}],\n"
    "     'gidMappings': [{'containerID': 0, 'hostID': 100000, 'size': 65536}]}\n"
    "  ],\n"
    "  'process': {\n"
    "    'terminal': true, 'consoleSize': {'height': 25, 'width': 80},\n"
    "    'user': {'uid': 1000, 'gid': 1001, 'umask': 18, 'additionalGids': [5, 6]},\n"
    "    'args': ['sh', '-c', 'true'], 'env': ['PATH=/bin', 'TERM=xterm'],\n"
    "    'cwd': '/home',\n"
    "    'capabilities': {'bounding': ['CAP_KILL', 'CAP_CHOWN'], 'effective': ['CAP_KILL'],\n"
    "                     'ambient': []},\n"
    "    'rlimits': [{'type': 'RLIMIT_NOFILE', 'soft': 1024, 'hard': 4096},\n"
    "                {'type': 'RLIMIT_CORE', 'soft': 18446744073709551615,\n"
    "                 'hard': 18446744073709551615}],\n"
    "    'noNewPrivileges': true, 'apparmorProfile': 'unconfined',\n"
    "    'selinuxLabel': 'system_u:system_r:container_t:s0', 'oomScoreAdj': -500,\n"
    "    'ioPriority': {'class': 'IOPRIO_CLASS_BE', 'priority': 4},\n"
    "    'scheduler': {'policy': 'SCHED_BATCH', 'nice': 5,\n"
    "                  'flags': ['SCHED_FLAG_RESET_ON_FORK'],\n"
    "                  'runtime': 1, 'deadline': 2, 'period': 3},\n"
    "    'execCPUAffinity': {'initial': '7', 'final': '0-3,7'},\n"
    "    'someFutureField': {'ignored': true}\n"
    "  },\n"
    "  'hooks': {\n"
    "    'createRuntime': [{'path': '/bin/hook', 'args': ['hook', 'x'], 'env': ['A=1'],\n"
    "                       'timeout': 5}],\n"
    "    'poststop': [{'path': '/bin/true'}]\n"
    "  },\n"
    "  'annotations': {'org.example.key': 'value'},\n"
    "  'linux': {\n"
    "    'namespaces': [{'type': 'pid'}, {'type': 'network', 'path': '/run/netns/a'},\n"
    "                   {'type': 'mount'}, {'type': 'uts'}, {'type': 'user'},\n"
    "                   {'type': 'time'}],\n"
    "    'uidMappings': [{'containerID': 0, 'hostID': 100000, 'size': 65536}],\n"
    "    'gidMappings': [{'containerID': 0, 'hostID': 100000, 'size': 65536},\n"
    "                    {'containerID': 65536, 'hostID': 5, 'size': 1}],\n"
    "    'timeOffsets': {'monotonic': {'secs': -3600, 'nanosecs': 5}},\n"
    "    'devices': [{'type': 'c', 'path': '/dev/fuse', 'major': 10, 'minor': 229,\n"
    "                 'fileMode': 438, 'uid': 0}, {'type': 'p', 'path': '/dev/fifo'}],\n"
    "    'cgroupsPath': '/berth/web',\n"
    "    'resources': {'pids': {'limit': 100}, 'hugepageLimits': [{'pageSize': '2MB',\n"
    "                  'limit': 18446744073709551615}]},\n"
    "    'sysctl': {'net.ipv4.ip_forward': '1'},\n"
    "    'seccomp': {'defaultAction': 'SCMP_ACT_ERRNO', 'defaultErrnoRet': 1,\n"
    "                'architectures': ['SCMP_ARCH_X86_64'],\n"
    "                'flags': ['SECCOMP_FILTER_FLAG_LOG'],\n"
    "                'listenerPath': '/run/agent.sock', 'listenerMetadata': 'm',\n"
    "                'syscalls': [{'names': ['read', 'write'], 'action': 'SCMP_ACT_ALLOW'},\n"
    "                             {'names': ['personality'], 'action': 'SCMP_ACT_ERRNO',\n"
    "                              'errnoRet': 38, 'args': [{'index': 0,\n"
    "                              'value': 18446744073709551615, 'valueTwo': 7,\n"
    "                              'op': 'SCMP_CMP_MASKED_EQ'}]},\n"
    "                             {'names': ['mount'], 'action': 'SCMP_ACT_NOTIFY'}]},\n"
    "    'rootfsPropagation': 'rslave',\n"
    "    'maskedPaths': ['/proc/kcore'], 'readonlyPaths': ['/proc/sys', '/proc/bus'],\n"
    "    'mountLabel': 'system_u:object_r:container_file_t:s0',\n"
    "    'personality': {'domain': 'LINUX32', 'flags': []}\n"
    "  }\n"
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

static struct berth_spec *parse_ok(const char *text)
{
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *json = dq(text);
        struct berth_spec *s = NULL;
        int r = berth_spec_parse(json, strlen(json), "config.json", &s, &err);

        if (r < 0)
                print_error("unexpected error: %s\n", err ? err->msg : "(none)");
        assert_int_equal(r, 0);
        assert_non_null(s);
        return s;
}

/* Parses text, which must fail with EINVAL and a message containing each of the substrings. */
static void expect_error(const char *text, const char *sub1, const char *sub2)
{
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *json = dq(text);
        struct berth_spec *s = NULL;
        int r = berth_spec_parse(json, strlen(json), "config.json", &s, &err);

        if (r == 0)
                print_error("expected an error for: %s\n", json);
        assert_int_equal(r, -EINVAL);
        assert_null(s);
        assert_non_null(err);
        assert_int_equal(err->code, EINVAL);
        if (!strstr(err->msg, sub1) || (sub2 && !strstr(err->msg, sub2)))
                print_error("message \"%s\" lacks \"%s\" / \"%s\"\n", err->msg, sub1,
                            sub2 ? sub2 : "");
        assert_non_null(strstr(err->msg, sub1));
        if (sub2)
                assert_non_null(strstr(err->msg, sub2));
}

static void full_config_top(void **state)
{
        _autospec_ struct berth_spec *s = parse_ok(full_config);

        assert_string_equal(s->oci_version, "1.2.0");
        assert_string_equal(s->root_path, "rootfs");
        assert_true(s->root_readonly);
        assert_string_equal(s->hostname, "web");
        assert_string_equal(s->domainname, "example.org");
        assert_int_equal(s->n_mounts, 2);
        assert_string_equal(s->mounts[0].destination, "/proc");
        assert_string_equal(s->mounts[0].type, "proc");
        assert_non_null(s->mounts[0].options);
        assert_null(s->mounts[0].options[0]);
        assert_null(s->mounts[1].type);
        assert_string_equal(s->mounts[1].source, "/srv");
        assert_string_equal(s->mounts[1].options[1], "ro");
        assert_int_equal(s->mounts[1].n_uid_mappings, 1);
        assert_int_equal(s->mounts[1].uid_mappings[0].host_id, 100000);
        assert_int_equal(s->mounts[1].gid_mappings[0].size, 65536);
        assert_int_equal(s->hooks[BERTH_HOOK_CREATE_RUNTIME].n, 1);
        assert_string_equal(s->hooks[BERTH_HOOK_CREATE_RUNTIME].v[0].path, "/bin/hook");
        assert_string_equal(s->hooks[BERTH_HOOK_CREATE_RUNTIME].v[0].args[1], "x");
        assert_string_equal(s->hooks[BERTH_HOOK_CREATE_RUNTIME].v[0].env[0], "A=1");
        assert_int_equal(s->hooks[BERTH_HOOK_CREATE_RUNTIME].v[0].timeout, 5);
        assert_int_equal(s->hooks[BERTH_HOOK_POSTSTOP].n, 1);
        assert_null(s->hooks[BERTH_HOOK_POSTSTOP].v[0].args);
        assert_int_equal(s->hooks[BERTH_HOOK_POSTSTOP].v[0].timeout, 0);
        assert_int_equal(s->hooks[BERTH_HOOK_PRESTART].n, 0);
        assert_int_equal(s->n_annotations, 1);
        assert_string_equal(s->annotations[0].key, "org.example.key");
        assert_string_equal(s->annotations[0].value, "value");
}

static void full_config_process(void **state)
{
        _autospec_ struct berth_spec *s = parse_ok(full_config);
        const struct berth_process *p = &s->process;

        assert_true(s->has_process);
        assert_true(p->terminal);
        assert_true(p->has_console_size);
        assert_int_equal(p->console_height, 25);
        assert_int_equal(p->console_width, 80);
        assert_int_equal(p->uid, 1000);
        assert_int_equal(p->gid, 1001);
        assert_int_equal(p->umask, 18);
        assert_int_equal(p->n_additional_gids, 2);
        assert_int_equal(p->additional_gids[1], 6);
        assert_int_equal(strv_length(p->args), 3);
        assert_string_equal(p->args[2], "true");
        assert_string_equal(p->env[1], "TERM=xterm");
        assert_string_equal(p->cwd, "/home");
        assert_true(p->has_caps);
        assert_true(p->caps.has[BERTH_CAP_BOUNDING]);
        assert_int_equal(p->caps.set[BERTH_CAP_BOUNDING], (1ULL << 5) | (1ULL << 0));
        assert_int_equal(p->caps.set[BERTH_CAP_EFFECTIVE], 1ULL << 5);
        assert_false(p->caps.has[BERTH_CAP_PERMITTED]);
        assert_true(p->caps.has[BERTH_CAP_AMBIENT]);
        assert_int_equal(p->caps.set[BERTH_CAP_AMBIENT], 0);
        assert_int_equal(p->n_rlimits, 2);
        assert_int_equal(p->rlimits[0].resource, RLIMIT_NOFILE);
        assert_string_equal(p->rlimits[0].type, "RLIMIT_NOFILE");
        assert_int_equal(p->rlimits[0].soft, 1024);
        assert_int_equal(p->rlimits[0].hard, 4096);
        assert_true(p->rlimits[1].soft == UINT64_MAX && p->rlimits[1].hard == UINT64_MAX);
        assert_true(p->no_new_privileges);
        assert_string_equal(p->apparmor_profile, "unconfined");
        assert_string_equal(p->selinux_label, "system_u:system_r:container_t:s0");
        assert_true(p->has_oom_score_adj);
        assert_int_equal(p->oom_score_adj, -500);
        assert_true(p->has_io_priority);
        assert_int_equal(p->io_priority_class, IOPRIO_CLASS_BE);
        assert_int_equal(p->io_priority, 4);
        assert_true(p->scheduler.set);
        assert_int_equal(p->scheduler.policy, SCHED_BATCH);
        assert_int_equal(p->scheduler.nice, 5);
        assert_int_equal(p->scheduler.flags, 1);
        assert_int_equal(p->scheduler.period, 3);
        assert_string_equal(p->exec_cpu_affinity_initial, "7");
        assert_string_equal(p->exec_cpu_affinity_final, "0-3,7");
}

static void full_config_linux(void **state)
{
        _autospec_ struct berth_spec *s = parse_ok(full_config);
        const struct berth_linux *lx = &s->lx;

        assert_true(lx->ns[BERTH_NS_PID].enabled);
        assert_null(lx->ns[BERTH_NS_PID].path);
        assert_string_equal(lx->ns[BERTH_NS_NET].path, "/run/netns/a");
        assert_false(lx->ns[BERTH_NS_IPC].enabled);
        assert_true(lx->ns[BERTH_NS_TIME].enabled);
        assert_int_equal(lx->n_uid_mappings, 1);
        assert_int_equal(lx->n_gid_mappings, 2);
        assert_int_equal(lx->gid_mappings[1].container_id, 65536);
        assert_true(lx->time_monotonic.set);
        assert_int_equal(lx->time_monotonic.secs, -3600);
        assert_int_equal(lx->time_monotonic.nanosecs, 5);
        assert_false(lx->time_boottime.set);
        assert_int_equal(lx->n_devices, 2);
        assert_int_equal(lx->devices[0].type, 'c');
        assert_int_equal(lx->devices[0].major, 10);
        assert_int_equal(lx->devices[0].minor, 229);
        assert_true(lx->devices[0].has_file_mode && lx->devices[0].has_uid);
        assert_false(lx->devices[0].has_gid);
        assert_int_equal(lx->devices[0].file_mode, 0666);
        assert_int_equal(lx->devices[1].type, 'p');
        assert_string_equal(lx->cgroups_path, "/berth/web");
        assert_string_equal(lx->resources_json,
                            "{\"pids\":{\"limit\":100},\"hugepageLimits\":[{\"pageSize\":\"2MB\","
                            "\"limit\":18446744073709551615}]}");
        assert_int_equal(lx->n_sysctl, 1);
        assert_string_equal(lx->sysctl[0].key, "net.ipv4.ip_forward");
        assert_int_equal(lx->rootfs_propagation, MS_SLAVE | MS_REC);
        assert_string_equal(lx->masked_paths[0], "/proc/kcore");
        assert_null(lx->masked_paths[1]);
        assert_int_equal(strv_length(lx->readonly_paths), 2);
        assert_string_equal(lx->mount_label, "system_u:object_r:container_file_t:s0");
        assert_true(lx->has_personality);
        assert_int_equal(lx->personality, PER_LINUX32);
}

static void full_config_seccomp(void **state)
{
        _autospec_ struct berth_spec *s = parse_ok(full_config);
        const struct berth_seccomp *sc = s->lx.seccomp;

        assert_non_null(sc);
        assert_int_equal(sc->default_action, BERTH_SCMP_ERRNO);
        assert_true(sc->has_default_errno_ret);
        assert_int_equal(sc->default_errno_ret, 1);
        assert_string_equal(sc->architectures[0], "SCMP_ARCH_X86_64");
        assert_string_equal(sc->flags[0], "SECCOMP_FILTER_FLAG_LOG");
        assert_string_equal(sc->listener_path, "/run/agent.sock");
        assert_string_equal(sc->listener_metadata, "m");
        assert_int_equal(sc->n_syscalls, 3);
        assert_string_equal(sc->syscalls[0].names[1], "write");
        assert_int_equal(sc->syscalls[0].action, BERTH_SCMP_ALLOW);
        assert_false(sc->syscalls[0].has_errno_ret);
        assert_int_equal(sc->syscalls[1].errno_ret, 38);
        assert_int_equal(sc->syscalls[1].n_args, 1);
        assert_true(sc->syscalls[1].args[0].value == UINT64_MAX);
        assert_int_equal(sc->syscalls[1].args[0].value_two, 7);
        assert_int_equal(sc->syscalls[1].args[0].op, BERTH_SCMP_CMP_MASKED_EQ);
        assert_int_equal(sc->syscalls[2].action, BERTH_SCMP_NOTIFY);
}

static void minimal_config(void **state)
{
        _autospec_ struct berth_spec *s = parse_ok("{" ROOT "}");

        assert_false(s->has_process);
        assert_int_equal(s->process.umask, -1);
        assert_null(s->oci_version);
        assert_int_equal(s->n_mounts, 0);
        assert_null(s->lx.seccomp);
        assert_null(s->lx.resources_json);
        assert_non_null(s->lx.masked_paths);
        assert_null(s->lx.masked_paths[0]);
        assert_non_null(s->lx.readonly_paths);
        assert_int_equal(s->lx.rootfs_propagation, 0);
        assert_false(s->lx.has_personality);
}

static void nulls_are_absent(void **state)
{
        _autospec_ struct berth_spec *s =
            parse_ok("{" ROOT ", 'hooks': null, 'mounts': null, 'linux': "
                     "{'namespaces': null, 'maskedPaths': null}, 'process': {'args': "
                     "['x'], 'cwd': '/', 'env': null}}");

        assert_non_null(s->process.env);
        assert_null(s->process.env[0]);
        assert_non_null(s->lx.masked_paths);
}

static void relative_mount_destination(void **state)
{
        _autospec_ struct berth_spec *s =
            parse_ok("{" ROOT ", 'mounts': [{'destination': 'tmp/x', 'type': 'tmpfs'}]}");

        assert_string_equal(s->mounts[0].destination, "/tmp/x");
}

static void syntax_errors(void **state)
{
        expect_error("{\n  'root': {'path': 'r'},\n  'hostname': x\n}",
                     "config.json:3:15: ", "invalid token near 'x'");
        expect_error("{'root': {'path': 'r'}, 'root': {}}",
                     "config.json:1:", "duplicate object key near '\"root\"'");
        expect_error("", "config.json:1:0: ", "expected near end of file");
        expect_error("[1, 2]", "config.json: expected a JSON object, got array", NULL);
        expect_error("{'root': {'path': 'r'}, 'hostname': 'a\\u0000b'}",
                     "config.json:1:", "\\u0000 is not allowed in strings");
        /* an error after a rewritten big integer keeps its column */
        expect_error("{'a': 18446744073709551615, ]", "config.json:1:29: ", NULL);
        expect_error("{'a': 99999999999999999999}",
                     "config.json:1:", "too big integer near '99999999999999999999'");
}

static void type_errors(void **state)
{
        expect_error("{" ROOT ", 'process': {'args': 5, 'cwd': '/'}}",
                     "config.json: process.args: expected an array of strings, got integer", NULL);
        expect_error("{" ROOT ", 'process': {'args': ['a', true], 'cwd': '/'}}",
                     "config.json: process.args[1]: expected a string, got boolean", NULL);
        expect_error("{" ROOT ", 'hostname': ['x']}",
                     "config.json: hostname: expected a string, got array", NULL);
        expect_error("{'root': 'rootfs'}", "config.json: root: expected an object, got string",
                     NULL);
        expect_error("{" ROOT ", 'process': {'args': ['a'], 'cwd': '/', 'terminal': 1}}",
                     "process.terminal: expected a boolean, got integer", NULL);
        expect_error("{" ROOT ", 'process': {'args': ['a'], 'cwd': '/', 'oomScoreAdj': 1.5}}",
                     "process.oomScoreAdj: expected an integer, got number", NULL);
        expect_error("{" ROOT ", 'annotations': {'org.example': 1}}",
                     "annotations[\"org.example\"]: expected a string, got integer", NULL);
        expect_error("{" ROOT ", 'process': {'args': ['a'], 'cwd': '/', 'user': {'uid': "
                     "18446744073709551615}}}",
                     "process.user.uid: 18446744073709551615 is out of range", NULL);
        expect_error("{" ROOT ", 'hostname': 18446744073709551615}",
                     "hostname: expected a string, got integer", NULL);
}

static void missing_and_empty(void **state)
{
        expect_error("{}", "config.json: root: required field is missing", NULL);
        expect_error("{'root': {}}", "config.json: root.path: required field is missing", NULL);
        expect_error("{" ROOT ", 'process': {'cwd': '/'}}",
                     "process.args: required field is missing", NULL);
        expect_error("{" ROOT ", 'process': {'args': [], 'cwd': '/'}}",
                     "process.args: must not be empty", NULL);
        expect_error("{" ROOT ", 'process': {'args': ['a']}}",
                     "process.cwd: required field is missing", NULL);
        expect_error("{" ROOT ", 'process': {'args': ['a'], 'cwd': 'home'}}",
                     "process.cwd: \"home\" is not an absolute path", NULL);
        expect_error("{" ROOT ", 'mounts': [{'type': 'tmpfs'}]}",
                     "mounts[0].destination: required field is missing", NULL);
        expect_error("{" ROOT ", 'linux': {'devices': [{'type': 'c', 'path': '/dev/x', "
                     "'major': 1}]}}",
                     "linux.devices[0].minor: required field is missing", NULL);
}

#define PROC(x) "{" ROOT ", 'process': {'args': ['a'], 'cwd': '/', " x "}}"

static void process_errors(void **state)
{
        expect_error(PROC("'rlimits': [{'type': 'RLIMIT_FOO', 'soft': 1, 'hard': 1}]"),
                     "process.rlimits[0].type: unknown rlimit type \"RLIMIT_FOO\"", NULL);
        expect_error(PROC("'rlimits': [{'type': 'RLIMIT_NOFILE', 'soft': 10, 'hard': 5}]"),
                     "process.rlimits[0]: soft limit 10 is above the hard limit 5", NULL);
        expect_error(PROC("'rlimits': [{'type': 'RLIMIT_NOFILE', 'soft': 1, 'hard': 5}, "
                          "{'type': 'RLIMIT_NOFILE', 'soft': 1, 'hard': 5}]"),
                     "process.rlimits[1].type: duplicate rlimit \"RLIMIT_NOFILE\"", NULL);
        expect_error(PROC("'oomScoreAdj': 1001"),
                     "process.oomScoreAdj: 1001 is out of range (-1000..1000)", NULL);
        expect_error(PROC("'ioPriority': {'class': 'IOPRIO_CLASS_X', 'priority': 1}"),
                     "process.ioPriority.class: unknown I/O priority class \"IOPRIO_CLASS_X\"",
                     NULL);
        expect_error(PROC("'ioPriority': {'class': 'IOPRIO_CLASS_RT', 'priority': 8}"),
                     "process.ioPriority.priority: 8 is out of range (0..7)", NULL);
        expect_error(PROC("'scheduler': {'policy': 'SCHED_X'}"),
                     "process.scheduler.policy: unknown scheduling policy \"SCHED_X\"", NULL);
        expect_error(PROC("'scheduler': {'policy': 'SCHED_FIFO', 'flags': ['SCHED_FLAG_X']}"),
                     "process.scheduler.flags[0]: unknown scheduler flag \"SCHED_FLAG_X\"", NULL);
        expect_error(PROC("'execCPUAffinity': {'initial': '3-1'}"),
                     "process.execCPUAffinity.initial: invalid CPU list \"3-1\"", NULL);
        expect_error(PROC("'user': {'umask': 512}"), "process.user.umask: 512 is out of range",
                     NULL);
        expect_error(PROC("'user': {'additionalGids': [1, -2]}"),
                     "process.user.additionalGids[1]: -2 is out of range (0..4294967295)", NULL);
}

static char cap_warnings[1024];

static void keep_cap_warning(enum berth_log_level level, const char *msg, void *userdata)
{
        size_t n = strlen(cap_warnings);

        if (level == BERTH_LOG_WARN)
                snprintf(cap_warnings + n, sizeof(cap_warnings) - n, "%s\n", msg);
}

/* runtime-spec: runtimes SHOULD NOT fail on capabilities that cannot be granted. Each unknown
 * name is left out with one warning that names it and its sets. */
static void unknown_caps_warn(void **state)
{
        struct berth_spec *s;

        cap_warnings[0] = '\0';
        berth_log_set_handler(keep_cap_warning, NULL);
        s = parse_ok(PROC("'capabilities': {'bounding': ['CAP_KILL', 'CAP_FOO', 'CAP_CHOWN'], "
                          "'permitted': ['CAP_FOO', 'CAP_KILL'], 'ambient': ['cap_bar']}"));
        berth_log_set_handler(NULL, NULL);
        assert_string_equal(cap_warnings, "process.capabilities: unknown capability \"CAP_FOO\" "
                                          "(in bounding, permitted), ignoring\n"
                                          "process.capabilities: unknown capability \"cap_bar\" "
                                          "(in ambient), ignoring\n");
        assert_true(s->process.caps.has[BERTH_CAP_AMBIENT]);
        assert_true(s->process.caps.set[BERTH_CAP_AMBIENT] == 0);
        assert_true(s->process.caps.set[BERTH_CAP_BOUNDING] ==
                    ((UINT64_C(1) << CAP_KILL) | (UINT64_C(1) << CAP_CHOWN)));
        assert_true(s->process.caps.set[BERTH_CAP_PERMITTED] == (UINT64_C(1) << CAP_KILL));
        berth_spec_free(s);
}

static void hook_and_mount_errors(void **state)
{
        expect_error("{" ROOT ", 'hooks': {'prestart': [{'path': 'hook'}]}}",
                     "hooks.prestart[0].path: \"hook\" is not an absolute path", NULL);
        expect_error("{" ROOT ", 'hooks': {'poststop': [{'path': '/h', 'timeout': 0}]}}",
                     "hooks.poststop[0].timeout: 0 is out of range", NULL);
        expect_error("{" ROOT ", 'hooks': {'poststart': {'path': '/h'}}}",
                     "hooks.poststart: expected an array, got object", NULL);
        expect_error("{" ROOT ", 'mounts': [{'destination': '/x', 'uidMappings': "
                     "[{'containerID': 0, 'hostID': 1, 'size': 1}]}]}",
                     "mounts[0].gidMappings: required together with uidMappings", NULL);
}

#define LX(x) "{" ROOT ", 'linux': {" x "}}"

static void linux_errors(void **state)
{
        expect_error(LX("'namespaces': [{'type': 'pid'}, {'type': 'uts'}, {'type': 'foo'}]"),
                     "config.json: linux.namespaces[2].type: unknown namespace type \"foo\"", NULL);
        expect_error(LX("'namespaces': [{'type': 'pid'}, {'type': 'pid'}]"),
                     "linux.namespaces[1].type: duplicate namespace type \"pid\"", NULL);
        expect_error(LX("'namespaces': [{'type': 'net'}]"), "unknown namespace type \"net\"", NULL);
        expect_error(LX("'namespaces': [{'type': 'network', 'path': 'netns'}]"),
                     "linux.namespaces[0].path: \"netns\" is not an absolute path", NULL);
        expect_error(LX("'timeOffsets': {'boottime': {'secs': 1}}"),
                     "linux.timeOffsets: requires a new time namespace", NULL);
        expect_error(LX("'namespaces': [{'type': 'time'}], 'timeOffsets': {'realtime': {}}"),
                     "linux.timeOffsets: unknown clock \"realtime\"", NULL);
        expect_error(LX("'devices': [{'type': 'x', 'path': '/dev/x'}]"),
                     "linux.devices[0].type: unknown device type \"x\"", NULL);
        expect_error(LX("'devices': [{'type': 'b', 'path': '/dev/x', 'major': 1, "
                        "'minor': -1}]"),
                     "linux.devices[0].minor: -1 is out of range", NULL);
        expect_error(LX("'resources': []"), "linux.resources: expected an object, got array", NULL);
        expect_error(LX("'sysctl': {'kernel.msgmax': 1}"),
                     "linux.sysctl[\"kernel.msgmax\"]: expected a string, got integer", NULL);
        expect_error(LX("'rootfsPropagation': 'rshare'"),
                     "linux.rootfsPropagation: unknown propagation \"rshare\"", NULL);
        expect_error(LX("'maskedPaths': ['proc/kcore']"),
                     "linux.maskedPaths[0]: \"proc/kcore\" is not an absolute path", NULL);
        expect_error(LX("'personality': {'domain': 'LINUX64'}"),
                     "linux.personality.domain: unknown personality domain \"LINUX64\"", NULL);
        expect_error(LX("'personality': {'domain': 'LINUX', 'flags': ['SHORT_INODE']}"),
                     "linux.personality.flags[0]: unknown personality flag \"SHORT_INODE\"", NULL);
        /* set, intelRdt asks for a resctrl group: berth has none to give */
        expect_error(LX("'intelRdt': {'closID': 'guaranteed_group'}"),
                     "linux.intelRdt: Intel RDT (resctrl) is not supported", NULL);
        expect_error(LX("'intelRdt': {}"), "linux.intelRdt: Intel RDT (resctrl) is not supported",
                     NULL);
        expect_error(LX("'intelRdt': {'memBwSchema': 'L3:0=1'}"),
                     "linux.intelRdt.memBwSchema: \"L3:0=1\" must start with \"MB:\"", NULL);
        expect_error(LX("'intelRdt': {'closID': 5}"),
                     "linux.intelRdt.closID: expected a string, got integer", NULL);
        berth_spec_free(parse_ok(LX("'intelRdt': null")));
}

/* config.md: ociVersion "MUST be in SemVer v2.0.0 format"; a 2.x config is not a 1.x one. */
static void oci_version(void **state)
{
        static const char *const good[] = {"1.2.1",   "1.0.2-dev",     "1.0.0-rc2-dev",
                                           "0.1.0",   "1.1.0+build.7", "1.2.0-rc.1+x-y.2",
                                           "10.0.0-0"};
        static const char *const bad[] = {"",           "banana", "1",        "1.0",    "v1.0.0",
                                          "01.0.0",     "1.00.0", "1.0.0-",   "1.0.0+", "1.0.0-01",
                                          "1.0.0-a..b", "1.0.0 ", "1.0.0-a_b"};

        for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
                _autofree_ char *text = xasprintf("{" ROOT ", 'ociVersion': '%s'}", good[i]);
                _autoerr_ struct berth_error *err = NULL;
                _autofree_ char *json = dq(text);
                struct berth_spec *s = NULL;
                int r = berth_spec_parse(json, strlen(json), "config.json", &s, &err);

                if (startswith(good[i], "10."))
                        assert_non_null(strstr(err->msg, "runtime-spec 10.x is not supported"));
                else
                        assert_int_equal(r, 0);
                berth_spec_free(s);
        }
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
                _autofree_ char *text = xasprintf("{" ROOT ", 'ociVersion': '%s'}", bad[i]);

                expect_error(text, "config.json: ociVersion: ", "is not a SemVer 2.0.0 version");
        }
        expect_error("{" ROOT ", 'ociVersion': '2.0.0'}",
                     "ociVersion: \"2.0.0\": runtime-spec 2.x is not supported", NULL);
        expect_error("{" ROOT ", 'ociVersion': 1.2}", "ociVersion: expected a string, got number",
                     NULL);
}

/* config.md: "Keys MUST NOT be an empty string", "Values MUST be strings". */
static void annotation_errors(void **state)
{
        expect_error("{" ROOT ", 'annotations': {'a': 'b', '': 'x'}}",
                     "config.json: annotations: keys must not be empty", NULL);
        expect_error("{" ROOT ", 'annotations': {'n': 2}}",
                     "annotations.n: expected a string, got integer", NULL);
        expect_error("{" ROOT ", 'annotations': ['a']}",
                     "annotations: expected an object of strings, got array", NULL);
}

#define IDMAP "[{'containerID': 0, 'hostID': 1000, 'size': 1}]"

static void namespace_rules(void **state)
{
        expect_error("{" ROOT ", 'hostname': 'web'}",
                     "config.json: hostname: requires a new uts namespace (linux.namespaces)",
                     NULL);
        expect_error("{" ROOT ", 'domainname': 'example.org'}",
                     "domainname: requires a new uts namespace", NULL);
        expect_error(LX("'uidMappings': " IDMAP ", 'gidMappings': " IDMAP),
                     "linux.uidMappings: requires a new user namespace (linux.namespaces)", NULL);
        expect_error(LX("'namespaces': [{'type': 'user', 'path': '/proc/1/ns/user'}], "
                        "'uidMappings': " IDMAP),
                     "linux.uidMappings: cannot be used when joining the user namespace "
                     "\"/proc/1/ns/user\"",
                     NULL);
        expect_error(LX("'namespaces': [{'type': 'user'}], 'uidMappings': " IDMAP),
                     "linux.gidMappings: required for a new user namespace", NULL);
        expect_error(LX("'namespaces': [{'type': 'user'}], 'uidMappings': "
                        "[{'containerID': 0, 'hostID': 1, 'size': 0}]"),
                     "linux.uidMappings[0].size: must be greater than 0", NULL);
        expect_error(LX("'namespaces': [{'type': 'user'}], 'uidMappings': "
                        "[{'containerID': 4294967295, 'hostID': 1, 'size': 2}]"),
                     "linux.uidMappings[0].size: ", "go beyond 4294967295");
}

#define SC(x) LX("'seccomp': {" x "}")

static void seccomp_errors(void **state)
{
        expect_error(SC("'syscalls': []"), "linux.seccomp.defaultAction: required field is missing",
                     NULL);
        expect_error(SC("'defaultAction': 'SCMP_ACT_FOO'"),
                     "linux.seccomp.defaultAction: unknown seccomp action \"SCMP_ACT_FOO\"", NULL);
        expect_error(SC("'defaultAction': 'SCMP_ACT_ALLOW', 'defaultErrnoRet': 1"),
                     "linux.seccomp.defaultErrnoRet: only valid with SCMP_ACT_ERRNO or "
                     "SCMP_ACT_TRACE, not SCMP_ACT_ALLOW",
                     NULL);
        expect_error(SC("'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names': [], "
                        "'action': 'SCMP_ACT_ERRNO'}]"),
                     "linux.seccomp.syscalls[0].names: must not be empty", NULL);
        expect_error(SC("'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names': ['read'], "
                        "'action': 'SCMP_ACT_ERRNO', 'args': [{'index': 6, 'value': 1, "
                        "'op': 'SCMP_CMP_EQ'}]}]"),
                     "linux.seccomp.syscalls[0].args[0].index: 6 is out of range (0..5)", NULL);
        expect_error(SC("'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names': ['read'], "
                        "'action': 'SCMP_ACT_ERRNO', 'args': [{'index': 0, 'value': 1, "
                        "'op': 'SCMP_CMP_XX'}]}]"),
                     "linux.seccomp.syscalls[0].args[0].op: "
                     "unknown seccomp operator \"SCMP_CMP_XX\"",
                     NULL);
        expect_error(SC("'defaultAction': 'SCMP_ACT_ALLOW', 'syscalls': [{'names': ['read'], "
                        "'action': 'SCMP_ACT_NOTIFY'}]"),
                     "linux.seccomp.syscalls[0].action: SCMP_ACT_NOTIFY requires "
                     "linux.seccomp.listenerPath",
                     NULL);
        expect_error(SC("'defaultAction': 'SCMP_ACT_NOTIFY', 'listenerPath': '/s'"),
                     "SCMP_ACT_NOTIFY cannot be the default action", NULL);
        expect_error(SC("'defaultAction': 'SCMP_ACT_ALLOW', 'listenerMetadata': 'x'"),
                     "linux.seccomp.listenerMetadata: requires linux.seccomp.listenerPath", NULL);
}

static void huge_values(void **state)
{
        _autospec_ struct berth_spec *s = NULL;

        expect_error(PROC("'user': {'uid': 4294967296}"),
                     "config.json: process.user.uid: 4294967296 is out of range", NULL);
        expect_error(PROC("'user': {'gid': -1}"), "process.user.gid: -1 is out of range", NULL);
        expect_error(PROC("'consoleSize': {'height': 65536, 'width': 80}"),
                     "process.consoleSize.height: 65536 is out of range (0..65535)", NULL);
        expect_error(PROC("'rlimits': [{'type': 'RLIMIT_NOFILE', 'soft': 1, "
                          "'hard': 18446744073709551616}]"),
                     "config.json:1:", "too big integer near '18446744073709551616'");
        expect_error(PROC("'rlimits': [{'type': 'RLIMIT_NOFILE', 'soft': -1, 'hard': 1}]"),
                     "process.rlimits[0].soft: -1 is out of range (0..18446744073709551615)", NULL);
        expect_error(PROC("'scheduler': {'policy': 'SCHED_OTHER', 'nice': 2147483648}"),
                     "process.scheduler.nice: 2147483648 is out of range (-20..19)", NULL);
        expect_error("{" ROOT ", 'hooks': {'poststop': [{'path': '/h', 'timeout': "
                     "9223372036854775807}]}}",
                     "hooks.poststop[0].timeout: 9223372036854775807 is out of range", NULL);
        expect_error(LX("'devices': [{'type': 'c', 'path': '/dev/x', 'major': 4096, "
                        "'minor': 0}]"),
                     "linux.devices[0].major: 4096 is out of range (0..4095)", NULL);
        expect_error(LX("'namespaces': [{'type': 'time'}], 'timeOffsets': {'monotonic': "
                        "{'nanosecs': 1000000000}}"),
                     "linux.timeOffsets.monotonic.nanosecs: 1000000000 is out of range", NULL);
        expect_error(SC("'defaultAction': 'SCMP_ACT_ERRNO', 'defaultErrnoRet': 65536"),
                     "linux.seccomp.defaultErrnoRet: 65536 is out of range (0..65535)", NULL);
        expect_error(PROC("'oomScoreAdj': 1e400"), "config.json:1:", "real number overflow");
        s = parse_ok(PROC("'rlimits': [{'type': 'RLIMIT_AS', 'soft': 9223372036854775808, "
                          "'hard': 18446744073709551615}]"));
        assert_true(s->process.rlimits[0].soft == UINT64_C(9223372036854775808));
}

static void check_default(bool rootless)
{
        _autofree_ char *json = berth_spec_default_json(rootless, 1000, 1001);
        _autoerr_ struct berth_error *err = NULL;
        _autospec_ struct berth_spec *s = NULL;

        assert_non_null(json);
        assert_true(startswith(json, "{\n\t\"ociVersion\": \""));
        assert_int_equal(json[strlen(json) - 1], '}'); /* no final newline, as runc */
        assert_int_equal(berth_spec_parse(json, strlen(json), "config.json", &s, &err), 0);
        assert_string_equal(s->root_path, "rootfs");
        assert_true(s->root_readonly);
        assert_string_equal(s->process.args[0], "sh");
        assert_int_equal(s->process.rlimits[0].resource, RLIMIT_NOFILE);
        assert_int_equal(s->process.caps.set[BERTH_CAP_BOUNDING],
                         (1ULL << 29) | (1ULL << 5) | (1ULL << 10));
        assert_int_equal(s->n_mounts, 7);
        assert_int_equal(strv_length(s->lx.masked_paths), 10);
        assert_int_equal(strv_length(s->lx.readonly_paths), 5);
        assert_true(s->lx.ns[BERTH_NS_MNT].enabled);
        assert_int_equal(s->lx.ns[BERTH_NS_NET].enabled, !rootless);
        assert_int_equal(s->lx.ns[BERTH_NS_USER].enabled, rootless);
        if (rootless) {
                assert_null(s->lx.resources_json);
                assert_int_equal(s->lx.uid_mappings[0].host_id, 1000);
                assert_int_equal(s->lx.gid_mappings[0].host_id, 1001);
                assert_int_equal(s->lx.uid_mappings[0].container_id, 0);
                assert_int_equal(s->lx.uid_mappings[0].size, 1);
                assert_string_equal(s->mounts[5].source, "/sys");
        } else {
                assert_string_equal(s->lx.resources_json,
                                    "{\"devices\":[{\"allow\":false,\"access\":\"rwm\"}]}");
                assert_int_equal(s->lx.n_uid_mappings, 0);
                assert_string_equal(s->mounts[5].type, "sysfs");
        }
}

static void default_spec_parses_back(void **state)
{
        check_default(false);
        check_default(true);
}

static void default_spec_is_runc_format(void **state)
{
        _autofree_ char *json = berth_spec_default_json(false, 0, 0);

        assert_non_null(
            strstr(json, "\n\t\t\"user\": {\n\t\t\t\"uid\": 0,\n\t\t\t\"gid\": 0\n\t\t},"));
        assert_non_null(strstr(json, "\"hostname\": \"runc\","));
        assert_null(strstr(json, "    "));
}

static void hooks_round_trip(void **state)
{
        _autospec_ struct berth_spec *s = parse_ok(full_config);
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *json = NULL, *again = NULL;
        struct berth_hook_list l = {0};

        json = berth_hooks_to_json(&s->hooks[BERTH_HOOK_CREATE_RUNTIME]);
        assert_string_equal(json, "[{\"path\":\"/bin/hook\",\"args\":[\"hook\",\"x\"],"
                                  "\"env\":[\"A=1\"],\"timeout\":5}]");
        assert_int_equal(berth_hooks_from_json(json, &l, &err), 0);
        assert_int_equal(l.n, 1);
        assert_string_equal(l.v[0].path, "/bin/hook");
        assert_string_equal(l.v[0].args[0], "hook");
        assert_null(l.v[0].args[2]);
        assert_string_equal(l.v[0].env[0], "A=1");
        assert_int_equal(l.v[0].timeout, 5);
        again = berth_hooks_to_json(&l);
        assert_string_equal(json, again);
        berth_hook_list_clear(&l);
        assert_null(l.v);
        assert_int_equal(l.n, 0);

        free(json);
        json = berth_hooks_to_json(&s->hooks[BERTH_HOOK_PRESTART]);
        assert_string_equal(json, "[]");
        assert_int_equal(berth_hooks_from_json(json, &l, &err), 0);
        assert_int_equal(l.n, 0);
}

static void hooks_from_bad_json(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        struct berth_hook_list l = {0};

        assert_int_equal(berth_hooks_from_json("[{\"path\": \"rel\"}]", &l, &err), -EINVAL);
        assert_string_equal(err->msg, "hooks[0].path: \"rel\" is not an absolute path");
        assert_int_equal(berth_hooks_from_json("[{", &l, &err), -EINVAL);
        assert_non_null(strstr(err->msg, "hooks:1:"));
        assert_int_equal(berth_hooks_from_json("{}", &l, &err), -EINVAL);
        assert_string_equal(err->msg, "hooks: expected an array, got object");
        assert_null(l.v);
}

static void process_file(void **state)
{
        static const char ok[] = "{\"args\": [\"ls\"], \"cwd\": \"/tmp\", \"user\": {\"uid\": 7}}";
        static const char bad[] =
            "{\"args\": [\"ls\"], \"cwd\": \"/\", \"user\": {\"uid\": \"x\"}}";
        _autoerr_ struct berth_error *err = NULL;
        struct berth_process p = {0};

        assert_int_equal(berth_process_parse(ok, strlen(ok), "process.json", &p, &err), 0);
        assert_string_equal(p.args[0], "ls");
        assert_string_equal(p.cwd, "/tmp");
        assert_int_equal(p.uid, 7);
        assert_int_equal(p.umask, -1);
        assert_non_null(p.env);
        berth_process_clear(&p);
        assert_null(p.args);

        assert_int_equal(berth_process_parse(bad, strlen(bad), "process.json", &p, &err), -EINVAL);
        assert_string_equal(err->msg, "process.json: user.uid: expected an integer, got string");
        assert_null(p.args);
        assert_int_equal(berth_process_parse("[", 1, "p.json", &p, NULL), -EINVAL);
}

static void load_from_dir(void **state)
{
        char dir[] = "/tmp/test-spec-XXXXXX";
        static const char text[] = "{\"ociVersion\": \"1.2.0\", \"root\": {\"path\": \"rootfs\"}}";
        static const char unversioned[] = "{\"root\": {\"path\": \"rootfs\"}}";
        _autoerr_ struct berth_error *err = NULL;
        _autospec_ struct berth_spec *s = NULL;
        _autoclose_ int dfd = -EBADF;

        assert_non_null(mkdtemp(dir));
        dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(dfd >= 0);
        assert_int_equal(berth_spec_load(dfd, "config.json", &s, &err), -ENOENT);
        assert_non_null(strstr(err->msg, "config.json"));
        assert_int_equal(
            berth_write_file_atomic(dfd, "config.json", text, strlen(text), 0644, false, &err), 0);
        assert_int_equal(berth_spec_load(dfd, "config.json", &s, &err), 0);
        assert_string_equal(s->root_path, "rootfs");
        /* REQUIRED in a bundle's config, though fragments may leave it out */
        assert_int_equal(berth_write_file_atomic(dfd, "config.json", unversioned,
                                                 strlen(unversioned), 0644, false, &err),
                         0);
        berth_spec_freep(&s);
        assert_int_equal(berth_spec_load(dfd, "config.json", &s, &err), -EINVAL);
        assert_null(s);
        assert_string_equal(err->msg, "config.json: ociVersion: required field is missing (the "
                                      "runtime-spec version of the bundle, as \"1.2.0\")");
        assert_int_equal(unlinkat(dfd, "config.json", 0), 0);
        assert_int_equal(rmdir(dir), 0);
}

/* User-supplied strings in messages are escaped and cut short. */
static void long_values_are_quoted_and_cut(void **state)
{
        _autoerr_ struct berth_error *err = NULL;
        struct berth_spec *s = NULL;
        char json[2048], type[1024];
        const char *q;

        memset(type, 0, sizeof(type));
        for (size_t i = 0; i < 500; i++)
                memcpy(type + 2 * i, "\\n", 2);
        snprintf(json, sizeof(json),
                 "{\"root\": {\"path\": \"r\"}, \"linux\": {\"namespaces\": [{\"type\": \"%s\"}]}}",
                 type);
        assert_int_equal(berth_spec_parse(json, strlen(json), "config.json", &s, &err), -EINVAL);
        q = strstr(err->msg, "unknown namespace type \"\\n\\n");
        assert_non_null(q);
        assert_true(strlen(q) < 200);
        assert_string_equal(err->msg + strlen(err->msg) - 4, "...\"");
}

static void names(void **state)
{
        assert_string_equal(berth_hook_kind_name(BERTH_HOOK_PRESTART), "prestart");
        assert_string_equal(berth_hook_kind_name(BERTH_HOOK_START_CONTAINER), "startContainer");
        assert_null(berth_hook_kind_name(BERTH_HOOK__MAX));
        assert_null(berth_hook_kind_name(-1));
        assert_string_equal(berth_ns_type_name(BERTH_NS_NET), "network");
        assert_string_equal(berth_ns_proc_name(BERTH_NS_NET), "net");
        assert_string_equal(berth_ns_proc_name(BERTH_NS_MNT), "mnt");
        assert_int_equal(berth_ns_clone_flag(BERTH_NS_MNT), CLONE_NEWNS);
        assert_int_equal(berth_ns_clone_flag(BERTH_NS_TIME), CLONE_NEWTIME);
        assert_null(berth_ns_type_name(BERTH_NS__MAX));
        assert_int_equal(berth_ns_clone_flag(BERTH_NS__MAX), 0);
}

static void null_err_and_free(void **state)
{
        struct berth_spec *s = NULL;

        assert_int_equal(berth_spec_parse("{}", 2, NULL, &s, NULL), -EINVAL);
        assert_int_equal(berth_spec_parse("{", 1, NULL, &s, NULL), -EINVAL);
        assert_null(s);
        berth_spec_free(NULL);
        berth_process_clear(NULL);
        berth_hook_list_clear(NULL);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(full_config_top),
            cmocka_unit_test(full_config_process),
            cmocka_unit_test(full_config_linux),
            cmocka_unit_test(full_config_seccomp),
            cmocka_unit_test(minimal_config),
            cmocka_unit_test(oci_version),
            cmocka_unit_test(annotation_errors),
            cmocka_unit_test(nulls_are_absent),
            cmocka_unit_test(relative_mount_destination),
            cmocka_unit_test(syntax_errors),
            cmocka_unit_test(type_errors),
            cmocka_unit_test(missing_and_empty),
            cmocka_unit_test(process_errors),
            cmocka_unit_test(unknown_caps_warn),
            cmocka_unit_test(hook_and_mount_errors),
            cmocka_unit_test(linux_errors),
            cmocka_unit_test(namespace_rules),
            cmocka_unit_test(seccomp_errors),
            cmocka_unit_test(huge_values),
            cmocka_unit_test(default_spec_parses_back),
            cmocka_unit_test(default_spec_is_runc_format),
            cmocka_unit_test(hooks_round_trip),
            cmocka_unit_test(hooks_from_bad_json),
            cmocka_unit_test(process_file),
            cmocka_unit_test(load_from_dir),
            cmocka_unit_test(long_values_are_quoted_and_cut),
            cmocka_unit_test(names),
            cmocka_unit_test(null_err_and_free),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
