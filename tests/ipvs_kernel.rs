//! The IPVS backend against a real kernel (User-Mode Linux), with ipvsadm as the independent
//! oracle both ways. One boot runs every scenario in turn, each starting from an empty table.

mod ipvs_support;

use std::collections::BTreeSet;

use ipvs_support::*;
use lvsync::backend::Backend;
use lvsync::inventory::Inventory;
use lvsync::ipvs::{Error, IpvsBackend};
use lvsync::lab::kernel;
use lvsync::plan::{Change, plan};
use lvsync::state::{Ownership, RealKey, ServiceKey, State};

fn observe(b: &mut IpvsBackend) -> State {
    let mut s = State::default();
    b.observe(&mut s).unwrap();
    s
}

fn reset() {
    sh("ipvsadm -C && ipvsadm --set 900 120 300");
}

#[test]
fn ipvs_backend_against_the_kernel_with_ipvsadm_as_oracle() {
    kernel::test_in_kernel("ipvs_backend_against_the_kernel_with_ipvsadm_as_oracle", scratch(), || {
        director_network();
        let mut b = IpvsBackend::connect().expect("IPVS in the kernel");
        lvsync_builds_what_ipvsadm_builds(&mut b);
        lvsync_reads_what_ipvsadm_built(&mut b);
        println!("ok: both directions agree");
    });
}

/// Apply the rich table with lvsync, then build it again with ipvsadm: `ipvsadm-save -n`
/// prints the same both times.
fn lvsync_builds_what_ipvsadm_builds(b: &mut IpvsBackend) {
    reset();
    let desired = rich_state();
    let changes = creations(&desired);
    let done = b.execute_ipvs(&changes).unwrap();
    assert_eq!(done.writes, changes.len());
    let by_lvsync = ipvsadm_save();
    println!("{}", by_lvsync.join("\n"));
    let timeouts_by_lvsync = sh("ipvsadm -L --timeout");
    reset();
    ipvsadm_build(RICH_IPVSADM);
    assert_eq!(by_lvsync, ipvsadm_save());
    assert_eq!(timeouts_by_lvsync, sh("ipvsadm -L --timeout"));
}

/// Build the rich table with ipvsadm; lvsync observes exactly the state it describes.
fn lvsync_reads_what_ipvsadm_built(b: &mut IpvsBackend) {
    reset();
    ipvsadm_build(RICH_IPVSADM);
    assert_eq!(observe(b), rich_state());
}
