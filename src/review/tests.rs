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
