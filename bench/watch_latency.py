#!/usr/bin/env python3
"""Edit-to-kernel latency of `lvsync watch` at 2,000 (or $LVSYNC_BENCH_SERVICES) services x 8
real servers.

Run by bench/watch-latency.sh inside User-Mode Linux (needs IPVS). `gen FILE` writes the
desired-state file; `run LVSYNC WORKDIR` starts watch on it and measures, from its JSON log:
- incremental: an edit of one weight (rename over the file) until watch logs the kernel write
  done ("reconciled", trigger file_change), i.e. debounce + read + quick re-parse of the edited
  entry + diff + observe/plan/execute/verify of the touched service;
- full: the same one-weight fix made through a full reconcile (SIGHUP: read the whole table,
  plan, write), from the signal to the log line; and a drift resync that finds nothing.
"""
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from datetime import datetime

SERVICES, REALS = int(os.environ.get("LVSYNC_BENCH_SERVICES", "2000")), 8
TARGET = SERVICES // 2  # the service whose weight is edited
# Watch parses the whole file after each quick apply; wait that out between edits.
SETTLE = 2.0 * max(1, SERVICES // 2000)
EDITS = 10 if SERVICES <= 2000 else 5


def vip(i):
    return f"10.100.{i // 250}.{i % 250 + 1}"


def director(weight):
    out = ["# yaml-language-server: $schema=../schema/lvsync.schema.json", "version: 1", "services:"]
    for i in range(SERVICES):
        out += [f"  - name: svc-{i}", f"    vip: {vip(i)}", "    port: 80", "    scheduler: wrr", "    real_servers:"]
        for r in range(REALS):
            w = weight if (i == TARGET and r == 0) else 1
            out += [f"      - address: 10.1.0.{r + 1}", f"        weight: {w}"]
    return "\n".join(out) + "\n"


def write_over(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


class Log:
    """Follows watch's JSON log; polls gently (UML has one CPU, shared with watch)."""

    def __init__(self, path):
        self.f, self.buf, self.events = open(path), "", []

    def wait(self, pred, timeout=600):
        start = time.time()
        while time.time() - start < timeout:
            self.buf += self.f.read()
            *lines, self.buf = self.buf.split("\n")
            for line in lines:
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                self.events.append(ev)
                if pred(ev):
                    return ev
            time.sleep(0.01)
        raise SystemExit("timed out waiting for watch's log")


def stamp(ev):
    return datetime.fromisoformat(ev["timestamp"].replace("Z", "+00:00")).timestamp()


def reconciled(trigger):
    return lambda ev: ev.get("message") == "reconciled" and ev.get("trigger") == trigger


def memory(pid, field):
    """A memory figure of /proc/PID/status (VmHWM: peak resident, VmRSS: resident now), in MiB."""
    with open(f"/proc/{pid}/status") as f:
        return next((int(line.split()[1]) // 1024 for line in f if line.startswith(field + ":")), 0)


def main():
    if sys.argv[1] == "gen":
        with open(sys.argv[2], "w") as f:
            f.write(director(1))
        return
    lvsync, work = sys.argv[2], sys.argv[3]
    # The file on the kernel's own tmpfs (hostfs, the host's disk, sends few inotify events).
    os.makedirs("/tmp/lvsync-bench", exist_ok=True)
    file, log_path = "/tmp/lvsync-bench/director.yaml", os.path.join(work, "watch.log")
    with open(file, "w") as f:
        f.write(director(1))
    cmd = [lvsync, "--state-dir", os.path.join(work, "state"), "--iptables", "iptables-legacy",
           "--log-format", "json", "-v", "watch", file, "--resync-interval", "3600"]
    t = time.time()
    proc = subprocess.Popen(cmd, stderr=open(log_path, "w"), stdout=subprocess.DEVNULL)
    log = Log(log_path)
    first = log.wait(reconciled("start"))
    print(f"first apply: {first['changes']} changes in {time.time() - t:.1f} s "
          f"(reconcile {first['duration_ms']:.0f} ms)")
    hwm_first = memory(proc.pid, "VmHWM")

    incremental, incremental_reconcile, to_event, read, parse = [], [], [], [], []
    for k in range(2, 2 + EDITS):
        text = director(k)
        t0 = time.time()
        write_over(file, text)
        ev = log.wait(reconciled("file_change"))
        assert ev["changes"] == 1, ev
        incremental.append((stamp(ev) - t0) * 1000)
        got = [e for e in log.events if e.get("message") == "event received"][-1]
        seen = [e for e in log.events if e.get("message") == "file changed"][-1]
        to_event.append((stamp(got) - t0) * 1000)
        read.append(seen["read_ms"])
        parse.append(seen["parse_ms"])
        incremental_reconcile.append(ev["duration_ms"])
        # Let watch finish checking the whole file (it parses all of it after the quick apply),
        # so that each edit is measured from an idle loop.
        time.sleep(SETTLE)

    hwm_edits = memory(proc.pid, "VmHWM")
    full, full_reconcile = [], []
    for k in range(5):
        subprocess.run(["ipvsadm", "-e", "-t", f"{vip(TARGET)}:80", "-r", "10.1.0.1:80", "-g", "-w", "77"], check=True)
        t0 = time.time()
        proc.send_signal(signal.SIGHUP)
        ev = log.wait(reconciled("sighup"))
        assert ev["changes"] == 1, ev
        full.append((stamp(ev) - t0) * 1000)
        full_reconcile.append(ev["duration_ms"])

    hwm, rss = memory(proc.pid, "VmHWM"), memory(proc.pid, "VmRSS")
    proc.send_signal(signal.SIGTERM)
    code = proc.wait()

    def show(name, xs):
        print(f"{name}: median {statistics.median(xs):.1f} ms, min {min(xs):.1f}, max {max(xs):.1f} (n={len(xs)})")

    print(f"{SERVICES} services x {REALS} real servers, one weight changed")
    show("incremental, edit to kernel (file rename -> write done)", incremental)
    show("  of which: rename -> event in the loop (inotify + debounce)", to_event)
    show("  of which: reading + hashing the file", read)
    show("  of which: quick re-parse of the edited entry + diff", parse)
    show("  of which: reconcile (read touched service, plan, write, read back)", incremental_reconcile)
    show("full, SIGHUP to kernel (read all, plan, write)", full)
    show("full, reconcile only", full_reconcile)
    print(f"watch peak RSS: {hwm_first} MiB after the first apply, {hwm_edits} MiB after the edits, "
          f"{hwm} MiB after the SIGHUPs; RSS holding the file at the end: {rss} MiB")
    print(f"watch exit status after SIGTERM: {code}")


if __name__ == "__main__":
    main()
