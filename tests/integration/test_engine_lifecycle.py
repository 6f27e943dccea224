"""A container's life beyond `run -d` (issue 11): `create`, `start`, `restart`, the restart
policies carried out by the monitor (`--restart no|on-failure[:N]|always|unless-stopped`), and
what a reboot leaves (`start --all-restart`, the systemd unit contrib/systemd/berth-restart.service).

Docker's behaviour is the reference (checked side by side with a private dockerd 20.10, CLI 28):
`create` prints the full id and neither mounts nor starts anything (ps: "Created"); `start`
prints each name as given, a running container is no error, a missing one is exit 1 ("No such
container"), a program that cannot run leaves the container "Created" with its exit code (127);
`restart [-t N] [-s SIG]` stops then starts (a new pid, a new StartedAt), and keeps a --rm
container; the policies restart with docker's back-off (100 ms doubling), count RestartCount
(reset by start), show "restarting" between two runs (ps: "Restarting (CODE) ... ago"); on-failure:N
allows N restarts; stop or kill by the user ends any policy's loop (docker's ExitOnNext);
`--rm` with a policy is refused; after a reboot dockerd restarts always, unless-stopped (unless
stopped by the user) and on-failure (last exit code not 0; a crash's 255 counts) containers that
have run before, and removes --rm ones.

Every test ends with the leak guard (conftest.py): no container, mount, cgroup, runtime state,
process or monitor may be left.
"""

import glob
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import REPO, describe, reap_orphans, _read_stat
from engine_util import (  # noqa: F401 (bb: a fixture)
    bb, wait_for, run_d, create, inspect, state, HEX64, DEAF, DELAYS)


# A container that prints the machine's uptime (one line per run: the restarts' timings), then
# exits with CODE.
def uptime_then(code):
    return ["sh", "-c", f"cat /proc/uptime; exit {code}"]


# --------------------------------------------------------------------------
# helpers


def record(e, cid):
    with open(e.root / "containers" / cid / "container.json") as f:
        return json.load(f)


def status_is(e, what, status):
    st = state(e, what)
    return st if st["Status"] == status else None


def ps_row(e, what):
    for row in e.json_lines("ps", "-a", "--no-trunc", "--format", "json"):
        if row.get("Names") in (what, "/" + what) or row.get("ID", "").startswith(what):
            return row
    return None


def logs(e, what):
    p = e.cmd("logs", what)
    assert p.returncode == 0, describe(p)
    return p.stdout


def uptimes(e, what):
    """The uptime each run of an uptime_then() container printed, in order."""
    return [float(line.split()[0]) for line in logs(e, what).splitlines() if line.strip()]


def gaps(times):
    return [round(b - a, 3) for a, b in zip(times, times[1:])]


def alive(pid):
    reap_orphans()
    st = _read_stat(pid)
    return st is not None and st[1] != "Z"


def mounts_under(root):
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(f"{root}/")]


def cgroups_of(ids):
    return [d for i in ids for d in glob.glob(f"/sys/fs/cgroup/*/berth/{i}")]


def cgroup_pids(ids):
    out = set()
    for d in cgroups_of(ids):
        try:
            with open(f"{d}/cgroup.procs") as f:
                out.update(int(x) for x in f.read().split())
        except OSError:
            pass
    return out


def runtime_state(e):
    return [os.path.join(d, f) for d, _, fs in os.walk(e.runroot) for f in fs
            if not f.endswith(".lock") and not d.endswith("/.seccomp:bpf")]


def monitors_of(e, cid):
    return [pid for pid, c in e.monitors().items() if c == cid]


def assert_stopped_clean(e, cid):
    """An exited container whose record stays: no monitor, mount, runtime state or process."""
    wait_for(lambda: not monitors_of(e, cid), timeout=10, what=f"{cid[:12]}'s monitor gone")
    assert [m for m in mounts_under(e.root) if cid in m] == []
    assert [f for f in runtime_state(e) if cid in f] == []
    assert cgroup_pids([cid]) == set()


def assert_nothing_left(e, pids=()):
    e._note_ids()
    assert e.containers() == []
    assert mounts_under(e.root) == []
    assert cgroups_of(e.ids) == []
    assert runtime_state(e) == []
    assert e.monitors() == {}
    assert [p for p in pids if alive(p)] == []


def say(capsys, text):
    with capsys.disabled():
        print(f"\n    {text}", end="")


def no_such(p, what):
    """docker's answer for a missing container: exit 1, "No such container: X"."""
    assert p.returncode == 1, describe(p)
    assert re.search(rf"no such container: {re.escape(what)}", p.stderr, re.I), describe(p)


# --------------------------------------------------------------------------
# create


