#!/bin/sh
# Boot a throw-away QEMU guest with a pure cgroup2 hierarchy and run berth-oci's cgroup v2 checks
# (checks.sh) in it. See README.md.
#
#   tests/vm/run.sh [-b BERTH_OCI] [-o OUTDIR] [-t TIMEOUT] [-T GUEST_TIMEOUT]
#
#   -b  the static berth-oci to test (default: build/berth-oci)
#   -o  where the initramfs and the logs go (default: $BERTH_VM_DIR/out)
#   -t  hard wall-clock limit for qemu, in seconds (default 150)
#   -T  limit for the guest checks, in seconds (default 100); on expiry the guest still reports
#   -s  a guest script to run instead of checks.sh (debugging; it may source /tests/checks.sh's
#       helpers by copying them, and reports through fd 3 like checks.sh)
#
# Exit status: 0 every check passed, 1 some failed, 2 setup error (missing tool, no kernel),
# 124 qemu timed out, 125 the guest died without a verdict.
# Logs: OUTDIR/console.log (the whole serial console), OUTDIR/result.log (the verdict port).
# Cache: $BERTH_VM_DIR (default /var/tmp/berth-vm): the guest kernel, fetched with
# `apt-get download` and unpacked with `dpkg-deb -x` -- nothing is installed on the host.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
W=${BERTH_VM_DIR:-/var/tmp/berth-vm}
BERTH=$TOP/build/berth-oci
OUT=
T=150
GT=100
FLAVOUR=linux-image-cloud-amd64
SCRIPT=$HERE/checks.sh
while getopts b:o:t:T:s: o; do
        case $o in
        b) BERTH=$OPTARG ;;
        o) OUT=$OPTARG ;;
        t) T=$OPTARG ;;
        T) GT=$OPTARG ;;
        s) SCRIPT=$OPTARG ;;
        *) sed -n '2,20p' "$0" >&2; exit 2 ;;
        esac
done
OUT=${OUT:-$W/out}
die() { echo "vm: $*" >&2; exit 2; }
t_start=$(date +%s)

# ---- host tools ------------------------------------------------------------------------------
command -v qemu-system-x86_64 >/dev/null ||
        die "qemu-system-x86_64 missing (apt-get install --no-install-recommends qemu-system-x86)"
BB=$(command -v busybox) || die "busybox missing (apt-get install busybox-static)"
# dynamic = has a program interpreter (ldd says "statically linked", exit 0, for a static-pie)
is_dynamic() { readelf -l "$1" 2>/dev/null | grep -q 'Requesting program interpreter'; }
! is_dynamic "$BB" || die "$BB is dynamic: apt-get install busybox-static"
[ -x "$BERTH" ] || die "$BERTH: not built (ninja -C build)"
! is_dynamic "$BERTH" || die "$BERTH is dynamically linked: the guest has no libraries (meson -Dstatic=true)"
command -v gcc >/dev/null || die "gcc missing"

# ---- 1. guest kernel (cached) ------------------------------------------------------------------
mkdir -p "$W/debs" "$W/kernel" "$OUT"
# the meta package names the versioned image package; offline, fall back to the newest cached one
PKG=$(apt-cache depends "$FLAVOUR" 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
if [ -z "$PKG" ]; then
        PKG=$(ls "$W/kernel" 2>/dev/null | grep -v '\.tmp$' | sort -V | tail -n1)
        [ -n "$PKG" ] || die "cannot resolve $FLAVOUR and no kernel cached in $W/kernel (apt-get update?)"
fi
KDIR=$W/kernel/$PKG
if [ ! -d "$KDIR/boot" ]; then
        echo "vm: fetching $PKG"
        (cd "$W/debs" && apt-get download -o APT::Sandbox::User=root "$PKG" >/dev/null) ||
                die "apt-get download $PKG failed"
        rm -rf "$KDIR.tmp" && mkdir -p "$KDIR.tmp"
        dpkg-deb -x "$W/debs/${PKG}_"*.deb "$KDIR.tmp"
        # keep the kernel, its config and brd (a RAM disk, for io.max): ~10 MB instead of ~100
        mkdir -p "$KDIR.tmp/modules"
        find "$KDIR.tmp/lib/modules" -name 'brd.ko*' -exec cp {} "$KDIR.tmp/modules/" \;
        for f in "$KDIR.tmp/modules/"*; do
                case $f in
                *.xz) xz -d "$f" ;;
                *.zst) zstd -q -d --rm "$f" ;;
                esac
        done
        rm -rf "$KDIR.tmp/lib" "$KDIR.tmp/usr" "$W/debs/${PKG}_"*.deb
        mv "$KDIR.tmp" "$KDIR"
