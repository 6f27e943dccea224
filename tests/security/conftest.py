"""Fixtures of the security suite.

The integration suite's fixtures and its leak guard are loaded from
tests/integration/conftest.py (one file, not a copy): bundle, make_bundle, oci,
runtime (berth-oci, crun, runc), berth, cid, the autouse `workdir` leak guard.
On top of them:

  attacker      the static attacker program (attacker.c), built once per session
  preload       the LD_PRELOAD payload for the engine (preload.c), built once
  sec_bundle    `bundle` with /attacker in its rootfs and the host directory
                `sec_bundle.out` bound read-write at /out (reports, stop files)
  own_copy      the runtime under test run from a copy of its binary in the
                test's directory (attacks that try to overwrite the binary)
"""

import gc
import importlib.util
import os
import shutil
import subprocess
import sys
import types
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
INTEGRATION = HERE.parent / "integration"


def _integration_conftest():
    """tests/integration/conftest.py as a module.  When pytest already imported it (both
    suites in one run), that instance is reused: one leak guard, one set of tracked processes.
    pytest keeps it only as a plugin (it drops conftest modules from sys.modules), hence the
    search among live objects."""
    path = str(INTEGRATION / "conftest.py")
    for obj in gc.get_objects():
        if isinstance(obj, types.ModuleType) and getattr(obj, "__file__", None) == path:
            return obj
    if str(INTEGRATION) not in sys.path:
        sys.path.insert(0, str(INTEGRATION))  # its own imports (registry, helpers)
    spec = importlib.util.spec_from_file_location("berth_integration_conftest", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


it = _integration_conftest()

# Everything it defines, re-exported: pytest finds the fixtures and the report hook the leak
# guard reads (rep_call) here, and `from conftest import describe` in an integration test
# module still works when both suites run in one session (pytest then names this file
# "conftest" last).
globals().update({k: v for k, v in vars(it).items() if not k.startswith("__")})

sys.path.insert(0, str(HERE))
import sec  # noqa: E402

sec.it = it


def _cc(out, *args):
    cc = shutil.which("gcc") or shutil.which("cc")
    if not cc:
        pytest.fail("no C compiler (gcc is in the Makefile's BUILD_DEPS)", pytrace=False)
    p = subprocess.run([cc, "-O2", "-Wall", "-Wextra", "-Werror", *args, "-o", str(out)],
                       capture_output=True, text=True)
    if p.returncode != 0:
        pytest.fail(f"building {out.name} failed:\n{p.stderr}", pytrace=False)
    return out


@pytest.fixture(scope="session")
def attacker(tmp_path_factory):
    """Static, so it runs in a busybox rootfs and on the host alike.  Built by the test
    (not meson): an ASan build dir cannot link static programs."""
    d = tmp_path_factory.mktemp("attacker")
    return _cc(d / "attacker", "-static", str(HERE / "attacker.c"))


@pytest.fixture(scope="session")
def preload(tmp_path_factory):
    d = tmp_path_factory.mktemp("preload")
    return _cc(d / "preload.so", "-shared", "-fPIC", str(HERE / "preload.c"))


@pytest.fixture
def cid():
    """A container id unique on this machine, "sec-PID-N" (the leak guard knows the -PID-)."""
    return it.new_id("sec")


@pytest.fixture
def sec_bundle(bundle, attacker, workdir):
    shutil.copy2(attacker, bundle.rootfs / "attacker")
    out = workdir.path / "out"
    out.mkdir()
    os.chmod(out, 0o777)
    bundle.config["mounts"].append({"destination": "/out", "type": "bind",
                                    "source": str(out), "options": ["rbind", "rw"]})
    bundle.out = out
    return bundle


@pytest.fixture
def own_copy(runtime, workdir):
    """`runtime`, run from a copy of its binary (restored for the leak guard's cleanup, which
    must not depend on a binary the attack may have damaged)."""
    copy = sec.BinaryCopy(runtime, workdir)
    yield copy
    copy.restore()
