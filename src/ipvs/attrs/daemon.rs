//! Connection-sync daemon (IPVS_CMD_ATTR_DAEMON).

use super::*;

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
