//! Each command, from parsed arguments to printed output and exit status.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, bail};

use super::args::{Command, Format};
use super::color_for;
use super::output::{Done, Out};
use super::planfile::{self, PlanFile};
use super::resolve::Resolved;
use crate::desired::render_diff;
use crate::director::{Director, Options, Scope, Target};
use crate::model::{self, Config};
use crate::plan::{self, Plan, RenderOptions};

pub fn run(r: Resolved) -> anyhow::Result<i32> {
    let g = &r.director;
    match r.command {
        Command::Validate { files } => {
            let mut out = Out::new();
            let status = validate(&mut out, &files, r.quiet);
            Ok(out.finish(status, Done::ReadOnly))
        }
        Command::Schema => {
            let mut out = Out::new();
            out.text(&model::schema_json());
            Ok(out.finish(0, Done::ReadOnly))
        }
        Command::Plan { file, format, detailed_exitcode, diff, observed: Some(snapshot), max_age, .. } => {
            let node = r.node.clone();
            let opts = super::offline::Options { snapshot, max_age, node, detailed: detailed_exitcode, diff };
            super::offline::plan(&file, format, &opts)
        }
        Command::Plan { file, format, detailed_exitcode, out, diff, .. } => {
            plan(g, &file, format, detailed_exitcode, out.as_deref(), diff)
        }
        Command::Apply { file: Some(file), format, .. } => apply(g, &file, format),
        Command::Apply { plan: Some(planfile), format, .. } => apply_saved(g, &planfile, format),
        Command::Apply { .. } => bail!("apply needs a FILE or --plan PLANFILE"),
        Command::Export { format: Format::Text } => export(g),
        Command::Export { format: Format::Json } => super::offline::export(g),
        Command::Diff { old, new, format } => super::diff::run(&old, &new, format),
        Command::Status { format } => super::status::status(g, format),
        Command::Lab { file, requests, format, failover, kill } => {
            let mut opts = crate::lab::LabOptions::new(file);
            opts.requests = requests;
            opts.failover = failover;
            opts.kill = kill;
            opts.progress = !r.quiet;
            let report = crate::lab::run(&opts)?;
            let mut out = Out::new();
            if format == Format::Json {
                for note in &report.notes {
                    eprintln!("note: {note}");
                }
                out.text(&report.to_json());
            } else {
                out.text(&report.render_text());
            }
            Ok(out.finish(report.exit_code(), Done::ReadOnly))
        }
        Command::Import { file, from } => super::import::run(&file, from),
        Command::Completions { shell } => Ok(super::packaging::completions(shell)),
        Command::Manpages { dir } => super::packaging::manpages(&dir),
        Command::LabInner { args } => Ok(crate::lab::inner_main(&args)),
        Command::Watch { file, resync_interval, metrics_listen } => {
            let director = g.clone();
            let resync_interval = crate::watch::resync_interval(resync_interval)?;
            crate::watch::run(crate::watch::WatchOptions { file, resync_interval, metrics_listen, director })?;
            Ok(0)
        }
    }
}

pub(super) fn read(path: &Path) -> anyhow::Result<String> {
    Ok(model::read_file(path)?)
}

/// Parse and validate; an invalid file is an error whose first line says nothing was changed.
pub(super) fn load(path: &Path, text: &str) -> anyhow::Result<Config> {
    let start = std::time::Instant::now();
    let config = model::load(text).map_err(|diags| {
        let n = diags.len();
        anyhow::anyhow!(
            "{} is not a valid lvsync file ({n} problem{}); nothing was changed\n{}",
            path.display(),
            if n == 1 { "" } else { "s" },
            diags.render(&path.display().to_string()).trim_end()
        )
    })?;
    if let Some(w) = ha_warning(&config) {
        tracing::warn!("{}: {w}", path.display());
    }
    tracing::debug!(ms = start.elapsed().as_millis() as u64, services = config.services.len(), "loaded the file");
    Ok(config)
}

/// [`load`], then, on a director, pick it among `ha.nodes` (`--node` or the hostname): what
/// plan and apply on this host use. A real server (`--role real-server`) is no node.
fn load_here(g: &Options, path: &Path, text: &str) -> anyhow::Result<Config> {
    let mut config = load(path, text)?;
    if g.role == crate::director::Role::Director {
        config.select_node(&g.node).map_err(|e| anyhow::anyhow!("{}: {e}; nothing was changed", path.display()))?;
    }
    Ok(config)
}

