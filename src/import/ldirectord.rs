//! ldirectord.cf as lvsync services: `virtual=` sections (the indented lines under one), their
//! `real=` servers, and the checks ldirectord runs. ldirectord's defaults are spelled out as its
//! code has them (ldirectord.in of resource-agents): scheduler `wrr`, `gate` (dr), checktype
//! `negotiate` with the service named by the port, protocol `udp` on port 53, checkinterval
//! 10 s, checktimeout 5 s, negotiatetimeout 30 s, failurecount 1, and `quiescent=no` (its
//! manual page says yes; its code deletes a failed real server unless told otherwise).
//! `virtual6=`, `real6=` and `fallback6=` are the IPv6 spellings. `#` starts a comment anywhere
//! on a line, as ldirectord strips it.

use std::net::{IpAddr, Ipv4Addr};

use super::out::{Dns, Fallback, File, Health, Http, Persistence, RealServer, Seconds, Service, Tls};
use super::{LOOPBACK_FALLBACK, Skipped};

/// Settings that a global line sets and a virtual section may override, with their line.
#[derive(Debug, Clone, Default)]
struct Settings {
    checktimeout: Option<f64>,
    negotiatetimeout: Option<f64>,
    checkinterval: Option<f64>,
    failurecount: Option<u32>,
    quiescent: Option<bool>,
    fallback: Option<(Fallback, &'static str, usize)>,
}

/// A real server as read, with its own request and receive strings if it has them.
type Real = (RealServer, Option<(String, String)>);

/// One `virtual=` section as read.
#[derive(Debug, Default)]
struct Virtual {
    line: usize,
    service: Service,
    settings: Settings,
    reals: Vec<Real>,
    checktype: Option<(String, usize)>,
    kind: Option<(String, usize)>,
    request: Option<String>,
    receive: Option<String>,
    virtualhost: Option<String>,
    checkport: Option<u16>,
}

pub fn convert(text: &str) -> (File, Vec<Skipped>) {
    let mut skipped = Vec::new();
    let mut global = Settings::default();
    let mut virtuals: Vec<Virtual> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        // ldirectord drops everything from a `#` on, even inside quotes.
        let raw = raw.split('#').next().unwrap_or("");
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            skipped.push(Skipped::new(n, line, "expected `key=value`"));
            continue;
        };
        let (key, value) = (key.trim().to_ascii_lowercase(), unquote(value.trim()));
        let indented = raw.starts_with([' ', '\t']);
        if key == "virtual" || key == "virtual6" {
            match virtual_ident(&value) {
                Ok(service) => virtuals.push(Virtual { line: n, service, ..Virtual::default() }),
                Err(why) => skipped.push(Skipped::new(n, line, why)),
            }
            continue;
        }
        match (indented, virtuals.last_mut()) {
            (true, Some(v)) => virtual_line(v, &key, &value, n, line, &mut skipped),
            (true, None) => skipped.push(Skipped::new(n, line, "an indented line before any `virtual=`")),
            (false, _) => {
                if !setting(&mut global, &key, &value, n, line, &mut skipped) {
                    let why = "a global ldirectord setting with no counterpart in an lvsync file";
                    skipped.push(Skipped::new(n, line, why));
                }
            }
        }
    }
    let services = virtuals.into_iter().map(|v| finish(v, &global, &mut skipped)).collect();
    (File { version: 1, ipvs: None, services }, skipped)
}

/// A setting allowed globally and per virtual; false if `key` is not one.
fn setting(s: &mut Settings, key: &str, value: &str, n: usize, line: &str, skipped: &mut Vec<Skipped>) -> bool {
    let secs = |skipped: &mut Vec<Skipped>| match value.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Some(v),
        _ => {
            skipped.push(Skipped::new(n, line, "expected a number of seconds above 0"));
            None
        }
    };
    match key {
        "checktimeout" | "connecttimeout" => s.checktimeout = secs(skipped),
        "negotiatetimeout" => s.negotiatetimeout = secs(skipped),
        "checkinterval" => s.checkinterval = secs(skipped),
        "failurecount" => match value.parse() {
            Ok(c) if c > 0 => s.failurecount = Some(c),
            _ => skipped.push(Skipped::new(n, line, "expected a count above 0")),
        },
        "quiescent" => match value.to_ascii_lowercase().as_str() {
            "yes" => s.quiescent = Some(true),
            "no" => s.quiescent = Some(false),
            _ => skipped.push(Skipped::new(n, line, "expected yes or no")),
        },
        "fallback" | "fallback6" => match fallback(value) {
            Ok((f, forward)) => s.fallback = Some((f, forward, n)),
            Err(why) => skipped.push(Skipped::new(n, line, why)),
        },
        _ => return false,
    }
    true
}

