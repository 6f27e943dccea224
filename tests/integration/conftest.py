"""Fixtures for the berth-oci integration suite.

Every test drives a runtime binary exactly as a user would.  Fixtures:

  bundle    a fresh busybox bundle (tools/mkbundle) in the test's own temp
            dir; `bundle.config` is the parsed config.json, edit it freely: the
            runners write it back before each create/run.
  oci       a Runner for the runtime under test: $BERTH_OCI, else
            ./build/berth-oci, with its own temp --root.
  runtime   the same Runner interface, parametrized over berth-oci, crun and
            runc, for tests whose observable result must be identical (peers
            that are not installed are skipped; BERTH_TEST_RUNTIMES=a,b picks).

An autouse leak guard snapshots mounts, cgroup directories and processes
before each test and fails the test (error at teardown) when a mount, a cgroup
directory, a state directory in a runner's --root or a process started by the
test is still there afterwards.  It then cleans up what it can.
"""

import ctypes
import glob
import itertools
import json
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MKBUNDLE = REPO / "tools" / "mkbundle"
ALL_RUNTIMES = ("berth-oci", "crun", "runc")
CMD_TIMEOUT = 30

PR_SET_CHILD_SUBREAPER = 36
_libc = ctypes.CDLL(None, use_errno=True)


def _become_subreaper():
    # pid 1 on these machines is not an init: orphaned container processes
    # must be reparented to (and reaped by) us.
    if _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


_become_subreaper()


# --------------------------------------------------------------------------
# processes

_tracked = set()  # Popen objects a test still owns; never reap those


def spawn(argv, **kw):
    """subprocess.Popen that the orphan reaper leaves alone."""
    p = subprocess.Popen(argv, **kw)
    _tracked.add(p)
    return p


def _read_stat(pid):
    """(ppid, state, starttime) of pid, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read().decode(errors="replace")
    except OSError:
        return None
    rest = data[data.rindex(")") + 2:].split()
    return int(rest[1]), rest[0], int(rest[19])


def _all_pids():
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def reap_orphans():
    """Reap zombie children that are not Popen objects we still wait for:
    container processes reparented to us, the subreaper."""
    me = os.getpid()
    busy = {p.pid for p in _tracked if p.returncode is None}
    for pid in _all_pids():
        if pid in busy:
            continue
        st = _read_stat(pid)
        if st and st[0] == me and st[1] == "Z":
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


def _descendants(root_pid):
    children = {}
    info = {}
    for pid in _all_pids():
        st = _read_stat(pid)
        if st:
            children.setdefault(st[0], []).append(pid)
            info[pid] = st
    out, todo = {}, [root_pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out[c] = info[c]
            todo.append(c)
    return out


def _cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def _argv(pid):
    """/proc/PID/cmdline as a list ([] for a zombie, a kernel thread or a gone process)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            data = f.read()
    except OSError:
        return []
    return [a.decode(errors="replace") for a in data.split(b"\0")[:-1]]


def _processes_mentioning(text):
    out = {}
    me = os.getpid()
    for pid in _all_pids():
        if pid == me:
            continue
        if text in _cmdline(pid):
            st = _read_stat(pid)
            if st:
                out[pid] = st
    return out


# --------------------------------------------------------------------------
# mounts and cgroups


def _mounts():
    """{mount id: line} of our mount namespace."""
    with open("/proc/self/mountinfo") as f:
        return {line.split()[0]: line.rstrip("\n") for line in f}


def _mountpoint(line):
    return line.split()[4].encode().decode("unicode_escape")


CGROUP_ROOT = "/sys/fs/cgroup"


def _cgroup_dirs():
    """Every directory under /sys/fs/cgroup.  Lists directories only: no
    cgroup file is read or written."""
    out = set()
    todo = [CGROUP_ROOT]
    while todo:
        d = todo.pop()
        try:
            with os.scandir(d) as it:
                for e in it:
                    if e.is_dir(follow_symlinks=False):
                        out.add(e.path)
                        todo.append(e.path)
        except OSError:
            pass
    return out


# --------------------------------------------------------------------------
# runners

_ids = itertools.count(1)


ID_TOKEN = f"-{os.getpid()}-"


