/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth-oci features: what this runtime implements, in the runtime-spec's features.md structure,
 * shaped like runc's output.
 */
#include <seccomp.h>
#include <ctype.h>
#include <jansson.h>
#include <stdio.h>
#include <sys/utsname.h>

#include "spec/spec.h"
#include "runtime/container.h"
#include "oci.h"
#include "base/util.h"

/* The option names of config.json mounts that berth's mount option parser recognises. */
static const char *const mount_options[] = {
    "acl",          "async",       "atime",          "bind",
    "defaults",     "dev",         "diratime",       "dirsync",
    "exec",         "iversion",    "lazytime",       "loud",
    "mand",         "noacl",       "noatime",        "nodev",
    "nodiratime",   "noexec",      "noiversion",     "nolazytime",
    "nomand",       "norelatime",  "nostrictatime",  "nosuid",
    "nosymfollow",  "private",     "ratime",         "rbind",
    "rdev",         "rdiratime",   "relatime",       "remount",
    "rexec",        "rnoatime",    "rnodev",         "rnodiratime",
    "rnoexec",      "rnorelatime", "rnostrictatime", "rnosuid",
    "rnosymfollow", "ro",          "rprivate",       "rrelatime",
    "rro",          "rrw",         "rshared",        "rslave",
    "rstrictatime", "rsuid",       "rsymfollow",     "runbindable",
    "rw",           "shared",      "silent",         "slave",
    "strictatime",  "suid",        "symfollow",      "sync",
    "unbindable",
};

/* Candidates; only those the installed libseccomp resolves (by its own lower-case names, as
 * seccomp.c maps them) are listed. */
static const char *const seccomp_archs[] = {
    "SCMP_ARCH_AARCH64",  "SCMP_ARCH_ARM",         "SCMP_ARCH_LOONGARCH64", "SCMP_ARCH_M68K",
    "SCMP_ARCH_MIPS",     "SCMP_ARCH_MIPS64",      "SCMP_ARCH_MIPS64N32",   "SCMP_ARCH_MIPSEL",
    "SCMP_ARCH_MIPSEL64", "SCMP_ARCH_MIPSEL64N32", "SCMP_ARCH_PARISC",      "SCMP_ARCH_PARISC64",
    "SCMP_ARCH_PPC",      "SCMP_ARCH_PPC64",       "SCMP_ARCH_PPC64LE",     "SCMP_ARCH_RISCV64",
    "SCMP_ARCH_S390",     "SCMP_ARCH_S390X",       "SCMP_ARCH_SH",          "SCMP_ARCH_SHEB",
    "SCMP_ARCH_X32",      "SCMP_ARCH_X86",         "SCMP_ARCH_X86_64",
};

/* seccomp filter flags berth knows, with the libseccomp API level that makes each usable
 * (seccomp_api_get(3): 2 TSYNC, 3 LOG, 4 SPEC_ALLOW; the level includes a kernel probe).
 * WAIT_KILLABLE_RECV goes to seccomp(2) straight (libseccomp 2.5 has no attribute for it): the
 * kernel decides (Linux 5.19), so it is listed as supported from that release on. */
static const struct {
        const char *name;
        unsigned api;
} seccomp_flags[] = {
    {"SECCOMP_FILTER_FLAG_TSYNC", 2},
    {"SECCOMP_FILTER_FLAG_SPEC_ALLOW", 4},
    {"SECCOMP_FILTER_FLAG_LOG", 3},
    {"SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", 0},
};

/* Linux 5.19 or later (for the flags the kernel alone decides). */
static bool kernel_at_least_5_19(void)
{
        struct utsname u;
        unsigned major = 0, minor = 0;

        return uname(&u) == 0 && sscanf(u.release, "%u.%u", &major, &minor) == 2 &&
               (major > 5 || (major == 5 && minor >= 19));
}

