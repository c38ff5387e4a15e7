//! Draining real servers that left the file: weight 0 first, deleted once idle or at the
//! service's `drain_timeout` (0: at once). Pure: the caller hands in the time and the active
//! connection counts it observed.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use super::verdict::clock;
use crate::state::RealKey;

/// A real server of a service, by service name.
pub type DrainKey = (String, RealKey);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Drain {
    pub started: SystemTime,
    pub deadline: SystemTime,
}

/// What to do with a draining real server now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Keep it at weight 0.
    Hold { left: Duration, reason: String },
    /// Delete it.
    Delete { reason: String },
}

impl Drain {
    pub fn start(now: SystemTime, timeout: Duration) -> Drain {
        Drain { started: now, deadline: now + timeout }
    }

    /// `active`: its active connections in the kernel now.
    pub fn step(&self, now: SystemTime, active: u32) -> Step {
        if active == 0 {
            return Step::Delete { reason: "drained: no active connections".into() };
        }
        match self.deadline.duration_since(now) {
            Ok(left) if !left.is_zero() => Step::Hold {
                left,
                reason: format!(
                    "draining since {}: {active} active connections, {} s left",
                    clock(self.started),
                    left.as_secs_f64().ceil()
                ),
            },
            _ => Step::Delete { reason: format!("drain_timeout reached with {active} active connections") },
        }
    }
}

/// Every drain under way.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Drains {
    pub drains: BTreeMap<DrainKey, Drain>,
}

impl Drains {
    /// `leaving`: every managed real server in the kernel that the file no longer lists, with
    /// its service's `drain_timeout`. New ones start draining now; a drain whose real server is
    /// back in the file (absent from `leaving`) ends.
    pub fn update(&mut self, leaving: impl IntoIterator<Item = (DrainKey, Duration)>, now: SystemTime) {
        let mut next = BTreeMap::new();
        for (key, timeout) in leaving {
            let d = self.drains.get(&key).copied().unwrap_or_else(|| Drain::start(now, timeout));
            next.insert(key, d);
        }
        self.drains = next;
    }

    /// The step of every drain; `active` gives a real server's active connections (`None`:
    /// not in the kernel any more, so it is done).
    pub fn steps(&self, now: SystemTime, active: impl Fn(&DrainKey) -> Option<u32>) -> BTreeMap<DrainKey, Step> {
        self.drains.iter().map(|(k, d)| (k.clone(), d.step(now, active(k).unwrap_or(0)))).collect()
    }

    /// The earliest deadline: when to look again at the latest.
    pub fn next_deadline(&self) -> Option<SystemTime> {
        self.drains.values().map(|d| d.deadline).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::time::UNIX_EPOCH;

    fn at(secs: f64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs_f64(secs)
    }

    fn key(s: &str) -> DrainKey {
        (s.into(), RealKey { address: "192.168.2.106".parse().unwrap(), port: 80 })
    }

    #[test]
    fn a_busy_real_server_holds_until_idle_or_its_deadline() {
        let d = Drain::start(at(36_000.0), Duration::from_secs(60));
        assert_eq!(
            d.step(at(36_010.0), 3),
            Step::Hold {
                left: Duration::from_secs(50),
                reason: "draining since 10:00:00: 3 active connections, 50 s left".into()
            }
        );
        assert!(matches!(d.step(at(36_011.0), 0), Step::Delete { reason } if reason.contains("no active")));
        assert!(matches!(d.step(at(36_060.0), 3), Step::Delete { reason } if reason.contains("drain_timeout")));
    }

    #[test]
    fn zero_timeout_deletes_at_once_even_with_connections() {
        let d = Drain::start(at(5.0), Duration::ZERO);
        assert!(matches!(d.step(at(5.0), 10), Step::Delete { .. }));
    }

    #[test]
    fn update_keeps_deadlines_and_ends_drains_of_returning_real_servers() {
        let mut ds = Drains::default();
        ds.update([(key("web"), Duration::from_secs(60))], at(0.0));
        ds.update([(key("web"), Duration::from_secs(60)), (key("api"), Duration::from_secs(5))], at(30.0));
        assert_eq!(ds.drains[&key("web")].deadline, at(60.0), "a later update does not restart a drain");
        assert_eq!(ds.next_deadline(), Some(at(35.0)));
        let steps = ds.steps(at(31.0), |k| (k.0 == "web").then_some(2));
        assert!(matches!(steps[&key("web")], Step::Hold { .. }));
        assert!(matches!(steps[&key("api")], Step::Delete { .. }), "gone from the kernel: done");
        ds.update([(key("api"), Duration::from_secs(5))], at(32.0));
        assert!(!ds.drains.contains_key(&key("web")), "back in the file: no drain");
    }

    proptest! {
        /// Deleted exactly when idle or at/after the deadline; otherwise held with the time left.
        #[test]
        fn delete_iff_idle_or_due(timeout in 0u64..120, elapsed in 0u64..200, active in 0u32..5) {
            let d = Drain::start(at(1000.0), Duration::from_secs(timeout));
            let step = d.step(at(1000.0 + elapsed as f64), active);
            let due = active == 0 || elapsed >= timeout;
            match step {
                Step::Delete { .. } => prop_assert!(due),
                Step::Hold { left, .. } => {
                    prop_assert!(!due);
                    prop_assert_eq!(left, Duration::from_secs(timeout - elapsed));
                }
            }
        }
    }
}
