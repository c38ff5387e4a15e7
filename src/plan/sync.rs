//! The IPVS sync daemon domain of the plan: one change per role whose daemon must start, stop
//! or restart with other settings (the kernel cannot change a running daemon).

use std::fmt::Write as _;

use serde::Serialize;

use super::json::Object;
use super::render::Paint;
use super::{Action, Change, Domain, DomainChange, Input, Phase, Plan};
use crate::state::{Inventory, Ownership, SyncDaemon, SyncRole};

/// Start (`before` none), stop (`after` none) or restart a sync daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncChange {
    pub role: SyncRole,
    pub before: Option<SyncDaemon>,
    pub after: Option<SyncDaemon>,
}

/// The file manages the daemons when it has `ipvs.sync`: then exactly its roles run, with its
/// settings. Without it, `managed` stops the daemons lvsync started (its inventory) and leaves
/// the others alone, and `exclusive` stops them all.
pub fn plan(input: &Input, p: &mut Plan) {
    let Some(have) = &input.observed.sync else { return };
    let want = match (&input.desired.sync, input.ownership) {
        (Some(want), _) => want.clone(),
        (None, Ownership::Exclusive) => Default::default(),
        (None, Ownership::Managed) => {
            have.iter().filter(|(r, _)| !input.inventory.sync.contains(r)).map(|(r, d)| (*r, d.clone())).collect()
        }
    };
    for role in SyncRole::ALL {
        let (w, h) = (want.get(&role), have.get(&role));
        let differs = match (w, h) {
            (Some(w), Some(h)) => !w.satisfied_by(h),
            (None, None) => false,
            _ => true,
        };
        if differs {
            p.changes.push(Change::Sync(SyncChange { role, before: h.cloned(), after: w.cloned() }));
        }
    }
}

impl DomainChange for SyncChange {
    fn domain(&self) -> Domain {
        Domain::IpvsSync
    }

    fn phase(&self) -> Phase {
        Phase::Settings
    }

    fn action(&self) -> Action {
        Action::between(&self.before, &self.after)
    }

    fn kind(&self) -> &'static str {
        "ipvs_sync"
    }

    fn id(&self) -> String {
        self.role.name().to_string()
    }

    fn text(&self, _: &Plan, _: &Paint, out: &mut String) {
        let role = self.role;
        let _ = match (&self.before, &self.after) {
            (None, Some(after)) => writeln!(out, "ipvs sync {role} {}", after.describe()),
            (Some(before), None) => writeln!(out, "ipvs sync {role} {} (stopped)", before.describe()),
            (Some(before), Some(after)) => {
                writeln!(out, "ipvs sync {role}: {} -> {} (restarted)", before.describe(), after.describe())
            }
            (None, None) => Ok(()),
        };
    }

    fn json<'a>(&'a self, _: &'a Plan) -> (Option<Object<'a>>, Option<Object<'a>>) {
        let obj = |d: &'a SyncDaemon| Object::Sync(SyncJson::of(self.role, d));
        (self.before.as_ref().map(obj), self.after.as_ref().map(obj))
    }

    fn detail(&self) -> String {
        self.after.as_ref().or(self.before.as_ref()).map(SyncDaemon::describe).unwrap_or_default()
    }

    /// A daemon lvsync starts (or restarts) is its own, recorded before it starts; one it stops
    /// is forgotten once stopped.
    fn record(&self, inventory: &mut Inventory, done: bool) {
        match (&self.after, done) {
            (Some(_), false) => {
                inventory.sync.insert(self.role);
            }
            (None, true) => {
                inventory.sync.remove(&self.role);
            }
            _ => {}
        }
    }
}

#[derive(Serialize)]
pub struct SyncJson<'a> {
    role: &'static str,
    interface: &'a str,
    id: u8,
    group: Option<String>,
    port: Option<u16>,
    ttl: Option<u8>,
    maxlen: Option<u16>,
}

