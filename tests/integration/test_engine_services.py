"""Detached containers (issue 11): `berth run -d` and its monitor, `stop`, `kill`, `wait`, and
`rm -f`, `ps`, `inspect` of detached containers; many at once; kill -9 of the CLI and of the
monitor at any moment.  (`berth logs` has its own suite, test_engine_logs.py: here the log is
read as a file, <root>/containers/<id>/ctr.log, in the CRI "k8s-file" format.)

Docker's behaviour is the reference: `run -d` prints the full id and returns once the program
runs; `stop [-t N] [-s SIG]` sends the stop signal, then SIGKILL after N s (default 10), prints
each argument, and a stopped container is no error; `kill [-s SIG]` (default KILL) refuses a
container that is not running ("cannot kill container: X: container ID is not running", exit
1); `wait` prints each exit code; a missing container is exit 1 for stop/kill/wait.

The monitor (berth-monitor ROOT RUNROOT ID) is one process per detached container, in a session
of its own, outside the container's namespaces, outliving the CLI; with the monitor killed -9 the
container is still what `ps` says, `stop` and `rm -f` still work, and an exit nobody could record
is docker's 255.  Its RSS is printed (and compared with podman's conmon when podman is here).

Every test ends with the leak guard (conftest.py): no container, mount, cgroup, runtime state,
process or monitor may be left.
"""

import glob
import json
import os
import re
import shutil
import signal
import subprocess
import time

import pytest

import registry as R
from conftest import describe, reap_orphans, _read_stat
from engine_util import (  # noqa: F401 (bb: a fixture)
    bb, wait_for, run_d, inspect, state, HEX64, DEAF, DELAYS)

# <RFC 3339 UTC time with nanoseconds> <stdout|stderr> <P|F> <content>
CRI = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z) (stdout|stderr) ([PF]) (.*)$")

# The issue asks for 50 detached containers started (and stopped) in parallel.
PARALLEL = int(os.environ.get("BERTH_TEST_PARALLEL", "50"))
# How many containers one `berth stop -t 1` stops in the "many at once" test.
STOP_MANY = 10

# A container that is ready once "ready" is in its log, and exits CODE on SIGTERM.
def trapper(code=0, sig="TERM"):
    return ["sh", "-c", f'trap "echo got-{sig}; exit {code}" {sig}; echo ready; '
                        "while :; do sleep 0.1; done"]


# --------------------------------------------------------------------------
# helpers


def record(e, cid):
    with open(e.root / "containers" / cid / "container.json") as f:
        return json.load(f)


def wait_exited(e, what, timeout=30):
    """The State once the record says exited."""
    return wait_for(lambda: (lambda s: s if s["Status"] == "exited" else None)(state(e, what)),
                    timeout=timeout, what=f"{what} exited")


def ps_row(e, what):
    """The `ps -a --format json` row of a container (by name or id prefix), or None."""
    for row in e.json_lines("ps", "-a", "--no-trunc", "--format", "json"):
        if row.get("Names") in (what, "/" + what) or row.get("ID", "").startswith(what):
            return row
    return None


def log_path(e, cid):
    return e.root / "containers" / cid / "ctr.log"


def log_records(e, cid):
    """[(time, stream, tag, content)] of the container's log; every line must be a CRI record."""
    try:
        data = log_path(e, cid).read_bytes().decode(errors="replace")
    except FileNotFoundError:
        return []
    out = []
    for line in data.splitlines():
        m = CRI.match(line)
        assert m, f"not a CRI log record: {line!r}\n--- {log_path(e, cid)}\n{data}"
        out.append(m.groups())
    return out


def wait_log(e, cid, stream, content, timeout=20):
    return wait_for(lambda: any(r[1] == stream and r[3] == content
                                for r in log_records(e, cid)),
                    timeout=timeout, what=f"{stream} {content!r} in {cid[:12]}'s log")


def alive(pid):
    reap_orphans()
    st = _read_stat(pid)
    return st is not None and st[1] != "Z"


def proc_status(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return line.split()[1]
    return None


def rss_kb(pid):
    return int(proc_status(pid, "VmRSS"))


def memory_text(pid):
    """VmRSS (anon + file) and Pss of a process, for the test's output."""
    pss = "?"
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = line.split()[1]
    except OSError:
        pass
    return (f"VmRSS {proc_status(pid, 'VmRSS')} kB (anon {proc_status(pid, 'RssAnon')}, "
            f"file {proc_status(pid, 'RssFile')}), Pss {pss} kB")


def session_of(pid):
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return int(rest[3]), int(rest[2]), int(rest[4])  # session, process group, tty_nr


def mounts_under(root):
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(f"{root}/")]


def cgroups_of(ids):
    return [d for i in ids for d in glob.glob(f"/sys/fs/cgroup/*/berth/{i}")]


def runtime_state(e):
    """Files in the runroot but locks and the seccomp cache: a container's runtime state."""
    return [os.path.join(d, f) for d, _, fs in os.walk(e.runroot) for f in fs
            if not f.endswith(".lock") and not d.endswith("/.seccomp:bpf")]


def monitor_of(e, cid):
    """The pid of cid's monitor: exactly one."""
    mons = [pid for pid, c in e.monitors().items() if c == cid]
    assert len(mons) == 1, f"monitors of {cid}: {mons} (all: {e.monitors()})"
    return mons[0]


def assert_nothing_left(e, pids=()):
    """No container, mount, cgroup, runtime state, monitor, nor any of the processes pids."""
    e._note_ids()
    assert e.containers() == []
    assert mounts_under(e.root) == []
    assert cgroups_of(e.ids) == []
    assert runtime_state(e) == []
    assert e.monitors() == {}
    assert [p for p in pids if alive(p)] == []


def assert_stopped_clean(e, cid):
    """An exited container whose record stays: no monitor, mount, runtime state or process."""
    assert [c for c in e.monitors().values() if c == cid] == []
    assert [m for m in mounts_under(e.root) if cid in m] == []
    assert [f for f in runtime_state(e) if cid in f] == []


