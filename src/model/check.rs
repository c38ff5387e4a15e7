//! The checker that collects every problem of a file, and the scalar checks all sections share.

use std::net::IpAddr;

use super::diag::{Diagnostic, Diagnostics, cut_values};
use super::positions::{Lookup, Role};

/// A YAML path (`services[3].real_servers[0].weight`), written out only when a problem needs
/// it: a valid file of 20,000 services has hundreds of thousands of paths, and formatting them
/// all took a fifth of `validate`. A closure that formats the path is one.
pub trait Path {
    fn text(&self) -> String;
}

impl Path for str {
    fn text(&self) -> String {
        self.to_string()
    }
}

impl Path for String {
    fn text(&self) -> String {
        self.clone()
    }
}

impl<F: Fn() -> String> Path for F {
    fn text(&self) -> String {
        self()
    }
}

pub struct Checker<'a> {
    text: &'a str,
    /// Each problem with the role of its node; positions are found in one pass at the end, and
    /// only when there are problems: a valid file never pays for it.
    found: Vec<(Diagnostic, Role)>,
}

impl<'a> Checker<'a> {
    pub fn new(text: &'a str) -> Checker<'a> {
        Checker { text, found: Vec::new() }
    }

    /// A problem with the value at `path`.
    pub fn err(&mut self, path: &(impl Path + ?Sized), message: impl Into<String>) {
        self.push(path, Role::Value, message.into());
    }

    /// A problem with the key of the entry at `path` (a key that should not be there).
    pub fn err_key(&mut self, path: &(impl Path + ?Sized), message: impl Into<String>) {
        self.push(path, Role::Key, message.into());
    }

    fn push(&mut self, path: &(impl Path + ?Sized), role: Role, message: String) {
        let d = Diagnostic { path: path.text(), line: None, column: None, message: cut_values(message) };
        self.found.push((d, role));
    }

    /// How many problems so far: compare before and after checking a section.
    pub fn count(&self) -> usize {
        self.found.len()
    }

    pub fn finish(self) -> Result<(), Diagnostics> {
        if self.found.is_empty() {
            return Ok(());
        }
        let lookup = Lookup::of(self.text, self.found.iter().map(|(d, _)| d.path.as_str()));
        let found = self.found.into_iter().map(|(mut d, role)| {
            let pos = match role {
                Role::Key => lookup.key(&d.path),
                Role::Value => lookup.value(&d.path),
            };
            d.line = pos.map(|p| p.line);
            d.column = pos.map(|p| p.column);
            d
        });
        let mut d = Diagnostics(found.collect());
        d.sort();
        Err(d)
    }

    /// An integer in `lo..=hi`; `what` names it in the message (`weight`).
    pub fn int(&mut self, path: &(impl Path + ?Sized), value: i64, lo: i64, hi: i64, what: &str) -> Option<u32> {
        if (lo..=hi).contains(&value) {
            // Every range used in the file fits u32.
            return u32::try_from(value).ok();
        }
        self.err(path, format!("`{value}` is not a valid {what}; expected an integer {lo}..={hi}"));
        None
    }

    /// Refuse a number in `text` written with a leading zero (`010`, `00.5`, `0200-299`), which
    /// YAML 1.1 reads as octal and YAML 1.2 as decimal. True if it was refused.
    pub fn leading_zero(&mut self, path: &(impl Path + ?Sized), text: &str, what: &str) -> bool {
        let b = text.as_bytes();
        let at = (0..b.len()).find(|&i| {
            let starts = i == 0 || !(b[i - 1].is_ascii_digit() || b[i - 1] == b'.');
            starts && b[i] == b'0' && b.get(i + 1).is_some_and(u8::is_ascii_digit)
        });
        let Some(at) = at else { return false };
        let end = (at..b.len()).find(|&i| !(b[i].is_ascii_digit() || b[i] == b'.')).unwrap_or(b.len());
        let number = &text[at..end];
        let digits = number.trim_start_matches('0');
        let digits =
            if digits.is_empty() || digits.starts_with('.') { format!("0{digits}") } else { digits.to_string() };
        self.err(
            path,
            format!("`{text}` is not a valid {what}: `{number}` has a leading zero, which YAML 1.1 reads as octal and YAML 1.2 as decimal; write `{digits}`"),
        );
        true
    }

    /// One of a fixed set of words.
    pub fn word<'w>(
        &mut self,
        path: &(impl Path + ?Sized),
        value: &str,
        allowed: &[&'w str],
        what: &str,
    ) -> Option<&'w str> {
        if let Some(w) = allowed.iter().find(|w| **w == value) {
            return Some(w);
        }
        let list = allowed.iter().map(|w| format!("`{w}`")).collect::<Vec<_>>().join(", ");
        let hint = match allowed.iter().find(|w| w.eq_ignore_ascii_case(value.trim())) {
            Some(w) => format!(" (did you mean `{w}`?)"),
            None => String::new(),
        };
        self.err(path, format!("`{value}` is not a valid {what}; expected one of {list}{hint}"));
        None
    }

    /// An IPv4 or IPv6 address literal.
    pub fn ip(&mut self, path: &(impl Path + ?Sized), value: &str, what: &str) -> Option<IpAddr> {
        if let Ok(ip) = value.trim().parse::<IpAddr>() {
            return Some(ip);
        }
        let hint = if value.contains('/') {
            " without a prefix length"
        } else if value.contains(':') && value.contains('.') && !value.contains("::") {
            " without a port"
        } else {
            ""
        };
        self.err(
            path,
            format!(
                "`{value}` is not a valid {what}; expected an IPv4 or IPv6 address{hint}, such as `192.168.2.110` or `2001:db8::10`"
            ),
        );
        None
    }

    /// A name matching `[a-z0-9][a-z0-9._-]{0,max_tail}`.
    pub fn name(&mut self, path: &(impl Path + ?Sized), value: &str, max_tail: usize, what: &str) -> bool {
        let mut chars = value.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
        let rest_ok = chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
        if first_ok && rest_ok && value.len() <= max_tail + 1 {
            return true;
        }
        let why = if value.is_empty() {
            "is empty".to_string()
        } else if !first_ok {
            "must start with a lower-case letter or a digit".to_string()
        } else if !rest_ok {
            "may only hold lower-case letters, digits, `.`, `_` and `-`".to_string()
        } else {
            format!("is {} characters long, the limit is {}", value.len(), max_tail + 1)
        };
        self.err(
            path,
            format!("`{value}` is not a valid {what}: it {why}; expected [a-z0-9][a-z0-9._-]{{0,{max_tail}}}"),
        );
        false
    }
}

/// Where a problem was first seen, for "listed twice" messages.
pub fn first_at(path: &str) -> String {
    format!("first at {path}")
}
