"""runc's published advisories, each tried for real (issue 9 §1).

CVE-2019-5736 is in test_runtime_process.py (the binary).  Here:

- CVE-2019-16884, CVE-2023-27561: something that is not procfs mounted on /proc, directly or
  through a symlinked destination (/vol -> /proc): refused, or /proc stays procfs and no
  write of the runtime lands in the fake.
- CVE-2019-19921: a mount destination on a volume raced into /proc by a host-side racer.
- CVE-2021-30465: a mount destination on a shared volume swapped with a symlink to / while
  create mounts there: nothing is ever mounted outside the rootfs.
- CVE-2024-21626: process.cwd and exec --cwd /proc/self/fd/N: refused or inside.
- CVE-2025-31133: masked paths bound from a /dev/null that is not the char device 1:3.
- CVE-2025-52565: /dev/console bound from a /dev/pts/N that is a symlink.
- CVE-2025-52881: the runtime's writes to /proc (sysctls, oom_score_adj) redirected by a
  fake /proc or by mounts over /proc entries.

Races run with a host-side racer (`attacker swap`, renameat2 RENAME_EXCHANGE in a loop) for
sec.ROUNDS rounds (berth-oci) or sec.SECONDS (peers).  Every container runs with the runtime in
a mount namespace of the test (private from the host, its mounts shared among themselves), so
a mount that would reach the host reaches only that namespace, where the test sees it; sysctl
tests also give the runtime a network and IPC namespace of its own.
"""

import os
import socket
import subprocess
import threading

import pytest

import sec

it = sec.it
describe = it.describe

PROC_MAGIC = "0x9fa0"
FAKE_MARKER = "BERTH_FAKE_PROC"

# Checked against Debian 12's peers: runc 1.1.5+ds1-1+deb12u1, crun 1.8.1.
RUNC_2025 = "runc before 1.2.8 (Debian's 1.1.5) is vulnerable to CVE-2025-31133/52565/52881"


def xfail_peer(runtime, failed, reasons):
    if failed and runtime.name in reasons:
        pytest.xfail(f"{runtime.name}: {reasons[runtime.name]}")


# --------------------------------------------------------------------------------------------
# helpers


FAKE_FILES = ("self/oom_score_adj", "self/attr/exec", "self/attr/current",
              "self/attr/apparmor/exec", "sys/kernel/shmmni", "sys/kernel/domainname",
              "sys/kernel/hostname", "sys/net/ipv4/ip_forward", "sys/fs/mqueue/msg_max",
              "self/timens_offsets", FAKE_MARKER)


def make_fake_proc(path):
    """A directory that looks like /proc to a careless runtime; snapshot() tells whether
    anything wrote into it."""
    for f in FAKE_FILES:
        p = path / f
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("fake\n")
    return path


def snapshot(path):
    out = {}
    for dirpath, _, filenames in os.walk(path):
        for n in filenames:
            p = os.path.join(dirpath, n)
            with open(p, "rb") as f:
                out[os.path.relpath(p, path)] = f.read()
    return out


def changed(before, after, where):
    out = []
    for k in sorted(set(before) | set(after)):
        if before.get(k) != after.get(k):
            out.append(f"{where}/{k}: {before.get(k)!r} -> {after.get(k)!r}")
    return out


def proc_writes(config):
    """Give the runtime reasons to write to /proc after the mounts: an oom_score_adj and
    sysctls of the container's own IPC and network namespaces."""
    config["process"]["oomScoreAdj"] = 123
    config["linux"]["sysctl"] = {"kernel.shmmni": "4000", "net.ipv4.ip_forward": "1"}


def stat_records(p):
    return {r["path"]: r for r in sec.parse(p.stdout) if r.kind == "stat"}