def say(capsys, text):
    """A figure for the test's output (shown even when pytest captures)."""
    with capsys.disabled():
        print(f"\n    {text}", end="")


# --------------------------------------------------------------------------
# run -d


def test_run_d_prints_id_and_returns_while_running(bb, capsys):
    t0 = time.monotonic()
    cid = run_d(bb, "--name", "svc", "busybox", "sh", "-c",
                "echo out; echo err >&2; exec sleep 1000")
    took = time.monotonic() - t0
    say(capsys, f"run -d returned in {took * 1000:.0f} ms")
    assert took < 10
    assert bb.containers() == [cid]

    st = state(bb, "svc")
    assert st["Status"] == "running" and st["Running"] is True, st
    assert st["ExitCode"] == 0 and st["StartedAt"], st
    assert isinstance(st["Pid"], int) and st["Pid"] > 1 and alive(st["Pid"]), st
    c = inspect(bb, cid[:12])
    assert c["Id"] == cid and c["Name"] in ("svc", "/svc"), c

    row = ps_row(bb, "svc")
    assert row and row["State"] == "running" and row["Status"].startswith("Up "), row
    assert bb.ok("ps", "-q").split() == [cid[:12]]
    assert bb.ok("ps", "-q", "--no-trunc").split() == [cid]
    table = bb.ok("ps")
    assert re.search(r"\bUp .*\bsvc$", table, re.M), table

    wait_log(bb, cid, "stdout", "out")
    wait_log(bb, cid, "stderr", "err")
    recs = log_records(bb, cid)
    assert [(r[1], r[2], r[3]) for r in recs] in (
        [("stdout", "F", "out"), ("stderr", "F", "err")],
        [("stderr", "F", "err"), ("stdout", "F", "out")]), recs

    pid = st["Pid"]
    mon = monitor_of(bb, cid)
    p = bb.cmd("rm", "-f", "svc", timeout=30)
    assert p.returncode == 0 and p.stdout == "svc\n", describe(p)
    assert_nothing_left(bb, [pid, mon])


def test_run_d_exit_code_recorded(bb):
    cid = run_d(bb, "--name", "three", "busybox", "sh", "-c", "echo bye; sleep 0.2; exit 3")
    st = wait_exited(bb, "three")
    assert st["ExitCode"] == 3 and st["Running"] is False and st["Pid"] == 0, st
    assert st["FinishedAt"] and st["FinishedAt"] >= st["StartedAt"], st
    assert st["OOMKilled"] is False, st
    row = ps_row(bb, "three")
    assert row and re.match(r"Exited \(3\) .*ago$", row["Status"]), row
    assert bb.ok("ps", "-q") == ""
    assert re.search(r"Exited \(3\) .*three$", bb.ok("ps", "-a"), re.M)
    # the monitor recorded it and went, the overlay is unmounted, the runtime state deleted
    wait_for(lambda: not bb.monitors(), timeout=10, what="the monitor gone")
    assert_stopped_clean(bb, cid)
    assert [r[1:] for r in log_records(bb, cid)] == [("stdout", "F", "bye")]
    rec = record(bb, cid)
    assert rec["state"]["status"] == "exited" and rec["state"]["exitCode"] == 3, rec["state"]
    p = bb.cmd("rm", "three")  # not running: no -f needed
    assert p.returncode == 0 and p.stdout == "three\n", describe(p)


def test_run_d_killed_by_signal_is_137(bb):
    run_d(bb, "--name", "kk", "busybox", "sleep", "1000")
    pid = state(bb, "kk")["Pid"]
    os.kill(pid, signal.SIGKILL)
    st = wait_exited(bb, "kk")
    assert st["ExitCode"] == 137, st
    bb.ok("rm", "kk")


def test_run_d_rm_removes_after_exit(bb):
    cid = run_d(bb, "--rm", "--name", "gone", "busybox", "sh", "-c", "sleep 0.3; exit 2")
    assert bb.containers() == [cid]
    assert state(bb, "gone")["Running"] is True
    wait_for(lambda: bb.containers() == [], timeout=20, what="the --rm container removed")
    wait_for(lambda: not bb.monitors(), timeout=10, what="the monitor gone")
    assert_nothing_left(bb)
    p = bb.cmd("inspect", "gone")
    assert p.returncode != 0, describe(p)


@pytest.mark.parametrize("rm", [False, True], ids=["keep", "rm"])
@pytest.mark.parametrize("args, code", [
    (["no-such-command"], 127),
    (["/no/such/path"], 127),
    (["/bin"], 126),
], ids=["not-found", "no-path", "not-executable"])
def test_run_d_program_fails(bb, args, code, rm):
    """docker: the error, exit 126/127 (docker 28 prints the id first: it creates, prints, then
    starts); with --rm nothing is left, without it a container that is not running (docker's is
    "created" with that exit code)."""
    p = bb.cmd("run", "-d", *(["--rm"] if rm else []), "--name", "bad", "busybox", *args,
               timeout=60)
    assert p.returncode == code, describe(p)
    assert p.stdout == "" or HEX64.match(p.stdout.strip()), describe(p)
    assert p.stderr.startswith("berth: ") and args[0] in p.stderr, describe(p)
    if rm:
        assert_nothing_left(bb)
        return
    assert len(bb.containers()) == 1
    cid = bb.containers()[0]
    st = state(bb, "bad")
    assert st["Running"] is False and st["ExitCode"] == code, st
    assert bb.monitors() == {}
    assert_stopped_clean(bb, cid)
    r = bb.cmd("rm", "bad")
    assert r.returncode == 0, describe(r)
    assert_nothing_left(bb)


@pytest.mark.parametrize("rm", [False, True], ids=["keep", "rm"])
def test_run_d_unknown_user_125(bb, rm):
    """docker: "unable to find user nosuch: no matching entries in passwd file", exit 125."""
    p = bb.cmd("run", "-d", *(["--rm"] if rm else []), "-u", "nosuch", "busybox", "true",
               timeout=60)
    assert p.returncode == 125, describe(p)
    assert "unable to find user nosuch" in p.stderr, describe(p)
    assert p.stdout == "" or HEX64.match(p.stdout.strip()), describe(p)
    assert bb.monitors() == {}
    if rm:
        assert_nothing_left(bb)
    for c in bb.containers():
        assert state(bb, c)["Running"] is False
        bb.ok("rm", c)


