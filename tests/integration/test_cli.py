"""spec, features, --version and --help, the same for every runtime."""

import json
import os
import re
import shutil

import pytest

from conftest import REPO, describe, new_id, Bundle

NAMESPACES = {"cgroup", "ipc", "mount", "network", "pid", "user", "uts"}
HOOKS = {"prestart", "createRuntime", "createContainer", "startContainer",
         "poststart", "poststop"}


def test_spec_writes_a_config_that_runs(runtime, workdir, template_bundle):
    d = workdir.path / "spec"
    d.mkdir()
    p = runtime.spec("--bundle", d)
    assert p.returncode == 0, describe(p)
    config = json.loads((d / "config.json").read_text())
    assert config["ociVersion"].startswith("1.")
    assert config["process"]["args"] == ["sh"]
    assert config["root"]["path"] == "rootfs"
    types = {ns["type"] for ns in config["linux"]["namespaces"]}
    assert {"pid", "mount"} <= types and "user" not in types
    assert all(m["destination"] != "" for m in config["mounts"])
    assert "/proc" in [m["destination"] for m in config["mounts"]]

    # It runs as it is, once there is a rootfs and no terminal is asked for.
    shutil.copytree(template_bundle / "rootfs", d / "rootfs", symlinks=True)
    config["process"]["terminal"] = False
    config["process"]["args"] = ["sh", "-c", "echo spec-ok; echo $$"]
    b = Bundle(d, config)
    p = runtime.run(b, new_id())
    assert p.returncode == 0, describe(p)
    assert p.stdout == "spec-ok\n1\n"


def test_spec_in_cwd(runtime, workdir):
    d = workdir.path / "cwd"
    d.mkdir()
    p = runtime.spec(cwd=d)
    assert p.returncode == 0, describe(p)
    json.loads((d / "config.json").read_text())


def test_spec_refuses_to_overwrite(runtime, workdir):
    d = workdir.path / "spec"
    d.mkdir()
    (d / "config.json").write_text("keep me")
    p = runtime.spec("--bundle", d)
    assert p.returncode != 0, describe(p)
    assert (d / "config.json").read_text() == "keep me"


def test_spec_rootless(runtime, workdir):
    d = workdir.path / "spec"
    d.mkdir()
    p = runtime.spec("--rootless", "--bundle", d)
    assert p.returncode == 0, describe(p)
    config = json.loads((d / "config.json").read_text())
    types = {ns["type"] for ns in config["linux"]["namespaces"]}
    assert "user" in types
    if runtime.name == "crun":
        return  # crun leaves the mappings out and computes them at run time
    assert config["linux"]["uidMappings"] == [
        {"containerID": 0, "hostID": os.getuid(), "size": 1}]
    assert config["linux"]["gidMappings"] == [
        {"containerID": 0, "hostID": os.getgid(), "size": 1}]
    if runtime.name != "crun":
        # runc's rootless spec (berth-oci follows it) has no network
        # namespace, so /sys cannot be a fresh sysfs: it is bound from the host.
        assert "network" not in types
        sys_mount = [m for m in config["mounts"] if m["destination"] == "/sys"][0]
        assert "rbind" in sys_mount.get("options", [])


def test_features(runtime):
    p = runtime.cmd("features")
    if runtime.name == "crun" and p.returncode != 0:
        pytest.skip("crun 1.8 has no features command")
    assert p.returncode == 0, describe(p)
    f = json.loads(p.stdout)
    assert re.fullmatch(r"1\.0\.\d+", f["ociVersionMin"]), f["ociVersionMin"]
    assert re.match(r"1\.\d+\.\d+", f["ociVersionMax"]), f["ociVersionMax"]
    assert set(f["hooks"]) == HOOKS
    assert {"ro", "rw", "nosuid", "nodev", "noexec", "bind", "rbind", "relatime",
            "strictatime"} <= set(f["mountOptions"])
    linux = f["linux"]
    assert NAMESPACES <= set(linux["namespaces"])
    assert {"CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_KILL"} <= set(linux["capabilities"])
    assert linux["seccomp"]["enabled"] is True
    assert {"SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO", "SCMP_ACT_KILL"} <= set(linux["seccomp"]["actions"])
    assert "v1" in linux["cgroup"] and "v2" in linux["cgroup"]


def test_version(runtime):
    p = runtime.cmd("--version")
    assert p.returncode == 0, describe(p)
    lines = p.stdout.splitlines()
    m = re.match(r"(\S+) version (\d+\.\d+\.\d+)", lines[0])
    assert m, describe(p)
    assert any(re.match(r"spec: 1\.\d+\.\d+", line) for line in lines), describe(p)
    if runtime.name == "berth-oci":
        project = re.search(r"version\s*:\s*'([^']+)'", (REPO / "meson.build").read_text())
        assert m.group(1) == "berth-oci" and m.group(2) == project.group(1)


COMMANDS = ("create", "start", "state", "kill", "delete", "run", "list", "spec")


def test_help(runtime):
    p = runtime.cmd("--help")
    assert p.returncode == 0, describe(p)
    for c in COMMANDS:
        assert re.search(rf"^\s+{c}\b", p.stdout, re.M), f"{c} not in help:\n{p.stdout}"
    for flag in ("--root", "--log", "--debug", "--systemd-cgroup"):
        assert flag in p.stdout, f"{flag} not in help:\n{p.stdout}"


def test_create_help(runtime):
    p = runtime.cmd("create", "--help")
    assert p.returncode == 0, describe(p)
    for flag in ("--bundle", "--pid-file", "--console-socket", "--preserve-fds",
                 "--no-pivot", "--no-new-keyring"):
        assert flag in p.stdout, f"{flag} not in create --help:\n{p.stdout}"


@pytest.mark.parametrize("cmd", ["start", "state", "delete", "kill"])
def test_missing_id_fails(runtime, cmd):
    p = runtime.cmd(cmd)
    assert p.returncode != 0, describe(p)
    assert p.stderr.strip(), describe(p)


def test_unknown_command_fails(runtime):
    p = runtime.cmd("frobnicate")
    assert p.returncode != 0, describe(p)
    assert "frobnicate" in p.stderr, describe(p)


def test_debug_log_json(runtime, bundle, workdir):
    if runtime.name == "crun":
        pytest.skip("crun 1.8 writes no debug trace for run")
    log = workdir.path / "log.json"
    bundle.process["args"] = ["true"]
    p = runtime.run(bundle, new_id(),
                    global_args=["--debug", "--log", log, "--log-format", "json"])
    assert p.returncode == 0, describe(p)
    lines = log.read_text().splitlines()
    assert lines, "empty debug log"
    entries = [json.loads(line) for line in lines]
    assert all("msg" in e and "level" in e for e in entries), lines[:5]
    assert any(e["level"] == "debug" for e in entries), lines[:5]


def test_log_text(runtime, bundle, workdir):
    if runtime.name == "crun":
        pytest.skip("crun 1.8 writes no debug trace for run")
    log = workdir.path / "log.txt"
    bundle.process["args"] = ["true"]
    p = runtime.run(bundle, new_id(), global_args=["--debug", "--log", log])
    assert p.returncode == 0, describe(p)
    text = log.read_text()
    assert text.strip() and not text.lstrip().startswith("{"), text[:500]
