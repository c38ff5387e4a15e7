//! The validated, defaulted domain form of a desired-state file.

pub use super::host::{DirectorSpec, IpvsSysctls};
pub use crate::state::health::ServiceHealth;
pub use crate::state::{FirewallAction, Intent, Ownership};
use std::collections::BTreeMap;

use crate::state::{Ha, RealKey, RealServer, Service, ServiceKey, State, SyncDaemons, Timeouts};

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
    /// `ipvs.sync`: `None` = the file does not manage the sync daemons.
    pub sync: SyncDaemons,
    /// `ha`: the directors of the pair and the VIPs keepalived moves.
    pub ha: Option<Ha>,
    /// This director among `ha.nodes`, once [`Config::select_node`] found it.
    pub node: Option<String>,
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
    /// Name this director (`--node` or the hostname). With `ha`, it must be one of `ha.nodes`.
    pub fn select_node(&mut self, node: &str) -> Result<(), String> {
        if let Some(ha) = &self.ha
            && ha.node(node).is_none()
        {
            let names: Vec<String> = ha.nodes.iter().map(|n| format!("`{}`", n.name)).collect();
            return Err(format!(
                "this director is `{node}` (from `--node` or the hostname), which is not one of ha.nodes: {}; pass `--node NAME`",
                names.join(", ")
            ));
        }
        self.node = Some(node.to_string());
        Ok(())
    }

    /// keepalived's configuration for this director, when the file has `ha` and the director
    /// is one of its nodes.
    pub fn keepalived_text(&self) -> Option<String> {
        let ha = self.ha.as_ref()?;
        Some(ha.render(ha.node(self.node.as_deref()?)?))
    }

    /// The real servers the file lists, by service, without copying them.
    pub fn reals_by_service(&self) -> BTreeMap<ServiceKey, &BTreeMap<RealKey, RealServer>> {
        self.services.iter().map(|s| (s.key, &s.service.reals)).collect()
    }

    /// Each service's `drain_timeout`, by service (a service not in the file: the default).
    pub fn drain_timeouts(&self) -> BTreeMap<ServiceKey, std::time::Duration> {
        self.services.iter().map(|s| (s.key, s.health.drain_timeout)).collect()
    }

    /// Services, timeouts and sync daemons as desired state; firewall chains are rendered by `firewall`.
    pub fn state(&self) -> State {
        State {
            services: self.services.iter().map(|s| (s.key, s.service.clone())).collect(),
            timeouts: self.timeouts,
            chains: Default::default(),
            sync: self.sync.clone(),
            keepalived: None,
            host: Default::default(),
        }
    }
}
