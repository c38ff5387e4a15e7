//! `ipvs.sync` against a real kernel (User-Mode Linux), with `ipvsadm -L --daemon` as the oracle:
//! the real `lvsync` binary starts, repairs, restarts, stops and exports the sync daemons, and
//! the kernel's refusals read as sentences. Also: a GET_DAEMON answer captured from the kernel
//! with every attribute decodes into the daemons `ipvsadm` started.

mod ipvs_support;
mod uml_support;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ipvs_support::*;
use lvsync::ipvs::attrs::IpvsAttr;
use lvsync::ipvs::client::{Client, Mode};
use lvsync::ipvs::sync::daemon_from;
use lvsync::ipvs::{IpvsCmd, IpvsMessage};
use lvsync::lab::kernel::{self, Boot};
use lvsync::state::{SyncDaemon, SyncRole};
use netlink_packet_core::{Emitable, ParseableParametrized};
use netlink_packet_generic::GenlHeader;

struct Cli {
    dir: PathBuf,
}

impl Cli {
    fn new(name: &str) -> Cli {
        let dir = scratch().join(format!("sync-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Cli { dir }
    }

    fn run(&self, args: &[&str]) -> Output {
        let state = self.dir.join("state");
        Command::new(env!("CARGO_BIN_EXE_lvsync"))
            .args(args)
            .args(["--state-dir", state.to_str().unwrap(), "--iptables", "iptables-legacy"])
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    }

    /// Run; the exit status must be `code`. Returns stdout and stderr.
    fn expect(&self, code: i32, args: &[&str]) -> (String, String) {
        let out = self.run(args);
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(code), "lvsync {args:?}\nstdout:\n{stdout}\nstderr:\n{stderr}");
        (stdout.into_owned(), stderr.into_owned())
    }

    fn file(&self, name: &str, text: &str) -> String {
        let p = self.dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    }
}

const SERVICE: &str =
    "services:\n  - name: web\n    vip: 10.1.0.110\n    port: 80\n    real_servers:\n      - address: 10.1.0.6\n";

fn with_sync(sync: &str) -> String {
    format!("version: 1\nipvs:\n  sync: {sync}\n{SERVICE}")
}

fn daemons() -> String {
    sh("ipvsadm -L --daemon")
}

/// The sync network: a veth pair, like a director's dedicated sync link.
fn sync_network() {
    sh("ip link add lvsv0 type veth peer name lvsv1 && ip link set lvsv0 up && ip link set lvsv1 up \
        && ip addr add 10.9.0.1/24 dev lvsv0");
}

#[test]
fn sync_daemons_against_the_kernel() {
    uml_support::test_in_kernel("sync_daemons_against_the_kernel", scratch(), || {
        director_network();
        sync_network();
        both_roles_start_a_second_apply_is_a_no_op_and_export_has_them();
        a_daemon_stopped_by_hand_is_started_again();
        changed_settings_restart_the_daemon_with_every_attribute();
        a_role_left_out_is_stopped_and_without_sync_only_lvsyncs_daemons_stop();
        an_unknown_interface_is_a_sentence_and_changes_nothing();
        mixed_families_and_sync_exclude_each_other_with_clear_errors();
    });
}

fn both_roles_start_a_second_apply_is_a_no_op_and_export_has_them() {
    let cli = Cli::new("start");
    let f = cli.file("sync.yaml", &with_sync("{interface: lvsv0, id: 51}"));
    let (plan, _) = cli.expect(2, &["plan", &f, "--detailed-exitcode"]);
    assert!(plan.contains("  + ipvs sync master on lvsv0, id 51\n"), "{plan}");
    assert!(plan.contains("  + ipvs sync backup on lvsv0, id 51\n"), "{plan}");
    let (json, _) = cli.expect(0, &["plan", &f, "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    let kinds: Vec<&str> = json["changes"].as_array().unwrap().iter().map(|c| c["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "ipvs_sync").count(), 2, "{json}");
    cli.expect(0, &["apply", &f]);
    let d = daemons();
    assert!(d.contains("master sync daemon (mcast=lvsv0, syncid=51"), "{d}");
    assert!(d.contains("backup sync daemon (mcast=lvsv0, syncid=51"), "{d}");
    cli.expect(0, &["plan", &f, "--detailed-exitcode"]);
    let (again, _) = cli.expect(0, &["apply", &f]);
    assert!(again.contains("No changes"), "{again}");
    assert_eq!(daemons(), d);
    let (export, _) = cli.expect(0, &["export"]);
    assert!(export.contains("\n  sync:\n    interface: lvsv0\n    id: 51\nservices:"), "{export}");
    // The export, applied, is the same: nothing to do.
    let exported = cli.file("export.yaml", &export);
    cli.expect(0, &["plan", &exported, "--detailed-exitcode"]);
}

fn a_daemon_stopped_by_hand_is_started_again() {
    let cli = Cli::new("repair");
    let f = cli.file("sync.yaml", &with_sync("{interface: lvsv0, id: 51}"));
    sh("ipvsadm --stop-daemon backup");
    let (plan, _) = cli.expect(2, &["plan", &f, "--detailed-exitcode"]);
    assert!(plan.contains("  + ipvs sync backup on lvsv0, id 51\n") && !plan.contains("master"), "{plan}");
    cli.expect(0, &["apply", &f]);
    assert!(daemons().contains("backup sync daemon (mcast=lvsv0, syncid=51"), "{}", daemons());
    cli.expect(0, &["plan", &f, "--detailed-exitcode"]);
}

fn changed_settings_restart_the_daemon_with_every_attribute() {
    let cli = Cli::new("restart");
    let f = cli.file(
        "sync.yaml",
        &with_sync("{interface: lvsv0, id: 52, group: 224.0.0.90, port: 9000, ttl: 2, maxlen: 1400}"),
    );
    let (plan, _) = cli.expect(2, &["plan", &f, "--detailed-exitcode"]);
    assert!(
        plan.contains("  ~ ipvs sync master: on lvsv0, id 51, group 224.0.0.81, port 8848, ttl 1, maxlen 1472 -> on lvsv0, id 52, group 224.0.0.90, port 9000, ttl 2, maxlen 1400 (restarted)\n"),
        "{plan}"
    );
    cli.expect(0, &["apply", &f]);
    let d = daemons();
    for role in ["master", "backup"] {
        let line = d.lines().find(|l| l.starts_with(role)).unwrap_or_else(|| panic!("{d}"));
        for part in ["mcast=lvsv0", "syncid=52", "maxlen=1400", "group=224.0.0.90", "port=9000", "ttl=2"] {
            assert!(line.contains(part), "{part} missing from {line}");
        }
    }
    // The kernel keeps every setting as given: the next plan is empty.
    cli.expect(0, &["plan", &f, "--detailed-exitcode"]);
}

fn a_role_left_out_is_stopped_and_without_sync_only_lvsyncs_daemons_stop() {
    let cli = Cli::new("roles");
    // Another id than the daemons running (started with another state directory): the master
    // restarts, and is then this state directory's own.
    let f = cli.file("sync.yaml", &with_sync("{interface: lvsv0, id: 54, roles: [master]}"));
    let (plan, _) = cli.expect(2, &["plan", &f, "--detailed-exitcode"]);
    assert!(plan.contains("  - ipvs sync backup on lvsv0, id 52"), "{plan}");
    assert!(plan.contains("  ~ ipvs sync master: on lvsv0, id 52"), "{plan}");
    cli.expect(0, &["apply", &f]);
    let d = daemons();
    assert!(d.contains("master sync daemon") && !d.contains("backup sync daemon"), "{d}");
    // Without `ipvs.sync`, a managed file stops the daemon lvsync started (its inventory)...
    let plain = cli.file("plain.yaml", &format!("version: 1\n{SERVICE}"));
    let (plan, _) = cli.expect(2, &["plan", &plain, "--detailed-exitcode"]);
    assert!(plan.contains("  - ipvs sync master on lvsv0, id 54"), "{plan}");
    cli.expect(0, &["apply", &plain]);
    assert!(!daemons().contains("sync daemon"), "{}", daemons());
    // ...and leaves alone one it did not start.
    sh("ipvsadm --start-daemon backup --mcast-interface lvsv0 --syncid 53");
    cli.expect(0, &["plan", &plain, "--detailed-exitcode"]);
    assert!(daemons().contains("backup sync daemon"), "{}", daemons());
    let exclusive = cli.file("exclusive.yaml", &format!("version: 1\nownership: exclusive\n{SERVICE}"));
    let (plan, _) = cli.expect(2, &["plan", &exclusive, "--detailed-exitcode"]);
    assert!(plan.contains("  - ipvs sync backup on lvsv0, id 53"), "{plan}");
    cli.expect(0, &["apply", &exclusive]);
    assert!(!daemons().contains("sync daemon"), "{}", daemons());
}

fn an_unknown_interface_is_a_sentence_and_changes_nothing() {
    let cli = Cli::new("ifname");
    let f = cli.file("sync.yaml", &with_sync("{interface: nosuch0, id: 7, roles: [master]}"));
    let (_, err) = cli.expect(1, &["apply", &f]);
    assert!(err.contains("starting the IPVS sync master on nosuch0, id 7"), "{err}");
    assert!(err.contains("there is no interface `nosuch0` on this director"), "{err}");
    assert!(!daemons().contains("sync daemon"), "{}", daemons());
}

fn mixed_families_and_sync_exclude_each_other_with_clear_errors() {
    // A daemon runs; a real server of the other family is refused, and the error says why.
    sh("ipvsadm -C");
    sh("ipvsadm --start-daemon master --mcast-interface lvsv0 --syncid 3");
    let cli = Cli::new("mixed");
    let mixed = "version: 1\nservices:\n  - name: v6\n    vip: 2001:db8:1::110\n    port: 80\n    forward: tun\n    real_servers:\n      - address: 10.1.0.6\n";
    let f = cli.file("mixed.yaml", mixed);
    let (_, err) = cli.expect(1, &["apply", &f]);
    assert!(err.contains("while a connection sync daemon runs"), "{err}");
    sh("ipvsadm --stop-daemon master");
    // A real server of the other family exists; starting sync is refused, and the error says why.
    sh("ipvsadm -C && ipvsadm -A -t [2001:db8:1::110]:80 && ipvsadm -a -t [2001:db8:1::110]:80 -r 10.1.0.6:80 -i");
    let f = cli.file("sync.yaml", &with_sync("{interface: lvsv0, id: 3, roles: [master]}"));
    let (_, err) = cli.expect(1, &["apply", &f]);
    assert!(
        err.contains("connection sync cannot run while a service has real servers of the other address family"),
        "{err}"
    );
    assert!(!daemons().contains("sync daemon"), "{}", daemons());
    sh("ipvsadm -C");
}

// --- the captured GET_DAEMON answer ---------------------------------------------------------

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ipvs/sync-daemons.hex")
}

