"""`berth logs` (issue 11) on detached containers: the monitor writes <root>/containers/<id>/ctr.log
(CRI "k8s-file" records), `logs` prints it as docker prints its json-file log.

docker 20.10's dockerd with docker 28's CLI is the reference, checked by hand on this machine
(a private dockerd, see tests/clients/test_docker.py):
  - stdout records on stdout, stderr records on stderr; a last line without newline is printed
    without one (`printf hello` -> "hello"), partial pieces of a line joined;
  - `-t`: "<RFC3339Nano, 9 digits, UTC> <line>"; `--details`: a space before the line (no
    log-opt attributes), after the time with -t ("<time>  <line>");
  - `--tail N`: the last N lines; "all", "foo", "-1", " 3", "2.5" are all; "+2" is 2; 0 none;
  - `--since/--until`: RFC 3339 (with or without fraction and zone), Unix seconds, durations
    back from now ("10m"; "-2s" is in the future); "0" is no bound; a bad value:
    `invalid value for "since": failed to parse value as time or duration: "bad"`;
  - `-f` ends when the container does, and at --until;
  - `--log-driver none`: "configured logging driver does not support reading".
An error about the container or the flags' values exits 1, as docker's CLI; a usage error 125.
"""

import datetime
import os
import re
import time

from conftest import describe
from engine_util import bb, run_d  # noqa: F401 (bb: a fixture)

TS = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z"


def finished(e, *args):
    """A detached container run to its end: its id."""
    cid = run_d(e, *args)
    e.ok("wait", cid, timeout=60)
    return cid


def logs(e, *args, check=True):
    p = e.cmd("logs", *args, timeout=60)
    if check:
        assert p.returncode == 0, describe(p)
    return p


def log_files(e, cid):
    d = e.root / "containers" / cid
    return sorted(n for n in os.listdir(d) if n.startswith("ctr.log"))


