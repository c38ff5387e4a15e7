//! The IPVS part of the state: virtual services with their real servers, and the connection
//! timeouts.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr};

use super::{Family, Protocol, SocketText};

/// The identity of a virtual service. Everything else about a service is an attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServiceKey {
    Addr { protocol: Protocol, vip: IpAddr, port: u16 },
    Fwmark { family: Family, mark: u32 },
}

impl ServiceKey {
    pub fn family(&self) -> Family {
        match self {
            ServiceKey::Addr { vip, .. } => Family::of(vip),
            ServiceKey::Fwmark { family, .. } => *family,
        }
    }
}

/// `tcp/192.168.2.110:80`, `udp/[2001:db8::1]:53`, `fwmark/42`, `fwmark/42/ipv6`: the id used
/// in plan output, JSON and the inventory.
impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Addr { protocol, vip, port } => {
                write!(f, "{protocol}/{}", SocketText(*vip, *port))
            }
            ServiceKey::Fwmark { family: Family::Ipv4, mark } => write!(f, "fwmark/{mark}"),
            ServiceKey::Fwmark { family: Family::Ipv6, mark } => write!(f, "fwmark/{mark}/ipv6"),
        }
    }
}

impl std::str::FromStr for ServiceKey {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}` is not a service id (expected `tcp/VIP:PORT` or `fwmark/MARK[/ipv6]`)");
        let (head, rest) = s.split_once('/').ok_or_else(bad)?;
        if head == "fwmark" {
            let (mark, family) = match rest.split_once('/') {
                Some((mark, "ipv6")) => (mark, Family::Ipv6),
                Some(_) => return Err(bad()),
                None => (rest, Family::Ipv4),
            };
            let mark = mark.parse().map_err(|_| bad())?;
            return Ok(ServiceKey::Fwmark { family, mark });
        }
        let protocol = Protocol::from_name(head).ok_or_else(bad)?;
        let sock: std::net::SocketAddr = rest.parse().map_err(|_| bad())?;
        Ok(ServiceKey::Addr { protocol, vip: sock.ip(), port: sock.port() })
    }
}

/// The identity of a real server inside its service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RealKey {
    pub address: IpAddr,
    pub port: u16,
}

impl fmt::Display for RealKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        SocketText(self.address, self.port).fmt(f)
    }
}

/// `10.0.0.2:80`, `[2001:db8::2]:80`: what `Display` writes (inventory drains, snapshots).
impl std::str::FromStr for RealKey {
    type Err = String;

    fn from_str(s: &str) -> Result<RealKey, String> {
        let sock: std::net::SocketAddr = s.parse().map_err(|e| format!("real server `{s}`: {e}"))?;
        Ok(RealKey { address: sock.ip(), port: sock.port() })
    }
}

/// IPVS scheduler. `Other` keeps a scheduler module lvsync does not know by name (observed only).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scheduler {
    Rr,
    Wrr,
    Lc,
    Wlc,
    Lblc,
    Lblcr,
    Dh,
    Sh,
    Sed,
    Nq,
    Fo,
    Ovf,
    Mh,
    Twos,
    Other(String),
}

impl Scheduler {
    pub const KNOWN: [Scheduler; 14] = [
        Scheduler::Rr,
        Scheduler::Wrr,
        Scheduler::Lc,
        Scheduler::Wlc,
        Scheduler::Lblc,
        Scheduler::Lblcr,
        Scheduler::Dh,
        Scheduler::Sh,
        Scheduler::Sed,
        Scheduler::Nq,
        Scheduler::Fo,
        Scheduler::Ovf,
        Scheduler::Mh,
        Scheduler::Twos,
    ];

    /// The name of a scheduler lvsync knows (`None` for [`Scheduler::Other`]).
    pub fn known_name(&self) -> Option<&'static str> {
        Some(match self {
            Scheduler::Rr => "rr",
            Scheduler::Wrr => "wrr",
            Scheduler::Lc => "lc",
            Scheduler::Wlc => "wlc",
            Scheduler::Lblc => "lblc",
            Scheduler::Lblcr => "lblcr",
            Scheduler::Dh => "dh",
            Scheduler::Sh => "sh",
            Scheduler::Sed => "sed",
            Scheduler::Nq => "nq",
            Scheduler::Fo => "fo",
            Scheduler::Ovf => "ovf",
            Scheduler::Mh => "mh",
            Scheduler::Twos => "twos",
            Scheduler::Other(_) => return None,
        })
    }

    pub fn name(&self) -> &str {
        match self {
            Scheduler::Other(name) => name,
            known => known.known_name().unwrap_or_default(),
        }
    }

    /// The names of the schedulers lvsync knows, in [`Scheduler::KNOWN`] order.
    pub fn known_names() -> Vec<&'static str> {
        Scheduler::KNOWN.iter().filter_map(Scheduler::known_name).collect()
    }

    /// The kernel module name is `ip_vs_<name>`.
    pub fn from_name(name: &str) -> Scheduler {
        Scheduler::KNOWN.into_iter().find(|s| s.name() == name).unwrap_or_else(|| Scheduler::Other(name.to_string()))
    }
}

impl fmt::Display for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The three scheduler-specific flag bits of IPVS (IP_VS_SVC_F_SCHED1..3). `sh` and `mh` give
/// the first two a name (`fallback`, `port`); every scheduler accepts them as `flag-N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SchedFlags(pub u8);

