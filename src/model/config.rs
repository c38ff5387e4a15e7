//! The validated, defaulted domain form of a desired-state file.

pub use crate::state::{FirewallAction, Intent, Ownership};
use crate::state::{Ha, Service, ServiceKey, State, SyncDaemons, Timeouts};

/// A desired-state file after validation, with every default applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub ownership: Ownership,
    /// Only the fields given in the file are `Some`.
    pub timeouts: Timeouts,
    /// In file order.
    pub services: Vec<ServiceSpec>,
    /// In file order: the order of the rules.
    pub firewall: Vec<Intent>,
    /// `ipvs.sync`: `None` = the file does not manage the sync daemons.
    pub sync: SyncDaemons,
    /// `ha`: the directors of the pair and the VIPs keepalived moves.
    pub ha: Option<Ha>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSpec {
    pub name: String,
    pub key: ServiceKey,
    /// With `name` set and every real server resolved (port, forward and tunnel inherited).
    pub service: Service,
}

impl Config {
    /// Services, timeouts and sync daemons as desired state; firewall chains are rendered by `firewall`.
    pub fn state(&self) -> State {
        State {
            services: self.services.iter().map(|s| (s.key, s.service.clone())).collect(),
            timeouts: self.timeouts,
            chains: Default::default(),
            sync: self.sync.clone(),
            keepalived: None,
        }
    }
}
