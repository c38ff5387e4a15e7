//! The prober on a thread and a tokio runtime of its own, so that probing never delays a
//! reconcile or signal handling in `watch`, and a slow reconcile never delays a probe.

use std::collections::BTreeSet;
use std::io;
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::sync::mpsc;

use super::limits;
use super::probe::Prober;
use super::schedule::{Scheduler, Shared, Sink};
use super::spec::Target;
use crate::model::Config;

/// The distinct targets of a config: what [`Runner::set_targets`] takes.
pub fn targets(config: &Config) -> BTreeSet<Target> {
    config.services.iter().flat_map(|s| s.health.checks.values().map(|c| c.target.clone())).collect()
}

pub struct Runner {
    commands: mpsc::UnboundedSender<BTreeSet<Target>>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Runner {
    /// Start the probing thread; `sink` gets every transition, on that thread. Raises the
    /// process's soft limit of open files to its hard limit, and counts the descriptors that
    /// probes and kept connections may hold below it ([`limits`]).
    pub fn start(sink: Sink) -> io::Result<Runner> {
        let (nofile, raise_error) = limits::raise_nofile();
        if let Some(e) = raise_error {
            tracing::warn!(error = %e, nofile, "cannot raise the limit of open files; probes and kept connections get fewer descriptors");
        }
        let (descriptors, kept) = (limits::descriptors(nofile), limits::kept(nofile));
        tracing::debug!(nofile, descriptors, kept, "health: descriptors for probes, and for kept connections, at most");
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let (commands, mut rx) = mpsc::unbounded_channel::<BTreeSet<Target>>();
        let (shared_tx, shared_rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new().name("lvsync-health".into()).spawn(move || {
            runtime.block_on(async move {
                let mut scheduler = Scheduler::new(Prober::with_kept_max(kept), sink).with_descriptors(descriptors);
                // The receiver is held by `start` until it returns.
                let _ = shared_tx.send(scheduler.shared());
                while let Some(targets) = rx.recv().await {
                    scheduler.set_targets(&targets);
                }
            });
        })?;
        let shared = shared_rx.recv().map_err(|e| io::Error::other(format!("the health thread did not start: {e}")))?;
        Ok(Runner { commands, shared, thread: Some(thread) })
    }

    /// Probe exactly these targets from now on (see [`Scheduler::set_targets`]).
    pub fn set_targets(&self, targets: BTreeSet<Target>) {
        // Fails only once the thread has ended, and then there is nothing left to probe.
        let _ = self.commands.send(targets);
    }

    /// The verdicts and probe counts, read at any time.
    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        let (closed, _) = mpsc::unbounded_channel();
        // Closing the channel ends the thread's loop; its runtime drops every probe task.
        self.commands = closed;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
