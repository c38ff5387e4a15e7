//! The deserializer: a cursor over the text that the derived `Deserialize` impls drive. Block
//! structure is read by indentation, one line at a time; nothing is kept but the cursor.

use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};

use super::Unsupported;
use super::scalar::{self, AnyInt, Scalar};

/// The text and how far it is read.
pub struct Reader<'a> {
    text: &'a str,
    /// The next byte to read: at the start of a line between nodes, inside one while reading it.
    pos: usize,
}

/// A line with content (not blank, not only a comment).
#[derive(Clone, Copy)]
struct Line {
    indent: usize,
    /// Where the content starts.
    at: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the first node, past an optional `---`.
    pub fn new(text: &'a str) -> Result<Reader<'a>, Unsupported> {
        let mut r = Reader { text, pos: 0 };
        r.skip_insignificant();
        if let Some(rest) = text[r.pos..].strip_prefix("---") {
            let after = r.pos + 3;
            if matches!(rest.as_bytes().first(), None | Some(b' ' | b'\n')) {
                r.pos = after;
                r.end_line()?;
            }
        }
        Ok(r)
    }

    /// Nothing but blank and comment lines is left.
    pub fn expect_end(&mut self) -> Result<(), Unsupported> {
        match self.content_line()? {
            None => Ok(()),
            Some(line) => Err(Unsupported::at("content after the root mapping", line.at)),
        }
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// Skip blank and comment lines, from the start of a line.
    fn skip_insignificant(&mut self) {
        let b = self.bytes();
        while self.pos < b.len() {
            let at = self.skip_spaces(self.pos);
            match b.get(at) {
                Some(b'\n') => self.pos = at + 1,
                Some(b'#') => self.pos = self.line_end(at) + 1,
                None => self.pos = at,
                Some(_) => return,
            }
        }
    }

    /// The next line with content, without consuming it (only the blank lines before it).
    fn content_line(&mut self) -> Result<Option<Line>, Unsupported> {
        self.skip_insignificant();
        if self.pos >= self.text.len() {
            return Ok(None);
        }
        let at = self.skip_spaces(self.pos);
        let rest = &self.text[at..];
        if at == self.pos && (rest.starts_with("---") || rest.starts_with("...") || rest.starts_with('%')) {
            return Err(Unsupported::at("a document marker or directive", at));
        }
        Ok(Some(Line { indent: at - self.pos, at }))
    }

    /// Whether a line is a block sequence item: `-` then a space or the line's end.
    fn is_item(&self, line: Line) -> bool {
        let b = self.bytes();
        b[line.at] == b'-' && matches!(b.get(line.at + 1), None | Some(b' ' | b'\n'))
    }

    fn skip_spaces(&self, mut at: usize) -> usize {
        let b = self.bytes();
        while b.get(at) == Some(&b' ') {
            at += 1;
        }
        at
    }

    fn line_end(&self, at: usize) -> usize {
        self.text[at..].find('\n').map_or(self.text.len(), |i| at + i)
    }

    /// The column of `pos` on its line.
    fn column(&self) -> usize {
        self.pos - self.text[..self.pos].rfind('\n').map_or(0, |i| i + 1)
    }

    /// After a value: only spaces and a comment may follow on its line.
    fn end_line(&mut self) -> Result<(), Unsupported> {
        let b = self.bytes();
        let at = self.skip_spaces(self.pos);
        match b.get(at) {
            None => self.pos = at,
            Some(b'\n') => self.pos = at + 1,
            Some(b'#') if at > 0 && b[at - 1] == b' ' => self.pos = (self.line_end(at) + 1).min(b.len()),
            Some(_) => return Err(Unsupported::at("more after a value on its line", at)),
        }
        Ok(())
    }

    /// A mapping key at `pos`: an identifier, then `:` and a space or the line's end. The cursor
    /// stops after the `:`.
    fn key(&mut self) -> Result<&'a str, Unsupported> {
        let b = self.bytes();
        let start = self.pos;
        let mut end = start;
        while end < b.len() && (b[end].is_ascii_alphanumeric() || b[end] == b'_') {
            end += 1;
        }
        if end == start || b.get(end) != Some(&b':') || !matches!(b.get(end + 1), None | Some(b' ' | b'\n')) {
            return Err(Unsupported::at("a key that is not an identifier followed by `: `", start));
        }
        self.pos = end + 1;
        Ok(&self.text[start..end])
    }

    /// Whether the text at `pos` is a key (`name: ` or `name:` at the line's end).
    fn at_key(&self) -> bool {
        let b = self.bytes();
        let mut end = self.pos;
        while end < b.len() && (b[end].is_ascii_alphanumeric() || b[end] == b'_') {
            end += 1;
        }
        end > self.pos && b.get(end) == Some(&b':') && matches!(b.get(end + 1), None | Some(b' ' | b'\n'))
    }
}

/// Where a value is, relative to the cursor.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// The whole file.
    Root,
    /// At the cursor, after `key: ` on the key's line.
    Inline,
    /// At the cursor, after `- `: may also be a compact mapping.
    Item,
    /// At the cursor, inside a flow collection.
    Flow,
    /// After `key:` with nothing else on its line (the cursor is on the next line): a block
    /// nested below, a sequence at the key's own indent, or else null.
    Block { indent: usize },
}

