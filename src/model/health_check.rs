//! One `health` block as written, checked key by key: each value is validated where it stands,
//! and remembers its path, so that problems found after merging a real server's block over its
//! service's still point at the line that said it.

use std::time::Duration;

use super::check::Checker;
use super::raw;
use crate::state::health::{Dns, Exec, OnFailure, RecordType, Tls, Udp};

pub const KINDS: [&str; 7] = ["tcp", "http", "https", "udp", "dns", "exec", "none"];
pub const MAX_INTERVAL: f64 = 3600.0;
pub const MIN_INTERVAL: f64 = 0.05;

/// A value and the YAML path it was written at.
#[derive(Debug, Clone)]
pub struct At<T> {
    pub value: T,
    pub path: String,
}

/// The http keys as given (each optional, defaults applied later).
#[derive(Debug, Clone, Default)]
pub struct HttpPart {
    pub path: Option<String>,
    pub host: Option<String>,
    pub status: Option<Vec<(u16, u16)>>,
    pub body: Option<String>,
    pub keep_alive: Option<bool>,
}

/// The keys one block names; a key with a bad value is left out (the checker has its problem).
#[derive(Debug, Clone, Default)]
pub struct Partial {
    pub path: String,
    pub check: Option<At<&'static str>>,
    pub port: Option<At<u16>>,
    pub interval: Option<At<Duration>>,
    pub timeout: Option<At<Duration>>,
    pub rise: Option<At<u32>>,
    pub fall: Option<At<u32>>,
    pub on_failure: Option<At<OnFailure>>,
    pub http: Option<At<HttpPart>>,
    pub tls: Option<At<Tls>>,
    pub udp: Option<At<Udp>>,
    pub dns: Option<At<Dns>>,
    pub exec: Option<At<Exec>>,
}

impl Partial {
    /// `over`'s keys replace this block's keys.
    pub fn overlay(&self, over: &Partial) -> Partial {
        fn pick<T: Clone>(base: &Option<At<T>>, over: &Option<At<T>>) -> Option<At<T>> {
            over.clone().or_else(|| base.clone())
        }
        Partial {
            path: over.path.clone(),
            check: pick(&self.check, &over.check),
            port: pick(&self.port, &over.port),
            interval: pick(&self.interval, &over.interval),
            timeout: pick(&self.timeout, &over.timeout),
            rise: pick(&self.rise, &over.rise),
            fall: pick(&self.fall, &over.fall),
            on_failure: pick(&self.on_failure, &over.on_failure),
            http: pick(&self.http, &over.http),
            tls: pick(&self.tls, &over.tls),
            udp: pick(&self.udp, &over.udp),
            dns: pick(&self.dns, &over.dns),
            exec: pick(&self.exec, &over.exec),
        }
    }

    /// The check kind in force: this block's, else `tcp`.
    pub fn kind(&self) -> &'static str {
        self.check.as_ref().map_or("tcp", |c| c.value)
    }
}

fn at<T>(value: T, path: String) -> At<T> {
    At { value, path }
}

/// Check every key of one block at `path`.
pub fn partial(c: &mut Checker, path: &str, h: &raw::Health) -> Partial {
    let key = |k: &str| format!("{path}.{k}");
    let mut p = Partial { path: path.to_string(), ..Partial::default() };
    if let Some(w) = &h.check {
        p.check = c.word(&key("check"), w, &KINDS, "health check").map(|v| at(v, key("check")));
    }
    if let Some(port) = h.port {
        p.port = c.int(&key("port"), port, 1, 65535, "probe port").map(|v| at(v as u16, key("port")));
    }
    if let Some(s) = &h.interval {
        p.interval =
            seconds(c, &key("interval"), s, MIN_INTERVAL, MAX_INTERVAL, "interval").map(|v| at(v, key("interval")));
    }
    if let Some(s) = &h.timeout {
        p.timeout = seconds(c, &key("timeout"), s, 0.001, MAX_INTERVAL, "timeout").map(|v| at(v, key("timeout")));
    }
    if let Some(n) = h.rise {
        p.rise = c.int(&key("rise"), n, 1, 1000, "rise (consecutive passes)").map(|v| at(v, key("rise")));
    }
    if let Some(n) = h.fall {
        p.fall = c.int(&key("fall"), n, 1, 1000, "fall (consecutive failures)").map(|v| at(v, key("fall")));
    }
    if let Some(w) = &h.on_failure {
        p.on_failure = c.word(&key("on_failure"), w, &["quiesce", "remove"], "on_failure").map(|w| {
            let v = if w == "remove" { OnFailure::Remove } else { OnFailure::Quiesce };
            at(v, key("on_failure"))
        });
    }
    p.http = h.http.as_ref().and_then(|x| http(c, &key("http"), x)).map(|v| at(v, key("http")));
    p.tls = h.tls.as_ref().and_then(|x| tls(c, &key("tls"), x)).map(|v| at(v, key("tls")));
    p.udp = h.udp.as_ref().and_then(|x| udp(c, &key("udp"), x)).map(|v| at(v, key("udp")));
    p.dns = h.dns.as_ref().and_then(|x| dns(c, &key("dns"), x)).map(|v| at(v, key("dns")));
    p.exec = h.exec.as_ref().and_then(|x| exec(c, &key("exec"), x)).map(|v| at(v, key("exec")));
    p
}

