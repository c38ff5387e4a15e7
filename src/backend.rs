//! The seam between the pure planner and the kernel. Every domain of state has one backend,
//! which observes its part of [`State`] within a [`Scope`] and executes its domain's changes;
//! [`System`] holds a director's backends and runs them together, phase by phase. The seam
//! knows no domain: each backend names its [`Domain`] and its error type.

use crate::plan::{Change, Domain};
use crate::state::{Inventory, Scope, State};

/// A domain's own error type, which the seam carries (boxed) without knowing it.
pub trait DomainError: std::error::Error + Send + Sync + 'static {
    const DOMAIN: Domain;
}

/// A backend's failure: its domain's error, boxed. Displayed as that error and transparent to
/// its source chain, so an error chain reads the same as the domain's own.
#[derive(Debug)]
pub struct Error {
    domain: Domain,
    error: Box<dyn std::error::Error + Send + Sync>,
    /// For a failed `execute`: the changes (indices into the changes it was given; after
    /// [`System::execute`], into the whole plan) made before it failed. `None`: not known.
    made: Option<Vec<usize>>,
}

impl Error {
    pub fn domain(&self) -> Domain {
        self.domain
    }

    /// Says which of the changes given to `execute` were made before the failure.
    pub fn with_made(mut self, made: Vec<usize>) -> Error {
        self.made = Some(made);
        self
    }

    /// Which changes were made before a failed `execute`, if the backend said.
    pub fn made(&self) -> Option<&[usize]> {
        self.made.as_deref()
    }

    /// The domain's error, if it is of type `E`.
    pub fn downcast_ref<E: DomainError>(&self) -> Option<&E> {
        self.error.downcast_ref()
    }
}

impl<E: DomainError> From<E> for Error {
    fn from(error: E) -> Error {
        Error { domain: E::DOMAIN, error: Box::new(error), made: None }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
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

/// One domain's observer and executor.
pub trait Backend {
    fn domain(&self) -> Domain;

    /// Read the part of live state this backend owns, within `scope`, into `state`, leaving
    /// other parts alone. A scope of services only reads nothing in domains without services.
    fn observe_scope(&mut self, scope: &Scope, state: &mut State) -> Result<(), Error>;

    /// Everything this backend owns.
    fn observe(&mut self, state: &mut State) -> Result<(), Error> {
        self.observe_scope(&Scope::All, state)
    }

    /// Before a plan: what the file wants and what lvsync made before, so that a backend can
    /// leave out of later observations what cannot matter. By default it reads everything.
    fn focus(&mut self, _desired: &State, _made: &Inventory) {}

    /// Carry out, in order, the changes of `changes` that belong to this domain; ignore others.
    /// A failure says which of them were made ([`Error::with_made`]).
    fn execute(&mut self, changes: &[Change]) -> Result<Executed, Error>;
}

/// Every backend of a director, observed and executed together in plan order.
pub struct System {
    pub backends: Vec<Box<dyn Backend>>,
}

impl System {
    pub fn observe(&mut self, scope: &Scope) -> Result<State, Error> {
        let mut state = State::default();
        for b in &mut self.backends {
            b.observe_scope(scope, &mut state)?;
        }
        Ok(state)
    }

    /// One domain's part of live state alone.
    pub fn observe_domain(&mut self, domain: Domain) -> Result<State, Error> {
        let mut state = State::default();
        for b in self.backends.iter_mut().filter(|b| b.domain() == domain) {
            b.observe(&mut state)?;
        }
        Ok(state)
    }

    pub fn focus(&mut self, desired: &State, made: &Inventory) {
        for b in &mut self.backends {
            b.focus(desired, made);
        }
    }

    /// A plan is in phase order; each run of one domain's changes goes to that domain's backend,
    /// so that the order holds across backends. A failure says which of `changes` were made
    /// (every run before the failing one, and what its backend made of it), when it is known.
    pub fn execute(&mut self, changes: &[Change]) -> Result<Executed, Error> {
        let mut done = Executed::default();
        let mut start = 0;
        for run in changes.chunk_by(|a, b| a.domain() == b.domain()) {
            let domain = run[0].domain();
            for b in self.backends.iter_mut().filter(|b| b.domain() == domain) {
                match b.execute(run) {
                    Ok(executed) => done += executed,
                    Err(mut err) => {
                        err.made = err.made.map(|made| (0..start).chain(made.into_iter().map(|i| start + i)).collect());
                        return Err(err);
                    }
                }
            }
            start += run.len();
        }
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{ChainChange, IpvsChange};
    use crate::state::{ChainId, Timeouts};

    #[derive(Debug, thiserror::Error)]
    #[error("refused")]
    struct Refused;

    impl DomainError for Refused {
        const DOMAIN: Domain = Domain::Firewall;
    }

    /// Makes every change it is given but refuses the `fail_at`-th of its own (0-based).
    struct Counting {
        domain: Domain,
        fail_at: Option<usize>,
    }

    impl Backend for Counting {
        fn domain(&self) -> Domain {
            self.domain
        }

        fn observe_scope(&mut self, _: &Scope, _: &mut State) -> Result<(), Error> {
            Ok(())
        }

        fn execute(&mut self, changes: &[Change]) -> Result<Executed, Error> {
            match self.fail_at {
                Some(n) if n < changes.len() => Err(Error::from(Refused).with_made((0..n).collect())),
                _ => Ok(Executed { changes: changes.len(), writes: changes.len() }),
            }
        }
    }

    /// The indices a backend reports are its own run's; the seam makes them the plan's, with
    /// every earlier run counted as made.
    #[test]
    fn a_failure_names_made_changes_by_their_place_in_the_plan() {
        let ipvs = Change::Ipvs(IpvsChange::SetTimeouts { before: Timeouts::default(), after: Timeouts::default() });
        let chain = |i: usize| Change::Firewall(ChainChange { id: ChainId::all()[i], before: None, after: None });
        let plan = [ipvs.clone(), ipvs, chain(0), chain(1), chain(2)];
        let mut system = System {
            backends: vec![
                Box::new(Counting { domain: Domain::Ipvs, fail_at: None }),
                Box::new(Counting { domain: Domain::Firewall, fail_at: Some(2) }),
            ],
        };
        let err = system.execute(&plan).unwrap_err();
        assert_eq!(err.made(), Some(&[0, 1, 2, 3][..]));
        assert_eq!(err.to_string(), "refused");
    }
}
