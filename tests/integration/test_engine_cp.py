"""`berth cp` (issue 11): files between the engine's containers (running or stopped) and the
host, or a tar stream, with docker's rules (engine/engine-cp.h).

docker 20.10's dockerd with docker 28's CLI is the reference, compared side by side on this
machine (a private dockerd) for every case below:
  - SRC a file: DEST missing -> a file; DEST "missing/" -> "no such directory"; DEST a file ->
    overwritten; DEST a dir -> DEST/basename; "missing/x" -> `invalid output path: directory
    "/…/missing" does not exist`;
  - SRC a dir: DEST missing -> made, with SRC's contents; DEST a file -> "cannot copy directory";
    DEST a dir -> DEST/basename(SRC), or with "SRC/." SRC's contents;
  - "-": out, a tar named after SRC's basename ("d/", "d/a"; "./", "./a" for "d/."); in, a tar
    extracted into DEST, which must be a directory (`destination "cc:/f" must be a directory`),
    and an entry leaving it is refused (`"../x" is outside of "/tmp"`);
  - a symlink SRC is copied as a symlink, with -L as its target named as the link; a symlink
    DEST is followed, inside the container; "/etc/x -> /" leads to the container's "/";
  - ownership: into the container files keep their uid/gid (docker keeps the archive's, not
    root's as its documentation says); -a gives them to the container's User when it has one;
    out of it they are the caller's (root), and with -a keep the container's (docker's
    documentation; its CLI ignores -a that way);
  - a missing path: "Could not find the file /x in container c", exit 1; a missing container:
    "no such container", exit 1; every failure exits 1 as docker's CLI.
The symlink-swap race (CVE-2018-15664, CVE-2019-14271) is tested in both directions: a container
swapping a directory with symlinks to the host's canary dir and to "/" while cp runs must never
make cp read or write anything outside the container's root.
"""

import io
import os
import pty
import stat
import subprocess
import tarfile
import time

import pytest

from conftest import describe
from engine_util import bb as _bb, run_d  # noqa: F401


# The tree a test container makes before it says "ready" (owner 1111:2222, a setuid file, a
# FIFO, a hard link, symlinks relative, absolute and to "/").
SETUP = ("mkdir -p /tmp/d/sub; echo hello > /tmp/d/a; chown -R 1111:2222 /tmp/d; "
         "chmod 0750 /tmp/d/a; echo f > /tmp/f; chmod 4755 /tmp/f; ln -s /tmp/d /tmp/ld; "
         "ln -s ../f /tmp/d/sub/up; mkfifo /tmp/d/fifo; ln /tmp/d/a /tmp/d/hl; ln -s / /etc/x; "
         "echo ok > /tmp/ready")


@pytest.fixture
def bb(_bb):
    """The engine with busybox:latest loaded; its containers removed (rm -f) at the end, before
    the leak guard looks."""
    yield _bb
    ids = _bb.ok("ps", "-aq").split()
    if ids:
        _bb.ok("rm", "-f", *ids)


def cp(e, *args, input=None, cwd=None):
    return e.cmd("cp", *args, input=input, wrap=("env", "-C", str(cwd)) if cwd else ())