def test_create_makes_a_record_only(bb):
    cid = create(bb, "--name", "made", "busybox", "sh", "-c", "echo hi; sleep 100")
    assert bb.containers() == [cid]
    # nothing mounted, no process, no monitor, no runtime state (docker mounts at start: a
    # reboot leaves a created container as valid as it was)
    assert mounts_under(bb.root) == []
    assert bb.monitors() == {}
    assert runtime_state(bb) == []
    assert cgroups_of([cid]) == []
    st = state(bb, "made")
    assert st["Status"] == "created" and st["Running"] is False and st["Pid"] == 0, st
    assert st["ExitCode"] == 0 and st["StartedAt"].startswith("0001-"), st
    row = ps_row(bb, "made")
    assert row and row["Status"] == "Created" and row["State"] == "created", row
    assert bb.ok("ps", "-q") == ""
    assert re.search(r"\bCreated\s+made$", bb.ok("ps", "-a"), re.M)
    rec = record(bb, cid)
    assert rec["state"]["status"] == "created", rec
    assert rec["hostConfig"]["RestartPolicy"] == {"Name": "no", "MaximumRetryCount": 0}, rec
    # `container create` is the same command; create has no -d (docker: unknown shorthand)
    cid2 = create(bb, "busybox", "true")
    p = bb.cmd("container", "create", "-d", "busybox", "true")
    assert p.returncode == 125 and "unknown shorthand flag: 'd'" in p.stderr, describe(p)
    p = bb.cmd("container", "create", "--name", "made2", "busybox", "true")
    assert p.returncode == 0 and HEX64.match(p.stdout.strip()), describe(p)
    bb.ok("rm", "made", cid2, "made2")


def test_create_keeps_the_restart_policy(bb):
    cid = create(bb, "--name", "pol", "--restart", "on-failure:3", "busybox", "true")
    rec = record(bb, cid)
    assert rec["hostConfig"]["RestartPolicy"] == {"Name": "on-failure",
                                                  "MaximumRetryCount": 3}, rec
    hc = inspect(bb, "pol")["HostConfig"]
    assert hc["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}, hc
    assert inspect(bb, "pol")["RestartCount"] == 0
    bb.ok("rm", "pol")


@pytest.mark.parametrize("args, msg", [
    (["--rm", "--restart", "always"], "conflicting options: cannot specify both --restart and --rm"),
    (["--restart", "bogus"], "invalid restart policy: unknown policy 'bogus'; use one of 'no', "
                             "'always', 'on-failure', or 'unless-stopped'"),
    (["--restart", "on-failure:x"], "invalid restart policy format: maximum retry count must be "
                                    "an integer"),
    (["--restart", "always:3"], "invalid restart policy: maximum retry count can only be used "
                                "with 'on-failure'"),
    (["--restart", "on-failure:-1"], "invalid restart policy: maximum retry count cannot be "
                                     "negative"),
    (["--restart", ":3"], "invalid restart policy format: no policy provided before colon"),
], ids=["rm", "unknown", "count", "always-count", "negative", "no-name"])
@pytest.mark.parametrize("cmd", [["run", "-d"], ["create"]])
def test_restart_policy_errors(bb, cmd, args, msg):
    p = bb.cmd(*cmd, *args, "busybox", "true")
    assert p.returncode == 125 and msg in p.stderr, describe(p)
    assert bb.containers() == []


def test_rm_with_restart_no_is_fine(bb):
    p = bb.cmd("run", "--rm", "--restart", "no", "busybox", "echo", "ok")
    assert p.returncode == 0 and p.stdout == "ok\n", describe(p)
    assert bb.containers() == []


# --------------------------------------------------------------------------
# start


def test_start_created_prints_name_and_runs(bb):
    cid = create(bb, "--name", "svc", "busybox", "sh", "-c", "echo started; exec sleep 1000")
    p = bb.cmd("start", "svc")
    assert p.returncode == 0 and p.stdout == "svc\n" and p.stderr == "", describe(p)
    st = state(bb, "svc")
    assert st["Status"] == "running" and st["Pid"] > 1 and alive(st["Pid"]), st
    assert not st["StartedAt"].startswith("0001-"), st
    assert len(monitors_of(bb, cid)) == 1
    wait_for(lambda: logs(bb, "svc") == "started\n", what="its output in logs")
    assert ps_row(bb, "svc")["Status"].startswith("Up "), ps_row(bb, "svc")
    # a running container: no error, nothing done (docker's)
    pid = st["Pid"]
    p = bb.cmd("container", "start", cid[:12])
    assert p.returncode == 0 and p.stdout == f"{cid[:12]}\n", describe(p)
    assert state(bb, "svc")["Pid"] == pid and len(monitors_of(bb, cid)) == 1
    # a missing one: exit 1, docker's message
    no_such(bb.cmd("start", "nosuch"), "nosuch")
    p = bb.cmd("rm", "-f", "svc")
    assert p.returncode == 0, describe(p)
    assert_nothing_left(bb, [pid])


def test_start_several_in_order(bb):
    for n in ("a1", "a2", "a3"):
        create(bb, "--name", n, "busybox", "sleep", "1000")
    p = bb.cmd("start", "a1", "missing", "a2", "a3")
    assert p.returncode == 1, describe(p)
    assert p.stdout == "a1\na2\na3\n", describe(p)
    assert re.search(r"no such container: missing", p.stderr, re.I), describe(p)
    for n in ("a1", "a2", "a3"):
        assert state(bb, n)["Running"] is True
    assert len(bb.monitors()) == 3
    bb.ok("rm", "-f", "a1", "a2", "a3")
    assert_nothing_left(bb)


def test_start_exited_again(bb):
    cid = run_d(bb, "--name", "again", "busybox", "sh", "-c", "echo run; exit 4")
    st1 = wait_for(lambda: status_is(bb, "again", "exited"), what="exited")
    assert st1["ExitCode"] == 4
    assert_stopped_clean(bb, cid)
    time.sleep(0.01)
    p = bb.cmd("start", "again")
    assert p.returncode == 0 and p.stdout == "again\n", describe(p)
    st2 = wait_for(lambda: status_is(bb, "again", "exited"), what="exited again")
    assert st2["ExitCode"] == 4 and st2["StartedAt"] > st1["StartedAt"], (st1, st2)
    assert logs(bb, "again") == "run\nrun\n"
    assert inspect(bb, "again")["RestartCount"] == 0  # a start by the user is not a restart
    assert_stopped_clean(bb, cid)
    bb.ok("rm", "again")


def test_start_program_not_found(bb):
    """docker: exit 1, the runtime's error; the container stays Created with exit code 127;
    nothing is left mounted or in the runtime state."""
    cid = create(bb, "--name", "bad", "busybox", "nosuchcmd")
    p = bb.cmd("start", "bad")
    assert p.returncode == 1 and "nosuchcmd" in p.stderr and p.stdout == "", describe(p)
    st = state(bb, "bad")
    assert st["Status"] == "created" and st["ExitCode"] == 127, st
    assert ps_row(bb, "bad")["Status"] == "Created"
    assert_stopped_clean(bb, cid)
    bb.ok("rm", "bad")


def test_start_takes_the_record_as_it_is(bb):
    """The bundle is written again at each start: a rename since is taken (the hostname file
    too is written again), the security options are kept."""
    if bb.cmd("rename", "--help").returncode != 0:
        pytest.skip("berth rename is not built")
    cid = run_d(bb, "--name", "before", "--security-opt", "no-new-privileges",
                "busybox", "sh", "-c", "grep NoNewPrivs /proc/self/status")
    wait_for(lambda: status_is(bb, "before", "exited"), what="exited")
    bb.ok("rename", "before", "after")
    p = bb.cmd("start", "after")
    assert p.returncode == 0 and p.stdout == "after\n", describe(p)
    wait_for(lambda: status_is(bb, "after", "exited"), what="exited again")
    assert re.findall(r"NoNewPrivs:\s+(\d)", logs(bb, "after")) == ["1", "1"]
    assert_stopped_clean(bb, cid)
    bb.ok("rm", "after")


def test_start_seccomp_profile_kept(bb, workdir):
    """--security-opt seccomp=FILE: the record keeps the profile's text (docker's SecurityOpt),
    so a start after the file is gone still applies it."""
    prof = workdir.path / "prof.json"
    prof.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}))
    cid = create(bb, "--name", "sc", "--security-opt", f"seccomp={prof}",
                 "busybox", "sh", "-c", "mkdir /x && echo made || echo refused")
    prof.unlink()
    rec = record(bb, cid)
    assert [s for s in rec["hostConfig"]["SecurityOpt"] if s.startswith("seccomp={")], rec
    p = bb.cmd("start", "sc")
    assert p.returncode == 0, describe(p)
    wait_for(lambda: status_is(bb, "sc", "exited"), what="exited")
    assert logs(bb, "sc") == "refused\n"
    bb.ok("rm", "sc")


