"""Seccomp as runc 1.1 does it, side by side with runc (and crun where it agrees).

- A syscall numbered above the highest one the profile names (per architecture: x86_64, x32,
  i386) gets ENOSYS, not the default action, so that a libc newer than the profile falls back
  (clone3, openat2, faccessat2; a number no kernel has); a known syscall the profile leaves out
  but older than its newest one still gets the default action (errno, or the kill). No such
  stub when the default action lets syscalls through.
- startContainer hooks run under the filter: a syscall the profile kills kills the hook
  (runc's seccomp.bats "startContainer hook"), and the hook sees Seccomp: 2.
- seccomp notify: SCMP_ACT_NOTIFY on write is refused; an agent that is not there is named in
  runc's words.

A small static helper (`/sc [x32|i386] NR [ARG...]`, compiled here with gcc -static) makes one
raw syscall and prints 0 or the errno; x32 numbers get bit 30 (__X32_SYSCALL_BIT), i386 ones go
through `int $0x80`."""

import os
import platform
import shutil
import subprocess

import pytest

from conftest import describe, new_id

EPERM, ENXIO, EINVAL, ENOSYS = 1, 6, 22, 38
X32 = 0x40000000

# x86_64 numbers
MKDIR, GETPPID, CLONE3, OPENAT2, FACCESSAT2 = 83, 110, 435, 437, 439
# i386 numbers (clone3 and later are shared by every architecture)
I386_MKDIR, I386_GETPPID = 39, 64
NO_SUCH_SYSCALL = 1000

SC_C = r"""
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static long i386_call(long nr, long a, long b, long c)
{
        long r = -ENOSYS;

        /* int $0x80 from a 64-bit process: the i386 ABI (AUDIT_ARCH_I386 for seccomp) */
        __asm__ volatile("int $0x80"
                         : "=a"(r)
                         : "a"(nr), "b"(a), "c"(b), "d"(c)
                         : "memory", "r8", "r9", "r10", "r11");
        return r;
}

int main(int argc, char **argv)
{
        const char *abi = "x86_64";
        long nr, a[3] = {0}, r;
        int i = 1;

        if (argc > 1 && (strcmp(argv[1], "x32") == 0 || strcmp(argv[1], "i386") == 0))
                abi = argv[i++];
        if (i >= argc)
                return 2;
        nr = strtol(argv[i++], NULL, 0);
        for (int j = 0; j < 3 && i < argc; j++)
                a[j] = (long) strtoull(argv[i++], NULL, 0);
        if (strcmp(abi, "i386") == 0) {
                r = i386_call(nr, a[0], a[1], a[2]);
                printf("%ld\n", r < 0 && r > -4096 ? -r : 0);
                return 0;
        }
        if (strcmp(abi, "x32") == 0)
                nr |= 0x40000000L;
        errno = 0;
        r = syscall(nr, a[0], a[1], a[2]);
        printf("%d\n", r < 0 ? errno : 0);
        return 0;
}
"""

# What busybox's sh, the helper and runc's init after the filter need (it checks its fds with
# fstatfs; Go's runtime runs threads); the newest is rseq (x86_64 334, i386 386): a profile
# written before close_range (436, which runc then gets ENOSYS for and does without), clone3
# (435), openat2 (437) and faccessat2 (439). mkdir is left out.
ALLOW_LIST = sorted("""
    access arch_prctl brk close dup2 execve exit exit_group fcntl fork fstat getcwd getegid
    geteuid getgid getpid getppid getrandom getuid ioctl lseek lstat mmap mprotect munmap
    newfstatat open openat pipe pipe2 prlimit64 read readlink rseq rt_sigaction
    rt_sigprocmask rt_sigreturn set_robust_list set_tid_address stat uname vfork wait4 write
    writev clone fstatfs statfs futex nanosleep sched_yield sigaltstack gettid tgkill madvise
    getdents64 epoll_create1 epoll_ctl epoll_pwait prctl pread64 dup dup3 getpgrp setpgid
""".split())
ARCHES = ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"]


