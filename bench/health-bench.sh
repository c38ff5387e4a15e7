#!/usr/bin/env bash
# Probe cost: lvsync's health prober against keepalived's checker, probing the same real servers
# every 2 s, side by side in ONE User-Mode Linux boot, at each size given (default 1,000, 4,000
# and 16,000): first TCP checks, then HTTP GETs. Every 10.0.0.0/8 address is local in one network
# namespace (`ip route add local 10.0.0.0/8 dev lo`) and one responder on 0.0.0.0:8080 answers
# them all and counts what it answered (check kinds: tcp, http, and http-keep, http with
# `keep_alive: true`, lvsync only: keepalived opens a connection per probe; LVSYNC_BENCH_KINDS
# picks some): "probes/s" is that count over the window, the same
# measure for both probers (the target is 0.5 x the real servers per second). CPU is utime +
# stime from /proc/PID/stat over the window, after a warm-up; the responder's is not counted.
# User-Mode Linux has one CPU, shared by the prober and the responder.
# Usage (as root): bench/health-bench.sh [SIZES [WINDOW_SECONDS]]   (default 1000,4000,16000 10)
#        bench/health-bench.sh --host [SIZES [WINDOW_SECONDS]]: lvsync's prober alone on this
#        machine's kernel (keepalived needs IPVS, which only the User-Mode Linux boot has): what
#        a system call really costs, split between the director and the real servers.
# --host: the prober runs in one network namespace ("director", 192.168.77.1, with
# `10.0.0.0/8 via 192.168.77.2`), the responder in a second ("real servers", 192.168.77.2, every
# 10.0.0.0/8 address local on lo), joined by a veth pair with GRO on and TSO off on both ends
# (veth then receives TCP through NAPI; segments of a few bytes gain nothing from TSO) and
# threaded NAPI (`/sys/class/net/DEV/threaded`), so that each end's received packets are handled
# in a kernel thread `napi/DEV-N` of that end, as softirq/NAPI handles them on a real director,
# not inside the sending process's system calls, as on loopback, where both ends of every
# handshake would be charged to the prober. Over the window,
# separately: the prober's utime + stime; the director end's NAPI thread (what it receives:
# SYN-ACKs, responses, and the ACKs it sends from there); the director's total, prober + its
# NAPI thread, which is the figure for issue 13's 25% of one core; and, for information only
# (on a real network that is other machines), the real-server end's NAPI thread + responder.
# Also the load average, and the whole machine's busy and softirq share (other tenants
# included): softirq work that does not run in the NAPI threads (timers) is charged to no one.
set -euo pipefail
kinds=${LVSYNC_BENCH_KINDS:-tcp http http-keep}
repo=$(cd "$(dirname "$0")/.." && pwd)

