"""Attaching (issue 11): `berth attach`, `run -i` / `run -it` through the monitor, the detach
keys, the window size, --sig-proxy.

docker's behaviour is the reference: `run -it` is attached from the start (nothing the program
writes first is lost), ctrl-p ctrl-q (or --detach-keys) leaves it running and the CLI exits 0;
`attach` reattaches, its exit code is the container's once it ends; the terminal's size follows
the window (SIGWINCH); `run -i` without a terminal relays stdin and its EOF (the container sees
EOF: docker's StdinOnce), stdout and stderr apart; --sig-proxy (default true, without -t) sends
the signals the CLI gets to the container; `attach` to a stopped container: "You cannot attach
to a stopped container, start it first" (exit 1); bad --detach-keys: 125.

Terminals are real: the CLI runs on a pty made here (python's pty module).  Every test ends with
the leak guard (conftest.py).
"""

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import termios
import time

from conftest import describe, reap_orphans
from engine_util import bb, state  # noqa: F401 (bb: a fixture)


class Term:
    """The berth CLI on a pty of ours: write keys, read the screen, resize the window."""

    def __init__(self, bb, *args, rows=24, cols=80):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                os.execve(bb.argv_for(*args)[0], bb.argv_for(*args), bb.env)
            finally:
                os._exit(127)
        self.resize(rows, cols)
        self.screen = b""
        self.status = None

    def resize(self, rows, cols):
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    def send(self, data):
        os.write(self.fd, data)

    def expect(self, what, timeout=10):
        """Reads until `what` (bytes) is on the screen since the last expect."""
        end = time.monotonic() + timeout
        while what not in self.screen:
            left = end - time.monotonic()
            assert left > 0, f"{what!r} not seen; screen: {self.screen!r}"
            r, _, _ = select.select([self.fd], [], [], min(left, 0.2))
            if r:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:
                    chunk = b""
                if not chunk:
                    assert what in self.screen, f"{what!r} not seen before EOF: {self.screen!r}"
                self.screen += chunk
        seen, self.screen = self.screen, self.screen[self.screen.index(what) + len(what):]
        return seen

    def wait(self, timeout=20):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:  # drain, or the CLI may block writing to us
                r, _, _ = select.select([self.fd], [], [], 0.05)
                if r:
                    self.screen += os.read(self.fd, 4096)
            except OSError:
                pass
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(st)
                return self.status
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        raise AssertionError(f"the CLI did not exit; screen: {self.screen!r}")

    def close(self):
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except OSError:
                pass
        os.close(self.fd)


def test_run_it_detach_reattach_resize(bb):
    t = Term(bb, "run", "-it", "--name", "it1", "busybox", "sh", rows=30, cols=100)
    try:
        t.expect(b"# ")
        t.send(b"stty size; echo $((6*7))\r")
        t.expect(b"30 100")
        t.expect(b"42")
        t.send(b"\x10\x11")  # ctrl-p ctrl-q
        assert t.wait() == 0
    finally:
        t.close()
    assert state(bb, "it1")["Running"] is True

    t = Term(bb, "attach", "it1", rows=20, cols=60)
    try:
        t.send(b"stty size\r")
        t.expect(b"20 60")
        t.resize(33, 101)
        os.kill(t.pid, signal.SIGWINCH)
        time.sleep(0.3)
        t.send(b"stty size\r")
        t.expect(b"33 101")
        t.send(b"exit 7\r")
        assert t.wait() == 7
    finally:
        t.close()
    st = state(bb, "it1")
    assert st["Running"] is False and st["ExitCode"] == 7
    p = bb.cmd("attach", "it1")
    assert p.returncode == 1, describe(p)
    assert "You cannot attach to a stopped container, start it first" in p.stderr
    bb.ok("rm", "it1")


def test_first_output_is_not_lost(bb):
    """The client is attached before the program starts."""
    t = Term(bb, "run", "--rm", "-it", "busybox", "sh", "-c", "echo first-line; sleep 0.3")
    try:
        t.expect(b"first-line")
        assert t.wait() == 0
    finally:
        t.close()
    assert bb.containers() == []


