//! IPVS messages captured from a real kernel (Linux 6.1 in User-Mode Linux) decode into the
//! expected values, and encode back to the very same bytes. The fixtures are made by
//! `regenerate_fixtures`, which says in each file how the table was built and what was asked.

mod ipvs_support;
mod uml_support;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use ipvs_support::*;
use lvsync::ipvs::attrs::{DaemonAttr, DaemonState, IpvsAttr};
use lvsync::ipvs::client::{Client, Mode};
use lvsync::ipvs::convert::{real_from, service_from};
use lvsync::ipvs::{IpvsCmd, IpvsMessage};
use lvsync::lab::kernel::{self, Boot};
use lvsync::state::{Family, RealKey};
use netlink_packet_core::{Emitable, ParseableParametrized};
use netlink_packet_generic::GenlHeader;

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ipvs")
}

struct Fixture {
    family: u16,
    datagrams: Vec<Vec<u8>>,
}

fn load(name: &str) -> Fixture {
    let text = std::fs::read_to_string(fixture_dir().join(name)).unwrap();
    let mut family = 0;
    let mut datagrams: Vec<Vec<u8>> = Vec::new();
    for line in text.lines() {
        if let Some(f) = line.strip_prefix("# family: ") {
            family = f.trim().parse().unwrap();
        } else if line.starts_with("# datagram") {
            datagrams.push(Vec::new());
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            let bytes = line.split_whitespace().map(|h| u8::from_str_radix(h, 16).unwrap());
            datagrams.last_mut().expect("bytes after a `# datagram` line").extend(bytes);
        }
    }
    assert!(family != 0 && !datagrams.is_empty(), "{name}: no family or no datagram");
    Fixture { family, datagrams }
}

/// Every IPVS message of the fixture, checked to re-encode to its own bytes.
fn messages(name: &str) -> Vec<IpvsMessage> {
    let f = load(name);
    let mut out = Vec::new();
    for d in &f.datagrams {
        let mut off = 0;
        while off < d.len() {
            let len = u32::from_ne_bytes(d[off..off + 4].try_into().unwrap()) as usize;
            let kind = u16::from_ne_bytes(d[off + 4..off + 6].try_into().unwrap());
            if kind == f.family {
                let genl = GenlHeader::parse(&d[off + 16..]).unwrap();
                let attrs = &d[off + 20..off + len];
                let msg = IpvsMessage::parse_with_param(attrs, genl).unwrap();
                let mut again = vec![0; msg.buffer_len()];
                msg.emit(&mut again);
                assert_eq!(again, attrs, "{name}: {msg:?} does not re-encode to the kernel's bytes");
                out.push(msg);
            }
            off += (len + 3) & !3;
        }
    }
    out
}

#[test]
fn captured_service_dump_decodes_to_the_table_ipvsadm_built() {
    let msgs = messages("services.hex");
    assert!(msgs.iter().all(|m| m.cmd == IpvsCmd::NewService));
    let got: BTreeSet<_> = msgs.iter().map(|m| service_from(m.service().unwrap()).unwrap()).collect();
    let want: BTreeSet<_> = rich_state().services.into_iter().map(|(k, s)| (k, s.attrs)).collect();
    assert_eq!(got, want);
}

#[test]
fn captured_destination_dumps_decode_to_the_real_servers_ipvsadm_built() {
    let msgs = messages("dests.hex");
    assert!(msgs.iter().all(|m| m.cmd == IpvsCmd::NewDest));
    let rich = rich_state();
    let got: BTreeSet<_> = msgs
        .iter()
        // The kernel names each destination's family; the service's is only a fallback.
        .map(|m| real_from(m.dest().unwrap(), Family::Ipv4).unwrap())
        .collect();
    let want: BTreeSet<(RealKey, _)> =
        rich.services.values().flat_map(|s| s.reals.iter().map(|(k, r)| (*k, *r))).collect();
    assert_eq!(got, want);
}

#[test]
fn captured_config_info_and_daemon_answers_decode() {
    let config = messages("config.hex");
    assert_eq!(config.len(), 1);
    assert_eq!(config[0].cmd, IpvsCmd::SetConfig);
    assert_eq!(config[0].attrs, [IpvsAttr::TimeoutTcp(1000), IpvsAttr::TimeoutTcpFin(100), IpvsAttr::TimeoutUdp(200)]);
    let info = messages("info.hex");
    assert_eq!(info[0].cmd, IpvsCmd::SetInfo);
    assert!(info[0].attrs.contains(&IpvsAttr::InfoVersion(0x010201)), "{:?}", info[0].attrs);
    assert!(info[0].attrs.iter().any(|a| matches!(a, IpvsAttr::InfoConnTabSize(n) if *n > 0)));
    let daemon = messages("daemon.hex");
    assert_eq!(daemon[0].cmd, IpvsCmd::NewDaemon);
    let IpvsAttr::Daemon(d) = &daemon[0].attrs[0] else { panic!("{:?}", daemon[0]) };
    assert!(d.contains(&DaemonAttr::State(DaemonState::Master)));
    assert!(d.contains(&DaemonAttr::McastIfn("lvsv0".into())));
    assert!(d.contains(&DaemonAttr::SyncId(5)));
}

