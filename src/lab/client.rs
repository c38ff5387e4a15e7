//! The client: new TCP connections or UDP datagrams from new sockets to a service, each answer
//! counted by the real server it names.

use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use super::netns::Netns;
use super::topology::Target;
use crate::state::Protocol;

/// How long one request may take before it counts as failed: over TCP's first SYN
/// retransmission (1 s), so one segment lost on a loaded lab machine is not a failed request.
pub const TIMEOUT: Duration = Duration::from_secs(2);
/// How long the client waits for one answer before it sends the next request anyway. Answers
/// inside the lab take milliseconds, so healthy runs stay strictly in order (what schedulers
/// such as rr see), while a service that drops everything costs this per request, not TIMEOUT.
const PACE: Duration = Duration::from_millis(150);

/// Source ports for UDP requests, one per request of the whole lab run (UDP and TCP ports are
/// apart, and nothing else in the client's namespace uses UDP); past 65,535 it wraps around.
static NEXT_UDP_PORT: AtomicU16 = AtomicU16::new(10_000);

/// What the requests to one service gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Answers per `address:port` of the real server that answered.
    pub by_real: BTreeMap<String, u32>,
    /// Failed requests per reason.
    pub failures: BTreeMap<String, u32>,
}

pub fn send(client: &Netns, target: &Target, requests: u32) -> Tally {
    let to = SocketAddr::new(target.vip, target.port);
    let protocol = target.protocol;
    let mut tally = Tally::default();
    let mut pending = Vec::new();
    for _ in 0..requests {
        let (tx, rx) = mpsc::channel();
        let ns = client.clone();
        std::thread::spawn(move || {
            let answer = ns.enter().and_then(|()| request(protocol, to));
            let _ = tx.send(answer);
        });
        match rx.recv_timeout(PACE) {
            Ok(answer) => tally.count(answer),
            Err(_) => pending.push(rx),
        }
    }
    for rx in pending {
        let answer = rx.recv().unwrap_or_else(|_| Err(io::Error::other("the request's thread ended")));
        tally.count(answer);
    }
    tally
}

/// One request from a new socket in `client`'s namespace: the real server that answered.
pub fn one(client: &Netns, target: &Target) -> io::Result<String> {
    let (protocol, to) = (target.protocol, SocketAddr::new(target.vip, target.port));
    client.run(move || request(protocol, to))
}

impl Tally {
    pub fn count(&mut self, answer: io::Result<String>) {
        match answer {
            Ok(real) => *self.by_real.entry(real).or_default() += 1,
            Err(e) => *self.failures.entry(reason(&e)).or_default() += 1,
        }
    }

    pub fn failed(&self) -> u32 {
        self.failures.values().sum()
    }
}

fn reason(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => "timed out".into(),
        io::ErrorKind::ConnectionRefused => "refused".into(),
        io::ErrorKind::ConnectionReset => "reset".into(),
        io::ErrorKind::UnexpectedEof => "closed without an answer".into(),
        _ => e.to_string(),
    }
}

/// One request from a new socket; the answer is the real server's `address:port`.
fn request(protocol: Protocol, to: SocketAddr) -> io::Result<String> {
    match protocol {
        Protocol::Udp => {
            let any: SocketAddr = if to.is_ipv6() { "[::]:0" } else { "0.0.0.0:0" }.parse().expect("literal address");
            // Every datagram is a new flow to IPVS only if its source port is new: a port the
            // system hands out again would hit the connection entry of an earlier datagram (kept
            // for the UDP timeout) and go to the same real server, skewing the distribution.
            let port = NEXT_UDP_PORT.fetch_add(1, Ordering::Relaxed);
            let socket = UdpSocket::bind(SocketAddr::new(any.ip(), port)).or_else(|_| UdpSocket::bind(any))?;
            // Connected: only an answer from the VIP itself counts, as a real client would see it.
            socket.connect(to)?;
            socket.set_read_timeout(Some(TIMEOUT))?;
            socket.send(b"?\n")?;
            let mut buf = [0u8; 512];
            let n = socket.recv(&mut buf)?;
            answer(&buf[..n])
        }
        _ => {
            let stream = TcpStream::connect_timeout(&to, TIMEOUT)?;
            stream.set_read_timeout(Some(TIMEOUT))?;
            let mut buf = Vec::new();
            BufReader::new(stream).take(512).read_until(b'\n', &mut buf)?;
            answer(&buf)
        }
    }
}

fn answer(bytes: &[u8]) -> io::Result<String> {
    let text = String::from_utf8_lossy(bytes).trim().to_string();
    if text.is_empty() { Err(io::ErrorKind::UnexpectedEof.into()) } else { Ok(text) }
}

/// One TCP connection kept open: every `ping` asks the real server behind it to answer again.
#[derive(Debug)]
pub struct Held {
    stream: TcpStream,
    lines: BufReader<TcpStream>,
    /// The real server that answered when the connection opened.
    pub first: String,
}

impl Held {
    pub fn open(client: &Netns, target: &Target) -> io::Result<Held> {
        let to = SocketAddr::new(target.vip, target.port);
        let stream = client.run(move || TcpStream::connect_timeout(&to, TIMEOUT))?;
        stream.set_read_timeout(Some(TIMEOUT))?;
        let mut lines = BufReader::new(stream.try_clone()?);
        let first = read_answer(&mut lines)?;
        Ok(Held { stream, lines, first })
    }

    pub fn ping(&mut self) -> io::Result<String> {
        self.stream.write_all(b"again\n")?;
        read_answer(&mut self.lines)
    }
}

fn read_answer(lines: &mut BufReader<TcpStream>) -> io::Result<String> {
    let mut line = String::new();
    lines.read_line(&mut line)?;
    answer(line.as_bytes())
}
