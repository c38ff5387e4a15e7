//! `lvsync watch`: follow the file, undo drift, keep the last good state.
//!
//! Threads only deliver events (file watcher, signals, metrics server); one loop takes them in
//! order and decides in [`engine`], so a reconcile never runs concurrently with another.

pub mod backoff;
pub mod drain;
pub mod engine;
pub mod follow;
pub mod health;
pub mod http;
pub mod log;
pub mod metrics;
pub mod partial;
pub mod status;
pub mod stored;
pub mod touched;

pub use log::{LogFormat, init_logging};

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use tracing::{info, warn};

use crate::director::{self, Director};
use engine::{Engine, Parse, Reconciler, StartError};
use follow::{DEBOUNCE, Follower};
use metrics::Metrics;

/// What started a reconcile (a label in logs and metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Start,
    FileChange,
    Sighup,
    Resync,
    Retry,
    /// A health verdict changed.
    Health,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Start => "start",
            Trigger::FileChange => "file_change",
            Trigger::Sighup => "sighup",
            Trigger::Resync => "resync",
            Trigger::Retry => "retry",
            Trigger::Health => "health",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Error,
    InvalidFile,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Error => "error",
            Outcome::InvalidFile => "invalid_file",
        }
    }
}

/// How often a full resync undoes drift when `--resync-interval` is not given.
pub const DEFAULT_RESYNC: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read {path} ({detail}); check the path, then start lvsync watch again")]
    Read { path: PathBuf, detail: String },
    #[error("{path} is invalid, nothing was applied; fix it, then start lvsync watch again\n{diagnostics}")]
    Invalid { path: PathBuf, diagnostics: String },
    /// Not a regular file, too large, not UTF-8, or unreadable.
    #[error(transparent)]
    File(#[from] crate::model::ReadError),
    #[error(transparent)]
    Follow(#[from] follow::Error),
    #[error("--metrics-listen: {0}")]
    MetricsAddress(String),
    #[error("cannot serve metrics on {addr}; choose another --metrics-listen address")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },
    #[error("cannot start the health-checking thread")]
    Health(#[source] io::Error),
    #[error("cannot install the SIGHUP/SIGTERM/SIGINT handlers")]
    Signals(#[source] io::Error),
    #[error(transparent)]
    Director(#[from] director::Error),
    #[error("--resync-interval `{0}` is out of range; give between 1 and {MAX_RESYNC_SECS} seconds (a week)")]
    ResyncInterval(u64),
}

/// The longest `--resync-interval`: a week. Longer gains nothing and, near `u64::MAX` seconds,
/// cannot be added to a clock reading.
pub const MAX_RESYNC_SECS: u64 = 7 * 24 * 3600;

/// `--resync-interval SECS`, checked.
pub fn resync_interval(secs: u64) -> Result<Duration, Error> {
    if secs == 0 || secs > MAX_RESYNC_SECS {
        return Err(Error::ResyncInterval(secs));
    }
    Ok(Duration::from_secs(secs))
}

/// `lvsync watch FILE [--resync-interval SECS] [--metrics-listen ADDR]` with the global options.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    pub file: PathBuf,
    pub resync_interval: Duration,
    /// `PORT`, `:PORT` (loopback) or `HOST:PORT`; `None`: no metrics endpoint.
    pub metrics_listen: Option<String>,
    pub director: director::Options,
}

/// Run `lvsync watch` until SIGTERM or SIGINT.
pub fn run(opts: WatchOptions) -> Result<(), Error> {
    resync_interval(opts.resync_interval.as_secs())?;
    let name = opts.file.display().to_string();
    // A real server is no node of `ha`: only a director picks itself among them.
    let node = (opts.director.role == director::Role::Director).then(|| opts.director.node.clone());
    let load = move |text: &str| {
        let mut config = crate::model::load(text).map_err(|d| d.render(&name).trim_end().to_string())?;
        if let Some(node) = &node {
            config.select_node(node).map_err(|e| format!("{name}: {e}"))?;
        }
        Ok(config)
    };
    // A broken file is reported before the lock or the kernel is touched: nothing to keep yet.
    let text = crate::model::read_file(&opts.file)?;
    let config = load(&text).map_err(|diagnostics| Error::Invalid { path: opts.file.clone(), diagnostics })?;
    drop(text);
    let mut director = Director::open(&opts.director)?;
    // Its own netlink socket: reading connection counts never waits for a reconcile's.
    let mut ipvs =
        crate::ipvs::IpvsBackend::connect().map_err(|e| director::Error::from(crate::backend::Error::from(e)))?;
    let seed = match director.real_server_facts()? {
        None => first_drains(&mut director, &mut ipvs, &config)?,
        Some(_) => Default::default(),
    };
    // The engine reads the file again, as it is then.
    drop(config);
    let conns: drain::ConnsOf =
        Box::new(move |keys| ipvs.active_conns(keys).map_err(|e| crate::error_chain::error_chain(&e)));
    let dir = opts.director.state_dir.clone();
    let listen = opts.metrics_listen.as_deref();
    let drains = drain::Setup { conns, seed };
    run_with(&opts.file, opts.resync_interval, listen, director, Box::new(load), Some(drains), Some(&dir))
}

/// The real servers lvsync applied that left the file while `watch` was not running (or that a
/// one-shot `apply` left draining): drained by the first reconcile, not deleted at once.
fn first_drains(
    director: &mut Director,
    ipvs: &mut crate::ipvs::IpvsBackend,
    config: &crate::model::Config,
) -> Result<crate::health::oneshot::Carry, Error> {
    use crate::health::oneshot;
    let inventory = director.inventory()?;
    let observed = director.observe_ipvs()?;
    let file = crate::desired::desired(config, &Default::default());
    let leaving = oneshot::leaving(&file, &observed, config.ownership, &inventory, &config.state());
    if leaving.is_empty() {
        return Ok(Default::default());
    }
    let conns = match ipvs.active_conns(&oneshot::services_of(&leaving)) {
        Ok(c) => Some(c),
        Err(err) => {
            warn!(error = %crate::error_chain::error_chain(&err), "cannot read the active connections; real servers that left the file drain until their deadline");
            None
        }
    };
    Ok(oneshot::carry(config, &leaving, &observed, &inventory.drains, conns.as_ref(), SystemTime::now()))
}

enum Event {
    File,
    Hangup,
    Stop(i32),
    Health(Box<crate::health::verdict::Transition>),
}

/// The watch daemon over any reconciler: serve metrics, follow the file, apply it, and loop
/// until SIGTERM or SIGINT. Returns `Ok` on a clean stop, leaving the kernel as it is.
pub fn run_with<R: Reconciler>(
    file: &Path,
    resync_every: Duration,
    metrics_listen: Option<&str>,
    reconciler: R,
    parse: Parse,
    drains: Option<drain::Setup>,
    state_dir: Option<&Path>,
) -> Result<(), Error> {
    let metrics = Arc::new(Metrics::new());
    if let Some(text) = metrics_listen {
        let addr = metrics::listen_addr(text).map_err(Error::MetricsAddress)?;
        let listener = TcpListener::bind(addr).map_err(|source| Error::Listen { addr, source })?;
        let addr = listener.local_addr().map_err(|source| Error::Listen { addr, source })?;
        metrics::serve(listener, metrics.clone()).map_err(|source| Error::Listen { addr, source })?;
        info!(%addr, "serving metrics at http://{addr}/metrics");
    }

    // Signals first: a SIGTERM during the first apply then waits for it to finish.
    let (tx, rx) = mpsc::channel();
    let mut signals = Signals::new([SIGHUP, SIGTERM, SIGINT]).map_err(Error::Signals)?;
    let signal_handle = signals.handle();
    let signal_tx = tx.clone();
    std::thread::Builder::new()
        .name("lvsync-signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                let event = if signal == SIGHUP { Event::Hangup } else { Event::Stop(signal) };
                if signal_tx.send(event).is_err() {
                    break;
                }
            }
        })
        .map_err(Error::Signals)?;
    // Watching starts before the first read, so no change can slip between them.
    let file_tx = tx.clone();
    let mut follower = Follower::start(file, DEBOUNCE, move || {
        let _ = file_tx.send(Event::File);
    })?;

    // Probing runs on a thread of its own: it never delays a reconcile or a signal.
    let prober = health::start(tx.clone(), Event::Health, &metrics).map_err(Error::Health)?;
    let mut engine =
        Engine::new(file, reconciler, parse, metrics.clone(), resync_every).with_overlays(health::overlays_of(&prober));
    if let Some(setup) = drains {
        engine = engine.with_drain_setup(setup);
    }
    engine.start().map_err(|err| match err {
        StartError::Unreadable(detail) => Error::Read { path: file.to_path_buf(), detail },
        StartError::Invalid(diagnostics) => Error::Invalid { path: file.to_path_buf(), diagnostics },
    })?;
    let writer = state_dir.map(status::Writer::start).transpose().map_err(Error::Health)?;
    let follow_targets = |engine: &Engine<R>| {
        if let Some(config) = engine.enforced() {
            health::follow(&prober, config, &metrics);
            if let Some(writer) = &writer {
                writer.write(status::pending(
                    config,
                    &prober.shared().verdicts(),
                    engine.overlays(),
                    SystemTime::now(),
                ));
            }
        }
    };
    follow_targets(&engine);

    loop {
        let wait = engine.deadline().saturating_duration_since(Instant::now());
        let first = match rx.recv_timeout(wait) {
            Ok(event) => event,
            Err(RecvTimeoutError::Timeout) => {
                // A directory removed and made again sends no event to the old watch: re-arm,
                // and read the file the re-armed watch may have missed.
                match follower.refresh() {
                    Ok(true) => {
                        engine.file_event(Trigger::FileChange);
                        follow_targets(&engine);
                    }
                    Ok(false) => {}
                    Err(err) => {
                        warn!(error = %crate::error_chain::error_chain(&err), "cannot watch a directory on the file's path; changes there may be seen late")
                    }
                }
                engine.tick(Instant::now());
                follow_targets(&engine);
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        tracing::debug!("event received");
        // Whatever queued up during the last reconcile is handled once.
        let (mut file_changed, mut hangup, mut stop, mut verdicts) = (false, false, None, None);
        for event in std::iter::once(first).chain(rx.try_iter()) {
            match event {
                Event::File => file_changed = true,
                Event::Hangup => hangup = true,
                Event::Stop(signal) => stop = Some(signal),
                Event::Health(t) => {
                    health::log(&t, engine.enforced(), &metrics);
                    verdicts = Some(t.at);
                }
            }
        }
        if let Some(signal) = stop {
            let name = if signal == SIGINT { "SIGINT" } else { "SIGTERM" };
            info!(signal = name, "stopping; the kernel is left as it is");
            break;
        }
        if let Err(err) = follower.refresh().map(|_| ()) {
            warn!(error = %crate::error_chain::error_chain(&err), "cannot watch a directory on the file's path; changes there may be seen late");
        }
        if hangup {
            info!(trigger = Trigger::Sighup.as_str(), "SIGHUP: reloading the file");
            engine.file_event(Trigger::Sighup);
        } else if file_changed {
            engine.file_event(Trigger::FileChange);
        }
        if hangup || file_changed {
            follow_targets(&engine);
        }
        if let Some(decided) = verdicts {
            if engine.overlays_changed() {
                let since = std::time::SystemTime::now().duration_since(decided).unwrap_or_default();
                info!(
                    trigger = Trigger::Health.as_str(),
                    since_probe_ms = since.as_micros() as f64 / 1000.0,
                    "health: the verdicts are in the kernel"
                );
            }
            follow_targets(&engine);
        }
    }
    signal_handle.close();
    Ok(())
}