/// A value to deserialize.
pub struct Value<'r, 'a> {
    r: &'r mut Reader<'a>,
    slot: Slot,
}

impl<'r, 'a> Value<'r, 'a> {
    pub fn root(r: &'r mut Reader<'a>) -> Value<'r, 'a> {
        Value { r, slot: Slot::Root }
    }

    fn unsupported(&self, why: &str) -> Unsupported {
        Unsupported::at(why, self.r.pos)
    }

    /// The scalar here, with its line finished when in block context.
    fn scalar(&mut self) -> Result<Scalar<'a>, Unsupported> {
        let flow = match self.slot {
            Slot::Inline | Slot::Item => false,
            Slot::Flow => true,
            Slot::Root | Slot::Block { .. } => {
                return Err(self.unsupported("a block or null where a scalar was expected"));
            }
        };
        let (value, next) = scalar::scan(self.r.text, self.r.pos, flow)?;
        self.r.pos = next;
        if !flow {
            self.r.end_line()?;
        }
        Ok(value)
    }

    /// After a flow collection that stood for the whole value.
    fn finish_flow(&mut self) -> Result<(), Unsupported> {
        match self.slot {
            Slot::Flow => Ok(()),
            _ => self.r.end_line(),
        }
    }

    fn at_byte(&self) -> Option<u8> {
        self.r.bytes().get(self.r.pos).copied()
    }
}

fn visit_text<'a, V: Visitor<'a>>(visitor: V, value: std::borrow::Cow<'a, str>) -> Result<V::Value, Unsupported> {
    match value {
        std::borrow::Cow::Borrowed(s) => visitor.visit_borrowed_str(s),
        std::borrow::Cow::Owned(s) => visitor.visit_string(s),
    }
}

macro_rules! unsupported {
    ($($method:ident)*) => {
        $(fn $method<V: Visitor<'a>>(self, _: V) -> Result<V::Value, Unsupported> {
            Err(self.unsupported(concat!("a type lvsync files do not use: ", stringify!($method))))
        })*
    };
}

impl<'a> serde::Deserializer<'a> for Value<'_, 'a> {
    type Error = Unsupported;

