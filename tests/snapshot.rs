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
    // Dated in the future: a wrong clock on one side, worth a warning past a few minutes.
    let ahead = Snapshot::take(&state, &inventory, "director-1".into(), now + Duration::from_secs(2 * 3600 + 30));
    let warning = ahead.check(now, Duration::from_secs(3600), None).unwrap().expect("from the future");
    assert!(warning.contains("dated 2h 0m in the future") && warning.contains("clock"), "{warning}");
    let skewed = Snapshot::take(&state, &inventory, "director-1".into(), now + Duration::from_secs(60));
    assert_eq!(skewed.check(now, Duration::from_secs(3600), None).unwrap(), None);
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
    let mut snap = Snapshot::take(&state, &inventory, "director-1".into(), SystemTime::now());
    // Every real server idle: one that leaves the file is deleted at once, as the planner says.
    snap.set_active_conns(&BTreeMap::new());
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

/// What `plan` on the director lays over the file, `plan --observed` lays over it from the
/// snapshot: the `down` verdicts `watch` left (the real server stays at weight 0, with why), the
/// fallback while no real server takes traffic, and a drain for a real server that leaves the
/// file with active connections (one without goes at once).
#[test]
fn plan_observed_keeps_health_verdicts_the_fallback_and_drains() {
    let file = "\
version: 1
services:
  - name: web
    vip: 10.1.0.1
    port: 80
    health: {check: tcp}
    fallback: {address: 10.1.1.9}
    real_servers:
      - {address: 10.1.1.1}
      - {address: 10.1.1.2}
  - name: api
    vip: 10.1.0.2
    port: 80
    fallback: {address: 10.1.1.9}
    real_servers:
      - {address: 10.1.1.5, weight: 0}
";
    let live_file = file.replace(
        "      - {address: 10.1.1.5, weight: 0}\n",
        "      - {address: 10.1.1.5, weight: 0}\n      - {address: 10.1.1.6}\n      - {address: 10.1.1.7}\n",
    );
    let config = lvsync::model::load(file).unwrap();
    let live_config = lvsync::model::load(&live_file).unwrap();
    // On the director: `watch` found .1 down and set it to 0 (the fallback stays out: .2 is up).
    let mut state = desired(&live_config, &Overlays::default());
    let web: ServiceKey = "tcp/10.1.0.1:80".parse().unwrap();
    let api: ServiceKey = "tcp/10.1.0.2:80".parse().unwrap();
    let real = |a: &str| lvsync::state::RealKey { address: a.parse().unwrap(), port: 80 };
    state.services.get_mut(&web).unwrap().reals.get_mut(&real("10.1.1.1")).unwrap().weight = 0;
    let inventory = Inventory {
        services: BTreeMap::from([(web, Some("web".to_string())), (api, Some("api".to_string()))]),
        found: true,
        firewall: Some(BTreeSet::new()),
        ..Default::default()
    };
    let now = SystemTime::now();
    let mut snap = Snapshot::take(&state, &inventory, "director-1".into(), now);
    snap.set_active_conns(&BTreeMap::from([((api, real("10.1.1.6")), 3)]));
    let check = &config.services[0].health.checks[&real("10.1.1.1")];
    let since = now.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() - 30;
    snap.health = Some(serde_json::json!({
        "written": since + 20,
        "services": [{"name": "web", "service": "tcp/10.1.0.1:80", "real_servers": [{
            "real_server": "10.1.1.1:80", "file_weight": 1, "health": "down", "since": "10:00:00",
            "last_probe": "fail", "last_error": "tcp: connection refused", "overlay": null,
            "drain_left_s": null, "check": lvsync::watch::stored::fingerprint(&check.target), "since_s": since
        }]}]
    }));
    let files = Files(tempfile::tempdir().unwrap());
    let snap_path = files.write("snap.json", &serde_json::to_string(&snap).unwrap());
    let file_path = files.write("director.yaml", file);

    let (code, text, _) = lvsync(&["plan", &file_path, "--observed", &snap_path]);
    assert_eq!(code, 0);
    // .1 stays at 0 (no change planned for it); api's only real server has weight 0, so the
    // fallback comes in; .6 has connections and drains, idle .7 goes at once.
    assert!(!text.contains("10.1.1.1:80 of web"), "{text}");
    assert!(text.contains("+ real server 10.1.1.9:80 of api"), "{text}");
    assert!(!text.contains("10.1.1.9:80 of web"), "{text}");
    assert!(text.contains("~ real server 10.1.1.6:80 of api: weight 1 -> 0"), "{text}");
    assert!(text.contains("- real server 10.1.1.7:80 of api"), "{text}");
    let (_, json, _) = lvsync(&["plan", &file_path, "--observed", &snap_path, "--format", "json"]);
    let got: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(got["draining"].to_string().contains("10.1.1.6"), "{got}");
    let drained = got["changes"].as_array().unwrap().iter().find(|c| c["id"] == "tcp/10.1.0.2:80/10.1.1.6:80");
    assert!(drained.is_some_and(|c| c["reason"].as_str().unwrap_or("").contains("left the file")), "{got}");

    // The verdict is what keeps .1 at 0: without it, the plan puts .1 back.
    snap.health = None;
    let snap_path = files.write("snap-no-health.json", &serde_json::to_string(&snap).unwrap());
    let (_, text, _) = lvsync(&["plan", &file_path, "--observed", &snap_path]);
    assert!(text.contains("~ real server 10.1.1.1:80 of web: weight 0 -> 1"), "{text}");
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
