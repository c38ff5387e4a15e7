//! The second stage of the command line: the raw clap arguments resolved, once, into what the
//! commands use (director options, the logging to set up, quietness).

use std::time::Duration;

use super::args::{Cli, Command, Global, LogFormat, Role};
use crate::director;

/// How long a command waits for another lvsync holding the state directory's lock.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// A command line, resolved.
pub struct Resolved {
    pub command: Command,
    pub director: director::Options,
    pub logging: Logging,
    /// `-q`: errors only.
    pub quiet: bool,
    /// `--node` as given (`director.node` falls back to the hostname): `plan --observed`
    /// checks the snapshot's host against it only when it was given.
    pub node: Option<String>,
}

/// The logging a command sets up: a daemon logs what it does at info by default; the other
/// commands only warn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logging {
    Command { format: LogFormat, level: &'static str },
    Daemon { format: crate::watch::LogFormat, verbosity: i8 },
}

impl Resolved {
    pub fn new(cli: Cli) -> Resolved {
        let g = &cli.global;
        let role = match g.role {
            Role::Director => director::Role::Director,
            Role::RealServer => director::Role::RealServer { addresses: g.address.clone() },
        };
        let director = director::Options {
            state_dir: g.state_dir.clone(),
            iptables: g.iptables.clone(),
            lock_wait: LOCK_WAIT,
            keepalived: crate::keepalived::Options {
                conf: g.keepalived_conf.clone(),
                pid: g.keepalived_pid.clone(),
                program: "keepalived".to_string(),
            },
            node: g.node.clone().unwrap_or_else(hostname),
            role,
        };
        let logging = match cli.command {
            Command::Watch { .. } => Logging::Daemon {
                format: match g.log_format {
                    LogFormat::Text => crate::watch::LogFormat::Text,
                    LogFormat::Json => crate::watch::LogFormat::Json,
                },
                verbosity: i8::try_from(g.verbose).unwrap_or(i8::MAX) - i8::try_from(g.quiet).unwrap_or(i8::MAX),
            },
            _ => Logging::Command { format: g.log_format, level: command_level(g) },
        };
        Resolved { quiet: g.quiet > 0, node: g.node.clone(), director, logging, command: cli.command }
    }
}

fn command_level(g: &Global) -> &'static str {
    match (g.verbose, g.quiet) {
        (_, q) if q > 0 => "error",
        (0, _) => "warn",
        (1, _) => "info",
        (2, _) => "debug",
        _ => "trace",
    }
}

impl Logging {
    /// Install the process-wide subscriber on stderr.
    pub fn init(self) {
        match self {
            Logging::Daemon { format, verbosity } => crate::watch::init_logging(format, verbosity),
            Logging::Command { format, level } => {
                let filter = tracing_subscriber::EnvFilter::try_from_env("LVSYNC_LOG")
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("lvsync={level}")));
                let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
                let _ = match format {
                    LogFormat::Json => builder.json().flatten_event(true).try_init(),
                    LogFormat::Text => {
                        builder.with_ansi(super::color_for(&std::io::stderr())).without_time().try_init()
                    }
                };
            }
        }
    }
}

/// This machine's hostname, up to the first dot (`lb1.example.net` is node `lb1`).
fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `buf.len()` bytes into our buffer.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    let name = if ok { String::from_utf8_lossy(&buf[..end]).into_owned() } else { String::new() };
    name.split('.').next().unwrap_or_default().to_string()
}
