"""More of the image store (issue 4's test gaps): 130 layers, zstd layers, xattrs and file
capabilities, multi-platform indexes, docker schema 2 manifests, import from stdin, a blob
missing from the registry, and $BERTH_CONFIG's insecure-registries.

As in test_images.py: every test has its own --root, the registries are the session's, and
berth's merged view of an image is an overlay of its layer dirs mounted read-only by the test.
"""

import json
import os
import platform
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

import registry as R
from conftest import MKIMAGE, describe, require_tools
from test_images import assert_pulled, merged_tree, overlay_view, pull, push

TAG = "1"
MT_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_DOCKER_V2 = "application/vnd.docker.distribution.manifest.v2+json"


# --------------------------------------------------------------------------
# helpers


def mkimage(*args):
    if not os.access(MKIMAGE, os.X_OK):
        pytest.skip(f"{MKIMAGE} is missing")
    R.run([MKIMAGE, *args])


def busybox_dir(d, applets=("sh", "cat", "ls", "echo", "test")):
    """A tiny rootfs dir: /bin/busybox and a symlink per applet."""
    busybox = shutil.which("busybox") or "/bin/busybox"
    (d / "bin").mkdir(parents=True, exist_ok=True)
    shutil.copy(busybox, d / "bin" / "busybox")
    for a in applets:
        os.symlink("busybox", d / "bin" / a)
    return d


def write(path, data, mode=0o644):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    os.chmod(path, mode)


def oci_config(layout, tag):
    """The image config (dict) of TAG in an OCI layout dir with a plain manifest."""
    index = json.loads((layout / "index.json").read_text())
    desc = next(m for m in index["manifests"]
                if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag)
    blob = lambda d: (layout / "blobs" / "sha256" / d.split(":")[1]).read_bytes()  # noqa: E731
    manifest = json.loads(blob(desc["digest"]))
    return json.loads(blob(manifest["config"]["digest"])), manifest


def oci_dir_to_archive(layout, out):
    R.run(["tar", "-C", layout, "-cf", out, "."])


def skopeo_raw(reg, ref):
    """skopeo inspect --raw docker://ref: (bytes, dict)."""
    p = R.run(["skopeo", "inspect", "--raw", *_tls_flags(reg), f"docker://{ref}"])
    return p.stdout.encode(), json.loads(p.stdout)


def _tls_flags(reg):
    return ["--tls-verify=false"] if not reg.tls else ["--cert-dir", reg.cert_dir]


def image_ids(berth):
    return berth.cmd("images", "-a", "-q", "--no-trunc").stdout.split()


def image_records(berth):
    f = berth.root / "images.json"
    return json.loads(f.read_text()).get("images", []) if f.exists() else []


def host_arch():
    m = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(m, m)


def run_rm(berth, image, *argv, **kw):
    return berth.cmd("run", "--rm", image, *argv, timeout=kw.pop("timeout", 120), **kw)


# --------------------------------------------------------------------------
# 1. 130 layers


N_LAYERS = 130
OVERWRITER, OVERWRITTEN = 120, 5  # layer 120 rewrites /data/f005
DELETER, DELETED = 125, 7         # layer 125 deletes /data/f007


def _many_layer_dirs(w):
    """130 layer dirs: busybox + /data/f000 at the bottom, then one /data/fNNN each; every
    layer rewrites /data/top; the two late layers above overwrite and delete early files."""
    dirs = []
    for i in range(N_LAYERS):
        d = w / "many" / f"{i:03d}"
        if i == 0:
            busybox_dir(d)
        write(d / "data" / f"f{i:03d}", f"{i}\n")
        write(d / "data" / "top", f"top {i}\n")
        if i == OVERWRITER:
            write(d / "data" / f"f{OVERWRITTEN:03d}", "overwritten\n")
        if i == DELETER:
            write(d / "data" / f".wh.f{DELETED:03d}", b"")
        dirs.append(d)
    return dirs


