//! The host's desired state from the file (director and real-server side), and the diff
//! against an observed host under lvsync's ownership record. Pure: no kernel.

use std::net::IpAddr;

use lvsync::desired::host::{NatCheck, director, real_server, tunnel_device};
use lvsync::model::{Config, load};
use lvsync::plan::host::diff;
use lvsync::plan::{HostChange, HostPhase};
use lvsync::state::{Family, TunnelType};
use lvsync::state::{FouPort, HostAddress, HostState, OwnAddress, Owned, SysctlKey, TunnelDevice};

fn config(text: &str) -> Config {
    load(text).unwrap_or_else(|d| panic!("{}", d.render("t.yaml")))
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn own(addr: &str, dev: &str) -> OwnAddress {
    OwnAddress { addr: ip(addr), device: Some(dev.into()) }
}

fn conf(dev: &str, name: &str) -> SysctlKey {
    SysctlKey::ipv4_conf(dev, name)
}

const FILE: &str = "
version: 1
ipvs:
  sysctls: {expire_nodest_conn: true, conn_reuse_mode: 0}
director: {interface: eth0}
services:
  - name: web
    vip: 192.168.2.110
    port: 80
    real_servers: [{address: 192.168.2.106}, {address: 192.168.2.107}]
  - name: web-tls
    vip: 192.168.2.110
    port: 443
    real_servers: [{address: 192.168.2.106}]
  - name: v6
    vip: 2001:db8::10
    port: 80
    real_servers: [{address: 2001:db8::106}]
  - name: tun
    vip: 192.168.2.111
    port: 80
    forward: tun
    real_servers:
      - {address: 192.168.2.106}
      - {address: 192.168.2.107, tunnel: {type: gue, port: 6080}}
      - {address: 192.168.2.108, tunnel: {type: gre}}
  - name: nat
    vip: 192.168.2.112
    port: 80
    forward: nat
    real_servers: [{address: 10.0.0.2}]
  - name: marked
    fwmark: 7
    real_servers: [{address: 192.168.2.106}]
";

#[test]
fn the_director_holds_every_vip_once_as_a_host_address_with_forwarding_and_ipvs_sysctls() {
    let d = director(&config(FILE));
    let addrs: Vec<String> = d.addresses.iter().map(ToString::to_string).collect();
    assert_eq!(
        addrs,
        [
            "192.168.2.110/32 on eth0",
            "192.168.2.111/32 on eth0",
            "192.168.2.112/32 on eth0",
            "2001:db8::10/128 on eth0"
        ]
    );
    let sysctls: Vec<String> = d.sysctls.iter().map(|(k, v)| format!("{k}={v}")).collect();
    assert_eq!(
        sysctls,
        [
            "net.ipv4.ip_forward=1",
            "net.ipv4.vs.conn_reuse_mode=0",
            "net.ipv4.vs.expire_nodest_conn=1",
            "net.ipv6.conf.all.forwarding=1",
        ],
        "forwarding defaults to true (a nat service); IPv6 too (an IPv6 service)"
    );
    assert!(d.devices.is_empty() && d.fou.is_empty());
}

#[test]
fn without_a_director_section_only_the_ipvs_sysctls_are_desired() {
    let d = director(&config("version: 1\nipvs: {sysctls: {sloppy_tcp: true}}\nservices: []\n"));
    assert!(d.addresses.is_empty());
    assert_eq!(d.sysctls.keys().map(ToString::to_string).collect::<Vec<_>>(), ["net.ipv4.vs.sloppy_tcp"]);
    let d = director(&config("version: 1\ndirector: {forwarding: true}\nservices: []\n"));
    assert_eq!(
        d.sysctls.keys().map(ToString::to_string).collect::<Vec<_>>(),
        ["net.ipv4.ip_forward"],
        "IPv6 forwarding only with an IPv6 service: it stops router advertisements"
    );
}

#[test]
fn a_dr_real_server_gets_its_vips_on_lo_and_the_arp_sysctls() {
    let side = real_server(&config(FILE), &[own("192.168.2.106", "eth1"), own("2001:db8::106", "eth1")]);
    let addrs: Vec<String> = side.desired.addresses.iter().map(ToString::to_string).collect();
    assert_eq!(addrs, ["192.168.2.110/32 on lo", "2001:db8::10/128 on lo", "192.168.2.111/32 on tunl0"]);
    assert_eq!(side.desired.sysctls.get(&conf("all", "arp_ignore")).map(String::as_str), Some("1"));
    assert_eq!(side.desired.sysctls.get(&conf("eth1", "arp_ignore")).map(String::as_str), Some("1"));
    assert_eq!(side.desired.sysctls.get(&conf("all", "arp_announce")).map(String::as_str), Some("2"));
    assert_eq!(side.desired.sysctls.get(&conf("eth1", "arp_announce")).map(String::as_str), Some("2"));
    assert_eq!(side.desired.sysctls.get(&conf("tunl0", "rp_filter")).map(String::as_str), Some("0"));
    assert_eq!(side.desired.sysctls.get(&conf("all", "rp_filter")).map(String::as_str), Some("0"));
    assert_eq!(side.desired.devices.iter().collect::<Vec<_>>(), [(&TunnelDevice::Tunl0, &true)]);
    assert_eq!(side.fwmark_services, ["marked"], "a fwmark service's VIP is not in the file");
    assert!(side.nat.is_empty());
}

#[test]
fn an_address_given_without_a_device_still_gets_the_all_arp_sysctls() {
    let side = real_server(&config(FILE), &[OwnAddress { addr: ip("192.168.2.106"), device: None }]);
    let keys: Vec<String> = side.desired.sysctls.keys().map(ToString::to_string).collect();
    assert!(keys.contains(&"net.ipv4.conf.all.arp_ignore".to_string()), "{keys:?}");
    assert!(!keys.iter().any(|k| k.contains("None")), "{keys:?}");
}

#[test]
fn gue_and_gre_real_servers_get_their_tunnel_device_and_listener() {
    let side = real_server(&config(FILE), &[own("192.168.2.107", "eth0")]);
    assert_eq!(side.desired.fou.iter().collect::<Vec<_>>(), [&FouPort { port: 6080, family: Family::Ipv4 }]);
    assert!(side.desired.addresses.contains(&HostAddress::host("tunl0", ip("192.168.2.111"))));
    assert!(side.desired.addresses.contains(&HostAddress::host("lo", ip("192.168.2.110"))));
    let side = real_server(&config(FILE), &[own("192.168.2.108", "eth0")]);
    assert_eq!(side.desired.devices.keys().collect::<Vec<_>>(), [&TunnelDevice::Gre0]);
    assert!(side.desired.addresses.contains(&HostAddress::host("gre0", ip("192.168.2.111"))));
    assert_eq!(side.desired.sysctls.get(&conf("gre0", "rp_filter")).map(String::as_str), Some("0"));
}

#[test]
fn tunnel_devices_follow_the_outer_and_inner_families() {
    use Family::*;
    assert_eq!(tunnel_device(TunnelType::Ipip, Ipv4, Ipv4), TunnelDevice::Tunl0);
    assert_eq!(tunnel_device(TunnelType::Ipip, Ipv4, Ipv6), TunnelDevice::Sit0);
    assert_eq!(tunnel_device(TunnelType::Ipip, Ipv6, Ipv4), TunnelDevice::Ip6tnl0);
    assert_eq!(tunnel_device(TunnelType::Gue { port: 1 }, Ipv6, Ipv6), TunnelDevice::Ip6tnl0);
    assert_eq!(tunnel_device(TunnelType::Gre, Ipv4, Ipv6), TunnelDevice::Gre0);
    assert_eq!(tunnel_device(TunnelType::Gre, Ipv6, Ipv4), TunnelDevice::Ip6gre0);
}

#[test]
fn a_nat_real_server_needs_nothing_but_a_route_check() {
    let side = real_server(&config(FILE), &[own("10.0.0.2", "eth0")]);
    assert_eq!(side.desired, HostState::default());
    assert_eq!(side.nat, [NatCheck { service: "nat".into(), address: ip("10.0.0.2") }]);
}

#[test]
fn a_host_serving_nothing_desires_nothing() {
    let side = real_server(&config(FILE), &[own("192.168.9.9", "eth0")]);
    assert_eq!(side.desired, HostState::default());
}

fn state(addresses: &[HostAddress], sysctls: &[(SysctlKey, &str)]) -> HostState {
    HostState {
        addresses: addresses.iter().cloned().collect(),
        sysctls: sysctls.iter().map(|(k, v)| (k.clone(), v.to_string())).collect(),
        ..HostState::default()
    }
}

#[test]
fn diff_adds_what_is_missing_and_never_removes_a_foreign_address() {
    let vip = HostAddress::host("lo", ip("192.168.2.110"));
    let foreign = HostAddress::host("lo", ip("10.9.9.9"));
    let loopback = HostAddress { device: "lo".into(), addr: ip("127.0.0.1"), prefix_len: 8 };
    let desired = state(std::slice::from_ref(&vip), &[(conf("all", "arp_ignore"), "1")]);
    let observed = state(&[foreign.clone(), loopback], &[(conf("all", "arp_ignore"), "0")]);
    let changes = diff(&desired, &observed, &Owned::default());
    let lines: Vec<String> = changes.iter().map(ToString::to_string).collect();
    assert_eq!(lines, ["+ address 192.168.2.110/32 on lo", "~ sysctl net.ipv4.conf.all.arp_ignore 0 -> 1"]);
}

#[test]
fn an_owned_address_leaving_the_file_is_removed_and_a_sysctl_restored_to_its_original() {
    let vip = HostAddress::host("lo", ip("192.168.2.110"));
    let key = SysctlKey::ipvs("expire_nodest_conn");
    let desired = state(std::slice::from_ref(&vip), &[(key.clone(), "1")]);
    let mut owned = Owned::default();
    for change in diff(&desired, &state(&[], &[(key.clone(), "0")]), &owned) {
        owned.record(&change, Some("0").filter(|_| matches!(change, HostChange::SetSysctl { .. })));
    }
    assert!(owned.addresses.contains(&vip));
    assert_eq!(owned.sysctls.get(&key).map(String::as_str), Some("0"), "the value before lvsync");
    // Applied: nothing more to do.
    let applied = state(std::slice::from_ref(&vip), &[(key.clone(), "1")]);
    assert!(diff(&desired, &applied, &owned).is_empty());
    // Changed by hand: repaired, and the original is still the one from before lvsync.
    let by_hand = state(std::slice::from_ref(&vip), &[(key.clone(), "0")]);
    let repair = diff(&desired, &by_hand, &owned);
    assert_eq!(
        repair.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["~ sysctl net.ipv4.vs.expire_nodest_conn 0 -> 1"]
    );
    owned.record(&repair[0], Some("0"));
    assert_eq!(owned.sysctls.get(&key).map(String::as_str), Some("0"));
    // The file no longer asks: remove the address, restore the sysctl.
    let changes = diff(&HostState::default(), &applied, &owned);
    let lines: Vec<String> = changes.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        ["- address 192.168.2.110/32 on lo", "~ sysctl net.ipv4.vs.expire_nodest_conn 1 -> 0 (restored)"]
    );
    for c in &changes {
        owned.record(c, None);
    }
    assert_eq!(owned, Owned::default());
}

