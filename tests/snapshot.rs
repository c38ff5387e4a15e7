//! Snapshots (`export --format json`) without a kernel: the round trip of every field of the
//! state, and `plan FILE --observed SNAPSHOT` run by the real binary with no kernel and no
//! state directory; stale and foreign snapshots. The director side is tests/snapshot_uml.rs.

mod ipvs_support;

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::{Duration, SystemTime};

use lvsync::desired::desired;
use lvsync::snapshot::{FORMAT_VERSION, Snapshot};
use lvsync::state::{Family, Inventory, Overlays, ServiceKey, State};

const FIREWALLED: &str = "\
version: 1
services:
  - {name: web, vip: 10.1.0.1, port: 80, real_servers: [{address: 10.1.1.1}]}
firewall:
  - {name: web-in, service: web, action: accept, sources: [10.0.0.0/8, 192.168.0.0/16]}
  - {name: rest, destination: 10.1.0.1, action: drop}
  - {name: v6-closed, destination: \"2001:db8:1::1\", action: drop}
";

/// The rich IPVS table (every field, both families, fwmark, tunnels, timeouts), with firewall
/// chains of both families, two services named by the inventory.
fn live() -> (State, Inventory) {
    let mut state = ipvs_support::rich_state();
    let config = lvsync::model::load(FIREWALLED).unwrap();
    state.chains = desired(&config, &Overlays::default()).chains;
    let web: ServiceKey = "tcp/10.1.0.1:80".parse().unwrap();
    let mark: ServiceKey = "fwmark/42".parse().unwrap();
    let inventory = Inventory {
        services: BTreeMap::from([(web, Some("web".to_string())), (mark, None)]),
        found: true,
        firewall: Some(BTreeSet::from([Family::Ipv4, Family::Ipv6])),
        ..Default::default()
    };
    state.services.get_mut(&web).unwrap().name = Some("web".into());
    (state, inventory)
}

#[test]
fn a_snapshot_gives_back_the_state_and_inventory_it_was_taken_of() {
    let (state, inventory) = live();
    assert!(state.chains.len() >= 2 && state.services.len() >= 5, "the fixture covers both domains");
    let snap = Snapshot::take(&state, &inventory, "director-1".into(), SystemTime::now());
    let text = serde_json::to_string_pretty(&snap).unwrap();
    let back = Snapshot::parse(&text).unwrap();
    assert_eq!(back, snap);
    assert_eq!(back.format_version, FORMAT_VERSION);
    assert_eq!(back.host, "director-1");
    let (observed, inv) = back.observed().unwrap();
    assert_eq!(observed, state);
    assert_eq!(inv, inventory);
}

#[test]
fn another_format_version_is_refused_with_what_is_read() {
    let (state, inventory) = live();
    let mut v = serde_json::to_value(Snapshot::take(&state, &inventory, "d".into(), SystemTime::now())).unwrap();
    v["format_version"] = "7".into();
    let err = Snapshot::parse(&v.to_string()).unwrap_err().to_string();
    assert!(err.contains("format_version `7`") && err.contains("reads `1`"), "{err}");
    let err = Snapshot::parse("{\"services\": []}").unwrap_err().to_string();
    assert!(err.starts_with("not a snapshot"), "{err}");
}

#[test]
fn a_foreign_host_is_an_error_and_a_stale_snapshot_a_warning() {
    let (state, inventory) = live();
    let hour_ago = SystemTime::now() - Duration::from_secs(3 * 3600 + 60);
    let snap = Snapshot::take(&state, &inventory, "director-1".into(), hour_ago);
    let now = SystemTime::now();
    let err = snap.check(now, Duration::from_secs(86400), Some("director-2")).unwrap_err().to_string();
    assert!(err.contains("taken on host `director-1`, not `director-2`"), "{err}");
    assert_eq!(snap.check(now, Duration::from_secs(86400), Some("director-1")).unwrap(), None);
    let warning = snap.check(now, Duration::from_secs(3600), None).unwrap().expect("stale");
    assert!(warning.contains("stale: taken 3h 1m ago, more than the 1h 0m allowed"), "{warning}");
}

struct Files(tempfile::TempDir);

impl Files {
    fn write(&self, name: &str, text: &str) -> String {
        let p = self.0.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    }
}

fn lvsync(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lvsync"))
        .args(args)
        // No state directory and no kernel is used: this one does not exist.
        .args(["--state-dir", "/nonexistent/lvsync-state"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let (o, e) = (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
    eprintln!("$ lvsync {}\n{o}{e}", args.join(" "));
    (out.status.code().unwrap_or(-1), o, e)
}

#[test]
fn plan_observed_plans_against_the_snapshot_as_the_planner_does() {
    let (state, inventory) = live();
    let files = Files(tempfile::tempdir().unwrap());
    let snap = Snapshot::take(&state, &inventory, "director-1".into(), SystemTime::now());
    let snap_path = files.write("snap.json", &serde_json::to_string(&snap).unwrap());
    let changed = FIREWALLED.replace("10.1.1.1}", "10.1.1.1, weight: 4}").replace("10.0.0.0/8, ", "");
    let file = files.write("director.yaml", &changed);

    let (code, out, _) = lvsync(&["plan", &file, "--observed", &snap_path, "--format", "json", "--detailed-exitcode"]);
    assert_eq!(code, 2);
    let got: serde_json::Value = serde_json::from_str(&out).unwrap();
    let config = lvsync::model::load(&changed).unwrap();
    let want = desired(&config, &Overlays::default());
    let expected = lvsync::plan::render_json(&lvsync::plan::plan(&want, &state, config.ownership, &inventory));
    assert_eq!(got["changes"], expected["changes"]);
    assert_eq!(got["unmanaged"], expected["unmanaged"]);
    assert!(got["notes"][0].as_str().unwrap().contains("planned against the snapshot of director-1"), "{got}");
    let kinds: Vec<&str> = got["changes"].as_array().unwrap().iter().map(|c| c["kind"].as_str().unwrap()).collect();
    assert!(kinds.contains(&"real_server") && kinds.iter().any(|k| k.contains("chain")), "{kinds:?}");

    let (code, text, _) = lvsync(&["plan", &file, "--observed", &snap_path]);
    assert_eq!(code, 0);
    assert!(text.contains("~ real server 10.1.1.1:80 of web: weight 1 -> 4"), "{text}");
    assert!(text.contains("Left alone (not managed by this file):"), "{text}");
}

#[test]
fn plan_observed_refuses_a_foreign_snapshot_and_warns_on_a_stale_one() {
    let (state, inventory) = live();
    let files = Files(tempfile::tempdir().unwrap());
    let old = SystemTime::now() - Duration::from_secs(7200);
    let snap = Snapshot::take(&state, &inventory, "director-1".into(), old);
    let snap_path = files.write("snap.json", &serde_json::to_string(&snap).unwrap());
    let file = files.write("director.yaml", FIREWALLED);

    let (code, out, err) = lvsync(&["plan", &file, "--observed", &snap_path, "--node", "director-2"]);
    assert_eq!(code, 1);
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("taken on host `director-1`, not `director-2`"), "{err}");

    let (code, out, err) = lvsync(&["plan", &file, "--observed", &snap_path]);
    assert_eq!(code, 0);
    assert!(err.contains("stale: taken 2h 0m ago"), "{err}");
    assert!(out.contains("Note: the snapshot of director-1 is stale"), "{out}");

    let (code, out, err) =
        lvsync(&["plan", &file, "--observed", &snap_path, "--max-age", "86400", "--node", "director-1"]);
    assert_eq!(code, 0);
    assert!(!err.contains("stale") && !out.contains("stale"), "{out}{err}");

    let bad = files.write("bad.json", "{\"format_version\": \"2\"}");
    let (code, _, err) = lvsync(&["plan", &file, "--observed", &bad]);
    assert_eq!(code, 1);
    assert!(err.contains("cannot plan against the snapshot") && err.contains("format_version `2`"), "{err}");
}