/// Sub-keys written in this block that do not belong to `kind` (the kind in force for it).
pub fn sub_keys_match(c: &mut Checker, block: &Partial, kind: &str) {
    let owners: [(&str, bool, &[&str]); 5] = [
        ("http", block.http.is_some(), &["http", "https"]),
        ("tls", block.tls.is_some(), &["https"]),
        ("udp", block.udp.is_some(), &["udp"]),
        ("dns", block.dns.is_some(), &["dns"]),
        ("exec", block.exec.is_some(), &["exec"]),
    ];
    for (name, given, kinds) in owners {
        if given && !kinds.contains(&kind) {
            let valid = kinds.iter().map(|k| format!("`check: {k}`")).collect::<Vec<_>>().join(" or ");
            c.err_key(
                &format!("{}.{name}", block.path),
                format!("`{name}` only applies to {valid}, but this health check is `{kind}`; remove `{name}` or change `check`"),
            );
        }
    }
}

pub fn seconds(c: &mut Checker, path: &str, s: &raw::Seconds, lo: f64, hi: f64, what: &str) -> Option<Duration> {
    let expected = format!("expected seconds {lo}..={hi}, fractions allowed (such as `0.5`)");
    let (value, written) = match s {
        raw::Seconds::Number(n) => (*n, format!("{n}")),
        raw::Seconds::Text(t) => {
            let t = t.trim();
            if c.leading_zero(path, t, what) {
                return None;
            }
            match decimal_seconds(t) {
                Some(n) => (n, t.to_string()),
                // What the parser makes of `.inf`, and of a number too large for a float
                // (`1e999`), whose own text is no longer at hand here.
                None if matches!(t.trim_start_matches(['+', '-']).to_ascii_lowercase().as_str(), ".inf") => {
                    c.err(
                        path,
                        format!(
                            "an infinite number (or one too large, such as `1e999`) is not a valid {what}; {expected}"
                        ),
                    );
                    return None;
                }
                None => {
                    c.err(
                        path,
                        format!("`{}` is not a valid {what}; {expected}, a number without a unit", t.escape_debug()),
                    );
                    return None;
                }
            }
        }
    };
    if value.is_finite() && value >= lo && value <= hi {
        return Some(Duration::from_secs_f64(value));
    }
    c.err(path, format!("`{written}` is not a valid {what}; {expected}"));
    None
}

/// A quoted number of seconds: digits, with at most one `.` between digits (`2`, `0.5`, `1.25`).
fn decimal_seconds(t: &str) -> Option<f64> {
    let (int, frac) = t.split_once('.').unwrap_or((t, "0"));
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    (digits(int) && digits(frac)).then(|| t.parse().ok()).flatten()
}

fn http(c: &mut Checker, path: &str, h: &raw::HttpCheck) -> Option<HttpPart> {
    let before = c.count();
    if let Some(p) = &h.path
        && (!p.starts_with('/') || p.chars().any(|ch| ch.is_whitespace() || ch.is_control()))
    {
        c.err(
            &format!("{path}.path"),
            format!("`{p}` is not a valid request path; expected an absolute path without spaces, such as `/healthz`"),
        );
    }
    if let Some(host) = &h.host
        && (host.is_empty() || host.chars().any(|ch| ch.is_whitespace() || ch.is_control()))
    {
        c.err(
            &format!("{path}.host"),
            format!("`{host}` is not a valid Host header; expected a name such as `www.example.com`, without spaces"),
        );
    }
    let status = h.status.as_ref().and_then(|s| status(c, &format!("{path}.status"), &s.0));
    if let Some(b) = &h.body
        && b.is_empty()
    {
        c.err(
            &format!("{path}.body"),
            "`` is not a valid body substring: it is empty; remove `body` to accept any body",
        );
    }
    (c.count() == before).then(|| HttpPart {
        path: h.path.clone(),
        host: h.host.clone(),
        status,
        body: h.body.clone(),
        keep_alive: h.keep_alive,
    })
}

