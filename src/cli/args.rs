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
    /// This director's name among the file's `ha.nodes` (default: the hostname); with `plan --observed`, also refuse a snapshot taken on another host than NAME
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
    /// Which side of the file this host is: the director, or a real server (plan, apply, watch
    /// and export then set up only what its real servers need: VIPs on lo or a tunnel, sysctls)
    #[arg(long, global = true, value_enum, default_value_t = Role::Director)]
    pub role: Role,
    /// With `--role real-server`: this host's real-server address (repeatable); default: the
    /// addresses found on its interfaces
    #[arg(long, global = true, value_name = "ADDR")]
    pub address: Vec<std::net::IpAddr>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    Director,
    RealServer,
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

/// `diff`'s output: markdown is for pull-request comments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ImportFormat {
    Keepalived,
    Ldirectord,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
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
    ///
    /// Honours the health verdicts `watch` left in the state dir, and lists real servers
    /// draining (weight 0 until idle or `drain_timeout`); drains alone are not changes.
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
        /// Plan against a snapshot (`lvsync export --format json`) instead of the kernel: no root needed
        #[arg(long, value_name = "SNAPSHOT", conflicts_with = "out")]
        observed: Option<PathBuf>,
        /// With --observed: warn when the snapshot is older than this many seconds
        #[arg(long, value_name = "SECS", requires = "observed", default_value_t = 3600)]
        max_age: u64,
    },
    /// Make exactly the needed changes and print what was done
    ///
    /// A real server that leaves the file while it has active connections is drained: weight 0
    /// now, recorded in the state dir, deleted by a later `apply` (or `watch`) once idle or
    /// after the service's `drain_timeout` (`drain_timeout: 0` deletes at once).
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
    /// Print the live IPVS state as a valid desired-state file, or (json) a snapshot for `plan --observed`
    Export {
        /// text: a desired-state file; json: a versioned snapshot of the live state (docs/snapshot.md)
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Show what changes between two files, as plan lines, with no kernel (for pull requests)
    #[command(
        long_about = "Show what changes between two files, as plan lines, with no kernel and no root (for pull requests).\n\n\
            OLD plays the director's live state, all of it lvsync's own; the lines are those `lvsync plan NEW` \
            would print there. Health settings, which are not kernel state, follow as lines of their own. \
            Either file may be `-` for standard input: `git show main:director.yaml | lvsync diff - director.yaml`.",
        after_help = "Exit status: 0 no difference; 2 the files differ; 1 error (an invalid file is named)."
    )]
    Diff {
        /// The file before the change (`-`: standard input)
        #[arg(value_name = "OLD")]
        old: PathBuf,
        /// The file after the change (`-`: standard input)
        #[arg(value_name = "NEW")]
        new: PathBuf,
        #[arg(long, value_enum, default_value_t = DiffFormat::Text)]
        format: DiffFormat,
    },
    /// Health, weights (file and kernel) and drains, as `watch` sees them; works while it runs
    Status {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
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
        /// Run `lvsync watch` and stop this real server's responder after half the requests (needs health checks)
        #[arg(long, value_name = "ADDR[:PORT]")]
        kill: Option<String>,
    },
    /// Convert a keepalived.conf or ldirectord.cf into an lvsync file, printed on stdout
    #[command(
        long_about = "Convert a keepalived.conf or ldirectord.cf into an lvsync file, printed on stdout.\n\n\
            Virtual servers, real servers, weights, schedulers, forwarding methods, persistence and \
            health checks are converted. Whatever cannot be converted is listed on stderr with its \
            line, and the exit status is 1; the file printed holds the rest. It is checked as `lvsync validate` \
            would; if the source has values lvsync refuses, they are listed at the printed file's lines and \
            the exit status is 1. `include` is not followed.",
        after_help = "Exit status: 0 everything converted and the file printed is valid; 1 something was not converted, \
            the file printed does not validate (both listed on stderr), or an error."
    )]
    Import {
        /// keepalived.conf or ldirectord.cf
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// The source's format; detected from its content when left out
        #[arg(long, value_enum, value_name = "FORMAT")]
        from: Option<ImportFormat>,
    },
    /// Print shell completions (bash, zsh or fish) on stdout
    Completions {
        #[arg(value_enum)]
        shell: CompletionShell,
    },
    /// Write the man pages (lvsync.1 and one page per command) into DIR; used to build packages
    #[command(hide = true)]
    Manpages {
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// Run by `lvsync lab` inside its kernel
    #[command(name = "lab-inner", hide = true)]
    LabInner {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}
