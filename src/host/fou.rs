//! Generic netlink family "fou" (`linux/fou.h`): the UDP listener that receives GUE. Message
//! building and parsing here; `FouClient` sends them.

use std::io;

use netlink_packet_core::{
    DecodeError, DefaultNla, Emitable, Nla, NlaBuffer, NlasIterator, Parseable, ParseableParametrized,
};
use netlink_packet_generic::ctrl::nlas::GenlCtrlAttrs;
use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};
use netlink_packet_generic::{GenlFamily, GenlHeader, GenlMessage};
use netlink_sys::protocols::NETLINK_GENERIC;

use super::netlink::Transport;
use crate::state::Family;
use crate::state::FouPort;

const FOU_GENL_NAME: &str = "fou";
const FOU_GENL_VERSION: u8 = 1;

const FOU_CMD_ADD: u8 = 1;
const FOU_CMD_DEL: u8 = 2;
const FOU_CMD_GET: u8 = 3;

const FOU_ATTR_PORT: u16 = 1;
const FOU_ATTR_AF: u16 = 2;
const FOU_ATTR_IPPROTO: u16 = 3;
const FOU_ATTR_TYPE: u16 = 4;

const FOU_ENCAP_GUE: u8 = 2;
const AF_INET: u8 = libc::AF_INET as u8;
const AF_INET6: u8 = libc::AF_INET6 as u8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FouCmd {
    Add,
    Del,
    Get,
    Other(u8),
}

impl From<u8> for FouCmd {
    fn from(v: u8) -> Self {
        match v {
            FOU_CMD_ADD => FouCmd::Add,
            FOU_CMD_DEL => FouCmd::Del,
            FOU_CMD_GET => FouCmd::Get,
            n => FouCmd::Other(n),
        }
    }
}

