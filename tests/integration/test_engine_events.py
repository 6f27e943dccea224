"""berth events (issue 11): the engine's journal of container events, docker's output.

Daemonless: each event is one JSON line appended (O_APPEND, one write) to ROOT/events.log, in
the form of docker's events API; before a write would take the file past 1 MiB it is renamed
events.log.1 (one old file kept).  `berth events` prints them as docker does:

  2026-12-07T21:00:00.123456789Z container kill ID (image=busybox, name=x, signal=15)

--format json: docker's object (status, id, from, Type, Action, Actor {ID, Attributes}, scope,
time, timeNano); a template sees docker's Go field names ({{.ID}}, {{.Action}},
{{.Actor.Attributes.name}}).  Without --since/--until only new events, followed until
interrupted; --since replays the journal first; --until in the past stops after the journal,
in the future follows until then.  Filters as docker's: container= (id or name prefix),
event=, image= (with or without its tag), type=, label=, scope=.

The engine emits create, kill (signal), stop, pause, unpause, rename (oldName) and destroy here;
start, die (exitCode) and oom come from the monitor (asserted when present: another part of
issue 11).  Every test ends with the leak guard (conftest.py).
"""

import json
import os
import re
import subprocess
import time

import select

from conftest import describe
from engine_util import bb, run_d, TRAP  # noqa: F401 (bb: a fixture)

# docker's text line: time (RFC3339NanoFixed, local zone), type, action, id, attributes
LINE = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}(?:Z|[+-]\d\d:\d\d)) container "
                  r"(\S+) ([0-9a-f]{64}) \((.*)\)$")


def now():
    """--until now, to the microsecond (a duration such as 0s is cut to whole seconds, as
    docker's: the events of this second would be left out)."""
    return f"{time.time():.6f}"


def journal(e, *args):
    """The journal's events as `events --since 0 --until NOW --format json` prints them."""
    return e.json_lines("events", "--since", "0", "--until", now(), "--format", "json", *args)


def actions(evs, cid=None):
    return [ev["Action"] for ev in evs if cid is None or ev["id"] == cid]


def is_subsequence(want, got):
    it = iter(got)
    return all(any(w == g for g in it) for w in want)


def read_lines(p, n=None, until=None, timeout=20):
    """Lines from a Popen's stdout (select on the pipe): n of them, or up to the first for which
    until(line) is true."""
    out, buf = [], b""
    deadline = time.monotonic() + timeout
    fd = p.stdout.fileno()
    while (n is None or len(out) < n) and not (until and out and until(out[-1])):
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"only {out} after {timeout}s")
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            raise AssertionError(f"EOF after {out}")
        buf += chunk
        while b"\n" in buf and (n is None or len(out) < n) and not (until and out and
                                                                  until(out[-1])):
            line, buf = buf.split(b"\n", 1)
            out.append(line.decode())
    return out


def stop_popen(p):
    p.terminate()
    try:
        p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    for s in (p.stdout, p.stderr):
        if s:
            s.close()


# --------------------------------------------------------------------------


def test_events_of_each_command(bb):
    cid = run_d(bb, "--name", "ev1", "busybox", *TRAP)
    bb.ok("pause", "ev1")
    bb.ok("unpause", "ev1")
    bb.ok("rename", "ev1", "ev2")
    bb.ok("kill", "-s", "USR1", "ev2")  # busybox sh: ends it (no handler): exit 138
    bb.ok("rm", "-f", "ev2")
    c2 = run_d(bb, "--name", "ev3", "busybox", *TRAP)
    bb.ok("pause", "ev3")
    bb.ok("stop", "ev3")
    bb.ok("rm", "-f", "ev3")
    c3 = run_d(bb, "--name", "ev4", "busybox", *TRAP)
    bb.ok("rm", "-f", "ev4")

    evs = journal(bb)
    mine = actions(evs, cid)
    assert is_subsequence(["create", "pause", "unpause", "rename", "kill", "destroy"], mine), mine
    for a in ("create", "pause", "unpause", "rename", "destroy"):
        assert mine.count(a) == 1, mine
    by = {}
    for ev in evs:  # the first of each
        by.setdefault((ev["id"], ev["Action"]), ev)
    assert by[(cid, "rename")]["Actor"]["Attributes"] == {
        "image": "busybox", "name": "ev2", "oldName": "/ev1"}
    assert by[(cid, "pause")]["Actor"]["Attributes"] == {"image": "busybox", "name": "ev1"}
    assert by[(cid, "kill")]["Actor"]["Attributes"]["signal"] == "10"
    assert by[(cid, "destroy")]["Actor"]["Attributes"]["name"] == "ev2"
    # stop: the stop signal as a kill, the thaw of a paused one as docker's unpause, then (after
    # the end is recorded) stop
    assert is_subsequence(["create", "pause", "kill", "unpause", "stop", "destroy"],
                          actions(evs, c2)), evs
    assert by[(c2, "kill")]["Actor"]["Attributes"]["signal"] == "15"
    # rm -f of a running container: a kill with SIGKILL, then destroy
    assert is_subsequence(["create", "kill", "destroy"], actions(evs, c3))
    assert by[(c3, "kill")]["Actor"]["Attributes"]["signal"] == "9"
    # the monitor's: start after create, die with the exit code before destroy (rm -f waits for
    # the end to be recorded, as docker's)
    assert is_subsequence(["create", "start", "die", "destroy"], mine), mine
    # USR1 ends it (138), unless rm -f's SIGKILL got there first (137), as with docker
    assert by[(cid, "die")]["Actor"]["Attributes"]["exitCode"] in ("138", "137")
    # the journal is ordered by time
    times = [ev["timeNano"] for ev in evs]
    assert times == sorted(times)


