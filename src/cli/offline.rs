//! The snapshot commands: `export --format json` writes a snapshot of the live state, and
//! `plan FILE --observed SNAPSHOT` plans against one with no kernel and no root.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context;

use super::args::Format;
use super::commands::{load, print_plan, read};
use super::output::{Done, Out};
use crate::desired::{desired, render_diff};
use crate::director::{self, Director, Scope};
use crate::plan;
use crate::snapshot::Snapshot;
use crate::state::Overlays;

pub struct Options {
    pub snapshot: PathBuf,
    pub max_age: u64,
    pub node: Option<String>,
    pub detailed: bool,
    pub diff: bool,
}

pub fn export(g: &director::Options) -> anyhow::Result<i32> {
    // Read-only: never waits for the lock a running `watch` holds.
    let mut director = Director::open_read_only(g)?;
    let inventory = director.inventory()?;
    let state = director.observe(&Scope::All)?;
    let snapshot = Snapshot::take(&state, &inventory, host_name(), SystemTime::now());
    let mut out = Out::new();
    out.json(&snapshot);
    Ok(out.finish(0, Done::ReadOnly))
}

pub fn plan(file: &Path, format: Format, opts: &Options) -> anyhow::Result<i32> {
    let text = read(file)?;
    let config = load(file, &text)?;
    let snap_text = std::fs::read_to_string(&opts.snapshot)
        .with_context(|| format!("cannot read the snapshot {}", opts.snapshot.display()))?;
    let snapshot = Snapshot::parse(&snap_text)
        .and_then(|s| {
            let warning = s.check(SystemTime::now(), Duration::from_secs(opts.max_age), opts.node.as_deref())?;
            Ok((s, warning))
        })
        .with_context(|| format!("cannot plan against the snapshot {}", opts.snapshot.display()));
    let (snapshot, stale) = snapshot?;
    let (observed, inventory) =
        snapshot.observed().with_context(|| format!("cannot read the snapshot {}", opts.snapshot.display()))?;
    let want = desired(&config, &Overlays::default());
    let mut planned = plan::plan(&want, &observed, config.ownership, &inventory);
    planned.notes.insert(
        0,
        format!("planned against the snapshot of {} ({}), not the live kernel", snapshot.host, opts.snapshot.display()),
    );
    if let Some(stale) = stale {
        tracing::warn!("{stale}");
        planned.notes.insert(1, stale);
    }
    let mut stdout = Out::new();
    print_plan(&mut stdout, &planned, format);
    if opts.diff {
        stdout.text(&render_diff(&observed, &want, &planned));
    }
    Ok(stdout.finish(if opts.detailed && !planned.is_empty() { 2 } else { 0 }, Done::ReadOnly))
}

/// The kernel's host name (what `--node` is compared with).
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_default()
}