@pytest.fixture(scope="module")
def sc_binary(tmp_path_factory):
    if platform.machine() != "x86_64":
        pytest.skip("the cases use x86_64, x32 and i386 syscall numbers")
    if not shutil.which("gcc"):
        pytest.skip("not installed: gcc")
    d = tmp_path_factory.mktemp("sc")
    (d / "sc.c").write_text(SC_C)
    p = subprocess.run(["gcc", "-static", "-O2", "-o", str(d / "sc"), str(d / "sc.c")],
                       capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip(f"gcc -static cannot build the helper (libc6-dev?): {p.stderr[-300:]}")
    return d / "sc"


@pytest.fixture(scope="module")
def i386_works(sc_binary):
    """Whether this kernel runs i386 syscalls (IA32 emulation): getppid through int $0x80."""
    p = subprocess.run([str(sc_binary), "i386", str(I386_GETPPID)], capture_output=True,
                       text=True)
    return p.returncode == 0 and p.stdout == "0\n"


@pytest.fixture
def sc_bundle(bundle, sc_binary):
    shutil.copy(sc_binary, bundle.rootfs / "sc")
    os.chmod(bundle.rootfs / "sc", 0o755)
    return bundle


def profile(default="SCMP_ACT_ERRNO", arches=ARCHES, **extra):
    p = {"defaultAction": default,
         "syscalls": [{"names": ALLOW_LIST, "action": "SCMP_ACT_ALLOW"}], **extra}
    if arches is not None:
        p["architectures"] = arches
    return p


def skip_crun(runtime):
    if runtime.name == "crun":
        pytest.skip("crun 1.8 has no ENOSYS stub: newer syscalls get the default action")


def run_cases(runtime, bundle, cases):
    """Runs /sc once per case in one container; returns {name: errno}."""
    script = "; ".join(f"echo {name}=$(/sc {' '.join(map(str, argv))})"
                       for name, argv in cases.items())
    out = runtime.run_sh(bundle, script)
    got = {}
    for line in out.splitlines():
        name, _, value = line.partition("=")
        got[name] = int(value) if value.strip().isdigit() else value
    return got


# ---- ENOSYS for syscalls newer than the profile ------------------------------------------


def test_newer_syscalls_get_enosys(runtime, sc_bundle, i386_works):
    """Default action ERRNO (EPERM): a syscall above rseq, the profile's newest, is ENOSYS, for
    each architecture of the profile; mkdir (left out, older) is EPERM; getppid (listed) runs."""
    skip_crun(runtime)
    sc_bundle.config["linux"]["seccomp"] = profile()
    cases = {
        "getppid": [GETPPID], "mkdir": [MKDIR, 0], "clone3": [CLONE3, 0, 0],
        "openat2": [OPENAT2, 0, 0, 0], "faccessat2": [FACCESSAT2, 0, 0, 0],
        "nosuch": [NO_SUCH_SYSCALL],
        # x32: same numbers with bit 30; its own newest is one of 512-547 (execve, writev...)
        "x32_mkdir": ["x32", MKDIR, 0], "x32_nosuch": ["x32", NO_SUCH_SYSCALL],
    }
    want = {"getppid": 0, "mkdir": EPERM, "clone3": ENOSYS, "openat2": ENOSYS,
            "faccessat2": ENOSYS, "nosuch": ENOSYS, "x32_mkdir": EPERM, "x32_nosuch": ENOSYS}
    if i386_works:
        cases.update({"i386_getppid": ["i386", I386_GETPPID], "i386_mkdir": ["i386", I386_MKDIR, 0],
                      "i386_faccessat2": ["i386", FACCESSAT2, 0, 0, 0],
                      "i386_nosuch": ["i386", NO_SUCH_SYSCALL]})
        want.update({"i386_getppid": 0, "i386_mkdir": EPERM, "i386_faccessat2": ENOSYS,
                     "i386_nosuch": ENOSYS})
    assert run_cases(runtime, sc_bundle, cases) == want


def test_newer_syscalls_with_default_errno_ret(runtime, sc_bundle):
    """defaultErrnoRet (ENXIO) is what an older syscall gets; a newer one still gets ENOSYS."""
    skip_crun(runtime)
    sc_bundle.config["linux"]["seccomp"] = profile(defaultErrnoRet=ENXIO)
    got = run_cases(runtime, sc_bundle, {"mkdir": [MKDIR, 0], "clone3": [CLONE3, 0, 0],
                                         "nosuch": [NO_SUCH_SYSCALL]})
    assert got == {"mkdir": ENXIO, "clone3": ENOSYS, "nosuch": ENOSYS}


def test_newer_syscalls_with_default_kill(runtime, sc_bundle):
    """Default action KILL_PROCESS: an older syscall left out kills (SIGSYS: 128+31), a newer
    one returns ENOSYS."""
    skip_crun(runtime)
    sc_bundle.config["linux"]["seccomp"] = profile(default="SCMP_ACT_KILL_PROCESS")
    sc_bundle.process["args"] = ["sh", "-c", f"/sc {CLONE3} 0 0; /sc {MKDIR} 0; echo rc=$?"]
    p = runtime.run(sc_bundle, new_id())
    assert p.returncode == 0, describe(p)
    assert p.stdout == f"{ENOSYS}\nrc=159\n", describe(p)


def test_no_stub_when_the_default_allows(runtime, sc_bundle):
    """Default action ALLOW: new syscalls reach the kernel (clone3 with size 0 is its EINVAL),
    the rules still apply."""
    sc_bundle.config["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW", "architectures": ARCHES,
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO"}]}
    got = run_cases(runtime, sc_bundle, {"mkdir": [MKDIR, 0], "clone3": [CLONE3, 0, 0],
                                         "nosuch": [NO_SUCH_SYSCALL]})
    assert got == {"mkdir": EPERM, "clone3": EINVAL, "nosuch": ENOSYS}


def test_profile_without_architectures(runtime, sc_bundle):
    """No "architectures": libseccomp's filter has the native one, and so has the stub."""
    skip_crun(runtime)
    if runtime.name == "runc":
        pytest.skip("runc 1.1.5 gives such a profile no stub (clone3: EPERM); runc 1.1.13 and "
                    "1.2 add the native architecture, as berth-oci does")
    sc_bundle.config["linux"]["seccomp"] = profile(arches=None)
    got = run_cases(runtime, sc_bundle, {"mkdir": [MKDIR, 0], "clone3": [CLONE3, 0, 0]})
    assert got == {"mkdir": EPERM, "clone3": ENOSYS}


# ---- startContainer hooks run under the filter ---------------------------------------------

KILL_MKDIR = {"defaultAction": "SCMP_ACT_ALLOW",
              "architectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"],
              "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_KILL"}]}