def new_id(prefix="it"):
    """A container id unique on this machine (cgroups are named after it)."""
    return f"{prefix}{ID_TOKEN}{next(_ids)}"


# Resolved once, at import: a relative $BERTH_OCI or $BERTH must not follow a test's chdir.
_BERTH_OCI = Path(os.environ["BERTH_OCI"]).resolve() if os.environ.get("BERTH_OCI") else None
_BERTH = Path(os.environ["BERTH"]).resolve() if os.environ.get("BERTH") else None


def berth_oci_path():
    return _BERTH_OCI or REPO / "build" / "berth-oci"


def _crun_argv():
    crun = shutil.which("crun")
    if not crun:
        return None
    if os.path.exists("/sys/fs/cgroup/unified/cgroup.controllers"):
        # crun 1.8 refuses hybrid cgroup hosts: hide cgroup2's controllers
        # file in a private mount namespace (see MACHINE-NOTES).
        return ["unshare", "-m", "sh", "-c",
                'mount --bind /dev/null /sys/fs/cgroup/unified/cgroup.controllers'
                ' && exec "$0" "$@"', crun]
    return [crun]


def runtime_argv(name):
    """argv prefix for a runtime, or None if it is not installed."""
    if name == "berth-oci":
        return [str(berth_oci_path())]
    if name == "crun":
        return _crun_argv()
    if name == "runc":
        r = shutil.which("runc")
        return [r] if r else None
    raise ValueError(name)


def describe(p):
    """A CompletedProcess as text for assertion messages."""
    args = p.args if isinstance(p.args, str) else " ".join(map(str, p.args))
    return (f"$ {args}\nexit {p.returncode}\n--- stdout\n{p.stdout}"
            f"--- stderr\n{p.stderr}")


