#!/usr/bin/env bash
# lvsync against ipvsadm on the same IPVS table, side by side in ONE User-Mode Linux boot, at
# each size in turn (2,000 and 20,000 services by default):
#   bulk apply from an empty table      vs  ipvsadm-restore
#   plan with nothing to change         vs  ipvsadm-save -n
#   apply of one weight change
#   peak RSS of plan
# Usage (as root): bench/ipvs-bench.sh ["SIZES" [REALS]]     (default "2000 20000" services x 8 real servers)
# UML is slower per system call than a real machine: compare the tools with each other, not
# with figures measured elsewhere.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

if [ "${1:-}" != "--inside" ]; then
    sizes=${1:-2000 20000}
    reals=${2:-8}
    [ -x /usr/bin/linux.uml ] || { echo "error: install user-mode-linux (apt-get install -y user-mode-linux kmod ipvsadm)" >&2; exit 1; }
    cd "$repo"
    cargo build --release --quiet
    # On disk, not under /tmp or /run: the kernel mounts tmpfs over those.
    work=$repo/target/bench-ipvs
    rm -rf "$work"
    mkdir -p "$work/modules/lib"
    ln -s /usr/lib/uml/modules "$work/modules/lib/modules"
    for services in $sizes; do
        # The same table twice: as an lvsync file and as ipvsadm-restore input. Real servers get
        # weights 1..5 and live in 10.64.0.0/10, which the director's dummy interface makes
        # routable.
        dir=$work/$services
        mkdir -p "$dir"
        awk -v S="$services" -v R="$reals" -v Y="$dir/bench.yaml" -v F="$dir/bench.rules" 'BEGIN {
            print "version: 1\nownership: exclusive\nservices:" > Y
            for (i = 0; i < S; i++) {
                vip = sprintf("10.3.%d.%d", int(i / 250), i % 250 + 1)
                printf "  - name: s%d\n    vip: %s\n    port: 80\n    scheduler: wlc\n    forward: dr\n    real_servers:\n", i, vip > Y
                printf "-A -t %s:80 -s wlc\n", vip > F
                for (j = 0; j < R; j++) {
                    n = i * R + j
                    addr = sprintf("10.%d.%d.%d", 64 + int(n / 62500), int(n / 250) % 250, n % 250 + 1)
                    printf "      - {address: %s, weight: %d}\n", addr, n % 5 + 1 > Y
                    printf "-a -t %s:80 -r %s:80 -g -w %d\n", vip, addr, n % 5 + 1 > F
                }
            }
        }'
        # One weight changed: the first real server of service s0 (weight 1 -> 9).
        sed '0,/weight: 1}/s//weight: 9}/' "$dir/bench.yaml" > "$dir/bench-one-weight.yaml"
        # Every weight changed (1..5 -> 11..15): as many in-place updates as there are real servers.
        sed 's/weight: \([0-9]\)}/weight: 1\1}/' "$dir/bench.yaml" > "$dir/bench-all-weights.yaml"
    done
    {
        echo '#!/bin/sh'
        echo 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
        echo 'mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t tmpfs tmpfs /run; mount -t tmpfs tmpfs /tmp'
        for m in ip_vs ip_vs_wlc ip_vs_rr dummy ip_tables iptable_filter ip6_tables ip6table_filter xt_comment; do
            echo "modprobe -d '$work/modules' $m"
        done
        echo 'ip link set lo up'
        echo 'status=0'
        for services in $sizes; do
            echo "'$repo/bench/ipvs-bench.sh' --inside '$work/$services' >> '$work/output' 2>&1 || status=1"
            echo "echo >> '$work/output'"
        done
        echo "echo \$status > '$work/status'"
        echo 'sync; halt -f'
    } > "$work/init"
    chmod +x "$work/init"
    echo "booting User-Mode Linux: $sizes services x $reals real servers..." >&2
    /usr/bin/linux.uml mem=2048M root=/dev/root rootfstype=hostfs rootflags=/ rw con=null con0=null,fd:2 \
        "init=$work/init" </dev/null >/dev/null 2>"$work/console" || true
    cat "$work/output"
    exit "$(cat "$work/status" 2>/dev/null || echo 1)"
fi

# ---- inside the kernel ----
work=$2
# Everything runs in namespaces made here, so that no IPVS table or dest trash of an earlier
# step (see below) slows a later one.
[ -n "${LVSYNC_BENCH_NETNS:-}" ] || exec unshare --net env LVSYNC_BENCH_NETNS=1 "$0" --inside "$work"
lvsync="$repo/target/release/lvsync"
opts=(--state-dir "$work/state" --iptables iptables-legacy)
# The director's own interface makes the real servers (10.64.0.0/10) routable.
net_setup='ip link set lo up; ip link add lvs0 type dummy; ip link set lvs0 up; ip addr add 10.64.0.254/10 dev lvs0'
eval "$net_setup"

