#!/bin/sh
# The guest checks (busybox ash): berth-oci on a pure cgroup2 host, driven through its command
# line only. Every check prints "PASS name" or "FAIL name: detail" on the console and on fd 3 (the
# verdict port); exit status 0 only if every check passed.
#
# Containers share the read-only rootfs /tests/rootfs (busybox + vmhelper); each gets its own
# bundle directory under /tmp with a config.json made by mkconfig below.
export PATH=/bin:/sbin
CG=/sys/fs/cgroup
ROOT=/run/berth-vm
pass=0; fail=0

report() { echo "$*"; echo "$*" >&3; }
ok()  { pass=$((pass + 1)); report "PASS $1"; }
bad() { fail=$((fail + 1)); report "FAIL $1${2:+: $2}"; }
# expect NAME ACTUAL WANTED: string equality
expect() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1" "got '$2', want '$3'"; fi; }
# atleast NAME ACTUAL MIN: integer >=
atleast() { if [ "${2:-0}" -ge "$3" ] 2>/dev/null; then ok "$1 ($2)"; else bad "$1" "got '$2', want >= $3"; fi; }
# has NAME FILE PATTERN: FILE contains the fixed string PATTERN
has() { if grep -qF -- "$3" "$2"; then ok "$1"; else bad "$1" "'$3' not in: $(tr '\n' '|' < "$2")"; fi; }
# field FILE KEY: value of "KEY value" in a flat-keyed cgroup file
field() { awk -v k="$2" '$1 == k { print $2 }' "$1" 2>/dev/null; }
val() { cat "$1" 2>/dev/null || echo "<missing $1>"; }
skip() { report "SKIP $1${2:+: $2}"; }
# implemented CMD: the berth-oci under test has that command (not "not implemented yet")
implemented() { ! berth-oci "$1" --help 2>&1 | grep -q "not implemented"; }
gone() { if [ ! -e "$2" ]; then ok "$1"; else bad "$1" "$2 still exists"; fi; }

oci() { timeout -s KILL 30 berth-oci --root "$ROOT" "$@"; }

# mkconfig ID ARGS_JSON [RESOURCES_JSON [DEVICES_JSON [CGROUPS_PATH]]]: writes /tmp/b-ID/config.json
# (with a cgroup namespace unless NO_CGROUPNS is set)
mkconfig() {
        b=/tmp/b-$1; mkdir -p "$b"
        cgp=; [ -n "$5" ] && cgp="\"cgroupsPath\": \"$5\","
        cgns=', {"type": "cgroup"}'; [ -n "$NO_CGROUPNS" ] && cgns=
        caps='["CAP_KILL", "CAP_MKNOD", "CAP_SYS_RAWIO", "CAP_DAC_OVERRIDE"]'
        cat > "$b/config.json" <<EOF
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false, "user": {"uid": 0, "gid": 0}, "cwd": "/",
    "args": $2,
    "env": ["PATH=/bin:/"],
    "capabilities": {"bounding": $caps, "effective": $caps, "permitted": $caps},
    "noNewPrivileges": true
  },
  "root": {"path": "/tests/rootfs", "readonly": true},
  "hostname": "vm",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
    {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=1777"]}
  ],
  "linux": {
    $cgp
    "namespaces": [{"type": "pid"}, {"type": "mount"}, {"type": "ipc"}, {"type": "uts"},
                   {"type": "network"}$cgns],
    "resources": ${3:-{\}},
    "devices": ${4:-[]}
  }
}
EOF
}

# create/start/delete ID: the bundle /tmp/b-ID; the container's output goes to /tmp/ID.out
create() { oci create --bundle "/tmp/b-$1" "$1" > "/tmp/$1.out" 2>&1 < /dev/null; }
start() { oci start "$1" >> "/tmp/$1.out" 2>&1; }
# wait_stopped ID: up to 30 s for the container's init to exit
wait_stopped() {
        n=300
        while ! oci state "$1" 2>/dev/null | grep -q '"stopped"'; do
                n=$((n - 1)); [ $n -gt 0 ] || { bad "$1 stops" "still running after 30s"; return 1; }
                usleep 100000
        done
}
delete() { oci delete "$@" >> "/tmp/$1.out" 2>&1; }

# ---------------------------------------------------------------------------------------------
echo "== hello"
mkconfig hello '["echo", "hello from berth"]'
out=$(oci run --bundle /tmp/b-hello hello 2>&1); rc=$?
expect "run prints hello (rc=$rc)" "$out" "hello from berth"
gone "run leaves no cgroup" $CG/berth/hello

# ---------------------------------------------------------------------------------------------
echo "== memory"
mkconfig mem '["sh", "-c", "vmhelper alloc 100; echo rc=$?; vmhelper alloc 8; echo rc2=$?"]' \
        '{"memory": {"limit": 33554432, "swap": 33554432, "reservation": 16777216}}'
