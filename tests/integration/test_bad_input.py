"""Bad input, berth-oci only: each case must exit 1 with exactly one line
`berth-oci: <message>` on stderr that names the field and the value, and leave
nothing behind (the leak guard checks mounts, cgroups and processes; the
tests check the state root and `state`/`list`)."""

import json
import os
import re

import pytest

from conftest import describe, new_id
from helpers import SLEEPER


def assert_error(p, *needles):
    """Exit 1, one stderr line `berth-oci: ...` containing every needle."""
    assert p.returncode == 1, describe(p)
    lines = p.stderr.splitlines()
    assert len(lines) == 1, f"want exactly one error line\n{describe(p)}"
    assert lines[0].startswith("berth-oci: "), describe(p)
    for n in needles:
        assert n in lines[0], f"{n!r} not in the message\n{describe(p)}"
    return lines[0]


def assert_nothing_left(oci, cid):
    p = oci.state(cid)
    assert p.returncode == 1, describe(p)
    assert oci.ids_listed() == set()
    if oci.root.exists():  # (the seccomp program cache is not a container's)
        assert [n for n in os.listdir(oci.root) if n != ".seccomp:bpf"] == []


def create_fails(oci, bundle, *needles, cid=None):
    cid = cid or new_id()
    p = oci.create(bundle, cid)
    msg = assert_error(p, *needles)
    assert_nothing_left(oci, cid)
    return msg


# -- JSON syntax

@pytest.mark.parametrize("text,line,col", [
    ('{\n  "ociVersion": "1.0.2",\n  "process": @\n}\n', 3, 14),
    ('{\n  "ociVersion": "1.0.2",\n}\n', 3, 1),
    ('{\n  "ociVersion": "1.0.2",\n  "process": {"args": ["sh"]\n', 4, 1),
], ids=["bad-token", "trailing-comma", "truncated"])
def test_malformed_json_names_line_and_column(oci, bundle, text, line, col):
    bundle.raw = text
    msg = create_fails(oci, bundle, "config.json:")
    m = re.search(r"config\.json:(\d+):(\d+): ", msg)
    assert m, msg
    # parsers differ by one on where a token "is"; the line must be exact
    assert int(m.group(1)) == line, msg
    assert abs(int(m.group(2)) - col) <= 1, msg


def test_config_not_an_object(oci, bundle):
    bundle.raw = "[1, 2]\n"
    create_fails(oci, bundle, "config.json", "got array")


def test_missing_config(oci, bundle):
    os.unlink(bundle.path / "config.json")
    p = oci.cmd("create", "--bundle", bundle.path, "x1")
    assert_error(p, "config.json")
    assert_nothing_left(oci, "x1")


# -- wrong types and values

def _set(config, path, value):
    node = config
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value


@pytest.mark.parametrize("path,value,needles", [
    (("process", "args"), 42,
     ["config.json: process.args: expected an array of strings, got integer"]),
    (("process", "args"), ["sh", 1], ["process.args[1]", "got integer"]),
    (("process", "args"), [], ["process.args"]),
    (("process", "user", "uid"), "0", ["process.user.uid", "got string"]),
    (("process", "env"), "PATH=/bin", ["process.env", "got string"]),
    (("process", "terminal"), "yes", ["process.terminal", "got string"]),
    (("root",), "rootfs", ["root", "got string"]),
    (("hostname",), 5, ["hostname", "got integer"]),
    (("mounts", 0, "options"), "ro", ["mounts[0].options", "got string"]),
    (("linux", "namespaces"), {}, ["linux.namespaces", "got object"]),
    (("process", "rlimits", 0, "type"), "RLIMIT_BOGUS",
     ["process.rlimits[0].type", '"RLIMIT_BOGUS"']),
], ids=lambda v: ".".join(map(str, v)) if isinstance(v, tuple) else None)
def test_wrong_type_or_value_names_the_field(oci, bundle, path, value, needles):
    _set(bundle.config, path, value)
    create_fails(oci, bundle, *needles)


def test_unknown_namespace(oci, bundle):
    bundle.config["linux"]["namespaces"].insert(0, {"type": "foo"})
    create_fails(oci, bundle,
                 'config.json: linux.namespaces[0].type: unknown namespace type "foo"')


def test_unknown_seccomp_action(oci, bundle):
    bundle.config["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_BOGUS"}]}
    create_fails(oci, bundle, "linux.seccomp.syscalls[0].action", '"SCMP_ACT_BOGUS"')


@pytest.mark.parametrize("path,value,needles", [
    (("process", "user", "uid"), 2**40, ["process.user.uid", "1099511627776"]),
    (("process", "user", "gid"), 2**40, ["process.user.gid", "1099511627776"]),
    (("process", "user", "uid"), -1, ["process.user.uid", "-1"]),
    (("process", "oomScoreAdj"), 5000, ["process.oomScoreAdj", "5000"]),
    (("process", "rlimits", 0, "soft"), -5, ["process.rlimits[0].soft", "-5"]),
], ids=lambda v: ".".join(map(str, v)) if isinstance(v, tuple) else None)
def test_out_of_range_values(oci, bundle, path, value, needles):
    _set(bundle.config, path, value)
    create_fails(oci, bundle, *needles)