class Runner:
    """One runtime binary with its own state root."""

    def __init__(self, name, argv, root):
        self.name = name
        self.argv = list(argv)
        self.root = Path(root)
        self.ids = set()

    def __repr__(self):
        return f"Runner({self.name})"

    # -- plumbing
    def argv_for(self, *args, global_args=()):
        return [*self.argv, "--root", str(self.root), *global_args, *map(str, args)]

    def cmd(self, *args, global_args=(), timeout=CMD_TIMEOUT, check=False, cwd=None,
            input=None, env=None):
        """env: variables to set (or replace) in the runtime's environment."""
        reap_orphans()
        argv = self.argv_for(*args, global_args=global_args)
        # Files, not pipes: a created or detached container inherits the
        # runtime's stdio and would hold a pipe open long after it returns.
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            # crun chowns its stdio to the container's user, /dev/null included: it gets an
            # empty pipe instead (the host's /dev/null was found owned by 200000:200000)
            if input is None and self.name == "crun":
                input = ""
            p = subprocess.run(argv, stdout=out, stderr=err, timeout=timeout, cwd=cwd,
                               input=input.encode() if input is not None else None,
                               stdin=None if input is not None else subprocess.DEVNULL,
                               env={**os.environ, **env} if env else None)
            out.seek(0)
            err.seek(0)
            p.stdout = out.read().decode(errors="replace")
            p.stderr = err.read().decode(errors="replace")
        reap_orphans()
        if check:
            assert p.returncode == 0, describe(p)
        return p

    def popen(self, *args, global_args=(), **kw):
        """Start a runtime command without waiting (e.g. a foreground run)."""
        empty = None
        if self.name == "crun" and "stdin" not in kw:
            # an empty pipe, not /dev/null (cmd above says why)
            empty, w = os.pipe()
            os.close(w)
            kw["stdin"] = empty
        kw.setdefault("stdin", subprocess.DEVNULL)
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        try:
            return spawn(self.argv_for(*args, global_args=global_args), **kw)
        finally:
            if empty is not None:
                os.close(empty)

    @staticmethod
    def _create_flags(bundle, pid_file, console_socket, extra):
        flags = ["--bundle", str(bundle.path)]
        if pid_file is not None:
            flags += ["--pid-file", str(pid_file)]
        if console_socket is not None:
            flags += ["--console-socket", str(console_socket)]
        return flags + list(extra)

    def _wait_exec(self, cid):
        """`start` and `run --detach` return once the init has been told to go; it execs the
        program a moment later. Until then the container's pid 1 is still the runtime (born
        non-dumpable: its /proc/PID files are out of the container's reach, its cmdline is the
        runtime's), and a test that looks at it at once races on a busy machine. Waits until the
        init runs something that is not the runtime (its /proc/PID/cmdline), or is gone."""
        p = self.cmd("state", cid)
        try:
            pid = json.loads(p.stdout)["pid"] if p.returncode == 0 else 0
        except (ValueError, KeyError, TypeError):
            pid = 0
        if not pid:
            return
        runtimes = {*ALL_RUNTIMES, os.path.basename(self.argv[0]), berth_oci_path().name}
        deadline = time.monotonic() + CMD_TIMEOUT
        while time.monotonic() < deadline:
            st = _read_stat(pid)
            argv0 = _cmdline(pid).split(" ", 1)[0]
            if st is None or st[1] == "Z" or (argv0 and os.path.basename(argv0) not in runtimes):
                return
            time.sleep(0.005)

    # -- commands
    def create(self, bundle, cid, *extra, pid_file=None, console_socket=None, **kw):
        bundle.write()
        self.ids.add(cid)
        return self.cmd("create", *self._create_flags(bundle, pid_file, console_socket, extra),
                        cid, **kw)

    def run(self, bundle, cid, *extra, detach=False, keep=False, pid_file=None,
            console_socket=None, **kw):
        bundle.write()
        self.ids.add(cid)
        flags = self._create_flags(bundle, pid_file, console_socket, extra)
        if detach:
            flags.insert(0, "--detach")
        if keep:
            flags.insert(0, "--keep")
        p = self.cmd("run", *flags, cid, **kw)
        if detach and p.returncode == 0:
            self._wait_exec(cid)
        return p

    def start(self, cid, **kw):
        p = self.cmd("start", cid, **kw)
        if p.returncode == 0:
            self._wait_exec(cid)
        return p

    def state(self, cid, **kw):
        return self.cmd("state", cid, **kw)

    def kill(self, cid, sig=None, all=False, **kw):
        args = ["kill"] + (["--all"] if all else []) + [cid]
        if sig is not None:
            args.append(str(sig))
        return self.cmd(*args, **kw)

    def delete(self, cid, force=False, **kw):
        return self.cmd("delete", *(["--force"] if force else []), cid, **kw)

    def list(self, *args, **kw):
        return self.cmd("list", *args, **kw)

    def spec(self, *args, **kw):
        return self.cmd("spec", *args, **kw)

    # -- helpers built on the commands
    def state_json(self, cid):
        p = self.state(cid, check=True)
        try:
            return json.loads(p.stdout)
        except ValueError as e:
            raise AssertionError(f"state is not JSON: {e}\n{describe(p)}")

    def wait_status(self, cid, status, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            st = self.state_json(cid)
            if st["status"] == status:
                return st
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.name}: {cid} is {st['status']!r}, "
                                     f"not {status!r} after {timeout}s: {st}")
            time.sleep(0.02)

    def run_sh(self, bundle, script, cid=None, expect_rc=0):
        """Run `sh -c script` in a fresh container; return its stdout."""
        bundle.config["process"]["args"] = ["sh", "-c", script]
        p = self.run(bundle, cid or new_id())
        assert p.returncode == expect_rc, describe(p)
        return p.stdout

    def ids_listed(self):
        p = self.list("-q", check=True)
        return set(p.stdout.split())


class Bundle:
    """An OCI bundle: `path`, `rootfs`, and `config` (dict, written on use)."""

    def __init__(self, path, config):
        self.path = Path(path)
        self.rootfs = self.path / "rootfs"
        self.config = config
        self.raw = None  # text to write instead of `config` (for bad JSON)

    @property
    def process(self):
        return self.config["process"]

    def write(self):
        with open(self.path / "config.json", "w") as f:
            if self.raw is not None:
                f.write(self.raw)
            else:
                json.dump(self.config, f, indent=2)

    def chown_rootfs(self, uid, gid):
        for dirpath, dirnames, filenames in os.walk(self.rootfs):
            os.lchown(dirpath, uid, gid)
            for n in dirnames + filenames:
                os.lchown(os.path.join(dirpath, n), uid, gid)


# --------------------------------------------------------------------------
# fixtures


