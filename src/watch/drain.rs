//! Draining inside `watch`: a real server that leaves the file while it has active connections
//! is kept at weight 0 (an overlay) and deleted once they reach 0 or its service's
//! `drain_timeout` passes; an idle one, or one with `drain_timeout: 0`, goes at once. The
//! connection counts come from the kernel through [`ConnsOf`]; every decision is in
//! [`crate::health::drain::Drain`].

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant, SystemTime};

use tracing::{info, warn};

use crate::health::drain::{Drain, Step};
use crate::health::oneshot::Carry;
use crate::model::{Config, ServiceSpec};
use crate::state::{self, Overlays, RealKey, RealOf, RealServer, Service, ServiceKey};

/// The active connections of the real servers of these services, or why they cannot be read.
pub type ConnsOf = Box<dyn FnMut(&[ServiceKey]) -> Result<BTreeMap<RealOf, u32>, String> + Send>;

/// How often the connections of draining real servers are read: an idle one goes within this.
pub const CHECK_EVERY: Duration = Duration::from_secs(1);

struct Entry {
    real: RealServer,
    drain: Drain,
    reason: String,
    /// Its service, when that left the file too: kept until its last real server is drained.
    kept: Option<Service>,
}

/// Draining in `watch`: how to read the connections, and the drains found at start (real
/// servers that left the file while `watch` was not running, and those a one-shot `apply`
/// left draining).
pub struct Setup {
    pub conns: ConnsOf,
    pub seed: Carry,
}

pub struct Draining {
    reals: BTreeMap<RealOf, Entry>,
    conns: ConnsOf,
    next_check: Option<Instant>,
}

impl Draining {
    pub fn new(conns: ConnsOf) -> Draining {
        Draining { reals: BTreeMap::new(), conns, next_check: None }
    }

    /// `next` replaces `prev`: real servers that leave a service still in the file start
    /// draining if they are busy; drains of real servers back in the file, or of services
    /// gone, end.
    pub fn leaving(&mut self, prev: &Config, next: &Config, now: SystemTime) {
        let next_reals = next.reals_by_service();
        self.reals.retain(|(s, r), _| next_reals.get(s).is_none_or(|reals| !reals.contains_key(r)));
        self.start(prev.services.iter(), &next_reals, now);
    }

    /// [`Draining::leaving`] when only one service changed, from `prev` to `next` (the same
    /// service): its cost does not grow with the file.
    pub fn leaving_one(&mut self, prev: &ServiceSpec, next: &ServiceSpec, now: SystemTime) {
        let next_reals = BTreeMap::from([(next.key, &next.service.reals)]);
        self.reals.retain(|(s, r), _| *s != next.key || !next.service.reals.contains_key(r));
        self.start(std::iter::once(prev), &next_reals, now);
    }

