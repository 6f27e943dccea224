"""Healthchecks (issue 11): the image's HEALTHCHECK and run's --health-* flags, run by the
container's monitor itself (engine/engine-health.h): the resident watcher keeps the timer and
runs `berth-monitor ROOT RUNROOT ID health` for each check, one at a time; the check is an exec
into the container.

Docker's behaviour is the reference (checked side by side with dockerd 20.10 and busybox):
State.Health {Status: starting | healthy | unhealthy, FailingStreak, Log: the last 5 {Start,
End, ExitCode, Output}}; exit code 0 is healthy, any other a failure; `retries` failures in a
row make it unhealthy; failures within the start period do not count while it is "starting";
the first check one interval after the start, the next one interval after the end of the last
(docker 25's start interval during the start period); a check past its timeout is killed and
logged as ExitCode -1, "Health check exceeded timeout (1s)"; output cut at 4096 bytes with
"..."; `ps` shows "(health: starting)", "(healthy)", "(unhealthy)"; a "health_status: STATUS"
event at each change; once the container stops its status is "unhealthy" (dockerd's). And
podman's --health-on-failure=none|kill|restart|stop.

Timings are printed (-s, or in the junit properties). Every test ends with the leak guard
(conftest.py): no container, mount, cgroup, runtime state, process or monitor may be left.
"""

import json
import re
import time
from datetime import datetime, timezone

import pytest

import registry as R
from conftest import describe, reap_orphans, _all_pids, _argv, _read_stat
from engine_util import bb, wait_for, run_d, inspect  # noqa: F401 (bb: a fixture)

# Go's RFC3339Nano in UTC: the fraction's trailing zeros dropped
GO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")


# --------------------------------------------------------------------------
# helpers


def health(e, what):
    return inspect(e, what)["State"].get("Health")


def record(e, cid):
    with open(e.root / "containers" / cid / "container.json") as f:
        return json.load(f)


def ps_status(e, what):
    for row in e.json_lines("ps", "-a", "--no-trunc", "--format", "json"):
        if row.get("Names") in (what, "/" + what) or row.get("ID", "").startswith(what):
            return row["Status"]
    return None


def wait_status(e, what, status, timeout=20):
    return wait_for(lambda: (lambda h: h if h and h["Status"] == status else None)(
        health(e, what)), timeout=timeout, what=f"{what} {status}")


def wait_log(e, what, n, timeout=20):
    """Health once its log has at least n entries."""
    return wait_for(lambda: (lambda h: h if h and len(h["Log"]) >= n else None)(
        health(e, what)), timeout=timeout, what=f"{n} checks of {what}")


def ts(s):
    """Go's time text (UTC) -> seconds since the epoch (float)."""
    assert GO_TIME.match(s) or re.match(r".*\.\d{9}Z$", s), s
    whole, _, frac = s.rstrip("Z").partition(".")
    t = datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    return t.timestamp() + float("0." + (frac or "0"))


def watcher_of(e, cid):
    """The resident monitor of cid (stage watch; a running health stage is not it)."""
    mons = [pid for pid, c in e.monitors().items()
            if c == cid and len(_argv(pid)) > 4 and _argv(pid)[4] == "watch"]
    assert len(mons) == 1, f"watchers of {cid}: {mons} (all: {e.monitors()})"
    return mons[0]


def children(pid):
    reap_orphans()
    return [p for p in _all_pids() if (_read_stat(p) or (0,))[0] == pid]


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


def events(e, since):
    """The events since then (--until 0s is now cut to whole seconds, docker's: what came in
    this second is read after the next one has begun)."""
    time.sleep(1.05 - time.time() % 1.0)
    return [ev for ev in e.json_lines("events", "--since", str(since), "--until", "0s",
                                      "--format", "json")]


def health_events(e, since, cid):
    return [ev["Action"] for ev in events(e, since)
            if ev.get("id") == cid and ev.get("Action", "").startswith("health_status")]


def say(capsys, text):
    with capsys.disabled():
        print(f"\n    {text}", end="")


