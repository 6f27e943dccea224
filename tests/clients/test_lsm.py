"""LSM labels on a host without AppArmor or SELinux (this one: no LSM at all).

berth-oci runs the process without the label and warns, naming the field, the value and the
reason, "..., ignoring". exec behaves as create: the same warning for --apparmor and
--process-label, for a --process file's apparmorProfile/selinuxLabel, and for the container's
own labels that exec inherits without flags (as runc's exec does). In text the warning goes to
stderr (never into the process's terminal); with --log FILE --log-format json (what the
containerd shim passes) it is a "warning" entry in the log. runc 1.1 refuses both labels on such
a host instead ("selinux label is specified in config, but selinux is disabled", "apparmor failed
to apply profile"): berth-oci's choice is crun's, so the wording is berth-oci's own and only
berth-oci is tested here.
"""

import json
import os
import pty
import shutil
import subprocess

import pytest

import harness
from conftest import check_runtime, module_dir
from harness import describe

PROFILE = "berth-test-profile"
LABEL = "system_u:system_r:container_t:s0"


def aa_warning(profile):
    return f'apparmorProfile "{profile}": AppArmor is not enabled on this host, ignoring'


def se_warning(label):
    return f'selinuxLabel "{label}": SELinux is not enabled on this host, ignoring'


def lsm_enabled():
    try:
        with open("/sys/module/apparmor/parameters/enabled") as f:
            if f.read().startswith("Y"):
                return "AppArmor"
    except OSError:
        pass
    return "SELinux" if os.path.exists("/sys/fs/selinux/enforce") else None


class Runtime:
    def __init__(self, base):
        self.base = base
        self.argv = [str(harness.berth_oci_path()), "--root", str(base / "state")]

    def cmd(self, *args, **kw):
        return harness.run([*self.argv, *args], **kw)


def write_bundle(base):
    """busybox (static) as the rootfs, berth-oci's own spec with both labels."""
    busybox = shutil.which("busybox")
    if not busybox or subprocess.run(["ldd", busybox], capture_output=True).returncode == 0:
        pytest.skip("no static busybox (busybox-static)")
    bundle = base / "bundle"
    rootfs = bundle / "rootfs"
    for d in ("bin", "proc", "dev", "sys", "tmp"):
        (rootfs / d).mkdir(parents=True)
    shutil.copy(busybox, rootfs / "bin" / "busybox")
    for applet in ("sh", "sleep", "echo", "cat", "true"):
        os.symlink("busybox", rootfs / "bin" / applet)
    harness.run([harness.berth_oci_path(), "spec", "--bundle", bundle], check=True)
    spec = json.loads((bundle / "config.json").read_text())
    spec["process"].update(terminal=False, args=["sleep", "1000"], apparmorProfile=PROFILE,
                           selinuxLabel=LABEL)
    spec["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}]
    spec["linux"]["cgroupsPath"] = f"/berth-clients-lsm-{os.getpid()}"
    (bundle / "config.json").write_text(json.dumps(spec, indent=1))
    return bundle


@pytest.fixture(scope="module")
def lsm_container():
    """A running container whose config asks for an AppArmor profile and an SELinux label, and
    the stderr of its create."""
    check_runtime("berth-oci")
    lsm = lsm_enabled()
    if lsm:
        pytest.skip(f"{lsm} is enabled here: the labels would be applied, not ignored")
    base = module_dir("berth-lsm-")
    rt = Runtime(base)
    cid = f"lsm-{os.getpid()}"
    try:
        bundle = write_bundle(base)
        # the init inherits create's stdio: a file, not a pipe that would stay open
        with open(base / "create.out", "w+") as out:
            created = subprocess.run([*rt.argv, "create", "--bundle", str(bundle), cid],
                                     stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                     timeout=60)
            out.seek(0)
            created.stdout, created.stderr = "", out.read()
        assert created.returncode == 0, describe(created)
        rt.cmd("start", cid, check=True)
        yield rt, cid, created
    finally:
        rt.cmd("delete", "--force", cid)
        harness.kill_leftovers(str(base))
        harness.umount_below(base)
        shutil.rmtree(base, ignore_errors=True)


def warnings(stderr):
    return [line.split("warning: ", 1)[1] for line in stderr.splitlines() if "warning: " in line]


def test_create_warns_and_runs(lsm_container):
    rt, cid, created = lsm_container
    assert warnings(created.stderr) == [aa_warning(PROFILE), se_warning(LABEL)], describe(created)
    assert '"running"' in rt.cmd("state", cid, check=True).stdout


def test_exec_flags_warn_as_create(lsm_container):
    """--apparmor and --process-label: create's warnings, with the exec's values."""
    rt, cid, _ = lsm_container
    p = rt.cmd("exec", "--apparmor", "other-profile", "--process-label", "user_u:role_r:t:s0",
               cid, "echo", "ran")
    assert p.returncode == 0 and p.stdout == "ran\n", describe(p)
    assert warnings(p.stderr) == [aa_warning("other-profile"),
                                  se_warning("user_u:role_r:t:s0")], describe(p)


def test_exec_inherits_the_containers_labels(lsm_container):
    """Without flags exec's process is the container's, labels included (runc's rule)."""
    rt, cid, created = lsm_container
    p = rt.cmd("exec", cid, "echo", "ran")
    assert p.returncode == 0 and p.stdout == "ran\n", describe(p)
    assert warnings(p.stderr) == warnings(created.stderr), describe(p)


def test_exec_process_file(lsm_container):
    rt, cid, _ = lsm_container
    proc = rt.base / "process.json"
    proc.write_text(json.dumps({"terminal": False, "user": {"uid": 0, "gid": 0}, "cwd": "/",
                                "args": ["echo", "ran"], "env": ["PATH=/bin"],
                                "apparmorProfile": "from-process-json"}))
    p = rt.cmd("exec", "--process", proc, cid)
    assert p.returncode == 0 and p.stdout == "ran\n", describe(p)
    assert warnings(p.stderr) == [aa_warning("from-process-json")], describe(p)


def test_exec_json_log(lsm_container):
    """--log-format json (the containerd shim's flags): warning entries in the log, stderr quiet."""
    rt, cid, _ = lsm_container
    log = rt.base / "exec-log.json"
    p = harness.run([*rt.argv, "--log", log, "--log-format", "json", "exec", "--apparmor", "p2",
                     cid, "true"])
    assert p.returncode == 0 and p.stderr == "", describe(p)
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(e["level"], e["msg"]) for e in entries] == [
        ("warning", aa_warning("p2")), ("warning", se_warning(LABEL))], entries


def test_exec_tty_warning_on_stderr(lsm_container):
    """With -t the child's stdio is the pty before the labels are set: the warning still goes to
    berth-oci's stderr, not into the process's terminal."""
    rt, cid, _ = lsm_container
    master, slave = pty.openpty()
    try:
        p = subprocess.run([*rt.argv, "exec", "-t", "--apparmor", "tty-profile", cid, "echo",
                            "ran"], stdin=slave, stdout=slave, stderr=subprocess.PIPE, text=True,
                           timeout=30)
        os.close(slave)
        slave = -1
        out = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    harness.reap()
    assert p.returncode == 0, p.stderr
    assert b"ran" in out and b"warning" not in out, out
    assert aa_warning("tty-profile") in p.stderr, p.stderr
