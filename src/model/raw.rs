//! The file exactly as written: serde mirrors of the YAML, with nothing resolved.
//!
//! Scalars that can be wrong in interesting ways (addresses, enum words, integers with ranges)
//! are kept as plain strings and wide integers here, so that validation can report every bad
//! value of a file at once, with its path, instead of stopping at the first type error.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use super::raw_health::{
    DnsCheck, ExecCheck, Fallback, Health, HttpCheck, MinHealthy, Seconds, Status, TlsCheck, UdpCheck,
};

/// An lvsync desired-state file: the IPVS services of one director and the firewall intents
/// that guard them. Reference: docs/file-format.md.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "lvsync desired state, version 1")]
pub struct File {
    /// Version of the file format. Always 1.
    #[schemars(range(min = 1, max = 1))]
    pub version: i64,
    /// `managed` (default): lvsync changes and deletes only what this file declares or what it
    /// applied earlier. `exclusive`: this file is the whole truth for the IPVS table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["managed", "exclusive"]))]
    pub ownership: Option<String>,
    /// Global IPVS settings; only what is given is enforced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipvs: Option<Ipvs>,
    /// The director's own host setup: its VIPs on an interface, and IP forwarding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub director: Option<Director>,
    /// The virtual services.
    #[serde(default)]
    pub services: Vec<Service>,
    /// Firewall intents, enforced in lvsync's own chains, in this order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub firewall: Vec<Rule>,
    /// Two or more directors sharing the VIPs: VRRP by keepalived, configured by lvsync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ha: Option<Ha>,
}

/// High availability: keepalived moves every service VIP (and `vips`) to the director of the
/// highest priority that is up. lvsync writes keepalived's configuration (VRRP only, never a
/// `virtual_server`) and reloads it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ha {
    /// The VRRP engine: `keepalived`.
    #[schemars(extend("enum" = ["keepalived"]))]
    pub engine: String,
    /// The interface VRRP adverts go out on and the VIPs are put on.
    #[schemars(length(min = 1, max = 15))]
    pub interface: String,
    /// VRRP virtual router id 1..255, shared by the directors of one pair.
    #[schemars(range(min = 1, max = 255))]
    pub vrid: i64,
    /// Seconds between adverts, 1..255; default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 255))]
    pub advert_interval: Option<i64>,
    /// Whether a director of higher priority takes the VIPs back when it returns; default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preempt: Option<bool>,
    /// Every director; this one is found by `--node NAME` or its hostname.
    pub nodes: Vec<HaNode>,
    /// Addresses to move besides every service VIP (a fwmark service lists its addresses here).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vips: Vec<String>,
}

/// A director of the pair.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HaNode {
    /// Its name (`--node NAME` or the hostname picks it).
    pub name: String,
    /// Its own address on `ha.interface`: VRRP adverts go between these.
    pub address: String,
    /// VRRP priority 1..254, unique: the highest that is up holds the VIPs.
    #[schemars(range(min = 1, max = 254))]
    pub priority: i64,
}

/// Global IPVS settings.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ipvs {
    /// Connection timeouts in seconds (`ipvsadm --set`); a timeout left out is not enforced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeouts: Option<Timeouts>,
    /// Connection synchronisation daemons (`ipvsadm --start-daemon`), so that a peer director
    /// knows the connections and can take them over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<Sync>,
    /// `net.ipv4.vs.*` settings; each is enforced only when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sysctls: Option<IpvsSysctls>,
}

/// IPVS connection sync daemons: a master sends this director's connections, a backup receives
/// a peer's. Settings left out are the kernel's defaults.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sync {
    /// The interface the sync messages go out and come in on (required), such as `eth1`.
    #[schemars(length(min = 1, max = 15))]
    pub interface: String,
    /// Sync id 0..255 (`--syncid`): directors of one pair share it. Default 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 255))]
    pub id: Option<i64>,
    /// The daemons to run: `master`, `backup`, or both (default), so either director can take over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(inner(regex(pattern = r"^(master|backup)$")))]
    pub roles: Option<Vec<String>>,
    /// IPv4 or IPv6 multicast group; default 224.0.0.81.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// UDP port 1..65535; default 8848.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<i64>,
    /// Multicast TTL 1..255; default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 255))]
    pub ttl: Option<i64>,
    /// Largest sync message in bytes (payload); default: what the interface's MTU allows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub maxlen: Option<i64>,
}

