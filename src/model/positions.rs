//! Where each node of the file sits: a second, syntax-only pass over the YAML events that maps
//! every path (`services[0].real_servers[1].weight`) to its line and column.
//!
//! serde-saphyr can carry positions in `Spanned<T>` fields, but that would wrap every field of
//! the raw types (and their schema and export) in a position type. A separate pass keeps the raw
//! types a plain mirror of the YAML; parsing twice costs microseconds for files of thousands of
//! services.

use std::collections::HashMap;

use serde_saphyr::granit_parser::{Event, Parser};

/// Line (1-based) and column (1-based, in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Default)]
pub struct Positions {
    /// Path of a value -> where the value starts.
    values: HashMap<String, Pos>,
    /// Path of a mapping entry -> where its key starts.
    keys: HashMap<String, Pos>,
    /// Where a scalar starts -> its text, to show what a type error found.
    scalars: HashMap<(usize, usize), String>,
}

enum Frame {
    Map {
        path: String,
        key: Option<String>,
    },
    Seq {
        path: String,
        index: usize,
    },
    /// A mapping or sequence used as a mapping key: nothing inside it has a useful path.
    ComplexKey,
}

impl Positions {
    /// Positions of every node up to the first syntax error (the parse pass reports that one).
    pub fn of(text: &str) -> Positions {
        let mut out = Positions::default();
        let mut stack: Vec<Frame> = Vec::new();
        let mut parser = Parser::new_from_str(text);
        while let Some(Ok((event, span))) = parser.next_event() {
            let pos = Pos { line: span.start.line(), column: span.start.col() + 1 };
            let opens = match event {
                Event::Scalar(ref value, ..) => Some((false, Some(value.to_string()))),
                Event::Alias(_) => Some((false, None)),
                Event::MappingStart(..) => Some((true, None)),
                Event::SequenceStart(..) => Some((true, None)),
                // Only the first document is read; a second one is refused by the parse pass.
                Event::DocumentEnd => break,
                Event::MappingEnd | Event::SequenceEnd => {
                    stack.pop();
                    out.finish_node(&mut stack);
                    continue;
                }
                _ => None,
            };
            let Some((collection, scalar)) = opens else { continue };
            if let Some(text) = &scalar {
                out.scalars.insert((pos.line, pos.column), text.clone());
            }
            let path = match stack.last_mut() {
                None => Some(String::new()),
                Some(Frame::ComplexKey) => None,
                Some(Frame::Map { path, key: key @ None }) => {
                    // A key. A scalar key names the entry; a complex one is kept opaque.
                    if collection {
                        *key = Some("?".into());
                        stack.push(Frame::ComplexKey);
                        continue;
                    }
                    let name = scalar.unwrap_or_else(|| "*".into());
                    out.keys.insert(join(path, &name), pos);
                    *key = Some(name);
                    continue;
                }
                Some(Frame::Map { path, key: Some(key) }) => Some(join(path, key)),
                Some(Frame::Seq { path, index }) => Some(format!("{path}[{index}]")),
            };
            if let Some(path) = &path {
                out.values.entry(path.clone()).or_insert(pos);
            }
            if collection {
                let path = path.unwrap_or_default();
                stack.push(match event {
                    Event::MappingStart(..) => Frame::Map { path, key: None },
                    _ => Frame::Seq { path, index: 0 },
                });
            } else {
                out.finish_node(&mut stack);
            }
        }
        out
    }

    /// A node inside the top frame is complete: move on to the next key or item.
    fn finish_node(&mut self, stack: &mut [Frame]) {
        match stack.last_mut() {
            Some(Frame::Map { key, .. }) => *key = None,
            Some(Frame::Seq { index, .. }) => *index += 1,
            Some(Frame::ComplexKey) | None => {}
        }
    }

    /// Where the value at `path` starts, or else its closest ancestor that exists in the file.
    pub fn value(&self, path: &str) -> Option<Pos> {
        let mut path = path;
        loop {
            if let Some(pos) = self.values.get(path) {
                return Some(*pos);
            }
            if path.is_empty() {
                return None;
            }
            path = parent(path);
        }
    }

    /// Where the key of the entry at `path` starts (falls back like [`Positions::value`]).
    pub fn key(&self, path: &str) -> Option<Pos> {
        self.keys.get(path).copied().or_else(|| self.value(path))
    }

    /// The text of the scalar starting at `pos`, if one does.
    pub fn scalar_at(&self, pos: Pos) -> Option<&str> {
        self.scalars.get(&(pos.line, pos.column)).map(String::as_str)
    }

    /// Whether `path` is a mapping entry whose key starts at `pos`.
    pub fn is_key_at(&self, path: &str, pos: Pos) -> bool {
        self.keys.get(path) == Some(&pos)
    }

    /// The paths whose value starts at `pos`, and those whose key does, each shortest first:
    /// for errors that only know a position.
    pub fn paths_at(&self, pos: Pos) -> (Vec<&str>, Vec<&str>) {
        (starting_at(&self.values, pos), starting_at(&self.keys, pos))
    }
}

fn starting_at(map: &HashMap<String, Pos>, pos: Pos) -> Vec<&str> {
    let mut found: Vec<&str> = map.iter().filter(|(_, p)| **p == pos).map(|(k, _)| k.as_str()).collect();
    found.sort_by_key(|p| (p.len(), *p));
    found
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
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
        let p = Positions::of(text);
        assert_eq!(p.value("version"), Some(Pos { line: 1, column: 10 }));
        assert_eq!(p.value("services[0].name"), Some(Pos { line: 3, column: 11 }));
        assert_eq!(p.key("services[0].real_servers"), Some(Pos { line: 4, column: 5 }));
        assert_eq!(p.value("services[0].real_servers[0].weight"), Some(Pos { line: 5, column: 37 }));
        // Not in the file: the closest ancestor.
        assert_eq!(p.value("services[0].real_servers[0].port"), Some(Pos { line: 5, column: 9 }));
        assert_eq!(p.paths_at(Pos { line: 3, column: 5 }), (vec!["services[0]"], vec!["services[0].name"]));
    }
}
