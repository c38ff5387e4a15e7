//! sysctls through /proc/sys, and nothing else: no `sysctl` binary.

use std::io;
use std::path::{Path, PathBuf};

use super::system::Error;
use crate::state::SysctlKey;

/// A /proc/sys tree: the real one, or a directory standing in for it in a test.
#[derive(Debug, Clone)]
pub struct Sysctls {
    root: PathBuf,
}

impl Default for Sysctls {
    fn default() -> Self {
        Sysctls::at("/proc/sys")
    }
}

impl Sysctls {
    pub fn at(root: impl Into<PathBuf>) -> Sysctls {
        Sysctls { root: root.into() }
    }

    fn file(&self, key: &SysctlKey) -> PathBuf {
        self.root.join(Path::new(key.path()))
    }

    /// The value, trimmed; `None` when the sysctl does not exist (its module is not loaded,
    /// or its device not there yet).
    pub fn read(&self, key: &SysctlKey) -> Result<Option<String>, Error> {
        match std::fs::read_to_string(self.file(key)) {
            Ok(v) => Ok(Some(v.trim().to_string())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::Sysctl { key: key.to_string(), doing: "reading", source }),
        }
    }

    pub fn write(&self, key: &SysctlKey, value: &str) -> Result<(), Error> {
        std::fs::write(self.file(key), format!("{value}\n")).map_err(|source| Error::Sysctl {
            key: key.to_string(),
            doing: "writing",
            source,
        })
    }
}
