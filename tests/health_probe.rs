//! The probers against real responders, with real traffic, never in the host's own network
//! namespace: each test re-executes this binary under `unshare --net`, brings up loopback with
//! a few 10.0.0.x addresses there, and runs responders and probes inside. Needs root, `unshare`
//! (util-linux) and `ip` (iproute2); a missing one fails the test.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, TcpListener, UdpSocket};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use lvsync::health::probe::{Prober, Session};
use lvsync::health::runner::{Runner, targets};
use lvsync::health::spec::{Dns, Exec, Http, Kind, RecordType, Target, Tls, Udp};
use lvsync::health::verdict::State;

const CHILD: &str = "LVSYNC_TEST_NETNS_HEALTH";

/// Runs `body` inside a new network namespace with lo up and 10.0.0.1-4/8 on it.
fn in_netns(test: &str, body: impl FnOnce()) {
    if std::env::var_os(CHILD).is_some() {
        for cmd in [&["link", "set", "lo", "up"][..], &["addr", "add", "10.0.0.1/8", "dev", "lo"]] {
            let st = std::process::Command::new("ip").args(cmd).status().expect("running ip (iproute2)");
            assert!(st.success(), "ip {cmd:?} failed");
        }
        for a in ["10.0.0.2/8", "10.0.0.3/8", "10.0.0.4/8"] {
            std::process::Command::new("ip").args(["addr", "add", a, "dev", "lo"]).status().unwrap();
        }
        body();
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new("unshare")
        .args(["--net", "env", &format!("{CHILD}=1")])
        .arg(&exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .output()
        .expect("running unshare (util-linux)");
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success() && stdout.contains("test result: ok. 1 passed"),
        "{test} in its namespace:\n{stdout}\n{stderr}"
    );
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn target(addr: &str, port: u16, kind: Kind) -> Target {
    Target {
        address: ip(addr),
        port,
        kind,
        interval: Duration::from_secs(2),
        timeout: Duration::from_millis(700),
        rise: 1,
        fall: 1,
    }
}

/// One probe, its error text if it failed.
fn probe(t: &Target) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(Prober::new().run(t)).map_err(|e| e.to_string())
}

/// Answers every connection on `addr` with `response`; records each request's head.
fn http_server(addr: &str, response: &'static str) -> Arc<Mutex<Vec<String>>> {
    let listener = TcpListener::bind(addr).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut head = String::new();
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            s.lock().unwrap().push(head);
            let _ = conn.write_all(response.as_bytes());
        }
    });
    seen
}

fn http(path: &str, status: Vec<(u16, u16)>, body: Option<&str>) -> Http {
    Http {
        path: path.into(),
        host: Some("www.example.com".into()),
        status,
        body: body.map(Into::into),
        keep_alive: false,
    }
}

#[test]
fn tcp_passes_on_a_listener_and_fails_refused_without_one() {
    in_netns("tcp_passes_on_a_listener_and_fails_refused_without_one", || {
        let _l = TcpListener::bind("10.0.0.2:8080").unwrap();
        assert_eq!(probe(&target("10.0.0.2", 8080, Kind::Tcp)), Ok(()));
        assert_eq!(probe(&target("10.0.0.2", 8081, Kind::Tcp)), Err("connect refused".into()));
    });
}