def test_start_twice_at_once(bb):
    """Two starts of one container: one monitor, one process, both succeed (docker's)."""
    cid = create(bb, "--name", "twice", "busybox", "sleep", "1000")
    ps = [bb.popen("start", "twice") for _ in range(3)]
    outs = [p.communicate(timeout=60) for p in ps]
    for p, (out, err) in zip(ps, outs):
        assert p.returncode == 0 and out == b"twice\n", (p.returncode, out, err)
    assert len(monitors_of(bb, cid)) == 1
    st = state(bb, "twice")
    assert st["Running"] is True and cgroup_pids([cid]) == {st["Pid"]}, st
    bb.ok("rm", "-f", "twice")
    assert_nothing_left(bb)


def test_start_attach(bb):
    """start -a: attached before the program starts (nothing lost), streams apart, its exit
    code; -i: stdin to a container made with -i; several at once refused, as docker's."""
    create(bb, "--name", "att", "busybox", "sh", "-c", "echo out; echo err >&2; exit 4")
    p = bb.cmd("start", "-a", "att")
    assert p.returncode == 4 and p.stdout == "out\n" and p.stderr == "err\n", describe(p)
    assert state(bb, "att")["Status"] == "exited"
    create(bb, "-i", "--name", "atti", "busybox", "sh", "-c", "read x; echo got:$x")
    p = bb.cmd("start", "-ai", "atti", input="hello\n")
    assert p.returncode == 0 and p.stdout == "got:hello\n", describe(p)
    p = bb.cmd("start", "-a", "att", "atti")
    assert p.returncode == 125 and "cannot start and attach multiple containers" in p.stderr, \
        describe(p)
    bb.ok("rm", "att", "atti")


def test_created_container_stop_wait_kill(bb):
    """docker: stop of a created container is no error, wait returns its code at once, kill
    refuses it."""
    create(bb, "--name", "idle", "busybox", "true")
    p = bb.cmd("stop", "idle", timeout=10)
    assert p.returncode == 0 and p.stdout == "idle\n", describe(p)
    p = bb.cmd("wait", "idle", timeout=10)
    assert p.returncode == 0 and p.stdout == "0\n", describe(p)
    p = bb.cmd("kill", "idle")
    assert p.returncode == 1 and "is not running" in p.stderr, describe(p)
    assert state(bb, "idle")["Status"] == "created"
    bb.ok("rm", "idle")


# --------------------------------------------------------------------------
# restart


