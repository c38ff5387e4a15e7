//! One request, its answers: the small blocking netlink exchange the host's rtnetlink and fou
//! clients share. Messages are built and parsed elsewhere (`rtnl::message`, `fou`); this only
//! frames, sends and collects, and can keep the raw datagrams it read (fixtures).

use std::io;

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NetlinkDeserializable, NetlinkMessage, NetlinkPayload, NetlinkSerializable,
};
use netlink_sys::Socket;

pub struct Transport {
    socket: Socket,
    seq: u32,
    buf: Vec<u8>,
    /// When set, every datagram read is kept here.
    pub capture: Option<Vec<Vec<u8>>>,
}

impl Transport {
    pub fn open(protocol: isize) -> io::Result<Transport> {
        let mut socket = Socket::new(protocol)?;
        socket.bind_auto()?;
        socket.set_ext_ack(true).ok();
        Ok(Transport { socket, seq: 0, buf: vec![0; 64 << 10], capture: None })
    }

    /// Send one request (ACKed, or a dump) and return every message of its answer.
    pub fn request<T>(&mut self, payload: T, dump: bool, extra_flags: u16) -> io::Result<Vec<T>>
    where
        T: NetlinkSerializable + NetlinkDeserializable + std::fmt::Debug,
    {
        self.seq = self.seq.wrapping_add(1);
        let mut msg = NetlinkMessage::new(Default::default(), NetlinkPayload::InnerMessage(payload));
        msg.header.flags = NLM_F_REQUEST | extra_flags | if dump { NLM_F_DUMP } else { NLM_F_ACK };
        msg.header.sequence_number = self.seq;
        msg.finalize();
        let mut out = vec![0; msg.buffer_len()];
        msg.serialize(&mut out);
        self.socket.send(&out, 0)?;
        let mut answers = Vec::new();
        loop {
            let n = self.socket.recv(&mut &mut self.buf[..], 0)?;
            let datagram = &self.buf[..n.min(self.buf.len())];
            if let Some(c) = &mut self.capture {
                c.push(datagram.to_vec());
            }
            let mut off = 0;
            while off < datagram.len() {
                let msg = NetlinkMessage::<T>::deserialize(&datagram[off..])
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
                let len = msg.header.length as usize;
                if len == 0 {
                    break;
                }
                off += (len + 3) & !3;
                if msg.header.sequence_number != self.seq {
                    continue;
                }
                match msg.payload {
                    NetlinkPayload::InnerMessage(m) => answers.push(m),
                    NetlinkPayload::Done(_) => return Ok(answers),
                    NetlinkPayload::Error(e) => {
                        return match e.code {
                            Some(_) => Err(e.to_io()),
                            None => Ok(answers),
                        };
                    }
                    _ => {}
                }
            }
        }
    }
}
