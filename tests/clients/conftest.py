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
