"""`berth run` killed (kill -9) at any moment of its life leaves only what `berth rm -f` fully
cleans: no container dir, no mount, no cgroup, no runtime state, and no process (a container's
cgroup can only be removed once it is empty)."""

import glob
import os
import signal
import time

import pytest

from conftest import describe

# From before the record exists to a container that has been running a while.
DELAYS = [0, 0.002, 0.005, 0.01, 0.02, 0.04, 0.08, 0.15, 0.3]


@pytest.fixture
def bb(berth, busybox_archive):
    berth.ok("load", "-i", busybox_archive)
    return berth


def mounts_under(root):
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(f"{root}/")]


def cgroups_of(ids):
    return [d for i in ids for d in glob.glob(f"/sys/fs/cgroup/*/berth/{i}")]


@pytest.mark.parametrize("rm", [False, True], ids=["keep", "rm"])
def test_kill_run_at_any_moment_then_rm_f(bb, rm):
    for i, delay in enumerate(DELAYS):
        args = ["run", *(["--rm"] if rm else []), "--name", f"crash{i}", "busybox",
                "sleep", "100"]
        p = bb.popen(*args)
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
    bb._note_ids()
    left = bb.containers()
    assert len(left) <= len(DELAYS), left
    ps = bb.cmd("ps", "-a", "-q", "--no-trunc")
    assert ps.returncode == 0, describe(ps)
    assert sorted(ps.stdout.split()) == left, describe(ps)
    for c in left:
        r = bb.cmd("rm", "-f", c, timeout=30)
        assert r.returncode == 0, describe(r)
    assert bb.containers() == []
    assert mounts_under(bb.root) == []
    assert cgroups_of(bb.ids) == []
    # (compiled seccomp programs are a cache, not a container's state)
    state = [os.path.join(d, f) for d, _, fs in os.walk(bb.runroot) for f in fs
             if not f.endswith(".lock") and not d.endswith("/.seccomp:bpf")]
    assert state == []
    # the store is still whole: a new container runs
    p = bb.cmd("run", "--rm", "busybox", "echo", "ok", timeout=60)
    assert p.returncode == 0 and p.stdout == "ok\n", describe(p)
