"""`berth exec` and `berth top` of the engine's running containers (issue 11).

Docker's behaviour is the reference (checked side by side with dockerd 20.10 + CLI 28 and
podman 4.3 with runc on this machine):

- exec runs CMD in a running container with its env (docker's daemon environment again:
  PATH, HOSTNAME, TERM=xterm only with the exec's -t, then the container's Env, then -e /
  --env-file; a bare -e K takes K from berth's environment or removes it), user and working
  dir; -u resolves in the container's /etc/passwd, -w must be absolute; --privileged gives
  every capability berth holds.
- exit code: the process's own (137 when its container stops under it); 127 not found, 126
  cannot execute / bad user / bad cwd; 1 no such container, not running; 125 flag errors.
- -t: a pty relayed in raw mode (-it), its size following the terminal's; -i relays stdin
  (without it stdin is /dev/null); -d prints nothing, returns once the process runs, and the
  process is reaped the moment it exits (a keeper of berth's is its parent: no zombie).
- the process is a clone of a sealed berth (CVE-2019-5736): a program that runs
  /proc/self/exe in the container gets berth's binary read-only.
- top: `ps -ef` columns (or `ps OPTIONS`) for the container's pids, docker's table.

Every test ends with the leak guard (conftest.py): no container, mount, cgroup, runtime state,
monitor or process (the keepers of exec -d included) may be left.
"""

import fcntl
import hashlib
import os
import re
import select
import shutil
import struct
import subprocess
import termios
import threading
import time

import pytest

from conftest import Engine, _read_stat, describe, reap_orphans
from engine_util import bb, wait_for, run_d, state, DEAF  # noqa: F401 (bb: a fixture)

DOCKER_CAPS = 0xa80425fb  # docker's default capability set (moby oci/caps/defaults.go)
DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


# --------------------------------------------------------------------------
# helpers


def sleeper(e, *flags):
    return run_d(e, *flags, "busybox", "sleep", "1000")


def exec_ok(e, *args, **kw):
    p = e.cmd("exec", *args, **kw)
    assert p.returncode == 0, describe(p)
    return p.stdout


def alive(pid):
    reap_orphans()
    st = _read_stat(pid)
    return st is not None and st[1] != "Z"


def status_field(text, field):
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return line.split()[1]
    raise AssertionError(f"no {field} in {text!r}")


def own_caps(field):
    with open("/proc/self/status") as f:
        return int(status_field(f.read(), field), 16)


def env_of(text):
    return [line for line in text.splitlines() if line]


def exec_pids(e, cid):
    """The container's pids (berth top -o pid), as ints."""
    out = e.ok("top", cid, "-o", "pid")
    lines = out.splitlines()
    assert lines[0].strip() == "PID", out
    return sorted(int(x) for x in lines[1:])


# --------------------------------------------------------------------------
# exec: output, exit codes, errors


def test_exec_output_and_exit_codes(bb):
    cid = sleeper(bb, "--name", "ex1")
    p = bb.cmd("exec", "ex1", "sh", "-c", "echo out; echo err >&2")
    assert (p.returncode, p.stdout, p.stderr) == (0, "out\n", "err\n"), describe(p)
    assert bb.cmd("exec", cid[:12], "true").returncode == 0
    assert bb.cmd("container", "exec", cid, "sh", "-c", "exit 3").returncode == 3
    p = bb.cmd("exec", "ex1", "nosuch")
    assert p.returncode == 127, describe(p)
    assert 'exec: "nosuch": executable file not found in $PATH' in p.stderr, describe(p)
    p = bb.cmd("exec", "ex1", "/etc")
    assert p.returncode == 126 and '"/etc"' in p.stderr, describe(p)
    p = bb.cmd("exec", "ex1", "/etc/passwd")
    assert p.returncode == 126 and "Permission denied" in p.stderr, describe(p)
    # killed by a signal: 128+n
    p = bb.cmd("exec", "ex1", "sh", "-c", "kill -9 $$")
    assert p.returncode == 137, describe(p)
    # flags end at the container: "-e" after it belongs to the command
    assert exec_ok(bb, "ex1", "echo", "-e", "x") in ("-e x\n", "x\n")
    bb.ok("rm", "-f", cid)


