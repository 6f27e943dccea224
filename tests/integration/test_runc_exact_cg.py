"""The container's cgroup as runc 1.1 places and checks it (issue 16), side by
side with runc (and crun where it behaves the same):

  - a relative linux.cgroupsPath is taken from each hierarchy's root, not
    under berth's /berth parent (berth's parent stays the default);
  - a pre-existing cgroup that is frozen is refused with runc's error and left
    as it was; one with processes is joined with runc's warning;
  - v1 cpuset cgroups on the path whose cpuset.cpus/mems are empty (a pod's
    parent made by mkdir) get their parent's, so the init can join the leaf;
  - `exec --cgroup SUB` / `--cgroup CTRL[,CTRL]:SUB` put the process in a
    sub-cgroup of the container's, with runc's errors.

Every cgroup a test makes is named after its container id (the leak guard
watches those), and the test removes it, with what the runtimes left of it
(parents stay after delete with every runtime).  Nothing here writes a cgroup
that a test did not make.  The cgroup v2 side of these is in tests/vm.
"""

import os
import time

import pytest

from conftest import describe
from helpers import SLEEPER, stop

CG = "/sys/fs/cgroup"
V2 = os.path.exists(f"{CG}/cgroup.controllers")

pytestmark = pytest.mark.skipif(
    V2 or not os.path.isdir(f"{CG}/freezer"),
    reason="v1/hybrid cgroup hosts (the v2 side is in the VM checks, tests/vm)")


# --------------------------------------------------------------------------
# helpers


def v1_mounts():
    """{controller: mount dir} of the v1 hierarchies under /sys/fs/cgroup."""
    out = {}
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            sep = fields.index("-")
            mnt, fstype, opts = fields[4], fields[sep + 1], fields[sep + 3]
            if fstype != "cgroup" or not mnt.startswith(CG + "/"):
                continue
            for o in opts.split(","):
                if o not in ("rw", "ro") and "=" not in o or o.startswith("name="):
                    out[o] = mnt
    return out


def own_non_root_cgroups():
    """This process's v1 cgroups that are not their hierarchy's root ("memory:/a/b")."""
    with open("/proc/self/cgroup") as f:
        return [f"{c}:{p}" for _, c, p in (line.rstrip("\n").split(":", 2) for line in f)
                if c and p != "/"]


def proc_cgroups(pid):
    """{controller: path} of pid's v1 cgroups (name=systemd kept as is)."""
    out = {}
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            for c in filter(None, ctrls.split(",")):
                out[c] = path
    return out


def parse_cgroup_text(text):
    out = {}
    for line in text.splitlines():
        _, ctrls, path = line.split(":", 2)
        for c in filter(None, ctrls.split(",")):
            out[c] = path
    return out


def remove_tree(top):
    """rmdir top (a path below a hierarchy's root) in every hierarchy, sub-cgroups first;
    waits a little for dying tasks to leave."""
    for mnt in set(v1_mounts().values()) | {f"{CG}/unified"}:
        root = f"{mnt}{top}"
        if not os.path.isdir(root):
            continue
        for dirpath, _, _ in sorted(os.walk(root), key=lambda w: -len(w[0])):
            for _ in range(100):
                try:
                    os.rmdir(dirpath)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)


def start(runtime, bundle, cid, path, script=SLEEPER):
    bundle.config["linux"]["cgroupsPath"] = path
    bundle.process["args"] = ["sh", "-c", script]
    p = runtime.run(bundle, cid, detach=True)
    assert p.returncode == 0, describe(p)
    return runtime.wait_status(cid, "running")["pid"]


def no_crun(runtime, why):
    if runtime.name == "crun":
        pytest.skip(f"crun 1.8: {why}")


# --------------------------------------------------------------------------
# linux.cgroupsPath


