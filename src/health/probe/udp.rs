//! A UDP exchange: one datagram out, a reply holding `expect` passes.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};

use tokio::net::UdpSocket;

use super::ProbeError;
use super::http::contains;
use crate::health::spec::Udp;

pub async fn exchange(addr: SocketAddr, u: &Udp) -> Result<(), ProbeError> {
    let socket = bound(addr).await?;
    socket.send(&u.send).await.map_err(|source| ProbeError::Io { what: "send", source })?;
    let mut buf = vec![0u8; 65_536];
    // Replies that lack `expect` are read past until the timeout: a stray datagram does not
    // decide the probe.
    loop {
        let n = socket.recv(&mut buf).await.map_err(super::receive_error)?;
        match &u.expect {
            None => return Ok(()),
            Some(want) if contains(&buf[..n], want) => return Ok(()),
            Some(want) => {
                tracing::debug!(target = %addr, "udp reply without `{}`", String::from_utf8_lossy(want));
            }
        }
    }
}

/// A socket connected to `addr`, so that only its datagrams arrive and an ICMP port
/// unreachable fails the probe at once.
pub async fn bound(addr: SocketAddr) -> Result<UdpSocket, ProbeError> {
    let local: SocketAddr = match addr {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(local).await.map_err(|source| ProbeError::Io { what: "bind", source })?;
    socket.connect(addr).await.map_err(ProbeError::Connect)?;
    Ok(socket)
}