def image_with_healthcheck(e, tmp_path, name, hc):
    """busybox with config.Healthcheck = hc (as docker build writes it), loaded as name."""
    img = R.Image([R.layer_tar(R.busybox_entries())], cmd=["sh"])
    img.config["Healthcheck"] = hc
    out = tmp_path / f"{name}.tar"
    img.write_docker_archive(out, f"{name}:latest")
    e.ok("load", "-i", out)
    return f"{name}:latest"


S = 1_000_000_000  # ns


# --------------------------------------------------------------------------
# a passing check, a failing one


def test_passing_check_starting_then_healthy(bb, capsys):
    """starting at once (ps "(health: starting)", no log), healthy after the first check; both
    streams in Output; Go's times; the first check one interval after the start, the next one
    interval after the end of the last."""
    t0 = time.time()
    cid = run_d(bb, "--name", "ok", "--health-cmd", "echo out; echo err >&2",
                "--health-interval", "300ms", "busybox", "sleep", "1000")
    h = health(bb, "ok")
    assert h["Status"] in ("starting", "healthy"), h
    if h["Status"] == "starting":
        assert re.search(r"^Up .* \(health: starting\)$", ps_status(bb, "ok")), ps_status(bb, "ok")
    h = wait_log(bb, "ok", 3)
    assert h["Status"] == "healthy" and h["FailingStreak"] == 0, h
    assert re.search(r"^Up .* \(healthy\)$", ps_status(bb, "ok")), ps_status(bb, "ok")
    st = ts(inspect(bb, "ok")["State"]["StartedAt"])
    for entry in h["Log"]:
        assert list(entry) == ["Start", "End", "ExitCode", "Output"], entry
        assert entry["ExitCode"] == 0 and sorted(entry["Output"].split()) == ["err", "out"], entry
        assert GO_TIME.match(entry["Start"]) and GO_TIME.match(entry["End"]), entry
    starts = [ts(x["Start"]) - st for x in h["Log"]]
    took = [ts(x["End"]) - ts(x["Start"]) for x in h["Log"]]
    gaps = [ts(b["Start"]) - ts(a["End"]) for a, b in zip(h["Log"], h["Log"][1:])]
    say(capsys, f"first check {starts[0] * 1000:.0f} ms after the start (interval 300 ms), "
                f"checks took {', '.join(f'{t * 1000:.0f}' for t in took)} ms, "
                f"gaps end->start {', '.join(f'{g * 1000:.0f}' for g in gaps)} ms")
    assert 0.25 < starts[0] < 2.5, starts
    assert all(0.25 < g < 2.5 for g in gaps), gaps
    assert t0 - 1 < st < time.time()
    rec = record(bb, cid)
    assert rec["config"]["Healthcheck"] == {"Test": ["CMD-SHELL", "echo out; echo err >&2"],
                                            "Interval": 300_000_000}, rec["config"]
    assert rec["health"]["status"] == "healthy"
    bb.ok("rm", "-f", "ok")


def test_failing_check_unhealthy_after_retries(bb, capsys):
    """exit 3: still starting after one failure, unhealthy at the second (retries 2), the streak
    counts on; the log keeps the last 5."""
    t0 = time.time()
    run_d(bb, "--name", "bad", "--health-cmd", "echo failing; exit 3", "--health-interval",
          "200ms", "--health-retries", "2", "busybox", "sleep", "1000")
    h = wait_log(bb, "bad", 1)
    if len(h["Log"]) == 1:
        assert h["Status"] == "starting" and h["FailingStreak"] == 1, h
    h = wait_status(bb, "bad", "unhealthy")
    assert h["FailingStreak"] >= 2, h
    t_unhealthy = time.time() - t0
    assert re.search(r"^Up .* \(unhealthy\)$", ps_status(bb, "bad")), ps_status(bb, "bad")
    h = wait_for(lambda: (lambda h: h if h["FailingStreak"] >= 7 else None)(health(bb, "bad")),
                 what="7 failures")
    assert len(h["Log"]) == 5, h
    assert all(x["ExitCode"] == 3 and x["Output"] == "failing\n" for x in h["Log"]), h
    assert h["Status"] == "unhealthy"
    say(capsys, f"unhealthy {t_unhealthy * 1000:.0f} ms after run -d (interval 200 ms, "
                f"retries 2)")
    bb.ok("rm", "-f", "bad")