if create mem; then
        ok "memory: create"
        d=$CG/berth/mem
        expect "memory.max" "$(val $d/memory.max)" 33554432
        expect "memory.swap.max (swap - limit)" "$(val $d/memory.swap.max)" 0
        expect "memory.low (reservation)" "$(val $d/memory.low)" 16777216
        start mem && wait_stopped mem
        has "memory: 100 MiB allocation OOM-killed (137)" /tmp/mem.out "rc=137"
        has "memory: 8 MiB allocation survives" /tmp/mem.out "rc2=0"
        atleast "memory.events oom_kill" "$(field $d/memory.events oom_kill)" 1
        delete mem
        gone "memory: delete removes the cgroup" $d
else
        bad "memory: create" "$(cat /tmp/mem.out)"
fi

mkconfig oom '["vmhelper", "alloc", "100"]' '{"memory": {"limit": 33554432, "swap": 33554432}}'
oci run --bundle /tmp/b-oom oom > /tmp/oom.out 2>&1
expect "memory: run of an OOM-killed init exits 137" $? 137

# ---------------------------------------------------------------------------------------------
echo "== events"
# jnum FILE REGEX: the number a sed -E pattern captures as \1 in the first line of FILE
jnum() { head -n1 "$1" | sed -nE "s/$2/\1/p"; }
# waitfor FILE PATTERN TENTHS: up to TENTHS x 0.1 s for FILE to contain the fixed PATTERN
waitfor() {
        n=$3
        until grep -qF -- "$2" "$1" 2>/dev/null; do
                n=$((n - 1)); [ $n -gt 0 ] || return 1
                usleep 100000
        done
}
# the container spins, then waits for /tmp/go (touched through /proc/PID/root), then allocates
# past its limit; its init survives the OOM kill of vmhelper and exits
mkconfig evt '["sh", "-c", "vmhelper spin 300; while [ ! -e /tmp/go ]; do usleep 100000; done; vmhelper alloc 100; echo rc=$?"]' \
        '{"memory": {"limit": 33554432, "swap": 33554432}, "pids": {"limit": 20}}'
if ! implemented events; then
        skip "events" "not implemented in berth-oci yet"
elif create evt && start evt; then
        pid=$(oci state evt | sed -nE 's/.*"pid": *([0-9]+).*/\1/p')
        usleep 500000
        oci events --stats evt > /tmp/evt.stats 2> /tmp/evt.err
        expect "events --stats: exit status" $? 0
        echo "events --stats: $(cat /tmp/evt.stats /tmp/evt.err)"
        expect "events --stats: one line" "$(wc -l < /tmp/evt.stats)" 1
        if head -n1 /tmp/evt.stats | grep -qE '^\{"type":"stats","id":"evt","data":\{"cpu":\{.*"network_interfaces":null\}\}$'; then
                ok "events --stats: {\"type\":\"stats\",\"id\":\"evt\",\"data\":{...}}"
        else
                bad "events --stats: {\"type\":\"stats\",\"id\":\"evt\",\"data\":{...}}" "$(cat /tmp/evt.stats /tmp/evt.err)"
        fi
        expect "events --stats: balanced braces" \
                "$(tr -cd '{' < /tmp/evt.stats | wc -c)" "$(tr -cd '}' < /tmp/evt.stats | wc -c)"
        memre='.*"memory":\{("cache":[0-9]+,)?"usage":\{"limit":([0-9]+),"usage":([0-9]+).*'
        expect "events --stats: memory.usage.limit (memory.max)" \
                "$(head -n1 /tmp/evt.stats | sed -nE "s/$memre/\2/p")" 33554432
        atleast "events --stats: memory.usage.usage (memory.current) > 0" \
                "$(head -n1 /tmp/evt.stats | sed -nE "s/$memre/\3/p")" 1
        atleast "events --stats: pids.current" \
                "$(jnum /tmp/evt.stats '.*"pids":\{"current":([0-9]+).*')" 1
        expect "events --stats: pids.limit (pids.max)" \
                "$(jnum /tmp/evt.stats '.*"pids":\{"current":[0-9]+,"limit":([0-9]+)\}.*')" 20
        atleast "events --stats: cpu.usage.total (cpu.stat usage_usec) > 0" \
                "$(jnum /tmp/evt.stats '.*"cpu":\{"usage":\{"total":([0-9]+).*')" 1

        # the stream: stats every second, and the OOM kill as it happens
        timeout -s KILL 30 berth-oci --root "$ROOT" events --interval 1s evt \
                > /tmp/evt.events 2> /tmp/evt.err &
        evpid=$!
        if waitfor /tmp/evt.events '"type":"stats"' 50; then
                ok "events: a stats event within 5s"
        else
                bad "events: a stats event within 5s" "$(cat /tmp/evt.events /tmp/evt.err)"
        fi
        t0=$(date +%s)
        touch /proc/$pid/root/tmp/go
        if waitfor /tmp/evt.events '{"type":"oom","id":"evt"}' 100; then
                ok "events: {\"type\":\"oom\",\"id\":\"evt\"} after $(($(date +%s) - t0))s"
        else
                bad "events: an oom event within 10s" "$(tr '\n' '|' < /tmp/evt.events; cat /tmp/evt.err)"
        fi
        wait_stopped evt
        has "events: the allocation was OOM-killed (137)" /tmp/evt.out "rc=137"
        n=50
        while kill -0 $evpid 2>/dev/null && [ $n -gt 0 ]; do n=$((n - 1)); usleep 100000; done
        if kill -0 $evpid 2>/dev/null; then
                bad "events: exits when the container stops" "still running 5s after"
                kill $evpid; wait $evpid
        else
                wait $evpid
                expect "events: exits 0 when the container stops" $? 0
        fi
        expect "events: one oom event" "$(grep -c '"type":"oom"' /tmp/evt.events)" 1
        expect "events: every line is a stats or oom event" \
                "$(grep -cvE '^\{"type":"(stats","id":"evt","data":\{.*\}|oom","id":"evt")\}$' /tmp/evt.events)" 0
        delete evt
        gone "events: delete removes the cgroup" $CG/berth/evt
