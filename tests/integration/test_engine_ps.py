"""berth ps, inspect's State, pause/unpause and rename (issue 11), docker's way.

Docker is the reference (compared side by side with a private dockerd 20.10, client 28):

- `ps` STATUS is docker's State.String(): "Up 3 seconds", "Up 2 minutes (Paused)",
  "Up 1 second (healthy)", "(health: starting)", "Exited (3) 5 seconds ago", "Created" (also a
  container whose start failed), "Restarting (1) 2 seconds ago"; STATE its StateString().
- `ps` shows running (and paused) containers; -a, -n N, -l and a status filter show all states.
- filters as docker's daemon applies them: status, name and id (regular expressions, name with
  or without its leading /), exited (exited containers with that code), ancestor, before/since,
  label, health, is-task; the values of one key are alternatives, the keys all apply; docker's
  errors: `Invalid filter 'x'`, `Invalid filter 'status=x'`, `strconv.Atoi: ...` (the daemon's:
  exit 1) and `bad format of filter (expected name=value)` (the CLI's: exit 125).
- --format: "table", "table TEMPLATE" (docker's headers), "json", "raw", a template; -q with a
  --format warns and prints the ids; -s adds SIZE "0B (virtual 1.99MB)".
- inspect: docker's field order, State {Status, Running, Paused, Restarting, OOMKilled, Dead,
  Pid, ExitCode, Error, StartedAt, FinishedAt[, Health]}, "0001-01-01T00:00:00Z" for a time
  that never was, RestartCount; --type container|image, -s (SizeRw, SizeRootFs); a name that is
  nothing: "No such object: x", exit 1.
- pause/unpause print each argument; "Container ID is not running", "... is already paused",
  "... is not paused" (exit 1); a paused container is stopped, killed and removed as docker does
  (the signal, then a thaw).
- rename: docker's messages (two lines: the daemon's, then "failed to rename container named
  X"), exit 1; a running container keeps its new name after its end is recorded.

Every test ends with the leak guard (conftest.py).
"""

import json
import re
import time

from conftest import describe
from engine_util import bb, wait_for, run_d, inspect, state, TRAP  # noqa: F401 (bb: a fixture)

ZERO = "0001-01-01T00:00:00Z"


def rows(e, *args):
    return e.json_lines("ps", "--format", "json", *args)


def row(e, name):
    r = [x for x in rows(e, "-a") if x["Names"] == name]
    assert len(r) == 1, r
    return r[0]


def names(e, *args):
    return e.ok("ps", "--format", "{{.Names}}", *args).split()


def exited(e, what, timeout=30):
    return wait_for(lambda: state(e, what)["Status"] == "exited", timeout=timeout,
                    what=f"{what} exited")


def set_health(e, cid, health):
    """Writes a "health" object into a container's record, as the monitor's healthcheck does."""
    path = e.root / "containers" / cid / "container.json"
    rec = json.loads(path.read_text())
    rec["health"] = health
    path.write_text(json.dumps(rec))


# --------------------------------------------------------------------------
# ps: statuses


def test_ps_statuses(bb):
    up = run_d(bb, "--name", "up", "busybox", *TRAP)
    paused = run_d(bb, "--name", "frozen", "busybox", *TRAP)
    assert bb.ok("pause", "frozen") == "frozen\n"
    bb.cmd("run", "--name", "three", "busybox", "sh", "-c", "exit 3")
    p = bb.cmd("run", "--name", "failed", "busybox", "no-such-command")
    assert p.returncode == 127, describe(p)

    # running and paused only without -a
    assert sorted(names(bb)) == ["frozen", "up"]
    assert sorted(names(bb, "-a")) == ["failed", "frozen", "three", "up"]
    st = {r["Names"]: (r["State"], r["Status"]) for r in rows(bb, "-a")}
    assert st["up"][0] == "running" and re.fullmatch(
        r"Up (Less than a second|\d+ seconds?)", st["up"][1]), st
    assert st["frozen"][0] == "paused" and re.fullmatch(
        r"Up (Less than a second|\d+ seconds?) \(Paused\)", st["frozen"][1]), st
    assert st["three"][0] == "exited" and re.fullmatch(
        r"Exited \(3\) (Less than a second|\d+ seconds?) ago", st["three"][1]), st
    # docker: a start that failed leaves a "created" container, with the exit code
    assert st["failed"] == ("created", "Created"), st
    assert state(bb, "failed")["ExitCode"] == 127

    table = bb.ok("ps", "-a")
    head = table.splitlines()[0]
    assert re.fullmatch(r"CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES", head), table
    line = [ln for ln in table.splitlines() if ln.endswith(" frozen")][0]
    assert line.startswith(paused[:12] + "   busybox   \"sh -c 'trap \\\"exit 3…\"   "), table

    bb.ok("unpause", "frozen")
    assert row(bb, "frozen")["State"] == "running"
    bb.ok("rm", "-f", up, paused, "three", "failed")