impl<'a> SyncJson<'a> {
    fn of(role: SyncRole, d: &'a SyncDaemon) -> SyncJson<'a> {
        SyncJson {
            role: role.name(),
            interface: &d.interface,
            id: d.id,
            group: d.group.map(|g| g.to_string()),
            port: d.port,
            ttl: d.ttl,
            maxlen: d.maxlen,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::plan::{RenderOptions, render_json, render_text};
    use crate::state::{Inventory, State};

    fn daemon(id: u8) -> SyncDaemon {
        SyncDaemon { interface: "eth0".into(), id, ..SyncDaemon::default() }
    }

    fn with(roles: &[(SyncRole, u8)]) -> State {
        State {
            sync: Some(roles.iter().map(|(r, id)| (*r, daemon(*id))).collect::<BTreeMap<_, _>>()),
            ..State::default()
        }
    }

    fn plan_of(want: &State, have: &State, ownership: Ownership) -> Plan {
        crate::plan::plan(want, have, ownership, &Inventory::default())
    }

    #[test]
    fn missing_daemons_start_changed_ones_restart_extra_ones_stop() {
        let want = with(&[(SyncRole::Master, 51), (SyncRole::Backup, 51)]);
        let have = with(&[(SyncRole::Backup, 50)]);
        let p = plan_of(&want, &have, Ownership::Managed);
        let text = render_text(&p, RenderOptions::default());
        assert!(text.contains("  + ipvs sync master on eth0, id 51\n"), "{text}");
        assert!(text.contains("  ~ ipvs sync backup: on eth0, id 50 -> on eth0, id 51 (restarted)\n"), "{text}");
        let json = render_json(&p);
        assert_eq!(json["changes"][0]["kind"], "ipvs_sync");
        assert_eq!(json["changes"][0]["id"], "master");
        assert_eq!(json["changes"][0]["after"]["id"], 51);
        assert_eq!(json["changes"][1]["before"]["id"], 50);

        let only_master = with(&[(SyncRole::Master, 51)]);
        let p = plan_of(&only_master, &want, Ownership::Managed);
        assert_eq!(p.changes.len(), 1);
        assert_eq!(p.changes[0].action(), Action::Delete);
        assert!(plan_of(&want, &want, Ownership::Managed).is_empty());
    }

    #[test]
    fn without_ipvs_sync_managed_stops_only_its_own_daemons_and_exclusive_stops_them_all() {
        let have = with(&[(SyncRole::Master, 51), (SyncRole::Backup, 51)]);
        let none = State { sync: None, ..State::default() };
        assert!(plan_of(&none, &have, Ownership::Managed).is_empty());
        // lvsync started the master: only it stops.
        let mine = Inventory { sync: [SyncRole::Master].into(), ..Inventory::default() };
        let p = crate::plan::plan(&none, &have, Ownership::Managed, &mine);
        assert_eq!(p.changes.len(), 1);
        assert_eq!((p.changes[0].action(), p.changes[0].id()), (Action::Delete, "master".to_string()));
        let have = with(&[(SyncRole::Master, 51)]);
        let p = plan_of(&none, &have, Ownership::Exclusive);
        assert_eq!(p.changes.len(), 1);
        assert_eq!(p.changes[0].action(), Action::Delete);
        // Not observed (a scope of services): nothing is planned.
        let want = with(&[(SyncRole::Master, 51)]);
        assert!(plan_of(&want, &none, Ownership::Exclusive).is_empty());
    }

    #[test]
    fn a_started_daemon_is_recorded_before_it_starts_and_a_stopped_one_forgotten_after() {
        let start = SyncChange { role: SyncRole::Backup, before: None, after: Some(daemon(51)) };
        let stop = SyncChange { role: SyncRole::Master, before: Some(daemon(51)), after: None };
        let mut inv = Inventory { sync: [SyncRole::Master].into(), ..Inventory::default() };
        start.record(&mut inv, false);
        stop.record(&mut inv, false);
        assert_eq!(inv.sync, [SyncRole::Master, SyncRole::Backup].into());
        start.record(&mut inv, true);
        stop.record(&mut inv, true);
        assert_eq!(inv.sync, [SyncRole::Backup].into());
    }
}
