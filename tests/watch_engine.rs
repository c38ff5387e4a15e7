//! The watch loop's decisions without a kernel: what is applied with which scope, what a broken
//! file does, retries with backoff, drift resync, and the metrics they produce.
//! The reconciler here records calls; the kernel side is tested in `watch_kernel.rs`.

mod watch_support;

use std::fs;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lvsync::plan::{Change, IpvsChange};
use lvsync::state::RealKey;
use lvsync::watch::Trigger;
use lvsync::watch::engine::{Engine, Scope, StartError};
use lvsync::watch::metrics::Metrics;
use watch_support::*;

#[test]
fn start_applies_everything_and_an_edit_only_the_touched_service() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("director.yaml");
    let (mut e, metrics) = engine(&file, "svc 1 1 1\nsvc 2 1 1\nsvc 3 1\n");
    e.start().unwrap();
    fs::write(&file, "svc 1 1 1\nsvc 2 1 5\nsvc 4 1\n").unwrap();
    e.file_event(Trigger::FileChange);
    assert_eq!(reaches(&e), [Scope::All, Scope::Services([key(2), key(3), key(4)].into())]);
    assert!(has_line(&metrics, "lvsync_reconciles_total{trigger=\"file_change\",outcome=\"success\"} 1"));
    assert!(has_line(&metrics, "lvsync_services_managed 3"));
    assert!(has_line(&metrics, "lvsync_real_servers_managed 5"));
    assert!(has_line(&metrics, "lvsync_file_valid 1"));
}

#[test]
fn a_global_change_or_sighup_reconciles_everything() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("director.yaml");
    let (mut e, _) = engine(&file, "svc 1 1\n");
    e.start().unwrap();
    fs::write(&file, "svc 1 1\ntimeout 900\n").unwrap();
    e.file_event(Trigger::FileChange);
    // SIGHUP applies the unchanged file again, whole.
    e.file_event(Trigger::Sighup);
    assert_eq!(reaches(&e), [Scope::All, Scope::All, Scope::All]);
}

#[test]
fn unchanged_content_or_a_comment_edit_applies_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("director.yaml");
    let (mut e, _) = engine(&file, "svc 1 1\n");
    e.start().unwrap();
    e.file_event(Trigger::FileChange);
    fs::write(&file, "# a comment\nsvc 1 1\n").unwrap();
    e.file_event(Trigger::FileChange);
    assert_eq!(reaches(&e), [Scope::All]);
}

#[test]
fn a_broken_file_changes_nothing_and_the_next_good_one_is_diffed_against_the_last_applied() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("director.yaml");
    let (mut e, metrics) = engine(&file, "svc 1 1\nsvc 2 1\n");
    e.start().unwrap();
    fs::write(&file, "svc 1 1\nsvc 2 oops\n").unwrap();
    e.file_event(Trigger::FileChange);
    assert_eq!(reaches(&e), [Scope::All]);
    assert!(has_line(&metrics, "lvsync_file_valid 0"));
    assert!(has_line(&metrics, "lvsync_reconciles_total{trigger=\"file_change\",outcome=\"invalid_file\"} 1"));
    // Drift resync keeps enforcing the last good file.
    e.tick(Instant::now() + RESYNC);
    let (reach, config) = e.reconciler().calls.last().unwrap().clone();
    assert_eq!((reach, config), (Scope::All, parse("svc 1 1\nsvc 2 1\n").unwrap()));
    fs::remove_file(&file).unwrap();
    e.file_event(Trigger::FileChange);
    assert_eq!(e.reconciler().calls.len(), 2);
    fs::write(&file, "svc 1 1\nsvc 2 3\n").unwrap();
    e.file_event(Trigger::FileChange);
    assert_eq!(reaches(&e).last().unwrap(), &Scope::Services([key(2)].into()));
    assert!(has_line(&metrics, "lvsync_file_valid 1"));
}

