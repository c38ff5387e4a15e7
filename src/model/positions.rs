//! Where nodes of the file sit: a syntax-only pass over the YAML events that walks every path
//! (`services[0].real_servers[1].weight`) with its line and column.
//!
//! serde-saphyr can carry positions in `Spanned<T>` fields, but that would wrap every field of
//! the raw types (and their schema and export) in a position type. A separate pass keeps the raw
//! types a plain mirror of the YAML. It runs only when the file has problems, and it keeps only
//! what those problems ask for: one path buffer and one frame per level of nesting, so its
//! memory does not grow with the file (a map of every path of a 20,000-service file would take
//! hundreds of MB).

use std::collections::HashMap;

use serde_saphyr::granit_parser::{Event, Parser};

/// Line (1-based) and column (1-based, in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

/// Whether a node is a mapping key or a value (an entry's value, a list item, the root).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Key,
    Value,
}

/// One node, as the walk meets it.
pub struct Node<'a> {
    pub path: &'a str,
    pub pos: Pos,
    pub role: Role,
    /// The text of a scalar node.
    pub scalar: Option<&'a str>,
    /// Where the collection holding the node starts.
    pub container: Option<Pos>,
}

enum Kind {
    Map {
        in_value: bool,
    },
    Seq {
        index: usize,
    },
    /// A mapping or sequence used as a mapping key: nothing inside it has a useful path.
    ComplexKey,
}

struct Frame {
    kind: Kind,
    /// Length of the path buffer at the collection itself.
    base: usize,
    start: Pos,
}

/// Visit every node of the first document, in file order, up to the first syntax error (the
/// parse pass reports that one).
pub fn walk(text: &str, mut visit: impl FnMut(&Node)) {
    let mut path = String::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut parser = Parser::new_from_str(text);
    while let Some(Ok((event, span))) = parser.next_event() {
        let pos = Pos { line: span.start.line(), column: span.start.col() + 1 };
        let (collection, scalar) = match &event {
            Event::Scalar(value, ..) => (false, Some(value.as_ref())),
            Event::Alias(_) => (false, None),
            Event::MappingStart(..) | Event::SequenceStart(..) => (true, None),
            // Only the first document is read; a second one is refused by the parse pass.
            Event::DocumentEnd => break,
            Event::MappingEnd | Event::SequenceEnd => {
                let ended = stack.pop();
                // A complex key that ends leaves its mapping waiting for the value.
                let was_key = matches!(ended, Some(Frame { kind: Kind::ComplexKey, .. }))
                    && matches!(stack.last(), Some(Frame { kind: Kind::Map { .. }, .. }));
                if !was_key {
                    finish_node(&mut stack, &mut path);
                }
                continue;
            }
            _ => continue,
        };
        let container = stack.last().map(|f| f.start);
        match stack.last_mut() {
            None => {}
            Some(Frame { kind: Kind::ComplexKey, .. }) => {
                if collection {
                    stack.push(Frame { kind: Kind::ComplexKey, base: path.len(), start: pos });
                }
                continue;
            }
            Some(Frame { kind: Kind::Map { in_value: in_value @ false }, .. }) => {
                // A key. A scalar key names the entry; a complex one is kept opaque.
                *in_value = true;
                if !path.is_empty() {
                    path.push('.');
                }
                if collection {
                    path.push('?');
                    stack.push(Frame { kind: Kind::ComplexKey, base: path.len(), start: pos });
                    continue;
                }
                path.push_str(scalar.unwrap_or("*"));
                visit(&Node { path: &path, pos, role: Role::Key, scalar, container });
                continue;
            }
            Some(Frame { kind: Kind::Map { in_value: true }, .. }) => {}
            Some(Frame { kind: Kind::Seq { index }, .. }) => {
                use std::fmt::Write;
                let _ = write!(path, "[{index}]");
            }
        }
        visit(&Node { path: &path, pos, role: Role::Value, scalar, container });
        if collection {
            let kind = match event {
                Event::MappingStart(..) => Kind::Map { in_value: false },
                _ => Kind::Seq { index: 0 },
            };
            stack.push(Frame { kind, base: path.len(), start: pos });
        } else {
            finish_node(&mut stack, &mut path);
        }
    }
}

/// A node inside the top frame is complete: move on to the next key or item.
fn finish_node(stack: &mut [Frame], path: &mut String) {
    let Some(top) = stack.last_mut() else { return };
    match &mut top.kind {
        Kind::Map { in_value } => *in_value = false,
        Kind::Seq { index } => *index += 1,
        Kind::ComplexKey => return,
    }
    path.truncate(top.base);
}

/// The positions of a set of paths, found in one walk: for each, where its value starts and
/// where its key starts (if it is a mapping entry). Paths not in the file fall back to their
/// closest ancestor that is.
#[derive(Debug, Default)]
pub struct Lookup {
    /// Path -> (value, key).
    found: HashMap<String, (Option<Pos>, Option<Pos>)>,
}

