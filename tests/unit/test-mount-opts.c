/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/mount.h>
#include <cmocka.h>

#include "runtime/rootfs-internal.h"
#include "runtime/rootfs.h"
#include "base/util.h"

static void parse(struct berth_mount_flags *f, ...)
{
        char *opts[64];
        size_t n = 0;
        va_list ap;

        va_start(ap, f);
        while (n < ARRAY_SIZE(opts) - 1 && (opts[n] = va_arg(ap, char *)))
                n++;
        va_end(ap);
        opts[n] = NULL;
        assert_int_equal(berth_mount_parse_options(opts, f, NULL), 0);
}

static const struct {
        const char *opt;
        unsigned long set, clear;
} flag_table[] = {
    {"ro", MS_RDONLY, 0},
    {"rw", 0, MS_RDONLY},
    {"nosuid", MS_NOSUID, 0},
    {"suid", 0, MS_NOSUID},
    {"nodev", MS_NODEV, 0},
    {"dev", 0, MS_NODEV},
    {"noexec", MS_NOEXEC, 0},
    {"exec", 0, MS_NOEXEC},
    {"sync", MS_SYNCHRONOUS, 0},
    {"async", 0, MS_SYNCHRONOUS},
    {"dirsync", MS_DIRSYNC, 0},
    {"remount", MS_REMOUNT, 0},
    {"mand", MS_MANDLOCK, 0},
    {"nomand", 0, MS_MANDLOCK},
    {"noatime", MS_NOATIME, 0},
    {"atime", 0, MS_NOATIME},
    {"nodiratime", MS_NODIRATIME, 0},
    {"diratime", 0, MS_NODIRATIME},
    {"relatime", MS_RELATIME, 0},
    {"norelatime", 0, MS_RELATIME},
    {"strictatime", MS_STRICTATIME, 0},
    {"nostrictatime", 0, MS_STRICTATIME},
    {"lazytime", MS_LAZYTIME, 0},
    {"nolazytime", 0, MS_LAZYTIME},
    {"acl", MS_POSIXACL, 0},
    {"noacl", 0, MS_POSIXACL},
    {"iversion", MS_I_VERSION, 0},
    {"noiversion", 0, MS_I_VERSION},
    {"silent", MS_SILENT, 0},
    {"loud", 0, MS_SILENT},
    {"nosymfollow", MS_NOSYMFOLLOW, 0},
    {"symfollow", 0, MS_NOSYMFOLLOW},
    {"defaults", 0, 0},
};

static void every_flag(void **state)
{
        for (size_t i = 0; i < ARRAY_SIZE(flag_table); i++) {
                struct berth_mount_flags f;

                parse(&f, flag_table[i].opt, NULL);
                if (f.flags != flag_table[i].set || f.clear != flag_table[i].clear || f.data)
                        fail_msg("option %s: flags 0x%lx clear 0x%lx", flag_table[i].opt, f.flags,
                                 f.clear);
                assert_int_equal(f.propagation, 0);
                assert_false(f.bind || f.rbind);
        }
}

static void later_options_win(void **state)
{
        struct berth_mount_flags f;

        parse(&f, "ro", "nosuid", "rw", NULL);
        assert_int_equal(f.flags, MS_NOSUID);
        assert_int_equal(f.clear, MS_RDONLY);
        parse(&f, "rw", "ro", NULL);
        assert_int_equal(f.flags, MS_RDONLY);
        assert_int_equal(f.clear, 0);
}