else
        bad "events: create and start" "$(cat /tmp/evt.out)"
        delete evt --force
fi

# ---------------------------------------------------------------------------------------------
echo "== pids"
mkconfig pids '["sh", "-c", "vmhelper bomb 3; echo bomb-done"]' '{"pids": {"limit": 10}}'
if create pids; then
        ok "pids: create"
        d=$CG/berth/pids
        expect "pids.max" "$(val $d/pids.max)" 10
        if [ "$(val $d/pids.max)" != 10 ]; then
                # without the limit the bomb would take the whole guest down
                skip "pids: fork bomb" "pids.max is not set"
                delete pids --force
        else
                start pids
                sleep 1
                cur=$(val $d/pids.current)
                if [ "$cur" -le 10 ] 2>/dev/null && [ "$cur" -ge 3 ]; then
                        ok "pids: fork bomb capped (pids.current=$cur)"
                else
                        bad "pids: fork bomb capped" "pids.current=$cur"
                fi
                wait_stopped pids
                has "pids: fork bomb stops, init survives" /tmp/pids.out "bomb-done"
                atleast "pids.events max" "$(field $d/pids.events max)" 1
                delete pids
        fi
        gone "pids: delete removes the cgroup" $d
else
        bad "pids: create" "$(cat /tmp/pids.out)"
fi

# ---------------------------------------------------------------------------------------------
echo "== cpu"
mkconfig cpu '["vmhelper", "spin", "1500"]' \
        '{"cpu": {"quota": 10000, "period": 100000, "burst": 5000, "shares": 1024, "cpus": "0", "mems": "0"}}'
if create cpu; then
        ok "cpu: create"
        d=$CG/berth/cpu
        expect "cpu.max" "$(val $d/cpu.max)" "10000 100000"
        expect "cpu.max.burst" "$(val $d/cpu.max.burst)" 5000
        expect "cpu.weight (shares 1024)" "$(val $d/cpu.weight)" 39
        expect "cpuset.cpus" "$(val $d/cpuset.cpus)" 0
        expect "cpuset.mems" "$(val $d/cpuset.mems)" 0
        t0=$(field $d/cpu.stat nr_throttled)
        start cpu && wait_stopped cpu
        t1=$(field $d/cpu.stat nr_throttled)
        say_usage=$(field $d/cpu.stat usage_usec)
        if [ "${t1:-0}" -gt "${t0:-0}" ]; then
                ok "cpu.stat nr_throttled grows under load ($t0 -> $t1, usage ${say_usage}us)"
        else
                bad "cpu.stat nr_throttled grows under load" "$t0 -> $t1"
        fi
        delete cpu
        gone "cpu: delete removes the cgroup" $d
else
        bad "cpu: create" "$(cat /tmp/cpu.out)"
fi

mkconfig cpumax '["true"]' '{"cpu": {"period": 50000}}'
if create cpumax; then
        expect "cpu.max without quota" "$(val $CG/berth/cpumax/cpu.max)" "max 50000"
        delete cpumax --force
else
        bad "cpu.max without quota: create" "$(cat /tmp/cpumax.out)"
fi

