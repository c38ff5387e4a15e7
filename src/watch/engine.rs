//! The watch loop's decisions, apart from threads, signals and the kernel: what to read, what
//! to apply and with what scope, what to log and count, when to retry and resync. The kernel
//! side is behind [`Reconciler`], so every decision here is tested without one.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tracing::{debug, error, info, warn};

use super::backoff::Backoff;
use super::drain::{ConnsOf, Draining};
use super::follow::{Check, Detector};
use super::metrics::Metrics;
use super::partial;
use super::touched::{touched, touched_entry};
use super::{Outcome, Trigger};
use crate::backend::Executed;
use crate::director::{self, Director};
use crate::error_chain::error_chain;
use crate::model::{Config, ServiceSpec};
use crate::plan::{Change, Plan};
use crate::state::Overlays;

pub use crate::director::Scope;

fn describe(scope: &Scope) -> String {
    match scope {
        Scope::All => "all".into(),
        Scope::Services(keys) if keys.len() == 1 => "1 service".into(),
        Scope::Services(keys) => format!("{} services", keys.len()),
    }
}

/// Brings the kernel to `config` within `scope`: the director in production.
pub trait Reconciler {
    type Error: std::error::Error + 'static;

    /// `overlays` (health verdicts) are laid over the file's state.
    fn reconcile(
        &mut self,
        config: &Config,
        overlays: &Overlays,
        scope: &Scope,
    ) -> Result<(Plan, Executed), Self::Error>;
}

impl Reconciler for Director {
    type Error = director::Error;

    fn reconcile(
        &mut self,
        config: &Config,
        overlays: &Overlays,
        scope: &Scope,
    ) -> Result<(Plan, Executed), director::Error> {
        let facts = self.real_server_facts()?;
        // A real server's side depends on every service: an edit is reconciled whole.
        let scope = if facts.is_some() { &Scope::All } else { scope };
        // An edit of a few services needs the desired state of those alone: building all of it
        // costs as much as the file is large (tens of milliseconds at 20,000 services).
        let narrowed;
        let config = match scope {
            Scope::All => config,
            Scope::Services(keys) => {
                narrowed = Config {
                    ownership: config.ownership,
                    timeouts: config.timeouts,
                    services: config.services.iter().filter(|s| keys.contains(&s.key)).cloned().collect(),
                    firewall: config.firewall.clone(),
                    sync: config.sync.clone(),
                    ha: config.ha.clone(),
                    node: config.node.clone(),
                    director: config.director.clone(),
                    ipvs_sysctls: config.ipvs_sysctls,
                };
                &narrowed
            }
        };
        let (desired, notes) = crate::desired::for_role(config, overlays, facts.as_ref());
        for note in &notes {
            warn!("{note}");
        }
        let applied = self.apply(director::Target { desired: &desired, ownership: config.ownership }, scope)?;
        Ok((applied.plan, applied.executed))
    }
}

/// Parses and validates the file's text; the error is the rendered diagnostics (with lines).
pub type Parse = Box<dyn Fn(&str) -> Result<Config, String> + Send>;

/// The overlays in effect for a config now (health verdicts); read at every reconcile.
pub type OverlaysOf = Box<dyn Fn(&Config) -> Overlays + Send>;

/// Above this many changes, each one is logged at debug level only (a first apply of thousands).
const LIST_CHANGES_UP_TO: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileState {
    Valid,
    Invalid,
    Unreadable,
}

/// Shared, never copied: at 20,000 services a copy of the config or the text costs more than
/// the whole edit may take.
#[derive(Clone)]
struct Good {
    config: Arc<Config>,
    hash: String,
    /// The text `config` was read from; `None` once an edit was undone (a quick read the
    /// whole file refused): the next edit is then read whole.
    text: Option<Arc<String>>,
}

/// What undoes a quick read's change of one entry in place ([`Engine::patch`]).
struct Undo {
    index: usize,
    before: ServiceSpec,
    hash: String,
    /// The patched config was the one last applied.
    was_applied: bool,
}

/// Why the first read failed: `watch` then exits 1 instead of running without a good file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartError {
    Unreadable(String),
    Invalid(String),
}

