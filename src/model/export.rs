//! Observed state -> a desired-state file that reproduces it: what `lvsync export` prints, and
//! the canonical text `plan --diff` compares. Defaults are left out, a forwarding method that
//! all real servers share moves up to the service, and the bytes depend only on the state.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use super::raw;
use crate::state::{
    Family, Forward, HostAddress, HostState, Netmask, Protocol, RealServer, Scheduler, Service, ServiceKey, State,
    SysctlKey, Tunnel, TunnelChecksum, TunnelType,
};

/// First line of an exported file: editors find the schema next to the file
/// (`lvsync schema > lvsync.schema.json`).
pub const EXPORT_HEADER: &str = "# yaml-language-server: $schema=lvsync.schema.json\n";

/// The state's services, IPVS timeouts and sync daemons as a valid desired-state file (firewall chains are
/// not exported: they are lvsync's own).
pub fn export(state: &State) -> String {
    let file = to_raw(state);
    let options = serde_saphyr::ser_options! { indent_step: 2, compact_list_indent: false };
    // The raw types hold only strings, integers, booleans, lists and structs: serializing them
    // cannot fail; an empty body would fail `load`, never pass silently.
    let body = serde_saphyr::to_string_with_options(&file, options).unwrap_or_default();
    format!("{EXPORT_HEADER}{body}")
}

/// The raw file for a state.
pub fn to_raw(state: &State) -> raw::File {
    let t = state.timeouts;
    let timeouts =
        raw::Timeouts { tcp: t.tcp.map(i64::from), tcp_fin: t.tcp_fin.map(i64::from), udp: t.udp.map(i64::from) };
    let timeouts = (timeouts != raw::Timeouts::default()).then_some(timeouts);
    let sysctls = ipvs_sysctls(&state.host);
    let sync = state.sync.as_ref().and_then(super::sync::export);
    let ipvs =
        (timeouts.is_some() || sysctls.is_some() || sync.is_some()).then_some(raw::Ipvs { timeouts, sysctls, sync });
    let director = vip_interface(state).map(|interface| raw::Director { interface: Some(interface), forwarding: None });
    let services = state.services.iter().zip(names(state)).map(|((key, s), name)| service(key, s, name)).collect();
    raw::File { version: 1, ownership: None, ipvs, director, services, firewall: Vec::new(), ha: None }
}

/// The `net.ipv4.vs.*` settings observed on the host (`state.host`) that differ from the
/// kernel's defaults; `None` when all are at their defaults or none was read.
fn ipvs_sysctls(host: &HostState) -> Option<raw::IpvsSysctls> {
    let get = |name: &str| host.sysctls.get(&SysctlKey::ipvs(name)).map(String::as_str);
    let flag = |name: &str| get(name).filter(|v| *v != "0").map(|_| true);
    let reuse = get("conn_reuse_mode").and_then(|v| v.parse::<i64>().ok()).filter(|v| *v != 1);
    let s = raw::IpvsSysctls {
        conntrack: flag("conntrack"),
        expire_nodest_conn: flag("expire_nodest_conn"),
        expire_quiescent_template: flag("expire_quiescent_template"),
        conn_reuse_mode: reuse,
        sloppy_tcp: flag("sloppy_tcp"),
        sloppy_sctp: flag("sloppy_sctp"),
        schedule_icmp: flag("schedule_icmp"),
    };
    (s != raw::IpvsSysctls::default()).then_some(s)
}

/// The one interface (not `lo`) that holds every service VIP as /32 or /128, if there is one:
/// the `director.interface` that reproduces them.
fn vip_interface(state: &State) -> Option<String> {
    let vips: Vec<IpAddr> = state
        .services
        .keys()
        .filter_map(|k| match k {
            ServiceKey::Addr { vip, .. } => Some(*vip),
            ServiceKey::Fwmark { .. } => None,
        })
        .collect();
    let first = vips.first()?;
    let holds = |dev: &str, vip: &IpAddr| state.host.addresses.contains(&HostAddress::host(dev, *vip));
    let device =
        state.host.addresses.iter().find(|a| a.addr == *first && a.device != "lo" && holds(&a.device, first))?;
    vips.iter().all(|v| holds(&device.device, v)).then(|| device.device.clone())
}

/// `tcp-192-168-2-110-80`, `udp-2001-db8--1-53`, `fwmark-42`, `fwmark-42-ipv6`.
pub fn derived_name(key: &ServiceKey) -> String {
    match key {
        ServiceKey::Addr { protocol, vip, port } => {
            let vip = vip.to_string().replace(['.', ':'], "-");
            format!("{protocol}-{vip}-{port}")
        }
        ServiceKey::Fwmark { family: Family::Ipv4, mark } => format!("fwmark-{mark}"),
        ServiceKey::Fwmark { family: Family::Ipv6, mark } => format!("fwmark-{mark}-ipv6"),
    }
}

fn valid_name(name: &str) -> bool {
    name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
}

