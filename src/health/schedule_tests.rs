//! The scheduler under a paused clock, with a scripted prober that records when it was called.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use super::*;
use crate::health::probe::ProbeError;
use crate::health::spec::Kind;
use crate::health::verdict::State;
use tokio::sync::OwnedSemaphorePermit;

/// Passes unless the target's port is in `failing`; records (target port, time since start).
struct Scripted {
    start: Instant,
    failing: Mutex<BTreeSet<u16>>,
    calls: Mutex<Vec<(u16, Duration)>>,
}

impl Probe for Scripted {
    type Session = ();

    fn descriptors(&self, _: &Target, _: &()) -> u32 {
        1
    }

    fn probe<'a>(
        &'a self,
        target: &'a Target,
        _: &'a mut (),
        _: Option<OwnedSemaphorePermit>,
    ) -> Pin<Box<dyn Future<Output = Result<(), ProbeError>> + Send + 'a>> {
        Box::pin(async move {
            self.calls.lock().unwrap().push((target.port, self.start.elapsed()));
            if self.failing.lock().unwrap().contains(&target.port) {
                return Err(ProbeError::Connect(std::io::ErrorKind::ConnectionRefused.into()));
            }
            Ok(())
        })
    }
}

fn target(port: u16) -> Target {
    Target {
        address: "192.168.2.106".parse().unwrap(),
        port,
        kind: Kind::Tcp,
        interval: Duration::from_secs(2),
        timeout: Duration::from_secs(1),
        rise: 2,
        fall: 3,
    }
}

/// Transitions with the time since start they arrived at.
type Seen = Arc<Mutex<Vec<(Transition, Duration)>>>;

fn scheduler() -> (Scheduler<Arc<Scripted>>, Arc<Scripted>, Seen) {
    let script = Arc::new(Scripted { start: Instant::now(), failing: Default::default(), calls: Default::default() });
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (s2, seen2) = (script.clone(), seen.clone());
    let sink: Sink = Arc::new(move |t| seen2.lock().unwrap().push((t, s2.start.elapsed())));
    (Scheduler::new(script.clone(), sink), script, seen)
}

#[tokio::test(start_paused = true)]
async fn first_probes_are_spread_over_one_interval_then_every_interval() {
    let (mut s, script, _) = scheduler();
    s.set_targets(&(0..4).map(|i| target(8000 + i)).collect());
    tokio::time::sleep(Duration::from_millis(4100)).await;
    let calls = script.calls.lock().unwrap().clone();
    let firsts: Vec<_> = (0..4).map(|i| calls.iter().find(|c| c.0 == 8000 + i).unwrap().1.as_millis()).collect();
    assert_eq!(firsts, [0, 500, 1000, 1500], "four targets, 2 s interval: one every 500 ms");
    let of_first: Vec<_> = calls.iter().filter(|c| c.0 == 8000).map(|c| c.1.as_millis()).collect();
    assert_eq!(of_first, [0, 2000, 4000]);
    assert_eq!(calls.len(), 4 * 2 + 1);
}

#[tokio::test(start_paused = true)]
async fn a_failing_target_goes_down_after_fall_probes_and_up_after_rise() {
    let (mut s, script, seen) = scheduler();
    s.set_targets(&[target(80)].into());
    assert_eq!(s.shared().verdict(&target(80)).unwrap().health(), "unknown", "up before the first probe");
    script.failing.lock().unwrap().insert(80);
    tokio::time::sleep(Duration::from_millis(4100)).await;
    let down = seen.lock().unwrap().clone();
    assert_eq!(down.len(), 1);
    assert_eq!((down[0].0.to, down[0].1), (State::Down, Duration::from_secs(4)), "3rd failure at 0, 2, 4 s");
    assert_eq!(down[0].0.reason, "tcp: connect refused");
    script.failing.lock().unwrap().clear();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let all = seen.lock().unwrap().clone();
    assert_eq!((all[1].0.to, all[1].1), (State::Up, Duration::from_secs(8)), "passes at 6 and 8 s");
    assert_eq!(s.shared().probe_counts()[&("tcp", false)], 3);
}

#[tokio::test(start_paused = true)]
async fn a_reload_keeps_running_targets_and_their_verdicts_and_stops_gone_ones() {
    let (mut s, script, _) = scheduler();
    s.set_targets(&[target(1), target(2)].into());
    script.failing.lock().unwrap().insert(1);
    tokio::time::sleep(Duration::from_millis(4100)).await;
    assert_eq!(s.shared().verdict(&target(1)).unwrap().state, State::Down);
    s.set_targets(&[target(1), target(3)].into());
    assert_eq!(s.shared().verdict(&target(1)).unwrap().state, State::Down, "kept across the reload");
    assert!(s.shared().verdict(&target(2)).is_none());
    let before = script.calls.lock().unwrap().len();
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let after: Vec<_> = script.calls.lock().unwrap()[before..].iter().map(|c| c.0).collect();
    assert!(!after.contains(&2), "a gone target is not probed: {after:?}");
    assert_eq!(after.iter().filter(|p| **p == 1).count(), 1, "a kept target keeps its rhythm: {after:?}");
    assert_eq!(after.iter().filter(|p| **p == 3).count(), 1);
}
