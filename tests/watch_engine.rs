//! The watch loop's decisions without a kernel: what is applied with which scope, what a broken
//! file does, retries with backoff, drift resync, and the metrics and JSON logs they produce.
//! The reconciler here records calls; the kernel side is tested in `watch_kernel.rs`.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lvsync::backend::Executed;
use lvsync::model::{Config, ServiceSpec};
use lvsync::plan::{Change, Plan};
use lvsync::state::{Forward, Ownership, Protocol, RealKey, RealServer, Service, ServiceAttrs, ServiceKey, Timeouts};
use lvsync::watch::engine::{Engine, Parse, Reach, Reconciler, StartError};
use lvsync::watch::metrics::Metrics;
use lvsync::watch::{LogFormat, Trigger};

#[derive(Debug, thiserror::Error)]
#[error("netlink: operation not permitted")]
struct KernelError;

/// Records every reconcile; fails the next `fail` ones; answers with `drift` changes when asked.
#[derive(Default)]
struct Recorder {
    calls: Vec<(Reach, Config)>,
    fail: usize,
    drift: Vec<Change>,
}

impl Reconciler for Recorder {
    type Error = KernelError;

    fn reconcile(&mut self, config: &Config, reach: &Reach) -> Result<(Plan, Executed), KernelError> {
        self.calls.push((reach.clone(), config.clone()));
        if self.fail > 0 {
            self.fail -= 1;
            return Err(KernelError);
        }
        let changes = std::mem::take(&mut self.drift);
        let executed = Executed { changes: changes.len(), writes: changes.len() };
        Ok((Plan { changes, ..Plan::default() }, executed))
    }
}

fn key(i: u8) -> ServiceKey {
    ServiceKey::Addr { protocol: Protocol::Tcp, vip: IpAddr::from([192, 0, 2, i]), port: 80 }
}

fn real(weight: u32) -> RealServer {
    RealServer { weight, forward: Forward::Dr, upper_threshold: 0, lower_threshold: 0 }
}

/// A stand-in for the YAML format, enough to drive the loop: one line per service,
/// `svc <n> <weight>...`, `timeout <tcp>`, `#` comments; anything else is an error at its line.
fn parse(text: &str) -> Result<Config, String> {
    let mut config =
        Config { ownership: Ownership::Managed, timeouts: Timeouts::default(), services: vec![], firewall: vec![] };
    for (n, line) in text.lines().enumerate() {
        let words: Vec<&str> = line.split('#').next().unwrap_or("").split_whitespace().collect();
        match words.as_slice() {
            [] => {}
            ["timeout", tcp] => config.timeouts.tcp = Some(tcp.parse().map_err(|_| format!("line {}", n + 1))?),
            ["svc", i, weights @ ..] => {
                let i: u8 = i.parse().map_err(|_| format!("line {}: bad service", n + 1))?;
                let mut reals = BTreeMap::new();
                for (r, w) in weights.iter().enumerate() {
                    let w = w.parse().map_err(|_| format!("line {}: bad weight `{w}`", n + 1))?;
                    reals.insert(RealKey { address: IpAddr::from([10, 0, i, r as u8 + 1]), port: 80 }, real(w));
                }
                let name = format!("s{i}");
                let service = Service { name: Some(name.clone()), attrs: ServiceAttrs::default(), reals };
                config.services.push(ServiceSpec { name, key: key(i), service });
            }
            _ => return Err(format!("director.yaml:{}: cannot parse `{line}`", n + 1)),
        }
    }
    Ok(config)
}

fn boxed_parse() -> Parse {
    Box::new(parse)
}

const RESYNC: Duration = Duration::from_secs(30);

fn engine(file: &Path, text: &str) -> (Engine<Recorder>, Arc<Metrics>) {
    fs::write(file, text).unwrap();
    let metrics = Arc::new(Metrics::new());
    let engine = Engine::new(file, Recorder::default(), boxed_parse(), metrics.clone(), RESYNC);
    (engine, metrics)
}

fn reaches(e: &Engine<Recorder>) -> Vec<Reach> {
    e.reconciler().calls.iter().map(|(r, _)| r.clone()).collect()
}

fn has_line(metrics: &Metrics, line: &str) -> bool {
    metrics.render().lines().any(|l| l == line)
}

#[test]
fn start_applies_everything_and_an_edit_only_the_touched_service() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("director.yaml");
    let (mut e, metrics) = engine(&file, "svc 1 1 1\nsvc 2 1 1\nsvc 3 1\n");
    e.start().unwrap();
    fs::write(&file, "svc 1 1 1\nsvc 2 1 5\nsvc 4 1\n").unwrap();
    e.file_event(Trigger::FileChange);
    assert_eq!(reaches(&e), [Reach::All, Reach::Services([key(2), key(3), key(4)].into())]);
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
    assert_eq!(reaches(&e), [Reach::All, Reach::All, Reach::All]);
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
    assert_eq!(reaches(&e), [Reach::All]);
}

