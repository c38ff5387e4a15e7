//! The User-Mode Linux test harness, for integration tests only: a test re-runs its own binary
//! inside a fresh kernel (booted by `lvsync::lab::kernel`) and asserts there.
#![allow(dead_code)]

use std::path::Path;

use lvsync::lab::kernel::{Boot, Error, Outcome, boot};

/// The environment variable that tells a re-executed test binary it runs inside the kernel.
pub const INSIDE_ENV: &str = "LVSYNC_IN_UML";

/// True inside a test binary re-executed in the kernel by [`run_test`].
pub fn inside() -> bool {
    std::env::var_os(INSIDE_ENV).is_some()
}

/// For integration tests: re-run this test binary's test `name` inside a fresh kernel and return
/// what happened. Call it when [`inside`] is false; inside, run the test's body.
/// `scratch` is the test's directory on disk (`env!("CARGO_TARGET_TMPDIR")`).
pub fn run_test(name: &str, scratch: &Path) -> Result<Outcome, Error> {
    let exe = std::env::current_exe().map_err(Error::Spawn)?;
    let workdir = scratch.join(format!("uml-{name}-{}", std::process::id()));
    let spec = Boot::new(
        &workdir,
        [exe.into_os_string(), name.into(), "--exact".into(), "--nocapture".into(), "--test-threads=1".into()],
    )
    .env(INSIDE_ENV, "1")
    .env("RUST_BACKTRACE", "1");
    let outcome = boot(&spec)?;
    if outcome.status == 0 {
        let _ = std::fs::remove_dir_all(&workdir);
    }
    Ok(outcome)
}

/// The usual shape of a kernel test: run `body` inside the kernel, and on the host assert that
/// it passed, printing what it said.
pub fn test_in_kernel(name: &str, scratch: &Path, body: impl FnOnce()) {
    if inside() {
        body();
        return;
    }
    match run_test(name, scratch) {
        Ok(o) => {
            println!("{}", o.output);
            assert!(
                o.status == 0,
                "test {name} failed inside User-Mode Linux (status {}):\n{}\nconsole:\n{}",
                o.status,
                o.output,
                o.console
            );
            // A test run inside the kernel that ran no test would pass vacuously.
            assert!(o.output.contains("1 passed"), "test {name} did not run inside the kernel:\n{}", o.output);
        }
        Err(e) => panic!("{e}"),
    }
}
