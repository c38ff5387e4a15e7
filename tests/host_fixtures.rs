//! rtnetlink and fou answers captured from a real kernel (Linux 6.1 in User-Mode Linux) decode
//! into the links, addresses and GUE listeners that were set up, and encode back to the very
//! same bytes. The fixtures are made by `regenerate_fixtures`, which says in each file how the
//! host was set up and what was asked.

mod uml_support;

use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use lvsync::host::HostSystem;
use lvsync::host::fou::{FouClient, FouMessage};
use lvsync::host::rtnl::{Client, message};
use lvsync::lab::kernel::{self, Boot};
use lvsync::state::Family;
use lvsync::state::FouPort;
use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_generic::GenlMessage;
use netlink_packet_route::RouteNetlinkMessage;

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/host")
}

fn scratch() -> &'static Path {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
}

/// The datagrams of a fixture file.
fn load(name: &str) -> Vec<Vec<u8>> {
    let text = std::fs::read_to_string(fixture_dir().join(name)).unwrap();
    let mut out: Vec<Vec<u8>> = Vec::new();
    for line in text.lines() {
        if line.starts_with("# datagram") {
            out.push(Vec::new());
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            let bytes = line.split_whitespace().map(|h| u8::from_str_radix(h, 16).unwrap());
            out.last_mut().expect("bytes after a `# datagram` line").extend(bytes);
        }
    }
    assert!(!out.is_empty(), "{name}: no datagram");
    out
}

/// Every message of every datagram, checked to re-encode to its own bytes when `round_trip`.
fn messages<T>(name: &str) -> Vec<T>
where
    T: netlink_packet_core::NetlinkDeserializable + netlink_packet_core::NetlinkSerializable + std::fmt::Debug + Clone,
{
    decoded(name, true)
}

