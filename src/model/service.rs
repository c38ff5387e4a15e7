//! Checking and resolving `services`: identity, attributes, real servers, with defaults.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::net::{IpAddr, Ipv4Addr};

use super::check::{Checker, Path, first_at};
use super::config::ServiceSpec;
use super::raw;
use super::real::{RealCtx, real_server, to_forward, tunnel, tunnel_needs_tun, written_key};
use crate::state::{
    Family, Netmask, Persistence, Protocol, RealKey, SchedFlags, Scheduler, Service, ServiceAttrs, ServiceKey,
};

pub const FORWARDS: [&str; 3] = ["dr", "nat", "tun"];
/// The kernel keeps timeouts as seconds * HZ in an int: with HZ=1000 this is the largest safe.
pub const MAX_TIMEOUT: i64 = 2_147_483;
const DEFAULT_PERSISTENCE_TIMEOUT: u32 = 300;

pub fn protocol(c: &mut Checker, path: &(impl Path + ?Sized), value: &str) -> Option<Protocol> {
    c.word(path, value, &Protocol::ALL.map(Protocol::name), "protocol").and_then(Protocol::from_name)
}

pub fn family(c: &mut Checker, path: &(impl Path + ?Sized), value: &str) -> Option<Family> {
    c.word(path, value, &Family::ALL.map(Family::name), "family").and_then(Family::from_name)
}

pub fn family_text(f: Family) -> &'static str {
    match f {
        Family::Ipv4 => "IPv4",
        Family::Ipv6 => "IPv6",
    }
}

/// The services that are right, in file order; the checker holds the problems of the others.
///
/// Each service's raw real servers are let go once it is resolved: at 20,000 services x 8 they
/// are 25 MiB, and the resolved ones then reuse their memory instead of adding to the peak.
/// A check that reads them (`ipvs.sync`'s families) runs before this.
pub fn services(c: &mut Checker, services: &mut [raw::Service]) -> Vec<ServiceSpec> {
    let mut out = Vec::with_capacity(services.len());
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    let mut keys: BTreeMap<ServiceKey, usize> = BTreeMap::new();
    for i in 0..services.len() {
        let s = &services[i];
        let path = format!("services[{i}]");
        match names.entry(s.name.clone()) {
            Entry::Occupied(first) => c.err(
                &format!("{path}.name"),
                format!(
                    "service name `{}` is used twice ({}); names must be unique",
                    s.name,
                    first_at(&format!("services[{}]", first.get()))
                ),
            ),
            Entry::Vacant(v) => {
                v.insert(i);
            }
        }
        let (key, spec) = service(c, &path, s);
        let Some(key) = key else { continue };
        match keys.entry(key) {
            Entry::Occupied(first) => {
                let at = if s.fwmark.is_some() { "fwmark" } else { "vip" };
                c.err(
                    &format!("{path}.{at}"),
                    format!(
                        "service `{}` has the same identity `{}` as service `{}` ({}); a vip + protocol + port, or a fwmark + family, may appear only once",
                        s.name,
                        key,
                        services[*first.get()].name,
                        first_at(&format!("services[{}]", first.get()))
                    ),
                );
            }
            Entry::Vacant(v) => {
                v.insert(i);
            }
        }
        out.extend(spec);
        drop(std::mem::take(&mut services[i].real_servers));
    }
    out
}

