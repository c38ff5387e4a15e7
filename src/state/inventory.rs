//! What lvsync applied before, as a value: the planner reads it to know which services are its
//! own. Loading, saving and locking it is `inventory`'s work.

use std::collections::{BTreeMap, BTreeSet};

use super::{Family, Owned, ServiceKey, SyncRole};

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
}
