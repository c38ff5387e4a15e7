//! The real servers' responder: every TCP connection and every UDP datagram is answered with the
//! real server's `address:port` and a newline. A TCP connection is answered again for every line
//! the client sends, so one long connection can be checked after the director changed. A
//! responder can be stopped (`lab --kill`): its sockets close, so new connections are refused
//! and datagrams get a port unreachable, as from a crashed server.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use super::netns::Netns;
use super::topology::Listener;
use crate::state::{Protocol, SocketText};

/// The sockets of one real server's responder, answering on background threads.
#[derive(Debug)]
pub struct Responder {
    sockets: Vec<Running>,
}

#[derive(Debug)]
struct Running {
    listener: Listener,
    stop: Arc<AtomicBool>,
    fd: i32,
    thread: JoinHandle<()>,
}

/// Bind every listener inside `netns`, then answer on background threads. Returns once every
/// socket is bound, so requests sent afterwards find them.
pub fn start(netns: &Netns, listeners: &[Listener]) -> io::Result<Responder> {
    let listeners = listeners.to_vec();
    let bound = netns.run(move || {
        let mut bound = Vec::new();
        for l in listeners {
            let at = SocketAddr::new(l.local, l.port);
            let socket = match l.protocol {
                Protocol::Udp => UdpSocket::bind(at).map(Bound::Udp),
                _ => TcpListener::bind(at).map(Bound::Tcp),
            }
            .map_err(|e| io::Error::new(e.kind(), format!("binding {} {at}: {e}", l.protocol)))?;
            bound.push((l, socket));
        }
        Ok(bound)
    })?;
    let sockets = bound
        .into_iter()
        .map(|(listener, socket)| {
            let identity = format!("{}\n", SocketText(listener.identity.0, listener.identity.1));
            let stop = Arc::new(AtomicBool::new(false));
            let flag = stop.clone();
            let (fd, thread) = match socket {
                Bound::Tcp(s) => (s.as_raw_fd(), std::thread::spawn(move || accept(s, identity, &flag))),
                Bound::Udp(s) => (s.as_raw_fd(), std::thread::spawn(move || datagrams(s, identity, &flag))),
            };
            Running { listener, stop, fd, thread }
        })
        .collect();
    Ok(Responder { sockets })
}

impl Responder {
    /// Close the sockets answering as `identity` (`address:port` of a real server); `port`
    /// `None`: every port of that address. Returns how many closed.
    pub fn stop(&mut self, address: std::net::IpAddr, port: Option<u16>) -> usize {
        let (hit, keep): (Vec<Running>, Vec<Running>) = std::mem::take(&mut self.sockets)
            .into_iter()
            .partition(|r| r.listener.identity.0 == address && port.is_none_or(|p| r.listener.identity.1 == p));
        self.sockets = keep;
        let n = hit.len();
        for r in hit {
            r.stop.store(true, Ordering::SeqCst);
            // SAFETY: shutdown(2) on a socket the thread still owns (it has not seen the flag
            // yet); it wakes the thread's blocking accept/recv, which then drops the socket.
            unsafe { libc::shutdown(r.fd, libc::SHUT_RDWR) };
            let _ = r.thread.join();
        }
        n
    }
}

enum Bound {
    Tcp(TcpListener),
    Udp(UdpSocket),
}

fn accept(listener: TcpListener, identity: String, stop: &AtomicBool) {
    loop {
        let accepted = listener.accept();
        if stop.load(Ordering::SeqCst) {
            return;
        }
        if let Ok((stream, _)) = accepted {
            let identity = identity.clone();
            std::thread::spawn(move || {
                // A client that went away is not the responder's problem.
                let _ = converse(stream, &identity);
            });
        }
    }
}

fn converse(stream: TcpStream, identity: &str) -> io::Result<()> {
    let mut out = stream.try_clone()?;
    out.write_all(identity.as_bytes())?;
    let mut lines = BufReader::new(stream);
    let mut line = String::new();
    while lines.read_line(&mut line)? > 0 {
        out.write_all(identity.as_bytes())?;
        line.clear();
    }
    Ok(())
}

fn datagrams(socket: UdpSocket, identity: String, stop: &AtomicBool) {
    let mut buf = [0u8; 2048];
    loop {
        let received = socket.recv_from(&mut buf);
        if stop.load(Ordering::SeqCst) {
            return;
        }
        if let Ok((_, from)) = received {
            let _ = socket.send_to(identity.as_bytes(), from);
        }
    }
}
