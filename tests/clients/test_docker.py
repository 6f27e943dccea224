"""docker (Debian's docker.io 20.10): a private dockerd started by the test
with `--add-runtime berth=WRAPPER`, its own data root, exec root and socket,
no iptables, no bridge, no ip_forward changes (the flags that work on this
host, see shared/MACHINE-NOTES.md); vfs storage. dockerd starts its own
containerd under the exec root, whose runc v2 shim calls the runtime with
`--root DIR --log FILE --log-format json`.

dockerd writes /etc/docker/key.json and /run/docker, and its containerd
/run/containerd/s: the module removes what it made there.
"""

import os
import shutil

import pytest

import harness
from conftest import check_runtime, module_dir
from harness import describe

DOCKER = "/usr/bin/docker"  # /usr/local/bin may hold another client
MADE_BY_DOCKERD = ["/etc/docker/key.json", "/run/docker/plugins", "/run/docker",
                   "/run/containerd/s", "/run/containerd"]
SLEEPER = 'echo started; trap "exit 0" TERM; while :; do sleep 0.1; done'


class Docker:
    def __init__(self, base, wrapper):
        self.base = base
        self.wrapper = wrapper
        self.argv = [DOCKER, "-H", f"unix://{base}/docker.sock"]

    def cmd(self, *args, check=False, timeout=90):
        return harness.run([*self.argv, *args], check=check, timeout=timeout)

    def ok(self, *args, **kw):
        return self.cmd(*args, check=True, **kw).stdout


def _remove_made(before):
    for p in MADE_BY_DOCKERD:
        if p in before:
            continue
        try:
            os.unlink(p) if p.endswith(".json") else os.rmdir(p)
        except OSError:
            pass


@pytest.fixture(scope="module")
def docker(oci_runtime, busybox_tar):
    if not os.access(DOCKER, os.X_OK) or not shutil.which("dockerd"):
        pytest.skip("docker.io is not installed")
    check_runtime(oci_runtime)
    before = {p for p in MADE_BY_DOCKERD if os.path.exists(p)}
    base = module_dir("berth-docker-")
    wrapper = harness.Wrapper(oci_runtime, base)
    d = harness.Daemon(["dockerd", "--data-root", base / "data", "--exec-root", base / "exec",
                        "-H", f"unix://{base}/docker.sock", "--pidfile", base / "docker.pid",
                        "--iptables=false", "--bridge=none", "--ip-forward=false",
                        "--storage-driver", "vfs", "--add-runtime", f"berth={wrapper.path}"],
                       base / "dockerd.log")
    c = Docker(base, wrapper)
    try:
        harness.wait_for(lambda: not d.alive() or c.cmd("version").returncode == 0,
                         timeout=60, what="dockerd answers")
        if not d.alive():
            pytest.skip(f"dockerd cannot run here: {d.output()}")
        c.ok("load", "-q", "-i", busybox_tar)
        yield c
    finally:
        c.cmd("rm", "-f", *c.cmd("ps", "-aq").stdout.split())
        d.stop(timeout=30)
        harness.kill_leftovers(str(base))
        harness.umount_below(base)
        shutil.rmtree(base, ignore_errors=True)
        _remove_made(before)


def test_run_rm_echo(docker):
    p = docker.cmd("run", "--rm", "--runtime", "berth", "--network", "none", "busybox",
                   "echo", "hello from docker")
    assert p.returncode == 0, describe(p)
    assert p.stdout == "hello from docker\n", describe(p)
    calls = [argv for c, argv in docker.wrapper.commands() if c == "create"]
    assert calls and calls[-1][0] == "--root" and "--log-format" in calls[-1], calls


def test_exit_code(docker):
    p = docker.cmd("run", "--rm", "--runtime", "berth", "--network", "none", "busybox",
                   "sh", "-c", "exit 3")
    assert p.returncode == 3, describe(p)


def test_detached_container(docker):
    name = "web"
    docker.ok("run", "-d", "--name", name, "--runtime", "berth", "--network", "none",
              "busybox", "sh", "-c", SLEEPER)
    try:
        harness.wait_for(lambda: "started" in docker.cmd("logs", name).stdout, what="logs")
        p = docker.cmd("exec", name, "sh", "-c", "echo in-exec; exit 6")
        assert p.returncode == 6 and p.stdout == "in-exec\n", describe(p)
        docker.ok("pause", name)
        docker.ok("unpause", name)
        docker.ok("stop", "-t", "10", name)
        code = docker.ok("inspect", "--format", "{{.State.ExitCode}}", name).strip()
        assert code == "0", code
    finally:
        docker.cmd("rm", "-f", name)
    cmds = {c for c, _ in docker.wrapper.commands()}
    assert {"create", "start", "exec", "pause", "resume", "kill", "delete"} <= cmds, cmds
