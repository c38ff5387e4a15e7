//! Firewall intents as iptables rules in lvsync's own chains: rendered, parsed and applied
//! through one command wrapper.

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("firewall backend not built yet")]
    NotBuilt,
}
