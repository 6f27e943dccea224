"""Fixtures of the clients suite (see README.md).

  oci_runtime  parametrized over BERTH_CLIENTS_RUNTIMES (default: berth-oci;
               e.g. BERTH_CLIENTS_RUNTIMES=berth-oci,runc,crun): a runtime name,
               skipped when not installed.
  busybox_tar  a docker-archive of busybox:latest (tools/mkimage), per session.
"""

import os
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402

harness.become_subreaper()


def pytest_generate_tests(metafunc):
    if "oci_runtime" in metafunc.fixturenames:
        metafunc.parametrize("oci_runtime", harness.selected_runtimes(), scope="module")


@pytest.fixture(scope="session")
def busybox_tar():
    d = tempfile.mkdtemp(prefix="berth-clients-img-")
    path = harness.busybox_archive(Path(d) / "busybox.tar")
    yield path
    os.unlink(path)
    os.rmdir(d)


def check_runtime(name):
    if name == "berth-oci":
        if not os.access(harness.berth_oci_path(), os.X_OK):
            pytest.fail(f"{harness.berth_oci_path()} is not built (or set BERTH_OCI)",
                        pytrace=False)
    elif harness.runtime_exec_line(name) is None:
        pytest.skip(f"{name} is not installed")


def module_dir(prefix):
    """A private directory reachable by other uids (user-namespace tests)."""
    d = Path(tempfile.mkdtemp(prefix=prefix, dir=os.environ.get("BERTH_TEST_TMPDIR", "/tmp")))
    os.chmod(d, 0o755)
    return d


# The parent cgroups the clients make for themselves whatever their --cgroup-parent: dockerd's
# /docker and podman's /libpod_parent (conmon). Removed at the end of the session when the session
# made them (rmdir only, deepest first: never a cgroup with processes, never one that was there).
CLIENT_PARENTS = ("docker", "libpod_parent")


def _client_parent_dirs():
    root = "/sys/fs/cgroup"
    return {os.path.join(root, h, p) for h in os.listdir(root) for p in CLIENT_PARENTS
            if os.path.isdir(os.path.join(root, h, p))}


@pytest.fixture(scope="session", autouse=True)
def client_parent_cgroups():
    before = _client_parent_dirs()
    yield
    for top in sorted(_client_parent_dirs() - before):
        for dirpath, _, _ in sorted(os.walk(top), key=lambda w: -len(w[0])):
            try:
                os.rmdir(dirpath)
            except OSError:
                pass
    left = sorted(_client_parent_dirs() - before)
    assert not left, f"client parent cgroups left behind: {left}"
