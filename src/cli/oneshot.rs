//! What `plan` and `apply` want besides the file: the health verdicts `watch` left in the state
//! dir (a real server found down stays out), and the drains of real servers that left the file
//! (weight 0 until idle or their deadline, kept in the inventory between runs).

use std::cell::OnceCell;
use std::collections::BTreeMap;
use std::time::SystemTime;

use crate::desired::{desired, for_role};
use crate::director::{Director, Options, Planned, Scope, Target};
use crate::health::{advice, oneshot, pool};
use crate::model::Config;
use crate::plan::{self, Draining, Plan};
use crate::state::{DrainRecord, Overlays, RealOf, State};
use crate::watch::{status, stored};

pub(super) struct Wanted {
    pub desired: State,
    pub notes: Vec<String>,
    /// Why real servers differ from the file, and the drains under way: for the plan.
    pub reasons: BTreeMap<RealOf, String>,
    pub draining: Vec<Draining>,
    /// The drains to keep in the inventory (`None` on a real server: nothing drains there).
    pub records: Option<BTreeMap<RealOf, DrainRecord>>,
}

impl Wanted {
    pub fn annotate(&self, plan: &mut Plan) {
        plan.notes.extend(self.notes.iter().cloned());
        plan.reasons.extend(self.reasons.iter().map(|(k, v)| (*k, v.clone())));
        plan.draining.extend(self.draining.iter().cloned());
    }
}

/// The desired state of this host's role, with the stored verdicts and the drains laid over it,
/// and its plan (annotated): the kernel is read once.
pub(super) fn wanted(director: &mut Director, g: &Options, config: &Config) -> anyhow::Result<(Wanted, Planned)> {
    let facts = director.real_server_facts()?;
    if facts.is_some() {
        let (desired, notes) = for_role(config, &Overlays::default(), facts.as_ref());
        let mut planned = director.plan(Target { desired: &desired, ownership: config.ownership }, &Scope::All)?;
        let (reasons, draining) = (BTreeMap::new(), Vec::new());
        let wanted = Wanted { desired, notes, reasons, draining, records: None };
        wanted.annotate(&mut planned.plan);
        return Ok((wanted, planned));
    }
    let now = SystemTime::now();
    // The record covers every real server (25 MB at 20,000 services): read only when the file
    // probes something.
    let probed = config.services.iter().any(|s| !s.health.checks.is_empty());
    let loaded = if probed { status::load(&g.state_dir) } else { Ok(status::Loaded::NoRecord) };
    let health = Health::of(config, loaded, now);
    let inventory = director.inventory()?;
    let want = desired(config, &health.overlays);
    let mut planned = director.plan(Target { desired: &want, ownership: config.ownership }, &Scope::All)?;
    let wanted = health.with_drains(config, want, &mut planned, &inventory, Conns::Kernel, now);
    Ok((wanted, planned))
}

/// What `plan` against a snapshot wants: the same as [`wanted`] on the director at the time the
/// snapshot was taken (`now`), from the verdicts, drains and active connections the snapshot
/// holds (`conns`: `None` from a snapshot without them).
pub(super) fn wanted_offline(
    config: &Config,
    record: Option<status::Record>,
    observed: State,
    inventory: &crate::state::Inventory,
    conns: Option<BTreeMap<RealOf, u32>>,
    now: SystemTime,
) -> (Wanted, Planned) {
    let loaded = Ok(record.map_or(status::Loaded::NoRecord, status::Loaded::Record));
    let health = Health::of(config, loaded, now);
    let want = desired(config, &health.overlays);
    let plan = plan::plan(&want, &observed, config.ownership, inventory);
    let mut planned = Planned { plan, observed };
    let conns = conns.map_or(Conns::NotKnown, Conns::Given);
    let wanted = health.with_drains(config, want, &mut planned, inventory, conns, now);
    (wanted, planned)
}

