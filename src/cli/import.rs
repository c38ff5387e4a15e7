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
    // The file printed is checked as `validate` would: a source that keepalived corrects or
    // ignores as it loads (a DR real server on another port, a duplicate) converts into values
    // lvsync refuses, and that must not pass for a clean import.
    let invalid = match crate::model::load(&result.text) {
        Ok(_) => 0,
        Err(problems) => {
            for p in &problems.0 {
                eprintln!("<the file printed>{p}");
            }
            problems.0.len().max(1)
        }
    };
    let n = result.skipped.len();
    if n > 0 {
        eprintln!(
            "{n} item{} of {name} {} not converted; the file printed holds the rest",
            if n == 1 { "" } else { "s" },
            if n == 1 { "was" } else { "were" }
        );
    }
    if invalid > 0 {
        eprintln!(
            "the file printed does not validate ({invalid} problem{} above, at its own lines): {name} has settings that lvsync refuses; fix them in the file printed",
            if invalid == 1 { "" } else { "s" }
        );
    }
    Ok(out.finish(if n == 0 && invalid == 0 { 0 } else { 1 }, Done::ReadOnly))
}
