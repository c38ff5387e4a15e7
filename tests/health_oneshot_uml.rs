//! Drains and verdicts across one-shot commands, with real traffic in User-Mode Linux: the
//! director (the kernel's own namespace, IPVS NAT), three real servers and a client in network
//! namespaces. `apply` leaves a busy real server that left the file at weight 0 (recorded in
//! the inventory) while its connection works, deletes an idle one at once, and a later `apply`
//! deletes the drained one; `plan` shows the drain with its time left; a service that leaves
//! drains the same way; `watch` drains what left the file while it was not running; a down
//! verdict `watch` left in the state dir is honoured by `plan` and
//! `apply`. One boot for the whole story.

mod uml_support;

use std::fs;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use lvsync::lab::netns::Netns;
use uml_support::sh;

const LVSYNC: &str = env!("CARGO_BIN_EXE_lvsync");

fn scratch() -> &'static Path {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
}

/// The file: `web` on port 80 with `reals` (last octet of 10.2.N.2), and `extra` on 8080 with
/// rs2 when `with_extra`; rs3 probed by tcp in `web` when `probe_rs3`.
fn file(reals: &[u8], with_extra: bool, probe_rs3: bool) -> String {
    let mut s = String::from(
        "version: 1\nservices:\n  - name: web\n    vip: 192.168.2.110\n    port: 80\n    scheduler: rr\n    forward: nat\n    drain_timeout: 60\n    real_servers:\n",
    );
    for n in reals {
        s.push_str(&format!("      - address: 10.2.{n}.2\n"));
        if *n == 3 && probe_rs3 {
            s.push_str("        health: {check: tcp, interval: 0.5, timeout: 0.3, fall: 2, rise: 1}\n");
        }
    }
    if with_extra {
        s.push_str(
            "  - name: extra\n    vip: 192.168.2.110\n    port: 8080\n    scheduler: rr\n    forward: nat\n    real_servers:\n      - address: 10.2.2.2\n        port: 80\n",
        );
    }
    s
}

fn network() {
    uml_support::star_network(
        "192.168.2.110",
        &[("rs1", "10.2.1"), ("rs2", "10.2.2"), ("rs3", "10.2.3"), ("client", "10.9.0")],
    );
}

/// A responder answering its name on every line, until the connection closes.
fn responder(ns: &'static str) {
    let listener = Netns::open(ns).unwrap().run(|| TcpListener::bind("0.0.0.0:80")).unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 512];
                while let Ok(1..) = conn.read(&mut buf) {
                    if conn.write_all(format!("{ns}\n").as_bytes()).is_err() {
                        break;
                    }
                }
                let _ = conn.shutdown(Shutdown::Both);
            });
        }
    });
}

fn connect(client: &Netns, port: u16) -> TcpStream {
    client.run(move || TcpStream::connect(format!("192.168.2.110:{port}"))).unwrap()
}

fn ping(s: &mut TcpStream) -> String {
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    s.write_all(b"PING\n").unwrap();
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).unwrap();
    String::from_utf8_lossy(&buf[..n]).trim().to_string()
}

/// A connection held open to the real server `name` behind the port.
fn hold(client: &Netns, port: u16, name: &str) -> TcpStream {
    (0..12).map(|_| connect(client, port)).find_map(|mut s| (ping(&mut s) == name).then_some(s)).unwrap()
}

/// (real server, weight, active connections) of the service on `port`, as ipvsadm shows them.
fn table(port: u16) -> Vec<(String, u32, u32)> {
    let text = sh(&format!("ipvsadm -Ln -t 192.168.2.110:{port} 2>/dev/null || true"));
    text.lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (w.first() == Some(&"->") && w.get(1) != Some(&"RemoteAddress:Port"))
                .then(|| (w[1].to_string(), w[3].parse().unwrap(), w[4].parse().unwrap()))
        })
        .collect()
}

fn weight(port: u16, real: &str) -> Option<u32> {
    table(port).into_iter().find(|(r, ..)| r == real).map(|(_, w, _)| w)
}

fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < timeout, "timed out after {timeout:?} waiting for {what}: {:?}", table(80));
        std::thread::sleep(Duration::from_millis(50));
    }
}

struct Lvsync {
    state: PathBuf,
}

impl Lvsync {
    fn run(&self, args: &[&str], path: &Path) -> Output {
        let mut cmd = Command::new(LVSYNC);
        cmd.arg("--state-dir").arg(&self.state).args(["--iptables", "iptables-legacy"]);
        cmd.args(&args[..1]).arg(path).args(&args[1..]);
        cmd.output().unwrap()
    }

    /// Run and expect `code`; the standard output.
    fn ok(&self, args: &[&str], path: &Path, code: i32) -> String {
        let out = self.run(args, path);
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(code), "lvsync {args:?}: {stdout}\n{stderr}");
        stdout.into_owned()
    }
}