#[test]
fn start_refuses_a_broken_or_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("director.yaml");
    let (mut e, _) = engine(&file, "svc 1 1\nbogus\n");
    assert_eq!(e.start(), Err(StartError::Invalid("director.yaml:2: cannot parse `bogus`".into())));
    fs::remove_file(&file).unwrap();
    assert!(matches!(e.start(), Err(StartError::Unreadable(_))));
    assert!(e.reconciler().calls.is_empty());
}

#[test]
fn kernel_errors_are_retried_whole_with_growing_delays() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("director.yaml");
    let (mut e, metrics) = engine(&file, "svc 1 1\nsvc 2 1\n");
    e.reconciler_mut().fail = 2;
    let t0 = Instant::now();
    e.start().unwrap();
    let first = e.deadline();
    assert!(first >= t0 + Duration::from_secs(1) && first < t0 + Duration::from_secs(2), "{:?}", first - t0);
    let before = Instant::now();
    e.tick(first);
    let second = e.deadline();
    assert!(second >= before + Duration::from_secs(2), "backoff doubles: {:?}", second - before);
    // An edit while failing is applied whole: the failed services may differ anywhere.
    fs::write(&file, "svc 1 1\nsvc 2 7\n").unwrap();
    e.file_event(Trigger::FileChange);
    assert_eq!(reaches(&e), [Scope::All, Scope::All, Scope::All]);
    assert!(has_line(&metrics, "lvsync_reconciles_total{trigger=\"start\",outcome=\"error\"} 1"));
    assert!(has_line(&metrics, "lvsync_reconciles_total{trigger=\"retry\",outcome=\"error\"} 1"));
    assert!(has_line(&metrics, "lvsync_reconciles_total{trigger=\"file_change\",outcome=\"success\"} 1"));
    // Recovered: the next deadline is the resync, and edits are incremental again.
    assert!(e.deadline() > Instant::now() + RESYNC - Duration::from_secs(1));
    fs::write(&file, "svc 1 4\nsvc 2 7\n").unwrap();
    e.file_event(Trigger::FileChange);
    assert_eq!(reaches(&e).last().unwrap(), &Scope::Services([key(1)].into()));
}

#[test]
fn resync_counts_what_it_corrects_as_drift() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("director.yaml");
    let (mut e, metrics) = engine(&file, "svc 1 1\n");
    e.start().unwrap();
    e.tick(Instant::now());
    assert_eq!(e.reconciler().calls.len(), 1, "no resync before it is due");
    let rk = RealKey { address: IpAddr::from([10, 0, 1, 1]), port: 80 };
    e.reconciler_mut().drift =
        vec![Change::Ipvs(IpvsChange::UpdateReal { service: key(1), key: rk, before: real(9), after: real(1) })];
    e.tick(e.deadline());
    assert_eq!(reaches(&e), [Scope::All, Scope::All]);
    assert!(has_line(&metrics, "lvsync_drift_corrections_total{kind=\"real_server\"} 1"));
    assert!(has_line(&metrics, "lvsync_changes_applied_total{kind=\"real_server\",action=\"update\"} 1"));
    assert!(has_line(&metrics, "lvsync_reconciles_total{trigger=\"resync\",outcome=\"success\"} 1"));
}

#[test]
fn a_change_without_a_file_event_is_applied_at_the_next_resync() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("director.yaml");
    let (mut e, metrics) = engine(&file, "svc 1 1\nsvc 2 1\n");
    e.start().unwrap();
    fs::write(&file, "svc 1 1\nsvc 2 9\n").unwrap();
    e.tick(e.deadline());
    assert_eq!(reaches(&e), [Scope::All, Scope::Services([key(2)].into()), Scope::All]);
    let (_, last) = e.reconciler().calls.last().unwrap();
    assert_eq!(last, &parse("svc 1 1\nsvc 2 9\n").unwrap());
    assert!(has_line(&metrics, "lvsync_reconciles_total{trigger=\"file_change\",outcome=\"success\"} 1"));
}

fn yaml(weight: u32) -> String {
    format!(
        "version: 1
services:
  - name: web
    vip: 192.0.2.1
    port: 80
    real_servers:
      - address: 10.0.0.1
        weight: {weight}
  - name: db
    vip: 192.0.2.2
    port: 5432
    real_servers:
      - address: 10.0.0.3
firewall:
  - name: web-in
    action: accept
    service: web
"
    )
}

