"""The engine's commands as docs/engine-cli.md specifies them: run (exit codes, flags, OOM),
images/tag/rmi/prune, save/load in every format, import, image inspect, and copy-on-write
containers (diff, commit).  Each test has its own --root with busybox loaded from the
tools/mkimage archive."""

import json
import os
import re
import shutil
import signal
import subprocess

import pytest

import registry as R
from conftest import describe, require_tools


@pytest.fixture
def bb(berth, busybox_archive):
    """The engine with busybox:latest loaded."""
    p = berth.cmd("load", "-i", busybox_archive)
    assert p.returncode == 0, describe(p)
    assert "Loaded image" in p.stdout, describe(p)
    if "busybox" not in p.stdout:
        berth.ok("tag", p.stdout.split()[-1], "busybox:latest")
    return berth


def run(e, *args, **kw):
    return e.cmd("run", *args, timeout=kw.pop("timeout", 60), **kw)


# --------------------------------------------------------------------------
# run


def test_run_echo(bb):
    p = run(bb, "--rm", "busybox", "echo", "hello")
    assert p.returncode == 0, describe(p)
    assert p.stdout == "hello\n", describe(p)
    assert bb.containers() == []


def test_run_stdin(bb):
    p = run(bb, "--rm", "-i", "busybox", "sh", "-c", "tr a-z A-Z", input="shout\n")
    assert p.returncode == 0 and p.stdout == "SHOUT\n", describe(p)


@pytest.mark.parametrize("args, code", [
    (["sh", "-c", "exit 3"], 3),
    (["no-such-command"], 127),
    (["/no/such/path"], 127),
    (["/bin"], 126),                     # a directory: permission denied
    (["sh", "-c", "exit 255"], 255),
], ids=["exit3", "not-found", "no-path", "not-executable", "exit255"])
def test_run_exit_codes(bb, args, code):
    p = run(bb, "--rm", "busybox", *args)
    assert p.returncode == code, describe(p)
    if code in (126, 127):
        assert p.stderr.startswith("berth: ") and args[0] in p.stderr, describe(p)
    assert bb.containers() == []


@pytest.mark.parametrize("argv", [
    ["run", "--bogus", "busybox", "true"],
    ["run", "--rm"],
    ["run", "--rm", "127.0.0.1:1/no/such:image", "true"],
    ["run", "--rm", "-m", "lots", "busybox", "true"],
    ["bogus-command"],
    ["rmi", "no-such-image"],
    ["image", "inspect", "no-such-image"],
], ids=["bad-flag", "no-image", "no-registry", "bad-memory", "bad-command", "rmi-missing",
        "inspect-missing"])
def test_engine_errors_125(bb, argv):
    p = bb.cmd(*argv, timeout=60)
    assert p.returncode == 125, describe(p)
    # (run may say "Unable to find image 'x' locally" first, usage errors "See 'berth
    # run --help'." after, as docker does)
    assert any(line.startswith("berth: ") for line in p.stderr.splitlines()), describe(p)
    assert bb.containers() == []


def test_run_killed_from_outside(bb):
    """The container's init killed by SIGKILL: 137.  (pid 1 of a namespace ignores signals
    from inside it and, without a handler, all but SIGKILL/SIGSTOP: so `sh -c 'kill -9 $$'`
    exits 0, as under docker; the kill comes from the host.)"""
    p = bb.popen("run", "--name", "killed", "busybox", "sh", "-c",
                 "echo ready; sleep 1000 & wait")
    try:
        assert p.stdout.readline() == b"ready\n"
        pid = bb.json("inspect", "killed")[0]["State"]["Pid"]
        assert isinstance(pid, int) and pid > 1
        os.kill(pid, signal.SIGKILL)
        assert p.wait(timeout=20) == 137, p.stderr.read()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    c = bb.json("inspect", "killed")[0]
    assert c["State"]["Status"] == "exited" and c["State"]["ExitCode"] == 137, c["State"]
    bb.ok("rm", "killed")