impl Lookup {
    pub fn of<'p>(text: &str, paths: impl IntoIterator<Item = &'p str>) -> Lookup {
        let mut found: HashMap<String, (Option<Pos>, Option<Pos>)> = HashMap::new();
        for path in paths {
            let mut p = path;
            loop {
                if found.contains_key(p) {
                    break;
                }
                found.insert(p.to_string(), (None, None));
                if p.is_empty() {
                    break;
                }
                p = parent(p);
            }
        }
        walk(text, |node| {
            if let Some((value, key)) = found.get_mut(node.path) {
                let slot = if node.role == Role::Key { key } else { value };
                slot.get_or_insert(node.pos);
            }
        });
        Lookup { found }
    }

    /// Where the value at `path` starts, or else its closest ancestor that exists in the file.
    pub fn value(&self, path: &str) -> Option<Pos> {
        let mut path = path;
        loop {
            if let Some((Some(pos), _)) = self.found.get(path) {
                return Some(*pos);
            }
            if path.is_empty() {
                return None;
            }
            path = parent(path);
        }
    }

    /// Where the key of the entry at `path` starts (falls back like [`Lookup::value`]).
    pub fn key(&self, path: &str) -> Option<Pos> {
        match self.found.get(path) {
            Some((_, Some(pos))) => Some(*pos),
            _ => self.value(path),
        }
    }
}

/// What is at one position, for errors that only know a position.
#[derive(Debug, Default)]
pub struct At {
    /// Paths whose value starts there, shortest first.
    pub values: Vec<String>,
    /// Paths whose key starts there, shortest first, each with where its mapping starts.
    pub keys: Vec<(String, Option<Pos>)>,
    /// The scalar starting there, cut to [`super::diag::MAX_VALUE_CHARS`] characters.
    pub scalar: Option<String>,
    /// The last key before the position on its line: where the walk stopped short of it (the
    /// parser refuses some nodes, such as an alias of no anchor).
    pub key_before: Option<String>,
}

impl At {
    pub fn of(text: &str, at: Pos) -> At {
        let mut out = At::default();
        walk(text, |node| {
            if node.role == Role::Key && node.pos.line == at.line && node.pos.column < at.column {
                out.key_before = Some(node.path.to_string());
            }
            if node.pos != at {
                return;
            }
            match node.role {
                Role::Value => out.values.push(node.path.to_string()),
                Role::Key => out.keys.push((node.path.to_string(), node.container)),
            }
            if out.scalar.is_none() {
                out.scalar = node.scalar.map(super::diag::cut);
            }
        });
        out.values.sort_by_key(|p| p.len());
        out.keys.sort_by_key(|(p, _)| p.len());
        out
    }
}

/// `a.b[2]` -> `a.b` -> `a` -> ``.
pub fn parent(path: &str) -> &str {
    match path.rfind(['.', '[']) {
        Some(i) => &path[..i],
        None => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_lines_and_columns() {
        let text = "version: 1\nservices:\n  - name: web\n    real_servers:\n      - {address: 10.0.0.1, weight: 3}\n";
        let p = Lookup::of(
            text,
            [
                "version",
                "services[0].name",
                "services[0].real_servers",
                "services[0].real_servers[0].weight",
                "services[0].real_servers[0].port",
            ],
        );
        assert_eq!(p.value("version"), Some(Pos { line: 1, column: 10 }));
        assert_eq!(p.value("services[0].name"), Some(Pos { line: 3, column: 11 }));
        assert_eq!(p.key("services[0].real_servers"), Some(Pos { line: 4, column: 5 }));
        assert_eq!(p.value("services[0].real_servers[0].weight"), Some(Pos { line: 5, column: 37 }));
        // Not in the file: the closest ancestor.
        assert_eq!(p.value("services[0].real_servers[0].port"), Some(Pos { line: 5, column: 9 }));
        let at = At::of(text, Pos { line: 3, column: 5 });
        assert_eq!(at.values, vec!["services[0]".to_string()]);
        assert_eq!(at.keys, vec![("services[0].name".to_string(), Some(Pos { line: 3, column: 5 }))]);
    }

    #[test]
    fn complex_keys_and_nested_lists_keep_paths_apart() {
        let text = "a:\n  - [1, 2]\n  - x\n? [k]\n: v\nb: {c: [d, e]}\n";
        let mut seen = Vec::new();
        walk(text, |n| seen.push((n.path.to_string(), n.role)));
        let paths: Vec<&str> = seen.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            ["", "a", "a", "a[0]", "a[0][0]", "a[0][1]", "a[1]", "?", "b", "b", "b.c", "b.c", "b.c[0]", "b.c[1]"]
        );
    }
}
