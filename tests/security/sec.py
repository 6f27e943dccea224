"""Helpers of the security suite: the attacker's records, what counts as the host, race rounds.

No fixtures here (conftest.py has them).
"""

import hashlib
import os
import shutil
import time
import urllib.parse
from pathlib import Path

# A race is tried against berth-oci for ROUNDS rounds, or for STRICT_SECONDS once MIN_ROUNDS
# are done (failing under MIN_ROUNDS in MAX_SECONDS); against a peer for ROUNDS rounds or
# SECONDS, whichever comes first (runc is 4x slower).
ROUNDS = int(os.environ.get("BERTH_SEC_ROUNDS", "200"))
MIN_ROUNDS = int(os.environ.get("BERTH_SEC_MIN_ROUNDS", "100"))
SECONDS = float(os.environ.get("BERTH_SEC_SECONDS", "3"))
STRICT_SECONDS = float(os.environ.get("BERTH_SEC_STRICT_SECONDS", "8"))
MAX_SECONDS = float(os.environ.get("BERTH_SEC_MAX_SECONDS", "30"))

it = None  # tests/integration/conftest.py as a module (set by conftest.py)


class Record(dict):
    """One line of the attacker: KIND key=value ... (values %-decoded)."""

    def __init__(self, kind, fields):
        super().__init__(fields)
        self.kind = kind

    def __repr__(self):
        return f"{self.kind} " + " ".join(f"{k}={v}" for k, v in self.items())

    @property
    def devino(self):
        return (self["dev"], int(self["ino"]))


def parse(text):
    out = []
    for line in text.splitlines():
        parts = line.split()
        if not parts or "=" in parts[0]:
            continue
        fields = {}
        for p in parts[1:]:
            k, _, v = p.partition("=")
            fields[k] = urllib.parse.unquote(v)
        out.append(Record(parts[0], fields))
    return out


def devino_of(path, follow=False):
    st = os.stat(path) if follow else os.lstat(path)
    return (f"{os.major(st.st_dev)}:{os.minor(st.st_dev)}", st.st_ino)


def host_files(workdir, extra=(), skip=()):
    """{(dev, ino): host path} of everything in the test's directory that is not inside a
    container's rootfs (bundles, state roots, state files, exec fifos, logs), plus `extra`
    paths (the runtime binary, cgroup dirs)."""
    skip = {Path(s).resolve() for s in skip}
    out = {}
    for dirpath, dirnames, filenames in os.walk(workdir):
        d = Path(dirpath)
        if d.name == "rootfs" or d in skip:
            dirnames[:] = []
            continue
        for n in dirnames + filenames:
            p = d / n
            if p.name == "rootfs" or p in skip:
                continue
            try:
                out[devino_of(p)] = str(p)
            except OSError:
                pass
    for p in extra:
        try:
            out[devino_of(p, follow=True)] = str(p)
        except OSError:
            pass
    return out


def cgroup_dirs(cid):
    """The container's cgroup directories on this host (every hierarchy), by name."""
    out = []
    for base in Path("/sys/fs/cgroup").iterdir():
        for d in (base / "berth" / cid, base / cid, base / "unified" / cid):
            if d.is_dir():
                out.append(d)
    for p in Path("/sys/fs/cgroup").glob(f"*/*/{cid}"):
        out.append(p)
    return out


def reached_host(records, host, binary=None, binary_path=None):
    """The findings among reach records: what of the host the attacker opened.

    - a directory whose ".." chain does not end at the container's "/" (a host directory);
    - a file of `host` (state dir, exec fifo, bundle, log...), by device and inode;
    - the runtime binary when it was writable (w=1: access(W_OK) succeeded on the inode the
      runtime runs from; a read-only view (EROFS) or a sealed copy is not the binary);
    - /proc/PID/mem opened read-write.
    """
    found = []
    links = {}
    for r in records:
        if r.kind != "reach":
            continue
        where, link = r["where"], r.get("link", "")
        if where.endswith("/.."):
            link = f"(the parent of {links.get(where[:-3], where[:-3])})"
        links[where] = link
        w = " (writable)" if r.get("w") == "1" or r.get("wopen") == "ok" else ""
        times = f" [{r['count']}x]" if "count" in r else ""
        if r["type"] == "mem":
            found.append(f"{where}: opened read-write (the runtime's memory){times}")
            continue
        key = r.devino
        if binary is not None and key == binary:
            if w:
                found.append(f"{where}: the runtime binary {binary_path or link}, writable "
                             f"(wopen={r.get('wopen', '-')}){times}")
            continue
        if r["type"] == "dir" and r.get("inroot") == "0":
            name = host.get(key, link or "?")
            found.append(f"{where}: host directory {name}{w}{times}")
        elif key in host:
            found.append(f"{where}: host {r['type']} {host[key]}{w}{times}")
    return found