# ---------------------------------------------------------------------------------------------
echo "== devices"
MEMDEV='[{"path": "/dev/mem", "type": "c", "major": 1, "minor": 1, "fileMode": 438}]'
DEVCMD='["sh", "-c", "vmhelper open /dev/mem r; vmhelper open /dev/mem w; vmhelper open /dev/null w; vmhelper open /dev/zero r; vmhelper open /dev/urandom r; vmhelper mknod /tmp/m c 1 1; vmhelper open /tmp/m r; vmhelper mknod /tmp/b b 7 0"]'
mkconfig dev "$DEVCMD" '{"devices": [{"allow": false, "access": "rwm"}]}' "$MEMDEV"
oci run --bundle /tmp/b-dev dev > /tmp/dev.out 2>&1
has "devices: deny-all: open /dev/mem fails with EPERM" /tmp/dev.out "open /dev/mem: EPERM"
has "devices: default allows /dev/null" /tmp/dev.out "open /dev/null: ok"
has "devices: default allows /dev/zero" /tmp/dev.out "open /dev/zero: ok"
has "devices: default allows /dev/urandom" /tmp/dev.out "open /dev/urandom: ok"
has "devices: default allows mknod of a char device" /tmp/dev.out "mknod /tmp/m: ok"
has "devices: ... but not opening it" /tmp/dev.out "open /tmp/m: EPERM"
has "devices: default allows mknod of a block device" /tmp/dev.out "mknod /tmp/b: ok"

# the last matching rule wins: allow c 1:1 rw after the deny-all, then deny its w again
mkconfig dev2 "$DEVCMD" '{"devices": [{"allow": false, "access": "rwm"},
        {"allow": true, "type": "c", "major": 1, "minor": 1, "access": "rw"},
        {"allow": false, "type": "c", "major": 1, "minor": -1, "access": "w"}]}' "$MEMDEV"
oci run --bundle /tmp/b-dev2 dev2 > /tmp/dev2.out 2>&1
has "devices: later allow c 1:1 r opens /dev/mem for reading" /tmp/dev2.out "open /dev/mem: ok"
if grep -q "open /dev/mem: EPERM" /tmp/dev2.out; then
        ok "devices: a later deny c 1:* w still refuses writing"
else
        bad "devices: a later deny c 1:* w still refuses writing" "$(tr '\n' '|' < /tmp/dev2.out)"
fi

# ---------------------------------------------------------------------------------------------
echo "== unified, hugetlb, io"
mkconfig uni '["true"]' '{"pids": {"limit": 20}, "unified": {"pids.max": "7", "memory.high": "50003968"},
        "hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}], "blockIO": {"weight": 500}}'
if create uni; then
        ok "unified: create"
        d=$CG/berth/uni
        expect "unified pids.max overrides pids.limit" "$(val $d/pids.max)" 7
        expect "unified memory.high" "$(val $d/memory.high)" 50003968
        expect "hugetlb.2MB.max" "$(val $d/hugetlb.2MB.max)" 4194304
        if [ -e $d/io.bfq.weight ]; then
                expect "io.bfq.weight (blkio weight 500)" "$(field $d/io.bfq.weight default)" 500
        elif [ -e $d/io.weight ]; then
                expect "io.weight (blkio weight 500)" "$(field $d/io.weight default)" 4950
        else
                echo "io: neither io.bfq.weight nor io.weight in this kernel, not checked"
        fi
        delete uni --force
        gone "unified: delete removes the cgroup" $d
else
        bad "unified: create" "$(cat /tmp/uni.out)"
fi

mkconfig unibad '["true"]' '{"unified": {"../escape": "1"}}'
if create unibad; then
        bad "unified: a key with '/' is refused" "create succeeded"
        delete unibad --force
else
        has "unified: a key with '/' is refused" /tmp/unibad.out "../escape"
fi
gone "unified: refused create leaves no cgroup" $CG/berth/unibad
gone "unified: refused create leaves no state" $ROOT/unibad

# ---------------------------------------------------------------------------------------------
echo "== io.max on a RAM disk"
if [ -b /dev/ram0 ]; then
        RAMDEV='[{"path": "/dev/ram0", "type": "b", "major": 1, "minor": 0, "fileMode": 384}]'
        mkconfig io '["sh", "-c", "dd if=/dev/ram0 of=/dev/null bs=64k count=48 iflag=direct 2>&1"]' \
                '{"devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "b", "major": 1, "minor": 0, "access": "r"}],
                  "blockIO": {"throttleReadBpsDevice": [{"major": 1, "minor": 0, "rate": 1048576}],
                              "throttleWriteIOPSDevice": [{"major": 1, "minor": 0, "rate": 100}]}}' "$RAMDEV"
        if create io; then
                d=$CG/berth/io
                expect "io.max" "$(grep '^1:0 ' $d/io.max)" "1:0 rbps=1048576 wbps=max riops=max wiops=100"
                # O_DIRECT: brd's buffered reads do not go through the throttled bio path
                t0=$(date +%s)
                start io && wait_stopped io
                t=$(($(date +%s) - t0))
                has "io: a block device allowed by a b 1:0 r rule is readable" /tmp/io.out "48+0 records out"
                atleast "io: reading 3 MiB at 1 MiB/s takes seconds" "$t" 2
                delete io
        else
                bad "io: create" "$(cat /tmp/io.out)"
        fi
        # brd is bio-based: neither BFQ nor io.cost can weigh it, and a limit that cannot be
        # applied fails create (runtime-spec runtime.md, create)
        mkconfig iow '["true"]' '{"blockIO": {"weightDevice": [{"major": 1, "minor": 0, "weight": 300}]}}' "$RAMDEV"
        if create iow; then
                bad "io: weightDevice on a device without BFQ or io.cost is refused" "create succeeded"
                delete iow --force
        else
                has "io: weightDevice on a device without BFQ or io.cost is refused" /tmp/iow.out \
                        "weightDevice: device 1:0 takes no weights"
        fi
        gone "io: refused create leaves no cgroup" $CG/berth/iow
