//! What a change to the file means, for a reviewer: `lvsync diff OLD NEW`. The kernel state of
//! both files goes through the same planner and renderers as `plan` (the old file's state plays
//! the live state, all of it lvsync's own); the settings that never reach the kernel (health)
//! are compared here, a layer above the planner, and shown as lines of their own. Pure: no
//! kernel, no root.

mod ha;
mod render;
mod settings;
#[cfg(test)]
mod tests;

pub use render::{json, render_markdown, render_text};
pub use settings::{Setting, SettingChange};

use std::collections::BTreeSet;

use crate::desired::desired;
use crate::model::Config;
use crate::plan::{self, Plan};
use crate::state::{Inventory, Overlays};

/// The difference between two files: kernel changes as a plan, and setting changes.
#[derive(Debug, Clone)]
pub struct Review {
    pub plan: Plan,
    pub settings: Vec<SettingChange>,
}

impl Review {
    pub fn is_empty(&self) -> bool {
        self.plan.is_empty() && self.settings.is_empty()
    }
}

/// Compare `old` with `new`: what applying `new` changes on a director where `old` was applied.
pub fn review(old: &Config, new: &Config) -> Review {
    let before = desired(old, &Overlays::default());
    let after = desired(new, &Overlays::default());
    // The old file was applied: its services and chains are lvsync's, so those `new` leaves
    // out are deleted, as they would be on the director.
    let inventory = Inventory {
        services: before.services.iter().map(|(k, s)| (*k, s.name.clone())).collect(),
        found: true,
        firewall: Some(before.chains.keys().map(|id| id.family).collect::<BTreeSet<_>>()),
        ..Default::default()
    };
    let mut plan = plan::plan(&after, &before, new.ownership, &inventory);
    drains_first(&mut plan, new);
    let mut settings = settings::diff(old, new);
    ha::diff(old, new, &mut settings);
    Review { plan, settings }
}

/// On a director, a real server that leaves the file is not deleted at once: it drains first
/// (weight 0 while it has active connections, up to its service's `drain_timeout`). A review
/// says so on the line, as `plan` does; so it does for the real servers of a service that
/// leaves.
fn drains_first(plan: &mut Plan, new: &Config) {
    use crate::plan::{Change, IpvsChange};
    use crate::state::health::DEFAULT_DRAIN_TIMEOUT;
    let timeouts = new.drain_timeouts();
    let mut service_left = false;
    for change in &plan.changes {
        match change {
            Change::Ipvs(IpvsChange::DeleteReal { service, key, .. }) => {
                let timeout = timeouts.get(service).copied().unwrap_or(DEFAULT_DRAIN_TIMEOUT);
                if timeout.is_zero() {
                    continue;
                }
                let reason = format!(
                    "on a director it drains first: weight 0 while it has active connections, at most drain_timeout {} s",
                    timeout.as_secs_f64()
                );
                plan.reasons.insert((*service, *key), reason);
            }
            Change::Ipvs(IpvsChange::DeleteService { before, .. }) if !before.reals.is_empty() => service_left = true,
            _ => {}
        }
    }
    if service_left {
        plan.notes.push(format!(
            "on a director, a service that leaves the file goes once its real servers have drained: weight 0 while they have active connections, at most {} s",
            DEFAULT_DRAIN_TIMEOUT.as_secs()
        ));
    }
}