def test_relative_cgroups_path_from_the_root(runtime, bundle, cid):
    """"a/b" is /sys/fs/cgroup/<controller>/a/b, as crun takes it and runc
    does from the root cgroup; not /berth/a/b."""
    if runtime.name == "runc" and own_non_root_cgroups():
        pytest.skip("runc 1.1 takes a relative cgroupsPath from its own cgroup in each "
                    f"hierarchy, and this test runs in {', '.join(own_non_root_cgroups())} "
                    "(not ours: the container must not be made there)")
    top = f"/{cid}-rel"
    try:
        pid = start(runtime, bundle, cid, f"{top[1:]}/ct")
        got = proc_cgroups(pid)
        for c in ("memory", "pids", "cpu", "freezer", "devices", "cpuset"):
            assert got[c] == f"{top}/ct", (c, got)
            assert os.path.isdir(f"{v1_mounts()[c]}{top}/ct")
        assert not [d for d in v1_mounts().values() if os.path.exists(f"{d}/berth{top}")]
        stop(runtime, cid)
    finally:
        remove_tree(top)


def test_no_cgroups_path_is_under_berth(oci, bundle, cid):
    """berth's own parent stays the default."""
    bundle.config["linux"].pop("cgroupsPath", None)
    bundle.process["args"] = ["sh", "-c", SLEEPER]
    oci.run(bundle, cid, detach=True, check=True)
    pid = oci.wait_status(cid, "running")["pid"]
    assert proc_cgroups(pid)["memory"] == f"/berth/{cid}"
    stop(oci, cid)


# --------------------------------------------------------------------------
# a cgroup that exists before create


def test_frozen_cgroup_refused(runtime, bundle, cid):
    """runc's cgroups.bats "should refuse pre-existing frozen cgroup": run and
    create fail (1) with its error, start nothing, and leave the cgroup."""
    no_crun(runtime, "joins the frozen cgroup and its init hangs there (what berth-oci did)")
    top = f"/{cid}-frz"
    freezer = f"{v1_mounts()['freezer']}{top}/ct"
    os.makedirs(freezer)
    try:
        with open(f"{freezer}/freezer.state", "w") as f:
            f.write("FROZEN")
        bundle.config["linux"]["cgroupsPath"] = f"{top}/ct"
        bundle.process["args"] = ["true"]
        for how in ("run", "create"):
            ct = f"{cid}-{how}"
            if how == "run":
                p = runtime.run(bundle, ct, detach=True)
            else:
                p = runtime.create(bundle, ct)
            assert p.returncode == 1, describe(p)
            assert "container's cgroup unexpectedly frozen" in p.stderr, describe(p)
            assert ct not in runtime.ids_listed()
        assert os.path.isdir(freezer)
        with open(f"{freezer}/cgroup.procs") as f:
            assert f.read() == ""
    finally:
        with open(f"{freezer}/freezer.state", "w") as f:
            f.write("THAWED")
        remove_tree(top)


def test_non_empty_cgroup_warned(runtime, bundle, make_bundle, cid):
    """runc's cgroups.bats "should warn about a non-empty cgroup": a second
    run and a create in the same cgroup succeed, with runc's warning that
    counts the processes found."""
    top = f"/{cid}-ne"
    ids = [f"{cid}-1", f"{cid}-2", f"{cid}-3"]
    try:
        # one process each
        bundle.config["linux"]["cgroupsPath"] = f"{top}/ct"
        bundle.process["args"] = ["sleep", "1000"]
        runtime.run(bundle, ids[0], detach=True, check=True)
        other = make_bundle("b2")
        other.config["linux"]["cgroupsPath"] = f"{top}/ct"
        other.process["args"] = ["sleep", "1000"]
        p = runtime.run(other, ids[1], detach=True)
        assert p.returncode == 0, describe(p)
        p3 = runtime.create(other, ids[2])
        assert p3.returncode == 0, describe(p3)
        if runtime.name == "crun":
            return  # crun 1.8 joins without a word
        assert "container's cgroup is not empty: 1 process(es) found" in p.stderr, describe(p)
        assert "container's cgroup is not empty: 2 process(es) found" in p3.stderr, describe(p3)
    finally:
        for i in ids:
            runtime.delete(i, force=True)
        remove_tree(top)