else
        skip "io.max" "no /dev/ram0 (brd module)"
fi

# ---------------------------------------------------------------------------------------------
echo "== pause, resume, update"
# the container checks /dev/mem every 0.2 s: its device filter must survive an update that names
# no devices, and be replaced (not stacked) by one that does
mkconfig frz '["sh", "-c", "while :; do vmhelper open /dev/mem r; usleep 200000; done"]' \
        '{"memory": {"limit": 67108864}, "devices": [{"allow": false, "access": "rwm"},
          {"allow": true, "type": "c", "major": 1, "minor": 1, "access": "r"}]}' "$MEMDEV"
# lastmem: the container's latest verdict on /dev/mem, after it had time for a new one
lastmem() { usleep 500000; grep 'open /dev/mem' /tmp/frz.out | tail -n1; }
if create frz && start frz; then
        d=$CG/berth/frz
        expect "devices: allowed /dev/mem opens" "$(lastmem)" "open /dev/mem: ok"
        if implemented pause; then
                oci pause frz >> /tmp/frz.log 2>&1
                expect "pause: cgroup.freeze" "$(val $d/cgroup.freeze)" 1
                expect "pause: cgroup.events frozen" "$(field $d/cgroup.events frozen)" 1
                if oci state frz | grep -q '"paused"'; then ok "pause: state paused"; else bad "pause: state paused" "$(oci state frz)"; fi
                n0=$(grep -c 'open /dev/mem' /tmp/frz.out); sleep 1; n1=$(grep -c 'open /dev/mem' /tmp/frz.out)
                expect "pause: the container does nothing while frozen" "$n1" "$n0"
                oci resume frz >> /tmp/frz.log 2>&1
                expect "resume: cgroup.events frozen" "$(field $d/cgroup.events frozen)" 0
                if oci state frz | grep -q '"running"'; then ok "resume: state running"; else bad "resume: state running" "$(oci state frz)"; fi
        else
                skip "pause/resume" "not implemented in berth-oci yet"
        fi
        if implemented ps; then
                pids=$(oci ps --format json frz 2>&1)
                initpid=$(oci state frz | sed -n 's/.*"pid": *\([0-9][0-9]*\).*/\1/p')
                case "$initpid:$pids" in
                [0-9]*:"["*"$initpid"*"]") ok "ps -f json lists the container's init ($initpid)" ;;
                *) bad "ps -f json lists the container's init" "$pids (init '$initpid')" ;;
                esac
        fi
        if implemented update; then
                echo '{"memory": {"limit": 100663296}, "pids": {"limit": 50}}' > /tmp/upd.json
                oci update -r /tmp/upd.json frz >> /tmp/frz.log 2>&1
                expect "update: memory.max" "$(val $d/memory.max)" 100663296
                expect "update: pids.max" "$(val $d/pids.max)" 50
                oci update --memory 83886080 frz >> /tmp/frz.log 2>&1
                expect "update --memory: memory.max" "$(val $d/memory.max)" 83886080
                expect "update without devices keeps the device filter" "$(lastmem)" "open /dev/mem: ok"
                # as runc: update never rewrites device rules; it warns that it ignores them
                echo '{"devices": [{"allow": false, "access": "rwm"}]}' > /tmp/upd.json
                oci update -r /tmp/upd.json frz > /tmp/upd.err 2>&1
                expect "update with devices keeps the device filter" "$(lastmem)" "open /dev/mem: ok"
                if grep -q "device rules cannot be updated, ignoring" /tmp/upd.err; then ok "update with devices warns it ignores them"; else bad "update with devices warns it ignores them" "$(cat /tmp/upd.err)"; fi
        else
                skip "update" "not implemented in berth-oci yet"
        fi
        delete frz --force
        gone "pause/update: delete --force removes the cgroup" $d
else
        bad "pause/update: create and start" "$(cat /tmp/frz.out)"
        delete frz --force
fi

# ---------------------------------------------------------------------------------------------
echo "== controllers, CLONE_INTO_CGROUP, cgroup namespace"
missing=
for c in cpuset cpu io memory hugetlb pids rdma misc; do
        grep -qw $c $CG/berth/cgroup.subtree_control 2>/dev/null || missing="$missing $c"
done
expect "/berth enables every controller for its children" "$missing" ""
mkconfig cgself '["cat", "/proc/self/cgroup"]'
expect "with a cgroup namespace the container sees itself at /" "$(oci run --bundle /tmp/b-cgself cgself 2>&1)" "0::/"
NO_CGROUPNS=1 mkconfig cgself2 '["cat", "/proc/self/cgroup"]'
expect "without one, born in its cgroup" "$(oci run --bundle /tmp/b-cgself2 cgself2 2>&1)" "0::/berth/cgself2"

