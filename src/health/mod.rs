//! Health checking of real servers: the resolved settings ([`spec`]), the pure verdict
//! ([`verdict`]), pool ([`pool`]) and drain ([`drain`]) logic that turn probe results into
//! weight overrides, and the probers ([`probe`]) that [`schedule`] runs on a thread of their own
//! ([`runner`]). Not here: applying overrides to the kernel; the desired-state overlay does that.
//!
//! How `watch` uses it:
//! 1. `let runner = runner::Runner::start(sink)?` once; `sink` gets every [`verdict::Transition`]
//!    the moment it is decided, on the probing thread (send it into the watch loop's channel).
//! 2. On every good file: `runner.set_targets(runner::targets(&config))`. Unchanged targets
//!    keep their verdicts and rhythm; new ones start spread over one interval.
//! 3. To reconcile: `pool::overlays(&config, &runner.shared().verdicts())` gives, per service
//!    and real server, the [`pool::Action`] (weight 0, remove, or add the fallback) and the
//!    reason `plan` prints. [`drain::Drains`] does the same for real servers leaving the file.

pub mod advice;
pub mod drain;
pub mod limits;
pub mod oneshot;
pub mod pool;
pub mod probe;
pub mod runner;
pub mod schedule;
/// The resolved settings: pure data, in the state layer (the file format resolves into them).
pub use crate::state::health as spec;
pub mod verdict;