def test_other_exit_codes_and_a_missing_program(bb):
    """Any exit code but 0 is a failure (docker: 2 too); a program the shell cannot find is
    the shell's 127; a CMD whose program is missing is ExitCode -1 with the exec's error."""
    run_d(bb, "--name", "two", "--health-cmd", "exit 2", "--health-interval", "200ms",
          "--health-retries", "1", "busybox", "sleep", "1000")
    run_d(bb, "--name", "nf", "--health-cmd", "nosuchprogram", "--health-interval", "200ms",
          "--health-retries", "1", "busybox", "sleep", "1000")
    h = wait_status(bb, "two", "unhealthy")
    assert h["Log"][0]["ExitCode"] == 2, h
    h = wait_status(bb, "nf", "unhealthy")
    assert h["Log"][0]["ExitCode"] == 127 and "nosuchprogram: not found" in h["Log"][0]["Output"]
    bb.ok("rm", "-f", "two", "nf")


def test_cmd_form_missing_program(bb, tmp_path):
    img = image_with_healthcheck(bb, tmp_path, "hc-missing",
                                 {"Test": ["CMD", "/nonexistent"], "Interval": S // 5,
                                  "Retries": 1})
    run_d(bb, "--name", "missing", img, "sleep", "1000")
    h = wait_status(bb, "missing", "unhealthy")
    e = h["Log"][0]
    assert e["ExitCode"] == -1 and "/nonexistent" in e["Output"], e
    bb.ok("rm", "-f", "missing")


def test_output_cut_at_4096_bytes(bb):
    run_d(bb, "--name", "big", "--health-cmd", "head -c 5000 /dev/zero | tr '\\0' a",
          "--health-interval", "200ms", "busybox", "sleep", "1000")
    out = wait_status(bb, "big", "healthy")["Log"][0]["Output"]
    assert out == "a" * 4096 + "...", (len(out), out[-10:])
    bb.ok("rm", "-f", "big")


def test_output_not_utf8(bb):
    """Bytes that are not UTF-8 (and NUL) become U+FFFD: the record stays JSON."""
    run_d(bb, "--name", "bin", "--health-cmd", "printf 'a\\377b\\000c'", "--health-interval",
          "200ms", "busybox", "sleep", "1000")
    out = wait_status(bb, "bin", "healthy")["Log"][0]["Output"]
    assert out == "a\ufffdb\ufffdc", repr(out)
    bb.ok("rm", "-f", "bin")


# --------------------------------------------------------------------------
# start period, timeout, a check that hangs


def test_start_period_failures_not_counted(bb, capsys):
    """Within the start period a failing check leaves it "starting" with streak 0, every start
    interval (docker 25); after it, failures count (retries 1: unhealthy at the first)."""
    run_d(bb, "--name", "sp", "--health-cmd", "exit 1", "--health-interval", "1s",
          "--health-retries", "1", "--health-start-period", "2s", "--health-start-interval",
          "200ms", "busybox", "sleep", "1000")
    st = ts(inspect(bb, "sp")["State"]["StartedAt"])
    h = wait_log(bb, "sp", 3)
    inside = [x for x in h["Log"] if ts(x["Start"]) - st < 2]
    assert len(inside) >= 3 and h["Status"] == "starting" and h["FailingStreak"] == 0, h
    h = wait_status(bb, "sp", "unhealthy", timeout=10)
    first_counted = min(ts(x["Start"]) - st for x in h["Log"] if ts(x["Start"]) - st >= 2)
    at = ", ".join(f"{ts(x['Start']) - st:.2f}" for x in h["Log"])
    say(capsys, f"start period 2s, start interval 200ms: checks at {at} s, unhealthy from the "
                f"check at {first_counted:.2f} s")
    assert h["FailingStreak"] == 1, h
    bb.ok("rm", "-f", "sp")


