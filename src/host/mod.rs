//! The host backend: the addresses, tunnel devices, fou listeners and sysctls a director or a
//! real server needs, observed and changed through rtnetlink (`rtnl`: links, addresses,
//! routes), generic netlink (`fou`) and /proc/sys (`sysctl`). Nothing here runs `ip` or
//! `sysctl`.
//!
//! The host's part of the state is `state::HostState` (the record of what lvsync changed is
//! `state::Owned`, kept in the inventory), its changes are `plan::HostChange`, and what a file
//! asks of a director or a real server is `desired::host`. [`HostSystem`] observes and
//! executes; [`HostBackend`] puts it on the seam.

pub mod backend;
pub mod fou;
pub mod netlink;
pub mod rtnl;
pub mod sysctl;
pub mod system;

pub use backend::HostBackend;
pub use system::{Error, HostSystem};
