//! The IPVS sync daemon backend: GET_DAEMON reads the running daemons, NEW_DAEMON starts one
//! with every setting given, DEL_DAEMON stops one. A running daemon cannot be changed, so a
//! restart is a stop and a start.

use std::collections::BTreeMap;
use std::io;
use std::net::IpAddr;

use super::attrs::{DaemonAttr, DaemonState, IpvsAttr};
use super::client::{Client, Mode, Outcome};
use super::message::{IpvsCmd, IpvsMessage};
use crate::backend::{self, Backend, Executed};
use crate::plan::{Change, Domain, SyncChange};
use crate::state::{Scope, State, SyncDaemon, SyncRole};

/// A sync daemon the kernel would not read, start or stop.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Ipvs(#[from] super::Error),
    #[error("{doing}: {why}")]
    Refused {
        doing: String,
        why: String,
        #[source]
        source: io::Error,
    },
}

impl backend::DomainError for SyncError {
    const DOMAIN: Domain = Domain::IpvsSync;
}

pub struct SyncBackend {
    client: Client,
}

impl SyncBackend {
    pub fn connect() -> Result<SyncBackend, SyncError> {
        Ok(SyncBackend { client: Client::connect()? })
    }

    /// The socket underneath (to capture fixtures).
    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    /// The running daemons, by role.
    pub fn daemons(&mut self) -> Result<BTreeMap<SyncRole, SyncDaemon>, SyncError> {
        let mut found = BTreeMap::new();
        let dump = IpvsMessage::new(IpvsCmd::GetDaemon, Vec::new());
        let outcomes = self.client.pipeline(std::slice::from_ref(&dump), Mode::Dump, false, |_, msg| {
            for attr in &msg.attrs {
                if let IpvsAttr::Daemon(attrs) = attr
                    && let Some((role, daemon)) = daemon_from(attrs)
                {
                    found.insert(role, daemon);
                }
            }
        })?;
        for o in outcomes {
            if let Outcome::Failed(source) = o {
                let why = why(IpvsCmd::GetDaemon, &source, None);
                return Err(SyncError::Refused { doing: "reading the IPVS sync daemons".into(), why, source });
            }
        }
        Ok(found)
    }

    /// Carry out the sync changes of `changes`, in order; stop at the first refusal.
    pub fn execute_sync(&mut self, changes: &[Change]) -> Result<Executed, SyncError> {
        let mut done = Executed::default();
        for change in changes {
            let Change::Sync(change) = change else { continue };
            for req in requests_for(change) {
                let cmd = req.cmd;
                let (_, outcome) = self.client.request(req, Mode::Do)?;
                if let Outcome::Failed(source) = outcome {
                    let doing = describe(change, cmd);
                    let why = why(cmd, &source, change.after.as_ref());
                    return Err(SyncError::Refused { doing, why, source });
                }
                done.writes += 1;
            }
            done.changes += 1;
        }
        Ok(done)
    }
}

impl Backend for SyncBackend {
    fn domain(&self) -> Domain {
        Domain::IpvsSync
    }

    fn observe_scope(&mut self, scope: &Scope, state: &mut State) -> Result<(), backend::Error> {
        if *scope == Scope::All {
            state.sync = Some(self.daemons()?);
        }
        Ok(())
    }

    fn execute(&mut self, changes: &[Change]) -> Result<Executed, backend::Error> {
        Ok(self.execute_sync(changes)?)
    }
}

/// A daemon of a GET_DAEMON answer; `None` for a state lvsync does not know.
pub fn daemon_from(attrs: &[DaemonAttr]) -> Option<(SyncRole, SyncDaemon)> {
    let mut role = None;
    let mut d = SyncDaemon::default();
    for a in attrs {
        match a {
            DaemonAttr::State(DaemonState::Master) => role = Some(SyncRole::Master),
            DaemonAttr::State(DaemonState::Backup) => role = Some(SyncRole::Backup),
            DaemonAttr::McastIfn(ifn) => d.interface = ifn.clone(),
            DaemonAttr::SyncId(id) => d.id = u8::try_from(*id).unwrap_or(u8::MAX),
            DaemonAttr::SyncMaxLen(v) => d.maxlen = Some(*v),
            DaemonAttr::McastGroup(g) => d.group = Some(IpAddr::V4(*g)),
            DaemonAttr::McastGroup6(g) => d.group = Some(IpAddr::V6(*g)),
            DaemonAttr::McastPort(p) => d.port = Some(*p),
            DaemonAttr::McastTtl(t) => d.ttl = Some(*t),
            _ => {}
        }
    }
    role.map(|r| (r, d))
}

