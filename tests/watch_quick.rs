//! The quick read of one edited entry in `watch`, changed in place instead of copying the
//! config: what leaves the file still drains, and the whole file still wins.

mod watch_support;

use std::collections::BTreeMap;
use std::fs;
use std::sync::Arc;
use std::time::Duration;

use lvsync::state::RealKey;
use lvsync::watch::Trigger;
use lvsync::watch::engine::{Engine, Scope};
use lvsync::watch::metrics::Metrics;
use watch_support::{Recorder, reaches};

const RESYNC: Duration = Duration::from_secs(3600);

fn yaml(reals: &[&str]) -> String {
    let reals: String = reals.iter().map(|r| format!("      - address: {r}\n")).collect();
    format!(
        "version: 1
services:
  - name: web
    vip: 192.0.2.1
    port: 80
    real_servers:
{reals}  - name: db
    vip: 192.0.2.2
    port: 5432
"
    )
}

fn parse(text: &str) -> Result<lvsync::model::Config, String> {
    lvsync::model::load(text).map_err(|d| d.render("director.yaml"))
}

#[test]
fn a_real_server_removed_by_a_quick_edit_drains_and_the_edit_reaches_only_its_service() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("director.yaml");
    fs::write(&file, yaml(&["10.0.0.1", "10.0.0.2"])).unwrap();
    let web = parse(&yaml(&["10.0.0.1"])).unwrap().services[0].key;
    let leaving = RealKey { address: "10.0.0.2".parse().unwrap(), port: 80 };
    let conns = Box::new(move |_: &[lvsync::state::ServiceKey]| Ok(BTreeMap::from([((web, leaving), 3)])));
    let metrics = Arc::new(Metrics::new());
    let mut e = Engine::new(&file, Recorder::default(), Box::new(parse), metrics, RESYNC).with_drains(conns);
    e.start().unwrap();
    fs::write(&file, yaml(&["10.0.0.1"])).unwrap();
    e.file_event(Trigger::FileChange);
    assert_eq!(reaches(&e), [Scope::All, Scope::Services([web].into())]);
    assert_eq!(e.reconciler().calls[1].1, parse(&yaml(&["10.0.0.1"])).unwrap());
    assert!(e.overlays().drains.contains_key(&(web, leaving)), "10.0.0.2 left with 3 connections: it drains");
    assert_eq!(e.enforced(), Some(&parse(&yaml(&["10.0.0.1"])).unwrap()));
    // Back in the file: the drain ends, and the edit is again one service.
    fs::write(&file, yaml(&["10.0.0.1", "10.0.0.2"])).unwrap();
    e.file_event(Trigger::FileChange);
    assert_eq!(reaches(&e)[2], Scope::Services([web].into()));
    assert!(e.overlays().drains.is_empty());
}

#[test]
fn a_quick_edit_the_whole_file_refuses_goes_back_to_the_entry_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("director.yaml");
    let good = yaml(&["10.0.0.1"]);
    fs::write(&file, &good).unwrap();
    // A rule only the whole file checks.
    let strict = |text: &str| {
        if text.contains("db") && text.contains("10.0.0.9") {
            return Err("director.yaml:7:18: 10.0.0.9 is refused by a whole-file rule".to_string());
        }
        parse(text)
    };
    let metrics = Arc::new(Metrics::new());
    let mut e = Engine::new(&file, Recorder::default(), Box::new(strict), metrics, RESYNC);
    e.start().unwrap();
    fs::write(&file, yaml(&["10.0.0.9"])).unwrap();
    e.file_event(Trigger::FileChange);
    assert_eq!(e.enforced(), Some(&parse(&good).unwrap()));
    assert_eq!(e.reconciler().calls.last().unwrap(), &(Scope::All, parse(&good).unwrap()));
    // The next good edit is read quickly again, from the entry as it was.
    fs::write(&file, yaml(&["10.0.0.1", "10.0.0.3"])).unwrap();
    e.file_event(Trigger::FileChange);
    assert_eq!(e.enforced(), Some(&parse(&yaml(&["10.0.0.1", "10.0.0.3"])).unwrap()));
}
