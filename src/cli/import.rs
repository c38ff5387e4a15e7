//! `lvsync import`: read the source, convert it, print the file on stdout and what was left out
//! on stderr.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use super::args::ImportFormat;
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
    std::io::stdout().write_all(result.text.as_bytes()).context("cannot write the file on stdout")?;
    if result.skipped.is_empty() {
        return Ok(0);
    }
    for s in &result.skipped {
        eprintln!("{}", s.render(&name));
    }
    let n = result.skipped.len();
    eprintln!(
        "{n} item{} of {name} {} not converted; the file printed holds the rest",
        if n == 1 { "" } else { "s" },
        if n == 1 { "was" } else { "were" }
    );
    Ok(1)
}