pub struct Engine<R: Reconciler> {
    file: PathBuf,
    reconciler: R,
    parse: Parse,
    metrics: Arc<Metrics>,
    detector: Detector,
    file_state: FileState,
    /// The last file that parsed and validated: what is being enforced.
    last_good: Option<Good>,
    /// The config the kernel was last brought to without error.
    applied: Option<Arc<Config>>,
    backoff: Backoff,
    retry_at: Option<Instant>,
    resync_every: Duration,
    next_resync: Instant,
    overlays_of: Option<OverlaysOf>,
    draining: Option<Draining>,
    /// The overlays of the last successful reconcile.
    overlays: Overlays,
}

impl<R: Reconciler> Engine<R> {
    pub fn new(file: &Path, reconciler: R, parse: Parse, metrics: Arc<Metrics>, resync_every: Duration) -> Self {
        Engine {
            file: file.to_path_buf(),
            reconciler,
            parse,
            metrics,
            detector: Detector::default(),
            file_state: FileState::Unreadable,
            last_good: None,
            applied: None,
            backoff: Backoff::default(),
            retry_at: None,
            resync_every,
            next_resync: Instant::now() + resync_every,
            overlays_of: None,
            draining: None,
            overlays: Overlays::default(),
        }
    }

    /// Lay these overlays (health verdicts) over the file at every reconcile.
    pub fn with_overlays(mut self, overlays_of: OverlaysOf) -> Self {
        self.overlays_of = Some(overlays_of);
        self
    }

    /// Drain real servers that leave the file (weight 0 until idle or `drain_timeout`), with
    /// their active connections read by `conns`.
    pub fn with_drains(mut self, conns: ConnsOf) -> Self {
        self.draining = Some(Draining::new(conns));
        self
    }

    /// With drains found before the first reconcile (see [`super::drain::Setup`]).
    pub fn with_drain_setup(mut self, setup: super::drain::Setup) -> Self {
        let mut draining = Draining::new(setup.conns);
        draining.seed(setup.seed);
        self.draining = Some(draining);
        self
    }

    /// The overlays for `config` now: health verdicts and drains.
    fn overlays_now(&self, config: &Config) -> Overlays {
        let mut overlays = self.overlays_of.as_ref().map(|of| of(config)).unwrap_or_default();
        if let Some(d) = &self.draining {
            d.overlay(&mut overlays);
        }
        overlays
    }

    /// The file being enforced.
    pub fn enforced(&self) -> Option<&Config> {
        self.last_good.as_ref().map(|g| &*g.config)
    }

    /// The overlays the kernel was last brought to.
    pub fn overlays(&self) -> &Overlays {
        &self.overlays
    }

    /// A verdict changed: reconcile only the services whose overlays differ now, and nothing if
    /// none does (a down real server `min_healthy` keeps in). A failed reconcile is waiting for
    /// its retry of everything, which reads the overlays then. True when it reconciled and
    /// succeeded.
    pub fn overlays_changed(&mut self) -> bool {
        let Some(good) = &self.last_good else { return false };
        if self.retry_at.is_some() {
            return false;
        }
        let config = good.config.clone();
        let now = self.overlays_now(&config);
        let services = now.services_differing(&self.overlays);
        if services.is_empty() {
            return false;
        }
        self.reconcile(Trigger::Health, &config, Scope::Services(services));
        self.retry_at.is_none()
    }

    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    pub fn reconciler(&self) -> &R {
        &self.reconciler
    }

    pub fn reconciler_mut(&mut self) -> &mut R {
        &mut self.reconciler
    }

    /// Read the file and apply it whole. A file that cannot be read or is invalid is an error
    /// here (there is no last good file to keep); a kernel error is retried like any other.
    pub fn start(&mut self) -> Result<(), StartError> {
        let file = self.file.display().to_string();
        let snap = match self.detector.check(&self.file) {
            Check::Changed(snap) | Check::Same(snap) => snap,
            Check::Unreadable(err) => return Err(StartError::Unreadable(err.to_string())),
        };
        let config = Arc::new((self.parse)(&snap.text).map_err(StartError::Invalid)?);
        info!(trigger = Trigger::Start.as_str(), %file, hash = %snap.hash_text(), "enforcing file");
        self.accept(config.clone(), snap.hash_text(), Some(Arc::new(snap.text)));
        self.reconcile(Trigger::Start, &config, Scope::All);
        Ok(())
    }

