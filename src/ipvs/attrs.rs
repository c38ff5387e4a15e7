//! The attributes of IPVS generic netlink messages (`linux/ip_vs.h`), typed. Every nest keeps
//! the attributes it does not know as [`DefaultNla`], so a newer kernel never breaks decoding.

use std::net::{Ipv4Addr, Ipv6Addr};

use netlink_packet_core::{DecodeError, DefaultNla, Emitable, Nla, NlaBuffer, NlasIterator, Parseable};

const IPVS_CMD_ATTR_SERVICE: u16 = 1;
const IPVS_CMD_ATTR_DEST: u16 = 2;
const IPVS_CMD_ATTR_DAEMON: u16 = 3;
const IPVS_CMD_ATTR_TIMEOUT_TCP: u16 = 4;
const IPVS_CMD_ATTR_TIMEOUT_TCP_FIN: u16 = 5;
const IPVS_CMD_ATTR_TIMEOUT_UDP: u16 = 6;

const IPVS_INFO_ATTR_VERSION: u16 = 1;
const IPVS_INFO_ATTR_CONN_TAB_SIZE: u16 = 2;

const IPVS_SVC_ATTR_AF: u16 = 1;
const IPVS_SVC_ATTR_PROTOCOL: u16 = 2;
const IPVS_SVC_ATTR_ADDR: u16 = 3;
const IPVS_SVC_ATTR_PORT: u16 = 4;
const IPVS_SVC_ATTR_FWMARK: u16 = 5;
const IPVS_SVC_ATTR_SCHED_NAME: u16 = 6;
const IPVS_SVC_ATTR_FLAGS: u16 = 7;
const IPVS_SVC_ATTR_TIMEOUT: u16 = 8;
const IPVS_SVC_ATTR_NETMASK: u16 = 9;
const IPVS_SVC_ATTR_STATS: u16 = 10;
const IPVS_SVC_ATTR_PE_NAME: u16 = 11;
const IPVS_SVC_ATTR_STATS64: u16 = 12;

const IPVS_DEST_ATTR_ADDR: u16 = 1;
const IPVS_DEST_ATTR_PORT: u16 = 2;
const IPVS_DEST_ATTR_FWD_METHOD: u16 = 3;
const IPVS_DEST_ATTR_WEIGHT: u16 = 4;
const IPVS_DEST_ATTR_U_THRESH: u16 = 5;
const IPVS_DEST_ATTR_L_THRESH: u16 = 6;
const IPVS_DEST_ATTR_ACTIVE_CONNS: u16 = 7;
const IPVS_DEST_ATTR_INACT_CONNS: u16 = 8;
const IPVS_DEST_ATTR_PERSIST_CONNS: u16 = 9;
const IPVS_DEST_ATTR_STATS: u16 = 10;
const IPVS_DEST_ATTR_ADDR_FAMILY: u16 = 11;
const IPVS_DEST_ATTR_STATS64: u16 = 12;
const IPVS_DEST_ATTR_TUN_TYPE: u16 = 13;
const IPVS_DEST_ATTR_TUN_PORT: u16 = 14;
const IPVS_DEST_ATTR_TUN_FLAGS: u16 = 15;

const IPVS_DAEMON_ATTR_STATE: u16 = 1;
const IPVS_DAEMON_ATTR_MCAST_IFN: u16 = 2;
const IPVS_DAEMON_ATTR_SYNC_ID: u16 = 3;
const IPVS_DAEMON_ATTR_SYNC_MAXLEN: u16 = 4;
const IPVS_DAEMON_ATTR_MCAST_GROUP: u16 = 5;
const IPVS_DAEMON_ATTR_MCAST_GROUP6: u16 = 6;
const IPVS_DAEMON_ATTR_MCAST_PORT: u16 = 7;
const IPVS_DAEMON_ATTR_MCAST_TTL: u16 = 8;

const IPVS_STATS_ATTR_CONNS: u16 = 1;
const IPVS_STATS_ATTR_INPKTS: u16 = 2;
const IPVS_STATS_ATTR_OUTPKTS: u16 = 3;
const IPVS_STATS_ATTR_INBYTES: u16 = 4;
const IPVS_STATS_ATTR_OUTBYTES: u16 = 5;
const IPVS_STATS_ATTR_CPS: u16 = 6;
const IPVS_STATS_ATTR_INPPS: u16 = 7;
const IPVS_STATS_ATTR_OUTPPS: u16 = 8;
const IPVS_STATS_ATTR_INBPS: u16 = 9;
const IPVS_STATS_ATTR_OUTBPS: u16 = 10;

