//! Health checks inside `lvsync watch`, with real traffic in User-Mode Linux: the director (the
//! kernel's own namespace, IPVS NAT), three real servers and a client in network namespaces.
//! A stopped responder is taken out (quiesce in one service, remove in the other, one probe
//! shared by both) while the client's requests go on to the other; it comes back when started;
//! with every real server stopped the fallback serves; metrics and the log say what happened.
//! One boot for the whole story.

mod uml_support;

use std::fs;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use lvsync::lab::netns::Netns;
use uml_support::sh;

const LVSYNC: &str = env!("CARGO_BIN_EXE_lvsync");
const INTERVAL: f64 = 0.5;
const FALL: u32 = 2;

fn scratch() -> &'static Path {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
}

fn file() -> String {
    format!(
        "version: 1
services:
  - name: web
    vip: 192.168.2.110
    port: 80
    scheduler: rr
    forward: nat
    health: {{check: tcp, interval: {INTERVAL}, timeout: 0.3, fall: {FALL}, rise: 1}}
    fallback: {{address: 10.2.3.2, port: 80}}
    real_servers:
      - address: 10.2.1.2
      - address: 10.2.2.2
  - name: web-remove
    vip: 192.168.2.110
    port: 8080
    scheduler: rr
    forward: nat
    health: {{check: tcp, port: 80, interval: {INTERVAL}, timeout: 0.3, fall: {FALL}, rise: 1, on_failure: remove}}
    real_servers:
      - address: 10.2.1.2
        port: 80
      - address: 10.2.2.2
        port: 80
"
    )
}

/// The client's namespace, three real servers' namespaces, each on a veth to the director.
fn network() {
    uml_support::star_network(
        "192.168.2.110",
        &[("rs1", "10.2.1"), ("rs2", "10.2.2"), ("rs3", "10.2.3"), ("client", "10.9.0")],
    );
}

/// An HTTP responder answering its name; `stop` closes its listener (connections refused),
/// `start` opens it again. `accepted` counts every connection (probes included).
struct Responder {
    ns: Netns,
    name: &'static str,
    running: Arc<AtomicBool>,
    accepted: Arc<AtomicU64>,
}

impl Responder {
    fn new(ns: &'static str) -> Responder {
        let r = Responder {
            ns: Netns::open(ns).unwrap(),
            name: ns,
            running: Arc::new(AtomicBool::new(false)),
            accepted: Arc::new(AtomicU64::new(0)),
        };
        r.start();
        r
    }