static void propagation(void **state)
{
        static const struct {
                const char *opt;
                unsigned long v;
        } t[] = {
            {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
            {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
            {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
            {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
        };
        struct berth_mount_flags f;

        for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
                parse(&f, t[i].opt, NULL);
                assert_int_equal(f.propagation, t[i].v);
                assert_int_equal(f.flags, 0);
                assert_null(f.data);
        }
        parse(&f, "rshared", "rslave", NULL);
        assert_int_equal(f.propagation, MS_SLAVE | MS_REC);
}

static void bind_and_extensions(void **state)
{
        struct berth_mount_flags f;

        parse(&f, "bind", NULL);
        assert_true(f.bind);
        assert_false(f.rbind);
        assert_int_equal(f.flags, 0);
        parse(&f, "rbind", "ro", NULL);
        assert_true(f.rbind);
        assert_int_equal(f.flags, MS_RDONLY);
        parse(&f, "idmap", NULL);
        assert_true(f.idmap);
        parse(&f, "ridmap", NULL);
        assert_true(f.idmap);
        parse(&f, "tmpcopyup", NULL);
        assert_true(f.tmpcopyup);
        assert_null(f.data);
}

static void recursive_attrs(void **state)
{
        struct berth_mount_flags f;

        parse(&f, "rbind", "rro", "rnosuid", "rnodev", "rnoexec", "rnodiratime", "rnosymfollow",
              NULL);
        assert_int_equal(f.rec_attr_set, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                                             MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NODIRATIME |
                                             MOUNT_ATTR_NOSYMFOLLOW);
        assert_int_equal(f.rec_attr_clr, 0);
        parse(&f, "bind", "rro", "rrw", "rsuid", "rdev", "rexec", "rdiratime", "rsymfollow", NULL);
        assert_int_equal(f.rec_attr_set, 0);
        assert_int_equal(f.rec_attr_clr, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
                                             MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NODIRATIME |
                                             MOUNT_ATTR_NOSYMFOLLOW);
        parse(&f, "rbind", "rnoatime", NULL);
        assert_int_equal(f.rec_attr_set, MOUNT_ATTR_NOATIME);
        assert_int_equal(f.rec_attr_clr, MOUNT_ATTR__ATIME);
        parse(&f, "rbind", "rnoatime", "rstrictatime", NULL);
        assert_int_equal(f.rec_attr_set, MOUNT_ATTR_STRICTATIME);
        parse(&f, "rbind", "rstrictatime", "ratime", NULL);
        assert_int_equal(f.rec_attr_set, 0);
        assert_int_equal(f.rec_attr_clr, MOUNT_ATTR__ATIME);
        parse(&f, "rbind", "rrelatime", "rnorelatime", "rnostrictatime", NULL);
        assert_int_equal(f.rec_attr_set, MOUNT_ATTR_RELATIME);
        assert_int_equal(f.flags, 0);
        assert_null(f.data);
}

/* A new filesystem has no submounts: the recursive forms are its own flags at mount(2) time,
 * applied after the plain ones (runtime-spec: "rro" ... SHOULD be implemented). */
static void recursive_attrs_of_a_filesystem(void **state)
{
        struct berth_mount_flags f;

        parse(&f, "rro", "rnosuid", "rnodev", "rnoexec", "rnodiratime", "rnosymfollow", NULL);
        assert_int_equal(f.flags, MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NODIRATIME |
                                      MS_NOSYMFOLLOW);
        parse(&f, "ro", "nosuid", "rrw", "rsuid", NULL);
        assert_int_equal(f.flags, 0);
        assert_int_equal(f.clear & (MS_RDONLY | MS_NOSUID), MS_RDONLY | MS_NOSUID);
        parse(&f, "rrw", "ro", NULL);
        assert_int_equal(f.flags, 0); /* the recursive form acts last */
        parse(&f, "rnoatime", NULL);
        assert_int_equal(f.flags, MS_NOATIME);
        parse(&f, "noatime", "rstrictatime", NULL);
        assert_int_equal(f.flags, MS_STRICTATIME);
        parse(&f, "strictatime", "ratime", NULL);
        assert_int_equal(f.flags, MS_RELATIME);
        /* a bind mount keeps them for mount_setattr(2) AT_RECURSIVE */
        parse(&f, "bind", "rro", NULL);
        assert_int_equal(f.flags, 0);
        assert_int_equal(f.rec_attr_set, MOUNT_ATTR_RDONLY);
}

static void data_is_joined(void **state)
{
        struct berth_mount_flags f;

        parse(&f, "nosuid", "mode=755", "", "size=65536k", "noexec", "newinstance", NULL);
        assert_string_equal(f.data, "mode=755,size=65536k,newinstance");
        assert_int_equal(f.flags, MS_NOSUID | MS_NOEXEC);
        berth_mount_flags_clear(&f);
        assert_null(f.data);
        berth_mount_flags_clear(NULL);

        parse(&f, "mode=1777", NULL);
        assert_string_equal(f.data, "mode=1777");
        berth_mount_flags_clear(&f);

        assert_int_equal(berth_mount_parse_options(NULL, &f, NULL), 0);
        assert_int_equal(f.flags, 0);
        assert_null(f.data);
}

static void attrs_for_binds(void **state)
{
        struct berth_mount_flags f;
        uint64_t set, clr;
        char buf[128];

        parse(&f, "rbind", "ro", "nosuid", "nodev", "exec", NULL);
        berth_mount_flags_attrs(&f, &set, &clr);
        assert_int_equal(set, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV);
        assert_int_equal(clr, MOUNT_ATTR_NOEXEC);
        assert_string_equal(berth_mount_attrs_str(set, buf, sizeof(buf)), "ro,nosuid,nodev");

        parse(&f, "bind", "noatime", NULL);
        berth_mount_flags_attrs(&f, &set, &clr);
        assert_int_equal(set, MOUNT_ATTR_NOATIME);
        assert_int_equal(clr, MOUNT_ATTR__ATIME);

        parse(&f, "bind", "relatime", NULL);
        berth_mount_flags_attrs(&f, &set, &clr);
        assert_int_equal(set, MOUNT_ATTR_RELATIME);
        assert_int_equal(clr, MOUNT_ATTR__ATIME);

        /* flags that are not per-mount (sync, mand, ...) do not touch a bind */
        parse(&f, "bind", "sync", "rw", NULL);
        berth_mount_flags_attrs(&f, &set, &clr);
        assert_int_equal(set, 0);
        assert_int_equal(clr, MOUNT_ATTR_RDONLY);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(every_flag),      cmocka_unit_test(later_options_win),
            cmocka_unit_test(propagation),     cmocka_unit_test(bind_and_extensions),
            cmocka_unit_test(recursive_attrs), cmocka_unit_test(recursive_attrs_of_a_filesystem),
            cmocka_unit_test(data_is_joined),  cmocka_unit_test(attrs_for_binds),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
