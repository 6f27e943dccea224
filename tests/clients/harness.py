"""The clients harness: the runtime under test behind an argv-logging wrapper,
daemons started once per module with private roots, and the busybox image.

Everything a client calls goes through `wrapper`, a shell script made per
session: it appends the call's argv (tab-separated, one line per call) to
`argv.log`, and then execs the runtime. A call without a global --root (podman's
own create/start/kill/delete pass no global flags at all) gets the session's
private state dir, so nothing is written under /run/berth-oci or /run/runc.
"""

import ctypes
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MKIMAGE = REPO / "tools" / "mkimage"
ALL_RUNTIMES = ("berth-oci", "runc", "crun")

PR_SET_CHILD_SUBREAPER = 36
_libc = ctypes.CDLL(None, use_errno=True)


def become_subreaper():
    """pid 1 need not be an init (a CI container or VM): the daemons' orphans must come to
    us."""
    if _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def reap():
    """Reap zombie children that no Popen waits for."""
    me = os.getpid()
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                rest = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if rest[0] == "Z" and int(rest[1]) == me:
            try:
                os.waitpid(int(d), os.WNOHANG)
            except ChildProcessError:
                pass


def berth_oci_path():
    p = os.environ.get("BERTH_OCI")
    return Path(p).resolve() if p else REPO / "build" / "berth-oci"


def selected_runtimes():
    sel = os.environ.get("BERTH_CLIENTS_RUNTIMES", "berth-oci")
    return [s.strip() for s in sel.split(",") if s.strip()]


def runtime_exec_line(name):
    """The shell words that run the runtime (crun 1.8 in a private mount ns
    where cgroup2's controllers file is hidden, see shared/MACHINE-NOTES.md)."""
    if name == "berth-oci":
        return f'"{berth_oci_path()}"'
    path = shutil.which(name)
    if not path:
        return None
    if name == "crun" and os.path.exists("/sys/fs/cgroup/unified/cgroup.controllers"):
        return ("unshare -m sh -c 'mount --bind /dev/null "
                "/sys/fs/cgroup/unified/cgroup.controllers && exec \"$0\" \"$@\"' " + path)
    return f'"{path}"'


WRAPPER = """#!/bin/sh
# argv-logging wrapper for {name}: log, then exec the runtime.
{{ printf '%s' "$$"; for a; do printf '\\t%s' "$a"; done; printf '\\n'; }} >> "{log}"
case " $* " in
*" --root "*|*" --root="*) exec {runtime} "$@" ;;
esac
exec {runtime} --root "{state}" "$@"
"""


class Wrapper:
    """The runtime `name` behind a logging wrapper in `base`."""

    def __init__(self, name, base):
        self.name = name
        self.base = Path(base)
        self.path = self.base / f"{name}-wrapper"
        self.log = self.base / "argv.log"
        self.state = self.base / "runtime-state"
        line = runtime_exec_line(name)
        if line is None:
            raise FileNotFoundError(name)
        self.path.write_text(WRAPPER.format(name=name, log=self.log, runtime=line,
                                            state=self.state))
        self.path.chmod(0o755)
        self.log.touch()

    def calls(self):
        """Every logged call: a list of argv lists (without the runtime's name)."""
        out = []
        for line in self.log.read_text().splitlines():
            out.append(line.split("\t")[1:])
        return out

    def commands(self):
        """The command of each call (the first word that is not a global flag)."""
        out = []
        for argv in self.calls():
            i = 0
            while i < len(argv) and argv[i].startswith("-"):
                flag = argv[i]
                i += 1
                if "=" not in flag and flag in ("--root", "--log", "--log-format", "--criu"):
                    i += 1
            out.append((argv[i] if i < len(argv) else "", argv))
        return out


def busybox_archive(dest):
    """A docker-archive of busybox:latest made by tools/mkimage."""
    subprocess.run([str(MKIMAGE), "busybox", str(dest), "--format", "docker-archive",
                    "--name", "busybox:latest"], check=True, capture_output=True)
    return dest


def run(argv, timeout=60, check=False, **kw):
    kw.setdefault("stdin", subprocess.DEVNULL)
    p = subprocess.run(list(map(str, argv)), capture_output=True, text=True, timeout=timeout,
                       **kw)
    reap()
    if check:
        assert p.returncode == 0, describe(p)
    return p


def describe(p):
    args = " ".join(map(str, p.args)) if not isinstance(p.args, str) else p.args
    return f"$ {args}\nexit {p.returncode}\n--- stdout\n{p.stdout}--- stderr\n{p.stderr}"