def test_restart_new_pid_and_started_at(bb):
    cid = run_d(bb, "--name", "rs", "busybox", "sleep", "1000")
    st1 = state(bb, "rs")
    p = bb.cmd("restart", "-t", "1", "rs", timeout=30)
    assert p.returncode == 0 and p.stdout == "rs\n", describe(p)
    st2 = state(bb, "rs")
    assert st2["Running"] is True and st2["Pid"] != st1["Pid"] and alive(st2["Pid"]), (st1, st2)
    assert st2["StartedAt"] > st1["StartedAt"], (st1, st2)
    assert not alive(st1["Pid"])
    assert len(monitors_of(bb, cid)) == 1
    assert inspect(bb, "rs")["RestartCount"] == 0
    no_such(bb.cmd("restart", "nosuch"), "nosuch")
    bb.ok("rm", "-f", "rs")
    assert_nothing_left(bb, [st1["Pid"], st2["Pid"]])


def test_restart_time_honoured(bb, capsys):
    """-t N: SIGTERM, then SIGKILL after N s; a container that ignores SIGTERM takes N s."""
    run_d(bb, "--name", "deaf", "busybox", *DEAF)
    wait_for(lambda: logs(bb, "deaf") == "ready\n", what="ready")
    t0 = time.monotonic()
    p = bb.cmd("restart", "-t", "1", "deaf", timeout=30)
    took = time.monotonic() - t0
    say(capsys, f"restart -t 1 of a container that ignores SIGTERM: {took:.2f} s")
    assert p.returncode == 0 and p.stdout == "deaf\n", describe(p)
    assert 1.0 <= took < 5, took
    t0 = time.monotonic()
    p = bb.cmd("restart", "-t", "0", "deaf", timeout=30)
    took = time.monotonic() - t0
    say(capsys, f"restart -t 0: {took:.2f} s")
    assert p.returncode == 0 and took < 1.0, (took, describe(p))
    assert state(bb, "deaf")["Running"] is True
    bb.ok("rm", "-f", "deaf")


def test_restart_signal_flag(bb):
    run_d(bb, "--name", "sig", "busybox", "sh", "-c",
          'trap "echo got-USR1; exit 0" USR1; echo ready; while :; do sleep 0.1; done')
    wait_for(lambda: "ready" in logs(bb, "sig"), what="ready")
    p = bb.cmd("restart", "-s", "USR1", "-t", "5", "sig", timeout=30)
    assert p.returncode == 0 and p.stdout == "sig\n", describe(p)
    wait_for(lambda: logs(bb, "sig").count("ready") == 2, what="ready again")
    assert "got-USR1" in logs(bb, "sig")
    p = bb.cmd("restart", "-s", "NOPE", "sig")
    assert p.returncode == 125 and "invalid signal" in p.stderr, describe(p)
    bb.ok("rm", "-f", "sig")


def test_restart_created_and_exited(bb):
    create(bb, "--name", "cr", "busybox", "sleep", "1000")
    run_d(bb, "--name", "ex", "busybox", "true")
    wait_for(lambda: status_is(bb, "ex", "exited"), what="exited")
    p = bb.cmd("restart", "cr", "ex", timeout=30)
    assert p.returncode == 0 and p.stdout == "cr\nex\n", describe(p)
    assert state(bb, "cr")["Running"] is True
    bb.ok("rm", "-f", "cr", "ex")
    assert_nothing_left(bb)


def test_restart_keeps_an_rm_container(bb):
    """docker: restart of a --rm container stops it without removing it, then starts it."""
    cid = run_d(bb, "--rm", "--name", "keep", "busybox", "sleep", "1000")
    pid = state(bb, "keep")["Pid"]
    p = bb.cmd("restart", "-t", "0", "keep", timeout=30)
    assert p.returncode == 0 and p.stdout == "keep\n", describe(p)
    st = state(bb, "keep")
    assert st["Running"] is True and st["Pid"] != pid, st
    # its next end removes it, as --rm says
    p = bb.cmd("stop", "-t", "0", "keep", timeout=30)
    assert p.returncode == 0, describe(p)
    wait_for(lambda: bb.containers() == [], timeout=20, what=f"{cid[:12]} removed")
    assert_nothing_left(bb, [pid, st["Pid"]])


# --------------------------------------------------------------------------
# restart policies


def test_on_failure_2_restarts_twice(bb, capsys):
    cid = run_d(bb, "--name", "of2", "--restart", "on-failure:2", "busybox", *uptime_then(3))
    st = wait_for(lambda: (lambda s: s if s["Status"] == "exited" and
                           inspect(bb, "of2")["RestartCount"] == 2 else None)(state(bb, "of2")),
                  what="exited after 2 restarts")
    assert st["ExitCode"] == 3 and st["Restarting"] is False, st
    times = uptimes(bb, "of2")
    say(capsys, f"on-failure:2 on exit 3: runs at +{gaps(times)} s apart (docker: 100, 200 ms "
                "back-off)")
    assert len(times) == 3, times
    assert re.match(r"Exited \(3\) ", ps_row(bb, "of2")["Status"])
    # no third restart comes
    time.sleep(0.6)
    assert len(uptimes(bb, "of2")) == 3 and inspect(bb, "of2")["RestartCount"] == 2
    assert_stopped_clean(bb, cid)
    # a start by the user resets the count (docker's restart manager)
    bb.ok("start", "of2")
    wait_for(lambda: len(uptimes(bb, "of2")) == 6 and status_is(bb, "of2", "exited"),
             what="3 more runs")
    assert inspect(bb, "of2")["RestartCount"] == 2
    assert_stopped_clean(bb, cid)
    bb.ok("rm", "of2")