static json_t *str_array(const char *const *v, size_t n)
{
        json_t *a = json_array();

        for (size_t i = 0; i < n; i++)
                json_array_append_new(a, json_string(v[i]));
        return a;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static json_t *hooks_json(void)
{
        json_t *a = json_array();

        for (int k = 0; k < BERTH_HOOK__MAX; k++)
                json_array_append_new(a, json_string(berth_hook_kind_name(k)));
        return a;
}

static json_t *namespaces_json(void)
{
        const char *names[BERTH_NS__MAX];

        for (int t = 0; t < BERTH_NS__MAX; t++)
                names[t] = berth_ns_type_name((enum berth_ns_type) t);
        qsort(names, BERTH_NS__MAX, sizeof(names[0]), cmp_str);
        return str_array(names, BERTH_NS__MAX);
}

static json_t *caps_json(void)
{
        json_t *a = json_array();
        const char *name;

        for (int cap = 0; (name = berth_cap_name(cap)); cap++)
                json_array_append_new(a, json_string(name));
        return a;
}

static bool arch_known(const char *name)
{
        char lower[32];
        size_t i = 0;

        for (const char *p = name + strlen("SCMP_ARCH_"); *p && i < sizeof(lower) - 1; p++)
                lower[i++] = (char) tolower((unsigned char) *p);
        lower[i] = '\0';
        return seccomp_arch_resolve_name(lower) != 0;
}

static json_t *seccomp_json(void)
{
        json_t *archs = json_array(), *known = json_array(), *supported = json_array();
        unsigned api = seccomp_api_get();

        for (size_t i = 0; i < ARRAY_SIZE(seccomp_archs); i++)
                if (arch_known(seccomp_archs[i]))
                        json_array_append_new(archs, json_string(seccomp_archs[i]));
        for (size_t i = 0; i < ARRAY_SIZE(seccomp_flags); i++) {
                bool ok =
                    seccomp_flags[i].api ? api >= seccomp_flags[i].api : kernel_at_least_5_19();

                json_array_append_new(known, json_string(seccomp_flags[i].name));
                if (ok)
                        json_array_append_new(supported, json_string(seccomp_flags[i].name));
        }
        return json_pack("{s:b, s:o, s:o, s:o, s:o, s:o}", "enabled", 1, "actions",
                         str_array(berth_seccomp_action_names, BERTH_SCMP__ACTIONS), "operators",
                         str_array(berth_seccomp_op_names, BERTH_SCMP_CMP__OPS), "archs", archs,
                         "knownFlags", known, "supportedFlags", supported);
}

/* intelRdt is refused (spec-linux.c), idmapped mounts are not made: both "enabled": false. */
static json_t *linux_json(void)
{
        return json_pack("{s:o, s:o, s:{s:b, s:b, s:b, s:b}, s:o, s:{s:b}, s:{s:b}, s:{s:b}, "
                         "s:{s:{s:b}}}",
                         "namespaces", namespaces_json(), "capabilities", caps_json(), "cgroup",
                         "v1", 1, "v2", 1, "systemd", 0, "systemdUser", 0, "seccomp",
                         seccomp_json(), "apparmor", "enabled", 0, "selinux", "enabled", 0,
                         "intelRdt", "enabled", 0, "mountExtensions", "idmap", "enabled", 0);
}

static json_t *annotations_json(void)
{
        const struct scmp_version *v = seccomp_version();
        char version[32] = "";

        if (v)
                snprintf(version, sizeof(version), "%u.%u.%u", v->major, v->minor, v->micro);
        return json_pack("{s:s, s:s}", "io.github.berth.version", BERTH_VERSION,
                         "io.github.seccomp.libseccomp.version", version);
}

static int cmd_features(const struct oci_global *g, const struct oci_args *a,
                        struct berth_error **err)
{
        _autofree_ char *text = NULL;
        json_t *f;

        f = json_pack("{s:s, s:s, s:o, s:o, s:o, s:o}", "ociVersionMin", "1.0.0", "ociVersionMax",
                      OCI_SPEC_VERSION, "hooks", hooks_json(), "mountOptions",
                      str_array(mount_options, ARRAY_SIZE(mount_options)), "linux", linux_json(),
                      "annotations", annotations_json());
        text = f ? json_dumps(f, JSON_INDENT(4)) : NULL;
        json_decref(f);
        if (!text)
                return berth_error_setx(err, ENOMEM, "features: out of memory");
        return oci_print_text(text, err);
}

const struct oci_command oci_cmd_features = {
    .name = "features",
    .summary = "show the enabled features",
    .usage = "",
    .description =
        "\nDESCRIPTION:\n"
        "   Show the enabled features.\n"
        "   The result is parsable as a JSON.\n"
        "   See https://github.com/opencontainers/runtime-spec/blob/main/features.md for the\n"
        "   type definition.\n",
    .min_args = 0,
    .max_args = 0,
    .run = cmd_features,
};
