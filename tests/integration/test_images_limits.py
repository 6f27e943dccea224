"""What a hostile image archive or registry cannot make berth do: take memory for JSON members
it does not need (load), or unpack an image with more layers than a container can mount
(load and pull)."""

import gzip
import io
import json
import os
import subprocess
import tarfile

import pytest

import registry as R
from conftest import describe
from test_images import layer_entries

MiB = 1 << 20


def load_rss(engine, archive, timeout=300):
    """`berth load -i archive`: (returncode, stdout, stderr, max RSS in MiB) through wait4."""
    argv = engine.argv_for("load", "-i", archive)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.dup2(out_w, 1)
        os.dup2(err_w, 2)
        fd = os.open(os.devnull, os.O_RDONLY)
        os.dup2(fd, 0)
        os.execve(argv[0], argv, engine.env)
    os.close(out_w)
    os.close(err_w)
    out = os.fdopen(out_r, "rb").read()  # small outputs: no deadlock between the two
    err = os.fdopen(err_r, "rb").read()
    _, status, ru = os.wait4(pid, 0)
    return os.waitstatus_to_exitcode(status), out.decode(), err.decode(), ru.ru_maxrss / 1024


def add(t, name, data):
    ti = tarfile.TarInfo(name)
    ti.size, ti.mode, ti.mtime = len(data), 0o644, 1700000000
    t.addfile(ti, io.BytesIO(data))


def busybox_members():
    """The members of a docker-archive of busybox (bb:junk), as (name, bytes)."""
    img = R.Image([R.layer_tar(R.busybox_entries())], cmd=["sh"])
    cfg = img.config_json()
    cfg_name = R.sha256_bytes(cfg).split(":")[1] + ".json"
    layer_name = R.sha256_bytes(img.layers[0]).split(":")[1] + "/layer.tar"
    manifest = json.dumps([{"Config": cfg_name, "RepoTags": ["bb:junk"],
                            "Layers": [layer_name]}]).encode()
    return [(cfg_name, cfg), (layer_name, img.layers[0]), ("manifest.json", manifest)]


