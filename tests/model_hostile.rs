//! Hostile or broken input on the loading path: files that are not regular files, files too
//! large, text that is not UTF-8, values too long to echo, YAML tricks (aliases, tags, deep
//! nesting), and the scalar spellings the format accepts or refuses. Every refusal names the
//! path, the bad value and what would be valid.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use lvsync::model::{Diagnostic, MAX_FILE_BYTES, ReadError, load, read_file};
use lvsync::state::ServiceKey;

/// Runs `f` on a thread and fails the test if it does not return within `limit`: a read that
/// blocks must fail the test, not hang it.
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit).unwrap_or_else(|_| panic!("still running after {limit:?}: it blocked"))
}

fn mkfifo(path: &Path) {
    let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo {}", path.display());
}

/// The one problem of a refused text.
#[track_caller]
fn refused(text: &str) -> Diagnostic {
    match load(text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(d) => {
            assert_eq!(d.len(), 1, "{}", d.render("t.yaml"));
            d.0[0].clone()
        }
    }
}

#[track_caller]
fn says(d: &Diagnostic, words: &[&str]) {
    let line = format!("t.yaml{d}");
    for w in words {
        assert!(line.contains(w), "message lacks {w:?}: {line}");
    }
}

const HEAD: &str = "version: 1\nservices:\n  - name: web\n    vip: 192.168.2.110\n";

// ---------------------------------------------------------------- not a regular file

#[test]
fn a_fifo_is_refused_without_waiting_for_a_writer() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("director.yaml");
    mkfifo(&fifo);
    let path = fifo.clone();
    let err = within(Duration::from_secs(5), move || read_file(&path)).unwrap_err();
    assert!(matches!(err, ReadError::NotRegular { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains(fifo.to_str().unwrap()) && text.contains("FIFO") && text.contains("regular file"), "{text}");
}

#[test]
fn a_device_or_a_directory_is_refused() {
    let err = read_file(Path::new("/dev/zero")).unwrap_err();
    assert!(err.to_string().contains("/dev/zero is a character device, not a regular file"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let err = read_file(dir.path()).unwrap_err();
    assert!(err.to_string().contains("a directory, not a regular file"), "{err}");
}

/// Every command that reads the file refuses a FIFO at once, and `watch` exits instead of
/// hanging (before the fix it blocked in open(2), deaf to SIGTERM).
#[test]
fn every_command_refuses_a_fifo_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("director.yaml");
    mkfifo(&fifo);
    let state = dir.path().join("state");
    let fifo_arg = fifo.to_str().unwrap();
    for args in [vec!["validate", fifo_arg], vec!["plan", fifo_arg], vec!["apply", fifo_arg], vec!["watch", fifo_arg]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_lvsync"))
            .arg("--state-dir")
            .arg(&state)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if start.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                panic!("lvsync {args:?} still runs after 10 s: it blocked on the FIFO");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(status.code(), Some(1), "lvsync {args:?}: {stderr}");
        assert!(stderr.contains("FIFO") && stderr.contains(fifo_arg), "lvsync {args:?}: {stderr}");
    }
}

/// A running `watch` whose file is replaced by a FIFO: its re-read fails at once (the loop goes
/// on, and hears SIGTERM), it does not wait for a writer.
#[test]
fn watch_rereads_a_file_replaced_by_a_fifo_without_blocking() {
    use lvsync::watch::follow::{Check, Detector};
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("director.yaml");
    std::fs::write(&file, "version: 1\nservices: []\n").unwrap();
    let mut detector = Detector::default();
    assert!(matches!(detector.check(&file), Check::Changed(_)));
    std::fs::remove_file(&file).unwrap();
    mkfifo(&file);
    let check = within(Duration::from_secs(5), move || match detector.check(&file) {
        Check::Unreadable(e) => e.to_string(),
        _ => String::from("read"),
    });
    assert!(check.contains("FIFO") && check.contains("not a regular file"), "{check}");
}

// ---------------------------------------------------------------- size and encoding

#[test]
fn a_file_over_the_limit_is_refused_by_its_size_without_reading_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.yaml");
    // Sparse: no disk and no time, yet its size is over the limit.
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(MAX_FILE_BYTES + 1).unwrap();
    let start = Instant::now();
    let err = read_file(&path).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(2), "it read the file");
    let text = err.to_string();
    assert!(text.contains(&format!("{} bytes", MAX_FILE_BYTES + 1)), "{text}");
    assert!(text.contains(&format!("limit of {MAX_FILE_BYTES} bytes")) && text.contains("right file"), "{text}");
}