/// Every service's name: its own where valid and not taken by a service sorted before it,
/// else one derived from its key (`-2`, `-3` appended should that be taken too).
fn names(state: &State) -> Vec<String> {
    let mut used = BTreeSet::new();
    let own: Vec<Option<String>> =
        state.services.values().map(|s| s.name.clone().filter(|n| valid_name(n) && used.insert(n.clone()))).collect();
    state
        .services
        .keys()
        .zip(own)
        .map(|(key, own)| {
            own.unwrap_or_else(|| {
                let derived = derived_name(key);
                let mut name = derived.clone();
                let mut n = 2;
                while !used.insert(name.clone()) {
                    name = format!("{derived}-{n}");
                    n += 1;
                }
                name
            })
        })
        .collect()
}

fn service(key: &ServiceKey, s: &Service, name: String) -> raw::Service {
    let family = key.family();
    let (vip, port, protocol, fwmark, fam) = match key {
        ServiceKey::Addr { protocol, vip, port } => (
            Some(vip.to_string()),
            Some(i64::from(*port)),
            (*protocol != Protocol::Tcp).then(|| protocol.to_string()),
            None,
            None,
        ),
        ServiceKey::Fwmark { family, mark } => {
            (None, None, None, Some(i64::from(*mark)), (*family == Family::Ipv6).then(|| family.to_string()))
        }
    };
    let service_port = match key {
        ServiceKey::Addr { port, .. } => *port,
        ServiceKey::Fwmark { .. } => 0,
    };
    let a = &s.attrs;
    // The timeout is always written: a persistence block reads better with it.
    let persistence = a.persistence.as_ref().map(|p| raw::Persistence {
        timeout: Some(i64::from(p.timeout)),
        netmask: (p.netmask != Netmask::host(family)).then(|| raw::Netmask(p.netmask.to_string())),
        engine: p.engine.clone(),
    });

    let shared = shared_forward(s.reals.values());
    let (forward, tunnel) = match shared {
        Forward::Dr => (None, None),
        Forward::Nat => (Some("nat".to_string()), None),
        Forward::Tun(t) => (Some("tun".to_string()), tunnel(t)),
    };
    let inherited_tunnel = match shared {
        Forward::Tun(t) => t,
        _ => Tunnel::default(),
    };
    let real_servers =
        s.reals.iter().map(|(k, r)| real(k.address, k.port, r, service_port, shared, inherited_tunnel)).collect();

    raw::Service {
        name,
        vip,
        port,
        protocol,
        fwmark,
        family: fam,
        scheduler: (a.scheduler != Scheduler::Wlc).then(|| a.scheduler.name().to_string()),
        scheduler_flags: a.sched_flags.names(&a.scheduler),
        persistence,
        one_packet: a.one_packet.then_some(true),
        forward,
        tunnel,
        health: None,
        min_healthy: None,
        fallback: None,
        drain_timeout: None,
        real_servers,
    }
}

/// The forwarding method most real servers use (ties: the smallest), `dr` without any.
fn shared_forward<'a>(reals: impl Iterator<Item = &'a RealServer>) -> Forward {
    let mut count: BTreeMap<Forward, usize> = BTreeMap::new();
    for r in reals {
        *count.entry(r.forward).or_default() += 1;
    }
    let best = count.values().copied().max().unwrap_or(0);
    count.into_iter().find(|(_, n)| *n == best).map(|(f, _)| f).unwrap_or(Forward::Dr)
}

/// `None` for the default tunnel (`ipip`, no checksum).
fn tunnel(t: Tunnel) -> Option<raw::Tunnel> {
    if t == Tunnel::default() {
        return None;
    }
    let port = t.kind.port().map(i64::from);
    let checksum = (t.checksum != TunnelChecksum::None).then(|| t.checksum.name().to_string());
    Some(raw::Tunnel { kind: Some(t.kind.name().to_string()), port, checksum })
}

fn real(
    address: IpAddr,
    port: u16,
    r: &RealServer,
    service_port: u16,
    shared: Forward,
    inherited: Tunnel,
) -> raw::RealServer {
    let forward = (r.forward.name() != shared.name()).then(|| r.forward.name().to_string());
    // A real server inherits the service's tunnel only when the service itself tunnels.
    let tunnel = match r.forward {
        Forward::Tun(t) if t != inherited => Some(Box::new(tunnel(t).unwrap_or(raw::Tunnel {
            kind: Some(TunnelType::Ipip.name().into()),
            port: None,
            checksum: None,
        }))),
        _ => None,
    };
    raw::RealServer {
        address: address.to_string(),
        port: (port != service_port).then_some(i64::from(port)),
        weight: (r.weight != 1).then_some(i64::from(r.weight)),
        forward,
        upper_threshold: (r.upper_threshold != 0).then_some(i64::from(r.upper_threshold)),
        lower_threshold: (r.lower_threshold != 0).then_some(i64::from(r.lower_threshold)),
        tunnel,
        health: None,
    }
}
