//! The planner: a pure diff of desired against observed state, producing the ordered changes
//! `apply` makes, and their rendering for people (text) and programs (JSON). No I/O here.

mod diff;
mod json;
mod render;

pub use diff::{plan, touched_services};
pub use json::{PlanJson, json, render_json};
pub use render::{RenderOptions, render_diff, render_text};

#[cfg(test)]
mod memory;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use crate::state::{Chain, ChainId, RealKey, RealServer, Service, ServiceAttrs, ServiceKey, Timeouts};

/// One change to live state. Attribute changes are updates in place; only identity changes
/// (a different key) delete and create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// A service's attributes are boxed: a plan of thousands is mostly real servers, and every
    /// change is as big as the biggest kind.
    CreateService {
        key: ServiceKey,
        name: Option<String>,
        attrs: Box<ServiceAttrs>,
    },
    UpdateService {
        key: ServiceKey,
        name: Option<String>,
        before: Box<ServiceAttrs>,
        after: Box<ServiceAttrs>,
    },
    /// Deleting a service deletes its real servers with it.
    DeleteService {
        key: ServiceKey,
        name: Option<String>,
        before: Box<Service>,
    },
    CreateReal {
        service: ServiceKey,
        key: RealKey,
        real: RealServer,
    },
    UpdateReal {
        service: ServiceKey,
        key: RealKey,
        before: RealServer,
        after: RealServer,
    },
    DeleteReal {
        service: ServiceKey,
        key: RealKey,
        before: RealServer,
    },
    /// Only the fields `Some` in `after` are written.
    SetTimeouts {
        before: Timeouts,
        after: Timeouts,
    },
    /// Replace one of lvsync's chains (and its jump) whole. `None` = the chain does not exist.
    ReplaceChain {
        id: ChainId,
        before: Option<Chain>,
        after: Option<Chain>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    Create,
    Update,
    Delete,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }
}

impl Change {
    pub fn action(&self) -> Action {
        match self {
            Change::CreateService { .. } | Change::CreateReal { .. } => Action::Create,
            Change::UpdateService { .. } | Change::UpdateReal { .. } | Change::SetTimeouts { .. } => Action::Update,
            Change::DeleteService { .. } | Change::DeleteReal { .. } => Action::Delete,
            Change::ReplaceChain { before: None, .. } => Action::Create,
            Change::ReplaceChain { after: None, .. } => Action::Delete,
            Change::ReplaceChain { .. } => Action::Update,
        }
    }

    /// The `kind` of SPEC's JSON plan.
    pub fn kind(&self) -> &'static str {
        match self {
            Change::CreateService { .. } | Change::UpdateService { .. } | Change::DeleteService { .. } => "service",
            Change::CreateReal { .. } | Change::UpdateReal { .. } | Change::DeleteReal { .. } => "real_server",
            Change::SetTimeouts { .. } => "ipvs_config",
            Change::ReplaceChain { .. } => "firewall_chain",
        }
    }

    /// `tcp/192.168.2.110:80`, `tcp/192.168.2.110:80/192.168.2.106:80`, `timeouts`, `ipv4/LVSYNC-INPUT`.
    pub fn id(&self) -> String {
        match self {
            Change::CreateService { key, .. }
            | Change::UpdateService { key, .. }
            | Change::DeleteService { key, .. } => key.to_string(),
            Change::CreateReal { service, key, .. }
            | Change::UpdateReal { service, key, .. }
            | Change::DeleteReal { service, key, .. } => format!("{service}/{key}"),
            Change::SetTimeouts { .. } => "timeouts".to_string(),
            Change::ReplaceChain { id, .. } => id.to_string(),
        }
    }

    pub fn is_firewall(&self) -> bool {
        matches!(self, Change::ReplaceChain { .. })
    }
}

/// A service in the kernel that this file does not manage; `plan` lists it, nobody touches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmanaged {
    pub key: ServiceKey,
    pub reals: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    pub changes: Vec<Change>,
    pub unmanaged: Vec<Unmanaged>,
    /// Things the operator should know that are not changes (e.g. a lost inventory).
    pub notes: Vec<String>,
    /// The file's (or the inventory's) name of every service the plan mentions, for display.
    pub names: BTreeMap<ServiceKey, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.action() {
                Action::Create => s.create += 1,
                Action::Update => s.update += 1,
                Action::Delete => s.delete += 1,
            }
        }
        s
    }
}
