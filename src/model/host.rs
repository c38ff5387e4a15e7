//! Checking and resolving the host sections: `director` and `ipvs.sysctls`.

use super::check::Checker;
use super::config::ServiceSpec;
use super::raw;
use crate::state::{Family, Forward};

/// The director's own host setup, resolved: `None` fields are not enforced.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DirectorSpec {
    /// Where every service VIP goes; `None`: lvsync adds no address.
    pub interface: Option<String>,
    /// IP forwarding, with the default applied (`Some(true)` when a service forwards by nat).
    pub forwarding: Option<bool>,
}

/// `net.ipv4.vs.*` settings; each is enforced only when `Some`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IpvsSysctls {
    pub conntrack: Option<bool>,
    pub expire_nodest_conn: Option<bool>,
    pub expire_quiescent_template: Option<bool>,
    /// 0..=3.
    pub conn_reuse_mode: Option<u8>,
    pub sloppy_tcp: Option<bool>,
    pub sloppy_sctp: Option<bool>,
    pub schedule_icmp: Option<bool>,
}

impl IpvsSysctls {
    /// The given settings as (name under `net.ipv4.vs`, value as /proc/sys writes it).
    pub fn entries(&self) -> Vec<(&'static str, String)> {
        let flag = |b: bool| if b { "1".to_string() } else { "0".to_string() };
        let bools = [
            ("conntrack", self.conntrack),
            ("expire_nodest_conn", self.expire_nodest_conn),
            ("expire_quiescent_template", self.expire_quiescent_template),
            ("sloppy_tcp", self.sloppy_tcp),
            ("sloppy_sctp", self.sloppy_sctp),
            ("schedule_icmp", self.schedule_icmp),
        ];
        let mut out: Vec<(&'static str, String)> =
            bools.into_iter().filter_map(|(name, v)| v.map(|v| (name, flag(v)))).collect();
        if let Some(mode) = self.conn_reuse_mode {
            out.push(("conn_reuse_mode", mode.to_string()));
        }
        out.sort();
        out
    }
}

/// Linux's own rule for a device name (`dev_valid_name`): 1..15 bytes, not `.` or `..`, no
/// `/`, `:` or white space.
pub fn valid_interface(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 15
        && name != "."
        && name != ".."
        && !name.chars().any(|c| c == '/' || c == ':' || c.is_whitespace())
}

pub fn sysctls(c: &mut Checker, raw: Option<&raw::IpvsSysctls>) -> IpvsSysctls {
    let Some(s) = raw else { return IpvsSysctls::default() };
    let conn_reuse_mode = s.conn_reuse_mode.and_then(|v| {
        c.int(
            "ipvs.sysctls.conn_reuse_mode",
            v,
            0,
            3,
            "conn_reuse_mode (a bitmap: 0 off, 1 reschedule when safe, 2 also in FIN_WAIT)",
        )
        .and_then(|v| u8::try_from(v).ok())
    });
    IpvsSysctls {
        conntrack: s.conntrack,
        expire_nodest_conn: s.expire_nodest_conn,
        expire_quiescent_template: s.expire_quiescent_template,
        conn_reuse_mode,
        sloppy_tcp: s.sloppy_tcp,
        sloppy_sctp: s.sloppy_sctp,
        schedule_icmp: s.schedule_icmp,
    }
}

/// `None` when the file has no `director`: then lvsync touches no address and no forwarding.
pub fn director(c: &mut Checker, raw: Option<&raw::Director>, services: &[ServiceSpec]) -> Option<DirectorSpec> {
    let d = raw?;
    if let Some(name) = &d.interface
        && !valid_interface(name)
    {
        c.err(
            "director.interface",
            format!(
                "`{name}` is not a valid interface name; expected 1 to 15 characters without `/`, `:` or spaces, such as `eth0`"
            ),
        );
    }
    let nat = services.iter().find(|s| s.service.reals.values().any(|r| r.forward == Forward::Nat));
    if let (Some(false), Some(nat)) = (d.forwarding, nat) {
        c.err(
            "director.forwarding",
            format!(
                "`false` cannot be: service `{}` forwards by nat, and its replies are routed through the director; use `true` or leave it out",
                nat.name
            ),
        );
    }
    let forwarding = d.forwarding.or(nat.map(|_| true));
    Some(DirectorSpec { interface: d.interface.clone(), forwarding })
}

/// Whether any service or real server of the file is IPv6: IPv6 forwarding is only enforced
/// then, because turning it on makes a host stop accepting router advertisements.
pub fn uses_ipv6(services: &[ServiceSpec]) -> bool {
    services.iter().any(|s| s.key.family() == Family::Ipv6 || s.service.reals.keys().any(|r| r.address.is_ipv6()))
}
