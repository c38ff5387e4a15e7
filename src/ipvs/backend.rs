//! The IPVS backend: reads the kernel's whole table (one service dump, then one destination
//! dump per service, pipelined) and carries out planned changes as pipelined requests, editing
//! in place (SET_SERVICE, SET_DEST) so that connections and counters survive.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use super::attrs::{IpvsAttr, Stats};
use super::client::{Client, Mode, Outcome};
use super::convert::{dest_full, dest_identity, real_from, service_from, service_full, service_identity};
use super::message::{IpvsCmd, IpvsMessage};
use super::{Error, refusal};
use crate::backend::{self, Backend, Executed};
use crate::plan::{Change, Domain, IpvsChange};
use crate::state::{RealKey, Scope, Service, ServiceKey, State, Timeouts};

/// Up to this many services are read one GET_SERVICE each; more, and one dump of all services
/// is cheaper (each GET_SERVICE answer takes a page of the receive buffer).
const ONE_BY_ONE: usize = 32;

/// Changes turned into requests at a time (see `execute_ipvs`).
const REQUESTS_AT_ONCE: usize = 1024;

pub struct IpvsBackend {
    client: Client,
}

impl IpvsBackend {
    pub fn connect() -> Result<IpvsBackend, Error> {
        Ok(IpvsBackend { client: Client::connect()? })
    }

    /// The socket underneath, for requests the backend does not make itself.
    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    /// Read the whole table (services, real servers, timeouts) into `state`.
    pub fn observe_ipvs(&mut self, state: &mut State) -> Result<(), Error> {
        self.read_table(state, None)
    }

    /// [`IpvsBackend::observe_ipvs`], and the active connections of every real server from the
    /// same dumps (`export`): one read of the table, not two.
    pub fn observe_ipvs_with_conns(
        &mut self,
        state: &mut State,
    ) -> Result<BTreeMap<(ServiceKey, RealKey), u32>, Error> {
        let mut conns = BTreeMap::new();
        self.read_table(state, Some(&mut conns))?;
        Ok(conns)
    }

    fn read_table(
        &mut self,
        state: &mut State,
        conns: Option<&mut BTreeMap<(ServiceKey, RealKey), u32>>,
    ) -> Result<(), Error> {
        let started = Instant::now();
        let mut services = self.dump_services()?;
        let keys: Vec<ServiceKey> = services.keys().copied().collect();
        self.read_reals(&keys, &mut services, conns)?;
        state.services = services;
        state.timeouts = self.timeouts()?;
        let reals: usize = state.services.values().map(|s| s.reals.len()).sum();
        let ms = started.elapsed().as_millis() as u64;
        tracing::debug!(services = state.services.len(), reals, ms, "read the IPVS table");
        Ok(())
    }

    /// Read only these services and their real servers into `state`; a service missing from the
    /// kernel is removed from `state`. The rest of `state` is left alone.
    pub fn observe_services(&mut self, keys: &[ServiceKey], state: &mut State) -> Result<(), Error> {
        let started = Instant::now();
        let mut found = if keys.len() > ONE_BY_ONE {
            let wanted: BTreeSet<&ServiceKey> = keys.iter().collect();
            let mut all = self.dump_services()?;
            all.retain(|k, _| wanted.contains(k));
            all
        } else {
            self.get_services(keys)?
        };
        let present: Vec<ServiceKey> = found.keys().copied().collect();
        self.read_reals(&present, &mut found, None)?;
        if state.services.is_empty() {
            // Nothing to keep a name of or to remove (the read-back of an apply): no second map.
            state.services = found;
        } else {
            for key in keys {
                match found.remove(key) {
                    Some(svc) => {
                        let name = state.services.get(key).and_then(|s| s.name.clone());
                        state.services.insert(*key, Service { name, ..svc });
                    }
                    None => {
                        state.services.remove(key);
                    }
                }
            }
        }
        let ms = started.elapsed().as_millis() as u64;
        tracing::debug!(services = keys.len(), ms, "read IPVS services");
        Ok(())
    }

    /// Every service, without its real servers: one dump.
    fn dump_services(&mut self) -> Result<BTreeMap<ServiceKey, Service>, Error> {
        let mut services = BTreeMap::new();
        let dump = IpvsMessage::new(IpvsCmd::GetService, Vec::new());
        let outcome = self.client.pipeline(std::slice::from_ref(&dump), Mode::Dump, false, |_, msg| {
            match msg.service().and_then(service_from) {
                Some((key, attrs)) => {
                    services.insert(key, Service { name: None, attrs, reals: BTreeMap::new() });
                }
                // A protocol other than TCP, UDP or SCTP (ipvsadm cannot make one either).
                None => tracing::warn!(service = ?msg.service(), "left out an IPVS service lvsync cannot describe"),
            }
        })?;
        check(outcome, |_| ("reading the IPVS services".to_string(), IpvsCmd::GetService))?;
        Ok(services)
    }