def test_on_failure_exit_0_is_not_restarted(bb):
    cid = run_d(bb, "--name", "ok0", "--restart", "on-failure", "busybox", *uptime_then(0))
    wait_for(lambda: status_is(bb, "ok0", "exited"), what="exited")
    time.sleep(0.4)
    assert len(uptimes(bb, "ok0")) == 1 and inspect(bb, "ok0")["RestartCount"] == 0
    assert_stopped_clean(bb, cid)
    bb.ok("rm", "ok0")


def test_always_restarts_after_exit_0_and_backoff_grows(bb, capsys):
    cid = run_d(bb, "--name", "al", "--restart", "always", "busybox", *uptime_then(0))
    wait_for(lambda: len(uptimes(bb, "al")) >= 6, timeout=30, what="6 runs")
    times = uptimes(bb, "al")
    g = gaps(times)
    say(capsys, f"always on exit 0: gaps between runs {g} s (docker here: 0.22 0.34 0.54 0.91 "
                "1.72 3.34)")
    # docker's back-off: 100 ms doubled at each restart
    assert all(b > a for a, b in zip(g[:5], g[1:5])), g
    assert g[0] >= 0.1 and g[3] >= 0.8, g
    assert inspect(bb, "al")["RestartCount"] >= 5
    # between two runs: docker's "restarting" (Running true, Pid 0), ps "Restarting (0) ..."
    st = wait_for(lambda: status_is(bb, "al", "restarting"), timeout=10, what="restarting")
    assert st["Restarting"] is True and st["Running"] is True and st["Pid"] == 0, st
    row = ps_row(bb, "al")
    assert re.match(r"(Restarting \(0\) .* ago|Up )", row["Status"]), row
    # stop ends the loop, at once though the back-off is long now
    t0 = time.monotonic()
    p = bb.cmd("stop", "al", timeout=30)
    took = time.monotonic() - t0
    say(capsys, f"stop of a restarting container: {took * 1000:.0f} ms")
    assert p.returncode == 0 and p.stdout == "al\n" and took < 2, (took, describe(p))
    st = state(bb, "al")
    assert st["Status"] == "exited" and st["Restarting"] is False, st
    n = inspect(bb, "al")["RestartCount"]
    assert_stopped_clean(bb, cid)
    time.sleep(0.5)
    assert inspect(bb, "al")["RestartCount"] == n and state(bb, "al")["Status"] == "exited"
    assert record(bb, cid)["state"]["stoppedByUser"] is True
    bb.ok("rm", "al")


def test_backoff_resets_after_10s_up(bb, capsys):
    """docker: a run that lasted 10 s brings the back-off back to 100 ms."""
    cid = run_d(bb, "--name", "reset", "--restart", "always", "busybox", "sh", "-c",
                'n=$(($(cat /n 2>/dev/null || echo 0) + 1)); echo $n >/n; '
                '[ $n -eq 4 ] && sleep 10.5; [ $n -ge 6 ] && exec sleep 1000; exit 1')
    delays = []

    def seen():
        st = record(bb, cid)["state"]
        if st["status"] == "restarting" and (not delays or delays[-1][0] != st["restartCount"]):
            delays.append((st["restartCount"], st["restartDelayMs"]))
        return state(bb, "reset")["Status"] == "running" and st["restartCount"] == 5
    wait_for(seen, timeout=40, what="the 6th run", interval=0.01)
    say(capsys, f"restart count, back-off (ms): {delays}")
    d = dict(delays)
    assert d[1] == 100 and d[2] == 200 and d[3] == 400, delays
    assert d[4] == 100, delays  # run 4 lasted 10.5 s
    assert d.get(5, 200) == 200, delays
    bb.ok("rm", "-f", "reset")
    assert_nothing_left(bb)


@pytest.mark.parametrize("policy", ["always", "unless-stopped", "on-failure"])
def test_stop_of_a_running_container_is_not_restarted(bb, policy):
    cid = run_d(bb, "--name", "svc", "--restart", policy, "busybox", "sleep", "1000")
    p = bb.cmd("stop", "-t", "1", "svc", timeout=30)
    assert p.returncode == 0 and p.stdout == "svc\n", describe(p)
    st = state(bb, "svc")
    # sleep as the init ignores SIGTERM: the SIGKILL after 1 s (docker: 137 too)
    assert st["Status"] == "exited" and st["ExitCode"] == 137, st
    assert_stopped_clean(bb, cid)
    time.sleep(0.4)
    assert state(bb, "svc")["Status"] == "exited" and inspect(bb, "svc")["RestartCount"] == 0
    # start brings the policy back
    bb.ok("start", "svc")
    assert record(bb, cid)["state"]["stoppedByUser"] is False
    pid = state(bb, "svc")["Pid"]
    os.kill(pid, signal.SIGKILL)  # not the user's stop: a failure (137)
    st = wait_for(lambda: (lambda s: s if s["Running"] and s["Pid"] not in (0, pid) else None)(
        state(bb, "svc")), what="restarted after its process was killed")
    assert inspect(bb, "svc")["RestartCount"] == 1
    bb.ok("rm", "-f", "svc")
    assert_nothing_left(bb, [pid, st["Pid"]])


