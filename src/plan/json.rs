//! SPEC's JSON form of a plan, as typed values serialized straight to the output: at tens of
//! thousands of changes, building a `serde_json::Value` tree first costs more than the plan.

use serde::Serialize;

use super::render::checksum_name;
use super::{Change, Plan};
use crate::state::{Chain, ChainId, Forward, RealKey, RealServer, ServiceAttrs, ServiceKey, Timeouts, TunnelType};

/// `{"format_version": "1", "changes": [...], "summary": {...}}`, with the unmanaged services
/// and notes added (and, after an apply, the number of kernel writes).
#[derive(Serialize)]
pub struct PlanJson<'a> {
    format_version: &'static str,
    changes: Vec<ChangeJson<'a>>,
    summary: SummaryJson,
    unmanaged: Vec<UnmanagedJson>,
    notes: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel_writes: Option<usize>,
}

#[derive(Serialize)]
struct ChangeJson<'a> {
    action: &'static str,
    kind: &'static str,
    id: String,
    before: Option<Object<'a>>,
    after: Option<Object<'a>>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Object<'a> {
    Service(ServiceJson<'a>),
    Real(RealJson<'a>),
    Timeouts(TimeoutsJson),
    Chain(ChainJson),
}

#[derive(Serialize)]
struct SummaryJson {
    create: usize,
    update: usize,
    delete: usize,
}

#[derive(Serialize)]
struct UnmanagedJson {
    id: String,
    real_servers: usize,
}

#[derive(Serialize)]
struct ServiceJson<'a> {
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    vip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    protocol: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fwmark: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    family: Option<String>,
    scheduler: &'a str,
    scheduler_flags: Vec<String>,
    persistence: Option<PersistenceJson<'a>>,
    one_packet: bool,
    /// Only for a deleted service: the real servers that go with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    real_servers: Option<Vec<RealJson<'a>>>,
}

#[derive(Serialize)]
struct PersistenceJson<'a> {
    timeout: u32,
    netmask: String,
    engine: Option<&'a str>,
}

#[derive(Serialize)]
struct RealJson<'a> {
    address: String,
    port: u16,
    weight: u32,
    forward: &'static str,
    tunnel: Option<TunnelJson>,
    upper_threshold: u32,
    lower_threshold: u32,
    /// The owning service, except inside a deleted service's list.
    #[serde(skip_serializing_if = "Option::is_none")]
    service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_name: Option<Option<&'a str>>,
}

#[derive(Serialize)]
struct TunnelJson {
    #[serde(rename = "type")]
    kind: &'static str,
    port: Option<u16>,
    checksum: &'static str,
}

#[derive(Serialize)]
struct TimeoutsJson {
    tcp: Option<u32>,
    tcp_fin: Option<u32>,
    udp: Option<u32>,
}

#[derive(Serialize)]
struct ChainJson {
    family: String,
    chain: &'static str,
    jump: bool,
    rules: Vec<String>,
}

pub fn json(plan: &Plan) -> PlanJson<'_> {
    let changes = plan
        .changes
        .iter()
        .map(|c| {
            let (before, after) = match c {
                Change::CreateService { key, name, attrs } => (None, Some(service(key, name.as_deref(), attrs))),
                Change::UpdateService { key, name, before, after } => {
                    (Some(service(key, name.as_deref(), before)), Some(service(key, name.as_deref(), after)))
                }
                Change::DeleteService { key, name, before } => {
                    let mut s = ServiceJson::of(key, name.as_deref(), &before.attrs);
                    s.real_servers = Some(before.reals.iter().map(|(k, r)| RealJson::of(k, r)).collect());
                    (Some(Object::Service(s)), None)
                }
                Change::CreateReal { service, key, real } => (None, Some(owned_real(plan, service, key, real))),
                Change::UpdateReal { service, key, before, after } => {
                    (Some(owned_real(plan, service, key, before)), Some(owned_real(plan, service, key, after)))
                }
                Change::DeleteReal { service, key, before } => (Some(owned_real(plan, service, key, before)), None),
                Change::SetTimeouts { before, after } => (Some(timeouts(before)), Some(timeouts(after))),
                Change::ReplaceChain { id, before, after } => {
                    (before.as_ref().map(|c| chain(id, c)), after.as_ref().map(|c| chain(id, c)))
                }
            };
            ChangeJson { action: c.action().as_str(), kind: c.kind(), id: c.id(), before, after }
        })
        .collect();
    let s = plan.summary();
    PlanJson {
        format_version: "1",
        changes,
        summary: SummaryJson { create: s.create, update: s.update, delete: s.delete },
        unmanaged: plan
            .unmanaged
            .iter()
            .map(|u| UnmanagedJson { id: u.key.to_string(), real_servers: u.reals })
            .collect(),
        notes: &plan.notes,
        kernel_writes: None,
    }
}

