#!/usr/bin/env bash
# Probe cost: lvsync's health prober against keepalived's checker, probing the same real servers
# every 2 s, side by side in ONE User-Mode Linux boot, at each size given (default 1,000, 4,000
# and 16,000): first TCP checks, then HTTP GETs. Every 10.0.0.0/8 address is local in one network
# namespace (`ip route add local 10.0.0.0/8 dev lo`) and one responder on 0.0.0.0:8080 answers
# them all and counts what it answered: "probes/s" is that count over the window, the same
# measure for both probers (the target is 0.5 x the real servers per second). CPU is utime +
# stime from /proc/PID/stat over the window, after a warm-up; the responder's is not counted.
# User-Mode Linux has one CPU, shared by the prober and the responder.
# Usage (as root): bench/health-bench.sh [SIZES [WINDOW_SECONDS]]   (default 1000,4000,16000 10)
#        bench/health-bench.sh --host [SIZES [WINDOW_SECONDS]]: lvsync's prober alone on this
#        machine's kernel, in a network namespace of its own (keepalived needs IPVS, which only
#        the User-Mode Linux boot has): what a system call really costs.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

host=
if [ "${1:-}" = "--host" ]; then host=1; shift; fi
if [ "${1:-}" != "--inside" ]; then
    sizes=${1:-1000,4000,16000}
    window=${2:-10}
    [ -x /usr/bin/linux.uml ] || { echo "error: install user-mode-linux (apt-get install -y user-mode-linux kmod ipvsadm keepalived)" >&2; exit 1; }
    command -v keepalived >/dev/null || { echo "error: install keepalived" >&2; exit 1; }
    cd "$repo"
    cargo build --release --quiet --bin lvsync-health-bench
    work=$repo/target/bench-health
    rm -rf "$work"
    mkdir -p "$work/modules/lib"
    ln -s /usr/lib/uml/modules "$work/modules/lib/modules"
    # The same real servers as an lvsync file and as a keepalived.conf, per size and check kind:
    # NAT services of 8 real servers each, every real server probed on port 8080.
    for reals in ${sizes//,/ }; do
        for kind in tcp http; do
            awk -v R="$reals" -v K="$kind" -v Y="$work/$kind-$reals.yaml" -v C="$work/$kind-$reals.conf" 'BEGIN {
                print "version: 1\nservices:" > Y
                print "global_defs {\n  router_id bench\n}" > C
                S = int((R + 7) / 8)
                for (i = 0; i < S; i++) {
                    vip = sprintf("10.3.%d.%d", int(i / 250), i % 250 + 1)
                    printf "  - name: s%d\n    vip: %s\n    port: 80\n    forward: nat\n", i, vip > Y
                    if (K == "tcp") print "    health: {check: tcp, port: 8080, interval: 2, timeout: 1}" > Y
                    else print "    health: {check: http, port: 8080, interval: 2, timeout: 1, http: {path: /, status: 200}}" > Y
                    print "    real_servers:" > Y
                    printf "virtual_server %s 80 {\n  delay_loop 2\n  lb_algo wlc\n  lb_kind NAT\n  protocol TCP\n", vip > C
                    for (j = 0; j < 8 && i * 8 + j < R; j++) {
                        n = i * 8 + j
                        addr = sprintf("10.1.%d.%d", int(n / 250), n % 250 + 1)
                        printf "      - {address: %s}\n", addr > Y
                        printf "  real_server %s 80 {\n    weight 1\n", addr > C
                        if (K == "tcp") print "    TCP_CHECK {\n      connect_port 8080\n      connect_timeout 1\n    }" > C
                        else print "    HTTP_GET {\n      url {\n        path /\n        status_code 200\n      }\n      connect_port 8080\n      connect_timeout 1\n    }" > C
                        print "  }" > C
                    }
                    print "}" > C
                }
            }'
        done
    done
    if [ -n "$host" ]; then
        echo "lvsync's prober on this machine's kernel ($(nproc) CPUs, shared), in its own network namespace:" >&2
        LVSYNC_BENCH_ONLY=lvsync exec "$0" --inside "$work" "$window" "$sizes"
    fi
    {
        echo '#!/bin/sh'
        echo 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
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
[ -n "${LVSYNC_BENCH_NETNS:-}" ] || exec unshare --net env LVSYNC_BENCH_NETNS=1 "$0" --inside "$work" "$window" "$sizes"
only=${LVSYNC_BENCH_ONLY:-}
bench="$repo/target/release/lvsync-health-bench"
ip link set lo up
ip route add local 10.0.0.0/8 dev lo
# The responder needs many descriptors; the probers are left at the kernel's defaults (1,024
# soft, 1,048,576 hard): lvsync raises its own soft limit, keepalived answers for itself.
ulimit -S -n 1024
# Many short connections a second: let the responder's accept queue and ports keep up.
sysctl -qw net.core.somaxconn=4096 net.ipv4.tcp_max_syn_backlog=8192 net.ipv4.tcp_tw_reuse=1 || true
(ulimit -n 1048576 2>/dev/null || ulimit -n "$(ulimit -H -n)"; exec "$bench" serve 0.0.0.0:8080 "$work/served") &
responder=$!
sleep 1
hz=$(getconf CLK_TCK)
# utime + stime of the processes given, in clock ticks.
ticks() { for p in "$@"; do awk '{ print $14 + $15 }' "/proc/$p/stat"; done | awk '{ s += $1 } END { print s + 0 }'; }
served() { cat "$work/served" 2>/dev/null || echo 0; }
# Over the window: "CPU% probes/s" of the processes given.
measure() {
    local a b s e n m
    a=$(ticks "$@"); n=$(served); s=${EPOCHREALTIME/./}
    sleep "$window"
    b=$(ticks "$@"); m=$(served); e=${EPOCHREALTIME/./}
    awk -v t=$((b - a)) -v hz="$hz" -v us=$((e - s)) -v p=$((m - n)) 'BEGIN { printf "%.1f %.0f", t / hz / (us / 1e6) * 100, p / (us / 1e6) }'
}
where="User-Mode Linux, one CPU"
[ -z "$only" ] || where="this machine's kernel, $(nproc) CPUs"
echo "probe cost, every 2 s (Linux $(uname -r), $where; ${window} s windows after warm-up)"
printf '%-6s %-5s %-18s %7s %9s %8s  %s\n' reals check prober "cpu%" "probes/s" "wanted" "notes"
for reals in ${sizes//,/ }; do
    for kind in tcp http; do
        want=$((reals / 2))
        # lvsync's prober: warm-up of 6 s (first probes spread over 2 s), then the window.
        "$bench" probe "$work/$kind-$reals.yaml" $((window + 20)) > "$work/lvsync-$kind-$reals.out" 2>&1 &
        pid=$!
        sleep 6
        m=$(measure "$pid"); lv=${m% *}; lvrate=${m#* }
        wait "$pid" || true
        passed=$(awk -v k="$kind" '$1 == "probes" && $2 == k && $3 == "pass" { print $4 }' "$work/lvsync-$kind-$reals.out")
        failed=$(awk -v k="$kind" '$1 == "probes" && $2 == k && $3 == "fail" { print $4 }' "$work/lvsync-$kind-$reals.out")
        down=$(awk '$1 == "targets" { print $4 }' "$work/lvsync-$kind-$reals.out")
        err=$(awk '$1 == "error" { $1 = ""; print; exit }' "$work/lvsync-$kind-$reals.out")
        printf '%-6s %-5s %-18s %7s %9s %8s  %s\n' "$reals" "$kind" "lvsync" "$lv" "$lvrate" "$want" \
            "passed ${passed:-0}, failed ${failed:-0}, down ${down:-?}${err:+; e.g.$err}"
        sleep 2
        [ -z "$only" ] || continue
        # keepalived's checker: it first builds the IPVS table, then probes; warm up until the
        # table is whole (at most 60 s), then 4 s more.
        keepalived --check -f "$work/$kind-$reals.conf" -p "$work/k.pid" -c "$work/c.pid" -l -D -n > "$work/keepalived-$kind-$reals.log" 2>&1 &
        kpid=$!
        for _ in $(seq 30); do
            sleep 2
            [ "$(ipvsadm -Ln | grep -c -- '->.*Masq' || true)" -ge "$reals" ] && break
        done
        sleep 4
        pids=$(pgrep -x keepalived | tr '\n' ' ')
        # shellcheck disable=SC2086
        m=$(measure $pids); ka=${m% *}; karate=${m#* }
        in_table=$(ipvsadm -Ln | grep -c -- '->.*Masq' || true)
        kill "$kpid"; wait "$kpid" 2>/dev/null || true
        ipvsadm -C
        printf '%-6s %-5s %-18s %7s %9s %8s  %s\n' "$reals" "$kind" "keepalived checker" "$ka" "$karate" "$want" \
            "$in_table of $reals in its IPVS table at the end"
        sleep 2
    done
done
kill "$responder"
