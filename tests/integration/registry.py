"""A local docker registry for the engine's tests, and the images pushed to it.

  Registry     Debian's docker-registry (distribution v2) on 127.0.0.1, storage in a temp
               dir: plain http, or TLS with a self-signed certificate (ca.crt in `cert_dir`,
               docker's certs.d layout), optionally with htpasswd basic auth.
  Image        an image made here from tar entries (Python's tarfile, so that hostile layers
               can be made too: "../x", absolute symlinks, devices, sparse bombs), written as
               an OCI layout, an oci-archive or a docker-archive; pushed with skopeo.
  tree_of()    a file-by-file description of a directory tree (type, mode, owner, content
               hash, link target, hardlink groups) for comparing two unpacked rootfs.

No fixture lives here (conftest.py has them); only the peer tools are run: docker-registry,
skopeo, umoci, htpasswd, openssl.
"""

import gzip
import hashlib
import io
import json
import os
import shutil
import socket
import stat
import subprocess
import tarfile
import time
from pathlib import Path

PORTS = range(5200, 5300)  # this suite's share of the machine's ports
PEER_TOOLS = ("docker-registry", "skopeo", "umoci", "htpasswd", "openssl")


def missing_tools(*names):
    return [n for n in names if not shutil.which(n)]


def run(argv, timeout=300, check=True, **kw):
    """subprocess.run with text output; an assertion error with everything on failure."""
    p = subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL, **kw)
    if check and p.returncode != 0:
        raise AssertionError(f"$ {' '.join(map(str, argv))}\nexit {p.returncode}\n"
                             f"--- stdout\n{p.stdout}--- stderr\n{p.stderr}")
    return p


# --------------------------------------------------------------------------
# the registry

_taken = set()


def free_port():
    """A port in PORTS that nothing listens on (nor was handed out by us before)."""
    for port in PORTS:
        if port in _taken:
            continue
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            s.close()
        _taken.add(port)
        return port
    raise RuntimeError("no free port in 5200-5299")


def make_cert(dest_dir):
    """A self-signed certificate for 127.0.0.1: (crt, key); ca.crt in dest_dir/certs/ (the
    --cert-dir for skopeo and berth)."""
    d = Path(dest_dir)
    d.mkdir(parents=True, exist_ok=True)
    crt, key = d / "server.crt", d / "server.key"
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256", "-days", "2",
         "-keyout", key, "-out", crt, "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
    certs = d / "certs"
    certs.mkdir(exist_ok=True)
    shutil.copy(crt, certs / "ca.crt")
    return crt, key


class Registry:
    """docker-registry on 127.0.0.1:<port>.  `host` is "127.0.0.1:PORT"; with tls, `cert_dir`
    holds ca.crt; with auth, (`user`, `password`) are accepted."""

    def __init__(self, base, spawn=subprocess.Popen, tls=False, auth=False,
                 user="berth", password="s3cret-pw"):
        self.base = Path(base)
        self.base.mkdir(parents=True, exist_ok=True)
        self.tls, self.auth = tls, auth
        self.user, self.password = user, password
        self.cert_dir = None
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.scheme = "https" if tls else "http"
        self.proc = None
        self._spawn = spawn
        self.log = self.base / "registry.log"

    def _config(self):
        lines = ["version: 0.1",
                 "log:", "  level: info", "  accesslog:", "    disabled: false",
                 "storage:", "  filesystem:", f"    rootdirectory: {self.base / 'data'}",
                 "  delete:", "    enabled: true",
                 "http:", f"  addr: {self.host}"]
        if self.tls:
            crt, key = make_cert(self.base / "tls")
            self.cert_dir = self.base / "tls" / "certs"
            lines += ["  tls:", f"    certificate: {crt}", f"    key: {key}"]
        if self.auth:
            pw = run(["htpasswd", "-Bbn", self.user, self.password]).stdout.strip()
            (self.base / "htpasswd").write_text(pw + "\n")
            lines += ["auth:", "  htpasswd:", "    realm: berth-test",
                      f"    path: {self.base / 'htpasswd'}"]
        cfg = self.base / "config.yml"
        cfg.write_text("\n".join(lines) + "\n")
        return cfg

    def start(self, timeout=20):
        cfg = self._config()
        with open(self.log, "w") as log:
            self.proc = self._spawn(["docker-registry", "serve", str(cfg)], stdout=log,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"docker-registry exited {self.proc.returncode}:\n"
                                   f"{self.log.read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return self
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"docker-registry: {self.host} not up in {timeout}s")
                time.sleep(0.05)

    def stop(self):
        if self.proc and self.proc.returncode is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    # -- client side flags
    def skopeo_dest_flags(self):
        f = ["--dest-tls-verify=false"] if not self.tls else ["--dest-cert-dir", self.cert_dir]
        if self.auth:
            f += ["--dest-creds", f"{self.user}:{self.password}"]
        return f

    def skopeo_src_flags(self):
        f = ["--src-tls-verify=false"] if not self.tls else ["--src-cert-dir", self.cert_dir]
        if self.auth:
            f += ["--src-creds", f"{self.user}:{self.password}"]
        return f

    def push(self, oci_dir, repo, tag="latest", timeout=600):
        """skopeo copy oci:DIR:TAG docker://HOST/repo:TAG; returns "HOST/repo"."""
        ref = f"{self.host}/{repo}"
        run(["skopeo", "copy", "--quiet", *self.skopeo_dest_flags(), f"oci:{oci_dir}:{tag}",
             f"docker://{ref}:{tag}"], timeout=timeout)
        return ref

    def pull_oci(self, ref, dest, tag="latest", timeout=600):
        """skopeo copy docker://ref oci:dest:tag."""
        run(["skopeo", "copy", "--quiet", *self.skopeo_src_flags(), f"docker://{ref}",
             f"oci:{dest}:{tag}"], timeout=timeout)

    def blob_path(self, digest):
        hexd = digest.split(":", 1)[1]
        return (self.base / "data" / "docker" / "registry" / "v2" / "blobs" / "sha256" /
                hexd[:2] / hexd / "data")