def test_start_period_success_ends_starting(bb):
    """A success within the start period: healthy, and the interval applies from then on."""
    run_d(bb, "--name", "spok", "--health-cmd", "true", "--health-interval", "1s",
          "--health-start-period", "10s", "--health-start-interval", "100ms", "busybox", "sleep",
          "1000")
    wait_status(bb, "spok", "healthy")
    time.sleep(1.5)
    h = health(bb, "spok")
    gaps = [ts(b["Start"]) - ts(a["End"]) for a, b in zip(h["Log"], h["Log"][1:])]
    assert len(h["Log"]) <= 3 and all(g > 0.8 for g in gaps), h
    bb.ok("rm", "-f", "spok")


def test_timeout(bb, capsys):
    """ExitCode -1 and docker's message; the check's process is killed (no pile-up)."""
    run_d(bb, "--name", "slow", "--health-cmd", "sleep 100", "--health-interval", "100ms",
          "--health-timeout", "500ms", "--health-retries", "2", "busybox", "sleep", "1000")
    h = wait_status(bb, "slow", "unhealthy")
    for x in h["Log"]:
        assert x["ExitCode"] == -1 and x["Output"] == "Health check exceeded timeout (500ms)", x
        took = ts(x["End"]) - ts(x["Start"])
        assert 0.45 < took < 2.5, took
    took = ", ".join(f"{(ts(x['End']) - ts(x['Start'])) * 1000:.0f}" for x in h["Log"])
    say(capsys, f"timed-out checks took {took} ms (timeout 500 ms)")
    bb.ok("rm", "-f", "slow")


def test_hanging_check_does_not_pile_up(bb, capsys):
    """A check that never ends, an interval shorter than its timeout: one check at a time (one
    health stage, one `sleep 987` in the container), no zombie left with the watcher."""
    cid = run_d(bb, "--name", "hang", "--health-cmd", "sleep 987", "--health-interval", "50ms",
                "--health-timeout", "300ms", "busybox", "sleep", "1000")
    watcher = watcher_of(bb, cid)
    most_stages = most_sleeps = 0
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        # the stage is the watcher's child (its own children, the check's berth process and
        # the exec's clone before its execve, have the same argv)
        stages = [p for p, c in bb.monitors().items() if c == cid
                  and _argv(p)[4:5] == ["health"] and (_read_stat(p) or (0,))[0] == watcher]
        sleeps = [p for p in _all_pids() if _argv(p) == ["sleep", "987"]]
        most_stages = max(most_stages, len(stages))
        most_sleeps = max(most_sleeps, len(sleeps))
        time.sleep(0.02)
    h = health(bb, "hang")
    zombies = [p for p in children(watcher) if (_read_stat(p) or (0, ""))[1] == "Z"]
    say(capsys, f"3 s of a hanging check: {h['FailingStreak']} timeouts, at most {most_stages} "
                f"health stage and {most_sleeps} check process at once; watcher VmRSS "
                f"{rss_kb(watcher)} kB")
    assert most_stages <= 1 and most_sleeps <= 1, (most_stages, most_sleeps)
    assert h["FailingStreak"] >= 4, h
    assert zombies == [], zombies
    bb.ok("rm", "-f", "hang")


def test_rm_f_during_a_check(bb):
    """rm -f while a check runs: the check goes with the container (leak guard)."""
    cid = run_d(bb, "--name", "during", "--health-cmd", "sleep 1000", "--health-interval",
                "50ms", "busybox", "sleep", "1000")
    wait_for(lambda: [p for p, c in bb.monitors().items()
                      if c == cid and _argv(p)[4:5] == ["health"]], what="a running check")
    time.sleep(0.2)
    bb.ok("rm", "-f", "during")
    wait_for(lambda: not bb.monitors(), timeout=10, what="no monitor left")


# --------------------------------------------------------------------------
# the image's HEALTHCHECK, --no-healthcheck, the flags


