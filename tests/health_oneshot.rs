//! Drains and verdicts across one-shot commands, without a kernel: which real servers leave,
//! when a drain holds or ends (clock and connection counts handed in), the services kept while
//! they drain, what the inventory keeps; stored verdicts honoured only for the same check and a
//! fresh record; the quiesce-with-persistence warning.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lvsync::desired::desired;
use lvsync::health::oneshot::{self, Carry, Leaving};
use lvsync::health::{advice, pool};
use lvsync::model::{self, Config};
use lvsync::state::{DrainRecord, Inventory, Overlays, RealKey, RealOf, ServiceKey, State};
use lvsync::watch::status::{self, Record};
use lvsync::watch::stored;

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_796_100_000 + secs)
}

fn config(reals: &[&str], extra: bool, more: &str) -> Config {
    let mut s = format!(
        "version: 1\nservices:\n  - name: web\n    vip: 192.168.2.110\n    port: 80\n{more}    real_servers:\n"
    );
    for r in reals {
        s.push_str(&format!("      - address: {r}\n"));
    }
    if extra {
        s.push_str(
            "  - name: extra\n    vip: 192.168.2.110\n    port: 8080\n    real_servers:\n      - address: 10.0.0.9\n",
        );
    }
    model::load(&s).unwrap_or_else(|d| panic!("{}", d.render("test")))
}

fn web() -> ServiceKey {
    "tcp/192.168.2.110:80".parse().unwrap()
}

fn extra() -> ServiceKey {
    "tcp/192.168.2.110:8080".parse().unwrap()
}

fn rk(a: &str, port: u16) -> RealKey {
    RealKey { address: a.parse().unwrap(), port }
}

/// The kernel as lvsync applied `applied`, and the inventory that says so.
fn applied(applied: &Config) -> (State, Inventory) {
    let observed = desired(applied, &Overlays::default());
    let inventory = Inventory {
        services: observed.services.iter().map(|(k, s)| (*k, s.name.clone())).collect(),
        found: true,
        ..Default::default()
    };
    (observed, inventory)
}

fn leaving(now: &Config, observed: &State, inventory: &Inventory) -> Vec<Leaving> {
    oneshot::leaving(&desired(now, &Overlays::default()), observed, now.ownership, inventory, &now.state())
}

fn carry(now: &Config, observed: &State, inventory: &Inventory, conns: &[(RealOf, u32)], t: SystemTime) -> Carry {
    let l = leaving(now, observed, inventory);
    let conns: BTreeMap<_, _> = conns.iter().copied().collect();
    oneshot::carry(now, &l, observed, &inventory.drains, Some(&conns), t)
}

#[test]
fn a_busy_real_server_drains_at_weight_zero_and_an_idle_one_goes_at_once() {
    let before = config(&["10.0.0.1", "10.0.0.2", "10.0.0.3"], false, "");
    let after = config(&["10.0.0.1"], false, "");
    let (observed, inventory) = applied(&before);
    let busy = (web(), rk("10.0.0.2", 80));
    let c = carry(&after, &observed, &inventory, &[(busy, 3)], at(0));

    assert_eq!(c.overlays.drains.keys().collect::<Vec<_>>(), [&busy]);
    assert_eq!(c.records[&busy], DrainRecord { started: at(0), deadline: at(60) });
    assert_eq!(
        c.reasons[&busy],
        "left the file: draining, 3 active connections; deleted when idle or after drain_timeout 60 s"
    );
    assert!(!c.reasons.contains_key(&(web(), rk("10.0.0.3", 80))), "idle: deleted as the file says, no reason");
    assert_eq!((c.draining[0].left, c.draining[0].active), (60, Some(3)));

    // Laid over the file: the busy one at weight 0, the idle one deleted by the plan.
    let mut overlays = Overlays::default();
    overlays.drains = c.overlays.drains.clone();
    let want = desired(&after, &overlays);
    assert_eq!(want.services[&web()].reals[&busy.1].weight, 0);
    assert!(!want.services[&web()].reals.contains_key(&rk("10.0.0.3", 80)));
}

