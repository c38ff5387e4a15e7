//! The rtnetlink socket: dumps of links and addresses, and the few changes lvsync makes.

use std::io;

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::protocols::NETLINK_ROUTE;

use super::message::{self, Address, Link};
use crate::host::netlink::Transport;

pub struct Client {
    transport: Transport,
}

impl Client {
    pub fn connect() -> io::Result<Client> {
        Ok(Client { transport: Transport::open(NETLINK_ROUTE)? })
    }

    /// Keep every datagram read from now on (for fixtures); `take_capture` returns them.
    pub fn capture(&mut self) {
        self.transport.capture = Some(Vec::new());
    }

    pub fn take_capture(&mut self) -> Vec<Vec<u8>> {
        self.transport.capture.take().unwrap_or_default()
    }

    fn ask(&mut self, msg: RouteNetlinkMessage, dump: bool, flags: u16) -> io::Result<Vec<RouteNetlinkMessage>> {
        self.transport.request(msg, dump, flags)
    }

    pub fn links(&mut self) -> io::Result<Vec<Link>> {
        Ok(self.ask(message::dump_links(), true, 0)?.iter().filter_map(message::link_of).collect())
    }

    pub fn addresses(&mut self) -> io::Result<Vec<Address>> {
        Ok(self.ask(message::dump_addresses(), true, 0)?.iter().filter_map(message::address_of).collect())
    }

    /// The main table's default routes, both families.
    pub fn default_routes(&mut self) -> io::Result<Vec<message::DefaultRoute>> {
        Ok(self.ask(message::dump_routes(), true, 0)?.iter().filter_map(message::default_route_of).collect())
    }

    pub fn add_address(&mut self, index: u32, addr: std::net::IpAddr, prefix_len: u8) -> io::Result<()> {
        self.ask(message::add_address(index, addr, prefix_len), false, NLM_F_CREATE | NLM_F_EXCL).map(drop)
    }

    pub fn del_address(&mut self, index: u32, addr: std::net::IpAddr, prefix_len: u8) -> io::Result<()> {
        self.ask(message::del_address(index, addr, prefix_len), false, 0).map(drop)
    }

    /// Set a link up or down by name; with `kind`, make it first when missing.
    pub fn set_link(&mut self, name: &str, kind: Option<&str>, up: bool) -> io::Result<()> {
        let flags = if kind.is_some() { NLM_F_CREATE } else { 0 };
        self.ask(message::set_link(name, kind, up), false, flags).map(drop)
    }
}
