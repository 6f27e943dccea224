"""Resource limits and the cgroup commands: pause, resume, ps, update, events.

Limits are checked by their effect inside the container (an OOM kill, a fork
that fails, a frozen loop) and, read-only, in the container's own cgroup on
the host, found through /proc/<init pid>/cgroup so the same test works for
every runtime.  Nothing here writes a cgroup file.
"""

import json
import os
import signal
import time

import pytest

from conftest import describe, new_id, runtime_argv
from helpers import SLEEPER, read_until, wait_for_file

CG = "/sys/fs/cgroup"
V2 = os.path.exists(f"{CG}/cgroup.controllers")

pytestmark = pytest.mark.skipif(
    V2 or not os.path.isdir(f"{CG}/memory"),
    reason="these tests read cgroup v1 files (v2 is covered in the VM suite)")


# --------------------------------------------------------------------------
# helpers


def cgroup_dir(pid, controller):
    """The host directory of pid's cgroup for a v1 controller."""
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if controller in ctrls.split(","):
                return f"{CG}/{controller}{path}"
    raise AssertionError(f"pid {pid} has no {controller} cgroup")


def cg_read(pid, controller, name):
    with open(os.path.join(cgroup_dir(pid, controller), name)) as f:
        return f.read()


def cg_kv(pid, controller, name):
    return {k: int(v) for k, v in (line.split() for line in
                                    cg_read(pid, controller, name).splitlines())}