    /// Only scalars: the raw types that ask for anything take a number or a string.
    fn deserialize_any<V: Visitor<'a>>(mut self, visitor: V) -> Result<V::Value, Unsupported> {
        match self.scalar()? {
            Scalar::Quoted(s) => visit_text(visitor, s),
            Scalar::Plain(s) => match scalar::any_int(s) {
                Some(AnyInt::Unsigned(n)) => visitor.visit_u64(n),
                Some(AnyInt::Signed(n)) => visitor.visit_i64(n),
                None if scalar::plain_is_text(s) => visitor.visit_borrowed_str(s),
                None => Err(self.unsupported("a plain scalar of doubtful type")),
            },
        }
    }

    fn deserialize_bool<V: Visitor<'a>>(mut self, visitor: V) -> Result<V::Value, Unsupported> {
        match self.scalar()? {
            Scalar::Plain(s) => match scalar::boolean(s) {
                Some(b) => visitor.visit_bool(b),
                None => Err(self.unsupported("a boolean other than true or false")),
            },
            Scalar::Quoted(_) => Err(self.unsupported("a quoted boolean")),
        }
    }

    fn deserialize_i64<V: Visitor<'a>>(mut self, visitor: V) -> Result<V::Value, Unsupported> {
        match self.scalar()? {
            Scalar::Plain(s) => match scalar::int(s) {
                Some(n) => visitor.visit_i64(n),
                None => Err(self.unsupported("an integer that is not plain decimal")),
            },
            Scalar::Quoted(_) => Err(self.unsupported("a quoted integer")),
        }
    }

    fn deserialize_str<V: Visitor<'a>>(mut self, visitor: V) -> Result<V::Value, Unsupported> {
        match self.scalar()? {
            Scalar::Quoted(s) => visit_text(visitor, s),
            Scalar::Plain(s) if scalar::plain_is_text(s) => visitor.visit_borrowed_str(s),
            Scalar::Plain(_) => Err(self.unsupported("a plain string that YAML may read as another type")),
        }
    }

    fn deserialize_string<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Unsupported> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'a>>(self, visitor: V) -> Result<V::Value, Unsupported> {
        match self.slot {
            Slot::Block { indent } => match self.r.content_line()? {
                Some(line) if line.indent > indent || (line.indent == indent && self.r.is_item(line)) => {
                    visitor.visit_some(self)
                }
                _ => visitor.visit_none(),
            },
            Slot::Inline | Slot::Item | Slot::Flow => {
                let flow = self.slot == Slot::Flow;
                match scalar::scan(self.r.text, self.r.pos, flow) {
                    Ok((Scalar::Plain(s), next)) if scalar::is_null(s) => {
                        self.r.pos = next;
                        if !flow {
                            self.r.end_line()?;
                        }
                        visitor.visit_none()
                    }
                    _ => visitor.visit_some(self),
                }
            }
            Slot::Root => visitor.visit_some(self),
        }
    }

    fn deserialize_seq<V: Visitor<'a>>(mut self, visitor: V) -> Result<V::Value, Unsupported> {
        match self.slot {
            Slot::Inline | Slot::Item | Slot::Flow if self.at_byte() == Some(b'[') => {
                self.r.pos += 1;
                let value = visitor.visit_seq(FlowSeq { r: self.r, first: true })?;
                self.finish_flow()?;
                Ok(value)
            }
            Slot::Block { indent } => match self.r.content_line()? {
                Some(line) if line.indent >= indent && self.r.is_item(line) => {
                    visitor.visit_seq(BlockSeq { r: self.r, indent: line.indent })
                }
                _ => Err(self.unsupported("a null or mapping where a sequence was expected")),
            },
            _ => Err(self.unsupported("a scalar where a sequence was expected")),
        }
    }

    fn deserialize_map<V: Visitor<'a>>(mut self, visitor: V) -> Result<V::Value, Unsupported> {
        match self.slot {
            Slot::Inline | Slot::Item | Slot::Flow if self.at_byte() == Some(b'{') => {
                self.r.pos += 1;
                let value = visitor.visit_map(FlowMap { r: self.r, first: true, keys: Keys::default() })?;
                self.finish_flow()?;
                Ok(value)
            }
            Slot::Item if self.r.at_key() => {
                let indent = self.r.column();
                visitor.visit_map(BlockMap::new(self.r, indent, true))
            }
            Slot::Block { indent } => match self.r.content_line()? {
                Some(line) if line.indent > indent && !self.r.is_item(line) => {
                    visitor.visit_map(BlockMap::new(self.r, line.indent, false))
                }
                _ => Err(self.unsupported("a null or sequence where a mapping was expected")),
            },
            Slot::Root => match self.r.content_line()? {
                Some(line) if line.indent == 0 => visitor.visit_map(BlockMap::new(self.r, 0, false)),
                _ => Err(self.unsupported("a root that is not a block mapping")),
            },
            _ => Err(self.unsupported("a scalar where a mapping was expected")),
        }
    }

    fn deserialize_struct<V: Visitor<'a>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Unsupported> {
        self.deserialize_map(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'a>>(self, _: &'static str, visitor: V) -> Result<V::Value, Unsupported> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_unit_struct<V: Visitor<'a>>(self, _: &'static str, _: V) -> Result<V::Value, Unsupported> {
        Err(self.unsupported("a unit struct"))
    }

    fn deserialize_tuple<V: Visitor<'a>>(self, _: usize, _: V) -> Result<V::Value, Unsupported> {
        Err(self.unsupported("a tuple"))
    }

    fn deserialize_tuple_struct<V: Visitor<'a>>(
        self,
        _: &'static str,
        _: usize,
        _: V,
    ) -> Result<V::Value, Unsupported> {
        Err(self.unsupported("a tuple struct"))
    }

    fn deserialize_enum<V: Visitor<'a>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Unsupported> {
        Err(self.unsupported("an enum"))
    }

    unsupported! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64 deserialize_char deserialize_bytes deserialize_byte_buf
        deserialize_unit deserialize_identifier deserialize_ignored_any
    }
}