def test_events_json_and_text(bb):
    cid = run_d(bb, "--name", "fmt", "busybox", *TRAP)
    bb.ok("pause", "fmt")
    evs = journal(bb)
    ev = [e for e in evs if e["Action"] == "pause"][0]
    assert list(ev) == ["status", "id", "from", "Type", "Action", "Actor", "scope", "time",
                        "timeNano"], ev
    assert ev["status"] == "pause" and ev["id"] == cid and ev["from"] == "busybox", ev
    assert ev["Type"] == "container" and ev["scope"] == "local", ev
    assert ev["Actor"] == {"ID": cid, "Attributes": {"image": "busybox", "name": "fmt"}}, ev
    assert isinstance(ev["timeNano"], int) and ev["time"] == ev["timeNano"] // 10**9, ev
    assert abs(ev["time"] - time.time()) < 60, ev

    text = bb.ok("events", "--since", "0", "--until", now()).splitlines()
    assert len(text) == len(evs), text
    for line, e in zip(text, evs):
        m = LINE.match(line)
        assert m and m.group(2) == e["Action"] and m.group(3) == e["id"], line
        attrs = ", ".join(f"{k}={v}" for k, v in sorted(e["Actor"]["Attributes"].items()))
        assert m.group(4) == attrs, line
        assert f".{e['timeNano'] % 10**9:09d}" in m.group(1), line
    assert f"container pause {cid} (image=busybox, name=fmt)" in "\n".join(text)

    t = bb.ok("events", "--since", "0", "--until", now(), "--format",
              "{{.ID}} {{.Status}} {{.Action}} {{.Actor.Attributes.name}} {{.Type}} {{.Scope}}",
              "--filter", "event=pause").splitlines()
    assert t == [f"{cid} pause pause fmt container local"], t
    assert bb.json_lines("events", "--since", "0", "--until", now(), "--format", "{{json .}}") \
        == evs
    bb.ok("rm", "-f", cid)


def test_events_filters(bb):
    a = run_d(bb, "--name", "fa", "busybox", *TRAP)
    b = run_d(bb, "--name", "fb", "busybox", *TRAP)
    bb.ok("pause", "fa", "fb")
    bb.ok("unpause", "fa")

    def ids(*f):
        args = [x for v in f for x in ("-f", v)]
        return [(ev["id"], ev["Action"]) for ev in journal(bb, *args)
                if ev["Action"] in ("pause", "unpause")]

    assert ids("container=fa") == [(a, "pause"), (a, "unpause")]
    assert ids(f"container={b[:8]}") == [(b, "pause")]
    # a prefix (`pause fa fb` pauses both at once: in either order)
    assert sorted(ids("container=f")) == sorted([(a, "pause"), (b, "pause"), (a, "unpause")])
    assert ids("event=unpause") == [(a, "unpause")]
    assert ids("event=pause", "event=unpause", "container=fb") == [(b, "pause")]
    assert len(ids("image=busybox")) == 3
    assert len(ids("image=busybox:latest")) == 0  # docker: the tag is stripped from the event
    assert ids("image=nope") == []
    assert len(ids("type=container")) == 3 and ids("type=image") == []
    assert len(ids("scope=local")) == 3
    assert ids("label=name=fb") == [(b, "pause")]  # labels are matched among the attributes
    assert ids("label=nolabel") == []

    p = bb.cmd("events", "--until", now(), "-f", "bogus=1")
    assert p.returncode == 1 and p.stderr == "berth: Invalid filter 'bogus'\n", describe(p)
    p = bb.cmd("events", "--until", now(), "-f", "bogus")
    assert p.returncode == 125 and "bad format of filter" in p.stderr, describe(p)
    p = bb.cmd("events", "--since", "yesterday")
    assert p.returncode == 125 and 'invalid value for "since"' in p.stderr, describe(p)
    bb.ok("rm", "-f", a, b)


