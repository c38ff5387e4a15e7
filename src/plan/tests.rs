//! The planner's properties, over random states: nothing to do when equal, convergence within
//! ownership, unmanaged services untouched, attribute changes in place, SPEC's order.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use super::{Action, Change, IpvsChange, memory, plan};
use crate::state::*;

fn service_key() -> impl Strategy<Value = ServiceKey> {
    prop_oneof![
        (0u8..3, 0u8..4, prop_oneof![Just(80u16), Just(443)], any::<bool>()).prop_map(|(p, host, port, v6)| {
            let protocol = [Protocol::Tcp, Protocol::Udp, Protocol::Sctp][p as usize];
            let vip = if v6 {
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, u16::from(host) + 1))
            } else {
                IpAddr::V4(Ipv4Addr::new(192, 168, 2, 110 + host))
            };
            ServiceKey::Addr { protocol, vip, port }
        }),
        (1u32..4, any::<bool>())
            .prop_map(|(mark, v6)| ServiceKey::Fwmark { family: if v6 { Family::Ipv6 } else { Family::Ipv4 }, mark }),
    ]
}

fn attrs() -> impl Strategy<Value = ServiceAttrs> {
    (0usize..4, 0u8..3, prop::option::of(1u32..3), any::<bool>()).prop_map(|(s, flags, persist, one_packet)| {
        ServiceAttrs {
            scheduler: [Scheduler::Rr, Scheduler::Wrr, Scheduler::Wlc, Scheduler::Sh][s].clone(),
            sched_flags: SchedFlags(flags),
            persistence: persist.map(|t| Persistence {
                timeout: t * 300,
                netmask: Netmask::V4(Ipv4Addr::BROADCAST),
                engine: None,
            }),
            one_packet,
        }
    })
}

fn real() -> impl Strategy<Value = RealServer> {
    (0u32..4, 0u8..4).prop_map(|(weight, fwd)| RealServer {
        weight,
        forward: match fwd {
            0 => Forward::Dr,
            1 => Forward::Nat,
            2 => Forward::Tun(Tunnel::default()),
            _ => Forward::Tun(Tunnel { kind: TunnelType::Gue { port: 6080 }, checksum: TunnelChecksum::Csum }),
        },
        upper_threshold: 0,
        lower_threshold: 0,
    })
}

fn service() -> impl Strategy<Value = Service> {
    (attrs(), prop::collection::btree_map((0u8..5, prop_oneof![Just(80u16), Just(8080)]), real(), 0..4)).prop_map(
        |(attrs, reals)| Service {
            name: None,
            attrs,
            reals: reals
                .into_iter()
                .map(|((host, port), r)| (RealKey { address: IpAddr::V4(Ipv4Addr::new(10, 0, 0, host + 2)), port }, r))
                .collect(),
        },
    )
}

fn chains() -> impl Strategy<Value = BTreeMap<ChainId, Chain>> {
    prop::collection::btree_map(
        (0usize..4).prop_map(|i| ChainId::all()[i]),
        (prop::collection::vec(prop_oneof![Just("-j ACCEPT"), Just("-p tcp -j DROP")], 0..3), any::<bool>()).prop_map(
            |(rules, jump)| Chain { rules: rules.into_iter().map(String::from).collect(), jump, ..Default::default() },
        ),
        0..3,
    )
}

fn timeouts() -> impl Strategy<Value = Timeouts> {
    (prop::option::of(1u32..3), prop::option::of(1u32..3), prop::option::of(1u32..3))
        .prop_map(|(tcp, tcp_fin, udp)| Timeouts { tcp, tcp_fin, udp })
}

fn state() -> impl Strategy<Value = State> {
    (prop::collection::btree_map(service_key(), service(), 0..5), timeouts(), chains())
        .prop_map(|(services, timeouts, chains)| State { services, timeouts, chains, ..Default::default() })
}

/// The kernel always reports every timeout.
fn observed_state() -> impl Strategy<Value = State> {
    state().prop_map(|mut s| {
        s.timeouts = Timeouts {
            tcp: s.timeouts.tcp.or(Some(900)),
            tcp_fin: s.timeouts.tcp_fin.or(Some(120)),
            udp: s.timeouts.udp.or(Some(300)),
        };
        s
    })
}

fn inventory() -> impl Strategy<Value = Inventory> {
    (prop::collection::btree_set(service_key(), 0..4), any::<bool>()).prop_map(|(keys, found)| Inventory {
        services: keys.into_iter().map(|k| (k, None)).collect(),
        found,
        ..Default::default()
    })
}

fn ownership() -> impl Strategy<Value = Ownership> {
    prop_oneof![Just(Ownership::Managed), Just(Ownership::Exclusive)]
}