impl SchedFlags {
    pub const FLAG_1: u8 = 1;
    pub const FLAG_2: u8 = 2;
    pub const FLAG_3: u8 = 4;

    pub fn contains(self, bit: u8) -> bool {
        self.0 & bit != 0
    }

    /// Names as the file spells them, for this scheduler.
    pub fn names(self, scheduler: &Scheduler) -> Vec<String> {
        let prefix = match scheduler {
            Scheduler::Sh => Some("sh"),
            Scheduler::Mh => Some("mh"),
            _ => None,
        };
        let mut out = Vec::new();
        for (bit, n, named) in [(Self::FLAG_1, 1, "fallback"), (Self::FLAG_2, 2, "port"), (Self::FLAG_3, 3, "")] {
            if !self.contains(bit) {
                continue;
            }
            match prefix {
                Some(p) if !named.is_empty() => out.push(format!("{p}-{named}")),
                _ => out.push(format!("flag-{n}")),
            }
        }
        out
    }
}

/// Persistence netmask: an IPv4 mask, or an IPv6 prefix length (that is how IPVS stores them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Netmask {
    V4(Ipv4Addr),
    V6(u8),
}

impl Netmask {
    pub fn host(family: Family) -> Netmask {
        match family {
            Family::Ipv4 => Netmask::V4(Ipv4Addr::BROADCAST),
            Family::Ipv6 => Netmask::V6(128),
        }
    }
}

impl fmt::Display for Netmask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Netmask::V4(m) => m.fmt(f),
            Netmask::V6(len) => len.fmt(f),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Persistence {
    /// Seconds, > 0.
    pub timeout: u32,
    pub netmask: Netmask,
    /// Persistence engine module name (`sip`), if any.
    pub engine: Option<String>,
}

/// Everything about a service that is not its identity and not its real servers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ServiceAttrs {
    pub scheduler: Scheduler,
    pub sched_flags: SchedFlags,
    pub persistence: Option<Persistence>,
    pub one_packet: bool,
}