def test_kill_by_the_user_is_not_restarted(bb):
    """docker: a kill (any signal, the image having no StopSignal) ends the policy's loop: the
    container's own exit after it is not restarted."""
    cid = run_d(bb, "--name", "kk", "--restart", "always", "busybox", "sh", "-c",
                'trap "echo usr1" USR1; echo ready; sleep 1; exit 1')
    wait_for(lambda: "ready" in logs(bb, "kk"), what="ready")
    p = bb.cmd("kill", "-s", "USR1", "kk")
    assert p.returncode == 0 and p.stdout == "kk\n", describe(p)
    st = wait_for(lambda: status_is(bb, "kk", "exited"), what="exited")
    assert st["ExitCode"] == 1, st
    time.sleep(0.4)
    assert inspect(bb, "kk")["RestartCount"] == 0 and state(bb, "kk")["Status"] == "exited"
    assert_stopped_clean(bb, cid)
    bb.ok("rm", "kk")


def wait_restarting_long(e, name, delay_ms=800):
    """Until the container is in a back-off of at least delay_ms."""
    def long_backoff():
        st = state(e, name)
        cid = inspect(e, name)["Id"]
        return (st["Status"] == "restarting" and
                record(e, cid)["state"]["restartDelayMs"] >= delay_ms)
    wait_for(long_backoff, timeout=30, what=f"{name} restarting with a long back-off")


def test_kill_and_stop_of_a_restarting_container(bb):
    run_d(bb, "--name", "loop", "--restart", "always", "busybox", "sh", "-c", "exit 2")
    wait_restarting_long(bb, "loop")
    p = bb.cmd("kill", "loop")
    assert p.returncode == 0 and p.stdout == "loop\n", describe(p)
    st = wait_for(lambda: status_is(bb, "loop", "exited"), timeout=5, what="exited")
    assert st["ExitCode"] == 2, st
    bb.ok("start", "loop")
    wait_restarting_long(bb, "loop", 400)
    t0 = time.monotonic()
    p = bb.cmd("stop", "loop", timeout=30)
    assert p.returncode == 0 and time.monotonic() - t0 < 2, describe(p)
    assert state(bb, "loop")["Status"] == "exited"
    cid = inspect(bb, "loop")["Id"]
    assert_stopped_clean(bb, cid)
    bb.ok("rm", "loop")


def test_rm_f_of_a_restarting_container(bb):
    cid = run_d(bb, "--name", "rmloop", "--restart", "on-failure", "busybox", "sh", "-c",
                "sleep 0.05; exit 1")
    wait_restarting_long(bb, "rmloop", 400)
    p = bb.cmd("rm", "rmloop")
    assert p.returncode == 1 and "restarting" in p.stderr, describe(p)
    mon = monitors_of(bb, cid)
    p = bb.cmd("rm", "-f", "rmloop", timeout=30)
    assert p.returncode == 0 and p.stdout == "rmloop\n", describe(p)
    # its monitor notices the record is gone, and ends
    wait_for(lambda: not bb.monitors(), timeout=5, what="the monitor gone")
    assert_nothing_left(bb, mon)


def test_rm_f_at_any_moment_of_the_loop(bb):
    """rm -f while the monitor is between two runs, starting one, or the container runs: nothing
    is left (no mount made after rm's unmount, no runtime state)."""
    for i, delay in enumerate([0.05, 0.1, 0.12, 0.15, 0.2, 0.25, 0.3]):
        run_d(bb, "--name", f"m{i}", "--restart", "always", "busybox", "sh", "-c", "exit 1")
        time.sleep(delay)
        p = bb.cmd("rm", "-f", f"m{i}", timeout=30)
        assert p.returncode == 0, describe(p)
    wait_for(lambda: not bb.monitors(), timeout=10, what="every monitor gone")
    assert_nothing_left(bb)


def test_wait_returns_at_each_end(bb):
    """docker: wait returns when a run ends, though the policy starts the next."""
    run_d(bb, "--name", "wt", "--restart", "on-failure:1", "busybox", "sh", "-c",
          "sleep 0.3; exit 3")
    p = bb.cmd("wait", "wt", timeout=30)
    assert p.returncode == 0 and p.stdout == "3\n", describe(p)
    wait_for(lambda: status_is(bb, "wt", "exited") and inspect(bb, "wt")["RestartCount"] == 1,
             what="exited after its restart")
    p = bb.cmd("wait", "wt", timeout=30)
    assert p.returncode == 0 and p.stdout == "3\n", describe(p)
    bb.ok("rm", "wt")


def test_foreground_run_with_a_policy(bb):
    """docker: run (not -d) with a policy returns the first run's code; the container goes on
    under the policy."""
    p = bb.cmd("run", "--name", "fg", "--restart", "on-failure:1", "busybox", "sh", "-c",
               "echo hello; exit 2", timeout=60)
    assert p.returncode == 2 and p.stdout == "hello\n", describe(p)
    wait_for(lambda: inspect(bb, "fg")["RestartCount"] == 1 and status_is(bb, "fg", "exited"),
             what="restarted once")
    assert logs(bb, "fg") == "hello\nhello\n"
    cid = inspect(bb, "fg")["Id"]
    assert_stopped_clean(bb, cid)
    bb.ok("rm", "fg")


