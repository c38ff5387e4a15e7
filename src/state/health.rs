//! Health settings after validation, with every default applied: what `model` resolves a
//! file's `health`, `min_healthy`, `fallback` and `drain_timeout` into. Pure data.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use super::{RealKey, RealServer};

pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
pub const DEFAULT_RISE: u32 = 2;
pub const DEFAULT_FALL: u32 = 3;
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(60);

/// The health settings of one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceHealth {
    /// The probed real servers; a real server not listed (or with `check: none`) is never
    /// taken out by health.
    pub checks: BTreeMap<RealKey, Check>,
    pub min_healthy: MinHealthy,
    /// The sorry server, resolved like a real server of the service (weight 1).
    pub fallback: Option<(RealKey, RealServer)>,
    /// How long a real server that leaves the file may keep its connections; zero: none.
    pub drain_timeout: Duration,
}

impl Default for ServiceHealth {
    fn default() -> ServiceHealth {
        ServiceHealth {
            checks: BTreeMap::new(),
            min_healthy: MinHealthy::Count(0),
            fallback: None,
            drain_timeout: DEFAULT_DRAIN_TIMEOUT,
        }
    }
}

/// How many real servers must stay in a service whatever the probes say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MinHealthy {
    Count(u32),
    /// 0..=100 percent of the service's real servers, rounded up.
    Percent(u8),
}

impl MinHealthy {
    /// The count for a service of `total` real servers.
    pub fn of(self, total: usize) -> usize {
        match self {
            MinHealthy::Count(n) => n as usize,
            MinHealthy::Percent(p) => (total * p as usize).div_ceil(100),
        }
    }
}

impl fmt::Display for MinHealthy {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            MinHealthy::Count(n) => write!(f, "{n}"),
            MinHealthy::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// The resolved check of one real server in one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What is probed and how verdicts are formed: shared by every service with the same.
    pub target: Target,
    pub on_failure: OnFailure,
}

/// What to do with a real server that is down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OnFailure {
    /// Weight 0 in the kernel: established connections go on.
    Quiesce,
    /// Deleted from the kernel.
    Remove,
}

/// One probed target: the address and every setting that changes what a probe does or how its
/// results become a verdict. Two services whose real servers have equal targets share one
/// probe and one verdict.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Target {
    pub address: IpAddr,
    pub port: u16,
    pub kind: Kind,
    pub interval: Duration,
    pub timeout: Duration,
    pub rise: u32,
    pub fall: u32,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self.address {
            IpAddr::V4(a) => write!(f, "{} {a}:{}", self.kind.name(), self.port),
            IpAddr::V6(a) => write!(f, "{} [{a}]:{}", self.kind.name(), self.port),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Tcp,
    Http(Http),
    Https(Http, Tls),
    Udp(Udp),
    Dns(Dns),
    Exec(Exec),
}

impl Kind {
    pub fn name(&self) -> &'static str {
        match self {
            Kind::Tcp => "tcp",
            Kind::Http(_) => "http",
            Kind::Https(..) => "https",
            Kind::Udp(_) => "udp",
            Kind::Dns(_) => "dns",
            Kind::Exec(_) => "exec",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Http {
    /// Starts with `/`; default `/`.
    pub path: String,
    /// The `Host` header; default the real server's address.
    pub host: Option<String>,
    /// Passing status codes: inclusive ranges; default 200-399.
    pub status: Vec<(u16, u16)>,
    /// A substring the body must hold.
    pub body: Option<String>,
    /// Probes share one connection, kept open between them (HTTP/1.1 keep-alive).
    pub keep_alive: bool,
}

impl Http {
    pub fn status_ok(&self, code: u16) -> bool {
        self.status.iter().any(|(lo, hi)| (*lo..=*hi).contains(&code))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tls {
    /// Check the certificate against the system's roots and the name; default true.
    pub verify: bool,
    /// The name sent and verified; default `http.host`, else none (an IP address is verified).
    pub sni: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Udp {
    pub send: Vec<u8>,
    /// A reply must contain this; `None`: any reply passes.
    pub expect: Option<Vec<u8>>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Dns {
    pub name: String,
    pub record: RecordType,
}

/// The DNS record types a check may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RecordType {
    A,
    Aaaa,
    Cname,
    Mx,
    Ns,
    Ptr,
    Soa,
    Srv,
    Txt,
}

impl RecordType {
    pub const NAMES: [&'static str; 9] = ["A", "AAAA", "CNAME", "MX", "NS", "PTR", "SOA", "SRV", "TXT"];
    pub const ALL: [RecordType; 9] = [
        RecordType::A,
        RecordType::Aaaa,
        RecordType::Cname,
        RecordType::Mx,
        RecordType::Ns,
        RecordType::Ptr,
        RecordType::Soa,
        RecordType::Srv,
        RecordType::Txt,
    ];

    pub fn name(self) -> &'static str {
        Self::NAMES[Self::ALL.iter().position(|t| *t == self).unwrap_or(0)]
    }

    pub fn from_name(name: &str) -> Option<RecordType> {
        Self::NAMES.iter().position(|n| n.eq_ignore_ascii_case(name)).map(|i| Self::ALL[i])
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Exec {
    /// argv; `{address}` and `{port}` are replaced in every element. Never run by a shell.
    pub command: Vec<String>,
}

impl Exec {
    /// The argv for one target.
    pub fn argv(&self, address: IpAddr, port: u16) -> Vec<String> {
        let (address, port) = (address.to_string(), port.to_string());
        self.command.iter().map(|a| a.replace("{address}", &address).replace("{port}", &port)).collect()
    }
}