/// `net.ipv4.vs.*` kernel settings of the director, each enforced only when given.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IpvsSysctls {
    /// Keep netfilter connection tracking for IPVS connections (needed by NAT rules and
    /// stateful firewalls on the director).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conntrack: Option<bool>,
    /// Drop a connection at once when its real server is removed, instead of letting it time out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expire_nodest_conn: Option<bool>,
    /// Expire a persistence template when its real server's weight is 0 (drained).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expire_quiescent_template: Option<bool>,
    /// What a new connection on a reused client port does, a bitmap 0..3: 0 stays on the old
    /// real server, 1 (kernel default) reschedules when safe, 2 also in FIN_WAIT (helps DR).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 3))]
    pub conn_reuse_mode: Option<i64>,
    /// Accept a TCP connection midstream (any packet, not only SYN): lets a backup director
    /// take over connections it has not seen start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sloppy_tcp: Option<bool>,
    /// The same for SCTP: accept an association midstream.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sloppy_sctp: Option<bool>,
    /// Schedule ICMP packets (such as ping) to a VIP to a real server, instead of dropping them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_icmp: Option<bool>,
}

/// The director's own host setup.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Director {
    /// Interface on which lvsync puts every service VIP, as /32 (IPv4) or /128 (IPv6).
    /// Without it, lvsync adds no address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[^/\s:]{1,15}$"))]
    pub interface: Option<String>,
    /// IP forwarding (`net.ipv4.ip_forward`, and `net.ipv6.conf.all.forwarding` when a service
    /// or real server is IPv6). Default: `true` when a service forwards by `nat`, else not
    /// enforced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarding: Option<bool>,
}

/// IPVS connection timeouts, in seconds, 1..=2147483.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Timeouts {
    /// Established TCP connections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 2147483))]
    pub tcp: Option<i64>,
    /// TCP connections after a FIN was received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 2147483))]
    pub tcp_fin: Option<i64>,
    /// UDP "connections".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 2147483))]
    pub udp: Option<i64>,
}

/// A virtual service: `vip` + `port` + `protocol`, or a firewall mark (`fwmark` + `family`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Unique name; goes into plan output and the state dir.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9._-]{0,62}$"))]
    pub name: String,
    /// The virtual IP: an IPv4 or IPv6 address literal (not together with `fwmark`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vip: Option<String>,
    /// 1..65535; 0 means all ports and needs `persistence`. Required with `vip`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 65535))]
    pub port: Option<i64>,
    /// Default `tcp`. Only with `vip`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["tcp", "udp", "sctp"]))]
    pub protocol: Option<String>,
    /// A firewall-mark service instead of `vip`/`port`/`protocol`: 1..4294967295.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 4294967295u32))]
    pub fwmark: Option<i64>,
    /// Address family of a `fwmark` service: `ipv4` (default) or `ipv6`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["ipv4", "ipv6"]))]
    pub family: Option<String>,
    /// Scheduling algorithm; default `wlc`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos"]))]
    pub scheduler: Option<String>,
    /// Scheduler flags: `sh-fallback`, `sh-port` (only with `sh`), `mh-fallback`, `mh-port`
    /// (only with `mh`), `flag-1`, `flag-2`, `flag-3` (any scheduler).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(inner(regex(pattern = r"^(sh-fallback|sh-port|mh-fallback|mh-port|flag-[123])$")))]
    pub scheduler_flags: Vec<String>,
    /// Persistent connections: a client keeps its real server for `timeout` seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistence: Option<Persistence>,
    /// One-packet scheduling: schedule every UDP datagram on its own (UDP and fwmark services).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub one_packet: Option<bool>,
    /// Forwarding method, the default for the real servers: `dr` (default), `nat` or `tun`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["dr", "nat", "tun"]))]
    pub forward: Option<String>,
    /// Tunnel settings for `forward: tun`, the default for the real servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tunnel: Option<Tunnel>,
    /// Health checks: the default for the real servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Box<Health>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_healthy: Option<MinHealthy>,
    /// The sorry server, added while no real server is healthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<Fallback>,
    /// Seconds a real server that leaves the file keeps weight 0 while it has active
    /// connections before it is deleted; default 60; 0 deletes at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("maximum" = 604800))]
    pub drain_timeout: Option<Seconds>,
    /// The real servers; the file is their whole truth inside this service.
    #[serde(default)]
    pub real_servers: Vec<RealServer>,
}

