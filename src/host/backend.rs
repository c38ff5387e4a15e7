//! The host on the seam: observes the host's part of the state and executes `HostChange`s.

use std::collections::BTreeSet;

use super::system::{Error, HostSystem};
use crate::backend::{self, Backend, DomainError, Executed};
use crate::plan::{Change, Domain};
use crate::state::{Inventory, Scope, State, SysctlKey};

impl DomainError for Error {
    const DOMAIN: Domain = Domain::Host;
}

/// Reads the host only when the file asks something of it or lvsync changed something on it
/// before: a director whose file has no `director` or `ipvs.sysctls` never lists the host's
/// addresses.
pub struct HostBackend {
    system: Option<HostSystem>,
    /// The sysctls to read: those desired or owned.
    keys: BTreeSet<SysctlKey>,
    active: bool,
}

impl Default for HostBackend {
    fn default() -> Self {
        HostBackend::new()
    }
}

impl HostBackend {
    /// Connects on first use.
    pub fn new() -> HostBackend {
        HostBackend { system: None, keys: BTreeSet::new(), active: true }
    }

    fn system(&mut self) -> Result<&mut HostSystem, Error> {
        let system = match self.system.take() {
            Some(s) => s,
            None => HostSystem::connect()?,
        };
        Ok(self.system.insert(system))
    }
}

impl Backend for HostBackend {
    fn domain(&self) -> Domain {
        Domain::Host
    }

    fn observe_scope(&mut self, scope: &Scope, state: &mut State) -> Result<(), backend::Error> {
        if *scope != Scope::All || !self.active {
            return Ok(());
        }
        let keys = self.keys.clone();
        state.host = self.system()?.observe(&keys)?;
        Ok(())
    }

    fn focus(&mut self, desired: &State, made: &Inventory) {
        self.active = !desired.host.is_empty() || !made.host.is_empty();
        self.keys = desired.host.sysctls.keys().chain(made.host.sysctls.keys()).cloned().collect();
    }

    fn execute(&mut self, changes: &[Change]) -> Result<Executed, backend::Error> {
        let mut done = Executed::default();
        for change in changes {
            if let Change::Host(c) = change {
                self.system()?.apply(c)?;
                done.changes += 1;
                done.writes += 1;
            }
        }
        Ok(done)
    }
}
