"""What the engine's tests (test_engine_*.py) share: the busybox-loaded engine, polling, run -d /
create that check the printed id, inspect, and the containers they run."""

import re
import time

import pytest

from conftest import describe

HEX64 = re.compile(r"^[0-9a-f]{64}$")

# A container that ignores SIGTERM (only the SIGKILL after the stop timeout ends it).
DEAF = ["sh", "-c", 'trap "" TERM; echo ready; while :; do sleep 0.1; done']
# One that exits 3 on SIGTERM.
TRAP = ["sh", "-c", 'trap "exit 3" TERM; while :; do sleep 0.1; done']
# From before the record exists to a container that has been running a while: where a kill -9
# of the CLI or the monitor lands.
DELAYS = [0, 0.002, 0.005, 0.01, 0.02, 0.04, 0.08, 0.15, 0.3]


def load_busybox(e, archive):
    """`berth load` busybox:latest into engine E (tagged so if the archive's name is lost)."""
    p = e.cmd("load", "-i", archive)
    assert p.returncode == 0, describe(p)
    if "busybox" not in p.stdout:
        e.ok("tag", p.stdout.split()[-1], "busybox:latest")
    return e


@pytest.fixture
def bb(berth, busybox_archive):
    """The engine with busybox:latest loaded."""
    return load_busybox(berth, busybox_archive)


def wait_for(cond, timeout=20, what="a condition", interval=0.02):
    """COND()'s first true value, polled every INTERVAL s; fails after TIMEOUT s."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"still not {what} after {timeout}s")
        time.sleep(interval)


def _printed_id(p):
    assert p.returncode == 0, describe(p)
    cid = p.stdout.strip()
    assert HEX64.match(cid) and p.stdout == cid + "\n", describe(p)
    return cid


def run_d(e, *args, timeout=60):
    """`berth run -d ARGS`: it must print the full id and nothing else; returns the id."""
    return _printed_id(e.cmd("run", "-d", *args, timeout=timeout))


def create(e, *args):
    """`berth create ARGS`: the full id, as run_d."""
    return _printed_id(e.cmd("create", *args))


def inspect(e, what):
    v = e.json("inspect", what)
    assert isinstance(v, list) and len(v) == 1, v
    return v[0]


def state(e, what):
    return inspect(e, what)["State"]