fn virtual_line(v: &mut Virtual, key: &str, value: &str, n: usize, line: &str, skipped: &mut Vec<Skipped>) {
    if setting(&mut v.settings, key, value, n, line, skipped) {
        return;
    }
    let lower = value.to_ascii_lowercase();
    match key {
        "real" | "real6" => match real(value) {
            Ok(reals) => v.reals.extend(reals),
            Err(why) => skipped.push(Skipped::new(n, line, why)),
        },
        "scheduler" => v.service.scheduler = Some(lower),
        "protocol" => match (lower.as_str(), v.service.fwmark.is_some()) {
            ("tcp" | "udp" | "sctp", false) => {
                v.service.protocol = Some(if lower == "tcp" {
                    "tcp"
                } else if lower == "udp" {
                    "udp"
                } else {
                    "sctp"
                })
            }
            ("fwm", true) => {}
            _ => skipped.push(Skipped::new(n, line, "tcp, udp or sctp with an address, fwm with a firewall mark")),
        },
        "persistent" => match value.parse() {
            Ok(timeout) if timeout > 0 => {
                v.service.persistence.get_or_insert_with(Persistence::default).timeout = timeout
            }
            _ => skipped.push(Skipped::new(n, line, "expected seconds above 0")),
        },
        "netmask" => v.service.persistence.get_or_insert_with(Persistence::default).netmask = Some(value.to_string()),
        "checktype" => v.checktype = Some((lower, n)),
        "service" => v.kind = Some((lower, n)),
        "request" => v.request = Some(value.to_string()),
        "receive" if literal(value) => v.receive = Some(value.to_string()),
        "receive" => skipped.push(Skipped::new(n, line, REGEX)),
        "virtualhost" => v.virtualhost = Some(value.to_string()),
        "checkport" => match value.parse() {
            Ok(p) => v.checkport = Some(p),
            Err(_) => skipped.push(Skipped::new(n, line, "expected a port 1..65535")),
        },
        "httpmethod" if lower == "get" => {}
        _ => skipped.push(Skipped::new(n, line, "unknown or unsupported in a virtual section")),
    }
}

