//! Health checking inside `watch`: the prober runs on its own thread ([`Runner`]); each
//! transition comes into the watch loop as an event, is logged once with its reason and counted,
//! and the engine reconciles only the services whose overlays it changed.

use std::io;
use std::sync::Arc;
use std::sync::mpsc::Sender;

use tracing::{info, warn};

use super::metrics::Metrics;
use crate::health::pool;
use crate::health::runner::{self, Runner};
use crate::health::verdict::{State, Transition};
use crate::model::Config;

/// Start the prober; every transition is sent as `wrap(transition)` into the loop's channel.
pub fn start<E: Send + 'static>(
    tx: Sender<E>,
    wrap: fn(Box<Transition>) -> E,
    metrics: &Metrics,
) -> io::Result<Runner> {
    let tx = std::sync::Mutex::new(tx);
    let sink = Arc::new(move |t: Transition| {
        if let Ok(tx) = tx.lock() {
            let _ = tx.send(wrap(Box::new(t)));
        }
    });
    let runner = Runner::start(sink)?;
    metrics.probes_from(runner.shared().clone());
    Ok(runner)
}

/// The engine's overlays, from the prober's verdicts now.
pub fn overlays_of(runner: &Runner) -> super::engine::OverlaysOf {
    let shared = runner.shared().clone();
    Box::new(move |config: &Config| pool::state_overlays(config, &shared.verdicts()))
}

/// Probe what `config` asks for (unchanged targets keep their verdicts and rhythm).
pub fn follow(runner: &Runner, config: &Config, metrics: &Metrics) {
    runner.set_targets(runner::targets(config));
    metrics.real_servers_up(config, &runner.shared().verdicts());
}

/// One log line per transition, naming every real server of the file it stands for.
pub fn log(t: &Transition, config: Option<&Config>, metrics: &Metrics) {
    metrics.transition(t.to.as_str());
    let mut used_by = Vec::new();
    for s in config.map(|c| c.services.as_slice()).unwrap_or_default() {
        for (key, check) in &s.health.checks {
            if check.target == t.target {
                used_by.push(format!("{key} of {}", s.name));
            }
        }
    }
    let target = format!("{} {}:{}", t.target.kind.name(), t.target.address, t.target.port);
    let real_servers = used_by.join(", ");
    match t.to {
        State::Down => warn!(target, to = "down", reason = %t.reason, real_servers, "health: real server down"),
        State::Up => info!(target, to = "up", reason = %t.reason, real_servers, "health: real server up"),
    }
}