#[test]
fn a_file_that_is_not_utf8_gets_a_position() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latin1.yaml");
    std::fs::write(&path, b"version: 1\nservices:\n  - name: caf\xe9\n").unwrap();
    let text = read_file(&path).unwrap_err().to_string();
    assert!(text.contains(&format!("{}:3:14:", path.display())), "{text}");
    assert!(text.contains("0xe9") && text.contains("UTF-8"), "{text}");
}

#[test]
fn a_huge_value_is_cut_in_the_message() {
    let name = "x".repeat(1_000_000);
    let d = refused(&format!("{HEAD}    port: 80\n    scheduler: {name}\n"));
    says(&d, &["services[0].scheduler", "(1000000 characters)", "expected one of"]);
    assert!(d.message.len() < 600, "{} bytes", d.message.len());
    // A parse error about a huge key (too long to be a key, for YAML) is short too.
    let d = refused(&format!("{HEAD}    port: 80\n    {name}: 1\n"));
    assert!(d.message.len() < 1000, "{} bytes", d.message.len());
    // And one quoting a huge value of the wrong type.
    let d = refused(&format!("{HEAD}    port: {name}\n"));
    says(&d, &["services[0].port", "whole number", "(1000000 characters)"]);
    assert!(d.message.len() < 1000, "{} bytes", d.message.len());
}

#[test]
fn a_number_too_large_to_read_is_named_as_such() {
    let d = refused(&format!("{HEAD}    port: 99999999999999999999999\n"));
    says(&d, &["services[0].port", "far too large", "docs/file-format.md", "`99999999999999999999999`"]);
    // A word where a number belongs is not "too large".
    let d = refused(&format!("{HEAD}    port: http\n"));
    says(&d, &["services[0].port", "expected a whole number here", "`http`"]);
}

/// An invalid file of every node wrong: every problem is found, each with its position, in one
/// pass that does not keep a map of the whole document.
#[test]
fn a_large_invalid_file_reports_every_problem_with_its_line() {
    let mut text = String::from("version: 1\nservices:\n");
    for i in 0..2000 {
        text.push_str(&format!("  - name: s{i}\n    vip: 10.3.0.{}\n    port: 80\n    scheduler: nope\n", i % 250));
    }
    let d = load(&text).unwrap_err();
    assert!(d.len() >= 2000, "{}", d.len());
    let last = d.iter().rfind(|d| d.path == "services[1999].scheduler").unwrap();
    assert_eq!(last.line, Some(3 + 1999 * 4 + 3));
}

// ---------------------------------------------------------------- YAML tricks

#[test]
fn a_self_referencing_alias_is_refused_by_name() {
    let d = refused("version: 1\nservices: &all\n  - name: web\n    fwmark: 1\n    real_servers: *all\n");
    says(&d, &["`*all`"]);
    assert!(!d.message.ends_with("(used"), "{}", d.message);
}

#[test]
fn an_unknown_anchor_is_named() {
    let d = refused(&format!("{HEAD}    port: *http\n"));
    says(&d, &[":5:", "services[0].port", "`*http`", "`&http`"]);
}

