"""The config matrix: what a process sees inside the container for a given
config.json.  Every test runs for berth-oci, crun and runc and checks the same
expected values, which were validated against crun and runc."""

import os
import stat
import time

import pytest

from conftest import Runner, describe, new_id, spawn
from helpers import cap_mask, parse_mountinfo, status_field, userns_bundle

NS_FILES = ("cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts")
SPEC_NS = {"cgroup": "cgroup", "ipc": "ipc", "mnt": "mount", "net": "network",
           "pid": "pid", "user": "user", "uts": "uts"}


def container_ns(runtime, bundle):
    out = runtime.run_sh(bundle, "for n in %s; do echo $n $(readlink /proc/self/ns/$n); done"
                         % " ".join(NS_FILES))
    return dict(line.split() for line in out.splitlines())


def host_ns():
    return {n: os.readlink(f"/proc/self/ns/{n}") for n in NS_FILES}


def test_namespaces_default(runtime, bundle):
    """runc's default spec: pid, network, ipc, uts, mount are new; the rest are shared."""
    inside, host = container_ns(runtime, bundle), host_ns()
    for n in ("ipc", "mnt", "net", "pid", "uts"):
        assert inside[n] != host[n], n
    for n in ("cgroup", "time", "user"):
        assert inside[n] == host[n], n


def test_namespaces_cgroup_added_network_removed(runtime, bundle):
    nss = bundle.config["linux"]["namespaces"]
    nss[:] = [ns for ns in nss if ns["type"] != "network"] + [{"type": "cgroup"}]
    # /sys cannot be a fresh sysfs without a network namespace of its own
    bundle.config["mounts"] = [m for m in bundle.config["mounts"]
                               if not m["destination"].startswith("/sys")]
    inside, host = container_ns(runtime, bundle), host_ns()
    assert inside["cgroup"] != host["cgroup"]
    assert inside["net"] == host["net"]
    assert inside["pid"] != host["pid"]


def test_namespace_join_by_path(runtime, bundle):
    holder = spawn(["unshare", "--net", "--uts", "sleep", "60"])
    try:
        deadline = time.monotonic() + 5
        while os.readlink(f"/proc/{holder.pid}/ns/net") == os.readlink("/proc/self/ns/net"):
            assert time.monotonic() < deadline, "unshare did not start"
            time.sleep(0.01)
        for ns in bundle.config["linux"]["namespaces"]:
            if ns["type"] in ("network", "uts"):
                ns["path"] = f"/proc/{holder.pid}/ns/{'net' if ns['type'] == 'network' else 'uts'}"
        bundle.config.pop("hostname", None)
        inside = container_ns(runtime, bundle)
        assert inside["net"] == os.readlink(f"/proc/{holder.pid}/ns/net")
        assert inside["uts"] == os.readlink(f"/proc/{holder.pid}/ns/uts")
        assert inside["ipc"] != os.readlink("/proc/self/ns/ipc")
    finally:
        holder.kill()
        holder.wait()


def test_pid_one(runtime, bundle):
    out = runtime.run_sh(bundle, "echo $$; ps -o pid,comm | sed -n 2p")
    lines = out.split("\n")
    assert lines[0] == "1"
    assert lines[1].split() == ["1", "sh"]


def test_hostname(runtime, bundle):
    bundle.config["hostname"] = "box-one"
    assert runtime.run_sh(bundle, "hostname; uname -n") == "box-one\nbox-one\n"
    assert os.uname().nodename != "box-one"


def test_domainname(runtime, bundle):
    if runtime.name == "runc":
        pytest.skip("runc 1.1 ignores domainname (runc 1.2 sets it)")
    bundle.config["domainname"] = "example.org"
    assert runtime.run_sh(bundle, "cat /proc/sys/kernel/domainname") == "example.org\n"


def test_empty_names_are_not_set(runtime, bundle):
    """hostname "" and domainname "" mean "not given" (runc, crun): without a uts
    namespace, setting them would clear the runtime's own names. SAFETY: the
    runtime runs in a uts namespace this test made, so the host's name is never
    at stake; the name there is read before and after."""
    bundle.config["hostname"] = ""
    bundle.config["domainname"] = ""
    bundle.config["linux"]["namespaces"] = [
        ns for ns in bundle.config["linux"]["namespaces"] if ns["type"] != "uts"]
    bundle.process["args"] = ["sh", "-c", "hostname; cat /proc/sys/kernel/domainname"]
    boxed = Runner(runtime.name, [
        "unshare", "--uts", "sh", "-c",
        'hostname boxed-name && "$@"; rc=$?; echo "after=$(hostname)" >&2; exit $rc',
        "sh", *runtime.argv], runtime.root)
    p = boxed.run(bundle, new_id())
    assert p.returncode == 0, describe(p)
    assert p.stdout.split("\n")[0] == "boxed-name", describe(p)
    assert "after=boxed-name\n" in p.stderr, describe(p)


