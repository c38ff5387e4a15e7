//! `lvsync lab` end to end, through the real binary: a User-Mode Linux kernel per run, the
//! director built and applied by lvsync itself, real TCP and UDP traffic counted per real server.

mod uml_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use lvsync::lab::Lab;

const LVSYNC: &str = env!("CARGO_BIN_EXE_lvsync");

fn scratch() -> &'static Path {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
}

/// A desired-state file in this test's own directory on disk (the kernel sees the host's disk).
fn file(name: &str, yaml: &str) -> PathBuf {
    let dir = scratch().join("lab-e2e");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, yaml).unwrap();
    path
}

fn lab(file: &Path, extra: &[&str]) -> (Output, serde_json::Value) {
    let out = Command::new(LVSYNC).arg("lab").arg(file).args(["--format", "json"]).args(extra).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!("lab printed no JSON report ({e}):\n{stdout}\nstderr:\n{}", String::from_utf8_lossy(&out.stderr))
    });
    (out, report)
}

fn assert_answers(file: &Path, service: &str, expected: serde_json::Value) {
    let (out, report) = lab(file, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let svc = report["services"].as_array().unwrap().iter().find(|s| s["name"] == service).unwrap();
    assert_eq!(svc["by_real"], expected, "{report:#}\n{stderr}");
    assert_eq!(svc["failed"], 0, "{report:#}\n{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

#[test]
fn seed_dr_with_round_robin_gives_sixteen_and_sixteen() {
    let expected = serde_json::json!({"192.168.2.106:80": 16, "192.168.2.107:80": 16});
    assert_answers(Path::new("examples/seed-dr.yaml"), "web", expected);
}

#[test]
fn seed_nat_with_round_robin_gives_sixteen_and_sixteen() {
    let expected = serde_json::json!({"10.10.10.2:80": 16, "10.10.10.3:80": 16});
    assert_answers(Path::new("examples/seed-nat.yaml"), "web", expected);
}

#[test]
fn seed_tun_with_round_robin_gives_sixteen_and_sixteen() {
    let expected = serde_json::json!({"192.168.2.106:80": 16, "192.168.2.107:80": 16});
    assert_answers(Path::new("examples/seed-tun.yaml"), "web", expected);
}

#[test]
fn weighted_round_robin_gives_the_weights_proportion_exactly_and_udp_balances_too() {
    let f = file(
        "wrr-udp.yaml",
        r#"version: 1
services:
  - name: web
    vip: 192.168.2.110
    port: 80
    scheduler: wrr
    real_servers:
      - {address: 192.168.2.106, weight: 1}
      - {address: 192.168.2.107, weight: 3}
  - name: dns
    vip: 192.168.2.110
    port: 53
    protocol: udp
    scheduler: rr
    forward: nat
    real_servers:
      - {address: 10.10.10.2, port: 5353}
      - {address: 10.10.10.3, port: 5353}
"#,
    );
    let (out, report) = lab(&f, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        report,
        serde_json::json!({"services": [
            {"name": "web", "requests": 32, "failed": 0, "by_real": {"192.168.2.106:80": 8, "192.168.2.107:80": 24}},
            {"name": "dns", "requests": 32, "failed": 0, "by_real": {"10.10.10.2:5353": 16, "10.10.10.3:5353": 16}},
        ]}),
        "{stderr}"
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

#[test]
fn ipv6_services_balance_in_dr_and_nat() {
    let f = file(
        "ipv6.yaml",
        r#"version: 1
services:
  - {name: web6, vip: "2001:db8::110", port: 80, scheduler: rr,
     real_servers: [{address: "2001:db8::106"}, {address: "2001:db8::107"}]}
  - {name: dns6, vip: "2001:db8::110", port: 53, protocol: udp, scheduler: rr, forward: nat,
     real_servers: [{address: "2001:db8:10::2"}, {address: "2001:db8:10::3"}]}
"#,
    );
    let (out, report) = lab(&f, &["--requests", "8"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        report,
        serde_json::json!({"services": [
            {"name": "web6", "requests": 8, "failed": 0, "by_real": {"[2001:db8::106]:80": 4, "[2001:db8::107]:80": 4}},
            {"name": "dns6", "requests": 8, "failed": 0, "by_real": {"[2001:db8:10::2]:53": 4, "[2001:db8:10::3]:53": 4}},
        ]}),
        "{stderr}"
    );
}

#[test]
fn every_tunnel_type_and_checksum_carries_traffic_and_tunnelled_real_servers_may_live_elsewhere() {
    let f = file(
        "tunnels.yaml",
        r#"version: 1
services:
  - {name: gue, vip: 192.168.2.113, port: 80, scheduler: rr, forward: tun, tunnel: {type: gue, port: 6080, checksum: csum},
     real_servers: [{address: 192.168.2.106}, {address: 192.168.2.107}]}
  - {name: gue-remcsum, vip: 192.168.2.115, port: 80, scheduler: rr, forward: tun,
     tunnel: {type: gue, port: 6081, checksum: remcsum},
     real_servers: [{address: 192.168.2.106}, {address: 192.168.2.107}]}
  - {name: gre, vip: 192.168.2.114, port: 80, scheduler: rr, forward: tun, tunnel: {type: gre, checksum: csum},
     real_servers: [{address: 192.168.2.106}, {address: 192.168.2.107}]}
  - {name: far, vip: 192.168.2.112, port: 80, scheduler: rr, forward: tun,
     real_servers: [{address: 192.168.2.106}, {address: 172.16.5.9}]}
"#,
    );
    let (out, report) = lab(&f, &["--requests", "8"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    for s in report["services"].as_array().unwrap() {
        let answers: Vec<&serde_json::Value> = s["by_real"].as_object().unwrap().values().collect();
        assert_eq!((&s["failed"], answers), (&0.into(), vec![&4.into(), &4.into()]), "{s}\n{stderr}");
    }
    assert_eq!(report["services"].as_array().unwrap().len(), 4, "{report}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");
}

#[test]
fn a_firewall_intent_that_drops_the_service_makes_every_request_fail() {
    let f = file(
        "dropped.yaml",
        r#"version: 1
services:
  - name: web
    vip: 192.168.2.110
    port: 80
    scheduler: rr
    real_servers: [{address: 192.168.2.106}, {address: 192.168.2.107}]
firewall:
  - {name: web-closed, action: drop, service: web}
"#,
    );
    let (out, report) = lab(&f, &["--requests", "16"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        report,
        serde_json::json!({"services": [
            {"name": "web", "requests": 16, "failed": 16, "by_real": {"192.168.2.106:80": 0, "192.168.2.107:80": 0}},
        ]}),
        "{stderr}"
    );
    assert_eq!(out.status.code(), Some(1), "any failed request fails the run: {stderr}");
}

#[test]
fn text_output_is_a_table_per_service_and_progress_goes_to_stderr() {
    let cache = scratch().join("lab-e2e-cache");
    let out = Command::new(LVSYNC)
        .args(["lab", "examples/seed-dr.yaml", "--requests", "4"])
        .env("XDG_CACHE_HOME", &cache)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stdout,
        "service web (tcp/192.168.2.110:80): 4 requests, 0 failed\n  \
         real server       answers   share\n  \
         192.168.2.106:80        2   50.0%\n  \
         192.168.2.107:80        2   50.0%\n",
        "{stderr}"
    );
    for step in ["booting User-Mode Linux", "applying", "sending 4 tcp connections to web", "done in"] {
        assert!(stderr.contains(step), "no progress `{step}` in:\n{stderr}");
    }
    let left: Vec<_> = std::fs::read_dir(cache.join("lvsync")).unwrap().collect();
    assert!(left.is_empty(), "the work directory was not removed: {left:?}");
}

#[test]
fn an_invalid_file_is_refused_before_any_kernel_boots() {
    let f = file("invalid.yaml", "version: 1\nservices:\n  - name: web\n    vip: 192.168.2.300\n    port: 80\n");
    let out = Command::new(LVSYNC).arg("lab").arg(&f).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr.contains("invalid.yaml:4:") && stderr.contains("192.168.2.300"), "{stderr}");
    assert!(!stderr.contains("booting"), "{stderr}");
}

/// Inside one kernel: hold a connection, apply a file that changes weights, and the held
/// connection still answers from the same real server while new connections follow the new
/// weights.
#[test]
fn a_weight_change_applied_while_a_long_connection_is_open_leaves_it_working() {
    uml_support::test_in_kernel(
        "a_weight_change_applied_while_a_long_connection_is_open_leaves_it_working",
        scratch(),
        || {
            let weights = |w106: u32, w107: u32| {
                format!(
                    "version: 1\nservices:\n  - name: web\n    vip: 192.168.2.110\n    port: 80\n    scheduler: wrr\n    \
                 real_servers:\n      - {{address: 192.168.2.106, weight: {w106}}}\n      - {{address: 192.168.2.107, weight: {w107}}}\n"
                )
            };
            let before = file("weights-before.yaml", &weights(1, 1));
            let config = lvsync::model::load(&weights(1, 1)).unwrap();
            let lab = Lab::build(&config, &before, Path::new(LVSYNC)).unwrap();
            lab.apply(&before).unwrap();
            let web = lab.target("web").unwrap();
            let mut held = lab.hold(web).unwrap();
            let first = held.first.clone();
            // The held connection's real server takes no new connections; the other takes them all.
            let after = if first.starts_with("192.168.2.106") { weights(0, 5) } else { weights(5, 0) };
            let said = lab.apply(&file("weights-after.yaml", &after)).unwrap();
            assert!(said.contains("0 created, 2 updated, 0 deleted"), "both weights changed in place: {said}");
            for _ in 0..5 {
                assert_eq!(held.ping().unwrap(), first, "the held connection moved or broke");
            }
            let fresh = lab.send(web, 8);
            assert_eq!(fresh.failed, 0, "{fresh:?}");
            assert_eq!(fresh.by_real[&first], 0, "the new weights apply to new connections: {fresh:?}");
            assert_eq!(held.ping().unwrap(), first);
        },
    );
}