    /// The file or a directory on its way changed (or SIGHUP, with `force`: apply even if the
    /// content is the same, and apply all of it).
    pub fn file_event(&mut self, trigger: Trigger) {
        let force = trigger == Trigger::Sighup;
        let file = self.file.display().to_string();
        let reading = Instant::now();
        let check = self.detector.check(&self.file);
        let read_ms = reading.elapsed().as_micros() as f64 / 1000.0;
        let snap = match check {
            Check::Unreadable(err) => {
                self.file_state = FileState::Unreadable;
                self.metrics.file_valid(false);
                self.metrics.reconciled(trigger, Outcome::InvalidFile);
                error!(
                    trigger = trigger.as_str(), %file, error = %err, enforcing = %self.enforcing(),
                    "cannot read the file; still enforcing the last good file"
                );
                return;
            }
            Check::Same(_) if !force && self.file_state != FileState::Unreadable => {
                debug!(trigger = trigger.as_str(), %file, "file content unchanged");
                return;
            }
            Check::Changed(snap) | Check::Same(snap) => snap,
        };
        let hash = snap.hash_text();
        let parsing = Instant::now();
        // The very text last parsed (a SIGHUP, or an edit undone): the same config, shared, with
        // no second copy of the text or the config (at 20,000 services each parse peaks at tens
        // of MiB) and no parse.
        let unchanged = self.last_good.as_ref().and_then(|good| match &good.text {
            Some(text) if **text == snap.text => Some((good.config.clone(), text.clone())),
            _ => None,
        });
        let text = match &unchanged {
            Some((_, text)) => text.clone(),
            None => Arc::new(snap.text),
        };
        // An edit inside one service entry is applied from that entry alone, then checked
        // against the whole file below; SIGHUP always reads the whole file.
        let quick = match &self.last_good {
            Some(Good { config, text: Some(last), .. }) if !force && unchanged.is_none() => {
                partial::reparse(last, config, &text, &*self.parse)
            }
            _ => None,
        };
        let (parsed, undo) = match (unchanged, quick.and_then(|(index, spec)| self.patch(index, spec))) {
            (Some((config, _)), _) => (Ok(config), None),
            (None, Some((config, undo))) => (Ok(config), Some(undo)),
            (None, None) => ((self.parse)(&text).map(Arc::new), None),
        };
        let quick_used = undo.is_some();
        let parse_ms = parsing.elapsed().as_micros() as f64 / 1000.0;
        let config = match parsed {
            Ok(config) => config,
            Err(diagnostics) => {
                self.file_state = FileState::Invalid;
                self.metrics.file_valid(false);
                self.metrics.reconciled(trigger, Outcome::InvalidFile);
                error!(
                    trigger = trigger.as_str(), %file, %hash, error = %diagnostics,
                    enforcing = %self.enforcing(),
                    "file is invalid, nothing changed; still enforcing the last good file"
                );
                return;
            }
        };
        self.accept(config.clone(), hash.clone(), Some(text.clone()));
        // A quick read of the entry last applied: that entry is all that changed.
        let one = undo.as_ref().filter(|u| u.was_applied).map(|u| (&u.before, &config.services[u.index]));
        if let (Some(d), Some((before, after))) = (&mut self.draining, one) {
            d.leaving_one(before, after, SystemTime::now());
        }
        let touched = match (one, &self.applied) {
            _ if force || self.retry_at.is_some() => None,
            (Some((before, after)), _) => Some(touched_entry(before, after, &config)),
            (None, Some(applied)) => Some(touched(applied, &config)),
            (None, None) => None,
        };
        let scope = match touched {
            None => Scope::All,
            Some(t) if t.is_empty() => {
                info!(
                    trigger = trigger.as_str(), %file, %hash,
                    "file changed, but nothing it describes did; nothing to apply"
                );
                self.metrics.reconciled(trigger, Outcome::Success);
                self.applied = Some(config);
                return;
            }
            Some(t) if t.global => Scope::All,
            Some(t) => Scope::Services(t.services),
        };
        info!(
            trigger = trigger.as_str(), %file, %hash, scope = %describe(&scope), read_ms, parse_ms,
            quick = quick_used, "file changed"
        );
        self.reconcile(trigger, &config, scope);
        if let Some(undo) = undo {
            self.check_whole(trigger, &hash, &text, &config, undo);
        }
    }

