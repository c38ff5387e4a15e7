//! An in-memory IPVS table and firewall, for testing the planner only: it carries out changes
//! the way the kernel backends do, and refuses what the kernel would refuse.

use super::Change;
use crate::state::{Service, State};

pub fn execute(state: &mut State, changes: &[Change]) -> Result<(), String> {
    for c in changes {
        match c {
            Change::CreateService { key, name, attrs } => {
                if state.services.contains_key(key) {
                    return Err(format!("{key} exists"));
                }
                state
                    .services
                    .insert(*key, Service { name: name.clone(), attrs: (**attrs).clone(), reals: Default::default() });
            }
            Change::UpdateService { key, after, .. } => {
                state.services.get_mut(key).ok_or(format!("no service {key}"))?.attrs = (**after).clone();
            }
            Change::DeleteService { key, .. } => {
                state.services.remove(key).ok_or(format!("no service {key}"))?;
            }
            Change::CreateReal { service, key, real } => {
                let s = state.services.get_mut(service).ok_or(format!("no service {service}"))?;
                if s.reals.insert(*key, *real).is_some() {
                    return Err(format!("{key} exists"));
                }
            }
            Change::UpdateReal { service, key, after, .. } => {
                let s = state.services.get_mut(service).ok_or(format!("no service {service}"))?;
                *s.reals.get_mut(key).ok_or(format!("no real server {key}"))? = *after;
            }
            Change::DeleteReal { service, key, .. } => {
                let s = state.services.get_mut(service).ok_or(format!("no service {service}"))?;
                s.reals.remove(key).ok_or(format!("no real server {key}"))?;
            }
            Change::SetTimeouts { after, .. } => {
                let t = &mut state.timeouts;
                t.tcp = after.tcp.or(t.tcp);
                t.tcp_fin = after.tcp_fin.or(t.tcp_fin);
                t.udp = after.udp.or(t.udp);
            }
            Change::ReplaceChain { id, after, .. } => match after {
                Some(chain) => {
                    state.chains.insert(*id, chain.clone());
                }
                None => {
                    state.chains.remove(id);
                }
            },
        }
    }
    Ok(())
}
