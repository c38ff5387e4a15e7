//! Errors of a desired-state file: every problem found, each with its YAML path and position.

use std::fmt;

/// One problem in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// YAML path of the offending node, such as `services[0].real_servers[1].weight`; empty for
    /// the whole file.
    pub path: String,
    /// 1-based.
    pub line: Option<usize>,
    /// 1-based, in characters.
    pub column: Option<usize>,
    /// What is wrong, the bad value in backticks, and what would be valid.
    pub message: String,
}

/// Every problem of a file, in file order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// One line per problem: `FILE:LINE:COLUMN: PATH: MESSAGE`.
    pub fn render(&self, file_name: &str) -> String {
        let mut out = String::new();
        for d in &self.0 {
            out.push_str(file_name);
            out.push_str(&d.to_string());
            out.push('\n');
        }
        out
    }

    /// File order: by position, problems without one last.
    pub(crate) fn sort(&mut self) {
        self.0.sort_by_key(|d| (d.line.is_none(), d.line, d.column));
    }
}

/// `:LINE:COLUMN: PATH: MESSAGE`, to follow a file name.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        f.write_str(": ")?;
        if !self.path.is_empty() {
            write!(f, "{}: ", one_line(&self.path))?;
        }
        f.write_str(&one_line(&self.message))
    }
}

/// One problem, one line: values quoted from the file may hold line breaks or control bytes.
fn one_line(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_string();
    }
    text.chars().map(|c| if c.is_control() { c.escape_debug().to_string() } else { c.to_string() }).collect()
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.render("<file>").trim_end())
    }
}

impl std::error::Error for Diagnostics {}

/// The most characters of a value quoted from the file in a message; longer ones are cut.
pub const MAX_VALUE_CHARS: usize = 64;

/// A value quoted from the file, cut to [`MAX_VALUE_CHARS`] characters with how long it was.
pub fn cut(value: &str) -> String {
    if value.len() <= MAX_VALUE_CHARS {
        return value.to_string();
    }
    let total = value.chars().count();
    if total <= MAX_VALUE_CHARS {
        return value.to_string();
    }
    let head: String = value.chars().take(MAX_VALUE_CHARS - 16).collect();
    format!("{head}... ({total} characters)")
}

/// Every value in backticks in `message`, cut like [`cut`]: a message stays a sentence however
/// long the value it quotes.
pub fn cut_values(message: String) -> String {
    if message.len() <= 2 * MAX_VALUE_CHARS {
        return message;
    }
    let mut out = String::with_capacity(message.len().min(1024));
    let mut parts = message.split('`');
    let mut quoted = false;
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    for part in parts {
        quoted = !quoted;
        out.push('`');
        out.push_str(&if quoted { cut(part) } else { part.to_string() });
    }
    out
}