def test_ps_health(bb):
    """The record's "health" (written by the monitor's healthcheck) in STATUS, after "Up"."""
    cid = run_d(bb, "--name", "doc", "busybox", *TRAP)
    for health, text in [("starting", "health: starting"), ("healthy", "healthy"),
                         ("unhealthy", "unhealthy")]:
        set_health(bb, cid, {"status": health, "failingStreak": 0, "log": []})
        r = row(bb, "doc")
        assert re.fullmatch(r"Up .* \(%s\)" % re.escape(text), r["Status"]), r
        assert r["State"] == "running", r
        assert names(bb, "-f", f"health={health}") == ["doc"]
    assert names(bb, "-f", "health=none") == []
    # paused wins over health, as docker's
    bb.ok("pause", "doc")
    assert row(bb, "doc")["Status"].endswith("(Paused)")
    bb.ok("rm", "-f", "doc")


# --------------------------------------------------------------------------
# ps: filters


def test_ps_filters(bb):
    a = run_d(bb, "--name", "alpha", "busybox", *TRAP)
    bb.cmd("run", "--name", "beta", "busybox", "sh", "-c", "exit 137")
    bb.ok("run", "--name", "gamma", "busybox", "true")
    d = run_d(bb, "--name", "delta", "busybox", *TRAP)
    bb.ok("pause", "delta")
    img = bb.image_inspect("busybox")["Id"]

    assert names(bb, "-a", "-f", "status=exited") == ["gamma", "beta"]
    # a status filter shows all states without -a; an exited one does not
    assert names(bb, "-f", "status=exited") == ["gamma", "beta"]
    assert names(bb, "-f", "exited=137") == []
    assert names(bb, "-a", "-f", "exited=137") == ["beta"]
    assert names(bb, "-a", "-f", "exited=0", "-f", "exited=137") == ["gamma", "beta"]
    assert names(bb, "-a", "-f", "status=running") == ["alpha"]
    assert names(bb, "-a", "-f", "status=paused") == ["delta"]
    assert names(bb, "-a", "-f", "status=running", "-f", "status=paused") == ["delta", "alpha"]
    # regular expressions, on the name with or without its /
    assert names(bb, "-a", "-f", "name=a$") == ["delta", "gamma", "beta", "alpha"]
    assert names(bb, "-a", "-f", "name=^/beta$") == ["beta"]
    assert names(bb, "-a", "-f", "name=^beta$") == ["beta"]
    assert names(bb, "-a", "-f", "name=[") == []  # does not compile: nothing
    assert names(bb, "-a", "-f", f"id={a[:5]}") == ["alpha"]
    # keys all apply
    assert names(bb, "-a", "-f", "name=a", "-f", "status=exited") == ["gamma", "beta"]
    assert names(bb, "-a", "-f", "status=running", "-f", "exited=137") == []
    # ancestor: by name, id, or nothing
    assert len(names(bb, "-a", "-f", "ancestor=busybox")) == 4
    assert len(names(bb, "-a", "-f", f"ancestor={img[7:19]}")) == 4
    assert names(bb, "-a", "-f", "ancestor=no-such-image") == []
    # before/since: by creation
    assert names(bb, "-a", "-f", "before=gamma") == ["beta", "alpha"]
    assert names(bb, "-a", "-f", "since=beta") == ["delta", "gamma"]
    assert names(bb, "-a", "-f", "since=beta", "-f", "before=delta") == ["gamma"]
    # berth's containers have no labels yet
    assert names(bb, "-a", "-f", "label=x") == []
    assert len(names(bb, "-a", "-f", "is-task=false")) == 4
    assert names(bb, "-a", "-f", "health=none") == ["delta", "gamma", "beta", "alpha"]

    for args, rc, msg in [
        (["-f", "status=bogus"], 1, "Invalid filter 'status=bogus'"),
        (["-f", "bogus=1"], 1, "Invalid filter 'bogus'"),
        (["-f", "exited=x"], 1, 'strconv.Atoi: parsing "x": invalid syntax'),
        (["-f", "before=nosuch"], 1, "no such container nosuch"),
        (["-f", "health=x"], 1, "Unrecognised filter value for health: x"),
        (["-f", "bogus"], 125,
         'invalid argument "bogus" for "-f, --filter" flag: bad format of filter '
         "(expected name=value)"),
    ]:
        p = bb.cmd("ps", "-a", *args)
        assert p.returncode == rc and p.stderr == f"berth: {msg}\n", describe(p)
        assert p.stdout == "", describe(p)
    bb.ok("rm", "-f", a, d, "beta", "gamma")


