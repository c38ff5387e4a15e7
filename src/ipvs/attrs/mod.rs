//! The attributes of IPVS generic netlink messages (`linux/ip_vs.h`), typed. Every nest keeps
//! the attributes it does not know as [`DefaultNla`], so a newer kernel never breaks decoding.

mod daemon;
mod dest;
mod scalar;
mod service;
mod stats;
mod value;

pub use daemon::*;
pub use dest::*;
pub(crate) use scalar::parse_nest;
use scalar::*;
pub use service::*;
pub use stats::*;
pub use value::*;

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