/// The keys of one mapping so far, to refuse a duplicate as serde-saphyr does. No struct of
/// the format has more fields than this; a mapping with more keys is not in the subset.
#[derive(Default)]
struct Keys<'a> {
    seen: [&'a str; 24],
    len: usize,
}

impl<'a> Keys<'a> {
    fn add(&mut self, key: &'a str, at: usize) -> Result<(), Unsupported> {
        if self.seen[..self.len].contains(&key) || self.len == self.seen.len() {
            return Err(Unsupported::at("a duplicate key", at));
        }
        self.seen[self.len] = key;
        self.len += 1;
        Ok(())
    }
}

/// A mapping key, as the derived field visitors take it.
struct Key<'a>(&'a str);

impl<'de> serde::Deserializer<'de> for Key<'de> {
    type Error = Unsupported;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Unsupported> {
        visitor.visit_borrowed_str(self.0)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
        unit unit_struct newtype_struct seq tuple tuple_struct map struct enum identifier ignored_any
    }
}

/// `key: value` lines at one indent.
struct BlockMap<'r, 'a> {
    r: &'r mut Reader<'a>,
    indent: usize,
    /// The first key is at the cursor, after `- ` (a compact mapping).
    first_inline: bool,
    keys: Keys<'a>,
    value: Slot,
}

impl<'r, 'a> BlockMap<'r, 'a> {
    fn new(r: &'r mut Reader<'a>, indent: usize, first_inline: bool) -> BlockMap<'r, 'a> {
        BlockMap { r, indent, first_inline, keys: Keys::default(), value: Slot::Inline }
    }
}

impl<'a> MapAccess<'a> for BlockMap<'_, 'a> {
    type Error = Unsupported;

    fn next_key_seed<K: DeserializeSeed<'a>>(&mut self, seed: K) -> Result<Option<K::Value>, Unsupported> {
        if self.first_inline {
            self.first_inline = false;
        } else {
            match self.r.content_line()? {
                None => return Ok(None),
                Some(line) if line.indent < self.indent => return Ok(None),
                Some(line) if line.indent > self.indent || self.r.is_item(line) => {
                    return Err(Unsupported::at("a line that continues a value, or an item among keys", line.at));
                }
                Some(line) => self.r.pos = line.at,
            }
        }
        let at = self.r.pos;
        let key = self.r.key()?;
        self.keys.add(key, at)?;
        self.r.pos = self.r.skip_spaces(self.r.pos);
        self.value = match self.r.bytes().get(self.r.pos) {
            None | Some(b'\n' | b'#') => {
                self.r.end_line()?;
                Slot::Block { indent: self.indent }
            }
            Some(_) => Slot::Inline,
        };
        seed.deserialize(Key(key)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'a>>(&mut self, seed: V) -> Result<V::Value, Unsupported> {
        seed.deserialize(Value { r: self.r, slot: self.value })
    }
}