def test_run_d_user_cannot_execute_126(berth, workdir):
    """A program that the -u user may not execute (mode 0700, root's): permission denied, 126."""
    img = R.Image([R.layer_tar(R.busybox_entries()),
                   R.layer_tar([R.Entry("opt", "dir"),
                                R.Entry("opt/rootonly", data=b"#!/bin/sh\necho hi\n",
                                        mode=0o700)])],
                  cmd=["sh"], env=["PATH=/bin"])
    img.write_docker_archive(workdir.path / "ro.tar", "ro:1")
    berth.ok("load", "-i", workdir.path / "ro.tar")
    p = berth.cmd("run", "-d", "--rm", "-u", "1000", "ro:1", "/opt/rootonly", timeout=60)
    assert p.returncode == 126, describe(p)
    assert "/opt/rootonly" in p.stderr, describe(p)
    assert_nothing_left(berth)
    # as root it runs
    cid = run_d(berth, "ro:1", "/opt/rootonly")
    assert wait_exited(berth, cid)["ExitCode"] == 0
    wait_log(berth, cid, "stdout", "hi")
    berth.ok("rm", cid)


def test_run_d_name_collision(bb):
    cid = run_d(bb, "--name", "svc", "busybox", "sleep", "1000")
    for args in (["-d"], ["-d", "--rm"], []):
        p = bb.cmd("run", *args, "--name", "svc", "busybox", "true", timeout=60)
        assert p.returncode == 125 and "svc" in p.stderr, describe(p)
        assert p.stdout == "", describe(p)
    assert bb.containers() == [cid]
    assert list(bb.monitors().values()) == [cid]
    assert state(bb, "svc")["Running"] is True
    bb.ok("rm", "-f", "svc")
    # a free name again: a new container may take it
    cid2 = run_d(bb, "--name", "svc", "busybox", "true")
    assert cid2 != cid
    wait_exited(bb, "svc")
    bb.ok("rm", "svc")


def test_log_driver_none(bb):
    cid = run_d(bb, "--log-driver", "none", "--name", "quiet", "busybox", "sh", "-c",
                "echo not-logged; exit 4")
    assert wait_exited(bb, "quiet")["ExitCode"] == 4
    assert not log_path(bb, cid).exists()
    assert not glob.glob(str(log_path(bb, cid)) + "*")
    assert record(bb, cid)["hostConfig"]["LogDriver"] == "none"
    bb.ok("rm", "quiet")


def test_log_driver_k8s_file_and_unknown(bb):
    cid = run_d(bb, "--log-driver", "k8s-file", "busybox", "echo", "logged")
    wait_exited(bb, cid)
    assert [r[1:] for r in log_records(bb, cid)] == [("stdout", "F", "logged")]
    bb.ok("rm", cid)
    p = bb.cmd("run", "-d", "--log-driver", "json-file", "busybox", "true", timeout=60)
    assert p.returncode == 125 and "json-file" in p.stderr, describe(p)
    p = bb.cmd("run", "-d", "--log-opt", "bogus=1", "busybox", "true", timeout=60)
    assert p.returncode == 125 and "bogus" in p.stderr, describe(p)
    assert_nothing_left(bb)


def test_log_opt_rotation_files(bb):
    """max-size=1k max-file=2: ctr.log and ctr.log.1, each at most 1 KiB (docker's units:
    1k = 1024), no third file; each file holds whole records."""
    script = "i=0; while [ $i -lt 100 ]; do echo line-$i-$(printf %50s | tr ' ' x); " \
             "i=$((i+1)); done"
    cid = run_d(bb, "--log-opt", "max-size=1k", "--log-opt", "max-file=2", "busybox",
                "sh", "-c", script)
    wait_exited(bb, cid)
    base = log_path(bb, cid)
    files = sorted(os.path.basename(f) for f in glob.glob(str(base) + "*"))
    assert files == ["ctr.log", "ctr.log.1"], files
    for f in (base, base.with_name("ctr.log.1")):
        data = f.read_bytes()
        assert 0 < len(data) <= 1024, (f, len(data))
        assert data.endswith(b"\n")
        assert all(CRI.match(line) for line in data.decode().splitlines()), data
    last = log_records(bb, cid)[-1]
    assert last[1:3] == ("stdout", "F") and last[3].startswith("line-99-"), last
    hc = record(bb, cid)["hostConfig"]
    assert hc["LogMaxSize"] == 1024 and hc["LogMaxFile"] == 2, hc
    bb.ok("rm", cid)


# --------------------------------------------------------------------------
# the monitor


def test_monitor_process(bb, capsys):
    """One berth-monitor per detached container, its record's monitorPid; not the CLI's child,
    in a session of its own without a terminal, in the host's namespaces and cgroups, not the
    container's; its RSS."""
    ids = [run_d(bb, "busybox", "sleep", "1000") for _ in range(2)]
    mons = bb.monitors()
    assert sorted(mons.values()) == sorted(ids), mons
    host_ns = {ns: os.readlink(f"/proc/self/ns/{ns}")
               for ns in ("mnt", "pid", "net", "uts", "ipc", "cgroup", "user")}
    my_session = os.getsid(0)
    for cid in ids:
        mon = monitor_of(bb, cid)
        rec = record(bb, cid)["state"]
        assert rec["monitorPid"] == mon, rec
        init = state(bb, cid)["Pid"]
        st = _read_stat(mon)
        # double fork: reparented to the nearest subreaper (this test) or to pid 1
        assert st[0] in (os.getpid(), 1), st
        sid, pgid, tty = session_of(mon)
        assert sid != my_session and pgid != os.getpgid(0) and tty == 0, (sid, pgid, tty)
        for ns, link in host_ns.items():
            assert os.readlink(f"/proc/{mon}/ns/{ns}") == link, ns
        for ns in ("mnt", "pid", "uts", "ipc"):
            assert os.readlink(f"/proc/{init}/ns/{ns}") != host_ns[ns], ns
        # the container's init is the monitor's child (it waits for it)
        assert _read_stat(init)[0] == mon
        with open(f"/proc/{mon}/cgroup") as f:
            cg = f.read()
        assert cid not in cg, cg
        say(capsys, f"berth-monitor pid {mon}: VmRSS {rss_kb(mon)} kB, "
                    f"VmHWM {proc_status(mon, 'VmHWM')} kB")
    for cid in ids:
        bb.ok("rm", "-f", cid)
    assert_nothing_left(bb, list(mons))


