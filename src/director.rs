//! A director: the kernel's IPVS table and firewall, the state directory, and the one
//! reconcile loop step every command uses (observe, plan, execute, record, verify).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::backend::{self, Executed, System};
use crate::inventory::{self, Inventory, StateDir};
use crate::model::Config;
use crate::plan::{self, Plan};
use crate::state::{Family, ServiceKey, State, Timeouts};

#[derive(Debug, Clone)]
pub struct Options {
    pub state_dir: PathBuf,
    /// `iptables`, `iptables-legacy` or `iptables-nft`.
    pub iptables: String,
    /// How long to wait for another lvsync's lock.
    pub lock_wait: Duration,
}

/// What a reconcile looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Everything: services, timeouts, firewall.
    All,
    /// Only these services (an edit of the file that touched just them).
    Services(BTreeSet<ServiceKey>),
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    StateDir(#[from] inventory::Error),
    #[error(transparent)]
    Backend(#[from] backend::Error),
    #[error("the kernel does not match the file after applying; {} difference(s) remain: {}", .0.changes.len(), remaining(.0))]
    NotConverged(Plan),
}

fn remaining(p: &Plan) -> String {
    p.changes.iter().map(|c| format!("{} {} {}", c.action().as_str(), c.kind(), c.id())).collect::<Vec<_>>().join("; ")
}

#[derive(Debug, Clone)]
pub struct Planned {
    pub plan: Plan,
    pub observed: State,
    pub desired: State,
}

#[derive(Debug, Clone)]
pub struct Applied {
    pub plan: Plan,
    pub executed: Executed,
}

/// The desired state of a file: its services and timeouts, and its firewall rendered to rules.
pub fn desired_state(config: &Config) -> State {
    let mut state = config.state();
    state.chains = crate::firewall::render(&config.firewall);
    state
}

pub struct Director {
    system: System,
    dir: StateDir,
}

impl Director {
    /// Lock the state directory and connect to the kernel.
    pub fn open(opts: &Options) -> Result<Director, Error> {
        let dir = StateDir::lock(&opts.state_dir, opts.lock_wait)?;
        let system = connect(opts)?;
        Ok(Director { system, dir })
    }

    /// Connect to the kernel and read the state directory without its lock (`plan`, `export`):
    /// a running `watch` holds the lock, and a read-only command never waits for it.
    pub fn open_read_only(opts: &Options) -> Result<Director, Error> {
        let dir = StateDir::read_only(&opts.state_dir)?;
        let system = connect(opts)?;
        Ok(Director { system, dir })
    }

    pub fn with_system(system: System, dir: StateDir) -> Director {
        Director { system, dir }
    }

    pub fn inventory(&self) -> Result<Inventory, Error> {
        Ok(self.dir.load()?)
    }

    /// The live IPVS table alone (for `export`): the firewall is not read.
    pub fn observe_ipvs(&mut self) -> Result<State, Error> {
        self.system.focus_firewall(&BTreeSet::new());
        self.observe(&Scope::All)
    }

    /// Live state, with the names lvsync remembers for the services it applied.
    pub fn observe(&mut self, scope: &Scope) -> Result<State, Error> {
        let inventory = self.dir.load()?;
        self.observe_named(scope, &inventory)
    }

    fn observe_named(&mut self, scope: &Scope, inventory: &Inventory) -> Result<State, Error> {
        let mut state = match scope {
            Scope::All => self.system.observe()?,
            Scope::Services(keys) => self.system.observe_services(keys)?,
        };
        name_services(&mut state, inventory);
        Ok(state)
    }

    pub fn plan(&mut self, config: &Config, scope: &Scope) -> Result<Planned, Error> {
        let inventory = self.dir.load()?;
        self.plan_with(config, scope, &inventory)
    }

    /// One read of the inventory serves a whole apply: plan, record and read-back.
    fn plan_with(&mut self, config: &Config, scope: &Scope, inventory: &Inventory) -> Result<Planned, Error> {
        let desired = desired_state(config);
        self.system.focus_firewall(&firewall_to_read(&desired, inventory));
        let start = Instant::now();
        let observed = self.observe_named(scope, inventory)?;
        tracing::debug!(ms = start.elapsed().as_millis() as u64, "observed the live state");
        let start = Instant::now();
        let (d, o) = (restrict(&desired, scope), restrict(&observed, scope));
        let plan = plan::plan(&d, &o, config.ownership, inventory);
        tracing::debug!(ms = start.elapsed().as_millis() as u64, changes = plan.changes.len(), "planned");
        Ok(Planned { plan, observed, desired })
    }

    /// Make the kernel match the file within `scope`, record what lvsync now manages, and check
    /// that the kernel reads back as planned.
    pub fn apply(&mut self, config: &Config, scope: &Scope) -> Result<Applied, Error> {
        let inventory = self.dir.load()?;
        let planned = self.plan_with(config, scope, &inventory)?;
        self.execute_for(config, &planned.desired, scope, planned.plan, inventory)
    }

    /// Carry out a plan made by [`Director::plan`] for the same file and scope.
    pub fn execute(&mut self, config: &Config, scope: &Scope, plan: Plan) -> Result<Applied, Error> {
        let inventory = self.dir.load()?;
        self.execute_for(config, &desired_state(config), scope, plan, inventory)
    }

    fn execute_for(
        &mut self,
        config: &Config,
        desired: &State,
        scope: &Scope,
        plan: Plan,
        inventory: Inventory,
    ) -> Result<Applied, Error> {
        let wanted = restrict(desired, scope);
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
            if recorded != inventory {
                self.dir.save(&recorded)?;
            }
        }
        let start = Instant::now();
        let executed = self.system.execute(&plan.changes)?;
        tracing::debug!(ms = start.elapsed().as_millis() as u64, writes = executed.writes, "executed the plan");
        let start = Instant::now();

        let mut settled = inventory.clone();
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
        if settled.services != recorded.services || settled.firewall != recorded.firewall || !inventory.found {
            self.dir.save(&settled)?;
        }
        tracing::debug!(ms = start.elapsed().as_millis() as u64, "recorded the inventory");

        if !plan.is_empty() {
            let start = Instant::now();
            let verify = verify_scope(&plan, scope);
            let observed = self.observe_named(&verify, &settled)?;
            let left =
                plan::plan(&restrict(desired, &verify), &restrict(&observed, &verify), config.ownership, &settled);
            if !left.is_empty() {
                return Err(Error::NotConverged(left));
            }
            tracing::debug!(ms = start.elapsed().as_millis() as u64, "read back: the kernel matches the plan");
        }
        Ok(Applied { plan, executed })
    }
}