/// Where the active connections of real servers that leave the file come from.
enum Conns {
    Kernel,
    Given(BTreeMap<RealOf, u32>),
    /// A snapshot from before they were recorded.
    NotKnown,
}

/// The stored verdicts that still apply, laid over the file.
struct Health {
    overlays: Overlays,
    notes: Vec<String>,
    reasons: BTreeMap<RealOf, String>,
}

impl Health {
    fn of(config: &Config, loaded: Result<status::Loaded, status::Error>, now: SystemTime) -> Health {
        let mut notes = advice::warnings(config);
        let verdicts = match loaded {
            Ok(status::Loaded::Record(record)) => {
                let (verdicts, note) = stored::verdicts(config, &record, now);
                notes.extend(note);
                verdicts
            }
            Ok(_) => Default::default(),
            Err(err) => {
                notes.push(format!(
                    "the health verdicts in the state dir cannot be read ({}); planning without them",
                    crate::error_chain::error_chain(&err)
                ));
                Default::default()
            }
        };
        let overlays = pool::state_overlays(config, &verdicts);
        let mut reasons: BTreeMap<RealOf, String> =
            overlays.weights.iter().map(|(k, w)| (*k, w.reason.clone())).collect();
        reasons.extend(overlays.removed.iter().map(|(k, r)| (*k, r.clone())));
        reasons.extend(overlays.added.iter().map(|(k, a)| (*k, a.reason.clone())));
        Health { overlays, notes, reasons }
    }

    /// Real servers the plan deletes drain first (kept at weight 0, in the inventory between
    /// runs): the plan of `want` is made again with them, and annotated.
    fn with_drains(
        self,
        config: &Config,
        mut want: State,
        planned: &mut Planned,
        inventory: &crate::state::Inventory,
        conns: Conns,
        now: SystemTime,
    ) -> Wanted {
        let Health { mut overlays, mut notes, mut reasons } = self;
        // The file's real servers by service, looked up only if the plan deletes something.
        let in_file = OnceCell::new();
        let listed = |at: &RealOf| {
            in_file.get_or_init(|| config.reals_by_service()).get(&at.0).is_some_and(|r| r.contains_key(&at.1))
        };
        let leaving = oneshot::leaving_in(&planned.plan.changes, listed);
        let conns = match conns {
            _ if leaving.is_empty() => Some(BTreeMap::new()),
            Conns::Kernel => {
                let read = active_conns(&oneshot::services_of(&leaving));
                if read.is_none() {
                    notes.push("the active connections of real servers that left the file cannot be read: they drain until their deadline".into());
                }
                read
            }
            Conns::Given(conns) => Some(conns),
            Conns::NotKnown => {
                notes.push("the snapshot holds no active connections (it is from an older lvsync): real servers that left the file are shown draining until their deadline; on the director an idle one is deleted at once".into());
                None
            }
        };
        let carry = oneshot::carry(config, &leaving, &planned.observed, &inventory.drains, conns.as_ref(), now);
        if !carry.overlays.is_empty() {
            overlays.drains = carry.overlays.drains;
            overlays.kept = carry.overlays.kept;
            want = desired(config, &overlays);
            // The same observation, planned again with the drains: a pure step.
            planned.plan = plan::plan(&want, &planned.observed, config.ownership, inventory);
        }
        reasons.extend(carry.reasons);
        let wanted = Wanted { desired: want, notes, reasons, draining: carry.draining, records: Some(carry.records) };
        wanted.annotate(&mut planned.plan);
        wanted
    }
}

/// Active connections from the kernel, on a netlink socket of their own; `None` (logged) when
/// they cannot be read.
fn active_conns(services: &[crate::state::ServiceKey]) -> Option<BTreeMap<RealOf, u32>> {
    let read = crate::ipvs::IpvsBackend::connect().and_then(|mut ipvs| ipvs.active_conns(services));
    match read {
        Ok(conns) => Some(conns),
        Err(err) => {
            tracing::warn!(error = %crate::error_chain::error_chain(&err), "cannot read the active connections");
            None
        }
    }
}
