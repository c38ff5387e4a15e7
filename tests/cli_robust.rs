//! The `lvsync` binary on the machine's own kernel, which has no IPVS: what must hold before
//! the kernel is reached. Read-only commands never wait for the lock a running `watch` holds;
//! `apply` still does. No command panics (exit 101) on a full or closed standard output or on
//! an out-of-range `--resync-interval`.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use lvsync::inventory::StateDir;

fn lvsync(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_lvsync"));
    cmd.args(args).env("NO_COLOR", "1").current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn no_panic(out: &Output) {
    assert_ne!(out.status.code(), Some(101), "panicked:\n{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("panicked"), "{}", text(&out.stderr));
}

/// `plan`, `export` and `validate` with the lock held (as `watch` holds it): none of them waits
/// or mentions the lock. On this kernel plan and export then stop at the missing IPVS, which
/// shows they got past the state directory at once.
#[test]
fn read_only_commands_do_not_wait_for_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let held = StateDir::lock(&state, Duration::ZERO).unwrap();
    let state = state.to_str().unwrap();
    for args in [
        &["plan", "examples/seed-dr.yaml", "--state-dir", state][..],
        &["export", "--state-dir", state],
        &["validate", "examples/seed-dr.yaml"],
    ] {
        let started = Instant::now();
        let out = lvsync(args).output().unwrap();
        let took = started.elapsed();
        let err = text(&out.stderr);
        assert!(took < Duration::from_secs(3), "lvsync {args:?} waited {took:?}: {err}");
        assert!(!err.contains("lock"), "lvsync {args:?}: {err}");
        no_panic(&out);
        if args[0] == "validate" {
            assert_eq!(out.status.code(), Some(0), "{err}");
        } else {
            assert!(err.contains("IPVS") || err.contains("ip_vs"), "lvsync {args:?}: {err}");
        }
    }
    drop(held);
}

#[test]
fn apply_still_waits_for_the_lock_then_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let held = StateDir::lock(dir.path(), Duration::ZERO).unwrap();
    let started = Instant::now();
    let out =
        lvsync(&["apply", "examples/seed-dr.yaml", "--state-dir", dir.path().to_str().unwrap()]).output().unwrap();
    let waited = started.elapsed();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.starts_with("error: another lvsync holds the lock"), "{err}");
    assert!(err.contains(&dir.path().join("lock").display().to_string()), "{err}");
    assert!(waited >= Duration::from_secs(5), "it should wait first, waited {waited:?}");
    drop(held);
}

/// `apply` parses the file while it takes the lock and reads the kernel, and a bad file is still
/// what it reports: at once, not after the lock's wait, with the lock held by another lvsync
/// (as `watch` holds it) or not (then the kernel, which has no IPVS here, is not what it names);
/// and a state directory that did not exist is not created for it.
#[test]
fn apply_reports_a_bad_file_first_without_waiting_for_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    let file = "version: 1\nservices:\n  - name: web\n    protocol: tcp\n    vip: 10.0.0.1\n    port: 80\n    scheduler: nope\n";
    std::fs::write(&bad, file).unwrap();
    let bad = bad.to_str().unwrap();
    let apply = |state_dir: &Path, case: &str| {
        let started = Instant::now();
        let out = lvsync(&["apply", bad, "--state-dir", state_dir.to_str().unwrap()]).output().unwrap();
        let took = started.elapsed();
        let err = text(&out.stderr);
        no_panic(&out);
        assert_eq!(out.status.code(), Some(1), "{case}: {err}");
        assert!(err.starts_with(&format!("error: {bad} is not a valid lvsync file")), "{case}: {err}");
        assert!(err.contains("nothing was changed") && err.contains("scheduler"), "{case}: {err}");
        assert!(!err.contains("lock") && !err.contains("IPVS"), "{case}: {err}");
        assert!(took < Duration::from_secs(3), "{case}: took {took:?}");
    };
    let state = dir.path().join("state");
    let held = StateDir::lock(&state, Duration::ZERO).unwrap();
    apply(&state, "lock held");
    drop(held);
    apply(&state, "lock free");
    let missing = dir.path().join("missing");
    apply(&missing, "no state directory");
    assert!(!missing.exists(), "a bad file created the state directory");
}

/// A read-only command never creates the state directory.
#[test]
fn plan_creates_no_state_directory() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let out = lvsync(&["plan", "examples/seed-dr.yaml", "--state-dir", state.to_str().unwrap()]).output().unwrap();
    no_panic(&out);
    assert!(!state.exists());
}

#[test]
fn a_state_directory_behind_a_symlink_is_refused_by_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real");
    std::fs::create_dir(&real).unwrap();
    let link = dir.path().join("state");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let out = lvsync(&["apply", "examples/seed-dr.yaml", "--state-dir", link.to_str().unwrap()]).output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.starts_with(&format!("error: refusing {}: it is a symbolic link", link.display())), "{err}");
    assert!(!real.join("lock").exists());
}

#[test]
fn a_huge_resync_interval_is_a_clear_error() {
    for value in ["18446744073709551615", "604801", "0"] {
        let out = lvsync(&["watch", "examples/seed-dr.yaml", "--resync-interval", value]).output().unwrap();
        no_panic(&out);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains(&format!("--resync-interval `{value}` is out of range")), "{err}");
        assert!(err.contains("between 1 and 604800 seconds"), "{err}");
    }
}

#[test]
fn a_full_stdout_is_an_error_not_a_panic() {
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let out = lvsync(&["schema"]).stdout(full).output().unwrap();
    no_panic(&out);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.starts_with("error: cannot write the output to standard output: No space left on device"), "{err}");
}

/// `lvsync validate ... | head -1`: the reader is gone before lvsync writes; validation's own
/// status stands (0 for valid files, 1 for an invalid one) and nothing panics.
#[test]
fn a_closed_stdout_keeps_the_commands_status() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "services: 7\n").unwrap();
    for (file, status) in [(Path::new("examples/seed-dr.yaml"), 0), (bad.as_path(), 1)] {
        for command in ["validate", "schema"] {
            let mut args = vec![command];
            if command == "validate" {
                args.push(file.to_str().unwrap());
            }
            let mut child = lvsync(&args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
            drop(child.stdout.take());
            let mut err = String::new();
            child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
            let code = child.wait().unwrap().code();
            assert!(!err.contains("panicked"), "{err}");
            let want = if command == "validate" { status } else { 0 };
            assert_eq!(code, Some(want), "lvsync {args:?}: {err}");
        }
    }
}
