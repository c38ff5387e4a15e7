//! What packages are built from: shell completions and man pages, both generated from the same
//! clap definitions as the command line itself, so they cannot go stale.

use std::path::Path;

use anyhow::Context;
use clap::CommandFactory;

use super::args::{Cli, CompletionShell};
use super::output::{Done, Out};

pub fn completions(shell: CompletionShell) -> i32 {
    let shell = match shell {
        CompletionShell::Bash => clap_complete::Shell::Bash,
        CompletionShell::Zsh => clap_complete::Shell::Zsh,
        CompletionShell::Fish => clap_complete::Shell::Fish,
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut visible(Cli::command()), "lvsync", &mut script);
    let mut out = Out::new();
    out.text(&String::from_utf8_lossy(&script));
    out.finish(0, Done::ReadOnly)
}

/// The command line without its hidden commands (clap_complete would offer them).
fn visible(cmd: clap::Command) -> clap::Command {
    let mut out = clap::Command::new("lvsync").version(env!("CARGO_PKG_VERSION"));
    if let Some(about) = cmd.get_about() {
        out = out.about(about.clone());
    }
    for arg in cmd.get_arguments().filter(|a| !matches!(a.get_id().as_str(), "help" | "version")) {
        out = out.arg(arg.clone());
    }
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        out = out.subcommand(sub.clone());
    }
    out
}

/// `lvsync.1`, and `lvsync-COMMAND.1` for every command that is not hidden.
pub fn manpages(dir: &Path) -> anyhow::Result<i32> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let cmd = Cli::command().version(env!("CARGO_PKG_VERSION"));
    write_page(dir, "lvsync", cmd.clone())?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("lvsync-{}", sub.get_name());
        let sub = sub
            .clone()
            .display_name(name.clone())
            .bin_name(format!("lvsync {}", sub.get_name()))
            .version(env!("CARGO_PKG_VERSION"));
        write_page(dir, &name, sub)?;
    }
    Ok(0)
}

fn write_page(dir: &Path, name: &str, cmd: clap::Command) -> anyhow::Result<()> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd).render(&mut buf).with_context(|| format!("cannot render the man page {name}.1"))?;
    let path = dir.join(format!("{name}.1"));
    std::fs::write(&path, buf).with_context(|| format!("cannot write {}", path.display()))
}