# --------------------------------------------------------------------------
# images made from tar entries


def sha256_bytes(b):
    return "sha256:" + hashlib.sha256(b).hexdigest()


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


class Entry:
    """One tar entry: kind is file, dir, symlink, hardlink, char, block, fifo.  xattrs:
    {name: bytes}, written as pax SCHILY.xattr.<name> records (as GNU tar --xattrs does)."""

    def __init__(self, name, kind="file", data=b"", mode=None, uid=0, gid=0, target=None,
                 devmajor=0, devminor=0, size=None, xattrs=None):
        self.name, self.kind, self.data = name, kind, data
        self.mode = mode if mode is not None else (0o755 if kind == "dir" else 0o644)
        self.uid, self.gid, self.target = uid, gid, target
        self.devmajor, self.devminor = devmajor, devminor
        self.size = size
        self.xattrs = dict(xattrs or {})


_KINDS = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
          "hardlink": tarfile.LNKTYPE, "char": tarfile.CHRTYPE, "block": tarfile.BLKTYPE,
          "fifo": tarfile.FIFOTYPE}


def layer_tar(entries):
    """An uncompressed layer tar (bytes) of Entry objects, in order."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for e in entries:
            ti = tarfile.TarInfo(e.name)
            ti.type = _KINDS[e.kind]
            ti.mode, ti.uid, ti.gid = e.mode, e.uid, e.gid
            ti.mtime = 1700000000
            ti.uname = ti.gname = ""
            if e.kind in ("symlink", "hardlink"):
                ti.linkname = e.target
            if e.kind in ("char", "block"):
                ti.devmajor, ti.devminor = e.devmajor, e.devminor
            if e.xattrs:
                # tarfile writes str values back as the same bytes (surrogateescape)
                ti.pax_headers = {f"SCHILY.xattr.{k}": v.decode("utf-8", "surrogateescape")
                                  for k, v in e.xattrs.items()}
            if e.kind == "file":
                ti.size = len(e.data)
                t.addfile(ti, io.BytesIO(e.data))
            else:
                t.addfile(ti)
    return buf.getvalue()


def tar_of_dir(src, prefix=""):
    """An uncompressed tar of a directory's contents (owners, modes, links kept)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name in sorted(os.listdir(src)):
            t.add(os.path.join(src, name), arcname=prefix + name)
    return buf.getvalue()