#[test]
fn an_address_that_was_there_before_is_not_claimed_so_never_removed() {
    let vip = HostAddress::host("eth0", ip("192.168.2.110"));
    let desired = state(std::slice::from_ref(&vip), &[]);
    let observed = state(std::slice::from_ref(&vip), &[]);
    let mut owned = Owned::default();
    for c in diff(&desired, &observed, &owned) {
        owned.record(&c, None);
    }
    assert!(owned.addresses.is_empty());
    assert!(diff(&HostState::default(), &observed, &owned).is_empty(), "not lvsync's to remove");
}

#[test]
fn settle_forgets_what_is_already_gone_or_back_to_its_original() {
    let vip = HostAddress::host("lo", ip("192.168.2.110"));
    let key = SysctlKey::ipvs("conntrack");
    let mut owned = Owned::default();
    owned.addresses.insert(vip.clone());
    owned.sysctls.insert(key.clone(), "0".into());
    let observed = state(&[], &[(key.clone(), "0")]);
    assert!(diff(&HostState::default(), &observed, &owned).is_empty());
    owned.settle(&HostState::default(), &observed);
    assert_eq!(owned, Owned::default());
}

#[test]
fn devices_come_first_and_removals_last() {
    let desired = HostState {
        devices: [(TunnelDevice::Tunl0, true)].into(),
        fou: [FouPort { port: 6080, family: Family::Ipv4 }].into(),
        addresses: [HostAddress::host("tunl0", ip("192.168.2.111"))].into(),
        sysctls: [(conf("tunl0", "rp_filter"), "0".to_string())].into(),
    };
    let mut owned = Owned::default();
    owned.devices.insert(TunnelDevice::Gre0);
    owned.addresses.insert(HostAddress::host("gre0", ip("192.168.2.112")));
    let observed = HostState {
        devices: [(TunnelDevice::Gre0, true)].into(),
        addresses: [HostAddress::host("gre0", ip("192.168.2.112"))].into(),
        ..HostState::default()
    };
    let changes = diff(&desired, &observed, &owned);
    let lines: Vec<String> = changes.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [
            "+ device tunl0 up",
            "+ fou gue port 6080 (ipv4)",
            "+ address 192.168.2.111/32 on tunl0",
            "~ sysctl net.ipv4.conf.tunl0.rp_filter (none) -> 0",
            "- address 192.168.2.112/32 on gre0",
            "- device gre0 down",
        ]
    );
    let phases: Vec<HostPhase> = changes.iter().map(HostChange::phase).collect();
    assert!(phases.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn a_vlan_device_sysctl_is_shown_the_way_sysctl_shows_it() {
    let key = conf("eth0.100", "rp_filter");
    assert_eq!(key.path(), "net/ipv4/conf/eth0.100/rp_filter");
    assert_eq!(key.to_string(), "net.ipv4.conf.eth0/100.rp_filter");
}

#[test]
fn a_nat_real_server_without_a_gateway_back_is_warned_about() {
    use lvsync::desired::host::nat_warnings;
    use lvsync::state::RouteBack;
    let checks = [NatCheck { service: "nat".into(), address: ip("10.0.0.2") }];
    let none = nat_warnings(&checks, &[]);
    assert_eq!(none.len(), 1);
    assert!(
        none[0].contains("real server 10.0.0.2 of service `nat`") && none[0].contains("no default route"),
        "{none:?}"
    );
    let v6_only = [RouteBack { family: Family::Ipv6, gateway: Some(ip("2001:db8::1")), device: None }];
    assert_eq!(nat_warnings(&checks, &v6_only).len(), 1, "an IPv6 route does not carry IPv4 replies");
    let direct = [RouteBack { family: Family::Ipv4, gateway: None, device: Some("eth0".into()) }];
    let w = nat_warnings(&checks, &direct);
    assert!(w[0].contains("straight out of `eth0`"), "{w:?}");
    let via = [RouteBack { family: Family::Ipv4, gateway: Some(ip("10.0.0.1")), device: Some("eth0".into()) }];
    assert!(nat_warnings(&checks, &via).is_empty());
}

#[test]
fn sysctls_are_read_trimmed_and_written_under_their_proc_sys_path() {
    use lvsync::host::sysctl::Sysctls;
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("net/ipv4/conf/eth0.100");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("rp_filter"), "1\n").unwrap();
    let sysctls = Sysctls::at(root.path());
    let key = conf("eth0.100", "rp_filter");
    assert_eq!(sysctls.read(&key).unwrap().as_deref(), Some("1"));
    sysctls.write(&key, "0").unwrap();
    assert_eq!(std::fs::read_to_string(dir.join("rp_filter")).unwrap(), "0\n");
    assert_eq!(sysctls.read(&conf("tunl0", "rp_filter")).unwrap(), None, "a device not there yet");
    let err = sysctls.write(&conf("tunl0", "rp_filter"), "0").unwrap_err().to_string();
    assert!(err.starts_with("writing sysctl net.ipv4.conf.tunl0.rp_filter: "), "{err}");
}

#[test]
fn gre_with_checksums_is_reported_as_not_set_up_instead_of_landing_on_gre0() {
    let text = "version: 1\nservices:\n  - name: gre-csum\n    vip: 192.168.2.114\n    port: 80\n    forward: tun\n    tunnel: {type: gre, checksum: csum}\n    real_servers: [{address: 192.168.2.106}]\n";
    let side = real_server(&config(text), &[own("192.168.2.106", "eth0")]);
    assert!(side.desired.devices.is_empty() && side.desired.addresses.is_empty(), "{:?}", side.desired);
    assert_eq!(side.unsupported.len(), 1);
    assert!(
        side.unsupported[0].contains("service `gre-csum`") && side.unsupported[0].contains("icsum"),
        "{:?}",
        side.unsupported
    );
}
