//! Observed state -> a desired-state file that reproduces it.

use crate::state::State;

pub fn export(_state: &State) -> String {
    String::new()
}
