//! `lvsync lab FILE --failover` end to end: the real binary boots User-Mode Linux with two
//! directors running keepalived (configured by lvsync) and IPVS connection sync; lb1's link goes
//! down halfway. The VIP moves, the connection opened before survives, every request is served.

use std::process::Command;

const LVSYNC: &str = env!("CARGO_BIN_EXE_lvsync");

#[test]
fn the_failover_lab_moves_the_vip_and_keeps_the_connection() {
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("lab-failover-cache");
    let out = Command::new(LVSYNC)
        .args(["lab", "examples/seed-ha.yaml", "--failover", "--requests", "16", "--format", "json"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("XDG_CACHE_HOME", &cache)
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let f = &report["failover"];
    let seconds = f["seconds"].as_f64().unwrap_or_else(|| panic!("the VIP did not move: {report}"));
    assert!(seconds > 0.0 && seconds < 15.0, "{report}");
    assert_eq!(f["failed_requests"], 0, "{report}");
    assert_eq!((f["connections_kept"].as_u64(), f["connections_opened"].as_u64()), (Some(1), Some(1)), "{report}");
    let web = &report["services"][0];
    assert_eq!(web["requests"], 16);
    assert_eq!(web["by_real"]["192.168.2.106:80"], 8, "{report}");
    assert_eq!(web["by_real"]["192.168.2.107:80"], 8, "{report}");
    assert!(stderr.contains("the VIP 192.168.2.110 is on lb1"), "{stderr}");
    assert!(stderr.contains("setting lb1's link down") && stderr.contains("the VIP moved to lb2"), "{stderr}");
    assert!(stderr.contains("keepalived is not running: wrote its configuration"), "{stderr}");
}

#[test]
fn failover_without_ha_is_refused_before_booting() {
    let out = Command::new(LVSYNC)
        .args(["lab", "examples/seed-dr.yaml", "--failover"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("has no `ha`: `--failover` needs the directors in `ha.nodes`"), "{stderr}");
}