#[test]
fn a_recorded_drain_keeps_its_deadline_and_ends_when_idle_or_due() {
    let before = config(&["10.0.0.1", "10.0.0.2"], false, "");
    let after = config(&["10.0.0.1"], false, "");
    let (mut observed, mut inventory) = applied(&before);
    let busy = (web(), rk("10.0.0.2", 80));
    // The first apply set it to weight 0 and recorded the drain.
    observed.services.get_mut(&web()).unwrap().reals.get_mut(&busy.1).unwrap().weight = 0;
    inventory.drains.insert(busy, DrainRecord { started: at(0), deadline: at(60) });

    let c = carry(&after, &observed, &inventory, &[(busy, 2)], at(19));
    assert_eq!(c.records[&busy].deadline, at(60), "a later run does not restart a drain");
    assert_eq!((c.draining[0].left, c.draining[0].active), (41, Some(2)));
    assert!(!c.reasons.contains_key(&busy), "already at weight 0: no change, no reason");

    let c = carry(&after, &observed, &inventory, &[(busy, 0)], at(20));
    assert!(c.records.is_empty() && c.overlays.drains.is_empty());
    assert_eq!(c.reasons[&busy], "drained: no active connections");

    let c = carry(&after, &observed, &inventory, &[(busy, 2)], at(60));
    assert_eq!(c.reasons[&busy], "drain_timeout reached with 2 active connections");
    assert!(c.records.is_empty());

    // A record from an earlier life (the kernel holds it at its file weight): a new drain.
    observed.services.get_mut(&web()).unwrap().reals.get_mut(&busy.1).unwrap().weight = 1;
    let c = carry(&after, &observed, &inventory, &[(busy, 2)], at(500));
    assert_eq!(c.records[&busy], DrainRecord { started: at(500), deadline: at(560) });
}

#[test]
fn drain_timeout_zero_deletes_at_once_and_unknown_connections_only_let_the_deadline_end_a_drain() {
    let before = config(&["10.0.0.1", "10.0.0.2"], false, "    drain_timeout: 0\n");
    let after = config(&["10.0.0.1"], false, "    drain_timeout: 0\n");
    let (observed, inventory) = applied(&before);
    let busy = (web(), rk("10.0.0.2", 80));
    let c = carry(&after, &observed, &inventory, &[(busy, 5)], at(0));
    assert!(c.overlays.drains.is_empty());
    assert!(c.reasons.is_empty(), "deleted as the file says");

    let after = config(&["10.0.0.1"], false, "");
    let l = leaving(&after, &observed, &inventory);
    let c = oneshot::carry(&after, &l, &observed, &inventory.drains, None, at(0));
    assert!(c.overlays.drains.contains_key(&busy), "not known to be idle: drains");
    assert_eq!(c.draining[0].active, None);
}

#[test]
fn a_service_that_leaves_is_kept_until_its_last_real_server_is_drained() {
    let before = config(&["10.0.0.1"], true, "");
    let after = config(&["10.0.0.1"], false, "");
    let (observed, inventory) = applied(&before);
    let l = leaving(&after, &observed, &inventory);
    assert_eq!(l, [Leaving { at: (extra(), rk("10.0.0.9", 8080)), real: l[0].real, with_service: true }]);

    let busy = (extra(), rk("10.0.0.9", 8080));
    let c = carry(&after, &observed, &inventory, &[(busy, 1)], at(0));
    assert!(c.overlays.kept.contains_key(&extra()));
    let mut overlays = Overlays::default();
    overlays.drains = c.overlays.drains.clone();
    overlays.kept = c.overlays.kept.clone();
    let want = desired(&after, &overlays);
    let kept = &want.services[&extra()];
    assert_eq!((kept.reals.len(), kept.reals[&busy.1].weight), (1, 0));
    assert_eq!(kept.attrs, observed.services[&extra()].attrs, "kept as the kernel holds it: no update");

    let c = carry(&after, &observed, &inventory, &[(busy, 0)], at(1));
    assert!(c.overlays.kept.is_empty() && c.overlays.drains.is_empty());
}

