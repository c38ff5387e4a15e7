//! The diff itself: desired against observed, within ownership, into SPEC's apply order.

use std::collections::BTreeSet;

use super::{Change, Plan, Unmanaged};
use crate::inventory::Inventory;
use crate::state::{ChainId, Ownership, Service, ServiceKey, State, Timeouts};

/// Plan the changes that make `observed` into `desired`.
///
/// - A service is managed when the file declares it, when the inventory says lvsync applied it
///   before, or under `exclusive` always; other observed services are listed as unmanaged.
/// - Inside a managed service the file is the whole truth for its real servers.
/// - Attribute differences are updates in place; identity never changes in an update.
/// - Timeouts: only the fields the file gives are enforced.
/// - Firewall: lvsync's chains are always its own; a chain differing in any way is replaced.
///
/// Order: services created/updated, real servers created/updated, timeouts, firewall chains
/// created/updated, then real servers deleted, services deleted, firewall chains deleted.
pub fn plan(desired: &State, observed: &State, ownership: Ownership, inventory: &Inventory) -> Plan {
    let mut p = Plan::default();
    // Each desired service with its live self, looked up once; every kind of change is then one
    // pass, appended in apply order to one list reserved up front: at thousands of services,
    // intermediate lists of changes cost more (fresh memory) than the passes.
    let pairs: Vec<(&ServiceKey, &Service, Option<&Service>)> =
        desired.services.iter().map(|(key, want)| (key, want, observed.services.get(key))).collect();
    let reals = |state: &State| state.services.values().map(|s| s.reals.len()).sum::<usize>();
    p.changes.reserve(
        desired.services.len() + observed.services.len() + reals(desired) + reals(observed) + 1 + ChainId::all().len(),
    );

    for (key, want, _) in &pairs {
        if let Some(name) = &want.name {
            p.names.insert(**key, name.clone());
        }
    }
    for (key, want, have) in &pairs {
        if have.is_none() {
            p.changes.push(Change::CreateService {
                key: **key,
                name: want.name.clone(),
                attrs: Box::new(want.attrs.clone()),
            });
        }
    }
    for (key, want, have) in &pairs {
        if let Some(have) = have
            && have.attrs != want.attrs
        {
            p.changes.push(Change::UpdateService {
                key: **key,
                name: want.name.clone(),
                before: Box::new(have.attrs.clone()),
                after: Box::new(want.attrs.clone()),
            });
        }
    }
    for (key, want, have) in &pairs {
        for (rk, real) in &want.reals {
            if !have.is_some_and(|have| have.reals.contains_key(rk)) {
                p.changes.push(Change::CreateReal { service: **key, key: *rk, real: *real });
            }
        }
    }
    for (key, want, have) in &pairs {
        let Some(have) = have else { continue };
        for (rk, real) in &want.reals {
            if let Some(old) = have.reals.get(rk)
                && old != real
            {
                p.changes.push(Change::UpdateReal { service: **key, key: *rk, before: *old, after: *real });
            }
        }
    }

    p.changes.extend(timeouts_change(&desired.timeouts, &observed.timeouts));

    let (mut fw_upsert, mut fw_delete) = (Vec::new(), Vec::new());
    for id in ChainId::all() {
        let (want, have) = (desired.chains.get(&id), observed.chains.get(&id));
        if want == have {
            continue;
        }
        let change = Change::ReplaceChain { id, before: have.cloned(), after: want.cloned() };
        if want.is_none() { fw_delete.push(change) } else { fw_upsert.push(change) }
    }
    p.changes.append(&mut fw_upsert);

    for (key, want, have) in &pairs {
        let Some(have) = have else { continue };
        for (rk, old) in &have.reals {
            if !want.reals.contains_key(rk) {
                p.changes.push(Change::DeleteReal { service: **key, key: *rk, before: *old });
            }
        }
    }

    for (key, have) in &observed.services {
        if desired.services.contains_key(key) {
            continue;
        }
        let name = have.name.clone().or_else(|| inventory.services.get(key).cloned().flatten());
        if let Some(name) = &name {
            p.names.insert(*key, name.clone());
        }
        let managed = ownership == Ownership::Exclusive || inventory.services.contains_key(key);
        if managed {
            p.changes.push(Change::DeleteService { key: *key, name, before: Box::new(have.clone()) });
        } else {
            p.unmanaged.push(Unmanaged { key: *key, reals: have.reals.len() });
        }
    }
    if !p.unmanaged.is_empty() && !inventory.found && ownership == Ownership::Managed {
        p.notes.push(
            "no inventory of earlier applies was found in the state directory: services that were removed from \
             the file since are not known to be lvsync's, and are left alone (listed as unmanaged); use \
             `ownership: exclusive` or delete them by hand"
                .to_string(),
        );
    }
    p.changes.append(&mut fw_delete);
    p
}

/// Only the fields the file gives, and only those that differ, are written.
fn timeouts_change(want: &Timeouts, have: &Timeouts) -> Option<Change> {
    let pick = |w: Option<u32>, h: Option<u32>| w.filter(|w| Some(*w) != h);
    let after = Timeouts {
        tcp: pick(want.tcp, have.tcp),
        tcp_fin: pick(want.tcp_fin, have.tcp_fin),
        udp: pick(want.udp, have.udp),
    };
    (after != Timeouts::default()).then_some(Change::SetTimeouts { before: *have, after })
}

/// The services a plan touches (created, updated, deleted, or whose real servers change).
pub fn touched_services(changes: &[Change]) -> BTreeSet<ServiceKey> {
    let mut out = BTreeSet::new();
    for c in changes {
        match c {
            Change::CreateService { key, .. }
            | Change::UpdateService { key, .. }
            | Change::DeleteService { key, .. } => {
                out.insert(*key);
            }
            Change::CreateReal { service, .. }
            | Change::UpdateReal { service, .. }
            | Change::DeleteReal { service, .. } => {
                out.insert(*service);
            }
            Change::SetTimeouts { .. } | Change::ReplaceChain { .. } => {}
        }
    }
    out
}
