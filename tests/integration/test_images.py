"""The image store: pulls from a local docker-registry (http, TLS, basic auth), the merged
rootfs against skopeo + umoci's, layers shared between images, an interrupted pull, concurrent
pulls, hostile layers and corrupt blobs.

Every test has its own --root; the registries are shared by the session (docker-registry on
127.0.0.1:5200-5299).  berth's merged view of an image is an overlay of its layer dirs
(ROOT/layers/<hex>/diff, chain ids from `berth image inspect`), mounted read-only by the test.
"""

import base64
import glob
import json
import os
import resource
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

import registry as R
from conftest import describe, require_tools

TAG = "1"


# --------------------------------------------------------------------------
# helpers


@contextmanager
def overlay_view(lowers, mnt):
    """The merged, read-only view of layer dirs (bottom first) at mnt."""
    mnt = Path(mnt)
    mnt.mkdir(parents=True, exist_ok=True)
    if len(lowers) == 1:
        R.run(["mount", "--bind", "-o", "ro", lowers[0], mnt])
    else:
        opts = "ro,lowerdir=" + ":".join(str(d) for d in reversed(lowers))
        R.run(["mount", "-t", "overlay", "overlay", "-o", opts, mnt])
    try:
        yield mnt
    finally:
        subprocess.run(["umount", str(mnt)], check=True)


def merged_tree(berth, image, mnt):
    dirs = berth.layer_dirs(image)
    for d in dirs:
        assert d.is_dir(), f"layer dir {d} of {image} is missing"
    with overlay_view(dirs, mnt) as m:
        return R.tree_of(m)


def reference_tree(reg, ref, work):
    """skopeo copy docker://ref oci:X + umoci unpack: the tree every other tool makes."""
    require_tools("umoci")
    reg.pull_oci(ref, work / "ref-oci", tag="ref")
    return R.tree_of(R.umoci_unpack(work / "ref-oci", "ref", work / "ref-bundle"))


def assert_same_tree(berth, image, reg, ref, work):
    mine = merged_tree(berth, image, work / "merged")
    ref_tree = reference_tree(reg, ref, work)
    diff = R.tree_diff(mine, ref_tree, ("berth", "umoci"))
    assert not diff, "berth's rootfs differs from umoci's:\n  " + "\n  ".join(diff[:50])
    return mine


def push(reg, work, image, repo, tag=TAG):
    layout = work / f"layout-{repo.replace('/', '-')}"
    image.write_oci_dir(layout, tag)
    return reg.push(layout, repo, tag) + f":{tag}"


def layer_entries(berth):
    """Names in ROOT/layers other than lock files."""
    d = berth.root / "layers"
    return sorted(n for n in os.listdir(d) if not n.endswith(".lock")) if d.is_dir() else []


