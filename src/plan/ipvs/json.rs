//! SPEC's JSON objects of IPVS changes.

use serde::Serialize;

use super::IpvsChange;
use crate::plan::{Object, Plan};
use crate::state::{Forward, RealKey, RealServer, ServiceAttrs, ServiceKey, Timeouts};

/// The `before`/`after` of an IPVS change.
#[derive(Serialize)]
#[serde(untagged)]
pub enum IpvsObject<'a> {
    Service(ServiceJson<'a>),
    Real(RealJson<'a>),
    Timeouts(TimeoutsJson),
}

#[derive(Serialize)]
pub struct ServiceJson<'a> {
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
pub struct RealJson<'a> {
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
pub struct TimeoutsJson {
    tcp: Option<u32>,
    tcp_fin: Option<u32>,
    udp: Option<u32>,
}

pub(super) fn before_after<'a>(c: &'a IpvsChange, plan: &'a Plan) -> (Option<Object<'a>>, Option<Object<'a>>) {
    match c {
        IpvsChange::CreateService { key, name, attrs } => (None, Some(service(key, name.as_deref(), attrs))),
        IpvsChange::UpdateService { key, name, before, after } => {
            (Some(service(key, name.as_deref(), before)), Some(service(key, name.as_deref(), after)))
        }
        IpvsChange::DeleteService { key, name, before } => {
            let mut s = ServiceJson::of(key, name.as_deref(), &before.attrs);
            s.real_servers = Some(before.reals.iter().map(|(k, r)| RealJson::of(k, r)).collect());
            (Some(Object::Ipvs(IpvsObject::Service(s))), None)
        }
        IpvsChange::CreateReal { service, key, real } => (None, Some(owned_real(plan, service, key, real))),
        IpvsChange::UpdateReal { service, key, before, after } => {
            (Some(owned_real(plan, service, key, before)), Some(owned_real(plan, service, key, after)))
        }
        IpvsChange::DeleteReal { service, key, before } => (Some(owned_real(plan, service, key, before)), None),
        IpvsChange::SetTimeouts { before, after } => (Some(timeouts(before)), Some(timeouts(after))),
    }
}

fn service<'a>(key: &ServiceKey, name: Option<&'a str>, a: &'a ServiceAttrs) -> Object<'a> {
    Object::Ipvs(IpvsObject::Service(ServiceJson::of(key, name, a)))
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
                Some(TunnelJson { kind: t.kind.name(), port: t.kind.port(), checksum: t.checksum.name() })
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
    Object::Ipvs(IpvsObject::Real(j))
}

fn timeouts(t: &Timeouts) -> Object<'static> {
    Object::Ipvs(IpvsObject::Timeouts(TimeoutsJson { tcp: t.tcp, tcp_fin: t.tcp_fin, udp: t.udp }))
}