fi
KVER=${PKG#linux-image-}
KVER=${KVER%-unsigned}

# ---- 2. initramfs ------------------------------------------------------------------------------
S=$OUT/stage
rm -rf "$S"
mkdir -p "$S/bin" "$S/sbin" "$S/etc" "$S/dev" "$S/proc" "$S/sys" "$S/tmp" "$S/run" "$S/root" \
        "$S/tests"
cp "$BB" "$S/bin/busybox"
for a in $("$BB" --list); do [ -e "$S/bin/$a" ] || ln -s busybox "$S/bin/$a"; done
echo 'root:x:0:0::/root:/bin/sh' > "$S/etc/passwd"
echo 'root:x:0:' > "$S/etc/group"
cp "$BERTH" "$S/bin/berth-oci"
mkdir -p "$S/lib/modules"
cp "$KDIR/modules/"*.ko "$S/lib/modules/" 2>/dev/null || true
install -m 755 "$HERE/init.sh" "$S/init"
install -m 755 "$SCRIPT" "$S/tests/checks.sh"
# the containers' rootfs: busybox and the helper, nothing else
R=$S/tests/rootfs
mkdir -p "$R/bin" "$R/proc" "$R/dev" "$R/sys" "$R/tmp" "$R/etc"
cp "$BB" "$R/bin/busybox"
for a in $("$BB" --list); do [ -e "$R/bin/$a" ] || ln -s busybox "$R/bin/$a"; done
gcc -static -O2 -Wall -o "$R/bin/vmhelper" "$HERE/vmhelper.c"
cp "$S/etc/passwd" "$S/etc/group" "$R/etc/"
(cd "$S" && find . | "$BB" cpio -o -H newc -R 0:0 2>/dev/null) | gzip -1 > "$OUT/initramfs.cpio.gz"
rm -rf "$S"
t_built=$(date +%s)

# ---- 3. boot -----------------------------------------------------------------------------------
# TCG: this host has no usable KVM (see README.md). -nodefaults: no NIC, VGA or option ROMs;
# -no-reboot: poweroff, reboot or panic ends qemu.
CON=$OUT/console.log
RES=$OUT/result.log
rm -f "$CON" "$RES"
echo "vm: booting $PKG (TCG), berth-oci $BERTH"
set +e
timeout -k 5 "$T" qemu-system-x86_64 -accel tcg,thread=multi -cpu max -smp 2 -m 512 \
        -nodefaults -no-user-config -display none -monitor none -no-reboot \
        -serial "file:$CON" -serial "file:$RES" \
        -kernel "$KDIR/boot/vmlinuz-$KVER" -initrd "$OUT/initramfs.cpio.gz" \
        -append "console=ttyS0 quiet panic=-1 oops=panic cgroup_no_v1=all berth.timeout=$GT"
qrc=$?
set -e
t_end=$(date +%s)
tr -d '\r' < "$RES" 2>/dev/null | grep -v '^BERTH-VM-EXIT=' || true
echo "vm: build $((t_built - t_start))s, guest $((t_end - t_built))s; console: $CON"
if [ $qrc = 124 ] || [ $qrc = 137 ]; then
        echo "vm: TIMEOUT: qemu killed after ${T}s; console tail:" >&2
        tail -n 20 "$CON" >&2
        exit 124
fi
rc=$(tr -d '\r' < "$RES" 2>/dev/null | sed -n 's/^BERTH-VM-EXIT=\([0-9]*\)$/\1/p' | tail -n1)
if [ -z "$rc" ]; then
        echo "vm: no verdict from the guest (qemu rc=$qrc); console tail:" >&2
        tail -n 30 "$CON" >&2
        exit 125
fi
exit "$rc"
