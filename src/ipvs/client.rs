//! The generic netlink socket to IPVS: family resolution through nlctrl, and pipelined
//! requests. Many requests go in one `sendmsg`; the kernel handles them in order, and every
//! answer (ACK, error, dump part, DONE) carries the sequence number of its request.
//!
//! The kernel handles a whole datagram inside `sendmsg` and queues every answer on our socket
//! before we read any; an answer that does not fit in the receive buffer is dropped. So a batch
//! is sized to what the receive buffer can hold, and the buffer is enlarged where allowed.
//!
//! Dumps are different: a socket runs one dump at a time (another is refused with EBUSY until
//! the first has been read to its end), and the kernel fills the next part of a dump only when
//! we read the previous one. So dumps go one after the other, and every read takes as many
//! datagrams as are queued (`recvmmsg`): reading a dump part makes the kernel queue the next
//! part or DONE at once, so a service's real servers cost one `sendmsg` and one `recvmmsg`.

use std::io;
use std::os::fd::AsRawFd;

use netlink_packet_core::{
    DecodeError, Emitable, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, NLMSG_OVERRUN, NetlinkBuffer,
    NetlinkHeader, NetlinkMessage, NetlinkPayload, ParseableParametrized,
};
use netlink_packet_generic::ctrl::nlas::GenlCtrlAttrs;
use netlink_packet_generic::ctrl::{GenlCtrl, GenlCtrlCmd};
use netlink_packet_generic::{GenlFamily, GenlHeader, GenlMessage};
use netlink_sys::{Socket, protocols::NETLINK_GENERIC};

use super::Error;
use super::message::IpvsMessage;

const NLMSG_HDRLEN: usize = 16;
const GENL_HDRLEN: usize = 4;
/// What we ask for; the kernel doubles it. Forcing it past rmem_max needs CAP_NET_ADMIN, which
/// IPVS needs anyway.
const WANTED_RCVBUF: usize = 32 << 20;
const WANTED_SNDBUF: usize = 8 << 20;
/// What one answer may hold of the receive buffer: a reply to GET_SERVICE up to a page or two;
/// an error far less.
const REPLY_COST: usize = 8 << 10;
/// One datagram: the kernel makes dump parts of at most 32 KiB.
const RECV_BUF: usize = 64 << 10;
/// Datagrams one read may return.
const READ_AT_ONCE: usize = 8;

/// How a request is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Its reply message, if the command has one; an error if it fails (the last request of a
    /// batch is also ACKed, which closes the batch).
    Do,
    /// A dump: messages, then DONE; or an error.
    Dump,
}

/// What happened to one request of a pipeline.
#[derive(Debug)]
pub enum Outcome {
    Done,
    Failed(io::Error),
    /// Not sent, because an earlier batch failed and the caller asked to stop.
    NotSent,
}

pub struct Client {
    socket: Socket,
    family: u16,
    seq: u32,
    send_buf: Vec<u8>,
    /// The datagrams of the last read, one after the other (each is whole, aligned messages).
    recv_buf: Vec<u8>,
    /// Where `recvmmsg` puts them: `READ_AT_ONCE` slots of `RECV_BUF` bytes.
    slots: Vec<u8>,
    rcvbuf: usize,
    max_datagram: usize,
    capture: Option<Vec<Vec<u8>>>,
    batch_limit: usize,
}

impl Client {
    /// Open a socket and resolve the IPVS family.
    pub fn connect() -> Result<Client, Error> {
        let mut socket = Socket::new(NETLINK_GENERIC).map_err(Error::Socket)?;
        socket.bind_auto().map_err(Error::Socket)?;
        // Errors carry only the failed request's header, not the whole request.
        socket.set_cap_ack(true).map_err(Error::Socket)?;
        let rcvbuf = grow(&socket, libc::SO_RCVBUFFORCE, libc::SO_RCVBUF, WANTED_RCVBUF);
        let sndbuf = grow(&socket, libc::SO_SNDBUFFORCE, libc::SO_SNDBUF, WANTED_SNDBUF);
        let mut client = Client {
            socket,
            family: 0,
            seq: 1,
            send_buf: Vec::with_capacity(64 << 10),
            recv_buf: Vec::with_capacity(RECV_BUF),
            slots: vec![0; READ_AT_ONCE * RECV_BUF],
            rcvbuf,
            // The kernel refuses a datagram larger than its send buffer less 32 bytes.
            max_datagram: (sndbuf.saturating_sub(64)).clamp(16 << 10, 4 << 20),
            capture: None,
            batch_limit: usize::MAX,
        };
        client.family = client.resolve_family()?;
        Ok(client)
    }

