"""Container lifecycle through the command line, the same for every runtime."""

import json
import os
import signal
import stat
import time

import pytest

from conftest import describe, new_id, reap_orphans
from helpers import SLEEPER, pid_alive, read_until, wait_for_file


def test_create_start_kill_delete(runtime, bundle, cid):
    bundle.process["args"] = ["sh", "-c", SLEEPER]
    p = runtime.create(bundle, cid)
    assert p.returncode == 0, describe(p)

    st = runtime.state_json(cid)
    assert st["status"] == "created"
    assert st["id"] == cid
    assert os.path.realpath(st["bundle"]) == os.path.realpath(bundle.path)
    assert st["ociVersion"].startswith("1.")
    pid = st["pid"]
    assert isinstance(pid, int) and pid > 1
    assert pid_alive(pid)
    assert cid in runtime.ids_listed()

    runtime.start(cid, check=True)
    st = runtime.state_json(cid)
    assert st["status"] == "running"
    assert st["pid"] == pid

    runtime.kill(cid, check=True)  # default signal: SIGTERM
    st = runtime.wait_status(cid, "stopped")

    runtime.delete(cid, check=True)
    p = runtime.state(cid)
    assert p.returncode != 0, describe(p)
    assert cid not in runtime.ids_listed()


def test_stopped_after_pid_killed_directly(runtime, bundle, cid):
    bundle.process["args"] = ["sh", "-c", SLEEPER]
    runtime.run(bundle, cid, detach=True, check=True)
    pid = runtime.wait_status(cid, "running")["pid"]
    os.kill(pid, signal.SIGKILL)
    runtime.wait_status(cid, "stopped")
    runtime.delete(cid, check=True)


def test_start_twice_fails(runtime, bundle, cid):
    bundle.process["args"] = ["sh", "-c", SLEEPER]
    runtime.create(bundle, cid, check=True)
    runtime.start(cid, check=True)
    p = runtime.start(cid)
    assert p.returncode != 0, describe(p)
    assert runtime.state_json(cid)["status"] == "running"
    runtime.delete(cid, force=True, check=True)


def test_state_of_unknown_container_fails(runtime):
    p = runtime.state("no-such-container")
    assert p.returncode != 0, describe(p)
    assert "no-such-container" in p.stderr or "does not exist" in p.stderr, describe(p)


@pytest.mark.parametrize("code", [0, 3, 42])
def test_run_returns_exit_code(runtime, bundle, code):
    cid = new_id()
    bundle.process["args"] = ["sh", "-c", f"echo out; echo err >&2; exit {code}"]
    p = runtime.run(bundle, cid)
    assert p.returncode == code, describe(p)
    assert p.stdout == "out\n", describe(p)
    assert "err\n" in p.stderr, describe(p)
    # without --keep, run deletes the container
    assert runtime.state(cid).returncode != 0
    assert cid not in runtime.ids_listed()


def _run_foreground(runtime, bundle, cid, script):
    bundle.process["args"] = ["sh", "-c", script]
    bundle.write()
    runtime.ids.add(cid)
    p = runtime.popen("run", "--bundle", bundle.path, cid)
    read_until(p.stdout, "ready")
    return p


def test_run_exit_code_after_sigkill(runtime, bundle, cid):
    p = _run_foreground(runtime, bundle, cid, "echo ready; sleep 1000")
    pid = runtime.state_json(cid)["pid"]
    os.kill(pid, signal.SIGKILL)
    assert p.wait(timeout=10) == 128 + signal.SIGKILL


def test_run_exit_code_after_kill_command(runtime, bundle, cid):
    p = _run_foreground(runtime, bundle, cid, "echo ready; sleep 1000")
    runtime.kill(cid, "KILL", check=True)
    assert p.wait(timeout=10) == 128 + signal.SIGKILL


def test_delete_force_of_foreground_run(runtime, bundle, cid):
    """A client's `delete --force` while `run` waits in the foreground must not wait for the
    container to end: run holds no lock on the container's state while it waits."""
    p = _run_foreground(runtime, bundle, cid, "echo ready; sleep 1000")
    d = runtime.delete(cid, force=True, timeout=10)  # a TimeoutExpired fails the test
    # crun 1.8's run removes the state itself when the init dies and races its own delete
    # ("cannot rm state directory: No such file or directory")
    assert d.returncode == 0 or runtime.name == "crun", describe(d)
    assert p.wait(timeout=10) == 128 + signal.SIGKILL
    assert cid not in runtime.ids_listed()


