//! Checking and resolving `firewall` intents; `service:` expands to what the service matches.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use super::check::{Checker, first_at};
use super::config::{FirewallAction, Intent, ServiceSpec};
use super::raw;
use super::service::{family_text, protocol};
use crate::state::{Cidr, Family, Hook, ServiceKey};

/// The rules that are right, in file order; the checker holds the problems of the others. `services` holds the file's services that
/// resolved (by name); `all_names` every service name written, so that a rule naming a broken
/// service is not reported as naming a missing one.
pub fn rules(
    c: &mut Checker,
    rules: &[raw::Rule],
    services: &BTreeMap<&str, &ServiceSpec>,
    all_names: &[&str],
) -> Vec<Intent> {
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        let path = format!("firewall[{i}]");
        match names.entry(r.name.as_str()) {
            Entry::Occupied(first) => c.err(
                &format!("{path}.name"),
                format!(
                    "rule name `{}` is used twice ({}); names must be unique (they become the iptables comment `lvsync:<name>`)",
                    r.name,
                    first_at(&format!("firewall[{}]", first.get()))
                ),
            ),
            Entry::Vacant(v) => {
                v.insert(i);
            }
        }
        if let Some(intent) = rule(c, &path, r, services, all_names) {
            out.push(intent);
        }
    }
    out
}

fn rule(
    c: &mut Checker,
    path: &str,
    r: &raw::Rule,
    services: &BTreeMap<&str, &ServiceSpec>,
    all_names: &[&str],
) -> Option<Intent> {
    let before = c.count();
    let at = |field: &str| format!("{path}.{field}");
    c.name(&at("name"), &r.name, 40, "rule name");
    let action = match c.word(&at("action"), &r.action, &["accept", "drop", "reject"], "action")? {
        "drop" => FirewallAction::Drop,
        "reject" => FirewallAction::Reject,
        _ => FirewallAction::Accept,
    };
    let hook = match &r.chain {
        Some(h) => c.word(&at("chain"), h, &Hook::ALL.map(Hook::name), "chain").and_then(Hook::from_name)?,
        None => Hook::Input,
    };

    let mut intent = Intent { hook, ..Intent::new(&r.name, action) };
    // (path, family, value) of every address the rule names, to refuse a mix.
    let mut families: Vec<(String, Family, String)> = Vec::new();

    if let Some(name) = &r.service {
        if r.destination.is_some() {
            c.err_key(&at("destination"), "`service` and `destination` together; a rule matches either a service (its vip, protocol and port) or a destination: remove one");
        }
        for (field, given) in [("port", r.port.is_some()), ("protocol", r.protocol.is_some())] {
            if given {
                c.err_key(&at(field), format!("`{field}` comes from the service `{name}`; remove it, or match a `destination` instead of a service"));
            }
        }
        if hook == Hook::Forward {
            c.err_key(
                &at("service"),
                "`service` matches the vip, which IPVS traffic reaches in the `input` chain, never in `forward`; use `chain: input`, or match `destination`/`sources` (such as the NAT real servers) in `forward`",
            );
        }
        match services.get(name.as_str()) {
            Some(spec) => {
                match spec.key {
                    ServiceKey::Addr { protocol, vip, port } => {
                        intent.destination = Some(Cidr::host(vip));
                        intent.protocol = Some(protocol);
                        intent.port = (port != 0).then_some(port);
                    }
                    ServiceKey::Fwmark { mark, .. } => intent.fwmark = Some(mark),
                }
                families.push((at("service"), spec.key.family(), name.clone()));
            }
            None if all_names.contains(&name.as_str()) => {} // that service's own errors say why
            None => {
                let known = if all_names.is_empty() {
                    "the file has no services".to_string()
                } else {
                    let list: Vec<String> = all_names.iter().take(8).map(|n| format!("`{n}`")).collect();
                    let more = if all_names.len() > 8 { ", ..." } else { "" };
                    format!("services in this file: {}{more}", list.join(", "))
                };
                c.err(&at("service"), format!("`{name}` is not a service of this file; {known}"));
            }
        }
    } else {
        if let Some(d) = &r.destination {
            match d.trim().parse::<Cidr>() {
                Ok(cidr) => {
                    intent.destination = Some(cidr);
                    families.push((at("destination"), cidr.family(), d.trim().to_string()));
                }
                Err(e) => {
                    c.err(&at("destination"), format!("{e}; expected an address or CIDR such as `192.168.2.110/32`"))
                }
            }
        }
        if let Some(p) = r.protocol.as_deref() {
            intent.protocol = protocol(c, &at("protocol"), p);
        }
        if let Some(p) = r.port {
            intent.port = c.int(&at("port"), p, 1, 65535, "port").map(|p| p as u16);
            if r.protocol.is_none() {
                c.err(
                    &at("port"),
                    format!("`{p}` needs `protocol` (tcp, udp or sctp): iptables matches a port only per protocol"),
                );
            }
        }
    }

    for (j, s) in r.sources.iter().enumerate() {
        let spath = format!("{path}.sources[{j}]");
        match s.trim().parse::<Cidr>() {
            Ok(cidr) => {
                intent.sources.push(cidr);
                families.push((spath, cidr.family(), s.trim().to_string()));
            }
            Err(e) => c.err(&spath, format!("{e}; expected an address or CIDR such as `192.168.0.0/16`")),
        }
    }
    if let Some((first_path, first, first_value)) = families.first()
        && let Some((bad_path, bad, bad_value)) = families.iter().find(|(_, f, _)| f != first)
    {
        c.err(
            bad_path,
            format!(
                "rule `{}` mixes {first_family} (`{first_path}`) and {bad_family} (`{bad_path}`): `{first_value}` is {first_family}, `{bad_value}` is {bad_family}; iptables and ip6tables rules hold one family: split it into one rule per family",
                r.name,
                first_family = family_text(*first),
                bad_family = family_text(*bad),
            ),
        );
    }
    intent.family = families.first().map(|(_, f, _)| *f);

    (c.count() == before).then_some(intent)
}
