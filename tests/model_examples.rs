//! Every file in examples/ is a valid desired-state file, and resolves as its comments say.

use std::net::IpAddr;

use lvsync::model::{FirewallAction, load};
use lvsync::state::{Family, Forward, Hook, Netmask, Protocol, RealKey, Scheduler, ServiceKey, TunnelType};

fn example(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn every_example_validates_and_names_the_schema() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema=../schema/lvsync.schema.json\n"),
            "{} must start with the schema comment",
            path.display()
        );
        if let Err(d) = load(&text) {
            panic!("{} does not validate:\n{}", path.display(), d.render(&path.display().to_string()));
        }
        seen += 1;
    }
    assert!(seen >= 4, "expected at least the four seed/full examples, found {seen}");
}

#[test]
fn seed_dr_is_the_classic_director() {
    let c = load(&example("seed-dr.yaml")).unwrap();
    assert_eq!(c.services.len(), 1);
    let web = &c.services[0];
    assert_eq!(web.name, "web");
    assert_eq!(web.key, ServiceKey::Addr { protocol: Protocol::Tcp, vip: ip("192.168.2.110"), port: 80 });
    assert_eq!(web.service.attrs.scheduler, Scheduler::Rr);
    let reals: Vec<_> = web.service.reals.iter().collect();
    assert_eq!(reals.len(), 2);
    assert_eq!(*reals[0].0, RealKey { address: ip("192.168.2.106"), port: 80 });
    assert_eq!(*reals[1].0, RealKey { address: ip("192.168.2.107"), port: 80 });
    assert!(reals.iter().all(|(_, r)| r.weight == 1 && r.forward == Forward::Dr));
    // Accept the service, then drop everything else to the VIP.
    assert_eq!(c.firewall.len(), 2);
    let (accept, drop) = (&c.firewall[0], &c.firewall[1]);
    assert_eq!(accept.action, FirewallAction::Accept);
    assert_eq!(accept.destination.unwrap().to_string(), "192.168.2.110/32");
    assert_eq!((accept.protocol, accept.port), (Some(Protocol::Tcp), Some(80)));
    assert_eq!(drop.action, FirewallAction::Drop);
    assert_eq!(drop.destination.unwrap().to_string(), "192.168.2.110/32");
    assert_eq!((drop.protocol, drop.port), (None, None));
    assert!(c.firewall.iter().all(|i| i.hook == Hook::Input && i.family == Some(Family::Ipv4)));
}

#[test]
fn seed_nat_puts_real_servers_behind_the_director() {
    let c = load(&example("seed-nat.yaml")).unwrap();
    let web = &c.services[0];
    assert!(web.service.reals.keys().all(|k| k.address.to_string().starts_with("10.10.10.") && k.port == 80));
    assert!(web.service.reals.values().all(|r| r.forward == Forward::Nat));
    let forward: Vec<_> = c.firewall.iter().filter(|i| i.hook == Hook::Forward).collect();
    assert!(!forward.is_empty());
    assert_eq!(forward[0].action, FirewallAction::Accept);
    assert_eq!(forward[0].sources[0].to_string(), "10.10.10.0/24");
}

#[test]
fn seed_tun_tunnels_over_ipip() {
    let c = load(&example("seed-tun.yaml")).unwrap();
    let web = &c.services[0];
    assert!(web.service.reals.values().all(|r| matches!(r.forward, Forward::Tun(t) if t.kind == TunnelType::Ipip)));
}

#[test]
fn full_resolves_defaults_overrides_and_intents() {
    let c = load(&example("full.yaml")).unwrap();
    assert_eq!(c.timeouts.tcp, Some(900));
    let by_name = |n: &str| c.services.iter().find(|s| s.name == n).unwrap();
    let https = by_name("https");
    let p = https.service.attrs.persistence.as_ref().unwrap();
    assert_eq!((p.timeout, p.netmask), (600, Netmask::V4("255.255.255.0".parse().unwrap())));
    let nat = &https.service.reals[&RealKey { address: ip("10.10.10.2"), port: 8443 }];
    assert_eq!((nat.forward, nat.weight), (Forward::Nat, 0));
    let v6 = by_name("v6-all-ports");
    assert_eq!(v6.service.attrs.persistence.as_ref().unwrap().netmask, Netmask::V6(64));
    let gue = &v6.service.reals[&RealKey { address: ip("2001:db8:1::6"), port: 0 }];
    assert!(matches!(gue.forward, Forward::Tun(t) if t.kind == TunnelType::Gue { port: 6080 }));
    let marked = by_name("marked");
    assert_eq!(marked.key, ServiceKey::Fwmark { family: Family::Ipv4, mark: 42 });
    let intent = c.firewall.iter().find(|i| i.name == "marked-in").unwrap();
    assert_eq!((intent.fwmark, intent.family, intent.destination), (Some(42), Some(Family::Ipv4), None));
    let v6_in = c.firewall.iter().find(|i| i.name == "v6-in").unwrap();
    assert_eq!((v6_in.port, v6_in.protocol), (None, Some(Protocol::Sctp)), "port 0 means all ports: no --dport");
    let anything = c.firewall.iter().find(|i| i.name == "anything-else-forwarded").unwrap();
    assert_eq!(anything.family, None, "a rule naming no address applies to both families");
    // Health: the https service's check, overridden by one real server, turned off on another.
    let h = &https.health;
    assert_eq!(h.checks.len(), 3);
    assert_eq!(h.checks[&RealKey { address: ip("192.168.2.107"), port: 443 }].target.port, 22);
    assert_eq!(h.checks[&RealKey { address: ip("10.10.10.2"), port: 8443 }].target.port, 8443);
    assert_eq!(h.drain_timeout, std::time::Duration::from_secs(30));
    assert!(h.fallback.is_some());
    assert_eq!(v6.health.drain_timeout, std::time::Duration::ZERO);
    assert_eq!(marked.health.checks.len(), 1, "`check: none` turns probing off");
}
