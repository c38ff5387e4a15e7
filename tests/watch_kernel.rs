//! `lvsync watch` as users run it, against a real kernel with IPVS (User-Mode Linux): the real
//! binary follows every way the file is changed, keeps the last good file when a broken one
//! arrives, repairs drift, reloads on SIGHUP, serves metrics, refuses a second instance and
//! leaves the kernel as it is on SIGTERM. One boot for the whole story.

mod uml_support;

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use uml_support::sh;

const LVSYNC: &str = env!("CARGO_BIN_EXE_lvsync");
const VIP: &str = "192.168.2.110:80";
const REAL: &str = "10.1.0.1:80";

fn scratch() -> &'static Path {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
}

/// The file, with the weight of real server 10.1.0.1 and the line of that weight (for errors).
fn director(weight: u32) -> String {
    format!(
        "# yaml-language-server: $schema=../schema/lvsync.schema.json
version: 1
services:
  - name: web
    vip: 192.168.2.110
    port: 80
    scheduler: wrr
    forward: dr
    real_servers:
      - address: 10.1.0.1
        weight: {weight}
      - address: 10.1.0.2
firewall:
  - name: web-in
    action: accept
    service: web
"
    )
}

/// Line 11 of [`director`] is the weight; this breaks it.
const BROKEN_LINE: usize = 11;
fn broken() -> String {
    director(1).replace("        weight: 1\n", "        wieght: 1\n")
}

/// The weight of 10.1.0.1 in the kernel's table, as ipvsadm shows it.
fn kernel_weight() -> Option<u32> {
    let table = sh(&format!("ipvsadm -Ln -t {VIP} 2>/dev/null || true"));
    let line = table.lines().find(|l| l.contains(&format!("-> {REAL}")))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < timeout, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

struct Watch {
    child: Child,
    log: PathBuf,
}

impl Watch {
    fn start(dir: &Path, file: &Path) -> Watch {
        let log = dir.join("watch.log");
        let child = Command::new(LVSYNC)
            .arg("--state-dir")
            .arg(dir.join("state"))
            .args(["--log-format", "json", "-v"])
            .arg("watch")
            .arg(file)
            .args(["--resync-interval", "2", "--metrics-listen", "9100"])
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Watch { child, log }
    }

    /// Every complete line so far (the last one may be being written).
    fn log(&self) -> Vec<serde_json::Value> {
        fs::read_to_string(&self.log)
            .unwrap()
            .split_inclusive('\n')
            .filter(|l| l.ends_with('\n'))
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("log line is not JSON ({e}): {l}")))
            .collect()
    }

    fn count(&self, message: &str) -> usize {
        self.log().iter().filter(|l| l["message"].as_str().is_some_and(|m| m.starts_with(message))).count()
    }

    fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on the pid of a child this test spawned.
        assert_eq!(unsafe { libc::kill(self.child.id() as i32, signal) }, 0);
    }

    /// Change the weight one way, wait for the kernel to show it: exactly one reload per edit.
    fn edit(&self, how: &str, weight: u32, reloads: &mut usize, change: impl FnOnce()) {
        change();
        wait_for(&format!("weight {weight} after {how}"), Duration::from_secs(10), || kernel_weight() == Some(weight));
        *reloads += 1;
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(self.count("file changed"), *reloads, "{how} must reload exactly once:\n{:#?}", self.log());
    }
}

fn metrics() -> String {
    let mut s = TcpStream::connect("127.0.0.1:9100").unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.1 200 OK"), "{out}");
    out
}

fn metric(text: &str, name: &str) -> f64 {
    let line = text.lines().find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '));
    line.unwrap_or_else(|| panic!("no `{name}` in\n{text}")).rsplit(' ').next().unwrap().parse().unwrap()
}