impl From<FouCmd> for u8 {
    fn from(v: FouCmd) -> u8 {
        match v {
            FouCmd::Add => FOU_CMD_ADD,
            FouCmd::Del => FOU_CMD_DEL,
            FouCmd::Get => FOU_CMD_GET,
            FouCmd::Other(n) => n,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FouAttr {
    /// UDP port, host order here (big-endian on the wire).
    Port(u16),
    /// AF_INET or AF_INET6.
    Af(u8),
    IpProto(u8),
    /// FOU_ENCAP_DIRECT (1) or FOU_ENCAP_GUE (2).
    Type(u8),
    Other(DefaultNla),
}

impl Nla for FouAttr {
    fn value_len(&self) -> usize {
        match self {
            FouAttr::Port(_) => 2,
            FouAttr::Af(_) | FouAttr::IpProto(_) | FouAttr::Type(_) => 1,
            FouAttr::Other(nla) => nla.value_len(),
        }
    }

    fn kind(&self) -> u16 {
        match self {
            FouAttr::Port(_) => FOU_ATTR_PORT,
            FouAttr::Af(_) => FOU_ATTR_AF,
            FouAttr::IpProto(_) => FOU_ATTR_IPPROTO,
            FouAttr::Type(_) => FOU_ATTR_TYPE,
            FouAttr::Other(nla) => nla.kind(),
        }
    }

    fn emit_value(&self, buf: &mut [u8]) {
        match self {
            FouAttr::Port(p) => buf.copy_from_slice(&p.to_be_bytes()),
            FouAttr::Af(v) | FouAttr::IpProto(v) | FouAttr::Type(v) => buf[0] = *v,
            FouAttr::Other(nla) => nla.emit_value(buf),
        }
    }
}

impl FouAttr {
    fn parse(nla: &NlaBuffer<&[u8]>) -> Result<FouAttr, DecodeError> {
        let v = nla.value();
        let byte = || v.first().copied().ok_or_else(|| DecodeError::from("fou: empty attribute"));
        Ok(match nla.kind() {
            FOU_ATTR_PORT if v.len() == 2 => FouAttr::Port(u16::from_be_bytes([v[0], v[1]])),
            FOU_ATTR_AF if v.len() == 1 => FouAttr::Af(byte()?),
            FOU_ATTR_IPPROTO if v.len() == 1 => FouAttr::IpProto(byte()?),
            FOU_ATTR_TYPE if v.len() == 1 => FouAttr::Type(byte()?),
            _ => FouAttr::Other(DefaultNla::parse(nla)?),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FouMessage {
    pub cmd: FouCmd,
    pub attrs: Vec<FouAttr>,
}

impl FouMessage {
    /// ADD or DEL of a GUE listener.
    pub fn gue(cmd: FouCmd, port: FouPort) -> FouMessage {
        let af = match port.family {
            Family::Ipv4 => AF_INET,
            Family::Ipv6 => AF_INET6,
        };
        FouMessage { cmd, attrs: vec![FouAttr::Port(port.port), FouAttr::Af(af), FouAttr::Type(FOU_ENCAP_GUE)] }
    }

    /// The GUE listener a GET answer describes; `None` for a direct (fou) listener.
    pub fn gue_port(&self) -> Option<FouPort> {
        let mut port = None;
        let mut family = Family::Ipv4;
        let mut gue = false;
        for a in &self.attrs {
            match a {
                FouAttr::Port(p) => port = Some(*p),
                FouAttr::Af(AF_INET6) => family = Family::Ipv6,
                FouAttr::Type(t) => gue = *t == FOU_ENCAP_GUE,
                _ => {}
            }
        }
        port.filter(|_| gue).map(|port| FouPort { port, family })
    }
}

impl GenlFamily for FouMessage {
    fn family_name() -> &'static str {
        FOU_GENL_NAME
    }

    fn command(&self) -> u8 {
        self.cmd.into()
    }

    fn version(&self) -> u8 {
        FOU_GENL_VERSION
    }
}

impl Emitable for FouMessage {
    fn buffer_len(&self) -> usize {
        self.attrs.as_slice().buffer_len()
    }

    fn emit(&self, buffer: &mut [u8]) {
        self.attrs.as_slice().emit(buffer)
    }
}

impl ParseableParametrized<[u8], GenlHeader> for FouMessage {
    fn parse_with_param(buf: &[u8], header: GenlHeader) -> Result<Self, DecodeError> {
        let mut attrs = Vec::new();
        for nla in NlasIterator::new(buf) {
            attrs.push(FouAttr::parse(&nla?)?);
        }
        Ok(FouMessage { cmd: header.cmd.into(), attrs })
    }
}

/// The generic netlink socket to "fou".
pub struct FouClient {
    transport: Transport,
    family: u16,
}

impl FouClient {
    /// Open and resolve the family; ENOENT when the fou module is not loaded.
    pub fn connect() -> io::Result<FouClient> {
        let mut transport = Transport::open(NETLINK_GENERIC)?;
        let ctrl =
            GenlCtrl { cmd: GenlCtrlCmd::GetFamily, nlas: vec![GenlCtrlAttrs::FamilyName(FOU_GENL_NAME.to_string())] };
        let answers = transport.request(GenlMessage::from_payload(ctrl), false, 0)?;
        let family = answers
            .iter()
            .flat_map(|m| m.payload.nlas.iter())
            .find_map(|a| match a {
                GenlCtrlAttrs::FamilyId(id) => Some(*id),
                _ => None,
            })
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOENT))?;
        Ok(FouClient { transport, family })
    }

    pub fn transport(&mut self) -> &mut Transport {
        &mut self.transport
    }

    fn ask(&mut self, msg: FouMessage, dump: bool) -> io::Result<Vec<FouMessage>> {
        let mut genl = GenlMessage::from_payload(msg);
        genl.set_resolved_family_id(self.family);
        Ok(self.transport.request(genl, dump, 0)?.into_iter().map(|m| m.payload).collect())
    }

    /// Every GUE listener.
    pub fn gue_ports(&mut self) -> io::Result<Vec<FouPort>> {
        let answers = self.ask(FouMessage { cmd: FouCmd::Get, attrs: vec![] }, true)?;
        Ok(answers.iter().filter_map(FouMessage::gue_port).collect())
    }

    pub fn add(&mut self, port: FouPort) -> io::Result<()> {
        self.ask(FouMessage::gue(FouCmd::Add, port), false).map(drop)
    }

    pub fn del(&mut self, port: FouPort) -> io::Result<()> {
        self.ask(FouMessage::gue(FouCmd::Del, port), false).map(drop)
    }
}