def busybox_entries():
    """A busybox rootfs as layer entries: /bin/busybox (Debian's static one) and an applet
    symlink each, plus the usual empty dirs."""
    busybox = shutil.which("busybox") or "/bin/busybox"
    data = Path(busybox).read_bytes()
    applets = run([busybox, "--list"]).stdout.split()
    out = [Entry(d, "dir") for d in ("bin", "dev", "etc", "proc", "root", "sys", "tmp", "var")]
    out[-2].mode = 0o1777
    out.append(Entry("bin/busybox", data=data, mode=0o755))
    for a in sorted(set(applets) | {"sh", "true"}):
        if a != "busybox":
            out.append(Entry(f"bin/{a}", "symlink", target="busybox"))
    out.append(Entry("etc/passwd", data=b"root:x:0:0:root:/root:/bin/sh\n"
                     b"user:x:1000:1000:user:/home/user:/bin/sh\n"))
    out.append(Entry("etc/group", data=b"root:x:0:\nuser:x:1000:\n"))
    return out


class Image:
    """An image as uncompressed layer tars + config; written in any format."""

    def __init__(self, layers, cmd=None, env=None, entrypoint=None, workdir=None, user=None,
                 labels=None, compress=True, architecture="amd64", variant=None):
        self.layers = list(layers)  # bytes: uncompressed tars
        self.architecture, self.variant = architecture, variant
        self.config = {
            "Env": env or ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        }
        if cmd is not None:
            self.config["Cmd"] = cmd
        if entrypoint is not None:
            self.config["Entrypoint"] = entrypoint
        if workdir:
            self.config["WorkingDir"] = workdir
        if user:
            self.config["User"] = user
        if labels:
            self.config["Labels"] = labels
        self.compress = compress
        self._blobs = None

    def diff_ids(self):
        return [sha256_bytes(t) for t in self.layers]

    def _layer_blobs(self):
        if self._blobs is None:
            if self.compress:
                self._blobs = [gzip.compress(t, compresslevel=1, mtime=0) for t in self.layers]
            else:
                self._blobs = list(self.layers)
        return self._blobs

    def platform(self):
        p = {"architecture": self.architecture, "os": "linux"}
        if self.variant:
            p["variant"] = self.variant
        return p

    def config_json(self):
        return json.dumps({
            "created": "2024-01-02T03:04:05Z",
            **self.platform(),
            "config": self.config,
            "rootfs": {"type": "layers", "diff_ids": self.diff_ids()},
            "history": [{"created": "2024-01-02T03:04:05Z", "created_by": f"layer {i}"}
                        for i in range(len(self.layers))],
        }, sort_keys=True).encode()

    def manifest(self):
        cfg = self.config_json()
        mt = ("application/vnd.oci.image.layer.v1.tar+gzip" if self.compress
              else "application/vnd.oci.image.layer.v1.tar")
        return cfg, json.dumps({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": sha256_bytes(cfg), "size": len(cfg)},
            "layers": [{"mediaType": mt, "digest": sha256_bytes(b), "size": len(b)}
                       for b in self._layer_blobs()],
        }, sort_keys=True).encode()

    def write_oci_dir(self, dest, tag="latest"):
        """An OCI image layout in dest (created); returns the manifest digest."""
        dest = Path(dest)
        blobs = dest / "blobs" / "sha256"
        blobs.mkdir(parents=True, exist_ok=True)
        cfg, man = self.manifest()
        for b in [cfg, man, *self._layer_blobs()]:
            (blobs / sha256_bytes(b).split(":")[1]).write_bytes(b)
        (dest / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
        (dest / "index.json").write_text(json.dumps({
            "schemaVersion": 2,
            "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "digest": sha256_bytes(man), "size": len(man),
                           "annotations": {"org.opencontainers.image.ref.name": tag}}]}))
        return sha256_bytes(man)

    def write_oci_archive(self, path, tag="latest"):
        tmp = Path(str(path) + ".d")
        self.write_oci_dir(tmp, tag)
        with tarfile.open(path, "w") as t:
            for name in sorted(os.listdir(tmp)):
                t.add(tmp / name, arcname=name)
        shutil.rmtree(tmp)

    def write_docker_archive(self, path, repo_tag):
        """docker save's format: manifest.json, <config>.json, <diffid>/layer.tar."""
        cfg = self.config_json()
        cfg_name = sha256_bytes(cfg).split(":")[1] + ".json"
        layer_names = [f"{d.split(':')[1]}/layer.tar" for d in self.diff_ids()]
        manifest = json.dumps([{"Config": cfg_name, "RepoTags": [repo_tag] if repo_tag else [],
                                "Layers": layer_names}]).encode()
        with tarfile.open(path, "w") as t:
            def add(name, data):
                ti = tarfile.TarInfo(name)
                ti.size, ti.mode, ti.mtime = len(data), 0o644, 1700000000
                t.addfile(ti, io.BytesIO(data))
            add(cfg_name, cfg)
            for name, data in zip(layer_names, self.layers):
                add(name, data)
            add("manifest.json", manifest)