/// `- item` lines at one indent.
struct BlockSeq<'r, 'a> {
    r: &'r mut Reader<'a>,
    indent: usize,
}

impl<'a> SeqAccess<'a> for BlockSeq<'_, 'a> {
    type Error = Unsupported;

    fn next_element_seed<T: DeserializeSeed<'a>>(&mut self, seed: T) -> Result<Option<T::Value>, Unsupported> {
        let line = match self.r.content_line()? {
            Some(line) if line.indent == self.indent && self.r.is_item(line) => line,
            Some(line) if line.indent > self.indent => {
                return Err(Unsupported::at("a line that continues an item", line.at));
            }
            // A shallower line, or a key at the indent of a sequence that is a key's value.
            _ => return Ok(None),
        };
        self.r.pos = self.r.skip_spaces(line.at + 1);
        if matches!(self.r.bytes().get(self.r.pos), None | Some(b'\n' | b'#')) {
            return Err(Unsupported::at("an empty item, or one whose node starts on the next line", line.at));
        }
        seed.deserialize(Value { r: self.r, slot: Slot::Item }).map(Some)
    }
}

/// Moves the cursor past the `,` between two entries of a flow collection, or past its
/// `close`ing bracket (then `false`).
fn flow_next(r: &mut Reader, first: bool, close: u8) -> Result<bool, Unsupported> {
    let b = r.bytes();
    r.pos = r.skip_spaces(r.pos);
    match b.get(r.pos) {
        Some(&c) if c == close => {
            r.pos += 1;
            return Ok(false);
        }
        Some(b',') if !first => r.pos = r.skip_spaces(r.pos + 1),
        _ if first => {}
        _ => return Err(Unsupported::at("a flow collection over several lines, or with a comment", r.pos)),
    }
    match b.get(r.pos) {
        None | Some(b'\n' | b'#' | b',' | b']' | b'}') => {
            Err(Unsupported::at("an empty entry in a flow collection, or one over several lines", r.pos))
        }
        Some(_) => Ok(true),
    }
}

/// `[a, b]` on one line; the cursor starts after `[`.
struct FlowSeq<'r, 'a> {
    r: &'r mut Reader<'a>,
    first: bool,
}

impl<'a> SeqAccess<'a> for FlowSeq<'_, 'a> {
    type Error = Unsupported;

    fn next_element_seed<T: DeserializeSeed<'a>>(&mut self, seed: T) -> Result<Option<T::Value>, Unsupported> {
        if !flow_next(self.r, std::mem::replace(&mut self.first, false), b']')? {
            return Ok(None);
        }
        seed.deserialize(Value { r: self.r, slot: Slot::Flow }).map(Some)
    }
}

/// `{k: v, k: v}` on one line; the cursor starts after `{`.
struct FlowMap<'r, 'a> {
    r: &'r mut Reader<'a>,
    first: bool,
    keys: Keys<'a>,
}

impl<'a> MapAccess<'a> for FlowMap<'_, 'a> {
    type Error = Unsupported;

    fn next_key_seed<K: DeserializeSeed<'a>>(&mut self, seed: K) -> Result<Option<K::Value>, Unsupported> {
        if !flow_next(self.r, std::mem::replace(&mut self.first, false), b'}')? {
            return Ok(None);
        }
        let at = self.r.pos;
        let key = self.r.key()?;
        self.keys.add(key, at)?;
        self.r.pos = self.r.skip_spaces(self.r.pos);
        if matches!(self.r.bytes().get(self.r.pos), None | Some(b'\n' | b'#' | b',' | b'}' | b']')) {
            return Err(Unsupported::at("an empty value in a flow mapping", self.r.pos));
        }
        seed.deserialize(Key(key)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'a>>(&mut self, seed: V) -> Result<V::Value, Unsupported> {
        seed.deserialize(Value { r: self.r, slot: Slot::Flow })
    }
}