def _expected_many():
    want = {f"/data/f{i:03d}": f"{i}" for i in range(N_LAYERS) if i != DELETED}
    want[f"/data/f{OVERWRITTEN:03d}"] = "overwritten"
    want["/data/top"] = f"top {N_LAYERS - 1}"
    return want


def _check_many(berth, image, diff_ids):
    info = berth.image_inspect(image)
    assert info["RootFS"]["Layers"] == diff_ids, info["RootFS"]
    assert len(info["Layers"]) == N_LAYERS, len(info["Layers"])
    p = run_rm(berth, image, "sh", "-c", 'for f in /data/*; do echo "$f=$(cat $f)"; done')
    assert p.returncode == 0, describe(p)
    got = dict(line.split("=", 1) for line in p.stdout.splitlines())
    want = _expected_many()
    missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
    assert not missing and not extra, f"missing {missing}, extra {extra}\n{describe(p)}"
    wrong = {k: (got[k], v) for k, v in want.items() if got[k] != v}
    assert not wrong, f"(got, want): {wrong}"
    p = run_rm(berth, image, "ls", f"/data/f{DELETED:03d}")
    assert p.returncode != 0 and "No such file" in p.stderr, describe(p)
    assert berth.containers() == []


def test_130_layers_load_and_pull(berth, make_engine, registry_http, workdir):
    w = workdir.path
    dirs = _many_layer_dirs(w)
    layer_args = [a for d in dirs for a in ("--layer", d)]
    mkimage("layers", w / "many.tar", "--name", "many:130", *layer_args)
    mkimage("layers", w / "many-oci", "--format", "oci-dir", "--name", "many:130", *layer_args)
    cfg, _ = oci_config(w / "many-oci", "130")
    diff_ids = cfg["rootfs"]["diff_ids"]
    assert len(diff_ids) == N_LAYERS

    p = berth.cmd("load", "-i", w / "many.tar", timeout=300)
    assert p.returncode == 0 and "Loaded image: many:130" in p.stdout, describe(p)
    _check_many(berth, "many:130", diff_ids)

    ref = registry_http.push(w / "many-oci", "test/many", "130") + ":130"
    puller = make_engine("pull")
    p = pull(puller, ref, "--tls-verify=false", timeout=600)
    assert_pulled(p, ref)
    _check_many(puller, ref, diff_ids)


# --------------------------------------------------------------------------
# 2. zstd layers


def _zstd_layer_dirs(w):
    l1, l2 = w / "z1", w / "z2"
    write(l1 / "etc" / "a", "a from layer 1\n")
    write(l1 / "etc" / "b", "b, deleted by layer 2\n")
    write(l1 / "bin" / "tool", "#!/bin/sh\necho tool\n" * 50, 0o755)
    write(l1 / "lib" / "libz.so.1", os.urandom(300_000), 0o755)
    os.symlink("libz.so.1", l1 / "lib" / "libz.so")
    write(l1 / "data" / "old", "replaced by an opaque dir\n")
    os.link(l1 / "bin" / "tool", l1 / "bin" / "tool-link")
    write(l2 / "etc" / "a", "a from layer 2\n", 0o600)
    write(l2 / "etc" / ".wh.b", b"")
    write(l2 / "data" / ".wh..wh..opq", b"")
    write(l2 / "data" / "new", "new data\n")
    return [l1, l2]


def _umoci_tree(layout, tag, dest):
    require_tools("umoci")
    return R.tree_of(R.umoci_unpack(layout, tag, dest))


