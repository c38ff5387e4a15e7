//! A whole file at once: every problem reported, defaults applied, intents expanded.

use super::*;
use crate::firewall::WEB;

#[test]
fn every_problem_of_a_file_is_reported_at_once_in_file_order() {
    let text = yaml(
        "
        version: 1
        services:
          - name: Web
            vip: 192.168.2.300
            port: 80
            scheduler: roundrobin
            real_servers:
              - address: 192.168.2.106
                weight: -3
              - address: 192.168.2.106
          - name: dns
            vip: 192.168.2.110
            port: 53
            protocol: udp
            forward: tun
            tunnel: {type: gue}
        firewall:
          - name: web-in
            action: allow
            service: nothing
        ",
    );
    let d = load(&text).unwrap_err();
    let rendered = d.render("seed.yaml");
    let paths: Vec<&str> = d.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "services[0].name",
            "services[0].vip",
            "services[0].scheduler",
            "services[0].real_servers[0].weight",
            "services[0].real_servers[1].address",
            "services[1].tunnel",
            "firewall[0].action",
        ],
        "{rendered}"
    );
    let lines: Vec<usize> = d.iter().map(|e| e.line.unwrap()).collect();
    assert!(lines.windows(2).all(|w| w[0] <= w[1]), "{rendered}");
    assert_eq!(rendered.lines().count(), 7);
    assert!(
        rendered.contains(
            "seed.yaml:9:17: services[0].real_servers[0].weight: `-3` is not a valid weight; expected an integer 0..=2147483647\n"
        ),
        "{rendered}"
    );
}

#[test]
fn a_rule_naming_a_broken_service_is_not_reported_twice() {
    let text = format!("{}  - name: r\n    action: accept\n    service: web\n", WEB.replace("port: 80", "port: 99999"));
    let d = load(&text).unwrap_err();
    assert_eq!(d.len(), 1, "{}", d.render("t"));
    assert_eq!(d.0[0].path, "services[0].port");
}

#[test]
fn defaults_are_applied() {
    use lvsync::state::{Family, Forward, Netmask, Protocol, ServiceKey, Tunnel, TunnelType};
    let c = accepted(
        "
        version: 1
        services:
          - name: web
            vip: 192.168.2.110
            port: 80
            persistence: {timeout: 30}
            real_servers:
              - address: 192.168.2.106
          - name: tunnelled
            vip: 192.168.2.111
            port: 443
            forward: tun
            tunnel: {type: gue, port: 6080}
            real_servers:
              - address: 10.1.0.6
              - address: 10.1.0.7
                tunnel: {type: gre}
              - address: 10.1.0.8
                forward: dr
          - name: marked
            fwmark: 9
        ",
    );
    assert_eq!(c.ownership, lvsync::state::Ownership::Managed);
    assert_eq!(c.timeouts, lvsync::state::Timeouts::default());
    let web = &c.services[0];
    assert_eq!(web.key, ServiceKey::Addr { protocol: Protocol::Tcp, vip: "192.168.2.110".parse().unwrap(), port: 80 });
    assert_eq!(web.service.name.as_deref(), Some("web"));
    assert_eq!(web.service.attrs.scheduler, lvsync::state::Scheduler::Wlc);
    assert_eq!(
        web.service.attrs.persistence.as_ref().unwrap().netmask,
        Netmask::V4("255.255.255.255".parse().unwrap())
    );
    let (k, r) = web.service.reals.iter().next().unwrap();
    assert_eq!((k.port, r.weight, r.forward, r.upper_threshold, r.lower_threshold), (80, 1, Forward::Dr, 0, 0));

    let tun = &c.services[1].service.reals;
    let gue = Tunnel { kind: TunnelType::Gue { port: 6080 }, checksum: Default::default() };
    let forwards: Vec<Forward> = tun.values().map(|r| r.forward).collect();
    assert_eq!(
        forwards,
        [Forward::Tun(gue), Forward::Tun(Tunnel { kind: TunnelType::Gre, checksum: Default::default() }), Forward::Dr]
    );
    assert_eq!(c.services[2].key, ServiceKey::Fwmark { family: Family::Ipv4, mark: 9 });
    assert!(c.services[2].service.reals.is_empty());
}

#[test]
fn firewall_intents_expand_services() {
    use lvsync::model::FirewallAction;
    use lvsync::state::{Family, Hook, Protocol};
    let c = accepted(
        "
        version: 1
        services:
          - {name: web6, vip: 2001:db8::10, port: 443}
          - {name: all, vip: 192.168.2.110, port: 0, protocol: udp, persistence: {timeout: 60}}
          - {name: marked, fwmark: 7, family: ipv6}
        firewall:
          - {name: web6-in, action: accept, service: web6, sources: [2001:db8:1::/48]}
          - {name: all-in, action: accept, service: all}
          - {name: marked-in, action: reject, service: marked}
          - {name: from-office, action: accept, sources: [192.168.0.0/16], chain: forward}
          - {name: any-tcp, action: drop, protocol: tcp}
        ",
    );
    let f = &c.firewall;
    assert_eq!(f[0].destination.unwrap().to_string(), "2001:db8::10/128");
    assert_eq!((f[0].protocol, f[0].port, f[0].family), (Some(Protocol::Tcp), Some(443), Some(Family::Ipv6)));
    assert_eq!(f[0].sources[0].to_string(), "2001:db8:1::/48");
    assert_eq!((f[1].protocol, f[1].port), (Some(Protocol::Udp), None));
    assert_eq!(
        (f[2].fwmark, f[2].family, f[2].destination, f[2].action),
        (Some(7), Some(Family::Ipv6), None, FirewallAction::Reject)
    );
    assert_eq!((f[3].hook, f[3].family), (Hook::Forward, Some(Family::Ipv4)));
    assert_eq!((f[4].family, f[4].protocol, f[4].hook), (None, Some(Protocol::Tcp), Hook::Input));
}
