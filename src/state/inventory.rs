//! What lvsync applied before, as a value: the planner reads it to know which services are its
//! own. Loading, saving and locking it is `inventory`'s work.

use std::collections::{BTreeMap, BTreeSet};

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use super::{Family, Owned, RealOf, ServiceKey, SyncRole};

/// What lvsync applied before: service ids with the name they had in the file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Inventory {
    pub services: BTreeMap<ServiceKey, Option<String>>,
    /// False when no inventory file was found (first run, or lost): planning says so.
    pub found: bool,
    /// The address families in which lvsync's firewall chains exist, as far as lvsync made them;
    /// `None` when unknown (no inventory, or one from before this was recorded): read them all.
    pub firewall: Option<BTreeSet<Family>>,
    /// Every host address, device and sysctl lvsync changed (a sysctl with its value before).
    pub host: Owned,
    /// The IPVS sync daemons lvsync started: without `ipvs.sync`, a `managed` file stops these
    /// and leaves the others alone.
    pub sync: BTreeSet<SyncRole>,
    /// Real servers that left the file and are kept at weight 0 until their connections end or
    /// their deadline passes (a one-shot `apply` leaves them so; the next `apply` or `watch`
    /// deletes them when due).
    pub drains: BTreeMap<RealOf, DrainRecord>,
}

/// When a drain started, and when it ends at the latest (start + `drain_timeout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrainRecord {
    pub started: SystemTime,
    pub deadline: SystemTime,
}

/// One drain as the inventory file and snapshots write it: `{"service": "tcp/192.168.2.110:80",
/// "real_server": "10.0.0.2:80", "started": 1796107212, "deadline": 1796107272}` (Unix seconds).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrainEntry {
    pub service: String,
    pub real_server: String,
    pub started: u64,
    pub deadline: u64,
}

impl DrainEntry {
    pub fn write_all(drains: &BTreeMap<RealOf, DrainRecord>) -> Vec<DrainEntry> {
        let unix = |t: SystemTime| t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        drains
            .iter()
            .map(|((s, r), d)| DrainEntry {
                service: s.to_string(),
                real_server: r.to_string(),
                started: unix(d.started),
                deadline: unix(d.deadline),
            })
            .collect()
    }

    /// The drains of `entries`, or what is wrong with one of them.
    pub fn read_all(entries: Vec<DrainEntry>) -> Result<BTreeMap<RealOf, DrainRecord>, String> {
        let mut out = BTreeMap::new();
        for d in entries {
            let service = d.service.parse()?;
            let real = d.real_server.parse()?;
            let at = |s: u64| UNIX_EPOCH + Duration::from_secs(s);
            out.insert((service, real), DrainRecord { started: at(d.started), deadline: at(d.deadline) });
        }
        Ok(out)
    }
}