def junk_archive(path, n, size, with_image, hex_names=False):
    """A .tar.gz of n JSON members of `size` bytes each (one repeated byte pattern: the whole
    archive stays small), before the image's members when with_image."""
    chunk = b'{"a": [' + b"0," * ((size - 16) // 2)
    body = chunk + b"0]}" + b" " * (size - len(chunk) - 3)
    assert len(body) == size
    with gzip.open(path, "wb", compresslevel=9) as gz:
        with tarfile.open(fileobj=gz, mode="w") as t:
            for i in range(n):
                name = (f"{i:064x}.json" if hex_names else f"junk{i:02d}.json")
                add(t, name, body)
            if with_image:
                for name, data in busybox_members():
                    add(t, name, data)
    return path


def store_is_empty(engine):
    blobs = engine.root / "blobs" / "sha256"
    left = sorted(os.listdir(blobs)) if blobs.is_dir() else []
    return left == [] and layer_entries(engine) == [], (left, layer_entries(engine))


@pytest.mark.parametrize("with_image", [False, True], ids=["junk-only", "junk-and-image"])
def test_load_json_members_bounded(berth, workdir, with_image):
    """Forty 15 MiB *.json members in a ~600 KB .tar.gz: refused at the limit, memory bounded
    (it took 620 MB before), nothing left in the store."""
    a = junk_archive(workdir.path / "junk.tar.gz", 40, 15 * MiB, with_image)
    assert a.stat().st_size < 2 * MiB, a.stat().st_size
    rc, out, err, rss = load_rss(berth, a)
    assert rc == 125, (rc, out, err)
    assert "junk00.json" in err and "limited to 8388608 bytes (8 MiB)" in err, err
    assert rss < 100, f"berth load took {rss:.0f} MiB"
    ok, left = store_is_empty(berth)
    assert ok, left


def test_load_json_members_total(berth, workdir):
    """Members under the per-file limit but 96 MiB together: the total limit names the member
    that crossed it. Hex names (docker's config names) are streamed, not kept in memory."""
    a = junk_archive(workdir.path / "junk.tar.gz", 12, 8 * MiB, True, hex_names=True)
    rc, out, err, rss = load_rss(berth, a)
    assert rc == 125, (rc, out, err)
    assert f"{8:064x}.json: the JSON files of the archive take more than 67108864 bytes " \
        "(64 MiB) together" in err, err
    assert rss < 100, f"berth load took {rss:.0f} MiB"
    ok, left = store_is_empty(berth)
    assert ok, left


def test_load_unused_json_members_dropped(berth, workdir):
    """A few JSON members no image names (under the limits): the load works and leaves only
    what the image needs in the blob store."""
    a = junk_archive(workdir.path / "some.tar.gz", 3, 1 * MiB, True)
    rc, out, err, rss = load_rss(berth, a)
    assert rc == 0 and "Loaded image: bb:junk" in out, (rc, out, err)
    blobs = sorted(os.listdir(berth.root / "blobs" / "sha256"))
    # the config, the layer and the manifest berth wrote for it
    assert len(blobs) == 3, blobs
    p = berth.cmd("run", "--rm", "bb:junk", "echo", "ok")
    assert p.returncode == 0 and p.stdout == "ok\n", describe(p)


def test_load_json_too_many_values(berth, workdir):
    """A manifest.json under the size limit but of a million tiny values: refused before
    jansson builds them (~20 bytes of memory each)."""
    a = workdir.path / "values.tar"
    with tarfile.open(a, "w") as t:
        add(t, "manifest.json", b"[" + b"0," * 1_000_000 + b"0]")
    rc, out, err, rss = load_rss(berth, a)
    assert rc == 125 and "manifest.json: more than 262144 JSON values" in err, (rc, err)
    assert rss < 100, f"berth load took {rss:.0f} MiB"


# --------------------------------------------------------------------------
# more layers than a container can mount


def many_layer_image(n):
    """n one-file layers (uncompressed: cheap to make), busybox's at the bottom."""
    layers = [R.layer_tar(R.busybox_entries())]
    for i in range(1, n):
        layers.append(R.layer_tar([R.Entry(f"l{i:03d}", data=f"{i}\n".encode())]))
    return R.Image(layers, cmd=["sh"], compress=False)


def max_layers():
    """The kernel's overlayfs stack limit where overlayfs takes "lowerdir+" (Linux 6.8)."""
    major, minor = (int(x) for x in os.uname().release.split(".")[:2])
    if (major, minor) < (6, 8):
        pytest.skip("before Linux 6.8 the limit is what fits in mount(2)'s options")
    return 500


def assert_refused(p, n):
    assert p.returncode == 125, describe(p)
    want = (f"the image has {n} layers: a container can mount at most {max_layers()} "
            "(overlayfs' limit on this kernel)")
    assert want in p.stderr, describe(p)


@pytest.mark.parametrize("fmt", ["docker-archive", "oci-archive", "oci-dir"])
def test_load_too_many_layers(berth, workdir, fmt):
    """501 layers: refused before any is unpacked; neither blobs nor layers are left."""
    n = max_layers() + 1
    img = many_layer_image(n)
    w = workdir.path
    if fmt == "docker-archive":
        src = w / "many.tar"
        img.write_docker_archive(src, "many:501")
    elif fmt == "oci-archive":
        src = w / "many-oci.tar"
        img.write_oci_archive(src, "many:501")
    else:
        src = w / "many-oci"
        img.write_oci_dir(src, "many:501")
    p = berth.cmd("load", "-i", src, timeout=300)
    assert_refused(p, n)
    ok, left = store_is_empty(berth)
    assert ok, left


def test_pull_too_many_layers(berth, registry_http, workdir):
    """501 layers in a registry: refused when the manifest arrives, before any blob is
    fetched: the store keeps nothing (no manifest, config or layer blob, no layer)."""
    n = max_layers() + 1
    w = workdir.path
    layout = w / "layout"
    many_layer_image(n).write_oci_dir(layout, "501")
    ref = registry_http.push(layout, "limits/many", "501") + ":501"
    p = berth.cmd("pull", "--tls-verify=false", ref, timeout=300)
    assert_refused(p, n)
    assert f"pull {ref}" in p.stderr, describe(p)
    ok, left = store_is_empty(berth)
    assert ok, left
