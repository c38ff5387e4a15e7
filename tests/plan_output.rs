//! Snapshots of what operators and scripts read: plan text, JSON and --diff, for a first apply
//! of the seed and for a plan with every kind of change. A change here is a reviewed diff.

use lvsync::desired::{desired, render_diff};
use lvsync::inventory::Inventory;
use lvsync::model;
use lvsync::plan::{RenderOptions, plan, render_json, render_text};
use lvsync::state::*;

fn seed() -> State {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/seed-dr.yaml")).unwrap();
    desired(&model::load(&text).unwrap(), &Overlays::default())
}

const EDITED: &str = r#"
version: 1
ipvs:
  timeouts: {tcp: 600}
services:
  - name: web
    vip: 192.168.2.110
    port: 80
    scheduler: wrr
    real_servers:
      - {address: 192.168.2.106, weight: 3}
      - {address: 192.168.2.108}
  - name: dns
    vip: 192.168.2.110
    port: 53
    protocol: udp
    scheduler: sh
    scheduler_flags: [sh-port]
    persistence: {timeout: 300}
    real_servers:
      - {address: 192.168.2.106, forward: tun, tunnel: {type: gue, port: 6080, checksum: csum}}
firewall:
  - {name: web-http, action: accept, service: web, sources: [192.168.0.0/16]}
  - {name: vip-rest, action: drop, destination: 192.168.2.110/32}
"#;

/// A live director where someone changed things by hand, plus a service lvsync applied before
/// (`old`) and one it never managed.
fn live() -> (State, Inventory) {
    let mut s = seed();
    let web: ServiceKey = "tcp/192.168.2.110:80".parse().unwrap();
    s.services.get_mut(&web).unwrap().name = Some("web".into());
    let old: ServiceKey = "tcp/192.168.2.111:443".parse().unwrap();
    let foreign: ServiceKey = "tcp/10.1.1.1:8080".parse().unwrap();
    let one = |a: &str| {
        [(
            RealKey { address: a.parse().unwrap(), port: 443 },
            RealServer { weight: 1, forward: Forward::Dr, upper_threshold: 0, lower_threshold: 0 },
        )]
        .into()
    };
    s.services
        .insert(old, Service { name: Some("old".into()), attrs: ServiceAttrs::default(), reals: one("192.168.2.106") });
    s.services.insert(foreign, Service { name: None, attrs: ServiceAttrs::default(), reals: one("10.1.1.2") });
    s.timeouts = Timeouts { tcp: Some(900), tcp_fin: Some(120), udp: Some(300) };
    let inventory = Inventory {
        services: [(web, Some("web".into())), (old, Some("old".into()))].into(),
        found: true,
        ..Default::default()
    };
    (s, inventory)
}

fn edited() -> State {
    desired(&model::load(EDITED).unwrap(), &Overlays::default())
}

#[test]
fn first_apply_of_the_seed_creates_everything() {
    let p = plan(&seed(), &State::default(), Ownership::Managed, &Inventory::default());
    insta::assert_snapshot!(render_text(&p, RenderOptions::default()));
}

#[test]
fn every_kind_of_change_as_text() {
    let (live, inv) = live();
    let p = plan(&edited(), &live, Ownership::Managed, &inv);
    insta::assert_snapshot!(render_text(&p, RenderOptions::default()));
}

#[test]
fn every_kind_of_change_as_json() {
    let (live, inv) = live();
    let p = plan(&edited(), &live, Ownership::Managed, &inv);
    insta::assert_snapshot!(serde_json::to_string_pretty(&render_json(&p)).unwrap());
}

#[test]
fn every_kind_of_change_as_diff() {
    let (live, inv) = live();
    let desired = edited();
    let p = plan(&desired, &live, Ownership::Managed, &inv);
    insta::assert_snapshot!(render_diff(&live, &desired, &p));
}

#[test]
fn no_changes_says_so() {
    let s = seed();
    let p = plan(&s, &s, Ownership::Managed, &Inventory::default());
    assert_eq!(render_text(&p, RenderOptions::default()), "No changes.\n");
    let json = render_json(&p);
    assert_eq!(json["changes"], serde_json::json!([]));
    assert_eq!(json["summary"], serde_json::json!({"create": 0, "update": 0, "delete": 0}));
}

#[test]
fn colour_only_when_asked() {
    let p = plan(&seed(), &State::default(), Ownership::Managed, &Inventory::default());
    assert!(!render_text(&p, RenderOptions { color: false }).contains('\x1b'));
    let coloured = render_text(&p, RenderOptions { color: true });
    assert!(coloured.contains("\x1b[32m+\x1b[0m"), "{coloured}");
}

#[test]
fn json_printed_directly_is_the_same_as_the_saved_value() {
    let (live, inv) = live();
    let p = plan(&edited(), &live, Ownership::Managed, &inv);
    assert_eq!(
        serde_json::to_string_pretty(&lvsync::plan::json(&p)).unwrap(),
        serde_json::to_string_pretty(&render_json(&p)).unwrap()
    );
}
