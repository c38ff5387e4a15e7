#!/usr/bin/env bash
# Paired comparison of two builds of the health prober (`lvsync-health-bench`): both probe the
# same real servers every 2 s at the same time, against one responder, in a network namespace
# made here (every 10.0.0.0/8 address local on lo), so that whatever else the machine is doing
# weighs on both alike. Prints each one's CPU (utime + stime) over the window, twice, the start
# order swapped the second time. On loopback both ends of each connection are charged to the
# prober's system calls: compare the two figures with each other, not with the 25% target
# (bench/health-bench.sh --host measures that).
# Usage (as root): bench/health-ab.sh OLD_BINARY NEW_BINARY [tcp|http [REALS [WINDOW_SECONDS]]]
# Build a binary with `cargo build --release --bin lvsync-health-bench` and copy
# target/release/lvsync-health-bench aside before changing the code.
set -euo pipefail
[ $# -ge 2 ] || { sed -n 2,11p "$0" >&2; exit 2; }
bench_dir=$(cd "$(dirname "$0")" && pwd)
old=$(realpath "$1") new=$(realpath "$2") kind=${3:-tcp} reals=${4:-16000} window=${5:-20}
if [ -z "${LVSYNC_AB_NETNS:-}" ]; then
    exec unshare --net env LVSYNC_AB_NETNS=1 "$0" "$old" "$new" "$kind" "$reals" "$window"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
awk -v R="$reals" -v K="$kind" -v Y="$work/targets.yaml" -v C=/dev/null -f "$bench_dir/health-targets.awk"
ip link set lo up
ip route add local 10.0.0.0/8 dev lo
sysctl -qw net.core.somaxconn=4096 net.ipv4.tcp_max_syn_backlog=8192
(ulimit -n "$(ulimit -H -n)"; exec "$old" serve 0.0.0.0:8080 "$work/served") &
responder=$!
sleep 1
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
echo "$kind checks of $reals real servers every 2 s, ${window} s windows; CPU in % of one core"
for order in "old new" "new old"; do
    read -r first second <<< "$order"
    declare -A pid=()
    for which in $first $second; do
        bin=$old
        [ "$which" = new ] && bin=$new
        "$bin" probe "$work/targets.yaml" $((window + 10)) > "$work/$which.out" 2>&1 &
        pid[$which]=$!
    done
    sleep 6
    a_old=$(ticks "${pid[old]}") a_new=$(ticks "${pid[new]}")
    sleep "$window"
    b_old=$(ticks "${pid[old]}") b_new=$(ticks "${pid[new]}")
    wait "${pid[old]}" "${pid[new]}" || true
    awk -v o=$((b_old - a_old)) -v n=$((b_new - a_new)) -v hz="$hz" -v w="$window" -v f="$first" \
        -v l="$(cut -d' ' -f1 /proc/loadavg)" \
        'BEGIN { printf "old %.1f%%  new %.1f%%  (new/old %.3f; %s started first; load %s)\n", o / hz / w * 100, n / hz / w * 100, n / o, f, l }'
    for which in old new; do
        echo "  $which: $(awk '$1 == "probes" { printf "%s %s %s  ", $2, $3, $4 }' "$work/$which.out")"
    done
done
kill "$responder"
