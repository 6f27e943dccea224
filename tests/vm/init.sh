#!/bin/sh
# Guest /init (busybox ash, PID 1) of the berth cgroup v2 VM: see README.md.
#
# Stage 1 copies the initramfs into a tmpfs and switch_roots into it: pivot_root(2) refuses to
# run when the current root is the initramfs (EINVAL), and berth-oci pivot_roots into each
# container's rootfs. Stage 2 mounts a pure cgroup2 hierarchy (the kernel runs with
# cgroup_no_v1=all), runs /tests/checks.sh with a time limit, writes the verdict on the second
# serial port (/dev/ttyS1, which only this script and the checks write to) and powers off.
export PATH=/bin:/sbin

if [ "$1" != stage2 ]; then
        mkdir -p /newroot
        mount -t tmpfs -o mode=0755 root /newroot
        for d in bin sbin etc lib tests root; do cp -a "/$d" /newroot/; done
        cp -a /init /newroot/init
        mkdir -p /newroot/proc /newroot/sys /newroot/dev /newroot/tmp /newroot/run
        exec switch_root /newroot /init stage2
fi

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=0755 tmpfs /run
# OOM reports and the like stay in dmesg, off the console
dmesg -n 1

# A pure cgroup2 host as systemd sets it up: nothing enabled in the root's subtree_control yet,
# so berth's driver has to enable what it needs.
mount -t cgroup2 -o nsdelegate,memory_recursiveprot cgroup2 /sys/fs/cgroup

echo "BERTH-VM kernel $(uname -r) cpus=$(nproc) controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
limit=$(sed -n 's/.*berth.timeout=\([0-9]*\).*/\1/p' /proc/cmdline)
# a RAM disk (1:0) for the io.max checks
[ -e /lib/modules/brd.ko ] && insmod /lib/modules/brd.ko rd_nr=1 rd_size=8192
timeout -s TERM "${limit:-90}" /tests/checks.sh 3>/dev/ttyS1
rc=$?
case $rc in
0) verdict=pass ;;
143) verdict="checks timed out after ${limit:-90}s" ;;
*) verdict="some checks failed (rc=$rc)" ;;
esac
[ $rc = 0 ] || rc=1
echo "BERTH-VM-RESULT $verdict"
printf 'BERTH-VM-RESULT %s\nBERTH-VM-EXIT=%s\n' "$verdict" "$rc" > /dev/ttyS1
sync
poweroff -f