fn finish(mut v: Virtual, global: &Settings, skipped: &mut Vec<Skipped>) -> Service {
    let s = &v.settings;
    let interval = s.checkinterval.or(global.checkinterval).unwrap_or(10.0);
    // Each falls back on the other, the virtual's before the global ones (ldirectord's order).
    let checktimeout = s.checktimeout.or(s.negotiatetimeout).or(global.checktimeout).or(global.negotiatetimeout);
    let negotiatetimeout = s.negotiatetimeout.or(s.checktimeout).or(global.negotiatetimeout).or(global.checktimeout);
    let fall = s.failurecount.or(global.failurecount).unwrap_or(1);
    let quiescent = s.quiescent.or(global.quiescent).unwrap_or(false);
    let mut service = std::mem::take(&mut v.service);
    service.scheduler.get_or_insert_with(|| "wrr".into());
    if service.vip.is_some() && service.protocol.is_none() {
        if service.port == Some(53) {
            let why = "to `protocol: udp`, as ldirectord makes a port-53 virtual without `protocol=`; add `protocol=tcp` if TCP was meant";
            skipped.push(Skipped::note(v.line, &format!("virtual={}", ident(&service)), why));
            service.protocol = Some("udp");
        } else {
            service.protocol = Some("tcp");
        }
    }
    // A netmask means nothing to ldirectord without `persistent`.
    service.persistence = service.persistence.take().filter(|p| p.timeout > 0);
    let fallback = s.fallback.clone().or(global.fallback.clone());
    // ldirectord names the service by the port when `service=` is not written; a firewall mark
    // service is `none` (never probed).
    let guessed = v.kind.is_none();
    let kind = v.kind.clone().map(|(k, _)| k).unwrap_or_else(|| match service.fwmark {
        Some(_) => "none".to_string(),
        None => port_service(service.port.unwrap_or(0)).to_string(),
    });
    let (checktype, ct_line) = v.checktype.clone().unwrap_or_else(|| ("negotiate".into(), v.line));
    let udp = service.protocol == Some("udp");
    let mut base = Health {
        check: "tcp",
        port: v.checkport,
        interval: Some(Seconds(interval)),
        rise: Some(1),
        fall: Some(fall),
        on_failure: Some(if quiescent { "quiesce" } else { "remove" }),
        ..Health::default()
    };
    // A timeout at or above the interval is shortened: said as not converted where the file
    // wrote it, as a note where it is ldirectord's default.
    let timeout = |t: Option<f64>, default: f64, skipped: &mut Vec<Skipped>, what: &str| {
        let value = t.unwrap_or(default);
        if value < interval {
            return Seconds(value);
        }
        let short = interval / 2.0;
        match t {
            Some(t) => {
                let why =
                    format!("lvsync needs a probe's timeout below its interval ({interval} s); it uses {short} s");
                skipped.push(Skipped::new(v.line, &format!("{what}={t}"), why));
            }
            None => {
                let why = format!(
                    "ldirectord's default {what} of {default} s is not below the interval ({interval} s), as lvsync needs: `timeout: {short}`"
                );
                skipped.push(Skipped::note(v.line, &format!("virtual={}", ident(&service)), why));
            }
        }
        Seconds(short)
    };
    let health = match checktype.as_str() {
        "connect" if udp => {
            let why = "ldirectord pings a UDP real server for `connect`; lvsync has no ping check, so the real servers are imported without a check (an `udp` check needs a request and its reply)";
            skipped.push(Skipped::new(ct_line, "checktype=connect", why));
            None
        }
        "connect" => {
            base.timeout = Some(timeout(checktimeout, 5.0, skipped, "checktimeout"));
            Some(base)
        }
        "negotiate" if kind == "none" => None,
        "negotiate" => {
            base.timeout = Some(timeout(negotiatetimeout, 30.0, skipped, "negotiatetimeout"));
            negotiate(base, &kind, guessed, &v, skipped)
        }
        "on" => None,
        "off" => {
            let why = "ldirectord never puts these real servers (nor a fallback) in: they are imported with weight 0 and without the fallback";
            skipped.push(Skipped::note(ct_line, "checktype=off", why));
            None
        }
        other => {
            let why = format!(
                "lvsync has no `{other}` check; real servers are imported without one (connect, negotiate, on and off convert)"
            );
            skipped.push(Skipped::new(ct_line, &format!("checktype={other}"), why));
            None
        }
    };
    let off = checktype == "off";
    service.real_servers = v
        .reals
        .iter()
        .map(|(r, check)| {
            let mut r = r.clone();
            r.health = health.clone();
            if off {
                r.weight = Some(0);
            }
            if let (Some(h), Some((request, receive))) = (r.health.as_mut(), check)
                && let Some(http) = h.http.as_mut()
            {
                let lower = request.to_ascii_lowercase();
                if lower.starts_with("http://") || lower.starts_with("https://") {
                    let why = "a request given as a whole URL makes ldirectord probe that URL's host, not the real server; lvsync probes the real server, so this real server keeps its virtual's check";
                    skipped.push(Skipped::new(v.line, request, why));
                    return r;
                }
                http.path = path(request);
                if literal(receive) {
                    http.body = Some(receive.clone());
                } else {
                    skipped.push(Skipped::new(v.line, receive, REGEX));
                }
            }
            r
        })
        .collect();
    if service.real_servers.is_empty() {
        service.forward = Some("dr");
    }
    service.hoist_forward();
    if let Some((f, forward, line)) = fallback.filter(|_| !off) {
        let serves = service.forward.or_else(|| service.real_servers.first().and_then(|r| r.forward)).unwrap_or("dr");
        if forward != serves {
            let why = format!(
                "lvsync forwards a fallback as its service's real servers (`{}`, forward: {serves}); a `{}` fallback cannot be",
                word(serves),
                word(forward)
            );
            let port = f.port.map(|p| format!(":{p}")).unwrap_or_default();
            skipped.push(Skipped::new(line, &format!("fallback={}{port} {}", f.address, word(forward)), why));
        } else {
            service.fallback = Some(f);
        }
    }
    service.hoist_health();
    if service.health.is_none() && service.real_servers.iter().all(|r| r.health.is_none()) {
        service.health = health.filter(|_| service.real_servers.is_empty());
    }
    service
}

