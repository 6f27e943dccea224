"""The runtime's own processes are never within the container's reach (issue 9 §1).

The container's init and every exec child are clones of the runtime: until they execve the
user's program they run the runtime's code with its host fds.  From inside a default container
the attacker (attacker.c) tries what CVE-2019-5736 and CVE-2024-21626 did:

- created state: exec into a created container, open /proc/1/fd/N (and N/..), cwd, root, exe,
  mem of its init;
- every exec: poll the next pids while the host runs `exec CTR true` in a loop, open
  /proc/PID/fd/N, cwd, root of each exec child before its execve;
- the binary: take /proc/PID/exe of those children O_PATH and reopen it for writing once the
  runtime exited; the same through an image file starting with #!/proc/self/exe, run by exec,
  as process.args, and by the engine (`berth run`).

The runtime runs from a copy of its binary in the test's directory (own_copy) wherever the
attack tries to write it; the copy's sha256 is checked afterwards.
"""

import os
import shutil
import subprocess
import tarfile

import pytest

import sec

it = sec.it
describe = it.describe

# What Debian 12's peers do (checked with runc 1.1.5+ds1-1+deb12u1 and crun 1.8.1).
PEER_CREATED_INIT = {
    "runc": "runc 1.1's created init is dumpable: /proc/1/fd/N reaches its exec.fifo in the "
            "state dir (O_PATH) and /proc/1/mem opens read-write",
}


def binary_of(runner):
    return os.path.realpath(runner.argv[-1])


def host_view(workdir, runner, cid, binary=None):
    """{(dev, ino): path} of the host objects a container must never reach."""
    extra = [binary or binary_of(runner), *sec.cgroup_dirs(cid)]
    return sec.host_files(workdir.path, extra=extra, skip=[workdir.path / "out"])


def peer_xfail(runner, reasons, findings):
    if runner.name != "berth-oci" and runner.name in reasons and findings:
        pytest.xfail(f"{runner.name}: {reasons[runner.name]}")


def findings_message(what, runner, findings, extra=""):
    return (f"{runner.name}: {what} reached the host:\n  " + "\n  ".join(findings)
            + (f"\n{extra}" if extra else ""))


# --------------------------------------------------------------------------------------------
# 1. the created state


def test_created_init_holds_nothing_of_the_host(runtime, sec_bundle, cid, workdir):
    """exec into a created container and open every /proc/1/fd/N, N/.., cwd, root, exe and
    mem of its init (a clone of the runtime blocked before its execve).  Nothing may be a host
    directory or file, nothing writable; the fix: the init is not dumpable until its execve
    (EACCES) and holds no host fd but 0-2 (and an O_PATH fd on the exec fifo)."""
    sec_bundle.process["args"] = ["true"]
    p = runtime.create(sec_bundle, cid)
    assert p.returncode == 0, describe(p)
    p = runtime.cmd("exec", cid, "/attacker", "scan", "1")
    if p.returncode != 0 and runtime.name != "berth-oci" and "creat" in (p.stderr + p.stdout):
        runtime.delete(cid, force=True)
        pytest.skip(f"{runtime.name} refuses exec into a created container: {p.stderr.strip()}")
    assert p.returncode == 0, describe(p)
    records = sec.parse(p.stdout)
    host = host_view(workdir, runtime, cid)
    findings = sec.reached_host(records, host, binary=sec.devino_of(binary_of(runtime), True))
    runtime.delete(cid, force=True, check=True)
    peer_xfail(runtime, PEER_CREATED_INIT, findings)
    head = "\n".join(p.stdout.splitlines()[:40])
    assert not findings, findings_message("exec into the created container", runtime, findings,
                                          "records (first 40):\n" + head)


# --------------------------------------------------------------------------------------------
# 2./3. every exec


def start_watcher(runner, bundle, cid, comm):
    """The container's process is the attacker polling new pids; returns once it polls."""
    bundle.process["args"] = ["/attacker", "watch", "/out", comm]
    p = runner.run(bundle, cid, detach=True)
    assert p.returncode == 0, describe(p)
    sec.wait_for(bundle.out / "ready")


def stop_watcher(runner, bundle, cid):
    (bundle.out / "stop").touch()
    try:
        sec.wait_for(bundle.out / "report", timeout=20)
    finally:
        runner.delete(cid, force=True)
    report = (bundle.out / "report").read_text()
    sec.debug(f"{runner.name}: the attacker's report:\n{report}")
    return sec.parse(report)


def exec_loop(runner, cid, argv, rounds, expect_rc=0):
    failures = []
    for _ in rounds:
        p = runner.cmd("exec", cid, *argv)
        if expect_rc is not None and p.returncode != expect_rc and len(failures) < 3:
            failures.append(describe(p))
    return failures


