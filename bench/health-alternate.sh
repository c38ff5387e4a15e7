#!/usr/bin/env bash
# Builds of the health prober (`lvsync-health-bench`) taking turns, in the director/real-servers
# split of `health-bench.sh --host`: two network namespaces made here ("lvsync-alt-dir" and
# "lvsync-alt-rs", every 10.0.0.0/8 address local in the second), joined by a veth pair with GRO
# on, TSO off and threaded NAPI. Each build probes the same real servers alone for the window,
# the builds alternating for ROUNDS rounds, so that a change in the machine's load shows as a
# difference between rounds rather than between builds. Prints, per run, in % of one core: the
# prober (utime + stime), the director end's NAPI thread, their sum (the director), and the
# real servers' side (their NAPI thread and the responder, the first build's).
# For changes that move work between the director and the real servers, or between a process
# and its NAPI thread, where `health-ab.sh` (one namespace, loopback) charges both ends to the
# prober.
# Usage (as root): bench/health-alternate.sh KIND REALS WINDOW_SECONDS ROUNDS BINARY...
set -euo pipefail
[ $# -ge 5 ] || { sed -n 2,14p "$0" >&2; exit 2; }
repo=$(cd "$(dirname "$0")/.." && pwd)
kind=$1 reals=$2 window=$3 rounds=$4
shift 4
for tool in ip ethtool pgrep; do
    command -v "$tool" >/dev/null || { echo "error: install $tool (apt-get install -y iproute2 ethtool procps)" >&2; exit 1; }
done
d=lvsync-alt-dir r=lvsync-alt-rs
work=$(mktemp -d)
responder=
cleanup() {
    [ -z "$responder" ] || { kill "$responder" 2>/dev/null; wait "$responder" 2>/dev/null || true; }
    ip netns del "$d" 2>/dev/null || true
    ip netns del "$r" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
awk -v R="$reals" -v K="$kind" -v Y="$work/targets.yaml" -v C=/dev/null -f "$repo/bench/health-targets.awk"
ip netns add "$d"
ip netns add "$r"
ip link add alt-d0 netns "$d" type veth peer name alt-r0 netns "$r"
for end in "$d alt-d0 192.168.79.1" "$r alt-r0 192.168.79.2"; do
    read -r ns dev addr <<< "$end"
    ip netns exec "$ns" ethtool -K "$dev" gro on tso off >/dev/null
    ip -n "$ns" addr add "$addr/24" dev "$dev"
    ip -n "$ns" link set "$dev" up
    ip -n "$ns" link set lo up
    ip netns exec "$ns" sh -c "echo 1 > /sys/class/net/$dev/threaded"
done
ip -n "$d" route add 10.0.0.0/8 via 192.168.79.2
ip -n "$r" route add local 10.0.0.0/8 dev lo
ip netns exec "$r" sysctl -qw net.core.somaxconn=16384 net.ipv4.tcp_max_syn_backlog=16384
(ulimit -n "$(ulimit -H -n)"; exec ip netns exec "$r" "$1" serve 0.0.0.0:8080 "$work/served") >/dev/null 2>&1 &
responder=$!
sleep 1
d_napi=$(pgrep '^napi/alt-d0' || true) r_napi=$(pgrep '^napi/alt-r0' || true)
[ -n "$d_napi" ] && [ -n "$r_napi" ] || { echo "error: no threaded NAPI threads for the veth pair" >&2; exit 1; }
ticks() { for p in "$@"; do awk '{ print $14 + $15 }' "/proc/$p/stat"; done | awk '{ s += $1 } END { print s }'; }
hz=$(getconf CLK_TCK)
echo "$kind checks of $reals real servers every 2 s, ${window} s windows, $rounds rounds; CPU in % of one core"
for round in $(seq "$rounds"); do
    for bin in "$@"; do
        (ulimit -n "$(ulimit -H -n)"; exec ip netns exec "$d" "$bin" probe "$work/targets.yaml" $((window + 8))) >"$work/out" 2>&1 &
        prober=$!
        sleep 6
        a=$(ticks "$prober") ad=$(ticks $d_napi) ar=$(ticks $r_napi "$responder")
        sleep "$window"
        b=$(ticks "$prober") bd=$(ticks $d_napi) br=$(ticks $r_napi "$responder")
        wait "$prober" || true
        awk -v n="$bin" -v p=$((b - a)) -v d=$((bd - ad)) -v r=$((br - ar)) -v hz="$hz" -v w="$window" \
            -v l="$(cut -d' ' -f1 /proc/loadavg)" -v o="$(awk '$1 == "probes" { printf "%s %s %s ", $2, $3, $4 }' "$work/out")" \
            'BEGIN { printf "round %d  %s\n  prober %.1f%%  director NAPI %.1f%%  director %.1f%%  real servers %.1f%%  load %s  %s\n", '"$round"', n, p / hz / w * 100, d / hz / w * 100, (p + d) / hz / w * 100, r / hz / w * 100, l, o }'
    done
done
