//! From verdicts to what the kernel should hold: per service, which real servers are taken out
//! (`quiesce` or `remove`), which are kept in by `min_healthy`, and whether the fallback is
//! there. Pure: the result feeds the desired-state overlay.

use std::collections::{BTreeMap, HashMap};

use super::spec::{OnFailure, ServiceHealth, Target};
use super::verdict::{State, Verdict, clock};
use crate::model::Config;
use crate::state::{self, RealKey, RealServer};

/// How the kernel should differ from the file for one real server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// This weight instead of the file's (0: quiesced, or draining).
    Weight(u32),
    /// Not in the kernel, although the file lists it.
    Remove,
    /// In the kernel, although the file does not list it (the fallback).
    Add(RealServer),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub action: Action,
    /// `health: down since 10:02:11, http: connect refused`: what `plan` prints.
    pub reason: String,
}

/// The overrides of one service, and the down real servers `min_healthy` keeps in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceOverlay {
    pub overrides: BTreeMap<RealKey, Override>,
    /// Down, but kept in: why.
    pub held: BTreeMap<RealKey, String>,
}

/// Every service's overlay, by service name.
pub type Overlays = BTreeMap<String, ServiceOverlay>;

/// The verdicts of all targets, as the prober keeps them.
pub type Verdicts = HashMap<Target, Verdict>;

/// Every service of `config` with health settings, against `verdicts`.
pub fn overlays(config: &Config, verdicts: &Verdicts) -> Overlays {
    let mut out = Overlays::new();
    for s in &config.services {
        let o = service_overlay(&s.name, &s.health, &s.service.reals, verdicts);
        if o != ServiceOverlay::default() {
            out.insert(s.name.clone(), o);
        }
    }
    out
}

/// The same, as the desired state's overlays (by service key): what `desired()` lays over the
/// file. Down real servers that `min_healthy` keeps in are not overlaid.
pub fn state_overlays(config: &Config, verdicts: &Verdicts) -> state::Overlays {
    let mut out = state::Overlays::default();
    for s in &config.services {
        let o = service_overlay(&s.name, &s.health, &s.service.reals, verdicts);
        for (real, Override { action, reason }) in o.overrides {
            let at = (s.key, real);
            match action {
                Action::Weight(weight) => {
                    out.weights.insert(at, state::WeightOverride { weight, reason });
                }
                Action::Remove => {
                    out.removed.insert(at, reason);
                }
                Action::Add(real) => {
                    out.added.insert(at, state::Added { real, reason });
                }
            }
        }
    }
    out
}

/// One service: `reals` are its real servers as the file says.
pub fn service_overlay(
    name: &str,
    health: &ServiceHealth,
    reals: &BTreeMap<RealKey, RealServer>,
    verdicts: &Verdicts,
) -> ServiceOverlay {
    let mut out = ServiceOverlay::default();
    let verdict = |key: &RealKey| {
        let check = health.checks.get(key)?;
        verdicts.get(&check.target).map(|v| (check, v))
    };
    let mut down: Vec<(&RealKey, &RealServer)> =
        reals.iter().filter(|(k, _)| verdict(k).is_some_and(|(_, v)| v.state == State::Down)).collect();
    // The longest down go first: a verdict that just flipped is the one `min_healthy` holds.
    down.sort_by_key(|(k, _)| verdict(k).map(|(_, v)| v.since));

    let required = health.min_healthy.of(reals.len());
    let mut serving = reals.values().filter(|r| r.weight > 0).count();
    for (key, real) in down {
        let Some((check, v)) = verdict(key) else { continue };
        let reason = format!("health: {}", v.describe(&check.target));
        let takes_one = real.weight > 0;
        if takes_one && serving <= required {
            out.held.insert(
                *key,
                format!("{reason}; kept in: min_healthy {} of {} real servers", health.min_healthy, reals.len()),
            );
            continue;
        }
        if takes_one {
            serving -= 1;
        }
        let action = match check.on_failure {
            OnFailure::Quiesce if real.weight == 0 => continue,
            OnFailure::Quiesce => Action::Weight(0),
            OnFailure::Remove => Action::Remove,
        };
        out.overrides.insert(*key, Override { action, reason });
    }

    let healthy =
        reals.iter().filter(|(k, r)| r.weight > 0 && verdict(k).is_none_or(|(_, v)| v.state == State::Up)).count();
    if let (0, Some((key, real))) = (healthy, &health.fallback) {
        let since =
            reals.keys().filter_map(|k| verdict(k).filter(|(_, v)| v.state == State::Down).map(|(_, v)| v.since)).max();
        let reason = match since {
            Some(t) => format!("fallback: no real server of {name} is healthy since {}", clock(t)),
            None => format!("fallback: no real server of {name} takes traffic"),
        };
        out.overrides.insert(*key, Override { action: Action::Add(*real), reason });
    }
    out
}

#[cfg(test)]
#[path = "pool_tests.rs"]
mod tests;
