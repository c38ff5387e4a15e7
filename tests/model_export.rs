//! `export` writes a valid file that reproduces the state it was given, in stable bytes.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use lvsync::model::{export, load};
use lvsync::state::{
    Family, Forward, Netmask, Persistence, Protocol, RealKey, RealServer, SchedFlags, Scheduler, Service, ServiceAttrs,
    ServiceKey, State, Timeouts, Tunnel, TunnelChecksum, TunnelType,
};
use proptest::prelude::*;

fn without_names(mut s: State) -> State {
    for svc in s.services.values_mut() {
        svc.name = None;
    }
    s
}

#[test]
fn exporting_the_dr_seed_gives_this_exact_file() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/seed-dr.yaml")).unwrap();
    let state = load(&text).unwrap().state();
    let expected = "\
# yaml-language-server: $schema=lvsync.schema.json
version: 1
services:
  - name: web
    vip: \"192.168.2.110\"
    port: 80
    scheduler: rr
    real_servers:
      - address: \"192.168.2.106\"
      - address: \"192.168.2.107\"
";
    assert_eq!(export(&state), expected);
}

#[test]
fn unnamed_services_get_names_from_their_key() {
    let mut state = State::default();
    let reals = BTreeMap::new();
    let plain = Service { name: None, attrs: ServiceAttrs::default(), reals };
    let v6: IpAddr = "2001:db8::1".parse().unwrap();
    state.services.insert(
        ServiceKey::Addr { protocol: Protocol::Tcp, vip: "192.168.2.110".parse().unwrap(), port: 80 },
        plain.clone(),
    );
    state.services.insert(ServiceKey::Addr { protocol: Protocol::Udp, vip: v6, port: 53 }, plain.clone());
    state.services.insert(ServiceKey::Fwmark { family: Family::Ipv4, mark: 42 }, plain.clone());
    state.services.insert(ServiceKey::Fwmark { family: Family::Ipv6, mark: 42 }, plain.clone());
    // A remembered name is kept, even when it looks derived; the service whose derived name it
    // took gets a suffix. An invalid remembered name falls back to the derived one.
    let mut named = plain.clone();
    named.name = Some("fwmark-42".into());
    state.services.insert(ServiceKey::Fwmark { family: Family::Ipv4, mark: 7 }, named);
    let mut invalid = plain.clone();
    invalid.name = Some("Web Server".into());
    state.services.insert(ServiceKey::Fwmark { family: Family::Ipv4, mark: 8 }, invalid);
    let out = export(&state);
    assert!(out.contains("  - name: fwmark-42\n    fwmark: 7\n"), "{out}");
    assert!(out.contains("  - name: fwmark-42-2\n    fwmark: 42\n"), "{out}");
    assert!(out.contains("  - name: fwmark-8\n    fwmark: 8\n"), "{out}");
    for name in ["tcp-192-168-2-110-80", "udp-2001-db8--1-53", "fwmark-42-ipv6"] {
        assert!(out.contains(name), "{name} missing in:\n{out}");
    }
    let back = load(&out).unwrap_or_else(|d| panic!("{}\n{out}", d.render("export")));
    assert_eq!(without_names(back.state()), without_names(state));
}

#[test]
fn a_forward_method_all_reals_share_moves_to_the_service() {
    let tun = Forward::Tun(Tunnel { kind: TunnelType::Gue { port: 6080 }, checksum: TunnelChecksum::Csum });
    let real = RealServer { weight: 1, forward: tun, upper_threshold: 0, lower_threshold: 0 };
    let mut reals = BTreeMap::new();
    for last in [6, 7] {
        reals.insert(RealKey { address: IpAddr::V4(Ipv4Addr::new(10, 0, 0, last)), port: 80 }, real);
    }
    let mut state = State::default();
    let key = ServiceKey::Addr { protocol: Protocol::Tcp, vip: "192.168.2.110".parse().unwrap(), port: 80 };
    state.services.insert(key, Service { name: Some("web".into()), attrs: ServiceAttrs::default(), reals });
    let out = export(&state);
    assert_eq!(out.matches("forward: tun").count(), 1, "{out}");
    assert_eq!(out.matches("type: gue").count(), 1, "{out}");
    assert_eq!(without_names(load(&out).unwrap().state()), without_names(state));
}

// ---- random valid states ----

fn family() -> impl Strategy<Value = Family> {
    prop_oneof![Just(Family::Ipv4), Just(Family::Ipv6)]
}

/// Unicast, not loopback: 10.0.0.0/8 or 2001:db8::/32 (VIPs come from elsewhere, see `vip`).
fn real_addr(f: Family) -> BoxedStrategy<IpAddr> {
    match f {
        Family::Ipv4 => {
            (any::<u8>(), any::<u8>(), 1u8..255).prop_map(|(a, b, c)| IpAddr::V4(Ipv4Addr::new(10, a, b, c))).boxed()
        }
        Family::Ipv6 => {
            (any::<u16>(), 1u16..).prop_map(|(a, b)| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, a, b))).boxed()
        }
    }
}

fn vip(f: Family) -> BoxedStrategy<IpAddr> {
    match f {
        Family::Ipv4 => (any::<u8>(), 1u8..255).prop_map(|(a, b)| IpAddr::V4(Ipv4Addr::new(192, 168, a, b))).boxed(),
        Family::Ipv6 => (1u16..).prop_map(|a| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, a))).boxed(),
    }
}

