"""Checks of the test harness itself: tools/mkbundle, the subreaper and the
leak guard (a leak guard that sees nothing would let every test pass)."""

import ctypes
import json
import os
import subprocess
import time

import conftest
from conftest import MKBUNDLE, describe, new_id


def test_mkbundle(workdir):
    d = workdir.path / "b"
    d.mkdir()
    subprocess.run([str(MKBUNDLE), str(d), "--args", "echo", "a b"], check=True)
    config = json.loads((d / "config.json").read_text())
    assert config["process"]["args"] == ["echo", "a b"]
    assert config["process"]["terminal"] is False
    assert config["hostname"] == "berth"
    assert config["root"] == {"path": "rootfs", "readonly": True}
    r = d / "rootfs"
    with open(r / "bin" / "busybox", "rb") as f:
        elf = f.read()
    assert elf[:4] == b"\x7fELF" and b"/lib64/ld-linux" not in elf  # static
    assert os.readlink(r / "bin" / "sh") == "busybox"
    assert os.readlink(r / "bin" / "ps") == "busybox"
    for sub in ("proc", "sys", "dev", "tmp"):
        assert (r / sub).is_dir()
    passwd = (r / "etc" / "passwd").read_text()
    assert passwd.startswith("root:x:0:0:") and "\nnobody:x:65534:65534:" in passwd
    assert "root:x:0:" in (r / "etc" / "group").read_text()


def test_mkbundle_bundle_runs(runtime, workdir):
    d = workdir.path / "b"
    d.mkdir()
    subprocess.run([str(MKBUNDLE), str(d), "--args", "sh", "-c", "hostname; echo $$"],
                   check=True)
    b = conftest.Bundle(d, json.loads((d / "config.json").read_text()))
    p = runtime.run(b, new_id())
    assert p.returncode == 0, describe(p)
    assert p.stdout == "berth\n1\n"


def test_pytest_is_a_subreaper():
    libc = ctypes.CDLL(None, use_errno=True)
    v = ctypes.c_int(0)
    assert libc.prctl(37, ctypes.byref(v), 0, 0, 0) == 0  # PR_GET_CHILD_SUBREAPER
    assert v.value == 1


def wait_until(cond, what, timeout=30):
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"not after {timeout}s: {what}"
        time.sleep(0.01)


def test_leak_guard_sees_leaks(workdir):
    before_mounts = conftest._mounts()
    before_cgroups = conftest._cgroup_dirs()
    before_procs = set((pid, st[2]) for pid, st in
                       conftest._descendants(os.getpid()).items())
    assert conftest._find_leaks(workdir, before_mounts, before_cgroups, before_procs,
                                grace=0) == []

    mnt = workdir.path / "mnt"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "leaktest", str(mnt)],
                   check=True)
    # an orphan: the shell exits at once and sleep is reparented to us. Wait until the orphan
    # has exec'd sleep (on a busy machine the forked shell can still be "sh -c ..." when the
    # parent has exited) so that the guard's report, and the kill below, see "sleep 30".
    out = subprocess.run(["sh", "-c", "sleep 30 >/dev/null 2>&1 & echo $!"], check=True,
                         capture_output=True, text=True, stdin=subprocess.DEVNULL).stdout
    orphan = int(out)
    wait_until(lambda: conftest._cmdline(orphan) == "sleep 30", f"pid {orphan} runs sleep 30")
    r = conftest.Runner("fake", ["true"], workdir.path / "root-fake")
    workdir.runners.append(r)
    (r.root / "leftover").mkdir(parents=True)
    try:
        leaks = conftest._find_leaks(workdir, before_mounts, before_cgroups,
                                     before_procs, grace=0)
        text = "\n".join(leaks)
        assert f" {mnt} " in text, text
        assert "'sleep 30'" in text, text
        assert "state left in --root" in text and "leftover" in text, text
    finally:
        subprocess.run(["umount", str(mnt)], check=True)
        os.kill(orphan, 9)
        os.rmdir(r.root / "leftover")
        workdir.runners.remove(r)
    conftest.reap_orphans()