fn state_of(role: SyncRole) -> DaemonState {
    match role {
        SyncRole::Master => DaemonState::Master,
        SyncRole::Backup => DaemonState::Backup,
    }
}

/// NEW_DAEMON's attributes: role, interface and id always; the rest when given.
pub fn daemon_attrs(role: SyncRole, d: &SyncDaemon) -> Vec<DaemonAttr> {
    let mut attrs = vec![
        DaemonAttr::State(state_of(role)),
        DaemonAttr::McastIfn(d.interface.clone()),
        DaemonAttr::SyncId(d.id.into()),
    ];
    attrs.extend(d.maxlen.map(DaemonAttr::SyncMaxLen));
    attrs.extend(d.group.map(|g| match g {
        IpAddr::V4(g) => DaemonAttr::McastGroup(g),
        IpAddr::V6(g) => DaemonAttr::McastGroup6(g),
    }));
    attrs.extend(d.port.map(DaemonAttr::McastPort));
    attrs.extend(d.ttl.map(DaemonAttr::McastTtl));
    attrs
}

fn requests_for(change: &SyncChange) -> Vec<IpvsMessage> {
    let mut out = Vec::new();
    if change.before.is_some() {
        let stop = vec![DaemonAttr::State(state_of(change.role))];
        out.push(IpvsMessage::new(IpvsCmd::DelDaemon, vec![IpvsAttr::Daemon(stop)]));
    }
    if let Some(after) = &change.after {
        out.push(IpvsMessage::new(IpvsCmd::NewDaemon, vec![IpvsAttr::Daemon(daemon_attrs(change.role, after))]));
    }
    out
}

fn describe(change: &SyncChange, cmd: IpvsCmd) -> String {
    let role = change.role;
    match (cmd, &change.after) {
        (IpvsCmd::NewDaemon, Some(d)) => format!("starting the IPVS sync {role} {}", d.describe()),
        _ => format!("stopping the IPVS sync {role}"),
    }
}

/// What the kernel's refusal means, as a sentence saying what to do.
fn why(cmd: IpvsCmd, err: &io::Error, daemon: Option<&SyncDaemon>) -> String {
    let ifn = daemon.map_or("?", |d| d.interface.as_str());
    match (cmd, err.raw_os_error()) {
        (_, Some(libc::EPERM)) => "not permitted: IPVS needs CAP_NET_ADMIN (run lvsync as root)".into(),
        (IpvsCmd::NewDaemon, Some(libc::ENODEV)) => {
            format!(
                "there is no interface `{ifn}` on this director; `ipvs.sync.interface` must name one (see `ip link`)"
            )
        }
        (IpvsCmd::NewDaemon, Some(libc::EINVAL)) => {
            "the kernel refused the settings: connection sync cannot run while \
             a service has real servers of the other address family (`forward: tun` across families), and the \
             interface name must be at most 15 characters"
                .into()
        }
        (IpvsCmd::NewDaemon, Some(libc::EEXIST)) => "a daemon of this role is already running".into(),
        (IpvsCmd::DelDaemon, Some(libc::ESRCH)) => "no daemon of this role is running".into(),
        _ => format!("the kernel refused: {err}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_goes_into_new_daemon_and_comes_back() {
        let d = SyncDaemon {
            interface: "eth1".into(),
            id: 51,
            group: Some("ff02::81".parse().unwrap()),
            port: Some(9000),
            ttl: Some(2),
            maxlen: Some(1400),
        };
        let attrs = daemon_attrs(SyncRole::Backup, &d);
        assert_eq!(attrs.len(), 7);
        assert_eq!(daemon_from(&attrs), Some((SyncRole::Backup, d)));
        let plain = SyncDaemon { interface: "eth0".into(), ..SyncDaemon::default() };
        assert_eq!(daemon_attrs(SyncRole::Master, &plain).len(), 3);
    }

    #[test]
    fn refusals_say_what_to_do() {
        let d = SyncDaemon { interface: "eth9".into(), ..SyncDaemon::default() };
        let e = |n| io::Error::from_raw_os_error(n);
        assert!(why(IpvsCmd::NewDaemon, &e(libc::ENODEV), Some(&d)).contains("no interface `eth9`"));
        assert!(why(IpvsCmd::NewDaemon, &e(libc::EINVAL), Some(&d)).contains("other address family"));
        assert!(why(IpvsCmd::DelDaemon, &e(libc::EIO), None).starts_with("the kernel refused"));
    }
}