#[test]
fn watch_follows_the_file_keeps_the_last_good_one_and_repairs_drift() {
    uml_support::test_in_kernel("watch_follows_the_file_keeps_the_last_good_one_and_repairs_drift", scratch(), || {
        // Real servers must be routable for IPVS to accept them.
        sh("ip link add d0 type dummy && ip addr add 10.1.0.254/24 dev d0 && ip link set d0 up");
        let dir = scratch().join(format!("watch-kernel-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();

        // A broken file and nothing good before it: exit 1, saying where, touching nothing.
        let bad = dir.join("bad.yaml");
        fs::write(&bad, broken()).unwrap();
        let out =
            Command::new(LVSYNC).arg("--state-dir").arg(dir.join("state-bad")).arg("watch").arg(&bad).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains(&format!("bad.yaml:{BROKEN_LINE}:")), "{stderr}");
        assert!(!sh("ipvsadm -Ln").contains("192.168.2.110"));

        // The file lives on the kernel's own tmpfs: its hostfs (the host's disk) sends no inotify
        // events. Logs and the state dir stay on disk, for the host to read after a failure.
        let cfg = Path::new("/tmp/lvsync-watch");
        fs::create_dir_all(cfg).unwrap();
        // The Kubernetes ConfigMap layout: director.yaml -> ..data/director.yaml, ..data -> ..v1.
        let publish = |version: &str, text: &str| {
            let ts = cfg.join(format!("..{version}"));
            fs::create_dir(&ts).unwrap();
            fs::write(ts.join("director.yaml"), text).unwrap();
            symlink(format!("..{version}"), cfg.join("..data_tmp")).unwrap();
            fs::rename(cfg.join("..data_tmp"), cfg.join("..data")).unwrap();
        };
        publish("v1", &director(1));
        let file = cfg.join("director.yaml");
        symlink("..data/director.yaml", &file).unwrap();

        let mut w = Watch::start(&dir, &file);
        wait_for("the first apply", Duration::from_secs(20), || w.count("reconciled") == 1);
        assert_eq!(kernel_weight(), Some(1));
        let iptables = sh("iptables-legacy -S LVSYNC-INPUT");
        assert!(iptables.contains("lvsync:web-in"), "{iptables}");

        let mut reloads = 0;
        w.edit("a ConfigMap ..data symlink swap", 2, &mut reloads, || publish("v2", &director(2)));
        w.edit("an in-place write through the symlink", 3, &mut reloads, || {
            let mut f = fs::OpenOptions::new().write(true).truncate(true).open(&file).unwrap();
            f.write_all(director(3).as_bytes()).unwrap();
        });
        w.edit("an editor's rename over the file", 4, &mut reloads, || {
            fs::write(cfg.join(".director.yaml.swp"), director(4)).unwrap();
            fs::rename(cfg.join(".director.yaml.swp"), &file).unwrap();
        });
        w.edit("sed -i", 5, &mut reloads, || {
            sh(&format!("sed -i 's/weight: 4/weight: 5/' {}", file.display()));
        });
        w.edit("git checkout (remove, create)", 6, &mut reloads, || {
            fs::remove_file(&file).unwrap();
            fs::write(&file, director(6)).unwrap();
        });

        // A broken file changes nothing and says where it is broken.
        // (Renamed over: an in-place write could be read half-written first, and say so too.)
        let invalid_before = w.count("file is invalid");
        fs::write(cfg.join(".broken"), broken()).unwrap();
        fs::rename(cfg.join(".broken"), &file).unwrap();
        wait_for("the invalid-file error", Duration::from_secs(10), || {
            w.count("file is invalid") == invalid_before + 1
        });
        let error =
            w.log().into_iter().rfind(|l| l["message"].as_str().unwrap().starts_with("file is invalid")).unwrap();
        assert!(error["error"].as_str().unwrap().contains(&format!(":{BROKEN_LINE}:")), "{error}");
        assert!(error["message"].as_str().unwrap().contains("still enforcing the last good file"), "{error}");
        assert_eq!(error["level"], "ERROR");
        let m = metrics();
        assert_eq!(metric(&m, "lvsync_file_valid"), 0.0, "{m}");
        // Drift while the file is broken is still repaired, to the last good file.
        sh(&format!("ipvsadm -e -t {VIP} -r {REAL} -g -w 42"));
        wait_for("drift repaired to the last good weight", Duration::from_secs(10), || kernel_weight() == Some(6));
        // The kernel is repaired before the reconcile has read it back and logged: wait for the log.
        wait_for("the drift correction in the log", Duration::from_secs(10), || w.count("drift corrected") >= 1);

        // Fixed: applied again.
        w.edit("fixing the file", 7, &mut reloads, || fs::write(&file, director(7)).unwrap());

        // SIGHUP re-applies the unchanged file, whole.
        sh(&format!("ipvsadm -e -t {VIP} -r {REAL} -g -w 43"));
        w.signal(libc::SIGHUP);
        wait_for("SIGHUP reload", Duration::from_secs(10), || kernel_weight() == Some(7));
        wait_for("the SIGHUP reconcile in the log", Duration::from_secs(10), || {
            w.log().iter().any(|l| l["trigger"] == "sighup" && l["message"] == "reconciled")
        });

        let m = metrics();
        assert!(m.contains("Content-Type: text/plain; version=0.0.4"), "{m}");
        assert_eq!(metric(&m, "lvsync_file_valid"), 1.0, "{m}");
        assert_eq!(metric(&m, "lvsync_services_managed"), 1.0, "{m}");
        assert_eq!(metric(&m, "lvsync_real_servers_managed"), 2.0, "{m}");
        assert_eq!(
            metric(&m, "lvsync_reconciles_total{trigger=\"file_change\",outcome=\"success\"}"),
            reloads as f64,
            "{m}"
        );
        // At least the broken file (a half-written or missing file read on the way counts too).
        let invalid = metric(&m, "lvsync_reconciles_total{trigger=\"file_change\",outcome=\"invalid_file\"}");
        assert!(invalid >= 1.0, "{m}");
        assert!(metric(&m, "lvsync_drift_corrections_total{kind=\"real_server\"}") >= 1.0, "{m}");
        assert!(metric(&m, "lvsync_changes_applied_total{kind=\"real_server\",action=\"update\"}") >= 8.0, "{m}");
        assert!(metric(&m, "lvsync_last_success_timestamp_seconds") > 1.7e9, "{m}");

        // A kernel error is retried with backoff until it clears: IPVS refuses (EINVAL) a real
        // server at an address the kernel holds as a broadcast address, here d1's 10.9.0.255.
        sh("ip link add d1 type dummy && ip addr add 10.9.0.1/24 dev d1 && ip link set d1 up");
        let with_db = director(7).replace(
            "firewall:",
            "  - name: db\n    vip: 192.168.2.111\n    port: 5432\n    real_servers:\n      - address: 10.9.0.255\nfirewall:",
        );
        fs::write(&file, with_db).unwrap();
        wait_for("the kernel's refusal", Duration::from_secs(10), || w.count("reconcile failed") >= 1);
        sh("ip addr del 10.9.0.1/24 dev d1");
        wait_for("the retry to succeed", Duration::from_secs(15), || w.count("recovered") == 1);
        assert!(sh("ipvsadm -Ln -t 192.168.2.111:5432").contains("10.9.0.255:5432"));
        let m = metrics();
        assert!(metric(&m, "lvsync_reconciles_total{trigger=\"file_change\",outcome=\"error\"}") >= 1.0, "{m}");
        assert_eq!(metric(&m, "lvsync_services_managed"), 2.0, "{m}");

        // One lvsync per state dir.
        let second =
            Command::new(LVSYNC).arg("--state-dir").arg(dir.join("state")).arg("watch").arg(&file).output().unwrap();
        let stderr = String::from_utf8_lossy(&second.stderr);
        assert_eq!(second.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("another lvsync"), "{stderr}");

        // SIGTERM: exit 0, the kernel left as it is.
        w.signal(libc::SIGTERM);
        let status = w.child.wait().unwrap();
        assert_eq!(status.code(), Some(0), "{:#?}", w.log());
        assert_eq!(kernel_weight(), Some(7));
        assert!(sh("ipvsadm -Ln").contains("192.168.2.111:5432"));
        assert!(sh("iptables-legacy -S LVSYNC-INPUT").contains("lvsync:web-in"));
        println!("watch log:\n{}", fs::read_to_string(&w.log).unwrap());
    });
}
