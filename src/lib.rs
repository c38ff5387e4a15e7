//! lvsync keeps Linux Virtual Server (IPVS) directors in the state a YAML file describes.
//!
//! Layers, pure core first: [`state`] (normalized state) -> [`plan`] (pure diff, one module per
//! domain) -> [`model`] (the file format) -> [`backend`] (the seam) -> the backends ([`ipvs`],
//! [`firewall`], [`host`]) that only observe and execute -> [`desired`] (file + overlays -> state) and
//! [`inventory`] -> [`director`] -> [`cli`], [`watch`], [`lab`]. See docs/architecture.md.

pub mod backend;
pub mod cli;
pub mod desired;
pub mod director;
pub mod error_chain;
pub mod exec;
pub mod firewall;
pub mod health;
pub mod host;
pub mod import;
pub mod inventory;
pub mod ipvs;
pub mod keepalived;
pub mod lab;
pub mod model;
pub mod plan;
pub mod review;
pub mod snapshot;
pub mod state;
pub mod watch;
