//! Typed values.

use super::*;

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

    pub(super) fn parse(v: &[u8]) -> Result<IpvsAddr, DecodeError> {
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