def test_first_container_in_a_cgroup_not_warned(oci, bundle, cid):
    top = f"/{cid}-nw"
    try:
        bundle.config["linux"]["cgroupsPath"] = f"{top}/ct"
        bundle.process["args"] = ["true"]
        p = oci.run(bundle, cid)
        assert p.returncode == 0 and "not empty" not in p.stderr, describe(p)
    finally:
        remove_tree(top)


# --------------------------------------------------------------------------
# cpuset


def read(path):
    with open(path) as f:
        return f.read().strip()


def test_cpuset_inherited_under_an_empty_pod(runtime, bundle, cid):
    """runc's update.bats pod case: the test makes /<top>/pod in the cpuset
    hierarchy by mkdir (pod's cpus and mems empty; top given only the root's
    first cpu); the container under pod runs, and pod and the container get
    their parent's values, top keeps its own (runc's cpusetEnsureParent)."""
    cpuset = v1_mounts()["cpuset"]
    top = f"/{cid}-pod"
    first_cpu = read(f"{cpuset}/cpuset.cpus").replace("-", ",").split(",")[0]
    mems = read(f"{cpuset}/cpuset.mems")
    os.makedirs(f"{cpuset}{top}/pod")
    try:
        with open(f"{cpuset}{top}/cpuset.cpus", "w") as f:
            f.write(first_cpu)
        with open(f"{cpuset}{top}/cpuset.mems", "w") as f:
            f.write(mems)
        assert read(f"{cpuset}{top}/pod/cpuset.cpus") == ""
        bundle.config["linux"]["cgroupsPath"] = f"{top}/pod/ct"
        bundle.process["args"] = ["sh", "-c", "cat /proc/self/status"]
        p = runtime.run(bundle, cid)
        assert p.returncode == 0, describe(p)
        assert f"Cpus_allowed_list:\t{first_cpu}\n" in p.stdout, describe(p)
        assert read(f"{cpuset}{top}/cpuset.cpus") == first_cpu
        assert read(f"{cpuset}{top}/pod/cpuset.cpus") == first_cpu
        assert read(f"{cpuset}{top}/pod/cpuset.mems") == mems
    finally:
        remove_tree(top)


# --------------------------------------------------------------------------
# exec --cgroup


@pytest.fixture
def exec_ct(runtime, bundle, cid):
    """A running container at /<cid>-ex/ct (absolute: runc must not make it under its own
    cgroup), without a cgroup namespace; yields (runtime, cid, {controller: host dir})."""
    no_crun(runtime, "exec --cgroup on a v1 host ignores SUB or leaves the container's "
                     "cgroup (\"..\" lands in the parent, a missing SUB in the caller's own "
                     "cgroups): not run here")
    top = f"/{cid}-ex"
    try:
        start(runtime, bundle, cid, f"{top}/ct")
        # "" is the hybrid host's cgroup2 mount, where runc places the container too
        mounts = {**v1_mounts(), "": f"{CG}/unified"}
        dirs = {c: f"{m}{top}/ct" for c, m in mounts.items() if os.path.isdir(f"{m}{top}/ct")}
        yield runtime, cid, dirs
        stop(runtime, cid)
    finally:
        remove_tree(top)


def exec_cgroups(runtime, cid, *flags):
    p = runtime.cmd("exec", *flags, cid, "cat", "/proc/self/cgroup")
    assert p.returncode == 0, describe(p)
    return parse_cgroup_text(p.stdout)


def test_exec_cgroup_per_controller(exec_ct):
    runtime, cid, dirs = exec_ct
    top = dirs["memory"][len(v1_mounts()["memory"]):]
    os.mkdir(f"{dirs['memory']}/submem")
    for c in ("cpu", "cpuacct"):
        if not os.path.isdir(f"{dirs[c]}/subcpu"):
            os.mkdir(f"{dirs[c]}/subcpu")
    got = exec_cgroups(runtime, cid, "--cgroup", "memory:submem", "--cgroup", "cpu,cpuacct:subcpu")
    assert got["memory"] == f"{top}/submem", got
    assert got["cpu"] == got["cpuacct"] == f"{top}/subcpu", got
    assert got["pids"] == got["freezer"] == top, got
    # without --cgroup, and with "/", the container's own
    for flags in ((), ("--cgroup", "/")):
        got = exec_cgroups(runtime, cid, *flags)
        assert got["memory"] == got["cpu"] == top, (flags, got)


