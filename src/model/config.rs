//! The validated, defaulted domain form of a desired-state file.

pub use crate::health::spec::ServiceHealth;
pub use crate::state::Ownership;
use crate::state::{Cidr, Family, Hook, Protocol, Service, ServiceKey, State, Timeouts};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FirewallAction {
    Accept,
    Drop,
    Reject,
}

/// One firewall intent, with `service:` already expanded to what it matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    pub name: String,
    pub action: FirewallAction,
    pub hook: Hook,
    /// `None`: the intent names no address at all and applies to both families.
    pub family: Option<Family>,
    pub destination: Option<Cidr>,
    pub protocol: Option<Protocol>,
    pub port: Option<u16>,
    /// A fwmark service's mark.
    pub fwmark: Option<u32>,
    /// Empty: any source.
    pub sources: Vec<Cidr>,
}

impl Intent {
    /// An intent matching everything in the input chain, of both families: the other fields
    /// narrow it.
    pub fn new(name: impl Into<String>, action: FirewallAction) -> Intent {
        Intent {
            name: name.into(),
            action,
            hook: Hook::Input,
            family: None,
            destination: None,
            protocol: None,
            port: None,
            fwmark: None,
            sources: Vec::new(),
        }
    }
}

impl Config {
    /// Services and timeouts as desired state; firewall chains are rendered by `firewall`.
    pub fn state(&self) -> State {
        State {
            services: self.services.iter().map(|s| (s.key, s.service.clone())).collect(),
            timeouts: self.timeouts,
            chains: Default::default(),
        }
    }
}