    /// These services, without their real servers, one GET_SERVICE each (pipelined); a missing
    /// one is left out.
    fn get_services(&mut self, keys: &[ServiceKey]) -> Result<BTreeMap<ServiceKey, Service>, Error> {
        let requests: Vec<IpvsMessage> = keys
            .iter()
            .map(|k| IpvsMessage::new(IpvsCmd::GetService, vec![IpvsAttr::Service(service_identity(k))]))
            .collect();
        let mut found = BTreeMap::new();
        let outcomes = self.client.pipeline(&requests, Mode::Do, false, |i, msg| {
            if let Some((key, attrs)) = msg.service().and_then(service_from)
                && key == keys[i]
            {
                found.insert(key, Service { name: None, attrs, reals: BTreeMap::new() });
            }
        })?;
        let outcomes: Vec<Outcome> = outcomes
            .into_iter()
            .map(|o| match o {
                Outcome::Failed(e) if e.raw_os_error() == Some(libc::ESRCH) => Outcome::Done,
                o => o,
            })
            .collect();
        check(outcomes, |i| (format!("reading service {}", keys[i]), IpvsCmd::GetService))?;
        Ok(found)
    }

    /// One destination dump per service, pipelined; with `conns`, each real server's active
    /// connections are kept there too.
    fn read_reals(
        &mut self,
        keys: &[ServiceKey],
        services: &mut BTreeMap<ServiceKey, Service>,
        mut conns: Option<&mut BTreeMap<(ServiceKey, RealKey), u32>>,
    ) -> Result<(), Error> {
        let requests: Vec<IpvsMessage> = keys
            .iter()
            .map(|k| IpvsMessage::new(IpvsCmd::GetDest, vec![IpvsAttr::Service(service_identity(k))]))
            .collect();
        let outcomes = self.client.pipeline(&requests, Mode::Dump, false, |i, msg| {
            let key = &keys[i];
            if let (Some(dest), Some(svc)) = (msg.dest(), services.get_mut(key))
                && let Some((rk, real)) = real_from(dest, key.family())
            {
                if let Some(conns) = conns.as_deref_mut() {
                    conns.insert((*key, rk), active_conns_of(dest));
                }
                svc.reals.insert(rk, real);
            }
        })?;
        check(outcomes, |i| (format!("reading the real servers of service {}", keys[i]), IpvsCmd::GetDest))
    }

    fn timeouts(&mut self) -> Result<Timeouts, Error> {
        let (answers, outcome) = self.client.request(IpvsMessage::new(IpvsCmd::GetConfig, Vec::new()), Mode::Do)?;
        check(vec![outcome], |_| ("reading the IPVS timeouts".to_string(), IpvsCmd::GetConfig))?;
        let mut t = Timeouts::default();
        for attr in answers.iter().flat_map(|m| &m.attrs) {
            match attr {
                IpvsAttr::TimeoutTcp(v) => t.tcp = Some(*v),
                IpvsAttr::TimeoutTcpFin(v) => t.tcp_fin = Some(*v),
                IpvsAttr::TimeoutUdp(v) => t.udp = Some(*v),
                _ => {}
            }
        }
        Ok(t)
    }

    /// The active connections of every real server of these services (a service that does not
    /// exist has none): what a drain waits for.
    pub fn active_conns(&mut self, keys: &[ServiceKey]) -> Result<BTreeMap<(ServiceKey, RealKey), u32>, Error> {
        let requests: Vec<IpvsMessage> = keys
            .iter()
            .map(|k| IpvsMessage::new(IpvsCmd::GetDest, vec![IpvsAttr::Service(service_identity(k))]))
            .collect();
        let mut found = BTreeMap::new();
        let outcomes = self.client.pipeline(&requests, Mode::Dump, false, |i, msg| {
            let key = keys[i];
            if let Some(dest) = msg.dest()
                && let Some((rk, _)) = real_from(dest, key.family())
            {
                found.insert((key, rk), active_conns_of(dest));
            }
        })?;
        // A service gone meanwhile has no connections left to wait for.
        let gone = |o: &Outcome| matches!(o, Outcome::Failed(e) if e.raw_os_error() == Some(libc::ESRCH));
        let outcomes = outcomes.into_iter().map(|o| if gone(&o) { Outcome::Done } else { o }).collect();
        check(outcomes, |i| (format!("reading the connections of service {}", keys[i]), IpvsCmd::GetDest))?;
        Ok(found)
    }

