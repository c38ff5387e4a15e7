//! A DNS query over UDP, encoded and decoded by hickory-proto.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};

use hickory_proto::op::{Message, Query, ResponseCode};
use hickory_proto::rr::{Name, RecordType as Rt};

use super::ProbeError;
use super::udp::bound;
use crate::health::spec::{Dns, RecordType};

/// Query ids differ between probes; a connected socket already keeps others' replies out.
static NEXT_ID: AtomicU16 = AtomicU16::new(0x2a2a);

pub async fn query(addr: SocketAddr, d: &Dns) -> Result<(), ProbeError> {
    let name = Name::from_ascii(&d.name).map_err(|e| ProbeError::Dns(format!("`{}`: {e}", d.name)))?;
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let mut msg = Message::query();
    msg.metadata.id = id;
    msg.metadata.recursion_desired = true;
    msg.add_query(Query::query(name, rt(d.record)));
    let bytes = msg.to_vec().map_err(|e| ProbeError::Dns(format!("encoding the query: {e}")))?;
    let socket = bound(addr).await?;
    socket.send(&bytes).await.map_err(|source| ProbeError::Io { what: "send", source })?;
    let mut buf = vec![0u8; 65_536];
    loop {
        let n = socket.recv(&mut buf).await.map_err(super::receive_error)?;
        let Ok(reply) = Message::from_vec(&buf[..n]) else { continue };
        if reply.metadata.id != id {
            continue;
        }
        let code = reply.metadata.response_code;
        if code != ResponseCode::NoError {
            return Err(ProbeError::Dns(format!("{} {}: {code}", d.record.name(), d.name)));
        }
        if reply.answers.iter().any(|r| r.record_type() == rt(d.record)) {
            return Ok(());
        }
        return Err(ProbeError::Dns(format!("no {} record for {}", d.record.name(), d.name)));
    }
}

fn rt(r: RecordType) -> Rt {
    match r {
        RecordType::A => Rt::A,
        RecordType::Aaaa => Rt::AAAA,
        RecordType::Cname => Rt::CNAME,
        RecordType::Mx => Rt::MX,
        RecordType::Ns => Rt::NS,
        RecordType::Ptr => Rt::PTR,
        RecordType::Soa => Rt::SOA,
        RecordType::Srv => Rt::SRV,
        RecordType::Txt => Rt::TXT,
    }
}
