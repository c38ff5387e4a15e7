//! rtnetlink for the host's links and addresses: `message` builds and reads the messages
//! (netlink-packet-route types, no I/O); `client` sends them.

pub mod client;
pub mod message;

pub use client::Client;
pub use message::{Address, DefaultRoute, Link};
