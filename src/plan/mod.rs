//! The planner: a pure diff of desired against observed state, producing the ordered changes
//! `apply` makes, and their rendering for people (text) and programs (JSON). No I/O here.
//!
//! Every domain (IPVS, firewall, ...) has a module here with its own change type, which
//! implements [`DomainChange`] (phase, action, kind, id, text line, JSON before/after) and a
//! planner function; [`Change`] is the enum over domains, dispatched with one arm per domain.

mod change;
pub mod firewall;
pub mod host;
pub mod ipvs;
mod json;
pub mod keepalived;
mod render;
pub mod sync;

pub use change::{Action, Change, Domain, DomainChange, Phase};
pub use firewall::ChainChange;
pub use host::{HostChange, HostPhase};
pub use ipvs::IpvsChange;
pub use json::{Object, PlanJson, json, render_json};
pub use keepalived::KeepalivedChange;
pub use render::{Paint, RenderOptions, render_text};
pub use sync::SyncChange;

#[cfg(test)]
mod memory;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use crate::state::{Inventory, Ownership, RealKey, ServiceKey, State};

/// What a domain's planner compares.
pub struct Input<'a> {
    pub desired: &'a State,
    pub observed: &'a State,
    pub ownership: Ownership,
    pub inventory: &'a Inventory,
}

/// Every domain's planner, in no particular order: the plan is put into phase order after.
/// A new domain adds its planner here.
const PLANNERS: [fn(&Input, &mut Plan); 5] = [ipvs::plan, firewall::plan, host::plan, sync::plan, keepalived::plan];

/// Plan the changes that make `observed` into `desired`, within `ownership`, in [`Phase`] order
/// (within a phase, in the order each domain's planner gives them).
pub fn plan(desired: &State, observed: &State, ownership: Ownership, inventory: &Inventory) -> Plan {
    let input = Input { desired, observed, ownership, inventory };
    let mut p = Plan::default();
    for planner in PLANNERS {
        planner(&input, &mut p);
    }
    // Stable, and over runs already in order: close to one pass.
    p.changes.sort_by_key(Change::phase);
    p
}

/// The services a plan touches (created, updated, deleted, or whose real servers change).
pub fn touched_services(changes: &[Change]) -> BTreeSet<ServiceKey> {
    changes.iter().filter_map(|c| c.info().service()).collect()
}

/// A service in the kernel that this file does not manage; `plan` lists it, nobody touches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmanaged {
    pub key: ServiceKey,
    pub reals: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    pub changes: Vec<Change>,
    pub unmanaged: Vec<Unmanaged>,
    /// Things the operator should know that are not changes (e.g. a lost inventory).
    pub notes: Vec<String>,
    /// The file's (or the inventory's) name of every service the plan mentions, for display.
    pub names: BTreeMap<ServiceKey, String>,
    /// Why a real server's change is not what the file alone asks for (a health verdict, a
    /// drain), shown after its line: `weight 1 -> 0 (health: down since 06:40:12, ...)`.
    pub reasons: BTreeMap<(ServiceKey, RealKey), String>,
    /// Real servers kept at weight 0 until idle or their deadline: shown, but not changes.
    pub draining: Vec<Draining>,
}

/// A real server draining after it left the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draining {
    pub service: ServiceKey,
    pub real: RealKey,
    /// Its active connections now; `None`: not known (not read).
    pub active: Option<u32>,
    /// Unix seconds.
    pub started: u64,
    pub deadline: u64,
    /// Seconds until its deadline.
    pub left: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.action() {
                Action::Create => s.create += 1,
                Action::Update => s.update += 1,
                Action::Delete => s.delete += 1,
            }
        }
        s
    }
}
