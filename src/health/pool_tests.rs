use std::time::{Duration, SystemTime, UNIX_EPOCH};

use proptest::prelude::*;

use super::*;
use crate::health::spec::{Check, Kind, MinHealthy};
use crate::health::verdict::Outcome;
use crate::state::Forward;

fn key(i: u8) -> RealKey {
    RealKey { address: format!("192.168.2.{}", 100 + i).parse().unwrap(), port: 80 }
}

fn real(weight: u32) -> RealServer {
    RealServer { weight, forward: Forward::Dr, upper_threshold: 0, lower_threshold: 0 }
}

fn target(i: u8) -> Target {
    Target {
        address: key(i).address,
        port: 80,
        kind: Kind::Tcp,
        interval: Duration::from_secs(2),
        timeout: Duration::from_secs(1),
        rise: 1,
        fall: 1,
    }
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// A service of `n` real servers of weight 1, all probed with `on_failure`.
fn service(n: u8, on_failure: OnFailure, min: MinHealthy) -> (ServiceHealth, BTreeMap<RealKey, RealServer>) {
    let checks = (0..n).map(|i| (key(i), Check { target: target(i), on_failure })).collect();
    let health = ServiceHealth { checks, min_healthy: min, ..ServiceHealth::default() };
    (health, (0..n).map(|i| (key(i), real(1))).collect())
}

/// Verdicts where the real servers `down` (index, since-seconds) are down, the rest up.
fn verdicts(n: u8, down: &[(u8, u64)]) -> Verdicts {
    (0..n)
        .map(|i| {
            let t = target(i);
            let mut v = Verdict::new(at(0));
            if let Some((_, since)) = down.iter().find(|(d, _)| *d == i) {
                let o = Outcome { at: at(*since), took: Duration::ZERO, error: Some("connect refused".into()) };
                v.observe(&t, o);
            }
            (t, v)
        })
        .collect()
}

#[test]
fn a_down_real_server_is_quiesced_with_the_reason() {
    let (h, reals) = service(3, OnFailure::Quiesce, MinHealthy::Count(0));
    let o = service_overlay("web", &h, &reals, &verdicts(3, &[(1, 36_131)]));
    assert_eq!(
        o.overrides,
        [(
            key(1),
            Override { action: Action::Weight(0), reason: "health: down since 10:02:11, tcp: connect refused".into() }
        )]
        .into()
    );
    assert!(o.held.is_empty());
}

#[test]
fn remove_deletes_instead() {
    let (h, reals) = service(2, OnFailure::Remove, MinHealthy::Count(0));
    let o = service_overlay("web", &h, &reals, &verdicts(2, &[(0, 5)]));
    assert_eq!(o.overrides[&key(0)].action, Action::Remove);
}

#[test]
fn min_healthy_holds_the_most_recently_failed_in() {
    let (h, reals) = service(4, OnFailure::Quiesce, MinHealthy::Percent(50));
    // Three down, 2 of 4 must stay: the two down longest go out, the latest failure stays in.
    let o = service_overlay("web", &h, &reals, &verdicts(4, &[(0, 30), (1, 10), (2, 20)]));
    assert_eq!(o.overrides.keys().copied().collect::<Vec<_>>(), [key(1), key(2)]);
    assert_eq!(o.held.keys().copied().collect::<Vec<_>>(), [key(0)]);
    assert!(o.held[&key(0)].contains("kept in: min_healthy 50% of 4 real servers"), "{:?}", o.held);
}

#[test]
fn the_fallback_comes_when_nothing_is_healthy_and_goes_when_one_is() {
    let (mut h, reals) = service(2, OnFailure::Quiesce, MinHealthy::Count(0));
    let fk = RealKey { address: "192.168.2.120".parse().unwrap(), port: 80 };
    h.fallback = Some((fk, real(1)));
    let all_down = service_overlay("web", &h, &reals, &verdicts(2, &[(0, 3600), (1, 7200)]));
    assert_eq!(all_down.overrides[&fk].action, Action::Add(real(1)));
    assert_eq!(all_down.overrides[&fk].reason, "fallback: no real server of web is healthy since 02:00:00");
    let one_up = service_overlay("web", &h, &reals, &verdicts(2, &[(0, 3600)]));
    assert!(!one_up.overrides.contains_key(&fk));
    // A real server held in by min_healthy is still not healthy: the fallback serves beside it.
    h.min_healthy = MinHealthy::Count(1);
    let held = service_overlay("web", &h, &reals, &verdicts(2, &[(0, 3600), (1, 7200)]));
    assert!(held.overrides.contains_key(&fk) && held.held.contains_key(&key(1)));
}

#[test]
fn real_servers_without_a_check_are_never_touched() {
    let (mut h, reals) = service(2, OnFailure::Quiesce, MinHealthy::Count(0));
    h.checks.remove(&key(0));
    let o = service_overlay("web", &h, &reals, &verdicts(2, &[(0, 1), (1, 1)]));
    assert_eq!(o.overrides.keys().copied().collect::<Vec<_>>(), [key(1)]);
}

proptest! {
    /// Whatever is down: every real server taken out is down; at least min(required, serving)
    /// stay in; one is held only if taking it out would go below min_healthy; the fallback is
    /// there exactly when no real server with weight is up.
    #[test]
    fn pool_invariants(
        weights in proptest::collection::vec(0u32..3, 1..8),
        downs in proptest::collection::vec(proptest::option::of(0u64..100), 8),
        min in 0u32..9,
        pct in proptest::bool::ANY,
        remove in proptest::bool::ANY,
    ) {
        let n = weights.len() as u8;
        let on_failure = if remove { OnFailure::Remove } else { OnFailure::Quiesce };
        let min_healthy = if pct { MinHealthy::Percent((min * 12) as u8) } else { MinHealthy::Count(min) };
        let (mut h, mut reals) = service(n, on_failure, min_healthy);
        for (i, w) in weights.iter().enumerate() {
            reals.insert(key(i as u8), real(*w));
        }
        let fk = RealKey { address: "192.168.2.250".parse().unwrap(), port: 80 };
        h.fallback = Some((fk, real(1)));
        let down: Vec<(u8, u64)> = (0..n).filter_map(|i| downs[i as usize].map(|s| (i, s + 1))).collect();
        let o = service_overlay("web", &h, &reals, &verdicts(n, &down));
        let is_down = |k: &RealKey| down.iter().any(|(i, _)| key(*i) == *k);
        for (k, ov) in &o.overrides {
            if *k != fk {
                prop_assert!(is_down(k));
            }
            if let Action::Weight(w) = ov.action { prop_assert_eq!(w, 0); }
        }
        let serving_before = reals.values().filter(|r| r.weight > 0).count();
        let serving_after = reals.iter().filter(|(k, r)| r.weight > 0 && !o.overrides.contains_key(*k)).count();
        let required = h.min_healthy.of(reals.len());
        prop_assert!(serving_after >= required.min(serving_before));
        if !o.held.is_empty() {
            prop_assert_eq!(serving_after, required.min(serving_before));
        }
        let healthy = reals.iter().filter(|(k, r)| r.weight > 0 && !is_down(k)).count();
        prop_assert_eq!(o.overrides.contains_key(&fk), healthy == 0);
    }
}

#[test]
fn state_overlays_carry_quiesce_remove_and_the_fallback_by_service_key() {
    use crate::model::{Config, ServiceSpec};
    use crate::state::{Ownership, Protocol, Service, ServiceAttrs, ServiceKey, Timeouts};
    let skey = ServiceKey::Addr { protocol: Protocol::Tcp, vip: "192.168.2.110".parse().unwrap(), port: 80 };
    let spec = |on_failure| {
        let (mut h, reals) = service(2, on_failure, MinHealthy::Count(0));
        let fk = RealKey { address: "192.168.2.250".parse().unwrap(), port: 80 };
        h.fallback = Some((fk, real(1)));
        let service = Service { name: Some("web".into()), attrs: ServiceAttrs::default(), reals };
        let s = ServiceSpec { name: "web".into(), key: skey, service, health: h };
        (
            Config {
                ownership: Ownership::Managed,
                timeouts: Timeouts::default(),
                services: vec![s],
                firewall: vec![],
                ..Default::default()
            },
            fk,
        )
    };
    let (config, _) = spec(OnFailure::Quiesce);
    let o = state_overlays(&config, &verdicts(2, &[(0, 7200)]));
    assert_eq!(o.weights[&(skey, key(0))].weight, 0);
    assert_eq!(o.weights[&(skey, key(0))].reason, "health: down since 02:00:00, tcp: connect refused");
    assert!(o.removed.is_empty() && o.added.is_empty());

    let (config, fk) = spec(OnFailure::Remove);
    let o = state_overlays(&config, &verdicts(2, &[(0, 7200), (1, 7300)]));
    assert_eq!(o.removed.keys().copied().collect::<Vec<_>>(), [(skey, key(0)), (skey, key(1))]);
    assert_eq!(o.added[&(skey, fk)].real, real(1));
    let mut state = crate::desired::desired(&config, &o);
    let reals: Vec<RealKey> = state.services.remove(&skey).unwrap().reals.into_keys().collect();
    assert_eq!(reals, [fk]);
}
