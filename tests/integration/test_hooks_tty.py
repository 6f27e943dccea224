"""Hooks and terminals (--console-socket), the same for every runtime."""

import fcntl
import json
import os
import socket
import struct
import termios

from conftest import describe
from helpers import SLEEPER, wait_for_file, console_server, read_pty

# Hooks that run in the runtime's namespaces see the host: /bin/sh is the
# host's and the marker lands in the test's directory.  startContainer runs
# inside the container after pivot_root: its /bin/sh is busybox and it writes
# into the (writable) rootfs.
HOST_HOOKS = ("prestart", "createRuntime", "createContainer", "poststart", "poststop")


def _hook(marker, extra=""):
    return {"path": "/bin/sh",
            "args": ["sh", "-c", f"{extra}cat > {marker}.tmp && mv {marker}.tmp {marker}"],
            "env": ["HOOKVAR=hook-env-ok", "PATH=/usr/bin:/bin"],
            "timeout": 10}


def test_hooks_run_in_order_with_state(runtime, bundle, workdir, cid):
    marks = workdir.path / "marks"
    marks.mkdir()
    bundle.config["root"]["readonly"] = False
    hooks = {k: [_hook(marks / k)] for k in HOST_HOOKS}
    hooks["startContainer"] = [_hook("/startContainer")]
    hooks["createRuntime"].append(_hook(marks / "env", extra="echo $HOOKVAR > %s/envvar; " % marks))
    bundle.config["hooks"] = hooks
    bundle.process["args"] = ["sh", "-c", SLEEPER]

    runtime.create(bundle, cid, check=True)
    pid = runtime.state_json(cid)["pid"]
    done = set(os.listdir(marks))
    if runtime.name == "runc":
        done.discard("poststart")  # runc 1.1 runs poststart already at create
    assert done == {"createContainer", "createRuntime", "env", "envvar", "prestart"}
    assert (marks / "envvar").read_text() == "hook-env-ok\n"
    assert not (bundle.rootfs / "startContainer").exists()

    runtime.start(cid, check=True)
    wait_for_file(bundle.rootfs / "startContainer")
    assert (marks / "poststart").exists()  # before start returns
    assert not (marks / "poststop").exists()

    runtime.kill(cid, "KILL", check=True)
    runtime.wait_status(cid, "stopped")
    runtime.delete(cid, check=True)
    assert (marks / "poststop").exists()

    states = {k: json.loads((marks / k).read_text()) for k in HOST_HOOKS}
    states["startContainer"] = json.loads((bundle.rootfs / "startContainer").read_text())
    for kind, st in states.items():
        assert st["id"] == cid, (kind, st)
        assert st["ociVersion"].startswith("1."), (kind, st)
        if runtime.name != "berth-oci" and kind in ("createContainer", "startContainer"):
            # Peers disagree here: crun 1.8 passes pid 0 (and bundle "/" to
            # startContainer), runc 1.1 the pid inside the container (1).
            # berth-oci passes the host's view, as the OCI spec says.
            continue
        assert os.path.realpath(st["bundle"]) == os.path.realpath(bundle.path), (kind, st)
        if kind != "poststop":
            assert st["pid"] == pid, (kind, st)


def test_failing_create_runtime_hook_fails_create(runtime, bundle, workdir, cid):
    bundle.config["hooks"] = {"createRuntime": [{"path": "/bin/sh",
                                                 "args": ["sh", "-c", "exit 3"]}]}
    bundle.process["args"] = ["sh", "-c", SLEEPER]
    p = runtime.create(bundle, cid)
    assert p.returncode != 0, describe(p)
    assert runtime.state(cid).returncode != 0
    assert runtime.ids_listed() == set()
    # the leak guard checks that no process, mount or cgroup is left


def test_terminal_console_socket(runtime, bundle, workdir, cid):
    sock = workdir.path / "console.sock"
    srv = console_server(sock)
    bundle.process["terminal"] = True
    bundle.process["consoleSize"] = {"height": 31, "width": 97}
    bundle.process["args"] = ["sh", "-c", "stty size; tty; [ -t 0 ] && [ -t 1 ] && echo both-tty; "
                                          "read line; echo got:$line"]
    master = None
    try:
        p = runtime.create(bundle, cid, console_socket=sock)
        assert p.returncode == 0, describe(p)
        conn, _ = srv.accept()
        with conn:
            msg, fds, _, _ = socket.recv_fds(conn, 4096, 4)
        assert len(fds) == 1, (msg, fds)
        master = fds[0]
        rows, cols = struct.unpack("HHHH", fcntl.ioctl(master, termios.TIOCGWINSZ,
                                                        b"\0" * 8))[:2]
        assert (rows, cols) == (31, 97)
        runtime.start(cid, check=True)
        os.write(master, b"typed\n")
        out = read_pty(master, timeout=10).replace("\r\n", "\n")
        lines = [line for line in out.splitlines() if line != "typed"]
        assert lines[:3] == ["31 97", lines[1], "both-tty"], out
        assert lines[1].startswith("/dev/pts/"), out
        assert "got:typed" in lines, out
        runtime.wait_status(cid, "stopped")
        runtime.delete(cid, check=True)
    finally:
        srv.close()
        if master is not None:
            os.close(master)


def test_terminal_without_console_socket_fails(runtime, bundle, cid):
    bundle.process["terminal"] = True
    bundle.process["args"] = ["true"]
    p = runtime.create(bundle, cid)
    assert p.returncode != 0, describe(p)
    assert runtime.state(cid).returncode != 0


def test_hook_without_env_gets_the_runtimes(runtime, bundle, workdir, cid):
    """A hook with no "env" runs with the runtime's environment (runc's and crun's: Go's
    exec.Cmd with a nil Env; crun's own test_hooks "test-hook-env-inherit"); "env": [] is an
    empty one."""
    out = workdir.path / "hook-env"
    empty = workdir.path / "hook-empty-env"
    bundle.config["hooks"] = {"prestart": [
        {"path": "/bin/sh", "args": ["sh", "-c", f"echo \"$BERTH_HOOK_PROBE|$PATH\" > {out}"]},
        {"path": "/bin/sh", "args": ["sh", "-c", f"env > {empty}"], "env": []}]}
    bundle.process["args"] = ["true"]
    bundle.write()
    runtime.ids.add(cid)
    p = runtime.cmd("run", "--bundle", str(bundle.path), cid,
                    env={"BERTH_HOOK_PROBE": "from-runtime"})
    assert p.returncode == 0, describe(p)
    assert out.read_text() == f"from-runtime|{os.environ['PATH']}\n"
    assert "BERTH_HOOK_PROBE" not in empty.read_text()
