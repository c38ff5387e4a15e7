//! `lvsync diff OLD NEW`: the real binary, no kernel, no root. Exit 0 same, 2 different, 1
//! error; stdin for one side; health changes shown though the planner never sees them.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const OLD: &str = "\
version: 1
services:
  - name: web
    vip: 192.168.2.110
    port: 80
    scheduler: rr
    health: {check: http, interval: 2, timeout: 1, http: {path: /healthz}}
    real_servers:
      - {address: 192.168.2.106, weight: 1}
      - {address: 192.168.2.107, weight: 1}
  - name: old
    vip: 192.168.2.111
    port: 443
    real_servers:
      - {address: 192.168.2.106}
firewall:
  - {name: web-in, service: web, action: accept}
";

const NEW: &str = "\
version: 1
services:
  - name: web
    vip: 192.168.2.110
    port: 80
    scheduler: wrr
    health: {check: http, interval: 5, timeout: 1, http: {path: /healthz}}
    min_healthy: 1
    real_servers:
      - {address: 192.168.2.106, weight: 3}
      - {address: 192.168.2.107, weight: 1}
      - {address: 192.168.2.108, weight: 1}
firewall:
  - {name: web-in, service: web, action: accept, sources: [10.0.0.0/8]}
";

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Dir {
        Dir(tempfile::tempdir().unwrap())
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let p = self.0.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }
}

fn diff(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lvsync"))
        .arg("diff")
        .args(args)
        // A state directory that does not exist: diff never reads one.
        .args(["--state-dir", "/nonexistent/lvsync-state"])
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    // lvsync may refuse before it reads: a closed pipe is not the test's failure.
    let _ = input.write_all(stdin.unwrap_or("").as_bytes());
    drop(input);
    child.wait_with_output().unwrap()
}