def exe_findings(records, copy):
    """What the attacker did with the runtime's binary: writes to the copy's inode."""
    out = []
    for r in records:
        if r.kind == "exewrite" and r.devino == copy.devino and r["open"] == "ok":
            out.append(f"reopened the runtime binary {copy.path} for writing through "
                       f"/proc/PID/exe (write={r['write']})")
    if copy.changed():
        out.append(f"the runtime binary {copy.path} was changed (sha256 differs)")
    return out


def exec_race(runner, bundle, cid, copy, workdir, argv=("true",), comm="true", rounds=None,
              expect_rc=0):
    start_watcher(runner, bundle, cid, comm)
    host = host_view(workdir, runner, cid, binary=copy.path)
    r = sec.Rounds(runner, rounds=rounds)
    failures = exec_loop(runner, cid, argv, r, expect_rc)
    records = stop_watcher(runner, bundle, cid)
    st = sec.stats(records)
    return records, st, host, r, failures


def test_exec_child_exposes_no_host_fd(own_copy, sec_bundle, cid, workdir):
    """CVE-2024-21626 pattern: while the host runs `exec CTR true` in a loop, a process in the
    container opens /proc/PID/fd/N (and N/..), cwd and root of each new exec child before its
    execve.  None may be a host directory or file (state root, state dir, cgroup dirs,
    bundle)."""
    runner = own_copy.runner
    records, st, host, r, failures = exec_race(runner, sec_bundle, cid, own_copy, workdir)
    assert not failures, "exec true failed:\n" + "\n".join(failures)
    findings = [f for f in sec.reached_host(records, host, binary=own_copy.devino,
                                          binary_path=own_copy.path)
                if ":exe" not in f.split()[0]]
    assert st, "the attacker wrote no stats"
    assert st["pids"] > 0, f"{runner.name}: the attacker saw none of the exec children ({r})"
    assert not findings, findings_message(
        f"an exec child before its execve ({r}, {st['preexec']} of {st['pids']} children caught "
        f"before execve)", runner, findings)


def test_exec_child_exe_is_not_writable(own_copy, sec_bundle, cid, workdir):
    """CVE-2019-5736 pattern: /proc/PID/exe of each exec child, taken O_PATH before its
    execve and reopened for writing once the runtime exited, must not give write access to
    the host binary (the runtime runs from a read-only view or a sealed copy of itself, or is
    not dumpable)."""
    runner = own_copy.runner
    records, st, host, r, failures = exec_race(runner, sec_bundle, cid, own_copy, workdir)
    assert not failures, "exec true failed:\n" + "\n".join(failures)
    findings = [f for f in sec.reached_host(records, host, binary=own_copy.devino,
                                          binary_path=own_copy.path)
                if "runtime binary" in f]
    findings += exe_findings(records, own_copy)
    assert st and st["pids"] > 0, f"{runner.name}: the attacker saw no exec child ({r})"
    assert not findings, findings_message(
        f"an exec child's /proc/PID/exe ({r}, {st['preexec']} of {st['pids']} caught before "
        f"execve)", runner, findings)


SHEBANG = "#!/proc/self/exe\n"


def add_shebang(bundle):
    evil = bundle.rootfs / "evil"
    evil.write_text(SHEBANG)
    os.chmod(evil, 0o755)


def test_shebang_proc_self_exe_by_exec(own_copy, sec_bundle, cid, workdir):
    """CVE-2019-5736 as published: `exec CTR /evil` where /evil starts with #!/proc/self/exe
    makes the kernel run the exec child's own binary inside the container; the attacker takes
    its /proc/PID/exe and reopens it for writing once the runtime exited."""
    runner = own_copy.runner
    add_shebang(sec_bundle)
    records, st, host, r, _ = exec_race(runner, sec_bundle, cid, own_copy, workdir,
                                        argv=("/evil",), comm="-", rounds=50, expect_rc=None)
    findings = [f for f in sec.reached_host(records, host, binary=own_copy.devino,
                                          binary_path=own_copy.path)
                if "runtime binary" in f]
    findings += exe_findings(records, own_copy)
    assert st and st["pids"] > 0, f"{runner.name}: the attacker saw no exec child ({r})"
    assert not findings, findings_message(
        f"exec of a #!/proc/self/exe file ({r}, {st['exes']} exe(s) taken)", runner, findings)


