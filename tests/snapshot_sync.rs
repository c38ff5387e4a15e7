//! The IPVS sync daemons in a snapshot: every setting the kernel reported and the daemons lvsync
//! started go through `export --format json` and back, so that `plan --observed` plans them as
//! on the director; a snapshot without them (older) plans no sync change.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::SystemTime;

use lvsync::desired::desired;
use lvsync::plan::{self, Action};
use lvsync::snapshot::Snapshot;
use lvsync::state::{Inventory, Overlays, State, SyncDaemon, SyncRole};

const FILE: &str = "\
version: 1
ipvs:
  sync: {interface: eth1, id: 51}
services:
  - {name: web, vip: 10.1.0.1, port: 80, real_servers: [{address: 10.1.1.1}]}
";

fn daemon(id: u8) -> SyncDaemon {
    SyncDaemon {
        interface: "eth1".into(),
        id,
        group: Some(IpAddr::V4(Ipv4Addr::new(224, 0, 0, 81))),
        port: Some(8848),
        ttl: Some(1),
        maxlen: Some(1472),
    }
}

fn round_trip(state: &State, inventory: &Inventory) -> (State, Inventory, String) {
    let snap = Snapshot::take(state, inventory, "lb1".into(), SystemTime::now());
    let text = serde_json::to_string_pretty(&snap).unwrap();
    let (observed, inv) = Snapshot::parse(&text).unwrap().observed().unwrap();
    (observed, inv, text)
}

#[test]
fn every_setting_and_lvsyncs_own_daemons_survive_the_round_trip() {
    let daemons = BTreeMap::from([(SyncRole::Master, daemon(51)), (SyncRole::Backup, daemon(50))]);
    let state = State { sync: Some(daemons.clone()), ..State::default() };
    let inventory = Inventory { found: true, sync: [SyncRole::Master].into(), ..Inventory::default() };
    let (observed, inv, text) = round_trip(&state, &inventory);
    assert_eq!(observed.sync, Some(daemons), "{text}");
    assert_eq!(inv.sync, inventory.sync, "{text}");
    assert!(text.contains("\"role\": \"backup\""), "{text}");
    // Planned against it: only the backup (id 50, not the file's 51) restarts.
    let config = lvsync::model::load(FILE).unwrap();
    let p = plan::plan(&desired(&config, &Overlays::default()), &observed, config.ownership, &inv);
    let sync: Vec<_> = p.changes.iter().filter(|c| c.kind() == "ipvs_sync").collect();
    assert_eq!(sync.len(), 1, "{p:?}");
    assert_eq!((sync[0].action(), sync[0].id()), (Action::Update, "backup".to_string()));
}

#[test]
fn no_daemon_running_is_recorded_as_such_and_an_older_snapshot_has_none() {
    let config = lvsync::model::load(FILE).unwrap();
    let want = desired(&config, &Overlays::default());
    // Read, none running: the file's two daemons are to start.
    let (observed, inv, text) =
        round_trip(&State { sync: Some(BTreeMap::new()), ..State::default() }, &Inventory::default());
    assert!(text.contains("\"ipvs_sync\": []"), "{text}");
    let p = plan::plan(&want, &observed, config.ownership, &inv);
    assert_eq!(p.changes.iter().filter(|c| c.kind() == "ipvs_sync" && c.action() == Action::Create).count(), 2);
    // A snapshot written before sync daemons were recorded: not read, nothing planned for them.
    let (observed, inv, text) = round_trip(&State::default(), &Inventory::default());
    assert!(!text.contains("ipvs_sync"), "{text}");
    assert_eq!(observed.sync, None);
    let p = plan::plan(&want, &observed, config.ownership, &inv);
    assert!(p.changes.iter().all(|c| c.kind() != "ipvs_sync"), "{p:?}");
}