@pytest.mark.parametrize("nnp", [True, False], ids=["no_new_privs", "privs"])
def test_start_container_hook_is_killed_by_the_filter(runtime, bundle, nnp):
    """runc's seccomp.bats "startContainer hook": the hook's mkdir is killed (SIGSYS), the run
    fails and says so."""
    bundle.process["noNewPrivileges"] = nnp
    bundle.process["args"] = ["true"]
    bundle.config["linux"]["seccomp"] = KILL_MKDIR
    bundle.config["hooks"] = {"startContainer": [
        {"path": "/bin/sh", "args": ["sh", "-c", "mkdir /dev/shm/foo"]}]}
    p = runtime.run(bundle, new_id())
    assert p.returncode != 0, describe(p)
    if runtime.name != "crun":  # crun 1.8: "error executing hook `/bin/sh` (exit code: -1)"
        assert "error running hook" in p.stderr and "bad system call" in p.stderr, describe(p)


@pytest.mark.parametrize("nnp", [True, False], ids=["no_new_privs", "privs"])
def test_start_container_hook_sees_the_filter(runtime, bundle, nnp):
    """A hook that does what the profile allows runs, with the filter on (Seccomp: 2), and the
    container's process after it."""
    bundle.process["noNewPrivileges"] = nnp
    bundle.config["linux"]["seccomp"] = KILL_MKDIR
    bundle.config["hooks"] = {"startContainer": [
        {"path": "/bin/sh", "args": ["sh", "-c", "grep ^Seccomp: /proc/self/status "
                                     "> /dev/shm/hook"]}]}
    out = runtime.run_sh(bundle, "cat /dev/shm/hook")
    assert out.split() == ["Seccomp:", "2"], out


# ---- seccomp notify --------------------------------------------------------------------------


def test_notify_on_write_is_refused(runtime, bundle, workdir):
    bundle.config["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": str(workdir.path / "agent.sock"),
        "syscalls": [{"names": ["write"], "action": "SCMP_ACT_NOTIFY"}]}
    p = runtime.run(bundle, new_id())
    assert p.returncode != 0, describe(p)
    if runtime.name != "crun":  # crun 1.8 has no such check: it fails on the missing agent
        assert "SCMP_ACT_NOTIFY cannot be used for the write syscall" in p.stderr, describe(p)


def test_missing_agent_in_runcs_words(runtime, bundle, workdir):
    if runtime.name == "crun":
        pytest.skip("crun 1.8's own words")
    bundle.config["linux"]["seccomp"] = {
        "defaultAction": "SCMP_ACT_ALLOW", "listenerPath": str(workdir.path / "nobody.sock"),
        "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}
    p = runtime.run(bundle, new_id())
    assert p.returncode != 0, describe(p)
    assert "failed to connect with seccomp agent" in p.stderr, describe(p)