def test_image_healthcheck_and_the_flags_merged(bb, tmp_path):
    """The image's HEALTHCHECK runs as it is; flags override field by field (docker's merge);
    --no-healthcheck: Test ["NONE"], no State.Health."""
    img = image_with_healthcheck(bb, tmp_path, "hc-img",
                                 {"Test": ["CMD-SHELL", "echo from-image"], "Interval": S // 5,
                                  "Timeout": S, "StartPeriod": 3 * S, "Retries": 2})
    # image inspect shows it as docker does (Config.Healthcheck, durations in ns)
    assert bb.json("image", "inspect", img)[0]["Config"]["Healthcheck"] == {
        "Test": ["CMD-SHELL", "echo from-image"], "Interval": S // 5, "Timeout": S,
        "StartPeriod": 3 * S, "Retries": 2}
    assert "Healthcheck" not in bb.json("image", "inspect", "busybox")[0]["Config"]
    a = run_d(bb, "--name", "img", img, "sleep", "1000")
    b = run_d(bb, "--name", "img2", "--health-interval", "300ms", "--health-retries", "5", img,
              "sleep", "1000")
    c = run_d(bb, "--name", "none", "--no-healthcheck", img, "sleep", "1000")
    d = run_d(bb, "--name", "cmd", "--health-cmd", "echo from-flag", img, "sleep", "1000")
    assert wait_status(bb, "img", "healthy")["Log"][0]["Output"] == "from-image\n"
    assert wait_status(bb, "cmd", "healthy")["Log"][0]["Output"] == "from-flag\n"
    wait_status(bb, "img2", "healthy")
    assert record(bb, a)["config"]["Healthcheck"] == {
        "Test": ["CMD-SHELL", "echo from-image"], "Interval": S // 5, "Timeout": S,
        "StartPeriod": 3 * S, "Retries": 2}
    assert record(bb, b)["config"]["Healthcheck"] == {
        "Test": ["CMD-SHELL", "echo from-image"], "Interval": 300_000_000, "Timeout": S,
        "StartPeriod": 3 * S, "Retries": 5}
    assert record(bb, d)["config"]["Healthcheck"]["Test"] == ["CMD-SHELL", "echo from-flag"]
    assert record(bb, c)["config"]["Healthcheck"]["Test"] == ["NONE"]
    time.sleep(0.5)
    assert "Health" not in inspect(bb, "none")["State"]
    assert "health" not in ps_status(bb, "none")
    assert [p for p, x in bb.monitors().items() if x == c and _argv(p)[4:5] == ["health"]] == []
    bb.ok("rm", "-f", "img", "img2", "none", "cmd")


def test_no_healthcheck_without_an_image_check(bb):
    cid = run_d(bb, "--name", "plain", "busybox", "sleep", "1000")
    assert "Health" not in inspect(bb, "plain")["State"]
    assert "Healthcheck" not in record(bb, cid)["config"]
    assert ps_status(bb, "plain").startswith("Up ") and "health" not in ps_status(bb, "plain")
    bb.ok("rm", "-f", "plain")


FLAG_ERRORS = [
    (["--health-interval", "1x"],
     'invalid argument "1x" for "--health-interval" flag: time: unknown unit "x" in duration '
     '"1x"'),
    (["--health-timeout", "1"],
     'invalid argument "1" for "--health-timeout" flag: time: missing unit in duration "1"'),
    (["--health-start-period", "abc"],
     'invalid argument "abc" for "--health-start-period" flag: time: invalid duration "abc"'),
    (["--health-retries", "x"],
     'invalid argument "x" for "--health-retries" flag: strconv.ParseInt: parsing "x": '
     'invalid syntax'),
    (["--no-healthcheck", "--health-cmd", "true"],
     "--no-healthcheck conflicts with --health-* options"),
    (["--health-interval", "-1s"], "--health-interval cannot be negative"),
    (["--health-retries", "-1"], "--health-retries cannot be negative"),
    (["--health-interval", "500us"], "Interval in Healthcheck cannot be less than 1ms"),
    (["--health-timeout", "0.5ms"], "Timeout in Healthcheck cannot be less than 1ms"),
    (["--health-start-period", "10us"], "StartPeriod in Healthcheck cannot be less than 1ms"),
    (["--health-start-interval", "10ns"],
     "StartInterval in Healthcheck cannot be less than 1ms"),
    (["--health-on-failure", "x"],
     'invalid on-failure action "x" for health check: supported actions are '
     'none,kill,restart,stop'),
    (["--health-on-failure", "kill"], "cannot set on-failure action to kill without a health "
                                      "check"),
]