# ---------------------------------------------------------------------------------------------
echo "== host-owned parent, kill --all, nested cgroups, delete --force"
# an absolute cgroupsPath under a parent berth did not create: berth enables the controllers it
# needs there (pure v2 host), and leaves the parent in place
mkdir $CG/vmhost.slice
LOOP='["sh", "-c", "sleep 1000 & sleep 1000 & while :; do sleep 1; done"]'
mkconfig abs "$LOOP" '{"memory": {"limit": 67108864}}' '[]' /vmhost.slice/abs
if create abs; then
        ok "abs path: create under a host-owned parent"
        d=$CG/vmhost.slice/abs
        expect "abs path: memory.max" "$(val $d/memory.max)" 67108864
        start abs
        usleep 500000
        atleast "abs path: processes in the cgroup" "$(wc -l < $d/cgroup.procs)" 3

        atleast "... and keeps its processes" "$(wc -l < $d/cgroup.procs)" 3

        oci kill --all abs TERM
        usleep 500000
        expect "kill --all TERM reaches every process" "$(ps -o args | grep -c '^sleep 1000')" 0
        atleast "... the init (no TERM handler) stays" "$(wc -l < $d/cgroup.procs)" 1

        mkdir $d/nested   # as systemd in a container would
        delete abs --force
        gone "delete --force removes the cgroup and the ones made inside it" $d
        if [ -d $CG/vmhost.slice ]; then ok "host-owned parent kept"; else bad "host-owned parent kept"; fi
else
        bad "abs path: create" "$(cat /tmp/abs.out)"
fi
rmdir $CG/vmhost.slice 2>/dev/null

# a host-owned parent with processes of its own cannot give its children controllers ("no internal
# processes"): a warning for the parent, and a container that asks for a limit there is refused
# (runtime-spec runtime.md, create: a property the runtime cannot apply MUST fail create)
mkdir $CG/vmbusy.slice
sleep 1000 &
busy=$!
echo $busy > $CG/vmbusy.slice/cgroup.procs
mkconfig busy '["echo", "ran"]' '{"memory": {"limit": 67108864}}' '[]' /vmbusy.slice/busy
if oci run --bundle /tmp/b-busy busy > /tmp/busy.out 2>&1; then
        bad "busy host parent: a memory limit there is refused" "$(tr '\n' '|' < /tmp/busy.out)"
        oci delete --force busy 2>/dev/null
else
        ok "busy host parent: a memory limit there is refused"
fi
has "busy host parent: warns and leaves it alone" /tmp/busy.out "has processes of its own"
expect "busy host parent: its subtree_control untouched" "$(val $CG/vmbusy.slice/cgroup.subtree_control)" ""
has "busy host parent: says the limit cannot be applied" /tmp/busy.out "linux.resources.memory: cgroup /vmbusy.slice/busy did not get the memory controller"
gone "busy host parent: refused run leaves no cgroup" $CG/vmbusy.slice/busy
mkconfig busyok '["echo", "ran"]' '{}' '[]' /vmbusy.slice/busyok
if oci run --bundle /tmp/b-busyok busyok > /tmp/busyok.out 2>&1; then
        ok "busy host parent: a container without limits runs"
else
        bad "busy host parent: a container without limits runs" "$(tr '\n' '|' < /tmp/busyok.out)"
fi
kill $busy; wait $busy 2>/dev/null
rmdir $CG/vmbusy.slice 2>/dev/null

# ---------------------------------------------------------------------------------------------
echo "== exec: into the container's cgroup, refused while paused, nothing left after delete"
# cg_of PID: the cgroup2 line of /proc/PID/cgroup, as the host sees it
cg_of() { sed -n 's/^0:://p' /proc/$1/cgroup 2>/dev/null; }
mkconfig ex '["sh", "-c", "trap \"exit 0\" TERM; while :; do usleep 100000; done"]' '{"pids": {"limit": 20}}'
if ! implemented exec; then
        skip "exec" "not implemented in berth-oci yet"