# --------------------------------------------------------------------------
# ps: output


def same_twice(first, second, tries=3):
    """first() == second(), for outputs with ages in them: "Less than a second ago" may turn into
    "1 second ago" between the two calls (seen under ASan), so a few tries."""
    for _ in range(tries - 1):
        if first() == second():
            return
    assert first() == second()


def test_ps_formats(bb):
    a = run_d(bb, "--name", "one", "busybox", *TRAP)
    bb.ok("run", "--name", "two", "busybox", "echo", "a b", 'x"y')

    assert bb.ok("ps", "-q") == a[:12] + "\n"
    assert bb.ok("ps", "-q", "--no-trunc") == a + "\n"
    assert names(bb, "-n", "1") == ["two"]
    assert names(bb, "-l") == ["two"]
    assert names(bb, "-n", "5") == ["two", "one"]
    p = bb.cmd("ps", "-n", "x")
    assert p.returncode == 125 and "-n, --last" in p.stderr, describe(p)

    r = row(bb, "two")
    assert list(r) == ["Command", "CreatedAt", "ID", "Image", "Labels", "LocalVolumes", "Mounts",
                       "Names", "Networks", "Ports", "RunningFor", "Size", "State", "Status"], r
    # docker: an argument with a space in single quotes, then Go-quoted
    assert r["Command"] == '"echo \'a b\' x\\"y"', r
    assert r["Image"] == "busybox" and r["Size"] == "0B", r
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} \w+", r["CreatedAt"]), r
    assert r["RunningFor"].endswith(" ago") and r["ID"] == r["ID"][:12], r
    same_twice(lambda: bb.json_lines("ps", "-a", "--format", "{{json .}}"),
               lambda: rows(bb, "-a"))

    t = bb.ok("ps", "-a", "--format", "table {{.ID}}\\t{{.Names}}\\t{{.State}}").splitlines()
    assert re.fullmatch(r"CONTAINER ID   NAMES     STATE", t[0]), t
    assert t[1:] == [f"{row(bb, 'two')['ID']}   two       exited",
                     f"{a[:12]}   one       running"], t
    same_twice(lambda: bb.ok("ps", "--format", "table"), lambda: bb.ok("ps"))
    assert bb.ok("ps", "--format", "{{.Names}}:{{.State}}") == "one:running\n"

    # -q wins over --format, with docker's warning
    p = bb.cmd("ps", "-q", "--format", "{{.Names}}")
    assert p.returncode == 0 and p.stdout == a[:12] + "\n", describe(p)
    assert p.stderr == ("berth: warning: Ignoring custom format, because both --format and "
                        "--quiet are set.\n"), describe(p)

    raw = bb.ok("ps", "--format", "raw")
    assert re.fullmatch(
        re.escape(f"container_id: {a[:12]}\nimage: busybox\ncommand: \"sh -c 'trap \\\"exit 3…\"\n"
                  f"created_at: {row(bb, 'one')['CreatedAt']}\nstate: running\n") +
        r"status: Up [^\n]+\nnames: one\nlabels:\nports:\n\n", raw), raw

    # -s: the upper dir's bytes, and with the image's
    bb.ok("run", "--name", "writer", "busybox", "sh", "-c", "head -c 5000 /dev/zero > /f")
    size = bb.image_inspect("busybox")["Size"]
    s = bb.ok("ps", "-a", "-s")
    assert s.splitlines()[0].endswith("NAMES     SIZE"), s
    w = bb.json_lines("ps", "-a", "-s", "--format", "json")
    sizes = {x["Names"]: x["Size"] for x in w}
    assert re.fullmatch(r"5kB \(virtual [\d.]+MB\)", sizes["writer"]), sizes
    assert sizes["one"].startswith("0B (virtual "), sizes
    assert bb.ok("ps", "--format", "{{.Size}}").startswith("0B (virtual"), "a template asks"
    assert inspect(bb, "writer") .get("SizeRw") is None
    full = bb.json("inspect", "-s", "writer")[0]
    assert full["SizeRw"] == 5000 and full["SizeRootFs"] == 5000 + size, full
    keys = list(full)
    assert keys.index("GraphDriver") + 1 == keys.index("SizeRw"), keys
    bb.ok("rm", "-f", a, "two", "writer")