const BUILT_WITH: [&str; 2] = [
    "ipvsadm --start-daemon master --mcast-interface lvsv0 --syncid 51 --sync-maxlen 1400 --mcast-group 224.0.0.90 --mcast-port 9000 --mcast-ttl 2",
    "ipvsadm --start-daemon backup --mcast-interface lvsv0 --syncid 51",
];

#[test]
fn a_captured_daemon_dump_decodes_to_the_daemons_ipvsadm_started() {
    let text = std::fs::read_to_string(fixture()).unwrap();
    let family: u16 = text.lines().find_map(|l| l.strip_prefix("# family: ")).unwrap().trim().parse().unwrap();
    let bytes: Vec<u8> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .flat_map(|l| l.split_whitespace().map(|h| u8::from_str_radix(h, 16).unwrap()).collect::<Vec<_>>())
        .collect();
    let mut found = std::collections::BTreeMap::new();
    let mut off = 0;
    while off < bytes.len() {
        let len = u32::from_ne_bytes(bytes[off..off + 4].try_into().unwrap()) as usize;
        let kind = u16::from_ne_bytes(bytes[off + 4..off + 6].try_into().unwrap());
        if kind == family {
            let genl = GenlHeader::parse(&bytes[off + 16..]).unwrap();
            let attrs = &bytes[off + 20..off + len];
            let msg = IpvsMessage::parse_with_param(attrs, genl).unwrap();
            let mut again = vec![0; msg.buffer_len()];
            msg.emit(&mut again);
            assert_eq!(again, attrs, "{msg:?} does not re-encode to the kernel's bytes");
            for a in &msg.attrs {
                if let IpvsAttr::Daemon(d) = a {
                    let (role, daemon) = daemon_from(d).unwrap();
                    found.insert(role, daemon);
                }
            }
        }
        off += (len + 3) & !3;
    }
    let master = SyncDaemon {
        interface: "lvsv0".into(),
        id: 51,
        group: Some("224.0.0.90".parse().unwrap()),
        port: Some(9000),
        ttl: Some(2),
        maxlen: Some(1400),
    };
    assert_eq!(found[&SyncRole::Master], master);
    let backup = &found[&SyncRole::Backup];
    assert_eq!((backup.interface.as_str(), backup.id), ("lvsv0", 51));
    // What the kernel chose for what it was not given.
    assert_eq!((backup.group, backup.port, backup.ttl), (Some("224.0.0.81".parse().unwrap()), Some(8848), Some(1)));
    assert!(backup.maxlen.is_some_and(|m| m > 1000), "{backup:?}");
}

