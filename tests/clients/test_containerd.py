"""containerd (Debian's 1.6) started by the test with a private root, state
dir and socket; ctr drives the runc v2 shim (io.containerd.runc.v2) with
BinaryName = the argv-logging wrapper (ctr's --runc-binary sets the shim's
Options.BinaryName) and its own --runc-root. The shim always passes
`--root DIR --log FILE --log-format json`.

containerd 1.6 keeps its shims' sockets in /run/containerd/s (not
configurable); the module removes what it made there.
"""

import os
import shutil

import pytest

import harness
from conftest import check_runtime, module_dir
from harness import describe

SLEEPER = 'echo started; trap "exit 0" TERM; while :; do sleep 0.1; done'
IMAGE = "docker.io/library/busybox:latest"
RUN_CONTAINERD = "/run/containerd"


class Ctr:
    def __init__(self, base, wrapper):
        self.base = base
        self.wrapper = wrapper
        self.argv = ["ctr", "-a", base / "containerd.sock", "-n", "berth"]
        self.run_flags = ["--snapshotter", "native", "--runc-binary", wrapper.path,
                          "--runc-root", base / "runc-root", "--fifo-dir", base / "fifo"]

    def cmd(self, *args, check=False, timeout=60):
        return harness.run([*self.argv, *args], check=check, timeout=timeout)

    def ok(self, *args, **kw):
        return self.cmd(*args, check=True, **kw).stdout

    def run_(self, *args, **kw):
        return self.cmd("run", *self.run_flags, *args, **kw)

    def remove(self, cid):
        self.cmd("task", "kill", "-s", "SIGKILL", cid)
        harness.wait_for(lambda: self.cmd("task", "delete", cid).returncode == 0
                         or "not found" in self.cmd("task", "ls").stdout + "not found",
                         what=f"task delete {cid}")
        self.cmd("container", "delete", cid)


def _config(base):
    return f"""version = 2
root = "{base}/root"
state = "{base}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "{base}/containerd.sock"
[ttrpc]
  address = "{base}/containerd.sock.ttrpc"
"""


def _existing(paths):
    return {p for p in paths if os.path.exists(p)}


@pytest.fixture(scope="module")
def ctr(oci_runtime, busybox_tar):
    for tool in ("containerd", "ctr", "containerd-shim-runc-v2"):
        if not shutil.which(tool):
            pytest.skip(f"{tool} is not installed")
    check_runtime(oci_runtime)
    run_dirs = [RUN_CONTAINERD + d for d in ("/s", "/fifo", "/runc", "")]
    before = _existing(run_dirs)
    base = module_dir("berth-containerd-")
    (base / "config.toml").write_text(_config(base))
    wrapper = harness.Wrapper(oci_runtime, base)
    d = harness.Daemon(["containerd", "--config", base / "config.toml"], base / "containerd.log")
    c = Ctr(base, wrapper)
    try:
        harness.wait_for(lambda: not d.alive() or c.cmd("version").returncode == 0,
                         what="containerd answers")
        assert d.alive(), d.output()
        c.ok("images", "import", "--snapshotter", "native", busybox_tar)
        yield c
    finally:
        for line in c.cmd("task", "ls", "-q").stdout.split():
            c.cmd("task", "kill", "-s", "SIGKILL", line)
        d.stop()
        harness.kill_leftovers(str(base))
        harness.umount_below(base)
        shutil.rmtree(base, ignore_errors=True)
        for p in run_dirs:  # what we made, deepest first, only if empty
            if p not in before:
                try:
                    os.rmdir(p)
                except OSError:
                    pass


def test_run_rm_echo(ctr):
    p = ctr.run_("--rm", IMAGE, "echo-1", "echo", "hello from containerd")
    assert p.returncode == 0, describe(p)
    assert p.stdout == "hello from containerd\n", describe(p)
    calls = [argv for c, argv in ctr.wrapper.commands() if c in ("create", "start", "delete")]
    assert calls, ctr.wrapper.calls()
    for argv in calls:  # the shim's global flags
        assert argv[0] == "--root" and argv[2] == "--log" and argv[4:6] == ["--log-format", "json"], argv


def test_exit_code(ctr):
    p = ctr.run_("--rm", IMAGE, "exit-1", "sh", "-c", "exit 3")
    assert p.returncode == 3, describe(p)


def test_detached_task_exec_kill_delete(ctr):
    cid = "task-1"
    ctr.ok("run", "-d", *ctr.run_flags, IMAGE, cid, "sh", "-c", SLEEPER)
    try:
        harness.wait_for(lambda: "RUNNING" in ctr.cmd("task", "ls").stdout, what="running")
        p = ctr.cmd("task", "exec", "--fifo-dir", ctr.base / "fifo", "--exec-id", "e1", cid,
                    "sh", "-c", "echo in-exec; cat /proc/1/cmdline; exit 4")
        assert p.returncode == 4, describe(p)
        assert p.stdout.startswith("in-exec\nsh"), describe(p)
        ps = ctr.ok("task", "ps", cid)
        assert len(ps.splitlines()) >= 2, ps
        ctr.ok("task", "pause", cid)
        assert "PAUSED" in ctr.ok("task", "ls")
        ctr.ok("task", "resume", cid)
        ctr.ok("task", "kill", cid)  # SIGTERM: the trap exits 0
        harness.wait_for(lambda: "STOPPED" in ctr.cmd("task", "ls").stdout, what="stopped")
        ctr.ok("task", "delete", cid)
    finally:
        ctr.remove(cid)
    cmds = {c for c, _ in ctr.wrapper.commands()}
    assert {"create", "start", "exec", "kill", "pause", "resume", "ps", "delete"} <= cmds, cmds
    execs = [argv for c, argv in ctr.wrapper.commands() if c == "exec"]
    assert all("--process" in a and "--detach" in a and "--pid-file" in a for a in execs), execs


def _memory_limit(ctr, cid):
    """The task's memory limit read on the host from its cgroup (ctr's spec
    mounts no cgroupfs in the container)."""
    cg = ctr.ok("task", "exec", "--fifo-dir", ctr.base / "fifo", "--exec-id", "cg", cid,
                "cat", "/proc/1/cgroup")
    for line in cg.splitlines():
        _, ctrls, path = line.split(":", 2)
        if ctrls == "memory":
            return int(open(f"/sys/fs/cgroup/memory{path}/memory.limit_in_bytes").read())
        if ctrls == "" and os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
            return int(open(f"/sys/fs/cgroup{path}/memory.max").read())
    raise AssertionError(f"no memory cgroup in {cg!r}")


def test_memory_limited_task(ctr):
    cid = "mem-1"
    ctr.ok("run", "-d", *ctr.run_flags, "--memory-limit", str(48 << 20), IMAGE, cid,
           "sh", "-c", SLEEPER)
    try:
        harness.wait_for(lambda: "RUNNING" in ctr.cmd("task", "ls").stdout, what="running")
        assert _memory_limit(ctr, cid) == 48 << 20
    finally:
        ctr.remove(cid)


def test_error_reaches_the_user(ctr):
    """The runtime's error travels as a JSON log line that the shim parses and
    ctr shows."""
    p = ctr.run_("--rm", IMAGE, "bad-1", "/no/such/program")
    assert p.returncode != 0, describe(p)
    assert "/no/such/program" in p.stderr, describe(p)
    ctr.cmd("container", "delete", "bad-1")
