//! Intents to rules, in the exact text `iptables-save` prints for them (without `-A CHAIN `), so
//! that a rendered chain and a parsed one compare equal as strings. Pure.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::state::{Chain, ChainId, Cidr, Family, FirewallAction, Intent, Protocol};

/// Every chain the intents need, each with its jump. A chain without rules is absent: removing
/// the last intent of a chain removes the chain and its jump.
pub fn render(intents: &[Intent]) -> BTreeMap<ChainId, Chain> {
    let mut chains: BTreeMap<ChainId, Chain> = BTreeMap::new();
    for intent in intents {
        for family in Family::ALL {
            let id = ChainId { family, hook: intent.hook };
            let rules = rules(intent, family);
            if !rules.is_empty() {
                chains
                    .entry(id)
                    .or_insert_with(|| Chain { rules: Vec::new(), jump: true, ..Default::default() })
                    .rules
                    .extend(rules);
            }
        }
    }
    chains
}

/// The rules of one intent in one family: one per source, none when the intent names addresses
/// of the other family only.
fn rules(intent: &Intent, family: Family) -> Vec<String> {
    if intent.family.is_some_and(|f| f != family) || intent.destination.is_some_and(|d| d.family() != family) {
        return Vec::new();
    }
    if intent.sources.is_empty() {
        return vec![rule(intent, family, None)];
    }
    intent.sources.iter().filter(|s| s.family() == family).map(|s| rule(intent, family, Some(s))).collect()
}

fn rule(intent: &Intent, family: Family, source: Option<&Cidr>) -> String {
    let mut r = String::new();
    if let Some(source) = source.filter(|c| c.prefix > 0) {
        let _ = write!(r, " -s {source}");
    }
    if let Some(dest) = intent.destination.filter(|c| c.prefix > 0) {
        let _ = write!(r, " -d {dest}");
    }
    // iptables matches a port only together with a protocol; TCP is the file's default one.
    let port = intent.port.filter(|&p| p != 0);
    let protocol = intent.protocol.or(port.map(|_| Protocol::Tcp));
    if let Some(protocol) = protocol {
        let _ = write!(r, " -p {protocol}");
        if let Some(port) = port {
            let _ = write!(r, " -m {protocol} --dport {port}");
        }
    }
    if let Some(mark) = intent.fwmark {
        let _ = write!(r, " -m mark --mark {mark:#x}");
    }
    let _ = write!(r, " -m comment --comment {}", save_string(&format!("lvsync:{}", intent.name)));
    r.push_str(match intent.action {
        FirewallAction::Accept => " -j ACCEPT",
        FirewallAction::Drop => " -j DROP",
        FirewallAction::Reject => match family {
            Family::Ipv4 => " -j REJECT --reject-with icmp-port-unreachable",
            Family::Ipv6 => " -j REJECT --reject-with icmp6-port-unreachable",
        },
    });
    r.split_off(1)
}

