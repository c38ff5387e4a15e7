//! One probe of one target, with well-kept libraries: tokio for tcp, udp and exec, hyper for
//! http, rustls for https, hickory-proto for dns. A probe never outlives its timeout.

mod dns;
mod exec;
mod http;
mod tls;
mod udp;

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;

use super::spec::{Kind, Target};

/// Why a probe failed: the text after `http: ` in a reason.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("timed out after {} s", .0.as_secs_f64())]
    Timeout(Duration),
    #[error("{}", connect_text(.0))]
    Connect(#[source] io::Error),
    #[error("tls: {0}")]
    Tls(#[source] io::Error),
    #[error("http: {0}")]
    Http(#[source] hyper::Error),
    #[error("http request: {0}")]
    Request(#[source] ::http::Error),
    #[error("status {got}, expected {expected}")]
    Status { got: u16, expected: String },
    #[error("body lacks `{0}`")]
    Body(String),
    #[error("{what}: {source}")]
    Io {
        what: &'static str,
        #[source]
        source: io::Error,
    },
    /// ICMP port unreachable for a datagram: nothing listens there.
    #[error("port unreachable")]
    PortUnreachable,
    #[error("reply lacks `{0}`")]
    Reply(String),
    #[error("dns: {0}")]
    Dns(String),
    #[error("starting `{program}`: {source}")]
    Spawn {
        program: String,
        #[source]
        source: io::Error,
    },
    #[error("`{program}` exited with {status}")]
    Exit { program: String, status: String },
}

/// A receive error of a connected UDP socket.
pub(super) fn receive_error(source: io::Error) -> ProbeError {
    if source.kind() == io::ErrorKind::ConnectionRefused {
        return ProbeError::PortUnreachable;
    }
    ProbeError::Io { what: "receive", source }
}

fn connect_text(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => "connect refused".into(),
        io::ErrorKind::HostUnreachable => "host unreachable".into(),
        io::ErrorKind::NetworkUnreachable => "network unreachable".into(),
        _ => format!("connect: {e}"),
    }
}

/// Runs probes; what the scheduler calls. A trait so that the scheduler can be tested with a
/// scripted prober under a paused clock.
pub trait Probe: Send + Sync + 'static {
    fn probe<'a>(&'a self, target: &'a Target) -> Pin<Box<dyn Future<Output = Result<(), ProbeError>> + Send + 'a>>;
}

/// The real prober. Holds the TLS settings, built once.
pub struct Prober {
    tls: tls::Configs,
}

impl Prober {
    pub fn new() -> Prober {
        Prober { tls: tls::Configs::new() }
    }

    /// One probe, bounded by the target's timeout.
    pub async fn run(&self, target: &Target) -> Result<(), ProbeError> {
        if let Kind::Exec(e) = &target.kind {
            // Its own timeout: the program is killed and reaped, not only dropped.
            return exec::run(e, target.address, target.port, target.timeout).await;
        }
        match tokio::time::timeout(target.timeout, self.unbounded(target)).await {
            Ok(result) => result,
            Err(_) => Err(ProbeError::Timeout(target.timeout)),
        }
    }

    async fn unbounded(&self, target: &Target) -> Result<(), ProbeError> {
        let addr = SocketAddr::new(target.address, target.port);
        match &target.kind {
            Kind::Tcp => connect(addr).await.map(drop),
            Kind::Http(h) => http::get(http::NoShutdown(connect(addr).await?), target.address, h).await,
            Kind::Https(h, t) => {
                let stream = self.tls.connect(connect(addr).await?, target.address, t).await?;
                http::get(stream, target.address, h).await
            }
            Kind::Udp(u) => udp::exchange(addr, u).await,
            Kind::Dns(d) => dns::query(addr, d).await,
            Kind::Exec(e) => exec::run(e, target.address, target.port, target.timeout).await,
        }
    }
}

impl Default for Prober {
    fn default() -> Prober {
        Prober::new()
    }
}

impl Probe for Prober {
    fn probe<'a>(&'a self, target: &'a Target) -> Pin<Box<dyn Future<Output = Result<(), ProbeError>> + Send + 'a>> {
        Box::pin(self.run(target))
    }
}

impl<P: Probe> Probe for Arc<P> {
    fn probe<'a>(&'a self, target: &'a Target) -> Pin<Box<dyn Future<Output = Result<(), ProbeError>> + Send + 'a>> {
        (**self).probe(target)
    }
}

async fn connect(addr: SocketAddr) -> Result<TcpStream, ProbeError> {
    // One socket option only: an HTTP probe writes its request in one piece (Nagle does not
    // delay it), and each option is a system call more per probe, thousands a second at scale.
    let stream = TcpStream::connect(addr).await.map_err(ProbeError::Connect)?;
    // A zero linger: the probe's socket is closed with a reset instead of the FIN exchange, as
    // HAProxy closes its checks. That is two segments less for each end to handle and no socket
    // left in TIME_WAIT for 60 s (480,000 of them at 8,000 probes a second, which every connect
    // must then step over to find a free port). The probe is over when the socket is dropped:
    // a TCP check once connected, an HTTP one once its response is read. Failing to set it
    // changes no verdict; the socket then closes the ordinary way.
    let _ = stream.set_zero_linger();
    Ok(stream)
}
