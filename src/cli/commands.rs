//! Each command, from parsed arguments to printed output and exit status.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};

use super::args::{Cli, Command, Format, Global};
use super::color_for;
use super::planfile::{self, PlanFile};
use crate::director::{Director, Options, Scope};
use crate::model::{self, Config};
use crate::plan::{self, Plan, RenderOptions};

/// How long a command waits for another lvsync holding the state directory's lock.
const LOCK_WAIT: Duration = Duration::from_secs(10);

pub fn run(cli: Cli) -> anyhow::Result<i32> {
    let g = &cli.global;
    match cli.command {
        Command::Validate { files } => Ok(validate(&files, g.quiet > 0)),
        Command::Schema => {
            print!("{}", model::schema_json());
            Ok(0)
        }
        Command::Plan { file, format, detailed_exitcode, out, diff } => {
            plan(g, &file, format, detailed_exitcode, out.as_deref(), diff)
        }
        Command::Apply { file: Some(file), format, .. } => apply(g, &file, format),
        Command::Apply { plan: Some(planfile), format, .. } => apply_saved(g, &planfile, format),
        Command::Apply { .. } => bail!("apply needs a FILE or --plan PLANFILE"),
        Command::Export => export(g),
        Command::Lab { file, requests, format } => {
            let mut opts = crate::lab::LabOptions::new(file);
            opts.requests = requests;
            opts.progress = g.quiet == 0;
            let report = crate::lab::run(&opts)?;
            if format == Format::Json {
                for note in &report.notes {
                    eprintln!("note: {note}");
                }
                print!("{}", report.to_json());
            } else {
                print!("{}", report.render_text());
            }
            Ok(report.exit_code())
        }
        Command::Import { file, from } => super::import::run(&file, from),
        Command::Completions { shell } => Ok(super::packaging::completions(shell)),
        Command::Manpages { dir } => super::packaging::manpages(&dir),
        Command::LabInner { args } => Ok(crate::lab::inner_main(&args)),
        Command::Watch { file, resync_interval, metrics_listen } => {
            let director = options(g);
            let resync_interval = Duration::from_secs(resync_interval);
            crate::watch::run(crate::watch::WatchOptions { file, resync_interval, metrics_listen, director })?;
            Ok(0)
        }
    }
}

fn options(g: &Global) -> Options {
    Options { state_dir: g.state_dir.clone(), iptables: g.iptables.clone(), lock_wait: LOCK_WAIT }
}

fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Parse and validate; an invalid file is an error whose first line says nothing was changed.
fn load(path: &Path, text: &str) -> anyhow::Result<Config> {
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
    tracing::debug!(ms = start.elapsed().as_millis() as u64, services = config.services.len(), "loaded the file");
    Ok(config)
}

fn validate(files: &[std::path::PathBuf], quiet: bool) -> i32 {
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
                if !quiet {
                    let reals: usize = config.services.iter().map(|s| s.service.reals.len()).sum();
                    println!(
                        "{}: valid ({}, {}, {})",
                        path.display(),
                        count(config.services.len(), "service"),
                        count(reals, "real server"),
                        count(config.firewall.len(), "firewall rule")
                    );
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

fn count(n: usize, what: &str) -> String {
    if n == 1 { format!("1 {what}") } else { format!("{n} {what}s") }
}

fn print_plan(plan: &Plan, format: Format) {
    match format {
        Format::Text => print!("{}", plan::render_text(plan, RenderOptions { color: color_for(&std::io::stdout()) })),
        Format::Json => print_json(&plan::json(plan)),
    }
}

/// Straight to a buffered stdout: a plan of every real server of a large director is megabytes.
fn print_json(value: &impl serde::Serialize) {
    use std::io::Write as _;
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    // A closed pipe (`lvsync plan --format json | head`) is not an error worth a panic.
    let _ = serde_json::to_writer_pretty(&mut out, value).map_err(std::io::Error::from).and_then(|()| writeln!(out));
    let _ = out.flush();
}

fn plan(
    g: &Global,
    file: &Path,
    format: Format,
    detailed: bool,
    out: Option<&Path>,
    diff: bool,
) -> anyhow::Result<i32> {
    let text = read(file)?;
    let config = load(file, &text)?;
    let mut director = Director::open(&options(g))?;
    let planned = director.plan(&config, &Scope::All)?;
    print_plan(&planned.plan, format);
    if diff {
        print!("{}", plan::render_diff(&planned.observed, &planned.desired, &planned.plan));
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
            println!("Saved the plan to {}; apply it with `lvsync apply --plan {}`.", out.display(), out.display());
        }
    }
    Ok(if detailed && !planned.plan.is_empty() { 2 } else { 0 })
}

fn apply(g: &Global, file: &Path, format: Format) -> anyhow::Result<i32> {
    let text = read(file)?;
    let config = load(file, &text)?;
    let mut director = Director::open(&options(g))?;
    let applied = director
        .apply(&config, &Scope::All)
        .with_context(|| format!("applying {} did not complete; changes before the failure remain", file.display()))?;
    report_applied(&applied.plan, applied.executed.writes, format);
    Ok(0)
}

fn apply_saved(g: &Global, path: &Path, format: Format) -> anyhow::Result<i32> {
    let saved = planfile::read(path)?;
    let config = load(&saved.file, &saved.file_text)?;
    let mut director = Director::open(&options(g))?;
    let planned = director.plan(&config, &Scope::All)?;
    if planfile::fingerprint(&planned.observed) != saved.live_fingerprint
        || plan::render_json(&planned.plan) != saved.plan
    {
        bail!(
            "the live state changed since the plan in {} was made; nothing was changed. Run `lvsync plan {} --out {}` again and review it",
            path.display(),
            saved.file.display(),
            path.display()
        );
    }
    let applied = director
        .execute(&config, &Scope::All, planned.plan)
        .with_context(|| format!("applying {} did not complete; changes before the failure remain", path.display()))?;
    report_applied(&applied.plan, applied.executed.writes, format);
    Ok(0)
}

fn report_applied(plan: &Plan, writes: usize, format: Format) {
    let start = std::time::Instant::now();
    match format {
        Format::Json => {
            let mut j = plan::json(plan);
            j.kernel_writes = Some(writes);
            print_json(&j);
        }
        Format::Text if plan.is_empty() => {
            print!("{}", plan::render_text(plan, RenderOptions { color: color_for(&std::io::stdout()) }));
            println!("The kernel already matches the file.");
        }
        Format::Text => {
            let text = plan::render_text(plan, RenderOptions { color: color_for(&std::io::stdout()) });
            // The plan's last line says what would be done; after applying, say what was done.
            let body = text.trim_end().rsplit_once('\n').map_or("", |(b, _)| b);
            println!("{body}");
            let s = plan.summary();
            println!("Apply complete: {} created, {} updated, {} deleted.", s.create, s.update, s.delete);
        }
    }
    tracing::debug!(ms = start.elapsed().as_millis() as u64, "reported");
}

fn export(g: &Global) -> anyhow::Result<i32> {
    let mut director = Director::open(&options(g))?;
    let state = director.observe_ipvs()?;
    print!("{}", model::export(&state));
    Ok(0)
}