def test_monitor_survives_the_cli(bb):
    """The CLI in a process group and session of its own, killed (SIGHUP, SIGINT, SIGKILL to its
    whole group) right after it printed the id: the container runs on and its end is
    recorded."""
    p = bb.popen("run", "-d", "--name", "on", "busybox", "sh", "-c",
                 "echo ready; sleep 1.5; echo done; exit 5", start_new_session=True)
    cid = p.stdout.readline().decode().strip()
    for sig in (signal.SIGHUP, signal.SIGINT, signal.SIGKILL):
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            pass
    p.wait(timeout=10)
    assert HEX64.match(cid), cid
    assert state(bb, "on")["Running"] is True
    monitor_of(bb, cid)
    st = wait_exited(bb, "on")
    assert st["ExitCode"] == 5, st
    wait_log(bb, cid, "stdout", "done")
    bb.ok("rm", "on")


def test_monitor_killed_container_runs_on_then_stop(bb):
    cid = run_d(bb, "--name", "orphan", "busybox", *DEAF)
    wait_log(bb, cid, "stdout", "ready")
    mon = monitor_of(bb, cid)
    init = state(bb, "orphan")["Pid"]
    os.kill(mon, signal.SIGKILL)
    wait_for(lambda: not alive(mon), timeout=10, what="the monitor dead")
    # ps and inspect tell what is: it runs
    time.sleep(0.2)
    assert alive(init)
    st = state(bb, "orphan")
    assert st["Status"] == "running" and st["Running"] is True and st["Pid"] == init, st
    row = ps_row(bb, "orphan")
    assert row and row["Status"].startswith("Up "), row
    # stop still stops it (SIGKILL after 1 s); nobody could record its exit code: 255
    t0 = time.monotonic()
    p = bb.cmd("stop", "-t", "1", "orphan", timeout=30)
    took = time.monotonic() - t0
    assert p.returncode == 0 and p.stdout == "orphan\n", describe(p)
    assert 0.9 < took < 5, took
    assert not alive(init)
    st = state(bb, "orphan")
    assert st["Status"] == "exited" and st["Running"] is False and st["ExitCode"] == 255, st
    row = ps_row(bb, "orphan")
    assert row and row["Status"].startswith("Exited (255) "), row
    p = bb.cmd("rm", "orphan")
    assert p.returncode == 0, describe(p)
    assert_nothing_left(bb, [init, mon])


def test_monitor_killed_then_rm_f(bb):
    cid = run_d(bb, "--name", "orphan", "busybox", "sh", "-c", "sleep 1000 & sleep 1000")
    mon = monitor_of(bb, cid)
    init = state(bb, "orphan")["Pid"]
    os.kill(mon, signal.SIGKILL)
    wait_for(lambda: not alive(mon), timeout=10, what="the monitor dead")
    assert state(bb, "orphan")["Running"] is True
    p = bb.cmd("rm", "-f", "orphan", timeout=30)
    assert p.returncode == 0 and p.stdout == "orphan\n", describe(p)
    assert_nothing_left(bb, [init, mon])


def test_monitor_killed_container_exits_alone(bb):
    """Nobody records the exit: ps and inspect say exited, code 255 (docker's lost exit code),
    and `rm` (no -f needed) cleans up what the monitor would have."""
    cid = run_d(bb, "--name", "lost", "busybox", "sh", "-c", "sleep 1; exit 9")
    mon = monitor_of(bb, cid)
    init = state(bb, "lost")["Pid"]
    os.kill(mon, signal.SIGKILL)
    wait_for(lambda: not alive(init), timeout=20, what="the container's end")
    st = state(bb, "lost")
    assert st["Status"] == "exited" and st["Running"] is False and st["ExitCode"] == 255, st
    assert st["FinishedAt"], st
    row = ps_row(bb, "lost")
    assert row and row["Status"].startswith("Exited (255) "), row
    assert bb.ok("ps", "-q") == ""
    p = bb.cmd("wait", "lost", timeout=30)
    assert p.returncode == 0 and p.stdout == "255\n", describe(p)
    p = bb.cmd("rm", "lost")
    assert p.returncode == 0, describe(p)
    assert_nothing_left(bb, [init, mon])


