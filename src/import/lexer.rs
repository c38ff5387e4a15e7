//! keepalived.conf's syntax, as a tree: statements of a keyword and its words, one per line,
//! some followed by a `{ ... }` block of statements. Comments start at a `#` or `!` outside
//! quotes; a quoted string is one word. Nothing here knows what a keyword means.

use super::Skipped;

/// One statement: `keyword arg arg` on `line` (1-based), with its block if it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub keyword: String,
    pub args: Vec<String>,
    pub line: usize,
    pub block: Option<Vec<Node>>,
}

impl Node {
    /// The statement as written, for messages: `virtual_server 10.0.0.1 80`.
    pub fn text(&self) -> String {
        std::iter::once(self.keyword.as_str()).chain(self.args.iter().map(String::as_str)).collect::<Vec<_>>().join(" ")
    }

    pub fn children(&self) -> &[Node] {
        self.block.as_deref().unwrap_or(&[])
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Word(String),
    Open,
    Close,
    Newline,
}

/// Split the text into words, braces and line ends, with each token's line.
fn tokens(text: &str, problems: &mut Vec<Skipped>) -> Vec<(Token, usize)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        let mut chars = line.chars().peekable();
        while let Some(&c) = chars.peek() {
            match c {
                c if c.is_whitespace() => {
                    chars.next();
                }
                '#' | '!' => break,
                '{' => {
                    chars.next();
                    out.push((Token::Open, n));
                }
                '}' => {
                    chars.next();
                    out.push((Token::Close, n));
                }
                '"' => {
                    chars.next();
                    let mut word = String::new();
                    let mut closed = false;
                    for c in chars.by_ref() {
                        if c == '"' {
                            closed = true;
                            break;
                        }
                        word.push(c);
                    }
                    if !closed {
                        problems.push(Skipped::new(
                            n,
                            &word,
                            "the quoted string is not closed on its line; read up to the line's end",
                        ));
                    }
                    out.push((Token::Word(word), n));
                }
                _ => {
                    let mut word = String::new();
                    while let Some(&c) = chars.peek() {
                        if c.is_whitespace() || matches!(c, '{' | '}' | '"') {
                            break;
                        }
                        word.push(c);
                        chars.next();
                    }
                    out.push((Token::Word(word), n));
                }
            }
        }
        out.push((Token::Newline, n));
    }
    out
}

/// Parse keepalived.conf text into its statements. Problems of structure (a `}` too many, a
/// block left open, a brace with no keyword) are reported and parsing goes on.
pub fn parse(text: &str, problems: &mut Vec<Skipped>) -> Vec<Node> {
    let toks = tokens(text, problems);
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        out.extend(statements(&toks, &mut pos, problems, 0));
        match toks.get(pos) {
            Some((_, line)) => problems.push(Skipped::new(*line, "}", "this `}` closes no block; ignored")),
            None => return out,
        }
        pos += 1;
    }
}

/// Blocks nested deeper than this are skipped whole (keepalived.conf nests 4 levels: a
/// virtual server, a real server, a checker, a `url`): no input makes the parse recurse deeper.
const MAX_DEPTH: usize = 32;

/// Statements until a `}` of this level (left unconsumed) or the end.
fn statements(toks: &[(Token, usize)], pos: &mut usize, problems: &mut Vec<Skipped>, depth: usize) -> Vec<Node> {
    let mut out = Vec::new();
    while let Some((tok, line)) = toks.get(*pos) {
        match tok {
            Token::Newline => *pos += 1,
            Token::Close => return out,
            Token::Open => {
                problems.push(Skipped::new(*line, "{", "a block with no keyword before it; its content is ignored"));
                *pos += 1;
                let _ = block(toks, pos, problems, depth, *line);
            }
            Token::Word(keyword) => {
                let line = *line;
                let keyword = keyword.clone();
                *pos += 1;
                let mut args = Vec::new();
                while let Some((Token::Word(w), _)) = toks.get(*pos) {
                    args.push(w.clone());
                    *pos += 1;
                }
                // A block may open on the statement's line or on the next one.
                let mut look = *pos;
                while let Some((Token::Newline, _)) = toks.get(look) {
                    look += 1;
                }
                let opens_here = matches!(toks.get(*pos), Some((Token::Open, _)));
                let opens_next = look != *pos && matches!(toks.get(look), Some((Token::Open, _)));
                let block = if opens_here || opens_next {
                    *pos = look + 1;
                    Some(block(toks, pos, problems, depth, line))
                } else {
                    None
                };
                out.push(Node { keyword, args, line, block });
            }
        }
    }
    out
}

/// The statements of a block just opened (at `line`) and its `}`; past [`MAX_DEPTH`], the block
/// is skipped to its `}` without recursing, and said.
fn block(
    toks: &[(Token, usize)],
    pos: &mut usize,
    problems: &mut Vec<Skipped>,
    depth: usize,
    line: usize,
) -> Vec<Node> {
    if depth + 1 < MAX_DEPTH {
        let inner = statements(toks, pos, problems, depth + 1);
        close(toks, pos, line, problems);
        return inner;
    }
    problems.push(Skipped::new(
        line,
        "{",
        format!("blocks nest deeper than {MAX_DEPTH} levels here; this one is ignored"),
    ));
    let mut open = 0usize;
    while let Some((tok, _)) = toks.get(*pos) {
        match tok {
            Token::Open => open += 1,
            Token::Close if open == 0 => break,
            Token::Close => open -= 1,
            _ => {}
        }
        *pos += 1;
    }
    close(toks, pos, line, problems);
    Vec::new()
}

fn close(toks: &[(Token, usize)], pos: &mut usize, opened: usize, problems: &mut Vec<Skipped>) {
    if let Some((Token::Close, _)) = toks.get(*pos) {
        *pos += 1;
    } else {
        problems.push(Skipped::new(opened, "{", "this block is not closed before the end of the file"));
    }
}
