//! The lab's network, derived from a desired-state file: pure, so what the lab builds for a file
//! can be read and tested without a kernel.
//!
//! The kernel's root namespace is the director. Every /24 (IPv6: /64) that holds a VIP or a real
//! server is a bridge on the director, which takes the lowest free address there (the real
//! servers' gateway). Each real server address is a namespace with one leg on its bridge; the
//! client is one namespace with a leg on every bridge that holds a VIP, at the highest free
//! address.
//!
//! The lab builds links, addresses and routes only: what a real server needs for its forwarding
//! method (the VIP on `lo` or a tunnel device, ARP and rp_filter sysctls) is set up by
//! `lvsync --role real-server apply` in its namespace, like on a real machine. The one
//! exception is GRE with checksums, which lvsync does not set up (it needs a device of its own).

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::model::Config;
use crate::state::{Forward, Protocol, SchedFlags, Scheduler, ServiceAttrs, ServiceKey, TunnelChecksum, TunnelType};

/// A network namespace name, an address, and everything the lab runs there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    pub subnets: Vec<Subnet>,
    /// VIPs the director holds, with the index of their subnet.
    pub vips: Vec<(IpAddr, usize)>,
    pub reals: Vec<RealHost>,
    pub client: ClientHost,
    /// Services the client sends to, in file order.
    pub targets: Vec<Target>,
    /// What the lab cannot build or send to, said plainly.
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subnet {
    /// The bridge on the director: `lvnet0`, `lvnet1`, ...
    pub bridge: String,
    pub network: IpAddr,
    pub prefix: u8,
    /// The director's own address there.
    pub director: IpAddr,
}

/// One real server address: a namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealHost {
    pub netns: String,
    pub address: IpAddr,
    pub subnet: usize,
    /// VIPs tunnelled by GRE with checksums: the kernel drops them on `gre0`, so the lab gives
    /// them a device of its own (`lvgre`, any remote) that expects them.
    pub gre_csum_vips: BTreeSet<IpAddr>,
    pub listeners: BTreeSet<Listener>,
}

/// A socket a responder opens: it answers with `identity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Listener {
    pub protocol: Protocol,
    pub local: IpAddr,
    pub port: u16,
    /// The real server as the file names it: `address:port`.
    pub identity: (IpAddr, u16),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHost {
    pub netns: String,
    /// One address per subnet that holds a VIP: (subnet index, address).
    pub legs: Vec<(usize, IpAddr)>,
}

/// A service the client sends requests to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub name: String,
    pub protocol: Protocol,
    pub vip: IpAddr,
    pub port: u16,
    /// `address:port` of every real server, in the file's order (for the report).
    pub reals: Vec<String>,
}

pub const CLIENT_NETNS: &str = "lab-client";

