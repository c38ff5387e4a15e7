//! The health prober standalone, for bench/health-bench.sh: the same `Runner` that `watch`
//! uses, fed the targets of a desired-state file, for a fixed time; its CPU is read from
//! outside. `serve ADDR COUNTER` is the bench's real-server responder (its CPU is not counted):
//! every request gets a `200 OK`, and the connection is closed after it unless the request keeps
//! it (HTTP/1.1 without `Connection: close`: lvsync's `keep_alive` checks; HTTP/1.0, as
//! keepalived sends, only with `Connection: keep-alive`); twice a second it writes to COUNTER how many
//! probes it has answered so far (a TCP check: a connection; an HTTP check: a response), the
//! same count for either prober.
//!
//! Usage: lvsync-health-bench probe FILE SECONDS | lvsync-health-bench serve ADDR COUNTER

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use lvsync::health::runner::{Runner, targets};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["probe", file, seconds] => probe(file, seconds.parse().context("SECONDS")?),
        ["serve", addr, counter] => serve(addr, counter),
        _ => bail!("usage: lvsync-health-bench probe FILE SECONDS | lvsync-health-bench serve ADDR COUNTER"),
    }
}

fn probe(file: &str, seconds: u64) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(file).with_context(|| format!("reading {file}"))?;
    let config = lvsync::model::load(&text).map_err(|d| anyhow::anyhow!("{}", d.render(file)))?;
    let set = targets(&config);
    let transitions = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let t = transitions.clone();
    let runner = Runner::start(Arc::new(move |_| {
        t.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }))?;
    let n = set.len();
    runner.set_targets(set);
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit(2) writes the struct it is given.
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    let (cap, kept) = (lvsync::health::limits::descriptors(lim.rlim_cur), lvsync::health::limits::kept(lim.rlim_cur));
    eprintln!(
        "probing {n} targets for {seconds} s (pid {}; {} files: {cap} for probes, {kept} of them for kept connections)",
        std::process::id(),
        lim.rlim_cur
    );
    std::thread::sleep(Duration::from_secs(seconds));
    let counts = runner.shared().probe_counts();
    let verdicts = runner.shared().verdicts();
    let down = verdicts.values().filter(|v| v.health() == "down").count();
    let errors: std::collections::BTreeMap<String, usize> =
        verdicts.values().filter_map(|v| v.last_error.clone()).fold(Default::default(), |mut m, e| {
            *m.entry(e).or_default() += 1;
            m
        });
    for ((kind, passed), n) in counts {
        println!("probes {kind} {} {n}", if passed { "pass" } else { "fail" });
    }
    println!("targets {n} down {down} transitions {}", transitions.load(std::sync::atomic::Ordering::Relaxed));
    for (e, n) in errors {
        println!("error {n} {e}");
    }
    Ok(())
}

fn serve(addr: &str, counter: &str) -> anyhow::Result<()> {
    let answered = Arc::new(AtomicU64::new(0));
    let (count, path) = (answered.clone(), counter.to_string());
    std::thread::spawn(move || {
        loop {
            // Whole or not at all: the bench reads it at any moment.
            let tmp = format!("{path}.tmp");
            if std::fs::write(&tmp, count.load(Ordering::Relaxed).to_string()).is_ok() {
                let _ = std::fs::rename(&tmp, &path);
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    });
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        // A deep listen queue (the bench raises somaxconn to match): on a busy machine the
        // responder falls behind for moments, and a SYN dropped from a full queue comes back
        // after 1 s, the probes' timeout, and would count against the prober.
        let addr: std::net::SocketAddr = addr.parse().with_context(|| format!("not an address: {addr}"))?;
        let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
        socket.set_reuseaddr(true)?;
        socket.bind(addr).with_context(|| format!("binding {addr}"))?;
        let listener = socket.listen(16384)?;
        loop {
            let Ok((mut conn, _)) = listener.accept().await else { continue };
            let answered = answered.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 2048];
                let mut seen = Vec::new();
                let mut requests = 0u64;
                // A TCP check connects and closes; an HTTP check sends a request first, and a
                // `keep_alive` one sends its next requests on the same connection.
                loop {
                    match conn.read(&mut buf).await {
                        Ok(n @ 1..) => seen.extend_from_slice(&buf[..n]),
                        // A TCP check closes with a FIN (read gives 0) or a reset (an error).
                        Ok(0) | Err(_) if seen.is_empty() && requests == 0 => {
                            answered.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                        _ => break,
                    }
                    while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = seen.drain(..end + 4).collect::<Vec<u8>>().to_ascii_lowercase();
                        // HTTP/1.0 (keepalived's HTTP_GET) closes after each answer unless it asks
                        // for keep-alive; HTTP/1.1 keeps the connection unless it asks to close.
                        let http10 = head.split(|&b| b == b'\r').next().is_some_and(|l| l.ends_with(b"http/1.0"));
                        let close = if http10 {
                            !head.windows(22).any(|w| w == b"connection: keep-alive")
                        } else {
                            head.windows(17).any(|w| w == b"connection: close")
                        };
                        let answer: &[u8] = if close {
                            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n"
                        } else {
                            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nok\n"
                        };
                        if conn.write_all(answer).await.is_err() {
                            return;
                        }
                        answered.fetch_add(1, Ordering::Relaxed);
                        requests += 1;
                        if close {
                            return;
                        }
                    }
                }
            });
        }
    })
}