class Sandboxed:
    """The runner inside a mount namespace of the test: private from the host, its own mounts
    shared among themselves, so a runtime that does not make the container's mounts private
    or slave propagates them back here, where new_mounts() sees them (the namespace is held by
    a sleeping process; its mountinfo is read from the host).  With net=True, the runner also
    gets a network and IPC namespace of its own."""

    def __init__(self, runner, net=False):
        self.runner = runner
        self.holder = it.spawn(["unshare", "-m", "--propagation", "private",
                                *(["--net", "--ipc"] if net else []), "sh", "-c",
                                "mount --make-rshared / && echo ready && exec sleep 1000"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert self.holder.stdout.readline().strip() == b"ready", "the sandbox did not start"
        pid = self.holder.pid
        self.mountinfo = f"/proc/{pid}/mountinfo"
        self.prefix = ["nsenter", f"--mount=/proc/{pid}/ns/mnt",
                       *([f"--net=/proc/{pid}/ns/net", f"--ipc=/proc/{pid}/ns/ipc"] if net
                         else []), "--"]
        self.baseline = self._ids()

    def _ids(self):
        with open(self.mountinfo) as f:
            return {line.split()[0]: line.strip() for line in f}

    def run(self, bundle, cid, **kw):
        saved = self.runner.argv
        self.runner.argv = self.prefix + saved
        try:
            return self.runner.run(bundle, cid, **kw)
        finally:
            self.runner.argv = saved

    def new_mounts(self):
        return [line for mid, line in self._ids().items() if mid not in self.baseline]

    def close(self):
        self.holder.kill()
        self.holder.wait()
        self.holder.stdout.close()


@pytest.fixture
def sandbox(runtime):
    s = Sandboxed(runtime, net=True)
    yield s
    s.close()


def run_checked(runtime, bundle, cid, sandbox=None):
    """A foreground run; returns (CompletedProcess, mounts left in the sandbox).  A refused
    run that left state behind is deleted."""
    p = sandbox.run(bundle, cid) if sandbox else runtime.run(bundle, cid)
    if p.returncode != 0 and (runtime.root / cid).exists():
        runtime.delete(cid, force=True)
    return p, sandbox.new_mounts() if sandbox else []


def control_run(runtime, bundle, cid, sandbox=None):
    """The same config without the attack must run: a refusal then means the attack."""
    p, _ = run_checked(runtime, bundle, cid, sandbox)
    assert p.returncode == 0, "the config without the attack does not run:\n" + describe(p)


# --------------------------------------------------------------------------------------------
# CVE-2019-16884, CVE-2023-27561: not procfs on /proc


@pytest.mark.parametrize("how", ["bind", "tmpfs", "symlink-dest"])
def test_proc_must_be_procfs(runtime, sec_bundle, cid, workdir, sandbox, how):
    """A bind mount of a fake /proc, a tmpfs on /proc, or a bind on /vol where the rootfs has
    /vol -> /proc: refused, or the container's /proc is procfs and nothing wrote into the
    fake."""
    b = sec_bundle
    proc_writes(b.config)
    b.process["args"] = ["/attacker", "stat", "/proc", f"/proc/{FAKE_MARKER}"]
    control_run(runtime, b, cid + "-control", sandbox)
    fake = make_fake_proc(workdir.path / "fakeproc")
    before = snapshot(fake)
    if how == "bind":
        b.config["mounts"].append({"destination": "/proc", "type": "bind", "source": str(fake),
                                   "options": ["rbind"]})
    elif how == "tmpfs":
        b.config["mounts"].append({"destination": "/proc", "type": "tmpfs", "source": "tmpfs"})
    else:
        os.symlink("/proc", b.rootfs / "vol")
        b.config["mounts"].append({"destination": "/vol", "type": "bind", "source": str(fake),
                                   "options": ["rbind"]})
    p, mounts = run_checked(runtime, b, cid, sandbox)
    sec.debug(p)
    found = changed(before, snapshot(fake), str(fake))
    found += [f"mount propagated out of the container: {m}" for m in mounts]
    if p.returncode == 0:
        st = stat_records(p)
        proc = st.get("/proc", {})
        if proc.get("magic") != PROC_MAGIC or proc.get("mount") != "proc":
            found.append(f"the container's /proc is not procfs: {proc}")
        if st.get(f"/proc/{FAKE_MARKER}", {}).get("errno") != "ENOENT":
            found.append(f"the fake /proc is visible at /proc: {st.get(f'/proc/{FAKE_MARKER}')}")
    xfail_peer(runtime, found, {"crun": "crun 1.8 lets a non-procfs mount cover /proc"})
    assert not found, (f"{runtime.name}: {how} on /proc (rc {p.returncode}):\n  "
                       + "\n  ".join(found) + "\n" + describe(p))


# --------------------------------------------------------------------------------------------
# races on a volume: CVE-2019-19921, CVE-2021-30465


class Racer:
    """`attacker swap DIR A B` on the host: exchanges A and B in a tight loop."""

    def __init__(self, attacker, d, a, b):
        self.p = it.spawn([str(attacker), "swap", str(d), a, b], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE)

    def stop(self):
        alive = self.p.poll() is None
        self.p.kill()
        _, err = self.p.communicate()
        return alive, err.decode(errors="replace")


def mount_race(runtime, bundle, cid, workdir, sandbox, attacker, target, check):
    """Volume V bound at /vol, SRC bound at /vol/dst; the racer exchanges V/dst (a directory)
    and V/alt (a symlink to `target`) while the container is created.  check(p) returns the
    findings of one round."""
    vol = workdir.path / "vol"
    (vol / "dst").mkdir(parents=True)
    os.symlink(target, vol / "alt")
    src = workdir.path / "src"
    src.mkdir(exist_ok=True)
    (src / "SRC_MARKER").write_text("src\n")
    bundle.config["mounts"] += [
        {"destination": "/vol", "type": "bind", "source": str(vol), "options": ["rbind"]},
        {"destination": "/vol/dst", "type": "bind", "source": str(src), "options": ["rbind"]}]
    control_run(runtime, bundle, cid + "-control", sandbox)
    racer = Racer(attacker, vol, "dst", "alt")
    found, refused = [], 0
    rounds = sec.Rounds(runtime)
    try:
        for i in rounds:
            p, mounts = run_checked(runtime, bundle, f"{cid}-{i}", sandbox)
            found += [f"round {i}: mount propagated out of the container: {m}" for m in mounts]
            if p.returncode != 0:
                refused += 1
            else:
                found += [f"round {i}: {f}" for f in check(p)]
            if len(found) > 10:
                break
    finally:
        alive, err = racer.stop()
    assert alive, f"the racer died: {err}"
    sec.debug(f"{runtime.name}: {rounds}, {refused} refused")
    left = sorted(os.listdir(vol))
    if left != ["alt", "dst"]:
        found.append(f"the volume holds {left}: the runtime created something in it")
    return found, f"{rounds}, {refused} refused"


def test_cve_2019_19921_mount_raced_into_proc(runtime, sec_bundle, cid, workdir, sandbox,
                                              attacker):
    """A bind of a fake /proc at /vol/dst while a racer swaps /vol/dst with a symlink to
    /proc: the container's /proc stays procfs, the runtime never writes into the fake."""
    b = sec_bundle
    proc_writes(b.config)
    b.process["args"] = ["/attacker", "stat", "/proc", f"/proc/{FAKE_MARKER}"]
    # the fake /proc is the source of the /vol/dst mount
    fake = make_fake_proc(workdir.path / "src")
    (fake / "SRC_MARKER").write_text("src\n")
    before = snapshot(fake)

    def check(p):
        st = stat_records(p)
        proc = st.get("/proc", {})
        out = []
        if proc.get("magic") != PROC_MAGIC or proc.get("mount") != "proc":
            out.append(f"the container's /proc is not procfs: {proc}")
        if st.get(f"/proc/{FAKE_MARKER}", {}).get("errno") != "ENOENT":
            out.append("the fake /proc (the /vol/dst source) is mounted on /proc")
        return out

    found, summary = mount_race(runtime, b, cid, workdir, sandbox, attacker, "/proc", check)
    found += changed(before, snapshot(fake), str(fake))
    xfail_peer(runtime, found, {
        "crun": "crun 1.8 lets a non-procfs mount cover /proc (here through the symlink, no "
                "race needed)",
        "runc": "runc 1.1.5 loses the race now and then: the racer redirects its sysctl writes "
                "into the fake /proc (CVE-2025-52881, fixed in runc 1.2.8)"})
    assert not found, (f"{runtime.name}: CVE-2019-19921 ({summary}):\n  " + "\n  ".join(found))


def test_cve_2021_30465_symlink_exchange(runtime, sec_bundle, cid, workdir, sandbox, attacker):
    """A bind of SRC at /vol/dst while a racer swaps /vol/dst with a symlink to /: SRC is
    mounted on the directory that was /vol/dst (the racer keeps renaming it: /vol/dst or
    /vol/alt) or the create fails; never on /, never outside the rootfs (the test's mount
    namespace and the host's stay as they were)."""
    b = sec_bundle
    b.process["args"] = ["cat", "/proc/self/mountinfo"]
    src = str(workdir.path / "src")
    rootfs = str(b.rootfs)

    def check(p):
        # mount points are read from mountinfo, which names them as they are now: stable
        # against the racer (a path lookup would race with it)
        out = []
        lines = [line.split() for line in p.stdout.splitlines() if " - " in line]
        if not lines:
            return [f"no mountinfo from the container: {p.stdout!r}"]
        for f in lines:
            root, mp = f[3], f[4]
            if mp == "/" and not root.endswith(rootfs):
                out.append(f"the container's / is {root}, not its rootfs")
            if root.endswith(src) and mp not in ("/vol/dst", "/vol/alt"):
                out.append(f"SRC ({src}) is mounted on {mp}")
        if not any(f[3].endswith(src) for f in lines):
            out.append(f"SRC ({src}) is not mounted in the container")
        return out

    found, summary = mount_race(runtime, b, cid, workdir, sandbox, attacker, "/", check)
    assert not found, (f"{runtime.name}: CVE-2021-30465 ({summary}):\n  " + "\n  ".join(found))


# --------------------------------------------------------------------------------------------
# CVE-2024-21626: cwd through a leaked fd

FD_RANGE = range(3, 16)


def cwd_findings(p, n):
    for r in sec.parse(p.stdout):
        if r.kind == "reach" and r["where"] == "cwd" and r.get("inroot") != "1":
            return [f"cwd /proc/self/fd/{n} is the host directory {r['link']}"]
    return []


def test_cve_2024_21626_process_cwd(runtime, sec_bundle, cid):
    """process.cwd = /proc/self/fd/N for N in 3..15: create fails, or the cwd is inside."""
    found, ran = [], 0
    sec_bundle.process["args"] = ["/attacker", "cwd"]
    for n in FD_RANGE:
        sec_bundle.process["cwd"] = f"/proc/self/fd/{n}"
        p = runtime.run(sec_bundle, f"{cid}-{n}")
        if p.returncode == 0:
            ran += 1
            found += cwd_findings(p, n)
        else:
            runtime.delete(f"{cid}-{n}", force=True)
    assert not found, f"{runtime.name}: " + "\n  ".join(found)


def test_cve_2024_21626_exec_cwd(runtime, sec_bundle, cid):
    """exec --cwd /proc/self/fd/N into a running container: refused or inside."""
    sec_bundle.process["args"] = ["sleep", "1000"]
    p = runtime.run(sec_bundle, cid, detach=True)
    assert p.returncode == 0, describe(p)
    found = []
    try:
        for n in FD_RANGE:
            p = runtime.cmd("exec", "--cwd", f"/proc/self/fd/{n}", cid, "/attacker", "cwd")
            if p.returncode == 0:
                found += cwd_findings(p, n)
    finally:
        sec.kill_and_delete(runtime, cid)
    assert not found, f"{runtime.name}: " + "\n  ".join(found)


# --------------------------------------------------------------------------------------------
# CVE-2025-31133: masked paths and /dev/null

MASKED_FILES = [p for p in ("/proc/keys", "/proc/timer_list", "/proc/kcore", "/proc/sched_debug",
                            "/proc/latency_stats", "/proc/timer_stats")
                if os.path.isfile(p)]


def without_dev_tmpfs(config):
    config["mounts"] = [m for m in config["mounts"] if m["destination"] != "/dev"]


@pytest.mark.parametrize("how", ["symlink-to-file", "symlink-to-procfs", "bind-file"])
def test_cve_2025_31133_masked_paths_use_the_real_dev_null(runtime, sec_bundle, cid, workdir,
                                                          how):
    """Masked files are covered with the char device 1:3, never with what a /dev/null that
    is a symlink (to a rootfs file, to a procfs file) or a bound regular file points to."""
    b = sec_bundle
    assert MASKED_FILES, "none of the usual masked files exists on this kernel"
    b.config["linux"]["maskedPaths"] = sorted(set(b.config["linux"]["maskedPaths"])
                                              | set(MASKED_FILES))
    # to /out, not stdout: runc swaps a stdio fd that looks like its /dev/null (same rdev)
    b.process["args"] = ["sh", "-c", "/attacker stat " + " ".join(MASKED_FILES) + " > /out/stat"]
    evil = b.rootfs / "evil-null"
    evil.write_text("not /dev/null\n")
    if how == "bind-file":
        host_file = workdir.path / "not-null"
        host_file.write_text("not /dev/null\n")
        b.config["mounts"].append({"destination": "/dev/null", "type": "bind",
                                   "source": str(host_file), "options": ["bind"]})
    else:
        without_dev_tmpfs(b.config)
        control_run(runtime, b, cid + "-control")
        (b.rootfs / "dev" / "null").unlink(missing_ok=True)
        target = "/evil-null" if how == "symlink-to-file" else "/proc/sys/kernel/domainname"
        os.symlink(target, b.rootfs / "dev" / "null")
    p = runtime.run(b, cid)
    sec.debug(p)
    found = []
    if p.returncode == 0:
        out = (b.out / "stat").read_text() if (b.out / "stat").exists() else ""
        st = {r["path"]: r for r in sec.parse(out) if r.kind == "stat"}
        found += [f"no stat of masked {m} from the container: {out!r}" for m in MASKED_FILES
                  if m not in st]
        for path, r in st.items():
            if r.get("type") != "chr" or r.get("rdev") != "1:3":
                found.append(f"masked {path} is {r.get('type')} rdev {r.get('rdev')} "
                             f"(fs magic {r.get('magic')}, writable={r.get('w')}), not the "
                             f"char device 1:3")
    else:
        runtime.delete(cid, force=True)
    xfail_peer(runtime, found, {"runc": RUNC_2025, "crun": "crun 1.8 binds what /dev/null "
                                "points to over masked paths (as runc did before 1.2.8)"})
    assert not found, (f"{runtime.name}: /dev/null {how}:\n  " + "\n  ".join(found) + "\n"
                       + describe(p))


# --------------------------------------------------------------------------------------------
# CVE-2025-52565: /dev/console


class ConsoleServer:
    """A --console-socket that keeps every pty master it gets open until close()."""

    def __init__(self, path):
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(str(path))
        self.srv.listen(4)
        self.srv.settimeout(10)
        self.fds = []
        self.t = threading.Thread(target=self._accept, daemon=True)
        self.t.start()

    def _accept(self):
        try:
            conn, _ = self.srv.accept()
            with conn:
                _, fds, _, _ = socket.recv_fds(conn, 4096, 4)
                self.fds += fds
        except OSError:
            pass

    def close(self):
        self.srv.close()
        self.t.join(5)
        for fd in self.fds:
            os.close(fd)


def test_cve_2025_52565_console_is_the_pty(runtime, sec_bundle, cid, workdir):
    """A config that covers /dev/pts with a directory of symlinks (0..63 -> a procfs file)
    and puts a real devpts elsewhere (/dev/ptmx reaches it through pts/ptmx): /dev/console
    must be the pty itself (a char device of major 136 on devpts), never what /dev/pts/N
    points to."""
    b = sec_bundle
    evil = workdir.path / "evilpts"
    evil.mkdir()
    for n in range(64):
        os.symlink("/proc/sys/kernel/domainname", evil / str(n))
    os.symlink("/dev/realpts/ptmx", evil / "ptmx")
    b.config["mounts"] += [
        {"destination": "/dev/realpts", "type": "devpts", "source": "devpts",
         "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
        {"destination": "/dev/pts", "type": "bind", "source": str(evil), "options": ["rbind"]}]
    b.process["terminal"] = True
    b.process["args"] = ["sh", "-c", "/attacker stat /dev/console > /out/console"]
    srv = ConsoleServer(workdir.path / "console.sock")
    try:
        p = runtime.create(b, cid, console_socket=workdir.path / "console.sock")
        sec.debug(p)
        found = []
        if p.returncode == 0:
            runtime.start(cid, check=True)
            runtime.wait_status(cid, "stopped")
            out = (b.out / "console").read_text() if (b.out / "console").exists() else ""
            sec.debug(out)
            r = {x["path"]: x for x in sec.parse(out) if x.kind == "stat"}.get("/dev/console")
            if not r:
                found.append(f"no stat of /dev/console: {out!r}")
            elif (r.get("type") != "chr" or not r.get("rdev", "").startswith("136:")
                  or r.get("mount") not in ("devpts", "-")):
                found.append(f"/dev/console is {r.get('type')} rdev {r.get('rdev')} on "
                             f"{r.get('mount')} (fs magic {r.get('magic')}, writable="
                             f"{r.get('w')}), not the pty")
        runtime.delete(cid, force=True)
    finally:
        srv.close()
    xfail_peer(runtime, found, {"runc": RUNC_2025})
    assert not found, f"{runtime.name}: " + "\n  ".join(found) + "\n" + describe(p)


# --------------------------------------------------------------------------------------------
# CVE-2025-52881: the runtime's writes to /proc


@pytest.mark.parametrize("how", ["fake-proc-dir", "binds-over-entries", "timens-fake-proc-dir"])
def test_cve_2025_52881_proc_writes_land_in_procfs(runtime, sec_bundle, cid, workdir, sandbox,
                                                  how):
    """The runtime's writes to /proc (sysctls, oom_score_adj, a time namespace's offsets) must
    be refused or land in the real procfs files of the container's own namespaces: never in a
    directory of the rootfs standing for /proc (no proc mount), never in host files bound over
    /proc entries."""
    b = sec_bundle
    proc_writes(b.config)
    b.config["mounts"].append({"destination": "/realproc", "type": "proc", "source": "proc"})
    show = ["/realproc/sys/kernel/shmmni", "/realproc/sys/net/ipv4/ip_forward",
            "/realproc/self/oom_score_adj"]
    expect = ["4000", "1", "123"]
    if how.startswith("timens"):
        b.config["linux"]["namespaces"].append({"type": "time"})
        b.config["linux"]["timeOffsets"] = {"monotonic": {"secs": 1000, "nanosecs": 0}}
        show.append("/realproc/self/timens_offsets")
        expect += ["monotonic", "1000", "0", "boottime", "0", "0"]
    b.process["args"] = ["cat", *show]
    p, _ = run_checked(runtime, b, cid + "-control", sandbox)
    if p.returncode != 0 and how.startswith("timens") and runtime.name != "berth-oci":
        pytest.skip(f"{runtime.name} runs no time namespace here: {p.stderr.strip()[-200:]}")
    assert p.returncode == 0, "the config without the attack does not run:\n" + describe(p)
    if how.endswith("fake-proc-dir"):
        # writable, or the read-only rootfs alone would stop the writes
        b.config["root"]["readonly"] = False
        b.config["mounts"] = [m for m in b.config["mounts"] if m["destination"] != "/proc"]
        fake = make_fake_proc(b.rootfs / "proc")
    else:
        fake = make_fake_proc(workdir.path / "fakeproc")
        for f in ("sys/kernel/shmmni", "sys/net/ipv4/ip_forward", "self/oom_score_adj"):
            b.config["mounts"].append({"destination": f"/proc/{f}", "type": "bind",
                                       "source": str(fake / f), "options": ["bind"]})
    before = snapshot(fake)
    p, mounts = run_checked(runtime, b, cid, sandbox)
    sec.debug(p)
    found = changed(before, snapshot(fake), str(fake))
    found += [f"mount propagated out of the container: {m}" for m in mounts]
    if p.returncode == 0 and p.stdout.split() != expect:
        found.append(f"the real procfs of the container shows {' '.join(show)} = "
                     f"{p.stdout.split()} instead of {expect}")
    xfail_peer(runtime, found, {"runc": RUNC_2025})
    assert not found, (f"{runtime.name}: {how}:\n  " + "\n  ".join(found) + "\n" + describe(p))