fn write(path: &Path, text: &str) {
    fs::write(path, text).unwrap();
}

#[test]
fn apply_drains_a_busy_real_server_across_runs_and_plan_honours_a_stored_down_verdict() {
    uml_support::test_in_kernel(
        "apply_drains_a_busy_real_server_across_runs_and_plan_honours_a_stored_down_verdict",
        scratch(),
        || {
            network();
            for ns in ["rs1", "rs2", "rs3"] {
                responder(ns);
            }
            let dir = scratch().join(format!("health-oneshot-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            let lv = Lvsync { state: dir.join("state") };
            let path = Path::new("/tmp/lvsync-oneshot.yaml");
            let client = Netns::open("client").unwrap();

            write(path, &file(&[1, 2, 3], true, false));
            lv.ok(&["apply"], path, 0);
            assert_eq!(table(80).len(), 3);

            // rs1 busy, rs3 idle; both leave the file.
            let mut held = hold(&client, 80, "rs1");
            write(path, &file(&[2], true, false));
            let plan = lv.ok(&["plan"], path, 0);
            assert!(
                plan.contains("~ real server 10.2.1.2:80 of web: weight 1 -> 0 (left the file: draining, 1 active connection; deleted when idle or after drain_timeout 60 s)"),
                "{plan}"
            );
            assert!(plan.lines().any(|l| l == "  - real server 10.2.3.2:80 of web"), "{plan}");
            let out = lv.ok(&["apply"], path, 0);
            eprintln!("{out}");
            assert_eq!(weight(80, "10.2.1.2:80"), Some(0), "the busy one drains");
            assert_eq!(weight(80, "10.2.3.2:80"), None, "the idle one goes at once");
            assert_eq!(ping(&mut held), "rs1", "its connection goes on");
            let inventory = fs::read_to_string(dir.join("state/inventory.json")).unwrap();
            assert!(inventory.contains("\"drains\"") && inventory.contains("10.2.1.2:80"), "{inventory}");

            // `status` shows it too (no watch has run: the inventory's drains).
            let status = Command::new(LVSYNC).arg("--state-dir").arg(&lv.state).arg("status").output().unwrap();
            let text = String::from_utf8_lossy(&status.stdout);
            assert!(
                text.lines().any(|l| l.contains("10.2.1.2:80 of tcp/192.168.2.110:80  kernel 0  draining, ")),
                "{text}"
            );

            // A snapshot carries the table and, from the same read, the busy real server's
            // connection: what a plan against it needs to keep the drain.
            let export = Command::new(LVSYNC)
                .arg("--state-dir")
                .arg(&lv.state)
                .args(["--iptables", "iptables-legacy", "export", "--format", "json"])
                .output()
                .unwrap();
            assert!(export.status.success(), "{}", String::from_utf8_lossy(&export.stderr));
            let snapshot: serde_json::Value = serde_json::from_slice(&export.stdout).unwrap();
            assert_eq!(
                snapshot["active_conns"],
                serde_json::json!([{"service": "tcp/192.168.2.110:80", "real_server": "10.2.1.2:80", "active": 1}]),
                "{snapshot}"
            );
            let reals = snapshot["ipvs"]["services"].to_string();
            assert!(reals.contains("10.2.1.2") && reals.contains("10.2.2.2") && !reals.contains("10.2.3.2"), "{reals}");

            // `plan` shows the drain and its time left; it is not drift.
            let plan = lv.ok(&["plan", "--detailed-exitcode"], path, 0);
            let line = plan.lines().find(|l| l.contains("draining, weight 0")).unwrap_or_else(|| panic!("{plan}"));
            assert!(
                line.starts_with("  ~ real server 10.2.1.2:80 of web: draining, weight 0, 1 active connection, "),
                "{line}"
            );
            let left: u64 = line.rsplit(", ").next().unwrap().trim_end_matches(" s left").parse().unwrap();
            assert!((50..=60).contains(&left), "{line}");
            assert!(plan.contains("No changes."), "{plan}");
            let json: serde_json::Value = serde_json::from_str(&lv.ok(&["plan", "--format", "json"], path, 0)).unwrap();
            let d = &json["draining"][0];
            assert_eq!(
                (d["real_server"].as_str(), d["active_connections"].as_u64()),
                (Some("10.2.1.2:80"), Some(1)),
                "{json}"
            );
            assert!(d["left_s"].as_u64().is_some_and(|s| (50..=60).contains(&s)), "{json}");

            // A second apply while the connection lives keeps it; after it closes, deletes it.
            lv.ok(&["apply"], path, 0);
            assert_eq!(weight(80, "10.2.1.2:80"), Some(0));
            assert_eq!(ping(&mut held), "rs1");
            drop(held);
            wait_for("rs1 idle", Duration::from_secs(10), || {
                table(80).iter().any(|(r, _, active)| r == "10.2.1.2:80" && *active == 0)
            });
            let plan = lv.ok(&["plan", "--detailed-exitcode"], path, 2);
            assert!(plan.contains("- real server 10.2.1.2:80 of web (drained: no active connections)"), "{plan}");
            lv.ok(&["apply"], path, 0);
            assert_eq!(weight(80, "10.2.1.2:80"), None, "drained: deleted");
            let inventory = fs::read_to_string(dir.join("state/inventory.json")).unwrap();
            assert!(!inventory.contains("\"drains\""), "{inventory}");

            // A service that leaves the file drains its real servers, then goes.
            let mut held = hold(&client, 8080, "rs2");
            write(path, &file(&[2], false, false));
            lv.ok(&["apply"], path, 0);
            assert_eq!(weight(8080, "10.2.2.2:80"), Some(0), "the service stays while its real server drains");
            assert_eq!(ping(&mut held), "rs2");
            drop(held);
            wait_for("rs2 idle in extra", Duration::from_secs(10), || {
                table(8080).iter().all(|(_, _, active)| *active == 0)
            });
            lv.ok(&["apply"], path, 0);
            assert!(sh("ipvsadm -Ln").lines().all(|l| !l.contains(":8080")), "{}", sh("ipvsadm -Ln"));

            // rs1 comes back and takes a connection, then leaves the file while watch is not
            // running: watch's first reconcile drains it (the inventory knows it is lvsync's).
            write(path, &file(&[1, 2], false, false));
            lv.ok(&["apply"], path, 0);
            let mut held = hold(&client, 80, "rs1");

            // Verdicts outlive watch: rs3's probe (port 81, where nothing listens) fails, watch
            // quiesces it, then stops.
            write(path, &file(&[2, 3], false, true).replace("check: tcp,", "check: tcp, port: 81,"));
            let log = dir.join("watch.log");
            let mut watch = Command::new(LVSYNC)
                .arg("--state-dir")
                .arg(&lv.state)
                .args(["--iptables", "iptables-legacy", "--log-format", "json", "watch"])
                .arg(path)
                .stdout(Stdio::null())
                .stderr(fs::File::create(&log).unwrap())
                .spawn()
                .unwrap();
            wait_for("watch's first reconcile", Duration::from_secs(20), || weight(80, "10.2.3.2:80").is_some());
            assert_eq!(weight(80, "10.2.1.2:80"), Some(0), "drained, not deleted");
            let text = fs::read_to_string(&log).unwrap();
            assert!(text.contains("left the file before watch started"), "{text}");
            for _ in 0..3 {
                std::thread::sleep(Duration::from_millis(500));
                assert_eq!(ping(&mut held), "rs1");
                assert_eq!(weight(80, "10.2.1.2:80"), Some(0), "deleted while a connection is active");
            }
            drop(held);
            wait_for("rs1 deleted by watch once idle", Duration::from_secs(10), || weight(80, "10.2.1.2:80").is_none());
            wait_for("rs3 quiesced by watch", Duration::from_secs(20), || weight(80, "10.2.3.2:80") == Some(0));
            wait_for("the verdict recorded", Duration::from_secs(10), || {
                fs::read_to_string(dir.join("state/health.json")).is_ok_and(|t| t.contains("\"down\""))
            });
            // SAFETY: kill(2) on the pid of a child this test spawned.
            assert_eq!(unsafe { libc::kill(watch.id() as i32, libc::SIGTERM) }, 0);
            assert!(watch.wait().unwrap().success(), "{}", fs::read_to_string(&log).unwrap());

            // Someone puts rs3 back by hand: plan says why it goes to 0 again, apply does it.
            sh("ipvsadm -e -t 192.168.2.110:80 -r 10.2.3.2:80 -m -w 1");
            let plan = lv.ok(&["plan", "--detailed-exitcode"], path, 2);
            let line = plan.lines().find(|l| l.contains("10.2.3.2:80")).unwrap_or_else(|| panic!("{plan}"));
            assert!(line.contains("weight 1 -> 0 (health: down since ") && line.contains("tcp: "), "{line}");
            lv.ok(&["apply"], path, 0);
            assert_eq!(weight(80, "10.2.3.2:80"), Some(0), "a one-shot apply keeps it out");

            // Without the record, the file's weight again.
            fs::rename(dir.join("state/health.json"), dir.join("health.json.away")).unwrap();
            let plan = lv.ok(&["plan"], path, 0);
            assert!(plan.contains("~ real server 10.2.3.2:80 of web: weight 0 -> 1"), "{plan}");
        },
    );
}