/// `200`, `200-399`, `200,301-302`.
fn status(c: &mut Checker, path: &str, text: &str) -> Option<Vec<(u16, u16)>> {
    if c.leading_zero(path, text, "status") {
        return None;
    }
    let parse = |part: &str| -> Option<(u16, u16)> {
        let (lo, hi) = part.split_once('-').unwrap_or((part, part));
        let (lo, hi) = (lo.trim().parse::<u16>().ok()?, hi.trim().parse::<u16>().ok()?);
        ((100..=599).contains(&lo) && (100..=599).contains(&hi) && lo <= hi).then_some((lo, hi))
    };
    let ranges: Option<Vec<_>> = text.split(',').map(parse).collect();
    if ranges.is_none() {
        c.err(path, format!("`{text}` is not a valid status; expected codes 100..599 and ranges low-high, such as `200`, `\"200-399\"` or `\"200,301-302\"`"));
    }
    ranges
}

fn tls(c: &mut Checker, path: &str, t: &raw::TlsCheck) -> Option<Tls> {
    if let Some(sni) = &t.sni
        && !hostname(sni)
    {
        c.err(
            &format!("{path}.sni"),
            format!("`{sni}` is not a valid server name; expected a DNS name such as `www.example.com`"),
        );
        return None;
    }
    Some(Tls { verify: t.verify.unwrap_or(true), sni: t.sni.clone() })
}

fn udp(c: &mut Checker, path: &str, u: &raw::UdpCheck) -> Option<Udp> {
    let send = match &u.send {
        Some(s) if !s.is_empty() => s.clone().into_bytes(),
        Some(_) => {
            c.err(
                &format!("{path}.send"),
                "`` is not a valid datagram: it is empty; give the bytes to send, such as `send: \"ping\"`",
            );
            return None;
        }
        None => {
            c.err(path, "a udp check needs `send`: the datagram to send, such as `{send: \"ping\", expect: \"pong\"}`");
            return None;
        }
    };
    if u.expect.as_deref() == Some("") {
        c.err(
            &format!("{path}.expect"),
            "`` is not a valid reply substring: it is empty; remove `expect` to accept any reply",
        );
        return None;
    }
    Some(Udp { send, expect: u.expect.clone().map(String::into_bytes) })
}

fn dns(c: &mut Checker, path: &str, d: &raw::DnsCheck) -> Option<Dns> {
    let record = match &d.kind {
        Some(k) => {
            c.word(&format!("{path}.type"), k, &RecordType::NAMES, "DNS record type").and_then(RecordType::from_name)
        }
        None => Some(RecordType::A),
    };
    let name = match &d.name {
        Some(n) if hostname(n.trim_end_matches('.')) => Some(n.clone()),
        Some(n) => {
            c.err(
                &format!("{path}.name"),
                format!("`{n}` is not a valid DNS name; expected a name such as `example.com`"),
            );
            None
        }
        None => {
            c.err(path, "a dns check needs `name`: the name to ask for, such as `{name: example.com, type: A}`");
            None
        }
    };
    Some(Dns { name: name?, record: record? })
}

fn exec(c: &mut Checker, path: &str, e: &raw::ExecCheck) -> Option<Exec> {
    let cmd = format!("{path}.command");
    let Some(program) = e.command.first() else {
        c.err(path, "an exec check needs `command`: the program and its arguments as a list, such as `[\"/usr/local/lib/check\", \"{address}\", \"{port}\"]`");
        return None;
    };
    let before = c.count();
    if program.trim().is_empty() {
        c.err(
            &format!("{cmd}[0]"),
            "the program is empty: the first item of `command` is the path of the program to run, such as `/usr/local/lib/check`",
        );
    } else if program.contains(char::is_whitespace) {
        c.err(
            &format!("{cmd}[0]"),
            format!("`{program}` is not a valid program: no shell runs the command, so it must be one path without spaces; give each argument as its own list item"),
        );
    }
    for (i, arg) in e.command.iter().enumerate() {
        let mut rest = arg.as_str();
        while let Some(open) = rest.find('{') {
            let tail = &rest[open..];
            let Some(close) = tail.find('}') else { break };
            let word = &tail[..=close];
            if word != "{address}" && word != "{port}" {
                c.err(
                    &format!("{cmd}[{i}]"),
                    format!("`{word}` in `{arg}` is not a known placeholder; expected `{{address}}` or `{{port}}`"),
                );
            }
            rest = &tail[close + 1..];
        }
    }
    (c.count() == before).then(|| Exec { command: e.command.clone() })
}

/// A DNS name: labels of letters, digits, `-` and `_`, 1..63 characters, 253 in all.
pub fn hostname(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && l.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
        })
}
