//! Overlays: what changes the desired state besides the file. Health checking fills them (a
//! real server found down gets weight 0; one being drained is kept at weight 0 until its
//! deadline); [`Overlays::apply`] lays them over the file's state. Empty overlays change
//! nothing.

use std::collections::BTreeMap;
use std::time::SystemTime;

use super::{RealKey, RealServer, Service, ServiceKey, State};

/// A real server of a service.
pub type RealOf = (ServiceKey, RealKey);

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Overlays {
    /// Weights that replace the file's, each with the reason a person is shown
    /// (`health: down since 2026-12-01T03:10:00Z`). A real server the file does not have is
    /// not added.
    pub weights: BTreeMap<RealOf, WeightOverride>,
    /// Real servers being drained: kept (even when the file no longer has them) at weight 0,
    /// so that their connections finish, until the deadline. Whoever keeps the overlays drops
    /// a drain once its deadline has passed.
    pub drains: BTreeMap<RealOf, Drain>,
    /// Real servers the file lists but the kernel should not hold (health: `on_failure: remove`),
    /// each with its reason.
    pub removed: BTreeMap<RealOf, String>,
    /// Real servers the file does not list but the kernel should hold (the fallback while no
    /// real server of its service is healthy).
    pub added: BTreeMap<RealOf, Added>,
    /// Services that left the file but stay in the kernel (as observed, with no real servers of
    /// their own) while their real servers drain; `drains` holds those.
    pub kept: BTreeMap<ServiceKey, Service>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Added {
    pub real: RealServer,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeightOverride {
    pub weight: u32,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drain {
    /// The real server as it was before draining (its weight is set to 0 here).
    pub real: RealServer,
    pub until: SystemTime,
    pub reason: String,
}

impl Overlays {
    pub fn is_empty(&self) -> bool {
        self.weights.is_empty()
            && self.drains.is_empty()
            && self.removed.is_empty()
            && self.added.is_empty()
            && self.kept.is_empty()
    }

    /// The services whose overlays differ between `self` and `other`: what a change of
    /// overlays needs reconciled.
    pub fn services_differing(&self, other: &Overlays) -> std::collections::BTreeSet<ServiceKey> {
        fn diff<V: PartialEq>(
            a: &BTreeMap<RealOf, V>,
            b: &BTreeMap<RealOf, V>,
            out: &mut std::collections::BTreeSet<ServiceKey>,
        ) {
            for (k, v) in a {
                if b.get(k) != Some(v) {
                    out.insert(k.0);
                }
            }
            for k in b.keys() {
                if !a.contains_key(k) {
                    out.insert(k.0);
                }
            }
        }
        let mut out = std::collections::BTreeSet::new();
        diff(&self.weights, &other.weights, &mut out);
        diff(&self.drains, &other.drains, &mut out);
        diff(&self.removed, &other.removed, &mut out);
        diff(&self.added, &other.added, &mut out);
        for key in self.kept.keys().chain(other.kept.keys()) {
            if self.kept.get(key) != other.kept.get(key) {
                out.insert(*key);
            }
        }
        out
    }

    /// Lay the overlays over `state`: drains first (weight 0), then weight overrides (which a
    /// drain's weight 0 beats), removals and additions. Only services `state` has (or `kept`
    /// adds) are touched.
    pub fn apply(&self, state: &mut State) {
        for (key, svc) in &self.kept {
            state.services.entry(*key).or_insert_with(|| Service { reals: BTreeMap::new(), ..svc.clone() });
        }
        for ((service, key), added) in &self.added {
            if let Some(svc) = state.services.get_mut(service) {
                svc.reals.entry(*key).or_insert(added.real);
            }
        }
        for ((service, key), drain) in &self.drains {
            if let Some(svc) = state.services.get_mut(service) {
                let real = svc.reals.entry(*key).or_insert(drain.real);
                real.weight = 0;
            }
        }
        for ((service, key), over) in &self.weights {
            if self.drains.contains_key(&(*service, *key)) {
                continue;
            }
            if let Some(real) = state.services.get_mut(service).and_then(|s| s.reals.get_mut(key)) {
                real.weight = over.weight;
            }
        }
        for (service, key) in self.removed.keys() {
            if self.drains.contains_key(&(*service, *key)) {
                continue;
            }
            if let Some(svc) = state.services.get_mut(service) {
                svc.reals.remove(key);
            }
        }
    }

    /// One line per overlay in effect, for the notes of a plan.
    pub fn notes(&self) -> Vec<String> {
        let weights = self.weights.iter().filter(|(k, _)| !self.drains.contains_key(k));
        let weights = weights.map(|((s, r), o)| format!("real server {r} of {s} at weight {}: {}", o.weight, o.reason));
        let drains = self.drains.iter().map(|((s, r), d)| format!("real server {r} of {s} draining: {}", d.reason));
        let removed = self.removed.iter().map(|((s, r), why)| format!("real server {r} of {s} left out: {why}"));
        let added = self.added.iter().map(|((s, r), a)| format!("real server {r} of {s} added: {}", a.reason));
        weights.chain(drains).chain(removed).chain(added).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Forward, Protocol, Service, ServiceAttrs};

    fn state() -> (State, ServiceKey, RealKey) {
        let key = ServiceKey::Addr { protocol: Protocol::Tcp, vip: "10.0.0.1".parse().unwrap(), port: 80 };
        let rk = RealKey { address: "10.0.1.1".parse().unwrap(), port: 80 };
        let real = RealServer { weight: 5, forward: Forward::Dr, upper_threshold: 0, lower_threshold: 0 };
        let svc = Service { name: None, attrs: ServiceAttrs::default(), reals: [(rk, real)].into() };
        (State { services: [(key, svc)].into(), ..State::default() }, key, rk)
    }

    #[test]
    fn empty_overlays_change_nothing() {
        let (mut s, ..) = state();
        let before = s.clone();
        Overlays::default().apply(&mut s);
        assert_eq!(s, before);
    }

    #[test]
    fn a_weight_override_replaces_the_weight_and_a_drain_keeps_a_removed_real_at_zero() {
        let (mut s, key, rk) = state();
        let mut o = Overlays::default();
        o.weights.insert((key, rk), WeightOverride { weight: 0, reason: "health: down".into() });
        o.apply(&mut s);
        assert_eq!(s.services[&key].reals[&rk].weight, 0);
        assert_eq!(o.notes(), ["real server 10.0.1.1:80 of tcp/10.0.0.1:80 at weight 0: health: down"]);

        let (mut s, key, rk) = state();
        let real = s.services.get_mut(&key).unwrap().reals.remove(&rk).unwrap();
        let mut o = Overlays::default();
        o.drains.insert((key, rk), Drain { real, until: SystemTime::UNIX_EPOCH, reason: "removed".into() });
        o.apply(&mut s);
        assert_eq!(s.services[&key].reals[&rk], RealServer { weight: 0, ..real });
    }
}
