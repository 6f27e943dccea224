"""`berth stats` (issue 11): docker's columns from the container's cgroup and network namespace,
CPU % from two samples a second apart as docker's CLI computes it.

docker 20.10's dockerd with docker 28's CLI is the reference, compared side by side here:
  - `--no-stream`: one table, "CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %
    NET I/O   BLOCK I/O   PIDS", tabwriter-aligned; ids 12 hex (--no-trunc: 64);
  - CPU % "%.2f%%" of (cpu delta / system delta) × online CPUs × 100; MEM USAGE / LIMIT in
    binary units ("464KiB / 64MiB"; the host's memory without -m), usage less the inactive file
    cache; NET I/O and BLOCK I/O in decimal units with 3 digits ("139kB / 0B"); lo is not
    counted (docker counts its network's interfaces);
  - `--format json`: one object per line, keys BlockIO, CPUPerc, Container (as named), ID,
    MemPerc, MemUsage, Name, NetIO, PIDs; `table TEMPLATE` and templates;
  - no CONTAINER: the running ones (-a: all); a stopped one: "0.00%  0B / 0B  0.00%  0B / 0B
    0B / 0B  0"; a missing one: its error and no table, exit 1;
  - streaming: a table every second; on a terminal each drawn over the last (cursor home,
    "erase line" after each line, "erase below").
No timing is asserted beyond "more than 0": the machine is shared.
"""

import os
import pty
import re
import select
import time

import pytest

from conftest import describe
from engine_util import bb as _bb, run_d  # noqa: F401

HEADER = ("CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT   MEM %     NET I/O   BLOCK I/O"
          "   PIDS")
PERC = re.compile(r"^\d+\.\d\d%$")
BIN = r"\d+(\.\d+)?(B|KiB|MiB|GiB|TiB)"
DEC = r"\d+(\.\d+)?(B|kB|MB|GB|TB)"
KEYS = ["BlockIO", "CPUPerc", "Container", "ID", "MemPerc", "MemUsage", "Name", "NetIO", "PIDs"]


@pytest.fixture
def bb(_bb):
    """The engine with busybox:latest loaded; its containers removed (rm -f) at the end, before
    the leak guard looks."""
    yield _bb
    ids = _bb.ok("ps", "-aq").split()
    if ids:
        _bb.ok("rm", "-f", *ids)


def stats_json(e, *names):
    rows = e.json_lines("stats", "--no-stream", "--format", "json", *names)
    for r in rows:
        assert sorted(r) == KEYS, r
    return {r["Name"]: r for r in rows}


def to_bytes(s):
    m = re.match(r"^(\d+(?:\.\d+)?)(B|KiB|MiB|GiB|TiB|kB|MB|GB|TB)$", s)
    assert m, s
    mult = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40,
            "kB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}[m.group(2)]
    return float(m.group(1)) * mult


def host_memory():
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no MemTotal")


def bytes_size(n):
    """go-units BytesSize."""
    units = ["B", "KiB", "MiB", "GiB", "TiB"]
    i = 0
    n = float(n)
    while n >= 1024 and i < len(units) - 1:
        n /= 1024
        i += 1
    return "%.4g%s" % (n, units[i])


def test_no_stream_table(bb):
    cid = run_d(bb, "--name", "idle", "busybox", "sleep", "1000")
    t0 = time.monotonic()
    out = bb.ok("stats", "--no-stream")
    assert time.monotonic() - t0 >= 0.9  # two samples, a second apart
    lines = out.splitlines()
    assert lines[0] == HEADER, out
    assert len(lines) == 2, out
    f = re.split(r"\s{2,}", lines[1])
    assert f[0] == cid[:12] and f[1] == "idle", out
    assert PERC.match(f[2]) and PERC.match(f[4]), out
    assert re.match(rf"^{BIN} / {BIN}$", f[3]), out
    assert f[5] == "0B / 0B", out  # no network yet: lo only, not counted
    assert re.match(rf"^{DEC} / {DEC}$", f[6]), out
    assert f[7] == "1", out
    # unlimited: the host's memory as the limit
    assert f[3].split(" / ")[1] == bytes_size(host_memory()), out
    long = bb.ok("stats", "--no-stream", "--no-trunc", "idle").splitlines()
    assert long[1].split()[0] == cid, long
    assert bb.ok("container", "stats", "--no-stream", "idle").splitlines()[0] == HEADER


def test_memory_usage_and_limit(bb):
    """-m 64m and 20 MiB in /dev/shm (shmem: charged, not file cache): usage above 20 MiB,
    limit 64MiB, MEM % their ratio."""
    run_d(bb, "--name", "hog", "-m", "64m", "busybox", "sh", "-c",
          "dd if=/dev/zero of=/dev/shm/x bs=1M count=20 2>/dev/null; echo done > /tmp/done; "
          "sleep 1000")
    deadline = time.monotonic() + 30
    while True:
        r = stats_json(bb, "hog")["hog"]
        used, limit = r["MemUsage"].split(" / ")
        if to_bytes(used) >= 20 << 20 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert limit == "64MiB", r
    assert 20 << 20 <= to_bytes(used) < 64 << 20, r
    perc = float(r["MemPerc"].rstrip("%"))
    assert abs(perc - to_bytes(used) / (64 << 20) * 100) < 0.5, r


