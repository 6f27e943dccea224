"""How the runtime sets up the container's process, for configs that real clients write and
that runc and crun run: what the runtime must do itself because the process cannot (its /proc
files are the host root's while it is non-dumpable; a bind source under a directory only the
host's root may enter), what must not depend on the seccomp profile, socket activation, seccomp
notify, and a config without a mount namespace. Each runs for berth-oci, crun and runc."""

import json
import os
import socket
import struct
import subprocess
import fcntl
import errno
import threading

import pytest

from conftest import describe, new_id
from helpers import userns_bundle


# ---- what the non-dumpable init cannot write itself --------------------------------------


def test_time_offsets_in_user_namespace(runtime, bundle):
    """The offsets of a new time namespace are written before anything enters it, also when
    the container has its own user namespace (the runtime writes them for the init)."""
    if runtime.name == "runc":
        pytest.skip("runc 1.1 has no time namespace support")
    if runtime.name == "crun":
        pytest.skip("crun 1.8 makes the time namespace but leaves its offsets at 0")
    userns_bundle(bundle)
    bundle.config["linux"]["namespaces"].append({"type": "time"})
    bundle.config["linux"]["timeOffsets"] = {"monotonic": {"secs": 1000, "nanosecs": 0},
                                             "boottime": {"secs": 86400, "nanosecs": 5}}
    out = runtime.run_sh(bundle, "cat /proc/self/timens_offsets; cut -d. -f1 /proc/uptime")
    lines = out.split("\n")
    assert lines[0].split() == ["monotonic", "1000", "0"], out
    assert lines[1].split() == ["boottime", "86400", "5"], out
    with open("/proc/uptime") as f:
        host_uptime = float(f.read().split()[0])
    assert int(lines[2]) >= host_uptime + 86400 - 60, out


def test_oom_score_adj_in_user_namespace(runtime, bundle):
    userns_bundle(bundle)
    bundle.process["oomScoreAdj"] = 321
    assert runtime.run_sh(bundle, "cat /proc/self/oom_score_adj") == "321\n"


def test_oom_score_adj_of_exec_in_user_namespace(runtime, bundle):
    if runtime.name == "crun":
        pytest.skip("crun 1.8 leaves an exec'd process at oom_score_adj 0")
    userns_bundle(bundle)
    bundle.process["oomScoreAdj"] = 123
    bundle.process["args"] = ["sleep", "100"]
    cid = new_id()
    runtime.run(bundle, cid, detach=True, check=True)
    try:
        p = runtime.cmd("exec", cid, "cat", "/proc/self/oom_score_adj")
        assert p.returncode == 0, describe(p)
        assert p.stdout == "123\n"
    finally:
        runtime.delete(cid, force=True)


# ---- a bind source only the runtime can reach ----------------------------------------------


def test_bind_source_under_a_directory_only_root_enters(runtime, bundle, workdir):
    """Container root is mapped to another uid, and the source sits under a mode-0000 directory
    of the host's root: the runtime opens it on the host side before the user namespace is
    entered (runc's mountfd request), instead of failing with EACCES."""
    if runtime.name == "runc":
        pytest.skip("runc 1.1 opens bind sources from inside the user namespace: "
                    "permission denied")
    locked = workdir.path / "locked"
    (locked / "src").mkdir(parents=True)
    (locked / "src" / "file").write_text("secret\n")
    os.chmod(locked, 0)
    userns_bundle(bundle)
    bundle.config["mounts"].append({"destination": "/data", "type": "bind",
                                    "source": str(locked / "src"), "options": ["rbind", "ro"]})
    try:
        out = runtime.run_sh(bundle, "cat /data/file; touch /data/x 2>/dev/null || echo ro")
    finally:
        os.chmod(locked, 0o755)
    assert out == "secret\nro\n"


def test_bind_source_missing_is_still_an_error(runtime, bundle, workdir):
    userns_bundle(bundle)
    bundle.config["mounts"].append({"destination": "/data", "type": "bind",
                                    "source": str(workdir.path / "nope"), "options": ["rbind"]})
    bundle.process["args"] = ["true"]
    p = runtime.run(bundle, new_id())
    assert p.returncode != 0, describe(p)
    if runtime.name == "berth-oci":
        assert "mounts[" in p.stderr and "No such file or directory" in p.stderr, p.stderr


# ---- nothing the runtime does depends on the seccomp profile -------------------------------

# An allow-list as docker 19.03's and containerd 1.3's default profiles were written, before
# faccessat2 (Linux 5.8), close_range (5.9) and clone3 (5.3) existed: everything not listed
# fails with EPERM.
OLD_ALLOW_LIST = sorted("""
    access arch_prctl brk capget capset chdir close dup dup2 dup3 execve exit exit_group
    fchdir fcntl fstat fstatfs futex getcwd getdents64 getegid geteuid getgid getpid getppid
    getrlimit getuid ioctl lseek lstat mmap mprotect munmap newfstatat open openat poll
    prctl pread64 prlimit64 read readlink rt_sigaction rt_sigprocmask rt_sigreturn
    set_robust_list set_tid_address setgid setgroups setresgid setresuid setuid stat statx
    uname wait4 write writev getpgrp setpgid setsid sigaltstack clone fork vfork
    sched_getaffinity getrandom rseq
""".split())


