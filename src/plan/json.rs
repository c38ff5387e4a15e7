//! SPEC's JSON form of a plan, as typed values serialized straight to the output: at tens of
//! thousands of changes, building a `serde_json::Value` tree first costs more than the plan.

use serde::Serialize;

use super::Plan;
use super::firewall::ChainJson;
use super::host::HostJson;
use super::ipvs::IpvsObject;
use super::keepalived::KeepalivedJson;
use super::sync::SyncJson;

/// `{"format_version": "1", "changes": [...], "summary": {...}}`, with the unmanaged services
/// and notes added (and, after an apply, the number of kernel writes).
#[derive(Serialize)]
pub struct PlanJson<'a> {
    format_version: &'static str,
    changes: Vec<ChangeJson<'a>>,
    summary: SummaryJson,
    unmanaged: Vec<UnmanagedJson>,
    notes: &'a [String],
    /// Real servers draining (not changes); absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    draining: Vec<DrainingJson>,
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
    /// Why a real server's change differs from the file alone (health, drain).
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

#[derive(Serialize)]
struct DrainingJson {
    service: String,
    real_server: String,
    /// `null`: not read.
    active_connections: Option<u32>,
    /// Unix seconds.
    started: u64,
    deadline: u64,
    left_s: u64,
}

/// A change's `before` or `after`: one variant per domain, each its domain's own type.
#[derive(Serialize)]
#[serde(untagged)]
pub enum Object<'a> {
    Ipvs(IpvsObject<'a>),
    Firewall(ChainJson),
    Sync(SyncJson<'a>),
    Keepalived(KeepalivedJson<'a>),
    Host(HostJson<'a>),
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

pub fn json(plan: &Plan) -> PlanJson<'_> {
    let changes = plan
        .changes
        .iter()
        .map(|c| {
            let reason = real_of(c).and_then(|at| plan.reasons.get(&at)).map(String::as_str);
            let c = c.info();
            let (before, after) = c.json(plan);
            ChangeJson { action: c.action().as_str(), kind: c.kind(), id: c.id(), before, after, reason }
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
        draining: plan
            .draining
            .iter()
            .map(|d| DrainingJson {
                service: d.service.to_string(),
                real_server: d.real.to_string(),
                active_connections: d.active,
                started: d.started,
                deadline: d.deadline,
                left_s: d.left,
            })
            .collect(),
        kernel_writes: None,
    }
}

/// The same as a JSON value (for saved plans, which compare them).
pub fn render_json(plan: &Plan) -> serde_json::Value {
    serde_json::to_value(json(plan)).expect("plan JSON serializes")
}

/// The real server an IPVS real-server change is about.
fn real_of(c: &super::Change) -> Option<(crate::state::ServiceKey, crate::state::RealKey)> {
    use super::IpvsChange::{CreateReal, DeleteReal, UpdateReal};
    match c {
        super::Change::Ipvs(
            CreateReal { service, key, .. } | UpdateReal { service, key, .. } | DeleteReal { service, key, .. },
        ) => Some((*service, *key)),
        _ => None,
    }
}
