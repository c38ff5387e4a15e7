//! The desired-state file, version 1: raw serde types that mirror the YAML, validation that
//! reports every error with its YAML path and line, and resolution into domain types with
//! defaults applied. No I/O: callers hand in the text.

mod config;

pub use config::{Config, FirewallAction, Intent, ServiceSpec};
