//! Every rule of the file format, each broken the way a new user would break it: the error
//! names the YAML path, the line, the bad value and what would be valid.

use lvsync::model::{Diagnostic, load};

/// Test files are written indented in the source; strip the common indentation.
fn yaml(text: &str) -> String {
    let text = text.strip_prefix('\n').unwrap_or(text);
    let indent =
        text.lines().filter(|l| !l.trim().is_empty()).map(|l| l.len() - l.trim_start().len()).min().unwrap_or(0);
    text.lines().map(|l| if l.len() >= indent { &l[indent..] } else { l.trim_start() }).collect::<Vec<_>>().join("\n")
        + "\n"
}

/// The file is refused with exactly one problem, at `path` on `line`, whose message holds `words`.
#[track_caller]
fn refused(text: &str, path: &str, line: usize, words: &[&str]) -> Diagnostic {
    let text = yaml(text);
    let d = match load(&text) {
        Ok(_) => panic!("accepted, expected an error at {path}:\n{text}"),
        Err(d) => d,
    };
    let rendered = d.render("t.yaml");
    assert_eq!(d.len(), 1, "expected exactly one problem, got:\n{rendered}");
    let e = &d.0[0];
    assert_eq!(e.path, path, "{rendered}");
    assert_eq!(e.line, Some(line), "{rendered}");
    assert!(e.column.is_some_and(|c| c >= 1), "{rendered}");
    for w in words {
        assert!(e.message.contains(w), "message lacks {w:?}: {rendered}");
    }
    e.clone()
}

#[track_caller]
fn accepted(text: &str) -> lvsync::model::Config {
    let text = yaml(text);
    load(&text).unwrap_or_else(|d| panic!("refused:\n{}\n{text}", d.render("t.yaml")))
}

mod attributes;
mod firewall;
mod identity;
mod never_panics;
mod parse;
mod reals;
mod scale;
mod whole_file;