def test_user_namespace_mappings(runtime, bundle):
    base = 200000
    linux = bundle.config["linux"]
    linux["namespaces"].append({"type": "user"})
    linux["uidMappings"] = [{"containerID": 0, "hostID": base, "size": 65536}]
    linux["gidMappings"] = [{"containerID": 0, "hostID": base + 1000, "size": 65536}]
    # a cgroup v1 tree cannot be mounted from a user namespace
    bundle.config["mounts"] = [m for m in bundle.config["mounts"]
                               if m["destination"] != "/sys/fs/cgroup"]
    bundle.config["root"]["readonly"] = False
    bundle.chown_rootfs(base, base + 1000)
    out = runtime.run_sh(bundle, "cat /proc/self/uid_map /proc/self/gid_map; id -u; id -g; "
                                 "touch /made-inside; echo ok")
    lines = [line.split() for line in out.splitlines()]
    assert lines[0] == ["0", str(base), "65536"]
    assert lines[1] == ["0", str(base + 1000), "65536"]
    assert lines[2:] == [["0"], ["0"], ["ok"]]
    st = os.lstat(bundle.rootfs / "made-inside")
    assert (st.st_uid, st.st_gid) == (base, base + 1000)


@pytest.mark.parametrize("case", ["root", "nonroot"])
def test_capabilities(runtime, bundle, case):
    caps = {
        "bounding": ["CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT"],
        "effective": ["CAP_CHOWN", "CAP_KILL"],
        "permitted": ["CAP_CHOWN", "CAP_KILL", "CAP_SYS_CHROOT"],
        "inheritable": ["CAP_KILL", "CAP_SYS_CHROOT"],
        "ambient": ["CAP_KILL"],
    }
    bundle.process["capabilities"] = caps
    if case == "nonroot":
        bundle.process["user"] = {"uid": 1000, "gid": 1000}
    out = runtime.run_sh(bundle, "grep ^Cap /proc/self/status")
    got = {k: int(status_field(out, k), 16)
           for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")}
    bnd, inh, amb = (cap_mask(caps[k]) for k in ("bounding", "inheritable", "ambient"))
    prm = cap_mask(caps["permitted"])
    if case == "root":
        # execve as uid 0: the file counts as fully capable (inheritable |
        # bounding), but noNewPrivileges (on in runc's spec) caps the result
        # at the permitted set from before the execve.
        assert bundle.process["noNewPrivileges"] is True
        want_prm = want_eff = (inh | bnd) & prm
    else:
        # execve as another uid: only the ambient set survives.
        want_prm = want_eff = amb
    assert got == {"CapInh": inh, "CapPrm": want_prm, "CapEff": want_eff,
                   "CapBnd": bnd, "CapAmb": amb}, {k: hex(v) for k, v in got.items()}


def test_default_capabilities(runtime, bundle):
    out = runtime.run_sh(bundle, "grep ^Cap /proc/self/status")
    want = cap_mask(["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"])
    for k in ("CapPrm", "CapEff", "CapBnd"):
        assert int(status_field(out, k), 16) == want, (k, out)
    # runc's spec lists no inheritable set, and an ambient capability must
    # also be inheritable: both end up empty.
    assert "inheritable" not in bundle.process["capabilities"]
    for k in ("CapInh", "CapAmb"):
        assert int(status_field(out, k), 16) == 0, (k, out)


CAP_SETS = ("bounding", "effective", "permitted", "inheritable", "ambient")


def test_unknown_capability_is_left_out(runtime, bundle):
    """runtime-spec: runtimes SHOULD NOT fail on capabilities that cannot be
    granted. runc warns, crun is silent, berth-oci warns once per name."""
    for k in CAP_SETS:
        bundle.process["capabilities"][k] = ["CAP_KILL", "CAP_BOGUS"]
    bundle.process["args"] = ["sh", "-c", "grep ^Cap /proc/self/status"]
    p = runtime.run(bundle, new_id())
    assert p.returncode == 0, describe(p)
    kill = cap_mask(["CAP_KILL"])
    for k in ("CapPrm", "CapEff", "CapBnd", "CapInh", "CapAmb"):
        assert int(status_field(p.stdout, k), 16) == kill, (k, describe(p))
    if runtime.name == "runc":
        assert "CAP_BOGUS" in p.stderr, describe(p)
    if runtime.name == "berth-oci":
        assert p.stderr == (
            'berth-oci: warning: process.capabilities: unknown capability "CAP_BOGUS" '
            "(in bounding, effective, inheritable, permitted, ambient), ignoring\n"), describe(p)


def test_capability_above_cap_last_cap(oci, bundle, workdir):
    """A capability berth knows but the kernel does not (above cap_last_cap) is
    a warning too. The kernel's cap_last_cap is faked in a private mount
    namespace of the runtime (38: CAP_BPF and CAP_CHECKPOINT_RESTORE unknown)."""
    last = workdir.path / "cap_last_cap"
    last.write_text("38\n")
    fake = Runner("berth-oci", ["unshare", "-m", "sh", "-c",
                                f"mount --bind {last} /proc/sys/kernel/cap_last_cap && "
                                'exec "$0" "$@"', *oci.argv], oci.root)
    caps = bundle.process["capabilities"]
    for k in ("bounding", "permitted", "effective"):
        caps[k] = ["CAP_KILL", "CAP_BPF"]
    bundle.process["args"] = ["sh", "-c", "grep ^CapEff /proc/self/status"]
    p = fake.run(bundle, new_id())
    assert p.returncode == 0, describe(p)
    assert int(status_field(p.stdout, "CapEff"), 16) == cap_mask(["CAP_KILL"]), describe(p)
    assert p.stderr == (
        'berth-oci: warning: process.capabilities: capability "CAP_BPF" (in bounding, '
        "effective, permitted) is not supported by this kernel "
        "(/proc/sys/kernel/cap_last_cap is 38), ignoring\n"), describe(p)


def test_seccomp_errno(runtime, bundle):
    bundle.config["root"]["readonly"] = False
    bundle.config["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO",
                      "errnoRet": 42}],
    }
    out = runtime.run_sh(bundle, "mkdir /newdir 2>&1; echo rc=$?; touch /newfile && echo touched")
    assert os.strerror(42) in out, out
    assert "rc=1" in out and "touched" in out, out
    assert not (bundle.rootfs / "newdir").exists()
    assert (bundle.rootfs / "newfile").exists()