    fn resolve_family(&mut self) -> Result<u16, Error> {
        let io_err = |source| Error::Io { doing: "resolving the generic netlink family IPVS".into(), source };
        let ctrl = GenlCtrl {
            cmd: GenlCtrlCmd::GetFamily,
            nlas: vec![GenlCtrlAttrs::FamilyName(IpvsMessage::family_name().to_string())],
        };
        let mut msg = NetlinkMessage::from(GenlMessage::from_payload(ctrl));
        msg.header.flags = NLM_F_REQUEST | NLM_F_ACK;
        msg.header.sequence_number = self.next_seq();
        msg.finalize();
        let mut buf = vec![0; msg.buffer_len()];
        msg.serialize(&mut buf);
        self.socket.send(&buf, 0).map_err(io_err)?;
        let mut family = None;
        loop {
            self.recv().map_err(io_err)?;
            let mut off = 0;
            while off < self.recv_buf.len() {
                let bytes = &self.recv_buf[off..];
                let nl = NetlinkBuffer::new_checked(bytes).map_err(|e| decode("resolving IPVS", e))?;
                let len = nl.length() as usize;
                off += align(len);
                let answer = NetlinkMessage::<GenlMessage<GenlCtrl>>::deserialize(&bytes[..len])
                    .map_err(|e| decode("resolving IPVS", e))?;
                match answer.payload {
                    NetlinkPayload::InnerMessage(m) => {
                        for nla in m.payload.nlas {
                            if let GenlCtrlAttrs::FamilyId(id) = nla {
                                family = Some(id);
                            }
                        }
                    }
                    NetlinkPayload::Error(e) if e.code.is_some() => {
                        let err = e.to_io();
                        return Err(match err.raw_os_error() {
                            Some(libc::ENOENT) => Error::NoIpvs,
                            _ => io_err(err),
                        });
                    }
                    NetlinkPayload::Error(_) => {
                        return family.filter(|id| *id != 0).ok_or(Error::NoIpvs);
                    }
                    _ => {}
                }
            }
        }
    }

    fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1).max(1);
        self.seq
    }

    /// Wait for at least one datagram, and take every one already queued (up to
    /// `READ_AT_ONCE`) in the same system call.
    fn recv(&mut self) -> io::Result<()> {
        self.recv_buf.clear();
        // SAFETY: all-zero is a valid value for these plain C structs.
        let mut iovecs: [libc::iovec; READ_AT_ONCE] = unsafe { std::mem::zeroed() };
        let mut headers: [libc::mmsghdr; READ_AT_ONCE] = unsafe { std::mem::zeroed() };
        for (i, (iov, header)) in iovecs.iter_mut().zip(headers.iter_mut()).enumerate() {
            iov.iov_base = self.slots[i * RECV_BUF..].as_mut_ptr().cast();
            iov.iov_len = RECV_BUF;
            header.msg_hdr.msg_iov = iov;
            header.msg_hdr.msg_iovlen = 1;
        }
        let n = loop {
            // SAFETY: every header points at one live iovec, which points at its own RECV_BUF
            // bytes of `slots`; the kernel writes at most that much into each, and at most
            // READ_AT_ONCE headers.
            let n = unsafe {
                libc::recvmmsg(
                    self.socket.as_raw_fd(),
                    headers.as_mut_ptr(),
                    READ_AT_ONCE as libc::c_uint,
                    libc::MSG_WAITFORONE,
                    std::ptr::null_mut(),
                )
            };
            if n >= 0 {
                break n as usize;
            }
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(err);
            }
        };
        for (i, header) in headers[..n].iter().enumerate() {
            if header.msg_hdr.msg_flags & libc::MSG_TRUNC != 0 {
                return Err(io::Error::other(format!("a netlink answer did not fit in {RECV_BUF} bytes")));
            }
            let datagram = &self.slots[i * RECV_BUF..][..header.msg_len as usize];
            self.recv_buf.extend_from_slice(datagram);
            if let Some(c) = &mut self.capture {
                c.push(datagram.to_vec());
            }
        }
        Ok(())
    }

    /// The generic netlink family id the kernel gave IPVS.
    pub fn family(&self) -> u16 {
        self.family
    }

    /// Send at most `n` requests per datagram (the receive buffer may impose fewer).
    pub fn limit_batch(&mut self, n: usize) {
        self.batch_limit = n.max(1);
    }

    /// Keep a copy of every datagram received from now on (to make test fixtures).
    pub fn start_capture(&mut self) {
        self.capture = Some(Vec::new());
    }

    /// The datagrams received since [`Client::start_capture`]; capturing stops.
    pub fn take_capture(&mut self) -> Vec<Vec<u8>> {
        self.capture.take().unwrap_or_default()
    }

    /// Send `requests` in batches and wait for every answer. `on_message` receives each message
    /// the kernel answers with, and the index of its request. Dumps go one at a time (see the
    /// module notes). With `stop_on_error`, no batch is sent after one in which a request failed.
    pub fn pipeline(
        &mut self,
        requests: &[IpvsMessage],
        mode: Mode,
        stop_on_error: bool,
        mut on_message: impl FnMut(usize, IpvsMessage),
    ) -> Result<Vec<Outcome>, Error> {
        let mut outcomes: Vec<Outcome> = (0..requests.len()).map(|_| Outcome::NotSent).collect();
        let per_batch = match mode {
            Mode::Dump => 1,
            Mode::Do => self.rcvbuf / 2 / REPLY_COST,
        };
        let per_batch = per_batch.clamp(1, self.batch_limit);
        let mut start = 0;
        while start < requests.len() {
            let end = self.batch_end(requests, start, per_batch);
            self.exchange(requests, start..end, mode, &mut outcomes, &mut on_message)?;
            if stop_on_error && outcomes[start..end].iter().any(|o| matches!(o, Outcome::Failed(_))) {
                break;
            }
            start = end;
        }
        Ok(outcomes)
    }

    /// One request, answered by ACK or error, and by the message it returns (if any).
    pub fn request(&mut self, request: IpvsMessage, mode: Mode) -> Result<(Vec<IpvsMessage>, Outcome), Error> {
        let mut answers = Vec::new();
        let mut outcome = self.pipeline(std::slice::from_ref(&request), mode, false, |_, m| answers.push(m))?;
        Ok((answers, outcome.pop().unwrap_or(Outcome::NotSent)))
    }

    fn batch_end(&self, requests: &[IpvsMessage], start: usize, per_batch: usize) -> usize {
        let mut bytes = 0;
        let mut end = start;
        while end < requests.len() && end - start < per_batch {
            bytes += align(NLMSG_HDRLEN + GENL_HDRLEN + requests[end].buffer_len());
            if bytes > self.max_datagram && end > start {
                break;
            }
            end += 1;
        }
        end
    }

    fn exchange(
        &mut self,
        requests: &[IpvsMessage],
        range: std::ops::Range<usize>,
        mode: Mode,
        outcomes: &mut [Outcome],
        on_message: &mut impl FnMut(usize, IpvsMessage),
    ) -> Result<(), Error> {
        // Never send with family 0: the kernel silently ACKs such messages.
        if self.family == 0 {
            return Err(Error::NoIpvs);
        }
        let base = self.seq.wrapping_add(1);
        // Only the last request of a batch asks for an ACK: the kernel handles the datagram in
        // order and reports every failure anyway, so that ACK means all before it are done, and
        // 18,000 requests need a few reads instead of 18,000.
        let flags = match mode {
            Mode::Do => NLM_F_REQUEST,
            Mode::Dump => NLM_F_REQUEST | NLM_F_DUMP,
        };
        let last = range.end - 1;
        for o in &mut outcomes[range.clone()] {
            *o = Outcome::NotSent;
        }
        self.send_buf.clear();
        for (index, req) in requests[range.clone()].iter().enumerate() {
            let ack = mode == Mode::Do && range.start + index == last;
            let len = NLMSG_HDRLEN + GENL_HDRLEN + req.buffer_len();
            let at = self.send_buf.len();
            self.send_buf.resize(at + align(len), 0);
            let mut header = NetlinkHeader::default();
            header.length = len as u32;
            header.message_type = self.family;
            header.flags = if ack { flags | NLM_F_ACK } else { flags };
            header.sequence_number = self.next_seq();
            let buf = &mut self.send_buf[at..];
            header.emit(buf);
            GenlHeader { cmd: req.command(), version: req.version() }.emit(&mut buf[NLMSG_HDRLEN..]);
            req.emit(&mut buf[NLMSG_HDRLEN + GENL_HDRLEN..len]);
        }
        let doing = || format!("talking to IPVS ({} requests)", range.len());
        let sent = self.socket.send(&self.send_buf, 0).map_err(|source| Error::Io { doing: doing(), source })?;
        if sent != self.send_buf.len() {
            return Err(Error::Io { doing: doing(), source: io::Error::other("short netlink send") });
        }
        let mut pending = match mode {
            Mode::Do => 1,
            Mode::Dump => range.len(),
        };
        while pending > 0 {
            self.recv().map_err(|source| Error::Io { doing: doing(), source })?;
            let mut off = 0;
            while off < self.recv_buf.len() {
                let nl = NetlinkBuffer::new_checked(&self.recv_buf[off..]).map_err(|e| decode(&doing(), e))?;
                let len = nl.length() as usize;
                let (kind, seq) = (nl.message_type(), nl.sequence_number());
                let payload = &self.recv_buf[off + NLMSG_HDRLEN..off + len];
                off += align(len);
                let i = seq.wrapping_sub(base) as usize;
                if i >= range.len() {
                    continue; // an answer to an earlier, abandoned exchange
                }
                let index = range.start + i;
                let finished = match kind {
                    NLMSG_ERROR => {
                        let code = payload.get(..4).map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
                        Some(if code == 0 { Outcome::Done } else { Outcome::Failed(errno(code)) })
                    }
                    NLMSG_DONE => {
                        let code = payload.get(..4).map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
                        Some(if code == 0 { Outcome::Done } else { Outcome::Failed(errno(code)) })
                    }
                    NLMSG_OVERRUN => Some(Outcome::Failed(io::Error::other("netlink overrun"))),
                    k if k == self.family => {
                        let genl = GenlHeader::parse(payload).map_err(|e| decode(&doing(), e))?;
                        let msg = IpvsMessage::parse_with_param(&payload[GENL_HDRLEN..], genl)
                            .map_err(|e| decode(&doing(), e))?;
                        on_message(index, msg);
                        None
                    }
                    _ => None,
                };
                if let Some(outcome) = finished {
                    if matches!(outcomes[index], Outcome::NotSent) && (mode == Mode::Dump || index == last) {
                        pending -= 1;
                    }
                    outcomes[index] = outcome;
                }
            }
        }
        if mode == Mode::Do {
            for o in &mut outcomes[range] {
                if matches!(o, Outcome::NotSent) {
                    *o = Outcome::Done;
                }
            }
        }
        Ok(())
    }
}

fn errno(code: i32) -> io::Error {
    io::Error::from_raw_os_error(code.saturating_abs())
}

fn align(len: usize) -> usize {
    (len + 3) & !3
}

fn decode(doing: &str, source: DecodeError) -> Error {
    Error::Decode { doing: doing.to_string(), source }
}

/// Enlarge a socket buffer: past the system maximum if we may (`force`), else up to it. Returns
/// the size the kernel granted (its doubled figure).
fn grow(socket: &Socket, force: libc::c_int, plain: libc::c_int, wanted: usize) -> usize {
    let set = |opt: libc::c_int| {
        let v = wanted as libc::c_int;
        // SAFETY: setsockopt on our own descriptor with a pointer to a live c_int and its size.
        unsafe {
            libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                (&v as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            ) == 0
        }
    };
    if !set(force) {
        set(plain);
    }
    let mut v: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: getsockopt on our own descriptor into a live c_int whose size we pass.
    let ok = unsafe {
        libc::getsockopt(socket.as_raw_fd(), libc::SOL_SOCKET, plain, (&mut v as *mut libc::c_int).cast(), &mut len)
    } == 0;
    if ok && v > 0 { v as usize } else { 208 << 10 }
}
