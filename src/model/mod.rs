//! The desired-state file, version 1: raw serde types that mirror the YAML, validation that
//! reports every error with its YAML path and line, and resolution into domain types with
//! defaults applied. No I/O: callers hand in the text.

mod check;
mod config;
mod diag;
mod export;
mod firewall;
mod positions;
pub mod raw;
mod schema;
mod service;

use std::collections::BTreeMap;

pub use config::{Config, FirewallAction, Intent, ServiceSpec};
pub use diag::{Diagnostic, Diagnostics};
pub use export::{EXPORT_HEADER, derived_name, export};
pub use schema::schema_json;

use crate::state::{Ownership, Timeouts};
use check::Checker;
use positions::{Pos, Positions};

/// Where the published schema lives, relative to the examples (editors follow this comment).
pub const SCHEMA_COMMENT: &str =
    "# yaml-language-server: $schema=https://raw.githubusercontent.com/lvsync/lvsync/main/schema/lvsync.schema.json";

/// Parse, check and resolve a desired-state file. On failure, every problem found is returned:
/// all of them when the YAML itself is well-formed, else the first syntax or type error.
pub fn load(text: &str) -> Result<Config, Diagnostics> {
    let positions = Positions::of(text);
    let file = parse_with(text, &positions)?;
    resolve_with(&file, &positions)
}

/// Only the parse step: the raw file, as written.
pub fn parse(text: &str) -> Result<raw::File, Diagnostics> {
    parse_with(text, &Positions::of(text))
}

fn parse_with(text: &str, positions: &Positions) -> Result<raw::File, Diagnostics> {
    if text.trim().is_empty() || text.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) {
        return Err(Diagnostics(vec![Diagnostic {
            path: String::new(),
            line: Some(1),
            column: Some(1),
            message: "the file is empty; a desired-state file starts with `version: 1` and lists `services:`".into(),
        }]));
    }
    let options = serde_saphyr::options! {
        strict_booleans: true,
        duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
    };
    serde_saphyr::from_str_with_options::<raw::File>(text, options)
        .map_err(|e| Diagnostics(vec![parse_error(&e, positions)]))
}

fn parse_error(e: &serde_saphyr::Error, positions: &Positions) -> Diagnostic {
    let pos = e.location().filter(|l| l.line() > 0).map(|l| Pos {
        line: usize::try_from(l.line()).unwrap_or(usize::MAX),
        column: usize::try_from(l.column()).unwrap_or(usize::MAX),
    });
    let raw = e.without_snippet().to_string();
    // serde-saphyr appends " at line N, column M"; the position is reported separately.
    let raw = match raw.rfind(" at line ") {
        Some(i) => raw[..i].to_string(),
        None => raw,
    };
    let candidates = pos.map(|p| positions.paths_at(p)).unwrap_or_default();
    // A missing field is reported at its mapping: name the mapping, not its first entry.
    let path = if raw.starts_with("missing field") { candidates.first() } else { candidates.last() };
    Diagnostic {
        path: path.map(|p| p.to_string()).unwrap_or_default(),
        line: pos.map(|p| p.line),
        column: pos.map(|p| p.column),
        message: explain(&raw),
    }
}

/// serde-saphyr's wording, turned into what a user of this file format needs to read.
fn explain(raw: &str) -> String {
    if let Some(rest) = raw.strip_prefix("duplicate mapping key: ") {
        let key = rest.split(", set DuplicateKeyPolicy").next().unwrap_or(rest);
        return format!("duplicate key `{key}`; each key may appear only once in a mapping: remove one");
    }
    if let Some(rest) = raw.strip_prefix("unknown field ") {
        return format!("unknown key {rest}; check the spelling (reference: docs/file-format.md)");
    }
    if let Some(rest) = raw.strip_prefix("missing field ") {
        return format!("required key {rest} is missing");
    }
    if raw.starts_with("multiple YAML documents") {
        return "the file holds more than one YAML document (`---`); put everything into one document".into();
    }
    if raw.starts_with("invalid i64") || raw.starts_with("invalid u64") {
        return "expected a whole number here".into();
    }
    if raw.starts_with("expected string scalar") {
        return "expected a single value here, not a list or mapping".into();
    }
    if raw.starts_with("expected sequence start") {
        return "expected a list here (`- item` lines or `[a, b]`)".into();
    }
    if raw.starts_with("expected mapping") || raw.starts_with("invalid type: sequence") {
        return format!("{raw}; expected `key: value` entries here");
    }
    raw.to_string()
}

/// Check a parsed file and resolve it, reporting every problem.
fn resolve_with(file: &raw::File, positions: &Positions) -> Result<Config, Diagnostics> {
    let mut c = Checker::new(positions);
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
    let services = service::services(&mut c, &file.services);
    let resolved: BTreeMap<&str, &ServiceSpec> = services.iter().map(|s| (s.name.as_str(), s)).collect();
    let all_names: Vec<&str> = file.services.iter().map(|s| s.name.as_str()).collect();
    let firewall = firewall::rules(&mut c, &file.firewall, &resolved, &all_names);
    c.finish()?;
    Ok(Config { ownership, timeouts, services, firewall })
}