fn model_parse(text: &str) -> Result<lvsync::model::Config, String> {
    lvsync::model::load(text).map_err(|d| d.render("director.yaml"))
}

#[test]
fn an_edit_inside_one_entry_is_applied_from_that_entry_and_matches_the_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("director.yaml");
    fs::write(&file, yaml(1)).unwrap();
    let metrics = Arc::new(Metrics::new());
    let mut e = Engine::new(&file, Recorder::default(), Box::new(model_parse), metrics, RESYNC);
    e.start().unwrap();
    fs::write(&file, yaml(5)).unwrap();
    e.file_event(Trigger::FileChange);
    let web = model_parse(&yaml(5)).unwrap().services[0].key;
    assert_eq!(reaches(&e), [Scope::All, Scope::Services([web].into())]);
    assert_eq!(e.reconciler().calls[1].1, model_parse(&yaml(5)).unwrap());
}

#[test]
fn when_the_whole_file_refuses_what_the_quick_read_applied_the_last_good_file_returns() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("director.yaml");
    fs::write(&file, yaml(1)).unwrap();
    let metrics = Arc::new(Metrics::new());
    // A rule only the whole file can check (the quick read sees one entry, without `firewall:`).
    let strict = |text: &str| {
        if text.contains("firewall:") && text.contains("weight: 9") {
            return Err("director.yaml:8:17: weight 9 is refused by a whole-file rule".to_string());
        }
        model_parse(text)
    };
    let mut e = Engine::new(&file, Recorder::default(), Box::new(strict), metrics.clone(), RESYNC);
    e.start().unwrap();
    fs::write(&file, yaml(9)).unwrap();
    e.file_event(Trigger::FileChange);
    let calls = &e.reconciler().calls;
    assert_eq!(calls.len(), 3, "start, quick apply, back to the last good file");
    assert_eq!(calls[2], (Scope::All, model_parse(&yaml(1)).unwrap()));
    assert!(has_line(&metrics, "lvsync_file_valid 0"));
    assert!(has_line(&metrics, "lvsync_reconciles_total{trigger=\"file_change\",outcome=\"invalid_file\"} 1"));
    // The text of the last good file was let go with the undone edit: the next edit is read
    // whole, and only what it changed is applied.
    fs::write(&file, yaml(5)).unwrap();
    e.file_event(Trigger::FileChange);
    let web = model_parse(&yaml(5)).unwrap().services[0].key;
    assert_eq!(e.reconciler().calls[3], (Scope::Services([web].into()), model_parse(&yaml(5)).unwrap()));
    assert!(has_line(&metrics, "lvsync_file_valid 1"));
}

#[test]
fn a_sighup_of_the_unchanged_file_applies_it_whole_without_parsing_it_again() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("director.yaml");
    fs::write(&file, yaml(1)).unwrap();
    let parses = Arc::new(AtomicUsize::new(0));
    let counted = parses.clone();
    let counting = move |text: &str| {
        counted.fetch_add(1, Ordering::SeqCst);
        model_parse(text)
    };
    let mut e = Engine::new(&file, Recorder::default(), Box::new(counting), Arc::new(Metrics::new()), RESYNC);
    e.start().unwrap();
    assert_eq!(parses.load(Ordering::SeqCst), 1);
    e.file_event(Trigger::Sighup);
    assert_eq!(parses.load(Ordering::SeqCst), 1, "the same bytes: the config is reused");
    assert_eq!(reaches(&e), [Scope::All, Scope::All]);
    assert_eq!(e.reconciler().calls[1].1, model_parse(&yaml(1)).unwrap());
    // A changed file is parsed, SIGHUP or not.
    fs::write(&file, yaml(3)).unwrap();
    e.file_event(Trigger::Sighup);
    assert_eq!(parses.load(Ordering::SeqCst), 2);
    assert_eq!(e.reconciler().calls[2], (Scope::All, model_parse(&yaml(3)).unwrap()));
}
