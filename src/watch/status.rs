//! What `watch` knows about health and drains, kept in the state dir (`health.json`, replaced
//! atomically) for `lvsync status`, which reads it without the lock while `watch` runs.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::health::pool::Verdicts;
use crate::health::verdict::clock;
use crate::inventory::secure::Dir;
use crate::model::Config;
use crate::state::Overlays;

pub const FILE: &str = "health.json";
const TMP: &str = ".health.json.tmp";
/// The record is refused above this size (16,000 real servers take about 4 MB).
const CAP: u64 = 64 << 20;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Record {
    /// Unix seconds.
    pub written: u64,
    pub services: Vec<ServiceRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ServiceRecord {
    pub name: String,
    pub service: String,
    pub real_servers: Vec<RealRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RealRecord {
    pub real_server: String,
    /// `None`: not in the file (draining, or the fallback).
    pub file_weight: Option<u32>,
    /// `up`, `down` or `unknown` (not probed).
    pub health: String,
    pub since: Option<String>,
    /// `pass` or `fail`.
    pub last_probe: Option<String>,
    pub last_error: Option<String>,
    /// Why the kernel differs from the file (health, drain, fallback).
    pub overlay: Option<String>,
    /// Seconds left of a drain.
    pub drain_left_s: Option<u64>,
    /// The probed target's fingerprint ([`super::stored::fingerprint`]): a verdict is honoured
    /// by `plan` and `apply` only for the same check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<String>,
    /// `since`, in Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_s: Option<u64>,
}

/// The record of `config` under `verdicts` and `overlays`.
pub fn record(config: &Config, verdicts: &Verdicts, overlays: &Overlays, now: SystemTime) -> Record {
    let mut services = Vec::new();
    for s in &config.services {
        let mut reals = Vec::new();
        let mut keys: Vec<_> = s.service.reals.keys().copied().collect();
        keys.extend(overlays.drains.keys().chain(overlays.added.keys()).filter(|(k, _)| *k == s.key).map(|(_, r)| *r));
        keys.sort();
        keys.dedup();
        for rk in keys {
            let at = (s.key, rk);
            let verdict = s.health.checks.get(&rk).and_then(|c| verdicts.get(&c.target).map(|v| (c, v)));
            let overlay = overlays
                .drains
                .get(&at)
                .map(|d| format!("draining: {}", d.reason))
                .or_else(|| overlays.weights.get(&at).map(|w| w.reason.clone()))
                .or_else(|| overlays.removed.get(&at).cloned())
                .or_else(|| overlays.added.get(&at).map(|a| a.reason.clone()));
            reals.push(RealRecord {
                real_server: rk.to_string(),
                file_weight: s.service.reals.get(&rk).map(|r| r.weight),
                health: verdict.map_or("unknown", |(_, v)| v.health()).into(),
                since: verdict.map(|(_, v)| clock(v.since).to_string()),
                last_probe: verdict
                    .and_then(|(_, v)| v.last.as_ref())
                    .map(|o| if o.passed() { "pass" } else { "fail" }.into()),
                last_error: verdict
                    .and_then(|(c, v)| v.last_error.as_ref().map(|e| format!("{}: {e}", c.target.kind.name()))),
                overlay,
                drain_left_s: overlays.drains.get(&at).map(|d| d.until.duration_since(now).map_or(0, |l| l.as_secs())),
                check: verdict.map(|(c, _)| super::stored::fingerprint(&c.target)),
                since_s: verdict.and_then(|(_, v)| v.since.duration_since(UNIX_EPOCH).ok()).map(|d| d.as_secs()),
            });
        }
        services.push(ServiceRecord { name: s.name.clone(), service: s.key.to_string(), real_servers: reals });
    }
    let written = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    Record { written, services }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Dir(#[from] crate::inventory::Error),
    #[error("{path} is not a health record lvsync wrote: {source}")]
    Bad {
        path: String,
        #[source]
        source: serde_json::Error,
    },
}

/// Replace the record in `state_dir` (made if missing).
pub fn save(state_dir: &Path, record: &Record) -> Result<(), Error> {
    let Some(dir) = Dir::open(state_dir, true)? else { return Ok(()) };
    // Streamed to the file: at 20,000 services the text is about 25 MB.
    dir.replace_with(FILE, TMP, |out| serde_json::to_writer(out, record).map_err(std::io::Error::other))?;
    Ok(())
}

pub enum Loaded {
    NoStateDir,
    /// No `watch` has written one yet.
    NoRecord,
    Record(Record),
}

/// Saves records on a thread of its own, the latest first (older ones waiting are skipped), so
/// that a slow disk never delays a reconcile.
pub struct Writer {
    tx: std::sync::mpsc::Sender<Record>,
}

impl Writer {
    pub fn start(state_dir: &Path) -> std::io::Result<Writer> {
        let (tx, rx) = std::sync::mpsc::channel::<Record>();
        let dir = state_dir.to_path_buf();
        std::thread::Builder::new().name("lvsync-status".into()).spawn(move || {
            while let Ok(first) = rx.recv() {
                let latest = rx.try_iter().last().unwrap_or(first);
                if let Err(err) = save(&dir, &latest) {
                    tracing::warn!(error = %crate::error_chain::error_chain(&err), "cannot keep the health record for `lvsync status`");
                }
            }
        })?;
        Ok(Writer { tx })
    }

    pub fn write(&self, record: Record) {
        let _ = self.tx.send(record);
    }
}

/// The record in `state_dir`.
pub fn load(state_dir: &Path) -> Result<Loaded, Error> {
    let Some(dir) = Dir::open(state_dir, false)? else { return Ok(Loaded::NoStateDir) };
    let Some(bytes) = dir.read(FILE, CAP)? else { return Ok(Loaded::NoRecord) };
    let path = dir.join(FILE).display().to_string();
    Ok(Loaded::Record(serde_json::from_slice(&bytes).map_err(|source| Error::Bad { path, source })?))
}