const AF_INET: u16 = libc::AF_INET as u16;
const AF_INET6: u16 = libc::AF_INET6 as u16;
const IPPROTO_TCP: u16 = libc::IPPROTO_TCP as u16;
const IPPROTO_UDP: u16 = libc::IPPROTO_UDP as u16;
const IPPROTO_SCTP: u16 = libc::IPPROTO_SCTP as u16;

const IP_VS_CONN_F_MASQ: u32 = 0;
const IP_VS_CONN_F_LOCALNODE: u32 = 1;
const IP_VS_CONN_F_TUNNEL: u32 = 2;
const IP_VS_CONN_F_DROUTE: u32 = 3;
const IP_VS_CONN_F_BYPASS: u32 = 4;

const IP_VS_CONN_F_TUNNEL_TYPE_IPIP: u8 = 0;
const IP_VS_CONN_F_TUNNEL_TYPE_GUE: u8 = 1;
const IP_VS_CONN_F_TUNNEL_TYPE_GRE: u8 = 2;

const IP_VS_STATE_NONE: u32 = 0;
const IP_VS_STATE_MASTER: u32 = 1;
const IP_VS_STATE_BACKUP: u32 = 2;

// ---------------------------------------------------------------------------------------------
// Scalar helpers: netlink integers are host order, except ports (big-endian).

fn ne<const N: usize>(v: &[u8]) -> Result<[u8; N], DecodeError> {
    v.try_into().map_err(|_| DecodeError::invalid_number(N, v.len()))
}

fn u8_of(v: &[u8]) -> Result<u8, DecodeError> {
    Ok(ne::<1>(v)?[0])
}
fn u16_of(v: &[u8]) -> Result<u16, DecodeError> {
    Ok(u16::from_ne_bytes(ne(v)?))
}
fn u16_be_of(v: &[u8]) -> Result<u16, DecodeError> {
    Ok(u16::from_be_bytes(ne(v)?))
}
fn u32_of(v: &[u8]) -> Result<u32, DecodeError> {
    Ok(u32::from_ne_bytes(ne(v)?))
}
fn string_of(v: &[u8]) -> Result<String, DecodeError> {
    let v = v.strip_suffix(&[0]).unwrap_or(v);
    Ok(String::from_utf8(v.to_vec())?)
}
fn emit_string(buf: &mut [u8], s: &str) {
    buf[..s.len()].copy_from_slice(s.as_bytes());
    buf[s.len()] = 0;
}

/// Parse every attribute of a nest with `one`. The attributes are counted first, so that the
/// list is allocated once: reading back thousands of real servers decodes tens of thousands of
/// nests, and growing each list step by step took half the time.
pub(crate) fn parse_nest<A>(
    buf: &[u8],
    one: impl Fn(&NlaBuffer<&[u8]>) -> Result<A, DecodeError>,
) -> Result<Vec<A>, DecodeError> {
    let mut out = Vec::with_capacity(NlasIterator::new(buf).count());
    for nla in NlasIterator::new(buf) {
        out.push(one(&nla?)?);
    }
    Ok(out)
}

fn other(nla: &NlaBuffer<&[u8]>) -> Result<DefaultNla, DecodeError> {
    DefaultNla::parse(nla)
}

// ---------------------------------------------------------------------------------------------
// Typed values.

/// An address as IPVS carries it: 16 bytes, an IPv4 address in the first four. Which one it is
/// comes from the address-family attribute next to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IpvsAddr(pub [u8; 16]);

impl IpvsAddr {
    pub fn v4(a: Ipv4Addr) -> IpvsAddr {
        let mut b = [0; 16];
        b[..4].copy_from_slice(&a.octets());
        IpvsAddr(b)
    }

    pub fn v6(a: Ipv6Addr) -> IpvsAddr {
        IpvsAddr(a.octets())
    }

    pub fn as_v4(&self) -> Ipv4Addr {
        Ipv4Addr::new(self.0[0], self.0[1], self.0[2], self.0[3])
    }

    pub fn as_v6(&self) -> Ipv6Addr {
        Ipv6Addr::from(self.0)
    }