def test_zstd_layers_load_and_pull(berth, make_engine, registry_http, workdir):
    require_tools("zstd", "skopeo")
    w = workdir.path
    layers = [a for d in _zstd_layer_dirs(w) for a in ("--layer", d)]
    mkimage("layers", w / "zst-oci", "--format", "oci-dir", "--compress", "zstd",
            "--name", "zst:1", *layers)
    mkimage("layers", w / "gz-oci", "--format", "oci-dir", "--compress", "gzip",
            "--name", "gz:1", *layers)
    zcfg, zman = oci_config(w / "zst-oci", "1")
    assert all(d["mediaType"].endswith("+zstd") for d in zman["layers"]), zman

    # the reference: umoci's unpack of the zstd image, or (umoci without zstd) of its gzip
    # twin, whose layer tars are the same bytes (same diff ids)
    assert oci_config(w / "gz-oci", "1")[0]["rootfs"] == zcfg["rootfs"]
    p = R.run(["umoci", "unpack", "--image", f"{w / 'zst-oci'}:1", w / "ref-zst"], check=False)
    if p.returncode == 0:
        ref_tree = R.tree_of(w / "ref-zst" / "rootfs")
    else:
        print(f"umoci cannot unpack zstd ({p.stderr.strip()[-200:]}): comparing with gzip's")
        ref_tree = _umoci_tree(w / "gz-oci", "1", w / "ref-gz")
    assert "/etc/b" not in ref_tree[0] and "/data/old" not in ref_tree[0], ref_tree[0]

    oci_dir_to_archive(w / "zst-oci", w / "zst.tar")
    p = berth.cmd("load", "-i", w / "zst.tar")
    assert p.returncode == 0 and "Loaded image" in p.stdout, describe(p)
    assert berth.image_inspect("zst:1")["RootFS"]["Layers"] == zcfg["rootfs"]["diff_ids"]
    diff = R.tree_diff(merged_tree(berth, "zst:1", w / "m-load"), ref_tree, ("berth", "umoci"))
    assert not diff, "loaded zstd image differs:\n  " + "\n  ".join(diff[:50])

    ref = registry_http.push(w / "zst-oci", "test/zstd", "1") + ":1"
    _, man = skopeo_raw(registry_http, ref)
    types = [d["mediaType"] for d in man["layers"]]
    assert types and all(t == "application/vnd.oci.image.layer.v1.tar+zstd" for t in types), man

    puller = make_engine("zpull")
    p = pull(puller, ref, "--tls-verify=false")
    assert_pulled(p, ref)
    assert puller.image_inspect(ref)["RootFS"]["Layers"] == zcfg["rootfs"]["diff_ids"]
    diff = R.tree_diff(merged_tree(puller, ref, w / "m-pull"), ref_tree, ("berth", "umoci"))
    assert not diff, "pulled zstd image differs:\n  " + "\n  ".join(diff[:50])


# --------------------------------------------------------------------------
# 3. xattrs and file capabilities


# struct vfs_cap_data, VFS_CAP_REVISION_2 | VFS_CAP_FLAGS_EFFECTIVE, permitted =
# CAP_NET_BIND_SERVICE (10): what `setcap cap_net_bind_service+ep FILE` writes
CAP_NET_BIND_EP = struct.pack("<IIIII", 0x02000001, 1 << 10, 0, 0, 0)


def _xattr_image():
    l1 = [R.Entry("bin", "dir"),
          R.Entry("bin/bind-low", data=b"\x7fELF pretend\n", mode=0o755,
                  xattrs={"security.capability": CAP_NET_BIND_EP,
                          "user.origin": b"layer one"}),
          R.Entry("etc", "dir", xattrs={"user.dirattr": b"on a dir"}),
          R.Entry("etc/conf", data=b"v1\n", xattrs={"user.version": b"1"}),
          R.Entry("etc/plain", data=b"no xattrs\n")]
    l2 = [R.Entry("etc", "dir", xattrs={"user.dirattr": b"on a dir"}),
          R.Entry("etc/conf", data=b"v2\n", xattrs={"user.version": b"2",
                                                     "user.bin": b"\x00\x01\xff\xfe"})]
    return R.Image([R.layer_tar(l1), R.layer_tar(l2)], cmd=["/bin/bind-low"])


def _xattrs(path):
    return {n: os.getxattr(path, n, follow_symlinks=False)
            for n in os.listxattr(path, follow_symlinks=False)}