def _selected_runtimes():
    sel = os.environ.get("BERTH_TEST_RUNTIMES")
    if not sel:
        return list(ALL_RUNTIMES)
    names = [s.strip() for s in sel.split(",") if s.strip()]
    for n in names:
        if n not in ALL_RUNTIMES:
            raise pytest.UsageError(f"BERTH_TEST_RUNTIMES: unknown runtime {n!r}")
    return names


@pytest.fixture(scope="session")
def template_bundle(tmp_path_factory):
    d = tmp_path_factory.mktemp("template") / "bundle"
    d.mkdir()
    subprocess.run([str(MKBUNDLE), str(d)], check=True)
    return d


class Workdir:
    """The test's private directory.  Not under pytest's tmp_path: that is
    mode 0700, and a container root mapped to another uid must be able to
    reach its rootfs."""

    def __init__(self):
        base = os.environ.get("BERTH_TEST_TMPDIR", "/tmp")
        self.path = Path(tempfile.mkdtemp(prefix="berth-it-", dir=base))
        os.chmod(self.path, 0o755)
        self.runners = []

    def runner(self, name):
        argv = runtime_argv(name)
        root = self.path / f"root-{name}"
        r = Runner(name, argv, root)
        self.runners.append(r)
        return r


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture(autouse=True)
def workdir(request):
    """Leak guard and private directory of each test."""
    reap_orphans()
    before_mounts = _mounts()
    before_cgroups = _cgroup_dirs()
    before_procs = set((pid, st[2]) for pid, st in _descendants(os.getpid()).items())
    w = Workdir()
    yield w
    leaks = _find_leaks(w, before_mounts, before_cgroups, before_procs)
    _cleanup(w, before_mounts, before_procs)
    rep = getattr(request.node, "rep_call", None)
    if leaks and rep is not None and rep.passed:
        # After a failed test the leaks are mostly its consequence: the
        # failure already says what went wrong.
        pytest.fail("leaked by the test:\n  " + "\n  ".join(leaks), pytrace=False)


def _is_ours(text, w):
    """Whether a new mount or cgroup belongs to this test.  Other people may
    run containers on the same machine at the same time, so only what names
    the test's directory or one of its container ids counts."""
    if str(w.path) in text or ID_TOKEN in text:
        return True
    return any(cid in text for r in w.runners for cid in r.ids if len(cid) > 2)


def _dev_null_changed():
    """The host's /dev/null as a runtime may have left it (crun chowns its stdio to the
    container's user); put back, and reported."""
    st = os.stat("/dev/null")
    if (stat.S_ISCHR(st.st_mode) and os.major(st.st_rdev) == 1 and os.minor(st.st_rdev) == 3
            and st.st_uid == 0 and st.st_gid == 0 and stat.S_IMODE(st.st_mode) == 0o666):
        return []
    what = (f"/dev/null changed: mode {oct(st.st_mode)}, owner {st.st_uid}:{st.st_gid}, "
            f"device {os.major(st.st_rdev)}:{os.minor(st.st_rdev)}")
    if stat.S_ISCHR(st.st_mode):
        os.chown("/dev/null", 0, 0)
        os.chmod("/dev/null", 0o666)
    return [what]


def _find_leaks(w, before_mounts, before_cgroups, before_procs, grace=3.0):
    deadline = time.monotonic() + grace
    while True:
        reap_orphans()
        leaks = []
        for mid, line in _mounts().items():
            if mid not in before_mounts and _is_ours(line, w):
                leaks.append(f"mount: {line}")
        for d in sorted(_cgroup_dirs() - before_cgroups):
            if _is_ours(d, w):
                leaks.append(f"cgroup directory: {d}")
        procs = dict(_descendants(os.getpid()))
        procs.update(_processes_mentioning(str(w.path)))
        for pid, st in sorted(procs.items()):
            if (pid, st[2]) in before_procs:
                continue
            if any(p.pid == pid and p.returncode is None for p in _tracked):
                leaks.append(f"process {pid} (a Popen the test never waited for): "
                             f"{_cmdline(pid)!r}")
                continue
            leaks.append(f"process {pid} state {st[1]}: {_cmdline(pid)!r}")
        for r in w.runners:
            if hasattr(r, "leftovers"):  # the engine: its store stays, its state must not
                leaks.extend(r.leftovers())
            elif r.root.is_dir():
                # berth-oci's cache of compiled seccomp programs is not a container's state
                left = sorted(n for n in os.listdir(r.root) if n != ".seccomp:bpf")
                if left:
                    leaks.append(f"{r.name}: state left in --root {r.root}: {left}")
        leaks.extend(_dev_null_changed())
        if not leaks or time.monotonic() > deadline:
            return leaks
        time.sleep(0.05)


