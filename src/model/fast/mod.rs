//! A fast reader for the plain block YAML that lvsync files are made of, tried before
//! serde-saphyr: at 20,000 services, serde-saphyr's event machinery is most of a no-change
//! `plan`.
//!
//! The contract: [`parse`] returns `Some` only when the file is in the subset below, and then
//! the value is exactly what serde-saphyr (with the options of `model::parse`) would produce.
//! Anything else, whether valid YAML outside the subset, an invalid file or a type error,
//! gives `None`, and serde-saphyr reads the file as before: every error message, position,
//! duplicate-key refusal and budget stays serde-saphyr's. This reader never reports an error.
//!
//! The subset: printable ASCII and `\n` only; one document, with an optional `---` first; `#`
//! comments (whole lines, or after a space); block mappings of `key: value` with identifier keys;
//! block sequences (`key:` then `- item` deeper or at the key's own indent), whose items may
//! be compact mappings (`- name: a` then `  vip: b`); one-line flow sequences `[a, b]` and
//! flow mappings `{k: v}`; and one-line scalars. A plain scalar is taken only when its type is
//! beyond doubt: integers are `0` or `-?[1-9][0-9]*`, booleans `true` or `false`, null is an
//! empty value or `~`/`null`/`Null`/`NULL` (only where an `Option` is asked for), and a string
//! must not look like any of those nor like a float (see [`scalar::plain_is_text`]).
//! Single-quoted strings and double-quoted ones with the escapes `\\ \" \n \t` are taken.
//!
//! Not in the subset: anchors, aliases, tags, block scalars, multi-line scalars, complex keys,
//! directives, `...`, a second document, duplicate keys, tabs, CR, non-ASCII text, empty items
//! and empty values inside flow collections, and a null where no `Option` is asked for.
//!
//! It is a `serde::Deserializer` over the text, driven by the derived `Deserialize` of
//! [`raw::File`]: there is no document tree, so memory does not grow beyond the result.

mod de;
mod scalar;
#[cfg(test)]
mod tests;

use serde::Deserialize;

use super::raw;

/// The file as serde-saphyr would read it, when it is in the subset; else `None`.
pub fn parse(text: &str) -> Option<raw::File> {
    try_parse(text).ok()
}

/// [`parse`], saying why the file is not in the subset.
fn try_parse(text: &str) -> Result<raw::File, Unsupported> {
    if let Some(at) = text.bytes().position(|b| !(b == b'\n' || (b' '..=b'~').contains(&b))) {
        return Err(Unsupported::at("a byte outside printable ASCII", at));
    }
    let mut reader = de::Reader::new(text)?;
    let file = raw::File::deserialize(de::Value::root(&mut reader))?;
    reader.expect_end()?;
    Ok(file)
}

/// Why the fast path gave up: only for tests and debugging, never shown to a user.
#[derive(Debug)]
pub struct Unsupported {
    why: String,
    at: usize,
}

impl Unsupported {
    fn at(why: &str, at: usize) -> Unsupported {
        Unsupported { why: why.to_string(), at }
    }
}

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "{} (at byte {})", self.why, self.at)
    }
}

impl std::error::Error for Unsupported {}

impl serde::de::Error for Unsupported {
    fn custom<T: std::fmt::Display>(msg: T) -> Unsupported {
        Unsupported { why: msg.to_string(), at: usize::MAX }
    }
}
