//! `ipvs.sync`: the connection sync daemons, checked and resolved; and their export.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::check::{Checker, first_at};
use super::raw;
use crate::state::{DEFAULT_GROUP, DEFAULT_PORT, DEFAULT_TTL, Family, SyncDaemon, SyncDaemons, SyncRole};

/// The kernel's limit on an interface name (IFNAMSIZ less the terminating NUL).
const MAX_IFNAME: usize = 15;

/// Check `ipvs.sync` and resolve it into one daemon per role. `file` is checked for real
/// servers of the other address family, which the kernel refuses while sync runs.
pub fn sync(c: &mut Checker, file: &raw::File) -> SyncDaemons {
    let s = file.ipvs.as_ref().and_then(|i| i.sync.as_ref())?;
    let before = c.count();
    let p = |field: &str| format!("ipvs.sync.{field}");
    if !valid_ifname(&s.interface) {
        c.err(
            &p("interface"),
            format!(
                "`{}` is not a valid interface name; expected 1..={MAX_IFNAME} characters without `/`, `:` or spaces, such as `eth1`",
                s.interface
            ),
        );
    }
    let id = s.id.and_then(|v| c.int(&p("id"), v, 0, 255, "sync id")).unwrap_or(0);
    let group = s.group.as_deref().and_then(|g| c.ip(&p("group"), g, "multicast group"));
    if let Some(g) = group
        && !g.is_multicast()
    {
        c.err(
            &p("group"),
            format!("`{g}` is not a multicast address; expected an IPv4 (224.0.0.0/4) or IPv6 (ff00::/8) multicast group, such as `224.0.0.81`"),
        );
    }
    let port = s.port.and_then(|v| c.int(&p("port"), v, 1, 65535, "sync port"));
    let ttl = s.ttl.and_then(|v| c.int(&p("ttl"), v, 1, 255, "multicast TTL"));
    let maxlen = s.maxlen.and_then(|v| c.int(&p("maxlen"), v, 1, 65535, "sync message length (bytes)"));
    let mut roles = Vec::new();
    match &s.roles {
        None => roles.extend(SyncRole::ALL),
        Some(list) if list.is_empty() => {
            c.err(&p("roles"), "`[]` runs no daemon; expected `master`, `backup` or both (leave `roles` out for both)")
        }
        Some(list) => {
            let mut seen = BTreeMap::new();
            for (i, r) in list.iter().enumerate() {
                let path = format!("ipvs.sync.roles[{i}]");
                let Some(name) = c.word(&path, r, &SyncRole::NAMES, "sync role") else { continue };
                let role = SyncRole::from_name(name).unwrap_or(SyncRole::Master);
                if let Some(first) = seen.insert(role, i) {
                    c.err(&path, format!("`{r}` is listed twice ({})", first_at(&format!("ipvs.sync.roles[{first}]"))));
                } else {
                    roles.push(role);
                }
            }
        }
    }
    mixed_families(c, file);
    if c.count() > before {
        return Some(BTreeMap::new());
    }
    let daemon = SyncDaemon {
        interface: s.interface.clone(),
        id: u8::try_from(id).unwrap_or(0),
        group,
        port: port.and_then(|v| u16::try_from(v).ok()),
        ttl: ttl.and_then(|v| u8::try_from(v).ok()),
        maxlen: maxlen.and_then(|v| u16::try_from(v).ok()),
    };
    Some(roles.into_iter().map(|r| (r, daemon.clone())).collect())
}

pub(super) fn valid_ifname(name: &str) -> bool {
    (1..=MAX_IFNAME).contains(&name.len())
        && name != "."
        && name != ".."
        && !name.chars().any(|ch| ch == '/' || ch == ':' || ch.is_whitespace() || ch.is_control())
}

/// The kernel's sync protocol cannot carry a connection whose real server is of the other
/// family: it refuses to start a daemon while such a real server exists, and such a real server
/// while a daemon runs.
fn mixed_families(c: &mut Checker, file: &raw::File) {
    for (i, s) in file.services.iter().enumerate() {
        let family = match (&s.vip, s.family.as_deref()) {
            (Some(vip), _) => match vip.trim().parse::<IpAddr>() {
                Ok(a) => Family::of(&a),
                Err(_) => continue,
            },
            (None, Some("ipv6")) => Family::Ipv6,
            (None, _) => Family::Ipv4,
        };
        for (j, r) in s.real_servers.iter().enumerate() {
            let Ok(addr) = r.address.trim().parse::<IpAddr>() else { continue };
            if Family::of(&addr) != family {
                c.err(
                    &format!("services[{i}].real_servers[{j}].address"),
                    format!(
                        "`{}` is an {} real server of an {family} service, which the kernel refuses while connection sync runs (`ipvs.sync`); use an {family} real server, or leave out `ipvs.sync`",
                        r.address,
                        Family::of(&addr)
                    ),
                );
            }
        }
    }
}

/// Running daemons as `ipvs.sync`: the master's settings (or the backup's when only it runs),
/// with the roles that run with those settings; the kernel's defaults left out.
pub fn export(daemons: &BTreeMap<SyncRole, SyncDaemon>) -> Option<raw::Sync> {
    let (_, first) = daemons.iter().next()?;
    let roles: Vec<SyncRole> = daemons.iter().filter(|(_, d)| *d == first).map(|(r, _)| *r).collect();
    let roles = (roles.len() < SyncRole::ALL.len()).then(|| roles.iter().map(|r| r.name().to_string()).collect());
    Some(raw::Sync {
        interface: first.interface.clone(),
        id: (first.id != 0).then_some(i64::from(first.id)),
        roles,
        group: first.group.filter(|g| *g != IpAddr::V4(DEFAULT_GROUP)).map(|g| g.to_string()),
        port: first.port.filter(|p| *p != DEFAULT_PORT).map(i64::from),
        ttl: first.ttl.filter(|t| *t != DEFAULT_TTL).map(i64::from),
        // The kernel picks it from the interface's MTU; a file that says it is rare.
        maxlen: None,
    })
}