def _podman_conmon_rss(workdir, archive):
    """(VmRSS kB of conmon for `podman run -d busybox sleep 1000`, None) or (None, why not).
    podman with private storage (vfs), cgroupfs, file events, runc, ulimits the host grants
    (see tests/clients/test_podman.py); everything it made is removed."""
    if not shutil.which("podman") or not shutil.which("conmon") or not shutil.which("runc"):
        return None, "podman, conmon or runc is not installed"
    base = workdir.path / "podman"
    base.mkdir()
    argv = ["podman", "--root", base / "storage", "--runroot", base / "run", "--tmpdir",
            base / "tmp", "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs",
            "--events-backend", "file", "--network-config-dir", base / "cni",
            "--runtime", "runc", "--log-level", "error"]
    parents_before = set(glob.glob("/sys/fs/cgroup/*/libpod_parent"))

    def pm(*args, timeout=120):
        return subprocess.run([*map(str, argv), *map(str, args)], capture_output=True,
                              text=True, stdin=subprocess.DEVNULL, timeout=timeout)

    try:
        p = pm("load", "-q", "-i", archive)
        if p.returncode != 0:
            return None, f"podman load failed: {p.stderr.strip()}"
        p = pm("run", "-d", "--network", "none", "--ulimit", "nofile=1024:1024",
               "--ulimit", "nproc=4096:4096", "busybox", "sleep", "1000")
        if p.returncode != 0:
            return None, f"podman run -d failed: {p.stderr.strip()}"
        pid = int(pm("inspect", "--format", "{{.State.ConmonPid}}", p.stdout.strip()).stdout)
        time.sleep(0.5)
        return (rss_kb(pid), memory_text(pid)), None
    finally:
        pm("rm", "-af", "-t", "0")
        pm("rmi", "-af")
        for pid in [int(d) for d in os.listdir("/proc") if d.isdigit()]:
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if str(base).encode() in f.read():
                        os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.1)
        reap_orphans()
        with open("/proc/self/mountinfo") as f:
            mps = [line.split()[4] for line in f]
        for m in sorted((m for m in mps if m.startswith(f"{base}/")), key=len, reverse=True):
            subprocess.run(["umount", "-l", m], capture_output=True)
        for top in sorted(set(glob.glob("/sys/fs/cgroup/*/libpod_parent")) - parents_before):
            for d, _, _ in sorted(os.walk(top), key=lambda w: -len(w[0])):
                try:
                    os.rmdir(d)  # only the empty cgroups this podman made
                except OSError:
                    pass


def test_monitor_rss_vs_conmon(bb, workdir, busybox_archive, capsys, record_property):
    """The goal: a monitor smaller than podman's conmon (about 2 MB here). Two containers: the
    first monitor of a fresh store compiles the seccomp program (then cached in the runroot),
    the second finds it compiled."""
    mine = []
    for what in ("first container", "second container"):
        cid = run_d(bb, "busybox", "sleep", "1000")
        time.sleep(0.5)
        mon = monitor_of(bb, cid)
        mine.append(rss_kb(mon))
        say(capsys, f"berth-monitor ({what}): {memory_text(mon)}")
        with open(f"/proc/{mon}/maps") as f:
            sanitized = "libasan" in f.read()
        bb.ok("rm", "-f", cid)
    record_property("berth_monitor_rss_kb", mine)
    if sanitized:
        pytest.skip("an ASan/UBSan build: its monitor's RSS says nothing about berth's")
    conmon, why = _podman_conmon_rss(workdir, busybox_archive)
    if conmon is None:
        pytest.skip(why)
    theirs, text = conmon
    record_property("conmon_rss_kb", theirs)
    say(capsys, f"conmon (podman 4.3, runc): {text}")
    assert max(mine) < theirs, f"berth-monitor VmRSS {mine} kB, conmon's {theirs} kB"


# --------------------------------------------------------------------------
# stop


def test_stop_sigterm_reaches_a_trap(bb):
    cid = run_d(bb, "--name", "polite", "busybox", *trapper(0))
    wait_log(bb, cid, "stdout", "ready")
    t0 = time.monotonic()
    p = bb.cmd("stop", "polite", timeout=30)
    took = time.monotonic() - t0
    assert p.returncode == 0 and p.stdout == "polite\n" and p.stderr == "", describe(p)
    assert took < 5, took
    # stop returns once the end is recorded
    st = state(bb, "polite")
    assert st["Status"] == "exited" and st["ExitCode"] == 0, st
    wait_log(bb, cid, "stdout", "got-TERM")
    assert_stopped_clean(bb, cid)
    bb.ok("rm", "polite")


def test_stop_timeout_then_sigkill(bb, capsys):
    cid = run_d(bb, "--name", "deaf", "busybox", *DEAF)
    wait_log(bb, cid, "stdout", "ready")
    t0 = time.monotonic()
    p = bb.cmd("stop", "-t", "1", "deaf", timeout=30)
    took = time.monotonic() - t0
    say(capsys, f"stop -t 1 of a process ignoring SIGTERM: {took:.2f} s")
    assert p.returncode == 0 and p.stdout == "deaf\n", describe(p)
    assert 0.9 < took < 4, took
    st = state(bb, "deaf")
    assert st["Status"] == "exited" and st["ExitCode"] == 137, st
    bb.ok("rm", "deaf")


def test_stop_default_timeout_is_10s(bb):
    cid = run_d(bb, "--name", "deaf", "busybox", *DEAF)
    wait_log(bb, cid, "stdout", "ready")
    t0 = time.monotonic()
    p = bb.cmd("stop", "deaf", timeout=60)
    took = time.monotonic() - t0
    assert p.returncode == 0 and p.stdout == "deaf\n", describe(p)
    assert 9.8 < took < 16, took
    assert state(bb, "deaf")["ExitCode"] == 137
    bb.ok("rm", "deaf")


def test_stop_t0_kills_at_once(bb):
    run_d(bb, "--name", "deaf", "busybox", *DEAF)
    t0 = time.monotonic()
    p = bb.cmd("stop", "-t", "0", "deaf", timeout=30)
    took = time.monotonic() - t0
    assert p.returncode == 0 and p.stdout == "deaf\n", describe(p)
    assert took < 2, took
    assert state(bb, "deaf")["ExitCode"] == 137
    bb.ok("rm", "deaf")


@pytest.mark.parametrize("spelling", ["USR1", "SIGUSR1", "10"])
def test_stop_signal_flag(bb, spelling):
    cid = run_d(bb, "--name", "uu", "busybox", *trapper(7, "USR1"))
    wait_log(bb, cid, "stdout", "ready")
    t0 = time.monotonic()
    p = bb.cmd("stop", "-s", spelling, "-t", "5", "uu", timeout=30)
    assert p.returncode == 0 and p.stdout == "uu\n", describe(p)
    assert time.monotonic() - t0 < 4
    assert state(bb, "uu")["ExitCode"] == 7
    bb.ok("rm", "uu")


def test_stop_bad_signal(bb):
    run_d(bb, "--name", "ss", "busybox", "sleep", "1000")
    p = bb.cmd("stop", "-s", "NOSUCHSIG", "ss", timeout=30)
    assert p.returncode != 0 and "NOSUCHSIG" in p.stderr, describe(p)
    assert state(bb, "ss")["Running"] is True
    bb.ok("rm", "-f", "ss")


