//! lvsync keeps Linux Virtual Server (IPVS) directors in the state a YAML file describes.
//!
//! Layers, pure core first: [`model`] (the file format) -> [`state`] (normalized state) ->
//! [`plan`] (pure diff) -> backends ([`ipvs`], [`firewall`]) that only observe and execute ->
//! [`cli`], [`watch`], [`lab`].

pub mod backend;
pub mod cli;
pub mod desired;
pub mod director;
pub mod error_chain;
pub mod exec;
pub mod firewall;
pub mod inventory;
pub mod ipvs;
pub mod keepalived;
pub mod lab;
pub mod model;
pub mod plan;
pub mod state;
pub mod watch;