def test_exec_usage_missing_and_not_running(bb):
    p = bb.cmd("exec", "nosuch", "true")
    assert p.returncode == 1, describe(p)
    assert "no such container: nosuch" in p.stderr, describe(p)
    p = bb.cmd("exec", "onlyone")
    assert p.returncode == 125 and "requires at least 2 arguments" in p.stderr, describe(p)
    p = bb.cmd("exec", "--bogus", "x", "true")
    assert p.returncode == 125 and "unknown flag: --bogus" in p.stderr, describe(p)
    p = bb.cmd("run", "--name", "done", "busybox", "true")
    assert p.returncode == 0, describe(p)
    cid = bb.json("inspect", "done")[0]["Id"]
    for flags in ([], ["-d"], ["-t"], ["-i"]):
        p = bb.cmd("exec", *flags, "done", "true")
        assert p.returncode == 1, describe(p)
        assert f"container {cid} is not running" in p.stderr, describe(p)
    bb.ok("rm", "done")


def test_exec_paused(bb):
    """docker: "Container X is paused, unpause the container before exec" (1); top still works."""
    cid = sleeper(bb, "--name", "pz")
    p = bb.cmd("pause", "pz")
    if p.returncode == 125 and "unknown command" in p.stderr:
        bb.ok("rm", "-f", cid)
        pytest.skip("berth pause is not there yet")
    assert p.returncode == 0, describe(p)
    for flags in ([], ["-d"]):
        p = bb.cmd("exec", *flags, "pz", "true")
        assert p.returncode == 1, describe(p)
        assert f"container {cid} is paused, unpause the container before exec" in p.stderr
    assert exec_pids(bb, "pz") == [state(bb, "pz")["Pid"]]
    bb.ok("unpause", "pz")
    assert exec_ok(bb, "pz", "echo", "ok") == "ok\n"
    bb.ok("rm", "-f", cid)


def test_exec_it_needs_a_terminal(bb):
    """docker's CLI: -it with a stdin that is not a terminal is refused (1)."""
    sleeper(bb, "--name", "notty")
    p = bb.cmd("exec", "-it", "notty", "true")
    assert p.returncode == 1 and "the input device is not a TTY" in p.stderr, describe(p)
    # -t alone is fine: the process gets a pty, our output gets its lines
    p = bb.cmd("exec", "-t", "notty", "sh", "-c", "tty; echo $TERM")
    assert p.returncode == 0, describe(p)
    assert re.match(r"^/dev/pts/\d+\r\nxterm\r\n$", p.stdout), describe(p)
    bb.ok("rm", "-f", "notty")


# --------------------------------------------------------------------------
# exec: the process's env, user, cwd, capabilities


def test_exec_defaults_from_the_container(bb):
    sleeper(bb, "--name", "dflt", "-e", "FOO=bar", "-w", "/tmp", "-u", "1000:1000",
            "--hostname", "hh", "-t")
    env = env_of(exec_ok(bb, "dflt", "env"))
    # docker: the daemon's PATH and HOSTNAME, TERM only with the exec's own -t, the
    # container's Env; runc's (and berth's) HOME for a user not in /etc/passwd
    assert env == [DEFAULT_PATH, "HOSTNAME=hh", "FOO=bar", "HOME=/"], env
    env = env_of(exec_ok(bb, "-t", "dflt", "env").replace("\r", ""))
    assert env == [DEFAULT_PATH, "HOSTNAME=hh", "TERM=xterm", "FOO=bar", "HOME=/"], env
    assert exec_ok(bb, "dflt", "id") .startswith("uid=1000 gid=1000")
    assert exec_ok(bb, "dflt", "pwd") == "/tmp\n"
    bb.ok("rm", "-f", "dflt")