/// A pool of real servers shared by many services through an alias is honest, however many
/// aliases there are; what aliases copy in all is bounded (an alias bomb).
#[test]
fn aliases_are_bounded_by_what_they_copy_not_by_their_number() {
    let shared = |services: usize, reals: usize| {
        let mut text = String::from("version: 1\nservices:\n  - name: s0\n    fwmark: 1\n    real_servers: &pool\n");
        for r in 0..reals {
            text.push_str(&format!("      - {{address: 10.0.{}.{}}}\n", r / 250, r % 250 + 1));
        }
        for i in 1..services {
            text.push_str(&format!("  - name: s{i}\n    fwmark: {}\n    real_servers: *pool\n", i + 1));
        }
        text
    };
    // 2,000 aliases of one anchor.
    let config = load(&shared(2000, 8)).unwrap_or_else(|d| panic!("{}", d.render("t.yaml")));
    assert_eq!(config.services[1999].service.reals.len(), 8);
    // 3,000 copies of 100 real servers: 1.2 million events from a file of 100 KB.
    let d = refused(&shared(3000, 100));
    says(&d, &["aliases", "1000000", "alias bombs", "write the values out"]);
}

/// Nesting far deeper than the format is refused at once, without deep recursion.
#[test]
fn deep_nesting_is_refused() {
    let text = format!("version: 1\nservices: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    let start = Instant::now();
    let d = refused(&text);
    assert_eq!(d.line, Some(2), "{d:?}");
    assert!(start.elapsed() < Duration::from_secs(5));
}

// ---------------------------------------------------------------- scalars

#[test]
fn a_leading_zero_is_refused_with_what_to_write() {
    let d = refused(&format!("{HEAD}    port: 010\n"));
    says(&d, &["services[0].port", "`010`", "`10`"]);
}

#[test]
fn a_string_tag_on_a_number_is_refused_with_what_to_write() {
    let d = refused(&format!("{HEAD}    port: !!str 80\n"));
    says(&d, &["services[0].port", "`!!str 80`", "`80`"]);
}

#[test]
fn an_unknown_tag_is_refused() {
    let d = refused(&format!("{HEAD}    port: !port 80\n"));
    says(&d, &["services[0].port", "`!port`", "remove it"]);
}

/// What docs/file-format.md promises for numbers: every spelling with one meaning is accepted
/// (decimal, `0x` hex, `0o` octal, a sign, `_` between digits, a quoted number); `010`, which
/// YAML 1.1 tools read as 8 and YAML 1.2 tools as 10, is refused.
#[test]
fn number_spellings_with_one_meaning_are_accepted() {
    for (spelling, port) in
        [("80", 80), ("\"80\"", 80), ("0x50", 80), ("0o120", 80), ("+80", 80), ("8_0", 80), ("0b1010000", 80)]
    {
        let config = load(&format!("{HEAD}    port: {spelling}\n"))
            .unwrap_or_else(|d| panic!("{spelling}: {}", d.render("t.yaml")));
        assert!(matches!(config.services[0].key, ServiceKey::Addr { port: p, .. } if p == port), "{spelling}");
    }
    // Floats are not integers.
    let d = refused(&format!("{HEAD}    port: 80.0\n"));
    says(&d, &["services[0].port"]);
}

/// The message once ended in "(used" : serde-saphyr's " (used at line N, column M)" was cut as
/// if it were the position suffix.
#[test]
fn no_message_is_cut_mid_sentence() {
    let d = refused(&format!("{HEAD}    scheduler: &s wrr\n    port: *s\n"));
    assert!(!d.message.trim_end().ends_with("(used"), "{}", d.message);
    says(&d, &[":6:", "services[0].port", "whole number", "`*s`", "defined at line 5"]);
}

#[test]
fn a_rule_mixing_families_names_both_values() {
    let text = "version: 1\nservices: []\nfirewall:\n  - name: mix\n    action: accept\n    destination: 10.0.0.1\n    sources: [2001:db8::/32]\n";
    let d = refused(text);
    says(&d, &["firewall[0].sources[0]", "`10.0.0.1`", "`2001:db8::/32`", "IPv4", "IPv6", "split"]);
}