/// The identity as soon as it is known (to find duplicates), and the whole service if right.
fn service(c: &mut Checker, path: &str, s: &raw::Service) -> (Option<ServiceKey>, Option<ServiceSpec>) {
    let before = c.count();
    let at = |field: &'static str| move || format!("{path}.{field}");
    c.name(&at("name"), &s.name, 62, "service name");

    let key = service_key(c, path, s);
    let family = key.map(|k| k.family());
    let service_port = match key {
        Some(ServiceKey::Addr { port, .. }) => port,
        _ => 0,
    };

    let scheduler = match &s.scheduler {
        Some(name) => c.word(&at("scheduler"), name, &Scheduler::known_names(), "scheduler").map(Scheduler::from_name),
        None => Some(Scheduler::Wlc),
    };
    let sched_flags =
        scheduler.as_ref().and_then(|sch| sched_flags(c, &at("scheduler_flags")(), &s.scheduler_flags, sch));
    let persistence = match (&s.persistence, family) {
        (Some(p), Some(f)) => persistence(c, &at("persistence")(), p, f).map(Some),
        (None, _) => Some(None),
        (Some(_), None) => None,
    };
    if let (Some(ServiceKey::Addr { port: 0, .. }), Some(None)) = (key, &persistence) {
        c.err(
            &at("port"),
            "`0` (all ports) needs `persistence`, so that a client's connections to different ports stay on one real server; add `persistence: {timeout: 300}` or give a port 1..65535",
        );
    }
    let one_packet = s.one_packet.unwrap_or(false);
    if let (true, Some(ServiceKey::Addr { protocol, .. })) = (one_packet, key)
        && protocol != Protocol::Udp
    {
        c.err(
            &at("one_packet"),
            format!("`true` only works for UDP services (one-packet scheduling schedules each datagram); this service is `{protocol}`: remove `one_packet` or use `protocol: udp`"),
        );
    }

    let forward = match &s.forward {
        Some(f) => c.word(&at("forward"), f, &FORWARDS, "forwarding method"),
        None => Some("dr"),
    };
    let tunnel = s.tunnel.as_ref().and_then(|t| tunnel(c, &at("tunnel")(), t));
    if s.tunnel.is_some() {
        tunnel_needs_tun(c, &at("tunnel")(), "service", forward);
    }
    let default_forward = forward.map(|f| to_forward(f, tunnel));

    let mut reals = BTreeMap::new();
    let mut seen: BTreeMap<RealKey, usize> = BTreeMap::new();
    for (j, r) in s.real_servers.iter().enumerate() {
        let rpath = || format!("{path}.real_servers[{j}]");
        let ctx = RealCtx { key, family, service_port, forward: default_forward, forward_word: forward, tunnel };
        let resolved = real_server(c, &rpath, r, &ctx);
        // Duplicates are found even among real servers with other problems.
        let written = match &resolved {
            Some((key, _)) => Some(*key),
            None => written_key(r, service_port),
        };
        let Some(rkey) = written else { continue };
        match seen.entry(rkey) {
            Entry::Occupied(first) => c.err(
                &format!("{}.address", rpath()),
                format!(
                    "real server `{rkey}` is listed twice in service `{}` ({}); a real server (address + port) may appear once per service",
                    s.name,
                    first_at(&format!("{path}.real_servers[{}]", first.get()))
                ),
            ),
            Entry::Vacant(v) => {
                v.insert(j);
                if let Some((k, real)) = resolved {
                    reals.insert(k, real);
                }
            }
        }
    }

    let ctx = RealCtx { key, family, service_port, forward: default_forward, forward_word: forward, tunnel };
    let health = super::health::service_health(c, path, s, &ctx);
    if c.count() != before {
        return (key, None);
    }
    let spec = (|| {
        let attrs =
            ServiceAttrs { scheduler: scheduler?, sched_flags: sched_flags?, persistence: persistence?, one_packet };
        Some(ServiceSpec {
            name: s.name.clone(),
            key: key?,
            service: Service { name: Some(s.name.clone()), attrs, reals },
            health: health?,
        })
    })();
    (key, spec)
}