host=
if [ "${1:-}" = "--host" ]; then host=1; shift; fi
if [ "${1:-}" != "--inside" ]; then
    sizes=${1:-1000,4000,16000}
    window=${2:-10}
    if [ -n "$host" ]; then
        for tool in ip ethtool nstat unshare nsenter; do
            command -v "$tool" >/dev/null || { echo "error: install $tool (apt-get install -y iproute2 ethtool util-linux)" >&2; exit 1; }
        done
    else
        [ -x /usr/bin/linux.uml ] || { echo "error: install user-mode-linux (apt-get install -y user-mode-linux kmod ipvsadm keepalived)" >&2; exit 1; }
        command -v keepalived >/dev/null || { echo "error: install keepalived" >&2; exit 1; }
    fi
    cd "$repo"
    cargo build --release --quiet --bin lvsync-health-bench
    work=$repo/target/bench-health
    rm -rf "$work"
    mkdir -p "$work/modules/lib"
    ln -s /usr/lib/uml/modules "$work/modules/lib/modules"
    # The same real servers as an lvsync file and as a keepalived.conf, per size and check kind.
    for reals in ${sizes//,/ }; do
        for kind in $kinds; do
            awk -v R="$reals" -v K="$kind" -v Y="$work/$kind-$reals.yaml" -v C="$work/$kind-$reals.conf" \
                -f "$repo/bench/health-targets.awk"
        done
    done
    if [ -n "$host" ]; then
        echo "lvsync's prober on this machine's kernel ($(nproc) CPUs, shared), the real servers in another network namespace:" >&2
        LVSYNC_BENCH_KINDS=$kinds LVSYNC_BENCH_ONLY=lvsync exec "$0" --inside "$work" "$window" "$sizes"
    fi
    {
        echo '#!/bin/sh'
        echo 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
        echo "export LVSYNC_BENCH_KINDS='$kinds'"
        echo 'mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t tmpfs tmpfs /run; mount -t tmpfs tmpfs /tmp'
        for m in ip_vs ip_vs_wlc; do echo "modprobe -d '$work/modules' $m"; done
        echo "'$repo/bench/health-bench.sh' --inside '$work' '$window' '$sizes' > '$work/output' 2>&1"
        echo "echo \$? > '$work/status'"
        echo 'sync; halt -f'
    } > "$work/init"
    chmod +x "$work/init"
    echo "booting User-Mode Linux: $sizes real servers, TCP then HTTP, ${window} s windows..." >&2
    /usr/bin/linux.uml mem=2048M root=/dev/root rootfstype=hostfs rootflags=/ rw con=null con0=null,fd:2 \
        "init=$work/init" </dev/null >/dev/null 2>"$work/console" || true
    cat "$work/output"
    exit "$(cat "$work/status" 2>/dev/null || echo 1)"
fi

# ---- inside the kernel ----
work=$2
window=$3
sizes=$4
only=${LVSYNC_BENCH_ONLY:-}
if [ -z "${LVSYNC_BENCH_NETNS:-}" ]; then
    # --host: a mount namespace too, for a sysfs that shows this network namespace's devices.
    [ -z "$only" ] || exec unshare --net --mount env LVSYNC_BENCH_NETNS=1 "$0" --inside "$work" "$window" "$sizes"
    exec unshare --net env LVSYNC_BENCH_NETNS=1 "$0" --inside "$work" "$window" "$sizes"
fi
bench="$repo/target/release/lvsync-health-bench"
ip link set lo up
# The responder needs many descriptors; the probers are left at the kernel's defaults (1,024
# soft, 1,048,576 hard): lvsync raises its own soft limit, keepalived answers for itself.
ulimit -S -n 1024
# Many short connections a second: let the responder's accept queue and ports keep up.
sysctl -qw net.core.somaxconn=16384 net.ipv4.tcp_max_syn_backlog=16384 net.ipv4.tcp_tw_reuse=1 || true
# PIDs of the kernel threads named napi/DEV-N.
napis() {
    local f c
    for f in /proc/[0-9]*/comm; do
        read -r c < "$f" 2>/dev/null || continue
        case $c in "napi/$1-"*) f=${f#/proc/}; echo "${f%/comm}" ;; esac
    done | sort
}
if [ -z "$only" ]; then
    ip route add local 10.0.0.0/8 dev lo
    (ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -H -n)"; exec "$bench" serve 0.0.0.0:8080 "$work/served") &
    responder=$!
else
    # This namespace is the director's; the real servers get one of their own, joined by veth.
    mount -t sysfs sysfs /sys
    unshare --net --mount sleep infinity &
    rs=$!
    for _ in $(seq 50); do
        [ "$(readlink "/proc/$rs/ns/net")" != "$(readlink /proc/self/ns/net)" ] && break
        sleep 0.1
    done
    in_rs() { nsenter -t "$rs" -n -m "$@"; }
    ip link add d0 type veth peer name r0 netns "$rs"
    # GRO on: veth receives through NAPI; TSO off, else veth hands TCP segments (the destructor
    # of a TCP socket's are not sock_wfree) to netif_rx, in the sender's context, not to NAPI.
    ethtool -K d0 gro on tso off >/dev/null
    in_rs ethtool -K r0 gro on tso off >/dev/null
    ip addr add 192.168.77.1/24 dev d0
    ip link set d0 up
    ip route add 10.0.0.0/8 via 192.168.77.2
    in_rs sh -ec 'mount -t sysfs sysfs /sys; ip link set lo up; ip addr add 192.168.77.2/24 dev r0; ip link set r0 up
        ip route add local 10.0.0.0/8 dev lo
        sysctl -qw net.core.somaxconn=16384 net.ipv4.tcp_max_syn_backlog=16384'
    # Each end's NAPI threads: those that appear when it is made threaded.
    before=$(napis d0)
    echo 1 > /sys/class/net/d0/threaded
    director_napi=$(comm -13 <(echo "$before") <(napis d0) | tr '\n' ',')
    before=$(napis r0)
    in_rs sh -c 'echo 1 > /sys/class/net/r0/threaded'
    rs_napi=$(comm -13 <(echo "$before") <(napis r0) | tr '\n' ',')
    [ -n "$director_napi" ] && [ -n "$rs_napi" ] \
        || { echo "error: no threaded NAPI kernel threads for the veth pair (napi/d0-*, napi/r0-*)" >&2; exit 1; }
    (ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -H -n)"; exec nsenter -t "$rs" -n "$bench" serve 0.0.0.0:8080 "$work/served") &
    responder=$!
fi
sleep 1
hz=$(getconf CLK_TCK)
# utime + stime of the processes given (commas or spaces between), in clock ticks.
ticks() {
    local p
    for p in ${*//,/ }; do awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || true; done | awk '{ s += $1 } END { print s + 0 }'
}
served() { cat "$work/served" 2>/dev/null || echo 0; }
# The kernel's counter $1 (nstat's name), absolute; in the real servers' namespace with "in_rs".
counter() { ${2:-} nstat -saz "$1" | awk -v c="$1" '$1 == c { print $2 }'; }
# The machine's "busy softirq total" jiffies, all CPUs.
machine() { awk '$1 == "cpu" { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, $8, t; exit }' /proc/stat; }
# Over the window: "CPU% ... probes/s busy% softirq%", one CPU% per group of processes given (a
# group: PIDs between commas, e.g. "12,13"), then the whole machine's busy and softirq time (in
# % of one CPU, like the rest).
measure() {
    local a=() b=() s e n m g mb0 ms0 mb1 ms1
    for g in "$@"; do a+=("$(ticks "$g")"); done
    n=$(served); s=${EPOCHREALTIME/./}; read -r mb0 ms0 _ <<< "$(machine)"
    sleep "$window"
    for g in "$@"; do b+=("$(ticks "$g")"); done
    m=$(served); e=${EPOCHREALTIME/./}; read -r mb1 ms1 _ <<< "$(machine)"
    for g in "${!a[@]}"; do
        awk -v t=$((b[g] - a[g])) -v hz="$hz" -v us=$((e - s)) 'BEGIN { printf "%.1f ", t / hz / (us / 1e6) * 100 }'
    done
    awk -v us=$((e - s)) -v p=$((m - n)) -v b=$((mb1 - mb0)) -v q=$((ms1 - ms0)) -v hz="$hz" \
        'BEGIN { w = us / 1e6; printf "%.0f %.0f %.0f", p / w, b / hz / w * 100, q / hz / w * 100 }'
}
where="User-Mode Linux, one CPU"
[ -z "$only" ] || where="this machine's kernel, $(nproc) CPUs"
echo "probe cost, every 2 s (Linux $(uname -r), $where; ${window} s windows after warm-up)"
if [ -z "$only" ]; then
    printf '%-6s %-5s %-18s %7s %9s %8s  %s\n' reals check prober "cpu%" "probes/s" "wanted" "notes"
else
    echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg); CPU in % of one core; director = prober + director NAPI"
    printf '%-6s %-5s %7s %7s %9s %8s %9s %8s %5s  %s\n' reals check "prober" "d.napi" "director" "rs-side" \
        "probes/s" "wanted" "load" "notes"
fi
for reals in ${sizes//,/ }; do
    for kind in $kinds; do
        want=$((reals / 2))
        # lvsync's prober: warm-up of 6 s (first probes spread over 2 s), then the window.
        "$bench" probe "$work/$kind-$reals.yaml" $((window + 20)) > "$work/lvsync-$kind-$reals.out" 2>&1 &
        pid=$!
        sleep 6
        if [ -z "$only" ]; then
            m=$(measure "$pid")
            read -r lv lvrate _ <<< "$m"
        else
            # The real servers' listen queue overflows and the director's SYN retransmits over
            # the window: a probe that "timed out" on a busy machine is usually a SYN the
            # responder's queue dropped (the retransmit comes after 1 s, the probe's timeout).
            drops=$(counter TcpExtListenDrops in_rs) synre=$(counter TcpExtTCPSynRetrans)
            m=$(measure "$pid" "$director_napi" "$rs_napi$responder")
            drops=$(($(counter TcpExtListenDrops in_rs) - drops)) synre=$(($(counter TcpExtTCPSynRetrans) - synre))
            read -r lv dnapi rsside lvrate busy soft <<< "$m"
            load=$(cut -d' ' -f1 /proc/loadavg)
        fi
        rss=$(awk '$1 == "VmHWM:" { printf "%.0f MiB", $2 / 1024 }' "/proc/$pid/status" 2>/dev/null || true)
        wait "$pid" || true
        passed=$(awk -v k="${kind%-keep}" '$1 == "probes" && $2 == k && $3 == "pass" { print $4 }' "$work/lvsync-$kind-$reals.out")
        failed=$(awk -v k="${kind%-keep}" '$1 == "probes" && $2 == k && $3 == "fail" { print $4 }' "$work/lvsync-$kind-$reals.out")
        down=$(awk '$1 == "targets" { print $4 }' "$work/lvsync-$kind-$reals.out")
        err=$(awk '$1 == "error" { $1 = ""; print; exit }' "$work/lvsync-$kind-$reals.out")
        notes="passed ${passed:-0}, failed ${failed:-0}, down ${down:-?}${err:+; e.g.$err}; peak RSS ${rss:-?}"
        if [ -n "$only" ]; then
            director=$(awk -v a="$lv" -v b="$dnapi" 'BEGIN { printf "%.1f", a + b }')
            printf '%-6s %-5s %7s %7s %9s %8s %9s %8s %5s  %s\n' "$reals" "$kind" "$lv" "$dnapi" "$director" "$rsside" \
                "$lvrate" "$want" "$load" "$notes; real servers' listen drops ${drops:-?}, director's SYN retransmits ${synre:-?}; machine busy $busy%, softirq $soft% of $(($(nproc) * 100))%"
            sleep 2
            continue
        fi
        printf '%-6s %-5s %-18s %7s %9s %8s  %s\n' "$reals" "$kind" "lvsync" "$lv" "$lvrate" "$want" "$notes"
        sleep 2
        # keepalived has no keep-alive checks: its http row is the peer of both.
        [ "$kind" != http-keep ] || continue
        # keepalived's checker: it first builds the IPVS table, then probes; warm up until the
        # table is whole (at most 60 s), then 4 s more.
        keepalived --check -f "$work/$kind-$reals.conf" -p "$work/k.pid" -c "$work/c.pid" -l -D -n > "$work/keepalived-$kind-$reals.log" 2>&1 &
        kpid=$!
        for _ in $(seq 30); do
            sleep 2
            [ "$(ipvsadm -Ln | grep -c -- '->.*Masq' || true)" -ge "$reals" ] && break
        done
        sleep 4
        pids=$(pgrep -x keepalived | tr '\n' ',')
        m=$(measure "$pids")
        read -r ka karate _ <<< "$m"
        in_table=$(ipvsadm -Ln | grep -c -- '->.*Masq' || true)
        kill "$kpid"; wait "$kpid" 2>/dev/null || true
        ipvsadm -C
        printf '%-6s %-5s %-18s %7s %9s %8s  %s\n' "$reals" "$kind" "keepalived checker" "$ka" "$karate" "$want" \
            "$in_table of $reals in its IPVS table at the end"
        sleep 2
    done
done
kill "$responder"
[ -z "${rs:-}" ] || kill "$rs"