def _check_xattrs(engine, image, mnt):
    with overlay_view(engine.layer_dirs(image), mnt) as m:
        got = {p: _xattrs(m / p) for p in ("bin/bind-low", "etc", "etc/conf", "etc/plain")}
        getcap = shutil.which("getcap")
        caps = R.run([getcap, m / "bin/bind-low"]).stdout if getcap else None
    assert got["bin/bind-low"].get("security.capability") == CAP_NET_BIND_EP, got
    assert got["bin/bind-low"].get("user.origin") == b"layer one", got
    assert got["etc"].get("user.dirattr") == b"on a dir", got
    # the top layer's file wins, xattrs and all
    assert got["etc/conf"].get("user.version") == b"2", got
    assert got["etc/conf"].get("user.bin") == b"\x00\x01\xff\xfe", got
    assert not [n for n in got["etc/plain"] if n.startswith(("user.", "security.capability"))], got
    if caps is not None:
        assert "cap_net_bind_service=ep" in caps, caps


def test_xattrs_and_caps_survive_load_and_pull(berth, make_engine, registry_http, workdir):
    w = workdir.path
    img = _xattr_image()
    img.write_docker_archive(w / "x.tar", "xattrs:1")
    p = berth.cmd("load", "-i", w / "x.tar")
    assert p.returncode == 0 and "Loaded image: xattrs:1" in p.stdout, describe(p)
    _check_xattrs(berth, "xattrs:1", w / "m-load")

    ref = push(registry_http, w, img, "test/xattrs")
    puller = make_engine("xpull")
    p = pull(puller, ref, "--tls-verify=false")
    assert_pulled(p, ref)
    _check_xattrs(puller, ref, w / "m-pull")


# --------------------------------------------------------------------------
# 4. --platform


def _platform_images():
    """(host image, other image): one file /arch naming the architecture."""
    host = host_arch()
    other = "arm64" if host != "arm64" else "amd64"
    imgs = {}
    for arch in (host, other):
        imgs[arch] = R.Image([R.layer_tar([R.Entry("arch", data=f"{arch}\n".encode())])],
                             cmd=["/arch"], architecture=arch)
    return imgs[host], imgs[other]


def _arch_file(engine, image):
    return (engine.layer_dirs(image)[-1] / "arch").read_text()


@pytest.mark.parametrize("fmt", ["oci", "v2s2"])
def test_platform_index(berth, make_engine, registry_http, workdir, fmt):
    require_tools("skopeo")
    reg, w = registry_http, workdir.path
    host, other = _platform_images()
    # the other platform first: taking the index's first entry is wrong
    R.write_oci_index(w / "multi", [other, host], tag=TAG)
    repo = f"{reg.host}/test/multi-arch-{fmt}"
    fmt_flags = ["--format", "v2s2"] if fmt == "v2s2" else []
    R.run(["skopeo", "copy", "--quiet", "--all", *fmt_flags, *reg.skopeo_dest_flags(),
           f"oci:{w / 'multi'}:{TAG}", f"docker://{repo}:{TAG}"])
    ref = f"{repo}:{TAG}"
    _, index = skopeo_raw(reg, ref)
    assert len(index.get("manifests", [])) == 2, index
    if fmt == "v2s2":
        assert index["mediaType"] == "application/vnd.docker.distribution.manifest.list.v2+json"

    p = pull(berth, ref, "--tls-verify=false")
    assert_pulled(p, ref)
    info = berth.image_inspect(ref)
    assert info["Architecture"] == host.architecture and info["Os"] == "linux", info
    assert info["Id"] == R.sha256_bytes(host.config_json()), info
    assert _arch_file(berth, ref) == f"{host.architecture}\n"

    p = pull(berth, ref, "--tls-verify=false", "--platform", f"linux/{other.architecture}")
    assert_pulled(p, ref)
    info = berth.image_inspect(ref)
    assert info["Architecture"] == other.architecture, info
    assert info["Id"] == R.sha256_bytes(other.config_json()), info
    assert _arch_file(berth, ref) == f"{other.architecture}\n"

    # a platform the index does not have: an error naming what it has, and nothing stored
    fresh = make_engine(f"absent-{fmt}")
    p = pull(fresh, ref, "--tls-verify=false", "--platform", "linux/s390x", timeout=60)
    assert p.returncode == 125, describe(p)
    err = p.stderr
    assert err.startswith("berth: ") and "linux/s390x" in err, describe(p)
    for arch in (host.architecture, other.architecture):
        assert f"linux/{arch}" in err, f"the error does not list linux/{arch}\n{describe(p)}"
    assert image_ids(fresh) == [] and image_records(fresh) == [], image_records(fresh)


