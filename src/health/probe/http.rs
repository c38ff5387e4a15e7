//! An HTTP/1.1 GET over any stream (plain or TLS), with hyper.

use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::task::JoinHandle;

use super::ProbeError;
use crate::health::spec::Http;

/// The most of a body read while looking for `body`.
const BODY_LIMIT: usize = 64 * 1024;

/// The sending half of an HTTP/1.1 connection, driven by a task of its own.
pub struct Connection {
    sender: SendRequest<Empty<Bytes>>,
    driver: JoinHandle<()>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        // Ends the connection: its stream is dropped with the task (a reset, with the zero linger).
        self.driver.abort();
    }
}

impl Connection {
    /// The HTTP/1.1 handshake over `stream` (plain or TLS), and its driver spawned.
    pub async fn open<S>(stream: S) -> Result<Connection, ProbeError>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(ProbeError::Http)?;
        let driver = tokio::spawn(async move {
            // Its error, if any, is the request's too: `send_request` reports it.
            let _ = conn.await;
        });
        Ok(Connection { sender, driver })
    }

    /// Whether a request can go on this connection now: false once the real server closed it
    /// (its keep-alive timeout, or `Connection: close`) or it failed.
    pub async fn ready(&mut self) -> bool {
        !self.sender.is_closed() && self.sender.ready().await.is_ok()
    }

    /// One GET judged by `h`. With `keep`, the request asks for the connection to stay open and
    /// the whole body is read (a body left unread ends the connection); without, it asks for
    /// `Connection: close` and stops reading once the answer is judged.
    pub async fn get(&mut self, address: IpAddr, h: &Http, keep: bool) -> Result<(), ProbeError> {
        let host = match (&h.host, address) {
            (Some(host), _) => host.clone(),
            (None, IpAddr::V4(a)) => a.to_string(),
            (None, IpAddr::V6(a)) => format!("[{a}]"),
        };
        let mut request = hyper::Request::get(h.path.as_str())
            .header(hyper::header::HOST, host)
            .header(hyper::header::USER_AGENT, "lvsync-health");
        if !keep {
            request = request.header(hyper::header::CONNECTION, "close");
        }
        let request = request.body(Empty::<Bytes>::new()).map_err(ProbeError::Request)?;
        let response = self.sender.send_request(request).await.map_err(ProbeError::Http)?;
        let code = response.status().as_u16();
        if !h.status_ok(code) {
            let expected = h.status.iter().map(|(lo, hi)| if lo == hi { lo.to_string() } else { format!("{lo}-{hi}") });
            return Err(ProbeError::Status { got: code, expected: expected.collect::<Vec<_>>().join(",") });
        }
        if h.body.is_none() && !keep {
            return Ok(());
        }
        let mut body = response.into_body();
        let mut seen = Vec::new();
        let mut found = h.body.is_none();
        let mut read = 0;
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame.map_err(ProbeError::Http)?.into_data() {
                read += data.len();
                if !found {
                    seen.extend_from_slice(&data);
                    found = h.body.as_ref().is_some_and(|want| contains(&seen, want.as_bytes()));
                    if found && !keep {
                        return Ok(());
                    }
                }
                if read > BODY_LIMIT {
                    // Judged on what was read; a kept connection is not kept past an unread rest.
                    self.driver.abort();
                    break;
                }
            }
        }
        match &h.body {
            Some(want) if !found => Err(ProbeError::Body(want.clone())),
            _ => Ok(()),
        }
    }
}

/// One GET on a new connection over `stream`, closed after it.
pub async fn get<S>(stream: S, address: IpAddr, h: &Http) -> Result<(), ProbeError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    Connection::open(stream).await?.get(address, h, false).await
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

/// A plain TCP stream for a probe whose write side is never shut down: hyper shuts it down once
/// a `Connection: close` exchange is over, a `shutdown(2)` that sends a FIN, and the socket is
/// closed right after with a zero linger (a reset) anyway; that is a system call and a segment
/// less per probe, for the director and the real server.
pub struct NoShutdown<S>(pub S);

impl<S: AsyncRead + Unpin> AsyncRead for NoShutdown<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for NoShutdown<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
