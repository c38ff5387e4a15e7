//! Normalized state: the one shape in which both the desired state (resolved from the file)
//! and the observed state (read from the kernel) are expressed, so that planning is a plain
//! comparison. No I/O, no YAML: `model` produces it, backends fill it, `plan` compares it.

mod firewall;
mod ha;
pub mod health;
mod host;
mod inventory;
mod ipvs;
mod overlay;
mod scope;
mod sync;

pub use firewall::{Chain, ChainId, FirewallAction, Hook, Intent, Reached};
pub use ha::{Ha, HaNode, KeepalivedConf};
pub use host::{
    FouPort, HostAddress, HostState, OwnAddress, Owned, RealServerFacts, RouteBack, SysctlKey, TunnelDevice,
};
pub use inventory::{DrainEntry, DrainRecord, Inventory};
pub use ipvs::{
    Forward, Netmask, Persistence, RealKey, RealServer, SchedFlags, Scheduler, Service, ServiceAttrs, ServiceKey,
    Timeouts, Tunnel, TunnelChecksum, TunnelType,
};
pub use overlay::{Added, Drain, Overlays, RealOf, WeightOverride};
pub use scope::Scope;
pub use sync::{DEFAULT_GROUP, DEFAULT_PORT, DEFAULT_TTL, SyncDaemon, SyncDaemons, SyncRole};

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// Who owns the kernel's IPVS table: `managed` touches only what the file declares or lvsync
/// applied before; `exclusive` makes the file the whole truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ownership {
    #[default]
    Managed,
    Exclusive,
}

/// Address family of a service, a real server or a firewall chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Ipv4,
    Ipv6,
}

impl Family {
    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::Ipv4,
            IpAddr::V6(_) => Family::Ipv6,
        }
    }
}

impl Family {
    pub const ALL: [Family; 2] = [Family::Ipv4, Family::Ipv6];

    pub fn name(self) -> &'static str {
        match self {
            Family::Ipv4 => "ipv4",
            Family::Ipv6 => "ipv6",
        }
    }

    pub fn from_name(name: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.name() == name)
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    pub const ALL: [Protocol; 3] = [Protocol::Tcp, Protocol::Udp, Protocol::Sctp];

    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }

    pub fn from_name(name: &str) -> Option<Protocol> {
        Protocol::ALL.into_iter().find(|p| p.name() == name)
    }

    pub fn as_str(self) -> &'static str {
        self.name()
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `192.168.2.106:80` or `[2001:db8::6]:80`.
pub struct SocketText(pub IpAddr, pub u16);

impl fmt::Display for SocketText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(a) => write!(f, "{a}:{}", self.1),
            IpAddr::V6(a) => write!(f, "[{a}]:{}", self.1),
        }
    }
}

/// The whole state lvsync cares about, desired or observed: one field per domain.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct State {
    pub services: BTreeMap<ServiceKey, Service>,
    pub timeouts: Timeouts,
    /// A chain that is absent does not exist (desired: must not exist).
    pub chains: BTreeMap<ChainId, Chain>,
    /// IPVS connection sync daemons (see [`SyncDaemons`]).
    pub sync: SyncDaemons,
    /// keepalived's configuration file. Desired: `None` = the file has no `ha`; observed:
    /// `None` = not read.
    pub keepalived: Option<KeepalivedConf>,
    /// The host's addresses, tunnel devices and sysctls (the `director` section, `ipvs.sysctls`,
    /// or a real server's side of the file). Desired: empty when the file asks for none.
    pub host: HostState,
}

/// An IPv4 or IPv6 network in CIDR notation, as firewall intents name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cidr {
    pub addr: IpAddr,
    pub prefix: u8,
}

impl Cidr {
    pub fn family(&self) -> Family {
        Family::of(&self.addr)
    }

    pub fn host(addr: IpAddr) -> Cidr {
        let prefix = match addr {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        Cidr { addr, prefix }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

impl std::str::FromStr for Cidr {
    type Err = String;

    /// `10.0.0.0/8`, `2001:db8::/32`, or a bare address (a host route). Host bits must be zero.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| format!("`{s}` is not an IPv4 or IPv6 address or CIDR"))?;
        let max = match addr {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        let prefix = match prefix {
            None => max,
            Some(p) => match p.parse::<u8>() {
                Ok(p) if p <= max => p,
                _ => return Err(format!("`{s}` has a prefix length outside 0..={max}")),
            },
        };
        let bits: u128 = match addr {
            IpAddr::V4(a) => u128::from(u32::from(a)) << 96,
            IpAddr::V6(a) => u128::from(a),
        };
        let host_bits = if prefix == max { 0 } else { bits << u32::from(prefix) };
        if host_bits != 0 {
            return Err(format!("`{s}` has host bits set (did you mean the network address?)"));
        }
        Ok(Cidr { addr, prefix })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_refuses_host_bits_and_long_prefixes() {
        assert_eq!("10.0.0.0/8".parse::<Cidr>().unwrap().to_string(), "10.0.0.0/8");
        assert_eq!("10.1.2.3".parse::<Cidr>().unwrap().to_string(), "10.1.2.3/32");
        assert!("10.0.0.1/8".parse::<Cidr>().unwrap_err().contains("host bits"));
        assert!("10.0.0.0/33".parse::<Cidr>().unwrap_err().contains("0..=32"));
        assert_eq!("2001:db8::/32".parse::<Cidr>().unwrap().prefix, 32);
        assert!("2001:db8::1/64".parse::<Cidr>().is_err());
        assert_eq!("0.0.0.0/0".parse::<Cidr>().unwrap().prefix, 0);
    }
}
