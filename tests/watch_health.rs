//! Health verdicts in the watch loop without a kernel: a change of overlays reconciles only the
//! services it touches, with the overlays laid over the file; no change, no reconcile.

mod watch_support;

use std::fs;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use lvsync::backend::Executed;
use lvsync::model::Config;
use lvsync::plan::Plan;
use lvsync::state::{Overlays, RealKey, WeightOverride};
use lvsync::watch::Trigger;
use lvsync::watch::engine::{Engine, Reconciler, Scope};
use lvsync::watch::metrics::Metrics;
use watch_support::*;

/// Records the scope and the overlays of every reconcile.
#[derive(Default)]
struct Seen {
    calls: Vec<(Scope, Overlays)>,
}

impl Reconciler for Seen {
    type Error = KernelError;

    fn reconcile(&mut self, _: &Config, overlays: &Overlays, scope: &Scope) -> Result<(Plan, Executed), KernelError> {
        self.calls.push((scope.clone(), overlays.clone()));
        Ok((Plan::default(), Executed::default()))
    }
}

fn quiesce(service: u8, real: u8) -> Overlays {
    let rk = RealKey { address: IpAddr::from([10, 0, service, real]), port: 80 };
    let mut o = Overlays::default();
    o.weights.insert((key(service), rk), WeightOverride { weight: 0, reason: "health: down since 10:02:11".into() });
    o
}

#[test]
fn a_verdict_reconciles_its_service_alone_and_an_unchanged_one_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("director.yaml");
    fs::write(&file, "svc 1 1 1\nsvc 2 1 1\nsvc 3 1\n").unwrap();
    let now = Arc::new(Mutex::new(Overlays::default()));
    let of = now.clone();
    let mut e = Engine::new(&file, Seen::default(), boxed_parse(), Arc::new(Metrics::new()), RESYNC)
        .with_overlays(Box::new(move |_| of.lock().unwrap().clone()));
    e.start().unwrap();

    *now.lock().unwrap() = quiesce(2, 1);
    assert!(e.overlays_changed());
    assert!(!e.overlays_changed());
    let calls = &e.reconciler().calls;
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(calls[0], (Scope::All, Overlays::default()));
    assert_eq!(calls[1], (Scope::Services([key(2)].into()), quiesce(2, 1)));
    assert_eq!(e.overlays(), &quiesce(2, 1));

    // Up again: back to the file's weight, that service alone.
    *now.lock().unwrap() = Overlays::default();
    assert!(e.overlays_changed());
    assert_eq!(e.reconciler().calls[2], (Scope::Services([key(2)].into()), Overlays::default()));
}

#[test]
fn an_edit_brings_along_the_services_whose_verdicts_changed_meanwhile() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("director.yaml");
    fs::write(&file, "svc 1 1 1\nsvc 2 1 1\nsvc 3 1\n").unwrap();
    let now = Arc::new(Mutex::new(Overlays::default()));
    let of = now.clone();
    let mut e = Engine::new(&file, Seen::default(), boxed_parse(), Arc::new(Metrics::new()), RESYNC)
        .with_overlays(Box::new(move |_| of.lock().unwrap().clone()));
    e.start().unwrap();
    *now.lock().unwrap() = quiesce(3, 1);
    fs::write(&file, "svc 1 1 5\nsvc 2 1 1\nsvc 3 1\n").unwrap();
    e.file_event(Trigger::FileChange);
    assert_eq!(e.reconciler().calls[1].0, Scope::Services([key(1), key(3)].into()));
    assert_eq!(e.overlays(), &quiesce(3, 1));
}
