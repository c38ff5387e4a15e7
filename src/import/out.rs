//! The lvsync file an import writes: its own serde types in the file format's key order, so the
//! output reads like a hand-written file (defaults of the source tool spelled out, lvsync's own
//! defaults left out) and the same input always prints the same bytes.

use serde::{Serialize, Serializer};

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct File {
    pub version: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipvs: Option<Ipvs>,
    pub services: Vec<Service>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Ipvs {
    pub timeouts: Timeouts,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Timeouts {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tcp_fin: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub udp: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Service {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fwmark: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scheduler: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub scheduler_flags: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub persistence: Option<Persistence>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub one_packet: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forward: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tunnel: Option<Tunnel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fallback: Option<Fallback>,
    pub real_servers: Vec<RealServer>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Persistence {
    pub timeout: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netmask: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Tunnel {
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checksum: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Fallback {
    pub address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct RealServer {
    pub address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub forward: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upper_threshold: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lower_threshold: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tunnel: Option<Tunnel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health: Option<Health>,
}

/// A service's or real server's `health:` (SPEC: "Health checks, fallback and drain").
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Health {
    pub check: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<Seconds>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Seconds>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rise: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fall: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_failure: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<Http>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls: Option<Tls>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns: Option<Dns>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exec: Option<Exec>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Http {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Tls {
    pub verify: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Dns {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Exec {
    pub command: Vec<String>,
}

/// A duration in seconds: whole numbers print as integers (`5`), fractions as decimals (`0.5`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Seconds(pub f64);

impl Serialize for Seconds {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0.fract() == 0.0 && self.0 >= 0.0 && self.0 < 4e9 {
            serializer.serialize_u64(self.0 as u64)
        } else {
            serializer.serialize_f64(self.0)
        }
    }
}

impl File {
    /// The file as YAML, after a header that names where it came from.
    pub fn render(&self, source: &str) -> String {
        let options = serde_saphyr::ser_options! { indent_step: 2, compact_list_indent: false };
        // Only strings, numbers, booleans, lists and structs: serializing cannot fail.
        let body = serde_saphyr::to_string_with_options(self, options).unwrap_or_default();
        format!("# Imported by `lvsync import` from {source}.\n{body}")
    }

    /// Give every service a name from its identity, unique in the file, in file order.
    pub fn name_services(&mut self) {
        let mut used = std::collections::BTreeSet::new();
        for s in &mut self.services {
            let base = match (&s.vip, s.fwmark) {
                (Some(vip), _) => {
                    format!("{}-{}-{}", s.protocol.unwrap_or("tcp"), vip.replace(['.', ':'], "-"), s.port.unwrap_or(0))
                }
                (None, Some(mark)) if s.family == Some("ipv6") => format!("fwmark-{mark}-ipv6"),
                (None, Some(mark)) => format!("fwmark-{mark}"),
                (None, None) => "service".to_string(),
            };
            let mut name = base.clone();
            let mut n = 2;
            while !used.insert(name.clone()) {
                name = format!("{base}-{n}");
                n += 1;
            }
            s.name = name;
        }
    }
}

impl Service {
    /// A health check shared by every real server moves up to the service.
    pub fn hoist_health(&mut self) {
        let Some(first) = self.real_servers.first().and_then(|r| r.health.clone()) else { return };
        if self.real_servers.iter().all(|r| r.health.as_ref() == Some(&first)) {
            self.real_servers.iter_mut().for_each(|r| r.health = None);
            self.health = Some(first);
        }
    }

    /// A forwarding method shared by every real server moves up to the service.
    pub fn hoist_forward(&mut self) {
        let Some(first) = self.real_servers.first().map(|r| (r.forward, r.tunnel.clone())) else { return };
        if first.0.is_some() && self.real_servers.iter().all(|r| (r.forward, r.tunnel.clone()) == first) {
            self.real_servers.iter_mut().for_each(|r| {
                r.forward = None;
                r.tunnel = None;
            });
            self.forward = first.0;
            self.tunnel = first.1;
        }
    }
}