fn service_key(c: &mut Checker, path: &str, s: &raw::Service) -> Option<ServiceKey> {
    let at = |field: &'static str| move || format!("{path}.{field}");
    match (&s.vip, s.fwmark) {
        (Some(_), Some(_)) => {
            c.err_key(
                &at("fwmark"),
                "`vip` and `fwmark` together; a service is either `vip` + `port` + `protocol` or a firewall mark: remove one",
            );
            None
        }
        (None, None) => {
            c.err(
                path,
                format!(
                    "service `{}` has neither `vip` nor `fwmark`; add `vip` and `port` (such as `vip: 192.168.2.110` and `port: 80`), or `fwmark`",
                    s.name
                ),
            );
            None
        }
        (Some(vip), None) => {
            let vip_ip = c.ip(&at("vip"), vip, "vip");
            if let Some(ip) = vip_ip {
                vip_usable(c, &at("vip"), vip, ip);
            }
            let port = match s.port {
                Some(p) => c.int(&at("port"), p, 0, 65535, "port").map(|p| p as u16),
                None => {
                    c.err(path, "a service with `vip` needs `port`: 1..65535, or 0 for all ports (with persistence)");
                    None
                }
            };
            let protocol = match &s.protocol {
                Some(p) => protocol(c, &at("protocol"), p),
                None => Some(Protocol::Tcp),
            };
            if let (Some(f), Some(ip)) = (&s.family, vip_ip)
                && let Some(f) = family(c, &at("family"), f)
                && f != Family::of(&ip)
            {
                c.err(
                    &at("family"),
                    format!("`{f}` contradicts the vip `{vip}`, which is {}; remove `family` (only fwmark services need it)", family_text(Family::of(&ip))),
                );
            }
            Some(ServiceKey::Addr { protocol: protocol?, vip: vip_ip?, port: port? })
        }
        (None, Some(mark)) => {
            let mark = c.int(&at("fwmark"), mark, 1, u32::MAX.into(), "fwmark");
            for (field, given) in [("port", s.port.is_some()), ("protocol", s.protocol.is_some())] {
                if given {
                    c.err_key(
                        &at(field),
                        format!("`{field}` does not apply to a fwmark service (the mark selects the packets); remove it, or use `vip` instead of `fwmark`"),
                    );
                }
            }
            let family = match &s.family {
                Some(f) => family(c, &at("family"), f),
                None => Some(Family::Ipv4),
            };
            Some(ServiceKey::Fwmark { family: family?, mark: mark? })
        }
    }
}

/// What kind of address `ip` is when no single host can be reached at it (a vip, or a real
/// server, which also cannot be a loopback address); `None` for a usable unicast address.
pub(super) fn not_unicast(ip: IpAddr) -> Option<&'static str> {
    if ip.is_unspecified() {
        Some("the unspecified address")
    } else if ip.is_multicast() {
        Some("a multicast address")
    } else if ip == IpAddr::V4(Ipv4Addr::BROADCAST) {
        Some("the broadcast address")
    } else {
        None
    }
}

fn vip_usable(c: &mut Checker, path: &(impl Path + ?Sized), text: &str, ip: IpAddr) {
    if let Some(why) = not_unicast(ip) {
        c.err(
            path,
            format!("`{text}` is {why} and cannot be a vip; expected a unicast address the director answers on"),
        );
    }
}

