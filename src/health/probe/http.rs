//! An HTTP/1.1 GET over any stream (plain or TLS), with hyper.

use std::net::IpAddr;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};

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