fn validate(out: &mut Out, files: &[std::path::PathBuf], quiet: bool) -> i32 {
    let mut status = 0;
    for path in files {
        let text = match read(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: {e:#}");
                status = 1;
                continue;
            }
        };
        match model::load(&text) {
            Ok(config) => {
                for warning in crate::health::advice::warnings(&config) {
                    eprintln!("{}: warning: {warning}", path.display());
                }
                if let Some(w) = ha_warning(&config) {
                    eprintln!("{}: {w}", path.display());
                }
                if !quiet {
                    let reals: usize = config.services.iter().map(|s| s.service.reals.len()).sum();
                    out.line(&format!(
                        "{}: valid ({}, {}, {})",
                        path.display(),
                        count(config.services.len(), "service"),
                        count(reals, "real server"),
                        count(config.firewall.len(), "firewall rule")
                    ));
                }
            }
            Err(diags) => {
                let n = diags.len();
                eprintln!("{}: invalid, {}:", path.display(), count(n, "problem"));
                eprint!("{}", diags.render(&path.display().to_string()));
                status = 1;
            }
        }
    }
    status
}

/// `ha` without `ipvs.sync` works, but connections do not survive a failover.
fn ha_warning(config: &Config) -> Option<&'static str> {
    (config.ha.is_some() && config.sync.is_none()).then_some(
        "warning: `ha` without `ipvs.sync`: the peer director does not know the connections, so they break on failover; add `ipvs.sync`",
    )
}

fn count(n: usize, what: &str) -> String {
    if n == 1 { format!("1 {what}") } else { format!("{n} {what}s") }
}

pub(super) fn print_plan(out: &mut Out, plan: &Plan, format: Format) {
    match format {
        Format::Text => out.text(&plan::render_text(plan, RenderOptions { color: color_for(&std::io::stdout()) })),
        Format::Json => out.json(&plan::json(plan)),
    }
}

fn plan(
    g: &Options,
    file: &Path,
    format: Format,
    detailed: bool,
    out: Option<&Path>,
    diff: bool,
) -> anyhow::Result<i32> {
    let text = read(file)?;
    // The file is parsed on a second thread while this one reads the IPVS table. A bad file is
    // reported first, whatever the kernel said.
    super::heap::prepare_for(text.len());
    let (config, director) = std::thread::scope(|s| {
        let parsing = s.spawn(|| load_here(g, file, &text));
        // Read-only: never waits for the lock a running `watch` holds.
        let director = Director::open_read_only(g).and_then(|mut d| d.read_ipvs_ahead().map(|()| d));
        let config = parsing.join().map_err(|_| anyhow::anyhow!("reading {} failed unexpectedly", file.display()))?;
        anyhow::Ok((config?, director?))
    })?;
    let mut director = director;
    let (wanted, planned) = super::oneshot::wanted(&mut director, g, &config)?;
    let want = &wanted.desired;
    let mut stdout = Out::new();
    print_plan(&mut stdout, &planned.plan, format);
    if diff {
        stdout.text(&render_diff(&planned.observed, want, &planned.plan));
    }
    if let Some(out) = out {
        planfile::write(
            out,
            &PlanFile {
                format_version: "1".into(),
                lvsync_version: env!("CARGO_PKG_VERSION").into(),
                file: file.to_path_buf(),
                file_text: text,
                live_fingerprint: planfile::fingerprint(&planned.observed),
                plan: plan::render_json(&planned.plan),
            },
        )?;
        if format == Format::Text {
            stdout.line(&format!(
                "Saved the plan to {}; apply it with `lvsync apply --plan {}`.",
                out.display(),
                out.display()
            ));
        }
    }
    Ok(stdout.finish(if detailed && !planned.plan.is_empty() { 2 } else { 0 }, Done::ReadOnly))
}

fn apply(g: &Options, file: &Path, format: Format) -> anyhow::Result<i32> {
    let text = read(file)?;
    let (config, mut director) = load_and_lock(g, file, &text)?;
    let (wanted, mut planned) = super::oneshot::wanted(&mut director, g, &config)?;
    warn_notes(&wanted.notes);
    // The notes were logged; the report shows only the planner's own, as before.
    planned.plan.notes.retain(|n| !wanted.notes.contains(n));
    if let Some(records) = &wanted.records {
        // Written ahead: a drain this apply starts is known before its weight 0 is set.
        director.record_drains(records)?;
    }
    let applied = director
        .execute(target(&config, &wanted.desired), &Scope::All, planned.plan)
        .with_context(|| format!("applying {} did not complete", file.display()))?;
    Ok(report_applied(&applied.plan, applied.executed.writes, format))
}

