//! Shared by the CLI tests that run inside User-Mode Linux.

use std::path::Path;
use std::process::{Command, Output};

pub fn run(cmd: &str, args: &[&str]) -> Output {
    Command::new(cmd).args(args).output().unwrap_or_else(|e| panic!("{cmd}: {e}"))
}

/// `lvsync --state-dir STATE ARGS...` (the default `--iptables auto`, which picks legacy in User-Mode
/// Linux: it has no nf_tables), echoing what it printed.
pub fn lvsync(state: &Path, args: &[&str]) -> Output {
    let mut all = vec!["--state-dir", state.to_str().unwrap()];
    all.extend_from_slice(args);
    let out = run(env!("CARGO_BIN_EXE_lvsync"), &all);
    eprintln!(
        "$ lvsync {}\n{}{}",
        all.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The kernel refuses real servers it cannot route to: give the director the seed's subnet.
pub fn seed_subnet_on_a_dummy() {
    for args in [
        &["link", "add", "d0", "type", "dummy"][..],
        &["addr", "add", "192.168.2.1/24", "dev", "d0"],
        &["link", "set", "d0", "up"],
    ] {
        assert!(run("ip", args).status.success(), "ip {args:?}");
    }
}
