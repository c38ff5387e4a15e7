//! rtnetlink messages lvsync sends and reads, built from netlink-packet-route types. No I/O.

use std::net::IpAddr;

use netlink_packet_route::address::{AddressAttribute, AddressHeaderFlags, AddressMessage, CacheInfo};
use netlink_packet_route::link::{InfoKind, LinkAttribute, LinkFlags, LinkInfo, LinkMessage};
use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteType};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

/// A link as lvsync needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    pub up: bool,
    /// The rtnetlink kind (`ipip`, `gre`, `veth`...); `None` for lo and physical devices.
    pub kind: Option<String>,
}

/// An address on a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    pub index: u32,
    pub addr: IpAddr,
    pub prefix_len: u8,
}

pub fn dump_links() -> RouteNetlinkMessage {
    RouteNetlinkMessage::GetLink(LinkMessage::default())
}

pub fn dump_addresses() -> RouteNetlinkMessage {
    RouteNetlinkMessage::GetAddress(AddressMessage::default())
}

fn address_message(index: u32, addr: IpAddr, prefix_len: u8) -> AddressMessage {
    let mut m = AddressMessage::default();
    m.header.family = match addr {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    };
    m.header.prefix_len = prefix_len;
    m.header.index = index;
    if addr.is_ipv6() {
        // A VIP must answer at once: no duplicate address detection.
        m.header.flags = AddressHeaderFlags::Nodad;
    }
    m.attributes = vec![AddressAttribute::Local(addr), AddressAttribute::Address(addr)];
    m
}

/// RTM_NEWADDR, sent with NLM_F_CREATE | NLM_F_EXCL.
///
/// An IPv6 VIP is added deprecated (preferred lifetime 0, valid forever), like
/// `ip -6 addr add ... preferred_lft 0`: still a local address, but never picked as the source of
/// the host's own packets. Otherwise a director may send its ip6ip6 packets to a real server
/// from the VIP, which the real server holds too and so drops them as spoofed.
pub fn add_address(index: u32, addr: IpAddr, prefix_len: u8) -> RouteNetlinkMessage {
    let mut m = address_message(index, addr, prefix_len);
    if addr.is_ipv6() {
        let mut lifetimes = CacheInfo::default();
        lifetimes.ifa_preferred = 0;
        lifetimes.ifa_valid = u32::MAX;
        m.attributes.push(AddressAttribute::CacheInfo(lifetimes));
    }
    RouteNetlinkMessage::NewAddress(m)
}

pub fn del_address(index: u32, addr: IpAddr, prefix_len: u8) -> RouteNetlinkMessage {
    RouteNetlinkMessage::DelAddress(address_message(index, addr, prefix_len))
}

/// RTM_NEWLINK by name, setting it up or down. With `kind` and NLM_F_CREATE it also makes the
/// device when it is missing: the kernel loads the kind's module where it can, and the module
/// makes its fallback device (`tunl0`, `gre0`), which this then brings up.
pub fn set_link(name: &str, kind: Option<&str>, up: bool) -> RouteNetlinkMessage {
    let mut m = LinkMessage::default();
    m.header.change_mask = LinkFlags::Up;
    m.header.flags = if up { LinkFlags::Up } else { LinkFlags::empty() };
    m.attributes.push(LinkAttribute::IfName(name.to_string()));
    if let Some(kind) = kind {
        m.attributes.push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(info_kind(kind))]));
    }
    RouteNetlinkMessage::NewLink(m)
}

fn info_kind(kind: &str) -> InfoKind {
    match kind {
        "ipip" => InfoKind::IpIp,
        "gre" => InfoKind::GreTun,
        "sit" => InfoKind::SitTun,
        "ip6tnl" => InfoKind::Ip6Tnl,
        "ip6gre" => InfoKind::GreTun6,
        other => InfoKind::Other(other.to_string()),
    }
}

fn kind_name(kind: &InfoKind) -> String {
    match kind {
        InfoKind::IpIp => "ipip".into(),
        InfoKind::GreTun => "gre".into(),
        InfoKind::SitTun => "sit".into(),
        InfoKind::Ip6Tnl => "ip6tnl".into(),
        InfoKind::GreTun6 => "ip6gre".into(),
        InfoKind::Other(s) => s.clone(),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// A link of a dump; `None` for another message.
pub fn link_of(msg: &RouteNetlinkMessage) -> Option<Link> {
    let RouteNetlinkMessage::NewLink(m) = msg else { return None };
    let mut name = None;
    let mut kind = None;
    for a in &m.attributes {
        match a {
            LinkAttribute::IfName(n) => name = Some(n.clone()),
            LinkAttribute::LinkInfo(infos) => {
                kind = infos.iter().find_map(|i| match i {
                    LinkInfo::Kind(k) => Some(kind_name(k)),
                    _ => None,
                })
            }
            _ => {}
        }
    }
    Some(Link { index: m.header.index, name: name?, up: m.header.flags.contains(LinkFlags::Up), kind })
}

/// An address of a dump; `None` for another message. IPv4 keeps the address in IFA_LOCAL
/// (IFA_ADDRESS is the peer of a point-to-point link), IPv6 in IFA_ADDRESS.
pub fn address_of(msg: &RouteNetlinkMessage) -> Option<Address> {
    let RouteNetlinkMessage::NewAddress(m) = msg else { return None };
    let local = m.attributes.iter().find_map(|a| match a {
        AddressAttribute::Local(ip) => Some(*ip),
        _ => None,
    });
    let address = m.attributes.iter().find_map(|a| match a {
        AddressAttribute::Address(ip) => Some(*ip),
        _ => None,
    });
    Some(Address { index: m.header.index, addr: local.or(address)?, prefix_len: m.header.prefix_len })
}

/// A default route of the main table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultRoute {
    pub ipv6: bool,
    pub gateway: Option<IpAddr>,
    pub oif: Option<u32>,
}

pub fn dump_routes() -> RouteNetlinkMessage {
    RouteNetlinkMessage::GetRoute(RouteMessage::default())
}

/// The default route a dumped route is; `None` for any other route or message.
pub fn default_route_of(msg: &RouteNetlinkMessage) -> Option<DefaultRoute> {
    let RouteNetlinkMessage::NewRoute(m) = msg else { return None };
    let table = m
        .attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Table(t) => Some(*t),
            _ => None,
        })
        .unwrap_or(u32::from(m.header.table));
    if table != u32::from(RouteHeader::RT_TABLE_MAIN)
        || m.header.destination_prefix_length != 0
        || m.header.kind != RouteType::Unicast
    {
        return None;
    }
    let mut route = DefaultRoute { ipv6: m.header.address_family == AddressFamily::Inet6, gateway: None, oif: None };
    for a in &m.attributes {
        match a {
            RouteAttribute::Gateway(RouteAddress::Inet(ip)) => route.gateway = Some(IpAddr::V4(*ip)),
            RouteAttribute::Gateway(RouteAddress::Inet6(ip)) => route.gateway = Some(IpAddr::V6(*ip)),
            RouteAttribute::Oif(i) => route.oif = Some(*i),
            _ => {}
        }
    }
    Some(route)
}