def test_exec_cgroup_one_sub_for_all(exec_ct):
    runtime, cid, dirs = exec_ct
    top = dirs["memory"][len(v1_mounts()["memory"]):]
    for d in set(dirs.values()):
        os.mkdir(f"{d}/sub")
    # a cpuset cgroup takes no task before it has cpus and mems: runc leaves that to who made it
    for f in ("cpuset.cpus", "cpuset.mems"):
        with open(f"{dirs['cpuset']}/sub/{f}", "w") as out:
            out.write(read(f"{dirs['cpuset']}/{f}"))
    got = exec_cgroups(runtime, cid, "--cgroup", "sub")
    for c in ("memory", "cpu", "pids", "freezer", "devices", "cpuset"):
        assert got[c] == f"{top}/sub", (c, got)
    # the process counts as the container's: ps lists it while it runs
    p = runtime.cmd("exec", "-d", "--cgroup", "sub", cid, "sleep", "1000")
    assert p.returncode == 0, describe(p)
    time.sleep(0.2)
    ps = runtime.cmd("ps", cid, check=True)
    assert "sleep 1000" in ps.stdout, describe(ps)


@pytest.mark.parametrize("flags,needle", [
    (["--cgroup", ".."], " .. is not a sub cgroup path"),
    (["--cgroup", "nonexistent"], "/nonexistent/cgroup.procs: no such file "),
    (["--cgroup", "cpu:nonexistent"], "/nonexistent/cgroup.procs: no such file "),
    (["--cgroup", "whaaat:/"], "unknown controller whaaat"),
    (["--cgroup", "a:b:c"], "invalid --cgroup argument: a:b:c"),
    (["--cgroup", "a", "--cgroup", "b"],
     "invalid --cgroup argument: a (missing <controller>: prefix)"),
])
def test_exec_cgroup_errors(exec_ct, flags, needle):
    """runc's exec.bats "exec --cgroup sub-cgroups [v1]": the errors, exit 255."""
    runtime, cid, _ = exec_ct
    p = runtime.cmd("exec", *flags, cid, "cat", "/proc/self/cgroup")
    assert p.returncode == 255, describe(p)
    assert needle in p.stderr, describe(p)
    if "no such file" in needle:
        assert " adding pid " in p.stderr, describe(p)
    assert "memory:" not in p.stdout, describe(p)


def test_exec_cgroup_cannot_leave_the_container(oci, bundle, cid):
    """A SUB that leaves the container's cgroup and comes back into a sibling
    whose name starts the same ("../ct2") is refused: runc compares strings and
    would take it.  One that comes back into the container's own is fine."""
    top = f"/{cid}-esc"
    memory = v1_mounts()["memory"]
    os.makedirs(f"{memory}{top}/ct2")
    try:
        start(oci, bundle, cid, f"{top}/ct")
        p = oci.cmd("exec", "--cgroup", "memory:../ct2", cid, "true")
        assert p.returncode == 255 and "../ct2 is not a sub cgroup path" in p.stderr, describe(p)
        got = exec_cgroups(oci, cid, "--cgroup", "../ct/.")
        assert got["memory"] == f"{top}/ct", got
        stop(oci, cid)
    finally:
        remove_tree(top)


def test_delete_removes_sub_cgroups_and_their_processes(oci, bundle, cid):
    """delete --force kills what runs in sub-cgroups too and removes them
    (runc's RemovePath and GetAllPids walk sub-cgroups)."""
    top = f"/{cid}-del"
    try:
        start(oci, bundle, cid, f"{top}/ct")
        memory = f"{v1_mounts()['memory']}{top}/ct"
        os.makedirs(f"{memory}/a/b")
        p = oci.cmd("exec", "-d", "--cgroup", "memory:a/b", cid, "sleep", "1000")
        assert p.returncode == 0, describe(p)
        with open(f"{memory}/a/b/cgroup.procs") as f:
            pid = int(f.read().split()[0])
        stop(oci, cid)
        assert not os.path.exists(memory)
        for _ in range(100):
            if not os.path.exists(f"/proc/{pid}") or "State:\tZ" in open(f"/proc/{pid}/status").read():
                break
            time.sleep(0.05)
        else:
            raise AssertionError(f"pid {pid} in the sub-cgroup still runs")
    finally:
        remove_tree(top)


