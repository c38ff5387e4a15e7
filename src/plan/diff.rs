//! The diff itself: desired against observed, within ownership, into SPEC's apply order.

use std::collections::BTreeSet;

use super::{Change, Plan, Unmanaged};
use crate::inventory::Inventory;
use crate::state::{ChainId, Ownership, ServiceKey, State, Timeouts};

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
    let mut svc_create = Vec::new();
    let mut svc_update = Vec::new();
    let mut real_create = Vec::new();
    let mut real_update = Vec::new();
    let mut real_delete = Vec::new();
    let mut svc_delete = Vec::new();

    for (key, want) in &desired.services {
        let name = want.name.clone();
        if let Some(name) = &name {
            p.names.insert(*key, name.clone());
        }
        let Some(have) = observed.services.get(key) else {
            svc_create.push(Change::CreateService { key: *key, name, attrs: want.attrs.clone() });
            for (rk, real) in &want.reals {
                real_create.push(Change::CreateReal { service: *key, key: *rk, real: *real });
            }
            continue;
        };
        if have.attrs != want.attrs {
            svc_update.push(Change::UpdateService {
                key: *key,
                name,
                before: have.attrs.clone(),
                after: want.attrs.clone(),
            });
        }
        for (rk, real) in &want.reals {
            match have.reals.get(rk) {
                None => real_create.push(Change::CreateReal { service: *key, key: *rk, real: *real }),
                Some(old) if old != real => {
                    real_update.push(Change::UpdateReal { service: *key, key: *rk, before: *old, after: *real })
                }
                Some(_) => {}
            }
        }
        for (rk, old) in &have.reals {
            if !want.reals.contains_key(rk) {
                real_delete.push(Change::DeleteReal { service: *key, key: *rk, before: *old });
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
            svc_delete.push(Change::DeleteService { key: *key, name, before: have.clone() });
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

    let timeouts = timeouts_change(&desired.timeouts, &observed.timeouts);

    let (mut fw_upsert, mut fw_delete) = (Vec::new(), Vec::new());
    for id in ChainId::all() {
        let (want, have) = (desired.chains.get(&id), observed.chains.get(&id));
        if want == have {
            continue;
        }
        let change = Change::ReplaceChain { id, before: have.cloned(), after: want.cloned() };
        if want.is_none() { fw_delete.push(change) } else { fw_upsert.push(change) }
    }

    p.changes = [svc_create, svc_update, real_create, real_update]
        .into_iter()
        .flatten()
        .chain(timeouts)
        .chain(fw_upsert.drain(..))
        .chain([real_delete, svc_delete].into_iter().flatten())
        .chain(fw_delete.drain(..))
        .collect();
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