elif create ex && start ex; then
        d=$CG/berth/ex
        initpid=$(oci state ex | sed -n 's/.*"pid": *\([0-9][0-9]*\).*/\1/p')
        expect "exec: the init is in /berth/ex" "$(cg_of $initpid)" /berth/ex
        oci exec --detach --pid-file /tmp/ex.pid ex sleep 1000 > /tmp/ex.exec 2>&1
        expect "exec --detach: exit status" $? 0
        xpid=$(cat /tmp/ex.pid 2>/dev/null)
        expect "exec --detach: the exec'd process's cgroup is the init's" \
                "$(cg_of "${xpid:-none}")" "$(cg_of $initpid)"
        if grep -qx "${xpid:-none}" $d/cgroup.procs; then ok "exec: its pid is in $d/cgroup.procs"; else bad "exec: its pid is in $d/cgroup.procs" "$xpid not in: $(tr '\n' ' ' < $d/cgroup.procs)"; fi
        # in the foreground, joined to the cgroup namespace too: it sees itself at its root
        expect "exec: in the container's cgroup namespace, at its root" \
                "$(oci exec ex cat /proc/self/cgroup 2>&1)" "0::/"
        if implemented pause; then
                oci pause ex >> /tmp/ex.log 2>&1
                n0=$(wc -l < $d/cgroup.procs)
                out=$(oci exec ex echo should-not-run 2>&1); rc=$?
                expect "exec into a paused (cgroup.freeze) container: refused (255)" $rc 255
                case $out in
                *'cannot exec in a paused container'*) ok "exec into a paused container: says why (runc's words)" ;;
                *) bad "exec into a paused container: says why" "$out" ;;
                esac
                expect "exec into a paused container: no process added" "$(wc -l < $d/cgroup.procs)" "$n0"
                expect "exec into a paused container: still frozen" "$(field $d/cgroup.events frozen)" 1
                oci resume ex >> /tmp/ex.log 2>&1
                expect "exec after resume" "$(oci exec ex echo resumed 2>&1)" resumed
        else
                skip "exec into a paused container" "pause is not implemented in berth-oci yet"
        fi
        delete ex --force
        gone "exec: delete --force removes the cgroup" $d
        gone "exec: ... and the exec'd process" /proc/${xpid:-none}
        gone "exec: ... and the state" $ROOT/ex
else
        bad "exec: create and start" "$(cat /tmp/ex.out)"
        delete ex --force
fi

# CLONE_INTO_CGROUP: the exec'd process is born in the container's cgroup, so the kernel charges
# the fork to it; at pids.max the clone itself fails. (A process moved in after the fork would
# not be refused: migration does not check pids.max.)
mkconfig exfull '["sleep", "1000"]' '{"pids": {"limit": 1}}'
if ! implemented exec; then
        skip "exec at pids.max" "exec is not implemented in berth-oci yet"
elif create exfull && start exfull; then
        d=$CG/berth/exfull
        expect "exec at pids.max: the container is full" "$(val $d/pids.current)" 1
        e0=$(field $d/pids.events max)
        out=$(oci exec exfull true 2>&1); rc=$?
        expect "exec at pids.max: refused (255)" $rc 255
        case $out in
        *"clone3 the exec process into cgroup /berth/exfull (is it at its pids.max?): Resource temporarily unavailable"*)
                ok "exec at pids.max: clone3 into the cgroup fails with EAGAIN, naming the cgroup" ;;
        *) bad "exec at pids.max: clone3 into the cgroup fails with EAGAIN, naming the cgroup" "$out" ;;
        esac
        atleast "exec at pids.max: pids.events max counts it" "$(field $d/pids.events max)" $((${e0:-0} + 1))
        expect "exec at pids.max: nothing added" "$(wc -l < $d/cgroup.procs)" 1
        delete exfull --force
        gone "exec at pids.max: delete --force removes the cgroup" $d
else
        bad "exec at pids.max: create and start" "$(cat /tmp/exfull.out)"
        delete exfull --force
fi

# ---------------------------------------------------------------------------------------------
echo "== runc 1.1's cgroup rules: relative cgroupsPath, a frozen or busy cgroup, exec --cgroup"
initpid_of() { oci state "$1" | sed -n 's/.*"pid": *\([0-9][0-9]*\).*/\1/p'; }
# a relative cgroupsPath is taken from the root of the (runtime's cgroup namespace's) hierarchy,
# as crun and runc (from the root cgroup) take it; not under /berth
NO_CGROUPNS=1 mkconfig rel '["sleep", "1000"]' '{}' '[]' vmrel/ct
if create rel; then
        expect "relative cgroupsPath: from the root" "$(cg_of $(initpid_of rel))" /vmrel/ct
        gone "relative cgroupsPath: nothing under /berth" $CG/berth/vmrel
        delete rel --force
        gone "relative cgroupsPath: delete removes it" $CG/vmrel/ct
else
        bad "relative cgroupsPath: create" "$(cat /tmp/rel.out)"
fi
rmdir $CG/vmrel 2>/dev/null

# a cgroup that exists frozen (cgroup.freeze 1) is refused with runc's error, and left as it was
mkdir -p $CG/vmfrz/ct
echo 1 > $CG/vmfrz/ct/cgroup.freeze
mkconfig frzpre '["true"]' '{}' '[]' /vmfrz/ct
if create frzpre; then
        bad "frozen cgroup: create refused" "create succeeded"
        delete frzpre --force
