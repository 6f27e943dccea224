/* SPDX-License-Identifier: Apache-2.0 */
#include <sys/capability.h>
#include <sys/prctl.h>

#include "runtime/caps.h"
#include "base/log.h"
#include "base/util.h"

/* Capability bits this kernel knows: sets never carry bits above cap_last_cap. */
static uint64_t known_mask(void)
{
        int last = berth_cap_last_cap();

        return last >= 63 ? UINT64_MAX : (UINT64_C(1) << (last + 1)) - 1;
}

static const char *cap_label(int cap, char buf[static 16])
{
        const char *name = berth_cap_name(cap);

        if (name)
                return name;
        snprintf(buf, 16, "cap %d", cap);
        return buf;
}

bool berth_cap_is_effective(int cap)
{
        struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
        struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {0};

        if (cap < 0 || cap >= 32 * _LINUX_CAPABILITY_U32S_3 || capget(&hdr, data) < 0)
                return false;
        return data[cap / 32].effective & (UINT32_C(1) << (cap % 32));
}

static int drop_one(int cap, struct berth_error **err)
{
        char buf[16];
        int e;

        if (prctl(PR_CAPBSET_DROP, (unsigned long) cap, 0, 0, 0) == 0)
                return 0;
        e = errno;
        if (e == EPERM)
                return berth_error_setx(err, e,
                                        "drop %s from the bounding set: %s (needs CAP_SETPCAP)",
                                        cap_label(cap, buf), strerror(e));
        return berth_error_set(err, e, "drop %s from the bounding set", cap_label(cap, buf));
}

int berth_caps_drop_bounding(const struct berth_caps *caps, struct berth_error **err)
{
        uint64_t keep = caps->set[BERTH_CAP_BOUNDING], t = TRACE_T0();
        int last = berth_cap_last_cap(), dropped = 0;

        for (int cap = 0; cap <= last; cap++) {
                int r;

                if (keep & (UINT64_C(1) << cap))
                        continue;
                /* One syscall per capability on the start path: dropping one that is already
                 * gone succeeds too. */
                r = drop_one(cap, err);
                if (r < 0)
                        return r;
                dropped++;
        }
        if (dropped > 0)
                TRACE(t, "drop %d capabilities from the bounding set (keep 0x%llx)", dropped,
                      (unsigned long long) keep);
        return 0;
}

/* The ambient capabilities that can be raised: the kernel refuses one not in both the permitted
 * and the inheritable set. runc's own default spec asks for such ones (it lists no inheritable
 * set), and runc and crun leave them out silently; berth says so in its --debug trace. */
static uint64_t raisable_ambient(const struct berth_caps *caps)
{
        uint64_t allowed = caps->set[BERTH_CAP_PERMITTED] & caps->set[BERTH_CAP_INHERITABLE];
        uint64_t bad = caps->set[BERTH_CAP_AMBIENT] & ~allowed & known_mask();
        char buf[16];

        if (bad != 0)
                berth_log(BERTH_LOG_DEBUG,
                          "process.capabilities.ambient: %s%s not in both the permitted and the "
                          "inheritable set, ignoring",
                          cap_label(__builtin_ctzll(bad), buf),
                          (bad & (bad - 1)) ? " and others are" : " is");
        return caps->set[BERTH_CAP_AMBIENT] & allowed & known_mask();
}

static int set_caps(const struct berth_caps *caps, struct berth_error **err)
{
        struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
        struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {0};
        uint64_t mask = known_mask(), t = TRACE_T0();
        uint64_t eff = caps->set[BERTH_CAP_EFFECTIVE] & mask;
        uint64_t prm = caps->set[BERTH_CAP_PERMITTED] & mask;
        uint64_t inh = caps->set[BERTH_CAP_INHERITABLE] & mask;

        for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++) {
                data[i].effective = (uint32_t) (eff >> (32 * i));
                data[i].permitted = (uint32_t) (prm >> (32 * i));
                data[i].inheritable = (uint32_t) (inh >> (32 * i));
        }
        if (capset(&hdr, data) < 0)
                return berth_error_set(
                    err, errno, "capset effective=0x%llx permitted=0x%llx inheritable=0x%llx",
                    (unsigned long long) eff, (unsigned long long) prm, (unsigned long long) inh);
        TRACE(t, "capset effective=0x%llx permitted=0x%llx inheritable=0x%llx",
              (unsigned long long) eff, (unsigned long long) prm, (unsigned long long) inh);
        return 0;
}

static int set_ambient(uint64_t ambient, struct berth_error **err)
{
        uint64_t t = TRACE_T0();
        char buf[16];

        if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) {
                /* EINVAL: a kernel before 4.3 has no ambient set, so nothing to clear. */
                if (errno != EINVAL || ambient != 0)
                        return berth_error_set(err, errno, "clear the ambient capabilities");
                return 0;
        }
        for (int cap = 0; cap < 64; cap++) {
                if (!(ambient & (UINT64_C(1) << cap)))
                        continue;
                if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, (unsigned long) cap, 0, 0) < 0)
                        return berth_error_set(err, errno, "raise ambient capability %s",
                                               cap_label(cap, buf));
        }
        TRACE(t, "ambient capabilities 0x%llx", (unsigned long long) ambient);
        return 0;
}

int berth_caps_apply(const struct berth_caps *caps, struct berth_error **err)
{
        int r;

        r = set_caps(caps, err);
        if (r < 0)
                return r;
        return set_ambient(raisable_ambient(caps), err);
}

int berth_caps_set(const struct berth_caps *caps, struct berth_error **err)
{
        return set_caps(caps, err);
}
