//! `lvsync lab`: a throw-away User-Mode Linux kernel with a director, real servers and a client,
//! built from a desired-state file; lvsync applies the file there and the client counts which
//! real server answered each request. Nothing reaches the host's network.
//!
//! On the host, [`run`] validates the file, boots the kernel with `lvsync lab-inner` as its
//! command, shows that command's progress, and reads back the report it writes.

mod client;
mod failover;
mod inner;
pub mod kernel;
mod kill;
mod kill_run;
pub mod netns;
mod report;
mod responder;
pub mod topology;

use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

pub use client::Held;
pub use failover::Failover;
pub use inner::Lab;
pub use kill::{Kill, KillReport, Phase};
pub use netns::Netns;
pub use report::{LabReport, ServiceResult};
pub use responder::start as start_responders;

/// The hidden subcommand the kernel runs: `lvsync lab-inner FILE RESULT REQUESTS SHOWN_AS MODE [KILL]`.
pub const INNER_COMMAND: &str = "lab-inner";
pub const DEFAULT_REQUESTS: u32 = 32;
/// What a machine without the lab's tools needs.
pub const INSTALL: &str = "apt-get install -y user-mode-linux kmod ipvsadm iptables iproute2";

const FILE_NAME: &str = "lab.yaml";
const RESULT_NAME: &str = "lab-result.json";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("User-Mode Linux is not installed ({} is missing); install it with `{INSTALL}`", kernel::UML)]
    Missing,
    #[error("the lab needs `{0}`, which is not on PATH; install it with `{INSTALL}`")]
    Tool(&'static str),
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path} is not a valid desired-state file:\n{detail}")]
    Invalid { path: PathBuf, detail: String },
    #[error("cannot prepare the lab's work directory {path}")]
    Workdir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot find the lvsync binary to run inside the kernel")]
    CurrentExe(#[source] io::Error),
    #[error(transparent)]
    Kernel(#[from] kernel::Error),
    #[error("the lab failed inside the kernel: {message}{}", output_text(.output))]
    Inner { message: String, output: Option<String> },
    #[error("building the lab's network failed ({detail}) in:\n{step}")]
    Build { step: String, detail: String },
    #[error("cannot open network namespace {name}")]
    Netns {
        name: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot start the responder of real server {real}")]
    Responder {
        real: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot run {path}")]
    Exe {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("`lvsync apply` (or `lvsync --role real-server apply` in a real server's namespace) failed inside the lab ({status}):\n{}", .output.trim_end())]
    Apply { status: String, output: String },
    #[error("the failover lab: {0}")]
    Failover(String),
    #[error(
        "the lab builds its network only inside User-Mode Linux (it would change this machine's); run `lvsync lab`"
    )]
    NotInKernel,
    #[error("interrupted; the lab's kernel was stopped")]
    Interrupted,
    #[error(
        "--kill `{0}` is not a real server's address: give ADDR or ADDR:PORT (`192.168.2.106`, `192.168.2.106:80`, `[2001:db8::6]:80`)"
    )]
    KillValue(String),
    #[error("--kill `{kill}`: no real server of the file has this address; its real servers are {known}")]
    KillNoMatch { kill: String, known: String },
    #[error(
        "--kill: real server {real} of {service} has no health check, so nothing would take it out; give service {service} a `health:` (e.g. `health: {{check: tcp}}`)"
    )]
    KillUnchecked { real: String, service: String },
    #[error("--kill and --failover are two different experiments; give one of them")]
    KillFailover,
    #[error("--kill needs at least 2 requests (half before the kill, half after); got --requests {0}")]
    KillRequests(u32),
    #[error("--kill: {what}{}", watch_log(.log))]
    Watch { what: String, log: String },
    #[error("cannot write the lab's result {path}")]
    Result {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// What `lvsync lab FILE` was asked.
#[derive(Debug, Clone)]
pub struct LabOptions {
    pub file: PathBuf,
    pub requests: u32,
    /// The lvsync binary to run inside the kernel; `None`: this process's own executable.
    pub exe: Option<PathBuf>,
    /// Where the kernel's files go (on disk, not /tmp); `None`: a fresh directory under
    /// `$XDG_CACHE_HOME/lvsync` (or `~/.cache/lvsync`), removed afterwards.
    pub workdir: Option<PathBuf>,
    /// Show progress on stderr.
    pub progress: bool,
    /// Two directors from `ha`: the master's link goes down halfway.
    pub failover: bool,
    /// `--kill ADDR[:PORT]`: stop that real server's responder after half the requests.
    pub kill: Option<String>,
}

impl LabOptions {
    pub fn new(file: impl Into<PathBuf>) -> LabOptions {
        LabOptions {
            file: file.into(),
            requests: DEFAULT_REQUESTS,
            exe: None,
            workdir: None,
            progress: true,
            failover: false,
            kill: None,
        }
    }
}

/// What `lab-inner` leaves for the host.
#[derive(Debug, Serialize, Deserialize)]
struct InnerResult {
    report: Option<LabReport>,
    error: Option<String>,
}

/// Run the lab on the host: validate, boot, build, apply, send, report.
pub fn run(opts: &LabOptions) -> Result<LabReport, Error> {
    check_tools()?;
    let text = std::fs::read_to_string(&opts.file).map_err(|source| Error::Read { path: opts.file.clone(), source })?;
    let shown_as = opts.file.display().to_string();
    let config = crate::model::load(&text)
        .map_err(|d| Error::Invalid { path: opts.file.clone(), detail: d.render(&shown_as).trim_end().to_string() })?;
    if opts.failover && !on_path("keepalived") {
        return Err(Error::Tool("keepalived"));
    }
    if opts.failover && config.ha.is_none() {
        return Err(Error::Failover(format!("{shown_as} has no `ha`: `--failover` needs the directors in `ha.nodes`")));
    }
    if let Some(k) = &opts.kill {
        if opts.failover {
            return Err(Error::KillFailover);
        }
        Kill::parse(k)?.hits(&config)?;
        if opts.requests < 2 {
            return Err(Error::KillRequests(opts.requests));
        }
    }
    let exe = match &opts.exe {
        Some(e) => e.clone(),
        None => std::env::current_exe().map_err(Error::CurrentExe)?,
    };
    let workdir = match &opts.workdir {
        Some(w) => w.clone(),
        None => default_workdir(),
    };
    let outcome = boot_and_read(opts, &text, &exe, &workdir);
    if opts.workdir.is_none() {
        let _ = std::fs::remove_dir_all(&workdir);
    }
    outcome
}

fn boot_and_read(opts: &LabOptions, text: &str, exe: &Path, workdir: &Path) -> Result<LabReport, Error> {
    let wd_err = |source| Error::Workdir { path: workdir.to_path_buf(), source };
    // The kernel sees the host's disk but not its /tmp: the file travels in the work directory,
    // under its own name so that what lvsync says inside names it.
    let name = opts.file.file_name().unwrap_or(FILE_NAME.as_ref());
    let input = workdir.join("input");
    std::fs::create_dir_all(&input).map_err(wd_err)?;
    let file = std::path::absolute(input.join(name)).map_err(wd_err)?;
    std::fs::write(&file, text).map_err(wd_err)?;
    let result_path = std::path::absolute(workdir.join(RESULT_NAME)).map_err(wd_err)?;
    let _ = std::fs::remove_file(&result_path);
    let _ = std::fs::remove_file(workdir.join("uml.output"));
    let _ = std::fs::remove_file(workdir.join(kernel::PID_FILE));

    let mut boot = kernel::Boot::new(
        workdir,
        [
            exe.as_os_str().to_owned(),
            INNER_COMMAND.into(),
            file.into_os_string(),
            result_path.clone().into_os_string(),
            opts.requests.to_string().into(),
            opts.file.display().to_string().into(),
            if opts.failover { "--failover" } else { "--single" }.into(),
            opts.kill.clone().unwrap_or_default().into(),
        ],
    );
    boot.mem_mib = 512;
    boot.timeout = Duration::from_secs(300);
    let start = Instant::now();
    if opts.progress {
        eprintln!("booting User-Mode Linux (director, real servers and client live only inside it)…");
    }
    let outcome = watch_boot(opts.progress, workdir, || kernel::boot(&boot))??;
    let result: Option<InnerResult> =
        std::fs::read_to_string(&result_path).ok().and_then(|t| serde_json::from_str(&t).ok());
    match result {
        Some(InnerResult { report: Some(report), .. }) if outcome.status == 0 => {
            if opts.progress {
                eprintln!("done in {:.1} s", start.elapsed().as_secs_f64());
            }
            Ok(report)
        }
        other => {
            let message = other.and_then(|r| r.error).unwrap_or_else(|| {
                let tail: Vec<&str> = outcome.console.lines().rev().take(20).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                format!("it wrote no result; the kernel's console ended with:\n{}", tail.join("\n"))
            });
            let output = (!opts.progress).then_some(outcome.output);
            Err(Error::Inner { message, output })
        }
    }
}

/// `lvsync lab-inner FILE RESULT REQUESTS SHOWN_AS --single|--failover [KILL]`, run by the
/// kernel: returns the exit status. An empty KILL is none.
pub fn inner_main(args: &[String]) -> i32 {
    let (file, result, requests, shown_as, mode, kill) = match args {
        [file, result, requests, shown_as, mode] => (file, result, requests, shown_as, mode, ""),
        [file, result, requests, shown_as, mode, kill] => (file, result, requests, shown_as, mode, kill.as_str()),
        _ => {
            eprintln!(
                "usage: lvsync {INNER_COMMAND} FILE RESULT REQUESTS SHOWN_AS --single|--failover [KILL] (run by `lvsync lab` inside the kernel)"
            );
            return 2;
        }
    };
    let outcome = inner_run(Path::new(file), shown_as, requests, mode == "--failover", kill);
    let (status, written) = match outcome {
        Ok(report) => (0, InnerResult { report: Some(report), error: None }),
        // The host reports it.
        Err(e) => (1, InnerResult { report: None, error: Some(crate::error_chain::error_chain(&e)) }),
    };
    let text = serde_json::to_string(&written).expect("a lab result serializes");
    if let Err(e) = std::fs::write(result, text) {
        eprintln!("error: {:#}", Error::Result { path: result.into(), source: e });
        return 2;
    }
    status
}

fn inner_run(file: &Path, shown_as: &str, requests: &str, failover: bool, kill: &str) -> Result<LabReport, Error> {
    let text = std::fs::read_to_string(file).map_err(|source| Error::Read { path: file.into(), source })?;
    let config = crate::model::load(&text)
        .map_err(|d| Error::Invalid { path: file.into(), detail: d.render(shown_as).trim_end().to_string() })?;
    let requests: u32 = requests.parse().unwrap_or(DEFAULT_REQUESTS);
    let exe = std::env::current_exe().map_err(Error::CurrentExe)?;
    if failover {
        return failover::run(&config, file, shown_as, requests, &exe);
    }
    let kill = if kill.is_empty() { None } else { Some(Kill::parse(kill)?) };
    inner::run_inside(&config, file, shown_as, requests, &exe, kill)
}

fn output_text(output: &Option<String>) -> String {
    output.as_ref().map(|o| format!("\nits output:\n{}", o.trim_end())).unwrap_or_default()
}

fn watch_log(log: &str) -> String {
    let tail: Vec<&str> = log.lines().rev().take(15).collect();
    if tail.is_empty() {
        String::new()
    } else {
        format!("\nthe end of its `lvsync watch` log:\n{}", tail.into_iter().rev().collect::<Vec<_>>().join("\n"))
    }
}

fn check_tools() -> Result<(), Error> {
    if kernel::installed().is_err() {
        return Err(Error::Missing);
    }
    for tool in ["ip", "sysctl", "modprobe", "iptables-legacy"] {
        if !on_path(tool) {
            return Err(Error::Tool(tool));
        }
    }
    Ok(())
}

fn on_path(tool: &str) -> bool {
    // The kernel runs with this PATH whatever the user's is.
    let dirs = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];
    dirs.iter().any(|d| Path::new(d).join(tool).exists())
}