def test_restart_count_and_ps_status_while_restarting(bb):
    cid = run_d(bb, "--name", "cnt", "--restart", "always", "busybox", "sh", "-c", "exit 5")
    wait_restarting_long(bb, "cnt", 400)
    c = inspect(bb, "cnt")
    assert c["RestartCount"] >= 3 and c["State"]["ExitCode"] == 5, c
    rec = record(bb, cid)
    assert rec["state"]["status"] == "restarting", rec
    row = ps_row(bb, "cnt")
    assert re.match(r"Restarting \(5\) .* ago$", row["Status"]), row
    # ps without -a lists it (docker: restarting counts as running)
    assert cid[:12] in bb.ok("ps", "-q").split()
    bb.ok("rm", "-f", "cnt")
    wait_for(lambda: not bb.monitors(), timeout=5, what="the monitor gone")
    assert_nothing_left(bb)


# --------------------------------------------------------------------------
# after a reboot


UNIT_IN = REPO / "contrib" / "systemd" / "berth-restart.service.in"


def unit_text(bindir, root="/var/lib/berth"):
    return UNIT_IN.read_text().replace("@BINDIR@", str(bindir)).replace("@ROOT@", str(root))


def exec_start(e):
    """The unit's ExecStart, for this engine's store (--root after the binary)."""
    line = next(l for l in unit_text(Path(e.argv[0]).parent).splitlines()
                if l.startswith("ExecStart="))
    argv = shlex.split(line[len("ExecStart="):])
    return [argv[0], "--root", str(e.root), *argv[1:]]


def kill_everything(e):
    """What a power loss does to the engine's processes: every monitor, then every process of
    its containers, with SIGKILL."""
    e._note_ids()
    for pid in e.monitors():
        os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not e.monitors(), timeout=10, what="every monitor dead")
    for _ in range(3):
        for pid in cgroup_pids(e.ids):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.05)
    wait_for(lambda: not cgroup_pids(e.ids), timeout=10, what="every container process dead")
    reap_orphans()


def test_reboot_simulation(bb, capsys):
    """Every monitor and container process killed with SIGKILL, then the unit's command:
    the containers docker's daemon would restart run again, each under its monitor; the others
    are finished cleanly (exit 255 for those that were running), --rm ones removed, nothing
    leaks."""
    ids = {}
    for p in ("no", "always", "unless-stopped", "on-failure"):
        ids[f"r-{p}"] = run_d(bb, "--name", f"r-{p}", "--restart", p, "busybox", "sleep", "1000")
    for p in ("always", "unless-stopped"):
        ids[f"stopped-{p}"] = run_d(bb, "--name", f"stopped-{p}", "--restart", p,
                                    "busybox", "sleep", "1000")
        bb.ok("stop", "-t", "0", f"stopped-{p}")
    # fails twice (a restart), then its third run (after the reboot) lasts
    ids["failed-of"] = run_d(bb, "--name", "failed-of", "--restart", "on-failure:1",
                             "busybox", "sh", "-c", 'n=$(($(cat /n 2>/dev/null || echo 0) + 1)); '
                             'echo $n >/n; [ $n -ge 3 ] && exec sleep 1000; exit 3')
    ids["exit0-of"] = run_d(bb, "--name", "exit0-of", "--restart", "on-failure", "busybox", "true")
    ids["loop"] = run_d(bb, "--name", "loop", "--restart", "always", "busybox", "sh", "-c",
                        "exit 1")
    ids["rm"] = run_d(bb, "--rm", "--name", "rm", "busybox", "sleep", "1000")
    ids["created"] = create(bb, "--name", "created", "--restart", "always", "busybox", "true")
    wait_for(lambda: status_is(bb, "failed-of", "exited") and
             inspect(bb, "failed-of")["RestartCount"] == 1, what="failed-of done")
    wait_for(lambda: status_is(bb, "exit0-of", "exited"), what="exit0-of done")
    wait_restarting_long(bb, "loop", 200)
    old = {n: state(bb, n)["Pid"] for n in ids if n != "created"}

    kill_everything(bb)
    # what the crash leaves: records saying running, with dead pids; ps tells the truth
    for n in ("r-no", "r-always", "rm"):
        st = state(bb, n)
        assert st["Running"] is False and st["ExitCode"] == 255, (n, st)

    t0 = time.monotonic()
    argv = exec_start(bb)
    p = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL, env=bb.env)
    took = time.monotonic() - t0
    reap_orphans()
    bb._note_ids()
    say(capsys, f"{' '.join(argv[:1] + argv[3:])}: {took * 1000:.0f} ms, started "
                f"{p.stdout.split()}")
    assert p.returncode == 0, describe(p)
    started = sorted(p.stdout.split())
    want = sorted(["r-always", "r-unless-stopped", "r-on-failure", "stopped-always",
                   "failed-of", "loop"])
    assert started == want, describe(p)
    for n in want:
        st = state(bb, n)
        assert st["Running"] is True, (n, st)
        # (one monitor each; the loop's is between two of its stages now and then: an exec,
        # when /proc/PID/cmdline reads empty for a moment, longer under ASan)
        wait_for(lambda: len(monitors_of(bb, ids[n])) == 1, timeout=10,
                 what=f"one monitor for {n}")
        if n != "loop":  # that one goes on failing, restarted by its monitor
            assert alive(st["Pid"]) and inspect(bb, n)["RestartCount"] == 0, (n, st)
    # the others: exited, nothing of theirs left; --rm removed; created stays created
    for n in ("r-no", "stopped-unless-stopped", "exit0-of"):
        st = state(bb, n)
        assert st["Status"] == "exited", (n, st)
        assert_stopped_clean(bb, ids[n])
    assert state(bb, "r-no")["ExitCode"] == 255
    assert state(bb, "created")["Status"] == "created"
    assert ids["rm"] not in bb.containers()
    # once more: nothing to do (the running ones stay as they are)
    pids = {n: state(bb, n)["Pid"] for n in want if n != "loop"}
    p = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL, env=bb.env)
    assert p.returncode == 0 and p.stdout == "", describe(p)
    assert all(state(bb, n)["Pid"] == pid for n, pid in pids.items())
    p = bb.cmd("rm", "-f", *ids.keys() - {"rm"}, timeout=120)
    assert p.returncode == 0, describe(p)
    wait_for(lambda: not bb.monitors(), timeout=10, what="every monitor gone")
    assert_nothing_left(bb, list(old.values()) + list(pids.values()))