# --------------------------------------------------------------------------
# inspect


def test_inspect_state(bb):
    cid = run_d(bb, "--name", "st", "busybox", *TRAP)
    c = inspect(bb, "st")
    assert list(c)[:12] == ["Id", "Created", "Path", "Args", "State", "Image", "ResolvConfPath",
                            "HostnamePath", "HostsPath", "LogPath", "Name", "RestartCount"], c
    assert c["Path"] == "sh" and c["Args"] == TRAP[1:] and c["RestartCount"] == 0, c
    s = c["State"]
    assert list(s) == ["Status", "Running", "Paused", "Restarting", "OOMKilled", "Dead", "Pid",
                       "ExitCode", "Error", "StartedAt", "FinishedAt"], s
    assert (s["Status"], s["Running"], s["Paused"], s["Restarting"], s["Dead"]) == \
        ("running", True, False, False, False), s
    assert s["Pid"] > 0 and s["ExitCode"] == 0 and s["Error"] == "", s
    assert s["StartedAt"] != ZERO and s["FinishedAt"] == ZERO, s

    bb.ok("pause", "st")
    s = state(bb, "st")
    assert (s["Status"], s["Running"], s["Paused"]) == ("paused", True, True) and s["Pid"] > 0, s
    bb.ok("unpause", "st")
    bb.ok("stop", "st")
    s = state(bb, "st")
    assert (s["Status"], s["Running"], s["Paused"], s["Pid"], s["ExitCode"]) == \
        ("exited", False, False, 0, 3), s
    assert s["FinishedAt"] != ZERO, s

    p = bb.cmd("create", "--name", "new", "busybox", "true")
    if p.returncode == 0:  # `create` is another part of issue 11
        s = state(bb, "new")
        assert (s["Status"], s["StartedAt"], s["FinishedAt"]) == ("created", ZERO, ZERO), s
        bb.ok("rm", "new")

    # the record's health, docker's State.Health
    set_health(bb, cid, {"status": "unhealthy", "failingStreak": 3,
                         "log": [{"Start": "x", "End": "y", "ExitCode": 1, "Output": "no\n"}]})
    h = state(bb, "st")["Health"]
    assert h == {"Status": "unhealthy", "FailingStreak": 3,
                 "Log": [{"Start": "x", "End": "y", "ExitCode": 1, "Output": "no\n"}]}, h
    assert bb.ok("inspect", "-f", "{{.State.Health.Status}} {{.RestartCount}}", "st") == \
        "unhealthy 0\n"
    bb.ok("rm", "st")


def test_inspect_types_and_errors(bb):
    run_d(bb, "--name", "obj", "busybox", *TRAP)
    img = bb.image_inspect("busybox")["Id"]
    # a container first, then an image
    assert bb.ok("inspect", "-f", "{{.Name}}", "obj") == "/obj\n"
    assert bb.ok("inspect", "-f", "{{.Id}}", "busybox") == img + "\n"
    assert bb.ok("inspect", "--type", "image", "-f", "{{.Id}}", "busybox") == img + "\n"
    p = bb.cmd("inspect", "--type", "container", "busybox")
    assert p.returncode == 1 and p.stdout == "[]\n" and "busybox" in p.stderr, describe(p)
    p = bb.cmd("inspect", "--type", "image", "obj")
    assert p.returncode == 1 and p.stdout == "[]\n", describe(p)
    p = bb.cmd("inspect", "nope")
    assert p.returncode == 1 and p.stderr == "berth: No such object: nope\n", describe(p)
    assert p.stdout == "[]\n", describe(p)
    p = bb.cmd("inspect", "-f", "{{.Name}}", "obj", "nope")
    assert p.returncode == 1 and p.stdout == "/obj\n", describe(p)
    p = bb.cmd("inspect", "--type", "foo", "obj")
    assert p.returncode == 1 and 'unknown type: "foo"' in p.stderr, describe(p)
    both = bb.json("inspect", "obj", "busybox")
    assert [x["Id"] for x in both][1] == img
    bb.ok("rm", "-f", "obj")


# --------------------------------------------------------------------------
# pause / unpause


