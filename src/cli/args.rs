//! The command line's shape (clap). Help text is written for a newcomer.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "lvsync",
    version,
    about = "Keep Linux Virtual Server (IPVS) directors in the state a YAML file describes",
    long_about = "Keep Linux Virtual Server (IPVS) directors in the state a YAML file describes.\n\n\
        Write the director's virtual services, real servers and firewall intents in one YAML file \
        (kept in git), then:\n  \
        lvsync validate FILE   check the file, touching nothing\n  \
        lvsync plan FILE       show what would change in the live kernel\n  \
        lvsync apply FILE      make exactly those changes\n  \
        lvsync watch FILE      keep applying on every change of FILE, and undo drift\n  \
        lvsync export          print the live state as a file (adopt a hand-built director)\n  \
        lvsync lab FILE        try FILE with real traffic in a throw-away kernel",
    after_help = "Exit status: 0 success; 1 error or invalid file; with `plan --detailed-exitcode`, 2 when changes are pending."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    /// Directory for the lock and the record of what lvsync manages
    #[arg(long, global = true, value_name = "DIR", default_value = "/var/lib/lvsync")]
    pub state_dir: PathBuf,
    /// iptables variant to drive: auto (the one this system uses: the one holding lvsync's chains or more rules; legacy when nf_tables is unusable), iptables, iptables-legacy or iptables-nft (CMD-save, CMD-restore and ip6tables twins are derived)
    #[arg(long, global = true, value_name = "CMD", default_value = "auto")]
    pub iptables: String,
    /// This director's name among the file's `ha.nodes` (default: the hostname)
    #[arg(long, global = true, value_name = "NAME")]
    pub node: Option<String>,
    /// keepalived's configuration file, which lvsync writes when the file has `ha`
    #[arg(long, global = true, value_name = "PATH", default_value = "/etc/keepalived/keepalived.conf")]
    pub keepalived_conf: PathBuf,
    /// keepalived's pid file: lvsync sends that process SIGHUP after a new configuration
    #[arg(long, global = true, value_name = "PATH", default_value = "/run/keepalived.pid")]
    pub keepalived_pid: PathBuf,
    /// Log format on stderr
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// More log output (repeat for more)
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Less output: errors only
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub quiet: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Parse and check desired-state files; touch nothing
    Validate {
        /// Files to check
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Print the JSON Schema of the file format
    Schema,
    /// Show the changes `apply` would make to the live kernel
    Plan {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Exit 0 when there is nothing to do, 2 when changes are pending, 1 on error
        #[arg(long)]
        detailed_exitcode: bool,
        /// Save the plan, for `apply --plan PLANFILE`
        #[arg(long, value_name = "PLANFILE")]
        out: Option<PathBuf>,
        /// Also show a unified diff of the live and desired state (canonical YAML, firewall rules)
        #[arg(long)]
        diff: bool,
    },
    /// Make exactly the needed changes and print what was done
    Apply {
        /// The desired-state file (or use --plan)
        #[arg(value_name = "FILE", required_unless_present = "plan", conflicts_with = "plan")]
        file: Option<PathBuf>,
        /// Apply a plan saved by `plan --out`; refused if the live state changed since
        #[arg(long, value_name = "PLANFILE")]
        plan: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Run as a daemon: apply on start, on every change of FILE, on SIGHUP, and periodically to undo drift
    Watch {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Seconds between full resyncs that undo changes made by hand
        #[arg(long, value_name = "SECS", default_value_t = 30)]
        resync_interval: u64,
        /// Serve Prometheus metrics on ADDR (`9100` or `:9100` means 127.0.0.1:9100); off by default
        #[arg(long, value_name = "ADDR")]
        metrics_listen: Option<String>,
    },
    /// Print the live IPVS state as a valid desired-state file
    Export,
    /// Boot a throw-away kernel, build the director, real servers and a client, apply FILE and send requests
    Lab {
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// New connections (TCP) or datagrams (UDP) per service
        #[arg(long, value_name = "N", default_value_t = 32)]
        requests: u32,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// With `ha`: two directors running keepalived; the master's link goes down halfway
        #[arg(long)]
        failover: bool,
    },
    /// Run by `lvsync lab` inside its kernel
    #[command(name = "lab-inner", hide = true)]
    LabInner {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}
