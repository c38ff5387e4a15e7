//! Destination, i.e. real server (IPVS_CMD_ATTR_DEST).

use super::*;

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