#[test]
fn http_checks_status_body_path_and_host() {
    in_netns("http_checks_status_body_path_and_host", || {
        let ok =
            http_server("10.0.0.2:80", "HTTP/1.1 200 OK\r\nContent-Length: 9\r\nConnection: close\r\n\r\nall is ok");
        http_server(
            "10.0.0.3:80",
            "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
        let t = |addr: &str, h: Http| target(addr, 80, Kind::Http(h));
        assert_eq!(probe(&t("10.0.0.2", http("/healthz", vec![(200, 399)], Some("is ok")))), Ok(()));
        let head = ok.lock().unwrap()[0].clone();
        assert!(head.starts_with("GET /healthz HTTP/1.1\r\n"), "{head}");
        assert!(head.to_ascii_lowercase().contains("host: www.example.com\r\n"), "{head}");
        assert_eq!(probe(&t("10.0.0.2", http("/", vec![(200, 399)], Some("pong")))), Err("body lacks `pong`".into()));
        assert_eq!(probe(&t("10.0.0.2", http("/", vec![(204, 204)], None))), Err("status 200, expected 204".into()));
        assert_eq!(
            probe(&t("10.0.0.3", http("/", vec![(200, 399)], None))),
            Err("status 503, expected 200-399".into())
        );
        assert_eq!(probe(&t("10.0.0.4", http("/", vec![(200, 399)], None))), Err("connect refused".into()));
    });
}

/// A TLS server's settings with a new self-signed certificate for www.example.com.
fn self_signed_tls() -> Arc<rustls::ServerConfig> {
    let cert = rcgen::generate_simple_self_signed(vec!["www.example.com".to_string()]).unwrap();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .unwrap();
    Arc::new(config)
}

#[test]
fn https_with_a_self_signed_certificate_passes_only_without_verification() {
    in_netns("https_with_a_self_signed_certificate_passes_only_without_verification", || {
        let config = self_signed_tls();
        let listener = TcpListener::bind("10.0.0.2:443").unwrap();
        let snis = Arc::new(Mutex::new(Vec::new()));
        let s = snis.clone();
        std::thread::spawn(move || {
            for tcp in listener.incoming() {
                let Ok(mut tcp) = tcp else { continue };
                let mut tls = rustls::ServerConnection::new(config.clone()).unwrap();
                let mut stream = rustls::Stream::new(&mut tls, &mut tcp);
                let mut buf = [0u8; 4096];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                if got.is_empty() {
                    continue;
                }
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
                let _ = stream.flush();
                s.lock().unwrap().push(tls.server_name().map(str::to_string));
                tls.send_close_notify();
                let _ = tls.complete_io(&mut tcp);
            }
        });
        let https = |verify: bool| {
            let tls = Tls { verify, sni: Some("www.example.com".into()) };
            target("10.0.0.2", 443, Kind::Https(http("/", vec![(200, 200)], Some("ok")), tls))
        };
        assert_eq!(probe(&https(false)), Ok(()));
        assert_eq!(snis.lock().unwrap().as_slice(), [Some("www.example.com".to_string())], "the SNI is sent");
        let refused = probe(&https(true)).unwrap_err();
        assert!(refused.starts_with("tls: ") && refused.contains("UnknownIssuer"), "{refused}");
    });
}

#[test]
fn udp_passes_on_the_expected_reply_only() {
    in_netns("udp_passes_on_the_expected_reply_only", || {
        let socket = UdpSocket::bind("10.0.0.2:9000").unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while let Ok((n, from)) = socket.recv_from(&mut buf) {
                let reply: &[u8] = if &buf[..n] == b"ping" { b"a pong here" } else { b"what?" };
                let _ = socket.send_to(reply, from);
            }
        });
        let udp = |send: &str, expect: Option<&str>| {
            let u = Udp { send: send.as_bytes().to_vec(), expect: expect.map(|e| e.as_bytes().to_vec()) };
            target("10.0.0.2", 9000, Kind::Udp(u))
        };
        assert_eq!(probe(&udp("ping", Some("pong"))), Ok(()));
        assert_eq!(probe(&udp("hello", None)), Ok(()), "without expect any reply passes");
        assert_eq!(probe(&udp("hello", Some("pong"))), Err("timed out after 0.7 s".into()));
        let closed = probe(&target("10.0.0.2", 9001, Kind::Udp(Udp { send: b"ping".to_vec(), expect: None })));
        assert_eq!(closed, Err("port unreachable".into()), "ICMP port unreachable fails at once");
    });
}

