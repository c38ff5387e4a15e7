//! The host sections of the file, `director` and `ipvs.sysctls`: what they resolve to, the
//! defaults, and every way to get them wrong, with the YAML path, the line and the bad value.

use lvsync::model::{Config, Diagnostic, DirectorSpec, IpvsSysctls, export, load};

#[track_caller]
fn accepted(text: &str) -> Config {
    load(text).unwrap_or_else(|d| panic!("refused:\n{}\n{text}", d.render("t.yaml")))
}

/// Refused with exactly one problem, at `path` on `line`, whose message holds `words`.
#[track_caller]
fn refused(text: &str, path: &str, line: usize, words: &[&str]) -> Diagnostic {
    let d = match load(text) {
        Ok(_) => panic!("accepted, expected an error at {path}:\n{text}"),
        Err(d) => d,
    };
    let rendered = d.render("t.yaml");
    assert_eq!(d.len(), 1, "expected exactly one problem, got:\n{rendered}");
    let e = d.0[0].clone();
    assert_eq!(e.path, path, "{rendered}");
    assert_eq!(e.line, Some(line), "{rendered}");
    for w in words {
        assert!(e.message.contains(w), "message lacks {w:?}: {rendered}");
    }
    e
}

const DR: &str =
    "services:\n  - name: web\n    vip: 192.168.2.110\n    port: 80\n    real_servers: [{address: 192.168.2.106}]\n";
const NAT: &str = "services:\n  - name: web\n    vip: 192.168.2.110\n    port: 80\n    forward: nat\n    real_servers: [{address: 10.0.0.2}]\n";

#[test]
fn a_file_without_host_sections_means_what_it_meant_before() {
    let c = accepted(&format!("version: 1\n{NAT}"));
    assert_eq!(c.director, None, "no director section: no address, no forwarding");
    assert_eq!(c.ipvs_sysctls, IpvsSysctls::default());
    assert!(c.ipvs_sysctls.entries().is_empty());
}

#[test]
fn every_sysctl_resolves_to_its_proc_sys_value() {
    let c = accepted(&format!(
        "version: 1\nipvs:\n  sysctls:\n    conntrack: true\n    expire_nodest_conn: true\n    expire_quiescent_template: false\n    conn_reuse_mode: 2\n    sloppy_tcp: false\n    sloppy_sctp: true\n    schedule_icmp: true\n{DR}"
    ));
    let entries = c.ipvs_sysctls.entries();
    let entries: Vec<(&str, &str)> = entries.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        entries,
        vec![
            ("conn_reuse_mode", "2"),
            ("conntrack", "1"),
            ("expire_nodest_conn", "1"),
            ("expire_quiescent_template", "0"),
            ("schedule_icmp", "1"),
            ("sloppy_sctp", "1"),
            ("sloppy_tcp", "0"),
        ]
    );
}

#[test]
fn only_the_sysctls_given_are_enforced() {
    let c = accepted(&format!(
        "version: 1\nipvs:\n  timeouts: {{tcp: 900}}\n  sysctls: {{expire_nodest_conn: true}}\n{DR}"
    ));
    assert_eq!(c.ipvs_sysctls, IpvsSysctls { expire_nodest_conn: Some(true), ..Default::default() });
    assert_eq!(c.timeouts.tcp, Some(900));
}

#[test]
fn forwarding_defaults_to_true_only_with_a_nat_service() {
    let c = accepted(&format!("version: 1\ndirector: {{interface: eth0}}\n{NAT}"));
    assert_eq!(c.director, Some(DirectorSpec { interface: Some("eth0".into()), forwarding: Some(true) }));
    let c = accepted(&format!("version: 1\ndirector: {{interface: eth0}}\n{DR}"));
    assert_eq!(c.director, Some(DirectorSpec { interface: Some("eth0".into()), forwarding: None }));
    let c = accepted(&format!("version: 1\ndirector: {{forwarding: false}}\n{DR}"));
    assert_eq!(c.director, Some(DirectorSpec { interface: None, forwarding: Some(false) }));
}

#[test]
fn forwarding_false_with_a_nat_service_is_refused() {
    refused(
        &format!("version: 1\ndirector:\n  interface: eth0\n  forwarding: false\n{NAT}"),
        "director.forwarding",
        4,
        &["`false`", "service `web` forwards by nat", "`true`"],
    );
}

#[test]
fn a_bad_interface_name_is_refused_with_what_is_valid() {
    for bad in ["eth0/1", "a-very-long-interface0", "eth0:1", "\"\""] {
        let shown = bad.trim_matches('"');
        refused(
            &format!("version: 1\ndirector:\n  interface: {bad}\n{DR}"),
            "director.interface",
            3,
            &[&format!("`{shown}` is not a valid interface name"), "1 to 15 characters"],
        );
    }
    accepted(&format!("version: 1\ndirector: {{interface: bond0.100}}\n{DR}"));
}

#[test]
fn conn_reuse_mode_out_of_range_is_refused() {
    refused(
        &format!("version: 1\nipvs:\n  sysctls:\n    conn_reuse_mode: 4\n{DR}"),
        "ipvs.sysctls.conn_reuse_mode",
        4,
        &["`4`", "conn_reuse_mode", "0..=3"],
    );
}

#[test]
fn unknown_keys_in_host_sections_are_refused() {
    refused(
        &format!("version: 1\ndirector:\n  interfaces: eth0\n{DR}"),
        "director.interfaces",
        3,
        &["unknown key `interfaces`"],
    );
    refused(
        &format!("version: 1\nipvs:\n  sysctls:\n    expire_nodest: true\n{DR}"),
        "ipvs.sysctls.expire_nodest",
        4,
        &["unknown key `expire_nodest`"],
    );
}

#[test]
fn a_sysctl_that_is_not_a_boolean_is_refused() {
    let d = refused(
        &format!("version: 1\nipvs:\n  sysctls:\n    conntrack: yes\n{DR}"),
        "ipvs.sysctls.conntrack",
        4,
        &["yes"],
    );
    assert!(d.column.is_some());
}

#[test]
fn the_full_example_declares_the_host_sections() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/full.yaml")).unwrap();
    let c = accepted(&text);
    assert_eq!(c.director, Some(DirectorSpec { interface: Some("eth0".into()), forwarding: Some(true) }));
    assert_eq!(c.ipvs_sysctls.conn_reuse_mode, Some(1));
    assert_eq!(c.ipvs_sysctls.expire_nodest_conn, Some(true));
}

#[test]
fn export_of_a_kernel_state_still_loads() {
    // The export writes no host sections (they come from the file, not the IPVS table).
    let c = accepted(&format!("version: 1\n{DR}"));
    let text = export(&c.state());
    assert!(!text.contains("director") && !text.contains("sysctls"), "{text}");
    accepted(&text);
}
