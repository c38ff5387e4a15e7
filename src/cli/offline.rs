//! The snapshot commands: `export --format json` writes a snapshot of the live state, and
//! `plan FILE --observed SNAPSHOT` plans against one with no kernel and no root.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;

use super::args::Format;
use super::commands::{load, print_plan, read};
use super::output::{Done, Out};
use crate::desired::render_diff;
use crate::director::{self, Director, Role, Scope};
use crate::snapshot::Snapshot;
use crate::state::State;
use crate::watch::status;

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
    // The table and what decides whether a real server that leaves the file drains or goes at
    // once (its active connections), from one read.
    let conns = match director.role() {
        Role::Director => {
            let mut table = State::default();
            let conns = crate::ipvs::IpvsBackend::connect()
                .and_then(|mut ipvs| ipvs.observe_ipvs_with_conns(&mut table))
                .context("cannot read the IPVS table")?;
            director.use_ipvs_read(table);
            conns
        }
        Role::RealServer { .. } => Default::default(),
    };
    let state = director.observe(&Scope::All)?;
    let mut snapshot = Snapshot::take(&state, &inventory, host_name(), SystemTime::now());
    snapshot.set_active_conns(&conns);
    // Only the `down` verdicts count for a plan (see `watch::stored`). A record that cannot be
    // read is left out, as `plan` on the director plans without it, and said.
    let loaded = status::load(&g.state_dir).unwrap_or_else(|err| {
        let err = crate::error_chain::error_chain(&err);
        tracing::warn!("the health verdicts in the state dir cannot be read ({err}); the snapshot has none");
        status::Loaded::NoRecord
    });
    if let status::Loaded::Record(mut record) = loaded {
        for s in &mut record.services {
            s.real_servers.retain(|r| r.health == "down");
        }
        record.services.retain(|s| !s.real_servers.is_empty());
        if !record.services.is_empty() {
            snapshot.health = Some(serde_json::to_value(&record).context("cannot write the health verdicts")?);
        }
    }
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
    let record =
        match &snapshot.health {
            Some(h) => Some(<status::Record as serde::Deserialize>::deserialize(h).with_context(|| {
                format!("cannot read the health verdicts of the snapshot {}", opts.snapshot.display())
            })?),
            None => None,
        };
    // As `plan` on the director would have planned when the snapshot was taken.
    let taken = UNIX_EPOCH + Duration::from_secs(snapshot.taken_at);
    let conns =
        snapshot.active_conns().with_context(|| format!("cannot read the snapshot {}", opts.snapshot.display()))?;
    let (wanted, planned) = super::oneshot::wanted_offline(&config, record, observed, &inventory, conns, taken);
    let (observed, want, mut planned) = (planned.observed, wanted.desired, planned.plan);
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
