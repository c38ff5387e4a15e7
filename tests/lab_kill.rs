//! `lvsync lab FILE --kill ADDR[:PORT]` end to end, through the real binary in User-Mode Linux:
//! `lvsync watch` probes the real servers, one real server's responder stops after half the
//! requests, and the report says when it stopped, when the director took it out, and that every
//! request after that was served by the others.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const LVSYNC: &str = env!("CARGO_BIN_EXE_lvsync");
const INTERVAL: f64 = 0.5;
const FALL: f64 = 2.0;
const TIMEOUT: f64 = 0.3;

fn file(name: &str, yaml: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("lab-kill");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, yaml).unwrap();
    path
}

/// NAT, three real servers, tcp checks; `api` shares the real servers on another port and
/// deletes a failed one instead of quiescing it.
fn nat(health: &str) -> String {
    format!(
        "version: 1
services:
  - name: web
    vip: 192.168.2.110
    port: 80
    scheduler: rr
    forward: nat
    {health}
    real_servers:
      - address: 10.10.10.2
      - address: 10.10.10.3
      - address: 10.10.10.4
  - name: api
    vip: 192.168.2.110
    port: 8080
    scheduler: rr
    forward: nat
    health: {{check: tcp, interval: {INTERVAL}, timeout: {TIMEOUT}, fall: {FALL}, rise: 1, on_failure: remove}}
    real_servers:
      - address: 10.10.10.2
      - address: 10.10.10.3
"
    )
}

fn lab(file: &Path, extra: &[&str]) -> Output {
    Command::new(LVSYNC).arg("lab").arg(file).args(extra).output().unwrap()
}

fn count(v: &serde_json::Value) -> u64 {
    v.as_object().unwrap().values().map(|n| n.as_u64().unwrap()).sum()
}

#[test]
fn a_killed_real_server_is_taken_out_and_the_second_half_is_served_by_the_others() {
    // The lab boots User-Mode Linux itself; a machine without it fails here, never skips.
    assert!(Path::new(lvsync::lab::kernel::UML).exists(), "{} is missing", lvsync::lab::kernel::UML);
    let health = format!("health: {{check: tcp, interval: {INTERVAL}, timeout: {TIMEOUT}, fall: {FALL}, rise: 1}}");
    let f = file("kill.yaml", &nat(&health));
    let out = lab(&f, &["--kill", "10.10.10.2", "--requests", "40", "--format", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("no JSON report ({e}):\n{stdout}\n{stderr}"));
    eprintln!("{report:#}");
    assert_eq!(out.status.code(), Some(0), "{stderr}");

    let k = &report["kill"];
    assert_eq!(k["real_server"], "10.10.10.2");
    assert_eq!(k["service"], "web");
    assert_eq!(k["taken_out"], serde_json::json!(["10.10.10.2:80 of web", "10.10.10.2:8080 of api"]));
    let detection = k["detection_seconds"].as_f64().unwrap();
    eprintln!("detection: {detection} s (fall {FALL} x interval {INTERVAL} s, timeout {TIMEOUT} s)");
    assert!(detection > 0.0 && detection <= FALL * INTERVAL + TIMEOUT + 1.5, "{k:#}");
    assert!(k["stopped_after_seconds"].as_f64().unwrap() > 0.0, "{k:#}");

    // First half: all three answer, in turn.
    let before = &k["before"];
    assert_eq!((before["requests"].as_u64(), before["failed"].as_u64()), (Some(20), Some(0)), "{k:#}");
    assert!(before["by_real"]["10.10.10.2:80"].as_u64().unwrap() >= 6, "{k:#}");
    // Between the stop and the detection: whatever went to the stopped server failed; nothing
    // else did, and the stopped server answered none.
    let between = &k["between"];
    assert_eq!(between["by_real"]["10.10.10.2:80"], 0, "{k:#}");
    assert_eq!(
        between["requests"].as_u64().unwrap(),
        between["failed"].as_u64().unwrap() + count(&between["by_real"]),
        "{k:#}"
    );
    assert!(between["requests"].as_u64().unwrap() >= 1, "{k:#}");
    // Second half: 0 failed, the others served all of it.
    let after = &k["after"];
    assert_eq!((after["requests"].as_u64(), after["failed"].as_u64()), (Some(20), Some(0)), "{k:#}");
    assert_eq!(after["by_real"]["10.10.10.2:80"], 0, "{k:#}");
    assert_eq!(count(&after["by_real"]), 20, "{k:#}");
    assert!(after["by_real"]["10.10.10.3:80"].as_u64().unwrap() >= 9, "{k:#}");
    assert!(after["by_real"]["10.10.10.4:80"].as_u64().unwrap() >= 9, "{k:#}");

    let web = &report["services"][0];
    assert_eq!((web["requests"].as_u64(), web["failed"].as_u64()), (Some(40), Some(0)), "{report:#}");
    // api was sent to after the detection: the deleted real server got nothing, nothing failed.
    let api = &report["services"][1];
    assert_eq!(api["name"], "api");
    assert_eq!(api["failed"], 0, "{report:#}");
    assert_eq!(api["by_real"], serde_json::json!({"10.10.10.2:8080": 0, "10.10.10.3:8080": 40}), "{report:#}");
}

#[test]
fn a_kill_without_a_health_check_or_of_an_unknown_real_server_is_refused_before_any_boot() {
    let f = file("unchecked.yaml", &nat(""));
    let out = lab(&f, &["--kill", "10.10.10.2:80"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("real server 10.10.10.2:80 of web has no health check"), "{stderr}");
    assert!(!stderr.contains("booting"), "{stderr}");

    let f = file("checked.yaml", &nat("health: {check: tcp}"));
    let out = lab(&f, &["--kill", "10.10.10.9"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--kill `10.10.10.9`: no real server of the file has this address"), "{stderr}");
    let out = lab(&f, &["--kill", "10.10.10.2:http"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("give ADDR or ADDR:PORT"));
}
