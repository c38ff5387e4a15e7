//! Probing every target on its interval: one task per distinct target, the first probes spread
//! over one interval, every result folded into the target's verdict, and each transition handed
//! to the sink the moment it is decided. Runs in any tokio runtime ([`super::runner`] gives it
//! its own thread).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};

use super::pool::Verdicts;
use super::probe::Probe;
use super::spec::Target;
use super::verdict::{Outcome, Transition, Verdict};

/// The granularity of first probes (see [`Scheduler::set_targets`]).
const SLOT: Duration = Duration::from_millis(10);

/// Where transitions go (a channel's sender, typically).
pub type Sink = Arc<dyn Fn(Transition) + Send + Sync>;

/// What the probes found, readable from any thread.
#[derive(Default)]
pub struct Shared {
    verdicts: Mutex<Verdicts>,
    /// Probes run, by (check kind, passed).
    counts: Mutex<BTreeMap<(&'static str, bool), u64>>,
    /// Connections the prober keeps open between probes now.
    kept: Option<Box<dyn Fn() -> usize + Send + Sync>>,
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

    /// Connections kept open between probes (`keep_alive` checks) now.
    pub fn kept_connections(&self) -> usize {
        self.kept.as_ref().map_or(0, |kept| kept())
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
    /// The descriptors probes may hold (see [`super::limits`]); a probe waits for its turn.
    permits: Arc<Semaphore>,
}

impl<P: Probe> Scheduler<P> {
    pub fn new(prober: P, sink: Sink) -> Scheduler<P> {
        let permits = Arc::new(Semaphore::new(Semaphore::MAX_PERMITS));
        let prober = Arc::new(prober);
        let p = prober.clone();
        let shared = Arc::new(Shared { kept: Some(Box::new(move || p.kept())), ..Shared::default() });
        Scheduler { prober, shared, sink, tasks: HashMap::new(), permits }
    }

    /// At most `n` descriptors held by probes from now on (for the tasks started afterwards).
    pub fn with_descriptors(mut self, n: usize) -> Scheduler<P> {
        self.permits = Arc::new(Semaphore::new(n.clamp(1, Semaphore::MAX_PERMITS)));
        self
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
        let wall = SystemTime::now();
        for (i, t) in new.into_iter().enumerate() {
            lock(&self.shared.verdicts).insert(t.clone(), Verdict::new(wall));
            // Target i of n starts i/n of an interval from now: no burst at start or reload. The
            // starts are rounded to slots of SLOT, so that the probes of one slot run on one
            // wake-up of the runtime: at 16,000 targets every 2 s that is 80 probes per wake-up
            // instead of one, and each wake-up costs system calls (a few µs each on a host,
            // tens of µs in a virtual machine).
            let offset = t.interval.mul_f64(f64::from(i as u32) / f64::from(n.max(1)));
            let first = now + SLOT * (offset.as_micros() / SLOT.as_micros()) as u32;
            let probe = Probing {
                prober: self.prober.clone(),
                shared: self.shared.clone(),
                sink: self.sink.clone(),
                permits: self.permits.clone(),
            };
            let task = tokio::spawn(run(t.clone(), first, probe));
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

/// What one target's task shares with the others.
struct Probing<P> {
    prober: Arc<P>,
    shared: Arc<Shared>,
    sink: Sink,
    permits: Arc<Semaphore>,
}

async fn run<P: Probe>(target: Target, first: Instant, p: Probing<P>) {
    let Probing { prober, shared, sink, permits } = p;
    // The wall clock from the monotonic one: one clock read per probe instead of two; read
    // again every 64 probes, so that a step of the wall clock shows soon.
    let mut clock = (SystemTime::now(), Instant::now());
    let mut probes = 0u32;
    let mut session = P::Session::default();
    let mut ticks = tokio::time::interval_at(first, target.interval);
    // A probe that overran (it cannot: timeout < interval) or a stalled runtime does not make
    // a burst of catch-up probes.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        // The time it was due, not read again: a clock read is a system call in some virtual
        // machines, and at thousands of probes a second they add up. `took` so includes any wait
        // for a permit.
        let started = ticks.tick().await;
        // Closed never: the semaphore lives as long as the scheduler's tasks. A probe on a
        // connection its session kept needs no new descriptor.
        let permit = match prober.descriptors(&target, &session) {
            0 => None,
            n => match permits.clone().acquire_many_owned(n).await {
                Ok(permit) => Some(permit),
                Err(_) => return,
            },
        };
        let result = prober.probe(&target, &mut session, permit).await;
        let ended = Instant::now();
        probes = probes.wrapping_add(1);
        if probes.is_multiple_of(64) {
            clock = (SystemTime::now(), ended);
        }
        let at = clock.0 + ended.saturating_duration_since(clock.1);
        let outcome =
            Outcome { at, took: ended.saturating_duration_since(started), error: result.err().map(|e| e.to_string()) };
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