def test_platform_variants(berth, make_engine, registry_http, workdir):
    """containerd's matching: arm64 is arm64/v8, a bare arm is arm/v7; a variant asked for
    picks its entry, and a malformed --platform is refused before any image is stored."""
    require_tools("skopeo")
    reg, w = registry_http, workdir.path
    imgs = [R.Image([R.layer_tar([R.Entry("arch", data=f"{a}/{v}\n".encode())])], cmd=["/arch"],
                    architecture=a, variant=v)
            for a, v in (("arm", "v6"), ("arm", "v7"), ("arm64", "v8"), ("amd64", None))]
    R.write_oci_index(w / "variants", imgs, tag=TAG)
    ref = f"{reg.host}/test/variants:{TAG}"
    R.run(["skopeo", "copy", "--quiet", "--all", *reg.skopeo_dest_flags(),
           f"oci:{w / 'variants'}:{TAG}", f"docker://{ref}"])
    for plat, want in (("linux/arm64", "arm64/v8"), ("linux/arm64/v8", "arm64/v8"),
                       ("linux/arm", "arm/v7"), ("linux/arm/v6", "arm/v6"),
                       ("linux/arm/v7", "arm/v7")):
        e = make_engine("v-" + plat.replace("/", "-"))
        p = pull(e, ref, "--tls-verify=false", "--platform", plat)
        assert_pulled(p, ref)
        assert _arch_file(e, ref) == want + "\n", plat
        info = e.image_inspect(ref)
        assert info["Architecture"] == want.split("/")[0], (plat, info)
    for bad in ("linux", "linux/arm64/", ""):
        e = make_engine("bad")
        p = pull(e, ref, "--tls-verify=false", "--platform", bad, timeout=60)
        assert p.returncode == 125 and f'"{bad}"' in p.stderr, describe(p)
        assert image_ids(e) == [] and image_records(e) == []


# --------------------------------------------------------------------------
# 5. docker schema 2