def test_run_forwards_sigterm(runtime, bundle, cid):
    p = _run_foreground(runtime, bundle, cid,
                        "trap 'echo got-TERM; exit 7' TERM; echo ready; "
                        "while :; do sleep 0.05; done")
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=10) == 7
    assert "got-TERM" in p.stdout.read().decode()


def test_run_detach(runtime, bundle, cid):
    bundle.process["args"] = ["sh", "-c", SLEEPER]
    p = runtime.run(bundle, cid, detach=True, timeout=10)
    assert p.returncode == 0, describe(p)
    st = runtime.state_json(cid)
    assert st["status"] == "running"
    assert pid_alive(st['pid'])
    runtime.kill(cid, "KILL", check=True)
    runtime.wait_status(cid, "stopped")
    runtime.delete(cid, check=True)


def test_run_keep(runtime, bundle, cid):
    if runtime.name == "crun":
        pytest.skip("crun 1.8 has no run --keep")
    bundle.process["args"] = ["sh", "-c", "exit 5"]
    p = runtime.run(bundle, cid, keep=True)
    assert p.returncode == 5, describe(p)
    assert runtime.state_json(cid)["status"] == "stopped"
    runtime.delete(cid, check=True)
    assert runtime.state(cid).returncode != 0


def test_pid_file(runtime, bundle, cid, workdir):
    pid_file = workdir.path / "pid"
    bundle.process["args"] = ["sh", "-c", SLEEPER]
    runtime.create(bundle, cid, pid_file=pid_file, check=True)
    pid = int(pid_file.read_text().strip())
    assert pid == runtime.state_json(cid)["pid"]
    assert pid_alive(pid)
    runtime.delete(cid, force=True, check=True)


def _odd_pid_file(workdir, kind):
    """A pid-file path with something that is not a regular file there. The
    character device is the test's own copy of 1:3, never the host's /dev/null."""
    path = workdir.path / f"pid-{kind}"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "chardev":
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    elif kind == "dir":
        os.mkdir(path)
    elif kind == "symlink":
        os.symlink(workdir.path / "elsewhere", path)
    return path


PID_FILE_KINDS = {"fifo": "a FIFO", "chardev": "a character device", "dir": "a directory",
                  "symlink": "a symbolic link"}


def _assert_pid_file_refused(p, path, kind):
    assert p.returncode == 1, describe(p)
    assert p.stderr.count("\n") == 1, describe(p)
    assert f'--pid-file "{path}": {PID_FILE_KINDS[kind]} is there, not a regular file ' \
        "(File exists)" in p.stderr, describe(p)
    assert "give the path of a regular file or of none" in p.stderr, describe(p)


def _assert_untouched(path, kind):
    st = os.lstat(path)
    want = {"fifo": stat.S_ISFIFO, "chardev": stat.S_ISCHR, "dir": stat.S_ISDIR,
            "symlink": stat.S_ISLNK}[kind]
    assert want(st.st_mode), oct(st.st_mode)
    if kind == "chardev":
        assert st.st_rdev == os.makedev(1, 3)


@pytest.mark.parametrize("kind", sorted(PID_FILE_KINDS))
@pytest.mark.parametrize("command", ["create", "run"])
def test_pid_file_not_regular_is_refused(oci, bundle, cid, workdir, kind, command):
    """A FIFO at --pid-file must not hang create/run (crun 1.8 blocks there;
    runc renames a regular file over it, which would also replace a device):
    refused, the thing there left as it was, no container left."""
    path = _odd_pid_file(workdir, kind)
    bundle.process["args"] = ["sh", "-c", SLEEPER]
    if command == "create":
        p = oci.create(bundle, cid, pid_file=path, timeout=20)
    else:
        p = oci.run(bundle, cid, detach=True, pid_file=path, timeout=20)
    _assert_pid_file_refused(p, path, kind)
    _assert_untouched(path, kind)
    assert cid not in oci.ids_listed()


def test_exec_pid_file_fifo_is_refused(oci, bundle, cid, workdir):
    """exec --pid-file at a FIFO does not hang either; the container runs on."""
    path = _odd_pid_file(workdir, "fifo")
    bundle.process["args"] = ["sh", "-c", SLEEPER]
    oci.run(bundle, cid, detach=True, check=True)
    try:
        p = oci.cmd("exec", "--pid-file", path, cid, "true", timeout=20)
        assert p.returncode == 255, describe(p)
        assert p.stderr.count("\n") == 1, describe(p)
        assert f'--pid-file "{path}": a FIFO is there, not a regular file' in p.stderr, \
            describe(p)
        _assert_untouched(path, "fifo")
        assert oci.state_json(cid)["status"] == "running"
    finally:
        oci.delete(cid, force=True, check=True)


