//! A snapshot of a director's live state (`lvsync export --format json`), and the state and
//! inventory read back from one, so that `lvsync plan FILE --observed SNAPSHOT` plans with no
//! kernel. The format is documented in docs/snapshot.md; this module is its only definition.
//! No I/O: the caller reads and writes the text.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::model;
use crate::state::{Chain, ChainId, DrainEntry, Family, Hook, Inventory, RealOf, State, SyncDaemon, SyncRole};

/// The snapshot format this lvsync writes and the only one it reads.
pub const FORMAT_VERSION: &str = "1";

/// How far in the future a snapshot may be dated (clocks of two machines differ) before
/// planning against it warns.
const FUTURE_SLACK: Duration = Duration::from_secs(300);

/// How old a snapshot may be before planning against it warns, unless `--max-age` says.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub format_version: String,
    pub lvsync_version: String,
    /// The director's host name.
    pub host: String,
    /// When the state was read, in seconds since the Unix epoch (UTC).
    pub taken_at: u64,
    /// The IPVS services and timeouts, as a desired-state file (the keys of docs/file-format.md).
    pub ipvs: serde_json::Value,
    /// lvsync's own firewall chains as they were read, rules in `iptables-save` form.
    pub firewall: Vec<SnapshotChain>,
    /// The IPVS sync daemons running, each with every setting the kernel reported; absent in
    /// snapshots from before (then a plan against it leaves the daemons out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipvs_sync: Option<Vec<SnapshotSyncDaemon>>,
    /// What lvsync had applied on that director: which services are its own.
    pub inventory: SnapshotInventory,
    /// The `down` verdicts `watch` had left in the state directory, in the shape of its health
    /// record (`health.json`, read by the caller); absent when there were none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<serde_json::Value>,
    /// The real servers that had active connections (one not listed had none); absent in
    /// snapshots from before, where they are not known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_conns: Option<Vec<SnapshotConns>>,
}

/// A real server's active connections: `{"service": "tcp/192.168.2.110:80", "real_server":
/// "10.0.0.2:80", "active": 12}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotConns {
    pub service: String,
    pub real_server: String,
    pub active: u32,
}

/// One running sync daemon, as `GET_DAEMON` reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotSyncDaemon {
    pub role: SyncRole,
    pub interface: String,
    pub id: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxlen: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotChain {
    pub family: Family,
    pub hook: Hook,
    /// Whether the built-in chain jumps to it.
    pub jump: bool,
    pub rules: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotInventory {
    /// False: the director had no inventory (nothing applied yet, or lost).
    pub found: bool,
    /// Service id (`tcp/192.168.2.110:80`, `fwmark/42`) -> its name in the file, if any.
    pub services: BTreeMap<String, Option<String>>,
    /// The families in which lvsync made firewall chains; absent when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firewall: Option<BTreeSet<Family>>,
    /// The sync daemons lvsync started (`master`, `backup`); absent when none.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub sync: BTreeSet<SyncRole>,
    /// Real servers draining after a one-shot `apply`; absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drains: Vec<DrainEntry>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("not a snapshot: {0}")]
    Json(#[source] serde_json::Error),
    #[error(
        "snapshot format_version `{0}` is not one this lvsync reads (it reads `{FORMAT_VERSION}`); export the snapshot again with this version of lvsync"
    )]
    Version(String),
    #[error("the snapshot's `ipvs` is not a valid state: {0}")]
    Ipvs(String),
    #[error("the snapshot's inventory names a service `{id}` that is not a service id: {detail}")]
    InventoryId { id: String, detail: String },
    #[error("the snapshot's inventory has a drain that is not valid: {0}")]
    Drain(String),
    #[error("the snapshot's active connections are not valid: {0}")]
    Conns(String),
    #[error(
        "the snapshot was taken on host `{found}`, not `{expected}`; export one on `{expected}`, or drop `--node` to plan against it anyway"
    )]
    ForeignHost { found: String, expected: String },
}

impl Snapshot {
    /// A snapshot of `state` (every domain, as observed) and `inventory`.
    pub fn take(state: &State, inventory: &Inventory, host: String, at: SystemTime) -> Snapshot {
        let firewall = state
            .chains
            .iter()
            .map(|(id, c)| SnapshotChain { family: id.family, hook: id.hook, jump: c.jump, rules: c.rules.clone() })
            .collect();
        Snapshot {
            format_version: FORMAT_VERSION.to_string(),
            lvsync_version: env!("CARGO_PKG_VERSION").to_string(),
            host,
            taken_at: at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
            ipvs: serde_json::to_value(model::to_raw(state)).unwrap_or_default(),
            firewall,
            ipvs_sync: state.sync.as_ref().map(|daemons| {
                daemons
                    .iter()
                    .map(|(role, d)| SnapshotSyncDaemon {
                        role: *role,
                        interface: d.interface.clone(),
                        id: d.id,
                        group: d.group,
                        port: d.port,
                        ttl: d.ttl,
                        maxlen: d.maxlen,
                    })
                    .collect()
            }),
            inventory: SnapshotInventory {
                found: inventory.found,
                services: inventory.services.iter().map(|(k, n)| (k.to_string(), n.clone())).collect(),
                firewall: inventory.firewall.clone(),
                sync: inventory.sync.clone(),
                drains: DrainEntry::write_all(&inventory.drains),
            },
            health: None,
            active_conns: None,
        }
    }