def test_run_flags_ps_inspect_rm(bb):
    script = 'echo "$A|$B"; pwd; id -u; id -g; hostname'
    p = run(bb, "-e", "A=1", "--env=B=two words", "-w", "/tmp", "-u", "1000:1000",
            "--hostname", "hh", "--name", "flags", "busybox", "sh", "-c", script)
    assert p.returncode == 0, describe(p)
    assert p.stdout.splitlines() == ["1|two words", "/tmp", "1000", "1000", "hh"], describe(p)

    ps = bb.json_lines("ps", "-a", "--format", "json")
    mine = [c for c in ps if c.get("Names") in ("flags", "/flags")]
    assert len(mine) == 1, ps
    assert bb.ok("ps", "-q") == ""  # not running
    table = bb.ok("ps", "-a")
    assert table.split()[:7] == ["CONTAINER", "ID", "IMAGE", "COMMAND", "CREATED", "STATUS",
                                 "PORTS"] or table.startswith("CONTAINER ID"), table
    assert re.search(r"Exited \(0\) .* ago", table), table

    info = bb.json("inspect", "flags")
    assert len(info) == 1
    c = info[0]
    assert c["Name"] in ("flags", "/flags"), c
    assert "A=1" in c["Config"]["Env"] and "B=two words" in c["Config"]["Env"], c
    assert c["Config"]["WorkingDir"] == "/tmp" and c["Config"]["User"] == "1000:1000", c
    assert c["Config"]["Hostname"] == "hh", c
    assert c["State"]["Status"] == "exited" and c["State"]["ExitCode"] == 0, c
    assert c["State"]["Running"] is False and c["State"]["OOMKilled"] is False, c
    assert c["GraphDriver"]["Name"] == "overlay", c

    # the name is taken
    p = run(bb, "--name", "flags", "busybox", "true")
    assert p.returncode == 125 and "flags" in p.stderr, describe(p)

    p = bb.cmd("rm", "flags")
    assert p.returncode == 0 and p.stdout.strip() == "flags", describe(p)
    assert bb.containers() == []
    p = bb.cmd("inspect", "flags")
    assert p.returncode == 1, describe(p)  # docker: No such object, exit 1


def test_run_image_config_applies(berth, workdir):
    w = workdir.path
    img = R.Image([R.layer_tar(R.busybox_entries()),
                   R.layer_tar([R.Entry("srv", "dir")])],
                  entrypoint=["sh", "-c"], cmd=['echo "$GREETING from $(pwd) as $(id -u)"'],
                  env=["PATH=/bin", "GREETING=hi"], workdir="/srv", user="1000")
    img.write_docker_archive(w / "cfg.tar", "cfg:1")
    berth.ok("load", "-i", w / "cfg.tar")
    p = run(berth, "--rm", "cfg:1")
    assert p.returncode == 0 and p.stdout == "hi from /srv as 1000\n", describe(p)
    p = run(berth, "--rm", "cfg:1", "echo override")
    assert p.returncode == 0 and p.stdout == "override\n", describe(p)
    p = run(berth, "--rm", "--entrypoint", "echo", "cfg:1", "plain")
    assert p.returncode == 0 and p.stdout == "plain\n", describe(p)


def test_oom_killed(bb):
    p = run(bb, "--name", "oom", "-m", "8m", "busybox", "sh", "-c",
            "x=a; while :; do x=$x$x; done", timeout=120)
    assert p.returncode == 137, describe(p)
    c = bb.json("inspect", "oom")[0]
    assert c["State"]["OOMKilled"] is True, c["State"]
    assert c["State"]["ExitCode"] == 137, c["State"]
    assert c["HostConfig"]["Memory"] == 8 * 1024 * 1024, c["HostConfig"]
    bb.ok("rm", "oom")


# --------------------------------------------------------------------------
# images