fn tunnel() -> impl Strategy<Value = Tunnel> {
    prop_oneof![
        Just(Tunnel::default()),
        (1u16.., prop_oneof![Just(TunnelChecksum::None), Just(TunnelChecksum::Csum), Just(TunnelChecksum::Remcsum)])
            .prop_map(|(port, checksum)| Tunnel { kind: TunnelType::Gue { port }, checksum }),
        prop_oneof![Just(TunnelChecksum::None), Just(TunnelChecksum::Csum)]
            .prop_map(|checksum| Tunnel { kind: TunnelType::Gre, checksum }),
    ]
}

fn forward() -> impl Strategy<Value = Forward> {
    prop_oneof![Just(Forward::Dr), Just(Forward::Nat), tunnel().prop_map(Forward::Tun)]
}

fn real_server() -> impl Strategy<Value = RealServer> {
    (0..=i32::MAX as u32, forward(), prop_oneof![Just(0u32), any::<u32>()], any::<u32>()).prop_map(
        |(weight, forward, upper, lower)| {
            let lower = lower.min(upper);
            RealServer { weight, forward, upper_threshold: upper, lower_threshold: lower }
        },
    )
}

fn netmask(f: Family) -> BoxedStrategy<Netmask> {
    match f {
        Family::Ipv4 => (1u32..=32).prop_map(|len| Netmask::V4(Ipv4Addr::from(u32::MAX << (32 - len)))).boxed(),
        Family::Ipv6 => (1u8..=128).prop_map(Netmask::V6).boxed(),
    }
}

fn key() -> impl Strategy<Value = ServiceKey> {
    prop_oneof![
        (
            family(),
            prop_oneof![Just(Protocol::Tcp), Just(Protocol::Udp), Just(Protocol::Sctp)],
            prop_oneof![Just(0u16), Just(80), any::<u16>()]
        )
            .prop_flat_map(|(f, protocol, port)| vip(f).prop_map(move |vip| ServiceKey::Addr {
                protocol,
                vip,
                port
            })),
        (family(), 1u32..).prop_map(|(family, mark)| ServiceKey::Fwmark { family, mark }),
    ]
}

fn service_for(key: ServiceKey) -> BoxedStrategy<Service> {
    let f = key.family();
    let scheduler = proptest::sample::select(Scheduler::KNOWN.to_vec());
    let persistence =
        proptest::option::of((1u32..=2_147_483, netmask(f), proptest::option::of(Just("sip".to_string()))))
            .prop_map(|p| p.map(|(timeout, netmask, engine)| Persistence { timeout, netmask, engine }));
    let reals =
        proptest::collection::vec((prop_oneof![4 => Just(f), 1 => family()], any::<u16>(), real_server()), 0..5)
            .prop_flat_map(|rs| {
                rs.into_iter().map(|(rf, port, r)| real_addr(rf).prop_map(move |a| (a, port, r))).collect::<Vec<_>>()
            });
    (scheduler, 0u8..8, persistence, any::<bool>(), reals, proptest::option::of("[a-z][a-z0-9-]{0,10}"))
        .prop_map(move |(scheduler, flags, persistence, one_packet, reals, name)| {
            let (service_port, udp_or_mark) = match key {
                ServiceKey::Addr { protocol, port, .. } => (port, protocol == Protocol::Udp),
                ServiceKey::Fwmark { .. } => (0, true),
            };
            let persistence = match (service_port, persistence, &key) {
                (0, None, ServiceKey::Addr { .. }) => {
                    Some(Persistence { timeout: 300, netmask: Netmask::host(f), engine: None })
                }
                (_, p, _) => p,
            };
            let mut map = BTreeMap::new();
            for (address, port, mut r) in reals {
                if Family::of(&address) != f && !matches!(r.forward, Forward::Tun(_)) {
                    r.forward = Forward::Tun(Tunnel::default());
                }
                // dr and tun keep the service's port.
                let port = match (key, r.forward) {
                    (ServiceKey::Addr { port: p @ 1.., .. }, Forward::Dr | Forward::Tun(_)) => p,
                    _ => port,
                };
                map.insert(RealKey { address, port }, r);
            }
            let attrs = ServiceAttrs {
                scheduler,
                sched_flags: SchedFlags(flags),
                persistence,
                one_packet: one_packet && udp_or_mark,
            };
            Service { name, attrs, reals: map }
        })
        .boxed()
}

fn state() -> impl Strategy<Value = State> {
    let timeout = || proptest::option::of(1u32..=2_147_483);
    let services = proptest::collection::btree_set(key(), 0..6)
        .prop_flat_map(|keys| keys.into_iter().map(|k| service_for(k).prop_map(move |s| (k, s))).collect::<Vec<_>>());
    (services, timeout(), timeout(), timeout()).prop_map(|(services, tcp, tcp_fin, udp)| State {
        services: services.into_iter().collect(),
        timeouts: Timeouts { tcp, tcp_fin, udp },
        chains: BTreeMap::new(),
        ..Default::default()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn export_then_load_gives_back_the_state(s in state()) {
        let text = export(&s);
        let back = match load(&text) {
            Ok(c) => c,
            Err(d) => return Err(TestCaseError::fail(format!("{}\n{text}", d.render("export")))),
        };
        prop_assert_eq!(without_names(back.state()), without_names(s.clone()));
        // Stable bytes: exporting what was loaded prints the same file again.
        prop_assert_eq!(export(&back.state()), text);
    }
}