def test_stop_stopped_container_and_missing_one(bb):
    run_d(bb, "--name", "done", "busybox", "true")
    wait_exited(bb, "done")
    p = bb.cmd("stop", "done", timeout=30)
    assert p.returncode == 0 and p.stdout == "done\n", describe(p)
    assert state(bb, "done")["ExitCode"] == 0
    # docker: an error for the missing one, the others stopped, exit 1
    p = bb.cmd("stop", "nosuch", "done", timeout=30)
    assert p.returncode == 1 and p.stdout == "done\n", describe(p)
    assert re.search(r"no such container: nosuch", p.stderr, re.I), describe(p)
    bb.ok("rm", "done")


def test_stop_rm_container(bb):
    """stop of a --rm container: stopped, then removed by its monitor."""
    cid = run_d(bb, "--rm", "--name", "tmp", "busybox", *trapper(0))
    wait_log(bb, cid, "stdout", "ready")
    p = bb.cmd("stop", "tmp", timeout=30)
    assert p.returncode == 0 and p.stdout == "tmp\n", describe(p)
    wait_for(lambda: bb.containers() == [], timeout=10, what="removed")
    assert_nothing_left(bb)


def test_stop_many_at_once(bb, capsys):
    """STOP_MANY containers ignoring SIGTERM, one `berth stop -t 1`: docker's CLI stops them in
    parallel (about 1 s in all); sequentially it would take STOP_MANY seconds."""
    names = [f"m{i}" for i in range(STOP_MANY)]
    ids = [run_d(bb, "--name", n, "busybox", *DEAF) for n in names]
    for cid in ids:
        wait_log(bb, cid, "stdout", "ready")
    t0 = time.monotonic()
    p = bb.cmd("stop", "-t", "1", *names, timeout=120)
    took = time.monotonic() - t0
    say(capsys, f"one `stop -t 1` of {STOP_MANY} containers ignoring SIGTERM: {took:.2f} s")
    assert p.returncode == 0 and p.stdout.split() == names, describe(p)
    assert all(state(bb, n)["ExitCode"] == 137 for n in names)
    assert bb.monitors() == {}
    bb.ok("rm", *names)
    assert took < 4, f"{took:.1f} s for {STOP_MANY} containers: not in parallel"


# --------------------------------------------------------------------------
# kill


def test_kill_default_sigkill(bb):
    cid = run_d(bb, "--name", "kk", "busybox", *trapper(0))
    wait_log(bb, cid, "stdout", "ready")
    p = bb.cmd("kill", "kk", timeout=30)
    assert p.returncode == 0 and p.stdout == "kk\n" and p.stderr == "", describe(p)
    p = bb.cmd("wait", "kk", timeout=30)
    assert p.returncode == 0 and p.stdout == "137\n", describe(p)
    st = state(bb, "kk")
    assert st["Status"] == "exited" and st["ExitCode"] == 137, st
    assert_stopped_clean(bb, cid)
    bb.ok("rm", "kk")


@pytest.mark.parametrize("spelling", ["TERM", "SIGTERM", "15"])
def test_kill_signal_to_a_trap(bb, spelling):
    cid = run_d(bb, "--name", "kk", "busybox", *trapper(3))
    wait_log(bb, cid, "stdout", "ready")
    p = bb.cmd("kill", "-s", spelling, "kk", timeout=30)
    assert p.returncode == 0 and p.stdout == "kk\n", describe(p)
    p = bb.cmd("wait", "kk", timeout=30)
    assert p.returncode == 0 and p.stdout == "3\n", describe(p)
    wait_log(bb, cid, "stdout", "got-TERM")
    bb.ok("rm", "kk")


def test_kill_not_running_and_missing(bb):
    cid = run_d(bb, "--name", "done", "busybox", "true")
    wait_exited(bb, "done")
    p = bb.cmd("kill", "done", timeout=30)
    assert p.returncode == 1 and p.stdout == "", describe(p)
    # (docker 20.10 capitalizes: "Cannot kill container: done: Container ID is not running")
    assert f"cannot kill container: done: container {cid} is not running" in p.stderr.lower(), \
        describe(p)
    p = bb.cmd("kill", "nosuch", timeout=30)
    assert p.returncode == 1 and re.search(r"no such container: nosuch", p.stderr, re.I), \
        describe(p)
    # the others are still killed
    run_d(bb, "--name", "live", "busybox", "sleep", "1000")
    p = bb.cmd("kill", "nosuch", "live", timeout=30)
    assert p.returncode == 1 and p.stdout == "live\n", describe(p)
    assert wait_exited(bb, "live")["ExitCode"] == 137
    bb.ok("rm", "done", "live")


# --------------------------------------------------------------------------
# wait


def test_wait_running_until_stopped(bb):
    cid = run_d(bb, "--name", "ww", "busybox", *trapper(4))
    wait_log(bb, cid, "stdout", "ready")
    w = bb.popen("wait", "ww")
    try:
        time.sleep(0.5)
        assert w.poll() is None, "wait returned while the container runs"
        p = bb.cmd("stop", "ww", timeout=30)
        assert p.returncode == 0, describe(p)
        out, err = w.communicate(timeout=20)
    finally:
        if w.poll() is None:
            w.kill()
            w.wait()
    assert w.returncode == 0 and out == b"4\n", (w.returncode, out, err)
    bb.ok("rm", "ww")


def test_wait_exited_and_several(bb):
    run_d(bb, "--name", "aa", "busybox", "sh", "-c", "exit 3")
    run_d(bb, "--name", "bb", "busybox", "sh", "-c", "sleep 0.5; exit 5")
    t0 = time.monotonic()
    p = bb.cmd("wait", "aa", "bb", timeout=30)
    assert p.returncode == 0 and p.stdout == "3\n5\n", describe(p)
    assert time.monotonic() - t0 < 10
    p = bb.cmd("wait", "aa", timeout=30)  # exited: at once
    assert p.returncode == 0 and p.stdout == "3\n", describe(p)
    p = bb.cmd("wait", "nosuch", timeout=30)
    assert p.returncode == 1 and re.search(r"no such container: nosuch", p.stderr, re.I), \
        describe(p)
    bb.ok("rm", "aa", "bb")


