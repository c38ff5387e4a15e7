//! The validated, defaulted domain form of a desired-state file.

pub use super::host::{DirectorSpec, IpvsSysctls};
pub use crate::state::health::ServiceHealth;
pub use crate::state::{FirewallAction, Intent, Ownership};
use crate::state::{Service, ServiceKey, State, Timeouts};

/// A desired-state file after validation, with every default applied.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Config {
    pub ownership: Ownership,
    /// Only the fields given in the file are `Some`.
    pub timeouts: Timeouts,
    /// In file order.
    pub services: Vec<ServiceSpec>,
    /// In file order: the order of the rules.
    pub firewall: Vec<Intent>,
    /// `None`: the file has no `director` section, and lvsync touches no host address or
    /// forwarding setting.
    pub director: Option<DirectorSpec>,
    /// Only the settings given in the file are `Some`.
    pub ipvs_sysctls: IpvsSysctls,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSpec {
    pub name: String,
    pub key: ServiceKey,
    /// With `name` set and every real server resolved (port, forward and tunnel inherited).
    pub service: Service,
    /// Checks, `min_healthy`, fallback and `drain_timeout`, with defaults applied.
    pub health: ServiceHealth,
}

impl Config {
    /// Services and timeouts as desired state; firewall chains are rendered by `firewall`.
    pub fn state(&self) -> State {
        State {
            services: self.services.iter().map(|s| (s.key, s.service.clone())).collect(),
            timeouts: self.timeouts,
            chains: Default::default(),
            host: Default::default(),
        }
    }
}
