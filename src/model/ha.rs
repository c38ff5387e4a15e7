//! `ha`: the directors of a pair and what keepalived moves between them, checked and resolved.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use super::check::{Checker, first_at};
use super::config::ServiceSpec;
use super::raw;
use super::sync::valid_ifname;
use crate::state::{Ha, HaNode, ServiceKey};

pub fn ha(c: &mut Checker, file: &raw::File, services: &[ServiceSpec]) -> Option<Ha> {
    let h = file.ha.as_ref()?;
    let before = c.count();
    c.word("ha.engine", &h.engine, &["keepalived"], "HA engine");
    if !valid_ifname(&h.interface) {
        c.err(
            "ha.interface",
            format!(
                "`{}` is not a valid interface name; expected 1..=15 characters without `/`, `:` or spaces, such as `eth0`",
                h.interface
            ),
        );
    }
    let vrid = c.int("ha.vrid", h.vrid, 1, 255, "VRRP virtual router id");
    let advert =
        h.advert_interval.map_or(Some(1), |v| c.int("ha.advert_interval", v, 1, 255, "advert interval (seconds)"));
    if let Some(interface) = file.director.as_ref().and_then(|d| d.interface.as_ref()) {
        c.err(
            "director.interface",
            format!(
                "`{interface}` would hold every VIP on this director, but with `ha` keepalived holds them (on `ha.interface`, on the master only); leave `director.interface` out"
            ),
        );
    }
    let nodes = nodes(c, &h.nodes);
    let vips = vips(c, h, services, &nodes);
    if c.count() > before {
        return None;
    }
    Some(Ha {
        interface: h.interface.clone(),
        vrid: vrid.and_then(|v| u8::try_from(v).ok()).unwrap_or(1),
        advert_interval: advert.and_then(|v| u8::try_from(v).ok()).unwrap_or(1),
        preempt: h.preempt.unwrap_or(true),
        nodes,
        vips,
    })
}

fn nodes(c: &mut Checker, raw: &[raw::HaNode]) -> Vec<HaNode> {
    if raw.len() < 2 {
        c.err("ha.nodes", format!("{} node(s) listed; `ha` needs every director of the pair, at least 2", raw.len()));
    }
    let (mut names, mut addresses, mut priorities) = (BTreeMap::new(), BTreeMap::new(), BTreeMap::new());
    let mut out = Vec::new();
    for (i, n) in raw.iter().enumerate() {
        let path = format!("ha.nodes[{i}]");
        let named = c.name(&format!("{path}.name"), &n.name, 62, "node name");
        if named && let Some(first) = names.insert(n.name.clone(), i) {
            c.err(
                &format!("{path}.name"),
                format!("`{}` is listed twice ({})", n.name, first_at(&format!("ha.nodes[{first}]"))),
            );
        }
        let address = c.ip(&format!("{path}.address"), &n.address, "node address");
        if let Some(a) = address
            && let Some(first) = addresses.insert(a, i)
        {
            c.err(
                &format!("{path}.address"),
                format!("`{a}` is listed twice ({})", first_at(&format!("ha.nodes[{first}]"))),
            );
        }
        let priority =
            c.int(&format!("{path}.priority"), n.priority, 1, 254, "VRRP priority (255 is for an address owner)");
        if let Some(p) = priority
            && let Some(first) = priorities.insert(p, i)
        {
            c.err(
                &format!("{path}.priority"),
                format!(
                    "`{p}` is also the priority of ha.nodes[{first}]; priorities must differ, so that one director is clearly the master"
                ),
            );
        }
        if let (Some(address), Some(priority)) = (address, priority.and_then(|p| u8::try_from(p).ok())) {
            out.push(HaNode { name: n.name.clone(), address, priority });
        }
    }
    if let Some(first) = out.first() {
        for (i, n) in out.iter().enumerate().skip(1) {
            if n.address.is_ipv4() != first.address.is_ipv4() {
                c.err(
                    &format!("ha.nodes[{i}].address"),
                    format!(
                        "`{}` is not of the family of ha.nodes[0] (`{}`); VRRP peers share one family",
                        n.address, first.address
                    ),
                );
            }
        }
    }
    out
}

/// Every service VIP, and `ha.vips` (which must not repeat, nor be a node's own address). A
/// fwmark service has no VIP of its own: its addresses must be listed.
fn vips(c: &mut Checker, h: &raw::Ha, services: &[ServiceSpec], nodes: &[HaNode]) -> Vec<IpAddr> {
    let mut all: BTreeSet<IpAddr> = BTreeSet::new();
    for s in services {
        if let ServiceKey::Addr { vip, .. } = s.key {
            all.insert(vip);
        }
    }
    let from_services = all.clone();
    let mut listed = BTreeMap::new();
    for (i, v) in h.vips.iter().enumerate() {
        let path = format!("ha.vips[{i}]");
        let Some(a) = c.ip(&path, v, "VIP") else { continue };
        if let Some(first) = listed.insert(a, i) {
            c.err(&path, format!("`{a}` is listed twice ({})", first_at(&format!("ha.vips[{first}]"))));
        } else if from_services.contains(&a) {
            c.err(
                &path,
                format!("`{a}` is already a service VIP, which keepalived moves anyway; leave it out of `ha.vips`"),
            );
        }
        if let Some(n) = nodes.iter().find(|n| n.address == a) {
            c.err(
                &path,
                format!("`{a}` is the own address of node `{}`; a VIP must move, a node's address stays", n.name),
            );
        }
        all.insert(a);
    }
    let fwmarks: Vec<&str> =
        services.iter().filter(|s| matches!(s.key, ServiceKey::Fwmark { .. })).map(|s| s.name.as_str()).collect();
    if !fwmarks.is_empty() && h.vips.is_empty() {
        c.err(
            "ha.vips",
            format!(
                "fwmark service(s) {} have no VIP of their own; list the addresses their marks match in `ha.vips`, so keepalived moves them",
                fwmarks.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
            ),
        );
    }
    all.into_iter().collect()
}