def test_seccomp_default_errno_with_allow_list(runtime, bundle):
    """defaultAction ERRNO with defaultErrnoRet, and an allow list that lets sh run."""
    allow = ["execve", "brk", "arch_prctl", "set_tid_address", "set_robust_list",
             "rseq", "prlimit64", "mmap", "munmap", "mprotect", "readlink", "uname",
             "getuid", "geteuid", "getgid", "getegid", "getpid", "getppid", "rt_sigaction",
             "rt_sigprocmask", "rt_sigreturn", "write", "writev", "exit", "exit_group",
             "getcwd", "stat", "newfstatat", "fstat", "lstat", "statx", "ioctl", "fcntl",
             "close", "dup2", "dup3", "read", "openat", "open", "access", "faccessat",
             "faccessat2", "getrandom", "futex", "wait4", "sigaltstack", "poll",
             "capget", "capset", "prctl", "setgroups", "setgid", "setuid", "setresuid",
             "setresgid", "chdir", "fchdir", "getdents64", "lseek", "pread64", "sched_getaffinity",
             "clone", "clone3", "fork", "vfork", "madvise", "sched_yield", "umask",
             "fstatfs", "statfs", "epoll_pwait", "close_range", "getpgrp", "setpgid",
             "kill", "tkill", "tgkill", "pidfd_open", "gettid", "nanosleep",
             "clock_nanosleep", "getrlimit", "setrlimit", "pipe", "pipe2", "select",
             "pselect6", "ppoll", "mremap", "sysinfo", "seccomp"]
    bundle.config["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": 38,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [{"names": allow, "action": "SCMP_ACT_ALLOW"}],
    }
    out = runtime.run_sh(bundle, "echo hello; hostname x 2>&1; echo rc=$?")
    assert out.startswith("hello\n"), out
    assert "rc=1" in out and os.strerror(38) in out, out


