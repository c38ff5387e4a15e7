//! Draining inside watch without a kernel, with the clock handed in: a busy real server that
//! leaves the file is kept at weight 0 until idle or its deadline; an idle one, or one with
//! `drain_timeout: 0`, goes at once; one back in the file stops draining.

mod watch_support;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lvsync::state::{Overlays, RealKey, RealOf};
use lvsync::watch::drain::{CHECK_EVERY, Draining};
use watch_support::*;

fn rk(service: u8, real: u8) -> RealKey {
    RealKey { address: IpAddr::from([10, 0, service, real]), port: 80 }
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(36_000 + secs)
}

type Conns = Arc<Mutex<BTreeMap<RealOf, u32>>>;

fn draining() -> (Draining, Conns) {
    let conns: Conns = Arc::default();
    let c = conns.clone();
    (Draining::new(Box::new(move |_| Ok(c.lock().unwrap().clone()))), conns)
}

fn drained(d: &Draining) -> Vec<RealOf> {
    let mut o = Overlays::default();
    d.overlay(&mut o);
    o.drains
        .into_iter()
        .map(|(k, drain)| {
            assert_eq!(drain.real.weight, 1);
            k
        })
        .collect()
}

#[test]
fn a_busy_real_server_drains_until_idle_and_an_idle_one_goes_at_once() {
    let (mut d, conns) = draining();
    conns.lock().unwrap().insert((key(1), rk(1, 2)), 3);
    let (prev, next) = (parse("svc 1 1 1 1\n").unwrap(), parse("svc 1 1\n").unwrap());
    d.leaving(&prev, &next, at(0));
    // 10.0.1.2 is busy: draining; 10.0.1.3 is idle: not kept.
    assert_eq!(drained(&d), [(key(1), rk(1, 2))]);

    let start = Instant::now();
    assert!(!d.check(start + CHECK_EVERY, at(1)), "still busy");
    assert_eq!(drained(&d).len(), 1);
    conns.lock().unwrap().insert((key(1), rk(1, 2)), 0);
    assert!(!d.check(start + CHECK_EVERY + Duration::from_millis(10), at(2)), "not due yet: read once a second");
    assert!(d.check(start + CHECK_EVERY * 2, at(2)), "idle: the drain ends");
    assert!(d.is_empty());
}

#[test]
fn the_deadline_ends_a_busy_drain_and_a_real_server_back_in_the_file_stops_draining() {
    let (mut d, conns) = draining();
    conns.lock().unwrap().insert((key(1), rk(1, 2)), 3);
    let (prev, next) = (parse("svc 1 1 1\n").unwrap(), parse("svc 1 1\n").unwrap());
    d.leaving(&prev, &next, at(0));
    let start = Instant::now();
    assert!(!d.check(start + CHECK_EVERY, at(59)));
    assert!(d.check(start + CHECK_EVERY * 2, at(60)), "drain_timeout (60 s) reached");

    d.leaving(&prev, &next, at(100));
    assert_eq!(drained(&d).len(), 1);
    d.leaving(&next, &prev, at(101));
    assert!(d.is_empty(), "back in the file");
}

#[test]
fn drain_timeout_zero_deletes_at_once() {
    let (mut d, conns) = draining();
    conns.lock().unwrap().insert((key(1), rk(1, 2)), 3);
    let mut prev = parse("svc 1 1 1\n").unwrap();
    prev.services[0].health.drain_timeout = Duration::ZERO;
    d.leaving(&prev, &parse("svc 1 1\n").unwrap(), at(0));
    assert!(d.is_empty());
}
