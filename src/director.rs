//! A director: the kernel's IPVS table and firewall, the state directory, and the one
//! reconcile loop step every command uses (observe, plan, execute, record, verify).

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::backend::{self, Executed, System};
use crate::inventory::{self, Inventory, StateDir};
use crate::plan::{self, Domain, Plan};
pub use crate::state::Scope;
use crate::state::{Family, OwnAddress, Ownership, RealServerFacts, ServiceKey, State};

#[derive(Debug, Clone)]
pub struct Options {
    pub state_dir: PathBuf,
    /// `iptables`, `iptables-legacy` or `iptables-nft`.
    pub iptables: String,
    /// How long to wait for another lvsync's lock.
    pub lock_wait: Duration,
    /// keepalived's configuration and pid files (used when the file has `ha`).
    pub keepalived: crate::keepalived::Options,
    /// This director's name among `ha.nodes`: `--node`, else the hostname.
    pub node: String,
    /// Which side of the file this host is.
    pub role: Role,
}

/// Which side of the file this host is (`--role`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Role {
    /// The IPVS table, the firewall, and the `director` section and `ipvs.sysctls`.
    #[default]
    Director,
    /// Only the host set-up its real servers need. `addresses` (`--address`) are its own
    /// real-server addresses; empty: found on its interfaces.
    RealServer { addresses: Vec<IpAddr> },
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    StateDir(#[from] inventory::Error),
    #[error(transparent)]
    Backend(#[from] backend::Error),
    #[error("cannot read this host's addresses and routes (for `--role real-server`)")]
    Host(#[source] crate::host::Error),
    #[error("{}", incomplete(.made, .not_made))]
    Incomplete {
        /// The plan's changes made before the failure (`None`: not known), and those not made.
        made: Option<Vec<String>>,
        not_made: Vec<String>,
        #[source]
        source: backend::Error,
    },
    #[error("the kernel does not match the file after applying; {} difference(s) remain: {}", .0.changes.len(), remaining(.0))]
    NotConverged(Box<Plan>),
}

fn remaining(p: &Plan) -> String {
    p.changes.iter().map(describe).collect::<Vec<_>>().join("; ")
}

/// `create real_server web/10.0.0.1:80`: a change as the JSON plan names it.
fn describe(c: &plan::Change) -> String {
    format!("{} {} {}", c.action().as_str(), c.kind(), c.id())
}

/// Changes listed in a failure message, at most this many of each kind.
const LISTED: usize = 20;

fn listed(changes: &[String]) -> String {
    let mut s = changes.iter().take(LISTED).cloned().collect::<Vec<_>>().join("; ");
    if changes.len() > LISTED {
        s.push_str(&format!("; and {} more", changes.len() - LISTED));
    }
    s
}

fn incomplete(made: &Option<Vec<String>>, not_made: &[String]) -> String {
    let total = made.as_ref().map_or(0, Vec::len) + not_made.len();
    let made = match made {
        None => {
            return format!(
                "it is not known which of these {total} changes were made before the failure: {} (`lvsync plan` shows what is left)",
                listed(not_made)
            );
        }
        Some(made) if made.is_empty() => format!("none of the {total} changes was made"),
        Some(made) => format!("{} of {total} changes were made: {}", made.len(), listed(made)),
    };
    let rest = match not_made.len() {
        0 => String::new(),
        n => format!("; {n} not made: {}", listed(not_made)),
    };
    format!("{made}{rest} (`lvsync plan` shows what is left)")
}

/// The failure of executing `plan`, with the changes made before it and those not made.
fn incomplete_error(plan: &Plan, source: backend::Error) -> Error {
    let (made, not_made) = match source.made() {
        Some(indices) => {
            let done: BTreeSet<usize> = indices.iter().copied().collect();
            let (made, not_made): (Vec<_>, Vec<_>) =
                plan.changes.iter().enumerate().partition(|(i, _)| done.contains(i));
            let names = |v: Vec<(usize, &plan::Change)>| v.into_iter().map(|(_, c)| describe(c)).collect::<Vec<_>>();
            (Some(names(made)), names(not_made))
        }
        None => (None, plan.changes.iter().map(describe).collect()),
    };
    Error::Incomplete { made, not_made, source }
}

#[derive(Debug, Clone)]
pub struct Planned {
    pub plan: Plan,
    pub observed: State,
}

#[derive(Debug, Clone)]
pub struct Applied {
    pub plan: Plan,
    pub executed: Executed,
}

/// What the director makes the kernel into: a desired state (see [`crate::desired`]) and who
/// owns the IPVS table.
#[derive(Debug, Clone, Copy)]
pub struct Target<'a> {
    pub desired: &'a State,
    pub ownership: Ownership,
}

pub struct Director {
    system: System,
    dir: StateDir,
    role: Role,
    /// The IPVS table read ahead ([`Director::read_ipvs_ahead`]), for the next observation.
    ahead: Option<State>,
    /// The inventory as this director last read or wrote it, kept while it holds the state
    /// directory's lock (nobody else writes it then): `watch` reconciles one service without
    /// reading back thousands of names each time.
    known: Option<Inventory>,
    locked: bool,
}

impl Director {
    /// Lock the state directory and connect to the kernel.
    pub fn open(opts: &Options) -> Result<Director, Error> {
        Self::open_unless(opts, &|| false)
    }

    /// [`Director::open`], but stop waiting for the lock once `give_up` says so.
    pub fn open_unless(opts: &Options, give_up: &dyn Fn() -> bool) -> Result<Director, Error> {
        let dir = StateDir::lock_unless(&opts.state_dir, opts.lock_wait, give_up)?;
        let system = connect(opts)?;
        Ok(Director { system, dir, role: opts.role.clone(), ahead: None, known: None, locked: true })
    }

    /// Connect to the kernel and read the state directory without its lock (`plan`, `export`):
    /// a running `watch` holds the lock, and a read-only command never waits for it.
    pub fn open_read_only(opts: &Options) -> Result<Director, Error> {
        let dir = StateDir::read_only(&opts.state_dir)?;
        let system = connect(opts)?;
        Ok(Director { system, dir, role: opts.role.clone(), ahead: None, known: None, locked: false })
    }

    pub fn with_system(system: System, dir: StateDir) -> Director {
        Director { system, dir, role: Role::Director, ahead: None, known: None, locked: false }
    }

    pub fn role(&self) -> &Role {
        &self.role
    }

    /// On a real server: its own real-server addresses (given, or found on its interfaces;
    /// with the device that holds each, when it is there) and its default routes. `None` on a
    /// director.
    pub fn real_server_facts(&self) -> Result<Option<RealServerFacts>, Error> {
        let Role::RealServer { addresses } = &self.role else { return Ok(None) };
        let mut host = crate::host::HostSystem::connect().map_err(Error::Host)?;
        let found = host.own_addresses().map_err(Error::Host)?;
        let own = if addresses.is_empty() {
            found
        } else {
            let device = |a: &IpAddr| found.iter().find(|o| o.addr == *a).and_then(|o| o.device.clone());
            addresses.iter().map(|a| OwnAddress { addr: *a, device: device(a) }).collect()
        };
        let routes = host.default_routes().map_err(Error::Host)?;
        Ok(Some(RealServerFacts { own, routes }))
    }

    pub fn inventory(&mut self) -> Result<Inventory, Error> {
        self.load_inventory()
    }

    /// Keep exactly these drains in the inventory (a one-shot `apply`, before it changes the
    /// kernel): the next `apply` or `watch` finishes them.
    pub fn record_drains(
        &mut self,
        drains: &BTreeMap<crate::state::RealOf, crate::state::DrainRecord>,
    ) -> Result<(), Error> {
        let mut inventory = self.load_inventory()?;
        if inventory.drains != *drains {
            inventory.drains = drains.clone();
            self.save_inventory(&inventory)?;
        }
        Ok(())
    }

    /// The live IPVS table and sync daemons alone (for `export`): no other domain is read.
    pub fn observe_ipvs(&mut self) -> Result<State, Error> {
        let inventory = self.load_inventory()?;
        let mut state = self.system.observe_domain(Domain::Ipvs)?;
        state.sync = self.system.observe_domain(Domain::IpvsSync)?.sync;
        name_services(&mut state, &inventory);
        Ok(state)
    }

    /// Live state, with the names lvsync remembers for the services it applied.
    pub fn observe(&mut self, scope: &Scope) -> Result<State, Error> {
        let inventory = self.load_inventory()?;
        self.observe_named(scope, &inventory)
    }

    fn load_inventory(&mut self) -> Result<Inventory, Error> {
        if let Some(known) = &self.known {
            return Ok(known.clone());
        }
        let inventory = self.dir.load()?;
        if self.locked {
            self.known = Some(inventory.clone());
        }
        Ok(inventory)
    }

    fn save_inventory(&mut self, inventory: &Inventory) -> Result<(), Error> {
        self.known = None;
        self.dir.save(inventory)?;
        if self.locked {
            // As a read of the file just written would find it.
            self.known = Some(Inventory { found: true, ..inventory.clone() });
        }
        Ok(())
    }

    /// Read the IPVS table now, for the next observation of everything to use instead of
    /// reading it again: a command reads it while another thread parses the file. The IPVS
    /// read needs nothing from the file; the firewall and host reads, which do (see
    /// [`Backend::focus`](crate::backend::Backend::focus)), wait for the plan.
    pub fn read_ipvs_ahead(&mut self) -> Result<(), Error> {
        let start = Instant::now();
        self.ahead = Some(self.system.observe_domain(Domain::Ipvs)?);
        tracing::debug!(ms = start.elapsed().as_millis() as u64, rss_kib = resident_kib(), "read the IPVS table ahead");
        Ok(())
    }

    /// Use `table`, a read of the whole IPVS table made by the caller (`export`, which reads
    /// the connections in the same dumps), for the next observation of everything, as
    /// [`Director::read_ipvs_ahead`] would. On a real server, which has no IPVS, it is dropped.
    pub fn use_ipvs_read(&mut self, table: State) {
        if matches!(self.role, Role::Director) {
            self.ahead = Some(table);
        }
    }

    fn observe_named(&mut self, scope: &Scope, inventory: &Inventory) -> Result<State, Error> {
        let mut state = match (scope, self.ahead.take()) {
            (Scope::All, Some(mut state)) => {
                for b in self.system.backends.iter_mut().filter(|b| b.domain() != Domain::Ipvs) {
                    b.observe_scope(scope, &mut state)?;
                }
                state
            }
            _ => self.system.observe(scope)?,
        };
        name_services(&mut state, inventory);
        Ok(state)
    }

    pub fn plan(&mut self, target: Target, scope: &Scope) -> Result<Planned, Error> {
        let inventory = self.load_inventory()?;
        self.plan_with(target, scope, &inventory)
    }

    /// One read of the inventory serves a whole apply: plan, record and read-back.
    fn plan_with(&mut self, target: Target, scope: &Scope, inventory: &Inventory) -> Result<Planned, Error> {
        let desired = target.desired;
        self.system.focus(desired, inventory);
        let start = Instant::now();
        let observed = self.observe_named(scope, inventory)?;
        tracing::debug!(ms = start.elapsed().as_millis() as u64, rss_kib = resident_kib(), "observed the live state");
        let start = Instant::now();
        let (d, o) = (scope.restrict(desired), scope.restrict(&observed));
        let plan = plan::plan(&d, &o, target.ownership, inventory);
        tracing::debug!(
            ms = start.elapsed().as_millis() as u64,
            rss_kib = resident_kib(),
            changes = plan.changes.len(),
            "planned"
        );
        Ok(Planned { plan, observed })
    }

    /// Make the kernel match the desired state within `scope`, record what lvsync now manages,
    /// and check that the kernel reads back as planned.
    pub fn apply(&mut self, target: Target, scope: &Scope) -> Result<Applied, Error> {
        let inventory = self.load_inventory()?;
        let planned = self.plan_with(target, scope, &inventory)?;
        self.execute_for(target, scope, planned.plan, inventory)
    }

    /// Carry out a plan made by [`Director::plan`] for the same target and scope.
    pub fn execute(&mut self, target: Target, scope: &Scope, plan: Plan) -> Result<Applied, Error> {
        let inventory = self.load_inventory()?;
        self.execute_for(target, scope, plan, inventory)
    }

    fn execute_for(
        &mut self,
        target: Target,
        scope: &Scope,
        plan: Plan,
        inventory: Inventory,
    ) -> Result<Applied, Error> {
        let desired = target.desired;
        let wanted = scope.restrict(desired);
        let mut recorded = inventory.clone();
        if !plan.is_empty() {
            // Write ahead: whatever this apply creates is recorded as lvsync's before it exists,
            // so that a crash half-way never leaves services lvsync made but does not know.
            for (key, svc) in &wanted.services {
                recorded.services.insert(*key, svc.name.clone());
            }
            if let Some(made) = &mut recorded.firewall {
                made.extend(chain_families(&wanted));
            }
            for change in &plan.changes {
                change.info().record(&mut recorded, false);
            }
            if recorded != inventory {
                self.save_inventory(&recorded)?;
            }
        }
        let start = Instant::now();
        let executed = self.system.execute(&plan.changes).map_err(|e| incomplete_error(&plan, e))?;
        tracing::debug!(
            ms = start.elapsed().as_millis() as u64,
            rss_kib = resident_kib(),
            writes = executed.writes,
            "executed the plan"
        );
        let start = Instant::now();

        let mut settled = inventory.clone();
        settled.host = recorded.host.clone();
        settled.sync = recorded.sync.clone();
        for change in &plan.changes {
            change.info().record(&mut settled, true);
        }
        match scope {
            Scope::All => {
                settled.services = names_of(desired);
                settled.firewall = Some(chain_families(desired));
            }
            Scope::Services(keys) => {
                for key in keys {
                    match desired.services.get(key) {
                        Some(svc) => settled.services.insert(*key, svc.name.clone()),
                        None => settled.services.remove(key),
                    };
                }
            }
        }
        if settled.services != recorded.services
            || settled.firewall != recorded.firewall
            || settled.host != recorded.host
            || settled.sync != recorded.sync
            || !inventory.found
        {
            self.save_inventory(&settled)?;
        }
        tracing::debug!(ms = start.elapsed().as_millis() as u64, rss_kib = resident_kib(), "recorded the inventory");

        if !plan.is_empty() {
            let start = Instant::now();
            let verify = verify_scope(&plan, scope);
            let observed = self.observe_named(&verify, &settled)?;
            let left = plan::plan(&verify.restrict(desired), &verify.restrict(&observed), target.ownership, &settled);
            if !left.is_empty() {
                return Err(Error::NotConverged(Box::new(left)));
            }
            tracing::debug!(
                ms = start.elapsed().as_millis() as u64,
                rss_kib = resident_kib(),
                "read back: the kernel matches the plan"
            );
        }
        Ok(Applied { plan, executed })
    }
}

fn chain_families(state: &State) -> BTreeSet<Family> {
    state.chains.keys().map(|id| id.family).collect()
}

/// After an apply that touched only services, reading those back is enough.
fn verify_scope(plan: &Plan, scope: &Scope) -> Scope {
    if plan.changes.iter().any(|c| c.info().service().is_none()) {
        return scope.clone();
    }
    Scope::Services(plan::touched_services(&plan.changes))
}

fn names_of(state: &State) -> BTreeMap<ServiceKey, Option<String>> {
    state.services.iter().map(|(k, s)| (*k, s.name.clone())).collect()
}

fn name_services(state: &mut State, inventory: &Inventory) {
    for (key, svc) in &mut state.services {
        if svc.name.is_none() {
            svc.name = inventory.services.get(key).cloned().flatten();
        }
    }
}

/// The kernel backends of this machine: on a real server, only the host's.
pub fn connect(opts: &Options) -> Result<System, Error> {
    if let Role::RealServer { .. } = opts.role {
        return Ok(System { backends: vec![Box::new(crate::host::HostBackend::new())] });
    }
    let ipvs = crate::ipvs::IpvsBackend::connect().map_err(backend::Error::from)?;
    let firewall = crate::firewall::Firewall::new(&opts.iptables);
    let sync = crate::ipvs::SyncBackend::connect().map_err(backend::Error::from)?;
    let keepalived = crate::keepalived::KeepalivedBackend::new(opts.keepalived.clone());
    let host = crate::host::HostBackend::new();
    Ok(System {
        backends: vec![Box::new(ipvs), Box::new(firewall), Box::new(host), Box::new(sync), Box::new(keepalived)],
    })
}

/// This process's resident memory now, in KiB (for the debug log of each step; 0 where
/// /proc cannot say).
fn resident_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    // SAFETY: sysconf only reads a system constant.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(0) as u64;
    pages * page / 1024
}
