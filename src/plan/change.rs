//! What every planned change declares, whatever its domain, and the enum over domains.

use super::json::Object;
use super::render::Paint;
use super::{ChainChange, HostChange, IpvsChange, KeepalivedChange, Plan, SyncChange};
use crate::state::{Inventory, ServiceKey};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    Create,
    Update,
    Delete,
}

impl Action {
    /// The action that turns `before` into `after`: an object that was not there is created, one
    /// that goes is deleted, anything else is updated.
    pub fn between<T>(before: &Option<T>, after: &Option<T>) -> Action {
        match (before, after) {
            (None, _) => Action::Create,
            (_, None) => Action::Delete,
            _ => Action::Update,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Delete => "delete",
        }
    }
}

/// When a change is applied. A plan lists its changes, and `apply` carries them out, phase by
/// phase in this order: what others build on is made first and removed last. A new domain
/// puts its changes into these phases (or adds one where it belongs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// Host addresses, tunnel devices and sysctls, before the services that use them.
    Host,
    /// Services created or changed, before the real servers that go in them.
    Services,
    /// Real servers created or changed.
    RealServers,
    /// Kernel-wide settings (IPVS timeouts).
    Settings,
    /// Firewall chains created or replaced, once what they guard exists.
    Firewall,
    /// Real servers removed.
    RemoveRealServers,
    /// Services removed (with their real servers).
    RemoveServices,
    /// Host addresses and devices lvsync added removed, sysctls restored, once no service needs them.
    RemoveHost,
    /// Firewall chains removed, last.
    RemoveFirewall,
}

/// The domains of state, each observed and executed by one backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Domain {
    Ipvs,
    Firewall,
    IpvsSync,
    Keepalived,
    Host,
}

impl Domain {
    pub fn name(self) -> &'static str {
        match self {
            Domain::Ipvs => "ipvs",
            Domain::Firewall => "firewall",
            Domain::IpvsSync => "ipvs_sync",
            Domain::Keepalived => "keepalived",
            Domain::Host => "host",
        }
    }
}

/// What a domain's change type tells the planner, the renderers and the director.
pub trait DomainChange {
    fn domain(&self) -> Domain;
    fn phase(&self) -> Phase;
    fn action(&self) -> Action;
    /// The `kind` of SPEC's JSON plan.
    fn kind(&self) -> &'static str;
    /// `tcp/192.168.2.110:80`, `tcp/192.168.2.110:80/192.168.2.106:80`, `timeouts`, `ipv4/LVSYNC-INPUT`.
    fn id(&self) -> String;
    /// The plan text of this change: its line (after `  {sign} `) and any lines under it.
    fn text(&self, plan: &Plan, paint: &Paint, out: &mut String);
    /// SPEC's JSON `before` and `after` objects.
    fn json<'a>(&'a self, plan: &'a Plan) -> (Option<Object<'a>>, Option<Object<'a>>);
    /// What an update changes, in a few words for a log line (`weight 1 -> 5`); may be empty.
    fn detail(&self) -> String {
        String::new()
    }
    /// The one service this change is confined to, if any: reading that service back verifies
    /// it. `None` = verifying it needs a read of the whole scope.
    fn service(&self) -> Option<ServiceKey> {
        None
    }
    /// Record in the inventory what this change makes lvsync own or stop owning: called before
    /// the plan runs with `done` false (write ahead: only what it adds), and after it ran with
    /// `done` true. By default a change records nothing here (services and chains are recorded
    /// from the desired state).
    fn record(&self, _inventory: &mut Inventory, _done: bool) {}
}

/// One change to live state, of one domain. Attribute changes are updates in place; only
/// identity changes (a different key) delete and create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Ipvs(IpvsChange),
    Firewall(ChainChange),
    Sync(SyncChange),
    Keepalived(KeepalivedChange),
    Host(HostChange),
}

impl Change {
    /// The domain's own change, for everything every change declares. One arm per domain.
    pub fn info(&self) -> &dyn DomainChange {
        match self {
            Change::Ipvs(c) => c,
            Change::Firewall(c) => c,
            Change::Sync(c) => c,
            Change::Keepalived(c) => c,
            Change::Host(c) => c,
        }
    }

    pub fn domain(&self) -> Domain {
        self.info().domain()
    }

    pub fn phase(&self) -> Phase {
        self.info().phase()
    }

    pub fn action(&self) -> Action {
        self.info().action()
    }

    pub fn kind(&self) -> &'static str {
        self.info().kind()
    }

    pub fn id(&self) -> String {
        self.info().id()
    }
}

impl From<IpvsChange> for Change {
    fn from(c: IpvsChange) -> Change {
        Change::Ipvs(c)
    }
}

impl From<ChainChange> for Change {
    fn from(c: ChainChange) -> Change {
        Change::Firewall(c)
    }
}

impl From<SyncChange> for Change {
    fn from(c: SyncChange) -> Change {
        Change::Sync(c)
    }
}

impl From<KeepalivedChange> for Change {
    fn from(c: KeepalivedChange) -> Change {
        Change::Keepalived(c)
    }
}

impl From<HostChange> for Change {
    fn from(c: HostChange) -> Change {
        Change::Host(c)
    }
}
