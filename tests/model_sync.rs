//! `ipvs.sync`: validation (path, line, the bad value, what is valid), defaults, and export
//! round trips.

use lvsync::model::{export, load};
use lvsync::state::{SyncDaemon, SyncRole};

fn file(sync: &str) -> String {
    format!(
        "version: 1\nipvs:\n  sync:\n{sync}services:\n  - name: web\n    vip: 192.168.2.110\n    port: 80\n    real_servers:\n      - address: 192.168.2.106\n"
    )
}

fn errors(text: &str) -> Vec<(String, Option<usize>, String)> {
    load(text).unwrap_err().0.into_iter().map(|d| (d.path, d.line, d.message)).collect()
}

#[test]
fn defaults_run_both_roles_with_id_zero_and_kernel_settings() {
    let c = load(&file("    interface: eth0\n")).unwrap();
    let want = SyncDaemon { interface: "eth0".into(), ..SyncDaemon::default() };
    let sync = c.sync.clone().unwrap();
    assert_eq!(sync.keys().copied().collect::<Vec<_>>(), vec![SyncRole::Master, SyncRole::Backup]);
    assert!(sync.values().all(|d| *d == want));
    assert_eq!(c.state().sync.unwrap().len(), 2);
}

#[test]
fn every_setting_is_resolved() {
    let c = load(&file(
        "    interface: eth1\n    id: 51\n    roles: [backup]\n    group: ff02::81\n    port: 9000\n    ttl: 2\n    maxlen: 1400\n",
    ))
    .unwrap();
    let sync = c.sync.unwrap();
    assert_eq!(sync.len(), 1);
    let d = &sync[&SyncRole::Backup];
    assert_eq!(d.interface, "eth1");
    assert_eq!((d.id, d.port, d.ttl, d.maxlen), (51, Some(9000), Some(2), Some(1400)));
    assert_eq!(d.group, Some("ff02::81".parse().unwrap()));
}

#[test]
fn without_ipvs_sync_the_file_does_not_manage_daemons() {
    let text = "version: 1\nservices: []\n";
    assert_eq!(load(text).unwrap().sync, None);
}

#[test]
fn bad_values_are_reported_with_path_line_value_and_what_is_valid() {
    let text = file(
        "    interface: a-very-long-interface\n    id: 256\n    roles: [master, slave, master]\n    group: 10.0.0.1\n    port: 0\n    ttl: 0\n",
    );
    let e = errors(&text);
    let find = |path: &str| e.iter().find(|(p, ..)| p == path).unwrap_or_else(|| panic!("no error at {path}: {e:?}"));
    let (_, line, msg) = find("ipvs.sync.interface");
    assert_eq!(*line, Some(4));
    assert!(msg.contains("`a-very-long-interface`") && msg.contains("1..=15"), "{msg}");
    let (_, line, msg) = find("ipvs.sync.id");
    assert_eq!(*line, Some(5));
    assert!(msg.contains("`256`") && msg.contains("0..=255"), "{msg}");
    let (_, _, msg) = find("ipvs.sync.roles[1]");
    assert!(msg.contains("`slave`") && msg.contains("`master`, `backup`"), "{msg}");
    let (_, _, msg) = find("ipvs.sync.roles[2]");
    assert!(msg.contains("listed twice") && msg.contains("ipvs.sync.roles[0]"), "{msg}");
    let (_, _, msg) = find("ipvs.sync.group");
    assert!(msg.contains("`10.0.0.1`") && msg.contains("multicast"), "{msg}");
    let (_, _, msg) = find("ipvs.sync.port");
    assert!(msg.contains("`0`") && msg.contains("1..=65535"), "{msg}");
    let (_, _, msg) = find("ipvs.sync.ttl");
    assert!(msg.contains("1..=255"), "{msg}");
}

#[test]
fn an_empty_role_list_and_a_missing_interface_are_refused() {
    let e = errors(&file("    interface: eth0\n    roles: []\n"));
    assert!(e.iter().any(|(p, _, m)| p == "ipvs.sync.roles" && m.contains("runs no daemon")), "{e:?}");
    let e = load(&file("    id: 5\n")).unwrap_err().to_string();
    assert!(e.contains("interface"), "{e}");
}

#[test]
fn real_servers_of_the_other_family_are_refused_while_sync_runs() {
    let text = "version: 1\nipvs:\n  sync: {interface: eth0}\nservices:\n  - name: v6\n    vip: 2001:db8::110\n    port: 80\n    forward: tun\n    real_servers:\n      - address: 2001:db8:1::6\n      - address: 192.168.3.6\n";
    let e = errors(text);
    assert_eq!(e.len(), 1, "{e:?}");
    let (path, line, msg) = &e[0];
    assert_eq!(path, "services[0].real_servers[1].address");
    assert_eq!(*line, Some(11));
    assert!(msg.contains("`192.168.3.6`") && msg.contains("ipv4 real server of an ipv6 service"), "{msg}");
    // The same file without sync is valid.
    assert!(load(&text.replace("ipvs:\n  sync: {interface: eth0}\n", "")).is_ok());
}

#[test]
fn export_writes_ipvs_sync_without_the_kernels_defaults_and_loads_back() {
    let c = load(&file("    interface: eth1\n    id: 51\n")).unwrap();
    let mut observed = c.state();
    for d in observed.sync.as_mut().unwrap().values_mut() {
        // What the kernel reports for settings it chose.
        d.group = Some("224.0.0.81".parse().unwrap());
        d.port = Some(8848);
        d.ttl = Some(1);
        d.maxlen = Some(1472);
    }
    let text = export(&observed);
    assert!(text.contains("  sync:\n    interface: eth1\n    id: 51\n"), "{text}");
    assert!(!text.contains("8848") && !text.contains("roles"), "{text}");
    let again = load(&text).unwrap();
    assert_eq!(again.sync, c.sync);

    // Only a backup, on a non-default port: both kept.
    let mut one = observed.clone();
    let sync = one.sync.as_mut().unwrap();
    sync.remove(&SyncRole::Master);
    sync.get_mut(&SyncRole::Backup).unwrap().port = Some(9000);
    let text = export(&one);
    assert!(text.contains("roles:\n      - backup\n") && text.contains("port: 9000"), "{text}");
    let back = load(&text).unwrap().sync.unwrap();
    assert!(back[&SyncRole::Backup].satisfied_by(&one.sync.as_ref().unwrap()[&SyncRole::Backup]));
}