/// The same as a JSON value (for saved plans, which compare them).
pub fn render_json(plan: &Plan) -> serde_json::Value {
    serde_json::to_value(json(plan)).expect("plan JSON serializes")
}

fn service<'a>(key: &ServiceKey, name: Option<&'a str>, a: &'a ServiceAttrs) -> Object<'a> {
    Object::Service(ServiceJson::of(key, name, a))
}

impl<'a> ServiceJson<'a> {
    fn of(key: &ServiceKey, name: Option<&'a str>, a: &'a ServiceAttrs) -> ServiceJson<'a> {
        let (mut vip, mut port, mut protocol, mut fwmark, mut family) = (None, None, None, None, None);
        match key {
            ServiceKey::Addr { protocol: p, vip: v, port: n } => {
                (vip, port, protocol) = (Some(v.to_string()), Some(*n), Some(p.as_str()));
            }
            ServiceKey::Fwmark { family: f, mark } => (fwmark, family) = (Some(*mark), Some(f.to_string())),
        }
        ServiceJson {
            name,
            vip,
            port,
            protocol,
            fwmark,
            family,
            scheduler: a.scheduler.name(),
            scheduler_flags: a.sched_flags.names(&a.scheduler),
            persistence: a.persistence.as_ref().map(|p| PersistenceJson {
                timeout: p.timeout,
                netmask: p.netmask.to_string(),
                engine: p.engine.as_deref(),
            }),
            one_packet: a.one_packet,
            real_servers: None,
        }
    }
}

impl RealJson<'_> {
    fn of(key: &RealKey, r: &RealServer) -> Self {
        let tunnel = match &r.forward {
            Forward::Tun(t) => {
                let (kind, port) = match t.kind {
                    TunnelType::Ipip => ("ipip", None),
                    TunnelType::Gue { port } => ("gue", Some(port)),
                    TunnelType::Gre => ("gre", None),
                };
                Some(TunnelJson { kind, port, checksum: checksum_name(t.checksum) })
            }
            _ => None,
        };
        RealJson {
            address: key.address.to_string(),
            port: key.port,
            weight: r.weight,
            forward: r.forward.name(),
            tunnel,
            upper_threshold: r.upper_threshold,
            lower_threshold: r.lower_threshold,
            service: None,
            service_name: None,
        }
    }
}

fn owned_real<'a>(plan: &'a Plan, service: &ServiceKey, key: &RealKey, r: &RealServer) -> Object<'a> {
    let mut j = RealJson::of(key, r);
    j.service = Some(service.to_string());
    j.service_name = Some(plan.names.get(service).map(String::as_str));
    Object::Real(j)
}

fn timeouts(t: &Timeouts) -> Object<'static> {
    Object::Timeouts(TimeoutsJson { tcp: t.tcp, tcp_fin: t.tcp_fin, udp: t.udp })
}

fn chain(id: &ChainId, c: &Chain) -> Object<'static> {
    Object::Chain(ChainJson {
        family: id.family.to_string(),
        chain: id.chain_name(),
        jump: c.jump,
        rules: c.rules.iter().map(|r| format!("-A {} {r}", id.chain_name())).collect(),
    })
}
