//! What the file asks of a host, as a `HostState`: pure functions of the `Config` (and, on a
//! real server, of the host's own real-server addresses).

use std::collections::BTreeSet;
use std::net::IpAddr;

use crate::model::Config;
use crate::state::{
    Family, Forward, FouPort, HostAddress, HostState, OwnAddress, RouteBack, ServiceKey, SysctlKey, TunnelChecksum,
    TunnelDevice, TunnelType,
};

/// The director's side: every service VIP on `director.interface`, forwarding, and the
/// `net.ipv4.vs.*` settings. Without a `director` section only the latter. With `ha`, no VIP:
/// keepalived holds them (on the master only).
pub fn director(config: &Config) -> HostState {
    let mut out = HostState::default();
    for (name, value) in config.ipvs_sysctls.entries() {
        out.sysctls.insert(SysctlKey::ipvs(name), value);
    }
    let Some(d) = &config.director else { return out };
    if let Some(interface) = &d.interface
        && config.ha.is_none()
    {
        for s in &config.services {
            if let ServiceKey::Addr { vip, .. } = s.key {
                out.addresses.insert(HostAddress::host(interface, vip));
            }
        }
    }
    if let Some(on) = d.forwarding {
        let value = if on { "1" } else { "0" }.to_string();
        out.sysctls.insert(SysctlKey::new(&["net", "ipv4", "ip_forward"]), value.clone());
        if crate::model::uses_ipv6(&config.services) {
            out.sysctls.insert(SysctlKey::new(&["net", "ipv6", "conf", "all", "forwarding"]), value);
        }
    }
    out
}

/// A NAT real server: its replies must be routed back through the director, which the file
/// cannot say; the caller checks the route to the clients and warns.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct NatCheck {
    pub service: String,
    pub address: IpAddr,
}

/// A real server's side of the file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RealServerSide {
    pub desired: HostState,
    /// NAT real servers whose route back the caller should check.
    pub nat: Vec<NatCheck>,
    /// Services this host serves whose VIP the file does not hold (fwmark services): their
    /// addresses are not set up.
    pub fwmark_services: Vec<String>,
    /// What this host would need that lvsync does not set up yet, one sentence each: GRE with
    /// checksums needs a GRE device of its own (`gre0` drops checksummed packets).
    pub unsupported: Vec<String>,
}

/// What each forwarding method needs on a real server holding some of `own`'s addresses.
pub fn real_server(config: &Config, own: &[OwnAddress]) -> RealServerSide {
    let mut out = RealServerSide::default();
    let mut arp_devices: BTreeSet<String> = BTreeSet::new();
    let mut rp_devices: BTreeSet<&'static str> = BTreeSet::new();
    for s in &config.services {
        for (key, real) in &s.service.reals {
            let Some(mine) = own.iter().find(|o| o.addr == key.address) else { continue };
            let vip = match s.key {
                ServiceKey::Addr { vip, .. } => vip,
                ServiceKey::Fwmark { .. } => {
                    if !out.fwmark_services.contains(&s.name) {
                        out.fwmark_services.push(s.name.clone());
                    }
                    continue;
                }
            };
            let device = match real.forward {
                Forward::Nat => {
                    out.nat.push(NatCheck { service: s.name.clone(), address: key.address });
                    continue;
                }
                Forward::Dr => "lo",
                Forward::Tun(t) if t.kind == TunnelType::Gre && t.checksum != TunnelChecksum::None => {
                    out.unsupported.push(format!(
                        "service `{}`: real server {} takes GRE with checksums, which needs a GRE device with `icsum` of its own; lvsync sets up only `gre0`, which drops checksummed packets",
                        s.name, key.address
                    ));
                    continue;
                }
                Forward::Tun(t) => {
                    let dev = tunnel_device(t.kind, Family::of(&key.address), Family::of(&vip));
                    out.desired.devices.insert(dev, true);
                    if let TunnelType::Gue { port } = t.kind {
                        out.desired.fou.insert(FouPort { port, family: Family::of(&key.address) });
                    }
                    if vip.is_ipv4() {
                        // Decapsulated packets arrive on the tunnel with the client's address as
                        // source: strict reverse-path filtering would drop them.
                        rp_devices.insert(dev.name());
                    }
                    dev.name()
                }
            };
            out.desired.addresses.insert(HostAddress::host(device, vip));
            if vip.is_ipv4() {
                // The VIP is local here too: only the director may answer ARP for it.
                arp_devices.insert("all".into());
                if let Some(dev) = mine.device.as_deref().filter(|d| *d != "lo") {
                    arp_devices.insert(dev.to_string());
                }
            }
        }
    }
    for dev in &arp_devices {
        out.desired.sysctls.insert(SysctlKey::ipv4_conf(dev, "arp_ignore"), "1".into());
        out.desired.sysctls.insert(SysctlKey::ipv4_conf(dev, "arp_announce"), "2".into());
    }
    if !rp_devices.is_empty() {
        rp_devices.insert("all");
    }
    for dev in rp_devices {
        out.desired.sysctls.insert(SysctlKey::ipv4_conf(dev, "rp_filter"), "0".into());
    }
    out.nat.sort();
    out.nat.dedup();
    out
}