/// The service ldirectord negotiates when `service=` is not written, by the virtual's port.
fn port_service(port: u16) -> &'static str {
    match port {
        21 => "ftp",
        25 => "smtp",
        53 => "dns",
        80 => "http",
        110 => "pop",
        119 => "nntp",
        143 => "imap",
        389 => "ldap",
        443 => "https",
        587 => "submission",
        636 => "ldaps",
        993 => "imaps",
        995 => "pops",
        1521 => "oracle",
        1812 => "radius",
        3128 => "http_proxy",
        3306 => "mysql",
        5060 => "sip",
        5432 => "pgsql",
        _ => "none",
    }
}

/// `10.0.0.1:80`, `[2001:db8::1]:80` or a firewall mark, as the virtual line names it.
fn ident(s: &Service) -> String {
    match (&s.vip, s.port, s.fwmark) {
        (Some(vip), Some(port), _) if vip.contains(':') => format!("[{vip}]:{port}"),
        (Some(vip), Some(port), _) => format!("{vip}:{port}"),
        (_, _, Some(mark)) => mark.to_string(),
        _ => String::new(),
    }
}

/// A negotiate check of `kind`: http, https and dns convert; others are probed by connecting.
/// `guessed`: ldirectord chose `kind` by the port.
fn negotiate(mut h: Health, kind: &str, guessed: bool, v: &Virtual, skipped: &mut Vec<Skipped>) -> Option<Health> {
    match kind {
        "http" | "https" => {
            h.check = if kind == "http" { "http" } else { "https" };
            h.http = Some(Http {
                path: path(v.request.as_deref().unwrap_or("/")),
                host: v.virtualhost.clone(),
                status: None,
                body: v.receive.clone(),
            });
            if kind == "https" {
                h.tls = Some(Tls { verify: false, sni: None });
            }
        }
        "dns" => {
            let name = v.request.as_deref().map(|r| r.trim_end_matches('.')).unwrap_or("");
            if name.is_empty() {
                let line = v.kind.as_ref().map_or(v.line, |(_, l)| *l);
                let why = "a dns check needs the name to ask for in `request=`; probed by a TCP connect instead";
                skipped.push(Skipped::new(line, "service=dns", why));
                return Some(h);
            }
            h.check = "dns";
            h.dns = Some(Dns { name: name.to_string(), kind: "A".into() });
        }
        "none" => return None,
        other => {
            let line = v.kind.as_ref().map_or(v.line, |(_, l)| *l);
            let why = if guessed {
                format!(
                    "ldirectord negotiates `{other}` on this port (no `service=` written); lvsync has no such check, so it is probed by a TCP connect instead"
                )
            } else {
                "lvsync has no negotiate check for this service; it is probed by a TCP connect instead".to_string()
            };
            skipped.push(Skipped::new(line, &format!("service={other}"), why));
        }
    }
    Some(h)
}

const REGEX: &str = "lvsync matches a literal body substring; this regular expression is not one";

/// A `receive` pattern without regular-expression syntax matches as a plain substring.
fn literal(pattern: &str) -> bool {
    !pattern.contains(|ch: char| "\\^$.|?*+()[]{}".contains(ch))
}

/// ldirectord requests a path relative to `/`.
fn path(request: &str) -> String {
    if request.starts_with('/') { request.to_string() } else { format!("/{request}") }
}

fn unquote(s: &str) -> String {
    s.strip_prefix('"').and_then(|s| s.strip_suffix('"')).unwrap_or(s).to_string()
}

/// `IP:PORT`, `[IPv6]:PORT` or a firewall mark `N`.
fn virtual_ident(value: &str) -> Result<Service, String> {
    if let Ok(mark) = value.parse::<u32>() {
        return Ok(Service { fwmark: Some(mark), ..Service::default() });
    }
    let (ip, port) = host_port(value)
        .ok_or("expected IP:PORT, [IPv6]:PORT or a firewall mark (host and service names are not resolved)")?;
    let port = port.ok_or("a virtual address needs its port")?;
    Ok(Service { vip: Some(ip.to_string()), port: Some(port), ..Service::default() })
}

