//! A snapshot from a real director: in User-Mode Linux lvsync applies a file, the table drifts
//! by hand, `export --format json` takes a snapshot and `plan NEW` plans there; then on the host,
//! with no kernel and no state directory, `plan NEW --observed SNAPSHOT` must plan the same.

mod ipvs_support;
mod uml_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use ipvs_support::{director_network, scratch, sh};

const OLD: &str = "\
version: 1
services:
  - name: web
    vip: 10.1.0.1
    port: 80
    scheduler: rr
    real_servers:
      - {address: 10.1.1.1, weight: 1}
      - {address: 10.1.1.2, weight: 1}
  - name: dns
    vip: 10.1.0.2
    port: 53
    protocol: udp
    real_servers:
      - {address: 10.1.1.3}
firewall:
  - {name: web-in, service: web, action: accept, sources: [10.0.0.0/8]}
  - {name: v6-closed, destination: \"2001:db8:1::1\", action: drop}
";

const NEW: &str = "\
version: 1
services:
  - name: web
    vip: 10.1.0.1
    port: 80
    scheduler: wrr
    health: {check: tcp}
    real_servers:
      - {address: 10.1.1.1, weight: 3}
      - {address: 10.1.1.4, weight: 1}
firewall:
  - {name: web-in, service: web, action: accept, sources: [10.0.0.0/8, 192.168.0.0/16]}
";

fn work() -> PathBuf {
    scratch().join("snapshot-uml")
}

fn lvsync(args: &[&str], state: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_lvsync"))
        .args(args)
        .args(["--state-dir", state.to_str().unwrap(), "--iptables", "iptables-legacy"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let (o, e) = (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
    eprintln!("$ lvsync {}\n{o}{e}", args.join(" "));
    (out.status.code().unwrap_or(-1), o, e)
}

fn on_the_director() {
    director_network();
    let dir = work();
    let (old, new) = (dir.join("old.yaml"), dir.join("new.yaml"));
    let state = dir.join("state");
    let (code, _, _) = lvsync(&["apply", old.to_str().unwrap()], &state);
    assert_eq!(code, 0);
    // Drift by hand, and a service lvsync does not manage.
    sh("ipvsadm -e -t 10.1.0.1:80 -r 10.1.1.2:80 -g -w 7");
    sh("ipvsadm -A -t 10.1.0.9:8080 -s rr && ipvsadm -a -t 10.1.0.9:8080 -r 10.1.1.9:8080 -g");
    // `watch` found 10.1.1.1 down (its record in the state directory, as `watch` writes it):
    // the director's plan keeps it at weight 0, and so must the plan against the snapshot.
    let config = lvsync::model::load(NEW).unwrap();
    let real = lvsync::state::RealKey { address: "10.1.1.1".parse().unwrap(), port: 80 };
    let check = lvsync::watch::stored::fingerprint(&config.services[0].health.checks[&real].target);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let record = serde_json::json!({
        "written": now,
        "services": [{"name": "web", "service": "tcp/10.1.0.1:80", "real_servers": [
            {"real_server": "10.1.1.1:80", "file_weight": 3, "health": "down", "since": null, "last_probe": "fail",
             "last_error": "tcp: connection refused", "overlay": null, "drain_left_s": null, "check": check, "since_s": now - 60},
            {"real_server": "10.1.1.4:80", "file_weight": 1, "health": "up", "since": null, "last_probe": "pass",
             "last_error": null, "overlay": null, "drain_left_s": null, "check": check, "since_s": now - 60}
        ]}]
    });
    std::fs::write(state.join(lvsync::watch::status::FILE), record.to_string()).unwrap();
    let (code, snapshot, _) = lvsync(&["export", "--format", "json"], &state);
    assert_eq!(code, 0);
    std::fs::write(dir.join("snapshot.json"), snapshot).unwrap();
    let (code, plan, _) = lvsync(&["plan", new.to_str().unwrap(), "--format", "json", "--detailed-exitcode"], &state);
    assert_eq!(code, 2);
    std::fs::write(dir.join("director-plan.json"), plan).unwrap();
    let (code, text, _) = lvsync(&["plan", new.to_str().unwrap()], &state);
    assert_eq!(code, 0);
    std::fs::write(dir.join("director-plan.txt"), text).unwrap();
}

#[test]
fn plan_against_a_directors_snapshot_on_the_host_equals_plan_on_the_director() {
    if !uml_support::inside() {
        let dir = work();
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("old.yaml"), OLD).unwrap();
        std::fs::write(dir.join("new.yaml"), NEW).unwrap();
    }
    uml_support::test_in_kernel(
        "plan_against_a_directors_snapshot_on_the_host_equals_plan_on_the_director",
        scratch(),
        on_the_director,
    );
    if uml_support::inside() {
        return;
    }
    // On the host: no IPVS table of the director, no state directory.
    let dir = work();
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    let snapshot: serde_json::Value = serde_json::from_str(&read("snapshot.json")).unwrap();
    assert_eq!(snapshot["format_version"], "1");
    assert!(snapshot["firewall"].as_array().unwrap().len() >= 2, "both families' chains: {snapshot}");
    assert!(snapshot["inventory"]["services"].get("udp/10.1.0.2:53").is_some(), "{snapshot}");
    // Only the `down` verdict travels; every real server was idle.
    let health = snapshot["health"].to_string();
    assert!(health.contains("10.1.1.1:80") && !health.contains("10.1.1.4:80"), "{snapshot}");
    assert_eq!(snapshot["active_conns"], serde_json::json!([]), "{snapshot}");
    let director: serde_json::Value = serde_json::from_str(&read("director-plan.json")).unwrap();
    let held = director["changes"].as_array().unwrap().iter().find(|c| c["id"] == "tcp/10.1.0.1:80/10.1.1.1:80");
    assert!(held.is_some_and(|c| c["after"]["weight"] == 0 && c["reason"].to_string().contains("down")), "{director}");
    let nowhere = Path::new("/nonexistent/lvsync-state");
    let (new, snap) = (dir.join("new.yaml"), dir.join("snapshot.json"));
    let args = ["plan", new.to_str().unwrap(), "--observed", snap.to_str().unwrap(), "--format", "json"];
    let (code, out, _) = lvsync(&[&args[..], &["--detailed-exitcode"]].concat(), nowhere);
    assert_eq!(code, 2);
    let host: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(host["changes"], director["changes"]);
    assert_eq!(host["unmanaged"], director["unmanaged"]);
    assert_eq!(host["summary"], director["summary"]);
    let kinds: Vec<&str> = host["changes"].as_array().unwrap().iter().map(|c| c["kind"].as_str().unwrap()).collect();
    for kind in ["service", "real_server", "firewall_chain"] {
        assert!(kinds.contains(&kind), "no {kind} change in {kinds:?}");
    }
    // The text plan too: the same lines after the note that says where the state came from.
    let (code, text, _) = lvsync(&["plan", new.to_str().unwrap(), "--observed", snap.to_str().unwrap()], nowhere);
    assert_eq!(code, 0);
    let note = text.find("\n\n").map_or(0, |i| i + 2);
    assert!(text.starts_with("Note: planned against the snapshot of "), "{text}");
    assert_eq!(&text[note..], read("director-plan.txt"));
    assert!(text.contains("~ real server 10.1.1.2:80") || text.contains("- real server 10.1.1.2:80"), "{text}");
}
