//! `lvsync diff OLD NEW`: what a change to the file means, with no kernel (see `review`).

use std::io::Read;
use std::path::Path;

use anyhow::{Context, bail};

use super::args::DiffFormat;
use super::color_for;
use super::output::{Done, Out};
use crate::model::{self, Config};
use crate::review;

pub fn run(old: &Path, new: &Path, format: DiffFormat) -> anyhow::Result<i32> {
    let stdin = Path::new("-");
    if old == stdin && new == stdin {
        bail!("OLD and NEW are both `-`; standard input can give only one of them, name the other file");
    }
    let (old_name, old_cfg) = side("OLD", old)?;
    let (new_name, new_cfg) = side("NEW", new)?;
    let review = review::review(&old_cfg, &new_cfg);
    let mut out = Out::new();
    match format {
        DiffFormat::Text => out.text(&review::render_text(&review, color_for(&std::io::stdout()))),
        DiffFormat::Json => out.json(&review::json(&review)),
        DiffFormat::Markdown => out.text(&review::render_markdown(&review, &old_name, &new_name)),
    }
    Ok(out.finish(if review.is_empty() { 0 } else { 2 }, Done::ReadOnly))
}

/// One side, read and validated; an invalid one names which side it is.
fn side(which: &str, path: &Path) -> anyhow::Result<(String, Config)> {
    let (name, text) = if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .with_context(|| format!("cannot read {which} from standard input"))?;
        ("<stdin>".to_string(), text)
    } else {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read {which} file {}", path.display()))?;
        (path.display().to_string(), text)
    };
    let config = model::load(&text).map_err(|diags| {
        let n = diags.len();
        anyhow::anyhow!(
            "{which} ({name}) is not a valid lvsync file ({n} problem{})\n{}",
            if n == 1 { "" } else { "s" },
            diags.render(&name).trim_end()
        )
    })?;
    Ok((name, config))
}
