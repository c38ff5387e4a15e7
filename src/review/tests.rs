use super::*;
use crate::model::load;

const BASE: &str = "\
version: 1
services:
  - name: web
    vip: 192.168.2.110
    port: 80
    health: {check: tcp, interval: 2, timeout: 1}
    real_servers:
      - {address: 192.168.2.106}
      - {address: 192.168.2.107, health: {check: http, http: {path: /up}}}
";

fn lines(old: &str, new: &str) -> Vec<String> {
    let r = review(&load(old).unwrap(), &load(new).unwrap());
    r.settings.iter().map(|s| format!("{} {}", s.action().as_str(), s.line())).collect()
}

#[test]
fn one_real_servers_override_is_named_and_a_shared_setting_is_said_once() {
    let new = BASE.replace("path: /up", "path: /ready").replace("interval: 2", "interval: 3");
    assert_eq!(
        lines(BASE, &new),
        [
            "update health of web: interval 2s -> 3s (every real server)",
            "update health of web: path /up -> /ready (real server 192.168.2.107:80)",
        ]
    );
}

#[test]
fn ownership_and_a_removed_services_checks_are_settings_too() {
    let new = "version: 1\nownership: exclusive\nservices: []\n";
    let got = lines(BASE, new);
    assert_eq!(got[0], "update ownership: managed -> exclusive");
    assert!(got[1].starts_with("delete health of web: http, port 80, path /up"), "{got:?}");
    assert!(got[2].starts_with("delete health of web: tcp, port 80, interval 2s"), "{got:?}");
    assert_eq!(got.len(), 3, "{got:?}");
    // The service itself is a kernel change: the old file's services are lvsync's.
    let r = review(&load(BASE).unwrap(), &load(new).unwrap());
    assert_eq!(r.plan.summary().delete, 1);
}

#[test]
fn the_same_file_is_no_review() {
    assert!(review(&load(BASE).unwrap(), &load(BASE).unwrap()).is_empty());
}

const PAIR: &str = "\
version: 1
ipvs:
  sync: {interface: eth0, id: 51}
ha:
  engine: keepalived
  interface: eth0
  vrid: 51
  nodes:
    - {name: lb1, address: 192.168.2.101, priority: 150}
    - {name: lb2, address: 192.168.2.102, priority: 100}
services:
  - name: web
    vip: 192.168.2.110
    port: 80
    real_servers:
      - {address: 192.168.2.106}
";

#[test]
fn ha_and_ipvs_sync_changes_show() {
    let new =
        PAIR.replace("vrid: 51", "vrid: 52").replace("priority: 100", "priority: 120").replace("id: 51}", "id: 52}");
    assert_eq!(
        lines(PAIR, &new),
        [
            "update ha: vrid 51 -> 52",
            "update ha: nodes lb1 192.168.2.101 priority 150, lb2 192.168.2.102 priority 100 -> lb1 192.168.2.101 priority 150, lb2 192.168.2.102 priority 120",
        ]
    );
    // The sync daemons are kernel state: the plan restarts both.
    let r = review(&load(PAIR).unwrap(), &load(&new).unwrap());
    let sync: Vec<_> = r.plan.changes.iter().filter(|c| c.kind() == "ipvs_sync").collect();
    assert_eq!(sync.len(), 2, "{:?}", r.plan.changes);
    assert!(sync.iter().all(|c| c.action() == crate::plan::Action::Update));
    // `ha` left out: one line, with what it was.
    let without = PAIR.split("ha:\n").next().unwrap().to_string()
        + "services:\n  - {name: web, vip: 192.168.2.110, port: 80, real_servers: [{address: 192.168.2.106}]}\n";
    let got = lines(PAIR, &without);
    assert_eq!(
        got,
        [
            "delete ha: keepalived on eth0, vrid 51: lb1 192.168.2.101 priority 150, lb2 192.168.2.102 priority 100; VIPs 192.168.2.110"
        ]
    );
}

/// A real server that leaves the file drains on a director before it goes, and the review
/// says so on its line, with its service's `drain_timeout`; `drain_timeout: 0` deletes at once.
#[test]
fn a_real_server_that_leaves_is_shown_draining_first() {
    let new = BASE.replace("      - {address: 192.168.2.107, health: {check: http, http: {path: /up}}}\n", "");
    let text = render_text(&review(&load(BASE).unwrap(), &load(&new).unwrap()), false);
    assert!(
        text.contains("- real server 192.168.2.107:80 of web (on a director it drains first: weight 0 while it has active connections, at most drain_timeout 60 s)"),
        "{text}"
    );
    let at_once = new.replace("    real_servers:", "    drain_timeout: 0\n    real_servers:");
    let text = render_text(&review(&load(BASE).unwrap(), &load(&at_once).unwrap()), false);
    assert!(text.contains("- real server 192.168.2.107:80 of web\n"), "{text}");
    let gone = review(&load(BASE).unwrap(), &load("version: 1\nservices: []\n").unwrap());
    let text = render_text(&gone, false);
    assert!(
        text.contains("Note: on a director, a service that leaves the file goes once its real servers have drained"),
        "{text}"
    );
}