impl Default for ServiceAttrs {
    fn default() -> Self {
        ServiceAttrs {
            scheduler: Scheduler::Wlc,
            sched_flags: SchedFlags::default(),
            persistence: None,
            one_packet: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// The name from the file. Observed services carry the name the inventory remembers, if any;
    /// a name is never compared, only shown.
    pub name: Option<String>,
    pub attrs: ServiceAttrs,
    pub reals: BTreeMap<RealKey, RealServer>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TunnelType {
    Ipip,
    /// Generic UDP encapsulation, to this UDP port.
    Gue {
        port: u16,
    },
    Gre,
}

impl TunnelType {
    /// Every tunnel type's name, as the file spells it.
    pub const NAMES: [&'static str; 3] = ["ipip", "gue", "gre"];

    pub fn name(&self) -> &'static str {
        match self {
            TunnelType::Ipip => "ipip",
            TunnelType::Gue { .. } => "gue",
            TunnelType::Gre => "gre",
        }
    }

    /// The type of this name; a `gue` tunnel takes its port.
    pub fn from_name(name: &str, port: u16) -> Option<TunnelType> {
        Some(match name {
            "ipip" => TunnelType::Ipip,
            "gue" => TunnelType::Gue { port },
            "gre" => TunnelType::Gre,
            _ => return None,
        })
    }

    /// A `gue` tunnel's UDP port.
    pub fn port(&self) -> Option<u16> {
        match self {
            TunnelType::Gue { port } => Some(*port),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum TunnelChecksum {
    #[default]
    None,
    Csum,
    Remcsum,
}

impl TunnelChecksum {
    pub const ALL: [TunnelChecksum; 3] = [TunnelChecksum::None, TunnelChecksum::Csum, TunnelChecksum::Remcsum];

    pub fn name(self) -> &'static str {
        match self {
            TunnelChecksum::None => "none",
            TunnelChecksum::Csum => "csum",
            TunnelChecksum::Remcsum => "remcsum",
        }
    }

    pub fn from_name(name: &str) -> Option<TunnelChecksum> {
        TunnelChecksum::ALL.into_iter().find(|c| c.name() == name)
    }

    pub fn names() -> [&'static str; 3] {
        TunnelChecksum::ALL.map(TunnelChecksum::name)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tunnel {
    pub kind: TunnelType,
    pub checksum: TunnelChecksum,
}

impl Default for Tunnel {
    fn default() -> Self {
        Tunnel { kind: TunnelType::Ipip, checksum: TunnelChecksum::None }
    }
}

/// Forwarding method; a tunnel only exists with `tun`, so it lives inside it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Forward {
    Dr,
    Nat,
    Tun(Tunnel),
}

impl Forward {
    pub fn name(&self) -> &'static str {
        match self {
            Forward::Dr => "dr",
            Forward::Nat => "nat",
            Forward::Tun(_) => "tun",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RealServer {
    /// 0..=i32::MAX; 0 takes no new connections.
    pub weight: u32,
    pub forward: Forward,
    /// 0 = no limit.
    pub upper_threshold: u32,
    pub lower_threshold: u32,
}

/// IPVS connection timeouts in seconds. In the desired state `None` means "not enforced";
/// in the observed state every field is `Some`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timeouts {
    pub tcp: Option<u32>,
    pub tcp_fin: Option<u32>,
    pub udp: Option<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_ids_round_trip() {
        for id in ["tcp/192.168.2.110:80", "udp/[2001:db8::1]:53", "sctp/10.0.0.1:0", "fwmark/42", "fwmark/7/ipv6"] {
            let key: ServiceKey = id.parse().unwrap();
            assert_eq!(key.to_string(), id);
        }
        assert!("fwmark/1/ipv5".parse::<ServiceKey>().is_err());
        assert!("icmp/1.2.3.4:1".parse::<ServiceKey>().is_err());
    }

    #[test]
    fn sched_flag_names_follow_the_scheduler() {
        let f = SchedFlags(SchedFlags::FLAG_1 | SchedFlags::FLAG_2);
        assert_eq!(f.names(&Scheduler::Sh), ["sh-fallback", "sh-port"]);
        assert_eq!(f.names(&Scheduler::Mh), ["mh-fallback", "mh-port"]);
        assert_eq!(f.names(&Scheduler::Rr), ["flag-1", "flag-2"]);
    }
}
