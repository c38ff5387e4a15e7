//! What the lab builds for a file, without a kernel.

use super::*;

fn derive(yaml: &str) -> Topology {
    Topology::derive(&crate::model::load(yaml).unwrap())
}

#[test]
fn nat_real_servers_get_their_own_subnet_with_the_director_as_gateway() {
    let t = derive(include_str!("../../../examples/seed-nat.yaml"));
    let nets: Vec<String> =
        t.subnets.iter().map(|s| format!("{} {}/{} {}", s.bridge, s.network, s.prefix, s.director)).collect();
    assert_eq!(nets, ["lvnet0 192.168.2.0/24 192.168.2.1", "lvnet1 10.10.10.0/24 10.10.10.1"]);
    assert_eq!(t.vips, [("192.168.2.110".parse().unwrap(), 0)]);
    assert_eq!(t.client.legs, [(0, "192.168.2.254".parse().unwrap())]);
    let r = &t.reals[0];
    assert_eq!((r.netns.as_str(), r.address.to_string(), r.subnet), ("lab-real0", "10.10.10.2".into(), 1));
    assert!(r.gre_csum_vips.is_empty());
    let l: Vec<String> = r.listeners.iter().map(|l| format!("{} {}:{}", l.protocol, l.local, l.port)).collect();
    assert_eq!(l, ["tcp 10.10.10.2:80"]);
    assert_eq!(t.targets[0].reals, ["10.10.10.2:80", "10.10.10.3:80"]);
    assert!(t.notes.is_empty(), "{:?}", t.notes);
}

#[test]
fn dr_builds_links_addresses_and_routes_only() {
    let t = derive(include_str!("../../../examples/seed-dr.yaml"));
    let steps: Vec<String> = t.steps().iter().map(|s| s.to_string()).collect();
    insta::assert_snapshot!(steps.join("\n"));
}

#[test]
fn tunnels_choose_their_decapsulating_device_and_listen_on_the_vip() {
    let t = derive(
        r#"
version: 1
services:
  - {name: a, vip: 192.168.2.110, port: 80, forward: tun, tunnel: {type: gue, port: 6080},
 real_servers: [{address: 192.168.2.106}]}
  - {name: b, vip: 192.168.2.111, port: 53, protocol: udp, forward: tun, tunnel: {type: gre},
 real_servers: [{address: 192.168.2.106}]}
"#,
    );
    assert_eq!(t.reals.len(), 1, "one namespace per real server address");
    let r = &t.reals[0];
    assert!(r.gre_csum_vips.is_empty());
    let l: Vec<String> = r.listeners.iter().map(|l| format!("{} {}:{}", l.protocol, l.local, l.port)).collect();
    assert_eq!(l, ["tcp 192.168.2.110:80", "udp 192.168.2.111:53"]);
    // The tunnel devices, the fou listener and the sysctls are lvsync's (`--role real-server`).
    let steps: Vec<String> = t.steps().iter().map(|s| s.to_string()).collect();
    assert!(!steps.iter().any(|s| s.contains("fou add") || s.contains("tunl0") || s.contains("gre0")), "{steps:?}");
    assert!(!steps.iter().any(|s| s.starts_with("ip netns exec lab-real0 sysctl")), "{steps:?}");
}

#[test]
fn gre_with_checksums_gets_a_device_that_expects_them() {
    let t = derive(
        r#"
version: 1
services:
  - {name: b, vip: 192.168.2.111, port: 80, forward: tun, tunnel: {type: gre, checksum: csum},
 real_servers: [{address: 192.168.2.106}]}
"#,
    );
    let tun: Vec<String> = t.reals[0].gre_csum_vips.iter().map(|v| v.to_string()).collect();
    assert_eq!(tun, ["192.168.2.111"]);
    let steps: Vec<String> = t.steps().iter().map(|s| s.to_string()).collect();
    let batch = steps.iter().find(|s| s.starts_with("ip -n lab-real0 -batch")).unwrap();
    assert!(batch.contains("link add lvgre type gre local 192.168.2.106 icsum\n    link set lvgre up"), "{batch}");
    let sysctl = steps.iter().find(|s| s.starts_with("ip netns exec lab-real0 sysctl")).unwrap();
    assert!(sysctl.contains("default.rp_filter=0") && !sysctl.contains("lvgre"), "made after the sysctls: {sysctl}");
}