def test_images_tag_rmi(bb):
    table = bb.ok("images")
    assert table.split()[:6] == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"], table
    assert re.search(r"^busybox\s+latest\s+[0-9a-f]{12}\s", table, re.M), table

    bb.ok("tag", "busybox", "mybox:2")
    imgs = bb.json_lines("images", "--format", "json")
    by = {f"{i['Repository']}:{i['Tag']}": i for i in imgs}
    assert by["busybox:latest"]["ID"] == by["mybox:2"]["ID"], imgs
    ident = by["busybox:latest"]["ID"]
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", ident), ident
    for k in ("Size", "SizeBytes", "SharedSizeBytes", "UniqueSizeBytes", "Containers",
              "CreatedAt", "CreatedSince", "Digest"):
        assert k in by["mybox:2"], (k, by["mybox:2"])
    assert bb.ok("images", "-q").split() == [ident[7:19]], bb.ok("images", "-q")
    assert ident in bb.ok("images", "-q", "--no-trunc")

    p = bb.cmd("rmi", "mybox:2")
    assert p.returncode == 0 and p.stdout.strip() == "Untagged: mybox:2", describe(p)
    assert bb.image_inspect("busybox")["Id"] == ident

    # used by a (stopped) container: refused, then forced
    bb.ok("run", "--name", "user", "busybox", "true")
    p = bb.cmd("rmi", "busybox")
    assert p.returncode == 125, describe(p)
    assert "container" in p.stderr and "-f" in p.stderr, describe(p)
    p = bb.cmd("rmi", "-f", "busybox")
    assert p.returncode == 0 and "Untagged: busybox:latest" in p.stdout, describe(p)
    assert bb.cmd("image", "inspect", "busybox").returncode == 125
    # the container still has its layers
    p = bb.cmd("inspect", "user")
    assert p.returncode == 0, describe(p)
    lower = json.loads(p.stdout)[0]["GraphDriver"]["Data"]["LowerDir"]
    for d in lower.split(":"):
        assert os.path.isdir(d), f"{d} went away while a container uses it"
    bb.ok("rm", "user")


def test_image_prune(bb, workdir):
    w = workdir.path
    R.Image([R.layer_tar([R.Entry("dangling", data=b"x" * 5000)])], cmd=["/x"]) \
        .write_docker_archive(w / "d.tar", None)
    p = bb.cmd("load", "-i", w / "d.tar")
    assert p.returncode == 0 and "Loaded image ID: sha256:" in p.stdout, describe(p)
    assert len(bb.ok("images", "-q").split()) == 2
    assert "<none>" in bb.ok("images")

    p = bb.cmd("image", "prune", "-f")
    assert p.returncode == 0, describe(p)
    assert "Deleted Images:" in p.stdout and "Total reclaimed space:" in p.stdout, describe(p)
    assert len(bb.ok("images", "-q").split()) == 1
    # -a removes busybox too (no container uses it)
    p = bb.cmd("image", "prune", "-a", "-f")
    assert p.returncode == 0, describe(p)
    assert bb.ok("images", "-q").strip() == ""
    assert not [n for n in os.listdir(bb.root / "layers") if not n.endswith(".lock")]


def test_image_inspect_fields(bb):
    i = bb.image_inspect("busybox")
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", i["Id"]), i
    assert "busybox:latest" in i["RepoTags"], i
    assert isinstance(i["RepoDigests"], list)
    assert i["Os"] == "linux" and i["Architecture"] == "amd64", i
    assert i["RootFS"]["Type"] == "layers" and i["RootFS"]["Layers"], i
    assert len(i["Layers"]) == len(i["RootFS"]["Layers"]), i
    assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", x) for x in i["Layers"]), i
    assert i["Layers"][0] == i["RootFS"]["Layers"][0]  # the bottom chain id is its diff id
    assert isinstance(i["Size"], int) and i["Size"] > 500_000, i
    assert i["Manifest"].startswith("sha256:"), i
    for k in ("User", "Env", "Cmd", "Entrypoint", "WorkingDir", "Labels"):
        assert k in i["Config"], (k, i["Config"])
    assert bb.ok("image", "inspect", "--format", "{{.Id}}", "busybox").strip() == i["Id"]
    cmd = bb.ok("image", "inspect", "--format", "{{.Config.Cmd}}", "busybox").strip()
    assert "sh" in cmd, cmd
    # by id and by prefix
    assert bb.image_inspect(i["Id"])["Id"] == i["Id"]
    assert bb.image_inspect(i["Id"][7:19])["Id"] == i["Id"]


@pytest.mark.parametrize("fmt", ["docker-archive", "oci-archive", "oci-dir"])
def test_save_load_roundtrip(bb, make_engine, workdir, fmt):
    w = workdir.path
    ident = bb.image_inspect("busybox")["Id"]
    out = w / f"saved-{fmt}"
    p = bb.cmd("save", "--format", fmt, "-o", out, "busybox", timeout=120)
    assert p.returncode == 0, describe(p)
    if fmt == "oci-dir":
        assert (out / "index.json").is_file() and (out / "oci-layout").is_file()
        tarball = w / "from-dir.tar"
        R.run(["tar", "-C", out, "-cf", tarball, "."])
    else:
        tarball = out
    other = make_engine("other")
    p = other.cmd("load", "-i", tarball, timeout=120)
    assert p.returncode == 0, describe(p)
    assert other.image_inspect("busybox")["Id"] == ident
    p = run(other, "--rm", "busybox", "echo", "round trip")
    assert p.returncode == 0 and p.stdout == "round trip\n", describe(p)

    if shutil.which("skopeo"):
        src = {"docker-archive": f"docker-archive:{out}", "oci-archive": f"oci-archive:{out}",
               "oci-dir": f"oci:{out}"}[fmt]
        info = json.loads(R.run(["skopeo", "inspect", src]).stdout)
        assert len(info["Layers"]) == len(bb.image_inspect("busybox")["Layers"]), info


