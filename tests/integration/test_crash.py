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
    # the init died with create (PDEATHSIG) before create recorded it: `state` says it does
    # not exist, as runc's (its state.json is written once the init is recorded), naming the
    # way out; `list` still shows what is left (stopped), for delete --force
    st = oci.state(cid)
    assert st.returncode == 1, describe(st)
    assert "does not exist" in st.stderr and "delete --force" in st.stderr, describe(st)
    out = oci.cmd("list", "--format", "json", check=True).stdout
    listed = [c for c in json.loads(out or "[]") if c["id"] == cid]
    assert [c["status"] for c in listed] == ["stopped"], listed
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


def test_state_and_start_during_create(runtime, bundle, workdir):
    """While create runs (here: held in its createRuntime hook) the container does not exist
    for state and start, as runc's and crun's do not (kill fails too): crun's own test_start polls `state`
    until it answers, then starts; a state that answered "stopped" made that start fail. Once
    create is done: "created", and start works."""
    go = workdir.path / "go"
    started = workdir.path / "hook-started"
    bundle.config["hooks"] = {"createRuntime": [{
        "path": "/bin/sh",
        "args": ["sh", "-c", f"touch {started}; while [ ! -e {go} ]; do sleep 0.01; done"]}]}
    bundle.process["args"] = ["true"]
    cid = "mid-" + os.urandom(4).hex()
    bundle.write()
    runtime.ids.add(cid)
    create = runtime.popen("create", "--bundle", str(bundle.path), cid)
    try:
        _wait_for(started)
        absent = "No such file or directory" if runtime.name == "crun" else "does not exist"
        for args in (["state", cid], ["start", cid]):
            p = runtime.cmd(*args)
            assert p.returncode == 1 and absent in p.stderr, describe(p)
        p = runtime.cmd("kill", cid, "KILL")  # berth-oci: "is not running"; nothing is killed
        assert p.returncode == 1, describe(p)
    finally:
        go.touch()
    assert create.wait(timeout=30) == 0, create.stderr.read()
    assert json.loads(runtime.cmd("state", cid, check=True).stdout)["status"] == "created"
    assert runtime.cmd("start", cid).returncode == 0
    runtime.cmd("delete", "--force", cid)
