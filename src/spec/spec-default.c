/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The config.json that `berth-oci spec` writes: byte for byte what runc 1.1 `spec` writes
 * (Go's json.MarshalIndent with a tab, no final newline), and its --rootless variant (runc's
 * specconv.ToRootless: no network namespace, a user namespace mapping the caller to root,
 * /sys bind-mounted from the host, no devpts gid, no cgroup resources).
 */
#include <jansson.h>

#include "base/json.h"
#include "spec/spec.h"
#include "base/util.h"

/* What runc 1.1 writes; clients compare against it. */
#define DEFAULT_OCI_VERSION "1.0.2-dev"
#define DEFAULT_HOSTNAME "runc"

#define STRV(...) berth_json_strv((char *const[]){__VA_ARGS__, NULL})

static json_t *default_caps(void)
{
        static char *const caps[] = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE", NULL};

        return json_pack("{s:o, s:o, s:o, s:o}", "bounding", berth_json_strv(caps), "effective",
                         berth_json_strv(caps), "permitted", berth_json_strv(caps), "ambient",
                         berth_json_strv(caps));
}

static json_t *default_process(void)
{
        return json_pack(
            "{s:b, s:{s:i, s:i}, s:o, s:o, s:s, s:o, s:[{s:s, s:i, s:i}], s:b}", "terminal", 1,
            "user", "uid", 0, "gid", 0, "args", STRV("sh"), "env",
            STRV("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"),
            "cwd", "/", "capabilities", default_caps(), "rlimits", "type", "RLIMIT_NOFILE", "hard",
            1024, "soft", 1024, "noNewPrivileges", 1);
}

static json_t *mount_json(const char *dst, const char *type, const char *src, json_t *options)
{
        json_t *m = json_pack("{s:s, s:s, s:s}", "destination", dst, "type", type, "source", src);

        if (options)
                json_object_set_new(m, "options", options);
        return m;
}

static json_t *default_mounts(bool rootless)
{
        json_t *a = json_array();

        json_array_append_new(a, mount_json("/proc", "proc", "proc", NULL));
        json_array_append_new(a,
                              mount_json("/dev", "tmpfs", "tmpfs",
                                         STRV("nosuid", "strictatime", "mode=755", "size=65536k")));
        json_array_append_new(a,
                              mount_json("/dev/pts", "devpts", "devpts",
                                         rootless ? STRV("nosuid", "noexec", "newinstance",
                                                         "ptmxmode=0666", "mode=0620")
                                                  : STRV("nosuid", "noexec", "newinstance",
                                                         "ptmxmode=0666", "mode=0620", "gid=5")));
        json_array_append_new(
            a, mount_json("/dev/shm", "tmpfs", "shm",
                          STRV("nosuid", "noexec", "nodev", "mode=1777", "size=65536k")));
        json_array_append_new(
            a, mount_json("/dev/mqueue", "mqueue", "mqueue", STRV("nosuid", "noexec", "nodev")));
        /* without a network namespace of its own, a user namespace cannot mount sysfs */
        json_array_append_new(
            a, rootless
                   ? mount_json("/sys", "none", "/sys",
                                STRV("rbind", "nosuid", "noexec", "nodev", "ro"))
                   : mount_json("/sys", "sysfs", "sysfs", STRV("nosuid", "noexec", "nodev", "ro")));
        json_array_append_new(a, mount_json("/sys/fs/cgroup", "cgroup", "cgroup",
                                            STRV("nosuid", "noexec", "nodev", "relatime", "ro")));
        return a;
}

static json_t *namespaces_json(bool rootless)
{
        static const char *const types[] = {"pid", "network", "ipc", "uts", "mount", "user"};
        json_t *a = json_array();

        for (size_t i = 0; i < ARRAY_SIZE(types); i++) {
                bool is_net = streq(types[i], "network"), is_user = streq(types[i], "user");

                if ((rootless && is_net) || (!rootless && is_user))
                        continue;
                json_array_append_new(a, json_pack("{s:s}", "type", types[i]));
        }
        return a;
}

static json_t *id_map_json(unsigned id)
{
        return json_pack("[{s:i, s:I, s:i}]", "containerID", 0, "hostID", (json_int_t) id, "size",
                         1);
}

static json_t *default_linux(bool rootless, uid_t uid, gid_t gid)
{
        json_t *lx = json_object();

        if (rootless) {
                json_object_set_new(lx, "uidMappings", id_map_json(uid));
                json_object_set_new(lx, "gidMappings", id_map_json(gid));
        } else {
                json_object_set_new(
                    lx, "resources",
                    json_pack("{s:[{s:b, s:s}]}", "devices", "allow", 0, "access", "rwm"));
        }
        json_object_set_new(lx, "namespaces", namespaces_json(rootless));
        json_object_set_new(lx, "maskedPaths",
                            STRV("/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                                 "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                                 "/proc/sched_debug", "/sys/firmware", "/proc/scsi"));
        json_object_set_new(
            lx, "readonlyPaths",
            STRV("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"));
        return lx;
}

/* jansson indents with spaces only: indent by one space, then turn leading spaces into tabs
 * (strings never hold a raw newline, so every line start is indentation). */
static char *tabify(const char *s)
{
        char *out = xcalloc(strlen(s) + 1, 1), *o = out;
        bool line_start = true;

        for (; *s; s++) {
                if (line_start && *s == ' ') {
                        *o++ = '\t';
                        continue;
                }
                line_start = *s == '\n';
                *o++ = *s;
        }
        return out;
}

char *berth_spec_default_json(bool rootless, uid_t uid, gid_t gid)
{
        json_t *spec;
        char *text, *out;

        spec = json_pack("{s:s, s:o, s:{s:s, s:b}, s:s, s:o, s:o}", "ociVersion",
                         DEFAULT_OCI_VERSION, "process", default_process(), "root", "path",
                         "rootfs", "readonly", 1, "hostname", DEFAULT_HOSTNAME, "mounts",
                         default_mounts(rootless), "linux", default_linux(rootless, uid, gid));
        if (!spec)
                return NULL;
        text = json_dumps(spec, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
        json_decref(spec);
        if (!text)
                return NULL;
        out = tabify(text);
        free(text);
        return out;
}