def test_masked_paths(runtime, bundle):
    (bundle.rootfs / "etc" / "secret").write_text("TOPSECRET\n")
    (bundle.rootfs / "secretdir").mkdir()
    (bundle.rootfs / "secretdir" / "f").write_text("x")
    bundle.config["linux"]["maskedPaths"] += ["/etc/secret", "/secretdir", "/no/such/path"]
    out = runtime.run_sh(bundle, "cat /etc/secret; echo secret-done; ls -A /secretdir; "
                                 "echo dir-done; head -c 16 /proc/kcore | wc -c; "
                                 "ls -A /sys/firmware | wc -l")
    assert out.split("\n") == ["secret-done", "dir-done", "0", "0", ""], out
    # the rootfs itself is untouched
    assert (bundle.rootfs / "etc" / "secret").read_text() == "TOPSECRET\n"


def test_readonly_paths(runtime, bundle):
    bundle.config["root"]["readonly"] = False
    (bundle.rootfs / "data").mkdir()
    (bundle.rootfs / "data" / "f").write_text("old")
    bundle.config["linux"]["readonlyPaths"] += ["/data"]
    out = runtime.run_sh(
        bundle,
        "echo new > /data/f 2>/dev/null; echo data=$?; touch /other && echo other=0; "
        "echo 1 > /proc/sys/net/ipv4/ip_forward 2>/dev/null; echo procsys=$?; "
        "awk '$5 == \"/proc/sys\" || $5 == \"/data\" {print $5, $6}' /proc/self/mountinfo")
    lines = out.splitlines()
    assert lines[:3] == ["data=1", "other=0", "procsys=1"], out
    opts = dict(line.split() for line in lines[3:])
    assert set(opts) == {"/proc/sys", "/data"}, out
    assert all("ro" in o.split(",") for o in opts.values()), out
    assert (bundle.rootfs / "data" / "f").read_text() == "old"


def test_rlimits(runtime, bundle):
    bundle.process["rlimits"] = [
        {"type": "RLIMIT_NOFILE", "soft": 321, "hard": 654},
        {"type": "RLIMIT_CORE", "soft": 0, "hard": 4096},
        {"type": "RLIMIT_NPROC", "soft": 1000, "hard": 2000},
    ]
    out = runtime.run_sh(bundle, "ulimit -n; ulimit -Hn; ulimit -c; ulimit -Hc; "
                                 "grep -E '^Max (processes|open files)' /proc/self/limits")
    lines = out.splitlines()
    assert lines[:4] == ["321", "654", "0", "8"], out  # busybox ulimit -c counts 512-byte blocks
    assert lines[4].split()[2:4] == ["1000", "2000"], out
    assert lines[5].split()[3:5] == ["321", "654"], out


def test_env(runtime, bundle):
    bundle.process["env"] = ["PATH=/bin:/sbin", "FOO=bar baz", "EMPTY=", "EQ=a=b"]
    out = runtime.run_sh(bundle, "env")
    env = out.splitlines()
    for e in ("PATH=/bin:/sbin", "FOO=bar baz", "EMPTY=", "EQ=a=b"):
        assert e in env, out
    # runtimes add HOME from /etc/passwd when the config has none
    assert "HOME=/root" in env, out


def test_cwd(runtime, bundle):
    bundle.process["cwd"] = "/tmp"
    assert runtime.run_sh(bundle, "pwd") == "/tmp\n"


def test_cwd_is_created(runtime, bundle):
    bundle.config["root"]["readonly"] = False
    bundle.process["cwd"] = "/work/here"
    assert runtime.run_sh(bundle, "pwd") == "/work/here\n"
    assert (bundle.rootfs / "work" / "here").is_dir()


@pytest.mark.parametrize("umask,want", [(None, "0022"), (0o027, "0027"), (0, "0000")])
def test_umask(runtime, bundle, umask, want):
    if umask is not None:
        bundle.process["user"]["umask"] = umask
    assert runtime.run_sh(bundle, "umask") == want + "\n"


def test_user_and_groups(runtime, bundle):
    bundle.process["user"] = {"uid": 1000, "gid": 1001, "additionalGids": [2000, 2001]}
    out = runtime.run_sh(bundle, "id -u; id -g; id -G; grep -E '^(Uid|Gid|Groups):' /proc/self/status")
    lines = out.splitlines()
    assert lines[0] == "1000" and lines[1] == "1001", out
    assert set(lines[2].split()) == {"1001", "2000", "2001"}, out
    assert status_field(out, "Uid").split() == ["1000"] * 4
    assert status_field(out, "Gid").split() == ["1001"] * 4
    assert sorted(status_field(out, "Groups").split()) == ["2000", "2001"]


def test_user_nobody_home(runtime, bundle):
    bundle.process["user"] = {"uid": 65534, "gid": 65534}
    out = runtime.run_sh(bundle, "id -u; echo $HOME")
    assert out == "65534\n/nonexistent\n"