    /// Entry `index` of the last good config becomes `spec`, in place: at 20,000 services a
    /// copy of the config costs more than the whole edit may take. It stays shared with what
    /// still holds it (copied then), and is no longer the one last applied.
    fn patch(&mut self, index: usize, spec: ServiceSpec) -> Option<(Arc<Config>, Undo)> {
        let mut good = self.last_good.take_if(|g| index < g.config.services.len())?;
        let was_applied = self.applied.as_ref().is_some_and(|a| Arc::ptr_eq(a, &good.config));
        if was_applied {
            self.applied = None;
        }
        let before = std::mem::replace(&mut Arc::make_mut(&mut good.config).services[index], spec);
        // The old text is let go now: at 20,000 services, holding it through the check of the
        // whole file below would add its size to that parse's peak.
        Some((good.config, Undo { index, before, hash: good.hash, was_applied }))
    }

    /// After a quick apply from one entry: parse the whole file. It should agree; if it does not
    /// (or finds the file invalid), the whole file's verdict is what is enforced.
    fn check_whole(&mut self, trigger: Trigger, hash: &str, text: &Arc<String>, quick: &Config, undo: Undo) {
        let file = self.file.display().to_string();
        match (self.parse)(text) {
            Ok(whole) if &whole == quick => debug!(trigger = trigger.as_str(), %file, "whole file checked"),
            Ok(whole) => {
                warn!(
                    trigger = trigger.as_str(), %file,
                    "the whole file differs from the quick read of one entry; applying the whole file"
                );
                let whole = Arc::new(whole);
                self.accept(whole.clone(), hash.to_string(), Some(text.clone()));
                self.reconcile(trigger, &whole, Scope::All);
            }
            Err(diagnostics) => {
                self.file_state = FileState::Invalid;
                self.metrics.file_valid(false);
                self.metrics.reconciled(trigger, Outcome::InvalidFile);
                // Back to the last good file: the entry as it was.
                if let Some(mut good) = self.last_good.take() {
                    Arc::make_mut(&mut good.config).services[undo.index] = undo.before;
                    self.last_good = Some(Good { config: good.config, hash: undo.hash, text: None });
                }
                error!(
                    trigger = trigger.as_str(), %file, %hash, error = %diagnostics,
                    enforcing = %self.enforcing(),
                    "file is invalid; going back to the last good file"
                );
                if let Some(good) = self.last_good.clone() {
                    self.reconcile(trigger, &good.config, Scope::All);
                }
            }
        }
    }

    /// The deadline for [`Engine::tick`]: the next retry, resync or look at draining real
    /// servers.
    pub fn deadline(&self) -> Instant {
        let at = match self.retry_at {
            Some(retry) => retry.min(self.next_resync),
            None => self.next_resync,
        };
        match self.draining.as_ref().and_then(Draining::deadline) {
            Some(drain) => at.min(drain),
            None => at,
        }
    }

    /// Time passed: retry a failed reconcile, or resync to undo drift, when due.
    pub fn tick(&mut self, now: Instant) {
        let Some(config) = self.last_good.as_ref().map(|g| g.config.clone()) else { return };
        if self.draining.as_mut().is_some_and(|d| d.check(now, SystemTime::now())) {
            self.overlays_changed();
        }
        if self.retry_at.is_some_and(|at| at <= now) {
            self.reconcile(Trigger::Retry, &config, Scope::All);
        } else if self.next_resync <= now {
            // File systems without change events (NFS, some FUSE, User-Mode Linux's hostfs) are
            // still followed, at the resync's pace.
            if self.detector.differs(&self.file) {
                warn!(
                    file = %self.file.display(),
                    "the file changed without a file-system event (is it on NFS?); applying it now"
                );
                self.file_event(Trigger::FileChange);
            }
            let Some(config) = self.last_good.as_ref().map(|g| g.config.clone()) else { return };
            self.reconcile(Trigger::Resync, &config, Scope::All);
        }
    }

