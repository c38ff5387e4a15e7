//! A throw-away Linux kernel with IPVS, as a process: User-Mode Linux booted on the host's own
//! filesystem, running one command as PID 1's child and halting. The lab uses it; the kernel
//! tests' harness (tests/uml_support, not part of the library) boots it too. Nothing it does
//! reaches the host's network (UML has no network device).

use std::ffi::{OsStr, OsString};
use std::fmt::Write as _;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Where Debian's `user-mode-linux` package puts the kernel and its modules.
pub const UML: &str = "/usr/bin/linux.uml";
const MODULE_ROOT: &str = "/usr/lib/uml/modules";

/// Everything a director, its real servers and its firewall need, loaded at boot. Missing ones
/// are reported in the console log, not fatal: a scheduler missing from an old kernel should
/// fail the one test that needs it, with the kernel's own error.
pub const MODULES: &[&str] = &[
    "ip_vs",
    "ip_vs_rr",
    "ip_vs_wrr",
    "ip_vs_lc",
    "ip_vs_wlc",
    "ip_vs_lblc",
    "ip_vs_lblcr",
    "ip_vs_dh",
    "ip_vs_sh",
    "ip_vs_sed",
    "ip_vs_nq",
    "ip_vs_fo",
    "ip_vs_ovf",
    "ip_vs_mh",
    "ip_vs_pe_sip",
    "veth",
    "bridge",
    "dummy",
    "ipip",
    "ip_gre",
    "sit",
    "ip6_tunnel",
    "ip6_gre",
    "fou",
    "ip_tables",
    "iptable_filter",
    "ip6_tables",
    "ip6table_filter",
    "xt_comment",
    "xt_multiport",
    "xt_mark",
    "xt_tcpudp",
    "ipt_REJECT",
    "ip6t_REJECT",
];

/// In the work directory while the kernel runs: its process id, which is also its process group.
pub const PID_FILE: &str = "uml.pid";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "User-Mode Linux is not installed ({UML} is missing); install it with `apt-get install -y user-mode-linux kmod`"
    )]
    Missing,
    #[error("cannot prepare the kernel's work directory {path}")]
    Workdir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot start {UML}")]
    Spawn(#[source] io::Error),
    #[error("the kernel did not finish within {0:?}; its console said:\n{1}")]
    Timeout(Duration, String),
    #[error("the kernel stopped before the command finished (no status was written); its console said:\n{0}")]
    NoStatus(String),
    #[error("work directory {0} is under /tmp or /run, which the kernel mounts over; use a directory on disk")]
    HiddenWorkdir(PathBuf),
}

/// One boot of the kernel.
#[derive(Debug, Clone)]
pub struct Boot {
    /// A directory on the host's disk (not under /tmp or /run) that the kernel shares.
    pub workdir: PathBuf,
    pub command: Vec<OsString>,
    pub env: Vec<(OsString, OsString)>,
    pub mem_mib: u32,
    pub timeout: Duration,
}

impl Boot {
    pub fn new(workdir: impl Into<PathBuf>, command: impl IntoIterator<Item = impl Into<OsString>>) -> Boot {
        Boot {
            workdir: workdir.into(),
            command: command.into_iter().map(Into::into).collect(),
            env: Vec::new(),
            mem_mib: 1024,
            timeout: Duration::from_secs(600),
        }
    }

    pub fn env(mut self, key: impl Into<OsString>, value: impl Into<OsString>) -> Boot {
        self.env.push((key.into(), value.into()));
        self
    }
}

#[derive(Debug, Clone)]
pub struct Outcome {
    /// The command's exit status inside the kernel.
    pub status: i32,
    /// The command's stdout and stderr, interleaved.
    pub output: String,
    /// What the kernel printed (module errors, panics).
    pub console: String,
    pub elapsed: Duration,
}

pub fn installed() -> Result<(), Error> {
    if Path::new(UML).exists() { Ok(()) } else { Err(Error::Missing) }
}