def wait_for(cond, what, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {timeout}s")
        time.sleep(0.02)


def swap_enabled():
    with open("/proc/swaps") as f:
        return len(f.read().splitlines()) > 1


def limit_memory(bundle, limit):
    mem = {"limit": limit}
    if swap_enabled():
        mem["swap"] = limit  # no swap: the limit must kill, not page out
    bundle.config["linux"]["resources"]["memory"] = mem


def start(runtime, bundle, cid, script, writable=False):
    """Run `sh -c script` detached; return the init's pid."""
    bundle.process["args"] = ["sh", "-c", script]
    bundle.config["root"]["readonly"] = not writable
    runtime.run(bundle, cid, detach=True, check=True)
    return runtime.wait_status(cid, "running")["pid"]


def stop(runtime, cid):
    runtime.kill(cid, "KILL", check=True)
    runtime.wait_status(cid, "stopped")
    runtime.delete(cid, check=True)


def events_json(oci, cid):
    p = oci.cmd("events", "--stats", cid, check=True)
    lines = p.stdout.splitlines()
    assert len(lines) == 1, describe(p)
    ev = json.loads(lines[0])
    assert ev["type"] == "stats" and ev["id"] == cid, ev
    return ev["data"]


# Dies of the OOM killer: dd reads 64 MiB of zeros into one buffer.
HOG = "dd if=/dev/zero of=/dev/null bs=64M count=1"
# Waits for /trigger from the host, runs the hog in a child, keeps running.
OOM_ON_TRIGGER = (
    "trap 'exit 0' TERM; while [ ! -e /trigger ]; do sleep 0.02; done; "
    f"{HOG}; echo hog=$? > /hog.done; sleep 1000 & wait")


# --------------------------------------------------------------------------
# limits


def test_memory_limit_oom_kills(runtime, bundle, cid):
    limit_memory(bundle, 32 << 20)
    bundle.process["args"] = ["sh", "-c", f"exec {HOG}"]
    p = runtime.run(bundle, cid)
    assert p.returncode == 137, describe(p)
    runtime.delete(cid, force=True)


def test_pids_limit_stops_fork_bomb(runtime, bundle, cid):
    bundle.config["linux"]["resources"]["pids"] = {"limit": 10}
    # Every fork after the 10th process fails; the init keeps one child to
    # wait for, and signals from a builtin (no fork needed).
    pid = start(runtime, bundle, cid, (
        "trap 'exit 0' TERM; sleep 1000 & "
        "( i=0; while [ $i -lt 40 ]; do sleep 1000 & i=$((i+1)); done ) 2>/bomb.err; "
        ": > /bombed; wait"), writable=True)
    wait_for_file(bundle.rootfs / "bombed")
    assert "can't fork" in (bundle.rootfs / "bomb.err").read_text()
    assert int(cg_read(pid, "pids", "pids.current")) <= 10
    assert cg_kv(pid, "pids", "pids.events")["max"] > 0
    stop(runtime, cid)


def test_cpu_quota_throttles(runtime, bundle, cid):
    bundle.config["linux"]["resources"]["cpu"] = {"quota": 10000, "period": 100000}
    pid = start(runtime, bundle, cid, "trap 'exit 0' TERM; while :; do :; done")
    assert cg_read(pid, "cpu", "cpu.cfs_quota_us").strip() == "10000"
    wait_for(lambda: cg_kv(pid, "cpu", "cpu.stat")["nr_throttled"] > 0,
             "cpu.stat nr_throttled > 0")
    stop(runtime, cid)


def test_device_cgroup_denies_mknod_device(runtime, bundle):
    """mknod is allowed (runc's default rules) but opening a device that no
    rule allows is not, while /dev/null is."""
    caps = bundle.process["capabilities"]
    for k in ("bounding", "effective", "permitted"):
        caps[k] = caps[k] + ["CAP_MKNOD"]
    out = runtime.run_sh(bundle, (
        "mknod /dev/mymem c 1 1 && echo made; "
        "head -c1 /dev/mymem 2>&1 >/dev/null; echo mem=$?; "
        "head -c1 /dev/null; echo null=$?"))
    assert "made" in out and "mem=1" in out and "null=0" in out, out
    assert "Operation not permitted" in out, out


# --------------------------------------------------------------------------
# update


def test_update_flags(runtime, bundle, cid):
    pid = start(runtime, bundle, cid, SLEEPER)
    p = runtime.cmd("update", "--memory", str(48 << 20), "--memory-reservation",
                    str(16 << 20), "--pids-limit", "20", "--cpu-quota", "20000",
                    "--cpu-period", "100000", "--cpu-share", "512", cid)
    assert p.returncode == 0, describe(p)
    assert int(cg_read(pid, "memory", "memory.limit_in_bytes")) == 48 << 20
    assert int(cg_read(pid, "memory", "memory.soft_limit_in_bytes")) == 16 << 20
    assert cg_read(pid, "pids", "pids.max").strip() == "20"
    assert cg_read(pid, "cpu", "cpu.cfs_quota_us").strip() == "20000"
    assert cg_read(pid, "cpu", "cpu.shares").strip() == "512"
    stop(runtime, cid)


@pytest.mark.parametrize("size,want", [("48m", 48 << 20), ("1g", 1 << 30),
                                       ("65536k", 64 << 20), ("1.5M", 3 << 19)])
def test_update_memory_units(oci, bundle, cid, size, want):
    pid = start(oci, bundle, cid, SLEEPER)
    oci.cmd("update", "--memory", size, cid, check=True)
    assert int(cg_read(pid, "memory", "memory.limit_in_bytes")) == want
    stop(oci, cid)


def test_update_resources_stdin(runtime, bundle, cid):
    pid = start(runtime, bundle, cid, SLEEPER)
    res = {"memory": {"limit": 40 << 20}, "pids": {"limit": 30},
           "cpu": {"quota": 30000, "period": 100000}}
    p = runtime.cmd("update", "-r", "-", cid, input=json.dumps(res))
    assert p.returncode == 0, describe(p)
    assert int(cg_read(pid, "memory", "memory.limit_in_bytes")) == 40 << 20
    assert cg_read(pid, "pids", "pids.max").strip() == "30"
    assert cg_read(pid, "cpu", "cpu.cfs_quota_us").strip() == "30000"
    stop(runtime, cid)


def test_update_resources_file(oci, bundle, cid, workdir):
    pid = start(oci, bundle, cid, SLEEPER)
    f = workdir.path / "res.json"
    f.write_text(json.dumps({"memory": {"limit": 36 << 20}}))
    oci.cmd("update", "--resources", f, cid, check=True)
    assert int(cg_read(pid, "memory", "memory.limit_in_bytes")) == 36 << 20
    stop(oci, cid)


@pytest.mark.parametrize("args,needle", [
    (["--cpu-period", "-5"], "--cpu-period"),
    (["--cpu-period", "500"], "--cpu-period"),
    (["--memory", "foo"], "--memory"),
    (["--memory", "10q"], "--memory"),
    (["--cpu-share", "1"], "--cpu-share"),
    (["--cpu-quota", "5"], "--cpu-quota"),
    (["--blkio-weight", "5"], "--blkio-weight"),
    (["--pids-limit", "many"], "--pids-limit"),
    (["--cpuset-cpus", "zero"], "--cpuset-cpus"),
    (["--memory", "64m", "--memory-swap", "32m"], "--memory-swap"),
    (["--l3-cache-schema", "L3:0=f"], "Intel RDT"),
    (["--memory", "64m", "--bogus"], "--bogus"),
])
def test_update_bad_flags(oci, bundle, cid, args, needle):
    """Refused before anything is written: the limit stays as it was."""
    limit_memory(bundle, 100 << 20)
    pid = start(oci, bundle, cid, SLEEPER)
    p = oci.cmd("update", *args, cid)
    assert p.returncode == 1, describe(p)
    assert needle in p.stderr and len(p.stderr.splitlines()) == 1, describe(p)
    assert int(cg_read(pid, "memory", "memory.limit_in_bytes")) == 100 << 20
    stop(oci, cid)


@pytest.mark.parametrize("text,needle", [
    ('{"memory": {"limit": "x"}}', "memory.limit"),
    ('{"cpu": {"period": -1}}', "cpu.period"),
    ("{not json", "<stdin>"),
])
def test_update_bad_resources(oci, bundle, cid, text, needle):
    limit_memory(bundle, 100 << 20)
    pid = start(oci, bundle, cid, SLEEPER)
    p = oci.cmd("update", "-r", "-", cid, input=text)
    assert p.returncode == 1 and needle in p.stderr, describe(p)
    assert int(cg_read(pid, "memory", "memory.limit_in_bytes")) == 100 << 20
    stop(oci, cid)


def test_update_leaves_device_rules(oci, bundle, cid):
    """As runc: update never rewrites the device rules of a running container."""
    pid = start(oci, bundle, cid, SLEEPER)
    before = cg_read(pid, "devices", "devices.list")
    res = {"devices": [{"allow": True, "access": "rwm"}], "memory": {"limit": 36 << 20}}
    oci.cmd("update", "-r", "-", cid, input=json.dumps(res), check=True)
    assert int(cg_read(pid, "memory", "memory.limit_in_bytes")) == 36 << 20
    assert cg_read(pid, "devices", "devices.list") == before
    stop(oci, cid)


def test_update_missing_file_and_stopped(oci, bundle, cid, workdir):
    bundle.process["args"] = ["true"]
    oci.run(bundle, cid, detach=True, check=True)
    oci.wait_status(cid, "stopped")
    p = oci.cmd("update", "--memory", "64m", cid)
    assert p.returncode == 1 and "stopped" in p.stderr, describe(p)
    p = oci.cmd("update", "-r", workdir.path / "nope.json", cid)
    assert p.returncode == 1 and "nope.json" in p.stderr, describe(p)
    oci.delete(cid, check=True)


# --------------------------------------------------------------------------
# pause, resume, ps


def test_pause_freezes_resume_continues(runtime, bundle, cid):
    pid = start(runtime, bundle, cid, (
        "trap 'exit 0' TERM; i=0; "
        "while :; do i=$((i+1)); echo $i > /count; sleep 0.01; done"), writable=True)
    count = bundle.rootfs / "count"

    def value():
        try:
            return int(count.read_text() or -1)
        except (FileNotFoundError, ValueError):
            return -1

    wait_for(lambda: value() > 3, "the counter runs")
    runtime.cmd("pause", cid, check=True)
    assert runtime.state_json(cid)["status"] == "paused"
    assert cg_read(pid, "freezer", "freezer.state").strip() == "FROZEN"
    frozen = value()
    time.sleep(0.3)
    assert value() == frozen

    runtime.cmd("resume", cid, check=True)
    assert runtime.state_json(cid)["status"] == "running"
    wait_for(lambda: value() > frozen + 3, "the counter advances after resume")
    stop(runtime, cid)


def test_pause_created_container(runtime, bundle, cid):
    if runtime.name == "crun":
        pytest.skip("crun 1.8 still reports a paused created container as created")
    bundle.process["args"] = ["sh", "-c", SLEEPER]
    runtime.create(bundle, cid, check=True)
    runtime.cmd("pause", cid, check=True)
    assert runtime.state_json(cid)["status"] == "paused"
    runtime.cmd("resume", cid, check=True)
    assert runtime.state_json(cid)["status"] == "created"
    runtime.delete(cid, force=True, check=True)


def test_pause_resume_wrong_state(oci, bundle, cid):
    start(oci, bundle, cid, SLEEPER)
    p = oci.cmd("resume", cid)
    assert p.returncode == 1 and "not paused" in p.stderr, describe(p)
    oci.cmd("pause", cid, check=True)
    p = oci.cmd("pause", cid)
    assert p.returncode == 1 and "paused" in p.stderr, describe(p)
    oci.cmd("resume", cid, check=True)
    stop(oci, cid)


def test_delete_force_paused(runtime, bundle, cid):
    """As runc: delete --force kills a paused container (it must thaw it)."""
    start(runtime, bundle, cid, SLEEPER)
    runtime.cmd("pause", cid, check=True)
    p = runtime.delete(cid, force=True, timeout=15)
    if p.returncode != 0:
        # leave nothing frozen behind for the next tests
        runtime.cmd("resume", cid)
        runtime.delete(cid, force=True)
    assert p.returncode == 0, describe(p)
    assert cid not in runtime.ids_listed()


def test_ps_json_lists_pids(runtime, bundle, cid):
    if runtime.name == "crun":
        pytest.skip("crun ps has no --format json")
    pid = start(runtime, bundle, cid, "trap 'exit 0' TERM; sleep 1000 & sleep 1000 & "
                "echo ready; wait")
    wait_for(lambda: len(cg_read(pid, "pids", "cgroup.procs").split()) == 3, "3 processes")
    want = sorted(int(x) for x in cg_read(pid, "pids", "cgroup.procs").split())
    p = runtime.cmd("ps", "-f", "json", cid, check=True)
    assert sorted(json.loads(p.stdout)) == want and pid in want, describe(p)
    stop(runtime, cid)


def test_ps_table(oci, bundle, cid):
    pid = start(oci, bundle, cid, SLEEPER)
    wait_for(lambda: len(cg_read(pid, "pids", "cgroup.procs").split()) == 2, "sh and sleep")
    want = sorted(int(x) for x in cg_read(pid, "pids", "cgroup.procs").split())
    p = oci.cmd("ps", cid, check=True)
    lines = p.stdout.splitlines()
    assert lines[0].split()[:3] == ["UID", "PID", "PPID"], describe(p)
    assert sorted(int(line.split()[1]) for line in lines[1:]) == want, describe(p)
    # BSD-style options are passed on as they are
    p = oci.cmd("ps", cid, "aux", check=True)
    assert "PID" in p.stdout.splitlines()[0] and str(pid) in p.stdout, describe(p)
    p = oci.cmd("ps", "--format", "xml", cid)
    assert p.returncode == 1 and "format" in p.stderr, describe(p)
    stop(oci, cid)


def test_ps_passes_dash_options(oci, bundle, cid):
    pid = start(oci, bundle, cid, SLEEPER)
    try:
        p = oci.cmd("ps", cid, "-o", "pid,comm")
        assert p.returncode == 0, describe(p)
        assert p.stdout.split()[:4] == ["PID", "COMMAND", str(pid), "sh"], describe(p)
    finally:
        stop(oci, cid)


# --------------------------------------------------------------------------
# events


def test_events_stats(oci, bundle, cid):
    limit_memory(bundle, 64 << 20)
    bundle.config["linux"]["resources"]["pids"] = {"limit": 50}
    bundle.config["linux"]["resources"]["cpu"] = {"quota": 10000, "period": 100000}
    pid = start(oci, bundle, cid, "trap 'exit 0' TERM; while :; do :; done")
    wait_for(lambda: cg_kv(pid, "cpu", "cpu.stat")["nr_throttled"] > 0, "throttling")
    d = events_json(oci, cid)
    assert d["memory"]["usage"]["limit"] == 64 << 20
    assert d["memory"]["usage"]["usage"] > 0 and "rss" in d["memory"]["raw"]
    assert d["pids"] == {"current": 1, "limit": 50}
    assert d["cpu"]["usage"]["total"] > 0 and len(d["cpu"]["usage"]["percpu"]) >= 1
    assert d["cpu"]["throttling"]["throttledPeriods"] > 0
    assert d["network_interfaces"] is None and d["intel_rdt"] == {}
    stop(oci, cid)


def _shape(o, path=""):
    """Key paths in order (memory.stat keys left out: they are the kernel's)."""
    out = []
    if isinstance(o, dict):
        for k, v in o.items():
            out.append(f"{path}/{k}")
            if not path.endswith("/raw"):
                out += _shape(v, f"{path}/{k}")
    elif isinstance(o, list) and o:
        out += _shape(o[0], path + "[]")
    return out


# Go's `omitempty` fields: present or not depending on the values.
OMITEMPTY = {"cache", "total", "percpu", "percpu_kernel", "percpu_user", "periods",
             "throttledPeriods", "throttledTime", "usage", "max", "current", "cpus", "mems",
             "raw"}


def test_events_stats_same_fields_as_runc(oci, bundle, make_bundle, workdir):
    if runtime_argv("runc") is None:
        pytest.skip("runc is not installed")
    runc = workdir.runner("runc")
    limit_memory(bundle, 64 << 20)
    bundle.config["linux"]["resources"]["pids"] = {"limit": 50}
    other = make_bundle("runc-bundle")
    other.config = json.loads(json.dumps(bundle.config))
    ids = {oci: new_id(), runc: new_id()}
    data = {}
    for r, b in ((oci, bundle), (runc, other)):
        start(r, b, ids[r], SLEEPER)
        p = r.cmd("events", "--stats", ids[r], check=True)
        data[r.name] = json.loads(p.stdout)["data"]
    for r in ids:
        stop(r, ids[r])
    shapes = [[k for k in _shape(data[n]) if k.rsplit("/", 1)[1] not in OMITEMPTY]
              for n in ("berth-oci", "runc")]
    # a list's elements are compared only where both have some (blkio's lists are empty until
    # the cgroup has done I/O: the first run of a fresh binary reads it from disk in there)
    both = [{k.split("[]")[0] for k in sh if "[]" in k} for sh in shapes]
    shapes = [[k for k in sh if "[]" not in k or k.split("[]")[0] in both[0] & both[1]]
              for sh in shapes]
    assert shapes[0] == shapes[1]
    assert data["berth-oci"]["memory"]["usage"]["limit"] == data["runc"]["memory"]["usage"]["limit"]
    assert sorted(data["berth-oci"]["memory"]["raw"]) == sorted(data["runc"]["memory"]["raw"])


def test_events_reports_oom_while_running(oci, bundle, cid):
    limit_memory(bundle, 32 << 20)
    pid = start(oci, bundle, cid, OOM_ON_TRIGGER, writable=True)
    ev = oci.popen("events", "--interval", "100ms", cid)
    # the first stats event: the OOM watcher is registered by then
    read_until(ev.stdout, '"type":"stats"')
    t0 = time.monotonic()
    (bundle.rootfs / "trigger").touch()
    out = read_until(ev.stdout, '{"type":"oom","id":"%s"}\n' % cid, timeout=10)
    latency = time.monotonic() - t0
    print(f"oom event {latency * 1000:.0f} ms after the trigger")
    wait_for_file(bundle.rootfs / "hog.done", content="hog=137")
    assert oci.state_json(cid)["status"] == "running"
    assert cg_kv(pid, "memory", "memory.oom_control")["oom_kill"] >= 1
    assert latency < 5, latency
    for line in out.splitlines():
        json.loads(line)
    # the stream ends by itself when the container stops
    oci.kill(cid, check=True)
    _, err = ev.communicate(timeout=10)
    assert ev.returncode == 0, err
    oci.wait_status(cid, "stopped")
    oci.delete(cid, check=True)


def test_events_oom_of_init_ends_stream(oci, bundle, cid):
    """The OOM that kills the init is reported before the stream ends."""
    limit_memory(bundle, 32 << 20)
    start(oci, bundle, cid, "while [ ! -e /trigger ]; do sleep 0.02; done; exec " + HOG,
          writable=True)
    ev = oci.popen("events", "--interval", "50ms", cid)
    read_until(ev.stdout, '"type":"stats"')
    (bundle.rootfs / "trigger").touch()
    out, err = ev.communicate(timeout=10)
    assert ev.returncode == 0, err
    assert '{"type":"oom","id":"%s"}' % cid in out.decode(), out
    oci.wait_status(cid, "stopped")
    oci.delete(cid, check=True)


@pytest.mark.parametrize("args,needle", [
    (["--interval", "0s"], "greater than 0"),
    (["--interval", "-1s"], "greater than 0"),
    (["--interval", "soon"], "--interval"),
])
def test_events_bad_input(oci, bundle, cid, args, needle):
    start(oci, bundle, cid, SLEEPER)
    p = oci.cmd("events", *args, cid)
    assert p.returncode == 1 and needle in p.stderr, describe(p)
    stop(oci, cid)


def test_events_stopped_container(oci, bundle, cid):
    bundle.process["args"] = ["true"]
    oci.run(bundle, cid, detach=True, check=True)
    oci.wait_status(cid, "stopped")
    p = oci.cmd("events", cid)
    assert p.returncode == 1 and "not running" in p.stderr, describe(p)
    oci.delete(cid, check=True)


# --------------------------------------------------------------------------
# cgroup paths


def test_delete_removes_cgroup(oci, bundle, cid):
    pid = start(oci, bundle, cid, SLEEPER)
    dirs = [cgroup_dir(pid, c) for c in ("memory", "pids", "cpu", "freezer", "devices")]
    assert all(d.endswith("/berth/" + cid) and os.path.isdir(d) for d in dirs), dirs
    stop(oci, cid)
    assert not [d for d in dirs if os.path.exists(d)]


@pytest.mark.parametrize("path", ["../{cid}", "/berth/../../{cid}", "a/./{cid}"])
def test_cgroups_path_dotdot_refused(oci, bundle, cid, path):
    bundle.config["linux"]["cgroupsPath"] = path.format(cid=cid)
    bundle.process["args"] = ["true"]
    p = oci.create(bundle, cid)
    assert p.returncode == 1, describe(p)
    assert "cgroupsPath" in p.stderr and len(p.stderr.splitlines()) == 1, describe(p)
    assert cid not in oci.ids_listed()
    leftover = [d for d in os.listdir(CG) if os.path.exists(f"{CG}/{d}/{cid}")
                or os.path.exists(f"{CG}/{d}/berth/{cid}")]
    assert not leftover


def test_state_keeps_oom_kill_visible(oci, bundle, cid):
    """After the kernel OOM-kills the init, `state` says so until delete; a
    container that exits on its own does not claim it."""
    limit_memory(bundle, 32 << 20)
    bundle.process["args"] = ["sh", "-c", f"exec {HOG}"]
    oci.run(bundle, cid, detach=True, check=True)
    st = oci.wait_status(cid, "stopped")
    assert st.get("oomKilled") is True, st
    listed = json.loads(oci.list("--format", "json", check=True).stdout)
    assert [c["id"] for c in listed] == [cid]
    oci.delete(cid, check=True)

    other = cid + "-ok"
    bundle.process["args"] = ["true"]
    oci.run(bundle, other, detach=True, check=True)
    st = oci.wait_status(other, "stopped")
    assert "oomKilled" not in st, st
    oci.delete(other, check=True)


@pytest.mark.skipif(any(os.path.isdir(f"{CG}/{c}") for c in ("net_cls", "net_prio", "rdma")),
                    reason="this host has net_cls, net_prio or rdma: the refusal is not taken")
@pytest.mark.parametrize("field,ctrl,resources", [
    ("network.classID", "net_cls", {"network": {"classID": 1048577}}),
    ("network.priorities", "net_prio",
     {"network": {"priorities": [{"name": "eth0", "priority": 5}]}}),
    ("rdma", "rdma", {"rdma": {"mlx5_1": {"hcaHandles": 3, "hcaObjects": 10000}}}),
])
def test_unavailable_controllers_refused_with_reason(oci, bundle, cid, field, ctrl, resources):
    """network (net_cls/net_prio) and rdma limits on a host without those controllers:
    runtime.md, create: "If the runtime cannot apply a property as specified in the
    configuration, it MUST generate an error and a new container MUST NOT be created" (runc
    and crun skip them silently). The message names the field and says why."""
    bundle.config["linux"].setdefault("resources", {}).update(resources)
    bundle.process["args"] = ["true"]
    p = oci.run(bundle, cid)
    assert p.returncode == 1, describe(p)
    assert f"linux.resources.{field}: the {ctrl} controller is not available" in p.stderr, \
        describe(p)
    assert cid not in oci.ids_listed()
