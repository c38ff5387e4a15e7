//! Desired vs observed host state, under lvsync's ownership record: what to add, change,
//! remove or restore. Pure.
//!
//! lvsync removes only what it added and restores a sysctl to the value it had before lvsync
//! first set it. Something that was already there (an address, a device already up) is never
//! claimed, so it is never removed either.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use super::state::{FouPort, HostAddress, HostState, SysctlKey, TunnelDevice};

/// One change to the host.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum HostChange {
    /// Make the device if missing (its module's fallback device) and bring it up.
    DeviceUp(TunnelDevice),
    AddFou(FouPort),
    AddAddress(HostAddress),
    /// `from` is `None` when the sysctl does not exist yet (a device's, before the device).
    SetSysctl {
        key: SysctlKey,
        from: Option<String>,
        to: String,
    },
    RemoveAddress(HostAddress),
    /// Back to the value it had before lvsync set it.
    RestoreSysctl {
        key: SysctlKey,
        from: String,
        to: String,
    },
    RemoveFou(FouPort),
    DeviceDown(TunnelDevice),
}

/// When a change runs: devices before the addresses on them and the sysctls of them;
/// removals after additions, in reverse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum HostPhase {
    Devices,
    Addresses,
    Sysctls,
    RemoveAddresses,
    RestoreSysctls,
    RemoveDevices,
}

impl HostChange {
    pub fn phase(&self) -> HostPhase {
        match self {
            HostChange::DeviceUp(_) | HostChange::AddFou(_) => HostPhase::Devices,
            HostChange::AddAddress(_) => HostPhase::Addresses,
            HostChange::SetSysctl { .. } => HostPhase::Sysctls,
            HostChange::RemoveAddress(_) => HostPhase::RemoveAddresses,
            HostChange::RestoreSysctl { .. } => HostPhase::RestoreSysctls,
            HostChange::RemoveFou(_) | HostChange::DeviceDown(_) => HostPhase::RemoveDevices,
        }
    }
}

/// Plan lines: `+ address 192.168.2.110/32 on eth0`, `~ sysctl net.ipv4.vs.conntrack 0 -> 1`.
impl fmt::Display for HostChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostChange::DeviceUp(d) => write!(f, "+ device {d} up"),
            HostChange::AddFou(p) => write!(f, "+ fou {p}"),
            HostChange::AddAddress(a) => write!(f, "+ address {a}"),
            HostChange::SetSysctl { key, from, to } => {
                write!(f, "~ sysctl {key} {} -> {to}", from.as_deref().unwrap_or("(none)"))
            }
            HostChange::RemoveAddress(a) => write!(f, "- address {a}"),
            HostChange::RestoreSysctl { key, from, to } => write!(f, "~ sysctl {key} {from} -> {to} (restored)"),
            HostChange::RemoveFou(p) => write!(f, "- fou {p}"),
            HostChange::DeviceDown(d) => write!(f, "- device {d} down"),
        }
    }
}

/// What lvsync changed on the host and may undo: the inventory's record.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Owned {
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub addresses: BTreeSet<HostAddress>,
    /// Devices lvsync brought up (or made).
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub devices: BTreeSet<TunnelDevice>,
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub fou: BTreeSet<FouPort>,
    /// Each sysctl lvsync set, with the value it had before.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sysctls: BTreeMap<SysctlKey, String>,
}

impl Owned {
    /// Record a change that succeeded. `before` is the sysctl's value just before a
    /// `SetSysctl` wrote it (what the executor read), for the first time lvsync sets it.
    pub fn record(&mut self, change: &HostChange, before: Option<&str>) {
        match change {
            HostChange::DeviceUp(d) => {
                self.devices.insert(*d);
            }
            HostChange::DeviceDown(d) => {
                self.devices.remove(d);
            }
            HostChange::AddFou(p) => {
                self.fou.insert(*p);
            }
            HostChange::RemoveFou(p) => {
                self.fou.remove(p);
            }
            HostChange::AddAddress(a) => {
                self.addresses.insert(a.clone());
            }
            HostChange::RemoveAddress(a) => {
                self.addresses.remove(a);
            }
            HostChange::SetSysctl { key, from, .. } => {
                if let Some(original) = before.or(from.as_deref()) {
                    self.sysctls.entry(key.clone()).or_insert_with(|| original.to_string());
                }
            }
            HostChange::RestoreSysctl { key, .. } => {
                self.sysctls.remove(key);
            }
        }
    }

    /// Forget what no longer needs undoing: what left the file and is already gone from the
    /// host, or already back to its original value (by hand, or by another tool).
    pub fn settle(&mut self, desired: &HostState, observed: &HostState) {
        self.addresses.retain(|a| desired.addresses.contains(a) || observed.addresses.contains(a));
        self.fou.retain(|p| desired.fou.contains(p) || observed.fou.contains(p));
        self.devices.retain(|d| desired.devices.contains_key(d) || observed.devices.get(d).copied().unwrap_or(false));
        self.sysctls.retain(|k, original| {
            desired.sysctls.contains_key(k) || observed.sysctls.get(k).is_some_and(|now| now != original)
        });
    }
}

/// The changes that make `observed` what `desired` asks, undoing what lvsync `owned` and the
/// file no longer asks; in the order they must run.
pub fn diff(desired: &HostState, observed: &HostState, owned: &Owned) -> Vec<HostChange> {
    let mut out = Vec::new();
    for (device, _) in desired.devices.iter() {
        if observed.devices.get(device) != Some(&true) {
            out.push(HostChange::DeviceUp(*device));
        }
    }
    for device in owned.devices.iter().filter(|d| !desired.devices.contains_key(d)) {
        if observed.devices.get(device) == Some(&true) {
            out.push(HostChange::DeviceDown(*device));
        }
    }
    out.extend(desired.fou.difference(&observed.fou).map(|p| HostChange::AddFou(*p)));
    out.extend(
        owned
            .fou
            .iter()
            .filter(|p| !desired.fou.contains(p) && observed.fou.contains(p))
            .map(|p| HostChange::RemoveFou(*p)),
    );
    out.extend(desired.addresses.difference(&observed.addresses).map(|a| HostChange::AddAddress(a.clone())));
    out.extend(
        owned
            .addresses
            .iter()
            .filter(|a| !desired.addresses.contains(a) && observed.addresses.contains(a))
            .map(|a| HostChange::RemoveAddress(a.clone())),
    );
    for (key, to) in &desired.sysctls {
        let now = observed.sysctls.get(key);
        if now != Some(to) {
            out.push(HostChange::SetSysctl { key: key.clone(), from: now.cloned(), to: to.clone() });
        }
    }
    for (key, original) in owned.sysctls.iter().filter(|(k, _)| !desired.sysctls.contains_key(*k)) {
        if let Some(now) = observed.sysctls.get(key)
            && now != original
        {
            out.push(HostChange::RestoreSysctl { key: key.clone(), from: now.clone(), to: original.clone() });
        }
    }
    out.sort_by(|a, b| a.phase().cmp(&b.phase()).then_with(|| a.cmp(b)));
    out
}