/// Boot the kernel, run the command inside it, halt, and report what happened.
pub fn boot(b: &Boot) -> Result<Outcome, Error> {
    installed()?;
    let workdir =
        std::path::absolute(&b.workdir).map_err(|source| Error::Workdir { path: b.workdir.clone(), source })?;
    if workdir.starts_with("/tmp") || workdir.starts_with("/run") {
        return Err(Error::HiddenWorkdir(workdir));
    }
    let wd_err = |source| Error::Workdir { path: workdir.clone(), source };
    std::fs::create_dir_all(&workdir).map_err(wd_err)?;
    let status_file = workdir.join("uml.status");
    let output_file = workdir.join("uml.output");
    let _ = std::fs::remove_file(&status_file);
    let modules = workdir.join("uml.modules");
    std::fs::create_dir_all(modules.join("lib")).map_err(wd_err)?;
    let link = modules.join("lib/modules");
    if std::fs::symlink_metadata(&link).is_err() {
        std::os::unix::fs::symlink(MODULE_ROOT, &link).map_err(wd_err)?;
    }
    let init = workdir.join("uml.init");
    std::fs::write(&init, init_script(b, &workdir, &modules, &status_file, &output_file)).map_err(wd_err)?;
    std::fs::set_permissions(&init, std::fs::Permissions::from_mode(0o755)).map_err(wd_err)?;

    let console_file = workdir.join("uml.console");
    let console = std::fs::File::create(&console_file).map_err(wd_err)?;
    let start = Instant::now();
    let mut child = Command::new(UML)
        .arg(format!("mem={}M", b.mem_mib))
        .args(["root=/dev/root", "rootfstype=hostfs", "rootflags=/", "rw", "con=null", "con0=null,fd:2"])
        .arg(format!("init={}", init.display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(console)
        // Its own process group, so that a hung kernel and all its helper processes can be ended.
        .process_group(0)
        .spawn()
        .map_err(Error::Spawn)?;
    // For a caller that gives up on the boot (the user pressed Ctrl-C): the kernel and its helper
    // processes are the process group of this id.
    let _ = std::fs::write(workdir.join(PID_FILE), child.id().to_string());
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    loop {
        if let Some(_exit) = child.try_wait().map_err(Error::Spawn)? {
            break;
        }
        if start.elapsed() > b.timeout {
            // SAFETY: kill(2) on the process group of a child we spawned; no memory is touched.
            unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
            let _ = child.wait();
            return Err(Error::Timeout(b.timeout, read(&console_file)));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let elapsed = start.elapsed();
    let console = read(&console_file);
    let status = match read(&status_file).trim().parse() {
        Ok(s) => s,
        Err(_) => return Err(Error::NoStatus(console)),
    };
    Ok(Outcome { status, output: read(&output_file), console, elapsed })
}

fn init_script(b: &Boot, workdir: &Path, modules: &Path, status: &Path, output: &Path) -> String {
    let mut s = String::from("#!/bin/sh\n# PID 1 of a User-Mode Linux boot made by lvsync::lab::kernel\n");
    s.push_str("export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n");
    // hostfs writes reach the host's disk: cover the directories that programs write to.
    s.push_str("mount -t proc proc /proc\nmount -t sysfs sysfs /sys\n");
    s.push_str("mount -t tmpfs tmpfs /run\nmount -t tmpfs tmpfs /tmp\nmount -t tmpfs tmpfs /var/run 2>/dev/null\n");
    s.push_str("mkdir -p /run/netns\n");
    // One modprobe for all (each process costs tens of milliseconds here: this saves ~2 s per
    // boot); only when one fails, again one by one, to name the missing ones.
    let dir = quote(modules.as_os_str());
    let all = MODULES.join(" ");
    let _ = writeln!(s, "modprobe -a -d {dir} {all} 2>/dev/null || for m in {all}; do");
    let _ = writeln!(s, "  modprobe -d {dir} $m || echo \"lvsync: module $m missing\" >&2");
    s.push_str("done\n");
    s.push_str("ip link set lo up\n");
    for (k, v) in &b.env {
        let _ = writeln!(s, "export {}={}", k.to_string_lossy(), quote(v));
    }
    let _ = writeln!(s, "cd {}", quote(workdir.as_os_str()));
    let cmd: Vec<String> = b.command.iter().map(|a| quote(a)).collect();
    let _ = writeln!(s, "{} > {} 2>&1 < /dev/null", cmd.join(" "), quote(output.as_os_str()));
    let _ = writeln!(s, "echo $? > {}", quote(status.as_os_str()));
    s.push_str("sync\nhalt -f\n");
    s
}

/// Single-quote for sh.
fn quote(s: &OsStr) -> String {
    let text = String::from_utf8_lossy(s.as_bytes());
    format!("'{}'", text.replace('\'', r"'\''"))
}