    /// The counters of one service (`None` if it does not exist).
    pub fn service_stats(&mut self, key: &ServiceKey) -> Result<Option<Stats>, Error> {
        let req = IpvsMessage::new(IpvsCmd::GetService, vec![IpvsAttr::Service(service_identity(key))]);
        let (answers, outcome) = self.client.request(req, Mode::Do)?;
        if matches!(&outcome, Outcome::Failed(e) if e.raw_os_error() == Some(libc::ESRCH)) {
            return Ok(None);
        }
        check(vec![outcome], |_| (format!("reading service {key}"), IpvsCmd::GetService))?;
        Ok(answers.iter().flat_map(|m| m.service().unwrap_or_default()).find_map(|a| match a {
            super::attrs::ServiceAttr::Stats64(s) => Some(s.clone()),
            _ => None,
        }))
    }

    /// Carry out the IPVS changes of `changes`, in order, pipelined; stop at the first batch in
    /// which the kernel refused one, and report the first refusal.
    pub fn execute_ipvs(&mut self, changes: &[Change]) -> Result<Executed, Error> {
        self.execute_ipvs_tracked(changes, &mut Vec::new(), &mut true)
    }

    /// [`IpvsBackend::execute_ipvs`], noting in `made` the index of every change made (also
    /// when it fails); `known` turns false when a batch failed without outcomes to tell.
    fn execute_ipvs_tracked(
        &mut self,
        changes: &[Change],
        made: &mut Vec<usize>,
        known: &mut bool,
    ) -> Result<Executed, Error> {
        let started = Instant::now();
        let (mut sent, mut done) = (0, 0);
        // The requests of one slice of the plan are built, sent and dropped before the next: all
        // 18,000 of a big apply at once would be megabytes of fresh memory, which costs more than
        // the few extra round trips (and, under User-Mode Linux, far more).
        let mut requests = Vec::with_capacity(changes.len().min(REQUESTS_AT_ONCE));
        let mut origin = Vec::with_capacity(requests.capacity());
        for (n, slice) in changes.chunks(REQUESTS_AT_ONCE).enumerate() {
            requests.clear();
            origin.clear();
            for (i, change) in slice.iter().enumerate() {
                let index = n * REQUESTS_AT_ONCE + i;
                let Change::Ipvs(change) = change else { continue };
                match request_for(change) {
                    Some(req) => {
                        requests.push(req);
                        origin.push((index, change));
                    }
                    // Nothing to send: made by definition.
                    None => made.push(index),
                }
            }
            if requests.is_empty() {
                continue;
            }
            let outcomes =
                self.client.pipeline(&requests, Mode::Do, true, |_, _| {}).inspect_err(|_| *known = false)?;
            sent += requests.len();
            done += outcomes.iter().filter(|o| matches!(o, Outcome::Done)).count();
            made.extend(outcomes.iter().zip(&origin).filter(|(o, _)| matches!(o, Outcome::Done)).map(|(_, (i, _))| *i));
            let mut failures = outcomes.into_iter().enumerate().filter_map(|(i, o)| match o {
                Outcome::Failed(e) => Some((i, e)),
                _ => None,
            });
            if let Some((i, source)) = failures.next() {
                let more = failures.count();
                let change = origin[i].1;
                let (scheduler, engine) = modules(change);
                let mut why = refusal(requests[i].cmd, &source, scheduler, engine);
                if more > 0 {
                    why.push_str(&format!(" ({more} later requests of the same batch also failed)"));
                }
                return Err(Error::Refused { doing: describe(change), why, source });
            }
        }
        if sent > 0 {
            let ms = started.elapsed().as_millis() as u64;
            tracing::debug!(requests = sent, done, ms, "sent the IPVS changes");
        }
        Ok(Executed { changes: done, writes: done })
    }
}

impl backend::DomainError for Error {
    const DOMAIN: Domain = Domain::Ipvs;
}

impl Backend for IpvsBackend {
    fn domain(&self) -> Domain {
        Domain::Ipvs
    }