def parse_ts(s):
    """RFC 3339 with 9 digits and Z -> ns since the epoch."""
    sec, frac = s[:-1].split(".")
    t = datetime.datetime.strptime(sec, "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=datetime.timezone.utc)
    return int(t.timestamp()) * 10**9 + int(frac)


def numbered(text):
    """The numbers of the "line N" lines of text, in order."""
    return [int(m) for m in re.findall(r"^line (\d+)$", text, re.M)]


# --------------------------------------------------------------------------
# what is printed


def test_streams_apart(bb):
    cid = finished(bb, "busybox", "sh", "-c", "echo out; echo err >&2; echo out2; echo err2 >&2")
    p = logs(bb, cid)
    assert p.stdout == "out\nout2\n", describe(p)
    assert p.stderr == "err\nerr2\n", describe(p)
    # by name too, and `container logs`
    name = bb.json("inspect", cid)[0]["Name"].lstrip("/")
    assert bb.ok("container", "logs", name) == "out\nout2\n"
    bb.ok("rm", cid)


def test_partial_lines(bb):
    """A line written in pieces is one line; the last piece without newline is printed without
    one, as docker does: stdout "helloa\\nb", stderr "err\\nx"."""
    cid = finished(bb, "busybox", "sh", "-c",
                   'printf hel; printf lo; echo err >&2; printf "a\\nb"; printf x >&2')
    p = logs(bb, cid)
    assert p.stdout == "helloa\nb", describe(p)
    assert p.stderr == "err\nx", describe(p)
    # the file: the last pieces are P records (conmon's and containerd's way)
    log = (bb.root / "containers" / cid / "ctr.log").read_text()
    assert re.search(rf"^{TS} stdout P b$", log, re.M), log
    assert re.search(rf"^{TS} stderr P x$", log, re.M), log
    # -t: one time a line
    p = logs(bb, "-t", cid)
    assert re.fullmatch(rf"{TS} helloa\n{TS} b", p.stdout), describe(p)
    bb.ok("rm", cid)


def test_long_line(bb):
    """A 40000-byte line is three records in the file (16 KiB pieces) and one line for logs,
    also for --tail 1 and -t."""
    cid = finished(bb, "busybox", "sh", "-c",
                   "printf '%40000s\\n' '' | tr ' ' y; echo short")
    recs = (bb.root / "containers" / cid / "ctr.log").read_text().splitlines()
    assert [r.split(" ")[2] for r in recs] == ["P", "P", "F", "F"], [r[:40] for r in recs]
    assert logs(bb, cid).stdout == "y" * 40000 + "\nshort\n"
    assert logs(bb, "--tail", "2", cid).stdout == "y" * 40000 + "\nshort\n"
    assert logs(bb, "--tail", "1", cid).stdout == "short\n"
    out = logs(bb, "-t", "--tail", "2", cid).stdout.splitlines()
    assert re.fullmatch(rf"{TS} y{{40000}}", out[0]) and re.fullmatch(rf"{TS} short", out[1])
    bb.ok("rm", cid)


def test_timestamps_and_details(bb):
    before = time.time_ns()
    cid = finished(bb, "busybox", "sh", "-c", "echo one; echo two >&2")
    after = time.time_ns()
    p = logs(bb, "-t", cid)
    m = re.fullmatch(rf"({TS}) one\n", p.stdout)
    assert m, describe(p)
    assert before <= parse_ts(m.group(1)) <= after, (before, m.group(1), after)
    assert re.fullmatch(rf"{TS} two\n", p.stderr), describe(p)
    # --details: docker's (empty) attributes and a space
    assert logs(bb, "--details", cid).stdout == " one\n"
    p = logs(bb, "--details", "-t", cid)
    assert re.fullmatch(rf"{TS}  one\n", p.stdout), describe(p)
    bb.ok("rm", cid)


# --------------------------------------------------------------------------
# which records


def test_tail(bb):
    cid = finished(bb, "busybox", "sh", "-c",
                   "for i in 1 2 3 4 5; do echo $i; done; echo e1 >&2; echo e2 >&2")
    assert logs(bb, "--tail", "2", cid).stderr == "e1\ne2\n"
    p = logs(bb, "--tail", "3", cid)
    assert (p.stdout, p.stderr) == ("5\n", "e1\ne2\n"), describe(p)
    assert logs(bb, "-n", "4", cid).stdout == "4\n5\n"
    assert logs(bb, "--tail", "+4", cid).stdout == "4\n5\n"
    p = logs(bb, "--tail", "0", cid)
    assert (p.stdout, p.stderr) == ("", ""), describe(p)
    # docker's strconv.Atoi: anything else (or a negative number) is all
    for t in ("all", "-1", "foo", " 3", "2.5", "100"):
        assert logs(bb, "--tail", t, cid).stdout == "1\n2\n3\n4\n5\n", t
    bb.ok("rm", cid)


def test_since_until(bb):
    cid = finished(bb, "busybox", "sh", "-c", "echo a; sleep 1.2; echo b; sleep 1.2; echo c")
    times = [line.split(" ")[0] for line in logs(bb, "-t", cid).stdout.splitlines()]
    assert len(times) == 3, times
    ta, tb, tc = times
    assert logs(bb, "--since", tb, cid).stdout == "b\nc\n"
    assert logs(bb, "--until", tb, cid).stdout == "a\nb\n"
    assert logs(bb, "--since", tb, "--until", tb, cid).stdout == "b\n"
    # Unix seconds with a fraction
    nb = parse_ts(tb)
    unix = f"{nb // 10**9}.{nb % 10**9:09d}"
    assert logs(bb, "--since", unix, cid).stdout == "b\nc\n"
    # RFC 3339 in another zone, without a fraction (whole seconds: from the second of b... and
    # also what came in that second)
    sec = datetime.datetime.fromtimestamp(nb // 10**9 + 1,
                                          datetime.timezone(datetime.timedelta(hours=2)))
    out = logs(bb, "--since", sec.isoformat(), cid).stdout
    assert out in ("c\n", "b\nc\n"), out
    # durations back from now; "0" is no bound; tail first, then since
    assert logs(bb, "--since", "1h", cid).stdout == "a\nb\nc\n"
    assert logs(bb, "--since", "-1h", cid).stdout == ""
    assert logs(bb, "--since", "0", "--until", "0", cid).stdout == "a\nb\nc\n"
    assert logs(bb, "--tail", "2", "--since", tc, cid).stdout == "c\n"
    assert logs(bb, "--until", "2000-01-01", cid).stdout == ""
    bb.ok("rm", cid)


def test_since_errors(bb):
    cid = finished(bb, "busybox", "true")
    p = logs(bb, "--since", "bad", cid, check=False)
    assert p.returncode == 1, describe(p)
    assert p.stderr == ('berth: invalid value for "since": failed to parse value as time or '
                        'duration: "bad"\n'), describe(p)
    p = logs(bb, "--until", "2026-12-07T21:07:00z", cid, check=False)
    assert p.returncode == 1, describe(p)
    assert ('invalid value for "until": parsing time "2026-12-07T21:07:00z" as '
            '"2006-01-02T15:04:05Z07:00": cannot parse "z" as "Z07:00"') in p.stderr, describe(p)
    bb.ok("rm", cid)


def test_errors(bb):
    cid = finished(bb, "--log-driver", "none", "busybox", "echo", "hi")
    p = logs(bb, cid, check=False)
    assert p.returncode == 1, describe(p)
    assert p.stderr == "berth: configured logging driver does not support reading\n", describe(p)
    bb.ok("rm", cid)
    p = logs(bb, "nosuch", check=False)
    assert p.returncode == 1 and "no such container: nosuch" in p.stderr.lower(), describe(p)
    p = logs(bb, check=False)
    assert p.returncode == 125 and "requires exactly 1 argument" in p.stderr, describe(p)


# --------------------------------------------------------------------------
# rotation and follow

FAST = ("i=0; while [ $i -lt 5000 ]; do echo \"line $i\"; i=$((i+1)); done")


def test_rotation_fast_writer(bb):
    """max-size=10k max-file=3 under a fast writer: at most three files of at most 10 KiB, of
    whole records; logs prints the tail of the stream, in order, to its last line."""
    cid = finished(bb, "--log-opt", "max-size=10k", "--log-opt", "max-file=3", "busybox",
                   "sh", "-c", FAST)
    files = log_files(bb, cid)
    assert files == ["ctr.log", "ctr.log.1", "ctr.log.2"], files
    kept = 0
    for n in files:
        data = (bb.root / "containers" / cid / n).read_bytes()
        assert 0 < len(data) <= 10240 and data.endswith(b"\n"), (n, len(data))
        for line in data.decode().splitlines():
            assert re.fullmatch(rf"{TS} stdout F line \d+", line), line
        kept += data.count(b"\n")
    nums = numbered(logs(bb, cid).stdout)
    assert len(nums) == kept and nums[-1] == 4999, (len(nums), kept, nums[-3:])
    assert nums == list(range(nums[0], 5000)), "not the tail of the stream in order"
    # --tail across the files
    assert numbered(logs(bb, "--tail", "300", cid).stdout) == list(range(4700, 5000))
    bb.ok("rm", cid)


def test_follow_ends_with_container(bb):
    cid = run_d(bb, "busybox", "sh", "-c", "echo a; sleep 1; echo b >&2; sleep 1; printf c")
    start = time.monotonic()
    p = logs(bb, "-f", cid)
    took = time.monotonic() - start
    assert (p.stdout, p.stderr) == ("a\nc", "b\n"), describe(p)
    assert 1.5 < took < 20, took
    assert bb.json("inspect", cid)[0]["State"]["Status"] == "exited"
    # -f on a container that has exited: what is there, at once
    start = time.monotonic()
    assert logs(bb, "-f", cid).stdout == "a\nc"
    assert time.monotonic() - start < 5
    bb.ok("rm", cid)


def test_follow_tail0_and_until(bb):
    """-f --tail 0 shows only what comes; -f --until (a duration before now, negative: in the
    future) ends then, the container still running."""
    cid = run_d(bb, "busybox", "sh", "-c",
                "echo old; sleep 1; i=0; while :; do echo \"line $i\"; i=$((i+1)); sleep 0.1; done")
    time.sleep(0.5)
    start = time.monotonic()
    p = logs(bb, "-f", "--tail", "0", "--until", "-3s", cid)
    took = time.monotonic() - start
    assert "old" not in p.stdout, describe(p)
    nums = numbered(p.stdout)
    assert nums and nums == list(range(nums[0], nums[0] + len(nums))), describe(p)
    assert 1.5 < took < 10, took
    assert bb.json("inspect", cid)[0]["State"]["Status"] == "running"
    bb.ok("rm", "-f", cid)


def test_follow_across_rotation(bb):
    """-f while the container writes fast into files of 10 KiB (about 40 rotations): every line
    once, in order, and -f ends with the container."""
    script = ("i=0; while [ $i -lt 6000 ]; do echo \"line $i\"; i=$((i+1)); "
              "[ $((i % 100)) = 0 ] && sleep 0.02; done; echo done")
    cid = run_d(bb, "--log-opt", "max-size=10k", "--log-opt", "max-file=5", "busybox",
                "sh", "-c", script)
    p = bb.popen("logs", "-f", cid)
    try:
        out, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    out = out.decode()
    assert p.returncode == 0, err
    assert numbered(out) == list(range(6000)), "lines lost or out of order across rotations"
    assert out.endswith("done\n")
    assert len(log_files(bb, cid)) <= 5
    bb.ok("rm", cid)