def _cleanup(w, before_mounts, before_procs):
    for r in w.runners:
        if hasattr(r, "cleanup"):
            r.cleanup()
            continue
        if not r.root.is_dir() or not r.argv:
            continue
        ids = set(os.listdir(r.root)) | r.ids
        for cid in ids:
            try:
                subprocess.run(r.argv_for("delete", "--force", cid), capture_output=True,
                               stdin=subprocess.DEVNULL, timeout=CMD_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
    for p in list(_tracked):
        if p.returncode is None:
            try:
                p.kill()
            except OSError:
                pass
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        for s in (p.stdout, p.stderr, p.stdin):
            if s:
                s.close()
        _tracked.discard(p)
    reap_orphans()
    procs = dict(_descendants(os.getpid()))
    procs.update(_processes_mentioning(str(w.path)))
    for pid, st in procs.items():
        if (pid, st[2]) not in before_procs:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    time.sleep(0.05)
    reap_orphans()
    # Unmount whatever is still mounted below the work dir before removing
    # it, so that rmtree never walks into a bind-mounted host directory.
    prefix = str(w.path) + "/"
    for _ in range(10):
        mine = [_mountpoint(line) for mid, line in _mounts().items()
                if mid not in before_mounts and (_mountpoint(line) + "/").startswith(prefix)]
        if not mine:
            break
        for mp in sorted(mine, key=len, reverse=True):
            subprocess.run(["umount", "-l", mp], capture_output=True)
    else:
        return  # leave the directory rather than risk deleting through a mount
    shutil.rmtree(w.path, ignore_errors=True)


@pytest.fixture
def bundle(workdir, template_bundle):
    dest = workdir.path / "bundle"
    shutil.copytree(template_bundle, dest, symlinks=True)
    with open(dest / "config.json") as f:
        config = json.load(f)
    return Bundle(dest, config)


@pytest.fixture
def make_bundle(workdir, template_bundle):
    """Factory for extra bundles: make_bundle("name")."""
    def make(name):
        dest = workdir.path / name
        shutil.copytree(template_bundle, dest, symlinks=True)
        with open(dest / "config.json") as f:
            return Bundle(dest, json.load(f))
    return make


@pytest.fixture
def oci(workdir):
    if "berth-oci" not in _selected_runtimes():
        pytest.skip("berth-oci is not in BERTH_TEST_RUNTIMES")
    path = berth_oci_path()
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is not built: run `meson setup build && ninja -C build` "
                    "(or set BERTH_OCI)", pytrace=False)
    return workdir.runner("berth-oci")


@pytest.fixture(params=_selected_runtimes())
def runtime(request, workdir):
    name = request.param
    if name == "berth-oci":
        return request.getfixturevalue("oci")
    if runtime_argv(name) is None:
        pytest.skip(f"{name} is not installed")
    return workdir.runner(name)


@pytest.fixture
def cid():
    return new_id()


@pytest.fixture(scope="session", autouse=True)
def berth_cgroup_parents():
    """berth keeps its /berth parent cgroups between containers, as runc and
    crun keep theirs (making the v1 cpuset parent again costs ~2 ms a start).
    At the end of the session the suite removes them when empty, so it leaves
    the machine as it found it; a busy one (someone else's container) stays."""
    yield
    for d in sorted(glob.glob(CGROUP_ROOT + "/*/berth") + glob.glob(CGROUP_ROOT + "/unified/berth")):
        try:
            os.rmdir(d)
        except OSError:
            pass