def test_save_to_stdout_load_from_stdin(bb, make_engine, workdir):
    w = workdir.path
    with open(w / "s.tar", "wb") as f:
        p = subprocess.run(bb.argv_for("save", "busybox"), stdout=f,
                                         stderr=subprocess.PIPE, env=bb.env,
                                         timeout=120)
    assert p.returncode == 0, p.stderr
    other = make_engine("stdin")
    p = other.cmd("load", input=(w / "s.tar").read_bytes(), timeout=120)
    assert p.returncode == 0 and "busybox" in p.stdout, describe(p)


def test_import_rootfs_tar(berth, workdir):
    w = workdir.path
    (w / "rootfs.tar").write_bytes(R.layer_tar(R.busybox_entries() +
                                               [R.Entry("hello", data=b"imported\n")]))
    p = berth.cmd("import", "-c", 'CMD ["sh"]', "-c", "ENV FOO=bar", "-m", "by test",
                  w / "rootfs.tar", "imp:1")
    assert p.returncode == 0, describe(p)
    ident = p.stdout.strip()
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", ident), describe(p)
    i = berth.image_inspect("imp:1")
    assert i["Id"] == ident and i["Config"]["Cmd"] == ["sh"], i
    assert "FOO=bar" in i["Config"]["Env"], i
    p = run(berth, "--rm", "-i", "imp:1", input="cat /hello; echo $FOO\n")
    assert p.returncode == 0 and p.stdout == "imported\nbar\n", describe(p)
    # from stdin, without a name: dangling
    p = berth.cmd("import", "-", input=(w / "rootfs.tar").read_bytes())
    assert p.returncode == 0 and p.stdout.startswith("sha256:"), describe(p)


def test_import_root_filesystem_with_devices(berth, workdir):
    """A tar of a real root filesystem (debootstrap's, `tar -C / ...`) has device nodes in /dev:
    they are left out with one warning that counts them, as rootless podman does, and the
    image runs (the container gets its own /dev)."""
    w = workdir.path
    devices = [R.Entry("dev/null", "char", mode=0o666, devmajor=1, devminor=3),
               R.Entry("dev/zero", "char", mode=0o666, devmajor=1, devminor=5),
               R.Entry("dev/console", "char", mode=0o600, devmajor=5, devminor=1),
               R.Entry("dev/tty", "char", mode=0o666, devmajor=5, devminor=0),
               R.Entry("dev/sda", "block", mode=0o660, devmajor=8, devminor=0),
               R.Entry("dev/loop0", "block", mode=0o660, devmajor=7, devminor=0),
               R.Entry("dev/initctl", "fifo", mode=0o600)]
    (w / "rootfs.tar").write_bytes(R.layer_tar(R.busybox_entries() + devices +
                                               [R.Entry("etc/os-release", data=b"ID=test\n")]))
    p = berth.cmd("import", w / "rootfs.tar", "rootfs:1")
    assert p.returncode == 0 and p.stdout.startswith("sha256:"), describe(p)
    warnings = [line for line in p.stderr.splitlines() if "warning" in line]
    assert warnings == [f"berth: warning: import {w / 'rootfs.tar'}: 6 device nodes skipped "
                        "(block and character devices are not kept in images)"], describe(p)
    layer = berth.layer_dirs("rootfs:1")[0]
    assert not (layer / "dev" / "sda").exists() and not (layer / "dev" / "null").exists()
    assert (layer / "dev" / "initctl").is_fifo()
    p = run(berth, "--rm", "rootfs:1", "sh", "-c",
            "cat /etc/os-release; test -c /dev/null && echo null-ok; test -e /dev/sda || echo no-sda")
    assert p.returncode == 0 and p.stdout == "ID=test\nnull-ok\nno-sda\n", describe(p)