fn decoded<T>(name: &str, round_trip: bool) -> Vec<T>
where
    T: netlink_packet_core::NetlinkDeserializable + netlink_packet_core::NetlinkSerializable + std::fmt::Debug + Clone,
{
    let mut out = Vec::new();
    for d in load(name) {
        let mut off = 0;
        while off < d.len() {
            let len = u32::from_ne_bytes(d[off..off + 4].try_into().unwrap()) as usize;
            let bytes = &d[off..off + len];
            let msg = NetlinkMessage::<T>::deserialize(bytes).unwrap();
            if !round_trip {
                if let NetlinkPayload::InnerMessage(m) = msg.payload {
                    out.push(m);
                }
                off += (len + 3) & !3;
                continue;
            }
            let mut again = vec![0; msg.buffer_len()];
            msg.serialize(&mut again);
            assert_eq!(again, bytes, "{name}: {msg:?} does not re-encode to the kernel's bytes");
            if let NetlinkPayload::InnerMessage(m) = msg.payload {
                out.push(m);
            }
            off += (len + 3) & !3;
        }
    }
    out
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn captured_link_dump_decodes_to_the_devices_set_up() {
    // Decoded only: netlink-packet-route 0.34 re-encodes IFLA_AF_SPEC's IPv4 devconf with the
    // fields newer kernels have (816 bytes where Linux 6.1 sent 804), and panics filling the
    // buffer it sized from the kernel's message. lvsync never re-encodes a link it read.
    let links: Vec<message::Link> =
        decoded::<RouteNetlinkMessage>("links.hex", false).iter().filter_map(message::link_of).collect();
    let find = |name: &str| links.iter().find(|l| l.name == name).unwrap_or_else(|| panic!("{name} in {links:?}"));
    assert!(find("lo").up && find("lo").kind.is_none());
    assert_eq!(find("eth1").kind.as_deref(), Some("dummy"));
    assert!(find("tunl0").up, "set up before the capture");
    assert_eq!(find("tunl0").kind.as_deref(), Some("ipip"));
    assert!(!find("gre0").up);
    assert_eq!(find("gre0").kind.as_deref(), Some("gre"));
}

#[test]
fn captured_address_dump_decodes_to_the_addresses_set_up() {
    let msgs = messages::<RouteNetlinkMessage>("addresses.hex");
    let addrs: Vec<(IpAddr, u8)> =
        msgs.iter().filter_map(message::address_of).map(|a| (a.addr, a.prefix_len)).collect();
    for want in [
        (ip("127.0.0.1"), 8),
        (ip("192.168.2.106"), 24),
        (ip("192.168.2.110"), 32),
        (ip("2001:db8::106"), 64),
        (ip("2001:db8::10"), 128),
    ] {
        assert!(addrs.contains(&want), "{want:?} in {addrs:?}");
    }
}

#[test]
fn captured_fou_dump_decodes_to_the_gue_listener_only() {
    let msgs = messages::<GenlMessage<FouMessage>>("fou.hex");
    assert_eq!(msgs.len(), 2, "a GUE and a direct listener");
    let gue: Vec<FouPort> = msgs.iter().filter_map(|m| m.payload.gue_port()).collect();
    assert_eq!(gue, [FouPort { port: 6080, family: Family::Ipv4 }]);
}

#[test]
fn the_address_request_carries_local_and_address_and_an_ipv6_vip_is_deprecated_without_dad() {
    let RouteNetlinkMessage::NewAddress(m) = message::add_address(7, ip("2001:db8::10"), 128) else { panic!() };
    assert_eq!((m.header.index, m.header.prefix_len), (7, 128));
    assert!(m.header.flags.contains(netlink_packet_route::address::AddressHeaderFlags::Nodad));
    // Deprecated at once: never the source of the host's own packets (ip6ip6 from a VIP is
    // dropped by a real server that holds the VIP too).
    let lifetimes = m.attributes.iter().find_map(|a| match a {
        netlink_packet_route::address::AddressAttribute::CacheInfo(c) => Some((c.ifa_preferred, c.ifa_valid)),
        _ => None,
    });
    assert_eq!(lifetimes, Some((0, u32::MAX)));
    assert_eq!(m.attributes.len(), 3);
    let RouteNetlinkMessage::NewAddress(m) = message::add_address(1, ip("192.168.2.110"), 32) else { panic!() };
    assert!(m.header.flags.is_empty());
    assert_eq!(m.attributes.len(), 2, "IPv4 picks a source by subnet, not by lifetime");
}

const SETUP: &[&str] = &[
    "ip link add eth1 type dummy",
    "ip link set eth1 up",
    "ip addr add 192.168.2.106/24 dev eth1",
    "ip -6 addr add 2001:db8::106/64 dev eth1 nodad",
    "ip addr add 192.168.2.110/32 dev lo",
    "ip -6 addr add 2001:db8::10/128 dev lo nodad",
    "ip link set tunl0 up",
    "ip fou add port 6080 gue",
    "ip fou add port 5555 ipproto 4",
];

fn write_fixture(name: &str, what: &str, datagrams: &[Vec<u8>]) {
    let mut s = String::from(
        "# Captured from Linux 6.1 in User-Mode Linux by tests/host_fixtures.rs `regenerate_fixtures`\n\
         # (cargo test --test host_fixtures -- --ignored regenerate_fixtures), modules ipip ip_gre fou\n\
         # loaded, after:\n",
    );
    for c in SETUP {
        let _ = writeln!(s, "#   {c}");
    }
    let _ = writeln!(s, "# Request: {what}");
    for (i, d) in datagrams.iter().enumerate() {
        let _ = writeln!(s, "# datagram {}", i + 1);
        for chunk in d.chunks(16) {
            let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
            let _ = writeln!(s, "{}", hex.join(" "));
        }
    }
    std::fs::create_dir_all(fixture_dir()).unwrap();
    std::fs::write(fixture_dir().join(name), s).unwrap();
}

#[test]
#[ignore = "regenerates tests/fixtures/host in a User-Mode Linux kernel; run it on purpose"]
fn regenerate_fixtures() {
    if !uml_support::inside() {
        let exe = std::env::current_exe().unwrap();
        let args = [exe.into_os_string(), "regenerate_fixtures".into(), "--exact".into(), "--ignored".into()];
        let out = kernel::boot(&Boot::new(scratch().join("uml-host-fixtures"), args).env(uml_support::INSIDE_ENV, "1"))
            .unwrap();
        assert!(out.status == 0 && out.output.contains("1 passed"), "{}\n{}", out.output, out.console);
        return;
    }
    for c in SETUP {
        let out = Command::new("sh").arg("-c").arg(c).output().unwrap();
        assert!(out.status.success(), "{c}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let mut rtnl = Client::connect().unwrap();
    rtnl.capture();
    rtnl.links().unwrap();
    write_fixture("links.hex", "RTM_GETLINK dump", &rtnl.take_capture());
    rtnl.capture();
    rtnl.addresses().unwrap();
    write_fixture("addresses.hex", "RTM_GETADDR dump", &rtnl.take_capture());
    let mut fou = FouClient::connect().unwrap();
    fou.transport().capture = Some(Vec::new());
    fou.gue_ports().unwrap();
    let captured = fou.transport().capture.take().unwrap();
    write_fixture("fou.hex", "FOU_CMD_GET dump (generic netlink family \"fou\")", &captured);
    // The observer sees the same.
    let seen = HostSystem::connect().unwrap().observe([]).unwrap();
    assert!(seen.fou.contains(&FouPort { port: 6080, family: Family::Ipv4 }));
}