impl Topology {
    pub fn derive(config: &Config) -> Topology {
        let mut notes = Vec::new();
        let mut used: BTreeSet<IpAddr> = BTreeSet::new();
        let mut subnet_of: Vec<(IpAddr, u8)> = Vec::new();
        let mut vips: Vec<(IpAddr, usize)> = Vec::new();
        let mut reals: BTreeMap<IpAddr, RealHost> = BTreeMap::new();
        let mut real_order: Vec<IpAddr> = Vec::new();
        let mut targets = Vec::new();

        for spec in &config.services {
            let svc = &spec.service;
            let vip = match spec.key {
                ServiceKey::Addr { vip, .. } => {
                    let i = index(vip, &mut subnet_of);
                    used.insert(vip);
                    if !vips.iter().any(|(v, _)| *v == vip) {
                        vips.push((vip, i));
                    }
                    Some(vip)
                }
                ServiceKey::Fwmark { mark, .. } => {
                    notes.push(format!(
                        "service {}: a firewall-mark service (fwmark {mark}) has no VIP and port to send to; \
                         its real servers are built, no requests are sent",
                        spec.name
                    ));
                    None
                }
            };
            let protocol = match spec.key {
                ServiceKey::Addr { protocol, .. } => Some(protocol),
                ServiceKey::Fwmark { .. } => None,
            };
            for (key, real) in &svc.reals {
                let i = index(key.address, &mut subnet_of);
                used.insert(key.address);
                let host = reals.entry(key.address).or_insert_with(|| {
                    real_order.push(key.address);
                    RealHost {
                        netns: String::new(),
                        address: key.address,
                        subnet: i,
                        gre_csum_vips: BTreeSet::new(),
                        listeners: BTreeSet::new(),
                    }
                });
                let (Some(vip), Some(protocol)) = (vip, protocol) else { continue };
                if protocol == Protocol::Sctp {
                    continue;
                }
                let local = match real.forward {
                    Forward::Nat => key.address,
                    Forward::Tun(t) if t.kind == TunnelType::Gre && t.checksum != TunnelChecksum::None => {
                        host.gre_csum_vips.insert(vip);
                        vip
                    }
                    Forward::Dr | Forward::Tun(_) => vip,
                };
                if vip.is_ipv6() && matches!(real.forward, Forward::Tun(_)) {
                    notes.push(format!(
                        "service {}: real server {key} is forwarded by tunnel over IPv6, which the lab does not \
                         build; expect its requests to fail",
                        spec.name
                    ));
                }
                if real.forward == Forward::Nat && network(key.address) == network(vip) {
                    notes.push(format!(
                        "service {}: real server {key} is forwarded by NAT but shares the VIP's subnet, so its \
                         answers bypass the director; put NAT real servers on their own subnet",
                        spec.name
                    ));
                }
                host.listeners.insert(Listener { protocol, local, port: key.port, identity: (key.address, key.port) });
            }
            match (spec.key, vip) {
                (ServiceKey::Addr { protocol: Protocol::Sctp, .. }, _) => notes.push(format!(
                    "service {}: the lab sends TCP and UDP only; no requests are sent to this SCTP service",
                    spec.name
                )),
                (ServiceKey::Addr { port: 0, .. }, _) => notes.push(format!(
                    "service {}: a service on every port (port 0) has no single port to send to; no requests \
                     are sent",
                    spec.name
                )),
                (ServiceKey::Addr { protocol, vip, port }, _) => {
                    if let Some(why) = one_client_sticks(&svc.attrs) {
                        notes.push(format!(
                            "service {}: {why}, and every request comes from the lab's one client: expect one real \
                             server to answer them all",
                            spec.name
                        ));
                    }
                    targets.push(Target {
                        name: spec.name.clone(),
                        protocol,
                        vip,
                        port,
                        reals: svc.reals.keys().map(|k| k.to_string()).collect(),
                    })
                }
                (ServiceKey::Fwmark { .. }, _) => {}
            }
        }

        let subnets: Vec<Subnet> = subnet_of
            .iter()
            .enumerate()
            .map(|(i, &(network, prefix))| {
                let director = free_host(network, &used, false);
                used.insert(director);
                Subnet { bridge: format!("lvnet{i}"), network, prefix, director }
            })
            .collect();
        let mut vip_subnets: Vec<usize> = vips.iter().map(|(_, i)| *i).collect();
        vip_subnets.sort_unstable();
        vip_subnets.dedup();
        let legs = vip_subnets
            .into_iter()
            .map(|i| {
                let a = free_host(subnets[i].network, &used, true);
                used.insert(a);
                (i, a)
            })
            .collect();
        let reals = real_order
            .iter()
            .enumerate()
            .filter_map(|(n, a)| reals.remove(a).map(|h| RealHost { netns: format!("lab-real{n}"), ..h }))
            .collect();
        Topology { subnets, vips, reals, client: ClientHost { netns: CLIENT_NETNS.to_string(), legs }, targets, notes }
    }