#[test]
fn a_broken_file_changes_nothing_and_the_next_good_one_is_diffed_against_the_last_applied() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("director.yaml");
    let (mut e, metrics) = engine(&file, "svc 1 1\nsvc 2 1\n");
    e.start().unwrap();
    fs::write(&file, "svc 1 1\nsvc 2 oops\n").unwrap();
    e.file_event(Trigger::FileChange);
    assert_eq!(reaches(&e), [Reach::All]);
    assert!(has_line(&metrics, "lvsync_file_valid 0"));
    assert!(has_line(&metrics, "lvsync_reconciles_total{trigger=\"file_change\",outcome=\"invalid_file\"} 1"));
    // Drift resync keeps enforcing the last good file.
    e.tick(Instant::now() + RESYNC);
    let (reach, config) = e.reconciler().calls.last().unwrap().clone();
    assert_eq!((reach, config), (Reach::All, parse("svc 1 1\nsvc 2 1\n").unwrap()));
    fs::remove_file(&file).unwrap();
    e.file_event(Trigger::FileChange);
    assert_eq!(e.reconciler().calls.len(), 2);
    fs::write(&file, "svc 1 1\nsvc 2 3\n").unwrap();
    e.file_event(Trigger::FileChange);
    assert_eq!(reaches(&e).last().unwrap(), &Reach::Services([key(2)].into()));
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
    assert_eq!(reaches(&e), [Reach::All, Reach::All, Reach::All]);
    assert!(has_line(&metrics, "lvsync_reconciles_total{trigger=\"start\",outcome=\"error\"} 1"));
    assert!(has_line(&metrics, "lvsync_reconciles_total{trigger=\"retry\",outcome=\"error\"} 1"));
    assert!(has_line(&metrics, "lvsync_reconciles_total{trigger=\"file_change\",outcome=\"success\"} 1"));
    // Recovered: the next deadline is the resync, and edits are incremental again.
    assert!(e.deadline() > Instant::now() + RESYNC - Duration::from_secs(1));
    fs::write(&file, "svc 1 4\nsvc 2 7\n").unwrap();
    e.file_event(Trigger::FileChange);
    assert_eq!(reaches(&e).last().unwrap(), &Reach::Services([key(1)].into()));
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
    e.reconciler_mut().drift = vec![Change::UpdateReal { service: key(1), key: rk, before: real(9), after: real(1) }];
    e.tick(e.deadline());
    assert_eq!(reaches(&e), [Reach::All, Reach::All]);
    assert!(has_line(&metrics, "lvsync_drift_corrections_total{kind=\"real_server\"} 1"));
    assert!(has_line(&metrics, "lvsync_changes_applied_total{kind=\"real_server\",action=\"update\"} 1"));
    assert!(has_line(&metrics, "lvsync_reconciles_total{trigger=\"resync\",outcome=\"success\"} 1"));
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn json_logs_are_one_object_per_line_saying_what_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("director.yaml");
    let out = Captured::default();
    let writer = out.clone();
    let subscriber = lvsync::watch::log::subscriber(LogFormat::Json, 0, false, move || writer.clone());
    tracing::subscriber::with_default(subscriber, || {
        let (mut e, _) = engine(&file, "svc 1 1\n");
        e.start().unwrap();
        fs::write(&file, "svc 1 1\nsvc 2 x\n").unwrap();
        e.file_event(Trigger::FileChange);
        let rk = RealKey { address: IpAddr::from([10, 0, 1, 1]), port: 80 };
        e.reconciler_mut().drift =
            vec![Change::UpdateReal { service: key(1), key: rk, before: real(9), after: real(1) }];
        e.tick(e.deadline());
    });
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<serde_json::Value> =
        text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
    for line in &lines {
        for field in ["timestamp", "level", "message", "trigger"] {
            assert!(line.get(field).is_some(), "no `{field}` in {line}");
        }
    }
    let find = |message: &str| {
        lines.iter().find(|l| l["message"].as_str().unwrap().starts_with(message)).unwrap_or_else(|| panic!("{text}"))
    };
    let started = find("reconciled");
    assert_eq!((started["trigger"].as_str(), started["changes"].as_u64()), (Some("start"), Some(0)));
    let broken = find("file is invalid");
    assert_eq!(broken["level"], "ERROR");
    assert_eq!(broken["error"], "line 2: bad weight `x`");
    assert!(broken["enforcing"].as_str().unwrap().starts_with("hash "), "{broken}");
    let drift = find("drift corrected");
    assert_eq!((drift["level"].as_str(), drift["trigger"].as_str()), (Some("WARN"), Some("resync")));
    assert_eq!((drift["update"].as_u64(), drift["changes"].as_u64()), (Some(1), Some(1)));
    let change = find("change");
    assert_eq!(change["id"], "tcp/192.0.2.1:80/10.0.1.1:80");
    assert_eq!(change["detail"], "weight 9 -> 1");
    assert_eq!((change["action"].as_str(), change["kind"].as_str()), (Some("update"), Some("real_server")));
}