def test_huge_uid_mapping(oci, bundle):
    linux = bundle.config["linux"]
    linux["namespaces"].append({"type": "user"})
    linux["uidMappings"] = [{"containerID": 0, "hostID": 2**40, "size": 1}]
    linux["gidMappings"] = [{"containerID": 0, "hostID": 0, "size": 1}]
    create_fails(oci, bundle, "linux.uidMappings[0].hostID", "1099511627776")


# -- the filesystem

def test_missing_rootfs(oci, bundle):
    bundle.config["root"]["path"] = "no-such-rootfs"
    create_fails(oci, bundle, "no-such-rootfs")


def test_missing_bundle(oci, bundle, workdir):
    p = oci.cmd("create", "--bundle", workdir.path / "no-such-bundle", "x2")
    assert_error(p, "no-such-bundle")
    assert_nothing_left(oci, "x2")


def test_mount_destination_escaping_through_symlink(oci, bundle, workdir):
    outside = workdir.path / "outside"
    outside.mkdir()
    depth = len(bundle.rootfs.parts)
    os.symlink("../" * depth + str(outside).lstrip("/"), bundle.rootfs / "evil")
    n = len(bundle.config["mounts"])
    bundle.config["mounts"].append(
        {"destination": "/evil/sub", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]})
    create_fails(oci, bundle, f"mounts[{n}].destination", "escapes the rootfs")
    assert os.listdir(outside) == []


def test_mount_source_missing(oci, bundle, workdir):
    n = len(bundle.config["mounts"])
    missing = str(workdir.path / "no-such-source")
    bundle.config["mounts"].append(
        {"destination": "/mnt", "type": "bind", "source": missing, "options": ["bind"]})
    create_fails(oci, bundle, f"mounts[{n}]", missing)


# -- ids

@pytest.mark.parametrize("cid", ["../x", "/", "", "a/b", ".", "..", "x\ny"])
def test_invalid_id(oci, bundle, workdir, cid):
    bundle.process["args"] = ["sh", "-c", SLEEPER]
    p = oci.create(bundle, cid)
    assert_error(p, f"container id {json.dumps(cid)}")
    assert_nothing_left(oci, "ok-id")
    assert not (workdir.path / "x").exists()


def test_id_too_long(oci, bundle):
    cid = "a" * 2000
    p = oci.create(bundle, cid)
    assert_error(p, "container id")
    assert_nothing_left(oci, "ok-id")


def test_duplicate_id_message(oci, bundle, cid):
    bundle.process["args"] = ["sh", "-c", SLEEPER]
    oci.create(bundle, cid, check=True)
    p = oci.create(bundle, cid)
    assert_error(p, f'container "{cid}" already exists')
    assert oci.state_json(cid)["status"] == "created"
    oci.delete(cid, force=True, check=True)


# -- commands

@pytest.mark.parametrize("cmd", ["state", "start", "delete", "kill"])
def test_unknown_container(oci, cmd):
    p = oci.cmd(cmd, "nosuch")
    assert_error(p, '"nosuch"')


def test_unknown_signal(oci, bundle, cid):
    bundle.process["args"] = ["sh", "-c", SLEEPER]
    oci.create(bundle, cid, check=True)
    p = oci.kill(cid, "BOGUS")
    assert_error(p, "BOGUS")
    assert oci.state_json(cid)["status"] == "created"
    oci.delete(cid, force=True, check=True)


def test_unknown_option(oci, bundle):
    p = oci.cmd("create", "--bogus", "--bundle", bundle.path, "x3")
    assert_error(p, "--bogus")
    assert_nothing_left(oci, "x3")


def test_unknown_command(oci):
    """Exit 3, not 1: runc's status for an unknown command (urfave/cli's "No help topic for
    'X'", which runc's help.bats checks); berth-oci says why after runc's words."""
    p = oci.cmd("frobnicate")
    assert p.returncode == 3, describe(p)
    assert p.stderr == ("berth-oci: No help topic for 'frobnicate' (unknown command; see "
                        "'berth-oci --help')\n"), describe(p)


def test_start_needs_created(oci, bundle, cid):
    bundle.process["args"] = ["sh", "-c", SLEEPER]
    oci.run(bundle, cid, detach=True, check=True)
    p = oci.start(cid)
    assert_error(p, f'"{cid}"', "running")
    oci.delete(cid, force=True, check=True)


def test_delete_running_message(oci, bundle, cid):
    bundle.process["args"] = ["sh", "-c", SLEEPER]
    oci.run(bundle, cid, detach=True, check=True)
    p = oci.delete(cid)
    assert_error(p, f'"{cid}"', "running")
    oci.delete(cid, force=True, check=True)