#[test]
fn unknown_attributes_are_kept_and_re_encoded() {
    let mut msgs = messages("services.hex");
    let mut msg = msgs.remove(0);
    let IpvsAttr::Service(svc) = &mut msg.attrs[0] else { panic!() };
    svc.push(lvsync::ipvs::attrs::ServiceAttr::Other(netlink_packet_core::DefaultNla::new(99, vec![1, 2, 3, 4])));
    let mut bytes = vec![0; msg.buffer_len()];
    msg.emit(&mut bytes);
    let back = IpvsMessage::parse_with_param(&bytes, GenlHeader { cmd: 1, version: 1 }).unwrap();
    assert_eq!(back, msg);
}

const HEADER: &str = "# Captured from Linux 6.1 in User-Mode Linux by tests/ipvs_fixtures.rs `regenerate_fixtures`\n\
    # (cargo test --test ipvs_fixtures -- --ignored regenerate_fixtures). Table built with:\n";

fn write_fixture(name: &str, what: &str, family: u16, datagrams: &[Vec<u8>], built_with: &[&str]) {
    let mut s = String::from(HEADER);
    for c in built_with {
        let _ = writeln!(s, "#   {c}");
    }
    let _ = writeln!(s, "# Request: {what}\n# family: {family}");
    for (i, d) in datagrams.iter().enumerate() {
        let _ = writeln!(s, "# datagram {}", i + 1);
        for chunk in d.chunks(16) {
            let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
            let _ = writeln!(s, "{}", hex.join(" "));
        }
    }
    std::fs::write(fixture_dir().join(name), s).unwrap();
}

fn capture(client: &mut Client, requests: &[IpvsMessage], mode: Mode) -> Vec<Vec<u8>> {
    client.start_capture();
    client.pipeline(requests, mode, false, |_, _| {}).unwrap();
    client.take_capture()
}

#[test]
#[ignore = "regenerates tests/fixtures/ipvs in a User-Mode Linux kernel; run it on purpose"]
fn regenerate_fixtures() {
    if !uml_support::inside() {
        let exe = std::env::current_exe().unwrap();
        let args = [exe.into_os_string(), "regenerate_fixtures".into(), "--exact".into(), "--ignored".into()];
        let out =
            kernel::boot(&Boot::new(scratch().join("uml-fixtures"), args).env(uml_support::INSIDE_ENV, "1")).unwrap();
        assert!(out.status == 0 && out.output.contains("1 passed"), "{}\n{}", out.output, out.console);
        return;
    }
    director_network();
    sh(
        "ip link add lvsv0 type veth peer name lvsv1 && ip link set lvsv0 up && ip link set lvsv1 up && ip addr add 10.9.0.1/24 dev lvsv0",
    );
    let mut client = Client::connect().unwrap();
    let family = client.family();
    // The sync daemon refuses to run beside mixed-family services (and they beside it).
    sh("ipvsadm --start-daemon master --mcast-interface lvsv0 --syncid 5");
    let daemon = capture(&mut client, &[IpvsMessage::new(IpvsCmd::GetDaemon, vec![])], Mode::Dump);
    let built = "ipvsadm --start-daemon master --mcast-interface lvsv0 --syncid 5 (on a veth lvsv0 with 10.9.0.1/24)";
    write_fixture("daemon.hex", "GET_DAEMON dump", family, &daemon, &[built]);
    sh("ipvsadm --stop-daemon master");
    ipvsadm_build(RICH_IPVSADM);

    let dump_services = [IpvsMessage::new(IpvsCmd::GetService, vec![])];
    let services = capture(&mut client, &dump_services, Mode::Dump);
    write_fixture("services.hex", "GET_SERVICE dump", family, &services, RICH_IPVSADM);

    let keys: Vec<_> = rich_state().services.keys().copied().collect();
    let dest_dumps: Vec<IpvsMessage> = keys
        .iter()
        .map(|k| {
            IpvsMessage::new(IpvsCmd::GetDest, vec![IpvsAttr::Service(lvsync::ipvs::convert::service_identity(k))])
        })
        .collect();
    let dests = capture(&mut client, &dest_dumps, Mode::Dump);
    write_fixture("dests.hex", "one GET_DEST dump per service, pipelined", family, &dests, RICH_IPVSADM);

    let config = capture(&mut client, &[IpvsMessage::new(IpvsCmd::GetConfig, vec![])], Mode::Do);
    write_fixture("config.hex", "GET_CONFIG", family, &config, RICH_IPVSADM);
    let info = capture(&mut client, &[IpvsMessage::new(IpvsCmd::GetInfo, vec![])], Mode::Do);
    write_fixture("info.hex", "GET_INFO", family, &info, RICH_IPVSADM);
}
