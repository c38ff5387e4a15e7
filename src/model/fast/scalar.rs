//! One-line scalars: where they end, and what a plain one means.

use std::borrow::Cow;

use super::Unsupported;

pub enum Scalar<'a> {
    Plain(&'a str),
    Quoted(Cow<'a, str>),
}

/// The scalar starting at `at` (not a space), and the byte after it. In a flow collection,
/// `,`, `]` and `}` end a plain scalar too.
pub fn scan(text: &str, at: usize, flow: bool) -> Result<(Scalar<'_>, usize), Unsupported> {
    match text.as_bytes()[at] {
        b'\'' => single_quoted(text, at),
        b'"' => double_quoted(text, at),
        _ => plain(text, at, flow),
    }
}

fn plain(text: &str, at: usize, flow: bool) -> Result<(Scalar<'_>, usize), Unsupported> {
    let b = text.as_bytes();
    // The rest of YAML's indicators start something else: an anchor, a tag, a block scalar...
    if !(b[at].is_ascii_alphanumeric() || matches!(b[at], b'/' | b'_' | b'~' | b'.' | b'+' | b'-')) {
        return Err(Unsupported::at("a scalar starting with an indicator", at));
    }
    let mut end = at;
    while end < b.len() {
        match b[end] {
            b'\n' if flow => return Err(Unsupported::at("a flow collection over several lines", end)),
            b'\n' => break,
            b' ' if b.get(end + 1) == Some(&b'#') => break,
            b',' | b']' | b'}' if flow => break,
            b'[' | b'{' if flow => return Err(Unsupported::at("a bracket inside a flow scalar", end)),
            b':' => match b.get(end + 1) {
                None | Some(b' ' | b'\n') => return Err(Unsupported::at("a mapping where a scalar was expected", end)),
                Some(b',' | b']' | b'}') if flow => return Err(Unsupported::at("a flow pair", end)),
                _ => {}
            },
            _ => {}
        }
        end += 1;
    }
    let next = end;
    while b[end - 1] == b' ' {
        end -= 1;
    }
    Ok((Scalar::Plain(&text[at..end]), next))
}

fn single_quoted(text: &str, at: usize) -> Result<(Scalar<'_>, usize), Unsupported> {
    let b = text.as_bytes();
    let mut owned: Option<String> = None;
    let mut from = at + 1;
    let mut i = from;
    loop {
        match b.get(i) {
            None | Some(b'\n') => return Err(Unsupported::at("a quoted scalar over several lines", at)),
            Some(b'\'') if b.get(i + 1) == Some(&b'\'') => {
                owned.get_or_insert_with(String::new).push_str(&text[from..=i]);
                i += 2;
                from = i;
            }
            Some(b'\'') => break,
            Some(_) => i += 1,
        }
    }
    Ok((quoted(text, owned, from..i), i + 1))
}

/// A quoted scalar's value: borrowed from the text when it had no escape, else the unescaped
/// part so far and the rest of it.
fn quoted(text: &str, owned: Option<String>, rest: std::ops::Range<usize>) -> Scalar<'_> {
    Scalar::Quoted(match owned {
        Some(mut s) => {
            s.push_str(&text[rest]);
            Cow::Owned(s)
        }
        None => Cow::Borrowed(&text[rest]),
    })
}

fn double_quoted(text: &str, at: usize) -> Result<(Scalar<'_>, usize), Unsupported> {
    let b = text.as_bytes();
    let mut owned: Option<String> = None;
    let mut from = at + 1;
    let mut i = from;
    loop {
        match b.get(i) {
            None | Some(b'\n') => return Err(Unsupported::at("a quoted scalar over several lines", at)),
            Some(b'\\') => {
                let unescaped = match b.get(i + 1) {
                    Some(b'\\') => '\\',
                    Some(b'"') => '"',
                    Some(b'n') => '\n',
                    Some(b't') => '\t',
                    _ => return Err(Unsupported::at("an escape other than \\\\ \\\" \\n \\t", i)),
                };
                let s = owned.get_or_insert_with(String::new);
                s.push_str(&text[from..i]);
                s.push(unescaped);
                i += 2;
                from = i;
            }
            Some(b'"') => break,
            Some(_) => i += 1,
        }
    }
    Ok((quoted(text, owned, from..i), i + 1))
}

/// The plain spellings of null that serde-saphyr knows (besides an empty value).
pub fn is_null(s: &str) -> bool {
    matches!(s, "~" | "null" | "Null" | "NULL")
}

pub fn boolean(s: &str) -> Option<bool> {
    match s {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// A plain decimal integer: `0` or `-?[1-9][0-9]*`. Signs, leading zeros, `_` and other radixes
/// are left to serde-saphyr.
fn decimal(s: &str) -> Option<(bool, &str)> {
    let (negative, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let ok = match digits.as_bytes() {
        [b'0'] => !negative,
        [b'1'..=b'9', rest @ ..] => rest.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    ok.then_some((negative, digits))
}

pub fn int(s: &str) -> Option<i64> {
    decimal(s).and_then(|_| s.parse().ok())
}

/// A plain integer as serde-saphyr hands it to a visitor that takes anything: unsigned unless
/// negative.
pub enum AnyInt {
    Unsigned(u64),
    Signed(i64),
}

pub fn any_int(s: &str) -> Option<AnyInt> {
    match decimal(s)? {
        (true, _) => s.parse().ok().map(AnyInt::Signed),
        (false, _) => s.parse().ok().map(AnyInt::Unsigned),
    }
}

/// Whether a plain scalar is text beyond doubt: it starts with a letter and is not a word that
/// YAML 1.1 or 1.2 gives a meaning; or it starts with a digit and holds a character no number
/// has (an address with `:` or `/`, `2s`) or is dotted like an IPv4 address; or it is a path.
pub fn plain_is_text(s: &str) -> bool {
    let b = s.as_bytes();
    match b.first() {
        Some(c) if c.is_ascii_alphabetic() => !is_special_word(s),
        Some(c) if c.is_ascii_digit() => {
            let numeric =
                |c: &u8| c.is_ascii_hexdigit() || matches!(c, b'x' | b'X' | b'o' | b'O' | b'.' | b'_' | b'+' | b'-');
            let dotted =
                b.iter().all(|c| c.is_ascii_digit() || *c == b'.') && b.iter().filter(|c| **c == b'.').count() >= 2;
            !b.iter().all(numeric) || dotted
        }
        Some(b'/') => true,
        _ => false,
    }
}

fn is_special_word(s: &str) -> bool {
    const WORDS: [&str; 12] = ["true", "false", "yes", "no", "on", "off", "y", "n", "null", "inf", "infinity", "nan"];
    WORDS.iter().any(|w| w.eq_ignore_ascii_case(s))
}
