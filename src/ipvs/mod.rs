//! IPVS over generic netlink. `attrs` and `message` are the wire format (no I/O); `convert`
//! maps it to and from lvsync's normalized state; `client` is the socket, with pipelined
//! requests; `backend` observes the kernel's table and executes planned changes.
//! Not here: deciding what to change (that is `plan`), or anything about the firewall.

pub mod attrs;
mod backend;
pub mod client;
pub mod convert;
pub mod message;
pub mod sync;

use std::io;

pub use backend::IpvsBackend;
pub use message::{IpvsCmd, IpvsMessage};
pub use sync::{SyncBackend, SyncError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "IPVS is not available in this kernel (generic netlink family `IPVS` not found); load it with `modprobe ip_vs`"
    )]
    NoIpvs,
    #[error("cannot open a generic netlink socket to talk to IPVS")]
    Socket(#[source] io::Error),
    #[error("netlink I/O failed while {doing}")]
    Io {
        doing: String,
        #[source]
        source: io::Error,
    },
    #[error("cannot decode the kernel's answer while {doing}")]
    Decode {
        doing: String,
        #[source]
        source: netlink_packet_core::DecodeError,
    },
    /// The kernel refused a request: `doing` names the object, `why` says what to do.
    #[error("{doing}: {why}")]
    Refused {
        doing: String,
        why: String,
        #[source]
        source: io::Error,
    },
}

impl Error {
    /// The kernel's errno, when the kernel refused a request.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Refused { source, .. } | Error::Io { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}

/// What a kernel error means for the command that got it, as a sentence saying what to do.
/// `scheduler` and `engine` are the modules a service request asked for.
pub(crate) fn refusal(cmd: IpvsCmd, err: &io::Error, scheduler: Option<&str>, engine: Option<&str>) -> String {
    let service = matches!(cmd, IpvsCmd::NewService | IpvsCmd::SetService);
    let dest = matches!(cmd, IpvsCmd::NewDest | IpvsCmd::SetDest | IpvsCmd::DelDest);
    match err.raw_os_error() {
        Some(libc::EPERM) => "not permitted: IPVS needs CAP_NET_ADMIN, even to read it (run lvsync as root)".into(),
        Some(libc::ESRCH) => "no such service".into(),
        Some(libc::EEXIST) => "it already exists".into(),
        Some(libc::ENOENT) if service => {
            let sched = scheduler.unwrap_or("?");
            match engine {
                Some(pe) => format!(
                    "unknown scheduler `{sched}` or persistence engine `{pe}`: load their modules with `modprobe ip_vs_{sched} ip_vs_pe_{pe}`"
                ),
                None => format!("unknown scheduler `{sched}`: load its module with `modprobe ip_vs_{sched}`"),
            }
        }
        Some(libc::ENOENT) if dest => "no such real server in this service".into(),
        Some(libc::ERANGE) => {
            "weight or threshold out of range (weight 0..=2147483647, lower threshold at most the upper one)".into()
        }
        Some(libc::EINVAL) if dest => "the kernel refused the real server: its address must be a unicast address \
             this director can route to (not broadcast, multicast or link-local), a real server of the other \
             address family needs `forward: tun` (and cannot be added while a connection sync daemon runs), \
             and a gue tunnel needs a port"
            .into(),
        Some(libc::EINVAL) if service => {
            "the kernel refused the service as invalid (check its address, port, persistence timeout and netmask)"
                .into()
        }
        Some(libc::EAFNOSUPPORT) => "the kernel does not support this address family (is IPv6 disabled?)".into(),
        _ => format!("the kernel refused: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn why(cmd: IpvsCmd, errno: i32, sched: Option<&str>, pe: Option<&str>) -> String {
        refusal(cmd, &io::Error::from_raw_os_error(errno), sched, pe)
    }

    #[test]
    fn the_same_errno_means_different_things_for_services_and_real_servers() {
        assert_eq!(
            why(IpvsCmd::NewService, libc::ENOENT, Some("foo"), None),
            "unknown scheduler `foo`: load its module with `modprobe ip_vs_foo`"
        );
        assert!(
            why(IpvsCmd::SetService, libc::ENOENT, Some("rr"), Some("sip")).contains("modprobe ip_vs_rr ip_vs_pe_sip")
        );
        assert_eq!(why(IpvsCmd::SetDest, libc::ENOENT, None, None), "no such real server in this service");
        assert!(why(IpvsCmd::NewDest, libc::EINVAL, None, None).contains("unicast address"));
        assert!(why(IpvsCmd::NewService, libc::EINVAL, None, None).contains("refused the service"));
        assert!(why(IpvsCmd::GetService, libc::EPERM, None, None).contains("CAP_NET_ADMIN"));
        assert!(why(IpvsCmd::NewDest, libc::ERANGE, None, None).contains("out of range"));
        assert!(why(IpvsCmd::Flush, libc::EIO, None, None).starts_with("the kernel refused: "));
    }
}