fn default_workdir() -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .filter(|p| p.is_absolute() && !p.starts_with("/tmp") && !p.starts_with("/run"))
        .unwrap_or_else(|| PathBuf::from("/var/tmp"));
    cache.join("lvsync").join(format!("lab-{}", std::process::id()))
}

/// Run `f` (the boot) while echoing to stderr what the kernel's command writes to `output`, and
/// end the kernel if the user interrupts: it runs in its own process group, which a Ctrl-C at
/// the terminal does not reach.
fn watch_boot<T>(show: bool, workdir: &Path, f: impl FnOnce() -> T) -> Result<T, Error> {
    let interrupted = Arc::new(AtomicBool::new(false));
    let ids: Vec<_> = [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM]
        .into_iter()
        .filter_map(|sig| signal_hook::flag::register(sig, interrupted.clone()).ok())
        .collect();
    let done = Arc::new(AtomicBool::new(false));
    let tail = {
        let (done, interrupted) = (done.clone(), interrupted.clone());
        let workdir = workdir.to_path_buf();
        std::thread::spawn(move || follow(show, &workdir, &done, &interrupted))
    };
    let value = f();
    done.store(true, Ordering::SeqCst);
    let _ = tail.join();
    for id in ids {
        signal_hook::low_level::unregister(id);
    }
    if interrupted.load(Ordering::SeqCst) { Err(Error::Interrupted) } else { Ok(value) }
}