    fn start(&self) {
        self.running.store(true, Ordering::SeqCst);
        let (running, accepted, name) = (self.running.clone(), self.accepted.clone(), self.name);
        let listener = self
            .ns
            .run(|| {
                let l = TcpListener::bind("0.0.0.0:80")?;
                l.set_nonblocking(true)?;
                Ok(l)
            })
            .unwrap();
        std::thread::spawn(move || {
            while running.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((mut conn, _)) => {
                        accepted.fetch_add(1, Ordering::SeqCst);
                        let _ = conn.set_nonblocking(false);
                        let _ = conn.set_read_timeout(Some(Duration::from_millis(300)));
                        // A long-lived connection asks `HOLD` and is answered until it closes.
                        std::thread::spawn(move || {
                            let mut buf = [0u8; 512];
                            while let Ok(n @ 1..) = conn.read(&mut buf) {
                                if buf[..n].starts_with(b"HOLD") {
                                    let _ = conn.set_read_timeout(None);
                                    let _ = conn.write_all(format!("{name}\n").as_bytes());
                                    continue;
                                }
                                let _ = conn.write_all(format!("HTTP/1.0 200 OK\r\n\r\n{name}").as_bytes());
                                break;
                            }
                            let _ = conn.shutdown(Shutdown::Both);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
            // The listener is dropped here: new connections are refused.
        });
    }

    fn stop(&self) {
        self.running.store(false, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One request from the client to the VIP: which real server answered, or the error.
fn request(client: &Netns, port: u16) -> Result<String, String> {
    client
        .run(move || {
            let mut s =
                TcpStream::connect_timeout(&format!("192.168.2.110:{port}").parse().unwrap(), Duration::from_secs(2))?;
            s.set_read_timeout(Some(Duration::from_secs(2)))?;
            s.write_all(b"GET / HTTP/1.0\r\n\r\n")?;
            let mut out = String::new();
            s.read_to_string(&mut out)?;
            Ok(out)
        })
        .map_err(|e| e.to_string())
        .and_then(|out| out.split("\r\n\r\n").nth(1).map(str::to_string).ok_or(format!("no body in `{out}`")))
}

/// A long-lived connection from the client to the VIP, and one exchange on it.
fn hold(client: &Netns) -> TcpStream {
    client.run(|| TcpStream::connect("192.168.2.110:80")).unwrap()
}

fn ping(s: &mut TcpStream) -> String {
    s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    s.write_all(b"HOLD\n").unwrap();
    let mut buf = [0u8; 64];
    let n = s.read(&mut buf).unwrap();
    String::from_utf8_lossy(&buf[..n]).trim().to_string()
}

/// `n` requests: every answer's server; panics on a failed one.
fn requests(client: &Netns, port: u16, n: usize) -> Vec<String> {
    (0..n).map(|i| request(client, port).unwrap_or_else(|e| panic!("request {i} to port {port} failed: {e}"))).collect()
}

/// Weights by real server in the service on `port`, as ipvsadm shows them.
fn weights(port: u16) -> Vec<(String, u32)> {
    let table = sh(&format!("ipvsadm -Ln -t 192.168.2.110:{port} 2>/dev/null || true"));
    table
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (w.first() == Some(&"->") && w.get(1) != Some(&"RemoteAddress:Port"))
                .then(|| (w[1].to_string(), w[3].parse().unwrap()))
        })
        .collect()
}

fn weight(port: u16, real: &str) -> Option<u32> {
    weights(port).into_iter().find(|(r, _)| r == real).map(|(_, w)| w)
}

fn wait_for(what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < timeout, "timed out after {timeout:?} waiting for {what}: {:?}", weights(80));
        std::thread::sleep(Duration::from_millis(20));
    }
    start.elapsed()
}

fn metrics() -> String {
    let mut s = TcpStream::connect("127.0.0.1:9101").unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

fn start_watch(dir: &Path, file: &Path) -> (Child, PathBuf) {
    let log = dir.join("watch.log");
    let child = Command::new(LVSYNC)
        .arg("--state-dir")
        .arg(dir.join("state"))
        .args(["--iptables", "iptables-legacy", "--log-format", "json"])
        .arg("watch")
        .arg(file)
        .args(["--metrics-listen", "9101"])
        .stdout(Stdio::null())
        .stderr(fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    (child, log)
}

#[test]
fn a_stopped_responder_leaves_the_pool_comes_back_and_the_fallback_serves_when_none_is_left() {
    uml_support::test_in_kernel(
        "a_stopped_responder_leaves_the_pool_comes_back_and_the_fallback_serves_when_none_is_left",
        scratch(),
        || {
            network();
            let dir = scratch().join(format!("health-watch-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            let path = Path::new("/tmp/lvsync-health.yaml");
            fs::write(path, file()).unwrap();
            let client = Netns::open("client").unwrap();
            let (rs1, rs2, _rs3) = (Responder::new("rs1"), Responder::new("rs2"), Responder::new("rs3"));
            let (mut watch, log) = start_watch(&dir, path);
            let read_log = || fs::read_to_string(&log).unwrap();

            wait_for("the first apply", Duration::from_secs(20), || read_log().contains("reconciled"));
            assert_eq!(weights(80), [("10.2.1.2:80".into(), 1), ("10.2.2.2:80".into(), 1)]);
            let served = requests(&client, 80, 10);
            assert!(served.contains(&"rs1".into()) && served.contains(&"rs2".into()), "{served:?}");

            // One probe per interval reaches rs1, although two services share it: count over 4 s.
            let before = rs1.accepted.load(Ordering::SeqCst);
            std::thread::sleep(Duration::from_secs(4));
            let probes = rs1.accepted.load(Ordering::SeqCst) - before;
            let per_interval = 4.0 / INTERVAL;
            assert!((per_interval - 1.0..=per_interval + 1.0).contains(&(probes as f64)), "{probes} probes in 4 s");
            eprintln!("probes received by a real server shared by two services in 4 s: {probes}");

            // Stop rs1: quiesced in web, deleted from web-remove, within fall x interval + slack.
            rs1.stop();
            let took = wait_for("rs1 out", Duration::from_secs(10), || {
                weight(80, "10.2.1.2:80") == Some(0) && weight(8080, "10.2.1.2:80").is_none()
            });
            eprintln!("detection: rs1 out after {took:?} (fall {FALL} x interval {INTERVAL} s)");
            assert!(took.as_secs_f64() <= f64::from(FALL) * INTERVAL + 1.5, "took {took:?}");
            assert_eq!(weight(80, "10.2.2.2:80"), Some(1));
            assert_eq!(requests(&client, 80, 10), vec!["rs2"; 10]);
            assert_eq!(requests(&client, 8080, 10), vec!["rs2"; 10]);
            let text = read_log();
            let line =
                text.lines().find(|l| l.contains("health: real server down")).unwrap_or_else(|| panic!("{text}"));
            assert!(line.contains("tcp: ") && line.contains("10.2.1.2:80 of web"), "{line}");

            // Start it again: back with its file weight in both.
            rs1.start();
            let took = wait_for("rs1 back", Duration::from_secs(10), || {
                weight(80, "10.2.1.2:80") == Some(1) && weight(8080, "10.2.1.2:80") == Some(1)
            });
            eprintln!("recovery: rs1 back after {took:?}");
            let served = requests(&client, 80, 10);
            assert!(served.contains(&"rs1".into()), "{served:?}");

            // Everything stopped: the fallback serves web; it goes once a real server is back.
            rs1.stop();
            rs2.stop();
            wait_for("the fallback", Duration::from_secs(10), || weight(80, "10.2.3.2:80") == Some(1));
            assert_eq!(requests(&client, 80, 5), vec!["rs3"; 5]);
            rs2.start();
            wait_for("the fallback gone", Duration::from_secs(10), || {
                weight(80, "10.2.3.2:80").is_none() && weight(80, "10.2.2.2:80") == Some(1)
            });
            assert_eq!(requests(&client, 80, 5), vec!["rs2"; 5]);

            // A long-lived connection to rs1; rs1 leaves web in the file: it drains (weight 0)
            // while the connection works, and is deleted once the connection closes.
            rs1.start();
            wait_for("rs1 back again", Duration::from_secs(10), || weight(80, "10.2.1.2:80") == Some(1));
            let mut held =
                (0..6).map(|_| hold(&client)).find_map(|mut s| (ping(&mut s) == "rs1").then_some(s)).unwrap();
            fs::write(
                path,
                file().replacen(
                    "      - address: 10.2.1.2\n      - address: 10.2.2.2\n",
                    "      - address: 10.2.2.2\n",
                    1,
                ),
            )
            .unwrap();
            wait_for("rs1 draining", Duration::from_secs(10), || {
                read_log().contains("draining a real server that left the file")
            });
            assert_eq!(weight(80, "10.2.1.2:80"), Some(0));

            // `status` while watch runs: the drain with its time left, file and kernel weights.
            let status = |args: &[&str], state: &Path| {
                Command::new(LVSYNC).arg("--state-dir").arg(state).arg("status").args(args).output().unwrap()
            };
            let out = status(&["--format", "json"], &dir.join("state"));
            assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
            let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            let web = &json["services"][0];
            assert_eq!(web["name"], "web");
            let reals = web["real_servers"].as_array().unwrap();
            let rs1 = reals.iter().find(|r| r["real_server"] == "10.2.1.2:80").expect("the draining real server");
            assert_eq!((rs1["file_weight"].clone(), rs1["kernel_weight"].clone()), (serde_json::Value::Null, 0.into()));
            assert!(rs1["drain_left_s"].as_u64().is_some_and(|s| s > 50 && s <= 60), "{rs1}");
            let rs2 = reals.iter().find(|r| r["real_server"] == "10.2.2.2:80").unwrap();
            assert_eq!((rs2["health"].as_str(), rs2["kernel_weight"].as_u64()), (Some("up"), Some(1)), "{rs2}");
            let text = String::from_utf8(status(&[], &dir.join("state")).stdout).unwrap();
            assert!(
                text.lines().any(|l| l.contains("10.2.1.2:80  file -  kernel 0") && l.contains("s left")),
                "{text}"
            );
            let out = status(&[], &dir.join("no-such-dir"));
            assert_eq!(out.status.code(), Some(1));
            assert!(String::from_utf8_lossy(&out.stderr).contains("no state dir"));

            for _ in 0..3 {
                std::thread::sleep(Duration::from_millis(500));
                assert_eq!(ping(&mut held), "rs1");
                assert_eq!(weight(80, "10.2.1.2:80"), Some(0), "deleted while a connection is active");
            }
            assert_eq!(requests(&client, 80, 5), vec!["rs2"; 5]);
            drop(held);
            let took =
                wait_for("rs1 deleted once idle", Duration::from_secs(10), || weight(80, "10.2.1.2:80").is_none());
            eprintln!("drain: deleted {took:?} after its last connection closed");
            assert_eq!(weight(8080, "10.2.1.2:80"), Some(1));

            let m = metrics();
            for line in [
                "lvsync_real_server_up{service=\"web-remove\",real_server=\"10.2.1.2:80\"} 1",
                "lvsync_real_server_up{service=\"web\",real_server=\"10.2.2.2:80\"} 1",
                "lvsync_health_transitions_total{to=\"down\"} 3",
                "lvsync_health_transitions_total{to=\"up\"} 3",
            ] {
                assert!(m.lines().any(|l| l == line), "missing `{line}` in\n{m}");
            }
            // rs1 left web: it is no longer reported there.
            assert!(!m.contains("service=\"web\",real_server=\"10.2.1.2:80\""), "{m}");
            assert!(
                m.lines().any(|l| l.starts_with("lvsync_health_probes_total{check=\"tcp\",result=\"fail\"}")),
                "{m}"
            );

            // Each verdict reached the kernel soon after the probe that decided it (the figures
            // are printed; under an idle machine they stay below 100 ms, a loaded one with two
            // verdicts at once queues the second behind the first's reconcile).
            let applied: Vec<f64> = read_log()
                .lines()
                .filter(|l| l.contains("the verdicts are in the kernel"))
                .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["since_probe_ms"].as_f64().unwrap())
                .collect();
            eprintln!("from the deciding probe to the kernel, ms: {applied:?}");
            assert!(applied.len() >= 5, "{applied:?}");
            assert!(applied.iter().all(|ms| *ms < 1000.0), "{applied:?}");

            // SAFETY: kill(2) on the pid of a child this test spawned.
            assert_eq!(unsafe { libc::kill(watch.id() as i32, libc::SIGTERM) }, 0);
            assert!(watch.wait().unwrap().success(), "{}", read_log());
        },
    );
}