def tar_of(e, src):
    """`berth cp SRC -`: the tar's members by name."""
    p = subprocess.run(e.argv_for("cp", src, "-"), capture_output=True, timeout=60, env=e.env,
                       stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr.decode()
    t = tarfile.open(fileobj=io.BytesIO(p.stdout))
    return {m.name: (m, t.extractfile(m).read() if m.isfile() else None) for m in t.getmembers()}


def wait_ready(e, name):
    deadline = time.monotonic() + 30
    while cp(e, f"{name}:/tmp/ready", "-").returncode != 0:
        assert time.monotonic() < deadline, "the container never made its tree"
        time.sleep(0.05)


@pytest.fixture
def ctr(bb):
    """A running container named "cc" with SETUP's tree."""
    run_d(bb, "--name", "cc", "busybox", "sh", "-c", SETUP + "; exec sleep 1000")
    wait_ready(bb, "cc")
    return "cc"


def host_tree(root):
    """{relative path: (type letter, mode, uid, gid, content or link target)}."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        for n in dirs + files:
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            kind = ("l" if stat.S_ISLNK(st.st_mode) else "d" if stat.S_ISDIR(st.st_mode)
                    else "p" if stat.S_ISFIFO(st.st_mode) else "f")
            val = (os.readlink(p) if kind == "l" else open(p, "rb").read() if kind == "f"
                   else None)
            out[os.path.relpath(p, root)] = (kind, stat.S_IMODE(st.st_mode), st.st_uid,
                                             st.st_gid, val)
    return out


# --------------------------------------------------------------------------
# out of the container


def test_dir_out_rules(bb, ctr, tmp_path):
    # a missing DEST: made, with the dir's contents (metadata kept, the caller's owner)
    assert cp(bb, "cc:/tmp/d", "out", cwd=tmp_path).returncode == 0
    t = host_tree(tmp_path / "out")
    assert t["a"] == ("f", 0o750, 0, 0, b"hello\n")
    assert t["hl"] == ("f", 0o750, 0, 0, b"hello\n")
    assert os.lstat(tmp_path / "out/a").st_ino == os.lstat(tmp_path / "out/hl").st_ino
    assert t["fifo"][0] == "p" and t["sub"][0] == "d" and t["sub/up"] == ("l", 0o777, 0, 0,
                                                                          "../f")
    # an existing DEST dir: DEST/d; with "d/." the contents
    (tmp_path / "ex").mkdir()
    assert cp(bb, "cc:/tmp/d", "ex", cwd=tmp_path).returncode == 0
    assert host_tree(tmp_path / "ex/d") == t
    (tmp_path / "ex2").mkdir()
    assert cp(bb, "cc:/tmp/d/.", "ex2", cwd=tmp_path).returncode == 0
    assert host_tree(tmp_path / "ex2") == t
    # a trailing "/" is the same as without
    assert cp(bb, "cc:/tmp/d/", "out2", cwd=tmp_path).returncode == 0
    assert host_tree(tmp_path / "out2") == t
    # a dir onto a file
    (tmp_path / "file").write_text("old\n")
    p = cp(bb, "cc:/tmp/d", "file", cwd=tmp_path)
    assert p.returncode == 1 and p.stderr == "berth: cannot copy directory\n", describe(p)
    assert (tmp_path / "file").read_text() == "old\n"


def test_file_out_rules(bb, ctr, tmp_path):
    assert cp(bb, "cc:/tmp/f", "new", cwd=tmp_path).returncode == 0
    assert host_tree(tmp_path)["new"] == ("f", 0o4755, 0, 0, b"f\n")
    (tmp_path / "ex").mkdir()
    assert cp(bb, "cc:tmp/f", "ex", cwd=tmp_path).returncode == 0  # relative: from "/"
    assert (tmp_path / "ex/f").read_text() == "f\n"
    (tmp_path / "file").write_text("old\n")
    assert cp(bb, "cc:/tmp/f", str(tmp_path / "file")).returncode == 0
    assert (tmp_path / "file").read_text() == "f\n"
    # DEST a symlink to a dir: into that dir
    os.symlink("ex", tmp_path / "linkdir")
    assert cp(bb, "cc:/tmp/d/a", "linkdir", cwd=tmp_path).returncode == 0
    assert (tmp_path / "ex/a").read_text() == "hello\n"
    p = cp(bb, "cc:/tmp/f", "missing/", cwd=tmp_path)
    assert p.returncode == 1 and p.stderr == "berth: no such directory\n", describe(p)
    p = cp(bb, "cc:/tmp/f", "missing/x", cwd=tmp_path)
    assert p.returncode == 1, describe(p)
    assert p.stderr == (f'berth: invalid output path: directory "{tmp_path}/missing" does '
                        "not exist\n")
    assert not (tmp_path / "missing").exists()


def test_stream_out(bb, ctr):
    m = tar_of(bb, "cc:/tmp/d")
    assert sorted(m) == ["d", "d/a", "d/fifo", "d/hl", "d/sub", "d/sub/up"]
    assert m["d"][0].isdir() and (m["d"][0].uid, m["d"][0].gid) == (1111, 2222)
    assert m["d/a"][1] == b"hello\n" and m["d/a"][0].mode & 0o7777 == 0o750
    assert m["d/hl"][0].islnk() and m["d/hl"][0].linkname == "d/a"
    assert m["d/fifo"][0].isfifo()
    assert m["d/sub/up"][0].issym() and m["d/sub/up"][0].linkname == "../f"
    assert sorted(tar_of(bb, "cc:/tmp/d/.")) == ["." , "./a", "./fifo", "./hl", "./sub",
                                               "./sub/up"]
    assert sorted(tar_of(bb, "cc:/tmp/d/")) == sorted(m)
    f = tar_of(bb, "cc:/tmp/f")
    assert list(f) == ["f"] and f["f"][1] == b"f\n" and f["f"][0].mode & 0o7777 == 0o4755
    # a symlink is itself; -L its target (named as the target: docker renames only on disk)
    assert tar_of(bb, "cc:/tmp/ld")["ld"][0].linkname == "/tmp/d"
    p = subprocess.run(bb.argv_for("cp", "-L", "cc:/tmp/ld", "-"), capture_output=True,
                       env=bb.env, timeout=60)
    assert p.returncode == 0
    assert sorted(tarfile.open(fileobj=io.BytesIO(p.stdout)).getnames())[:2] == ["d", "d/a"]
    # the raw stream: docker's Go writer ends with 1024 zero bytes, no 10240-byte padding
    p = subprocess.run(bb.argv_for("cp", "cc:/tmp/f", "-"), capture_output=True, env=bb.env,
                       timeout=60)
    assert len(p.stdout) == 512 + 512 + 1024, len(p.stdout)


def test_symlinks_out(bb, ctr, tmp_path):
    assert cp(bb, "cc:/tmp/ld", "l", cwd=tmp_path).returncode == 0
    assert os.readlink(tmp_path / "l") == "/tmp/d"  # the link itself, never followed
    assert cp(bb, "-L", "cc:/tmp/ld", "l2", cwd=tmp_path).returncode == 0
    assert (tmp_path / "l2/a").read_text() == "hello\n"
    (tmp_path / "ex").mkdir()
    assert cp(bb, "-L", "cc:/tmp/ld", "ex", cwd=tmp_path).returncode == 0
    assert (tmp_path / "ex/ld/a").read_text() == "hello\n"  # renamed as the link
    assert cp(bb, "cc:/tmp/ld/", "l3", cwd=tmp_path).returncode == 0
    assert (tmp_path / "l3/a").read_text() == "hello\n"
    # /etc/x -> / : the container's "/", never the host's
    assert cp(bb, "cc:/etc/x/etc/x/tmp/f", "viax", cwd=tmp_path).returncode == 0
    assert (tmp_path / "viax").read_text() == "f\n"
    assert tar_of(bb, "cc:/etc/x/etc/hostname")["hostname"][1] != open("/etc/hostname",
                                                                       "rb").read()


def test_etc_files_are_the_containers(bb, tmp_path):
    cid = run_d(bb, "--name", "hh", "--hostname", "cphost", "busybox", "sleep", "1000")
    assert tar_of(bb, "hh:/etc/hostname")["hostname"][1] == b"cphost\n"
    assert b"cphost" in tar_of(bb, f"{cid[:12]}:/etc/hosts")["hosts"][1]


# --------------------------------------------------------------------------
# into the container


def test_into_container_rules(bb, ctr, tmp_path):
    (tmp_path / "hd/sub").mkdir(parents=True)
    (tmp_path / "hd/x").write_text("x\n")
    os.chown(tmp_path / "hd/x", 4321, 8765)
    os.chmod(tmp_path / "hd/x", 0o640)
    (tmp_path / "hf").write_text("hf\n")
    os.chown(tmp_path / "hf", 1234, 5678)
    os.chmod(tmp_path / "hf", 0o4711)
    assert cp(bb, "hf", "cc:/tmp/new", cwd=tmp_path).returncode == 0
    n = tar_of(bb, "cc:/tmp/new")["new"][0]
    assert (n.uid, n.gid, n.mode & 0o7777) == (1234, 5678, 0o4711)  # docker keeps them
    assert cp(bb, "hd", "cc:/tmp/newd", cwd=tmp_path).returncode == 0
    assert sorted(tar_of(bb, "cc:/tmp/newd")) == ["newd", "newd/sub", "newd/x"]
    assert cp(bb, "hd/.", "cc:/tmp/", cwd=tmp_path).returncode == 0
    assert tar_of(bb, "cc:/tmp/x")["x"][0].uid == 4321
    assert cp(bb, "hd", "cc:/tmp/d", cwd=tmp_path).returncode == 0  # into the existing dir
    assert "d/hd/x" in tar_of(bb, "cc:/tmp/d")
    assert cp(bb, "hf", "cc:/tmp/f", cwd=tmp_path).returncode == 0  # over the file
    assert tar_of(bb, "cc:/tmp/f")["f"][1] == b"hf\n"
    p = cp(bb, "hd", "cc:/tmp/f", cwd=tmp_path)
    assert p.returncode == 1 and p.stderr == "berth: cannot copy directory\n", describe(p)
    p = cp(bb, "hf", "cc:/nonexistdir/", cwd=tmp_path)
    assert p.returncode == 1 and p.stderr == "berth: no such directory\n", describe(p)
    p = cp(bb, "hf", "cc:/nonexistdir/x", cwd=tmp_path)
    assert p.returncode == 1, describe(p)
    assert p.stderr == "berth: Could not find the file /nonexistdir in container cc\n"
    # DEST symlinks are followed inside the container: ld/ -> /tmp/d, up -> ../f (missing)
    assert cp(bb, "hf", "cc:/tmp/ld/", cwd=tmp_path).returncode == 0
    assert "d/hf" in tar_of(bb, "cc:/tmp/d")
    assert cp(bb, "hf", "cc:/tmp/d/sub/up", cwd=tmp_path).returncode == 0
    assert tar_of(bb, "cc:/tmp/d/f")["f"][1] == b"hf\n"
    assert tar_of(bb, "cc:/tmp/d/sub/up")["up"][0].issym()
    # a host symlink is copied as such, -L its target
    os.symlink("hf", tmp_path / "hlink")
    assert cp(bb, "hlink", "cc:/tmp/", cwd=tmp_path).returncode == 0
    assert tar_of(bb, "cc:/tmp/hlink")["hlink"][0].linkname == "hf"
    assert cp(bb, "-L", "hlink", "cc:/tmp/hl2", cwd=tmp_path).returncode == 0
    assert tar_of(bb, "cc:/tmp/hl2")["hl2"][1] == b"hf\n"


def test_stream_in(bb, ctr, tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        ti = tarfile.TarInfo("tin/")
        ti.type, ti.mode = tarfile.DIRTYPE, 0o711
        t.addfile(ti)
        ti = tarfile.TarInfo("tin/f")
        ti.size, ti.uid, ti.gid, ti.mode = 3, 77, 88, 0o604
        t.addfile(ti, io.BytesIO(b"abc"))
        ti = tarfile.TarInfo("tin/l")
        ti.type, ti.linkname = tarfile.SYMTYPE, "/etc/passwd"
        t.addfile(ti)
    assert cp(bb, "-", "cc:/tmp/", input=buf.getvalue()).returncode == 0
    m = tar_of(bb, "cc:/tmp/tin")
    assert m["tin"][0].mode & 0o7777 == 0o711
    assert (m["tin/f"][0].uid, m["tin/f"][0].gid, m["tin/f"][1]) == (77, 88, b"abc")
    assert m["tin/l"][0].linkname == "/etc/passwd"
    p = cp(bb, "-", "cc:/tmp/f", input=buf.getvalue())
    assert p.returncode == 1, describe(p)
    assert p.stderr == 'berth: destination "cc:/tmp/f" must be a directory\n'
    # an entry leaving DEST: refused, nothing written outside
    evil = io.BytesIO()
    with tarfile.open(fileobj=evil, mode="w") as t:
        for n in ("ok1", "../evil1", "a/../../evil2"):
            ti = tarfile.TarInfo(n)
            ti.size = 1
            t.addfile(ti, io.BytesIO(b"x"))
    p = cp(bb, "-", "cc:/tmp/d/", input=evil.getvalue())
    assert p.returncode == 1 and '"../evil1" is outside of "/tmp/d"' in p.stderr, describe(p)
    names = tar_of(bb, "cc:/tmp")
    assert "tmp/d/ok1" in names and "tmp/evil1" not in names and "tmp/evil2" not in names
    p = cp(bb, "-", "cc:/tmp/", input=b"garbage\n")
    assert p.returncode == 1 and "tar" in p.stderr, describe(p)


def test_archive_mode_owners(bb, tmp_path):
    (tmp_path / "hf").write_text("hf\n")
    os.chown(tmp_path / "hf", 1234, 5678)
    run_d(bb, "--name", "uu", "-u", "nobody", "busybox", "sh", "-c", SETUP + "; sleep 1000")
    wait_ready(bb, "uu")
    assert cp(bb, "hf", "uu:/tmp/plain", cwd=tmp_path).returncode == 0
    assert cp(bb, "-a", "hf", "uu:/tmp/arch", cwd=tmp_path).returncode == 0
    assert tar_of(bb, "uu:/tmp/plain")["plain"][0].uid == 1234
    a = tar_of(bb, "uu:/tmp/arch")["arch"][0]
    assert (a.uid, a.gid) == (65534, 65534)  # the container's User, from its /etc/passwd
    # out: the caller's, or with -a the container's (nobody made them: 65534)
    assert cp(bb, "-a", "uu:/tmp/d", "arch", cwd=tmp_path).returncode == 0
    assert cp(bb, "uu:/tmp/d", "plain", cwd=tmp_path).returncode == 0
    assert os.lstat(tmp_path / "arch/a").st_uid == 65534
    assert os.lstat(tmp_path / "plain/a").st_uid == 0


# --------------------------------------------------------------------------
# stopped containers, errors, the terminal


def rootfs_mounts(e, cid):
    return [l for l in open("/proc/self/mountinfo") if f"{cid}/rootfs" in l]


def test_stopped_container(bb, tmp_path):
    cid = run_d(bb, "--name", "ss", "busybox", "sh", "-c", SETUP)
    bb.ok("wait", "ss")
    mounts = rootfs_mounts(bb, cid)
    (tmp_path / "in").write_text("into a stopped one\n")
    assert cp(bb, "in", "ss:/tmp/", cwd=tmp_path).returncode == 0
    assert cp(bb, "ss:/tmp/d", "out", cwd=tmp_path).returncode == 0
    assert (tmp_path / "out/a").read_text() == "hello\n"
    assert tar_of(bb, "ss:/tmp/in")["in"][1] == b"into a stopped one\n"
    # the overlay mounted for the copy went with its mount namespace
    assert rootfs_mounts(bb, cid) == mounts
    # what was copied in is in the container's upper dir: its next run sees it
    upper = bb.root / "containers" / cid / "upper"
    assert (upper / "tmp/in").read_text() == "into a stopped one\n"


def test_start_waits_for_a_copy_into_a_stopped_container(bb):
    """The copy mounts the stopped container's overlay in its own namespace and holds the start
    lock (shared) meanwhile: a `start` waits for it rather than mount the same upper dir twice,
    then sees what was copied."""
    if "unknown command" in bb.cmd("start", "--help").stderr:
        pytest.skip("berth start is not there yet")
    cid = run_d(bb, "--name", "ss", "busybox", "sh", "-c", "cat /tmp/late 2>/dev/null; sleep 1000")
    bb.ok("stop", "-t", "0", "ss")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        ti = tarfile.TarInfo("late")
        ti.size = 6
        t.addfile(ti, io.BytesIO(b"in it\n"))
    data = buf.getvalue()
    c = bb.popen("cp", "-", "ss:/tmp/", stdin=subprocess.PIPE)
    c.stdin.write(data[:600])  # the header and a part: the copy waits for the rest
    c.stdin.flush()
    time.sleep(0.5)
    st = bb.popen("start", "ss")
    time.sleep(1)
    assert st.poll() is None, st.communicate()
    c.stdin.write(data[600:])
    c.stdin.close()
    assert c.wait(timeout=30) == 0, c.stderr.read()
    assert st.wait(timeout=30) == 0, st.communicate()
    assert tar_of(bb, "ss:/tmp/late")["late"][1] == b"in it\n"
    assert len(rootfs_mounts(bb, cid)) == 1  # its own mount, the copy's gone


def test_errors(bb, ctr, tmp_path):
    p = cp(bb, "cc:/nonexistent", "x", cwd=tmp_path)
    assert (p.returncode, p.stderr) == (
        1, "berth: Could not find the file /nonexistent in container cc\n"), describe(p)
    p = cp(bb, "nosuch:/x", "x", cwd=tmp_path)
    assert p.returncode == 1 and "no such container: nosuch" in p.stderr.lower(), describe(p)
    for args, msg in [(("a", "b"), "must specify at least one container source"),
                      (("cc:/a", "cc:/b"), "copying between containers is not supported"),
                      (("", "cc:/b"), "source can not be empty"),
                      (("cc:/a", ""), "destination can not be empty")]:
        p = cp(bb, *args, cwd=tmp_path)
        assert (p.returncode, p.stderr) == (1, f"berth: {msg}\n"), describe(p)
    p = cp(bb, "cc:/tmp/f/", "x", cwd=tmp_path)
    assert p.returncode == 1 and "Not a directory" in p.stderr, describe(p)
    p = cp(bb, "--bogus", "cc:/a", "b", cwd=tmp_path)
    assert p.returncode == 125, describe(p)
    p = cp(bb, "cc:/a", cwd=tmp_path)
    assert p.returncode == 125, describe(p)
    assert not os.path.lexists(tmp_path / "x")


def test_summary_on_a_terminal(bb, ctr, tmp_path):
    """docker: "Successfully copied 2.05kB to DEST" on stderr when stdout is a terminal (the
    size of the tar: 512 + 512 + 1024 bytes for a 2-byte file); nothing otherwise."""
    master, slave = pty.openpty()
    try:
        p = subprocess.run(bb.argv_for("cp", "cc:/tmp/f", str(tmp_path / "t")), stdout=slave,
                           stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=bb.env,
                           timeout=60)
        q = subprocess.run(bb.argv_for("cp", str(tmp_path / "t"), "cc:/tmp/t2"), stdout=slave,
                           stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=bb.env,
                           timeout=60)
    finally:
        os.close(slave)
        os.close(master)
    assert p.stderr.decode() == f"Successfully copied 2.05kB to {tmp_path}/t\n"
    assert q.stderr.decode() == "Successfully copied 2.05kB to cc:/tmp/t2\n"
    assert cp(bb, "cc:/tmp/f", "quiet", cwd=tmp_path).stderr == ""


# --------------------------------------------------------------------------
# the symlink-swap race (CVE-2018-15664, CVE-2019-14271)


RACE_SECONDS = float(os.environ.get("BERTH_TEST_CP_RACE_SECONDS", "4"))


def test_symlink_swap_race(bb, tmp_path):
    """A container swaps /tmp/r/w between a directory, a symlink to a host directory that
    exists only on the host (the canary), and a symlink to "/" as fast as it can, while cp reads
    from and writes to paths through w (and a whole tree holding w) in both directions. Nothing
    of the host may be read and nothing may be written outside the container's root: reads give
    the container's files or fail, writes land in the container or fail."""
    canary = tmp_path / "canary"
    canary.mkdir()
    (canary / "secret").write_text("HOSTSECRET\n")
    before = host_tree(canary)
    swap = (f"mkdir -p /tmp/r; cd /tmp/r; echo ok > /tmp/ready; "
            f"while :; do rm -rf w; mkdir w; echo CONTAINER > w/secret; mkdir w/sub; "
            f"rm -rf w; ln -s {canary} w; rm -f w; ln -s / w; rm -f w; ln -s ../../.. w; "
            f"done")
    run_d(bb, "--name", "race", "busybox", "sh", "-c", swap)
    wait_ready(bb, "race")
    (tmp_path / "payload").write_text("PAYLOAD\n")
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        ti = tarfile.TarInfo("streamed")
        ti.size = 8
        t.addfile(ti, io.BytesIO(b"STREAMED"))
    seen = {"read-container": 0, "read-failed": 0, "wrote": 0}
    deadline = time.monotonic() + RACE_SECONDS
    while time.monotonic() < deadline:
        for src in ("race:/tmp/r/w/secret", "race:/tmp/r", "race:/tmp/r/w/"):
            p = subprocess.run(bb.argv_for("cp", src, "-"), capture_output=True, env=bb.env,
                               timeout=60)
            assert b"HOSTSECRET" not in p.stdout, f"cp {src} read the host's canary"
            seen["read-container" if p.returncode == 0 else "read-failed"] += 1
        for args in (("payload", "race:/tmp/r/w/"), ("payload", "race:/tmp/r/w/sub/new"),
                     ("payload", "race:/tmp/r/w/secret")):
            p = cp(bb, *args, cwd=tmp_path)
            seen["wrote"] += p.returncode == 0
        p = cp(bb, "-", "race:/tmp/r/w/", input=buf.getvalue())
        seen["wrote"] += p.returncode == 0
        # out to the host: w as it is (a dir, or a symlink copied as a symlink)
        p = cp(bb, "race:/tmp/r/w/", str(tmp_path / "out"))
        assert host_tree(canary) == before, f"{p.stdout}{p.stderr}"
        if (tmp_path / "out").is_dir() and not (tmp_path / "out").is_symlink():
            assert all(v[4] != b"HOSTSECRET\n" for v in host_tree(tmp_path / "out").values())
        subprocess.run(["rm", "-rf", str(tmp_path / "out")], check=True)
    assert host_tree(canary) == before, "cp wrote into the host's canary directory"
    for n in ("payload", "streamed", "new"):
        assert not os.path.lexists(f"/{n}"), f"cp wrote /{n} on the host"
    # the race was run: reads both succeeded and failed, writes landed
    assert seen["read-container"] > 0 and seen["wrote"] > 0, seen
