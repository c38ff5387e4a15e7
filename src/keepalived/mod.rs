//! The keepalived backend: it owns keepalived's configuration file. It reads the file, and
//! writes a new text atomically after `keepalived -t` accepted it, then reloads a running
//! keepalived (SIGHUP to the pid in its pid file). lvsync never starts or stops keepalived.

use std::io;
use std::path::{Path, PathBuf};

use crate::backend::{self, Backend, Executed};
use crate::plan::{Change, Domain, KeepalivedChange};
use crate::state::{KeepalivedConf, Scope, State};

/// Where keepalived's configuration and pid live, and the program that checks a configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub conf: PathBuf,
    pub pid: PathBuf,
    pub program: String,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            conf: PathBuf::from("/etc/keepalived/keepalived.conf"),
            pid: PathBuf::from("/run/keepalived.pid"),
            program: "keepalived".to_string(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read keepalived's configuration {}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot write keepalived's configuration {}", .path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("keepalived refused the configuration lvsync rendered (left in {}); {} was not changed", .candidate.display(), .path.display())]
    Check {
        path: PathBuf,
        candidate: PathBuf,
        #[source]
        source: crate::exec::Error,
    },
    #[error("cannot reload keepalived (pid {pid} from {}): {source}; the new configuration is in place, reload it with `kill -HUP {pid}`", .pid_file.display())]
    Reload {
        pid: i32,
        pid_file: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl backend::DomainError for Error {
    const DOMAIN: Domain = Domain::Keepalived;
}

/// What happened to keepalived after a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reloaded {
    /// SIGHUP sent to this pid.
    Signalled(i32),
    /// No keepalived runs (no pid file, or its pid is gone): it reads the file when it starts.
    NotRunning,
}

pub struct KeepalivedBackend {
    opts: Options,
    /// Whether the file wants the configuration (set by `focus`): without `ha` it is not read.
    wanted: bool,
}

impl KeepalivedBackend {
    pub fn new(opts: Options) -> KeepalivedBackend {
        KeepalivedBackend { opts, wanted: true }
    }

    /// The file's text; `None` when there is no file.
    pub fn read(&self) -> Result<Option<String>, Error> {
        match std::fs::read_to_string(&self.opts.conf) {
            Ok(t) => Ok(Some(t)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::Read { path: self.opts.conf.clone(), source }),
        }
    }

    /// Check `text` with `keepalived -t`, put it in place atomically, and reload keepalived.
    pub fn install(&self, text: &str) -> Result<Reloaded, Error> {
        let path = &self.opts.conf;
        let candidate = sibling(path, ".lvsync-new");
        let write_err = |source| Error::Write { path: path.clone(), source };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(write_err)?;
        }
        std::fs::write(&candidate, text).map_err(write_err)?;
        let file = candidate.to_string_lossy().into_owned();
        crate::exec::run(&self.opts.program, &["-t", "-f", &file], None).map_err(|source| Error::Check {
            path: path.clone(),
            candidate: candidate.clone(),
            source,
        })?;
        std::fs::File::open(&candidate).and_then(|f| f.sync_all()).map_err(write_err)?;
        std::fs::rename(&candidate, path).map_err(write_err)?;
        self.reload()
    }

    /// SIGHUP to the keepalived of the pid file, if it runs.
    pub fn reload(&self) -> Result<Reloaded, Error> {
        let Some(pid) = running_pid(&self.opts.pid) else {
            tracing::warn!(
                conf = %self.opts.conf.display(),
                pid_file = %self.opts.pid.display(),
                "keepalived is not running: wrote its configuration, which it reads when it starts"
            );
            return Ok(Reloaded::NotRunning);
        };
        // SAFETY: kill(2) with a pid read from keepalived's pid file and a plain signal number.
        if unsafe { libc::kill(pid, libc::SIGHUP) } != 0 {
            let source = io::Error::last_os_error();
            return Err(Error::Reload { pid, pid_file: self.opts.pid.clone(), source });
        }
        tracing::info!(pid, conf = %self.opts.conf.display(), "reloaded keepalived");
        Ok(Reloaded::Signalled(pid))
    }
}

/// The pid in `file`, if that process exists.
fn running_pid(file: &Path) -> Option<i32> {
    let pid: i32 = std::fs::read_to_string(file).ok()?.trim().parse().ok()?;
    // SAFETY: signal 0 only checks that the process exists.
    (pid > 0 && unsafe { libc::kill(pid, 0) } == 0).then_some(pid)
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(suffix);
    path.with_file_name(name)
}

impl Backend for KeepalivedBackend {
    fn domain(&self) -> Domain {
        Domain::Keepalived
    }

    fn focus(&mut self, desired: &State, _made: &crate::state::Inventory) {
        self.wanted = desired.keepalived.is_some();
    }

    fn observe_scope(&mut self, scope: &Scope, state: &mut State) -> Result<(), backend::Error> {
        if *scope == Scope::All && self.wanted {
            state.keepalived = Some(KeepalivedConf { text: self.read()? });
        }
        Ok(())
    }

    fn execute(&mut self, changes: &[Change]) -> Result<Executed, backend::Error> {
        let mut done = Executed::default();
        for change in changes {
            if let Change::Keepalived(KeepalivedChange { after, .. }) = change {
                self.install(after)?;
                done.changes += 1;
                done.writes += 1;
            }
        }
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("lvsync-keepalived-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_refused_configuration_leaves_the_file_alone() {
        let d = scratch("refused");
        let conf = d.join("keepalived.conf");
        std::fs::write(&conf, "old\n").unwrap();
        // `false` stands in for a keepalived that refuses every configuration.
        let b = KeepalivedBackend::new(Options { conf: conf.clone(), pid: d.join("pid"), program: "false".into() });
        let err = b.install("new\n").unwrap_err();
        assert!(matches!(err, Error::Check { .. }), "{err}");
        assert!(err.to_string().contains("was not changed"), "{err}");
        assert_eq!(std::fs::read_to_string(&conf).unwrap(), "old\n");
    }

    #[test]
    fn without_a_running_keepalived_the_file_is_written_and_that_is_said() {
        let d = scratch("absent");
        let conf = d.join("sub/keepalived.conf");
        let b = KeepalivedBackend::new(Options { conf: conf.clone(), pid: d.join("none.pid"), program: "true".into() });
        assert_eq!(b.read().unwrap(), None);
        assert_eq!(b.install("vrrp\n").unwrap(), Reloaded::NotRunning);
        assert_eq!(b.read().unwrap().as_deref(), Some("vrrp\n"));
        assert!(!sibling(&conf, ".lvsync-new").exists());
    }
}
