//! Verdicts outlive the daemon: `watch` keeps them in the state dir (`health.json`, see
//! [`super::status`]), and `plan` and `apply` read them back here, so a one-shot `apply` never
//! puts back a real server `watch` took out. Only `down` verdicts matter (a real server is up
//! until found down); a verdict counts only for a real server the file still probes with the
//! same check, and only from a record written within [`MAX_AGE`].

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::status::{RealRecord, Record};
use crate::health::pool::Verdicts;
use crate::health::spec::Target;
use crate::health::verdict::{Outcome, State, Verdict};
use crate::model::Config;

/// A record older than this is ignored: `watch` rewrites it at every resync (and on every
/// transition), so an older one is from a `watch` stopped a day ago.
pub const MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// A short, stable name of everything that makes a probe and its verdict: FNV-1a (64 bits)
/// of the target's settings.
pub fn fingerprint(target: &Target) -> String {
    let text = format!("{target:?}");
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The `down` verdicts of `record` that still apply to `config` at `now`, and a note when the
/// record is too old to use.
pub fn verdicts(config: &Config, record: &Record, now: SystemTime) -> (Verdicts, Option<String>) {
    let mut out = Verdicts::new();
    let written = UNIX_EPOCH + Duration::from_secs(record.written);
    let age = now.duration_since(written).unwrap_or_default();
    if age > MAX_AGE {
        let note = format!(
            "the health verdicts in the state dir are {} h old (older than {} h): ignored; start `lvsync watch` to probe again",
            age.as_secs() / 3600,
            MAX_AGE.as_secs() / 3600
        );
        return (out, Some(note));
    }
    // Indexed once: a 20,000-service record must not be scanned once per service.
    let by_service: HashMap<&str, HashMap<&str, &RealRecord>> = record
        .services
        .iter()
        .map(|s| (s.service.as_str(), s.real_servers.iter().map(|r| (r.real_server.as_str(), r)).collect()))
        .collect();
    for s in config.services.iter().filter(|s| !s.health.checks.is_empty()) {
        let Some(stored) = by_service.get(s.key.to_string().as_str()) else { continue };
        for (rk, check) in &s.health.checks {
            let Some(r) = stored.get(rk.to_string().as_str()) else { continue };
            let print = fingerprint(&check.target);
            if r.health != "down" || r.check.as_deref() != Some(print.as_str()) {
                continue;
            }
            let since = UNIX_EPOCH + Duration::from_secs(r.since_s.unwrap_or(record.written));
            let prefix = format!("{}: ", check.target.kind.name());
            let error = r.last_error.as_ref().map(|e| e.strip_prefix(&prefix).unwrap_or(e).to_string());
            let last = Outcome { at: since, took: Duration::ZERO, error: error.clone().or(Some("failed".into())) };
            let verdict = Verdict { state: State::Down, since, streak: 0, last: Some(last), last_error: error };
            out.insert(check.target.clone(), verdict);
        }
    }
    (out, None)
}
