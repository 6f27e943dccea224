/* SPDX-License-Identifier: Apache-2.0 */
/*
 * berth_cgroup_v1_apply() against a fake hierarchy: a temp dir per controller holding empty
 * regular files named like the kernel's, and a struct berth_cgroup whose fds point at them.
 * Never touches /sys/fs/cgroup.
 *
 * berth_cg_write() opens without O_TRUNC (the kernel's files need none), so a file written once
 * ends up holding exactly the value; files with a prefilled value are checked by prefix. The
 * order of writes across files comes from inotify (IN_CLOSE_WRITE, one event per write), and the
 * order of device rules from FIFOs: the test holds the read end open (O_RDWR), so each write
 * lands in the pipe in order.
 */
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "cgroup/cgroup-internal.h"
#include "base/log.h"
#include "spec/resources.h"
#include "base/util.h"

struct layout {
        const char *name; /* the hierarchy's controllers, "" for cgroup2 */
        const char *dir;
        const char *files; /* space-separated */
        const char *fifos;
};

/* What a 6.x kernel shows in a v1 leaf (with BFQ, without CFQ), plus a hybrid cgroup2 mount. */
static const struct layout layouts[] = {
    {"cpuset", "cpuset", "cpuset.cpus cpuset.mems", ""},
    {"devices", "devices", "", "devices.allow devices.deny"},
    {"memory", "memory",
     "memory.limit_in_bytes memory.memsw.limit_in_bytes memory.soft_limit_in_bytes "
     "memory.kmem.limit_in_bytes memory.kmem.tcp.limit_in_bytes memory.swappiness "
     "memory.oom_control memory.use_hierarchy memory.usage_in_bytes",
     ""},
    {"cpu,cpuacct", "cpu",
     "cpu.shares cpu.cfs_period_us cpu.cfs_quota_us cpu.cfs_burst_us cpu.rt_period_us "
     "cpu.rt_runtime_us cpu.idle",
     ""},
    {"pids", "pids", "pids.max", ""},
    {"blkio", "blkio",
     "blkio.bfq.weight blkio.bfq.weight_device blkio.throttle.read_bps_device "
     "blkio.throttle.write_bps_device blkio.throttle.read_iops_device "
     "blkio.throttle.write_iops_device",
     ""},
    {"hugetlb", "hugetlb",
     "hugetlb.2MB.limit_in_bytes hugetlb.2MB.rsvd.limit_in_bytes hugetlb.1GB.limit_in_bytes", ""},
    {"net_cls,net_prio", "net", "net_cls.classid", "net_prio.ifpriomap"},
    {"rdma", "rdma", "rdma.max", ""},
    {"name=systemd", "systemd", "", ""},
    {"", "unified", "cgroup.controllers hugetlb.2MB.max hugetlb.2MB.rsvd.max memory.high", ""},
};

#define MAX_FIFOS 8
#define MAX_DIRS 16

struct fake {
        char root[64];
        struct berth_cgroup *cg;
        char *fifo_name[MAX_FIFOS]; /* "devices/devices.allow" */
        int fifo_fd[MAX_FIFOS];
        size_t n_fifo;
        int journal; /* inotify */
        int wd[MAX_DIRS];
        const char *wd_dir[MAX_DIRS];
        size_t n_wd;
};

static char warnings[8192];

static void on_log(enum berth_log_level level, const char *msg, void *userdata)
{
        if (level != BERTH_LOG_WARN)
                return;
        strncat(warnings, msg, sizeof(warnings) - strlen(warnings) - 2);
        strcat(warnings, "\n");
}

static char *dq(const char *json)
{
        char *s = xstrdup(json);

        for (char *p = s; *p; p++)
                if (*p == '\'')
                        *p = '"';
        return s;
}