def test_mounts_and_flags(runtime, bundle, workdir):
    ro_src = workdir.path / "ro-src"
    ro_src.mkdir()
    (ro_src / "hello").write_text("from the host\n")
    rw_src = workdir.path / "rw-src"
    rw_src.mkdir()
    file_src = workdir.path / "file-src"
    file_src.write_text("one file\n")
    bundle.config["mounts"] += [
        {"destination": "/mnt/tmp", "type": "tmpfs", "source": "tmpfs",
         "options": ["nosuid", "nodev", "noexec", "size=1m", "mode=710"]},
        {"destination": "/mnt/ro", "type": "bind", "source": str(ro_src),
         "options": ["bind", "ro"]},
        {"destination": "/mnt/rw", "type": "none", "source": str(rw_src),
         "options": ["rbind", "rw", "nosuid"]},
        {"destination": "/etc/hostfile", "type": "bind", "source": str(file_src),
         "options": ["bind", "ro"]},
    ]
    out = runtime.run_sh(
        bundle,
        "cat /mnt/ro/hello; touch /mnt/ro/x 2>/dev/null; echo ro=$?; "
        "echo inside > /mnt/rw/new; cat /etc/hostfile; "
        "stat -c '%a' /mnt/tmp; echo ---; cat /proc/self/mountinfo")
    head, info = out.split("---\n")
    assert head.splitlines() == ["from the host", "ro=1", "one file", "710"], out
    assert (rw_src / "new").read_text() == "inside\n"
    m = parse_mountinfo(info)
    t = m["/mnt/tmp"]
    assert t["fstype"] == "tmpfs"
    assert {"nosuid", "nodev", "noexec", "rw"} <= t["opts"], t
    assert {"size=1024k", "mode=710"} <= t["super"], t
    assert "ro" in m["/mnt/ro"]["opts"], m["/mnt/ro"]
    assert {"rw", "nosuid"} <= m["/mnt/rw"]["opts"], m["/mnt/rw"]
    assert "ro" in m["/etc/hostfile"]["opts"]
    # the default mounts
    assert m["/proc"]["fstype"] == "proc"
    assert m["/dev"]["fstype"] == "tmpfs" and "nosuid" in m["/dev"]["opts"]
    assert m["/dev/pts"]["fstype"] == "devpts"
    assert {"nosuid", "nodev", "noexec"} <= m["/dev/shm"]["opts"]
    assert m["/dev/mqueue"]["fstype"] == "mqueue"
    assert m["/sys"]["fstype"] == "sysfs" and "ro" in m["/sys"]["opts"]
    assert m["/"]["opts"] >= {"ro"}  # root.readonly in runc's spec
    # nothing of this is visible on the host
    with open("/proc/self/mountinfo") as f:
        assert str(bundle.path) not in f.read()


def test_devices(runtime, bundle):
    bundle.config["linux"]["devices"] = [
        {"path": "/dev/mydev", "type": "c", "major": 1, "minor": 7, "fileMode": 0o640,
         "uid": 0, "gid": 0},
    ]
    bundle.config["linux"]["resources"]["devices"].append(
        {"allow": True, "type": "c", "major": 1, "minor": 7, "access": "rwm"})
    out = runtime.run_sh(
        bundle,
        "for d in null zero full random urandom tty mydev; do "
        "stat -c '%n %F %t %T' /dev/$d; done; stat -c '%a' /dev/mydev; "
        "for l in fd stdin stdout stderr ptmx; do echo /dev/$l $(readlink /dev/$l); done; "
        "echo x > /dev/null && head -c 5 /dev/zero | wc -c; "
        "(echo x > /dev/mydev) 2>&1 | grep -c 'No space left'")
    lines = out.splitlines()
    assert lines[:7] == [
        "/dev/null character special file 1 3",
        "/dev/zero character special file 1 5",
        "/dev/full character special file 1 7",
        "/dev/random character special file 1 8",
        "/dev/urandom character special file 1 9",
        "/dev/tty character special file 5 0",
        "/dev/mydev character special file 1 7",
    ], out
    assert lines[7] == "640"
    assert lines[8:13] == ["/dev/fd /proc/self/fd", "/dev/stdin /proc/self/fd/0",
                           "/dev/stdout /proc/self/fd/1", "/dev/stderr /proc/self/fd/2",
                           "/dev/ptmx pts/ptmx"], out
    assert lines[13:] == ["5", "1"], out


