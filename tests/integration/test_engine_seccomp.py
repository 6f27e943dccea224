"""`berth run`'s seccomp profile and --security-opt.

The default profile is docker's allow-list (src/engine/seccomp-default.c): inside a container an
allowed syscall works, one the profile knows and denies fails with EPERM, one it does not know
(a number the kernel lacks, or a syscall newer than the profile) with ENOSYS so that libcs fall
back. --security-opt seccomp=unconfined lifts it, seccomp=FILE takes a docker-format profile,
no-new-privileges sets the flag. A small static helper (`/sc NAME|NR [ARG...]`, compiled here
with gcc -static) makes raw syscalls and prints 0 or the errno."""

import json
import os
import shutil
import subprocess
import textwrap

import pytest

import registry as R
from conftest import describe

EPERM, ENOSYS = 1, 38
CLONE_NEWUSER, SIGCHLD = 0x10000000, 17

SC_C = r"""
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const struct { const char *name; long nr; } table[] = {
    {"getpid", SYS_getpid}, {"unshare", SYS_unshare}, {"mount", SYS_mount},
    {"kcmp", SYS_kcmp}, {"keyctl", SYS_keyctl}, {"io_uring_setup", SYS_io_uring_setup},
    {"personality", SYS_personality}, {"socket", SYS_socket}, {"clone", SYS_clone},
    {"clone3", SYS_clone3}, {"bpf", SYS_bpf}, {"mkdir", SYS_mkdir},
    {"userfaultfd", SYS_userfaultfd}, {"chroot", SYS_chroot}, {"setns", SYS_setns},
};

int main(int argc, char **argv)
{
        long nr = -1, a[6] = {0}, r;

        if (argc < 2)
                return 2;
        for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
                if (strcmp(table[i].name, argv[1]) == 0)
                        nr = table[i].nr;
        if (nr < 0)
                nr = strtol(argv[1], NULL, 0);
        for (int i = 2; i < argc && i < 8; i++)
                a[i - 2] = (long) strtoull(argv[i], NULL, 0);
        errno = 0;
        r = syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
        if (r == 0 && nr == SYS_clone)
                _exit(0); /* the child of a fork-like clone */
        if (r > 0 && nr == SYS_clone)
                waitpid((pid_t) r, NULL, 0);
        printf("%d\n", r < 0 ? errno : 0);
        return 0;
}
"""

# name: (argv of /sc, errno under the default profile, errno unconfined; None: any)
CASES = {
    "getpid": (["getpid"], 0, 0),
    "unshare-user": (["unshare", CLONE_NEWUSER], EPERM, 0),
    "mount": (["mount", 0, 0, 0, 0, 0], EPERM, None),     # EFAULT or so without the filter
    "kcmp": (["kcmp", 1, 1, 0, 0, 0], EPERM, None),        # KCMP_FILE of fd 0 with itself
    "keyctl": (["keyctl", 0, -3 & 0xffffffff], EPERM, None),  # GET_KEYRING_ID of @s
    "io_uring_setup": (["io_uring_setup", 1, 0], EPERM, None),
    "bpf": (["bpf", 0, 0, 0], EPERM, None),
    "userfaultfd": (["userfaultfd", 0], EPERM, None),
    "setns": (["setns", 0, 0], EPERM, None),
    "socket-unix": (["socket", 1, 1, 0], 0, 0),            # AF_UNIX, SOCK_STREAM
    "socket-vsock": (["socket", 40, 1, 0], EPERM, None),   # AF_VSOCK
    "socket-alg": (["socket", 38, 5, 0], EPERM, None),     # AF_ALG
    "clone-fork": (["clone", SIGCHLD], 0, 0),
    "clone-newuser": (["clone", CLONE_NEWUSER | SIGCHLD], EPERM, 0),
    "clone3": (["clone3", 0, 0], ENOSYS, None),            # so that libcs use clone
    "personality-query": (["personality", 0xffffffff], 0, 0),
    "personality-linux32": (["personality", 8], 0, 0),
    # a value docker denies: the default action (seccomp-default.c says why not EPERM)
    "personality-no-aslr": (["personality", 0x0040000], ENOSYS, 0),
    "chroot": (["chroot", 0], 14, 14),                     # CAP_SYS_CHROOT: allowed, EFAULT
    "unknown-1000": (["1000"], ENOSYS, ENOSYS),
}