def test_events_since_until(bb):
    a = run_d(bb, "--name", "early", "busybox", *TRAP)
    time.sleep(1.1)
    mid = time.time()
    time.sleep(0.1)
    bb.ok("pause", "early")
    late = time.time() + 0.05

    assert actions(journal(bb, "--since", f"{mid:.3f}")) == ["pause"]
    evs = bb.json_lines("events", "--since", "0", "--until", f"{mid:.3f}", "--format", "json")
    assert [a for a in actions(evs) if a != "start"] == ["create"], evs
    # an RFC 3339 time and a duration
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(mid - 1)) + "Z"
    assert "pause" in actions(journal(bb, "--since", since))
    assert "pause" in actions(journal(bb, "--since", "1m"))

    # --until in the future: follows until then, then ends
    t = time.monotonic()
    p = bb.cmd("events", "--since", f"{late:.3f}", "--until", f"{time.time() + 1.5:.3f}",
               timeout=30)
    assert p.returncode == 0 and p.stdout == "", describe(p)
    assert 1.0 < time.monotonic() - t < 10
    bb.ok("rm", "-f", a)


def test_events_follow(bb):
    """Without --since: only what comes next, followed (inotify) until interrupted."""
    old = run_d(bb, "--name", "before", "busybox", *TRAP)
    p = bb.popen("events", "--format", "json")
    try:
        time.sleep(0.5)  # it has opened the journal
        bb.ok("pause", "before")
        cid = run_d(bb, "--name", "after", "busybox", *TRAP)
        bb.ok("rename", "after", "later")
        bb.ok("rm", "-f", "later")
        lines = [json.loads(x) for x in read_lines(p, until=lambda x: '"destroy"' in x)]
    finally:
        stop_popen(p)
    got = [(e["id"], e["Action"]) for e in lines]
    assert got[0] == (old, "pause"), got
    assert is_subsequence([(cid, "create"), (cid, "rename"), (cid, "kill"), (cid, "destroy")],
                          got[1:]), got
    assert (old, "create") not in got

    # --since: the journal first, then the new ones
    p = bb.popen("events", "--since", "0", "-f", "event=unpause", "-f", "event=pause")
    try:
        first = read_lines(p, 1)
        bb.ok("unpause", "before")
        second = read_lines(p, 1)
    finally:
        stop_popen(p)
    assert LINE.match(first[0]).group(2) == "pause", first
    assert LINE.match(second[0]).group(2) == "unpause", second
    bb.ok("rm", "-f", old)


def test_events_rotation(bb):
    """The journal is renamed events.log.1 past 1 MiB; a follower goes on in the new file, and
    --since reads both."""
    jl = bb.root / "events.log"
    cid = run_d(bb, "--name", "rot", "busybox", *TRAP)
    # fill the journal close to its bound with old events of another container
    filler = json.dumps({"status": "pause", "id": "f" * 64, "from": "x", "Type": "container",
                         "Action": "pause", "Actor": {"ID": "f" * 64, "Attributes": {}},
                         "scope": "local", "time": 1, "timeNano": 10**9}) + "\n"
    with open(jl, "a") as f:
        f.write(filler * ((1024 * 1024 - 200 - jl.stat().st_size) // len(filler)))
    p = bb.popen("events", "-f", f"container={cid}", "--format", "{{.Action}}")
    try:
        time.sleep(0.5)
        bb.ok("pause", "rot")      # still fits, or the one that rotates
        bb.ok("unpause", "rot")
        bb.ok("pause", "rot")
        assert read_lines(p, 3) == ["pause", "unpause", "pause"]
    finally:
        stop_popen(p)
    assert (bb.root / "events.log.1").exists()
    assert jl.stat().st_size < 4096, jl.stat().st_size
    assert (bb.root / "events.log.1").stat().st_size <= 1024 * 1024
    mine = [a for a in actions(journal(bb), cid) if a != "start"]
    assert mine == ["create", "pause", "unpause", "pause"], mine
    # a second rotation drops the oldest file
    with open(jl, "a") as f:
        f.write(filler * (1024 * 1024 // len(filler)))
    bb.ok("unpause", "rot")
    assert actions(journal(bb), cid)[-1] == "unpause"
    assert "create" not in actions(journal(bb), cid)
    bb.ok("rm", "-f", cid)