#[test]
fn dns_passes_on_an_answer_of_the_asked_type() {
    use hickory_proto::op::{Message, ResponseCode};
    use hickory_proto::rr::{RData, Record, RecordType as Rt, rdata::A};
    in_netns("dns_passes_on_an_answer_of_the_asked_type", || {
        let socket = UdpSocket::bind("10.0.0.2:53").unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 1500];
            while let Ok((n, from)) = socket.recv_from(&mut buf) {
                let Ok(q) = Message::from_vec(&buf[..n]) else { continue };
                let mut r = Message::response(q.metadata.id, q.metadata.op_code);
                let query = q.queries[0].clone();
                let name = query.name().to_ascii();
                r.add_query(query.clone());
                if name != "example.com." {
                    r.metadata.response_code = ResponseCode::NXDomain;
                } else if query.query_type() == Rt::A {
                    r.answers.push(Record::from_rdata(query.name().clone(), 60, RData::A(A([10, 0, 0, 9].into()))));
                }
                let _ = socket.send_to(&r.to_vec().unwrap(), from);
            }
        });
        let dns = |name: &str, record| target("10.0.0.2", 53, Kind::Dns(Dns { name: name.into(), record }));
        assert_eq!(probe(&dns("example.com", RecordType::A)), Ok(()));
        assert_eq!(probe(&dns("example.com", RecordType::Aaaa)), Err("dns: no AAAA record for example.com".into()));
        let nx = probe(&dns("example.org", RecordType::A)).unwrap_err();
        assert!(nx.starts_with("dns: A example.org: ") && nx.contains("Non-Existent Domain"), "{nx}");
    });
}

#[test]
fn exec_runs_argv_with_substitutions_and_is_killed_at_the_timeout() {
    in_netns("exec_runs_argv_with_substitutions_and_is_killed_at_the_timeout", || {
        let exec = |cmd: &[&str]| {
            target("10.0.0.2", 8080, Kind::Exec(Exec { command: cmd.iter().map(|s| s.to_string()).collect() }))
        };
        assert_eq!(probe(&exec(&["test", "{address}:{port}", "=", "10.0.0.2:8080"])), Ok(()));
        let wrong = probe(&exec(&["test", "{address}", "=", "10.0.0.3"])).unwrap_err();
        assert_eq!(wrong, "`test` exited with exit status: 1");
        // A shell would expand this; exec does not, so `test` sees one literal argument.
        assert_eq!(probe(&exec(&["test", "$HOME"])), Ok(()), "non-empty string: true");
        assert!(probe(&exec(&["/nonexistent/check"])).unwrap_err().starts_with("starting `/nonexistent/check`"));
        let started = Instant::now();
        assert_eq!(probe(&exec(&["sleep", "30"])), Err("timed out after 0.7 s".into()));
        assert!(started.elapsed() < Duration::from_secs(3));
        let left = std::process::Command::new("pgrep")
            .args(["-x", "-P", &std::process::id().to_string(), "sleep"])
            .output()
            .unwrap();
        assert!(left.stdout.is_empty(), "the timed-out program was killed: {}", String::from_utf8_lossy(&left.stdout));
    });
}

