#!/bin/sh
# Edit-to-kernel latency of `lvsync watch`, incremental against full, at 2,000 and 20,000
# services x 8 real servers, one after the other in one boot of User-Mode Linux (the host kernel
# has no IPVS). Not a test: prints figures. Needs: user-mode-linux kmod ipvsadm iptables
# iproute2 python3.
#   bench/watch-latency.sh [SIZES]    # builds a release binary first; SIZES default "2000 20000"
set -eu
cd "$(dirname "$0")/.."
cargo build --release --quiet
ROOT=$(pwd)
WORK="$ROOT/target/bench-watch"          # on disk: UML mounts tmpfs over /tmp
rm -rf "$WORK" && mkdir -p "$WORK/modules/lib"
ln -s /usr/lib/uml/modules "$WORK/modules/lib/modules"
cat > "$WORK/init" <<INIT
#!/bin/sh
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys
mount -t tmpfs tmpfs /run; mount -t tmpfs tmpfs /tmp
for m in ip_vs ip_vs_wrr dummy ip_tables iptable_filter ip6_tables ip6table_filter xt_comment; do
  modprobe -d "$WORK/modules" \$m
done
ip link set lo up
ip link add d0 type dummy && ip addr add 10.1.0.254/24 dev d0 && ip link set d0 up
status=0
for n in ${1:-2000 20000}; do
  rm -rf "$WORK/state"
  # Each size in a namespace of its own: an empty IPVS table.
  LVSYNC_BENCH_SERVICES=\$n unshare --net sh -c 'ip link set lo up; ip link add d0 type dummy && ip addr add 10.1.0.254/24 dev d0 && ip link set d0 up; exec python3 "$ROOT/bench/watch_latency.py" run "$ROOT/target/release/lvsync" "$WORK"' >> "$WORK/result" 2>&1 || status=1
  sleep 10
done
echo \$status > "$WORK/status"
sync
halt -f
INIT
chmod +x "$WORK/init"
linux.uml mem=2G root=/dev/root rootfstype=hostfs rootflags=/ rw init="$WORK/init" \
  con=null con0=null,fd:2 > "$WORK/console" 2>&1 < /dev/null || true
cat "$WORK/result"
[ "$(cat "$WORK/status" 2>/dev/null)" = 0 ]