def test_reboot_monitor_killed_container_alive(bb):
    """A container whose monitor died but whose process runs (no one writes its log or records
    its end): killed and started again under a new monitor, as dockerd's restore does without
    live-restore; a foreground run's container is left to its `berth run`."""
    cid = run_d(bb, "--name", "orphan", "--restart", "always", "busybox", "sleep", "1000")
    pid = state(bb, "orphan")["Pid"]
    for m in monitors_of(bb, cid):
        os.kill(m, signal.SIGKILL)
    wait_for(lambda: not bb.monitors(), timeout=10, what="the monitor dead")
    fg = bb.popen("run", "--name", "fg", "busybox", "sleep", "1000")
    wait_for(lambda: (ps_row(bb, "fg") or {}).get("State") == "running", what="fg running")
    fgpid = state(bb, "fg")["Pid"]
    p = bb.cmd("start", "--all-restart", timeout=60)
    assert p.returncode == 0 and p.stdout == "orphan\n", describe(p)
    st = state(bb, "orphan")
    assert st["Running"] and st["Pid"] != pid and not alive(pid), st
    assert len(monitors_of(bb, cid)) == 1
    assert alive(fgpid) and state(bb, "fg")["Pid"] == fgpid
    bb.ok("rm", "-f", "orphan", "fg")
    fg.wait(timeout=20)
    wait_for(lambda: not bb.monitors(), timeout=10, what="every monitor gone")
    assert_nothing_left(bb, [pid, fgpid])


def test_start_all_restart_takes_no_names(bb):
    p = bb.cmd("start", "--all-restart", "x")
    assert p.returncode == 125 and "takes no container" in p.stderr, describe(p)
    p = bb.cmd("start")
    assert p.returncode == 125 and "requires at least 1 argument" in p.stderr, describe(p)
    p = bb.cmd("start", "--all-restart")
    assert p.returncode == 0 and p.stdout == "", describe(p)


def test_systemd_unit_verifies(bb, workdir):
    """contrib/systemd/berth-restart.service: what `systemd-analyze verify` says of it, with the
    built berth as its ExecStart."""
    tool = shutil.which("systemd-analyze")
    if not tool:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    unit = workdir.path / "berth-restart.service"
    unit.write_text(unit_text(Path(bb.argv[0]).parent))
    p = subprocess.run([tool, "verify", "--man=no", str(unit)], capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0 and p.stderr.strip() == "", describe(p)
    text = unit.read_text()
    assert "Type=oneshot" in text and "After=local-fs.target" in text
    assert re.search(r"^ExecStart=\S+/berth start --all-restart$", text, re.M), text


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
    pids = list(bb.monitors())
    for c in left:
        st = state(bb, c)
        if st["Running"]:
            assert st["Pid"] > 0 and alive(st["Pid"]), (c, st)
            pids.append(st["Pid"])
        else:
            assert st["Status"] in ("created", "exited", "dead"), (c, st)
    for c in left:
        r = bb.cmd("rm", "-f", c, timeout=30)
        assert r.returncode == 0, describe(r)
    wait_for(lambda: not bb.monitors(), timeout=10, what="every monitor gone")
    assert_nothing_left(bb, pids)
    cid = run_d(bb, "--rm", "busybox", "true")
    wait_for(lambda: bb.containers() == [], timeout=20, what=f"{cid[:12]} removed")


@pytest.mark.parametrize("first", ["created", "exited"])
def test_kill_cli_during_start_then_rm_f(bb, first):
    for i, delay in enumerate(DELAYS):
        if first == "created":
            create(bb, "--name", f"crash{i}", "busybox", "sleep", "100")
        else:
            run_d(bb, "--name", f"crash{i}", "busybox", "sleep", "100")
            bb.ok("stop", "-t", "0", f"crash{i}")
        p = bb.popen("start", f"crash{i}")
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
    time.sleep(1)  # monitors that were started finish starting their containers
    # what is left can be started (again): a crash's leftovers do not stand in the way
    for i in range(len(DELAYS)):
        p = bb.cmd("start", f"crash{i}", timeout=60)
        assert p.returncode == 0, describe(p)
        assert state(bb, f"crash{i}")["Running"] is True
    _check_truthful_then_rm_f(bb)


def test_kill_cli_and_monitor_during_start_then_rm_f(bb):
    for i, delay in enumerate(DELAYS + [0.5]):
        create(bb, "--name", f"crash{i}", "--restart", "always", "busybox", "sleep", "100")
        p = bb.popen("start", f"crash{i}")
        time.sleep(delay)
        for pid in bb.monitors():
            os.kill(pid, signal.SIGKILL)
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)
        for pid in bb.monitors():
            os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not bb.monitors(), timeout=10, what="every monitor dead")
    _check_truthful_then_rm_f(bb)