def test_wait_rm_container_going_away(bb):
    """docker prints the exit code of an --rm container that exits (and is removed) while it is
    waited for."""
    run_d(bb, "--rm", "--name", "brief", "busybox", "sh", "-c", "sleep 1; exit 6")
    p = bb.cmd("wait", "brief", timeout=30)
    assert p.returncode == 0 and p.stdout == "6\n", describe(p)
    # the monitor removes it once `wait` has read the end, then exits
    wait_for(lambda: bb.containers() == [] and not bb.monitors(), timeout=10,
             what="removed, its monitor gone")
    assert_nothing_left(bb)


# --------------------------------------------------------------------------
# rm -f


def test_rm_f_running_detached(bb):
    cid = run_d(bb, "--name", "busy", "busybox", "sh", "-c", "sleep 1000 & sleep 1000")
    init = state(bb, "busy")["Pid"]
    mon = monitor_of(bb, cid)
    p = bb.cmd("rm", "busy", timeout=30)
    assert p.returncode != 0 and "force" in p.stderr, describe(p)
    t0 = time.monotonic()
    p = bb.cmd("rm", "-f", "busy", timeout=30)
    assert p.returncode == 0 and p.stdout == "busy\n", describe(p)
    assert time.monotonic() - t0 < 5
    wait_for(lambda: not alive(mon), timeout=10, what="the monitor gone")
    assert_nothing_left(bb, [init, mon])


# --------------------------------------------------------------------------
# many at once


def test_parallel_run_d_and_stop(bb, capsys):
    """PARALLEL `run -d` at once: all run, each with its monitor; then PARALLEL `stop -t 1` at
    once of containers ignoring SIGTERM: about one stop timeout in all, not PARALLEL."""
    names = [f"p{i}" for i in range(PARALLEL)]
    t0 = time.monotonic()
    procs = [bb.popen("run", "-d", "--name", n, "busybox", *DEAF) for n in names]
    outs = [p.communicate(timeout=300) for p in procs]
    took = time.monotonic() - t0
    say(capsys, f"{PARALLEL} x run -d in parallel: {took:.2f} s")
    for p, (out, err) in zip(procs, outs):
        assert p.returncode == 0 and HEX64.match(out.decode().strip()), (p.args, out, err)
    ids = [out.decode().strip() for out, _ in outs]
    assert len(set(ids)) == PARALLEL
    assert sorted(bb.containers()) == sorted(ids)
    mons = bb.monitors()
    assert sorted(mons.values()) == sorted(ids), f"{len(mons)} monitors for {PARALLEL}"
    rows = bb.json_lines("ps", "--format", "json")
    assert len(rows) == PARALLEL and all(r["Status"].startswith("Up ") for r in rows), rows
    for cid in ids:
        wait_log(bb, cid, "stdout", "ready", timeout=60)
    say(capsys, "monitors' VmRSS (kB): " + " ".join(sorted(
        {str(rss_kb(m)) for m in mons})))

    t0 = time.monotonic()
    procs = [bb.popen("stop", "-t", "1", n) for n in names]
    outs = [p.communicate(timeout=300) for p in procs]
    took = time.monotonic() - t0
    say(capsys, f"{PARALLEL} x stop -t 1 in parallel: {took:.2f} s")
    for n, p, (out, err) in zip(names, procs, outs):
        assert p.returncode == 0 and out.decode() == f"{n}\n", (n, out, err)
    rows = bb.json_lines("ps", "-a", "--format", "json")
    assert all(re.match(r"Exited \(137\) ", r["Status"]) for r in rows), rows
    assert bb.monitors() == {}
    assert took < 1 + PARALLEL * 0.25, f"{took:.1f} s: the stops did not run in parallel"
    p = bb.cmd("rm", *names, timeout=300)
    assert p.returncode == 0, describe(p)
    assert_nothing_left(bb, list(mons))


# --------------------------------------------------------------------------
# crash points


def _check_truthful_then_rm_f(bb):
    """ps lists every container the store has; a running one's init lives and has its monitor;
    `rm -f` of each cleans everything, and the store still runs containers."""
    bb._note_ids()
    left = bb.containers()
    ps = bb.cmd("ps", "-a", "-q", "--no-trunc")
    assert ps.returncode == 0, describe(ps)
    assert sorted(ps.stdout.split()) == left, describe(ps)
    mons = bb.monitors()
    pids = list(mons)
    for c in left:
        st = state(bb, c)
        if st["Running"]:
            assert st["Pid"] > 0 and alive(st["Pid"]), (c, st)
            pids.append(st["Pid"])
        else:
            # "dead": a container dir without its record (killed between the two), as docker
            # lists a container it could not finish
            assert st["Status"] in ("created", "exited", "dead"), (c, st)
    for c in left:
        r = bb.cmd("rm", "-f", c, timeout=30)
        assert r.returncode == 0, describe(r)
    wait_for(lambda: not bb.monitors(), timeout=10, what="every monitor gone")
    assert_nothing_left(bb, pids)
    cid = run_d(bb, "--rm", "busybox", "true")
    wait_for(lambda: bb.containers() == [], timeout=20, what=f"{cid[:12]} removed")


@pytest.mark.parametrize("rm", [False, True], ids=["keep", "rm"])
def test_kill_cli_during_run_d_then_rm_f(bb, rm):
    for i, delay in enumerate(DELAYS):
        p = bb.popen("run", "-d", *(["--rm"] if rm else []), "--name", f"crash{i}", "busybox",
                     "sleep", "100")
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
    time.sleep(1)  # monitors that were started finish starting their containers
    assert len(bb.containers()) <= len(DELAYS)
    _check_truthful_then_rm_f(bb)