@pytest.mark.parametrize("nnp", [True, False], ids=["no_new_privs", "privs"])
def test_old_style_allow_list(runtime, bundle, nnp):
    if runtime.name == "runc" and not nnp:
        pytest.skip("runc 1.1 (Debian 12) fails it: exec /bin/sh: operation not permitted")
    bundle.process["noNewPrivileges"] = nnp
    bundle.config["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ERRNO",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": [{"names": OLD_ALLOW_LIST, "action": "SCMP_ACT_ALLOW"}],
    }
    # busybox's echo and sh run with this profile; mkdir is not allowed
    out = runtime.run_sh(bundle, "echo in; mkdir /tmp/x 2>/dev/null || echo denied")
    assert out == "in\ndenied\n"


def test_old_style_allow_list_exec(runtime, bundle):
    if runtime.name == "runc":
        pytest.skip("runc 1.1 (Debian 12) fails it: exec /bin/sleep: operation not permitted")
    bundle.process["noNewPrivileges"] = False
    bundle.config["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ERRNO",
        "syscalls": [{"names": OLD_ALLOW_LIST + ["nanosleep", "clock_nanosleep"],
                      "action": "SCMP_ACT_ALLOW"}],
    }
    bundle.process["args"] = ["sleep", "100"]
    cid = new_id()
    runtime.run(bundle, cid, detach=True, check=True)
    try:
        p = runtime.cmd("exec", cid, "sh", "-c", "echo exec ok")
        assert p.returncode == 0, describe(p)
        assert p.stdout == "exec ok\n"
    finally:
        runtime.delete(cid, force=True)


# ---- socket activation ------------------------------------------------------------------


def test_listen_fds_are_passed_on(runtime, bundle):
    """With LISTEN_FDS=2 and LISTEN_PID = the runtime's pid (systemd socket activation), fds 3
    and 4 reach the process with LISTEN_FDS=2 and LISTEN_PID=1, before --preserve-fds (runc)."""
    if runtime.name == "crun":
        pytest.skip("crun 1.8 keeps the fds but does not set LISTEN_PID=1")
    a, b = socket.socketpair()
    c, d = socket.socketpair()
    e, f = socket.socketpair()
    script = ('echo "$LISTEN_FDS $LISTEN_PID"; for fd in 3 4 5 6; do '
              '[ -e /proc/self/fd/$fd ] && echo "fd $fd" ; done; true')
    bundle.process["args"] = ["sh", "-c", script]
    bundle.write()
    cid = new_id()
    runtime.ids.add(cid)
    argv = runtime.argv_for("run", "--preserve-fds", "1", "--bundle", str(bundle.path), cid)
    # LISTEN_PID must be the runtime's own pid: exec it from a shell that knows its pid (bash:
    # dash cannot redirect fds above 9).
    fds = (a.fileno(), c.fileno(), e.fileno())
    shell = 'exec 3<&%d 4<&%d 5<&%d; LISTEN_FDS=2 LISTEN_PID=$$ exec "$@"' % fds
    p = subprocess.run(["bash", "-c", shell, "bash", *argv], pass_fds=fds, capture_output=True,
                       text=True, timeout=30)
    for s in (a, b, c, d, e, f):
        s.close()
    assert p.returncode == 0, describe(p)
    assert p.stdout.split("\n")[0] == "2 1", p.stdout
    assert "fd 3\nfd 4\nfd 5\n" in p.stdout and "fd 6" not in p.stdout, p.stdout


def test_preserve_fds_must_be_open(runtime, bundle):
    if runtime.name != "berth-oci":
        pytest.skip("berth-oci's message")
    bundle.process["args"] = ["true"]
    p = runtime.run(bundle, new_id(), "--preserve-fds", "40")
    assert p.returncode == 1, describe(p)
    assert "--preserve-fds: fd" in p.stderr and "is not open" in p.stderr, p.stderr


# ---- seccomp notify ---------------------------------------------------------------------

SECCOMP_IOCTL_NOTIF_RECV = (3 << 30) | (80 << 16) | (ord("!") << 8) | 0
SECCOMP_IOCTL_NOTIF_SEND = (3 << 30) | (24 << 16) | (ord("!") << 8) | 1


def complete_json(data):
    try:
        json.loads(data)
        return True
    except ValueError:
        return False


