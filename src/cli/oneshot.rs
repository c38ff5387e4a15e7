//! What `plan` and `apply` want besides the file: the health verdicts `watch` left in the state
//! dir (a real server found down stays out), and the drains of real servers that left the file
//! (weight 0 until idle or their deadline, kept in the inventory between runs).

use std::collections::BTreeMap;
use std::time::SystemTime;

use crate::desired::{desired, for_role};
use crate::director::{Director, Options};
use crate::health::{advice, oneshot, pool};
use crate::model::Config;
use crate::plan::{Draining, Plan};
use crate::state::{DrainRecord, Overlays, RealOf, State};
use crate::watch::{status, stored};

pub(super) struct Wanted {
    pub desired: State,
    pub notes: Vec<String>,
    /// Why real servers differ from the file, and the drains under way: for the plan.
    pub reasons: BTreeMap<RealOf, String>,
    pub draining: Vec<Draining>,
    /// The drains to keep in the inventory (`None` on a real server: nothing drains there).
    pub records: Option<BTreeMap<RealOf, DrainRecord>>,
}

impl Wanted {
    pub fn annotate(&self, plan: &mut Plan) {
        plan.notes.extend(self.notes.iter().cloned());
        plan.reasons.extend(self.reasons.iter().map(|(k, v)| (*k, v.clone())));
        plan.draining.extend(self.draining.iter().cloned());
    }
}

/// The desired state of this host's role, with the stored verdicts and the drains laid over it.
pub(super) fn wanted(director: &mut Director, g: &Options, config: &Config) -> anyhow::Result<Wanted> {
    let facts = director.real_server_facts()?;
    if facts.is_some() {
        let (desired, notes) = for_role(config, &Overlays::default(), facts.as_ref());
        let (reasons, draining) = (BTreeMap::new(), Vec::new());
        return Ok(Wanted { desired, notes, reasons, draining, records: None });
    }
    let now = SystemTime::now();
    let mut notes = advice::warnings(config);
    let verdicts = match status::load(&g.state_dir) {
        Ok(status::Loaded::Record(record)) => {
            let (verdicts, note) = stored::verdicts(config, &record, now);
            notes.extend(note);
            verdicts
        }
        Ok(_) => Default::default(),
        Err(err) => {
            notes.push(format!(
                "the health verdicts in the state dir cannot be read ({}); planning without them",
                crate::error_chain::error_chain(&err)
            ));
            Default::default()
        }
    };
    let mut overlays = pool::state_overlays(config, &verdicts);
    let mut reasons: BTreeMap<RealOf, String> = overlays.weights.iter().map(|(k, w)| (*k, w.reason.clone())).collect();
    reasons.extend(overlays.removed.iter().map(|(k, r)| (*k, r.clone())));
    reasons.extend(overlays.added.iter().map(|(k, a)| (*k, a.reason.clone())));

    let inventory = director.inventory()?;
    let observed = director.observe_ipvs()?;
    let without_drains = desired(config, &overlays);
    let leaving = oneshot::leaving(&without_drains, &observed, config.ownership, &inventory, &config.state());
    let conns = if leaving.is_empty() { Some(BTreeMap::new()) } else { active_conns(&oneshot::services_of(&leaving)) };
    if conns.is_none() {
        notes.push(
            "the active connections of real servers that left the file cannot be read: they drain until their deadline"
                .into(),
        );
    }
    let carry = oneshot::carry(config, &leaving, &observed, &inventory.drains, conns.as_ref(), now);
    overlays.drains = carry.overlays.drains;
    overlays.kept = carry.overlays.kept;
    reasons.extend(carry.reasons);
    Ok(Wanted {
        desired: desired(config, &overlays),
        notes,
        reasons,
        draining: carry.draining,
        records: Some(carry.records),
    })
}

/// Active connections from the kernel, on a netlink socket of their own; `None` (logged) when
/// they cannot be read.
fn active_conns(services: &[crate::state::ServiceKey]) -> Option<BTreeMap<RealOf, u32>> {
    let read = crate::ipvs::IpvsBackend::connect().and_then(|mut ipvs| ipvs.active_conns(services));
    match read {
        Ok(conns) => Some(conns),
        Err(err) => {
            tracing::warn!(error = %crate::error_chain::error_chain(&err), "cannot read the active connections");
            None
        }
    }
}