@pytest.fixture(scope="module")
def sc_archive(tmp_path_factory):
    """A docker-archive of busybox plus /sc."""
    if not shutil.which("gcc"):
        pytest.skip("not installed: gcc")
    d = tmp_path_factory.mktemp("sc")
    (d / "sc.c").write_text(SC_C)
    p = subprocess.run(["gcc", "-static", "-O2", "-o", str(d / "sc"), str(d / "sc.c")],
                       capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"gcc -static cannot build the helper (libc6-dev?): {p.stderr[-300:]}")
    entries = R.busybox_entries() + [R.Entry("sc", data=(d / "sc").read_bytes(), mode=0o755)]
    out = d / "sc.tar"
    R.Image([R.layer_tar(entries)], cmd=["sh"]).write_docker_archive(out, "sc:latest")
    return out


@pytest.fixture
def sc(berth, sc_archive):
    berth.ok("load", "-i", sc_archive)
    return berth


def script(cases):
    """One sh script that runs every case and prints NAME=ERRNO lines."""
    lines = [f"echo {name}=$(/sc {' '.join(map(str, argv))})" for name, argv in cases]
    return "; ".join(lines)


def results(p):
    assert p.returncode == 0, describe(p)
    return dict(line.split("=", 1) for line in p.stdout.split())


def run_cases(e, *opts):
    cases = [(n, c[0]) for n, c in CASES.items()]
    return results(e.cmd("run", "--rm", *opts, "sc", "sh", "-c", script(cases), timeout=60))


def test_default_profile(sc):
    got = run_cases(sc)
    want = {n: str(c[1]) for n, c in CASES.items()}
    assert got == want
    assert sc.containers() == []


def test_default_profile_busybox_applets(sc):
    p = sc.cmd("run", "--rm", "sc", "sh", "-c",
               "unshare -U true; echo rc=$?; mount -t tmpfs t /mnt; echo rc=$?; "
               "echo ok > /tmp/f && cat /tmp/f")
    assert p.returncode == 0, describe(p)
    assert p.stdout == "rc=1\nrc=1\nok\n", describe(p)
    assert "unshare(0x10000000): Operation not permitted" in p.stderr, describe(p)


def test_unconfined(sc):
    got = run_cases(sc, "--security-opt", "seccomp=unconfined")
    for name, (_, _, want) in CASES.items():
        if want is not None:
            assert got[name] == str(want), (name, got)
    # what the filter denied with EPERM, the kernel now answers itself
    for name in ("kcmp", "io_uring_setup", "socket-vsock"):
        assert got[name] != str(EPERM), (name, got)


def test_builtin_is_the_default(sc):
    got = run_cases(sc, "--security-opt", "seccomp=builtin")
    assert got == {n: str(c[1]) for n, c in CASES.items()}


def test_config_json(sc):
    """The profile is what `berth run` puts in linux.seccomp: defaultAction ERRNO(ENOSYS), the
    allow-list, the EPERM list last; unconfined: no linux.seccomp at all."""
    sc.ok("run", "--name", "c1", "sc", "true")
    sc.ok("run", "--name", "c2", "--security-opt", "seccomp=unconfined", "sc", "true")
    cfgs = {}
    for cid in sc.containers():
        cfg = json.loads((sc.root / "containers" / cid / "bundle" / "config.json").read_text())
        name = json.loads((sc.root / "containers" / cid / "container.json").read_text())["name"]
        cfgs[name.lstrip("/")] = cfg
    seccomp = cfgs["c1"]["linux"]["seccomp"]
    assert seccomp["defaultAction"] == "SCMP_ACT_ERRNO"
    assert seccomp["defaultErrnoRet"] == ENOSYS
    assert seccomp["architectures"][:2] == ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"] or \
        os.uname().machine != "x86_64"
    allow = seccomp["syscalls"][0]
    assert allow["action"] == "SCMP_ACT_ALLOW" and "read" in allow["names"]
    assert "io_uring_setup" not in allow["names"] and "mount" not in allow["names"]
    deny = seccomp["syscalls"][-1]
    assert deny["action"] == "SCMP_ACT_ERRNO" and deny["errnoRet"] == EPERM
    assert {"mount", "kcmp", "keyctl", "io_uring_setup", "unshare"} <= set(deny["names"])
    assert "seccomp" not in cfgs["c2"]["linux"]
    sc.ok("rm", "c1", "c2")