/// Accepts connections on `addr`, counting them, until `stop` is set.
fn counting_listener(addr: &str) -> (Arc<AtomicUsize>, mpsc::Sender<()>) {
    let listener = TcpListener::bind(addr).unwrap();
    listener.set_nonblocking(true).unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let (stop, stopped) = mpsc::channel();
    let c = count.clone();
    std::thread::spawn(move || {
        while stopped.try_recv().is_err() {
            match listener.accept() {
                Ok(_) => {
                    c.fetch_add(1, Ordering::SeqCst);
                }
                Err(_) => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    });
    (count, stop)
}

#[test]
fn a_real_server_shared_by_two_services_gets_one_probe_and_transitions_arrive_promptly() {
    in_netns("a_real_server_shared_by_two_services_gets_one_probe_and_transitions_arrive_promptly", || {
        let yaml = "version: 1\nservices:\n\
          - {name: a, vip: 10.0.0.1, port: 80, health: {check: tcp, port: 7000, interval: 0.2, fall: 2, rise: 1}, real_servers: [{address: 10.0.0.2}]}\n\
          - {name: b, vip: 10.0.0.1, port: 81, forward: nat, health: {check: tcp, port: 7000, interval: 0.2, fall: 2, rise: 1}, real_servers: [{address: 10.0.0.2, port: 80}]}\n\
          - {name: c, vip: 10.0.0.1, port: 82, forward: nat, health: {check: tcp, port: 7000, interval: 0.2, fall: 2, rise: 1, on_failure: remove}, real_servers: [{address: 10.0.0.2, port: 80}]}\n";
        let config = lvsync::model::load(yaml).unwrap_or_else(|d| panic!("{}", d.render("t.yaml")));
        let set: BTreeSet<Target> = targets(&config);
        assert_eq!(set.len(), 1, "three services, one probe: {set:?}");

        let (count, stop) = counting_listener("10.0.0.2:7000");
        let (tx, rx) = mpsc::channel();
        let tx = Mutex::new(tx);
        let runner = Runner::start(Arc::new(move |t| {
            let _ = tx.lock().unwrap().send((t, Instant::now()));
        }))
        .unwrap();
        runner.set_targets(set.clone());
        std::thread::sleep(Duration::from_millis(2050));
        let probes = count.load(Ordering::SeqCst);
        // 0.2 s interval over 2.05 s: 11 probes for one target (22 or 33 if they were not shared).
        assert!((10..=12).contains(&probes), "probes received: {probes}");
        let t = set.first().unwrap();
        assert_eq!(runner.shared().verdict(t).unwrap().health(), "up");

        stop.send(()).unwrap();
        let stopped = Instant::now();
        let (down, at) = rx.recv_timeout(Duration::from_secs(3)).expect("a down transition");
        assert_eq!((down.to, down.reason.as_str()), (State::Down, "tcp: connect refused"));
        let detect = at - stopped;
        // The listener is gone within 5 ms; fall 2 x interval 0.2 s, plus one interval of phase.
        assert!(detect <= Duration::from_millis(700), "detected after {detect:?}");
        println!("down detected {detect:?} after the responder stopped (fall 2 x 0.2 s)");
        let overlays = lvsync::health::pool::overlays(&config, &runner.shared().verdicts());
        assert_eq!(overlays.len(), 3);
        let reason = &overlays["a"].overrides.values().next().unwrap().reason;
        assert!(reason.starts_with("health: down since ") && reason.ends_with(", tcp: connect refused"), "{reason}");
        assert_eq!(overlays["c"].overrides.values().next().unwrap().action, lvsync::health::pool::Action::Remove);

        let (_count, _stop) = counting_listener("10.0.0.2:7000");
        let (up, _) = rx.recv_timeout(Duration::from_secs(3)).expect("an up transition");
        assert_eq!(up.to, State::Up);
        assert!(lvsync::health::pool::overlays(&config, &runner.shared().verdicts()).is_empty());
    });
}

/// An HTTP/1.1 server that keeps connections open: counts connections and requests, records
/// request heads, and can be told to drop a connection at its next request unanswered, to
/// close every connection, to answer another status, or to stop listening.
#[derive(Default)]
struct KeepAliveServer {
    accepted: AtomicUsize,
    requests: AtomicUsize,
    heads: Mutex<Vec<String>>,
    status: Mutex<&'static str>,
    drop_next: std::sync::atomic::AtomicBool,
    stop: std::sync::atomic::AtomicBool,
    conns: Mutex<Vec<std::net::TcpStream>>,
}

impl KeepAliveServer {
    fn start(addr: &str) -> Arc<KeepAliveServer> {
        let listener = TcpListener::bind(addr).unwrap();
        listener.set_nonblocking(true).unwrap();
        let server = Arc::new(KeepAliveServer { status: Mutex::new("200 OK"), ..KeepAliveServer::default() });
        let s = server.clone();
        std::thread::spawn(move || {
            while !s.stop.load(Ordering::SeqCst) {
                let Ok((conn, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(2));
                    continue;
                };
                conn.set_nonblocking(false).unwrap();
                s.accepted.fetch_add(1, Ordering::SeqCst);
                s.conns.lock().unwrap().push(conn.try_clone().unwrap());
                let s = s.clone();
                std::thread::spawn(move || s.serve(conn));
            }
        });
        server
    }

    fn serve(&self, mut conn: std::net::TcpStream) {
        let mut reader = BufReader::new(conn.try_clone().unwrap());
        loop {
            let mut head = String::new();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                if line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            if self.drop_next.swap(false, Ordering::SeqCst) {
                let _ = conn.shutdown(std::net::Shutdown::Both);
                return;
            }
            self.requests.fetch_add(1, Ordering::SeqCst);
            self.heads.lock().unwrap().push(head);
            let status = *self.status.lock().unwrap();
            let _ = write!(conn, "HTTP/1.1 {status}\r\nContent-Length: 7\r\n\r\nall ok\n");
        }
    }

    fn close_all(&self) {
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(std::net::Shutdown::Both);
        }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

#[test]
fn keep_alive_http_reuses_one_connection_and_retries_once_on_a_new_one_when_it_was_closed() {
    in_netns("keep_alive_http_reuses_one_connection_and_retries_once_on_a_new_one_when_it_was_closed", || {
        let server = KeepAliveServer::start("10.0.0.2:80");
        let mut h = http("/healthz", vec![(200, 399)], Some("ok"));
        h.keep_alive = true;
        let t = target("10.0.0.2", 80, Kind::Http(h.clone()));
        let prober = Prober::new();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let mut session = Session::default();
            let mut probe = async || prober.run_in(&t, &mut session, None).await.map_err(|e| e.to_string());
            for _ in 0..5 {
                assert_eq!(probe().await, Ok(()));
            }
            assert_eq!(
                (server.accepted(), server.requests.load(Ordering::SeqCst)),
                (1, 5),
                "five probes, one connection"
            );
            assert_eq!(prober.kept(), 1);
            let head = server.heads.lock().unwrap()[4].to_ascii_lowercase();
            assert!(head.starts_with("get /healthz http/1.1\r\n") && !head.contains("connection: close"), "{head}");

            // The real server closes the connection as the request arrives (its keep-alive
            // timeout racing the probe): the probe is retried once, on a new connection.
            server.drop_next.store(true, Ordering::SeqCst);
            assert_eq!(probe().await, Ok(()));
            assert_eq!(server.accepted(), 2);

            // Closed between probes: the next probe sees it and opens a new one.
            server.close_all();
            tokio::time::sleep(Duration::from_millis(50)).await;
            assert_eq!(probe().await, Ok(()));
            assert_eq!(server.accepted(), 3);

            // An answer that fails the check fails the probe; the connection stays.
            *server.status.lock().unwrap() = "503 Service Unavailable";
            assert_eq!(probe().await, Err("status 503, expected 200-399".into()));
            assert_eq!((server.accepted(), prober.kept()), (3, 1));

            // The real server gone: its open connection reset, new ones refused.
            server.stop.store(true, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            drop(std::mem::take(&mut *server.conns.lock().unwrap()));
            server.close_all();
            *server.status.lock().unwrap() = "200 OK";
        });
        // The listener thread has ended; nothing listens on the port any more.
        std::thread::sleep(Duration::from_millis(50));
        rt.block_on(async {
            let mut session = Session::default();
            assert_eq!(
                prober.run_in(&t, &mut session, None).await.map_err(|e| e.to_string()),
                Err("connect refused".into())
            );
        });
        assert_eq!(prober.kept(), 0, "a session dropped gives its connection back");

        // With no room for kept connections, each probe has its own.
        let server = KeepAliveServer::start("10.0.0.3:80");
        let t = target("10.0.0.3", 80, Kind::Http(h));
        let prober = Prober::with_kept_max(0);
        rt.block_on(async {
            let mut session = Session::default();
            for _ in 0..3 {
                assert_eq!(prober.run_in(&t, &mut session, None).await.map_err(|e| e.to_string()), Ok(()));
            }
        });
        assert_eq!((server.accepted(), prober.kept()), (3, 0));

        // A kept connection keeps the descriptor its first probe was given, until it goes.
        let descriptors = Arc::new(tokio::sync::Semaphore::new(2));
        let prober = Prober::new();
        rt.block_on(async {
            let mut session = Session::default();
            let permit = descriptors.clone().try_acquire_owned().unwrap();
            assert_eq!(prober.run_in(&t, &mut session, Some(permit)).await.map_err(|e| e.to_string()), Ok(()));
            assert_eq!((descriptors.available_permits(), prober.kept()), (1, 1));
            assert_eq!(prober.run_in(&t, &mut session, None).await.map_err(|e| e.to_string()), Ok(()));
            assert_eq!(server.accepted(), 4);
            drop(session);
            assert_eq!((descriptors.available_permits(), prober.kept()), (2, 0));
        });
    });
}

#[test]
fn keep_alive_https_does_one_handshake_for_many_probes_and_a_new_one_after_close_notify() {
    in_netns("keep_alive_https_does_one_handshake_for_many_probes_and_a_new_one_after_close_notify", || {
        let config = self_signed_tls();
        let listener = TcpListener::bind("10.0.0.2:443").unwrap();
        // Handshakes and requests served; after `close_after` requests on one connection, the
        // server answers with `Connection: close` and ends it with close_notify.
        let (handshakes, requests) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let close_after = 3;
        let (hs, rq) = (handshakes.clone(), requests.clone());
        std::thread::spawn(move || {
            for tcp in listener.incoming() {
                let Ok(mut tcp) = tcp else { continue };
                let mut tls = rustls::ServerConnection::new(config.clone()).unwrap();
                let mut served = 0;
                let mut got = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    let n = match rustls::Stream::new(&mut tls, &mut tcp).read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    if served == 0 && got.is_empty() {
                        hs.fetch_add(1, Ordering::SeqCst);
                    }
                    got.extend_from_slice(&buf[..n]);
                    while let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                        got.drain(..end + 4);
                        served += 1;
                        rq.fetch_add(1, Ordering::SeqCst);
                        let close = served == close_after;
                        let answer = format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n{}\r\nok",
                            if close { "Connection: close\r\n" } else { "" }
                        );
                        let mut stream = rustls::Stream::new(&mut tls, &mut tcp);
                        let _ = stream.write_all(answer.as_bytes());
                        let _ = stream.flush();
                        if close {
                            tls.send_close_notify();
                            let _ = tls.complete_io(&mut tcp);
                            break;
                        }
                    }
                    if served == close_after {
                        break;
                    }
                }
            }
        });
        let mut h = http("/", vec![(200, 200)], Some("ok"));
        h.keep_alive = true;
        let t = target("10.0.0.2", 443, Kind::Https(h, Tls { verify: false, sni: Some("www.example.com".into()) }));
        let prober = Prober::new();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let mut session = Session::default();
            for _ in 0..2 {
                assert_eq!(prober.run_in(&t, &mut session, None).await.map_err(|e| e.to_string()), Ok(()));
            }
            assert_eq!((handshakes.load(Ordering::SeqCst), prober.kept()), (1, 1), "two probes, one handshake");
            // The third answer closes the connection: the probe passes, and the connection goes.
            assert_eq!(prober.run_in(&t, &mut session, None).await.map_err(|e| e.to_string()), Ok(()));
            tokio::time::sleep(Duration::from_millis(50)).await;
            for _ in 0..2 {
                assert_eq!(prober.run_in(&t, &mut session, None).await.map_err(|e| e.to_string()), Ok(()));
            }
            assert_eq!(
                (handshakes.load(Ordering::SeqCst), requests.load(Ordering::SeqCst)),
                (2, 5),
                "a new connection after the real server closed the first"
            );
        });
    });
}

