"""Killing the CLI at any moment leaves a state that `delete --force` fully
cleans: here `create` is killed with SIGKILL while its createRuntime hook runs,
that is after the state dir, the cgroup and the init exist."""

import json
import os
import signal
import time

import pytest

from conftest import describe


def _wait_for(path, timeout=10):
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)


def _cgroup_dirs_of(cid):
    return [f"/sys/fs/cgroup/{h}/berth/{cid}" for h in os.listdir("/sys/fs/cgroup")
            if os.path.isdir(f"/sys/fs/cgroup/{h}/berth/{cid}")]


def test_killed_create_is_cleaned_by_delete_force(oci, bundle, workdir):
    started = workdir.path / "hook-started"
    hook_pid = workdir.path / "hook-pid"
    bundle.config["hooks"] = {"createRuntime": [{
        "path": "/bin/sh",
        "args": ["sh", "-c", f"echo $$ > {hook_pid}; touch {started}; exec sleep 30"]}]}
    cid = "crash-" + os.urandom(4).hex()
    bundle.write()
    oci.ids.add(cid)
    create = oci.popen("create", "--bundle", str(bundle.path), cid)
    try:
        _wait_for(started)
        assert _cgroup_dirs_of(cid), "the cgroup should exist while the hooks run"
        create.send_signal(signal.SIGKILL)
        create.wait(timeout=10)
    finally:
        if hook_pid.exists():
            try:
                os.kill(int(hook_pid.read_text()), signal.SIGKILL)
            except ProcessLookupError:
                pass
    # the init died with create (PDEATHSIG): the container is stopped, not lost
    st = oci.state(cid)
    assert st.returncode == 0, describe(st)
    assert json.loads(st.stdout)["status"] == "stopped"
    p = oci.delete(cid, force=True)
    assert p.returncode == 0, describe(p)
    assert not (oci.root / cid).exists()
    assert _cgroup_dirs_of(cid) == []
    assert oci.state(cid).returncode == 1


def test_bad_cgroups_path_creates_nothing(oci, bundle):
    bundle.config["linux"]["cgroupsPath"] = "/berth/../escape"
    p = oci.run(bundle, "badcg")
    assert p.returncode == 1, describe(p)
    assert "linux.cgroupsPath" in p.stderr and '".."' in p.stderr, describe(p)
    assert not (oci.root / "badcg").exists()
    assert not os.path.exists("/sys/fs/cgroup/pids/escape")
