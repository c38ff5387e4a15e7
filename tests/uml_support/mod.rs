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

/// Run `cmd` with `sh -c` inside the kernel; it must succeed. Its standard output.
pub fn sh(cmd: &str) -> String {
    let out = std::process::Command::new("sh").args(["-c", cmd]).output().expect("sh");
    assert!(out.status.success(), "`{cmd}` failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A NAT director: `vip` on a dummy device, and one namespace per `(name, /24 prefix)` on a veth
/// (`d-NAME`, the director's side, holds PREFIX.1; the namespace's `eth0` PREFIX.2, routed
/// through the director).
pub fn star_network(vip: &str, spokes: &[(&str, &str)]) {
    sh(&format!(
        "sysctl -qw net.ipv4.ip_forward=1 && ip link add vip0 type dummy && ip link set vip0 up \
         && ip addr add {vip}/32 dev vip0"
    ));
    for (ns, net) in spokes {
        sh(&format!(
            "ip netns add {ns} && ip link add d-{ns} type veth peer name eth0 netns {ns} \
             && ip addr add {net}.1/24 dev d-{ns} && ip link set d-{ns} up \
             && ip netns exec {ns} ip link set lo up && ip netns exec {ns} ip link set eth0 up \
             && ip netns exec {ns} ip addr add {net}.2/24 dev eth0 \
             && ip netns exec {ns} ip route add default via {net}.1"
        ));
    }
}