fn chain_families(state: &State) -> BTreeSet<Family> {
    state.chains.keys().map(|id| id.family).collect()
}

/// The firewall families worth reading: where the file wants rules, and where lvsync made rules
/// before (to remove them); every family when the inventory does not say. A director whose file
/// has no firewall intents then pays for no `iptables-save` at all.
fn firewall_to_read(desired: &State, inventory: &Inventory) -> BTreeSet<Family> {
    match &inventory.firewall {
        Some(made) => made.iter().copied().chain(chain_families(desired)).collect(),
        None => [Family::Ipv4, Family::Ipv6].into(),
    }
}

/// After an apply that touched only services, reading those back is enough.
fn verify_scope(plan: &Plan, scope: &Scope) -> Scope {
    if plan.changes.iter().any(|c| matches!(c.kind(), "firewall_chain" | "ipvs_config")) {
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

/// The part of a state a scope covers; a service scope leaves out timeouts and the firewall.
/// Borrowed when the scope covers all of it: at thousands of services a copy is not free (the
/// read-back after a big apply covers every service).
fn restrict<'a>(state: &'a State, scope: &Scope) -> Cow<'a, State> {
    match scope {
        Scope::All => Cow::Borrowed(state),
        Scope::Services(keys)
            if state.timeouts == Timeouts::default()
                && state.chains.is_empty()
                && state.services.keys().all(|k| keys.contains(k)) =>
        {
            Cow::Borrowed(state)
        }
        Scope::Services(keys) => Cow::Owned(State {
            services: state.services.iter().filter(|(k, _)| keys.contains(k)).map(|(k, s)| (*k, s.clone())).collect(),
            ..State::default()
        }),
    }
}

/// The kernel backends of this machine.
pub fn connect(opts: &Options) -> Result<System, Error> {
    let ipvs = crate::ipvs::IpvsBackend::connect().map_err(backend::Error::from)?;
    let firewall = crate::firewall::Firewall::new(&opts.iptables);
    Ok(System { backends: vec![Box::new(ipvs), Box::new(firewall)] })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Chain, ChainId, Hook};

    fn with_chain(family: Family) -> State {
        let mut s = State::default();
        s.chains.insert(ChainId { family, hook: Hook::Input }, Chain { rules: vec!["-j DROP".into()], jump: true });
        s
    }

    #[test]
    fn the_firewall_is_read_where_the_file_wants_rules_or_lvsync_made_them() {
        let both: BTreeSet<Family> = [Family::Ipv4, Family::Ipv6].into();
        // Unknown (first run, lost or old inventory): read everything.
        assert_eq!(firewall_to_read(&State::default(), &Inventory::default()), both);
        // Known to have made nothing, wanting nothing: read nothing.
        let none_made = Inventory { found: true, firewall: Some(BTreeSet::new()), ..Default::default() };
        assert!(firewall_to_read(&State::default(), &none_made).is_empty());
        // Wanted now, or made before (to be removed).
        assert_eq!(firewall_to_read(&with_chain(Family::Ipv6), &none_made), [Family::Ipv6].into());
        let v4_made = Inventory { found: true, firewall: Some([Family::Ipv4].into()), ..Default::default() };
        assert_eq!(firewall_to_read(&State::default(), &v4_made), [Family::Ipv4].into());
        assert_eq!(firewall_to_read(&with_chain(Family::Ipv6), &v4_made), both);
    }
}