def wait_for(pred, timeout=20, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not true after {timeout}s")
        reap()
        time.sleep(0.1)


class Daemon:
    """A daemon started by a test module, stopped with SIGTERM (then SIGKILL)."""

    def __init__(self, argv, log_path, env=None):
        self.log_path = Path(log_path)
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(list(map(str, argv)), stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, env=env, start_new_session=True)

    def alive(self):
        return self.proc.poll() is None

    def output(self):
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def stop(self, timeout=15):
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        reap()


def kill_leftovers(text):
    """SIGKILL every process whose command line names `text` (a private dir)."""
    me = os.getpid()
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me:
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmd:
            try:
                os.kill(int(d), signal.SIGKILL)
            except OSError:
                pass
    time.sleep(0.2)
    reap()


def umount_below(prefix):
    """Lazily unmount everything mounted below prefix (deepest first)."""
    prefix = str(prefix).rstrip("/") + "/"
    for _ in range(5):
        with open("/proc/self/mountinfo") as f:
            mps = [line.split()[4].encode().decode("unicode_escape") for line in f]
        mine = [m for m in mps if (m + "/").startswith(prefix)]
        if not mine:
            return
        for m in sorted(set(mine), key=len, reverse=True):
            subprocess.run(["umount", "-l", m], capture_output=True)


# ---- a network namespace of the test's own, and a check that the host's stayed as it was ------

class PrivateNetns:
    """A persistent network namespace bound on `path` (unshare --net=PATH), with lo up. A client
    run through argv() does all its networking there: bridges, veths, iptables chains and rules
    (including the built-in chains the first use of iptables creates), net.ipv4.ip_forward. All
    of it goes away with the namespace: nothing to restore on the host."""

    def __init__(self, path):
        self.path = Path(path)
        self.path.touch()
        run(["unshare", f"--net={self.path}", "true"], check=True)
        run(self.argv("ip", "link", "set", "lo", "up"), check=True)

    def argv(self, *cmd):
        return ["nsenter", f"--net={self.path}", *map(str, cmd)]

    def close(self):
        subprocess.run(["umount", str(self.path)], capture_output=True)
        try:
            self.path.unlink()
        except OSError:
            pass


def _iptables_state(cmd):
    """{table: (chains, rules)} from iptables-save (or ip6tables-save); {} without the tool.
    iptables-save only reads: it creates no table or chain, unlike a first `iptables -L`."""
    if not shutil.which(cmd):
        return {}
    out = subprocess.run([cmd], capture_output=True, text=True).stdout
    tables, cur = {}, None
    for line in out.splitlines():
        if line.startswith("*"):
            cur = tables.setdefault(line[1:], (set(), []))
        elif cur is None or line.startswith("#") or line == "COMMIT":
            continue
        elif line.startswith(":"):
            cur[0].add(line[1:].split()[0])
        elif line.startswith("-A "):
            cur[1].append(line)
    return tables


def _is_mountpoint(path):
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == path for line in f)


def _link_names():
    out = subprocess.run(["ip", "-br", "link"], capture_output=True, text=True).stdout
    return {line.split()[0].split("@")[0] for line in out.splitlines() if line.strip()}


class HostNetState:
    """The host's network state, read (never written) before a test that runs podman's network
    stack in a PrivateNetns: net.ipv4.ip_forward, the iptables and ip6tables tables, chains and
    rules, whether a link named `bridge` exists (the bridge plugin would make it, with its veths,
    in the namespace podman runs in). changes() says what differs afterwards: anything is a leak
    out of the private namespace. The files podman keeps on the host's file system for its networks (the CNI
    result cache in /var/lib/cni, the /run/netns bind mounts of containers' namespaces) are not
    network state: cleanup_files() removes them when the test made them."""

    FORWARD = "/proc/sys/net/ipv4/ip_forward"
    SAVERS = ("iptables-save", "ip6tables-save")
    PATHS = ("/var/lib/cni", "/run/netns")

    def __init__(self, bridge):
        self.bridge = bridge
        self.forward = Path(self.FORWARD).read_text().strip()
        self.tables = {save: _iptables_state(save) for save in self.SAVERS}
        assert bridge not in _link_names(), f"a link {bridge} is already on the host"
        self.existed = {p: os.path.exists(p) for p in self.PATHS}
        self.mounted = _is_mountpoint("/run/netns")

    def changes(self):
        """A description of what differs from the snapshot (empty: nothing)."""
        out = []
        fwd = Path(self.FORWARD).read_text().strip()
        if fwd != self.forward:
            out.append(f"ip_forward {self.forward} -> {fwd}")
        for save in self.SAVERS:
            now, before = _iptables_state(save), self.tables[save]
            for t in sorted(set(now) | set(before)):
                chains, rules = now.get(t, (set(), []))
                bchains, brules = before.get(t, (set(), []))
                out += [f"{save} {t}: new chain {c}" for c in sorted(chains - bchains)]
                out += [f"{save} {t}: chain {c} gone" for c in sorted(bchains - chains)]
                out += [f"{save} {t}: new {r}" for r in rules if r not in brules]
                out += [f"{save} {t}: gone {r}" for r in brules if r not in rules]
        if self.bridge in _link_names():
            out.append(f"new link {self.bridge}")
        out += [f"{p} created" for p in self.PATHS if os.path.exists(p) and not self.existed[p]]
        return out

    def cleanup_files(self):
        if not self.existed["/var/lib/cni"]:
            shutil.rmtree("/var/lib/cni", ignore_errors=True)
        if not self.existed["/run/netns"] or not self.mounted:
            if _is_mountpoint("/run/netns") and not os.listdir("/run/netns"):
                subprocess.run(["umount", "/run/netns"], capture_output=True)
        if not self.existed["/run/netns"]:
            try:
                os.rmdir("/run/netns")
            except OSError:
                pass