def test_exec_env_overrides(bb, workdir):
    sleeper(bb, "--name", "envs", "--hostname", "h", "-e", "FOO=bar", "-e", "KEEP=1", "-e",
            "BERTH_T_DROP=1")
    envfile = workdir.path / "env.list"
    envfile.write_text("\ufeff# a comment\n\n  FILE1=a b \nBERTH_T_FROMENV\nBERTH_T_UNSET\n"
                       "FOO=file\n")
    env = env_of(exec_ok(bb, "-e", "FOO=baz", "-e", "NEW=1", "-e", "BERTH_T_DROP", "-e",
                         "BERTH_T_FROMENV", "-e", "BERTH_T_GONE", "--env-file", envfile, "envs",
                         "env", env={"BERTH_T_FROMENV": "from berth's env"}))
    # -e after --env-file wins; a bare -e K unset in berth's environment removes K; a bare K in
    # the file unset there is left out
    assert env == [DEFAULT_PATH, "HOSTNAME=h", "FOO=baz", "KEEP=1", "FILE1=a b ",
                   "BERTH_T_FROMENV=from berth's env", "NEW=1", "HOME=/root"], env
    bad = workdir.path / "bad.list"
    bad.write_text("A B=1\n")
    p = bb.cmd("exec", "--env-file", bad, "envs", "true")
    assert p.returncode == 125, describe(p)
    assert "invalid env file (" in p.stderr and "variable 'A B' contains whitespaces" in p.stderr
    p = bb.cmd("exec", "--env-file", workdir.path / "nosuch", "envs", "true")
    assert p.returncode == 125 and "nosuch" in p.stderr, describe(p)
    bb.ok("rm", "-f", "envs")


def test_exec_user_and_workdir(bb):
    sleeper(bb, "--name", "uw")
    assert exec_ok(bb, "uw", "id").startswith("uid=0(root) gid=0(root)")
    assert exec_ok(bb, "-u", "nobody", "uw", "id").startswith(
        "uid=65534(nobody) gid=65534(nogroup)")
    assert exec_ok(bb, "-u", "1000:nogroup", "uw", "id").startswith(
        "uid=1000 gid=65534(nogroup)")
    assert exec_ok(bb, "--user=0:0", "uw", "id").startswith("uid=0(root) gid=0(root)")
    assert exec_ok(bb, "-u", "nobody", "uw", "sh", "-c", "echo $HOME") == "/nonexistent\n"
    p = bb.cmd("exec", "-u", "nosuch", "uw", "true")
    assert p.returncode == 126, describe(p)
    assert "unable to find user nosuch: no matching entries in passwd file" in p.stderr
    assert exec_ok(bb, "-w", "/etc", "uw", "pwd") == "/etc\n"
    assert exec_ok(bb, "--workdir=/", "uw", "pwd") == "/\n"
    p = bb.cmd("exec", "-w", "relative", "uw", "pwd")
    assert p.returncode == 126 and "Cwd must be an absolute path" in p.stderr, describe(p)
    p = bb.cmd("exec", "-w", "/nonexist", "uw", "pwd")
    assert p.returncode == 126 and "/nonexist" in p.stderr, describe(p)
    bb.ok("rm", "-f", "uw")


def test_exec_capabilities_and_privileged(bb):
    sleeper(bb, "--name", "caps")
    st = exec_ok(bb, "caps", "cat", "/proc/self/status")
    for f in ("CapBnd", "CapEff", "CapPrm"):
        assert int(status_field(st, f), 16) == DOCKER_CAPS, (f, st)
    assert status_field(st, "NoNewPrivs") == "0"
    assert status_field(st, "Seccomp") == "2"  # the container's filter
    # a user other than root: the bounding set only (as the container's own process)
    st = exec_ok(bb, "-u", "1000", "caps", "cat", "/proc/self/status")
    assert int(status_field(st, "CapBnd"), 16) == DOCKER_CAPS
    assert int(status_field(st, "CapEff"), 16) == 0 and int(status_field(st, "CapPrm"), 16) == 0
    # --privileged: every capability berth holds (all of them where it runs as the host's root)
    held = own_caps("CapPrm") & own_caps("CapBnd")
    st = exec_ok(bb, "--privileged", "caps", "cat", "/proc/self/status")
    for f in ("CapBnd", "CapEff", "CapPrm"):
        assert int(status_field(st, f), 16) == held, (f, hex(held), st)
    assert held & (1 << 21), "CAP_SYS_ADMIN"
    assert status_field(st, "Seccomp") == "2"  # docker's exec --privileged: caps only
    # with them, what the container's process may not do
    p = bb.cmd("exec", "caps", "mount", "-t", "tmpfs", "t", "/mnt")
    assert p.returncode != 0, describe(p)
    # CAP_NET_ADMIN (the container's own network namespace); sethostname would not do: the
    # container's seccomp filter, made for its capabilities, stays (as docker's)
    p = bb.cmd("exec", "caps", "ip", "link", "set", "lo", "mtu", "1280")
    assert p.returncode != 0, describe(p)
    exec_ok(bb, "--privileged", "caps", "ip", "link", "set", "lo", "mtu", "1280")
    assert "mtu 1280" in exec_ok(bb, "caps", "ip", "link", "show", "lo")
    bb.ok("rm", "-f", "caps")


