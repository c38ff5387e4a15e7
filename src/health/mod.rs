//! Health checking of real servers: the resolved settings ([`spec`]), the pure verdict and
//! pool logic that turns probe results into weight overrides, drain deadlines, and the probers
//! that run on their own thread. What is not here: applying overrides to the kernel (the
//! desired-state overlay does that).

pub mod drain;
pub mod pool;
pub mod spec;
pub mod verdict;