def test_kill_cli_and_monitor_during_run_d_then_rm_f(bb):
    """The monitor killed -9 too, at any moment of the start (before it exists, while it seals
    itself, creates or starts the container): what is left, ps tells truthfully and rm -f
    cleans."""
    for i, delay in enumerate(DELAYS + [0.5, 1.0]):
        p = bb.popen("run", "-d", "--name", f"crash{i}", "busybox", "sleep", "100")
        time.sleep(delay)
        for pid in bb.monitors():
            os.kill(pid, signal.SIGKILL)
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
        for pid in bb.monitors():  # one that the CLI forked meanwhile
            os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not bb.monitors(), timeout=10, what="every monitor dead")
    _check_truthful_then_rm_f(bb)


# --------------------------------------------------------------------------
# the container's stop signal and timeout (docker: --stop-signal, the image's STOPSIGNAL,
# --stop-timeout; stop's and restart's -s/-t win)


def test_stop_signal_flag_image_and_s(bb):
    trap = ["sh", "-c", 'trap "exit 11" USR1; trap "exit 12" USR2; trap "exit 13" TERM; '
                        "echo ready; while :; do sleep 0.1; done"]
    run_d(bb, "--name", "sig1", "--stop-signal", "USR1", "busybox", *trap)
    bb.ok("stop", "sig1")
    st = state(bb, "sig1")
    assert st["ExitCode"] == 11, st
    assert bb.json("inspect", "sig1")[0]["Config"]["StopSignal"] == "USR1"
    bb.ok("start", "sig1")
    bb.ok("stop", "-s", "TERM", "sig1")  # -s wins
    assert state(bb, "sig1")["ExitCode"] == 13
    bb.ok("rm", "sig1")
    # the image's STOPSIGNAL
    bb.ok("run", "--name", "base", "busybox", "true")
    bb.ok("commit", "-c", "STOPSIGNAL SIGUSR2", "base", "usr2:1")
    bb.ok("rm", "base")
    run_d(bb, "--name", "sig2", "usr2:1", *trap)
    bb.ok("stop", "sig2")
    assert state(bb, "sig2")["ExitCode"] == 12
    bb.ok("rm", "sig2")
    bb.ok("rmi", "usr2:1")
    p = bb.cmd("run", "-d", "--stop-signal", "BOGUS", "busybox", "true")
    assert p.returncode == 125 and "invalid signal: BOGUS" in p.stderr, describe(p)
    assert bb.containers() == []


def test_stop_timeout_flag_and_t(bb, capsys):
    run_d(bb, "--name", "deaf", "--stop-timeout", "1", "busybox", *DEAF)
    assert bb.json("inspect", "deaf")[0]["Config"]["StopTimeout"] == 1
    t0 = time.monotonic()
    bb.ok("stop", "deaf")  # its own 1 s, not docker's 10
    took = time.monotonic() - t0
    say(capsys, f"stop of a --stop-timeout 1 container ignoring SIGTERM: {took:.2f} s")
    assert 0.9 < took < 8 and state(bb, "deaf")["ExitCode"] == 137
    bb.ok("start", "deaf")
    pid = state(bb, "deaf")["Pid"]
    bb.ok("restart", "-t", "0", "deaf")  # -t wins: SIGKILL at once
    st = state(bb, "deaf")
    assert st["Running"] is True and st["Pid"] != pid, st
    bb.ok("rm", "-f", "deaf")
    p = bb.cmd("run", "-d", "--stop-timeout", "x", "busybox", "true")
    assert p.returncode == 125 and '"--stop-timeout"' in p.stderr, describe(p)


# --------------------------------------------------------------------------
# two CLIs on one container at once: the record is never corrupt, nothing is left


def test_stop_and_rm_at_once(bb):
    for i in range(8):
        name = f"race{i}"
        run_d(bb, "--name", name, "busybox", *DEAF)
        stop = bb.popen("stop", "-t", "1", name)
        time.sleep(0.05 * (i % 4))
        rm = bb.cmd("rm", "-f", name, timeout=30)
        out, err = stop.communicate(timeout=30)
        assert rm.returncode == 0, describe(rm)
        # stop either saw it end, or found it gone: docker's "No such container" (1)
        assert stop.returncode == 0 or (stop.returncode == 1 and
                                        b"no such container" in err.lower()), (out, err)
        assert b"record" not in err and b"JSON" not in err, err
    wait_for(lambda: not bb.monitors(), timeout=10, what="the monitors gone")
    assert bb.containers() == []
    assert_nothing_left(bb)


def test_rename_while_it_ends(bb):
    """The monitor records the end under the record's lock, keeping a rename made meanwhile."""
    for i in range(5):
        run_d(bb, "--name", f"old{i}", "busybox", "sh", "-c", "sleep 0.3")
        time.sleep(0.1 * i)
        bb.ok("rename", f"old{i}", f"new{i}")
        p = bb.cmd("wait", f"new{i}", timeout=30)
        assert p.returncode == 0 and p.stdout == "0\n", describe(p)
        names = [c["Names"] for c in bb.json_lines("ps", "-a", "--format", "json")]
        assert f"new{i}" in names and f"old{i}" not in names, names
        bb.ok("rm", f"new{i}")
    assert_nothing_left(bb)


# --------------------------------------------------------------------------
# port (no container publishes a port before networks, issue 12: docker's output for that)


def test_port_without_published_ports(bb):
    run_d(bb, "--name", "noports", "busybox", "sleep", "1000")
    p = bb.cmd("port", "noports")
    assert p.returncode == 0 and p.stdout == "", describe(p)
    for spec, name in (("80", "80/tcp"), ("53/udp", "53/udp")):
        p = bb.cmd("port", "noports", spec)
        assert p.returncode == 1, describe(p)
        assert f"No public port '{name}' published for noports" in p.stderr, describe(p)
    p = bb.cmd("port", "noports", "x")
    assert p.returncode == 1 and "Invalid containerPort: x" in p.stderr, describe(p)
    p = bb.cmd("port", "nosuch")
    assert p.returncode == 1 and "no such container: nosuch" in p.stderr.lower(), describe(p)
    bb.ok("rm", "-f", "noports")
