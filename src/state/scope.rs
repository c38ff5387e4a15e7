//! What a reconcile looks at: the typed read-back scope every domain understands.

use std::borrow::Cow;
use std::collections::BTreeSet;

use super::{ServiceKey, State, Timeouts};

/// What a reconcile observes, plans and reads back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Everything, in every domain.
    All,
    /// Only these IPVS services (an edit of the file that touched just them); no other domain.
    Services(BTreeSet<ServiceKey>),
}

impl Scope {
    /// The part of `state` this scope covers. Borrowed when the scope covers all of it: at
    /// thousands of services a copy is not free (the read-back after a big apply covers every
    /// service).
    pub fn restrict<'a>(&self, state: &'a State) -> Cow<'a, State> {
        match self {
            Scope::All => Cow::Borrowed(state),
            Scope::Services(keys)
                if state.timeouts == Timeouts::default()
                    && state.chains.is_empty()
                    && state.sync.is_none()
                    && state.keepalived.is_none()
                    && state.host.is_empty()
                    && state.services.keys().all(|k| keys.contains(k)) =>
            {
                Cow::Borrowed(state)
            }
            Scope::Services(keys) => Cow::Owned(State {
                services: state
                    .services
                    .iter()
                    .filter(|(k, _)| keys.contains(k))
                    .map(|(k, s)| (*k, s.clone()))
                    .collect(),
                ..State::default()
            }),
        }
    }
}
