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
            let c = c.info();
            let (before, after) = c.json(plan);
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