    /// The steps that build this network, in order: the director's own settings and every
    /// namespace and link first, then each namespace's inside. One `ip -batch` per namespace
    /// keeps the lab fast (every process costs tens of milliseconds in User-Mode Linux).
    pub fn steps(&self) -> Vec<Step> {
        // The director forwards NAT traffic and answers that take the long way round; it must not
        // tell real servers to bypass it, and accepts packets from its own VIPs (tunnelled replies).
        let mut keys: Vec<String> = [
            "net.ipv4.ip_forward=1",
            "net.ipv6.conf.all.forwarding=1",
            "net.ipv4.conf.all.send_redirects=0",
            "net.ipv4.conf.all.accept_local=1",
        ]
        .map(String::from)
        .into();
        // Before any device exists, so that bridges and veths inherit it.
        keys.extend(self.no_dad(&[]));
        let mut steps = vec![Step::Sysctl { netns: None, keys }];
        let mut root = Vec::new();
        for s in &self.subnets {
            root.push(format!("link add {} type bridge", s.bridge));
            root.push(format!("link set {} up", s.bridge));
            root.push(addr(s.director, s.prefix, &s.bridge));
        }
        for (vip, i) in &self.vips {
            root.push(addr(*vip, host_prefix(*vip), &self.subnets[*i].bridge));
        }
        let leg = |root: &mut Vec<String>, ns: &str, outer: String, inner: &str, bridge: &str| {
            root.push(format!("link add {outer} type veth peer name {inner} netns {ns}"));
            root.push(format!("link set {outer} master {bridge}"));
            root.push(format!("link set {outer} up"));
        };
        for (n, r) in self.reals.iter().enumerate() {
            root.push(format!("netns add {}", r.netns));
            leg(&mut root, &r.netns, format!("lvr{n}"), "eth0", &self.subnets[r.subnet].bridge);
        }
        let client = &self.client.netns;
        root.push(format!("netns add {client}"));
        for (n, (i, _)) in self.client.legs.iter().enumerate() {
            leg(&mut root, client, format!("lvc{n}"), &format!("eth{n}"), &self.subnets[*i].bridge);
        }
        steps.push(Step::Ip { netns: None, lines: root });

        for r in &self.reals {
            let subnet = &self.subnets[r.subnet];
            let ns = Some(r.netns.clone());
            let mut lines = vec![
                addr(r.address, subnet.prefix, "eth0"),
                "link set eth0 up".into(),
                "link set lo up".into(),
                format!("route add default via {}", subnet.director),
            ];
            let mut keys = self.no_dad(&["eth0"]);
            if !r.gre_csum_vips.is_empty() {
                lines.push(format!("link add lvgre type gre local {} icsum", r.address));
                lines.push("link set lvgre up".into());
                lines.extend(r.gre_csum_vips.iter().map(|vip| addr(*vip, host_prefix(*vip), "lvgre")));
                // Decapsulated packets arrive with the client's source address; `default` covers
                // lvgre, made after the sysctls. The VIP lives here too: only the director answers ARP.
                keys.extend(["all", "default"].map(|dev| format!("net.ipv4.conf.{dev}.rp_filter=0")));
                for key in ["arp_ignore=1", "arp_announce=2"] {
                    keys.extend(["all", "eth0"].map(|dev| format!("net.ipv4.conf.{dev}.{key}")));
                }
            }
            if !keys.is_empty() {
                steps.push(Step::Sysctl { netns: ns.clone(), keys });
            }
            steps.push(Step::Ip { netns: ns, lines });
        }
        let mut lines = vec!["link set lo up".to_string()];
        for (n, (i, a)) in self.client.legs.iter().enumerate() {
            lines.push(addr(*a, self.subnets[*i].prefix, &format!("eth{n}")));
            lines.push(format!("link set eth{n} up"));
        }
        if let Some((i, _)) = self.client.legs.first() {
            lines.push(format!("route add default via {}", self.subnets[*i].director));
        }
        let legs: Vec<String> = (0..self.client.legs.len()).map(|n| format!("eth{n}")).collect();
        let keys = self.no_dad(&legs.iter().map(String::as_str).collect::<Vec<_>>());
        if !keys.is_empty() {
            steps.push(Step::Sysctl { netns: Some(client.clone()), keys });
        }
        steps.push(Step::Ip { netns: Some(client.clone()), lines });
        steps
    }

    /// With IPv6, the sysctls that skip duplicate address detection on these devices: during it
    /// (a second or more after a link comes up) the first requests would be lost.
    fn no_dad(&self, devices: &[&str]) -> Vec<String> {
        if !self.subnets.iter().any(|s| s.network.is_ipv6()) {
            return Vec::new();
        }
        let devs = ["all", "default"].iter().chain(devices);
        devs.map(|dev| format!("net.ipv6.conf.{dev}.accept_dad=0")).collect()
    }
}