#[test]
fn fwmark_and_sctp_services_are_built_but_not_sent_to_with_a_note() {
    let t = derive(
        r#"
version: 1
services:
  - {name: marked, fwmark: 7, scheduler: rr, real_servers: [{address: 192.168.2.106, port: 80}]}
  - {name: sig, vip: 192.168.2.110, port: 3868, protocol: sctp, real_servers: [{address: 192.168.2.107}]}
"#,
    );
    assert_eq!(t.reals.len(), 2);
    assert!(t.targets.is_empty());
    assert_eq!(t.notes.len(), 2, "{:?}", t.notes);
    assert!(t.notes[0].contains("fwmark 7"), "{}", t.notes[0]);
    assert!(t.notes[1].contains("SCTP"), "{}", t.notes[1]);
}

#[test]
fn the_client_and_director_avoid_addresses_the_file_uses() {
    let t = derive(
        r#"
version: 1
services:
  - {name: a, vip: 192.168.2.1, port: 80, forward: nat, real_servers: [{address: 192.168.2.254}]}
"#,
    );
    assert_eq!(t.subnets[0].director.to_string(), "192.168.2.2");
    assert_eq!(t.client.legs[0].1.to_string(), "192.168.2.253");
    assert!(t.notes[0].contains("shares the VIP's subnet"), "{:?}", t.notes);
}

#[test]
fn ipv6_uses_64_bit_subnets_and_skips_duplicate_address_detection() {
    let t = derive(
        r#"
version: 1
services:
  - {name: web6, vip: "2001:db8::110", port: 80, real_servers: [{address: "2001:db8::106"}]}
"#,
    );
    assert_eq!((t.subnets[0].network.to_string(), t.subnets[0].prefix), ("2001:db8::".into(), 64));
    assert_eq!(t.subnets[0].director.to_string(), "2001:db8::1");
    assert_eq!(t.client.legs[0].1.to_string(), "2001:db8::fe");
    let steps: Vec<String> = t.steps().iter().map(|s| s.to_string()).collect();
    assert!(steps[0].contains("net.ipv6.conf.default.accept_dad=0"), "{}", steps[0]);
    // The VIP on the real server's `lo` is lvsync's (`--role real-server`), not the lab's.
    assert!(!steps.iter().any(|s| s.contains("dev lo")), "{steps:#?}");
    let sysctls = steps.iter().filter(|s| s.contains("eth0.accept_dad=0")).count();
    assert_eq!(sysctls, 2, "the real server and the client: {steps:#?}");
}

#[test]
fn source_hashing_and_persistence_are_noted_as_one_real_server_for_one_client() {
    let t = derive(
        r#"
version: 1
services:
  - {name: a, vip: 192.168.2.110, port: 80, scheduler: sh, real_servers: [{address: 192.168.2.106}]}
  - {name: b, vip: 192.168.2.110, port: 81, scheduler: sh, scheduler_flags: [sh-port],
 real_servers: [{address: 192.168.2.106}]}
  - {name: c, vip: 192.168.2.110, port: 82, scheduler: rr, persistence: {timeout: 60},
 real_servers: [{address: 192.168.2.106}]}
"#,
    );
    assert_eq!(t.notes.len(), 2, "{:?}", t.notes);
    assert!(t.notes[0].starts_with("service a: scheduler sh hashes the client's address"), "{}", t.notes[0]);
    assert!(t.notes[1].starts_with("service c: it is persistent"), "{}", t.notes[1]);
}
