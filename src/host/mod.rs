//! The host side of an LVS setup: the addresses, tunnel devices, fou listeners and sysctls a
//! director or a real server needs, declared from the same file as the IPVS table.
//!
//! `state` holds the normalized host state, `desired` derives it from a `Config` (pure),
//! `diff` compares desired with observed under lvsync's ownership record (pure). The I/O lives
//! in `sysctl` (/proc/sys), `rtnl` (rtnetlink: links and addresses) and `fou` (generic
//! netlink "fou"); `system` observes and executes through them. Nothing here runs `ip` or
//! `sysctl`.
//!
//! A pass, as the tests run it (`tests/host_kernel.rs`):
//! 1. desired: `director(&config)`, or on a real server `real_server(&config, &own)` with
//!    `own` from `HostSystem::own_addresses()` (or `--address`);
//! 2. observed: `HostSystem::observe(keys)`, `keys` the sysctls desired or owned;
//! 3. `diff(&desired, &observed, &owned)`: changes in apply order (`HostChange::phase`),
//!    each printed as its plan line (`Display`);
//! 4. for each: `HostSystem::apply(&change)`, then `owned.record(&change, before)`; at the end
//!    `owned.settle(&desired, &observed_again)`. `Owned` is what the inventory keeps.

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
