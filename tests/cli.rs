//! The command line as users and scripts meet it: exit codes, where output goes, and the first
//! line of every error. Kernel-backed commands are tested in tests/ipvs_*.rs inside UML.

use std::process::{Command, Output};

fn lvsync(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lvsync"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("run lvsync")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn validate_accepts_every_example_and_exits_0() {
    let examples: Vec<String> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| p.display().to_string())
        .collect();
    assert!(examples.len() >= 4);
    let args: Vec<&str> = std::iter::once("validate").chain(examples.iter().map(String::as_str)).collect();
    let out = lvsync(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).lines().count(), examples.len());
    assert!(text(&out.stdout).contains("seed-dr.yaml: valid (1 service, 2 real servers"));
}

#[test]
fn validate_reports_every_problem_with_its_line_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.yaml");
    std::fs::write(
        &file,
        "version: 1\nservices:\n  - name: web\n    vip: 192.168.2.110\n    port: 80\n    scheduler: roundrobin\n    real_servers:\n      - address: 192.168.2.106\n        weight: -3\n",
    )
    .unwrap();
    let out = lvsync(&["validate", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.lines().next().unwrap().contains("bad.yaml: invalid"), "{err}");
    assert!(err.contains("bad.yaml:6:"), "scheduler error with its line: {err}");
    assert!(err.contains("roundrobin"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_missing_file_is_one_clear_error() {
    let out = lvsync(&["validate", "no/such/file.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).starts_with("error: cannot read no/such/file.yaml"), "{}", text(&out.stderr));
}

#[test]
fn an_invalid_file_changes_nothing_in_plan_and_apply() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.yaml");
    std::fs::write(&file, "version: 2\n").unwrap();
    let state = dir.path().join("state");
    for cmd in ["plan", "apply"] {
        let out = lvsync(&[cmd, file.to_str().unwrap(), "--state-dir", state.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{cmd}");
        let err = text(&out.stderr);
        assert!(err.starts_with("error: ") && err.lines().next().unwrap().contains("nothing was changed"), "{err}");
        // Refused before the state directory is even locked.
        assert!(!state.exists(), "{cmd} touched the state directory");
    }
}

#[test]
fn schema_prints_the_committed_schema() {
    let out = lvsync(&["schema"]);
    assert!(out.status.success());
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema/lvsync.schema.json")).unwrap();
    assert_eq!(text(&out.stdout), committed);
}

#[test]
fn usage_errors_exit_1_not_2_so_detailed_exitcode_keeps_its_meaning() {
    let out = lvsync(&["plan", "--no-such-flag", "x.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    let out = lvsync(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).starts_with("lvsync "));
    let out = lvsync(&["--help"]);
    assert!(out.status.success());
    assert!(text(&out.stdout).contains("lvsync plan FILE"));
}

/// The host kernel of the project's machines has no IPVS: plan must say so and what to do.
#[test]
fn plan_without_ipvs_in_the_kernel_says_to_load_it() {
    if std::path::Path::new("/proc/net/ip_vs").exists() {
        panic!("this test expects a kernel without IPVS (the host); it runs with IPVS in tests/ipvs_*.rs");
    }
    let dir = tempfile::tempdir().unwrap();
    let out = lvsync(&["plan", "examples/seed-dr.yaml", "--state-dir", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("modprobe ip_vs") || err.contains("IPVS"), "{err}");
}

#[test]
fn a_second_lvsync_on_the_same_state_dir_waits_then_fails_naming_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let held = lvsync::inventory::StateDir::lock(dir.path(), std::time::Duration::ZERO).unwrap();
    let start = std::time::Instant::now();
    let out = lvsync(&["apply", "examples/seed-dr.yaml", "--state-dir", dir.path().to_str().unwrap()]);
    let waited = start.elapsed();
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.starts_with("error: another lvsync holds the lock"), "{err}");
    assert!(err.contains(&dir.path().join("lock").display().to_string()), "{err}");
    assert!(waited >= std::time::Duration::from_secs(5), "it should wait briefly first, waited {waited:?}");
    drop(held);
}