def stats(records):
    for r in records:
        if r.kind == "stats":
            return {k: int(v) for k, v in r.items()}
    return None


class Rounds:
    """Iterate race rounds (see ROUNDS): berth-oci is held to at least MIN_ROUNDS."""

    def __init__(self, runner, rounds=None, seconds=None):
        self.strict = runner.name == "berth-oci"
        self.rounds = rounds or ROUNDS
        self.min_rounds = min(self.rounds, MIN_ROUNDS)
        self.seconds = seconds or (STRICT_SECONDS if self.strict else SECONDS)
        self.done = 0
        self.t0 = None

    def __iter__(self):
        self.t0 = time.monotonic()
        while self.done < self.rounds:
            elapsed = time.monotonic() - self.t0
            if elapsed >= self.seconds and (not self.strict or self.done >= self.min_rounds):
                return
            if elapsed >= MAX_SECONDS:
                raise AssertionError(f"only {self.done} of {self.min_rounds} rounds in "
                                     f"{MAX_SECONDS:.0f}s: too slow to show the race closed")
            yield self.done
            self.done += 1

    def __str__(self):
        return f"{self.done} rounds in {time.monotonic() - self.t0:.1f}s"


def wait_for(path, timeout=10):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} did not appear in {timeout}s")
        time.sleep(0.01)


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class BinaryCopy:
    """The runtime's binary copied into the test's directory; the runner runs the copy."""

    def __init__(self, runner, workdir):
        self.runner = runner
        self.original_argv = list(runner.argv)
        # the binary is the last element: crun's argv is an `unshare ... sh -c` wrapper
        self.original = Path(os.path.realpath(runner.argv[-1]))
        self.path = workdir.path / f"bin-{runner.name}" / self.original.name
        self.path.parent.mkdir()
        shutil.copy2(self.original, self.path)
        self.sha256 = sha256(self.path)
        st = os.stat(self.path)
        self.devino = (f"{os.major(st.st_dev)}:{os.minor(st.st_dev)}", st.st_ino)
        runner.argv = [*runner.argv[:-1], str(self.path)]

    def changed(self):
        return sha256(self.path) != self.sha256

    def restore(self):
        self.runner.argv = self.original_argv


def kill_and_delete(runner, cid, timeout=10):
    """delete --force of a container with processes that are not its init (exec --detach):
    they are reparented to the test (a subreaper), which must reap them for the cgroup to
    empty, so kill them all first and reap while they go."""
    runner.kill(cid, "KILL", all=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        it.reap_orphans()
        p = runner.state(cid)
        if p.returncode != 0 or '"stopped"' in p.stdout:
            break
        time.sleep(0.02)
    it.reap_orphans()
    return runner.delete(cid, force=True)


def debug(*what):
    """With BERTH_SEC_DEBUG=1 (and pytest -s), print what a test saw (CompletedProcess or
    text): whether a runtime refused an attack or held."""
    if os.environ.get("BERTH_SEC_DEBUG"):
        for w in what:
            print(it.describe(w) if hasattr(w, "returncode") else w)


def pid_alive(pid):
    """pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except FileNotFoundError:
        return False
    return data[data.rindex(")") + 2] != "Z"


def force_cleanup(cid, pids=()):
    """What a peer left of a container it could not delete: kill its processes (the given
    pids and those of its cgroups), reap them, remove its (then empty) cgroup directories.
    Only the container's own cgroups are read (cgroup.procs) and removed."""
    dirs = cgroup_dirs(cid)
    pids = set(pids)
    for d in dirs:
        try:
            pids.update(int(x) for x in (d / "cgroup.procs").read_text().split())
        except OSError:
            pass
    for pid in pids:
        try:
            os.kill(pid, 9)
        except OSError:
            pass
    deadline = time.monotonic() + 5
    while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
        it.reap_orphans()
        time.sleep(0.02)
    it.reap_orphans()
    for d in sorted(dirs, key=lambda p: len(p.parts), reverse=True):
        for _ in range(50):
            try:
                d.rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                it.reap_orphans()
                time.sleep(0.02)