def test_cpu_of_a_busy_loop(bb):
    run_d(bb, "--name", "busy", "busybox", "sh", "-c", "while :; do :; done")
    run_d(bb, "--name", "idle", "busybox", "sleep", "1000")
    s = stats_json(bb, "busy", "idle")
    assert float(s["busy"]["CPUPerc"].rstrip("%")) > 0, s
    assert PERC.match(s["idle"]["CPUPerc"]), s


def test_pids(bb):
    run_d(bb, "--name", "three", "busybox", "sh", "-c", "sleep 1000 & sleep 1000 & wait")
    deadline = time.monotonic() + 20
    while stats_json(bb, "three")["three"]["PIDs"] != "3":
        assert time.monotonic() < deadline, stats_json(bb, "three")
        time.sleep(0.1)


def test_json_and_templates(bb):
    cid = run_d(bb, "--name", "tpl", "busybox", "sleep", "1000")
    rows = bb.json_lines("stats", "--no-stream", "--format", "json", cid[:8])
    assert len(rows) == 1 and sorted(rows[0]) == KEYS, rows
    r = rows[0]
    assert (r["Container"], r["ID"], r["Name"], r["NetIO"], r["PIDs"]) == (
        cid[:8], cid[:12], "tpl", "0B / 0B", "1"), r
    out = bb.ok("stats", "--no-stream", "--format", "table {{.Name}}\t{{.PIDs}}", "tpl")
    assert out == "NAME      PIDS\ntpl       1\n", out
    out = bb.ok("stats", "--no-stream", "--format", "{{.Name}}: {{.MemPerc}}", "tpl")
    assert re.match(r"^tpl: \d+\.\d\d%\n$", out), out
    out = bb.ok("stats", "--no-stream", "--format", "table", "tpl")
    assert out.splitlines()[0] == HEADER


def test_stopped_and_all(bb):
    run_d(bb, "--name", "up", "busybox", "sleep", "1000")
    done = run_d(bb, "--name", "down", "busybox", "true")
    bb.ok("wait", done)
    listed = [l.split()[1] for l in bb.ok("stats", "--no-stream").splitlines()[1:]]
    assert listed == ["up"], listed
    every = [l.split()[1] for l in bb.ok("stats", "--no-stream", "-a").splitlines()[1:]]
    assert every == ["down", "up"], every  # newest first, as docker
    r = stats_json(bb, "down")["down"]
    assert (r["CPUPerc"], r["MemUsage"], r["MemPerc"], r["NetIO"], r["BlockIO"], r["PIDs"]) == (
        "0.00%", "0B / 0B", "0.00%", "0B / 0B", "0B / 0B", "0"), r
    # only stopped ones: no second sample to wait for
    t0 = time.monotonic()
    bb.ok("stats", "--no-stream", "down")
    assert time.monotonic() - t0 < 0.9


def test_missing_container(bb):
    run_d(bb, "--name", "here", "busybox", "sleep", "1000")
    p = bb.cmd("stats", "--no-stream", "here", "nosuch")
    assert p.returncode == 1 and p.stdout == "", describe(p)
    assert "no such container: nosuch" in p.stderr.lower(), describe(p)
    p = bb.cmd("stats", "--bogus")
    assert p.returncode == 125, describe(p)


def test_loopback_traffic_is_not_counted(bb):
    run_d(bb, "--name", "pinger", "busybox", "sh", "-c",
          "ping -c 20 -i 0.05 127.0.0.1 >/dev/null 2>&1; echo done > /tmp/done; sleep 1000")
    time.sleep(1.5)
    assert stats_json(bb, "pinger")["pinger"]["NetIO"] == "0B / 0B"


def read_for(fd, seconds):
    out = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    return out


def test_stream_refreshes(bb):
    run_d(bb, "--name", "live", "busybox", "sleep", "1000")
    # not a terminal: whole tables, one after the other, no escape codes
    p = bb.popen("stats", "live")
    out = read_for(p.stdout.fileno(), 3.6)
    p.kill()
    p.wait()
    text = out.decode()
    assert "\033" not in text, text
    assert text.count(HEADER) >= 2, text
    # a terminal: drawn over the last table
    master, slave = pty.openpty()
    p = bb.popen("stats", "live", stdout=slave, stderr=slave)
    os.close(slave)
    out = read_for(master, 3.6)
    p.kill()
    p.wait()
    os.close(master)
    frames = out.decode().split("\033[H")[1:]
    assert len(frames) >= 2, out
    for f in frames[:-1]:
        assert f.startswith(HEADER + "\033[K"), f
        assert f.endswith("\033[J"), f