#[test]
#[ignore = "regenerates tests/fixtures/ipvs/sync-daemons.hex in a User-Mode Linux kernel; run it on purpose"]
fn regenerate_sync_fixture() {
    if !uml_support::inside() {
        let exe = std::env::current_exe().unwrap();
        let args = [exe.into_os_string(), "regenerate_sync_fixture".into(), "--exact".into(), "--ignored".into()];
        let out = kernel::boot(&Boot::new(scratch().join("uml-sync-fixture"), args).env(uml_support::INSIDE_ENV, "1"))
            .unwrap();
        assert!(out.status == 0 && out.output.contains("1 passed"), "{}\n{}", out.output, out.console);
        return;
    }
    sync_network();
    for c in BUILT_WITH {
        sh(c);
    }
    let mut client = Client::connect().unwrap();
    client.start_capture();
    client.pipeline(&[IpvsMessage::new(IpvsCmd::GetDaemon, vec![])], Mode::Dump, false, |_, _| {}).unwrap();
    let datagrams = client.take_capture();
    let mut s = String::from(
        "# Captured from Linux 6.1 in User-Mode Linux by tests/sync_kernel.rs `regenerate_sync_fixture`\n\
         # (cargo test --test sync_kernel -- --ignored regenerate_sync_fixture). Daemons started with:\n",
    );
    let _ = writeln!(s, "#   ip link add lvsv0 type veth peer name lvsv1 (up, 10.9.0.1/24 on lvsv0)");
    for c in BUILT_WITH {
        let _ = writeln!(s, "#   {c}");
    }
    let _ = writeln!(s, "# Request: GET_DAEMON dump\n# family: {}", client.family());
    for (i, d) in datagrams.iter().enumerate() {
        let _ = writeln!(s, "# datagram {}", i + 1);
        for chunk in d.chunks(16) {
            let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
            let _ = writeln!(s, "{}", hex.join(" "));
        }
    }
    std::fs::write(fixture(), s).unwrap();
}