static bool has_word(const char *list, const char *word)
{
        _autofree_ char *copy = xstrdup(list);
        char *save = NULL;

        for (char *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
                if (streq(w, word))
                        return true;
        return false;
}

static void add_fifo(struct fake *f, const struct layout *l, int dfd, const char *name)
{
        assert_true(f->n_fifo < MAX_FIFOS);
        assert_int_equal(mkfifoat(dfd, name, 0600), 0);
        f->fifo_name[f->n_fifo] = xasprintf("%s/%s", l->dir, name);
        f->fifo_fd[f->n_fifo] = openat(dfd, name, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        assert_true(f->fifo_fd[f->n_fifo] >= 0);
        f->n_fifo++;
}

static void add_layout(struct fake *f, const struct layout *l)
{
        _autofree_ char *path = xasprintf("%s/%s", f->root, l->dir);
        _autofree_ char *files = xstrdup(l->files), *fifos = xstrdup(l->fifos);
        char *save = NULL;
        int dfd;

        assert_int_equal(mkdir(path, 0755), 0);
        dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        assert_true(dfd >= 0);
        for (char *n = strtok_r(files, " ", &save); n; n = strtok_r(NULL, " ", &save)) {
                int fd = openat(dfd, n, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

                assert_true(fd >= 0);
                close(fd);
        }
        for (char *n = strtok_r(fifos, " ", &save); n; n = strtok_r(NULL, " ", &save))
                add_fifo(f, l, dfd, n);
        f->cg->h = xreallocarray(f->cg->h, f->cg->n_h + 1, sizeof(*f->cg->h));
        f->cg->h[f->cg->n_h++] = (struct cg_hier){
            .name = xstrdup(l->name), .mount = steal_ptr(&path), .v2 = !*l->name, .fd = dfd};
        assert_true(f->n_wd < MAX_DIRS);
        f->wd[f->n_wd] =
            inotify_add_watch(f->journal, f->cg->h[f->cg->n_h - 1].mount, IN_CLOSE_WRITE);
        assert_true(f->wd[f->n_wd] >= 0);
        f->wd_dir[f->n_wd++] = l->dir;
}

/* A cgroup "/berth/test" with the hierarchies named in `dirs` ("memory cpu unified"). */
static struct fake *fake_new(const char *dirs)
{
        struct fake *f = xcalloc(1, sizeof(*f));

        warnings[0] = '\0';
        snprintf(f->root, sizeof(f->root), "/tmp/test-cgroup-v1-XXXXXX");
        assert_non_null(mkdtemp(f->root));
        f->journal = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        assert_true(f->journal >= 0);
        f->cg = xcalloc(1, sizeof(*f->cg));
        f->cg->path = xstrdup("/berth/test");
        for (size_t i = 0; i < ARRAY_SIZE(layouts); i++)
                if (has_word(dirs, layouts[i].dir))
                        add_layout(f, &layouts[i]);
        return f;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        return remove(path);
}

static void fake_free(struct fake *f)
{
        berth_cgroup_free(f->cg);
        for (size_t i = 0; i < f->n_fifo; i++) {
                free(f->fifo_name[i]);
                close(f->fifo_fd[i]);
        }
        close(f->journal);
        assert_int_equal(nftw(f->root, remove_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
        free(f);
}

static void fake_freep(struct fake **f)
{
        if (*f)
                fake_free(*f);
}
#define _autofake_ _cleanup_(fake_freep)

static char *fake_path(struct fake *f, const char *rel)
{
        return xasprintf("%s/%s", f->root, rel);
}

static char *fake_journal(struct fake *f);

static void fake_set(struct fake *f, const char *rel, const char *value)
{
        _autofree_ char *path = fake_path(f, rel);
        _autoclose_ int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);

        assert_true(fd >= 0);
        assert_int_equal(write_all(fd, value, strlen(value)), 0);
        closep(&fd);
        free(fake_journal(f)); /* the journal is for what apply writes */
}

static void fake_rm(struct fake *f, const char *rel)
{
        _autofree_ char *path = fake_path(f, rel);

        assert_int_equal(unlink(path), 0);
}

/* The whole file, or everything written into a FIFO so far. */
static char *fake_read(struct fake *f, const char *rel)
{
        _autofree_ char *path = fake_path(f, rel);
        char *buf = NULL;
        size_t len = 0;
        ssize_t n;

        for (size_t i = 0; i < f->n_fifo; i++) {
                if (!streq(f->fifo_name[i], rel))
                        continue;
                buf = xcalloc(1, 65537);
                while ((n = read(f->fifo_fd[i], buf + len, 65536 - len)) > 0)
                        len += (size_t) n;
                return buf;
        }
        assert_int_equal(berth_read_file_at(AT_FDCWD, path, 0, &buf, NULL, NULL), 0);
        return buf;
}

static void expect_file(struct fake *f, const char *rel, const char *want)
{
        _autofree_ char *got = fake_read(f, rel);

        if (!streq(got, want))
                print_error("%s: got \"%s\", want \"%s\"\n", rel, got, want);
        assert_string_equal(got, want);
}

static void expect_prefix(struct fake *f, const char *rel, const char *want)
{
        _autofree_ char *got = fake_read(f, rel);

        if (!startswith(got, want))
                print_error("%s: got \"%s\", want \"%s...\"\n", rel, got, want);
        assert_true(startswith(got, want));
}

/* The names of the files written since the last call, one per line, in order. */
static char *fake_journal(struct fake *f)
{
        char *out = xcalloc(1, 1);
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        ssize_t n;

        while ((n = read(f->journal, buf, sizeof(buf))) > 0) {
                for (char *p = buf; p < buf + n;) {
                        const struct inotify_event *e = (const struct inotify_event *) p;
                        char *next = xasprintf("%s%s\n", out, e->len ? e->name : "?");

                        free(out);
                        out = next;
                        p += sizeof(*e) + e->len;
                }
        }
        return out;
}

/* True if `a` was written before `b` (both must have been written). */
static bool written_before(const char *journal, const char *a, const char *b)
{
        _autofree_ char *la = xasprintf("%s\n", a), *lb = xasprintf("%s\n", b);
        const char *pa = strstr(journal, la), *pb = strstr(journal, lb);

        if (!pa || !pb)
                print_error("journal lacks %s or %s:\n%s", a, b, journal);
        assert_non_null(pa);
        assert_non_null(pb);
        return pa < pb;
}

static struct berth_resources *resources(const char *text)
{
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *json = dq(text);
        struct berth_resources *r = NULL;

        if (berth_resources_parse(json, "config.json", "linux.resources", &r, &err) < 0)
                print_error("%s\n", err->msg);
        assert_non_null(r);
        return r;
}

static void apply_ok(struct fake *f, const char *text)
{
        _autoresources_ struct berth_resources *r = resources(text);
        _autoerr_ struct berth_error *err = NULL;
        int ret = berth_cgroup_v1_apply(f->cg, r, &err);

        if (ret < 0)
                print_error("%s\n", err ? err->msg : "(no message)");
        assert_int_equal(ret, 0);
}

static void apply_fails(struct fake *f, const char *text, int code, const char *msg)
{
        _autoresources_ struct berth_resources *r = resources(text);
        _autoerr_ struct berth_error *err = NULL;
        _autofree_ char *want = dq(msg);

        assert_int_equal(berth_cgroup_v1_apply(f->cg, r, &err), -code);
        assert_non_null(err);
        assert_string_equal(err->msg, want);
}

static void expect_warnings(const char *want)
{
        _autofree_ char *w = dq(want);

        if (!streq(warnings, w))
                print_error("warnings:\n%s\nwant:\n%s\n", warnings, w);
        assert_string_equal(warnings, w);
        warnings[0] = '\0';
}

#define ALL "cpuset devices memory cpu pids blkio hugetlb net rdma systemd"

/* Splits the device rules a FIFO received back into lines: "a" or "c 1:3 rwm". */
static char *rule_lines(const char *s)
{
        char *out = xcalloc(1, 2 * strlen(s) + 1), *o = out;

        while (*s) {
                size_t n = 1;

                if (!(s[0] == 'a' && s[1] != ' ')) {
                        n = 2 + strcspn(s + 2, " ");
                        if (s[n])
                                n += 1 + strspn(s + n + 1, "rwm");
                }
                memcpy(o, s, n);
                o += n;
                *o++ = '\n';
                s += n;
        }
        return out;
}

static void expect_rules(struct fake *f, const char *fifo, const char *want)
{
        _autofree_ char *got = fake_read(f, fifo), *lines = rule_lines(got);

        if (!streq(lines, want))
                print_error("%s:\n%s\nwant:\n%s\n", fifo, lines, want);
        assert_string_equal(lines, want);
}

#define DEFAULT_RULES                                                                              \
        "c *:* m\nb *:* m\nc 1:3 rwm\nc 1:8 rwm\nc 1:7 rwm\nc 5:0 rwm\nc 1:5 rwm\nc 1:9 rwm\n"     \
        "c 5:1 rwm\nc 136:* rwm\nc 5:2 rwm\nc 10:200 rwm\n"

static const char full[] =
    "{'devices': [{'allow': false, 'access': 'rwm'},"
    "             {'allow': true, 'type': 'c', 'major': 10, 'minor': 229, 'access': 'rw'},"
    "             {'allow': false, 'type': 'b', 'major': 8, 'access': 'm'}],"
    " 'memory': {'limit': 536870912, 'reservation': 268435456, 'swap': 1073741824,"
    "            'kernel': 1000000, 'kernelTCP': 2000000, 'swappiness': 10,"
    "            'disableOOMKiller': true, 'useHierarchy': true, 'checkBeforeUpdate': true},"
    " 'cpu': {'shares': 512, 'quota': 50000, 'burst': 10000, 'period': 100000,"
    "         'realtimeRuntime': 950000, 'realtimePeriod': 1000000, 'cpus': '0-1',"
    "         'mems': '0', 'idle': 1},"
    " 'pids': {'limit': 100},"
    " 'blockIO': {'weight': 500,"
    "             'weightDevice': [{'major': 8, 'minor': 0, 'weight': 600}],"
    "             'throttleReadBpsDevice': [{'major': 8, 'minor': 0, 'rate': 1048576}],"
    "             'throttleWriteBpsDevice': [{'major': 8, 'minor': 16, 'rate': 2097152}],"
    "             'throttleReadIOPSDevice': [{'major': 8, 'minor': 32, 'rate': 100}],"
    "             'throttleWriteIOPSDevice': [{'major': 8, 'minor': 48, 'rate': 200}]},"
    " 'hugepageLimits': [{'pageSize': '2MB', 'limit': 18446744073709551615},"
    "                    {'pageSize': '1GB', 'limit': 1073741824}],"
    " 'network': {'classID': 1048577, 'priorities': [{'name': 'eth0', 'priority': 5},"
    "                                                {'name': 'lo', 'priority': 1}]},"
    " 'rdma': {'mlx5_0': {'hcaHandles': 3, 'hcaObjects': 10000}}}";

static void full_devices_memory(void **state)
{
        _autofake_ struct fake *f = fake_new(ALL);
        _autofree_ char *journal = NULL;

        fake_set(f, "memory/memory.limit_in_bytes", "9223372036854771712\n");
        apply_ok(f, full);
        journal = fake_journal(f);
        expect_rules(f, "devices/devices.deny", "a\nb 8:* m\n");
        expect_rules(f, "devices/devices.allow", "c 10:229 rw\n" DEFAULT_RULES);
        /* lowering from unlimited: the limit goes first */
        expect_prefix(f, "memory/memory.limit_in_bytes", "536870912");
        expect_file(f, "memory/memory.memsw.limit_in_bytes", "1073741824");
        assert_true(
            written_before(journal, "memory.limit_in_bytes", "memory.memsw.limit_in_bytes"));
        expect_file(f, "memory/memory.soft_limit_in_bytes", "268435456");
        expect_file(f, "memory/memory.kmem.limit_in_bytes", "");
        expect_file(f, "memory/memory.kmem.tcp.limit_in_bytes", "2000000");
        expect_file(f, "memory/memory.swappiness", "10");
        expect_file(f, "memory/memory.oom_control", "1");
        expect_file(f, "memory/memory.use_hierarchy", "1");
        expect_warnings("linux.resources.memory.kernel: kernel memory limits are deprecated and no "
                        "longer enforced by Linux, ignoring\n"
                        "linux.resources.memory.kernelTCP: deprecated by the runtime spec (cgroup "
                        "v1 only)\n");
}

static void full_cpu_and_the_rest(void **state)
{
        _autofake_ struct fake *f = fake_new(ALL);
        _autofree_ char *journal = NULL;

        fake_set(f, "memory/memory.limit_in_bytes", "9223372036854771712\n");
        apply_ok(f, full);
        journal = fake_journal(f);
        expect_file(f, "cpuset/cpuset.cpus", "0-1");
        expect_file(f, "cpuset/cpuset.mems", "0");
        expect_file(f, "cpu/cpu.shares", "512");
        expect_file(f, "cpu/cpu.cfs_period_us", "100000");
        expect_file(f, "cpu/cpu.cfs_quota_us", "50000");
        expect_file(f, "cpu/cpu.cfs_burst_us", "10000");
        assert_true(written_before(journal, "cpu.cfs_period_us", "cpu.cfs_quota_us"));
        assert_true(written_before(journal, "cpu.cfs_burst_us", "cpu.cfs_quota_us"));
        expect_file(f, "cpu/cpu.rt_period_us", "1000000");
        expect_file(f, "cpu/cpu.rt_runtime_us", "950000");
        assert_true(written_before(journal, "cpu.rt_period_us", "cpu.rt_runtime_us"));
        expect_file(f, "cpu/cpu.idle", "1");
        expect_file(f, "pids/pids.max", "100");
        expect_file(f, "blkio/blkio.bfq.weight", "500");
        expect_file(f, "blkio/blkio.bfq.weight_device", "8:0 600");
        expect_file(f, "blkio/blkio.throttle.read_bps_device", "8:0 1048576");
        expect_file(f, "blkio/blkio.throttle.write_bps_device", "8:16 2097152");
        expect_file(f, "blkio/blkio.throttle.read_iops_device", "8:32 100");
        expect_file(f, "blkio/blkio.throttle.write_iops_device", "8:48 200");
        expect_file(f, "hugetlb/hugetlb.2MB.limit_in_bytes", "18446744073709551615");
        expect_file(f, "hugetlb/hugetlb.2MB.rsvd.limit_in_bytes", "18446744073709551615");
        expect_file(f, "hugetlb/hugetlb.1GB.limit_in_bytes", "1073741824");
        expect_file(f, "net/net_cls.classid", "1048577");
        expect_file(f, "net/net_prio.ifpriomap", "eth0 5lo 1");
        expect_file(f, "rdma/rdma.max", "mlx5_0 hca_handle=3 hca_object=10000");
}

/* deny and allow share one FIFO (hard links): the total order of the rules. */
static void link_device_files(struct fake *f)
{
        _autofree_ char *allow = fake_path(f, "devices/devices.allow");
        _autofree_ char *deny = fake_path(f, "devices/devices.deny");

        assert_int_equal(unlink(deny), 0);
        assert_int_equal(link(allow, deny), 0);
}

static void device_rules_in_order(void **state)
{
        _autofake_ struct fake *f = fake_new("devices");

        link_device_files(f);
        apply_ok(f, "{'devices': [{'allow': false},"
                    " {'allow': true, 'type': 'c', 'major': 1, 'minor': 3, 'access': 'r'},"
                    " {'allow': false, 'type': 'c', 'major': 1, 'access': 'w'},"
                    " {'allow': true, 'type': 'b', 'minor': 7, 'access': 'rm'}]}");
        expect_rules(f, "devices/devices.allow", "a\nc 1:3 r\nc 1:* w\nb *:7 rm\n" DEFAULT_RULES);
        expect_warnings("");
}

/* runc's device rules start from deny-all whatever the config says. */
static void device_rules_always_start_with_deny_all(void **state)
{
        _autofake_ struct fake *f = fake_new("devices");

        apply_ok(f, "{}");
        expect_rules(f, "devices/devices.deny", "a\n");
        expect_rules(f, "devices/devices.allow", DEFAULT_RULES);
        apply_ok(f, "{'devices': [{'allow': true, 'type': 'c', 'major': 10, 'minor': 229}]}");
        expect_rules(f, "devices/devices.deny", "a\n");
        expect_rules(f, "devices/devices.allow", "c 10:229 rwm\n" DEFAULT_RULES);
        apply_ok(f, "{'devices': [{'allow': true}, {'allow': false, 'type': 'c', 'major': 5,"
                    " 'minor': 1}]}");
        expect_rules(f, "devices/devices.deny", "a\nc 5:1 rwm\n");
        expect_rules(f, "devices/devices.allow", "a\n" DEFAULT_RULES);
}

/* update: the config's device rules stay as they are */
static void device_rules_skipped_on_update(void **state)
{
        _autofake_ struct fake *f = fake_new("devices pids");
        _autoresources_ struct berth_resources *r =
            resources("{'devices': [{'allow': true}], 'pids': {'limit': 7}}");
        _autoerr_ struct berth_error *err = NULL;

        r->skip_devices = true;
        assert_int_equal(berth_cgroup_v1_apply(f->cg, r, &err), 0);
        expect_rules(f, "devices/devices.deny", "");
        expect_rules(f, "devices/devices.allow", "");
        expect_file(f, "pids/pids.max", "7");
        expect_warnings(""); /* berth_container_update() warns, once, for both drivers */
}

/* Raising above the current limit: memsw first, or the kernel refuses the limit. */
static void memory_raise_writes_swap_first(void **state)
{
        _autofake_ struct fake *f = fake_new("memory");
        _autofree_ char *journal = NULL;

        fake_set(f, "memory/memory.limit_in_bytes", "268435456\n");
        apply_ok(f, "{'memory': {'limit': 536870912, 'swap': 1073741824}}");
        journal = fake_journal(f);
        assert_true(
            written_before(journal, "memory.memsw.limit_in_bytes", "memory.limit_in_bytes"));
        expect_file(f, "memory/memory.limit_in_bytes", "536870912\n");
        expect_file(f, "memory/memory.memsw.limit_in_bytes", "1073741824");
        expect_warnings("");
}

static void memory_unlimited(void **state)
{
        _autofake_ struct fake *f = fake_new("memory");
        _autofree_ char *journal = NULL;

        /* -1 alone lifts memsw too, first (runc) */
        apply_ok(f, "{'memory': {'limit': -1}}");
        journal = fake_journal(f);
        assert_true(
            written_before(journal, "memory.memsw.limit_in_bytes", "memory.limit_in_bytes"));
        expect_file(f, "memory/memory.limit_in_bytes", "-1");
        expect_file(f, "memory/memory.memsw.limit_in_bytes", "-1");
        /* swap -1 goes first whatever the current limit */
        fake_set(f, "memory/memory.limit_in_bytes", "");
        fake_set(f, "memory/memory.memsw.limit_in_bytes", "");
        apply_ok(f, "{'memory': {'limit': 1048576, 'swap': -1}}");
        free(journal);
        journal = fake_journal(f);
        assert_true(
            written_before(journal, "memory.memsw.limit_in_bytes", "memory.limit_in_bytes"));
        expect_file(f, "memory/memory.limit_in_bytes", "1048576");
        expect_file(f, "memory/memory.memsw.limit_in_bytes", "-1");
}

/* What the host cannot apply fails (runtime.md, create: "If the runtime cannot apply a property
 * as specified in the configuration, it MUST generate an error"); the deprecated kernel memory
 * limits stay warnings. */
static void memory_swap_without_accounting(void **state)
{
        _autofake_ struct fake *f = fake_new("memory");

        fake_rm(f, "memory/memory.memsw.limit_in_bytes");
        fake_rm(f, "memory/memory.kmem.tcp.limit_in_bytes");
        apply_fails(f, "{'memory': {'limit': 1048576, 'swap': 2097152}}", ENOTSUP,
                    "linux.resources.memory.swap: swap accounting is not enabled on this host (no "
                    "memory.memsw.limit_in_bytes; boot with swapaccount=1)");
        /* no limit on swap is what such a host does anyway */
        apply_ok(f, "{'memory': {'limit': 1048576, 'swap': -1, 'kernelTCP': 5, 'kernel': -1,"
                    " 'disableOOMKiller': false, 'useHierarchy': false}}");
        expect_file(f, "memory/memory.limit_in_bytes", "1048576");
        expect_file(f, "memory/memory.oom_control", "0");
        expect_file(f, "memory/memory.use_hierarchy", "0");
        expect_warnings("linux.resources.memory.kernelTCP: this kernel has no "
                        "memory.kmem.tcp.limit_in_bytes, ignoring\n");
        apply_ok(f, "{'memory': {'kernelTCP': -1, 'kernel': -1}}");
        expect_warnings("");
}

static void zero_means_unset(void **state)
{
        _autofake_ struct fake *f = fake_new("memory cpu blkio cpuset");
        _autofree_ char *journal = NULL;

        apply_ok(f, "{'memory': {'limit': 0, 'swap': 0, 'reservation': 0, 'kernel': 0,"
                    " 'kernelTCP': 0},"
                    " 'cpu': {'shares': 0, 'quota': 0, 'period': 0, 'realtimeRuntime': 0,"
                    " 'realtimePeriod': 0, 'cpus': '', 'mems': ''},"
                    " 'blockIO': {'weight': 0, 'leafWeight': 0}}");
        journal = fake_journal(f);
        assert_string_equal(journal, "");
        expect_warnings("");
}

static void pids_unlimited(void **state)
{
        _autofake_ struct fake *f = fake_new("pids");

        apply_ok(f, "{'pids': {'limit': 0}}");
        expect_file(f, "pids/pids.max", "max");
        apply_ok(f, "{'pids': {'limit': -1}}");
        expect_file(f, "pids/pids.max", "max");
}

static void missing_controllers_refused(void **state)
{
        static const struct {
                const char *resources, *field, *controller;
        } cases[] = {
            {"'devices': [{'allow': false}]", "devices", "devices"},
            {"'memory': {'swappiness': 1}", "memory", "memory"},
            {"'cpu': {'shares': 2}", "cpu", "cpu"},
            {"'cpu': {'mems': '0'}", "cpu.mems", "cpuset"},
            {"'pids': {'limit': 5}", "pids", "pids"},
            {"'blockIO': {'weight': 10}", "blockIO", "blkio"},
            {"'network': {'classID': 1}", "network.classID", "net_cls"},
            {"'network': {'priorities': [{'name': 'lo', 'priority': 1}]}", "network.priorities",
             "net_prio"},
            {"'rdma': {'mlx5_0': {'hcaHandles': 1}}", "rdma", "rdma"},
        };
        _autofake_ struct fake *f = fake_new("systemd");

        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                _autofree_ char *text = xasprintf("{%s}", cases[i].resources);
                _autofree_ char *msg = xasprintf("linux.resources.%s: the %s controller is not "
                                                 "available on this host (no cgroup v1 hierarchy "
                                                 "of it is mounted)",
                                                 cases[i].field, cases[i].controller);

                apply_fails(f, text, ENOTSUP, msg);
        }
        apply_fails(f, "{'hugepageLimits': [{'pageSize': '2MB', 'limit': 1}]}", ENOTSUP,
                    "linux.resources.hugepageLimits: the hugetlb controller is not available on "
                    "this host (no v1 hierarchy of it, and the cgroup2 mount does not delegate "
                    "it)");
        /* nothing asked, nothing refused */
        apply_ok(f, "{}");
        apply_ok(f, "{'devices': []}");
        expect_warnings("");
}

/* A hybrid layout (systemd's, as on Debian 12): hugetlb only in the cgroup2 mount, with cgroup
 * v2 file names. */
static void hugetlb_on_hybrid_host(void **state)
{
        _autofake_ struct fake *f = fake_new("memory unified");

        fake_set(f, "unified/cgroup.controllers", "cpu memory hugetlb\n");
        apply_ok(f, "{'hugepageLimits': [{'pageSize': '2MB', 'limit': 4194304}]}");
        expect_file(f, "unified/hugetlb.2MB.max", "4194304");
        expect_file(f, "unified/hugetlb.2MB.rsvd.max", "4194304");
        apply_fails(f,
                    "{'hugepageLimits': [{'pageSize': '2MB', 'limit': 1},"
                    " {'pageSize': '1GB', 'limit': 1}]}",
                    EINVAL,
                    "linux.resources.hugepageLimits[1].pageSize: this host has no '1GB' huge "
                    "pages (no hugetlb.1GB.max)");
        fake_set(f, "unified/cgroup.controllers", "cpu memory hugetlbx\n");
        apply_fails(f, "{'hugepageLimits': [{'pageSize': '2MB', 'limit': 1}]}", ENOTSUP,
                    "linux.resources.hugepageLimits: the hugetlb controller is not available on "
                    "this host (no v1 hierarchy of it, and the cgroup2 mount does not delegate "
                    "it)");
}

static void hugetlb_v1_missing_page_size(void **state)
{
        _autofake_ struct fake *f = fake_new("hugetlb");

        fake_rm(f, "hugetlb/hugetlb.2MB.rsvd.limit_in_bytes");
        apply_ok(f, "{'hugepageLimits': [{'pageSize': '2MB', 'limit': 2097152}]}");
        expect_file(f, "hugetlb/hugetlb.2MB.limit_in_bytes", "2097152");
        apply_fails(f, "{'hugepageLimits': [{'pageSize': '64KB', 'limit': 1}]}", EINVAL,
                    "linux.resources.hugepageLimits[0].pageSize: this host has no '64KB' huge "
                    "pages (no hugetlb.64KB.limit_in_bytes)");
}

static void unified_on_v1_and_hybrid(void **state)
{
        _autofake_ struct fake *v1 = fake_new("memory");
        _autofake_ struct fake *hybrid = fake_new("memory unified");

        apply_fails(v1, "{'unified': {'memory.high': '1G'}}", ENOTSUP,
                    "linux.resources.unified['memory.high']: invalid configuration: this host "
                    "runs cgroup v1, which has no such file");
        apply_ok(hybrid, "{'unified': {'memory.high': '1G'}}");
        expect_file(hybrid, "unified/memory.high", "1G");
        apply_fails(hybrid, "{'unified': {'memory.max': '1G'}}", ENOTSUP,
                    "linux.resources.unified['memory.max']: invalid configuration: no such "
                    "file in the cgroup v2 hierarchy of this host (its other controllers are "
                    "cgroup v1)");
}

static void blkio_cfq_files(void **state)
{
        _autofake_ struct fake *f = fake_new("blkio");
        static const char *const cfq[] = {"blkio/blkio.weight", "blkio/blkio.weight_device",
                                          "blkio/blkio.leaf_weight",
                                          "blkio/blkio.leaf_weight_device"};

        for (size_t i = 0; i < ARRAY_SIZE(cfq); i++) {
                _autofree_ char *path = fake_path(f, cfq[i]);
                _autoclose_ int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

                assert_true(fd >= 0);
        }
        apply_ok(f, "{'blockIO': {'weight': 10, 'leafWeight': 1000,"
                    " 'weightDevice': [{'major': 8, 'minor': 0, 'weight': 0, 'leafWeight': 20},"
                    " {'major': 259, 'minor': 1, 'weight': 30}]}}");
        expect_file(f, "blkio/blkio.weight", "10");
        expect_file(f, "blkio/blkio.weight_device", "259:1 30");
        expect_file(f, "blkio/blkio.leaf_weight", "1000");
        expect_file(f, "blkio/blkio.leaf_weight_device", "8:0 20");
        expect_file(f, "blkio/blkio.bfq.weight", "");
        expect_warnings("");
}

static void blkio_without_weights_or_throttling(void **state)
{
        _autofake_ struct fake *f = fake_new("blkio");

        fake_rm(f, "blkio/blkio.bfq.weight");
        fake_rm(f, "blkio/blkio.throttle.read_iops_device");
        apply_fails(f, "{'blockIO': {'weightDevice': [{'major': 8, 'minor': 0, 'weight': 100}]}}",
                    ENOTSUP,
                    "linux.resources.blockIO.weightDevice: no I/O scheduler of this host takes "
                    "weights (no blkio.weight or blkio.bfq.weight: neither CFQ nor BFQ)");
        apply_fails(f, "{'blockIO': {'leafWeight': 10}}", ENOTSUP,
                    "linux.resources.blockIO.leafWeight: no I/O scheduler of this host takes leaf "
                    "weights (no blkio.leaf_weight, which only CFQ had: gone since Linux 5.0)");
        apply_fails(f,
                    "{'blockIO': {'throttleReadIOPSDevice': [{'major': 8, 'minor': 0,"
                    " 'rate': 1}]}}",
                    ENOTSUP,
                    "linux.resources.blockIO.throttleReadIOPSDevice: this kernel has no I/O "
                    "throttling (no blkio.throttle.read_iops_device)");
        apply_ok(f,
                 "{'blockIO': {'throttleWriteIOPSDevice': [{'major': 8, 'minor': 0, 'rate': 2}]}}");
        expect_file(f, "blkio/blkio.throttle.write_iops_device", "8:0 2");
        expect_warnings("");
}

static void cpu_features_missing(void **state)
{
        _autofake_ struct fake *f = fake_new("cpu");

        fake_rm(f, "cpu/cpu.cfs_burst_us");
        fake_rm(f, "cpu/cpu.rt_runtime_us");
        fake_rm(f, "cpu/cpu.idle");
        apply_fails(f, "{'cpu': {'quota': -1, 'burst': 5}}", ENOTSUP,
                    "linux.resources.cpu.burst: this kernel has no cpu.cfs_burst_us (Linux 5.14)");
        apply_fails(f, "{'cpu': {'realtimePeriod': 5}}", ENOTSUP,
                    "linux.resources.cpu.realtimePeriod: this kernel has no real-time group "
                    "scheduling (CONFIG_RT_GROUP_SCHED)");
        apply_fails(f, "{'cpu': {'idle': 1}}", ENOTSUP,
                    "linux.resources.cpu.idle: this kernel has no cpu.idle (Linux 5.15)");
        /* asking for "none" of what is missing is no error */
        apply_ok(f, "{'cpu': {'quota': -1, 'burst': 0, 'idle': 0}}");
        expect_file(f, "cpu/cpu.cfs_quota_us", "-1");
        expect_warnings("");
}

static void write_errors_name_the_file(void **state)
{
        _autofake_ struct fake *f = fake_new("pids memory");
        _autofree_ char *path = fake_path(f, "pids/pids.max");

        assert_int_equal(unlink(path), 0);
        assert_int_equal(mkdir(path, 0755), 0);
        apply_fails(f, "{'pids': {'limit': 100}}", EISDIR,
                    "cgroup /berth/test: write '100' to pids.max: Is a directory");
        fake_set(f, "memory/memory.limit_in_bytes", "lots\n");
        apply_fails(f, "{'memory': {'limit': 1, 'swap': 2}}", EIO,
                    "cgroup /berth/test: memory.limit_in_bytes holds 'lots', not a number");
}

static int setup(void **state)
{
        berth_log_set_handler(on_log, NULL);
        return 0;
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(full_devices_memory),
            cmocka_unit_test(full_cpu_and_the_rest),
            cmocka_unit_test(device_rules_in_order),
            cmocka_unit_test(device_rules_always_start_with_deny_all),
            cmocka_unit_test(device_rules_skipped_on_update),
            cmocka_unit_test(memory_raise_writes_swap_first),
            cmocka_unit_test(memory_unlimited),
            cmocka_unit_test(memory_swap_without_accounting),
            cmocka_unit_test(zero_means_unset),
            cmocka_unit_test(pids_unlimited),
            cmocka_unit_test(missing_controllers_refused),
            cmocka_unit_test(hugetlb_on_hybrid_host),
            cmocka_unit_test(hugetlb_v1_missing_page_size),
            cmocka_unit_test(unified_on_v1_and_hybrid),
            cmocka_unit_test(blkio_cfq_files),
            cmocka_unit_test(blkio_without_weights_or_throttling),
            cmocka_unit_test(cpu_features_missing),
            cmocka_unit_test(write_errors_name_the_file),
        };

        return cmocka_run_group_tests(tests, setup, NULL);
}