@pytest.mark.parametrize("args,message", FLAG_ERRORS, ids=[" ".join(a) for a, _ in FLAG_ERRORS])
def test_flag_errors(bb, args, message):
    """docker's (and podman's, for --health-on-failure) messages, exit 125, nothing made."""
    for cmd in (["run", "-d"], ["create"]):
        p = bb.cmd(*cmd, *args, "busybox", "true")
        assert p.returncode == 125, describe(p)
        assert p.stderr.strip() == f"berth: {message}", describe(p)
        assert p.stdout == ""
    assert bb.containers() == []


def test_flags_accepted(bb):
    """Go's durations as docker takes them; 0 is the default."""
    cid = run_d(bb, "--health-cmd", "true", "--health-interval", "1m30s", "--health-timeout",
                "1.5s", "--health-start-period", "0", "--health-retries", "0x10", "busybox",
                "sleep", "1000")
    assert record(bb, cid)["config"]["Healthcheck"] == {
        "Test": ["CMD-SHELL", "true"], "Interval": 90 * S, "Timeout": 1_500_000_000,
        "Retries": 16}
    bb.ok("rm", "-f", cid)


# --------------------------------------------------------------------------
# the container's life: stop, start, pause; create + start


def test_stop_unhealthy_start_starting_again(bb):
    """dockerd's: the status is "unhealthy" once the checks stop; a start makes it "starting"
    again (streak 0, the log kept), and the checks run again."""
    bb.ok("create", "--name", "life", "--health-cmd", "true", "--health-interval", "200ms",
          "busybox", "sleep", "1000")
    assert "Health" not in inspect(bb, "life")["State"]
    bb.ok("start", "life")
    wait_status(bb, "life", "healthy")
    bb.ok("stop", "-t", "0", "life")
    h = health(bb, "life")
    assert h["Status"] == "unhealthy", h
    n = len(h["Log"])
    assert ps_status(bb, "life").startswith("Exited (137)")
    bb.ok("start", "life")
    h = health(bb, "life")
    assert h["Status"] in ("starting", "healthy") and h["FailingStreak"] == 0, h
    assert len(h["Log"]) >= min(n, 5), h
    wait_status(bb, "life", "healthy")
    bb.ok("rm", "-f", "life")


def test_paused_container_is_not_checked(bb):
    """No check while paused (docker stops its checks meanwhile); they go on after unpause."""
    run_d(bb, "--name", "pz", "--health-cmd", "true", "--health-interval", "100ms", "busybox",
          "sleep", "1000")
    wait_status(bb, "pz", "healthy")
    bb.ok("pause", "pz")
    time.sleep(0.3)
    before = health(bb, "pz")["Log"][-1]["Start"]
    time.sleep(0.8)
    assert health(bb, "pz")["Log"][-1]["Start"] == before
    bb.ok("unpause", "pz")
    wait_for(lambda: health(bb, "pz")["Log"][-1]["Start"] != before, what="a check after unpause")
    bb.ok("rm", "-f", "pz")


# --------------------------------------------------------------------------
# --health-on-failure, events


def test_on_failure_kill(bb, capsys):
    """kill: SIGKILL once it turns unhealthy: Exited (137); events health_status, kill."""
    t0 = time.time()
    cid = run_d(bb, "--name", "kl", "--health-cmd", "exit 1", "--health-interval", "200ms",
                "--health-retries", "2", "--health-on-failure", "kill", "busybox", "sleep",
                "1000")
    st = wait_for(lambda: (lambda s: s if s["Status"] == "exited" else None)(
        inspect(bb, "kl")["State"]), what="kl killed")
    assert st["ExitCode"] == 137, st
    assert record(bb, cid)["hostConfig"]["HealthOnFailure"] == "kill"
    up = ts(st["FinishedAt"]) - ts(st["StartedAt"])
    say(capsys, f"--health-on-failure=kill: exited {up:.2f} s after its start (interval 200 ms, "
                f"retries 2)")
    acts = [ev["Action"] for ev in events(bb, int(t0) - 1) if ev.get("id") == cid]
    assert "health_status: unhealthy" in acts and "kill" in acts, acts
    assert acts.index("health_status: unhealthy") < acts.index("kill"), acts
    bb.ok("rm", "-f", "kl")