PROFILE = {
    "defaultAction": "SCMP_ACT_ALLOW",
    "archMap": [{"architecture": "SCMP_ARCH_X86_64",
                 "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]},
                {"architecture": "SCMP_ARCH_AARCH64", "subArchitectures": ["SCMP_ARCH_ARM"]}],
    "syscalls": [
        {"name": "mkdir", "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
        {"names": ["mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
        # docker's conditional groups: the container has CAP_SYS_CHROOT, not CAP_SYS_ADMIN
        {"names": ["chroot"], "action": "SCMP_ACT_ERRNO", "errnoRet": 95,
         "includes": {"caps": ["CAP_SYS_CHROOT"]}},
        {"names": ["getpid"], "action": "SCMP_ACT_ERRNO", "errnoRet": 95,
         "includes": {"caps": ["CAP_SYS_ADMIN"]}},
        {"names": ["kcmp"], "action": "SCMP_ACT_ERRNO", "errnoRet": 71,
         "excludes": {"caps": ["CAP_SYS_ADMIN"]}, "comment": "comments are ignored"},
        {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
         "args": [{"index": 0, "value": 0x0040000, "op": "SCMP_CMP_EQ"}]},
        {"names": ["syncfs"], "action": "SCMP_ACT_ERRNO", "errnoRet": 5,
         "includes": {"minKernel": "99.0"}},
    ],
}


def test_custom_profile_file(sc, workdir):
    f = workdir.path / "profile.json"
    f.write_text(json.dumps(PROFILE, indent=2))
    p = sc.cmd("run", "--rm", "--security-opt", f"seccomp={f}", "sc", "sh", "-c",
               "mkdir /tmp/x; echo rc=$?; " + script([
                   ("chroot", ["chroot", 0]), ("getpid", ["getpid"]), ("kcmp", ["kcmp", 1, 1, 0]),
                   ("pers", ["personality", 0x0040000]), ("pers8", ["personality", 8]),
                   ("unshare", ["unshare", CLONE_NEWUSER]), ("n1000", ["1000"])]))
    assert p.returncode == 0, describe(p)
    assert "rc=1" in p.stdout and "Permission denied" in p.stderr, describe(p)
    got = dict(line.split("=", 1) for line in p.stdout.split() if not line.startswith("rc="))
    assert got == {"chroot": "95", "getpid": "0", "kcmp": "71", "pers": "22", "pers8": "0",
                   "unshare": "0", "n1000": str(ENOSYS)}, describe(p)


def test_docker_colon_form_and_no_new_privileges(sc, workdir):
    f = workdir.path / "p.json"
    f.write_text(json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}]}))
    nnp = "grep NoNewPrivs /proc/self/status"
    p = sc.cmd("run", "--rm", "--security-opt", f"seccomp:{f}", "--security-opt",
               "no-new-privileges", "sc", "sh", "-c", f"mkdir /x 2>/dev/null; echo $?; {nnp}")
    assert p.returncode == 0, describe(p)
    assert p.stdout.split() == ["1", "NoNewPrivs:", "1"], describe(p)
    for opt, want in (("no-new-privileges=false", "0"), ("no-new-privileges=true", "1"),
                      ("no-new-privileges:true", "1"), (None, "0")):
        p = sc.cmd("run", "--rm", *(["--security-opt", opt] if opt else []), "sc", "sh", "-c",
                   nnp)
        assert p.returncode == 0 and p.stdout.split() == ["NoNewPrivs:", want], describe(p)


def test_systempaths_unconfined(sc):
    p = sc.cmd("run", "--rm", "--security-opt", "systempaths=unconfined", "sc", "sh", "-c",
               "grep -c . /proc/timer_list >/dev/null && echo readable; "
               "grep ' /proc/sys ' /proc/self/mountinfo | grep -c ' ro,' || true")
    assert p.returncode == 0, describe(p)
    assert p.stdout.split() == ["readable", "0"], describe(p)