fn after_apply(observed: &State, p: &super::Plan) -> State {
    let mut s = observed.clone();
    memory::execute(&mut s, &p.changes).expect("plan executes on the state it was made from");
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn planning_a_state_against_itself_changes_nothing(s in observed_state(), own in ownership(), inv in inventory()) {
        let p = plan(&s, &s, own, &inv);
        prop_assert!(p.is_empty(), "{:?}", p.changes);
    }

    #[test]
    fn applying_the_plan_reaches_the_desired_state_within_ownership(
        d in state(), o in observed_state(), own in ownership(), inv in inventory()
    ) {
        let p = plan(&d, &o, own, &inv);
        let after = after_apply(&o, &p);
        for (k, want) in &d.services {
            let have = &after.services[k];
            prop_assert_eq!(&have.attrs, &want.attrs);
            prop_assert_eq!(&have.reals, &want.reals);
        }
        for k in after.services.keys() {
            if !d.services.contains_key(k) {
                prop_assert!(own == Ownership::Managed && !inv.services.contains_key(k), "{k} should be gone");
            }
        }
        prop_assert_eq!(&after.chains, &d.chains);
        for (w, h) in [(d.timeouts.tcp, after.timeouts.tcp), (d.timeouts.tcp_fin, after.timeouts.tcp_fin), (d.timeouts.udp, after.timeouts.udp)] {
            if w.is_some() { prop_assert_eq!(w, h); }
        }
        // And it is idempotent: a second plan against the result is empty.
        let again = plan(&d, &after, own, &inv);
        prop_assert!(again.is_empty(), "{:?}", again.changes);
    }

    #[test]
    fn unmanaged_services_are_never_touched_under_managed(d in state(), o in observed_state(), inv in inventory()) {
        let p = plan(&d, &o, Ownership::Managed, &inv);
        let after = after_apply(&o, &p);
        for (k, s) in &o.services {
            if !d.services.contains_key(k) && !inv.services.contains_key(k) {
                prop_assert_eq!(after.services.get(k), Some(s));
                prop_assert!(p.unmanaged.iter().any(|u| u.key == *k));
            }
        }
        let deletes_only_known = p.changes.iter().all(|c| match c {
            Change::Ipvs(IpvsChange::DeleteService { key, .. }) => inv.services.contains_key(key),
            _ => true,
        });
        prop_assert!(deletes_only_known, "deleted a service lvsync never applied: {:?}", p.changes);
    }

    #[test]
    fn changes_come_in_spec_order(d in state(), o in observed_state(), own in ownership(), inv in inventory()) {
        let p = plan(&d, &o, own, &inv);
        let rank = |c: &Change| match (c.kind(), c.action()) {
            ("firewall_chain", Action::Delete) => 6,
            ("real_server", Action::Delete) => 4,
            ("service", Action::Delete) => 5,
            ("service", _) => 0,
            ("real_server", _) => 1,
            ("ipvs_config", _) => 2,
            _ => 3,
        };
        let ranks: Vec<_> = p.changes.iter().map(rank).collect();
        prop_assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{:?}", p.changes);
    }
}

#[test]
fn attribute_changes_are_updates_in_place_and_identity_changes_recreate() {
    let key: ServiceKey = "tcp/192.168.2.110:80".parse().unwrap();
    let rk = RealKey { address: "192.168.2.106".parse().unwrap(), port: 80 };
    let base = Service {
        name: Some("web".into()),
        attrs: ServiceAttrs { scheduler: Scheduler::Rr, ..Default::default() },
        reals: [(rk, RealServer { weight: 1, forward: Forward::Dr, upper_threshold: 0, lower_threshold: 0 })].into(),
    };
    let observed = State { services: [(key, base.clone())].into(), ..Default::default() };

    let mut changed = base.clone();
    changed.attrs.scheduler = Scheduler::Wlc;
    changed.reals.get_mut(&rk).unwrap().weight = 3;
    let desired = State { services: [(key, changed)].into(), ..Default::default() };
    let p = plan(&desired, &observed, Ownership::Managed, &Inventory::default());
    let kinds: Vec<_> = p.changes.iter().map(|c| (c.kind(), c.action())).collect();
    assert_eq!(kinds, [("service", Action::Update), ("real_server", Action::Update)]);

    let moved: ServiceKey = "tcp/192.168.2.110:8080".parse().unwrap();
    let desired = State { services: [(moved, base)].into(), ..Default::default() };
    let inv = Inventory { services: [(key, Some("web".into()))].into(), found: true, ..Default::default() };
    let p = plan(&desired, &observed, Ownership::Managed, &inv);
    let kinds: Vec<_> = p.changes.iter().map(|c| (c.kind(), c.action(), c.id())).collect();
    assert_eq!(
        kinds,
        [
            ("service", Action::Create, "tcp/192.168.2.110:8080".to_string()),
            ("real_server", Action::Create, "tcp/192.168.2.110:8080/192.168.2.106:80".to_string()),
            ("service", Action::Delete, "tcp/192.168.2.110:80".to_string()),
        ]
    );
}

#[test]
fn a_lost_inventory_leaves_old_services_alone_and_says_so() {
    let key: ServiceKey = "tcp/192.168.2.111:80".parse().unwrap();
    let observed = State {
        services: [(key, Service { name: None, attrs: Default::default(), reals: Default::default() })].into(),
        ..Default::default()
    };
    let p = plan(&State::default(), &observed, Ownership::Managed, &Inventory::default());
    assert!(p.changes.is_empty());
    assert_eq!(p.unmanaged.len(), 1);
    assert!(p.notes[0].contains("no inventory"), "{:?}", p.notes);
    let p = plan(&State::default(), &observed, Ownership::Exclusive, &Inventory::default());
    assert_eq!(p.changes.len(), 1);
}

#[test]
fn only_the_timeouts_the_file_gives_are_enforced() {
    let observed =
        State { timeouts: Timeouts { tcp: Some(900), tcp_fin: Some(120), udp: Some(300) }, ..Default::default() };
    let desired = State { timeouts: Timeouts { tcp: Some(600), tcp_fin: None, udp: Some(300) }, ..Default::default() };
    let p = plan(&desired, &observed, Ownership::Managed, &Inventory::default());
    assert_eq!(
        p.changes,
        [Change::Ipvs(IpvsChange::SetTimeouts {
            before: observed.timeouts,
            after: Timeouts { tcp: Some(600), tcp_fin: None, udp: None }
        })]
    );
}
