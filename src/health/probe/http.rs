//! An HTTP/1.1 GET over any stream (plain or TLS), with hyper.

use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::ProbeError;
use crate::health::spec::Http;

/// The most of a body read while looking for `body`.
const BODY_LIMIT: usize = 64 * 1024;

pub async fn get<S>(stream: S, address: IpAddr, h: &Http) -> Result<(), ProbeError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(ProbeError::Http)?;
    // The connection is driven beside the request; it ends when the sender is dropped.
    let driver = tokio::spawn(conn);
    let host = match (&h.host, address) {
        (Some(host), _) => host.clone(),
        (None, IpAddr::V4(a)) => a.to_string(),
        (None, IpAddr::V6(a)) => format!("[{a}]"),
    };
    let request = hyper::Request::get(h.path.as_str())
        .header(hyper::header::HOST, host)
        .header(hyper::header::USER_AGENT, "lvsync-health")
        .header(hyper::header::CONNECTION, "close")
        .body(Empty::<Bytes>::new())
        .map_err(ProbeError::Request)?;
    let result = async {
        let response = sender.send_request(request).await.map_err(ProbeError::Http)?;
        let code = response.status().as_u16();
        if !h.status_ok(code) {
            let expected = h.status.iter().map(|(lo, hi)| if lo == hi { lo.to_string() } else { format!("{lo}-{hi}") });
            return Err(ProbeError::Status { got: code, expected: expected.collect::<Vec<_>>().join(",") });
        }
        let Some(want) = &h.body else { return Ok(()) };
        let mut body = response.into_body();
        let mut seen = Vec::new();
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame.map_err(ProbeError::Http)?.into_data() {
                seen.extend_from_slice(&data);
                if contains(&seen, want.as_bytes()) {
                    return Ok(());
                }
                if seen.len() > BODY_LIMIT {
                    break;
                }
            }
        }
        Err(ProbeError::Body(want.clone()))
    }
    .await;
    driver.abort();
    result
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