#[test]
fn only_real_servers_lvsync_owns_drain_and_health_removals_never_do() {
    let before = config(&["10.0.0.1", "10.0.0.2"], false, "");
    let after = config(&["10.0.0.1"], false, "");
    let (observed, _) = applied(&before);
    // A service the file lists is lvsync's even without an inventory: its real servers that
    // leave drain.
    let l = leaving(&after, &observed, &Inventory::default());
    assert_eq!(l.len(), 1, "{l:?}");
    // A service that is neither in the file nor in the inventory is left alone.
    let (observed, _) = applied(&config(&["10.0.0.1"], true, ""));
    let l = leaving(&after, &observed, &Inventory { found: true, ..Default::default() });
    assert!(l.iter().all(|l| l.at.0 != extra()), "{l:?}");

    // `on_failure: remove` takes a listed real server out: that is health's, not a drain.
    let mut overlays = Overlays::default();
    overlays.removed.insert((web(), rk("10.0.0.2", 80)), "health: down".into());
    let want = desired(&before, &overlays);
    let (observed, inventory) = applied(&before);
    let l = oneshot::leaving(&want, &observed, before.ownership, &inventory, &before.state());
    assert!(l.is_empty(), "{l:?}");
}

fn probed(port_line: &str) -> Config {
    config(
        &["10.0.0.1", "10.0.0.2"],
        false,
        &format!("    health: {{check: tcp{port_line}, interval: 1, timeout: 0.5, fall: 2, rise: 1}}\n"),
    )
}

/// A record as watch writes it, with 10.0.0.2 down since `at(0)`.
fn record_of(config: &Config, written: SystemTime) -> Record {
    let mut verdicts = pool::Verdicts::new();
    let check = &config.services[0].health.checks[&rk("10.0.0.2", 80)];
    let mut v = lvsync::health::verdict::Verdict::new(at(0));
    for i in 1..=2 {
        let outcome =
            lvsync::health::verdict::Outcome { at: at(i), took: Duration::ZERO, error: Some("connect refused".into()) };
        v.observe(&check.target, outcome);
    }
    verdicts.insert(check.target.clone(), v);
    status::record(config, &verdicts, &Overlays::default(), written)
}

#[test]
fn a_stored_down_verdict_quiesces_with_its_reason_for_the_same_check_and_a_fresh_record() {
    let file = probed("");
    let record = record_of(&file, at(10));
    let (verdicts, note) = stored::verdicts(&file, &record, at(3600));
    assert!(note.is_none());
    let overlays = pool::state_overlays(&file, &verdicts);
    let o = &overlays.weights[&(web(), rk("10.0.0.2", 80))];
    assert_eq!(o.weight, 0);
    assert!(
        o.reason.starts_with("health: down since ") && o.reason.ends_with(", tcp: connect refused"),
        "{}",
        o.reason
    );
    assert!(!overlays.weights.contains_key(&(web(), rk("10.0.0.1", 80))), "up: the file's weight");

    // Through JSON, as `plan` reads it.
    let dir = tempfile::tempdir().unwrap();
    status::save(dir.path(), &record).unwrap();
    let status::Loaded::Record(back) = status::load(dir.path()).unwrap() else { panic!("no record") };
    assert_eq!(stored::verdicts(&file, &back, at(3600)).0, verdicts);

    // Another check on the same real server: not this verdict.
    let (verdicts, _) = stored::verdicts(&probed(", port: 81"), &record, at(3600));
    assert!(verdicts.is_empty());
    // The real server left the file: nothing.
    let gone = config(&["10.0.0.1"], false, "    health: {check: tcp, interval: 1, timeout: 0.5, fall: 2, rise: 1}\n");
    assert!(stored::verdicts(&gone, &record, at(3600)).0.is_empty());
    // Older than a day: ignored, with a note.
    let (verdicts, note) = stored::verdicts(&file, &record, at(10) + stored::MAX_AGE + Duration::from_secs(1));
    assert!(verdicts.is_empty());
    assert!(note.is_some_and(|n| n.contains("ignored")));
}

