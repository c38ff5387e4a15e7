#!/usr/bin/env bash
# Probe cost: lvsync's health prober against keepalived's checker, probing the same 16,000 real
# servers every 2 s, side by side in ONE User-Mode Linux boot: first TCP checks, then HTTP GETs.
# Every 10.0.0.0/8 address is local in one network namespace (`ip route add local 10.0.0.0/8
# dev lo`) and one responder on 0.0.0.0:8080 answers them all. CPU is utime + stime from
# /proc/PID/stat over a fixed window, after a warm-up; the responder's is not counted.
# Usage (as root): bench/health-bench.sh [REAL_SERVERS [WINDOW_SECONDS]]   (default 16000 20)
# Status: keepalived's figures are sound (all 16,000 stay in its table); lvsync's prober does
# not yet keep up under User-Mode Linux at 16,000 (its probe counts show it: read them before
# any CPU figure), so its CPU column is not a result yet.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

if [ "${1:-}" != "--inside" ]; then
    reals=${1:-16000}
    window=${2:-20}
    [ -x /usr/bin/linux.uml ] || { echo "error: install user-mode-linux (apt-get install -y user-mode-linux kmod ipvsadm keepalived)" >&2; exit 1; }
    command -v keepalived >/dev/null || { echo "error: install keepalived" >&2; exit 1; }
    cd "$repo"
    cargo build --release --quiet --bin lvsync-health-bench
    work=$repo/target/bench-health
    rm -rf "$work"
    mkdir -p "$work/modules/lib"
    ln -s /usr/lib/uml/modules "$work/modules/lib/modules"
    # The same real servers as an lvsync file and as a keepalived.conf, once per check kind:
    # NAT services of 8 real servers each, every real server probed on port 8080.
    for kind in tcp http; do
        awk -v R="$reals" -v K="$kind" -v Y="$work/$kind.yaml" -v C="$work/$kind.conf" 'BEGIN {
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
    {
        echo '#!/bin/sh'
        echo 'export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
        echo 'mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t tmpfs tmpfs /run; mount -t tmpfs tmpfs /tmp'
        for m in ip_vs ip_vs_wlc; do echo "modprobe -d '$work/modules' $m"; done
        echo "'$repo/bench/health-bench.sh' --inside '$work' '$window' > '$work/output' 2>&1"
        echo "echo \$? > '$work/status'"
        echo 'sync; halt -f'
    } > "$work/init"
    chmod +x "$work/init"
    echo "booting User-Mode Linux: $reals real servers, TCP then HTTP, ${window} s windows..." >&2
    /usr/bin/linux.uml mem=2048M root=/dev/root rootfstype=hostfs rootflags=/ rw con=null con0=null,fd:2 \
        "init=$work/init" </dev/null >/dev/null 2>"$work/console" || true
    cat "$work/output"
    exit "$(cat "$work/status" 2>/dev/null || echo 1)"
fi

# ---- inside the kernel ----
work=$2
window=$3
[ -n "${LVSYNC_BENCH_NETNS:-}" ] || exec unshare --net env LVSYNC_BENCH_NETNS=1 "$0" --inside "$work" "$window"
bench="$repo/target/release/lvsync-health-bench"
ip link set lo up
ip route add local 10.0.0.0/8 dev lo
# A kernel's init starts with 1,024 descriptors; a director probing 16,000 real servers (and
# the responder answering them) needs more, as keepalived's unit and lvsync's would give.
ulimit -n 1048576
# Many short connections a second: let the responder's accept queue and ports keep up.
sysctl -qw net.core.somaxconn=4096 net.ipv4.tcp_tw_reuse=1 || true
"$bench" serve 0.0.0.0:8080 &
responder=$!
sleep 1
hz=$(getconf CLK_TCK)
# utime + stime of the processes given, in clock ticks.
ticks() { for p in "$@"; do awk '{ print $14 + $15 }' "/proc/$p/stat"; done | awk '{ s += $1 } END { print s + 0 }'; }
# CPU of the processes given over the window, in percent of one core.
cpu() {
    local a b s e
    a=$(ticks "$@"); s=${EPOCHREALTIME/./}
    sleep "$window"
    b=$(ticks "$@"); e=${EPOCHREALTIME/./}
    awk -v t=$((b - a)) -v hz="$hz" -v us=$((e - s)) 'BEGIN { printf "%.1f", t / hz / (us / 1e6) * 100 }'
}
reals=$(grep -c 'address:' "$work/tcp.yaml")
echo "probe cost: $reals real servers every 2 s (Linux $(uname -r), User-Mode Linux; ${window} s windows after warm-up)"
for kind in tcp http; do
    # lvsync's prober: warm-up of 6 s (first probes spread over 2 s), then the window.
    "$bench" probe "$work/$kind.yaml" $((window + 10)) > "$work/lvsync-$kind.out" 2>&1 &
    pid=$!
    sleep 6
    lv=$(cpu "$pid")
    wait "$pid"
    # keepalived's checker: it first builds the IPVS table, then probes; warm up 30 s.
    keepalived --check -f "$work/$kind.conf" -p "$work/k.pid" -c "$work/c.pid" -l -D -n > "$work/keepalived-$kind.log" 2>&1 &
    kpid=$!
    sleep 30
    pids=$(pgrep -x keepalived | tr '\n' ' ')
    ka=$(cpu $pids)
    in_table=$(ipvsadm -Ln | grep -c -- '->.*Masq' || true)
    kill "$kpid"; wait "$kpid" 2>/dev/null || true
    ipvsadm -C
    sleep 2
    passed=$(awk -v k="$kind" '$1 == "probes" && $2 == k && $3 == "pass" { print $4 }' "$work/lvsync-$kind.out")
    failed=$(awk -v k="$kind" '$1 == "probes" && $2 == k && $3 == "fail" { print $4 }' "$work/lvsync-$kind.out")
    down=$(awk '$1 == "targets" { print $4 }' "$work/lvsync-$kind.out")
    printf '%-5s lvsync prober     %6s%% of one core   (%s probes passed, %s failed, %s down; target 25%%)\n' "$kind" "$lv" "${passed:-0}" "${failed:-0}" "${down:-?}"
    printf '%-5s keepalived checker %5s%% of one core   (%s of %s real servers in its IPVS table at the end)\n' "$kind" "$ka" "$in_table" "$reals"
    grep '^error' "$work/lvsync-$kind.out" | head -3 || true
done
kill "$responder"
