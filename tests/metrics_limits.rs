//! The metrics server's limits, with real sockets and threads (a Unix socket: no network
//! needed): an endless header line costs a bounded buffer and gets `431`, a client that sends
//! nothing is cut off with `408` and meanwhile does not hold up anyone else's scrape, and one
//! client too many is answered `503` at once.

use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lvsync::watch::http::{Limits, serve};

const BODY: &str = "lvsync_file_valid 1\n";

fn limits() -> Limits {
    Limits {
        max_head: 8 * 1024,
        read_within: Duration::from_millis(800),
        write_within: Duration::from_secs(2),
        max_clients: 3,
    }
}

fn server(dir: &Path) -> PathBuf {
    let path = dir.join("metrics.sock");
    let listener = UnixListener::bind(&path).unwrap();
    serve(listener, limits(), || BODY.to_string()).unwrap();
    path
}

fn scrape(path: &Path) -> (String, Duration) {
    let started = Instant::now();
    let mut conn = UnixStream::connect(path).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    conn.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut out = String::new();
    conn.read_to_string(&mut out).unwrap();
    (out, started.elapsed())
}

fn status_of(conn: &mut UnixStream) -> String {
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut out = Vec::new();
    let _ = conn.read_to_end(&mut out);
    String::from_utf8_lossy(&out).lines().next().unwrap_or("").to_string()
}

#[test]
fn an_endless_header_line_is_cut_off_with_431() {
    let dir = tempfile::tempdir().unwrap();
    let path = server(dir.path());
    let mut conn = UnixStream::connect(&path).unwrap();
    conn.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    conn.write_all(b"GET /metrics HTTP/1.1\r\nX-Endless: ").unwrap();
    // Far more than the limit; the server stops reading after 8 KiB, so the write stalls or
    // fails once the socket buffers are full instead of growing the server's memory.
    let chunk = vec![b'a'; 64 * 1024];
    let mut sent = 0usize;
    while sent < 64 << 20 {
        match conn.write(&chunk) {
            Ok(n) => sent += n,
            Err(_) => break,
        }
    }
    assert!(sent < 16 << 20, "the server kept reading: {sent} bytes taken");
    assert_eq!(status_of(&mut conn), "HTTP/1.1 431 Request Header Fields Too Large");
    assert!(scrape(&path).0.ends_with(BODY));
}

#[test]
fn a_slow_client_holds_no_scrape_and_is_cut_off_with_408() {
    let dir = tempfile::tempdir().unwrap();
    let path = server(dir.path());
    let started = Instant::now();
    let mut slow = UnixStream::connect(&path).unwrap();
    slow.write_all(b"GET /metr").unwrap();
    let (out, took) = scrape(&path);
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n") && out.ends_with(BODY), "{out}");
    assert!(took < Duration::from_millis(500), "the scrape waited {took:?} behind a slow client");
    // A byte now and then does not extend the deadline: it is for the whole head.
    let trickle = std::thread::spawn({
        let mut slow = slow.try_clone().unwrap();
        move || {
            for b in b"ics HTTP/1.1\r\n" {
                std::thread::sleep(Duration::from_millis(150));
                if slow.write_all(&[*b]).is_err() {
                    break;
                }
            }
        }
    });
    assert_eq!(status_of(&mut slow), "HTTP/1.1 408 Request Timeout");
    let cut = started.elapsed();
    assert!(cut < Duration::from_millis(1600), "cut off after {cut:?}");
    trickle.join().unwrap();
}

#[test]
fn one_client_too_many_is_answered_503_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = server(dir.path());
    let idle: Vec<UnixStream> = (0..3).map(|_| UnixStream::connect(&path).unwrap()).collect();
    std::thread::sleep(Duration::from_millis(100));
    let started = Instant::now();
    let (out, _) = scrape(&path);
    assert!(out.starts_with("HTTP/1.1 503 Service Unavailable\r\n"), "{out}");
    assert!(started.elapsed() < Duration::from_millis(500));
    // Once the idle ones are cut off, scrapes are served again.
    drop(idle);
    std::thread::sleep(Duration::from_millis(200));
    assert!(scrape(&path).0.ends_with(BODY));
}

/// The production entry (`watch --metrics-listen`) over real TCP, inside a network namespace
/// this test makes (`unshare --net`, re-executing this binary): the default limits hold there.
#[test]
fn the_tcp_endpoint_keeps_its_limits_in_a_fresh_network_namespace() {
    const CHILD: &str = "LVSYNC_TEST_METRICS_NETNS";
    let name = "the_tcp_endpoint_keeps_its_limits_in_a_fresh_network_namespace";
    if std::env::var_os(CHILD).is_none() {
        let exe = std::env::current_exe().unwrap();
        let out = std::process::Command::new("unshare")
            .args(["--net", "env", &format!("{CHILD}=1")])
            .arg(exe)
            .args([name, "--exact", "--nocapture", "--test-threads=1"])
            .output()
            .expect("unshare (util-linux) is needed");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("test result: ok. 1 passed"),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    }
    let up = std::process::Command::new("ip").args(["link", "set", "lo", "up"]).status().unwrap();
    assert!(up.success());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let metrics = std::sync::Arc::new(lvsync::watch::metrics::Metrics::new());
    metrics.file_valid(true);
    lvsync::watch::metrics::serve(listener, metrics).unwrap();

    let get = || {
        let started = Instant::now();
        let mut conn = std::net::TcpStream::connect(addr).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        conn.write_all(b"GET /metrics HTTP/1.1\r\n\r\n").unwrap();
        let mut out = String::new();
        conn.read_to_string(&mut out).unwrap();
        assert!(out.contains("\nlvsync_file_valid 1\n"), "{out}");
        started.elapsed()
    };
    // A client that sends one header line without end, and one that sends nothing.
    let mut endless = std::net::TcpStream::connect(addr).unwrap();
    endless.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut sent = 0usize;
    let chunk = vec![b'a'; 64 * 1024];
    let _ = endless.write_all(b"GET /metrics HTTP/1.1\r\nX: ");
    while sent < 64 << 20 {
        match endless.write(&chunk) {
            Ok(n) => sent += n,
            Err(_) => break,
        }
    }
    assert!(sent < 16 << 20, "the server kept reading: {sent} bytes taken");
    let silent = std::net::TcpStream::connect(addr).unwrap();
    assert!(get() < Duration::from_millis(500), "a scrape waited behind the slow clients");
    let started = Instant::now();
    let mut silent = silent;
    silent.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut out = String::new();
    let _ = silent.read_to_string(&mut out);
    assert!(out.starts_with("HTTP/1.1 408 Request Timeout"), "{out}");
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
}