def write_oci_index(dest, images, tag="latest"):
    """An OCI layout in dest whose tag names an image index of images (one manifest per image,
    with its platform), in the order given: push it with `skopeo copy --all`.  Returns the
    index's digest."""
    dest = Path(dest)
    blobs = dest / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    descs = []
    for img in images:
        cfg, man = img.manifest()
        for b in [cfg, man, *img._layer_blobs()]:
            (blobs / sha256_bytes(b).split(":")[1]).write_bytes(b)
        descs.append({"mediaType": "application/vnd.oci.image.manifest.v1+json",
                      "digest": sha256_bytes(man), "size": len(man),
                      "platform": img.platform()})
    mt = "application/vnd.oci.image.index.v1+json"
    index = json.dumps({"schemaVersion": 2, "mediaType": mt, "manifests": descs},
                       sort_keys=True).encode()
    (blobs / sha256_bytes(index).split(":")[1]).write_bytes(index)
    (dest / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    (dest / "index.json").write_text(json.dumps({
        "schemaVersion": 2,
        "manifests": [{"mediaType": mt, "digest": sha256_bytes(index), "size": len(index),
                       "annotations": {"org.opencontainers.image.ref.name": tag}}]}))
    return sha256_bytes(index)


def multi_layer_image(busybox=False):
    """The image of the pull tests: 3 layers (4 with busybox at the bottom).  Layer 3 deletes a
    file (whiteout) and replaces a directory (opaque); there are symlinks (relative, absolute,
    dangling), a hardlink group, setuid/setgid files, 0700 dirs, uid 1000 owners, an empty
    file, a fifo."""
    l1 = [
        Entry("etc", "dir"),
        Entry("etc/gone", data=b"deleted by layer 3\n"),
        Entry("etc/keep", data=b"kept\n"),
        Entry("data", "dir"),
        Entry("data/old1", data=b"old one\n"),
        Entry("data/sub", "dir", mode=0o700),
        Entry("data/sub/x", data=b"x\n"),
        Entry("home", "dir"),
        Entry("home/user", "dir", mode=0o700, uid=1000, gid=1000),
        Entry("home/user/.profile", data=b"export A=1\n", mode=0o600, uid=1000, gid=1000),
        Entry("usr", "dir"),
        Entry("usr/bin", "dir"),
        Entry("usr/bin/su-ish", data=b"#!/bin/sh\necho su\n", mode=0o4755),
        Entry("usr/bin/sg-ish", data=b"#!/bin/sh\necho sg\n", mode=0o2755, gid=1000),
        Entry("usr/lib", "dir"),
        Entry("usr/lib/libfoo.so.1.2", data=b"\x7fELF fake library\n" * 100),
        Entry("usr/lib/libfoo.so.1", "symlink", target="libfoo.so.1.2"),
        Entry("usr/lib/libfoo.so", "symlink", target="/usr/lib/libfoo.so.1"),
        Entry("usr/lib/dangling", "symlink", target="../nowhere/at/all"),
    ]
    l2 = [
        Entry("opt", "dir"),
        Entry("opt/app", "dir", mode=0o750, uid=1000, gid=1000),
        Entry("opt/app/main", data=b"main program\n" * 1000, mode=0o755, uid=1000, gid=1000),
        Entry("opt/app/main-link", "hardlink", target="opt/app/main"),
        Entry("opt/app/main-link2", "hardlink", target="opt/app/main"),
        Entry("opt/app/empty", data=b"", mode=0o640),
        Entry("opt/app/fifo", "fifo", mode=0o600),
        Entry("etc", "dir"),
        Entry("etc/keep", data=b"kept, changed by layer 2\n", mode=0o600),
        Entry("tmp", "dir", mode=0o1777),
    ]
    l3 = [
        Entry("etc", "dir"),
        Entry("etc/.wh.gone", data=b""),
        Entry("data", "dir", mode=0o755, uid=1000, gid=1000),
        Entry("data/.wh..wh..opq", data=b""),
        Entry("data/new", data=b"the new data\n"),
        Entry("usr", "dir"),
        Entry("usr/lib", "dir"),
        Entry("usr/lib/libfoo.so", data=b"now a file\n"),
        Entry("opt", "dir"),
        Entry("opt/app", "dir", mode=0o750, uid=1000, gid=1000),
        Entry("opt/app/added", data=b"added in 3\n", uid=1000, gid=1000),
    ]
    layers = [layer_tar(l) for l in (l1, l2, l3)]
    if busybox:
        layers.insert(0, layer_tar(busybox_entries()))
    return Image(layers, cmd=["sh"] if busybox else ["/opt/app/main"])


# --------------------------------------------------------------------------
# comparing trees


def tree_of(root, skip=()):
    """{path: description} of everything under root, and the hardlink groups (a set of
    frozensets of paths of regular files sharing an inode)."""
    root = str(root)
    files, inodes = {}, {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            rel = "/" + os.path.relpath(full, root)
            if rel in skip:
                continue
            st = os.lstat(full)
            d = {"type": stat.S_IFMT(st.st_mode), "mode": oct(stat.S_IMODE(st.st_mode)),
                 "uid": st.st_uid, "gid": st.st_gid}
            if stat.S_ISREG(st.st_mode):
                d["size"] = st.st_size
                d["sha256"] = sha256_file(full)
                if st.st_nlink > 1:
                    inodes.setdefault((st.st_dev, st.st_ino), []).append(rel)
            elif stat.S_ISLNK(st.st_mode):
                d["target"] = os.readlink(full)
                del d["mode"]
            elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                d["rdev"] = (os.major(st.st_rdev), os.minor(st.st_rdev))
            files[rel] = d
        dirnames[:] = [n for n in dirnames
                       if not os.path.islink(os.path.join(dirpath, n))]
    groups = {frozenset(v) for v in inodes.values() if len(v) > 1}
    return files, groups


def tree_diff(a, b, names=("a", "b")):
    """Human-readable differences between two tree_of() results ([] if equal)."""
    (fa, ga), (fb, gb) = a, b
    out = []
    for p in sorted(set(fa) | set(fb)):
        if p not in fa:
            out.append(f"{p}: only in {names[1]}: {fb[p]}")
        elif p not in fb:
            out.append(f"{p}: only in {names[0]}: {fa[p]}")
        elif fa[p] != fb[p]:
            out.append(f"{p}: {names[0]} {fa[p]} != {names[1]} {fb[p]}")
    if ga != gb:
        out.append(f"hardlink groups: {names[0]} {sorted(map(sorted, ga))} != "
                   f"{names[1]} {sorted(map(sorted, gb))}")
    return out


def umoci_unpack(oci_dir, tag, dest):
    """umoci unpack --image DIR:TAG DEST; returns DEST/rootfs."""
    run(["umoci", "unpack", "--image", f"{oci_dir}:{tag}", dest])
    return Path(dest) / "rootfs"


# --------------------------------------------------------------------------
# a slow TCP proxy in front of the registry (to catch a pull in the middle)


class ThrottledProxy:
    """Forwards 127.0.0.1:<port> to target_port, sending the server's bytes at rate bytes/s
    per connection.  `requests` records each request head the client sent (str), so that
    Range requests are visible."""

    def __init__(self, target_port, rate):
        import threading
        self.target_port, self.rate = target_port, rate
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.requests = []
        self.bytes_down = 0
        self._lock = threading.Lock()
        self._socks = []
        self._stop = False
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", self.port))
        self.srv.listen(16)
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        import threading
        while not self._stop:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                c.close()
                continue
            with self._lock:
                self._socks += [c, u]
            threading.Thread(target=self._pipe, args=(c, u, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(u, c, True), daemon=True).start()

    def _pipe(self, src, dst, slow):
        chunk = 16384
        try:
            while True:
                data = src.recv(chunk)
                if not data:
                    break
                if slow:
                    with self._lock:
                        self.bytes_down += len(data)
                    time.sleep(len(data) / self.rate)
                elif data[:4] in (b"GET ", b"HEAD", b"POST", b"PUT ", b"PATC"):
                    with self._lock:
                        self.requests.append(data.split(b"\r\n\r\n", 1)[0].decode(errors="replace"))
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self._stop = True
        try:
            self.srv.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.srv.close()
        with self._lock:
            for s in self._socks:
                try:
                    s.close()
                except OSError:
                    pass