def test_docker_schema2_manifest(berth, make_engine, registry_http, workdir):
    require_tools("skopeo")
    reg, w = registry_http, workdir.path
    img = R.multi_layer_image()
    layout = w / "layout"
    img.write_oci_dir(layout, TAG)
    oci_ref = reg.push(layout, "test/s2-oci", TAG) + f":{TAG}"
    v2_ref = f"{reg.host}/test/s2-docker:{TAG}"
    R.run(["skopeo", "copy", "--quiet", "--format", "v2s2", *reg.skopeo_dest_flags(),
           f"oci:{layout}:{TAG}", f"docker://{v2_ref}"])
    raw, man = skopeo_raw(reg, v2_ref)
    assert man["mediaType"] == MT_DOCKER_V2, man
    assert all(d["mediaType"] == "application/vnd.docker.image.rootfs.diff.tar.gzip"
               for d in man["layers"]), man
    assert skopeo_raw(reg, oci_ref)[1]["mediaType"] == MT_OCI_MANIFEST

    # each in a store of its own: the v2s2 pull must not lean on the OCI one's layers
    v2 = make_engine("v2s2")
    assert_pulled(pull(berth, oci_ref, "--tls-verify=false"), oci_ref)
    assert_pulled(pull(v2, v2_ref, "--tls-verify=false"), v2_ref)
    a, b = berth.image_inspect(oci_ref), v2.image_inspect(v2_ref)
    assert a["RootFS"]["Layers"] == b["RootFS"]["Layers"] == img.diff_ids(), (a, b)
    # skopeo converts the manifest only: the same config, so the same image
    assert a["Id"] == b["Id"] == R.sha256_bytes(img.config_json()), (a, b)
    assert a["Layers"] == b["Layers"] and a["Config"] == b["Config"], (a, b)
    assert b["Manifest"] == R.sha256_bytes(raw), b
    assert b["RepoDigests"] == [f"{reg.host}/test/s2-docker@{R.sha256_bytes(raw)}"], b
    ta = merged_tree(berth, oci_ref, w / "m-oci")
    tb = merged_tree(v2, v2_ref, w / "m-v2")
    diff = R.tree_diff(ta, tb, ("oci", "v2s2"))
    assert not diff, "\n  ".join(diff[:50])

    # both names in one store: one image, both repo digests
    assert_pulled(pull(berth, v2_ref, "--tls-verify=false"), v2_ref)
    c = berth.image_inspect(v2_ref)
    assert c["Id"] == a["Id"], c
    assert f"{reg.host}/test/s2-docker@{R.sha256_bytes(raw)}" in c["RepoDigests"], c


# --------------------------------------------------------------------------
# 6. import from stdin


@pytest.mark.parametrize("compress", ["gzip", "zstd", "none"])
def test_import_stdin(berth, workdir, compress):
    if compress == "zstd":
        require_tools("zstd")
    w = workdir.path
    src = busybox_dir(w / "rootfs")
    write(src / "hello", f"#!/bin/sh\necho hello from {compress}\n", 0o755)
    out = w / "rootfs.tar"
    mkimage("layer-tar", out, "--from", src, "--compress", compress)
    data = out.read_bytes()
    magic = {"gzip": b"\x1f\x8b", "zstd": b"\x28\xb5\x2f\xfd"}.get(compress)
    assert magic is None or data.startswith(magic)
    name = f"imported/{compress}:1"
    p = berth.cmd("import", "-", name, input=data, timeout=120)
    assert p.returncode == 0, describe(p)
    image_id = p.stdout.strip()
    assert image_id.startswith("sha256:") and len(image_id) == 71, describe(p)
    assert berth.image_inspect(name)["Id"] == image_id
    p = run_rm(berth, name, "/hello")
    assert p.returncode == 0 and p.stdout == f"hello from {compress}\n", describe(p)


@pytest.mark.parametrize("compress", ["xz", "bzip2"])
def test_import_stdin_xz_bzip2(berth, workdir, compress):
    """docker's import takes xz and bzip2 too: berth either does, or refuses them naming the
    compression (never a diff id mismatch about a blob it made itself)."""
    require_tools(compress)
    w = workdir.path
    src = busybox_dir(w / "rootfs")
    write(src / "hello", "#!/bin/sh\necho hello\n", 0o755)
    mkimage("layer-tar", w / "rootfs.tar", "--from", src, "--compress", "none")
    data = subprocess.run([compress, "-c", str(w / "rootfs.tar")], check=True,
                          capture_output=True).stdout
    p = berth.cmd("import", "-", "imported/x:1", input=data, timeout=120)
    if p.returncode == 0:
        p = run_rm(berth, "imported/x:1", "/hello")
        assert p.returncode == 0 and p.stdout == "hello\n", describe(p)
    else:
        assert p.returncode == 125 and compress in p.stderr.lower(), describe(p)
        assert "mismatch" not in p.stderr, describe(p)
        assert image_ids(berth) == []


# --------------------------------------------------------------------------
# 7. a blob missing from the registry


