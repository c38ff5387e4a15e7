//! Probing every target on its interval: one task per distinct target, the first probes spread
//! over one interval, every result folded into the target's verdict, and each transition handed
//! to the sink the moment it is decided. Runs in any tokio runtime ([`super::runner`] gives it
//! its own thread).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use super::pool::Verdicts;
use super::probe::Probe;
use super::spec::Target;
use super::verdict::{Outcome, Transition, Verdict};

/// Where transitions go (a channel's sender, typically).
pub type Sink = Arc<dyn Fn(Transition) + Send + Sync>;

/// What the probes found, readable from any thread.
#[derive(Default)]
pub struct Shared {
    verdicts: Mutex<Verdicts>,
    /// Probes run, by (check kind, passed).
    counts: Mutex<BTreeMap<(&'static str, bool), u64>>,
}

impl Shared {
    pub fn verdicts(&self) -> Verdicts {
        lock(&self.verdicts).clone()
    }

    pub fn verdict(&self, target: &Target) -> Option<Verdict> {
        lock(&self.verdicts).get(target).cloned()
    }

    pub fn probe_counts(&self) -> BTreeMap<(&'static str, bool), u64> {
        lock(&self.counts).clone()
    }
}

// A poisoned lock only means a probe task panicked mid-update; the data is still a whole value.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub struct Scheduler<P: Probe> {
    prober: Arc<P>,
    shared: Arc<Shared>,
    sink: Sink,
    tasks: HashMap<Target, JoinHandle<()>>,
}

impl<P: Probe> Scheduler<P> {
    pub fn new(prober: P, sink: Sink) -> Scheduler<P> {
        Scheduler { prober: Arc::new(prober), shared: Arc::default(), sink, tasks: HashMap::new() }
    }

    pub fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }

    /// Probe exactly `targets` from now on: new ones start (spread over their interval), gone
    /// ones stop and lose their verdict, the others go on undisturbed. Call inside a runtime.
    pub fn set_targets(&mut self, targets: &BTreeSet<Target>) {
        self.tasks.retain(|t, task| {
            let keep = targets.contains(t);
            if !keep {
                task.abort();
                lock(&self.shared.verdicts).remove(t);
            }
            keep
        });
        let new: Vec<&Target> = targets.iter().filter(|t| !self.tasks.contains_key(*t)).collect();
        let now = Instant::now();
        let n = new.len() as u32;
        for (i, t) in new.into_iter().enumerate() {
            lock(&self.shared.verdicts).insert(t.clone(), Verdict::new(SystemTime::now()));
            // Target i of n starts i/n of an interval from now: no burst at start or reload.
            let first = now + t.interval.mul_f64(f64::from(i as u32) / f64::from(n.max(1)));
            let task = tokio::spawn(run(t.clone(), first, self.prober.clone(), self.shared.clone(), self.sink.clone()));
            self.tasks.insert(t.clone(), task);
        }
    }

    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}

impl<P: Probe> Drop for Scheduler<P> {
    fn drop(&mut self) {
        for task in self.tasks.values() {
            task.abort();
        }
    }
}

async fn run<P: Probe>(target: Target, first: Instant, prober: Arc<P>, shared: Arc<Shared>, sink: Sink) {
    let mut ticks = tokio::time::interval_at(first, target.interval);
    // A probe that overran (it cannot: timeout < interval) or a stalled runtime does not make
    // a burst of catch-up probes.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let started = Instant::now();
        let result = prober.probe(&target).await;
        let outcome =
            Outcome { at: SystemTime::now(), took: started.elapsed(), error: result.err().map(|e| e.to_string()) };
        *lock(&shared.counts).entry((target.kind.name(), outcome.passed())).or_default() += 1;
        let transition = lock(&shared.verdicts).get_mut(&target).and_then(|v| v.observe(&target, outcome));
        if let Some(t) = transition {
            sink(t);
        }
    }
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