def test_exec_non_root_cannot_run_root_only_program(bb):
    """moby#36587: no CAP_DAC_OVERRIDE at the execve of a user other than root: a 0700 program
    of root's cannot be run by uid 1000 (126); root runs it."""
    sleeper(bb, "--name", "ro")
    exec_ok(bb, "ro", "sh", "-c", "printf '#!/bin/sh\\necho hi\\n' > /rootonly; chmod 700 /rootonly")
    p = bb.cmd("exec", "-u", "1000", "ro", "/rootonly")
    assert p.returncode == 126 and "/rootonly" in p.stderr, describe(p)
    assert exec_ok(bb, "ro", "/rootonly") == "hi\n"
    bb.ok("rm", "-f", "ro")


# --------------------------------------------------------------------------
# exec: stdin, -d


def test_exec_stdin(bb):
    sleeper(bb, "--name", "in")
    # without -i stdin is /dev/null
    p = bb.cmd("exec", "in", "cat", input="hello\n")
    assert (p.returncode, p.stdout) == (0, ""), describe(p)
    assert exec_ok(bb, "in", "readlink", "/proc/self/fd/0") == "/dev/null\n"
    p = bb.cmd("exec", "-i", "in", "sh", "-c", "cat; echo done", input="hello\nworld\n")
    assert (p.returncode, p.stdout) == (0, "hello\nworld\ndone\n"), describe(p)
    bb.ok("rm", "-f", "in")