def test_on_failure_stop(bb):
    """stop: as `berth stop` (the stop signal, a trap ends it: exit 0), stays stopped."""
    run_d(bb, "--name", "st", "--health-cmd", "exit 1", "--health-interval", "200ms",
          "--health-retries", "1", "--health-on-failure", "stop", "busybox", "sh", "-c",
          'trap "exit 0" TERM; while :; do sleep 0.1; done')
    st = wait_for(lambda: (lambda s: s if s["Status"] == "exited" else None)(
        inspect(bb, "st")["State"]), what="st stopped")
    assert st["ExitCode"] == 0, st
    time.sleep(0.5)
    assert inspect(bb, "st")["State"]["Status"] == "exited"
    bb.ok("rm", "-f", "st")


def test_on_failure_restart(bb):
    """restart: as `berth restart`: stopped and started again; here the second run is
    healthy."""
    script = ('trap "exit 0" TERM; if [ -e /ran ]; then touch /ok; fi; touch /ran; '
              'while :; do sleep 0.1; done')
    run_d(bb, "--name", "rs", "--health-cmd", "test -e /ok", "--health-interval", "200ms",
          "--health-retries", "1", "--health-on-failure", "restart", "busybox", "sh", "-c",
          script)
    first = inspect(bb, "rs")["State"]["StartedAt"]
    wait_for(lambda: inspect(bb, "rs")["State"]["StartedAt"] != first, what="rs restarted")
    h = wait_status(bb, "rs", "healthy")
    assert inspect(bb, "rs")["State"]["Running"] is True
    assert any(x["ExitCode"] == 1 for x in h["Log"]), h  # the first run's failure, kept
    bb.ok("rm", "-f", "rs")


def test_events_once_per_change(bb):
    """One health_status event per change of status (docker's), none for each check."""
    t0 = int(time.time()) - 1
    cid = run_d(bb, "--name", "ev", "--health-cmd", "test ! -e /tmp/fail", "--health-interval",
                "100ms", "--health-retries", "1", "busybox", "sleep", "1000")
    wait_status(bb, "ev", "healthy")
    wait_log(bb, "ev", 3)
    bb.ok("exec", "ev", "touch", "/tmp/fail")
    wait_status(bb, "ev", "unhealthy")
    wait_for(lambda: health(bb, "ev")["FailingStreak"] >= 3, what="3 failures")
    bb.ok("exec", "ev", "rm", "/tmp/fail")
    wait_status(bb, "ev", "healthy")
    want = ["health_status: healthy", "health_status: unhealthy", "health_status: healthy"]
    # the event follows the record's write
    wait_for(lambda: len(health_events(bb, t0, cid)) >= 3, what="3 health events")
    time.sleep(0.5)
    assert health_events(bb, t0, cid) == want
    for ev in events(bb, t0):
        if ev.get("Action", "").startswith("health_status"):
            assert ev["Actor"]["Attributes"]["name"] == "ev", ev
    bb.ok("rm", "-f", "ev")


# --------------------------------------------------------------------------
# the monitor stays small


def test_watcher_rss_with_checks(bb, capsys):
    """The resident watcher with a check every 50 ms: its RSS before and after a hundred or
    so checks (the checks run in the health stage, a child that comes and goes)."""
    cid = run_d(bb, "--name", "rss", "--health-cmd", "true", "--health-interval", "50ms",
                "busybox", "sleep", "1000")
    watcher = watcher_of(bb, cid)
    wait_status(bb, "rss", "healthy")
    before = rss_kb(watcher)
    t0 = time.monotonic()
    time.sleep(4)
    n = len(health(bb, "rss")["Log"])
    after = rss_kb(watcher)
    with open(f"/proc/{watcher}/maps") as f:
        sanitized = "libasan" in f.read()
    say(capsys, f"watcher VmRSS {before} kB after the first check, {after} kB after "
                f"{time.monotonic() - t0:.0f} s of checks every 50 ms (log {n} entries)")
    if not sanitized:
        assert after < 2048 and after <= before + 64, (before, after)
    bb.ok("rm", "-f", "rss")