/// The fallback device that receives a tunnel's packets, by outer (real server) and inner
/// (VIP) family. GUE carries ipip, so it lands where ipip does.
pub fn tunnel_device(kind: TunnelType, outer: Family, inner: Family) -> TunnelDevice {
    match (kind, outer, inner) {
        (TunnelType::Gre, Family::Ipv4, _) => TunnelDevice::Gre0,
        (TunnelType::Gre, Family::Ipv6, _) => TunnelDevice::Ip6gre0,
        (_, Family::Ipv6, _) => TunnelDevice::Ip6tnl0,
        (_, Family::Ipv4, Family::Ipv6) => TunnelDevice::Sit0,
        (_, Family::Ipv4, Family::Ipv4) => TunnelDevice::Tunl0,
    }
}

/// Warnings for NAT real servers whose replies cannot go back through the director: no
/// default route of their family, or one that is not through a gateway. (Which gateway is the
/// director the file cannot say.)
pub fn nat_warnings(checks: &[NatCheck], routes: &[RouteBack]) -> Vec<String> {
    let mut out = Vec::new();
    for c in checks {
        let family = Family::of(&c.address);
        let route = routes.iter().find(|r| r.family == family);
        let why = match route {
            None => "has no default route".to_string(),
            Some(RouteBack { gateway: None, device, .. }) => format!(
                "has a default route straight out of `{}`, not through a gateway",
                device.as_deref().unwrap_or("?")
            ),
            Some(_) => continue,
        };
        out.push(format!(
            "real server {} of service `{}` forwards by nat but {why}: its replies to clients must be routed back through the director (a default route via the director's address)",
            c.address, c.service
        ));
    }
    out
}

/// Every `ipvs.sysctls` setting, by its name under `net.ipv4.vs`.
pub const IPVS_SYSCTLS: [&str; 7] = [
    "conntrack",
    "expire_nodest_conn",
    "expire_quiescent_template",
    "conn_reuse_mode",
    "sloppy_tcp",
    "sloppy_sctp",
    "schedule_icmp",
];

/// The sysctls `export --role real-server` reports: ARP and reverse-path filtering, for `all`
/// and each tunnel fallback device.
pub fn real_server_sysctls() -> Vec<SysctlKey> {
    let mut keys = Vec::new();
    for dev in std::iter::once("all").chain(TunnelDevice::ALL.iter().map(|d| d.name())) {
        keys.push(SysctlKey::ipv4_conf(dev, "arp_ignore"));
        keys.push(SysctlKey::ipv4_conf(dev, "arp_announce"));
        keys.push(SysctlKey::ipv4_conf(dev, "rp_filter"));
    }
    keys
}

/// `export --role real-server`: a valid file with no services, whose comments list what this
/// host holds for LVS (VIPs on `lo` and on tunnel devices, GUE listeners, ARP and rp_filter
/// settings) and which forwarding method each implies. A real server's side is derived from
/// the director's file, so what to adopt is adding this host to those services there.
pub fn real_server_export(observed: &HostState) -> String {
    let mut out = String::from(
        "# lvsync export --role real-server: what this host holds for LVS.\n\
         # A real server's set-up comes from the director's file: list this host as a real server\n\
         # of the services below there, then run `lvsync --role real-server apply FILE` here.\n",
    );
    let mut vips = Vec::new();
    for a in &observed.addresses {
        let method = match TunnelDevice::by_name(&a.device) {
            Some(TunnelDevice::Gre0 | TunnelDevice::Ip6gre0) => "forward: tun, tunnel type gre",
            Some(_) if observed.fou.is_empty() => "forward: tun, tunnel type ipip",
            Some(_) => "forward: tun, tunnel type ipip or gue",
            None if a.device == "lo" && !a.addr.is_loopback() => "forward: dr",
            None => continue,
        };
        vips.push(format!("#   vip {} ({method}): {a}\n", a.addr));
    }
    if vips.is_empty() {
        out.push_str("# No VIP found on lo or on a tunnel device: this host is set up as no DR or TUN real server.\n");
    } else {
        out.push_str("# Services this host is a real server of:\n");
        vips.into_iter().for_each(|v| out.push_str(&v));
    }
    for p in &observed.fou {
        out.push_str(&format!("#   {p}: forward: tun, tunnel {{type: gue, port: {}}}\n", p.port));
    }
    let set: Vec<String> = observed
        .sysctls
        .iter()
        .filter(|(k, v)| {
            let mut parts = k.path().rsplit('/');
            let (name, device) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            let holds_vip = device == "all" || observed.addresses.iter().any(|a| a.device == device);
            match name {
                "rp_filter" => *v == "0" && holds_vip,
                _ => *v != "0",
            }
        })
        .map(|(k, v)| format!("#   {k} = {v}\n"))
        .collect();
    if !set.is_empty() {
        out.push_str("# Settings for LVS:\n");
        set.into_iter().for_each(|s| out.push_str(&s));
    }
    out.push_str("version: 1\nservices: []\n");
    out
}