#[test]
fn watch_probes_a_keep_alive_check_on_one_connection_and_shows_it_in_metrics() {
    in_netns("watch_probes_a_keep_alive_check_on_one_connection_and_shows_it_in_metrics", || {
        let server = KeepAliveServer::start("10.0.0.2:80");
        let yaml = "version: 1\nservices:\n\
          - {name: a, vip: 10.0.0.1, port: 80, health: {check: http, interval: 0.1, http: {path: /, keep_alive: true}}, real_servers: [{address: 10.0.0.2}]}\n";
        let config = lvsync::model::load(yaml).unwrap_or_else(|d| panic!("{}", d.render("t.yaml")));
        let runner = Runner::start(Arc::new(|_| {})).unwrap();
        let metrics = lvsync::watch::metrics::Metrics::new();
        metrics.probes_from(runner.shared().clone());
        runner.set_targets(targets(&config));
        std::thread::sleep(Duration::from_millis(750));
        let requests = server.requests.load(Ordering::SeqCst);
        assert!(requests >= 5, "requests: {requests}");
        assert_eq!(server.accepted(), 1, "{requests} probes on one connection");
        assert_eq!(runner.shared().kept_connections(), 1);
        let text = metrics.render();
        assert!(text.lines().any(|l| l == "lvsync_health_kept_connections 1"), "{text}");

        // A target no longer probed gives its connection back.
        runner.set_targets(BTreeSet::new());
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(runner.shared().kept_connections(), 0);
        assert!(metrics.render().lines().any(|l| l == "lvsync_health_kept_connections 0"));
    });
}
