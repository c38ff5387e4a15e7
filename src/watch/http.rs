//! The metrics endpoint's HTTP/1.x server: one `GET` per connection, with hard limits so that no
//! client can grow lvsync's memory or hold a scrape. The request head is read into a buffer of
//! at most [`Limits::max_head`] bytes within [`Limits::read_within`] of the connection (a
//! deadline for the whole head, not per read, so a client trickling a byte a second is cut off
//! too), the answer is written within [`Limits::write_within`], and each client is served on a
//! thread of its own, at most [`Limits::max_clients`] at a time: one more is answered `503` at
//! once. The request is one line and a few headers, answered with one body and a close, so a
//! small hand-written reader with these limits is all that is needed; an async HTTP stack would
//! bring a runtime into a daemon that is otherwise a single loop.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The request line and headers together; more is answered `431`.
    pub max_head: usize,
    /// From accepting the connection to the end of the request head; later is answered `408`.
    pub read_within: Duration,
    /// For writing the whole answer; a client that reads slower is dropped.
    pub write_within: Duration,
    /// Clients served at the same time; one more is answered `503` at once.
    pub max_clients: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head: 8 * 1024,
            read_within: Duration::from_secs(2),
            write_within: Duration::from_secs(10),
            max_clients: 8,
        }
    }
}

/// A connection whose reads and writes can time out.
pub trait Conn: Read + Write + Send + 'static {
    fn set_timeouts(&self, read: Option<Duration>, write: Option<Duration>) -> io::Result<()>;
}

impl Conn for TcpStream {
    fn set_timeouts(&self, read: Option<Duration>, write: Option<Duration>) -> io::Result<()> {
        self.set_read_timeout(read)?;
        self.set_write_timeout(write)
    }
}

impl Conn for UnixStream {
    fn set_timeouts(&self, read: Option<Duration>, write: Option<Duration>) -> io::Result<()> {
        self.set_read_timeout(read)?;
        self.set_write_timeout(write)
    }
}

/// Where connections come from: TCP in `watch`, a Unix socket in tests.
pub trait Listener: Send + 'static {
    type Conn: Conn;
    fn accept_conn(&self) -> io::Result<Self::Conn>;
}

impl Listener for TcpListener {
    type Conn = TcpStream;
    fn accept_conn(&self) -> io::Result<TcpStream> {
        self.accept().map(|(s, _)| s)
    }
}

impl Listener for UnixListener {
    type Conn = UnixStream;
    fn accept_conn(&self) -> io::Result<UnixStream> {
        self.accept().map(|(s, _)| s)
    }
}

