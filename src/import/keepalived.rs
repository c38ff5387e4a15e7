//! keepalived.conf's `virtual_server` and `virtual_server_group` blocks (and `lvs_timeouts`)
//! as lvsync services. VRRP, static addresses and the rest are reported, not converted.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use super::kcheck::{self, Defaults, number};
use super::lexer::{self, Node};
use super::out::{Fallback, File, Ipvs, Persistence, RealServer, Service, Timeouts, Tunnel};
use super::{LOOPBACK_FALLBACK, Skipped};

const SCHEDULERS: &[&str] =
    &["rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos"];
const FLAGS: &[&str] = &["flag-1", "flag-2", "flag-3", "sh-port", "sh-fallback", "mh-port", "mh-fallback"];
/// Most addresses one `virtual_server_group` range may expand to.
const MAX_RANGE: u32 = 256;

/// A virtual server's identity.
#[derive(Debug, Clone)]
enum Ident {
    Addr { vip: IpAddr, port: u16 },
    Fwmark { mark: u32, family: Option<&'static str> },
}

pub fn convert(text: &str) -> (File, Vec<Skipped>) {
    let mut skipped = Vec::new();
    let nodes = lexer::parse(text, &mut skipped);
    let groups: BTreeMap<&str, &Node> = nodes
        .iter()
        .filter(|n| n.keyword == "virtual_server_group")
        .filter_map(|n| n.args.first().map(|name| (name.as_str(), n)))
        .collect();
    let mut file = File { version: 1, ..File::default() };
    for n in &nodes {
        match n.keyword.as_str() {
            "global_defs" => global_defs(n, &mut file, &mut skipped),
            "virtual_server_group" => {}
            "virtual_server" => file.services.extend(virtual_server(n, &groups, &mut skipped)),
            k if k.starts_with("include") => skipped.push(Skipped::new(
                n.line,
                &n.text(),
                "included files are not followed; import each file on its own, or concatenate them first",
            )),
            "vrrp_instance" | "vrrp_sync_group" | "vrrp_script" | "vrrp_track_file" | "track_file"
            | "vrrp_track_process" | "track_process" | "static_ipaddress" | "static_routes" | "static_rules"
            | "linkbeat_interfaces" | "garp_group" | "bfd_instance" => skipped.push(Skipped::new(
                n.line,
                &n.text(),
                "VRRP and host networking are not part of an IPVS import; lvsync's `ha:` and `director:` sections describe them",
            )),
            "SSL" => skipped.push(Skipped::new(
                n.line,
                "SSL",
                "lvsync's https check presents no client certificate",
            )),
            _ => skipped.push(Skipped::new(n.line, &n.text(), "unknown keyword at the top level")),
        }
    }
    retries_said(&nodes, &file, &mut skipped);
    (file, skipped)
}

/// keepalived probes a failing real server again after `delay_before_retry`, lvsync after a
/// whole `interval`: where a converted check counts more than one failure, said once.
fn retries_said(nodes: &[Node], file: &File, skipped: &mut Vec<Skipped>) {
    let healths =
        file.services.iter().flat_map(|s| s.health.iter().chain(s.real_servers.iter().flat_map(|r| &r.health)));
    if !healths.into_iter().any(|h| h.fall.is_some_and(|f| f > 1)) {
        return;
    }
    let Some(first) = nodes.iter().find(|n| n.keyword == "virtual_server") else { return };
    let why = "keepalived checks a failing real server again after `delay_before_retry` (1 s by default, 3 s for HTTP_GET and SSL_GET) and takes it out after its `retry` failures; lvsync probes every `interval`, so one is taken out after `fall` x `interval`: shorten `interval` where that is too slow";
    skipped.push(Skipped::note(first.line, "retry", why));
}

fn global_defs(n: &Node, file: &mut File, skipped: &mut Vec<Skipped>) {
    for c in n.children() {
        if c.keyword != "lvs_timeouts" {
            let why = "a global keepalived setting with no counterpart in an lvsync file";
            skipped.push(Skipped::new(c.line, &c.text(), why));
            continue;
        }
        let mut t = Timeouts::default();
        for pair in c.args.chunks(2) {
            let value = pair.get(1).and_then(|v| v.parse::<u32>().ok());
            match (pair.first().map_or("", String::as_str), value) {
                ("tcp", Some(v)) => t.tcp = Some(v),
                ("tcpfin", Some(v)) => t.tcp_fin = Some(v),
                ("udp", Some(v)) => t.udp = Some(v),
                _ => skipped.push(Skipped::new(c.line, &pair.join(" "), "expected tcp, tcpfin or udp and seconds")),
            }
        }
        file.ipvs = Some(Ipvs { timeouts: t });
    }
}

fn virtual_server(n: &Node, groups: &BTreeMap<&str, &Node>, skipped: &mut Vec<Skipped>) -> Vec<Service> {
    let idents = match n.args.as_slice() {
        [group, name] if group == "group" => match groups.get(name.as_str()) {
            Some(g) => group_idents(g, skipped),
            None => {
                skipped.push(Skipped::new(n.line, &n.text(), format!("no virtual_server_group `{name}` is defined")));
                return Vec::new();
            }
        },
        [fwmark, mark] if fwmark == "fwmark" => match mark.parse() {
            Ok(mark) => vec![Ident::Fwmark { mark, family: None }],
            Err(_) => {
                skipped.push(Skipped::new(n.line, &n.text(), "the firewall mark is not a number 1..4294967295"));
                return Vec::new();
            }
        },
        [vip, rest @ ..] if rest.len() <= 1 => match (vip.parse(), rest.first().map_or(Ok(0), |p| p.parse())) {
            (Ok(vip), Ok(port)) => vec![Ident::Addr { vip, port }],
            _ => {
                skipped.push(Skipped::new(n.line, &n.text(), "expected an IP address and a port"));
                return Vec::new();
            }
        },
        _ => {
            let why = "expected `virtual_server IP PORT`, `virtual_server fwmark N` or `virtual_server group NAME`";
            skipped.push(Skipped::new(n.line, &n.text(), why));
            return Vec::new();
        }
    };
    let mut s = Service { forward: Some("nat"), ..Service::default() };
    let mut protocol = None;
    let mut family = None;
    let mut d = Defaults::default();
    let mut real_nodes = Vec::new();
    let (mut granularity, mut engine): (Option<&Node>, Option<&Node>) = (None, None);
    for c in n.children() {
        if kcheck::common(c, &mut d, skipped) {
            continue;
        }
        let arg = c.args.first().map(|a| a.to_ascii_lowercase());
        match c.keyword.as_str() {
            "lvs_sched" | "lb_algo" => match arg {
                Some(a) if SCHEDULERS.contains(&a.as_str()) => s.scheduler = Some(a),
                _ => skipped.push(Skipped::new(c.line, &c.text(), format!("a scheduler is one of {}", SCHEDULERS.join(", ")))),
            },
            "lvs_method" | "lb_kind" => match method(&c.args) {
                Ok((forward, tunnel)) => (s.forward, s.tunnel) = (Some(forward), tunnel),
                Err(why) => skipped.push(Skipped::new(c.line, &c.text(), why)),
            },
            "persistence_timeout" => {
                let timeout = if c.args.is_empty() { Some(360) } else { number(c, skipped) };
                if let Some(timeout) = timeout {
                    s.persistence.get_or_insert_with(Persistence::default).timeout = timeout;
                }
            }
            "persistence_granularity" => granularity = Some(c),
            "persistence_engine" => engine = Some(c),
            "protocol" => match arg.as_deref() {
                Some("tcp") => protocol = Some("tcp"),
                Some("udp") => protocol = Some("udp"),
                Some("sctp") => protocol = Some("sctp"),
                _ => skipped.push(Skipped::new(c.line, &c.text(), "a protocol is TCP, UDP or SCTP")),
            },
            "ip_family" => match arg.as_deref() {
                Some("inet") => family = Some("ipv4"),
                Some("inet6") => family = Some("ipv6"),
                _ => skipped.push(Skipped::new(c.line, &c.text(), "ip_family is inet or inet6")),
            },
            k if FLAGS.contains(&k) => s.scheduler_flags.extend(FLAGS.iter().find(|f| **f == k)),
            "ops" => s.one_packet = Some(true),
            "sorry_server" => match real_address(&c.args) {
                Some((address, _)) if address.parse::<IpAddr>().is_ok_and(|a| a.is_loopback()) => {
                    skipped.push(Skipped::new(c.line, &c.text(), LOOPBACK_FALLBACK))
                }
                Some((address, port)) => s.fallback = Some(Fallback { address, port }),
                None => skipped.push(Skipped::new(c.line, &c.text(), "expected an IP address and a port")),
            },
            "quorum" if c.args.first().map(String::as_str) == Some("1") => {}
            "hysteresis" if c.args.first().map(String::as_str) == Some("0") => {}
            "quorum" | "hysteresis" => skipped.push(Skipped::new(
                c.line,
                &c.text(),
                "lvsync adds the fallback when no real server is healthy (keepalived's quorum 1); it has no quorum of total weight",
            )),
            "real_server" => real_nodes.push(c),
            "sorry_server_inhibit" | "sorry_server_lvs_method" => skipped.push(Skipped::new(
                c.line,
                &c.text(),
                "lvsync adds and removes the fallback, forwarded like the service's real servers",
            )),
            "ha_suspend" | "omega" | "quorum_up" | "quorum_down" | "smtp_alert" | "snmp_name" => skipped.push(
                Skipped::new(c.line, &c.text(), "no counterpart in lvsync (notifications, SNMP and VRRP coupling)"),
            ),
            _ => skipped.push(Skipped::new(c.line, &c.text(), "unknown keyword in virtual_server")),
        }
    }
    match s.persistence.as_mut() {
        Some(p) => {
            p.netmask = granularity.and_then(|g| g.args.first().cloned());
            p.engine = engine.and_then(|e| e.args.first().cloned());
        }
        None => {
            for c in granularity.into_iter().chain(engine) {
                skipped.push(Skipped::new(c.line, &c.text(), "it has no effect without `persistence_timeout`"));
            }
        }
    }
    s.real_servers = real_nodes.into_iter().filter_map(|r| real_server(r, &d, skipped)).collect();
    // keepalived 2.2 without `protocol` makes a UDP service, whatever its checks (measured in
    // tests/import_keepalived.rs: "no protocol set - defaulting to UDP").
    if protocol.is_none() && idents.iter().any(|i| matches!(i, Ident::Addr { .. })) {
        let why = "to `protocol: udp`, because it names no protocol and keepalived 2.2 then makes a UDP service (older keepalived made TCP); add `protocol TCP` if TCP was meant";
        skipped.push(Skipped::note(n.line, &n.text(), why));
    }
    let protocol = protocol.unwrap_or("udp");
    if s.real_servers.iter().any(|r| r.forward.is_some()) {
        let (forward, tunnel) = (s.forward, s.tunnel.take());
        for r in s.real_servers.iter_mut().filter(|r| r.forward.is_none()) {
            (r.forward, r.tunnel) = (forward, tunnel.clone());
        }
        s.forward = None;
        s.hoist_forward();
    }
    s.hoist_health();
    idents
        .into_iter()
        .map(|ident| {
            let mut one = s.clone();
            match ident {
                Ident::Addr { vip, port } => {
                    (one.vip, one.port, one.protocol) = (Some(vip.to_string()), Some(port), Some(protocol));
                }
                Ident::Fwmark { mark, family: f } => {
                    (one.fwmark, one.family) = (Some(mark), f.or(family).filter(|f| *f == "ipv6"));
                }
            }
            one
        })
        .collect()
}

fn real_server(n: &Node, inherited: &Defaults, skipped: &mut Vec<Skipped>) -> Option<RealServer> {
    let Some((address, port)) = real_address(&n.args) else {
        skipped.push(Skipped::new(n.line, &n.text(), "expected an IP address and a port"));
        return None;
    };
    let mut r = RealServer { address, port, ..RealServer::default() };
    let mut d = inherited.clone();
    let mut checkers = Vec::new();
    for c in n.children() {
        if kcheck::common(c, &mut d, skipped) {
            continue;
        }
        match c.keyword.as_str() {
            "weight" => r.weight = number(c, skipped),
            "uthreshold" => r.upper_threshold = number(c, skipped),
            "lthreshold" => r.lower_threshold = number(c, skipped),
            "lvs_method" => match method(&c.args) {
                Ok((forward, tunnel)) => (r.forward, r.tunnel) = (Some(forward), tunnel),
                Err(why) => skipped.push(Skipped::new(c.line, &c.text(), why)),
            },
            k if k.ends_with("_CHECK") || k == "HTTP_GET" || k == "SSL_GET" => checkers.push(c),
            "notify_up" | "notify_down" | "smtp_alert" | "snmp_name" => skipped.push(Skipped::new(
                c.line,
                &c.text(),
                "no counterpart in lvsync (it logs transitions and counts them in metrics)",
            )),
            _ => skipped.push(Skipped::new(c.line, &c.text(), "unknown keyword in real_server")),
        }
    }
    let mut checkers = checkers.into_iter();
    r.health = checkers.next().and_then(|c| kcheck::checker(c, &d, skipped));
    for extra in checkers {
        skipped.push(Skipped::new(
            extra.line,
            &extra.keyword,
            "lvsync runs one check per real server (keepalived needs all to pass); only the first was converted",
        ));
    }
    if let Some(h) = r.health.as_mut().filter(|h| h.port.is_some() && h.port == r.port) {
        h.port = None;
    }
    Some(r)
}

/// `IP [PORT]`.
fn real_address(args: &[String]) -> Option<(String, Option<u16>)> {
    let address: IpAddr = args.first()?.parse().ok()?;
    let port = match args.get(1) {
        Some(p) => Some(p.parse().ok()?),
        None => None,
    };
    (args.len() <= 2).then_some((address.to_string(), port))
}

/// `NAT`, `DR`, `TUN [type ipip|gue port N|gre] [nocsum|csum|remcsum]`.
fn method(args: &[String]) -> Result<(&'static str, Option<Tunnel>), String> {
    let words: Vec<String> = args.iter().map(|a| a.to_ascii_lowercase()).collect();
    match words.first().map(String::as_str) {
        Some("nat") if words.len() == 1 => Ok(("nat", None)),
        Some("dr") if words.len() == 1 => Ok(("dr", None)),
        Some("tun") => {
            let mut tunnel = Tunnel { kind: "ipip", ..Tunnel::default() };
            let mut rest = words[1..].iter();
            while let Some(w) = rest.next() {
                match w.as_str() {
                    "type" => match rest.next().map(String::as_str) {
                        Some("ipip") => tunnel.kind = "ipip",
                        Some("gue") => tunnel.kind = "gue",
                        Some("gre") => tunnel.kind = "gre",
                        _ => return Err("a tunnel type is ipip, gue or gre".into()),
                    },
                    "port" => tunnel.port = rest.next().and_then(|p| p.parse().ok()),
                    "nocsum" => tunnel.checksum = None,
                    "csum" => tunnel.checksum = Some("csum"),
                    "remcsum" => tunnel.checksum = Some("remcsum"),
                    _ => return Err(format!("`{w}` is not a tunnel option (type, port, nocsum, csum, remcsum)")),
                }
            }
            let plain = tunnel.kind == "ipip" && tunnel.port.is_none() && tunnel.checksum.is_none();
            Ok(("tun", (!plain).then_some(tunnel)))
        }
        _ => Err("a forwarding method is NAT, DR or TUN".into()),
    }
}

/// The services of a `virtual_server_group`: addresses, IPv4 ranges and fwmarks.
fn group_idents(g: &Node, skipped: &mut Vec<Skipped>) -> Vec<Ident> {
    let mut out = Vec::new();
    for e in g.children() {
        if e.keyword == "fwmark" {
            let family = match e.args.get(1).map(String::as_str) {
                Some("inet6") => Some("ipv6"),
                Some("inet") => Some("ipv4"),
                _ => None,
            };
            match e.args.first().and_then(|m| m.parse().ok()) {
                Some(mark) => out.push(Ident::Fwmark { mark, family }),
                None => skipped.push(Skipped::new(e.line, &e.text(), "the firewall mark is not a number")),
            }
            continue;
        }
        let port = match e.args.first().map(|p| p.parse::<u16>()) {
            None => 0,
            Some(Ok(p)) => p,
            Some(Err(_)) => {
                skipped.push(Skipped::new(e.line, &e.text(), "the port is not a number 0..65535"));
                continue;
            }
        };
        match addresses(&e.keyword) {
            Ok(vips) => out.extend(vips.into_iter().map(|vip| Ident::Addr { vip, port })),
            Err(why) => skipped.push(Skipped::new(e.line, &e.text(), why)),
        }
    }
    out
}

/// `192.168.200.1`, `192.168.200.1-10`, `192.168.200.250-192.168.201.10`, any single IPv6.
fn addresses(word: &str) -> Result<Vec<IpAddr>, String> {
    if let Ok(ip) = word.parse::<IpAddr>() {
        return Ok(vec![ip]);
    }
    let Some((first, last)) = word.split_once('-') else {
        return Err("expected an address or an IPv4 range (CIDR ranges are not converted)".into());
    };
    let first: Ipv4Addr = first.parse().map_err(|_| "only IPv4 ranges are converted".to_string())?;
    let last: Ipv4Addr = match last.parse::<u8>() {
        Ok(octet) => {
            let [a, b, c, _] = first.octets();
            Ipv4Addr::new(a, b, c, octet)
        }
        Err(_) => last.parse().map_err(|_| format!("`{last}` ends no IPv4 range"))?,
    };
    let (lo, hi) = (u32::from(first), u32::from(last));
    if hi < lo || hi - lo >= MAX_RANGE {
        return Err(format!("a range is converted when it runs upwards over at most {MAX_RANGE} addresses"));
    }
    Ok((lo..=hi).map(|a| IpAddr::V4(Ipv4Addr::from(a))).collect())
}
