//! Service (IPVS_CMD_ATTR_SERVICE).

use super::*;

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
