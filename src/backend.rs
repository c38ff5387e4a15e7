//! The seam between the pure planner and the kernel: a backend observes live state and
//! executes planned changes. `ipvs` and `firewall` each implement it for their part of the
//! state; [`System`] joins them for the commands.

use crate::plan::Change;
use std::collections::BTreeSet;

use crate::state::{Family, ServiceKey, State};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Ipvs(#[from] crate::ipvs::Error),
    #[error(transparent)]
    Firewall(#[from] crate::firewall::Error),
    #[error("{0}")]
    Unavailable(String),
}

/// What `execute` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Executed {
    /// Changes carried out.
    pub changes: usize,
    /// Kernel writes (netlink requests that change state, iptables-restore runs). A second apply
    /// of the same file must make none.
    pub writes: usize,
}

impl std::ops::AddAssign for Executed {
    fn add_assign(&mut self, rhs: Self) {
        self.changes += rhs.changes;
        self.writes += rhs.writes;
    }
}

pub trait Backend {
    /// Read the part of live state this backend owns into `state`, leaving other parts alone.
    fn observe(&mut self, state: &mut State) -> Result<(), Error>;

    /// Read only these services (absent ones stay absent) into `state`: the fast path of an
    /// incremental reconcile. Backends that hold no services read nothing.
    fn observe_services(&mut self, keys: &BTreeSet<ServiceKey>, state: &mut State) -> Result<(), Error> {
        let mut all = State::default();
        self.observe(&mut all)?;
        state.services.extend(all.services.into_iter().filter(|(k, _)| keys.contains(k)));
        Ok(())
    }

    /// Limit later `observe` calls to the firewall of these families (the others are known to
    /// hold nothing lvsync wants or made). Backends without a firewall ignore it.
    fn focus_firewall(&mut self, _families: &BTreeSet<Family>) {}

    /// Carry out, in order, the changes of `changes` that belong to this backend; ignore others.
    fn execute(&mut self, changes: &[Change]) -> Result<Executed, Error>;
}

/// Every backend of a director, observed and executed together in plan order.
pub struct System {
    pub backends: Vec<Box<dyn Backend>>,
}

impl System {
    pub fn observe(&mut self) -> Result<State, Error> {
        let mut state = State::default();
        for b in &mut self.backends {
            b.observe(&mut state)?;
        }
        Ok(state)
    }

    pub fn observe_services(&mut self, keys: &BTreeSet<ServiceKey>) -> Result<State, Error> {
        let mut state = State::default();
        for b in &mut self.backends {
            b.observe_services(keys, &mut state)?;
        }
        Ok(state)
    }

    pub fn focus_firewall(&mut self, families: &BTreeSet<Family>) {
        for b in &mut self.backends {
            b.focus_firewall(families);
        }
    }

    /// Changes are handed over in runs of one backend's kind, so that apply order (services,
    /// real servers, firewall, then deletions) holds across backends.
    pub fn execute(&mut self, changes: &[Change]) -> Result<Executed, Error> {
        let mut done = Executed::default();
        for run in changes.chunk_by(|a, b| a.is_firewall() == b.is_firewall()) {
            for b in &mut self.backends {
                done += b.execute(run)?;
            }
        }
        Ok(done)
    }
}