    /// Start draining the busy real servers of `prev` that `next_reals` (by service) lacks; a
    /// service missing from `next_reals` left the file and is kept while they drain.
    fn start<'a>(
        &mut self,
        prev: impl Iterator<Item = &'a ServiceSpec>,
        next_reals: &BTreeMap<ServiceKey, &BTreeMap<RealKey, RealServer>>,
        now: SystemTime,
    ) {
        let mut candidates = Vec::new();
        for old in prev {
            let reals = next_reals.get(&old.key);
            // The service leaves the file too: it is kept while its real servers drain.
            let kept = reals.is_none().then(|| Service { reals: BTreeMap::new(), ..old.service.clone() });
            if kept.is_some() {
                for ((s, _), e) in self.reals.iter_mut() {
                    if *s == old.key && e.kept.is_none() {
                        e.kept.clone_from(&kept);
                    }
                }
            }
            let timeout = old.health.drain_timeout;
            for (rk, real) in &old.service.reals {
                let at = (old.key, *rk);
                if !reals.is_some_and(|r| r.contains_key(rk)) && !timeout.is_zero() && !self.reals.contains_key(&at) {
                    candidates.push((at, *real, timeout, kept.clone()));
                }
            }
        }
        if candidates.is_empty() {
            return;
        }
        let services: Vec<ServiceKey> =
            candidates.iter().map(|((s, _), ..)| *s).collect::<BTreeSet<_>>().into_iter().collect();
        let conns = match (self.conns)(&services) {
            Ok(c) => c,
            Err(err) => {
                warn!(error = %err, "cannot read the active connections; draining every real server that left");
                BTreeMap::new()
            }
        };
        let unknown = conns.is_empty();
        for (at, real, timeout, kept) in candidates {
            let active = conns.get(&at).copied().unwrap_or(0);
            if active == 0 && !unknown {
                continue;
            }
            let drain = Drain::start(now, timeout);
            let reason = format!(
                "left the file with {active} active connections; deleted when idle or after {} s",
                timeout.as_secs_f64()
            );
            info!(service = %at.0, real_server = %at.1, active, timeout_s = timeout.as_secs_f64(), "draining a real server that left the file");
            self.reals.insert(at, Entry { real, drain, reason, kept });
            self.next_check.get_or_insert(Instant::now() + CHECK_EVERY);
        }
    }

    /// Take over the drains found at start (see [`Setup`]).
    pub fn seed(&mut self, seed: Carry) {
        for (at, d) in seed.overlays.drains {
            let Some(r) = seed.records.get(&at) else { continue };
            let drain = Drain { started: r.started, deadline: r.deadline };
            let kept = seed.overlays.kept.get(&at.0).map(|s| Service { reals: BTreeMap::new(), ..s.clone() });
            info!(service = %at.0, real_server = %at.1, reason = %d.reason, "draining a real server that left the file before watch started");
            self.reals.insert(at, Entry { real: d.real, drain, reason: d.reason, kept });
            self.next_check.get_or_insert(Instant::now() + CHECK_EVERY);
        }
    }

    /// Lay the drains over `overlays`.
    pub fn overlay(&self, overlays: &mut Overlays) {
        for (at, e) in &self.reals {
            if let Some(svc) = &e.kept {
                overlays.kept.entry(at.0).or_insert_with(|| svc.clone());
            }
            let d = state::Drain { real: e.real, until: e.drain.deadline, reason: e.reason.clone() };
            overlays.drains.insert(*at, d);
        }
    }

    /// When to look at the connections again.
    pub fn deadline(&self) -> Option<Instant> {
        if self.reals.is_empty() { None } else { self.next_check }
    }

    /// Read the connections when due; drains that are done end. True when one ended (its
    /// service then needs reconciling).
    pub fn check(&mut self, now: Instant, wall: SystemTime) -> bool {
        if self.reals.is_empty() || self.next_check.is_some_and(|t| t > now) {
            return false;
        }
        self.next_check = Some(now + CHECK_EVERY);
        let services: Vec<ServiceKey> =
            self.reals.keys().map(|(s, _)| *s).collect::<BTreeSet<_>>().into_iter().collect();
        let conns = match (self.conns)(&services) {
            Ok(c) => Some(c),
            Err(err) => {
                warn!(error = %err, "cannot read the active connections of draining real servers; only deadlines apply");
                None
            }
        };
        let before = self.reals.len();
        self.reals.retain(|at, e| {
            // Unreadable counts: treated as busy, so only the deadline ends a drain.
            let active = conns.as_ref().map_or(1, |c| c.get(at).copied().unwrap_or(0));
            match e.drain.step(wall, active) {
                Step::Hold { reason, .. } => {
                    e.reason = reason;
                    true
                }
                Step::Delete { reason } => {
                    info!(service = %at.0, real_server = %at.1, reason, "drained: deleting the real server");
                    false
                }
            }
        });
        self.reals.len() != before
    }

    pub fn is_empty(&self) -> bool {
        self.reals.is_empty()
    }
}
