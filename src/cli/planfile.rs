//! Saved plans (`plan --out`, `apply --plan`): the file as it was planned and a fingerprint of
//! the live state the plan was made against, so a stale plan is refused instead of applied.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};

use crate::state::State;

#[derive(Debug, Serialize, Deserialize)]
pub struct PlanFile {
    pub format_version: String,
    pub lvsync_version: String,
    /// The desired-state file's path and exact text at planning time.
    pub file: PathBuf,
    pub file_text: String,
    /// Of the observed state the plan was made against.
    pub live_fingerprint: String,
    /// The plan as `plan --format json` prints it, for people and tools reading the file.
    pub plan: serde_json::Value,
}

/// FNV-1a over the canonical debug form of the state: stable for one lvsync version, which the
/// plan file also records.
pub fn fingerprint(state: &State) -> String {
    let text = format!("{state:?}");
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

pub fn write(path: &Path, pf: &PlanFile) -> anyhow::Result<()> {
    let mut text = serde_json::to_string_pretty(pf).context("encoding the plan")?;
    text.push('\n');
    std::fs::write(path, text).with_context(|| format!("cannot write plan file {}", path.display()))
}

pub fn read(path: &Path) -> anyhow::Result<PlanFile> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read plan file {}", path.display()))?;
    let pf: PlanFile = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a plan file written by `lvsync plan --out`", path.display()))?;
    if pf.lvsync_version != env!("CARGO_PKG_VERSION") {
        bail!(
            "plan file {} was made by lvsync {}, this is {}; run `lvsync plan --out` again with this version",
            path.display(),
            pf.lvsync_version,
            env!("CARGO_PKG_VERSION")
        );
    }
    Ok(pf)
}