fn host_port(value: &str) -> Option<(IpAddr, Option<u16>)> {
    if let Some(rest) = value.strip_prefix('[') {
        let (ip, rest) = rest.split_once(']')?;
        let port = match rest.strip_prefix(':') {
            Some(p) => Some(p.parse().ok()?),
            None if rest.is_empty() => None,
            None => return None,
        };
        return Some((ip.parse().ok()?, port));
    }
    match value.parse::<IpAddr>() {
        Ok(ip) => Some((ip, None)),
        Err(_) => {
            let (ip, port) = value.rsplit_once(':')?;
            Some((ip.parse().ok()?, Some(port.parse().ok()?)))
        }
    }
}

/// `IP[:PORT] [gate|masq|ipip]`: the fallback and its forwarding method.
fn fallback(value: &str) -> Result<(Fallback, &'static str), String> {
    let mut words = value.split_whitespace();
    let first = words.next().unwrap_or("");
    let (ip, port) = host_port(first).ok_or("expected IP[:PORT] [gate|masq|ipip]")?;
    if ip.is_loopback() {
        return Err(LOOPBACK_FALLBACK.into());
    }
    // ldirectord's default is `gate`, as for a real server.
    let forward = method(&words.next().unwrap_or("gate").to_ascii_lowercase())?;
    Ok((Fallback { address: ip.to_string(), port }, forward))
}

/// ldirectord's forwarding words and lvsync's `forward` for each.
const METHODS: [(&str, &str); 3] = [("gate", "dr"), ("masq", "nat"), ("ipip", "tun")];

fn method(word: &str) -> Result<&'static str, String> {
    METHODS
        .iter()
        .find(|(w, _)| *w == word)
        .map(|(_, forward)| *forward)
        .ok_or_else(|| format!("`{word}` is not a forwarding method (gate, masq, ipip)"))
}

/// ldirectord's word for an lvsync `forward`.
fn word(forward: &str) -> &'static str {
    METHODS.iter().find(|(_, f)| *f == forward).map_or("gate", |(w, _)| *w)
}

/// `IP[:PORT] [gate|masq|ipip] [WEIGHT] ["request", "receive"]`, or a range `IP->IP[:PORT] ...`.
fn real(value: &str) -> Result<Vec<Real>, String> {
    let words = words(value);
    let first = words.first().ok_or("expected IP[:PORT] [gate|masq|ipip] [weight]")?;
    let forward = match words.get(1) {
        None => "dr",
        Some(m) => method(&m.to_ascii_lowercase())?,
    };
    let weight = match words.get(2) {
        Some(w) => Some(w.parse::<u32>().map_err(|_| format!("`{w}` is not a weight"))?),
        None => None,
    };
    let check = match (words.get(3), words.get(4)) {
        (Some(req), Some(rec)) => Some((req.clone(), rec.clone())),
        (None, None) => None,
        _ => return Err("a real server's own check needs both a request and a receive string".into()),
    };
    let addresses = match first.split_once("->") {
        None => {
            let (ip, port) = host_port(first).ok_or("expected IP[:PORT]")?;
            vec![(ip, port)]
        }
        Some((lo, hi)) => {
            let lo: Ipv4Addr = lo.parse().map_err(|_| "only IPv4 ranges `A->B` are converted".to_string())?;
            let (hi, port) = host_port(hi).ok_or("expected IP->IP[:PORT]")?;
            let IpAddr::V4(hi) = hi else { return Err("only IPv4 ranges `A->B` are converted".into()) };
            let (a, b) = (u32::from(lo), u32::from(hi));
            if b < a || b - a >= 256 {
                return Err("a range is converted when it runs upwards over at most 256 addresses".into());
            }
            (a..=b).map(|x| (IpAddr::V4(Ipv4Addr::from(x)), port)).collect()
        }
    };
    Ok(addresses
        .into_iter()
        .map(|(ip, port)| {
            let r =
                RealServer { address: ip.to_string(), port, weight, forward: Some(forward), ..RealServer::default() };
            (r, check.clone())
        })
        .collect())
}

/// Words split on blanks and commas; double quotes group.
fn words(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quoted = false;
    let mut in_word = false;
    for ch in value.chars() {
        match ch {
            '"' => {
                quoted = !quoted;
                in_word = true;
            }
            c if !quoted && (c.is_whitespace() || c == ',') => {
                if in_word {
                    out.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(word);
    }
    out
}