@pytest.mark.parametrize("which", ["layer", "config", "corrupt-layer"])
def test_pull_missing_blob(berth, registry_http, workdir, which):
    reg, w = registry_http, workdir.path
    # random contents: no other test's image shares these blobs
    img = R.Image([R.layer_tar([R.Entry("a", data=os.urandom(20_000))]),
                   R.layer_tar([R.Entry("b", data=os.urandom(20_000))])], cmd=["/a"])
    ref = push(reg, w, img, f"test/missing-{which}")
    cfg, man = img.manifest()
    digest = (R.sha256_bytes(cfg) if which == "config"
              else json.loads(man)["layers"][1]["digest"])
    blob = reg.blob_path(digest)
    assert blob.exists(), blob
    if which == "corrupt-layer":  # served whole, the same size, one byte changed
        data = bytearray(blob.read_bytes())
        data[len(data) // 2] ^= 0xFF
        blob.write_bytes(bytes(data))
    else:
        blob.unlink()

    p = pull(berth, ref, "--tls-verify=false", timeout=120)
    assert p.returncode == 125, describe(p)
    assert p.stderr.startswith("berth: "), describe(p)
    assert digest in p.stderr or digest.split(":")[1] in p.stderr, \
        f"the error does not name {digest}\n{describe(p)}"
    if which == "corrupt-layer":  # said once, with what came instead
        assert p.stderr.count(digest) == 1 and "do not match the digest (got sha256:" in p.stderr, \
            describe(p)
    assert image_ids(berth) == [], image_ids(berth)
    assert image_records(berth) == [], image_records(berth)
    assert not list(berth.root.glob("layers/.tmp-*"))
    partial = berth.root / "downloads" / f"{digest.split(':')[1]}.partial"
    if which == "corrupt-layer":  # a download that proved corrupt is not kept to be resumed
        assert not partial.exists()
    elif partial.exists():  # the 404's body is not kept as the blob's first bytes
        assert partial.stat().st_size == 0, partial.read_bytes()[:200]


# --------------------------------------------------------------------------
# $BERTH_CONFIG: insecure-registries from another config file


def test_berth_config_insecure_registries(berth, registry_http, workdir):
    reg, w = registry_http, workdir.path
    img = R.multi_layer_image(busybox=True)
    ref = push(reg, w, img, "test/berth-config")
    conf = w / "config.json"
    conf.write_text(json.dumps({"insecure-registries": [reg.host]}))
    env = {"BERTH_CONFIG": str(conf)}

    # not configured (the default file does not name the registry): refused
    if not Path("/etc/berth/config.json").exists():
        p = pull(berth, ref, timeout=60, env={"BERTH_CONFIG": ""})
        assert p.returncode == 125 and reg.host in p.stderr, describe(p)

    p = pull(berth, ref, env=env)
    assert_pulled(p, ref)
    berth.ok("rmi", ref)

    # run's implicit pull reads it too
    p = berth.cmd("run", "--rm", ref, "cat", "/etc/keep", env=env, timeout=300)
    assert p.returncode == 0, describe(p)
    assert p.stdout == "kept, changed by layer 2\n", describe(p)
    assert "Unable to find image" in p.stderr, describe(p)
    berth.ok("rmi", ref)

    # a config naming another registry: refused again
    other = w / "other.json"
    other.write_text(json.dumps({"insecure-registries": ["127.0.0.1:1"]}))
    p = pull(berth, ref, timeout=60, env={"BERTH_CONFIG": str(other)})
    assert p.returncode == 125 and reg.host in p.stderr, describe(p)
    p = berth.cmd("run", "--rm", ref, "true", env={"BERTH_CONFIG": str(other)}, timeout=60)
    assert p.returncode == 125, describe(p)

    # a broken config is an error naming the file (so the file is really read)
    bad = w / "bad.json"
    bad.write_text('{"insecure-registries": [')
    p = pull(berth, ref, timeout=60, env={"BERTH_CONFIG": str(bad)})
    assert p.returncode == 125 and str(bad) in p.stderr, describe(p)
    assert image_ids(berth) == []
