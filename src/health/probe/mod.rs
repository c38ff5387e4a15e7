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
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::spec::{Http, Kind, Target};

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
    /// What one target's probes keep from one to the next; the target's task owns it, so it
    /// goes when the target does.
    type Session: Default + Send + 'static;

    /// The file descriptors the next probe of `target` may open (see [`super::limits`]): none
    /// when its session holds the connection it will use.
    fn descriptors(&self, target: &Target, session: &Self::Session) -> u32;

    /// Connections kept open between probes now, over all sessions.
    fn kept(&self) -> usize {
        0
    }

    /// One probe. `permit` holds its descriptors; a probe that keeps its connection for the
    /// next keeps the permit with it, in the session.
    fn probe<'a>(
        &'a self,
        target: &'a Target,
        session: &'a mut Self::Session,
        permit: Option<OwnedSemaphorePermit>,
    ) -> Pin<Box<dyn Future<Output = Result<(), ProbeError>> + Send + 'a>>;
}

/// The real prober. Holds the TLS settings, built once, and the places for connections kept
/// open between probes: each holds a file descriptor for as long as its target is probed (see
/// [`super::limits`]).
pub struct Prober {
    tls: tls::Configs,
    kept: Arc<Semaphore>,
    kept_max: usize,
}

/// A target's kept HTTP connection (`keep_alive: true`), if it has one.
#[derive(Default)]
pub struct Session {
    kept: Option<KeptConnection>,
}

/// A connection kept between probes, with its place among the kept and its descriptor.
struct KeptConnection {
    conn: http::Connection,
    place: Place,
}

/// What lets a connection be kept: a place among the prober's and the descriptor's permit.
struct Place {
    _slot: OwnedSemaphorePermit,
    _permit: Option<OwnedSemaphorePermit>,
}

impl Prober {
    pub fn new() -> Prober {
        Prober::with_kept_max(usize::MAX)
    }

    /// At most `max` connections kept open between probes; past it, a `keep_alive` check
    /// closes its connection after each probe, as the others do.
    pub fn with_kept_max(max: usize) -> Prober {
        let max = max.min(Semaphore::MAX_PERMITS);
        Prober { tls: tls::Configs::new(), kept: Arc::new(Semaphore::new(max)), kept_max: max }
    }

    /// Connections kept open between probes now.
    pub fn kept(&self) -> usize {
        self.kept_max - self.kept.available_permits()
    }

    /// One probe, bounded by the target's timeout, with nothing kept from it.
    pub async fn run(&self, target: &Target) -> Result<(), ProbeError> {
        self.run_in(target, &mut Session::default(), None).await
    }

    /// One probe, bounded by the target's timeout, in the target's session: a `keep_alive`
    /// check sends its request on the connection the last probe left open, if the real server
    /// has not closed it, and leaves its own open for the next.
    pub async fn run_in(
        &self,
        target: &Target,
        session: &mut Session,
        permit: Option<OwnedSemaphorePermit>,
    ) -> Result<(), ProbeError> {
        if let Kind::Exec(e) = &target.kind {
            // Its own timeout: the program is killed and reaped, not only dropped.
            return exec::run(e, target.address, target.port, target.timeout).await;
        }
        match tokio::time::timeout(target.timeout, self.unbounded(target, session, permit)).await {
            Ok(result) => result,
            Err(_) => Err(ProbeError::Timeout(target.timeout)),
        }
    }

    async fn unbounded(
        &self,
        target: &Target,
        session: &mut Session,
        permit: Option<OwnedSemaphorePermit>,
    ) -> Result<(), ProbeError> {
        let addr = SocketAddr::new(target.address, target.port);
        match &target.kind {
            Kind::Tcp => connect(addr).await.map(drop),
            Kind::Http(h) if h.keep_alive => {
                let open = || async { http::Connection::open(http::NoShutdown(connect(addr).await?)).await };
                self.kept_get(session, target, h, open, permit).await
            }
            Kind::Https(h, t) if h.keep_alive => {
                let open = || async {
                    http::Connection::open(self.tls.connect(connect(addr).await?, target.address, t).await?).await
                };
                self.kept_get(session, target, h, open, permit).await
            }
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

impl Prober {
    /// A GET on the session's kept connection, or on a new one that is kept after it while
    /// the prober has a place for it. A kept connection that fails before an answer (the real server closed
    /// it as the request left, or reset it) gets the probe retried once on a new connection, so
    /// the verdict is the real server's, not an idle connection's; the new connection takes the
    /// old one's place. A probe cut short by its timeout drops the connection with its place:
    /// the connection was taken out of the session first.
    async fn kept_get<F, Fut>(
        &self,
        session: &mut Session,
        target: &Target,
        h: &Http,
        open: F,
        permit: Option<OwnedSemaphorePermit>,
    ) -> Result<(), ProbeError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<http::Connection, ProbeError>>,
    {
        let mut place = None;
        if let Some(KeptConnection { mut conn, place: p }) = session.kept.take() {
            if conn.ready().await {
                match conn.get(target.address, h, true).await {
                    Ok(()) => {
                        session.kept = Some(KeptConnection { conn, place: p });
                        return Ok(());
                    }
                    Err(ProbeError::Http(_)) => {}
                    Err(e) => {
                        session.kept = Some(KeptConnection { conn, place: p });
                        return Err(e);
                    }
                }
            }
            place = Some(p);
        }
        let mut conn = open().await?;
        let result = conn.get(target.address, h, true).await;
        if matches!(result, Ok(()) | Err(ProbeError::Status { .. } | ProbeError::Body(_)))
            && let Some(place) = place.or_else(|| {
                let slot = self.kept.clone().try_acquire_owned().ok()?;
                Some(Place { _slot: slot, _permit: permit })
            })
        {
            session.kept = Some(KeptConnection { conn, place });
        }
        result
    }
}

impl Default for Prober {
    fn default() -> Prober {
        Prober::new()
    }
}

impl Probe for Prober {
    type Session = Session;

    fn kept(&self) -> usize {
        Prober::kept(self)
    }

    fn descriptors(&self, target: &Target, session: &Session) -> u32 {
        match &target.kind {
            Kind::Exec(_) => super::limits::PER_EXEC,
            _ if session.kept.is_some() => 0,
            _ => 1,
        }
    }

    fn probe<'a>(
        &'a self,
        target: &'a Target,
        session: &'a mut Session,
        permit: Option<OwnedSemaphorePermit>,
    ) -> Pin<Box<dyn Future<Output = Result<(), ProbeError>> + Send + 'a>> {
        Box::pin(self.run_in(target, session, permit))
    }
}

impl<P: Probe> Probe for Arc<P> {
    type Session = P::Session;

    fn descriptors(&self, target: &Target, session: &P::Session) -> u32 {
        (**self).descriptors(target, session)
    }

    fn kept(&self) -> usize {
        (**self).kept()
    }

    fn probe<'a>(
        &'a self,
        target: &'a Target,
        session: &'a mut P::Session,
        permit: Option<OwnedSemaphorePermit>,
    ) -> Pin<Box<dyn Future<Output = Result<(), ProbeError>> + Send + 'a>> {
        (**self).probe(target, session, permit)
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