def test_shebang_proc_self_exe_as_process_args(own_copy, sec_bundle, make_bundle, attacker, cid,
                                               workdir):
    """The same file as a container's process.args: its init (a clone of the runtime) execs
    it and runs the runtime's binary as the container's pid 1.  The attacker waits in another
    container whose pid namespace the victim joins (a pod)."""
    runner = own_copy.runner
    start_watcher(runner, sec_bundle, cid, "-")
    pid = runner.state_json(cid)["pid"]
    victim = make_bundle("victim")
    add_shebang(victim)
    victim.process["args"] = ["/evil"]
    for ns in victim.config["linux"]["namespaces"]:
        if ns["type"] == "pid":
            ns["path"] = f"/proc/{pid}/ns/pid"
    host = host_view(workdir, runner, cid, binary=own_copy.path)
    r = sec.Rounds(runner, rounds=30)
    for i in r:
        runner.run(victim, f"{cid}-v{i}")
    records = stop_watcher(runner, sec_bundle, cid)
    st = sec.stats(records)
    findings = [f for f in sec.reached_host(records, host, binary=own_copy.devino,
                                          binary_path=own_copy.path)
                if "runtime binary" in f]
    findings += exe_findings(records, own_copy)
    assert st and st["pids"] > 0, f"{runner.name}: the attacker saw no victim init ({r})"
    assert not findings, findings_message(
        f"a container whose process.args is a #!/proc/self/exe file ({r}, {st['exes']} exe(s) "
        f"taken)", runner, findings)


# --------------------------------------------------------------------------------------------
# the engine


def _ldd_files(binary):
    """The ELF interpreter and libraries of a dynamic binary (ldd), host paths."""
    p = subprocess.run(["ldd", str(binary)], capture_output=True, text=True)
    out = []
    for line in p.stdout.splitlines():
        for tok in line.split():
            if tok.startswith("/") and os.path.exists(tok):
                out.append(tok)
    return out


def _image_tar(path, template_rootfs, files):
    """A rootfs tar: busybox's rootfs plus {path in image: host file}."""
    with tarfile.open(path, "w") as tar:
        tar.add(str(template_rootfs), arcname=".", recursive=True)
        for dest, src in files.items():
            info = tarfile.TarInfo("." + dest)  # regular files: symlinks followed
            info.size = os.path.getsize(src)
            info.mode = 0o755
            with open(src, "rb") as f:
                tar.addfile(info, f)


def test_engine_shebang_proc_self_exe(workdir, sec_bundle, attacker, preload):
    """`berth run` of an image whose command is a #!/proc/self/exe file: the engine's init is
    a clone of `berth`, so the kernel runs the engine's binary in the container, here with the
    image's LD_PRELOAD payload loaded (the image carries the loader and libc).  The payload
    takes /proc/self/exe and tries to reopen it for writing; the binary (a copy) must stay
    unwritable and unchanged."""
    original = it.berth_path()
    if not os.access(original, os.X_OK):
        pytest.fail(f"{original} is not built (or set BERTH)", pytrace=False)
    bindir = workdir.path / "bin-berth"
    bindir.mkdir()
    copy = bindir / "berth"
    shutil.copy2(original, copy)
    before = sec.devino_of(copy)
    digest = sec.sha256(copy)
    engine = it.Engine([str(copy)], workdir.path / "root-berth")
    workdir.runners.append(engine)

    evil = workdir.path / "evil"
    evil.write_text(SHEBANG)
    files = {"/evil": str(evil), "/attacker": str(attacker), "/evil.so": str(preload)}
    libs = _ldd_files(copy)
    if not libs:
        pytest.skip(f"{copy} is static: no LD_PRELOAD payload (the exec tests cover it)")
    for lib in libs:
        files[lib] = lib
        files[os.path.realpath(lib)] = lib
    tar = workdir.path / "evil.tar"
    _image_tar(tar, sec_bundle.rootfs, files)
    engine.ok("import", "-c", "ENV LD_PRELOAD=/evil.so", "-c", "ENV BERTH_SEC_ATTACKER=/attacker",
              "-c", "ENV ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0",
              "-c", 'CMD ["/evil"]', str(tar), "evil:latest")
    p = engine.cmd("run", "--rm", "evil:latest", timeout=60)
    records = sec.parse(p.stdout)
    exe = [r for r in records if r.kind == "reach" and r["where"] == "exe"]
    writes = [r for r in records if r.kind == "exewrite"]
    assert exe, ("the payload did not run (no record of /proc/self/exe): the attack was not "
                 "tried\n" + describe(p))
    findings = []
    for r in exe:
        if r.devino == before and r["w"] == "1":
            findings.append(f"/proc/self/exe of the engine's binary in the container is {copy} "
                            f"itself, writable (access W_OK), reopened: "
                            f"{[w['open'] for w in writes]}")
    for w in writes:
        if w.devino == before and w["open"] == "ok":
            findings.append(f"reopened {copy} for writing (write={w['write']})")
    if sec.sha256(copy) != digest:
        findings.append(f"{copy} was changed (sha256 differs)")
    assert not findings, "berth: " + "\n  ".join(findings) + "\n" + describe(p)