# --------------------------------------------------------------------------
# the engine (berth) and its peers: a local registry, skopeo, umoci
#
#   berth            an Engine: $BERTH, else ./build/src/berth/berth, with its own temp --root
#                    (never /var/lib/berth); its runroot is ROOT/run.  The leak guard fails a
#                    test that leaves a container (ROOT/containers/*), runtime state
#                    (files in ROOT/run), an unpack in progress (ROOT/layers/.tmp-*), a mount,
#                    a berth/<id> cgroup of its containers or a berth-monitor (the process of a
#                    detached container: `berth-monitor ROOT RUNROOT ID`); the image store
#                    itself stays.  Its cleanup kills the monitors first (SIGKILL), then
#                    `rm -f`s what is left.
#   busybox_archive  a docker-archive of busybox (tools/mkimage busybox, else made here)
#   registry_http    docker-registry on 127.0.0.1 over plain http (session)
#   registry_tls     the same over TLS (self-signed, ca.crt in .cert_dir) with htpasswd auth

import registry as _registry  # noqa: E402

MKIMAGE = REPO / "tools" / "mkimage"


def berth_path():
    return _BERTH or REPO / "build" / "src" / "berth" / "berth"


class Engine:
    """berth with its own --root.  cmd() returns a CompletedProcess with text output."""

    name = "berth"

    def __init__(self, argv, root):
        self.argv = list(argv)
        self.root = Path(root)
        self.runroot = self.root / "run"
        self.ids = set()  # container ids seen in ROOT/containers (cgroups are named after them)
        self.env = dict(os.environ)
        self.env.pop("BERTH_AUTH_FILE", None)
        self.env["BERTH_AUTH_FILE"] = str(self.root.parent / "auth-default.json")

    def __repr__(self):
        return f"Engine({self.root})"

    def argv_for(self, *args, global_args=()):
        return [*self.argv, "--root", str(self.root), *global_args, *map(str, args)]

    def _note_ids(self):
        try:
            self.ids.update(os.listdir(self.root / "containers"))
        except OSError:
            pass

    def cmd(self, *args, global_args=(), timeout=120, check=False, input=None, env=None,
            wrap=(), preexec_fn=None):
        """Runs `berth --root ROOT ARGS`; input: str or bytes for stdin; wrap: argv prefix
        (e.g. a private mount namespace)."""
        reap_orphans()
        argv = [*wrap, *self.argv_for(*args, global_args=global_args)]
        if isinstance(input, str):
            input = input.encode()
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            p = subprocess.run(argv, stdout=out, stderr=err, timeout=timeout,
                               input=input, stdin=None if input is not None else subprocess.DEVNULL,
                               env={**self.env, **(env or {})}, preexec_fn=preexec_fn)
            out.seek(0)
            err.seek(0)
            p.stdout = out.read().decode(errors="replace")
            p.stderr = err.read().decode(errors="replace")
        reap_orphans()
        self._note_ids()
        if check:
            assert p.returncode == 0, describe(p)
        return p

    def popen(self, *args, global_args=(), **kw):
        kw.setdefault("stdin", subprocess.DEVNULL)
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        kw.setdefault("env", self.env)
        return spawn(self.argv_for(*args, global_args=global_args), **kw)

    def ok(self, *args, **kw):
        """cmd() that must succeed; returns stdout."""
        return self.cmd(*args, check=True, **kw).stdout

    def json(self, *args, **kw):
        """A command printing one JSON document."""
        p = self.cmd(*args, check=True, **kw)
        try:
            return json.loads(p.stdout)
        except ValueError as e:
            raise AssertionError(f"not JSON: {e}\n{describe(p)}")

    def json_lines(self, *args, **kw):
        """A command printing one JSON object per line (--format json)."""
        p = self.cmd(*args, check=True, **kw)
        try:
            return [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
        except ValueError as e:
            raise AssertionError(f"not JSON lines: {e}\n{describe(p)}")

    def image_inspect(self, image):
        v = self.json("image", "inspect", image)
        assert isinstance(v, list) and len(v) == 1, v
        return v[0]

    def layer_dirs(self, image):
        """The image's layer dirs (ROOT/layers/<hex>/diff), bottom first."""
        return [self.root / "layers" / c.split(":", 1)[1] / "diff"
                for c in self.image_inspect(image)["Layers"]]

    def containers(self):
        try:
            return sorted(os.listdir(self.root / "containers"))
        except OSError:
            return []

    def monitors(self):
        """{pid: container id} of the live berth-monitor processes of this engine's containers
        (argv `.../berth-monitor ROOT RUNROOT ID`; a zombie has no argv: not counted)."""
        root = os.path.realpath(self.root)
        out = {}
        for pid in _all_pids():
            argv = _argv(pid)
            if (len(argv) >= 4 and os.path.basename(argv[0]) == "berth-monitor"
                    and os.path.realpath(argv[1]) == root):
                out[pid] = argv[3]
        return out

    # -- the leak guard's hooks
    def leftovers(self):
        out = []
        for c in self.containers():
            out.append(f"berth: container left in {self.root}/containers: {c}")
        if self.runroot.is_dir():
            for dirpath, _, filenames in os.walk(self.runroot):
                if os.path.basename(dirpath) == ".seccomp:bpf":
                    continue  # compiled seccomp programs: a cache, not a container's state
                for n in filenames:
                    if not n.endswith(".lock"):
                        out.append(f"berth: runtime state left: {os.path.join(dirpath, n)}")
        for t in sorted(glob.glob(str(self.root / "layers" / ".tmp-*"))):
            out.append(f"berth: unpack left behind: {t}")
        for pid, cid in sorted(self.monitors().items()):
            out.append(f"berth: monitor left running: pid {pid}, container {cid}")
        return out

    def cleanup(self):
        # First the engine's own processes the test left (a foreground `berth run` holds its
        # container's lock) and the monitors of its detached containers, then `rm -f` what is
        # left: it kills the containers and removes their mounts and cgroups.
        for p in list(_tracked):
            if p.returncode is None and str(self.root) in " ".join(map(str, p.args)):
                p.kill()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    pass
        # The monitors of detached containers next: one still starting its container would
        # race with `rm -f`; with its monitor gone a container is `rm -f`'s to clean.
        for pid in self.monitors():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        deadline = time.monotonic() + 5
        while self.monitors() and time.monotonic() < deadline:
            time.sleep(0.01)
        reap_orphans()
        for c in self.containers():
            try:
                subprocess.run(self.argv_for("rm", "-f", c), capture_output=True,
                               stdin=subprocess.DEVNULL, timeout=CMD_TIMEOUT, env=self.env)
            except subprocess.TimeoutExpired:
                pass


def require_tools(*names):
    missing = _registry.missing_tools(*names)
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)}")


