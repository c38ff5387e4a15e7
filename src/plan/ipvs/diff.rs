//! The IPVS diff: desired against observed, within ownership.

use super::IpvsChange;
use crate::plan::{Change, Input, Plan, Unmanaged};
use crate::state::{Ownership, Service, ServiceKey, State, Timeouts};

/// Room left in the list for the other domains' changes (a handful: chains, settings).
const OTHERS: usize = 16;

/// Plan the changes that make `observed` into `desired`.
///
/// - A service is managed when the file declares it, when the inventory says lvsync applied it
///   before, or under `exclusive` always; other observed services are listed as unmanaged.
/// - Inside a managed service the file is the whole truth for its real servers.
/// - Attribute differences are updates in place; identity never changes in an update.
/// - Timeouts: only the fields the file gives are enforced.
///
/// Order within each phase: services created, then updated; real servers likewise.
pub fn plan(input: &Input, p: &mut Plan) {
    let Input { desired, observed, ownership, inventory } = *input;
    // Each desired service with its live self, looked up once; every kind of change is then one
    // pass, appended in apply order to one list reserved up front: at thousands of services,
    // intermediate lists of changes cost more (fresh memory) than the passes.
    let pairs: Vec<(&ServiceKey, &Service, Option<&Service>)> =
        desired.services.iter().map(|(key, want)| (key, want, observed.services.get(key))).collect();
    let reals = |state: &State| state.services.values().map(|s| s.reals.len()).sum::<usize>();
    p.changes.reserve(desired.services.len() + observed.services.len() + reals(desired) + reals(observed) + 1 + OTHERS);

    for (key, want, _) in &pairs {
        if let Some(name) = &want.name {
            p.names.insert(**key, name.clone());
        }
    }
    for (key, want, have) in &pairs {
        if have.is_none() {
            p.changes.push(Change::Ipvs(IpvsChange::CreateService {
                key: **key,
                name: want.name.clone(),
                attrs: Box::new(want.attrs.clone()),
            }));
        }
    }
    for (key, want, have) in &pairs {
        if let Some(have) = have
            && have.attrs != want.attrs
        {
            p.changes.push(Change::Ipvs(IpvsChange::UpdateService {
                key: **key,
                name: want.name.clone(),
                before: Box::new(have.attrs.clone()),
                after: Box::new(want.attrs.clone()),
            }));
        }
    }
    for (key, want, have) in &pairs {
        for (rk, real) in &want.reals {
            if !have.is_some_and(|have| have.reals.contains_key(rk)) {
                p.changes.push(Change::Ipvs(IpvsChange::CreateReal { service: **key, key: *rk, real: *real }));
            }
        }
    }
    for (key, want, have) in &pairs {
        let Some(have) = have else { continue };
        for (rk, real) in &want.reals {
            if let Some(old) = have.reals.get(rk)
                && old != real
            {
                p.changes.push(Change::Ipvs(IpvsChange::UpdateReal {
                    service: **key,
                    key: *rk,
                    before: *old,
                    after: *real,
                }));
            }
        }
    }

    p.changes.extend(timeouts_change(&desired.timeouts, &observed.timeouts).map(Change::Ipvs));

    for (key, want, have) in &pairs {
        let Some(have) = have else { continue };
        for (rk, old) in &have.reals {
            if !want.reals.contains_key(rk) {
                p.changes.push(Change::Ipvs(IpvsChange::DeleteReal { service: **key, key: *rk, before: *old }));
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
            p.changes.push(Change::Ipvs(IpvsChange::DeleteService { key: *key, name, before: Box::new(have.clone()) }));
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
}

/// Only the fields the file gives, and only those that differ, are written.
fn timeouts_change(want: &Timeouts, have: &Timeouts) -> Option<IpvsChange> {
    let pick = |w: Option<u32>, h: Option<u32>| w.filter(|w| Some(*w) != h);
    let after = Timeouts {
        tcp: pick(want.tcp, have.tcp),
        tcp_fin: pick(want.tcp_fin, have.tcp_fin),
        udp: pick(want.udp, have.udp),
    };
    (after != Timeouts::default()).then_some(IpvsChange::SetTimeouts { before: *have, after })
}
