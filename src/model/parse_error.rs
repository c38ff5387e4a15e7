//! serde-saphyr's parse errors, turned into diagnostics with a YAML path and wording for users
//! of this file format.

use super::diag::{Diagnostic, cut_values};
use super::positions::{At, Pos};

pub fn diagnostic(e: &serde_saphyr::Error, text: &str) -> Diagnostic {
    let pos = e.location().filter(|l| l.line() > 0).map(|l| Pos {
        line: usize::try_from(l.line()).unwrap_or(usize::MAX),
        column: usize::try_from(l.column()).unwrap_or(usize::MAX),
    });
    let raw = without_position(e.without_snippet().to_string());
    let at = pos.map(|p| At::of(text, p)).unwrap_or_default();
    let keys: Vec<&str> = at.keys.iter().map(|(k, _)| k.as_str()).collect();
    let values: Vec<&str> = at.values.iter().map(String::as_str).collect();
    // A wrong key is reported at the key, a wrong value at the value.
    let about_key = raw.starts_with("unknown field") || raw.starts_with("duplicate");
    let (first, then) = if about_key { (&keys, &values) } else { (&values, &keys) };
    let mut path = first.last().or(then.last()).map(|p| p.to_string()).or(at.key_before.clone()).unwrap_or_default();
    let mut pos = pos;
    // serde-saphyr reports a missing key at some key of its mapping: point at the mapping.
    if raw.starts_with("missing field")
        && values.is_empty()
        && let Some((key, mapping)) = at.keys.last()
        && *key == path
    {
        path = super::positions::parent(&path).to_string();
        pos = mapping.or(pos);
    }
    let mut message = explain(&raw, pos.and_then(|p| token_at(text, p)));
    // A type error shows what it found: a mis-indented line often shows up only here.
    if raw.starts_with("expected") || raw.starts_with("invalid") {
        let tag = pos.and_then(|p| tag_before(text, p));
        message = match at.scalar.as_deref() {
            Some(found) if tag.is_some() => {
                let tag = tag.unwrap_or_default();
                format!(
                    "{message}; found `{tag} {found}`: the tag `{tag}` overrides what the value is, write `{found}` without it"
                )
            }
            Some(found) if is_leading_zero(found) => format!(
                "{message}; found `{found}`, which YAML 1.1 reads as an octal number and YAML 1.2 as decimal: write `{}` for decimal, or `0o{}` for octal",
                found.trim_start_matches(['+', '-']).trim_start_matches('0'),
                found.trim_start_matches(['+', '-']).trim_start_matches('0'),
            ),
            // A list says so in the message itself; what is around it are keys of its parents.
            _ if raw.starts_with("invalid type: sequence") => message,
            _ if !keys.is_empty() => format!("{message}; found `key: value` entries"),
            Some("" | "~" | "null") => format!("{message}; found an empty value"),
            Some(found) => format!("{message}; found `{}`", found.escape_debug()),
            // An alias: say what it stands for and where that is.
            None => match (pos.and_then(|p| token_at(text, p)), defined_at(&raw)) {
                (Some(alias), Some(defined)) if alias.starts_with('*') => {
                    format!("{message}; found the alias `{alias}`, whose anchor is {defined}")
                }
                _ => message,
            },
        };
    }
    Diagnostic { path, line: pos.map(|p| p.line), column: pos.map(|p| p.column), message: cut_values(message) }
}

/// serde-saphyr ends a message with " at line N, column M"; the position is reported apart.
/// Only that ending is cut: " (used at line N, column M)" inside the message stays.
fn without_position(raw: String) -> String {
    if let Some(i) = raw.rfind(" at line ") {
        let tail = &raw[i + " at line ".len()..];
        let is_position = tail.split_once(", column ").is_some_and(|(l, c)| {
            !l.is_empty()
                && l.bytes().all(|b| b.is_ascii_digit())
                && !c.is_empty()
                && c.bytes().all(|b| b.is_ascii_digit())
        });
        if is_position {
            return raw[..i].to_string();
        }
    }
    raw
}

