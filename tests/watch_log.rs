//! The JSON log a user's log shipper sees: one object per line, saying what changed and why.
//! Alone in its binary: tracing caches per-callsite interest across threads, so a scoped
//! subscriber in a test running beside others may miss events.

mod watch_support;

use std::fs;
use std::io;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use lvsync::plan::{Change, IpvsChange};
use lvsync::state::RealKey;
use lvsync::watch::{LogFormat, Trigger};
use watch_support::*;

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
            vec![Change::Ipvs(IpvsChange::UpdateReal { service: key(1), key: rk, before: real(9), after: real(1) })];
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