def store_bytes(path):
    """Bytes of the regular files under path, each inode once (du --apparent-size)."""
    seen, total = set(), 0
    for dirpath, dirnames, filenames in os.walk(path):
        for n in filenames + dirnames:
            st = os.lstat(os.path.join(dirpath, n))
            if (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                if not os.path.isdir(os.path.join(dirpath, n)):
                    total += st.st_size
    return total


def pull(berth, ref, *flags, **kw):
    return berth.cmd("pull", *flags, ref, timeout=kw.pop("timeout", 300), **kw)


def assert_pulled(p, ref):
    assert p.returncode == 0, describe(p)
    lines = p.stdout.strip().splitlines()
    assert lines and lines[-1] == ref, f"last line is not the name {ref!r}\n{describe(p)}"
    assert any(line.startswith("Digest: sha256:") for line in lines), describe(p)
    assert any(line.startswith("Status: ") and ref in line for line in lines), describe(p)


def private_etc_wrap(work, config):
    """argv prefix running the command in a private mount namespace where /etc is an overlay
    whose /etc/berth/config.json is `config`: the host's /etc is never written."""
    upper, wd = work / "etc-upper", work / "etc-work"
    (upper / "berth").mkdir(parents=True, exist_ok=True)
    wd.mkdir(exist_ok=True)
    (upper / "berth" / "config.json").write_text(json.dumps(config))
    return ["unshare", "-m", "--propagation", "private", "sh", "-c",
            f'mount -t overlay overlay -o lowerdir=/etc,upperdir={upper},workdir={wd} /etc'
            ' && exec "$@"', "sh"]


# --------------------------------------------------------------------------
# pulls


def test_pull_http_tls_verify_false(berth, registry_http, workdir):
    w = workdir.path
    ref = push(registry_http, w, R.multi_layer_image(), "test/multi")

    p = pull(berth, ref, "--tls-verify=false")
    assert_pulled(p, ref)
    for line in p.stdout.splitlines()[:-1]:
        if ": " in line and not line.startswith(("Digest", "Status")):
            hexpart = line.split(":", 1)[0]
            assert len(hexpart) == 12, f"progress line not `<12-hex>: ...`: {line!r}"

    imgs = berth.json_lines("images", "--format", "json")
    mine = [i for i in imgs if i["Repository"] == ref.rsplit(":", 1)[0] and i["Tag"] == TAG]
    assert len(mine) == 1, imgs
    assert mine[0]["ID"].startswith("sha256:") and mine[0]["SizeBytes"] > 0, mine

    info = berth.image_inspect(ref)
    assert len(info["Layers"]) == 3 and len(info["RootFS"]["Layers"]) == 3, info
    assert info["Config"]["Cmd"] == ["/opt/app/main"], info
    assert any(d.startswith(ref.rsplit(":", 1)[0] + "@sha256:") for d in info["RepoDigests"]), info

    tree, _ = assert_same_tree(berth, ref, registry_http, ref, w)
    assert "/etc/gone" not in tree and "/data/old1" not in tree and "/data/sub" not in tree
    assert tree["/usr/bin/su-ish"]["mode"] == oct(0o4755)
    assert tree["/home/user"]["uid"] == 1000 and tree["/home/user"]["mode"] == oct(0o700)

    # pulled again: nothing to do
    p = pull(berth, ref, "--tls-verify=false")
    assert p.returncode == 0, describe(p)
    assert "Image is up to date" in p.stdout, describe(p)

    # -q: only the name
    p = pull(berth, ref, "-q", "--tls-verify=false")
    assert p.returncode == 0 and p.stdout.strip() == ref, describe(p)


def test_pull_http_refused_without_insecure(berth, registry_http, workdir):
    ref = push(registry_http, workdir.path, R.multi_layer_image(), "test/plain")
    p = pull(berth, ref, timeout=60)
    assert p.returncode == 125, describe(p)
    assert registry_http.host in p.stderr and p.stderr.startswith("berth: "), describe(p)
    assert berth.cmd("images", "-q").stdout.strip() == ""


def test_pull_http_insecure_registries_config(berth, registry_http, workdir):
    require_tools("unshare")
    w = workdir.path
    ref = push(registry_http, w, R.multi_layer_image(), "test/conf")
    wrap = private_etc_wrap(w, {"insecure-registries": [registry_http.host]})
    p = pull(berth, ref, wrap=wrap)
    assert_pulled(p, ref)
    assert len(berth.image_inspect(ref)["Layers"]) == 3
    # the config names another registry: refused again
    other_wrap = private_etc_wrap(w / "other", {"insecure-registries": ["127.0.0.1:1"]})
    p = berth.cmd("rmi", ref)
    assert p.returncode == 0, describe(p)
    p = pull(berth, ref, wrap=other_wrap, timeout=60)
    assert p.returncode == 125, describe(p)


def test_pull_tls_basic_auth(berth, registry_tls, workdir):
    reg, w = registry_tls, workdir.path
    ref = push(reg, w, R.multi_layer_image(), "test/multi")
    certs = str(reg.cert_dir)
    authfile = w / "auth.json"

    # self-signed: refused without the CA, saying so
    p = pull(berth, ref, "--authfile", authfile, timeout=60)
    assert p.returncode == 125, describe(p)
    assert "certificate" in p.stderr.lower(), describe(p)

    # no credentials: a 401 that says to log in
    p = pull(berth, ref, "--cert-dir", certs, "--authfile", authfile, timeout=60)
    assert p.returncode == 125, describe(p)
    err = p.stderr.lower()
    assert ("401" in err or "unauthorized" in err) and "login" in err, describe(p)
    assert reg.host in p.stderr, describe(p)

    # wrong password: refused, nothing stored
    p = berth.cmd("login", "-u", reg.user, "-p", "wrong", "--cert-dir", certs,
                  "--authfile", authfile, reg.host)
    assert p.returncode == 125, describe(p)
    assert "unauthorized" in p.stderr.lower() or "incorrect" in p.stderr.lower(), describe(p)
    if authfile.exists():
        assert reg.host not in json.loads(authfile.read_text()).get("auths", {})

    p = berth.cmd("login", "-u", reg.user, "--password-stdin", "--cert-dir", certs,
                  "--authfile", authfile, reg.host, input=reg.password + "\n")
    assert p.returncode == 0, describe(p)
    assert "Login Succeeded" in p.stdout, describe(p)
    assert (os.stat(authfile).st_mode & 0o777) == 0o600
    auths = json.loads(authfile.read_text())["auths"]
    assert base64.b64decode(auths[reg.host]["auth"]).decode() == f"{reg.user}:{reg.password}"

    p = pull(berth, ref, "--cert-dir", certs, "--authfile", authfile)
    assert_pulled(p, ref)
    assert_same_tree(berth, ref, reg, ref, w)

    p = berth.cmd("logout", "--authfile", authfile, reg.host)
    assert p.returncode == 0, describe(p)
    assert f"Removing login credentials for {reg.host}" in p.stdout, describe(p)
    assert reg.host not in json.loads(authfile.read_text()).get("auths", {})

    # --creds without a login
    berth.ok("rmi", ref)
    p = pull(berth, ref, "--cert-dir", certs, "--authfile", authfile,
             "--creds", f"{reg.user}:{reg.password}")
    assert_pulled(p, ref)


# --------------------------------------------------------------------------
# sharing


def _shared_images(big=2_000_000, unique=1_000_000):
    """Two images with the same 2 bottom layers and a top layer each."""
    rnd = os.urandom
    l1 = R.layer_tar([R.Entry("base", "dir"), R.Entry("base/one", data=rnd(big))])
    l2 = R.layer_tar([R.Entry("base", "dir"), R.Entry("base/two", data=rnd(big))])
    a = R.Image([l1, l2, R.layer_tar([R.Entry("a", data=rnd(unique))])], cmd=["/a"])
    b = R.Image([l1, l2, R.layer_tar([R.Entry("b", data=rnd(unique))])], cmd=["/b"])
    return a, b


def test_layers_shared_between_images(berth, workdir):
    w = workdir.path
    a, b = _shared_images()
    a.write_oci_archive(w / "a.tar", "a")
    b.write_docker_archive(w / "b.tar", "shared/b:1")

    p = berth.cmd("load", "-i", w / "a.tar")
    assert p.returncode == 0, describe(p)
    assert "Loaded image" in p.stdout, describe(p)
    if "Loaded image ID:" in p.stdout:
        berth.ok("tag", p.stdout.split("Loaded image ID:")[1].split()[0], "shared/a:1")
    elif "shared/a:1" not in p.stdout:
        berth.ok("tag", p.stdout.strip().splitlines()[-1].split("Loaded image: ")[1],
                 "shared/a:1")
    assert len(layer_entries(berth)) == 3, layer_entries(berth)
    du_a = store_bytes(berth.root / "layers")

    p = berth.cmd("load", "-i", w / "b.tar")
    assert p.returncode == 0 and "Loaded image: shared/b:1" in p.stdout, describe(p)
    assert len(layer_entries(berth)) == 4, layer_entries(berth)
    grown = store_bytes(berth.root / "layers") - du_a
    assert 1_000_000 <= grown < 1_200_000, f"layers grew by {grown} bytes, not one layer's 1 MB"

    la, lb = berth.image_inspect("shared/a:1")["Layers"], berth.image_inspect("shared/b:1")["Layers"]
    assert la[:2] == lb[:2] and la[2] != lb[2]

    imgs = {f"{i['Repository']}:{i['Tag']}": i for i in berth.json_lines("images", "--format", "json")}
    for name in ("shared/a:1", "shared/b:1"):
        i = imgs[name]
        assert 4_000_000 <= i["SharedSizeBytes"] < 4_200_000, i
        assert 1_000_000 <= i["UniqueSizeBytes"] < 1_200_000, i
        assert i["SizeBytes"] == i["SharedSizeBytes"] + i["UniqueSizeBytes"], i

    df = {d["Type"]: d for d in berth.json_lines("system", "df", "--format", "json")}
    assert df["Images"]["TotalCount"] == 2, df
    # each layer counted once: 2 + 2 + 1 + 1 MB
    assert 6_000_000 <= df["Images"]["SizeBytes"] < 6_500_000, df
    p = berth.cmd("system", "df")
    assert p.returncode == 0 and p.stdout.split()[:5] == ["TYPE", "TOTAL", "ACTIVE", "SIZE",
                                                          "RECLAIMABLE"], describe(p)

    # removing one image keeps the shared layers
    berth.ok("rmi", "shared/a:1")
    assert len(layer_entries(berth)) == 3, layer_entries(berth)
    berth.ok("rmi", "shared/b:1")
    assert layer_entries(berth) == [], layer_entries(berth)


def test_concurrent_pulls_share_layers(berth, registry_http, workdir):
    w = workdir.path
    a, b = _shared_images(big=8_000_000)
    ra = push(registry_http, w, a, "test/share-a")
    rb = push(registry_http, w, b, "test/share-b")
    proxy = R.ThrottledProxy(registry_http.port, rate=8_000_000)
    try:
        refs = [r.replace(registry_http.host, proxy.host) for r in (ra, rb)]
        procs = [berth.popen("pull", "--tls-verify=false", r) for r in refs]
        outs = [p.communicate(timeout=300) for p in procs]
    finally:
        proxy.close()
    for p, (out, err), ref in zip(procs, outs, refs):
        assert p.returncode == 0, f"pull {ref}: exit {p.returncode}\n{out.decode()}{err.decode()}"
        assert out.decode().strip().splitlines()[-1] == ref
    assert len(layer_entries(berth)) == 4, layer_entries(berth)
    assert not glob.glob(str(berth.root / "layers" / ".tmp-*"))
    assert not glob.glob(str(berth.root / "downloads" / "*.partial"))
    la, lb = (berth.image_inspect(r)["Layers"] for r in refs)
    assert la[:2] == lb[:2]
    for chain in set(la) | set(lb):
        d = berth.root / "layers" / chain.split(":")[1]
        meta = json.loads((d / "layer.json").read_text())
        assert meta["chainId"] == chain, meta


def test_pull_killed_then_resumed(berth, registry_http, workdir):
    w = workdir.path
    big = os.urandom(50 * 1024 * 1024)
    img = R.Image([R.layer_tar(R.busybox_entries()),
                   R.layer_tar([R.Entry("big", data=big)])], cmd=["sh"])
    ref = push(registry_http, w, img, "test/big")
    blob = json.loads(img.manifest()[1])["layers"][1]["digest"]
    proxy = R.ThrottledProxy(registry_http.port, rate=5_000_000)
    try:
        pref = ref.replace(registry_http.host, proxy.host)
        p = berth.popen("pull", "--tls-verify=false", pref, stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        partial = []
        while time.monotonic() < deadline and p.poll() is None:
            partial = glob.glob(str(berth.root / "downloads" / "*.partial"))
            sizes = [os.path.getsize(f) for f in partial if os.path.exists(f)]
            if sizes and max(sizes) > 5_000_000:
                break
            time.sleep(0.02)
        assert p.poll() is None, f"pull ended (exit {p.returncode}) before 5 MB arrived"
        assert partial, "no ROOT/downloads/*.partial while pulling"
        p.send_signal(signal.SIGKILL)
        p.wait()
        left = {f: os.path.getsize(f) for f in glob.glob(str(berth.root / "downloads" / "*"))
                if f.endswith(".partial")}
        assert left and max(left.values()) > 5_000_000, left
        proxy.requests.clear()
        proxy.rate = 50_000_000
        p = pull(berth, pref, "--tls-verify=false")
        assert_pulled(p, pref)
        blob_gets = [r for r in proxy.requests if blob.split(":")[1] in r.split("\r\n")[0]
                     and r.startswith("GET")]
    finally:
        proxy.close()
    assert blob_gets, f"the second pull never fetched {blob}: {proxy.requests}"
    assert any("range: bytes=" in r.lower() and "range: bytes=0-" not in r.lower()
               for r in blob_gets), f"the second pull did not resume: {blob_gets}"
    assert not glob.glob(str(berth.root / "downloads" / "*.partial"))
    dirs = berth.layer_dirs(pref)
    assert R.sha256_file(dirs[1] / "big") == R.sha256_bytes(big)
    p = berth.cmd("run", "--rm", pref, "sha256sum", "/big", timeout=120)
    assert p.returncode == 0 and R.sha256_bytes(big).split(":")[1] in p.stdout, describe(p)


# --------------------------------------------------------------------------
# hostile layers


def _hostile(kind, outside):
    """A layer (tar bytes) that tries to write `outside` (an absolute path), or a bomb."""
    up = "../" * 30
    rel_out = str(outside).lstrip("/")
    if kind == "dotdot":
        return R.layer_tar([R.Entry(up + rel_out, data=b"pwned\n")])
    if kind == "abs-symlink":
        return R.layer_tar([R.Entry("evil", "symlink", target=str(outside.parent)),
                            R.Entry(f"evil/{outside.name}", data=b"pwned\n")])
    if kind == "symlink-chain":
        return R.layer_tar([R.Entry("c1", "symlink", target="c2"),
                            R.Entry("c2", "symlink", target=up.rstrip("/")),
                            R.Entry(f"c1/{rel_out}", data=b"pwned\n")])
    if kind == "hardlink-out":
        return R.layer_tar([R.Entry("h", "hardlink", target=up + rel_out)])
    if kind == "hardlink-abs":
        return R.layer_tar([R.Entry("h", "hardlink", target=str(outside))])
    if kind == "device":
        return R.layer_tar([R.Entry("dev", "dir"),
                            R.Entry("dev/sda-ish", "block", mode=0o666, devmajor=8, devminor=0)])
    raise ValueError(kind)


def _sparse_bomb(work):
    """A tar (GNU tar, --sparse) of one 100 GiB file that is almost all hole."""
    require_tools("tar")
    src = work / "bomb-src"
    src.mkdir()
    with open(src / "bomb", "wb") as f:
        f.truncate(100 << 30)
        f.seek(50 << 30)
        f.write(b"x")
    R.run(["tar", "--sparse", "--format=posix", "-C", src, "-cf", work / "bomb.tar", "bomb"])
    (src / "bomb").unlink()
    data = (work / "bomb.tar").read_bytes()
    assert len(data) < 10_000_000
    return data


KINDS = ["dotdot", "abs-symlink", "symlink-chain", "hardlink-out", "hardlink-abs", "device",
         "sparse-bomb"]
# Contained, as runc, umoci and docker do: these name the inside of the layer, which the
# library resolves inside it (layer.c: "link -> /etc" then "link/passwd" writes
# <layer>/etc/passwd).  Refusing them is fine too; writing outside is not.
CONTAINED = {"abs-symlink", "symlink-chain"}


def _limit_fsize():
    # a broken bomb check must not fill the shared disk: writes past 1 GiB fail (EFBIG/SIGXFSZ)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 30, 1 << 30))


def _check_hostile(berth, p, kind, outside, secret, img):
    assert p.returncode in (0, 125), describe(p)  # never a crash (SIGXFSZ: 153)
    assert not outside.exists(), f"{kind}: wrote {outside}\n{describe(p)}"
    assert os.stat(secret).st_nlink == 1, f"{kind}: hardlinked {secret}"
    assert not glob.glob(str(berth.root / "layers" / ".tmp-*")), describe(p)
    if p.returncode == 0 and kind in CONTAINED:
        return
    assert p.returncode == 125, f"{kind}: accepted\n{describe(p)}"
    assert p.stderr.startswith("berth: ") and p.stderr.count("\n") <= 3, describe(p)
    assert berth.cmd("images", "-q").stdout.strip() == ""
    # the good layer below may stay (as docker's; gc takes it), the hostile one must not
    good, bad = img.diff_ids()
    bad_chain = R.sha256_bytes(f"{good} {bad}".encode()).split(":")[1]
    assert set(layer_entries(berth)) <= {good.split(":")[1]}, \
        f"{kind}: layers left {layer_entries(berth)} (hostile one: {bad_chain})"


def _hostile_image(kind, w, outside):
    bad = _sparse_bomb(w) if kind == "sparse-bomb" else _hostile(kind, outside)
    good = R.layer_tar([R.Entry("ok", data=b"fine\n")])
    return R.Image([good, bad], cmd=["/ok"])


@pytest.mark.parametrize("kind", KINDS)
def test_hostile_layer_load(berth, workdir, kind):
    w = workdir.path
    outside, secret = w / "outside" / "pwned", w / "secret"
    outside.parent.mkdir()
    secret.write_text("secret\n")
    img = _hostile_image(kind, w, secret if kind.startswith("hardlink") else outside)
    img.write_docker_archive(w / "bad.tar", f"hostile/{kind}:1")
    p = berth.cmd("load", "-i", w / "bad.tar", preexec_fn=_limit_fsize, timeout=120)
    print(f"{kind}: {p.stderr}")
    _check_hostile(berth, p, kind, outside, secret, img)
    if p.returncode == 125 and kind in ("dotdot", "hardlink-out", "device"):
        # the error names the entry
        name = {"dotdot": "pwned", "hardlink-out": "h", "device": "sda-ish"}[kind]
        assert name in p.stderr, describe(p)


@pytest.mark.parametrize("kind", ["dotdot", "hardlink-out", "device", "sparse-bomb",
                                  "symlink-chain"])
def test_hostile_layer_pull(berth, registry_http, workdir, kind):
    w = workdir.path
    outside, secret = w / "outside" / "pwned", w / "secret"
    outside.parent.mkdir()
    secret.write_text("secret\n")
    img = _hostile_image(kind, w, secret if kind.startswith("hardlink") else outside)
    ref = push(registry_http, w, img, f"hostile/{kind}")
    p = berth.cmd("pull", "--tls-verify=false", ref, preexec_fn=_limit_fsize, timeout=300)
    print(f"{kind}: {p.stderr}")
    _check_hostile(berth, p, kind, outside, secret, img)
    # the hostile blob was downloaded whole (and verified) before it was unpacked; a partial
    # download of another layer, cut short by the failure, may stay to be resumed
    bad_blob = json.loads(img.manifest()[1])["layers"][1]["digest"].split(":")[1]
    assert not (berth.root / "downloads" / f"{bad_blob}.partial").exists()


def test_load_corrupt_blob_names_digest(berth, workdir):
    w = workdir.path
    img = R.Image([R.layer_tar([R.Entry("a", data=b"a" * 10000)]),
                   R.layer_tar([R.Entry("b", data=b"b" * 10000)])], cmd=["/a"])
    layout = w / "layout"
    img.write_oci_dir(layout, "x")
    digest = json.loads(img.manifest()[1])["layers"][1]["digest"]
    blob = layout / "blobs" / "sha256" / digest.split(":")[1]
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.write_bytes(bytes(data))
    R.run(["tar", "-C", layout, "-cf", w / "bad.tar", "oci-layout", "index.json", "blobs"])
    p = berth.cmd("load", "-i", w / "bad.tar")
    assert p.returncode == 125, describe(p)
    assert digest in p.stderr or digest.split(":")[1][:12] in p.stderr, describe(p)
    assert berth.cmd("images", "-q").stdout.strip() == ""
    assert layer_entries(berth) == [] or len(layer_entries(berth)) == 1, layer_entries(berth)
    assert not glob.glob(str(berth.root / "layers" / ".tmp-*"))


def test_load_archive_missing_layer(berth, workdir):
    """docker-archive whose manifest.json names a layer that is not in it."""
    w = workdir.path
    img = R.Image([R.layer_tar([R.Entry("a", data=b"a")])], cmd=["/a"])
    img.write_docker_archive(w / "ok.tar", "x:1")
    R.run(["tar", "-C", w, "--delete", "-f", w / "ok.tar",
           f"{img.diff_ids()[0].split(':')[1]}/layer.tar"])
    p = berth.cmd("load", "-i", w / "ok.tar")
    assert p.returncode == 125, describe(p)
    assert "manifest.json" in p.stderr and "Layers[0]" in p.stderr, describe(p)
