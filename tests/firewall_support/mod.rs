//! Helpers shared by the firewall tests that drive real netfilter (in a network namespace or
//! in User-Mode Linux).
#![allow(dead_code)]

use std::collections::BTreeMap;

use lvsync::backend::{Backend, Executed};
use lvsync::firewall::{Firewall, exec, render};
use lvsync::model::{FirewallAction, Intent};
use lvsync::plan::{ChainChange, Change};
use lvsync::state::{Chain, ChainId, Family, Hook, Protocol, State};

pub fn ip6(iptables: &str) -> String {
    iptables.replacen("iptables", "ip6tables", 1)
}

pub fn run(program: &str, args: &[&str]) -> String {
    exec::run(program, args, None).unwrap_or_else(|e| panic!("{e}: {e:?}")).stdout
}

/// `CMD-save [args]` without its `#` lines (they carry a time stamp).
pub fn save(cmd: &str, args: &[&str]) -> String {
    run(&format!("{cmd}-save"), args).lines().filter(|l| !l.starts_with('#')).map(|l| format!("{l}\n")).collect()
}

pub fn without_lvsync(dump: &str) -> String {
    dump.lines().filter(|l| !l.contains("LVSYNC")).map(|l| format!("{l}\n")).collect()
}

pub fn intent(name: &str, action: FirewallAction) -> Intent {
    Intent::new(name, action)
}

pub fn observe(fw: &mut Firewall) -> BTreeMap<ChainId, Chain> {
    let mut state = State::default();
    fw.observe(&mut state).unwrap();
    state.chains
}

/// What the planner does for chains: one ReplaceChain per chain whose content differs.
pub fn changes(observed: &BTreeMap<ChainId, Chain>, desired: &BTreeMap<ChainId, Chain>) -> Vec<Change> {
    ChainId::all()
        .into_iter()
        .filter(|id| observed.get(id) != desired.get(id))
        .map(|id| {
            Change::Firewall(ChainChange { id, before: observed.get(&id).cloned(), after: desired.get(&id).cloned() })
        })
        .collect()
}

/// Observe, plan, execute; then check that live state is the desired one.
pub fn apply(fw: &mut Firewall, intents: &[Intent]) -> Executed {
    let desired = render(intents);
    let changes = changes(&observe(fw), &desired);
    let done = fw.execute(&changes).unwrap();
    assert_eq!(observe(fw), desired);
    done
}

pub fn tcp_v4(name: &str, dest: &str, port: u16, action: FirewallAction) -> Intent {
    Intent {
        family: Some(Family::Ipv4),
        destination: Some(dest.parse().unwrap()),
        protocol: Some(Protocol::Tcp),
        port: Some(port),
        ..intent(name, action)
    }
}

/// The seed's intent and a NAT director's forward rule, in both families.
pub fn director() -> Vec<Intent> {
    vec![
        Intent {
            sources: vec!["192.168.0.0/16".parse().unwrap(), "10.0.0.0/8".parse().unwrap()],
            ..tcp_v4("office-to-web", "192.168.2.110/32", 80, FirewallAction::Accept)
        },
        Intent { family: Some(Family::Ipv4), fwmark: Some(42), ..intent("marked", FirewallAction::Accept) },
        Intent {
            family: Some(Family::Ipv6),
            destination: Some("2001:db8::110/128".parse().unwrap()),
            protocol: Some(Protocol::Tcp),
            port: Some(443),
            ..intent("web6", FirewallAction::Accept)
        },
        Intent { protocol: Some(Protocol::Udp), ..intent("no-udp", FirewallAction::Reject) },
        Intent {
            family: Some(Family::Ipv4),
            destination: Some("192.168.2.110/32".parse().unwrap()),
            ..intent("vip-rest", FirewallAction::Drop)
        },
        Intent {
            hook: Hook::Forward,
            family: Some(Family::Ipv4),
            sources: vec!["192.168.2.0/24".parse().unwrap()],
            protocol: Some(Protocol::Tcp),
            ..intent("nat-replies", FirewallAction::Accept)
        },
    ]
}

pub fn own_lines(dump: &str, chain: &str) -> Vec<String> {
    let prefix = format!("-A {chain} ");
    dump.lines().filter_map(|l| l.strip_prefix(&prefix)).map(str::to_string).collect()
}