@pytest.fixture
def berth(workdir):
    path = berth_path()
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is not built: run `meson setup build && ninja -C build` "
                    "(or set BERTH)", pytrace=False)
    e = Engine([str(path)], workdir.path / "root-berth")
    workdir.runners.append(e)
    return e


@pytest.fixture
def make_engine(workdir):
    """Factory for more engines with stores of their own: make_engine("name")."""
    def make(name):
        e = Engine([str(berth_path())], workdir.path / f"root-{name}")
        workdir.runners.append(e)
        return e
    return make


@pytest.fixture(scope="session")
def busybox_archive(tmp_path_factory):
    """A docker-archive of busybox:latest."""
    out = tmp_path_factory.mktemp("busybox") / "busybox.tar"
    if os.access(MKIMAGE, os.X_OK):
        subprocess.run([str(MKIMAGE), "busybox", str(out), "--format", "docker-archive",
                        "--name", "busybox:latest"], check=True, capture_output=True)
    else:
        img = _registry.Image([_registry.layer_tar(_registry.busybox_entries())], cmd=["sh"])
        img.write_docker_archive(out, "busybox:latest")
    return out


def _session_registry(name, **kw):
    require_tools("docker-registry", "skopeo", "openssl", "htpasswd")
    base = tempfile.mkdtemp(prefix=f"berth-reg-{name}-")
    # not spawn(): the leak guard kills a test's Popen objects, and this one outlives tests
    r = _registry.Registry(base, **kw)
    try:
        r.start()
    except Exception:
        r.stop()
        shutil.rmtree(base, ignore_errors=True)
        raise
    return r


@pytest.fixture(scope="session")
def registry_http():
    r = _session_registry("http")
    yield r
    r.stop()
    shutil.rmtree(r.base, ignore_errors=True)


@pytest.fixture(scope="session")
def registry_tls():
    r = _session_registry("tls", tls=True, auth=True)
    yield r
    r.stop()
    shutil.rmtree(r.base, ignore_errors=True)