#[test]
fn quiesce_with_persistence_and_without_expire_quiescent_template_is_warned_about() {
    let health = "    health: {check: tcp}\n";
    let warned = config(&["10.0.0.1"], false, &format!("    persistence: {{timeout: 600}}\n{health}"));
    let w = advice::warnings(&warned);
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(w[0].contains("service web") && w[0].contains("expire_quiescent_template: true"), "{}", w[0]);

    let removes =
        config(&["10.0.0.1"], false, "    persistence: {timeout: 600}\n    health: {check: tcp, on_failure: remove}\n");
    assert!(advice::warnings(&removes).is_empty());
    assert!(advice::warnings(&config(&["10.0.0.1"], false, health)).is_empty(), "no persistence");
    let text = format!(
        "version: 1\nipvs:\n  sysctls:\n    expire_quiescent_template: true\nservices:\n  - name: web\n    vip: 192.168.2.110\n    port: 80\n    persistence: {{timeout: 600}}\n{health}    real_servers:\n      - address: 10.0.0.1\n"
    );
    assert!(advice::warnings(&model::load(&text).unwrap()).is_empty(), "the sysctl is set");
}

#[test]
fn in_watch_a_service_that_leaves_is_kept_while_its_busy_real_server_drains() {
    use lvsync::watch::drain::{CHECK_EVERY, Draining};
    use std::sync::{Arc, Mutex};
    let conns: Arc<Mutex<BTreeMap<RealOf, u32>>> = Arc::default();
    let c = conns.clone();
    let mut d = Draining::new(Box::new(move |_| Ok(c.lock().unwrap().clone())));
    let busy = (extra(), rk("10.0.0.9", 8080));
    conns.lock().unwrap().insert(busy, 2);
    let (before, after) = (config(&["10.0.0.1"], true, ""), config(&["10.0.0.1"], false, ""));
    d.leaving(&before, &after, at(0));
    let mut overlays = Overlays::default();
    d.overlay(&mut overlays);
    let want = desired(&after, &overlays);
    assert_eq!(want.services[&extra()].reals[&busy.1].weight, 0, "kept, at weight 0");

    // Another edit that leaves it out still keeps it; idle, it ends.
    d.leaving(&after, &after, at(1));
    assert!(!d.is_empty());
    conns.lock().unwrap().insert(busy, 0);
    let start = std::time::Instant::now();
    assert!(d.check(start + CHECK_EVERY, at(2)));
    let mut overlays = Overlays::default();
    d.overlay(&mut overlays);
    assert!(overlays.kept.is_empty() && !desired(&after, &overlays).services.contains_key(&extra()));

    // Seeded from a one-shot carry (watch's start): the same drain, with its recorded deadline.
    let (observed, mut inventory) = applied(&before);
    inventory.drains.insert(busy, DrainRecord { started: at(0), deadline: at(60) });
    let mut observed = observed;
    observed.services.get_mut(&extra()).unwrap().reals.get_mut(&busy.1).unwrap().weight = 0;
    let seed = carry(&after, &observed, &inventory, &[(busy, 1)], at(30));
    let mut d = Draining::new(Box::new(|_| Ok(BTreeMap::from([((extra(), rk("10.0.0.9", 8080)), 1)]))));
    d.seed(seed);
    let mut overlays = Overlays::default();
    d.overlay(&mut overlays);
    assert_eq!(overlays.drains[&busy].until, at(60));
    assert!(overlays.kept.contains_key(&extra()));
    assert!(d.check(std::time::Instant::now() + CHECK_EVERY, at(60)), "its recorded deadline ends it");
}