def test_custom_detach_keys(bb):
    t = Term(bb, "run", "-it", "--name", "dk", "--detach-keys", "ctrl-a,x", "busybox", "sh")
    try:
        t.expect(b"# ")
        t.send(b"\x10\x11")  # the default keys are plain input now
        t.send(b"echo still-$((1+1))\r")
        t.expect(b"still-2")
        t.send(b"\x01x")
        assert t.wait() == 0
    finally:
        t.close()
    assert state(bb, "dk")["Running"] is True
    bb.ok("rm", "-f", "dk")


def test_bad_detach_keys(bb):
    p = bb.cmd("run", "--rm", "-i", "--detach-keys", "ctrl-1", "busybox", "true")
    assert p.returncode == 125 and "Invalid detach keys (ctrl-1) provided" in p.stderr, describe(p)
    assert bb.containers() == []


def test_run_i_stdin_eof_streams_exit_code(bb):
    p = bb.cmd("run", "--rm", "-i", "busybox", "sh", "-c", "cat; echo to-err >&2; exit 3",
               input="line 1\nline 2\n")
    assert p.returncode == 3, describe(p)
    assert p.stdout == "line 1\nline 2\n" and p.stderr == "to-err\n", describe(p)
    assert bb.containers() == []


def test_run_i_big_input(bb):
    data = os.urandom(1 << 20).hex()  # 2 MiB
    p = bb.cmd("run", "--rm", "-i", "busybox", "sh", "-c", "wc -c", input=data)
    assert p.returncode == 0 and p.stdout.strip() == str(len(data)), describe(p)


def test_attach_detached_interactive(bb):
    """run -d -i keeps stdin open for a later attach; --no-stdin only watches."""
    cid = bb.ok("run", "-d", "-i", "--name", "cat1", "busybox", "sh", "-c",
                "while read l; do echo got:$l; done; echo eof; exit 4").strip()
    watcher = bb.popen("attach", "--no-stdin", "cat1")
    time.sleep(0.3)
    p = bb.cmd("attach", "cat1", input="a\nb\n")
    assert p.returncode == 4 and p.stdout == "got:a\ngot:b\neof\n", describe(p)
    out, err = watcher.communicate(timeout=20)
    assert watcher.returncode == 4 and out == b"got:a\ngot:b\neof\n", (out, err)
    bb.ok("rm", cid)


def test_sig_proxy(bb):
    p = bb.popen("run", "--rm", "-i", "busybox", "sh", "-c",
                 'trap "echo got-term; exit 9" TERM; echo ready; while :; do sleep 0.1; done',
                 stdin=subprocess.PIPE)
    try:
        assert p.stdout.readline() == b"ready\n"
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=20) == 9
        assert p.stdout.read() == b"got-term\n"
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    reap_orphans()


def test_no_sig_proxy(bb):
    p = bb.popen("run", "-i", "--name", "nsp", "--sig-proxy=false", "busybox", "sh", "-c",
                 'trap "echo got-term; exit 9" TERM; echo ready; while :; do sleep 0.1; done',
                 stdin=subprocess.PIPE)
    try:
        assert p.stdout.readline() == b"ready\n"
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=20)
        time.sleep(0.3)
        assert state(bb, "nsp")["Running"] is True  # the container did not get it
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    bb.ok("rm", "-f", "nsp")


def test_two_clients_see_the_output(bb):
    bb.ok("run", "-d", "--name", "two", "busybox", "sh", "-c",
          "sleep 1; for i in 1 2 3; do echo n$i; done")
    a = bb.popen("attach", "two")
    b = bb.popen("attach", "two")
    oa, _ = a.communicate(timeout=20)
    ob, _ = b.communicate(timeout=20)
    assert oa == ob == b"n1\nn2\nn3\n", (oa, ob)
    assert a.returncode == b.returncode == 0
    assert bb.ok("logs", "two") == "n1\nn2\nn3\n"
    bb.ok("rm", "two")


def test_run_rm_it_exit_code(bb):
    t = Term(bb, "run", "--rm", "-it", "busybox", "sh")
    try:
        t.expect(b"# ")
        t.send(b"exit 5\r")
        assert t.wait() == 5
    finally:
        t.close()
    assert bb.containers() == []


def test_attach_missing(bb):
    p = bb.cmd("attach", "nosuch")
    assert p.returncode == 1 and "no such container: nosuch" in p.stderr.lower(), describe(p)
