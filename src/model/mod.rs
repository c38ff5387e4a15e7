//! The desired-state file, version 1: raw serde types that mirror the YAML, validation that
//! reports every error with its YAML path and line, and resolution into domain types with
//! defaults applied. The only I/O is [`read_file`], which reads a file safely; the rest takes
//! the text.

mod check;
mod config;
mod diag;
mod export;
mod export_check;
mod fast;
mod firewall;
mod ha;
mod health;
mod health_check;
mod host;
mod parse_error;
mod positions;
pub mod raw;
mod raw_health;
mod real;
mod schema;
mod service;
mod source;
mod sync;

use std::collections::BTreeMap;

pub use config::{Config, DirectorSpec, FirewallAction, Intent, IpvsSysctls, ServiceSpec};
pub use diag::{Diagnostic, Diagnostics};
pub use export::{EXPORT_HEADER, derived_name, export, to_raw};
pub use export_check::{Inexpressible, export_valid};
pub use host::{uses_ipv6, valid_interface};
pub use schema::schema_json;
pub use source::{MAX_FILE_BYTES, ReadError, read_file};

use crate::state::{Ownership, Timeouts};
use check::Checker;

/// How deeply the file may nest; the format itself needs 5 levels.
pub const MAX_DEPTH: usize = 64;
/// How many events aliases may replay in all (or the file's size in bytes, if larger): far more
/// than a file with a few shared blocks needs, far less than an alias bomb asks for, and
/// proportional to the file.
pub const MAX_REPLAYED_EVENTS: usize = 1_000_000;

/// Parse, check and resolve a desired-state file. On failure, every problem found is returned:
/// all of them when the YAML itself is well-formed, else the first syntax or type error.
pub fn load(text: &str) -> Result<Config, Diagnostics> {
    let file = parse(text)?;
    resolve_with(file, text)
}

/// Only the parse step: the raw file, as written.
pub fn parse(text: &str) -> Result<raw::File, Diagnostics> {
    if text.trim().is_empty() || text.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) {
        return Err(Diagnostics(vec![Diagnostic {
            path: String::new(),
            line: Some(1),
            column: Some(1),
            message: "the file is empty; a desired-state file starts with `version: 1` and lists `services:`".into(),
        }]));
    }
    if let Some(file) = fast::parse(text) {
        return Ok(file);
    }
    parse_saphyr(text)
}

/// [`parse`] by serde-saphyr: the whole of YAML, and every error with its position.
fn parse_saphyr(text: &str) -> Result<raw::File, Diagnostics> {
    // No cap on the number of nodes: a file of 20,000 services has millions, and the file's
    // size bounds them (see `read_file`). What stays bounded is what can grow beyond the file:
    // nesting depth, and the events that aliases replay (an alias bomb).
    let options = serde_saphyr::options! {
        strict_booleans: true,
        // `010` and `.nan` reach the types that take a number or text as text, and validation
        // refuses them with what to write instead (see `health_check::seconds`).
        leading_zero_numbers_as_strings: true,
        non_finite_float_policy: serde_saphyr::NonFiniteFloatPolicy::AsString,
        reject_unsupported_tags: true,
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        budget: serde_saphyr::budget! {
            max_events: usize::MAX,
            max_nodes: usize::MAX,
            max_total_scalar_bytes: usize::MAX,
            max_depth: MAX_DEPTH,
            // Sharing one block of real servers among thousands of services is honest: what
            // aliases replay is bounded below, not how many there are.
            max_aliases: usize::MAX,
            enforce_alias_anchor_ratio: false,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: MAX_REPLAYED_EVENTS.max(text.len()),
        },
    };
    serde_saphyr::from_str_with_options::<raw::File>(text, options)
        .map_err(|e| Diagnostics(vec![parse_error::diagnostic(&e, text)]))
}

/// Check a parsed file and resolve it, reporting every problem. The raw file is consumed as it
/// is resolved (see [`service::services`]).
fn resolve_with(mut file: raw::File, text: &str) -> Result<Config, Diagnostics> {
    let mut c = Checker::new(text);
    if file.version != 1 {
        c.err("version", format!("`{}` is not a supported version; this lvsync reads `version: 1`", file.version));
    }
    let ownership = match file.ownership.as_deref() {
        Some(o) => match c.word("ownership", o, &["managed", "exclusive"], "ownership") {
            Some("exclusive") => Ownership::Exclusive,
            _ => Ownership::Managed,
        },
        None => Ownership::Managed,
    };
    let mut timeouts = Timeouts::default();
    if let Some(t) = file.ipvs.as_ref().and_then(|i| i.timeouts.as_ref()) {
        let max = service::MAX_TIMEOUT;
        let mut one = |field: &str, v: Option<i64>| {
            v.and_then(|v| c.int(&format!("ipvs.timeouts.{field}"), v, 1, max, &format!("{field} timeout (seconds)")))
        };
        timeouts = Timeouts { tcp: one("tcp", t.tcp), tcp_fin: one("tcp_fin", t.tcp_fin), udp: one("udp", t.udp) };
    }
    let ipvs_sysctls = host::sysctls(&mut c, file.ipvs.as_ref().and_then(|i| i.sysctls.as_ref()));
    // Before the services: it reads their raw real servers, which resolving them lets go.
    let sync = sync::sync(&mut c, &file);
    let services = service::services(&mut c, &mut file.services);
    let director = host::director(&mut c, file.director.as_ref(), &services);
    let resolved: BTreeMap<&str, &ServiceSpec> = services.iter().map(|s| (s.name.as_str(), s)).collect();
    let all_names: Vec<&str> = file.services.iter().map(|s| s.name.as_str()).collect();
    let firewall = firewall::rules(&mut c, &file.firewall, &resolved, &all_names);
    let ha = ha::ha(&mut c, &file, &services);
    c.finish()?;
    Ok(Config { ownership, timeouts, services, firewall, sync, ha, node: None, director, ipvs_sysctls })
}