/// A string argument quoted the way `iptables-save` quotes it (`xtables_save_string`): bare when
/// made of letters, digits, `_` and `-` only; otherwise in double quotes with `"`, `\` and `'`
/// escaped by a backslash.
pub fn save_string(value: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    if !value.is_empty() && value.chars().all(plain) {
        return value.to_string();
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if matches!(c, '"' | '\\' | '\'') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Hook;

    fn intent(name: &str) -> Intent {
        Intent::new(name, FirewallAction::Accept)
    }

    const V4_INPUT: ChainId = ChainId { family: Family::Ipv4, hook: Hook::Input };
    const V6_INPUT: ChainId = ChainId { family: Family::Ipv6, hook: Hook::Input };

    #[test]
    fn service_intent_matches_vip_protocol_and_port() {
        let web = Intent {
            family: Some(Family::Ipv4),
            destination: Some("192.168.2.110/32".parse().unwrap()),
            protocol: Some(Protocol::Tcp),
            port: Some(80),
            sources: vec!["192.168.0.0/16".parse().unwrap(), "10.0.0.0/8".parse().unwrap()],
            ..intent("office-to-web")
        };
        let chains = render(&[web]);
        assert_eq!(chains.keys().collect::<Vec<_>>(), [&V4_INPUT]);
        assert_eq!(
            chains[&V4_INPUT].rules,
            [
                r#"-s 192.168.0.0/16 -d 192.168.2.110/32 -p tcp -m tcp --dport 80 -m comment --comment "lvsync:office-to-web" -j ACCEPT"#,
                r#"-s 10.0.0.0/8 -d 192.168.2.110/32 -p tcp -m tcp --dport 80 -m comment --comment "lvsync:office-to-web" -j ACCEPT"#,
            ]
        );
        assert!(chains[&V4_INPUT].jump);
    }

    #[test]
    fn intent_without_family_goes_to_both_and_reject_follows_the_family() {
        let chains = render(&[Intent { action: FirewallAction::Reject, protocol: Some(Protocol::Udp), ..intent("r") }]);
        assert_eq!(
            chains[&V4_INPUT].rules,
            [r#"-p udp -m comment --comment "lvsync:r" -j REJECT --reject-with icmp-port-unreachable"#]
        );
        assert_eq!(
            chains[&V6_INPUT].rules,
            [r#"-p udp -m comment --comment "lvsync:r" -j REJECT --reject-with icmp6-port-unreachable"#]
        );
    }

    #[test]
    fn fwmark_forward_and_order() {
        let intents = [
            Intent { fwmark: Some(42), family: Some(Family::Ipv6), ..intent("marked") },
            Intent {
                hook: Hook::Forward,
                family: Some(Family::Ipv4),
                protocol: Some(Protocol::Sctp),
                port: Some(9),
                ..intent("fwd")
            },
            Intent { action: FirewallAction::Drop, family: Some(Family::Ipv6), ..intent("rest") },
        ];
        let chains = render(&intents);
        assert_eq!(
            chains[&V6_INPUT].rules,
            [
                r#"-m mark --mark 0x2a -m comment --comment "lvsync:marked" -j ACCEPT"#,
                r#"-m comment --comment "lvsync:rest" -j DROP"#
            ]
        );
        let fwd = ChainId { family: Family::Ipv4, hook: Hook::Forward };
        assert_eq!(chains[&fwd].rules, [r#"-p sctp -m sctp --dport 9 -m comment --comment "lvsync:fwd" -j ACCEPT"#]);
        assert_eq!(chains.len(), 2);
    }

    #[test]
    fn zero_prefixes_and_port_zero_match_everything() {
        let any = Intent {
            family: Some(Family::Ipv4),
            destination: Some("0.0.0.0/0".parse().unwrap()),
            sources: vec!["0.0.0.0/0".parse().unwrap()],
            protocol: Some(Protocol::Tcp),
            port: Some(0),
            ..intent("any")
        };
        assert_eq!(render(&[any])[&V4_INPUT].rules, [r#"-p tcp -m comment --comment "lvsync:any" -j ACCEPT"#]);
    }

    #[test]
    fn port_without_protocol_is_tcp() {
        let p = Intent { port: Some(22), ..intent("ssh") };
        assert_eq!(
            render(&[p])[&V4_INPUT].rules,
            [r#"-p tcp -m tcp --dport 22 -m comment --comment "lvsync:ssh" -j ACCEPT"#]
        );
    }

    #[test]
    fn no_intents_no_chains() {
        assert!(render(&[]).is_empty());
    }

    #[test]
    fn comments_are_quoted_like_iptables_save() {
        assert_eq!(save_string("plain_-9"), "plain_-9");
        assert_eq!(save_string("lvsync:web"), r#""lvsync:web""#);
        assert_eq!(save_string(r#"a "q" b\c it's"#), r#""a \"q\" b\\c it\'s""#);
        assert_eq!(save_string(""), r#""""#);
    }
}
