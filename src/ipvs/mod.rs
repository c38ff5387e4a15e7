//! IPVS over generic netlink: message types (no I/O) and the socket client beside them.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("IPVS backend not built yet")]
    NotBuilt,
}