/// Serve `GET /metrics` with the text `body` makes, from background threads.
pub fn serve<L, F>(listener: L, limits: Limits, body: F) -> io::Result<()>
where
    L: Listener,
    F: Fn() -> String + Send + Sync + 'static,
{
    let body = Arc::new(body);
    let active = Arc::new(AtomicUsize::new(0));
    std::thread::Builder::new().name("lvsync-metrics".into()).spawn(move || {
        loop {
            let conn = match listener.accept_conn() {
                Ok(conn) => conn,
                Err(err) => {
                    // Out of descriptors, say: do not spin; the backlog waits meanwhile.
                    tracing::debug!(error = %err, "metrics: accept failed");
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
            };
            if active.fetch_add(1, Ordering::AcqRel) >= limits.max_clients {
                active.fetch_sub(1, Ordering::AcqRel);
                let _ = busy(conn);
                continue;
            }
            let (body, slot) = (body.clone(), Slot(active.clone()));
            let spawned = std::thread::Builder::new().name("lvsync-metrics-client".into()).spawn(move || {
                let _slot = slot;
                if let Err(err) = answer(conn, &limits, || body()) {
                    tracing::debug!(error = %err, "metrics request failed");
                }
            });
            if let Err(err) = spawned {
                tracing::debug!(error = %err, "metrics: cannot start a thread for a client");
            }
        }
    })?;
    Ok(())
}

/// A client's place among [`Limits::max_clients`], given back when its thread ends.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Answer `503` within a tenth of a second each way. The request is read first (as far as it
/// came): closing a socket with unread data resets it, and the client would lose the answer.
fn busy<C: Conn>(mut conn: C) -> io::Result<()> {
    let brief = Limits { read_within: Duration::from_millis(100), ..Limits::default() };
    read_head(&mut conn, &brief, Instant::now())?;
    let text = "too many clients; try again\n";
    respond(&mut conn, "503 Service Unavailable", PLAIN, text, false, Instant::now() + Duration::from_millis(100))
}

#[derive(Debug, PartialEq, Eq)]
enum Head {
    Complete(Vec<u8>),
    TooLarge,
    TooSlow,
    Closed,
}

/// Read until the blank line that ends the head, within `limits`.
fn read_head<C: Conn>(conn: &mut C, limits: &Limits, started: Instant) -> io::Result<Head> {
    let deadline = started + limits.read_within;
    let mut head = Vec::with_capacity(512);
    let mut chunk = [0u8; 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(Head::TooSlow);
        }
        conn.set_timeouts(Some(left), None)?;
        let room = (limits.max_head + 1 - head.len()).min(chunk.len());
        let n = match conn.read(&mut chunk[..room]) {
            Ok(0) => return Ok(Head::Closed),
            Ok(n) => n,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                return Ok(Head::TooSlow);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        head.extend_from_slice(&chunk[..n]);
        if ends_head(&head) {
            return Ok(Head::Complete(head));
        }
        if head.len() > limits.max_head {
            return Ok(Head::TooLarge);
        }
    }
}

fn ends_head(head: &[u8]) -> bool {
    head.windows(4).any(|w| w == b"\r\n\r\n") || head.windows(2).any(|w| w == b"\n\n")
}

/// One exchange; the connection is closed when it is dropped.
pub fn answer<C: Conn>(mut conn: C, limits: &Limits, body: impl FnOnce() -> String) -> io::Result<()> {
    let started = Instant::now();
    let head = match read_head(&mut conn, limits, started)? {
        Head::Complete(head) => head,
        Head::Closed => return Ok(()),
        Head::TooLarge => {
            let deadline = Instant::now() + limits.write_within;
            let text = "request head too large\n";
            return respond(&mut conn, "431 Request Header Fields Too Large", PLAIN, text, false, deadline);
        }
        Head::TooSlow => {
            let deadline = Instant::now() + limits.write_within;
            return respond(&mut conn, "408 Request Timeout", PLAIN, "request too slow\n", false, deadline);
        }
    };
    let line = head.split(|b| *b == b'\n').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line);
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let deadline = Instant::now() + limits.write_within;
    let head_only = method == "HEAD";
    match (method, path.split('?').next().unwrap_or("")) {
        ("GET" | "HEAD", "/metrics") => {
            respond(&mut conn, "200 OK", super::metrics::CONTENT_TYPE, &body(), head_only, deadline)
        }
        ("GET" | "HEAD", _) => {
            respond(&mut conn, "404 Not Found", PLAIN, "not found; try /metrics\n", head_only, deadline)
        }
        _ => respond(&mut conn, "405 Method Not Allowed", PLAIN, "only GET /metrics\n", false, deadline),
    }
}

const PLAIN: &str = "text/plain; charset=utf-8";

fn respond<C: Conn>(
    conn: &mut C,
    status: &str,
    content_type: &str,
    body: &str,
    head_only: bool,
    deadline: Instant,
) -> io::Result<()> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if !head_only {
        out.extend_from_slice(body.as_bytes());
    }
    let mut sent = 0;
    while sent < out.len() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "client reads too slowly"));
        }
        conn.set_timeouts(None, Some(left))?;
        let end = (sent + 16 * 1024).min(out.len());
        match conn.write(&out[sent..end]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => sent += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    conn.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits { read_within: Duration::from_millis(300), ..Limits::default() }
    }

    fn exchange(request: &[u8]) -> String {
        let (mut client, server) = UnixStream::pair().unwrap();
        client.write_all(request).unwrap();
        answer(server, &limits(), || "lvsync_file_valid 1\n".into()).unwrap();
        let mut out = String::new();
        client.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn answers_metrics_and_refuses_other_paths_and_methods() {
        let ok = exchange(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        assert!(ok.contains("Content-Type: text/plain; version=0.0.4"), "{ok}");
        assert!(ok.ends_with("\r\n\r\nlvsync_file_valid 1\n"), "{ok}");
        let head = exchange(b"HEAD /metrics HTTP/1.1\r\n\r\n");
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n") && head.ends_with("\r\n\r\n"), "{head}");
        assert!(exchange(b"GET / HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 404"));
        assert!(exchange(b"POST /metrics HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 405"));
    }

    #[test]
    fn the_head_is_bounded_in_size_and_time() {
        let (mut client, mut server) = UnixStream::pair().unwrap();
        let endless = vec![b'a'; 64 * 1024];
        let writer = std::thread::spawn(move || {
            let _ = client.write_all(b"GET /metrics HTTP/1.1\r\nX: ");
            let _ = client.write_all(&endless);
            client
        });
        let started = Instant::now();
        assert_eq!(read_head(&mut server, &limits(), started).unwrap(), Head::TooLarge);
        drop(server);
        drop(writer.join().unwrap());

        let (mut client, mut server) = UnixStream::pair().unwrap();
        client.write_all(b"GET /metrics HTTP/1.1\r\n").unwrap();
        let started = Instant::now();
        assert_eq!(read_head(&mut server, &limits(), started).unwrap(), Head::TooSlow);
        assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    }
}