def test_device_cgroup_denies(runtime, bundle):
    """/dev/full exists but the device cgroup (allow false rwm, then only the
    defaults) does not let it be opened once it is not a default device."""
    bundle.config["linux"]["devices"] = [
        {"path": "/dev/denied", "type": "c", "major": 1, "minor": 4, "fileMode": 0o666}]
    out = runtime.run_sh(bundle, "head -c1 /dev/denied 2>&1; echo rc=$?")
    assert "rc=1" in out and "Operation not permitted" in out, out


def host_nodes(kind, major, minor):
    """Paths of the host's /dev nodes of that kind ('c' or 'b') and number."""
    want = stat.S_IFCHR if kind == "c" else stat.S_IFBLK
    found = []
    for dirpath, _, files in os.walk("/dev"):
        for n in files:
            try:
                st = os.lstat(os.path.join(dirpath, n))
            except OSError:
                continue
            if stat.S_IFMT(st.st_mode) == want and \
                    (os.major(st.st_rdev), os.minor(st.st_rdev)) == (major, minor):
                found.append(os.path.join(dirpath, n))
    return found


def test_device_made_from_its_numbers(runtime, bundle):
    """A linux.devices entry is made from type, major and minor, whether or not
    the host has a node at that path; fileMode, uid and gid are applied."""
    assert not os.path.exists("/dev/mydev")
    bundle.config["linux"]["devices"] = [
        {"path": "/dev/mydev", "type": "c", "major": 1, "minor": 5, "fileMode": 0o604,
         "uid": 12, "gid": 34},
    ]
    out = runtime.run_sh(bundle, "stat -c '%F %t %T %a %u %g' /dev/mydev; "
                                 "head -c 3 /dev/mydev | od -An -tx1")
    assert out.splitlines() == ["character special file 1 5 604 12 34", " 00 00 00"], out



def test_device_in_user_namespace(runtime, bundle):
    """mknod is not allowed in a user namespace: the device is still made from
    its numbers (berth-oci binds a host node of that type and number, crun
    makes the node), whatever the host has at that path."""
    if runtime.name == "runc":
        pytest.skip("runc 1.1 binds the host's node at the same path, and the host "
                    "has no /dev/mydev: no such file or directory")
    assert not os.path.exists("/dev/mydev")
    userns_bundle(bundle)
    bundle.config["linux"]["devices"] = [
        {"path": "/dev/mydev", "type": "c", "major": 1, "minor": 5, "fileMode": 0o666}]
    out = runtime.run_sh(bundle, "stat -c '%F %t %T' /dev/mydev; "
                                 "head -c 3 /dev/mydev | od -An -tx1")
    assert out.splitlines() == ["character special file 1 5", " 00 00 00"], out


def test_device_in_user_namespace_without_host_node(oci, bundle):
    """No host node of that number to bind: a clear error, nothing left."""
    assert host_nodes("c", 1, 250) == []
    userns_bundle(bundle)
    bundle.config["linux"]["devices"] = [
        {"path": "/dev/mydev", "type": "c", "major": 1, "minor": 250}]
    bundle.process["args"] = ["true"]
    cid = new_id()
    p = oci.run(bundle, cid)
    assert p.returncode == 1, describe(p)
    assert p.stderr.count("\n") == 1, describe(p)
    for part in ('linux.devices[0]', '"/dev/mydev"', "c 1:250", "user namespace",
                 "Operation not permitted", '"mounts" entry'):
        assert part in p.stderr, (part, describe(p))
    assert cid not in oci.ids_listed()


def test_device_without_cap_mknod(oci, bundle):
    """mknod refused outside a user namespace too (the runtime has no
    CAP_MKNOD): a host node of that type and number is bound instead."""
    assert not os.path.exists("/dev/mydev")
    bundle.config["linux"]["devices"] = [
        {"path": "/dev/mydev", "type": "c", "major": 1, "minor": 5}]
    bundle.process["args"] = ["sh", "-c", "stat -c '%F %t %T' /dev/mydev; "
                                          "head -c 3 /dev/mydev | od -An -tx1"]
    no_mknod = Runner("berth-oci", ["setpriv", "--bounding-set", "-mknod", "--", *oci.argv],
                      oci.root)
    p = no_mknod.run(bundle, new_id())
    assert p.returncode == 0, describe(p)
    assert p.stdout.splitlines() == ["character special file 1 5", " 00 00 00"], describe(p)


