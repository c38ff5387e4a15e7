//! What lvsync applied before, as a value: the planner reads it to know which services are its
//! own. Loading, saving and locking it is `inventory`'s work.

use std::collections::{BTreeMap, BTreeSet};

use std::time::SystemTime;

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