fn follow(show: bool, workdir: &Path, done: &AtomicBool, interrupted: &AtomicBool) {
    let path = workdir.join("uml.output");
    let mut offset = 0u64;
    let mut partial = Vec::new();
    let mut killed = false;
    loop {
        let finished = done.load(Ordering::SeqCst);
        if interrupted.load(Ordering::SeqCst) && !killed {
            let pid = std::fs::read_to_string(workdir.join(kernel::PID_FILE)).ok().and_then(|p| p.trim().parse().ok());
            if let Some(pid) = pid.filter(|p: &i32| *p > 1) {
                // SAFETY: kill(2) on the process group of the kernel this process started.
                unsafe { libc::kill(-pid, libc::SIGKILL) };
                killed = true;
            }
        }
        if show && let Ok(mut f) = std::fs::File::open(&path) {
            let mut chunk = Vec::new();
            if f.seek(SeekFrom::Start(offset)).is_ok() && f.read_to_end(&mut chunk).is_ok() {
                offset += chunk.len() as u64;
                partial.extend_from_slice(&chunk);
                while let Some(end) = partial.iter().position(|b| *b == b'\n') {
                    let line: Vec<u8> = partial.drain(..=end).collect();
                    let _ = io::stderr().write_all(&line);
                }
            }
        }
        if finished {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_kernel_or_tool_says_which_command_installs_it() {
        let missing = Error::Missing.to_string();
        assert!(missing.contains("/usr/bin/linux.uml is missing"), "{missing}");
        assert!(missing.contains("apt-get install -y user-mode-linux kmod ipvsadm iptables iproute2"), "{missing}");
        assert!(Error::Tool("iptables-legacy").to_string().contains(INSTALL));
    }

    #[test]
    fn the_network_is_never_built_outside_user_mode_linux() {
        let config = crate::model::load(include_str!("../../examples/seed-dr.yaml")).unwrap();
        let err = Lab::build(&config, Path::new("lab.yaml"), Path::new("/nonexistent")).unwrap_err();
        assert!(matches!(err, Error::NotInKernel), "{err}");
        assert!(!Path::new("/run/netns/lab-client").exists());
    }

    #[test]
    fn the_work_directory_is_on_disk_never_under_tmp() {
        let dir = default_workdir();
        assert!(dir.is_absolute() && !dir.starts_with("/tmp") && !dir.starts_with("/run"), "{}", dir.display());
        assert!(dir.ends_with(format!("lab-{}", std::process::id())), "{}", dir.display());
    }
}