    fn observe_scope(&mut self, scope: &Scope, state: &mut State) -> Result<(), backend::Error> {
        match scope {
            Scope::All => self.observe_ipvs(state)?,
            Scope::Services(keys) => {
                let keys: Vec<ServiceKey> = keys.iter().copied().collect();
                self.observe_services(&keys, state)?
            }
        }
        Ok(())
    }

    fn execute(&mut self, changes: &[Change]) -> Result<Executed, backend::Error> {
        let (mut made, mut known) = (Vec::new(), true);
        self.execute_ipvs_tracked(changes, &mut made, &mut known).map_err(|e| {
            let err = backend::Error::from(e);
            if known { err.with_made(made) } else { err }
        })
    }
}

/// A destination's active connections, as its dump gives them (0 when it does not say).
fn active_conns_of(dest: &[super::attrs::DestAttr]) -> u32 {
    dest.iter()
        .find_map(|a| match a {
            super::attrs::DestAttr::ActiveConns(n) => Some(*n),
            _ => None,
        })
        .unwrap_or(0)
}

/// The first failed request becomes an error naming its object.
fn check(outcomes: Vec<Outcome>, what: impl Fn(usize) -> (String, IpvsCmd)) -> Result<(), Error> {
    for (i, o) in outcomes.into_iter().enumerate() {
        if let Outcome::Failed(source) = o {
            let (doing, cmd) = what(i);
            return Err(Error::Refused { why: refusal(cmd, &source, None, None), doing, source });
        }
    }
    Ok(())
}

fn request_for(change: &IpvsChange) -> Option<IpvsMessage> {
    let svc = |cmd, attrs| IpvsMessage::new(cmd, vec![IpvsAttr::Service(attrs)]);
    let dest = |cmd, key: &ServiceKey, attrs| {
        IpvsMessage::new(cmd, vec![IpvsAttr::Service(service_identity(key)), IpvsAttr::Dest(attrs)])
    };
    Some(match change {
        IpvsChange::CreateService { key, attrs, .. } => svc(IpvsCmd::NewService, service_full(key, attrs)),
        IpvsChange::UpdateService { key, after, .. } => svc(IpvsCmd::SetService, service_full(key, after)),
        IpvsChange::DeleteService { key, .. } => svc(IpvsCmd::DelService, service_identity(key)),
        IpvsChange::CreateReal { service, key, real } => dest(IpvsCmd::NewDest, service, dest_full(key, real)),
        IpvsChange::UpdateReal { service, key, after, .. } => dest(IpvsCmd::SetDest, service, dest_full(key, after)),
        IpvsChange::DeleteReal { service, key, .. } => dest(IpvsCmd::DelDest, service, dest_identity(key)),
        IpvsChange::SetTimeouts { after, .. } => {
            let attrs: Vec<IpvsAttr> = [
                after.tcp.map(IpvsAttr::TimeoutTcp),
                after.tcp_fin.map(IpvsAttr::TimeoutTcpFin),
                after.udp.map(IpvsAttr::TimeoutUdp),
            ]
            .into_iter()
            .flatten()
            .collect();
            if attrs.is_empty() {
                return None;
            }
            IpvsMessage::new(IpvsCmd::SetConfig, attrs)
        }
    })
}

fn modules(change: &IpvsChange) -> (Option<&str>, Option<&str>) {
    let attrs = match change {
        IpvsChange::CreateService { attrs, .. } => attrs,
        IpvsChange::UpdateService { after, .. } => after,
        _ => return (None, None),
    };
    (Some(attrs.scheduler.name()), attrs.persistence.as_ref().and_then(|p| p.engine.as_deref()))
}

fn service_label(key: &ServiceKey, name: &Option<String>) -> String {
    match name {
        Some(n) => format!("{n} ({key})"),
        None => key.to_string(),
    }
}

fn describe(change: &IpvsChange) -> String {
    match change {
        IpvsChange::CreateService { key, name, .. } => format!("creating service {}", service_label(key, name)),
        IpvsChange::UpdateService { key, name, .. } => format!("updating service {}", service_label(key, name)),
        IpvsChange::DeleteService { key, name, .. } => format!("deleting service {}", service_label(key, name)),
        IpvsChange::CreateReal { service, key, .. } => format!("creating real server {key} in service {service}"),
        IpvsChange::UpdateReal { service, key, .. } => format!("updating real server {key} in service {service}"),
        IpvsChange::DeleteReal { service, key, .. } => format!("deleting real server {key} in service {service}"),
        IpvsChange::SetTimeouts { .. } => "setting the IPVS timeouts".to_string(),
    }
}
