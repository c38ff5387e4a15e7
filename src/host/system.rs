//! The host as lvsync sees it: observe the addresses, tunnel devices, fou listeners and
//! sysctls, and execute `HostChange`s, through rtnetlink, generic netlink and /proc/sys.

use std::collections::BTreeMap;
use std::io;

use super::fou::FouClient;
use super::rtnl::Client;
use super::sysctl::Sysctls;
use crate::plan::HostChange;
use crate::state::{Family, HostAddress, HostState, OwnAddress, RouteBack, SysctlKey, TunnelDevice};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{doing}: {source}")]
    Netlink {
        doing: String,
        #[source]
        source: io::Error,
    },
    #[error("{doing} sysctl {key}: {source}")]
    Sysctl {
        key: String,
        doing: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("{doing}: no device `{device}` on this host")]
    NoDevice { device: String, doing: String },
}

fn netlink(doing: impl Into<String>) -> impl FnOnce(io::Error) -> Error {
    let doing = doing.into();
    move |source| Error::Netlink { doing, source }
}

pub struct HostSystem {
    rtnl: Client,
    fou: Option<FouClient>,
    sysctls: Sysctls,
}

impl HostSystem {
    pub fn connect() -> Result<HostSystem, Error> {
        HostSystem::with_sysctls(Sysctls::default())
    }

    /// With another /proc/sys tree (tests).
    pub fn with_sysctls(sysctls: Sysctls) -> Result<HostSystem, Error> {
        let rtnl = Client::connect().map_err(netlink("opening an rtnetlink socket"))?;
        Ok(HostSystem { rtnl, fou: None, sysctls })
    }

    pub fn rtnl(&mut self) -> &mut Client {
        &mut self.rtnl
    }

    /// The fou family, once resolved; `None` when the fou module is not loaded.
    fn fou(&mut self) -> Result<Option<&mut FouClient>, Error> {
        if self.fou.is_none() {
            match FouClient::connect() {
                Ok(c) => self.fou = Some(c),
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(None),
                Err(e) => return Err(netlink("resolving the generic netlink family fou")(e)),
            }
        }
        Ok(self.fou.as_mut())
    }

    fn link_names(&mut self) -> Result<BTreeMap<u32, (String, bool)>, Error> {
        let links = self.rtnl.links().map_err(netlink("listing links"))?;
        Ok(links.into_iter().map(|l| (l.index, (l.name, l.up))).collect())
    }

    fn index_of(&mut self, device: &str, doing: &str) -> Result<u32, Error> {
        let names = self.link_names()?;
        names
            .into_iter()
            .find_map(|(i, (n, _))| (n == device).then_some(i))
            .ok_or_else(|| Error::NoDevice { device: device.to_string(), doing: doing.to_string() })
    }

    /// Every address of the host, the tunnel devices, the GUE listeners, and the values of
    /// `sysctls` (those that exist).
    pub fn observe<'a>(&mut self, sysctls: impl IntoIterator<Item = &'a SysctlKey>) -> Result<HostState, Error> {
        let names = self.link_names()?;
        let mut out = HostState::default();
        for (name, up) in names.values() {
            if let Some(d) = TunnelDevice::by_name(name) {
                out.devices.insert(d, *up);
            }
        }
        for a in self.rtnl.addresses().map_err(netlink("listing addresses"))? {
            if let Some((device, _)) = names.get(&a.index) {
                out.addresses.insert(HostAddress { device: device.clone(), addr: a.addr, prefix_len: a.prefix_len });
            }
        }
        if let Some(fou) = self.fou()? {
            out.fou = fou.gue_ports().map_err(netlink("listing fou listeners"))?.into_iter().collect();
        }
        for key in sysctls {
            if let Some(v) = self.sysctls.read(key)? {
                out.sysctls.insert(key.clone(), v);
            }
        }
        Ok(out)
    }

    /// The host's own addresses outside `lo`, with their devices: where its real-server
    /// addresses are found.
    pub fn own_addresses(&mut self) -> Result<Vec<OwnAddress>, Error> {
        let names = self.link_names()?;
        let mut out: Vec<OwnAddress> = self
            .rtnl
            .addresses()
            .map_err(netlink("listing addresses"))?
            .into_iter()
            .filter_map(|a| {
                let (device, _) = names.get(&a.index)?;
                (device != "lo").then(|| OwnAddress { addr: a.addr, device: Some(device.clone()) })
            })
            .collect();
        out.sort();
        Ok(out)
    }

    /// The main table's default routes, for the NAT check.
    pub fn default_routes(&mut self) -> Result<Vec<RouteBack>, Error> {
        let names = self.link_names()?;
        let routes = self.rtnl.default_routes().map_err(netlink("listing routes"))?;
        Ok(routes
            .into_iter()
            .map(|r| RouteBack {
                family: if r.ipv6 { Family::Ipv6 } else { Family::Ipv4 },
                gateway: r.gateway,
                device: r.oif.and_then(|i| names.get(&i)).map(|(n, _)| n.clone()),
            })
            .collect())
    }

    /// Execute one change. For `SetSysctl`, returns the value the sysctl had just before (for
    /// the ownership record).
    pub fn apply(&mut self, change: &HostChange) -> Result<Option<String>, Error> {
        let doing = change.to_string();
        match change {
            HostChange::DeviceUp(d) => {
                self.rtnl.set_link(d.name(), Some(d.kind()), true).map_err(netlink(doing))?;
            }
            HostChange::DeviceDown(d) => {
                self.rtnl.set_link(d.name(), None, false).map_err(netlink(doing))?;
            }
            HostChange::AddFou(p) | HostChange::RemoveFou(p) => {
                let add = matches!(change, HostChange::AddFou(_));
                let fou =
                    self.fou()?.ok_or_else(|| netlink(doing.clone())(io::Error::from_raw_os_error(libc::ENOENT)))?;
                let r = if add { fou.add(*p) } else { fou.del(*p) };
                r.map_err(netlink(doing))?;
            }
            HostChange::AddAddress(a) => {
                let index = self.index_of(&a.device, &doing)?;
                self.rtnl.add_address(index, a.addr, a.prefix_len).map_err(netlink(doing))?;
            }
            HostChange::RemoveAddress(a) => {
                let index = self.index_of(&a.device, &doing)?;
                self.rtnl.del_address(index, a.addr, a.prefix_len).map_err(netlink(doing))?;
            }
            HostChange::SetSysctl { key, to, .. } => {
                let before = self.sysctls.read(key)?;
                self.sysctls.write(key, to)?;
                return Ok(before);
            }
            HostChange::RestoreSysctl { key, to, .. } => self.sysctls.write(key, to)?,
        }
        Ok(None)
    }
}
