//! Draining across one-shot commands (`plan`, `apply`, and `watch`'s first reconcile): a real
//! server that leaves the file, or every real server of a service that leaves it, first gets
//! weight 0 and is recorded in the inventory with its start and deadline; it is deleted once it
//! has no active connections, or at its deadline. Pure: the caller observes the kernel, reads
//! the active connections and the inventory, and hands in the time.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::drain::{Drain, Step};
use super::verdict::clock;
use crate::model::Config;
use crate::plan::{self, Change, Draining, IpvsChange};
use crate::state::health::DEFAULT_DRAIN_TIMEOUT;
use crate::state::{self, DrainRecord, Inventory, Overlays, Ownership, RealOf, RealServer, State};

/// A real server the kernel holds, lvsync would delete, and the file does not list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaving {
    pub at: RealOf,
    /// As the kernel holds it.
    pub real: RealServer,
    /// Its whole service leaves the file too.
    pub with_service: bool,
}

/// The real servers a plan from `observed` to `desired` deletes that the file (`file`: the
/// file's own state, without overlays) does not list. Real servers health removes
/// (`on_failure: remove`) are still in the file, so they go at once, as health decides.
pub fn leaving(
    desired: &State,
    observed: &State,
    ownership: Ownership,
    inventory: &Inventory,
    file: &State,
) -> Vec<Leaving> {
    let listed = |at: &RealOf| file.services.get(&at.0).is_some_and(|s| s.reals.contains_key(&at.1));
    leaving_in(&plan::plan(desired, observed, ownership, inventory).changes, listed)
}

/// The same, from a plan's changes already made; `listed` says whether the file lists a real
/// server (asked only of the real servers the plan deletes).
pub fn leaving_in(changes: &[Change], listed: impl Fn(&RealOf) -> bool) -> Vec<Leaving> {
    let mut out = Vec::new();
    for change in changes {
        match change {
            Change::Ipvs(IpvsChange::DeleteReal { service, key, before }) => {
                out.push(Leaving { at: (*service, *key), real: *before, with_service: false })
            }
            Change::Ipvs(IpvsChange::DeleteService { key, before, .. }) => {
                out.extend(before.reals.iter().map(|(rk, real)| Leaving {
                    at: (*key, *rk),
                    real: *real,
                    with_service: true,
                }))
            }
            _ => {}
        }
    }
    out.retain(|l| !listed(&l.at));
    out
}

/// The services whose active connections [`carry`] needs.
pub fn services_of(leaving: &[Leaving]) -> Vec<state::ServiceKey> {
    leaving.iter().map(|l| l.at.0).collect::<BTreeSet<_>>().into_iter().collect()
}

/// What the drains make of one command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Carry {
    /// `drains` (weight 0, kept although the file left them out) and `kept` (the services that
    /// left the file, until their last real server is drained): lay these over the file.
    pub overlays: Overlays,
    /// The drains to keep in the inventory: exactly those still under way.
    pub records: BTreeMap<RealOf, DrainRecord>,
    /// Why a real server goes to weight 0, or is deleted now: for the plan's lines.
    pub reasons: BTreeMap<RealOf, String>,
    /// Every drain under way, for the plan's "Draining" list and `status`.
    pub draining: Vec<Draining>,
}

/// Decide every leaving real server now. `records`: the drains the inventory holds; `conns`:
/// active connections as read from the kernel (`None`: they could not be read, so nothing is
/// taken for idle and only deadlines end drains); `observed`: the kernel, for the services that
/// left the file and are kept while they drain.
pub fn carry(
    config: &Config,
    leaving: &[Leaving],
    observed: &State,
    records: &BTreeMap<RealOf, DrainRecord>,
    conns: Option<&BTreeMap<RealOf, u32>>,
    now: SystemTime,
) -> Carry {
    let timeouts = config.drain_timeouts();
    let mut out = Carry::default();
    for l in leaving {
        let timeout = timeouts.get(&l.at.0).copied().unwrap_or(DEFAULT_DRAIN_TIMEOUT);
        // A record is this drain's only while the kernel still holds the real server at weight
        // 0; otherwise it is from an earlier life of the real server and a new drain starts.
        let recorded = records.get(&l.at).filter(|_| l.real.weight == 0);
        let drain = match recorded {
            Some(r) => Drain { started: r.started, deadline: r.deadline },
            None => Drain::start(now, timeout),
        };
        let active = conns.map(|c| c.get(&l.at).copied().unwrap_or(0));
        match drain.step(now, active.unwrap_or(1)) {
            // A real server that goes at once needs no reason: the file says so (and a plan
            // against a snapshot, which knows no connections, prints the same line).
            Step::Delete { reason } if recorded.is_some() => {
                out.reasons.insert(l.at, reason);
            }
            Step::Delete { .. } => {}
            Step::Hold { left, .. } => {
                let count = match active {
                    Some(1) => "1 active connection".to_string(),
                    Some(n) => format!("{n} active connections"),
                    None => "active connections unknown".to_string(),
                };
                let reason = format!(
                    "left the file: draining since {}, {count}, {} s left (drain_timeout {} s)",
                    clock(drain.started),
                    secs(left),
                    timeout.as_secs_f64()
                );
                if l.real.weight != 0 {
                    // A new drain (a recorded one is at weight 0): no clock in the reason, so
                    // that a saved plan still matches when it is applied.
                    let starts = format!(
                        "left the file: draining, {count}; deleted when idle or after drain_timeout {} s",
                        timeout.as_secs_f64()
                    );
                    out.reasons.insert(l.at, starts);
                }
                let d = state::Drain { real: l.real, until: drain.deadline, reason };
                out.overlays.drains.insert(l.at, d);
                if l.with_service
                    && let Some(svc) = observed.services.get(&l.at.0)
                {
                    out.overlays.kept.entry(l.at.0).or_insert_with(|| svc.clone());
                }
                out.records.insert(l.at, DrainRecord { started: drain.started, deadline: drain.deadline });
                out.draining.push(Draining {
                    service: l.at.0,
                    real: l.at.1,
                    active,
                    started: unix(drain.started),
                    deadline: unix(drain.deadline),
                    left: secs(left),
                });
            }
        }
    }
    out
}

fn secs(d: Duration) -> u64 {
    d.as_secs_f64().ceil() as u64
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}