def test_exec_detached(bb):
    cid = sleeper(bb, "--name", "det")
    before = exec_pids(bb, "det")
    p = bb.cmd("exec", "-d", "det", "sleep", "999")
    assert (p.returncode, p.stdout, p.stderr) == (0, "", ""), describe(p)
    pid = wait_for(lambda: [q for q in exec_pids(bb, "det") if q not in before and
                            _cmdline(q) == "sleep 999"], what="the detached process")[0]
    assert [os.readlink(f"/proc/{pid}/fd/{n}") for n in range(3)] == ["/dev/null"] * 3
    assert sorted(os.listdir(f"/proc/{pid}/fd")) == ["0", "1", "2"]
    # its parent: berth's keeper, in a session of its own, not the CLI that is gone
    keeper = _read_stat(pid)[0]
    assert _comm(keeper) == "berth" and keeper != state(bb, "det")["Pid"]
    with open(f"/proc/{keeper}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    assert int(rest[3]) != os.getsid(0), "the keeper is in a session of its own"
    # killed in the container: reaped at once, no zombie, the keeper gone too
    exec_ok(bb, "det", "kill", "-9", str(_ns_pid(pid)))
    wait_for(lambda: _read_stat(pid) is None, timeout=5, what=f"pid {pid} reaped")
    wait_for(lambda: not alive(keeper), timeout=5, what="the keeper gone")
    assert exec_pids(bb, "det") == before
    # failures are reported like the foreground's
    p = bb.cmd("exec", "-d", "det", "nosuch")
    assert p.returncode == 127 and "executable file not found" in p.stderr, describe(p)
    p = bb.cmd("exec", "-d", "-u", "nosuch", "det", "true")
    assert p.returncode == 126 and "unable to find user" in p.stderr, describe(p)
    # -dt: the keeper holds (and drains) the pty
    assert bb.cmd("exec", "-dt", "det", "sh", "-c", "yes | head -c 200000; sleep 998").returncode == 0
    wait_for(lambda: any(_cmdline(q) == "sleep 998" for q in exec_pids(bb, "det")),
             what="the -dt process past its output")
    bb.ok("rm", "-f", cid)


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def _comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def _ns_pid(pid):
    """pid as the container's pid namespace numbers it (the last field of NSpid)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("NSpid:"):
                return int(line.split()[-1])
    raise AssertionError(f"no NSpid in /proc/{pid}/status")


# --------------------------------------------------------------------------
# exec -t through a real pty


class Pty:
    """berth exec run on a pty of ours (its controlling terminal, so that a resize of it
    signals berth as the terminal's foreground process group)."""

    def __init__(self, e, *args, rows=24, cols=80):
        self.master, slave = os.openpty()
        self.resize(rows, cols)

        def setup():
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.p = e.popen(*args, stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                         preexec_fn=setup)
        os.close(slave)
        self.buf = b""

    def resize(self, rows, cols):
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def send(self, text):
        os.write(self.master, text.encode())

    def expect(self, pattern, timeout=20):
        rx = re.compile(pattern.encode())
        deadline = time.monotonic() + timeout
        while True:
            m = rx.search(self.buf)
            if m:
                self.buf = self.buf[m.end():]
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {pattern!r} on the pty; got {self.buf!r}")
            r, _, _ = select.select([self.master], [], [], left)
            if r:
                try:
                    data = os.read(self.master, 65536)
                except OSError:
                    data = b""
                if not data:
                    raise AssertionError(f"the pty closed before {pattern!r}; got {self.buf!r}")
                self.buf += data

    def close(self):
        try:
            self.p.wait(timeout=20)
        finally:
            os.close(self.master)
        return self.p.returncode


def test_exec_it_pty_raw_and_resize(bb):
    sleeper(bb, "--name", "tty")
    t = Pty(bb, "exec", "-it", "tty", "sh", rows=30, cols=100)
    t.send("stty size; tty; echo T=$TERM\n")
    t.expect(r"30 100\r\n/dev/pts/\d+\r\nT=xterm\r\n")
    # our terminal is in raw mode: the container's pty echoes and signals, not ours
    t.send("stty -a | grep -o -- '-\\?icanon'\n")
    t.expect(r"\r\nicanon\r\n")
    # the size follows ours (SIGWINCH)
    t.resize(40, 120)
    time.sleep(0.2)
    t.send("stty size\n")
    t.expect(r"\r\n40 120\r\n")
    # ^C reaches the process in the container (raw mode), not berth
    t.send("sleep 50\n")
    time.sleep(0.5)
    t.send("\x03")
    t.send("echo after=$?\n")
    t.expect(r"after=130")
    t.send("exit 5\n")
    assert t.close() == 5
    bb.ok("rm", "-f", "tty")


def test_exec_t_without_i(bb):
    """-t without -i: a pty, our stdin is not relayed (docker: no raw mode, the size follows)."""
    sleeper(bb, "--name", "toi")
    t = Pty(bb, "exec", "-t", "toi", "sh", "-c", 'stty size; read -t 2 x; echo "x=[$x]"',
            rows=33, cols=77)
    # our terminal is not in raw mode: its own \n -> \r\n comes on top of the container's
    t.expect(r"33 77\r+\n")
    t.send("typed\n")
    t.expect(r"x=\[\]\r+\n")  # nothing of ours reached it
    assert t.close() == 0
    bb.ok("rm", "-f", "toi")


# --------------------------------------------------------------------------
# exec and the container's end


def test_exec_killed_when_the_container_stops(bb):
    cid = sleeper(bb, "--name", "end")
    fg = bb.popen("exec", "end", "sleep", "100")
    assert bb.cmd("exec", "-d", "end", "sleep", "101").returncode == 0
    wait_for(lambda: {"sleep 100", "sleep 101"} <=
             {_cmdline(q) for q in exec_pids(bb, "end")}, what="both exec processes")
    t0 = time.monotonic()
    p = bb.cmd("stop", "-t", "0", "end")
    assert p.returncode == 0, describe(p)
    assert fg.wait(timeout=20) == 137  # docker: 137
    assert time.monotonic() - t0 < 5
    assert state(bb, "end")["Status"] == "exited"
    bb.ok("rm", cid)


def test_exec_while_the_container_is_stopped(bb):
    """execs racing `stop`: each one runs (0, or 137 when the stop catches it) or is refused as
    not running (1); nothing hangs, no other error, nothing is left."""
    run_d(bb, "--name", "race", "busybox", *DEAF)
    results = []
    stop_at = time.monotonic() + 0.5

    def loop():
        while time.monotonic() < stop_at + 2.5:
            p = bb.cmd("exec", "race", "sh", "-c", "sleep 0.05", timeout=60)
            results.append(p)

    threads = [threading.Thread(target=loop) for _ in range(3)]
    for th in threads:
        th.start()
    time.sleep(0.5)
    p = bb.cmd("stop", "-t", "1", "race")
    for th in threads:
        th.join()
    assert p.returncode == 0, describe(p)
    codes = {r.returncode for r in results}
    assert codes <= {0, 1, 137}, [describe(r) for r in results if r.returncode not in (0, 1, 137)]
    assert 0 in codes and 1 in codes, codes
    for r in results:
        if r.returncode == 1:
            assert "is not running" in r.stderr, describe(r)
    bb.ok("rm", "race")


# --------------------------------------------------------------------------
# CVE-2019-5736: the process is a clone of a sealed berth


def test_exec_cve_2019_5736_binary_not_writable(workdir, busybox_archive):
    """A file starting with #!/proc/self/exe, exec'd, runs the exec child's own binary in the
    container: berth's (here `berth login /evil`, which waits at its prompt on the pty).  From
    inside the container its /proc/PID/exe must not open for writing, and the binary (a copy
    made for the test) stays unchanged."""
    bindir = workdir.path / "bin"
    bindir.mkdir()
    from conftest import berth_path
    for name in ("berth", "berth-monitor"):
        shutil.copy2(berth_path().parent / name, bindir / name)
    copy = bindir / "berth"
    digest = hashlib.sha256(copy.read_bytes()).hexdigest()
    e = Engine([str(copy)], workdir.path / "root-copy")
    workdir.runners.append(e)
    e.ok("load", "-i", busybox_archive)
    sleeper(e, "--name", "cve")
    # a dynamic berth needs its loader and libraries in the container to run there
    for lib in _ldd_files(copy):
        for dest in {lib, os.path.realpath(lib)}:
            with open(lib, "rb") as f:
                exec_ok(e, "-i", "cve", "sh", "-c",
                        'mkdir -p "${1%/*}" && cat > "$1" && chmod 755 "$1"', "sh", dest,
                        input=f.read())
    exec_ok(e, "cve", "sh", "-c", "printf '#!/proc/self/exe login\\n' > /evil; chmod 755 /evil")
    t = Pty(e, "exec", "-t", "cve", "/evil")
    t.expect(r"Username: ")
    script = r"""
for d in /proc/[0-9]*; do
  case "$(tr '\0' ' ' < $d/cmdline 2>/dev/null)" in
  "/proc/self/exe login /evil"*) p=${d#/proc/};;
  esac
done
[ -n "$p" ] || { echo nopid; exit 1; }
echo pid=$p
ls -l /proc/$p/exe
if (exec 3>>/proc/$p/exe) 2>/tmp/err; then echo open=ok; else echo open=fail; cat /tmp/err; fi
kill $p
"""
    out = exec_ok(e, "cve", "sh", "-c", script)
    assert "pid=" in out and re.search(r"-> (/berth|/memfd:)", out), out  # berth, in there
    # the read-only view of the binary (an overlay without upper layer), or a sealed copy
    assert "open=fail" in out, out
    assert re.search(r"Read-only file system|Operation not permitted|Text file busy", out), out
    t.close()
    assert hashlib.sha256(copy.read_bytes()).hexdigest() == digest
    e.ok("rm", "-f", "cve")


def _ldd_files(binary):
    """The ELF interpreter and libraries of a dynamic binary (ldd); none for a static one."""
    p = subprocess.run(["ldd", str(binary)], capture_output=True, text=True)
    return [tok for line in p.stdout.splitlines() for tok in line.split()
            if tok.startswith("/") and os.path.exists(tok)]


# --------------------------------------------------------------------------
# top


def docker_table(text):
    """The cells of docker's top table (tabwriter: min width 20, 3 of padding)."""
    return [line.split() for line in text.splitlines()]


def test_top_default_columns(bb):
    cid = sleeper(bb, "--name", "top1")
    assert bb.cmd("exec", "-d", "top1", "sleep", "777").returncode == 0
    init = state(bb, "top1")["Pid"]
    pids = wait_for(lambda: (lambda v: v if len(v) == 2 else None)(exec_pids(bb, "top1")),
                    what="two processes")
    assert init in pids
    out = bb.ok("top", "top1")
    lines = out.splitlines()
    assert lines[0] == ("UID                 PID                 PPID                C           "
                        "        STIME               TTY                 TIME                CMD")
    rows = [line.split(None, 7) for line in lines[1:]]
    assert sorted(int(r[1]) for r in rows) == pids
    cmds = sorted(r[7] for r in rows)
    assert cmds == ["sleep 1000", "sleep 777"], out
    # the host's `ps -ef` rows of the same pids, column for column
    ps = subprocess.run(["ps", "-ef"], capture_output=True, text=True).stdout.splitlines()
    host = {int(r.split()[1]): r.split(None, 7) for r in ps[1:]}
    for r in rows:
        h = host[int(r[1])]
        assert (r[0], r[2], r[4], r[7]) == (h[0], h[2], h[4], h[7]), (r, h)
    # "container top" is the same command; the id or a prefix works too
    assert docker_table(bb.ok("container", "top", cid[:12]))[0] == lines[0].split()
    bb.ok("rm", "-f", cid)


def test_top_ps_options(bb):
    sleeper(bb, "--name", "top2")
    init = state(bb, "top2")["Pid"]
    out = bb.ok("top", "top2", "-o", "pid,comm")
    assert out == f"PID                 COMMAND\n{init:<20}sleep\n", out
    rows = docker_table(bb.ok("top", "top2", "aux"))
    assert rows[0][:3] == ["USER", "PID", "%CPU"] and rows[0][-1] == "COMMAND"
    assert [r[1] for r in rows[1:]] == [str(init)]
    assert rows[1][-2:] == ["sleep", "1000"]
    # a wide column: padded to its widest cell + 3
    out = bb.ok("top", "top2", "-o", "pid,args")
    assert out.splitlines()[1].startswith(f"{init:<20}sleep 1000"), out
    p = bb.cmd("top", "top2", "-o", "comm")
    assert p.returncode == 1 and "Couldn't find PID field in ps output" in p.stderr, describe(p)
    p = bb.cmd("top", "top2", "-o", "user=PID")
    assert p.returncode == 1 and 'specifying "user=PID" is not allowed' in p.stderr, describe(p)
    p = bb.cmd("top", "top2", "-o", "pid=PID")  # allowed
    assert p.returncode == 0, describe(p)
    p = bb.cmd("top", "top2", "--bogus-ps-option")
    assert p.returncode == 1 and p.stderr.startswith("berth: ps: "), describe(p)
    bb.ok("rm", "-f", "top2")


def test_top_not_running_and_missing(bb):
    p = bb.cmd("run", "--name", "top3", "busybox", "true")
    assert p.returncode == 0, describe(p)
    cid = bb.json("inspect", "top3")[0]["Id"]
    p = bb.cmd("top", "top3")
    assert p.returncode == 1 and f"container {cid} is not running" in p.stderr, describe(p)
    p = bb.cmd("top", "nosuch")
    assert p.returncode == 1 and "no such container: nosuch" in p.stderr, describe(p)
    p = bb.cmd("top")
    assert p.returncode == 125 and "requires at least 1 argument" in p.stderr, describe(p)
    bb.ok("rm", "top3")
