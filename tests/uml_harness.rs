//! The kernel harness itself: a command runs inside User-Mode Linux with IPVS loaded, and a
//! test body runs there as root of its own kernel.

mod uml_support;

use std::path::Path;

use lvsync::lab::kernel::{self, Boot};

fn scratch() -> &'static Path {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
}

#[test]
fn boot_runs_a_command_with_ipvs_loaded_and_reports_its_status() {
    let dir = scratch().join("harness-boot");
    let out = kernel::boot(&Boot::new(&dir, ["sh", "-c", "cat /proc/net/ip_vs && echo inside && exit 7"])).unwrap();
    assert_eq!(out.status, 7, "{out:?}");
    assert!(out.output.contains("IP Virtual Server version"), "{}", out.output);
    assert!(out.output.contains("inside"));
}

#[test]
fn a_test_body_runs_inside_the_kernel() {
    uml_support::test_in_kernel("a_test_body_runs_inside_the_kernel", scratch(), || {
        let ipvs = std::fs::read_to_string("/proc/net/ip_vs").expect("IPVS inside UML");
        assert!(ipvs.contains("IP Virtual Server"));
    });
}