def test_pid_file_fifo_refused_before_anything_is_made(oci, bundle, cid, workdir):
    """Refused before anything is made: not even a createRuntime hook runs."""
    path = _odd_pid_file(workdir, "fifo")
    marker = workdir.path / "hook-ran"
    bundle.config["hooks"] = {"createRuntime": [
        {"path": "/bin/sh", "args": ["sh", "-c", f"touch {marker}"]}]}
    p = oci.create(bundle, cid, pid_file=path, timeout=20)
    _assert_pid_file_refused(p, path, "fifo")
    assert not marker.exists()


def test_list_formats(runtime, make_bundle):
    a, b = new_id("a"), new_id("b")
    ba, bb = make_bundle("bundle-a"), make_bundle("bundle-b")
    for bun in (ba, bb):
        bun.process["args"] = ["sh", "-c", SLEEPER]
    runtime.create(ba, a, check=True)
    runtime.run(bb, b, detach=True, check=True)

    assert runtime.ids_listed() == {a, b}
    q = runtime.list("-q", check=True).stdout
    assert sorted(q.split("\n")[:-1]) == sorted([a, b]) and q.endswith("\n")

    table = runtime.list(check=True).stdout.splitlines()
    assert "PID" in table[0] and "STATUS" in table[0]
    rows = {line.split()[0]: line.split() for line in table[1:] if line.strip()}
    assert set(rows) == {a, b}
    assert "created" in rows[a] and "running" in rows[b]

    js = json.loads(runtime.list("--format", "json", check=True).stdout)
    entries = {e["id"]: e for e in js}
    assert set(entries) == {a, b}
    assert entries[a]["status"] == "created"
    assert entries[b]["status"] == "running"
    assert entries[b]["pid"] == runtime.state_json(b)["pid"]
    assert os.path.realpath(entries[a]["bundle"]) == os.path.realpath(ba.path)

    for c in (a, b):
        runtime.delete(c, force=True, check=True)
    assert runtime.list("-q", check=True).stdout == ""


def test_delete_running_needs_force(runtime, bundle, cid):
    bundle.process["args"] = ["sh", "-c", SLEEPER]
    runtime.run(bundle, cid, detach=True, check=True)
    pid = runtime.state_json(cid)["pid"]
    p = runtime.delete(cid)
    assert p.returncode != 0, describe(p)
    assert runtime.state_json(cid)["status"] == "running"
    runtime.delete(cid, force=True, check=True)
    assert runtime.state(cid).returncode != 0
    assert not pid_alive(pid)


def test_delete_created_container(runtime, bundle, cid):
    """A created (never started) container can be deleted; its process goes."""
    bundle.process["args"] = ["sh", "-c", SLEEPER]
    runtime.create(bundle, cid, check=True)
    runtime.delete(cid, force=True, check=True)
    assert runtime.state(cid).returncode != 0


def test_duplicate_id_fails(runtime, bundle, cid):
    bundle.process["args"] = ["sh", "-c", SLEEPER]
    runtime.create(bundle, cid, check=True)
    pid = runtime.state_json(cid)["pid"]
    p = runtime.create(bundle, cid)
    assert p.returncode != 0, describe(p)
    st = runtime.state_json(cid)
    assert st["status"] == "created" and st["pid"] == pid
    assert runtime.ids_listed() == {cid}
    runtime.delete(cid, force=True, check=True)


TRAPS = ("echo $$ > /dev/null; "
         "trap 'echo USR1 >> /sigs' USR1; trap 'echo USR2 >> /sigs' USR2; "
         "trap 'echo HUP >> /sigs' HUP; trap 'echo TERM >> /sigs; exit 0' TERM; "
         "touch /ready; while :; do sleep 0.05; done")


def test_kill_signal_names_and_numbers(runtime, bundle, cid):
    bundle.config["root"]["readonly"] = False
    bundle.process["args"] = ["sh", "-c", TRAPS]
    runtime.run(bundle, cid, detach=True, check=True)
    wait_for_file(bundle.rootfs / "ready")
    sigs = bundle.rootfs / "sigs"
    expected = ""
    for spec, name in (("USR1", "USR1"), ("SIGUSR2", "USR2"),
                       (str(int(signal.SIGHUP)), "HUP"), ("SIGTERM", "TERM")):
        runtime.kill(cid, spec, check=True)
        expected += name + "\n"
        wait_for_file(sigs, content=expected)
    runtime.wait_status(cid, "stopped")
    assert sigs.read_text() == expected
    runtime.delete(cid, check=True)


