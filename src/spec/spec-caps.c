/* SPDX-License-Identifier: Apache-2.0 */
/* Capability names, as config.json writes them, and their numbers on the running kernel. */
#include <fcntl.h>
#include <strings.h>

#include "base/util.h"
#include "spec/spec.h"

static const char *const cap_names[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

int berth_cap_last_cap(void)
{
        static int last = -1;
        _autofree_ char *buf = NULL;
        uint64_t v;

        if (last >= 0)
                return last;
        if (berth_read_file_at(AT_FDCWD, "/proc/sys/kernel/cap_last_cap", 64, &buf, NULL, NULL) ==
            0) {
                buf[strcspn(buf, "\n")] = '\0';
                if (parse_u64(buf, &v) == 0 && v < 64)
                        last = (int) v;
        }
        if (last < 0)
                last = (int) ARRAY_SIZE(cap_names) - 1;
        return last;
}

int berth_cap_from_name(const char *name)
{
        int last = berth_cap_last_cap();

        for (int i = 0; i < (int) ARRAY_SIZE(cap_names) && i <= last; i++)
                if (strcasecmp(name, cap_names[i]) == 0)
                        return i;
        return -EINVAL;
}

bool berth_cap_name_known(const char *name)
{
        for (size_t i = 0; i < ARRAY_SIZE(cap_names); i++)
                if (strcasecmp(name, cap_names[i]) == 0)
                        return true;
        return false;
}

const char *berth_cap_name(int cap)
{
        if (cap < 0 || cap >= (int) ARRAY_SIZE(cap_names))
                return NULL;
        return cap_names[cap];
}
