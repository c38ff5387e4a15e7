//! What `watch` knows about health and drains, kept in the state dir (`health.json`, replaced
//! atomically) for `lvsync status`, which reads it without the lock while `watch` runs.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::health::pool::Verdicts;
use crate::health::verdict::clock;
use crate::inventory::secure::Dir;
use crate::model::Config;
use crate::state::{Overlays, RealKey, ServiceKey};

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

impl RealRecord {
    /// A real server known only by its file weight: not probed (or no verdict yet), no overlay.
    fn unprobed(rk: RealKey, file_weight: Option<u32>) -> RealRecord {
        RealRecord {
            real_server: rk.to_string(),
            file_weight,
            health: "unknown".into(),
            since: None,
            last_probe: None,
            last_error: None,
            overlay: None,
            drain_left_s: None,
            check: None,
            since_s: None,
        }
    }
}

/// The record of `config` under `verdicts` and `overlays`.
pub fn record(config: &Config, verdicts: &Verdicts, overlays: &Overlays, now: SystemTime) -> Record {
    pending(config, verdicts, overlays, now).expand()
}

/// A record as `watch` hands it to the [`Writer`]: a service with neither a verdict nor an
/// overlay on any real server (no probes, no drain: file weights only) is kept as its key and
/// weights, and written out in full only as the file is written. At 20,000 services x 8 the full
/// record is ~45 MiB in memory, this one ~6 MiB; the file is the same.
pub struct Pending {
    written: u64,
    services: Vec<PendingService>,
}

enum PendingService {
    Full(ServiceRecord),
    Plain { name: String, key: ServiceKey, reals: Box<[(RealKey, u32)]> },
}

impl PendingService {
    fn expand(&self) -> std::borrow::Cow<'_, ServiceRecord> {
        match self {
            PendingService::Full(s) => std::borrow::Cow::Borrowed(s),
            PendingService::Plain { name, key, reals } => std::borrow::Cow::Owned(ServiceRecord {
                name: name.clone(),
                service: key.to_string(),
                real_servers: reals.iter().map(|(rk, weight)| RealRecord::unprobed(*rk, Some(*weight))).collect(),
            }),
        }
    }
}

impl Pending {
    pub fn expand(&self) -> Record {
        Record { written: self.written, services: self.services.iter().map(|s| s.expand().into_owned()).collect() }
    }
}

/// Written as a [`Record`], one service at a time.
impl Serialize for Pending {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        struct Services<'a>(&'a [PendingService]);
        impl Serialize for Services<'_> {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_seq(self.0.iter().map(PendingService::expand))
            }
        }
        let mut record = serializer.serialize_struct("Record", 2)?;
        record.serialize_field("written", &self.written)?;
        record.serialize_field("services", &Services(&self.services))?;
        record.end()
    }
}

/// [`record`], kept compact for the writer (see [`Pending`]).
pub fn pending(config: &Config, verdicts: &Verdicts, overlays: &Overlays, now: SystemTime) -> Pending {
    let mut services = Vec::with_capacity(config.services.len());
    for s in &config.services {
        let mut keys: Vec<_> = s.service.reals.keys().copied().collect();
        keys.extend(overlays.drains.keys().chain(overlays.added.keys()).filter(|(k, _)| *k == s.key).map(|(_, r)| *r));
        keys.sort();
        keys.dedup();
        let verdict_of = |rk: &RealKey| s.health.checks.get(rk).and_then(|c| verdicts.get(&c.target).map(|v| (c, v)));
        let overlaid = |rk: &RealKey| {
            let at = (s.key, *rk);
            overlays.drains.contains_key(&at)
                || overlays.weights.contains_key(&at)
                || overlays.removed.contains_key(&at)
                || overlays.added.contains_key(&at)
        };
        if keys.iter().all(|rk| s.service.reals.contains_key(rk) && verdict_of(rk).is_none() && !overlaid(rk)) {
            let reals = keys.iter().map(|rk| (*rk, s.service.reals[rk].weight)).collect();
            services.push(PendingService::Plain { name: s.name.clone(), key: s.key, reals });
            continue;
        }
        let mut reals = Vec::new();
        for rk in keys {
            let at = (s.key, rk);
            let verdict = verdict_of(&rk);
            let overlay = overlays
                .drains
                .get(&at)
                .map(|d| format!("draining: {}", d.reason))
                .or_else(|| overlays.weights.get(&at).map(|w| w.reason.clone()))
                .or_else(|| overlays.removed.get(&at).cloned())
                .or_else(|| overlays.added.get(&at).map(|a| a.reason.clone()));
            let base = RealRecord::unprobed(rk, s.service.reals.get(&rk).map(|r| r.weight));
            reals.push(RealRecord {
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
                ..base
            });
        }
        services.push(PendingService::Full(ServiceRecord {
            name: s.name.clone(),
            service: s.key.to_string(),
            real_servers: reals,
        }));
    }
    let written = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    Pending { written, services }
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
pub fn save(state_dir: &Path, record: &impl Serialize) -> Result<(), Error> {
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
    tx: std::sync::mpsc::Sender<Pending>,
}

impl Writer {
    pub fn start(state_dir: &Path) -> std::io::Result<Writer> {
        let (tx, rx) = std::sync::mpsc::channel::<Pending>();
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

    pub fn write(&self, record: Pending) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::WeightOverride;

    #[test]
    fn the_compact_record_is_written_as_the_full_one() {
        let text = "version: 1\nservices:\n  - name: web\n    vip: 192.168.2.110\n    port: 80\n    real_servers:\n      - {address: 10.0.0.1, weight: 3}\n      - {address: 10.0.0.2}\n  - name: quiet\n    vip: 192.168.2.111\n    port: 443\n    health: {check: tcp}\n    real_servers:\n      - {address: 10.0.0.3}\n";
        let config = crate::model::load(text).expect("valid");
        let web = &config.services[0];
        let first = *web.service.reals.keys().next().expect("a real server");
        let mut overlays = Overlays::default();
        overlays
            .weights
            .insert((web.key, first), WeightOverride { weight: 0, reason: "health: down since 10:00:00".into() });
        let now = UNIX_EPOCH + std::time::Duration::from_secs(1_764_561_600);
        let pending = pending(&config, &Verdicts::default(), &overlays, now);
        assert!(matches!(pending.services[0], PendingService::Full(_)));
        assert!(matches!(pending.services[1], PendingService::Plain { .. }));
        let full = record(&config, &Verdicts::default(), &overlays, now);
        assert_eq!(serde_json::to_string(&pending).unwrap(), serde_json::to_string(&full).unwrap());
        assert_eq!(full.services[1].real_servers[0].health, "unknown");
        assert_eq!(full.services[0].real_servers[0].overlay.as_deref(), Some("health: down since 10:00:00"));
    }
}