/// Parse the file, take the state directory's lock and read the IPVS table: the parse on a
/// second thread while this one locks and reads, as `plan` does. A bad file is reported first
/// and changes nothing: waiting for the lock stops once the parse has failed, whatever is read
/// is dropped unused, and a state directory that does not exist yet (the first `apply` on a
/// host) is created only after the file was found valid.
fn load_and_lock(g: &Options, file: &Path, text: &str) -> anyhow::Result<(Config, Director)> {
    if !g.state_dir.is_dir() {
        let config = load_here(g, file, text)?;
        return Ok((config, Director::open(g)?));
    }
    super::heap::prepare_for(text.len());
    let bad = AtomicBool::new(false);
    std::thread::scope(|s| {
        let parsing = s.spawn(|| {
            let parsed = load_here(g, file, text);
            bad.store(parsed.is_err(), Ordering::Relaxed);
            parsed
        });
        let director =
            Director::open_unless(g, &|| bad.load(Ordering::Relaxed)).and_then(|mut d| d.read_ipvs_ahead().map(|()| d));
        let config = parsing.join().map_err(|_| anyhow::anyhow!("reading {} failed unexpectedly", file.display()))?;
        anyhow::Ok((config?, director?))
    })
}

fn apply_saved(g: &Options, path: &Path, format: Format) -> anyhow::Result<i32> {
    let saved = planfile::read(path)?;
    let config = load_here(g, &saved.file, &saved.file_text)?;
    let mut director = Director::open(g)?;
    let (wanted, planned) = super::oneshot::wanted(&mut director, g, &config)?;
    let want = &wanted.desired;
    // Drains under way count down and their connections come and go: not a change of plan.
    let without_draining = |mut v: serde_json::Value| {
        if let Some(o) = v.as_object_mut() {
            o.remove("draining");
        }
        v
    };
    if planfile::fingerprint(&planned.observed) != saved.live_fingerprint
        || without_draining(plan::render_json(&planned.plan)) != without_draining(saved.plan.clone())
    {
        bail!(
            "the live state changed since the plan in {} was made; nothing was changed. Run `lvsync plan {} --out {}` again and review it",
            path.display(),
            saved.file.display(),
            path.display()
        );
    }
    if let Some(records) = &wanted.records {
        director.record_drains(records)?;
    }
    let applied = director
        .execute(target(&config, want), &Scope::All, planned.plan)
        .with_context(|| format!("applying {} did not complete", path.display()))?;
    Ok(report_applied(&applied.plan, applied.executed.writes, format))
}

fn warn_notes(notes: &[String]) {
    for note in notes {
        tracing::warn!("{note}");
    }
}

fn target<'a>(config: &Config, desired: &'a crate::state::State) -> Target<'a> {
    Target { desired, ownership: config.ownership }
}

/// Print what an apply did; returns the exit status, 0 even when the report cannot be written.
fn report_applied(plan: &Plan, writes: usize, format: Format) -> i32 {
    let start = std::time::Instant::now();
    let mut out = Out::new();
    match format {
        Format::Json => {
            let mut j = plan::json(plan);
            j.kernel_writes = Some(writes);
            out.json(&j);
        }
        Format::Text if plan.is_empty() => {
            out.text(&plan::render_text(plan, RenderOptions { color: color_for(&std::io::stdout()) }));
            out.line("The kernel already matches the file.");
        }
        Format::Text => {
            let text = plan::render_text(plan, RenderOptions { color: color_for(&std::io::stdout()) });
            // The plan's last line says what would be done; after applying, say what was done.
            let body = text.trim_end().rsplit_once('\n').map_or("", |(b, _)| b);
            out.line(body);
            let s = plan.summary();
            out.line(&format!("Apply complete: {} created, {} updated, {} deleted.", s.create, s.update, s.delete));
        }
    }
    let status = out.finish(0, Done::Applied);
    tracing::debug!(ms = start.elapsed().as_millis() as u64, "reported");
    status
}

fn export(g: &Options) -> anyhow::Result<i32> {
    // Read-only: never waits for the lock a running `watch` holds.
    let mut out = Out::new();
    if let crate::director::Role::RealServer { .. } = g.role {
        let keys = crate::desired::host::real_server_sysctls();
        let observed = crate::host::HostSystem::connect()
            .and_then(|mut h| h.observe(&keys))
            .context("cannot read this host's addresses, tunnel devices and sysctls")?;
        out.text(&crate::desired::host::real_server_export(&observed));
        return Ok(out.finish(0, Done::ReadOnly));
    }
    let mut director = Director::open_read_only(g)?;
    let mut state = director.observe_ipvs()?;
    // The director's own host set-up: `ipvs.sysctls` away from the defaults, and the interface
    // that holds every VIP (`director.interface`).
    let keys: Vec<_> = crate::desired::host::IPVS_SYSCTLS.iter().map(|n| crate::state::SysctlKey::ipvs(n)).collect();
    state.host = crate::host::HostSystem::connect()
        .and_then(|mut h| h.observe(&keys))
        .context("cannot read this host's addresses and net.ipv4.vs sysctls")?;
    // Only what `validate` accepts, or exit 1 naming what the format cannot express.
    let text = model::export_valid(&state)?;
    out.text(&text);
    Ok(out.finish(0, Done::ReadOnly))
}