def test_kill_bad_signal_fails(runtime, bundle, cid):
    if runtime.name == "crun":
        pytest.skip("crun 1.8 accepts unknown signal names and exits 0")
    bundle.process["args"] = ["sh", "-c", SLEEPER]
    runtime.run(bundle, cid, detach=True, check=True)
    p = runtime.kill(cid, "NOSUCHSIG")
    assert p.returncode != 0, describe(p)
    assert runtime.state_json(cid)["status"] == "running"
    runtime.delete(cid, force=True, check=True)


def test_kill_all(runtime, bundle, cid):
    """--all reaches every process of the container, not only its init."""
    bundle.config["root"]["readonly"] = False
    child = ("trap 'echo child >> /sigs; exit 0' USR1; touch /child-$i; "
             "while :; do sleep 0.05; done")
    script = (f"for i in 1 2 3; do sh -c \"{child}\" & done; "
              "trap 'echo init >> /sigs' USR1; touch /ready; "
              "while :; do sleep 0.05; done")
    bundle.process["args"] = ["sh", "-c", script]
    runtime.run(bundle, cid, detach=True, check=True)
    for name in ("ready", "child-1", "child-2", "child-3"):
        wait_for_file(bundle.rootfs / name)
    runtime.kill(cid, "USR1", all=True, check=True)
    sigs = bundle.rootfs / "sigs"
    deadline = time.monotonic() + 10
    lines = []
    while time.monotonic() < deadline:
        lines = sigs.read_text().split() if sigs.exists() else []
        if len(lines) >= 4:
            break
        time.sleep(0.05)
    # and once each: a signal delivered twice (cgroup walk + the init's pidfd) would show late
    time.sleep(0.5)
    lines = sigs.read_text().split()
    assert sorted(lines) == ["child", "child", "child", "init"]
    runtime.kill(cid, "KILL", all=True, check=True)
    runtime.wait_status(cid, "stopped")
    runtime.delete(cid, check=True)


# -- a damaged state.json

def _damage_state(path, damage):
    if damage == "empty":
        path.write_bytes(b"")
    elif damage == "truncated":
        text = path.read_bytes()
        path.write_bytes(text[:len(text) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x00\xff{garbage]\n")
    elif damage == "huge":  # 100 MB (sparse: the size is what counts)
        with open(path, "r+b") as f:
            f.truncate(100 << 20)


def _pid_gone(pid, timeout=10):
    deadline = time.monotonic() + timeout
    while pid_alive(pid):
        assert time.monotonic() < deadline, f"pid {pid} still alive"
        reap_orphans()
        time.sleep(0.02)


@pytest.mark.parametrize("action", ["kill-then-delete", "delete-force"])
@pytest.mark.parametrize("record", ["with-record", "without-record"])
@pytest.mark.parametrize("damage", ["empty", "truncated", "garbage", "huge"])
def test_damaged_state_json(oci, bundle, cid, damage, record, action):
    """A corrupt, empty, truncated or oversized state.json does not make a
    container unkillable: list shows it (status "unknown"), state names the
    file, kill and delete --force still find its processes (the recovery
    record written before state.json, or without it the default cgroup) and
    remove everything; the leak guard checks that nothing is left."""
    bundle.process["args"] = ["sh", "-c", "sleep 1000 & " + SLEEPER]
    oci.run(bundle, cid, detach=True, check=True)
    pid = oci.state_json(cid)["pid"]
    state_file = oci.root / cid / "state.json"
    _damage_state(state_file, damage)
    if record == "without-record":
        os.unlink(oci.root / cid / "recovery")

    p = oci.state(cid)
    assert p.returncode == 1, describe(p)
    assert f'container "{cid}": state file {state_file} is damaged: ' in p.stderr, describe(p)
    assert "kill and delete --force still work" in p.stderr, describe(p)

    p = oci.list("--format", "json", check=True)
    (row,) = json.loads(p.stdout)
    assert (row["id"], row["status"], row["pid"]) == (cid, "unknown", pid), describe(p)
    assert f"state file {state_file} is damaged" in p.stderr, describe(p)
    assert oci.ids_listed() == {cid}

    if action == "kill-then-delete":
        oci.kill(cid, "KILL", check=True)
        _pid_gone(pid)
        p = oci.delete(cid)
    else:
        p = oci.delete(cid, force=True)
    assert p.returncode == 0, describe(p)
    _pid_gone(pid)
    assert not (oci.root / cid).exists()
    assert oci.ids_listed() == set()
