//! The host side of an LVS setup: the addresses, tunnel devices, fou listeners and sysctls a
//! director or a real server needs, declared from the same file as the IPVS table.
//!
//! `state` holds the normalized host state, `desired` derives it from a `Config` (pure),
//! `diff` compares desired with observed under lvsync's ownership record (pure). The I/O lives
//! in `sysctl` (/proc/sys), `rtnl` (rtnetlink: links and addresses) and `fou` (generic
//! netlink "fou"); `system` observes and executes through them. Nothing here runs `ip` or
//! `sysctl`.

pub mod desired;
pub mod diff;
pub mod fou;
pub mod netlink;
pub mod rtnl;
pub mod state;
pub mod sysctl;
pub mod system;

pub use desired::{NatCheck, OwnAddress, RealServerSide, RouteBack, director, nat_warnings, real_server};
pub use diff::{HostChange, HostPhase, Owned, diff};
pub use state::{FouPort, HostAddress, HostState, SysctlKey, TunnelDevice};
pub use system::{Error, HostSystem};
