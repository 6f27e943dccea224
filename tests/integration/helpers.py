"""Small helpers shared by the integration tests (no fixtures here)."""

import os
import select
import socket
import time

from conftest import CMD_TIMEOUT, reap_orphans

# A container that runs until it gets SIGTERM (a pid-namespace init ignores
# signals it has no handler for, so it needs the trap) and then exits 0.
SLEEPER = "trap 'exit 0' TERM; echo ready; sleep 1000 & wait"


def read_until(stream, needle, timeout=10):
    """Read a pipe until `needle` (str) appears; return everything read."""
    fd = stream.fileno()
    buf = b""
    deadline = time.monotonic() + timeout
    while needle.encode() not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"{needle!r} not seen in {timeout}s; got {buf!r}")
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            continue
        chunk = os.read(fd, 4096)
        if not chunk:
            raise AssertionError(f"EOF before {needle!r}; got {buf!r}")
        buf += chunk
    return buf.decode(errors="replace")


def pid_alive(pid):
    """pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except FileNotFoundError:
        return False
    return data[data.rindex(")") + 2] != "Z"


def wait_for_file(path, timeout=10, content=None):
    """Wait until `path` exists (and contains `content`, if given)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with open(path) as f:
                data = f.read()
            if content is None or content in data:
                return data
        except FileNotFoundError:
            data = None
        if time.monotonic() > deadline:
            raise AssertionError(f"{path}: {content!r} not there after {timeout}s "
                                 f"(has {data!r})")
        time.sleep(0.02)


def status_field(text, name):
    """The value of `Name:` in /proc/PID/status text."""
    for line in text.splitlines():
        if line.startswith(name + ":"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"{name}: not in {text!r}")


def parse_mountinfo(text):
    """{mount point: dict} from /proc/self/mountinfo text (last one wins)."""
    out = {}
    for line in text.splitlines():
        f = line.split()
        if len(f) < 10:
            continue
        sep = f.index("-")
        out[f[4]] = {
            "root": f[3],
            "opts": set(f[5].split(",")),
            "fstype": f[sep + 1],
            "source": f[sep + 2],
            "super": set(f[sep + 3].split(",")),
        }
    return out


CAP_NUMBERS = {
    "CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2,
    "CAP_FOWNER": 3, "CAP_FSETID": 4, "CAP_KILL": 5, "CAP_SETGID": 6,
    "CAP_SETUID": 7, "CAP_SETPCAP": 8, "CAP_LINUX_IMMUTABLE": 9,
    "CAP_NET_BIND_SERVICE": 10, "CAP_NET_BROADCAST": 11, "CAP_NET_ADMIN": 12,
    "CAP_NET_RAW": 13, "CAP_IPC_LOCK": 14, "CAP_IPC_OWNER": 15,
    "CAP_SYS_MODULE": 16, "CAP_SYS_RAWIO": 17, "CAP_SYS_CHROOT": 18,
    "CAP_SYS_PTRACE": 19, "CAP_SYS_PACCT": 20, "CAP_SYS_ADMIN": 21,
    "CAP_SYS_BOOT": 22, "CAP_SYS_NICE": 23, "CAP_SYS_RESOURCE": 24,
    "CAP_SYS_TIME": 25, "CAP_SYS_TTY_CONFIG": 26, "CAP_MKNOD": 27,
    "CAP_LEASE": 28, "CAP_AUDIT_WRITE": 29, "CAP_AUDIT_CONTROL": 30,
    "CAP_SETFCAP": 31,
}


def cap_mask(names):
    m = 0
    for n in names:
        m |= 1 << CAP_NUMBERS[n]
    return m


def userns_bundle(bundle, base=200000):
    """A user namespace mapping container root to `base` (65536 ids), the rootfs chowned to
    match, and no cgroup v1 tree mount (it cannot be mounted from a user namespace)."""
    linux = bundle.config["linux"]
    linux["namespaces"].append({"type": "user"})
    linux["uidMappings"] = [{"containerID": 0, "hostID": base, "size": 65536}]
    linux["gidMappings"] = [{"containerID": 0, "hostID": base, "size": 65536}]
    bundle.config["mounts"] = [m for m in bundle.config["mounts"]
                               if m["destination"] != "/sys/fs/cgroup"]
    bundle.chown_rootfs(base, base)


def stop(runtime, cid):
    """delete --force, reaping orphans meanwhile: a detached exec'd process is
    reparented to us (the subreaper), outside the container's pid namespace,
    and the kernel lets the container's init exit only once every process of
    its namespace is reaped (zap_pid_ns_processes). The clients' shims are
    subreapers that reap at once; so must we be while delete waits."""
    p = runtime.popen("delete", "--force", cid)
    deadline = time.monotonic() + CMD_TIMEOUT
    while p.poll() is None and time.monotonic() < deadline:
        reap_orphans()
        time.sleep(0.02)
    if p.poll() is None:
        p.kill()
    out, err = p.communicate()
    assert p.returncode == 0, f"delete --force {cid}: exit {p.returncode}\n{out}{err}"


def console_server(path, timeout=CMD_TIMEOUT):
    """A --console-socket listener at PATH (the test accepts the runtime's connection)."""
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(path))
    srv.listen(1)
    srv.settimeout(timeout)
    return srv


def read_pty(fd, timeout=CMD_TIMEOUT):
    """What a pty master gives until every slave end is closed (EIO) or TIMEOUT s, decoded."""
    buf = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.2)
        if not r:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: every slave end is closed
            break
        if not chunk:
            break
        buf += chunk
    return buf.decode(errors="replace")