/// One process that builds part of the lab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `ip [-n NETNS] -batch -`, these lines on its input.
    Ip { netns: Option<String>, lines: Vec<String> },
    /// `[ip netns exec NETNS] sysctl -q -w KEY=VALUE...`.
    Sysctl { netns: Option<String>, keys: Vec<String> },
}

impl Step {
    /// The command line, and what goes to its standard input.
    pub fn command(&self) -> (Vec<String>, String) {
        let mut argv: Vec<String> = Vec::new();
        match self {
            Step::Ip { netns, lines } => {
                argv.push("ip".into());
                if let Some(ns) = netns {
                    argv.extend(["-n".into(), ns.clone()]);
                }
                argv.extend(["-batch".into(), "-".into()]);
                let mut input = lines.join("\n");
                input.push('\n');
                (argv, input)
            }
            Step::Sysctl { netns, keys } => {
                if let Some(ns) = netns {
                    argv.extend(["ip", "netns", "exec", ns].map(String::from));
                }
                argv.extend(["sysctl", "-q", "-w"].map(String::from));
                argv.extend(keys.iter().cloned());
                (argv, String::new())
            }
        }
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (argv, input) = self.command();
        f.write_str(&argv.join(" "))?;
        for line in input.lines() {
            write!(f, "\n    {line}")?;
        }
        Ok(())
    }
}

/// An address, without duplicate address detection (it would delay IPv6 by seconds).
fn addr(addr: IpAddr, prefix: u8, dev: &str) -> String {
    let nodad = if addr.is_ipv6() { " nodad" } else { "" };
    format!("addr add {addr}/{prefix} dev {dev}{nodad}")
}

fn host_prefix(addr: IpAddr) -> u8 {
    if addr.is_ipv6() { 128 } else { 32 }
}

/// Why a service sends every request of one client address to the same real server, if it does.
fn one_client_sticks(attrs: &ServiceAttrs) -> Option<String> {
    if attrs.persistence.is_some() {
        return Some("it is persistent".into());
    }
    let port_hashed = attrs.sched_flags.contains(SchedFlags::FLAG_2);
    match attrs.scheduler {
        Scheduler::Sh | Scheduler::Mh if !port_hashed => {
            Some(format!("scheduler {} hashes the client's address", attrs.scheduler))
        }
        Scheduler::Dh | Scheduler::Lblc | Scheduler::Lblcr => {
            Some(format!("scheduler {} chooses by destination address", attrs.scheduler))
        }
        _ => None,
    }
}

/// The index of the address's subnet, added if new.
fn index(addr: IpAddr, subnets: &mut Vec<(IpAddr, u8)>) -> usize {
    let net = network(addr);
    match subnets.iter().position(|n| *n == net) {
        Some(i) => i,
        None => {
            subnets.push(net);
            subnets.len() - 1
        }
    }
}

/// The /24 or /64 an address belongs to in the lab.
pub fn network(addr: IpAddr) -> (IpAddr, u8) {
    match addr {
        IpAddr::V4(a) => (IpAddr::V4(Ipv4Addr::from(u32::from(a) & 0xffff_ff00)), 24),
        IpAddr::V6(a) => (IpAddr::V6(Ipv6Addr::from(u128::from(a) & !u128::from(u64::MAX))), 64),
    }
}

/// The lowest (or highest) host address of the subnet that nothing else uses.
fn free_host(network: IpAddr, used: &BTreeSet<IpAddr>, from_top: bool) -> IpAddr {
    let candidates: Box<dyn Iterator<Item = u32>> =
        if from_top { Box::new((1..=254).rev()) } else { Box::new(1..=254) };
    let make = |n: u32| match network {
        IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a) | n)),
        IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a) | u128::from(n))),
    };
    // A /24 of 254 hosts all used by the file leaves no room: reuse the first; the lab then fails
    // visibly on a duplicate address.
    candidates.map(make).find(|a| !used.contains(a)).unwrap_or_else(|| make(if from_top { 254 } else { 1 }))
}

#[cfg(test)]
mod tests;