    fn accept(&mut self, config: Arc<Config>, hash: String, text: Option<Arc<String>>) {
        if self.file_state != FileState::Valid {
            self.metrics.file_valid(true);
        }
        self.file_state = FileState::Valid;
        self.last_good = Some(Good { config, hash, text });
    }

    fn enforcing(&self) -> String {
        match &self.last_good {
            Some(good) => format!("hash {}", good.hash),
            None => "nothing".into(),
        }
    }

    fn reconcile(&mut self, trigger: Trigger, config: &Arc<Config>, scope: Scope) {
        if let (Some(d), Some(prev)) = (&mut self.draining, &self.applied) {
            d.leaving(prev, config, SystemTime::now());
        }
        let overlays = self.overlays_now(config);
        // Services whose verdicts changed meanwhile are brought along.
        let scope = match scope {
            Scope::Services(mut keys) => {
                keys.extend(overlays.services_differing(&self.overlays));
                Scope::Services(keys)
            }
            all => all,
        };
        let started = Instant::now();
        if scope == Scope::All {
            self.next_resync = started + self.resync_every;
        }
        let described = describe(&scope);
        match self.reconciler.reconcile(config, &overlays, &scope) {
            Ok((plan, executed)) => {
                // Metrics first: whoever sees the log line finds them already counted.
                self.metrics.applied(trigger, &plan);
                self.metrics.reconciled(trigger, Outcome::Success);
                let reals = config.services.iter().map(|s| s.service.reals.len()).sum();
                self.metrics.succeeded(SystemTime::now(), config.services.len(), reals);
                let took = started.elapsed();
                self.log_changes(trigger, &plan);
                let s = plan.summary();
                let duration_ms = took.as_micros() as f64 / 1000.0;
                let fields = (s.create, s.update, s.delete);
                if trigger == Trigger::Resync && !plan.is_empty() {
                    warn!(
                        trigger = trigger.as_str(),
                        scope = %described,
                        changes = plan.changes.len(),
                        create = fields.0,
                        update = fields.1,
                        delete = fields.2,
                        writes = executed.writes,
                        duration_ms,
                        "drift corrected: live state had moved away from the file"
                    );
                } else if trigger == Trigger::Resync {
                    debug!(
                        trigger = trigger.as_str(),
                        scope = %described,
                        changes = 0,
                        duration_ms,
                        "resync found no drift"
                    );
                } else {
                    info!(
                        trigger = trigger.as_str(),
                        scope = %described,
                        changes = plan.changes.len(),
                        create = fields.0,
                        update = fields.1,
                        delete = fields.2,
                        writes = executed.writes,
                        duration_ms,
                        "reconciled"
                    );
                }
                for note in &plan.notes {
                    warn!(trigger = trigger.as_str(), note = %note, "note from planning");
                }
                self.applied = Some(config.clone());
                self.overlays = overlays;
                if self.retry_at.take().is_some() {
                    info!(trigger = trigger.as_str(), "recovered: the kernel is as the file says again");
                }
                self.backoff.reset();
            }
            Err(err) => {
                let delay = self.backoff.next_delay();
                self.retry_at = Some(Instant::now() + delay);
                self.metrics.reconciled(trigger, Outcome::Error);
                error!(
                    trigger = trigger.as_str(), scope = %described, error = %error_chain(&err), retry_in_s = delay.as_secs_f64(),
                    "reconcile failed; retrying the whole file"
                );
            }
        }
    }

    fn log_changes(&self, trigger: Trigger, plan: &Plan) {
        let listed = plan.changes.len() <= LIST_CHANGES_UP_TO;
        for change in &plan.changes {
            let (action, kind, id) = (change.action().as_str(), change.kind(), change.id());
            let text = detail(change);
            let detail = (!text.is_empty()).then_some(text.as_str());
            if listed {
                info!(trigger = trigger.as_str(), action, kind, id, detail, "change");
            } else {
                debug!(trigger = trigger.as_str(), action, kind, id, detail, "change");
            }
        }
        if !listed {
            info!(trigger = trigger.as_str(), changes = plan.changes.len(), "changes listed at debug level (-v)");
        }
    }
}

/// What an update changes, `weight 1 -> 5`; empty for creations and deletions.
fn detail(change: &Change) -> String {
    change.info().detail()
}