def test_exec_refused_in_a_paused_container(runtime, bundle, cid):
    """runc's cgroups.bats "runc exec should refuse a paused container": 255,
    and runc's words."""
    no_crun(runtime, "refuses with its own words (\"the container `ID` is paused\") and exit 1")
    top = f"/{cid}-pau"
    try:
        start(runtime, bundle, cid, f"{top}/ct")
        runtime.cmd("pause", cid, check=True)
        try:
            p = runtime.cmd("exec", cid, "echo", "ok")
            assert p.returncode == 255, describe(p)
            assert "cannot exec in a paused container" in p.stderr, describe(p)
        finally:
            runtime.cmd("resume", cid)
        stop(runtime, cid)
    finally:
        remove_tree(top)


def test_unified_resources_refused_on_v1(runtime, bundle, cid):
    """runc's cgroups.bats "runc run (cgroup v1 + unified resources should
    fail)": refused, with runc's "invalid configuration"."""
    no_crun(runtime, "refuses it, in its own words, and leaves the container's cgroups behind")
    bundle.config["linux"]["resources"]["unified"] = {"memory.min": "131072"}
    bundle.process["args"] = ["true"]
    p = runtime.run(bundle, cid)
    assert p.returncode != 0, describe(p)
    assert "invalid configuration" in p.stderr, describe(p)
    assert cid not in runtime.ids_listed()


@pytest.mark.skipif(not os.path.exists(f"{CG}/unified/cgroup.procs"),
                    reason="a hybrid host's cgroup2 mount at /sys/fs/cgroup/unified")
def test_hybrid_cgroup2_placement(runtime, bundle, cid):
    """runc's cgroups.bats "runc exec (cgroup v1+hybrid joins correct cgroup)":
    on a hybrid host the container is in the cgroup2 mount too, at the same
    path (its "0::" line), also when that mount delegates no controller; an
    exec'd process joins the same."""
    top = f"/{cid}-hyb"
    try:
        pid = start(runtime, bundle, cid, f"{top}/ct")
        with open(f"/proc/{pid}/cgroup") as f:
            init_line = f.read().splitlines()[-1]
        assert init_line == f"0::{top}/ct", init_line
        p = runtime.cmd("exec", cid, "cat", "/proc/self/cgroup", check=True)
        assert p.stdout.splitlines()[-1] == init_line, describe(p)
        stop(runtime, cid)
        assert not os.path.exists(f"{CG}/unified{top}/ct")
    finally:
        remove_tree(top)


@pytest.mark.parametrize("ro", [True, False], ids=["ro", "no-ro"])
def test_cgroup_mount_read_only_as_its_options_say(runtime, bundle, cid, ro):
    """The "cgroup" mount is read-only when its options say "ro" (every config `spec` and the
    engine write), and writable without it, as runc's: runc's own exec.bats makes sub-cgroups
    from inside a container whose config drops "ro" ("exec --cgroup sub-cgroups [v1]")."""
    top = f"/{cid}-mnt"
    for m in bundle.config["mounts"]:
        if m["type"] == "cgroup":
            m["options"] = [o for o in m["options"] if o != "ro"] + (["ro"] if ro else [])
    try:
        start(runtime, bundle, cid, f"{top}/ct")
        p = runtime.cmd("exec", cid, "sh", "-c",
                        "mkdir /sys/fs/cgroup/memory/sub && rmdir /sys/fs/cgroup/memory/sub")
        if ro:
            assert p.returncode != 0 and "Read-only file system" in p.stderr + p.stdout, \
                describe(p)
        else:
            assert p.returncode == 0, describe(p)
        stop(runtime, cid)
    finally:
        remove_tree(top)
