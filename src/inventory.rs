//! The state directory: the inventory of what lvsync applied (so `managed` ownership can
//! delete a service that left the file) and the lock that keeps one lvsync per directory.

use std::collections::{BTreeMap, BTreeSet};
pub(crate) mod secure;

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub use crate::state::Inventory;
use crate::state::{DrainEntry, Family, Owned, SyncRole};
use secure::Dir;

#[derive(Serialize, Deserialize)]
struct OnDisk {
    version: u32,
    services: BTreeMap<String, Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    firewall: Option<BTreeSet<Family>>,
    /// Host addresses, devices and sysctls lvsync changed; absent in inventories from before.
    #[serde(default, skip_serializing_if = "Owned::is_empty")]
    host: Owned,
    /// The sync daemons lvsync started; absent in inventories from before.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    sync: BTreeSet<SyncRole>,
    /// Real servers draining after a one-shot `apply`; absent when none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    drains: Vec<DrainEntry>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "cannot create state directory {path}; run lvsync as root, or give `--state-dir` a directory you can write"
    )]
    CreateDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot read inventory {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "inventory {path} is damaged ({detail}); move it away to start afresh (lvsync will then leave services that left the file alone)"
    )]
    Damaged { path: PathBuf, detail: String },
    #[error("cannot open state directory {path}; run lvsync as root, or give `--state-dir` a directory you can read")]
    OpenDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("refusing {path}: {why}")]
    Unsafe { path: PathBuf, why: String },
    #[error("cannot write inventory {path}: the state directory was opened read-only (a bug in lvsync)")]
    ReadOnly { path: PathBuf },
    #[error("cannot write inventory {path}")]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "another lvsync holds the lock {path}; wait for it to finish or stop it (only one lvsync may run per state directory)"
    )]
    Locked { path: PathBuf },
    #[error("stopped waiting for the lock {path}")]
    GaveUp { path: PathBuf },
    #[error("cannot open lock file {path}")]
    Lock {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The inventory's file name in the state directory, its last good copy, the temporary file a
/// new one is written to, and where a damaged one is moved.
const INVENTORY: &str = "inventory.json";
const LAST_GOOD: &str = "inventory.last-good.json";
const TEMPORARY: &str = "inventory.json.tmp";
const DAMAGED: &str = "inventory.json.damaged";
const LOCK: &str = "lock";
/// No inventory is this large (2,000 services take about 100 kB); a larger file is damaged.
const MAX_INVENTORY_BYTES: u64 = 64 << 20;

/// How many times this process found the inventory damaged and went on without it (the metric
/// `lvsync_inventory_recoveries_total`).
static RECOVERIES: AtomicU64 = AtomicU64::new(0);

pub fn recoveries() -> u64 {
    RECOVERIES.load(Ordering::Relaxed)
}

/// The state directory: locked for as long as this value lives, or opened read-only (`plan`,
/// `export`) without the lock, reading the inventory as the lock holder last replaced it.
#[derive(Debug)]
pub struct StateDir {
    path: PathBuf,
    /// `None` when opened read-only and the directory does not exist (yet).
    dir: Option<Dir>,
    /// `None` when opened read-only.
    _lock: Option<File>,
}

enum Parsed {
    Missing,
    Good(Inventory),
    Damaged(String),
}

impl StateDir {
    /// Create the directory if needed and take its lock, waiting up to `wait` for another lvsync.
    pub fn lock(dir: &Path, wait: Duration) -> Result<StateDir, Error> {
        Self::lock_unless(dir, wait, &|| false)
    }

    /// [`StateDir::lock`], but stop waiting as soon as `give_up` says so (`apply` stops when
    /// the file it parses meanwhile turns out bad): [`Error::GaveUp`].
    pub fn lock_unless(dir: &Path, wait: Duration, give_up: &dyn Fn() -> bool) -> Result<StateDir, Error> {
        let opened = Dir::open(dir, true)?
            .ok_or_else(|| Error::CreateDir { path: dir.to_path_buf(), source: io::ErrorKind::NotFound.into() })?;
        let file = opened.lock_file(LOCK)?;
        let path = opened.join(LOCK);
        let start = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(StateDir { path: dir.to_path_buf(), dir: Some(opened), _lock: Some(file) }),
                Err(fs::TryLockError::WouldBlock) if give_up() => return Err(Error::GaveUp { path }),
                Err(fs::TryLockError::WouldBlock) if start.elapsed() < wait => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                Err(fs::TryLockError::WouldBlock) => return Err(Error::Locked { path }),
                Err(fs::TryLockError::Error(source)) => return Err(Error::Lock { path, source }),
            }
        }
    }

    /// Open the directory to read the inventory, without creating anything or taking the lock:
    /// a running `watch` holds it, and reading never waits for it.
    pub fn read_only(dir: &Path) -> Result<StateDir, Error> {
        Ok(StateDir { path: dir.to_path_buf(), dir: Dir::open(dir, false)?, _lock: None })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn parse(&self, name: &str) -> Result<Parsed, Error> {
        let Some(dir) = &self.dir else { return Ok(Parsed::Missing) };
        let bytes = match dir.read(name, MAX_INVENTORY_BYTES) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return Ok(Parsed::Missing),
            Err(Error::Damaged { detail, .. }) => return Ok(Parsed::Damaged(detail)),
            Err(e) => return Err(e),
        };
        let disk: OnDisk = match serde_json::from_slice(&bytes) {
            Ok(disk) => disk,
            Err(e) => return Ok(Parsed::Damaged(e.to_string())),
        };
        let mut services = BTreeMap::new();
        for (id, name) in disk.services {
            match id.parse() {
                Ok(key) => services.insert(key, name),
                Err(detail) => return Ok(Parsed::Damaged(detail)),
            };
        }
        let drains = match DrainEntry::read_all(disk.drains) {
            Ok(drains) => drains,
            Err(detail) => return Ok(Parsed::Damaged(detail)),
        };
        Ok(Parsed::Good(Inventory {
            services,
            found: true,
            firewall: disk.firewall,
            host: disk.host,
            sync: disk.sync,
            drains,
        }))
    }

    /// The inventory. A damaged one does not stop lvsync: it goes on from the last good copy,
    /// or else as on a first run (leaving alone services that left the file), and says so. With
    /// the lock held, the damaged file is moved aside and the copy put in its place.
    pub fn load(&self) -> Result<Inventory, Error> {
        let detail = match self.parse(INVENTORY)? {
            Parsed::Missing => return Ok(Inventory::default()),
            Parsed::Good(inventory) => return Ok(inventory),
            Parsed::Damaged(detail) => detail,
        };
        RECOVERIES.fetch_add(1, Ordering::Relaxed);
        let path = self.path.join(INVENTORY);
        let kept = self.path.join(DAMAGED);
        let locked = self._lock.is_some();
        let moved = match (&self.dir, locked) {
            (Some(dir), true) => dir.rename(INVENTORY, DAMAGED).is_ok(),
            _ => false,
        };
        let where_damaged = if moved {
            format!("it was moved to {} for inspection", kept.display())
        } else {
            format!("it stays at {}", path.display())
        };
        match self.parse(LAST_GOOD)? {
            Parsed::Good(inventory) => {
                tracing::warn!(
                    inventory = %path.display(),
                    "the inventory is damaged ({detail}); {where_damaged}. Going on with its last good copy {}: \
                     services lvsync created after that copy was written and that have since left the file are not \
                     deleted; check `lvsync plan` and remove them with `ipvsadm -D` if needed",
                    self.path.join(LAST_GOOD).display()
                );
                if moved {
                    self.save(&inventory)?;
                }
                Ok(inventory)
            }
            _ => {
                tracing::warn!(
                    inventory = %path.display(),
                    "the inventory is damaged ({detail}) and there is no good copy; {where_damaged}. Going on as on a \
                     first run: services lvsync created that have left the file are left alone, not deleted; \
                     remove them with `ipvsadm -D`, or restore the inventory from a backup"
                );
                Ok(Inventory::default())
            }
        }
    }

    /// Replaced atomically and durably, so a crash never leaves half an inventory and a reader
    /// without the lock sees a whole one; then the same again as the last good copy.
    pub fn save(&self, inventory: &Inventory) -> Result<(), Error> {
        let path = self.path.join(INVENTORY);
        let (Some(dir), Some(_)) = (&self.dir, &self._lock) else { return Err(Error::ReadOnly { path }) };
        let disk = OnDisk {
            version: 1,
            services: inventory.services.iter().map(|(k, n)| (k.to_string(), n.clone())).collect(),
            firewall: inventory.firewall.clone(),
            host: inventory.host.clone(),
            sync: inventory.sync.clone(),
            drains: DrainEntry::write_all(&inventory.drains),
        };
        let mut text = serde_json::to_string_pretty(&disk)
            .map_err(|e| Error::Write { path: path.clone(), source: io::Error::other(e) })?;
        text.push('\n');
        dir.replace(INVENTORY, TEMPORARY, text.as_bytes())?;
        dir.replace(LAST_GOOD, TEMPORARY, text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inventory_round_trips_and_lock_is_exclusive() {
        let dir = tempfile::tempdir().unwrap();
        let sd = StateDir::lock(dir.path(), Duration::ZERO).unwrap();
        assert!(!sd.load().unwrap().found);
        let mut inv = Inventory::default();
        inv.services.insert("tcp/192.168.2.110:80".parse().unwrap(), Some("web".into()));
        inv.services.insert("fwmark/3/ipv6".parse().unwrap(), None);
        inv.firewall = Some([Family::Ipv6].into());
        sd.save(&inv).unwrap();
        let back = sd.load().unwrap();
        assert!(back.found);
        assert_eq!(back.services, inv.services);
        assert_eq!(back.firewall, inv.firewall);

        let err = StateDir::lock(dir.path(), Duration::from_millis(120)).unwrap_err();
        assert!(matches!(err, Error::Locked { .. }), "{err}");
        drop(sd);
        StateDir::lock(dir.path(), Duration::ZERO).unwrap();
    }

    #[test]
    fn a_damaged_inventory_falls_back_to_its_last_good_copy_and_is_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        let sd = StateDir::lock(dir.path(), Duration::ZERO).unwrap();
        let mut inv = Inventory::default();
        inv.services.insert("tcp/192.168.2.110:80".parse().unwrap(), Some("web".into()));
        sd.save(&inv).unwrap();
        fs::write(dir.path().join(INVENTORY), "{not json").unwrap();
        let before = recoveries();

        // Read-only: the copy is used, nothing is moved.
        let reader = StateDir::read_only(dir.path()).unwrap();
        assert_eq!(reader.load().unwrap().services, inv.services);
        assert_eq!(fs::read_to_string(dir.path().join(INVENTORY)).unwrap(), "{not json");
        assert!(reader.save(&inv).is_err(), "a read-only state directory is never written");

        // With the lock: the damaged file is kept aside and the copy takes its place.
        assert_eq!(sd.load().unwrap().services, inv.services);
        assert_eq!(fs::read_to_string(dir.path().join(DAMAGED)).unwrap(), "{not json");
        assert_eq!(StateDir::read_only(dir.path()).unwrap().load().unwrap().services, inv.services);
        assert!(recoveries() >= before + 2);
    }

    #[test]
    fn a_damaged_inventory_without_a_good_copy_goes_on_as_a_first_run() {
        let dir = tempfile::tempdir().unwrap();
        let sd = StateDir::lock(dir.path(), Duration::ZERO).unwrap();
        fs::write(dir.path().join(INVENTORY), "{not json").unwrap();
        let inv = sd.load().unwrap();
        assert!(!inv.found && inv.services.is_empty(), "{inv:?}");
        assert!(!dir.path().join(INVENTORY).exists());
        assert!(dir.path().join(DAMAGED).exists());
    }

    #[test]
    fn read_only_opens_neither_create_nor_lock() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("state");
        assert!(!StateDir::read_only(&missing).unwrap().load().unwrap().found);
        assert!(!missing.exists());
        let held = StateDir::lock(&missing, Duration::ZERO).unwrap();
        held.save(&Inventory::default()).unwrap();
        assert!(StateDir::read_only(&missing).unwrap().load().unwrap().found);
    }
}
