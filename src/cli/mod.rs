//! The command line, in two stages: raw arguments (clap, `args`) resolved into what the commands
//! use (`resolve`), then the commands, over the library. Errors are printed
//! here, once: the first sentence says what went wrong, the causes follow.

mod args;
mod commands;
mod diff;
mod heap;
mod import;
mod offline;
mod oneshot;
mod output;
mod packaging;
mod planfile;
mod resolve;
mod status;

use std::io::IsTerminal;

use clap::Parser;

pub use args::{Cli, Command, CompletionShell, DiffFormat, Format, Global, ImportFormat, LogFormat};
pub use resolve::{Logging, Resolved};

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
    let resolved = Resolved::new(cli);
    resolved.logging.init();
    match commands::run(resolved) {
        Ok(code) => code,
        Err(e) => {
            report(&e);
            1
        }
    }
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