    fn parse(v: &[u8]) -> Result<IpvsAddr, DecodeError> {
        if v.len() > 16 {
            return Err(DecodeError::invalid_ip_address(v.len()));
        }
        let mut b = [0; 16];
        b[..v.len()].copy_from_slice(v);
        Ok(IpvsAddr(b))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressFamily {
    Inet,
    Inet6,
    Other(u16),
}

impl From<u16> for AddressFamily {
    fn from(v: u16) -> Self {
        match v {
            AF_INET => AddressFamily::Inet,
            AF_INET6 => AddressFamily::Inet6,
            n => AddressFamily::Other(n),
        }
    }
}

impl From<AddressFamily> for u16 {
    fn from(v: AddressFamily) -> u16 {
        match v {
            AddressFamily::Inet => AF_INET,
            AddressFamily::Inet6 => AF_INET6,
            AddressFamily::Other(n) => n,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpProtocol {
    Tcp,
    Udp,
    Sctp,
    Other(u16),
}

impl From<u16> for IpProtocol {
    fn from(v: u16) -> Self {
        match v {
            IPPROTO_TCP => IpProtocol::Tcp,
            IPPROTO_UDP => IpProtocol::Udp,
            IPPROTO_SCTP => IpProtocol::Sctp,
            n => IpProtocol::Other(n),
        }
    }
}

impl From<IpProtocol> for u16 {
    fn from(v: IpProtocol) -> u16 {
        match v {
            IpProtocol::Tcp => IPPROTO_TCP,
            IpProtocol::Udp => IPPROTO_UDP,
            IpProtocol::Sctp => IPPROTO_SCTP,
            IpProtocol::Other(n) => n,
        }
    }
}

/// `struct ip_vs_flags`: the kernel changes only the bits in `mask`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServiceFlags {
    pub flags: u32,
    pub mask: u32,
}

impl ServiceFlags {
    pub const PERSISTENT: u32 = 0x0001;
    /// Set by the kernel on every service in its table; never meaningful to compare.
    pub const HASHED: u32 = 0x0002;
    pub const ONEPACKET: u32 = 0x0004;
    pub const SCHED1: u32 = 0x0008;
    pub const SCHED2: u32 = 0x0010;
    pub const SCHED3: u32 = 0x0020;
}

/// Forwarding method (`IP_VS_CONN_F_*` under the forward mask).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardMethod {
    Masq,
    Local,
    Tunnel,
    Route,
    Bypass,
    Other(u32),
}

impl From<u32> for ForwardMethod {
    fn from(v: u32) -> Self {
        match v {
            IP_VS_CONN_F_MASQ => ForwardMethod::Masq,
            IP_VS_CONN_F_LOCALNODE => ForwardMethod::Local,
            IP_VS_CONN_F_TUNNEL => ForwardMethod::Tunnel,
            IP_VS_CONN_F_DROUTE => ForwardMethod::Route,
            IP_VS_CONN_F_BYPASS => ForwardMethod::Bypass,
            n => ForwardMethod::Other(n),
        }
    }
}

impl From<ForwardMethod> for u32 {
    fn from(v: ForwardMethod) -> u32 {
        match v {
            ForwardMethod::Masq => IP_VS_CONN_F_MASQ,
            ForwardMethod::Local => IP_VS_CONN_F_LOCALNODE,
            ForwardMethod::Tunnel => IP_VS_CONN_F_TUNNEL,
            ForwardMethod::Route => IP_VS_CONN_F_DROUTE,
            ForwardMethod::Bypass => IP_VS_CONN_F_BYPASS,
            ForwardMethod::Other(n) => n,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TunnelKind {
    Ipip,
    Gue,
    Gre,
    Other(u8),
}

impl From<u8> for TunnelKind {
    fn from(v: u8) -> Self {
        match v {
            IP_VS_CONN_F_TUNNEL_TYPE_IPIP => TunnelKind::Ipip,
            IP_VS_CONN_F_TUNNEL_TYPE_GUE => TunnelKind::Gue,
            IP_VS_CONN_F_TUNNEL_TYPE_GRE => TunnelKind::Gre,
            n => TunnelKind::Other(n),
        }
    }
}

impl From<TunnelKind> for u8 {
    fn from(v: TunnelKind) -> u8 {
        match v {
            TunnelKind::Ipip => IP_VS_CONN_F_TUNNEL_TYPE_IPIP,
            TunnelKind::Gue => IP_VS_CONN_F_TUNNEL_TYPE_GUE,
            TunnelKind::Gre => IP_VS_CONN_F_TUNNEL_TYPE_GRE,
            TunnelKind::Other(n) => n,
        }
    }
}

/// Tunnel encapsulation flags (`IP_VS_TUNNEL_ENCAP_FLAG_*`); no bit set = no checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TunnelFlags(pub u16);

impl TunnelFlags {
    pub const CSUM: u16 = 1 << 0;
    pub const REMCSUM: u16 = 1 << 1;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DaemonState {
    None,
    Master,
    Backup,
    Other(u32),
}

impl From<u32> for DaemonState {
    fn from(v: u32) -> Self {
        match v {
            IP_VS_STATE_NONE => DaemonState::None,
            IP_VS_STATE_MASTER => DaemonState::Master,
            IP_VS_STATE_BACKUP => DaemonState::Backup,
            n => DaemonState::Other(n),
        }
    }
}

impl From<DaemonState> for u32 {
    fn from(v: DaemonState) -> u32 {
        match v {
            DaemonState::None => IP_VS_STATE_NONE,
            DaemonState::Master => IP_VS_STATE_MASTER,
            DaemonState::Backup => IP_VS_STATE_BACKUP,
            DaemonState::Other(n) => n,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Statistics (IPVS_SVC_ATTR_STATS[64], IPVS_DEST_ATTR_STATS[64]).

/// The kernel sends some counters as u32 in the old nest and all as u64 in the `64` one; the
/// width read is the width written back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    U32(u32),
    U64(u64),
}

impl Counter {
    pub fn get(self) -> u64 {
        match self {
            Counter::U32(v) => u64::from(v),
            Counter::U64(v) => v,
        }
    }

    fn parse(v: &[u8]) -> Result<Counter, DecodeError> {
        match v.len() {
            4 => Ok(Counter::U32(u32_of(v)?)),
            _ => Ok(Counter::U64(u64::from_ne_bytes(ne(v)?))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatsAttr {
    Conns(Counter),
    InPkts(Counter),
    OutPkts(Counter),
    InBytes(Counter),
    OutBytes(Counter),
    Cps(Counter),
    InPps(Counter),
    OutPps(Counter),
    InBps(Counter),
    OutBps(Counter),
    Other(DefaultNla),
}

impl StatsAttr {
    fn counter(&self) -> Option<Counter> {
        use StatsAttr::*;
        match self {
            Conns(c) | InPkts(c) | OutPkts(c) | InBytes(c) | OutBytes(c) | Cps(c) | InPps(c) | OutPps(c) | InBps(c)
            | OutBps(c) => Some(*c),
            Other(_) => None,
        }
    }
}

impl Nla for StatsAttr {
    fn value_len(&self) -> usize {
        match (self, self.counter()) {
            (StatsAttr::Other(nla), _) => nla.value_len(),
            (_, Some(Counter::U32(_))) => 4,
            _ => 8,
        }
    }

    fn kind(&self) -> u16 {
        use StatsAttr::*;
        match self {
            Conns(_) => IPVS_STATS_ATTR_CONNS,
            InPkts(_) => IPVS_STATS_ATTR_INPKTS,
            OutPkts(_) => IPVS_STATS_ATTR_OUTPKTS,
            InBytes(_) => IPVS_STATS_ATTR_INBYTES,
            OutBytes(_) => IPVS_STATS_ATTR_OUTBYTES,
            Cps(_) => IPVS_STATS_ATTR_CPS,
            InPps(_) => IPVS_STATS_ATTR_INPPS,
            OutPps(_) => IPVS_STATS_ATTR_OUTPPS,
            InBps(_) => IPVS_STATS_ATTR_INBPS,
            OutBps(_) => IPVS_STATS_ATTR_OUTBPS,
            Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        match (self, self.counter()) {
            (StatsAttr::Other(nla), _) => nla.emit_value(buf),
            (_, Some(Counter::U32(v))) => buf.copy_from_slice(&v.to_ne_bytes()),
            (_, Some(Counter::U64(v))) => buf.copy_from_slice(&v.to_ne_bytes()),
            (_, None) => {}
        }
    }
}

impl StatsAttr {
    fn parse(nla: &NlaBuffer<&[u8]>) -> Result<StatsAttr, DecodeError> {
        use StatsAttr::*;
        let v = nla.value();
        let wrap: fn(Counter) -> StatsAttr = match nla.kind() {
            IPVS_STATS_ATTR_CONNS => Conns,
            IPVS_STATS_ATTR_INPKTS => InPkts,
            IPVS_STATS_ATTR_OUTPKTS => OutPkts,
            IPVS_STATS_ATTR_INBYTES => InBytes,
            IPVS_STATS_ATTR_OUTBYTES => OutBytes,
            IPVS_STATS_ATTR_CPS => Cps,
            IPVS_STATS_ATTR_INPPS => InPps,
            IPVS_STATS_ATTR_OUTPPS => OutPps,
            IPVS_STATS_ATTR_INBPS => InBps,
            IPVS_STATS_ATTR_OUTBPS => OutBps,
            _ => return Ok(Other(other(nla)?)),
        };
        Ok(wrap(Counter::parse(v)?))
    }
}

/// The counters of a service or a real server.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stats(pub Vec<StatsAttr>);

impl Stats {
    /// Connections scheduled so far.
    pub fn conns(&self) -> Option<u64> {
        self.0.iter().find_map(|a| match a {
            StatsAttr::Conns(c) => Some(c.get()),
            _ => None,
        })
    }

    pub fn in_packets(&self) -> Option<u64> {
        self.0.iter().find_map(|a| match a {
            StatsAttr::InPkts(c) => Some(c.get()),
            _ => None,
        })
    }

    fn parse(v: &[u8]) -> Result<Stats, DecodeError> {
        Ok(Stats(parse_nest(v, StatsAttr::parse)?))
    }
}

// ---------------------------------------------------------------------------------------------
// Service (IPVS_CMD_ATTR_SERVICE).

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceAttr {
    Af(AddressFamily),
    Protocol(IpProtocol),
    Addr(IpvsAddr),
    Port(u16),
    Fwmark(u32),
    SchedName(String),
    Flags(ServiceFlags),
    /// Persistence timeout, seconds.
    Timeout(u32),
    /// Persistence netmask as the kernel keeps it in a `__be32`: for IPv4 the mask's bytes in
    /// network order (`u32::from_ne_bytes(mask.octets())`), for IPv6 the prefix length.
    Netmask(u32),
    Stats(Stats),
    PeName(String),
    Stats64(Stats),
    Other(DefaultNla),
}

impl Nla for ServiceAttr {
    fn value_len(&self) -> usize {
        use ServiceAttr::*;
        match self {
            Af(_) | Protocol(_) | Port(_) => 2,
            Addr(_) => 16,
            Fwmark(_) | Timeout(_) | Netmask(_) => 4,
            SchedName(s) | PeName(s) => s.len() + 1,
            Flags(_) => 8,
            Stats(s) | Stats64(s) => s.0.as_slice().buffer_len(),
            Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        use ServiceAttr::*;
        match self {
            Af(_) => IPVS_SVC_ATTR_AF,
            Protocol(_) => IPVS_SVC_ATTR_PROTOCOL,
            Addr(_) => IPVS_SVC_ATTR_ADDR,
            Port(_) => IPVS_SVC_ATTR_PORT,
            Fwmark(_) => IPVS_SVC_ATTR_FWMARK,
            SchedName(_) => IPVS_SVC_ATTR_SCHED_NAME,
            Flags(_) => IPVS_SVC_ATTR_FLAGS,
            Timeout(_) => IPVS_SVC_ATTR_TIMEOUT,
            Netmask(_) => IPVS_SVC_ATTR_NETMASK,
            Stats(_) => IPVS_SVC_ATTR_STATS,
            PeName(_) => IPVS_SVC_ATTR_PE_NAME,
            Stats64(_) => IPVS_SVC_ATTR_STATS64,
            Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        use ServiceAttr::*;
        match self {
            Af(v) => buf.copy_from_slice(&u16::from(*v).to_ne_bytes()),
            Protocol(v) => buf.copy_from_slice(&u16::from(*v).to_ne_bytes()),
            Addr(a) => buf.copy_from_slice(&a.0),
            Port(p) => buf.copy_from_slice(&p.to_be_bytes()),
            Fwmark(v) | Timeout(v) | Netmask(v) => buf.copy_from_slice(&v.to_ne_bytes()),
            SchedName(s) | PeName(s) => emit_string(buf, s),
            Flags(f) => {
                buf[..4].copy_from_slice(&f.flags.to_ne_bytes());
                buf[4..].copy_from_slice(&f.mask.to_ne_bytes());
            }
            Stats(s) | Stats64(s) => s.0.as_slice().emit(buf),
            Other(nla) => nla.emit_value(buf),
        }
    }
}

impl ServiceAttr {
    pub(crate) fn parse(nla: &NlaBuffer<&[u8]>) -> Result<ServiceAttr, DecodeError> {
        use ServiceAttr::*;
        let v = nla.value();
        Ok(match nla.kind() {
            IPVS_SVC_ATTR_AF => Af(u16_of(v)?.into()),
            IPVS_SVC_ATTR_PROTOCOL => Protocol(u16_of(v)?.into()),
            IPVS_SVC_ATTR_ADDR => Addr(IpvsAddr::parse(v)?),
            IPVS_SVC_ATTR_PORT => Port(u16_be_of(v)?),
            IPVS_SVC_ATTR_FWMARK => Fwmark(u32_of(v)?),
            IPVS_SVC_ATTR_SCHED_NAME => SchedName(string_of(v)?),
            IPVS_SVC_ATTR_FLAGS => {
                let b: [u8; 8] = ne(v)?;
                Flags(ServiceFlags { flags: u32_of(&b[..4])?, mask: u32_of(&b[4..])? })
            }
            IPVS_SVC_ATTR_TIMEOUT => Timeout(u32_of(v)?),
            IPVS_SVC_ATTR_NETMASK => Netmask(u32_of(v)?),
            IPVS_SVC_ATTR_STATS => Stats(self::Stats::parse(v)?),
            IPVS_SVC_ATTR_PE_NAME => PeName(string_of(v)?),
            IPVS_SVC_ATTR_STATS64 => Stats64(self::Stats::parse(v)?),
            _ => Other(other(nla)?),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Destination, i.e. real server (IPVS_CMD_ATTR_DEST).

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DestAttr {
    Addr(IpvsAddr),
    Port(u16),
    FwdMethod(ForwardMethod),
    Weight(u32),
    UpperThreshold(u32),
    LowerThreshold(u32),
    ActiveConns(u32),
    InactiveConns(u32),
    PersistentConns(u32),
    Stats(Stats),
    AddrFamily(AddressFamily),
    Stats64(Stats),
    TunType(TunnelKind),
    TunPort(u16),
    TunFlags(TunnelFlags),
    Other(DefaultNla),
}

impl Nla for DestAttr {
    fn value_len(&self) -> usize {
        use DestAttr::*;
        match self {
            Addr(_) => 16,
            Port(_) | AddrFamily(_) | TunPort(_) | TunFlags(_) => 2,
            TunType(_) => 1,
            FwdMethod(_) | Weight(_) | UpperThreshold(_) | LowerThreshold(_) | ActiveConns(_) | InactiveConns(_)
            | PersistentConns(_) => 4,
            Stats(s) | Stats64(s) => s.0.as_slice().buffer_len(),
            Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        use DestAttr::*;
        match self {
            Addr(_) => IPVS_DEST_ATTR_ADDR,
            Port(_) => IPVS_DEST_ATTR_PORT,
            FwdMethod(_) => IPVS_DEST_ATTR_FWD_METHOD,
            Weight(_) => IPVS_DEST_ATTR_WEIGHT,
            UpperThreshold(_) => IPVS_DEST_ATTR_U_THRESH,
            LowerThreshold(_) => IPVS_DEST_ATTR_L_THRESH,
            ActiveConns(_) => IPVS_DEST_ATTR_ACTIVE_CONNS,
            InactiveConns(_) => IPVS_DEST_ATTR_INACT_CONNS,
            PersistentConns(_) => IPVS_DEST_ATTR_PERSIST_CONNS,
            Stats(_) => IPVS_DEST_ATTR_STATS,
            AddrFamily(_) => IPVS_DEST_ATTR_ADDR_FAMILY,
            Stats64(_) => IPVS_DEST_ATTR_STATS64,
            TunType(_) => IPVS_DEST_ATTR_TUN_TYPE,
            TunPort(_) => IPVS_DEST_ATTR_TUN_PORT,
            TunFlags(_) => IPVS_DEST_ATTR_TUN_FLAGS,
            Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        use DestAttr::*;
        match self {
            Addr(a) => buf.copy_from_slice(&a.0),
            Port(p) | TunPort(p) => buf.copy_from_slice(&p.to_be_bytes()),
            FwdMethod(m) => buf.copy_from_slice(&u32::from(*m).to_ne_bytes()),
            Weight(v) | UpperThreshold(v) | LowerThreshold(v) | ActiveConns(v) | InactiveConns(v)
            | PersistentConns(v) => buf.copy_from_slice(&v.to_ne_bytes()),
            Stats(s) | Stats64(s) => s.0.as_slice().emit(buf),
            AddrFamily(f) => buf.copy_from_slice(&u16::from(*f).to_ne_bytes()),
            TunType(t) => buf[0] = u8::from(*t),
            TunFlags(f) => buf.copy_from_slice(&f.0.to_ne_bytes()),
            Other(nla) => nla.emit_value(buf),
        }
    }
}

impl DestAttr {
    pub(crate) fn parse(nla: &NlaBuffer<&[u8]>) -> Result<DestAttr, DecodeError> {
        use DestAttr::*;
        let v = nla.value();
        Ok(match nla.kind() {
            IPVS_DEST_ATTR_ADDR => Addr(IpvsAddr::parse(v)?),
            IPVS_DEST_ATTR_PORT => Port(u16_be_of(v)?),
            IPVS_DEST_ATTR_FWD_METHOD => FwdMethod(u32_of(v)?.into()),
            IPVS_DEST_ATTR_WEIGHT => Weight(u32_of(v)?),
            IPVS_DEST_ATTR_U_THRESH => UpperThreshold(u32_of(v)?),
            IPVS_DEST_ATTR_L_THRESH => LowerThreshold(u32_of(v)?),
            IPVS_DEST_ATTR_ACTIVE_CONNS => ActiveConns(u32_of(v)?),
            IPVS_DEST_ATTR_INACT_CONNS => InactiveConns(u32_of(v)?),
            IPVS_DEST_ATTR_PERSIST_CONNS => PersistentConns(u32_of(v)?),
            IPVS_DEST_ATTR_STATS => Stats(self::Stats::parse(v)?),
            IPVS_DEST_ATTR_ADDR_FAMILY => AddrFamily(u16_of(v)?.into()),
            IPVS_DEST_ATTR_STATS64 => Stats64(self::Stats::parse(v)?),
            IPVS_DEST_ATTR_TUN_TYPE => TunType(u8_of(v)?.into()),
            IPVS_DEST_ATTR_TUN_PORT => TunPort(u16_be_of(v)?),
            IPVS_DEST_ATTR_TUN_FLAGS => TunFlags(TunnelFlags(u16_of(v)?)),
            _ => Other(other(nla)?),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Connection-sync daemon (IPVS_CMD_ATTR_DAEMON).

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DaemonAttr {
    State(DaemonState),
    McastIfn(String),
    SyncId(u32),
    SyncMaxLen(u16),
    McastGroup(Ipv4Addr),
    McastGroup6(Ipv6Addr),
    McastPort(u16),
    McastTtl(u8),
    Other(DefaultNla),
}

impl Nla for DaemonAttr {
    fn value_len(&self) -> usize {
        use DaemonAttr::*;
        match self {
            State(_) | SyncId(_) | McastGroup(_) => 4,
            McastIfn(s) => s.len() + 1,
            SyncMaxLen(_) | McastPort(_) => 2,
            McastGroup6(_) => 16,
            McastTtl(_) => 1,
            Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        use DaemonAttr::*;
        match self {
            State(_) => IPVS_DAEMON_ATTR_STATE,
            McastIfn(_) => IPVS_DAEMON_ATTR_MCAST_IFN,
            SyncId(_) => IPVS_DAEMON_ATTR_SYNC_ID,
            SyncMaxLen(_) => IPVS_DAEMON_ATTR_SYNC_MAXLEN,
            McastGroup(_) => IPVS_DAEMON_ATTR_MCAST_GROUP,
            McastGroup6(_) => IPVS_DAEMON_ATTR_MCAST_GROUP6,
            McastPort(_) => IPVS_DAEMON_ATTR_MCAST_PORT,
            McastTtl(_) => IPVS_DAEMON_ATTR_MCAST_TTL,
            Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        use DaemonAttr::*;
        match self {
            State(s) => buf.copy_from_slice(&u32::from(*s).to_ne_bytes()),
            McastIfn(s) => emit_string(buf, s),
            SyncId(v) => buf.copy_from_slice(&v.to_ne_bytes()),
            SyncMaxLen(v) | McastPort(v) => buf.copy_from_slice(&v.to_ne_bytes()),
            McastGroup(a) => buf.copy_from_slice(&a.octets()),
            McastGroup6(a) => buf.copy_from_slice(&a.octets()),
            McastTtl(v) => buf[0] = *v,
            Other(nla) => nla.emit_value(buf),
        }
    }
}

impl DaemonAttr {
    pub(crate) fn parse(nla: &NlaBuffer<&[u8]>) -> Result<DaemonAttr, DecodeError> {
        use DaemonAttr::*;
        let v = nla.value();
        Ok(match nla.kind() {
            IPVS_DAEMON_ATTR_STATE => State(u32_of(v)?.into()),
            IPVS_DAEMON_ATTR_MCAST_IFN => McastIfn(string_of(v)?),
            IPVS_DAEMON_ATTR_SYNC_ID => SyncId(u32_of(v)?),
            IPVS_DAEMON_ATTR_SYNC_MAXLEN => SyncMaxLen(u16_of(v)?),
            IPVS_DAEMON_ATTR_MCAST_GROUP => McastGroup(Ipv4Addr::from(ne::<4>(v)?)),
            IPVS_DAEMON_ATTR_MCAST_GROUP6 => McastGroup6(Ipv6Addr::from(ne::<16>(v)?)),
            IPVS_DAEMON_ATTR_MCAST_PORT => McastPort(u16_of(v)?),
            IPVS_DAEMON_ATTR_MCAST_TTL => McastTtl(u8_of(v)?),
            _ => Other(other(nla)?),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// First level of a message.

/// The attributes at the first level of an IPVS message. The `Info*` ones only appear in the
/// kernel's answer to GET_INFO (command SET_INFO), whose numbering they share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IpvsAttr {
    Service(Vec<ServiceAttr>),
    Dest(Vec<DestAttr>),
    Daemon(Vec<DaemonAttr>),
    TimeoutTcp(u32),
    TimeoutTcpFin(u32),
    TimeoutUdp(u32),
    InfoVersion(u32),
    InfoConnTabSize(u32),
    Other(DefaultNla),
}

impl Nla for IpvsAttr {
    fn value_len(&self) -> usize {
        use IpvsAttr::*;
        match self {
            Service(a) => a.as_slice().buffer_len(),
            Dest(a) => a.as_slice().buffer_len(),
            Daemon(a) => a.as_slice().buffer_len(),
            TimeoutTcp(_) | TimeoutTcpFin(_) | TimeoutUdp(_) | InfoVersion(_) | InfoConnTabSize(_) => 4,
            Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        use IpvsAttr::*;
        match self {
            Service(_) => IPVS_CMD_ATTR_SERVICE,
            Dest(_) => IPVS_CMD_ATTR_DEST,
            Daemon(_) => IPVS_CMD_ATTR_DAEMON,
            TimeoutTcp(_) => IPVS_CMD_ATTR_TIMEOUT_TCP,
            TimeoutTcpFin(_) => IPVS_CMD_ATTR_TIMEOUT_TCP_FIN,
            TimeoutUdp(_) => IPVS_CMD_ATTR_TIMEOUT_UDP,
            InfoVersion(_) => IPVS_INFO_ATTR_VERSION,
            InfoConnTabSize(_) => IPVS_INFO_ATTR_CONN_TAB_SIZE,
            Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        use IpvsAttr::*;
        match self {
            Service(a) => a.as_slice().emit(buf),
            Dest(a) => a.as_slice().emit(buf),
            Daemon(a) => a.as_slice().emit(buf),
            TimeoutTcp(v) | TimeoutTcpFin(v) | TimeoutUdp(v) | InfoVersion(v) | InfoConnTabSize(v) => {
                buf.copy_from_slice(&v.to_ne_bytes())
            }
            Other(nla) => nla.emit_value(buf),
        }
    }
}

impl IpvsAttr {
    pub(crate) fn parse(nla: &NlaBuffer<&[u8]>, info: bool) -> Result<IpvsAttr, DecodeError> {
        use IpvsAttr::*;
        let v = nla.value();
        Ok(match (info, nla.kind()) {
            (true, IPVS_INFO_ATTR_VERSION) => InfoVersion(u32_of(v)?),
            (true, IPVS_INFO_ATTR_CONN_TAB_SIZE) => InfoConnTabSize(u32_of(v)?),
            (true, _) => Other(other(nla)?),
            (false, IPVS_CMD_ATTR_SERVICE) => Service(parse_nest(v, ServiceAttr::parse)?),
            (false, IPVS_CMD_ATTR_DEST) => Dest(parse_nest(v, DestAttr::parse)?),
            (false, IPVS_CMD_ATTR_DAEMON) => Daemon(parse_nest(v, DaemonAttr::parse)?),
            (false, IPVS_CMD_ATTR_TIMEOUT_TCP) => TimeoutTcp(u32_of(v)?),
            (false, IPVS_CMD_ATTR_TIMEOUT_TCP_FIN) => TimeoutTcpFin(u32_of(v)?),
            (false, IPVS_CMD_ATTR_TIMEOUT_UDP) => TimeoutUdp(u32_of(v)?),
            (false, _) => Other(other(nla)?),
        })
    }
}
