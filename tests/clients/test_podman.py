"""podman (Debian's 4.3) driving the runtime as a drop-in: --runtime points at
the argv-logging wrapper; cgroupfs manager, file events, private storage (vfs),
an image loaded from a busybox tar, no network (--network none) except for
test_published_port, which gets a CNI network of its own in a network namespace
of its own (see private_network).

Without CAP_SYS_RESOURCE (which CI machines and containers may grant no
process), podman's default rlimits (nofile and nproc 1048576) are above the
hard limits and no runtime can set them, so every run passes limits any host
can grant (ULIMITS); test_default_rlimits_error checks the error that the
clients show otherwise.
"""

import fcntl
import json
import os
import pty
import select
import shutil
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

import harness
from conftest import check_runtime, module_dir
from harness import describe

ULIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=4096:4096"]
SLEEPER = 'echo started; trap "exit 0" TERM; while :; do sleep 0.1; done'


class Podman:
    def __init__(self, base, wrapper, wrap=()):
        """wrap: an argv prefix every podman command runs under (e.g. nsenter --net=...)."""
        self.base = base
        self.wrapper = wrapper
        self.wrap = list(wrap)
        self.argv = ["podman", "--root", base / "storage", "--runroot", base / "run",
                     "--tmpdir", base / "tmp", "--storage-driver", "vfs",
                     "--cgroup-manager", "cgroupfs", "--events-backend", "file",
                     "--network-config-dir", base / "cni", "--runtime", wrapper.path,
                     "--log-level", "error"]

    def cmd(self, *args, check=False, timeout=90, **kw):
        return harness.run([*self.wrap, *self.argv, *args], check=check, timeout=timeout, **kw)

    def ok(self, *args, **kw):
        return self.cmd(*args, check=True, **kw).stdout

    def run_(self, *args, **kw):
        """podman run --rm --network none ULIMITS ARGS"""
        return self.cmd("run", "--rm", "--network", "none", *ULIMITS, *args, **kw)


@pytest.fixture(scope="module")
def podman(oci_runtime, busybox_tar):
    if not shutil.which("podman") or not shutil.which("conmon"):
        pytest.skip("podman or conmon is not installed")
    check_runtime(oci_runtime)
    base = module_dir("berth-podman-")
    wrapper = harness.Wrapper(oci_runtime, base)
    p = Podman(base, wrapper)
    p.ok("load", "-q", "-i", busybox_tar)
    yield p
    p.cmd("rm", "-af", "-t", "0")
    p.cmd("rmi", "-af")
    harness.kill_leftovers(str(base))
    harness.umount_below(base)
    shutil.rmtree(base, ignore_errors=True)


def test_run_rm_echo(podman):
    p = podman.run_("busybox", "echo", "hello from podman")
    assert p.returncode == 0, describe(p)
    assert p.stdout == "hello from podman\n", describe(p)
    cmds = [c for c, _ in podman.wrapper.commands()]
    assert "create" in cmds and "start" in cmds and "delete" in cmds, cmds


@pytest.mark.parametrize("code", [0, 3, 42])
def test_exit_codes(podman, code):
    p = podman.run_("busybox", "sh", "-c", f"exit {code}")
    assert p.returncode == code, describe(p)


def test_exit_by_signal(podman):
    """A container killed by SIGKILL exits 137 (a pid namespace's init ignores
    SIGKILL from inside: it comes from podman)."""
    name = "killed"
    podman.ok("run", "-d", "--name", name, "--network", "none", *ULIMITS, "busybox",
              "sh", "-c", SLEEPER)
    try:
        podman.ok("kill", "-s", "KILL", name)
        p = podman.cmd("wait", name)
        assert p.stdout.strip() == "137", describe(p)
    finally:
        podman.cmd("rm", "-f", "-t", "0", name)


def test_command_not_found(podman):
    p = podman.run_("busybox", "/no/such/program")
    assert p.returncode in (126, 127), describe(p)
    assert "/no/such/program" in p.stderr, describe(p)


