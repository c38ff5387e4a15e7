//! The real servers' responder: every TCP connection and every UDP datagram is answered with the
//! real server's `address:port` and a newline. A TCP connection is answered again for every line
//! the client sends, so one long connection can be checked after the director changed.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};

use super::netns::Netns;
use super::topology::Listener;
use crate::state::{Protocol, SocketText};

/// Bind every listener inside `netns`, then answer on background threads for as long as the
/// process lives. Returns once every socket is bound, so requests sent afterwards find them.
pub fn start(netns: &Netns, listeners: &[Listener]) -> io::Result<()> {
    let listeners = listeners.to_vec();
    let bound = netns.run(move || {
        let mut bound = Vec::new();
        for l in listeners {
            let at = SocketAddr::new(l.local, l.port);
            let identity = format!("{}\n", SocketText(l.identity.0, l.identity.1));
            let socket = match l.protocol {
                Protocol::Udp => UdpSocket::bind(at).map(Bound::Udp),
                _ => TcpListener::bind(at).map(Bound::Tcp),
            }
            .map_err(|e| io::Error::new(e.kind(), format!("binding {} {at}: {e}", l.protocol)))?;
            bound.push((socket, identity));
        }
        Ok(bound)
    })?;
    for (socket, identity) in bound {
        match socket {
            Bound::Tcp(listener) => std::thread::spawn(move || accept(listener, identity)),
            Bound::Udp(socket) => std::thread::spawn(move || datagrams(socket, identity)),
        };
    }
    Ok(())
}

enum Bound {
    Tcp(TcpListener),
    Udp(UdpSocket),
}

fn accept(listener: TcpListener, identity: String) {
    for stream in listener.incoming().flatten() {
        let identity = identity.clone();
        std::thread::spawn(move || {
            // A client that went away is not the responder's problem.
            let _ = converse(stream, &identity);
        });
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

fn datagrams(socket: UdpSocket, identity: String) {
    let mut buf = [0u8; 2048];
    while let Ok((_, from)) = socket.recv_from(&mut buf) {
        let _ = socket.send_to(identity.as_bytes(), from);
    }
}