@pytest.mark.parametrize("nnp", [True, False])
def test_no_new_privileges(runtime, bundle, nnp):
    bundle.process["noNewPrivileges"] = nnp
    out = runtime.run_sh(bundle, "grep NoNewPrivs /proc/self/status")
    assert status_field(out, "NoNewPrivs") == ("1" if nnp else "0")


def test_oom_score_adj(runtime, bundle):
    bundle.process["oomScoreAdj"] = 321
    assert runtime.run_sh(bundle, "cat /proc/self/oom_score_adj") == "321\n"


@pytest.mark.parametrize("readonly", [True, False])
def test_root_readonly(runtime, bundle, readonly):
    bundle.config["root"]["readonly"] = readonly
    out = runtime.run_sh(bundle, "touch /written 2>&1; echo rc=$?")
    if readonly:
        assert "Read-only file system" in out and "rc=1" in out, out
        assert not (bundle.rootfs / "written").exists()
    else:
        assert out == "rc=0\n"
        assert (bundle.rootfs / "written").exists()


def test_sysctl(runtime, bundle):
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        host_forward = f.read()
    want = "0" if host_forward.strip() == "1" else "1"
    bundle.config["linux"]["sysctl"] = {"net.ipv4.ip_forward": want,
                                        "kernel.domainname": "sysctl.example",
                                        "kernel.msgmax": "4321"}
    out = runtime.run_sh(bundle, "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/domainname "
                                 "/proc/sys/kernel/msgmax")
    assert out.split() == [want, "sysctl.example", "4321"]
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        assert f.read() == host_forward


def test_sysctl_needs_its_namespace(runtime, bundle):
    """A net.* sysctl without a network namespace would change the host: refused."""
    bundle.config["linux"]["namespaces"] = [
        ns for ns in bundle.config["linux"]["namespaces"] if ns["type"] != "network"]
    bundle.config["mounts"] = [m for m in bundle.config["mounts"]
                               if not m["destination"].startswith("/sys")]
    bundle.config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
    bundle.process["args"] = ["true"]
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        before = f.read()
    p = runtime.run(bundle, new_id())
    assert p.returncode != 0, describe(p)
    assert "net.ipv4.ip_forward" in p.stderr, describe(p)
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        assert f.read() == before


@pytest.mark.parametrize("key,field", [("kernel.hostname", "hostname"),
                                       ("kernel.domainname", "domainname")])
def test_sysctl_name_conflicts_with_field(runtime, bundle, key, field):
    """kernel.hostname / kernel.domainname next to the hostname / domainname
    field would silently win over it: refused, as crun does (runc 1.1 refuses
    kernel.hostname even alone and has no domainname field)."""
    if runtime.name == "runc" and field == "domainname":
        pytest.skip("runc 1.1 has no domainname field (it ignores it)")
    bundle.config[field] = "from-field"
    bundle.config["linux"]["sysctl"] = {key: "from-sysctl"}
    bundle.process["args"] = ["true"]
    cid = new_id()
    p = runtime.run(bundle, cid)
    assert p.returncode != 0, describe(p)
    assert key in p.stderr and field in p.stderr, describe(p)
    if runtime.name == "berth-oci":
        assert p.returncode == 1 and p.stderr.count("\n") == 1, describe(p)
        assert f'linux.sysctl "{key}" = "from-sysctl": conflicts with the {field} field' \
            in p.stderr, describe(p)
        assert '"from-field"' in p.stderr, describe(p)
        assert cid not in runtime.ids_listed()


def test_sysctl_domainname_same_as_field(runtime, bundle):
    """kernel.domainname equal to the domainname field: no conflict, it runs (crun's own test
    "domainname with sysctl"; runc 1.1 ignores the field and writes the sysctl)."""
    bundle.config["domainname"] = "same.example"
    bundle.config["linux"]["sysctl"] = {"kernel.domainname": "same.example"}
    assert runtime.run_sh(bundle, "cat /proc/sys/kernel/domainname") == "same.example\n"


def test_sysctl_hostname_alone_refused(runtime, bundle):
    """kernel.hostname without a hostname field: runc and crun refuse it (the
    hostname field is the way to set it); berth-oci too."""
    bundle.config.pop("hostname", None)
    bundle.config["linux"]["sysctl"] = {"kernel.hostname": "from-sysctl"}
    bundle.process["args"] = ["true"]
    p = runtime.run(bundle, new_id())
    assert p.returncode != 0, describe(p)
    assert "kernel.hostname" in p.stderr, describe(p)


