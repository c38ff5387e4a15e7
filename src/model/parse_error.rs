//! serde-saphyr's parse errors, turned into diagnostics with a YAML path and wording for users
//! of this file format.

use super::diag::Diagnostic;
use super::positions::{self, Pos, Positions};

pub fn diagnostic(e: &serde_saphyr::Error, positions: &Positions) -> Diagnostic {
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
    let (values, keys) = pos.map(|p| positions.paths_at(p)).unwrap_or_default();
    // A wrong key is reported at the key, a wrong value at the value.
    let about_key = raw.starts_with("unknown field") || raw.starts_with("duplicate");
    let (first, then) = if about_key { (&keys, &values) } else { (&values, &keys) };
    let mut path = first.last().or(then.last()).map(|p| p.to_string()).unwrap_or_default();
    let mut pos = pos;
    // serde-saphyr reports a missing key at some key of its mapping: point at the mapping.
    if raw.starts_with("missing field")
        && values.is_empty()
        && let Some(p) = pos
        && positions.is_key_at(&path, p)
    {
        path = positions::parent(&path).to_string();
        pos = positions.value(&path).or(pos);
    }
    let mut message = explain(&raw);
    // A type error shows what it found: a mis-indented line often shows up only here.
    if raw.starts_with("expected") || raw.starts_with("invalid") {
        let found = pos.and_then(|p| positions.scalar_at(p));
        message = match found {
            _ if !keys.is_empty() => format!("{message}; found `key: value` entries"),
            Some("" | "~" | "null") => format!("{message}; found an empty value"),
            Some(found) => format!("{message}; found `{}`", found.escape_debug()),
            None => message,
        };
    }
    Diagnostic { path, line: pos.map(|p| p.line), column: pos.map(|p| p.column), message }
}

/// serde-saphyr's wording, turned into what a user of this file format needs to read.
fn explain(raw: &str) -> String {
    if let Some(rest) = raw.strip_prefix("duplicate mapping key: ") {
        let key = rest.split(", set DuplicateKeyPolicy").next().unwrap_or(rest);
        return format!("duplicate key `{key}`; each key may appear only once in a mapping: remove one");
    }
    if let Some(rest) = raw.strip_prefix("unknown field ") {
        return match suggestion(rest) {
            Some(near) => format!("unknown key {rest}; did you mean `{near}`?"),
            None => format!("unknown key {rest}; check the spelling (reference: docs/file-format.md)"),
        };
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
        return "expected a list here: `- item` lines, `[a, b]`, or `[]` for none".into();
    }
    if raw.starts_with("expected mapping") {
        return "expected `key: value` entries here".into();
    }
    if raw.starts_with("invalid boolean") {
        return "expected `true` or `false`".into();
    }
    raw.to_string()
}

/// For "`real_server`, expected one of name, ..., real_servers": the valid key closest to the
/// unknown one, if it is close enough to be a typo.
fn suggestion(rest: &str) -> Option<&str> {
    let (unknown, valid) = rest.split_once(", expected one of ")?;
    let unknown = unknown.trim_matches('`');
    valid
        .split(", ")
        .map(|k| k.trim_matches('`'))
        .map(|k| (distance(unknown, k), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 4))
        .min()
        .map(|(_, k)| k)
}

/// Edit distance (insertions, deletions, substitutions).
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let next = (row[j + 1] + 1).min(row[j] + 1).min(diagonal + usize::from(ca != *cb));
            diagonal = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}