# Clock reads are bash's own ($EPOCHREALTIME, in microseconds once the dot is gone): starting a
# `date` process costs tens of milliseconds in User-Mode Linux, which would be counted against
# whichever tool is being timed.
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# The wall time of one run of a command, in ms.
time_ms() {
    local s=${EPOCHREALTIME/./}
    eval "$1" >/dev/null
    local e=${EPOCHREALTIME/./}
    echo $(( (e - s) / 1000 ))
}
# Run a command once in a new network namespace, whose IPVS table is empty as at boot; print
# its wall time in ms (the namespace's setup is not timed). The kernel tears a namespace down
# in the background, and freeing a table of this size takes it seconds: wait for that, so that
# it does not slow whatever is timed next.
in_fresh_netns() {
    unshare --net bash -c "$net_setup; s=\${EPOCHREALTIME/./}; $1 >/dev/null; e=\${EPOCHREALTIME/./}; echo \$(( (e - s) / 1000 ))"
    sleep "$settle"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1fx", (b > 0 ? a / b : 0) }'; }

services=$(grep -c '^-A' "$work/bench.rules")
dests=$(grep -c '^-a' "$work/bench.rules")
# Seconds for the kernel to free a table (grows with it), and runs of each bulk measurement: at
# 20,000 services one ipvsadm-restore takes minutes in User-Mode Linux.
settle=$(( 5 * (services + 1999) / 2000 ))
runs=3
[ "$services" -le 2000 ] || runs=1

# Both tools' programs into the page cache first: the first run of a program in a boot reads it
# through hostfs, which for lvsync's 11 MB (ipvsadm's is far smaller) cost its first bulk run
# a second and more; on a director the program is read once, not on every apply.
cat "$lvsync" "$(command -v ipvsadm)" "$(command -v ipvsadm-restore)" "$(command -v ipvsadm-save)" > /dev/null

# Bulk apply from an empty table: each run in a new namespace. Reusing one namespace after
# `ipvsadm -C` is not an empty table to the kernel: the deleted real servers wait in its dest
# trash (up to 2 minutes), and every NEW_DEST scans that list, which slows both tools.
# The two tools take turns, so that a slow spell of the machine hits both.
for _ in $(seq "$runs"); do
    in_fresh_netns "ipvsadm-restore < '$work/bench.rules'" >> "$work/t-restore"
    rm -rf "$work/state"
    in_fresh_netns "'$lvsync' ${opts[*]} apply -q '$work/bench.yaml'" >> "$work/t-apply"
done
restore=$(median < "$work/t-restore")
apply=$(median < "$work/t-apply")
# The same, right after `ipvsadm -C` of the same table in one namespace (one run each; only at
# small sizes, where it takes seconds).
restore_trash=0 apply_trash=0
if [ "$runs" -gt 1 ]; then
    restore_trash=$(in_fresh_netns "ipvsadm-restore < '$work/bench.rules'; ipvsadm -C; s=\${EPOCHREALTIME/./}; ipvsadm-restore < '$work/bench.rules'")
    rm -rf "$work/state"
    apply_trash=$(in_fresh_netns "ipvsadm-restore < '$work/bench.rules'; ipvsadm -C; s=\${EPOCHREALTIME/./}; '$lvsync' ${opts[*]} apply -q '$work/bench.yaml'")
fi

# The rest in this namespace, on one table. Both tools must build the same table.
unshare --net bash -c "$net_setup; ipvsadm-restore < '$work/bench.rules'; ipvsadm-save -n | sort > '$work/saved-by-ipvsadm'"
sleep 5
rm -rf "$work/state"
"$lvsync" "${opts[@]}" apply -q "$work/bench.yaml" >/dev/null
ipvsadm-save -n | sort > "$work/saved-by-lvsync"
cmp -s "$work/saved-by-ipvsadm" "$work/saved-by-lvsync" || { echo "FAIL: lvsync and ipvsadm-restore built different tables"; exit 1; }
for _ in 1 2 3 4 5; do
    time_ms "ipvsadm-save -n" >> "$work/t-save"
    time_ms "'$lvsync' ${opts[*]} plan --detailed-exitcode '$work/bench.yaml'" >> "$work/t-plan"
done
save=$(median < "$work/t-save")
plan=$(median < "$work/t-plan")
"$lvsync" "${opts[@]}" plan --detailed-exitcode "$work/bench.yaml" >/dev/null || { echo "FAIL: plan after apply is not empty"; exit 1; }
rss=0
if [ -x /usr/bin/time ]; then rss=$(/usr/bin/time -f %M "$lvsync" "${opts[@]}" plan "$work/bench.yaml" 2>&1 >/dev/null | tail -1); fi
one=$(time_ms "'$lvsync' ${opts[*]} apply '$work/bench-one-weight.yaml' > '$work/one-weight.out'")
all=$(time_ms "'$lvsync' ${opts[*]} apply -q '$work/bench-all-weights.yaml'")
"$lvsync" "${opts[@]}" apply -q "$work/bench.yaml" >/dev/null
grep -q "update" "$work/one-weight.out" || { echo "FAIL: the weight change was not applied"; cat "$work/one-weight.out"; exit 1; }

# Where lvsync's time goes: its own debug log times each phase; validate times the file.
validate=$(for _ in 1 2 3; do time_ms "'$lvsync' validate '$work/bench.yaml'"; done | median)
ms_of() { grep "$1" "$2" | grep -o 'ms=[0-9]*' | tail -1 | cut -d= -f2; }
rm -rf "$work/state"
# The kernel's own cost of the writes is the sending phase: the kernel handles each netlink
# request inside the system call that sends it. (User-Mode Linux does not account system time
# to the process, so `time` cannot tell it.)
in_fresh_netns "LVSYNC_LOG=lvsync=debug '$lvsync' ${opts[*]} apply '$work/bench.yaml' 2>'$work/apply.log'" >/dev/null
LVSYNC_LOG=lvsync=debug "$lvsync" "${opts[@]}" plan "$work/bench.yaml" >/dev/null 2>"$work/plan.log"
planned=$(ms_of 'planned' "$work/apply.log")
sent=$(ms_of 'sent the IPVS changes' "$work/apply.log")
reread=$(ms_of 'read IPVS services' "$work/apply.log")
read=$(ms_of 'read the IPVS table' "$work/plan.log")

echo "IPVS table: $services services, $dests real servers (Linux $(uname -r), User-Mode Linux; median of $runs run(s), 5 for plan and save)"
printf '%-48s %8s ms\n' "ipvsadm-restore (empty table)" "$restore"
printf '%-48s %8s ms   %s faster than ipvsadm-restore (target 10x)\n' "lvsync apply (empty table)" "$apply" "$(ratio "$restore" "$apply")"
printf '%-48s %8s ms\n' "ipvsadm-save -n" "$save"
printf '%-48s %8s ms   %s faster than ipvsadm-save -n (target 5x at 2,000, 3x at 20,000)\n' "lvsync plan (nothing to change)" "$plan" "$(ratio "$save" "$plan")"
printf '%-48s %8s ms\n' "lvsync apply (one weight changed)" "$one"
printf '%-48s %8s ms\n' "lvsync apply (every weight changed, in place)" "$all"
if [ "$rss" -gt 0 ]; then
    printf '%-48s %8s MiB (target 128 at 20,000)\n' "lvsync plan peak RSS" "$(( rss / 1024 ))"
else
    echo "lvsync plan peak RSS: not measured (install the Debian package \`time\` for /usr/bin/time)"
fi
if [ "$runs" -gt 1 ]; then
    echo "right after ipvsadm -C, with $dests deleted real servers in the kernel's trash (one run each):"
    printf '  %-46s %8s ms\n' "ipvsadm-restore" "$restore_trash"
    printf '  %-46s %8s ms   %s faster than ipvsadm-restore\n' "lvsync apply" "$apply_trash" "$(ratio "$restore_trash" "$apply_trash")"
fi
echo "every bulk run (ms): ipvsadm-restore $(tr '\n' ' ' < "$work/t-restore"); lvsync apply $(tr '\n' ' ' < "$work/t-apply")"
echo "of which (lvsync's debug log):"
printf '  %-46s %8s ms\n' "reading + checking the file (lvsync validate)" "$validate"
printf '  %-46s %8s ms\n' "apply: planning $((services + dests)) changes" "$planned"
printf '  %-46s %8s ms   %s faster than ipvsadm-restore\n' "apply: sending $((services + dests)) requests" "$sent" "$(ratio "$restore" "$sent")"
printf '  %-46s %8s    of the bulk apply is the kernel'"'"'s own work\n' "the sending, against the whole apply" "$(awk -v a="$sent" -v b="$apply" 'BEGIN { printf "%.0f%%", (b > 0 ? 100 * a / b : 0) }')"
printf '  %-46s %8s ms\n' "apply: reading the services back" "$reread"
printf '  %-46s %8s ms   %s faster than ipvsadm-save -n\n' "plan: reading the IPVS table over netlink" "$read" "$(ratio "$save" "$read")"
