//! An in-memory IPVS table and firewall, for testing the planner only: it carries out changes
//! the way the kernel backends do, and refuses what the kernel would refuse.

use super::{ChainChange, Change, HostChange, IpvsChange};
use crate::state::{HostState, Service, State};

pub fn execute(state: &mut State, changes: &[Change]) -> Result<(), String> {
    for c in changes {
        match c {
            Change::Ipvs(IpvsChange::CreateService { key, name, attrs }) => {
                if state.services.contains_key(key) {
                    return Err(format!("{key} exists"));
                }
                state
                    .services
                    .insert(*key, Service { name: name.clone(), attrs: (**attrs).clone(), reals: Default::default() });
            }
            Change::Ipvs(IpvsChange::UpdateService { key, after, .. }) => {
                state.services.get_mut(key).ok_or(format!("no service {key}"))?.attrs = (**after).clone();
            }
            Change::Ipvs(IpvsChange::DeleteService { key, .. }) => {
                state.services.remove(key).ok_or(format!("no service {key}"))?;
            }
            Change::Ipvs(IpvsChange::CreateReal { service, key, real }) => {
                let s = state.services.get_mut(service).ok_or(format!("no service {service}"))?;
                if s.reals.insert(*key, *real).is_some() {
                    return Err(format!("{key} exists"));
                }
            }
            Change::Ipvs(IpvsChange::UpdateReal { service, key, after, .. }) => {
                let s = state.services.get_mut(service).ok_or(format!("no service {service}"))?;
                *s.reals.get_mut(key).ok_or(format!("no real server {key}"))? = *after;
            }
            Change::Ipvs(IpvsChange::DeleteReal { service, key, .. }) => {
                let s = state.services.get_mut(service).ok_or(format!("no service {service}"))?;
                s.reals.remove(key).ok_or(format!("no real server {key}"))?;
            }
            Change::Ipvs(IpvsChange::SetTimeouts { after, .. }) => {
                let t = &mut state.timeouts;
                t.tcp = after.tcp.or(t.tcp);
                t.tcp_fin = after.tcp_fin.or(t.tcp_fin);
                t.udp = after.udp.or(t.udp);
            }
            Change::Firewall(ChainChange { id, after, .. }) => match after {
                Some(chain) => {
                    state.chains.insert(*id, chain.clone());
                }
                None => {
                    state.chains.remove(id);
                }
            },
            Change::Keepalived(super::KeepalivedChange { after, .. }) => {
                state.keepalived = Some(crate::state::KeepalivedConf { text: Some(after.clone()) });
            }
            Change::Sync(super::SyncChange { role, after, .. }) => {
                let daemons = state.sync.get_or_insert_default();
                match after {
                    Some(d) => daemons.insert(*role, d.clone()),
                    None => daemons.remove(role),
                };
            }
            Change::Host(c) => host(&mut state.host, c),
        }
    }
    Ok(())
}

fn host(state: &mut HostState, change: &HostChange) {
    match change {
        HostChange::DeviceUp(d) => {
            state.devices.insert(*d, true);
        }
        HostChange::DeviceDown(d) => {
            state.devices.insert(*d, false);
        }
        HostChange::AddFou(p) => {
            state.fou.insert(*p);
        }
        HostChange::RemoveFou(p) => {
            state.fou.remove(p);
        }
        HostChange::AddAddress(a) => {
            state.addresses.insert(a.clone());
        }
        HostChange::RemoveAddress(a) => {
            state.addresses.remove(a);
        }
        HostChange::SetSysctl { key, to, .. } | HostChange::RestoreSysctl { key, to, .. } => {
            state.sysctls.insert(key.clone(), to.clone());
        }
    }
}
