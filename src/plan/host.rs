//! The host domain of the plan: desired vs observed host state, under lvsync's ownership
//! record (the inventory's `host`): what to add, change, remove or restore. Pure.
//!
//! lvsync removes only what it added and restores a sysctl to the value it had before lvsync
//! first set it. Something that was already there (an address, a device already up) is never
//! claimed, so it is never removed either.

use std::fmt;

use std::fmt::Write as _;

use serde::Serialize;

use super::json::Object;
use super::render::Paint;
use super::{Action, Change, Domain, DomainChange, Input, Phase, Plan};
use crate::state::{FouPort, HostAddress, HostState, Inventory, Owned, SysctlKey, TunnelDevice};

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

impl HostChange {
    /// The plan line after its sign: `address 192.168.2.110/32 on eth0`,
    /// `sysctl net.ipv4.vs.conntrack 0 -> 1`.
    pub fn line(&self) -> String {
        match self {
            HostChange::DeviceUp(d) => format!("device {d} up"),
            HostChange::AddFou(p) | HostChange::RemoveFou(p) => format!("fou {p}"),
            HostChange::AddAddress(a) | HostChange::RemoveAddress(a) => format!("address {a}"),
            HostChange::SetSysctl { key, from, to } => {
                format!("sysctl {key} {} -> {to}", from.as_deref().unwrap_or("(none)"))
            }
            HostChange::RestoreSysctl { key, from, to } => format!("sysctl {key} {from} -> {to} (restored)"),
            HostChange::DeviceDown(d) => format!("device {d} down"),
        }
    }
}

/// Plan lines: `+ address 192.168.2.110/32 on eth0`, `~ sysctl net.ipv4.vs.conntrack 0 -> 1`.
impl fmt::Display for HostChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = match self.action() {
            Action::Create => "+",
            Action::Update => "~",
            Action::Delete => "-",
        };
        write!(f, "{sign} {}", self.line())
    }
}

/// The host's changes, with the domain's phases: devices, addresses and sysctls before the
/// services that use them; removals and restores after the services are removed.
pub fn plan(input: &Input, p: &mut Plan) {
    let changes = diff(&input.desired.host, &input.observed.host, &input.inventory.host);
    p.changes.extend(changes.into_iter().map(Change::Host));
}

/// Whether a sysctl is one of `ipvs.sysctls` (`net.ipv4.vs.*`).
fn is_ipvs(key: &SysctlKey) -> bool {
    key.path().starts_with("net/ipv4/vs/")
}

impl DomainChange for HostChange {
    fn domain(&self) -> Domain {
        Domain::Host
    }

    fn phase(&self) -> Phase {
        match HostChange::phase(self) {
            HostPhase::Devices | HostPhase::Addresses | HostPhase::Sysctls => Phase::Host,
            HostPhase::RemoveAddresses | HostPhase::RestoreSysctls | HostPhase::RemoveDevices => Phase::RemoveHost,
        }
    }

    fn action(&self) -> Action {
        match self {
            HostChange::DeviceUp(_) | HostChange::AddFou(_) | HostChange::AddAddress(_) => Action::Create,
            HostChange::SetSysctl { .. } | HostChange::RestoreSysctl { .. } => Action::Update,
            HostChange::RemoveAddress(_) | HostChange::RemoveFou(_) | HostChange::DeviceDown(_) => Action::Delete,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            HostChange::DeviceUp(_) | HostChange::DeviceDown(_) => "tunnel_device",
            HostChange::AddFou(_) | HostChange::RemoveFou(_) => "fou_port",
            HostChange::AddAddress(_) | HostChange::RemoveAddress(_) => "address",
            HostChange::SetSysctl { key, .. } | HostChange::RestoreSysctl { key, .. } if is_ipvs(key) => "ipvs_sysctl",
            HostChange::SetSysctl { .. } | HostChange::RestoreSysctl { .. } => "sysctl",
        }
    }

    /// `lo/192.168.2.110/32`, `tunl0`, `gue/ipv4/6080`, `net.ipv4.vs.conntrack`.
    fn id(&self) -> String {
        match self {
            HostChange::DeviceUp(d) | HostChange::DeviceDown(d) => d.to_string(),
            HostChange::AddFou(p) | HostChange::RemoveFou(p) => format!("gue/{}/{}", p.family, p.port),
            HostChange::AddAddress(a) | HostChange::RemoveAddress(a) => {
                format!("{}/{}/{}", a.device, a.addr, a.prefix_len)
            }
            HostChange::SetSysctl { key, .. } | HostChange::RestoreSysctl { key, .. } => key.to_string(),
        }
    }

    fn record(&self, inventory: &mut Inventory, done: bool) {
        if done || self.action() != Action::Delete {
            inventory.host.record(self, None);
        }
    }

    fn text(&self, _: &Plan, _: &Paint, out: &mut String) {
        let _ = writeln!(out, "{}", self.line());
    }

    fn json<'a>(&'a self, _: &'a Plan) -> (Option<Object<'a>>, Option<Object<'a>>) {
        let obj = |j: HostJson<'a>| Some(Object::Host(j));
        let device = |d: &TunnelDevice, up: bool| obj(HostJson::Device { device: d.name(), up });
        let fou = |p: &'a FouPort| obj(HostJson::Fou { port: p.port, family: p.family.name() });
        let address = |a: &'a HostAddress| {
            obj(HostJson::Address { device: &a.device, address: a.addr.to_string(), prefix_len: a.prefix_len })
        };
        let sysctl = |key: &'a SysctlKey, value: &'a str| obj(HostJson::Sysctl { key: key.to_string(), value });
        match self {
            HostChange::DeviceUp(d) => (None, device(d, true)),
            HostChange::DeviceDown(d) => (device(d, true), None),
            HostChange::AddFou(p) => (None, fou(p)),
            HostChange::RemoveFou(p) => (fou(p), None),
            HostChange::AddAddress(a) => (None, address(a)),
            HostChange::RemoveAddress(a) => (address(a), None),
            HostChange::SetSysctl { key, from, to } => (from.as_deref().and_then(|f| sysctl(key, f)), sysctl(key, to)),
            HostChange::RestoreSysctl { key, from, to } => (sysctl(key, from), sysctl(key, to)),
        }
    }
}

/// A host change's `before` or `after` in the JSON plan.
#[derive(Serialize)]
#[serde(untagged)]
pub enum HostJson<'a> {
    Address { device: &'a str, address: String, prefix_len: u8 },
    Device { device: &'static str, up: bool },
    Fou { port: u16, family: &'static str },
    Sysctl { key: String, value: &'a str },
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