/// serde-saphyr's wording, turned into what a user of this file format needs to read.
fn explain(raw: &str, token: Option<&str>) -> String {
    if let Some(breach) = raw.strip_prefix("budget breached: ") {
        if breach.starts_with("Depth") {
            return format!(
                "the file nests more than {} levels deep, the limit that keeps parsing safe; a desired-state file needs 5: check the indentation",
                super::MAX_DEPTH
            );
        }
        return format!(
            "the file is too complex to read safely ({breach}); write it without aliases (`*name`) and tags"
        );
    }
    if raw.starts_with("alias replay limit exceeded") || raw.starts_with("YAML document too large or too complex") {
        return format!(
            "aliases (`*name`) in this file copy more than {} YAML events (or the file's size in bytes, if larger), the limit that protects against alias bombs; write the values out instead of sharing them",
            super::MAX_REPLAYED_EVENTS
        );
    }
    if raw.starts_with("alias replay stack depth exceeded") {
        return "aliases (`*name`) nest too deeply; write the values out instead of sharing them".into();
    }
    if raw.starts_with("alias references unknown anchor") || raw.starts_with("reference to unknown value") {
        let name = token.map(|t| t.trim_start_matches('*')).unwrap_or("?");
        return format!(
            "the alias `*{name}` refers to no anchor; define `&{name}` on a value before this line, or write the value out"
        );
    }
    if let Some(rest) = raw.strip_prefix("unsupported tag ") {
        return format!("unsupported tag {rest}; lvsync files need no tags: remove it");
    }
    if raw.starts_with("recursive references") {
        let name = token.map(|t| t.trim_start_matches('*')).unwrap_or("?");
        return format!(
            "the alias `*{name}` refers to the value that contains it (a loop); point it at another anchor, or write the value out"
        );
    }
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
    if let Some(rest) = raw.strip_prefix("invalid type: sequence, expected ") {
        return format!("expected {rest}, not a list");
    }
    if raw.starts_with("invalid i64") || raw.starts_with("invalid u64") {
        let digits = token.map(|t| t.trim_start_matches(['-', '+'])).filter(|t| !t.is_empty());
        if digits.is_some_and(|t| t.bytes().all(|b| b.is_ascii_digit())) {
            return "a whole number far too large for any key of this file; see the key's range in docs/file-format.md"
                .into();
        }
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
        // A near spelling, or one word of the other's (`forwarding` for `forward`).
        .filter(|(d, k)| {
            let part = |long: &str, short: &str| short.len() >= 4 && long.starts_with(short);
            *d <= 2.max(k.len() / 4) || part(unknown, k) || part(k, unknown)
        })
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

/// The YAML token starting at `pos` (an alias `*name`, a tag `!!str`, a plain word): for
/// messages that must name it.
fn token_at(text: &str, pos: Pos) -> Option<&str> {
    let line = text.lines().nth(pos.line.checked_sub(1)?)?;
    let start = line.char_indices().nth(pos.column.checked_sub(1)?).map(|(i, _)| i)?;
    let rest = &line[start..];
    let end = rest.find(|c: char| c.is_whitespace() || matches!(c, ',' | ']' | '}')).unwrap_or(rest.len());
    Some(&rest[..end]).filter(|t| !t.is_empty())
}

/// A plain integer with a redundant leading zero, such as `010`.
fn is_leading_zero(value: &str) -> bool {
    let digits = value.trim_start_matches(['+', '-']);
    digits.len() > 1 && digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit())
}

/// A tag (`!!str`, `!port`) written right before the value at `pos`, on the same line.
fn tag_before(text: &str, pos: Pos) -> Option<&str> {
    let line = text.lines().nth(pos.line.checked_sub(1)?)?;
    let end = line.char_indices().nth(pos.column.checked_sub(1)?).map(|(i, _)| i)?;
    let before = line[..end].trim_end();
    // The separator may be a multi-byte whitespace character (U+0085 is one).
    let start = before
        .char_indices()
        .rfind(|&(_, c)| c.is_whitespace() || matches!(c, ',' | '[' | '{'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let word = &before[start..];
    word.starts_with('!').then_some(word)
}

/// "defined at line N, column M", from serde-saphyr's "(defined at line N, column M)" of an error
/// met through an alias.
fn defined_at(raw: &str) -> Option<&str> {
    let start = raw.find("(defined at line ")? + 1;
    let end = start + raw[start..].find(')')?;
    Some(&raw[start..end])
}
