//! The command line around `ha`, without a kernel: this director is picked by `--node` (an
//! unknown one is refused before anything is touched), and `validate` warns about `ha` without
//! `ipvs.sync`.

use std::process::Command;

const LVSYNC: &str = env!("CARGO_BIN_EXE_lvsync");

fn seed() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/seed-ha.yaml")).unwrap()
}

fn write(name: &str, text: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

#[test]
fn an_unknown_node_is_refused_naming_the_nodes_and_nothing_is_changed() {
    let f = write("seed-ha.yaml", &seed());
    let state = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-ha-state");
    let out = Command::new(LVSYNC)
        .args(["plan", &f, "--node", "lb3", "--state-dir", state.to_str().unwrap()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("this director is `lb3` (from `--node` or the hostname), which is not one of ha.nodes: `lb1`, `lb2`; pass `--node NAME`"),
        "{stderr}"
    );
    assert!(stderr.contains("nothing was changed"), "{stderr}");
}

#[test]
fn validate_warns_about_ha_without_ipvs_sync() {
    let with = write("with-sync.yaml", &seed());
    let out = Command::new(LVSYNC).args(["validate", &with]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("warning"), "{}", String::from_utf8_lossy(&out.stderr));
    let without = write("without-sync.yaml", &seed().replace("ipvs:\n  sync:\n    interface: eth0\n    id: 51\n", ""));
    let out = Command::new(LVSYNC).args(["validate", &without]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("warning: `ha` without `ipvs.sync`"), "{stderr}");
}

#[test]
fn a_real_server_is_no_node_of_ha_and_is_not_asked_to_be_one() {
    // Read-only: a real server's plan reads this host's addresses and sysctls, changes nothing.
    let f = write("seed-ha-rs.yaml", &seed());
    let state = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cli-ha-rs-state");
    let out = Command::new(LVSYNC)
        .args(["--role", "real-server", "--address", "192.168.2.106", "plan", &f])
        .args(["--node", "not-a-director", "--state-dir", state.to_str().unwrap()])
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    assert!(!stderr.contains("ha.nodes"), "{stderr}");
    assert!(stdout.contains("192.168.2.110/32 on lo"), "{stdout}");
}
