//! `lvsync import`: keepalived.conf and ldirectord.cf converted into an lvsync file. Pure: the
//! caller hands in the text and gets back the file's text and what could not be converted,
//! each with its line. `include` is refused, not followed: an import reads one file, no disk.
//!
//! Not here: validating the result (`model::load`; the `import` command runs it on the file it
//! prints).

mod kcheck;
mod keepalived;
mod ldirectord;
mod lexer;
mod out;

use std::fmt;

pub use lexer::{Node, parse as parse_keepalived};

/// Why a sorry server on the director itself is left out.
const LOOPBACK_FALLBACK: &str = "a fallback on the director's loopback cannot be a real server in lvsync; serve the sorry page from a real server's address";

/// Which tool's configuration a text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Keepalived,
    Ldirectord,
}

impl Source {
    pub fn name(self) -> &'static str {
        match self {
            Source::Keepalived => "keepalived",
            Source::Ldirectord => "ldirectord",
        }
    }
}

/// Something of the source left out of the file, and why; or (`converted`) converted in a way
/// the reader should know of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// 1-based line in the source.
    pub line: usize,
    /// The keyword or statement as written.
    pub what: String,
    pub why: String,
    pub converted: bool,
}

impl Skipped {
    pub fn new(line: usize, what: &str, why: impl Into<String>) -> Skipped {
        Skipped { line, what: what.to_string(), why: why.into(), converted: false }
    }

    /// Converted, but not as its reader may think.
    pub fn note(line: usize, what: &str, why: impl Into<String>) -> Skipped {
        Skipped { converted: true, ..Skipped::new(line, what, why) }
    }

    /// `keepalived.conf:12: `lvs_sched foo` not converted: why`, or `... converted: how`.
    pub fn render(&self, file: &str) -> String {
        let done = if self.converted { "converted" } else { "not converted" };
        format!("{file}:{}: `{}` {done}: {}", self.line, self.what, self.why)
    }
}

/// An import's result: the lvsync file (always a complete file, of what could be converted)
/// and, in line order, what could not, and what was converted in a way worth a word.
#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    pub text: String,
    pub skipped: Vec<Skipped>,
    pub notes: Vec<Skipped>,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "cannot tell whether this is a keepalived or an ldirectord configuration: it has neither a \
         `virtual_server` block nor a `virtual=` line; name the format with --from keepalived|ldirectord"
    )]
    UnknownFormat,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The format of a configuration, from its content: ldirectord's `key=value` lines with a
/// `virtual=`, or keepalived's blocks.
pub fn detect(text: &str) -> Result<Source, Error> {
    let code = text.lines().map(|l| l.split('#').next().unwrap_or("").trim());
    let mut keepalived = false;
    for line in code {
        let key = line.split(['=', ' ', '\t']).next().unwrap_or("");
        if matches!(key, "virtual" | "virtual6") && line.contains('=') {
            return Ok(Source::Ldirectord);
        }
        if matches!(key, "virtual_server" | "virtual_server_group" | "global_defs" | "vrrp_instance") {
            keepalived = true;
        }
    }
    if keepalived { Ok(Source::Keepalived) } else { Err(Error::UnknownFormat) }
}

/// Convert `text` (named `file` in the header) from `source`.
pub fn import(text: &str, file: &str, source: Source) -> Import {
    let (mut out, mut skipped) = match source {
        Source::Keepalived => keepalived::convert(text),
        Source::Ldirectord => ldirectord::convert(text),
    };
    out.name_services();
    skipped.sort_by_key(|s| s.line);
    let (notes, skipped) = skipped.into_iter().partition(|s| s.converted);
    Import { text: out.render(&format!("{source} configuration {file}")), skipped, notes }
}
