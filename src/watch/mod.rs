//! `lvsync watch`: follow the file, undo drift, keep the last good state.
//!
//! Threads only deliver events (file watcher, signals, metrics server); one loop takes them in
//! order and decides in [`engine`], so a reconcile never runs concurrently with another.

pub mod backoff;
pub mod engine;
pub mod follow;
pub mod log;
pub mod metrics;
pub mod touched;

pub use log::{LogFormat, init_logging};

/// What started a reconcile (a label in logs and metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Start,
    FileChange,
    Sighup,
    Resync,
    Retry,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Start => "start",
            Trigger::FileChange => "file_change",
            Trigger::Sighup => "sighup",
            Trigger::Resync => "resync",
            Trigger::Retry => "retry",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Error,
    InvalidFile,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Error => "error",
            Outcome::InvalidFile => "invalid_file",
        }
    }
}