    /// Parse a snapshot; one of another format version is refused before anything else is read.
    pub fn parse(text: &str) -> Result<Snapshot, Error> {
        #[derive(Deserialize)]
        struct Version {
            format_version: serde_json::Value,
        }
        let v: Version = serde_json::from_str(text).map_err(Error::Json)?;
        match v.format_version.as_str() {
            Some(FORMAT_VERSION) => serde_json::from_str(text).map_err(Error::Json),
            _ => Err(Error::Version(v.format_version.to_string().trim_matches('"').to_string())),
        }
    }

    /// The observed state, named as the director names it (by its inventory), and the inventory.
    pub fn observed(&self) -> Result<(State, Inventory), Error> {
        let mut services = BTreeMap::new();
        for (id, name) in &self.inventory.services {
            let key = id.parse().map_err(|detail| Error::InventoryId { id: id.clone(), detail })?;
            services.insert(key, name.clone());
        }
        let inventory = Inventory {
            services,
            found: self.inventory.found,
            firewall: self.inventory.firewall.clone(),
            sync: self.inventory.sync.clone(),
            drains: DrainEntry::read_all(self.inventory.drains.clone()).map_err(Error::Drain)?,
            ..Default::default()
        };
        let text = self.ipvs.to_string();
        let config = model::load(&text).map_err(|d| Error::Ipvs(d.render("ipvs").trim_end().to_string()))?;
        let mut state = config.state();
        for (key, svc) in &mut state.services {
            svc.name = inventory.services.get(key).cloned().flatten();
        }
        state.chains = self
            .firewall
            .iter()
            .map(|c| {
                (
                    ChainId { family: c.family, hook: c.hook },
                    Chain { rules: c.rules.clone(), jump: c.jump, ..Default::default() },
                )
            })
            .collect();
        // The daemons exactly as read (`ipvs` has them as a file would, kernel defaults left out).
        state.sync = self.ipvs_sync.as_ref().map(|daemons| {
            daemons
                .iter()
                .map(|d| {
                    let daemon = SyncDaemon {
                        interface: d.interface.clone(),
                        id: d.id,
                        group: d.group,
                        port: d.port,
                        ttl: d.ttl,
                        maxlen: d.maxlen,
                    };
                    (d.role, daemon)
                })
                .collect()
        });
        Ok((state, inventory))
    }

    /// Record the active connections of real servers (those with none are left out).
    pub fn set_active_conns(&mut self, conns: &BTreeMap<RealOf, u32>) {
        let busy = conns.iter().filter(|(_, n)| **n > 0);
        self.active_conns = Some(
            busy.map(|((s, r), n)| SnapshotConns { service: s.to_string(), real_server: r.to_string(), active: *n })
                .collect(),
        );
    }

    /// The active connections of every real server (missing: none), if the snapshot has them.
    pub fn active_conns(&self) -> Result<Option<BTreeMap<RealOf, u32>>, Error> {
        let Some(entries) = &self.active_conns else { return Ok(None) };
        let mut out = BTreeMap::new();
        for e in entries {
            let service =
                e.service.parse().map_err(|detail| Error::Conns(format!("service `{}`: {detail}", e.service)))?;
            let real = e.real_server.parse().map_err(Error::Conns)?;
            out.insert((service, real), e.active);
        }
        Ok(Some(out))
    }

    /// How old the snapshot is at `now` (zero if it claims to be from the future).
    pub fn age(&self, now: SystemTime) -> Duration {
        let taken = UNIX_EPOCH + Duration::from_secs(self.taken_at);
        now.duration_since(taken).unwrap_or(Duration::ZERO)
    }

    /// A snapshot of another host than `expected` is an error: its plan would be another
    /// director's. A stale one is only worth a warning (returned): its plan is still the plan
    /// against the state it shows.
    pub fn check(&self, now: SystemTime, max_age: Duration, expected: Option<&str>) -> Result<Option<String>, Error> {
        if let Some(expected) = expected
            && expected != self.host
        {
            return Err(Error::ForeignHost { found: self.host.clone(), expected: expected.to_string() });
        }
        let taken = UNIX_EPOCH + Duration::from_secs(self.taken_at);
        if let Ok(ahead) = taken.duration_since(now)
            && ahead > FUTURE_SLACK
        {
            return Ok(Some(format!(
                "the snapshot of {} is dated {} in the future: this machine's clock or the director's is wrong, so its age (`--max-age`) and the deadlines of drains in it cannot be trusted",
                self.host,
                human(ahead)
            )));
        }
        let age = self.age(now);
        Ok((age > max_age).then(|| {
            format!(
                "the snapshot of {} is stale: taken {} ago, more than the {} allowed (`--max-age`); the live state may have changed since",
                self.host,
                human(age),
                human(max_age)
            )
        }))
    }
}

/// `3h 5m`, `42s`.
fn human(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 86400, s / 3600 % 24, s / 60 % 60, s % 60) {
        (0, 0, 0, s) => format!("{s}s"),
        (0, 0, m, s) => format!("{m}m {s}s"),
        (0, h, m, _) => format!("{h}h {m}m"),
        (d, h, _, _) => format!("{d}d {h}h"),
    }
}