else
        has "frozen cgroup: runc's error" /tmp/frzpre.out "container's cgroup unexpectedly frozen"
        expect "frozen cgroup: no container" "$(oci list -q | grep -c frzpre)" 0
        expect "frozen cgroup: left as it was (frozen, empty)" \
                "$(val $CG/vmfrz/ct/cgroup.freeze):$(wc -l < $CG/vmfrz/ct/cgroup.procs)" "1:0"
fi
echo 0 > $CG/vmfrz/ct/cgroup.freeze
rmdir $CG/vmfrz/ct $CG/vmfrz 2>/dev/null

# one with processes is joined, with runc's warning
mkconfig busy1 '["sleep", "1000"]' '{}' '[]' /vmshared/ct
mkconfig busy2 '["sleep", "1000"]' '{}' '[]' /vmshared/ct
if create busy1 && start busy1; then
        if create busy2; then
                ok "non-empty cgroup: a second container joins it"
                has "non-empty cgroup: runc's warning" /tmp/busy2.out "container's cgroup is not empty: 1 process(es) found"
                expect "non-empty cgroup: both in it" "$(wc -l < $CG/vmshared/ct/cgroup.procs)" 2
        else
                bad "non-empty cgroup: a second container joins it" "$(cat /tmp/busy2.out)"
        fi
else
        bad "non-empty cgroup: the first container" "$(cat /tmp/busy1.out)"
fi
delete busy2 --force
delete busy1 --force
gone "non-empty cgroup: delete removes it" $CG/vmshared/ct
rmdir $CG/vmshared 2>/dev/null

# exec --cgroup SUB (runc's exec.bats "exec --cgroup subcgroup [v2]"), without a cgroup namespace
NO_CGROUPNS=1 mkconfig exs '["sleep", "1000"]'
if ! create exs || ! start exs; then
        bad "exec --cgroup: create and start" "$(cat /tmp/exs.out)"
else
        d=$CG/berth/exs
        # exec_cg NAME WANT FLAGS...: the 0:: line of an exec'd cat /proc/self/cgroup
        exec_cg() { n=$1; w=$2; shift 2; expect "$n" "$(oci exec "$@" exs cat /proc/self/cgroup 2>&1)" "$w"; }
        # exec_err NAME PATTERN FLAGS...: exec fails (255) with PATTERN in its error
        exec_err() {
                n=$1; pat=$2; shift 2
                out=$(oci exec "$@" exs true 2>&1); rc=$?
                case "$rc:$out" in
                255:*"$pat"*) ok "$n" ;;
                *) bad "$n" "exit $rc: $out" ;;
                esac
        }
        exec_err "exec --cgroup ..: not a sub cgroup path" ".. is not a sub cgroup path" --cgroup ..
        exec_err "exec --cgroup nonexistent: runc's error" "adding pid " --cgroup nonexistent
        exec_err "exec --cgroup nonexistent: names the file" "$d/nonexistent/cgroup.procs: no such file or directory" --cgroup nonexistent
        exec_err "exec --cgroup CTRL:SUB on v2: unknown controller" "unknown controller memory in SubCgroupPaths" --cgroup memory:x
        exec_cg "exec: the container's cgroup" 0::/berth/exs
        exec_cg "exec --cgroup /: the container's cgroup" 0::/berth/exs --cgroup /
        mkdir $d/foobar
        exec_cg "exec --cgroup foobar" 0::/berth/exs/foobar --cgroup foobar
        # the init moves into foobar and the container's cgroup enables a domain controller: it
        # takes no process any more; exec then joins the init's cgroup, as runc's fallback, unless
        # --cgroup chose one
        echo $(initpid_of exs) > $d/foobar/cgroup.procs
        echo +memory > $d/cgroup.subtree_control
        exec_cg "exec: falls back to the init's cgroup (EBUSY)" 0::/berth/exs/foobar
        exec_err "exec --cgroup /: no fallback, runc's error" "/cgroup.procs: device or resource busy" --cgroup /
        exec_cg "exec --cgroup foobar there" 0::/berth/exs/foobar --cgroup foobar
        mkdir $d/second
        exec_cg "exec --cgroup second" 0::/berth/exs/second --cgroup second
        # the container's processes include its sub-cgroups' (runc's GetAllPids): the init is in
        # foobar, nothing is left in the container's own cgroup
        expect "the container's own cgroup is empty" "$(wc -l < $d/cgroup.procs)" 0
        if oci ps exs 2>&1 | grep -q 'sleep 1000'; then ok "ps lists a process of a sub-cgroup"; else bad "ps lists a process of a sub-cgroup" "$(oci ps exs 2>&1)"; fi
        delete exs --force
        gone "exec --cgroup: delete --force removes the sub-cgroups" $d
        expect "delete --force kills the sub-cgroup's process" "$(ps -o args | grep -c '^sleep 1000')" 0
fi

# ---------------------------------------------------------------------------------------------
left=$(find $CG/berth -mindepth 1 -type d 2>/dev/null)
expect "no container cgroup left under /berth" "$left" ""
echo "checks: pass=$pass fail=$fail"
[ $fail = 0 ]