# What the runtime must not write when the namespace is joined by path and is
# its own: (namespace type, /proc/self/ns name, config change, file to watch).
OWN_NS_CASES = {
    "net-sysctl": ("network", "net", {"sysctl": {"net.ipv4.ip_forward": "1"}},
                   "/proc/sys/net/ipv4/ip_forward"),
    "ipc-sysctl": ("ipc", "ipc", {"sysctl": {"kernel.msgmax": "4321"}},
                   "/proc/sys/kernel/msgmax"),
    "uts-hostname": ("uts", "uts", {"hostname": "changed"}, "/proc/sys/kernel/hostname"),
    "uts-domainname": ("uts", "uts", {"domainname": "changed.org"},
                       "/proc/sys/kernel/domainname"),
}
# Which peers refuse which case (the others apply it: to the test's own
# namespace here, never the host's).
OWN_NS_PEERS_REFUSE = {"runc": {"net-sysctl"}, "crun": set()}


@pytest.mark.parametrize("case", sorted(OWN_NS_CASES))
def test_writes_refused_in_runtimes_own_namespace(runtime, bundle, case):
    """linux.sysctl and hostname/domainname are refused, not applied, when their
    namespace is joined by path and is the runtime's own (runc: "sysctl %q not
    allowed in host network namespace"). SAFETY: the runtime runs in network,
    uts and ipc namespaces this test made (`unshare`), so "its own" namespace
    is the test's, never the host's; the file is read there before and after."""
    ns_type, proc, change, watch = OWN_NS_CASES[case]
    if runtime.name == "runc" and case == "uts-domainname":
        pytest.skip("runc 1.1 has no domainname field (it ignores it)")
    for ns in bundle.config["linux"]["namespaces"]:
        if ns["type"] == ns_type:
            ns["path"] = f"/proc/self/ns/{proc}"
    bundle.config.pop("hostname", None)
    if ns_type == "network":  # no fresh sysfs without a network namespace of its own
        bundle.config["mounts"] = [m for m in bundle.config["mounts"]
                                   if not m["destination"].startswith("/sys")]
    sysctl = change.get("sysctl")
    if sysctl:
        bundle.config["linux"]["sysctl"] = sysctl
    else:
        bundle.config.update(change)
    bundle.process["args"] = ["true"]
    boxed = Runner(runtime.name, [
        "unshare", "--net", "--uts", "--ipc", "sh", "-c",
        f'echo "before=$(cat {watch})" >&2; "$@"; rc=$?; '
        f'echo "after=$(cat {watch})" >&2; exit $rc', "sh", *runtime.argv], runtime.root)
    cid = new_id()
    p = boxed.run(bundle, cid)
    refuses = runtime.name == "berth-oci" or case in OWN_NS_PEERS_REFUSE[runtime.name]
    if not refuses:
        assert p.returncode == 0, describe(p)
        return
    assert p.returncode != 0, describe(p)
    lines = p.stderr.splitlines()
    before = [x for x in lines if x.startswith("before=")]
    after = [x for x in lines if x.startswith("after=")]
    assert before and after and before[0][len("before="):] == after[0][len("after="):], \
        describe(p)
    if runtime.name == "berth-oci":
        assert p.returncode == 1, describe(p)
        msg = [x for x in lines if x.startswith("berth-oci:")]
        assert len(msg) == 1, describe(p)
        field = f'linux.sysctl "{next(iter(sysctl))}"' if sysctl else next(iter(change))
        assert msg[0].startswith(f"berth-oci: {field} = "), describe(p)
        for part in (f"the runtime's own {ns_type} namespace",
                     f'"/proc/self/ns/{proc}"', "leave it out"):
            assert part in msg[0], (part, describe(p))
        assert cid not in runtime.ids_listed()


def test_sysctl_in_joined_namespace_of_another_process(runtime, bundle):
    """A namespace joined by path that is not the runtime's own takes the
    sysctl (the refusal above is only for the runtime's own)."""
    holder = spawn(["unshare", "--net", "sleep", "60"])
    try:
        deadline = time.monotonic() + 5
        while os.readlink(f"/proc/{holder.pid}/ns/net") == os.readlink("/proc/self/ns/net"):
            assert time.monotonic() < deadline, "unshare did not start"
            time.sleep(0.01)
        for ns in bundle.config["linux"]["namespaces"]:
            if ns["type"] == "network":
                ns["path"] = f"/proc/{holder.pid}/ns/net"
        bundle.config["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}
        out = runtime.run_sh(bundle, "cat /proc/sys/net/ipv4/ip_forward")
        assert out == "1\n"
    finally:
        holder.kill()
        holder.wait()