class Agent(threading.Thread):
    """A seccomp agent on listenerPath: keeps the message it got and answers every
    notification with ENOSPC."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(4)
        self.sock.settimeout(30)
        self.messages, self.calls = [], []

    def run(self):
        try:
            while True:
                conn, _ = self.sock.accept()
                with conn:
                    # one message; runc and crun do not close the connection after it
                    msg, fds, _, _ = socket.recv_fds(conn, 1 << 16, 4)
                    while not complete_json(msg):
                        msg += conn.recv(1 << 16)
                self.messages.append(json.loads(msg))
                threading.Thread(target=self.answer, args=(fds[0],), daemon=True).start()
        except OSError:
            return

    def answer(self, fd):
        try:
            while True:
                buf = bytearray(80)
                fcntl.ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, buf)
                nid, pid, _, nr = struct.unpack_from("QIIi", buf)
                self.calls.append(nr)
                fcntl.ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND,
                            bytearray(struct.pack("QqiI", nid, 0, -errno.ENOSPC, 0)))
        except OSError:
            os.close(fd)


def test_seccomp_listener(runtime, bundle, workdir):
    agent = Agent(workdir.path / "agent.sock")
    agent.start()
    try:
        bundle.config["linux"]["seccomp"] = {
            "defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": str(workdir.path / "agent.sock"),
            "listenerMetadata": "hello",
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}],
        }
        out = runtime.run_sh(bundle, "mkdir /tmp/x 2>&1; echo rc=$?")
    finally:
        agent.sock.close()
    assert "No space left on device" in out and "rc=1" in out, out
    assert len(agent.messages) == 1
    m = agent.messages[0]
    assert m["fds"] == ["seccompFd"] and m["metadata"] == "hello", m
    assert m["state"]["pid"] == m["pid"] > 0 and m["state"]["status"] in ("creating", "created")
    assert m["state"]["bundle"] == str(bundle.path)


def test_seccomp_notify_needs_listener_path(runtime, bundle):
    if runtime.name != "berth-oci":
        pytest.skip("berth-oci's message")
    bundle.config["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}
    p = runtime.run(bundle, new_id())
    assert p.returncode == 1 and "listenerPath" in p.stderr, describe(p)


# ---- no mount namespace -----------------------------------------------------------------


def no_mount_ns(bundle):
    bundle.config["linux"]["namespaces"] = [n for n in bundle.config["linux"]["namespaces"]
                                            if n["type"] != "mount"]
    bundle.config["mounts"] = []
    bundle.config["linux"].pop("maskedPaths", None)
    bundle.config["linux"].pop("readonlyPaths", None)
    bundle.config["root"]["readonly"] = False


def test_no_mount_namespace_inherits_the_runtimes(runtime, bundle):
    """Namespaces the config does not list are inherited, the mount namespace too (the spec's
    rule): the process shares ours and sees the rootfs as its root (chroot)."""
    if runtime.name != "berth-oci":
        pytest.skip("runc 1.1 needs a /proc in the rootfs, which it would mount in the "
                    "host's namespace; crun 1.8 likewise")
    no_mount_ns(bundle)
    (bundle.rootfs / "marker").write_text("rootfs\n")
    out = runtime.run_sh(bundle, "cat /marker; echo $$")
    assert out.split("\n")[0] == "rootfs"
    # nothing was mounted in our namespace
    with open("/proc/self/mountinfo") as f:
        assert str(bundle.rootfs) not in f.read()


@pytest.mark.parametrize("field", ["mounts", "maskedPaths", "root.readonly"])
def test_no_mount_namespace_refuses_what_would_mount_in_the_hosts(runtime, bundle, field):
    if runtime.name != "berth-oci":
        pytest.skip("runc 1.1 mounts them in the host's namespace; crun ignores some")
    no_mount_ns(bundle)
    if field == "mounts":
        bundle.config["mounts"] = [{"destination": "/proc", "type": "proc", "source": "proc"}]
    elif field == "maskedPaths":
        bundle.config["linux"]["maskedPaths"] = ["/proc/kcore"]
    else:
        bundle.config["root"]["readonly"] = True
    bundle.process["args"] = ["true"]
    p = runtime.run(bundle, new_id())
    assert p.returncode == 1, describe(p)
    assert "needs a mount namespace" in p.stderr, p.stderr


# ---- idmapped mounts ---------------------------------------------------------------------


@pytest.mark.parametrize("option", ["idmap", "ridmap"])
def test_idmap_with_the_containers_user_namespace(runtime, bundle, workdir, option):
    """config.md "idmap": without mappings of its own the mount takes the container's user
    namespace's: a host directory owned by root is root's inside a container whose root is
    another uid on the host (unmapped, it would show as nobody). The runtime makes it: the
    init has no CAP_SYS_ADMIN over the host's filesystem."""
    if runtime.name == "runc":
        pytest.skip("runc 1.1 has no idmapped mounts")
    if runtime.name == "crun" and option == "ridmap":
        pytest.skip("crun 1.8 does not know \"ridmap\" (mounts it unmapped)")
    vol = workdir.path / "vol"
    vol.mkdir()
    (vol / "f").write_text("x\n")
    userns_bundle(bundle)
    bundle.config["mounts"] += [
        {"destination": "/plain", "type": "bind", "source": str(vol), "options": ["rbind"]},
        {"destination": "/mapped", "type": "bind", "source": str(vol), "options": ["rbind", option]}]
    out = runtime.run_sh(bundle, "stat -c '%u %g' /plain/f /mapped/f; echo y > /mapped/g")
    assert out.split("\n")[:2] == ["65534 65534", "0 0"], out
    # what the container writes through the mapping is root's on the host
    st = os.stat(vol / "g")
    assert (st.st_uid, st.st_gid) == (0, 0)
