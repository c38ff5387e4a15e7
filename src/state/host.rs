//! The host's part of the state, desired or observed: the addresses, tunnel devices, fou
//! listeners and sysctls a director or a real server needs (the same shape both ways, so a
//! diff is a plain comparison), and the record of what lvsync changed on the host.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::Family;

/// An address on a device: `192.168.2.110/32 on lo`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct HostAddress {
    pub device: String,
    pub addr: IpAddr,
    pub prefix_len: u8,
}

impl HostAddress {
    /// The address alone on the device: /32 or /128, how a VIP is held.
    pub fn host(device: &str, addr: IpAddr) -> HostAddress {
        let prefix_len = if addr.is_ipv4() { 32 } else { 128 };
        HostAddress { device: device.to_string(), addr, prefix_len }
    }
}

impl fmt::Display for HostAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{} on {}", self.addr, self.prefix_len, self.device)
    }
}

/// A tunnel's fallback device: the one the kernel makes when the tunnel's module loads, which
/// receives every tunnelled packet no other tunnel device claims. It is never deleted (only its
/// module's unloading would); lvsync brings it up and down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelDevice {
    /// IPv4 in IPv4 (ipip, and GUE carrying ipip): `tunl0`.
    Tunl0,
    /// IPv6 in IPv4: `sit0`.
    Sit0,
    /// Anything in IPv6: `ip6tnl0`.
    Ip6tnl0,
    /// GRE over IPv4: `gre0`.
    Gre0,
    /// GRE over IPv6: `ip6gre0`.
    Ip6gre0,
}

impl TunnelDevice {
    pub const ALL: [TunnelDevice; 5] =
        [TunnelDevice::Tunl0, TunnelDevice::Sit0, TunnelDevice::Ip6tnl0, TunnelDevice::Gre0, TunnelDevice::Ip6gre0];

    pub fn name(self) -> &'static str {
        match self {
            TunnelDevice::Tunl0 => "tunl0",
            TunnelDevice::Sit0 => "sit0",
            TunnelDevice::Ip6tnl0 => "ip6tnl0",
            TunnelDevice::Gre0 => "gre0",
            TunnelDevice::Ip6gre0 => "ip6gre0",
        }
    }

    /// The rtnetlink link kind whose module makes the device.
    pub fn kind(self) -> &'static str {
        match self {
            TunnelDevice::Tunl0 => "ipip",
            TunnelDevice::Sit0 => "sit",
            TunnelDevice::Ip6tnl0 => "ip6tnl",
            TunnelDevice::Gre0 => "gre",
            TunnelDevice::Ip6gre0 => "ip6gre",
        }
    }

    /// The kernel module that makes it.
    pub fn module(self) -> &'static str {
        match self {
            TunnelDevice::Tunl0 => "ipip",
            TunnelDevice::Sit0 => "sit",
            TunnelDevice::Ip6tnl0 => "ip6_tunnel",
            TunnelDevice::Gre0 => "ip_gre",
            TunnelDevice::Ip6gre0 => "ip6_gre",
        }
    }

    pub fn by_name(name: &str) -> Option<TunnelDevice> {
        TunnelDevice::ALL.into_iter().find(|d| d.name() == name)
    }
}

impl fmt::Display for TunnelDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A fou listener receiving GUE on a UDP port, for one address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FouPort {
    pub port: u16,
    pub family: Family,
}

impl fmt::Display for FouPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "gue port {} ({})", self.port, self.family)
    }
}

/// A sysctl, kept as its path under /proc/sys (`net/ipv4/conf/eth0.100/rp_filter`), shown the
/// way `sysctl` shows it (`net.ipv4.conf.eth0/100.rp_filter`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SysctlKey(String);

impl SysctlKey {
    /// From path components; a component may hold dots (a VLAN device `eth0.100`).
    pub fn new(parts: &[&str]) -> SysctlKey {
        SysctlKey(parts.join("/"))
    }

    /// `net.ipv4.vs.NAME`.
    pub fn ipvs(name: &str) -> SysctlKey {
        SysctlKey::new(&["net", "ipv4", "vs", name])
    }

    /// `net.ipv4.conf.DEVICE.NAME`; DEVICE may be `all` or `default`.
    pub fn ipv4_conf(device: &str, name: &str) -> SysctlKey {
        SysctlKey::new(&["net", "ipv4", "conf", device, name])
    }

    /// The path below /proc/sys.
    pub fn path(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SysctlKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: Vec<String> = self.0.split('/').map(|p| p.replace('.', "/")).collect();
        f.write_str(&shown.join("."))
    }
}

/// What a host holds, or should hold, of what lvsync manages.
///
/// Desired: everything listed must be there (devices up, sysctls at their value). Observed:
/// only what the observer was asked about (every address of the host, the tunnel devices,
/// the fou ports, and the values of the sysctls that are desired or owned).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HostState {
    pub addresses: BTreeSet<HostAddress>,
    /// Tunnel fallback devices and whether each is up (desired: always up).
    pub devices: BTreeMap<TunnelDevice, bool>,
    pub fou: BTreeSet<FouPort>,
    /// Value as /proc/sys shows it, trimmed.
    pub sysctls: BTreeMap<SysctlKey, String>,
}

impl HostState {
    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty() && self.devices.is_empty() && self.fou.is_empty() && self.sysctls.is_empty()
    }
}

/// What lvsync changed on the host and may undo: the inventory's record.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Owned {
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub addresses: BTreeSet<HostAddress>,
    /// Devices lvsync brought up (or made).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub devices: BTreeSet<TunnelDevice>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub fou: BTreeSet<FouPort>,
    /// Each sysctl lvsync set, with the value it had before.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sysctls: BTreeMap<SysctlKey, String>,
}

impl Owned {
    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty() && self.devices.is_empty() && self.fou.is_empty() && self.sysctls.is_empty()
    }

    /// Forget what no longer needs undoing: what left the file and is already gone from the
    /// host, or already back to its original value (by hand, or by another tool).
    pub fn settle(&mut self, desired: &HostState, observed: &HostState) {
        self.addresses.retain(|a| desired.addresses.contains(a) || observed.addresses.contains(a));
        self.fou.retain(|p| desired.fou.contains(p) || observed.fou.contains(p));
        self.devices.retain(|d| desired.devices.contains_key(d) || observed.devices.get(d).copied().unwrap_or(false));
        self.sysctls.retain(|k, original| {
            desired.sysctls.contains_key(k) || observed.sysctls.get(k).is_some_and(|now| now != original)
        });
    }
}

/// One of the host's own addresses, and the device holding it when known (found on the
/// host's interfaces; `--address` gives none).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct OwnAddress {
    pub addr: IpAddr,
    pub device: Option<String>,
}

/// The way back from a real server to its clients: a default route, with its gateway and
/// device, if it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteBack {
    pub family: Family,
    pub gateway: Option<IpAddr>,
    pub device: Option<String>,
}

/// What a real server's side of the file depends on besides the file: the host's own
/// real-server addresses and its default routes (for the NAT check).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RealServerFacts {
    pub own: Vec<OwnAddress>,
    pub routes: Vec<RouteBack>,
}