fn sched_flags(c: &mut Checker, path: &str, names: &[String], scheduler: &Scheduler) -> Option<SchedFlags> {
    let before = c.count();
    let mut bits = 0u8;
    let mut first_of_bit: [Option<usize>; 3] = [None; 3];
    for (i, name) in names.iter().enumerate() {
        let at = format!("{path}[{i}]");
        let (owner, bit) = match name.as_str() {
            "sh-fallback" => (Some(Scheduler::Sh), SchedFlags::FLAG_1),
            "sh-port" => (Some(Scheduler::Sh), SchedFlags::FLAG_2),
            "mh-fallback" => (Some(Scheduler::Mh), SchedFlags::FLAG_1),
            "mh-port" => (Some(Scheduler::Mh), SchedFlags::FLAG_2),
            "flag-1" => (None, SchedFlags::FLAG_1),
            "flag-2" => (None, SchedFlags::FLAG_2),
            "flag-3" => (None, SchedFlags::FLAG_3),
            _ => {
                c.err(
                    &at,
                    format!("`{name}` is not a scheduler flag; expected one of `sh-fallback`, `sh-port` (scheduler sh), `mh-fallback`, `mh-port` (scheduler mh), `flag-1`, `flag-2`, `flag-3`"),
                );
                continue;
            }
        };
        if let Some(owner) = owner
            && owner != *scheduler
        {
            let n = if bit == SchedFlags::FLAG_1 { 1 } else { 2 };
            c.err(
                &at,
                format!("`{name}` belongs to the `{owner}` scheduler, but this service uses `{scheduler}`; use `scheduler: {owner}`, or `flag-{n}` for the raw flag bit"),
            );
            continue;
        }
        let slot = bit.trailing_zeros() as usize;
        if let Some(first) = first_of_bit[slot] {
            c.err(
                &at,
                format!(
                    "`{name}` sets the same flag as `{}` ({}); give it once",
                    names[first],
                    first_at(&format!("{path}[{first}]"))
                ),
            );
            continue;
        }
        first_of_bit[slot] = Some(i);
        bits |= bit;
    }
    (c.count() == before).then_some(SchedFlags(bits))
}

fn persistence(c: &mut Checker, path: &str, p: &raw::Persistence, family: Family) -> Option<Persistence> {
    let before = c.count();
    let timeout = match p.timeout {
        Some(t) => c.int(&format!("{path}.timeout"), t, 1, MAX_TIMEOUT, "persistence timeout (seconds)"),
        None => Some(DEFAULT_PERSISTENCE_TIMEOUT),
    };
    let netmask = match &p.netmask {
        Some(m) => netmask(c, &format!("{path}.netmask"), &m.0, family),
        None => Some(Netmask::host(family)),
    };
    if let Some(engine) = &p.engine {
        let ok = engine.len() <= 15
            && engine.starts_with(|ch: char| ch.is_ascii_lowercase())
            && engine.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_');
        if !ok {
            c.err(
                &format!("{path}.engine"),
                format!("`{engine}` is not a valid persistence engine; expected a kernel module name such as `sip` ([a-z][a-z0-9_]{{0,14}})"),
            );
        }
    }
    if c.count() != before {
        return None;
    }
    Some(Persistence { timeout: timeout?, netmask: netmask?, engine: p.engine.clone() })
}

fn netmask(c: &mut Checker, path: &str, text: &str, family: Family) -> Option<Netmask> {
    if c.leading_zero(path, text, "netmask") {
        return None;
    }
    let prefix = text.trim().trim_start_matches('/').parse::<u32>().ok();
    match family {
        Family::Ipv4 => {
            if let Ok(mask) = text.trim().parse::<Ipv4Addr>() {
                let bits = u32::from(mask);
                if bits != 0 && bits.leading_ones() + bits.trailing_zeros() == 32 {
                    return Some(Netmask::V4(mask));
                }
                c.err(path, format!("`{text}` is not a valid IPv4 netmask: its one-bits must be contiguous and not all zero, such as `255.255.255.0`"));
                return None;
            }
            let hint = match prefix {
                Some(len @ 1..=32) => {
                    format!(" (prefix /{len} is `{}`)", Ipv4Addr::from(u32::MAX << (32 - len)))
                }
                _ => String::new(),
            };
            c.err(path, format!("`{text}` is not a valid IPv4 netmask; IPv4 services take a dotted mask such as `255.255.255.0`{hint}"));
            None
        }
        Family::Ipv6 => {
            match prefix {
                Some(len @ 1..=128) => Some(Netmask::V6(len as u8)),
                _ => {
                    c.err(path, format!("`{text}` is not a valid IPv6 netmask; IPv6 services take a prefix length 1..128, such as `64`"));
                    None
                }
            }
        }
    }
}