/// Persistence (`ipvsadm -p`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Persistence {
    /// Seconds a client stays with its real server after its last connection; default 300.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 2147483))]
    pub timeout: Option<i64>,
    /// Clients grouped by this mask share a real server: an IPv4 netmask such as
    /// `255.255.255.0`, or for IPv6 a prefix length 1..128. Default: one client per address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netmask: Option<Netmask>,
    /// Persistence engine (`sip`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[a-z][a-z0-9_]{0,14}$"))]
    pub engine: Option<String>,
}

/// An IPv4 netmask (`255.255.255.0`) or an IPv6 prefix length (`64`), kept as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Netmask(pub String);

/// Tunnel settings (`forward: tun`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tunnel {
    /// `ipip` (default), `gue` (needs `port`) or `gre`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["ipip", "gue", "gre"]))]
    pub kind: Option<String>,
    /// UDP destination port of `gue`, 1..65535; only with `gue`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<i64>,
    /// Outer checksum: `none` (default), `csum` (gue, gre) or `remcsum` (gue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["none", "csum", "remcsum"]))]
    pub checksum: Option<String>,
}

/// A real server of a service, identified by `address` + `port`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RealServer {
    /// A unicast IPv4 or IPv6 address.
    pub address: String,
    /// 0..65535; default the service's port. With `dr` and `tun` it must equal the service's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 65535))]
    pub port: Option<i64>,
    /// Share of new connections, 0..2147483647, default 1; 0 takes no new connections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 2147483647))]
    pub weight: Option<i64>,
    /// Overrides the service's forwarding method: `dr`, `nat` or `tun`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["dr", "nat", "tun"]))]
    pub forward: Option<String>,
    /// Stop sending new connections above this many connections; 0 (default) = no limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 4294967295u32))]
    pub upper_threshold: Option<i64>,
    /// Resume below this many connections; 0 (default) = at 3/4 of `upper_threshold`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 4294967295u32))]
    pub lower_threshold: Option<i64>,
    /// Overrides the service's tunnel settings (with `forward: tun`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    // Boxed: rare, and a file of thousands of real servers holds them all at once.
    pub tunnel: Option<Box<Tunnel>>,
    /// Replaces the keys of the service's `health` that it names; `{check: none}`: no probes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<Box<Health>>,
}

/// A firewall intent: one rule in `LVSYNC-INPUT` or `LVSYNC-FORWARD`, commented `lvsync:<name>`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Unique name; becomes the rule's comment.
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9._-]{0,40}$"))]
    pub name: String,
    /// What to do with matching packets.
    #[schemars(extend("enum" = ["accept", "drop", "reject"]))]
    pub action: String,
    /// Match the named service: its VIP, protocol and port (a fwmark service: its mark).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Match this destination address or CIDR instead of a service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    /// Destination port 1..65535, with `protocol` (not with `service`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: Option<i64>,
    /// `tcp`, `udp` or `sctp` (not with `service`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["tcp", "udp", "sctp"]))]
    pub protocol: Option<String>,
    /// Source addresses or CIDRs; default: any source.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    /// `input` (default: traffic to the director itself, such as a VIP) or `forward` (traffic
    /// routed through it, such as NAT replies).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["input", "forward"]))]
    pub chain: Option<String>,
}

impl Serialize for Netmask {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0.parse::<u8>() {
            Ok(len) => serializer.serialize_u8(len),
            Err(_) => serializer.serialize_str(&self.0),
        }
    }
}

impl<'de> Deserialize<'de> for Netmask {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Netmask;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an IPv4 netmask such as 255.255.255.0 or an IPv6 prefix length 1..128")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Netmask, E> {
                Ok(Netmask(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Netmask, E> {
                Ok(Netmask(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Netmask, E> {
                Ok(Netmask(v.to_string()))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl JsonSchema for Netmask {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Netmask".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "An IPv4 netmask such as `255.255.255.0`, or an IPv6 prefix length 1..128.",
            "oneOf": [
                {"type": "string", "pattern": r"^[0-9]{1,3}(\.[0-9]{1,3}){3}$"},
                {"type": "integer", "minimum": 1, "maximum": 128}
            ]
        })
    }
}