# --------------------------------------------------------------------------
# copy-on-write containers


def test_copy_on_write_diff_commit(berth, workdir):
    w = workdir.path
    img = R.Image([R.layer_tar(R.busybox_entries()),
                   R.layer_tar([R.Entry("etc", "dir"),
                                R.Entry("etc/keep", data=b"kept\n"),
                                R.Entry("etc/gone", data=b"to delete\n"),
                                R.Entry("data", "dir"),
                                R.Entry("data/big", data=b"z" * 100000)])],
                  cmd=["sh"], env=["PATH=/bin", "KEEP=1"])
    img.write_docker_archive(w / "cow.tar", "cow:1")
    berth.ok("load", "-i", w / "cow.tar")
    layers = berth.layer_dirs("cow:1")
    before = [R.tree_of(d) for d in layers]

    script = ("echo changed >> /etc/keep && rm /etc/gone && echo new > /new && "
              "mkdir /newdir && echo x >> /data/big")
    p = run(berth, "--name", "cow-c", "cow:1", "sh", "-c", script)
    assert p.returncode == 0, describe(p)

    p = berth.cmd("diff", "cow-c")
    assert p.returncode == 0, describe(p)
    lines = p.stdout.splitlines()
    for want in ("C /etc", "C /etc/keep", "D /etc/gone", "A /new", "A /newdir", "C /data/big"):
        assert want in lines, f"{want!r} not in diff\n{describe(p)}"
    assert lines == sorted(lines, key=lambda s: s[2:]), describe(p)
    assert not any(line.endswith(("/proc", "/sys", "/dev")) for line in lines if
                   line.startswith("A ")), describe(p)

    after = [R.tree_of(d) for d in layers]
    for d, b, a in zip(layers, before, after):
        diff = R.tree_diff(b, a, ("before", "after"))
        assert not diff, f"layer {d} changed:\n  " + "\n  ".join(diff[:20])

    p = berth.cmd("commit", "-m", "changed", "cow-c", "cow2:1")
    assert p.returncode == 0 and re.fullmatch(r"sha256:[0-9a-f]{64}\n", p.stdout), describe(p)
    i = berth.image_inspect("cow2:1")
    assert len(i["Layers"]) == 3 and i["Layers"][:2] == berth.image_inspect("cow:1")["Layers"], i
    assert i["Config"]["Cmd"] == ["sh", "-c", script] or i["Config"]["Cmd"] == ["sh"], i
    assert "KEEP=1" in i["Config"]["Env"], i
    p = run(berth, "--rm", "cow2:1", "cat", "/new", "/etc/keep")
    assert p.returncode == 0 and p.stdout == "new\nkept\nchanged\n", describe(p)
    p = run(berth, "--rm", "cow2:1", "ls", "/etc/gone")
    assert p.returncode == 1, describe(p)
    p = run(berth, "--rm", "cow2:1", "sh", "-c", "test -d /newdir && wc -c < /data/big")
    assert p.returncode == 0 and p.stdout.strip() == "100002", describe(p)

    p = berth.cmd("rm", "cow-c")
    assert p.returncode == 0 and p.stdout.strip() == "cow-c", describe(p)
    berth.ok("rmi", "cow2:1")
    # cow:1's layers survive cow2's removal
    for d in layers:
        assert d.is_dir()


def test_rm_running_needs_force(bb):
    p = bb.popen("run", "--name", "sleeper", "busybox", "sh", "-c", "echo ready; sleep 1000")
    try:
        assert p.stdout.readline() == b"ready\n"
        r = bb.cmd("rm", "sleeper")
        assert r.returncode == 1 and "force" in r.stderr, describe(r)
        try:
            r = bb.cmd("rm", "-f", "sleeper", timeout=20)
        except subprocess.TimeoutExpired:
            pytest.fail("`berth rm -f` of a running container hung for 20 s", pytrace=False)
        assert r.returncode == 0 and r.stdout.strip() == "sleeper", describe(r)
        assert p.wait(timeout=20) == 137
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_skopeo_reads_docker_archive(bb, workdir):
    require_tools("skopeo")
    out = workdir.path / "bb.tar"
    bb.ok("save", "-o", out, "busybox", timeout=120)
    info = json.loads(R.run(["skopeo", "inspect", f"docker-archive:{out}"]).stdout)
    assert info["Os"] == "linux" and info["Layers"], info