@pytest.mark.parametrize("opt, msg", [
    ("seccomp=/no/such/profile.json",
     "berth: opening seccomp profile (/no/such/profile.json) failed: "),
    ("seccomp", 'berth: invalid --security-opt: "seccomp"'),
    ("seccomp=", 'berth: invalid --security-opt: "seccomp="'),
    ("bogus=1", 'berth: invalid --security-opt 2: "bogus=1"'),
    ("no-new-privileges=maybe", 'berth: invalid --security-opt 2: "no-new-privileges=maybe"'),
    ("label=level:s0", "SELinux"),
    ("BADJSON", "berth: seccomp profile "),
    ("BADOP", "syscalls[0].args[0]: op: unknown operator \"SCMP_CMP_NOPE\""),
    ("BOTH", "both 'name' and 'names' are specified"),
], ids=["missing-file", "no-value", "empty-value", "unknown-key", "bad-bool", "selinux",
        "bad-json", "bad-op", "name-and-names"])
def test_security_opt_errors(sc, workdir, opt, msg):
    files = {
        "BADJSON": "{\"defaultAction\": ",
        "BADOP": json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
             "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_NOPE"}]}]}),
        "BOTH": json.dumps({"syscalls": [{"name": "a", "names": ["b"],
                                          "action": "SCMP_ACT_ALLOW"}]}),
    }
    if opt in files:
        f = workdir.path / "bad.json"
        f.write_text(files[opt])
        opt = f"seccomp={f}"
    p = sc.cmd("run", "--rm", "--security-opt", opt, "sc", "true")
    assert p.returncode == 125, describe(p)
    assert msg in p.stderr, describe(p)
    assert sc.containers() == [], "nothing is made before the options are checked"


def test_label_disable_and_apparmor_unconfined_pass(sc):
    p = sc.cmd("run", "--rm", "--security-opt", "label=disable", "--security-opt",
               "apparmor=unconfined", "sc", "true")
    assert p.returncode == 0, describe(p)


# --------------------------------------------------------------------------
# podman (containers-common's profile: default ENOSYS, EPERM for what it knows) side by side


@pytest.fixture
def podman_sc(workdir, sc_archive):
    if not shutil.which("podman") or not shutil.which("conmon") or not shutil.which("runc"):
        pytest.skip("not installed: podman, conmon or runc")
    base = workdir.path / "podman"
    argv = ["podman", "--root", str(base / "storage"), "--runroot", str(base / "run"),
            "--tmpdir", str(base / "tmp"), "--storage-driver", "vfs", "--cgroup-manager",
            "cgroupfs", "--events-backend", "file", "--runtime", shutil.which("runc"),
            "--log-level", "error"]

    def cmd(*args):
        return subprocess.run([*argv, *map(str, args)], capture_output=True, text=True,
                              timeout=120)
    p = cmd("load", "-q", "-i", sc_archive)
    if p.returncode != 0:
        pytest.skip(f"podman load failed here: {p.stderr[-300:]}")
    yield cmd
    cmd("rm", "-af", "-t", "0")
    cmd("rmi", "-af")
    subprocess.run(["umount", "-R", str(base / "storage")], capture_output=True)
    subprocess.run(["umount", "-R", str(base / "run")], capture_output=True)


def test_like_podman(sc, podman_sc):
    """Where docker's and containers-common's profiles agree, berth answers as podman does:
    unknown numbers ENOSYS, the known denied ones (kcmp, bpf) EPERM, personality values
    outside the five allowed ENOSYS. (podman allows clone3 and namespace flags to clone, and
    unshare and mount: its profile is made for rootless nesting; docker's denies them.)"""
    names = ["getpid", "kcmp", "bpf", "personality-no-aslr", "personality-query",
             "personality-linux32", "unknown-1000", "socket-unix", "clone-fork"]
    cases = [(n, CASES[n][0]) for n in names]
    p = podman_sc("run", "--rm", "--network", "none", "--ulimit", "nofile=1024:1024",
                  "--ulimit", "nproc=4096:4096", "sc", "sh", "-c", script(cases))
    if p.returncode != 0 and "cgroup" in p.stderr:
        pytest.skip(f"podman cannot run here: {p.stderr[-300:]}")
    theirs = results(p)
    ours = results(sc.cmd("run", "--rm", "sc", "sh", "-c", script(cases)))
    assert ours == theirs
