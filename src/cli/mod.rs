//! The command line: argument parsing and the commands, over the library. Errors are printed
//! here, once: the first sentence says what went wrong, the causes follow.

mod args;
mod commands;
mod import;
mod packaging;
mod planfile;

use std::io::IsTerminal;

use clap::Parser;

pub use args::{Cli, Command, CompletionShell, Format, Global, ImportFormat, LogFormat};

/// Run the command line; returns the process exit status.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // Usage errors exit 1, not clap's 2: `plan --detailed-exitcode` gives 2 its meaning.
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => 1,
            };
        }
    };
    match &cli.command {
        // A daemon logs what it does at info by default; the other commands only warn.
        Command::Watch { .. } => {
            let format = match cli.global.log_format {
                LogFormat::Text => crate::watch::LogFormat::Text,
                LogFormat::Json => crate::watch::LogFormat::Json,
            };
            let verbosity =
                i8::try_from(cli.global.verbose).unwrap_or(i8::MAX) - i8::try_from(cli.global.quiet).unwrap_or(i8::MAX);
            crate::watch::init_logging(format, verbosity);
        }
        _ => init_logging(&cli.global),
    }
    match commands::run(cli) {
        Ok(code) => code,
        Err(e) => {
            report(&e);
            1
        }
    }
}

fn init_logging(g: &Global) {
    let level = match (g.verbose, g.quiet) {
        (_, q) if q > 0 => "error",
        (0, _) => "warn",
        (1, _) => "info",
        (2, _) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("LVSYNC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("lvsync={level}")));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match g.log_format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.with_ansi(color_for(&std::io::stderr())).without_time().try_init(),
    };
}

/// Colour only on a terminal, and never when NO_COLOR is set to anything non-empty.
pub fn color_for(stream: &impl IsTerminal) -> bool {
    stream.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn report(e: &anyhow::Error) {
    eprintln!("error: {e}");
    for cause in e.chain().skip(1) {
        eprintln!("  caused by: {cause}");
    }
}
