//! `lvsync import`: read the source, convert it, print the file on stdout and what was left out
//! on stderr.

use std::path::Path;

use anyhow::Context;

use super::args::ImportFormat;
use super::output::{Done, Out};
use crate::import::{self, Source};

pub fn run(file: &Path, from: Option<ImportFormat>) -> anyhow::Result<i32> {
    let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let source = match from {
        Some(ImportFormat::Keepalived) => Source::Keepalived,
        Some(ImportFormat::Ldirectord) => Source::Ldirectord,
        None => import::detect(&text).with_context(|| format!("cannot import {}", file.display()))?,
    };
    let name = file.display().to_string();
    let result = import::import(&text, &name, source);
    let mut out = Out::new();
    out.text(&result.text);
    // In line order, what was left out and what was converted worth a word alike.
    let mut said: Vec<_> = result.skipped.iter().chain(&result.notes).collect();
    said.sort_by_key(|s| s.line);
    for s in said {
        eprintln!("{}", s.render(&name));
    }
    if result.skipped.is_empty() {
        return Ok(out.finish(0, Done::ReadOnly));
    }
    let n = result.skipped.len();
    eprintln!(
        "{n} item{} of {name} {} not converted; the file printed holds the rest",
        if n == 1 { "" } else { "s" },
        if n == 1 { "was" } else { "were" }
    );
    Ok(out.finish(1, Done::ReadOnly))
}