def test_default_rlimits_error(podman):
    """Without ULIMITS podman asks for nofile=1048576: the error names the
    rlimit, both values and the missing capability (berth-oci's wording)."""
    if podman.wrapper.name != "berth-oci":
        pytest.skip("the wording is berth-oci's")
    hard = int(subprocess.run(["sh", "-c", "ulimit -Hn"], capture_output=True,
                              text=True).stdout)
    if hard >= 1048576:
        pytest.skip("this host grants podman's default rlimits")
    p = podman.cmd("run", "--rm", "--network", "none", "busybox", "true")
    assert p.returncode != 0, describe(p)
    assert "RLIMIT_NOFILE" in p.stderr or "RLIMIT_NPROC" in p.stderr, describe(p)
    assert "1048576" in p.stderr and "CAP_SYS_RESOURCE" in p.stderr, describe(p)


def test_detached_exec_logs_stop_rm(podman):
    name = "web"
    podman.ok("run", "-d", "--name", name, "--network", "none", *ULIMITS, "busybox",
              "sh", "-c", SLEEPER)
    try:
        harness.wait_for(lambda: "started" in podman.cmd("logs", name).stdout, what="logs")
        p = podman.cmd("exec", name, "sh", "-c", "echo in-exec; cat /proc/1/cmdline; exit 7")
        assert p.returncode == 7, describe(p)
        assert p.stdout.startswith("in-exec\nsh"), describe(p)
        p = podman.cmd("exec", "-e", "FOO=bar", "-w", "/tmp", "-u", "65534", name, "sh", "-c",
                       "echo $FOO $(pwd) $(id -u)")
        assert p.stdout == "bar /tmp 65534\n", describe(p)
        podman.ok("exec", "-d", name, "sleep", "30")
        top = podman.ok("top", name)
        assert "sleep 30" in top, top
        podman.ok("stop", "-t", "10", name)
        st = podman.ok("inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name)
        assert st.split() == ["exited", "0"], st
    finally:
        podman.cmd("rm", "-f", "-t", "0", name)
    calls = podman.wrapper.commands()
    execs = [argv for c, argv in calls if c == "exec"]
    assert execs and all("--process" in a and "--detach" in a and "--pid-file" in a
                         for a in execs), execs
    assert any(c == "kill" for c, _ in calls)


def test_memory_and_pids_limits(podman):
    p = podman.run_("-m", "64m", "--pids-limit", "50", "busybox", "sh", "-c",
                    "cat /sys/fs/cgroup/memory/memory.limit_in_bytes "
                    "/sys/fs/cgroup/pids/pids.max 2>/dev/null || "
                    "cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/pids.max")
    assert p.returncode == 0, describe(p)
    assert p.stdout.split() == [str(64 << 20), "50"], describe(p)


def test_pause_unpause(podman):
    name = "paused"
    podman.ok("run", "-d", "--name", name, "--network", "none", *ULIMITS, "busybox",
              "sh", "-c", SLEEPER)
    try:
        podman.ok("pause", name)
        st = podman.ok("inspect", "--format", "{{.State.Status}}", name).strip()
        assert st == "paused", st
        p = podman.cmd("exec", name, "true")
        assert p.returncode != 0, describe(p)
        podman.ok("unpause", name)
        assert podman.ok("exec", name, "echo", "alive") == "alive\n"
    finally:
        podman.cmd("rm", "-f", "-t", "0", name)
    cmds = [c for c, _ in podman.wrapper.commands()]
    assert "pause" in cmds and "resume" in cmds, cmds


def test_uidmap(podman):
    p = podman.run_("--uidmap", "0:200000:65536", "--gidmap", "0:200000:65536", "busybox",
                    "sh", "-c", "cat /proc/self/uid_map /proc/self/gid_map; id -u")
    assert p.returncode == 0, describe(p)
    lines = [line.split() for line in p.stdout.splitlines()]
    assert lines == [["0", "200000", "65536"], ["0", "200000", "65536"], ["0"]], describe(p)


def _winsize(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def _read_until(fd, needle, timeout=20):
    buf = b""
    deadline = time.monotonic() + timeout
    while needle.encode() not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{needle!r} not seen; got {buf!r}")
        r, _, _ = select.select([fd], [], [], min(left, 0.2))
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
    return buf.decode(errors="replace").replace("\r\n", "\n")


def test_run_it_in_a_pty_with_resize(podman):
    """podman run -it on a real pty: the size is there from the first byte, a
    resize reaches the program, ^C goes to it, the exit code comes back."""
    master, slave = pty.openpty()
    _winsize(slave, 37, 111)

    def ctty():
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    # the resize reaches the pty through podman's SIGWINCH handler and conmon, in their own time:
    # the program waits until it sees a new size (at most 20 s), then prints it
    script = ("stty size; trap 'echo got-INT' INT; echo ready; read a; i=0; "
              "while [ \"$(stty size)\" = '37 111' ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); "
              "done; stty size; sleep 5; echo after-sleep; exit 5")
    argv = [*map(str, podman.argv), "run", "--rm", "-it", "--network", "none", *ULIMITS,
            "busybox", "sh", "-c", script]
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, preexec_fn=ctty)
    os.close(slave)
    try:
        out = _read_until(master, "ready")
        assert "37 111" in out.split("ready")[0], out
        _winsize(master, 41, 123)
        os.write(master, b"go\r")
        out = _read_until(master, "41 123")
        time.sleep(0.3)
        os.write(master, b"\x03")  # ^C: to the program, which traps it
        out += _read_until(master, "after-sleep")
        assert "got-INT" in out, out
        assert proc.wait(timeout=30) == 5
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


# ---- a published port on a private CNI network ------------------------------------------------

CNI_PLUGINS = ("bridge", "host-local", "portmap", "firewall", "tuning")


def _cni_conflist(name, bridge, subnet, ipam_dir):
    """podman 4.3's own conflist for `network create --subnet`, with two changes it has no flags
    for: a bridge name of our own (podman numbers cni-podmanN) and host-local's state in the
    test's directory instead of /var/lib/cni/networks."""
    gateway = subnet.rsplit(".", 1)[0] + ".1"
    return {
        "cniVersion": "0.4.0",
        "name": name,
        "plugins": [
            {"type": "bridge", "bridge": bridge, "isGateway": True, "ipMasq": True,
             "hairpinMode": True, "capabilities": {"ips": True},
             "ipam": {"type": "host-local", "dataDir": str(ipam_dir),
                      "routes": [{"dst": "0.0.0.0/0"}],
                      "ranges": [[{"subnet": subnet, "gateway": gateway}]]}},
            {"type": "portmap", "capabilities": {"portMappings": True}},
            {"type": "firewall", "backend": ""},
            {"type": "tuning"},
        ],
    }


@pytest.fixture
def private_network(podman):
    """A CNI bridge network private to the test, in a network namespace of its own: every podman
    command of the test runs there (nsenter --net), so the bridge, the veths, the plugins'
    iptables chains and rules (and the built-in chains that the first use of iptables on a
    machine creates) and net.ipv4.ip_forward are the namespace's, and go away with it. Yields
    (podman in the namespace, the namespace, network name, bridge, subnet). Afterwards the
    host's network state (read only: ip_forward, iptables-save, the bridge) must be as before,
    and the files podman left for the network on the host (/var/lib/cni, /run/netns) are
    removed when the test made them."""
    backend = podman.ok("info", "--format", "{{.Host.NetworkBackend}}").strip()
    if backend != "cni":
        pytest.skip(f"podman's network backend is {backend!r}: the test writes a CNI conflist")
    missing = [p for p in CNI_PLUGINS if not os.path.exists(f"/usr/lib/cni/{p}")]
    if missing or not shutil.which("iptables"):
        pytest.skip(f"CNI plugins {missing} or iptables missing (containernetworking-plugins)")
    name = f"berth-net-{podman.wrapper.name}"
    bridge = f"brth{os.getpid() % 100000}"
    subnet = "10.213.7.0/24"  # the namespace has no other address
    host = harness.HostNetState(bridge)
    ns = harness.PrivateNetns(podman.base / f"netns-{name}")
    inside = Podman(podman.base, podman.wrapper, wrap=ns.argv())
    conf = podman.base / "cni" / f"{name}.conflist"
    conf.parent.mkdir(exist_ok=True)
    conf.write_text(json.dumps(_cni_conflist(name, bridge, subnet, podman.base / "ipam"), indent=1))
    try:
        assert name in inside.ok("network", "ls", "--format", "{{.Name}}").split()
        yield inside, ns, name, bridge, subnet
    finally:
        inside.cmd("network", "rm", "-f", name)
        bridge_left = f"{bridge} " in _links(ns)
        ns.close()
        host.cleanup_files()
        left = host.changes()
    assert not bridge_left, f"podman network rm left the bridge {bridge}"
    assert not left, f"the host's network state changed: {left}"


def _links(ns):
    return harness.run(ns.argv("ip", "-br", "link"), check=True).stdout


def _fetch(ns, url, timeout=20):
    """(status, body) at url from inside the namespace, retried until the server answers (httpd
    needs a moment after start)."""
    script = ("import sys, urllib.request as u\n"
              "with u.build_opener(u.ProxyHandler({})).open(sys.argv[1], timeout=2) as r:\n"
              "    sys.stdout.write(str(r.status) + '\\n' + r.read().decode())\n")
    deadline = time.monotonic() + timeout
    while True:
        p = harness.run(ns.argv(sys.executable, "-c", script, url), timeout=30)
        if p.returncode == 0:
            status, body = p.stdout.split("\n", 1)
            return int(status), body
        if time.monotonic() > deadline:
            raise AssertionError(f"GET {url}: {describe(p)}")
        time.sleep(0.2)


def test_published_port(private_network):
    """podman run -d -p 127.0.0.1:PORT:8080 on a CNI bridge: busybox httpd in the container serves
    a file that podman's side (the test's network namespace) fetches through the port mapping
    (portmap's DNAT). The runtime joins the network namespace podman made (linux.namespaces
    network path in the bundle)."""
    podman, ns, net, bridge, subnet = private_network
    www = podman.base / "www"
    www.mkdir(exist_ok=True)
    body = f"served by busybox httpd under {podman.wrapper.name} via podman\n"
    (www / "index.html").write_text(body)
    port, name = 18080, "httpd"  # the namespace's own ports: all free
    n0 = len(podman.wrapper.calls())
    podman.ok("run", "-d", "--name", name, "--network", net, "-p", f"127.0.0.1:{port}:8080",
              *ULIMITS, "-v", f"{www}:/www:ro", "busybox",
              "httpd", "-f", "-p", "8080", "-h", "/www")
    try:
        status, got = _fetch(ns, f"http://127.0.0.1:{port}/")
        assert (status, got) == (200, body)
        fmt = f"{{{{(index .NetworkSettings.Networks \"{net}\").IPAddress}}}}"
        ip = podman.ok("inspect", "--format", fmt, name).strip()
        assert ip.startswith(subnet.rsplit(".", 1)[0] + "."), (ip, subnet)
        assert f"8080/tcp -> 127.0.0.1:{port}" in podman.ok("port", name)
        assert f"{bridge} " in _links(ns)
        creates = [argv for c, argv in podman.wrapper.commands()[n0:] if c == "create"]
        assert creates, podman.wrapper.calls()[n0:]
        bundle = creates[-1][creates[-1].index("--bundle") + 1]
        spec = json.loads(Path(bundle, "config.json").read_text())
        netns = [n for n in spec["linux"]["namespaces"] if n["type"] == "network"]
        assert netns and netns[0].get("path", "").startswith("/run/netns/"), netns
    finally:
        podman.cmd("rm", "-f", "-t", "0", name)


# ---- a client that insists on systemd cgroups -------------------------------------------------

def test_systemd_cgroup_refused(podman):
    """podman --cgroup-manager systemd passes --systemd-cgroup to the runtime: berth-oci refuses
    it with an error naming the option, which podman shows; nothing is left behind."""
    if podman.wrapper.name != "berth-oci":
        pytest.skip("the refusal is berth-oci's (runc and crun drive systemd)")
    if os.path.exists("/run/systemd/system"):
        pytest.skip("systemd runs here: podman would put conmon in a scope of the host's cgroups")
    argv = list(podman.argv)
    argv[argv.index("--cgroup-manager") + 1] = "systemd"
    n0 = len(podman.wrapper.calls())
    p = harness.run([*argv, "run", "--rm", "--name", "sysd", "--network", "none", *ULIMITS,
                     "busybox", "true"], timeout=90)
    assert p.returncode != 0, describe(p)
    assert "--systemd-cgroup" in p.stderr and "not supported" in p.stderr, describe(p)
    assert "use cgroupfs" in p.stderr, describe(p)
    calls = podman.wrapper.commands()[n0:]
    creates = [argv for c, argv in calls if c == "create"]
    assert creates, calls
    assert "--systemd-cgroup" in creates[0][:creates[0].index("create")], creates
    assert "start" not in [c for c, _ in calls], calls
    left = podman.ok("ps", "-a", "--format", "{{.Names}}").split()
    podman.cmd("rm", "-f", "-t", "0", "sysd")
    assert "sysd" not in left, "podman run --rm kept the container the runtime refused"