fn expect(code: i32, args: &[&str], stdin: Option<&str>) -> (String, String) {
    let out = diff(args, stdin);
    let (o, e) = (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
    assert_eq!(out.status.code(), Some(code), "lvsync diff {args:?}\nstdout:\n{o}\nstderr:\n{e}");
    (o, e)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn a_change_is_shown_as_plan_lines_with_health_lines_and_exits_2() {
    let d = Dir::new();
    let (old, new) = (d.file("old.yaml", OLD), d.file("new.yaml", NEW));
    let (text, _) = expect(2, &[s(&old), s(&new)], None);
    for line in [
        "  ~ service web (tcp/192.168.2.110:80): scheduler rr -> wrr\n",
        "  ~ real server 192.168.2.106:80 of web: weight 1 -> 3\n",
        "  + real server 192.168.2.108:80 of web weight 1, forward dr\n",
        "  - service old (tcp/192.168.2.111:443) with its real server\n",
        "  ~ health of web: interval 2s -> 5s (real servers 192.168.2.106:80, 192.168.2.107:80)\n",
        "  + health of web: http, port 80, path /healthz",
        "(real server 192.168.2.108:80)\n",
        "  ~ health of web: min_healthy 0 -> 1\n",
        "Diff: 1 to create, 3 to update, 1 to delete; 3 settings changed.\n",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    // The firewall's rule diff, line by line, as `plan` shows it.
    assert!(text.contains("  ~ firewall chain ipv4/LVSYNC-INPUT\n"), "{text}");
    assert!(text.contains("      + -A LVSYNC-INPUT -s 10.0.0.0/8 -d 192.168.2.110/32"), "{text}");
    assert!(text.contains("      - -A LVSYNC-INPUT -d 192.168.2.110/32"), "{text}");
}

#[test]
fn the_same_file_exits_0_and_says_no_changes() {
    let d = Dir::new();
    let old = d.file("old.yaml", OLD);
    // Reformatting or a comment is not a change.
    let again = d.file("again.yaml", &format!("# reviewed\n{OLD}"));
    let (text, _) = expect(0, &[s(&old), s(&again)], None);
    assert_eq!(text, "No changes.\n");
    let (md, _) = expect(0, &[s(&old), s(&again), "--format", "markdown"], None);
    assert!(md.contains("**No changes.**") && !md.contains("```"), "{md}");
}

#[test]
fn a_health_only_change_is_a_difference() {
    let d = Dir::new();
    let old = d.file("old.yaml", OLD);
    let new = d.file("new.yaml", &OLD.replace("interval: 2", "interval: 2.5"));
    let (text, _) = expect(2, &[s(&old), s(&new)], None);
    assert_eq!(
        text,
        "  ~ health of web: interval 2s -> 2.5s (every real server)\n\nDiff: 0 to create, 0 to update, 0 to delete; 1 setting changed.\n"
    );
}

#[test]
fn either_side_may_be_stdin_but_not_both() {
    let d = Dir::new();
    let new = d.file("new.yaml", NEW);
    let (text, _) = expect(2, &["-", s(&new)], Some(OLD));
    assert!(text.contains("scheduler rr -> wrr"), "{text}");
    let old = d.file("old.yaml", OLD);
    let (text, _) = expect(2, &[s(&old), "-"], Some(NEW));
    assert!(text.contains("scheduler rr -> wrr"), "{text}");
    let (_, err) = expect(1, &["-", "-"], Some(OLD));
    assert!(err.contains("both `-`"), "{err}");
}

#[test]
fn an_invalid_file_names_its_side_and_exits_1() {
    let d = Dir::new();
    let old = d.file("old.yaml", OLD);
    let bad = d.file("bad.yaml", &NEW.replace("weight: 3", "weight: lots"));
    let (out, err) = expect(1, &[s(&old), s(&bad)], None);
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("NEW (") && err.contains("bad.yaml) is not a valid lvsync file"), "{err}");
    assert!(err.contains("`lots`"), "{err}");
    let (_, err) = expect(1, &["-", s(&old)], Some("services: [}"));
    assert!(err.contains("OLD (<stdin>) is not a valid lvsync file"), "{err}");
    let (_, err) = expect(1, &[s(&old), "/nonexistent/new.yaml"], None);
    assert!(err.contains("cannot read NEW file /nonexistent/new.yaml"), "{err}");
}

#[test]
fn markdown_puts_the_sign_in_the_first_column_of_a_diff_block() {
    let d = Dir::new();
    let (old, new) = (d.file("old.yaml", OLD), d.file("new.yaml", NEW));
    let (md, _) = expect(2, &[s(&old), s(&new), "--format", "markdown"], None);
    assert!(md.contains("**1 to create, 3 to update, 1 to delete; 3 settings changed.**\n"), "{md}");
    let block = md.split("```diff\n").nth(1).and_then(|b| b.split("```").next()).expect("a diff block");
    for line in block.lines() {
        assert!(line.starts_with(['+', '-', '!']), "a line without its sign in column 1: {line:?}\n{md}");
    }
    assert!(block.contains("! service web (tcp/192.168.2.110:80): scheduler rr -> wrr\n"), "{md}");
    assert!(block.contains("- service old (tcp/192.168.2.111:443) with its real server\n"), "{md}");
    assert!(block.contains("+     -A LVSYNC-INPUT -s 10.0.0.0/8 -d 192.168.2.110/32"), "{md}");
    assert!(block.contains("! health of web: min_healthy 0 -> 1\n"), "{md}");
}

#[test]
fn json_holds_the_plan_and_the_settings() {
    let d = Dir::new();
    let (old, new) = (d.file("old.yaml", OLD), d.file("new.yaml", NEW));
    let (out, _) = expect(2, &[s(&old), s(&new), "--format", "json"], None);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["format_version"], "1");
    assert_eq!(v["changed"], true);
    assert_eq!(v["plan"]["summary"], serde_json::json!({"create": 1, "update": 3, "delete": 1}));
    let interval = v["settings"].as_array().unwrap().iter().find(|s| s["setting"] == "interval").unwrap();
    assert_eq!(interval["kind"], "health");
    assert_eq!(interval["service"], "web");
    assert_eq!(interval["before"], "2s");
    assert_eq!(interval["after"], "5s");
}