def test_pause_unpause(bb):
    a = run_d(bb, "--name", "pa", "busybox", *TRAP)
    b = run_d(bb, "--name", "pb", "busybox", *TRAP)
    bb.ok("run", "--name", "px", "busybox", "true")

    p = bb.cmd("pause", "pa", "nope", "pb")
    assert p.returncode == 1 and p.stdout == "pa\npb\n", describe(p)
    assert "nope" in p.stderr, describe(p)
    freezer = [f"/sys/fs/cgroup/freezer/berth/{c}/freezer.state" for c in (a, b)]
    for f in freezer:
        try:
            assert open(f).read().strip() == "FROZEN", f
        except FileNotFoundError:
            pass  # no v1 freezer here

    for args, msg in [(["pause", "pa"], f"Container {a} is already paused"),
                      (["pause", "px"], "is not running"),
                      (["unpause", "px"], "is not paused")]:
        p = bb.cmd(*args)
        assert p.returncode == 1 and p.stdout == "" and msg in p.stderr, describe(p)
        assert p.stderr.startswith("berth: Container "), describe(p)

    assert bb.ok("unpause", "pa") == "pa\n"
    p = bb.cmd("unpause", "pa")
    assert p.returncode == 1 and f"Container {a} is not paused" in p.stderr, describe(p)
    assert state(bb, "pa")["Paused"] is False and state(bb, "pb")["Paused"] is True
    bb.ok("rm", "-f", a, b, "px")


def test_paused_stop_kill_rm(bb):
    """docker: stop and kill of a paused container thaw it after the signal."""
    run_d(bb, "--name", "s1", "busybox", *TRAP)
    run_d(bb, "--name", "k1", "busybox", *TRAP)
    run_d(bb, "--name", "r1", "busybox", *TRAP)
    run_d(bb, "--name", "u1", "busybox", *TRAP)
    bb.ok("pause", "s1", "k1", "r1", "u1")

    t = time.monotonic()
    assert bb.ok("stop", "s1", timeout=30) == "s1\n"
    assert time.monotonic() - t < 8, "the TERM reached it: no wait for the timeout"
    s = state(bb, "s1")
    assert (s["Status"], s["ExitCode"], s["Paused"]) == ("exited", 3, False), s

    assert bb.ok("kill", "k1") == "k1\n"
    exited(bb, "k1")
    assert state(bb, "k1")["ExitCode"] == 137

    # a signal it handles: thawed, and it runs on (or ends as the handler says)
    assert bb.ok("kill", "-s", "TERM", "u1") == "u1\n"
    exited(bb, "u1")
    assert state(bb, "u1")["ExitCode"] == 3

    assert bb.ok("rm", "-f", "r1", timeout=30) == "r1\n"
    assert "r1" not in names(bb, "-a")
    bb.ok("rm", "s1", "k1", "u1")


# --------------------------------------------------------------------------
# rename


def test_rename(bb):
    a = run_d(bb, "--name", "old", "busybox", *TRAP)
    bb.ok("run", "--name", "other", "busybox", "true")
    other = inspect(bb, "other")["Id"]

    p = bb.cmd("rename", "old", "new")
    assert p.returncode == 0 and p.stdout == "" and p.stderr == "", describe(p)
    assert inspect(bb, "new")["Id"] == a and names(bb) == ["new"]
    assert bb.cmd("inspect", "--type", "container", "old").returncode == 1
    # the end of a renamed container is recorded under its new name
    bb.ok("stop", "new")
    exited(bb, "new")
    assert inspect(bb, "new")["Name"] == "/new"
    bb.ok("rename", "new", "/newer")
    assert inspect(bb, a)["Name"] == "/newer"

    fail = "berth: failed to rename container named {}\n"
    for args, msg in [
        (["newer", "other"],
         f'Error when allocating new name: Conflict. The container name "/other" is already in '
         f'use by container "{other}". You have to remove (or rename) that container to be able '
         "to reuse that name."),
        (["newer", "newer"], "Renaming a container with the same name as its current name"),
        (["newer", "x y"],
         "Error when allocating new name: Invalid container name (/x y), only "
         "[a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"),
        (["newer", ""], "Neither old nor new names may be empty"),
    ]:
        p = bb.cmd("rename", *args)
        assert p.returncode == 1 and p.stdout == "", describe(p)
        assert p.stderr == f"berth: {msg}\n" + fail.format(args[0]), describe(p)
    p = bb.cmd("rename", "nope", "zz")
    assert p.returncode == 1 and p.stderr.endswith(fail.format("nope")), describe(p)
    p = bb.cmd("rename", "newer")
    assert p.returncode == 125, describe(p)
    # the old name is free again
    bb.ok("run", "--name", "old", "busybox", "true")
    bb.ok("container", "rename", "old", "old2")
    bb.ok("rm", "newer", "other", "old2")
