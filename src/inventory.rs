//! The state directory: the inventory of what lvsync applied (so `managed` ownership can
//! delete a service that left the file) and the lock that keeps one lvsync per directory.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::state::Family;
pub use crate::state::Inventory;

#[derive(Serialize, Deserialize)]
struct OnDisk {
    version: u32,
    services: BTreeMap<String, Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    firewall: Option<BTreeSet<Family>>,
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
    #[error("cannot open lock file {path}")]
    Lock {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The state directory, locked for as long as this value lives.
#[derive(Debug)]
pub struct StateDir {
    dir: PathBuf,
    _lock: File,
}

impl StateDir {
    /// Create the directory if needed and take its lock, waiting up to `wait` for another lvsync.
    pub fn lock(dir: &Path, wait: Duration) -> Result<StateDir, Error> {
        fs::create_dir_all(dir).map_err(|source| Error::CreateDir { path: dir.to_path_buf(), source })?;
        let path = dir.join("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| Error::Lock { path: path.clone(), source })?;
        let start = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(StateDir { dir: dir.to_path_buf(), _lock: file }),
                Err(fs::TryLockError::WouldBlock) if start.elapsed() < wait => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                Err(fs::TryLockError::WouldBlock) => return Err(Error::Locked { path }),
                Err(fs::TryLockError::Error(source)) => return Err(Error::Lock { path, source }),
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    fn inventory_path(&self) -> PathBuf {
        self.dir.join("inventory.json")
    }

    pub fn load(&self) -> Result<Inventory, Error> {
        let path = self.inventory_path();
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Inventory::default()),
            Err(source) => return Err(Error::Read { path, source }),
        };
        let disk: OnDisk =
            serde_json::from_str(&text).map_err(|e| Error::Damaged { path: path.clone(), detail: e.to_string() })?;
        let mut services = BTreeMap::new();
        for (id, name) in disk.services {
            let key = id.parse().map_err(|detail| Error::Damaged { path: path.clone(), detail })?;
            services.insert(key, name);
        }
        Ok(Inventory { services, found: true, firewall: disk.firewall })
    }

    /// Written to a temporary file and renamed, so a crash never leaves half an inventory.
    pub fn save(&self, inventory: &Inventory) -> Result<(), Error> {
        let path = self.inventory_path();
        let disk = OnDisk {
            version: 1,
            services: inventory.services.iter().map(|(k, n)| (k.to_string(), n.clone())).collect(),
            firewall: inventory.firewall.clone(),
        };
        let mut text = serde_json::to_string_pretty(&disk).expect("inventory serializes");
        text.push('\n');
        let tmp = self.dir.join("inventory.json.tmp");
        fs::write(&tmp, text).and_then(|()| fs::rename(&tmp, &path)).map_err(|source| Error::Write { path, source })
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
    fn damaged_inventory_is_reported_not_ignored() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("inventory.json"), "{not json").unwrap();
        let sd = StateDir::lock(dir.path(), Duration::ZERO).unwrap();
        let err = sd.load().unwrap_err();
        assert!(err.to_string().contains("damaged"), "{err}");
    }
}
