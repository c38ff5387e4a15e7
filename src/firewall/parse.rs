//! Reading lvsync's chains and their jumps out of an `iptables-save -t filter` dump. Everything
//! else in the dump (other tables, other chains, counters, comments, warnings) is skipped.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::state::{Chain, Hook, Reached};

/// What one family's filter table holds of lvsync's.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Table {
    /// lvsync's chains that exist, with their rules (canonical, without `-A CHAIN `).
    pub chains: BTreeMap<Hook, Vec<String>>,
    /// How many plain jumps (`-A INPUT -j LVSYNC-INPUT`) reach each chain.
    pub jumps: BTreeMap<Hook, usize>,
    /// Where the first plain jump stands in its built-in chain (from 1).
    pub first_at: BTreeMap<Hook, usize>,
    /// Rules other than plain jumps that jump or go to each chain, whole.
    pub foreign: BTreeMap<Hook, Vec<String>>,
}

impl Table {
    /// The chains as normalized state. A chain counts as jumped to when exactly one plain jump
    /// reaches it, first in its built-in chain, so that duplicate jumps and rules put above the
    /// jump show as drift and get repaired.
    pub fn to_state(&self) -> BTreeMap<Hook, Chain> {
        self.chains
            .iter()
            .map(|(hook, rules)| {
                let reached = Reached {
                    jumps: self.jumps(*hook),
                    first_at: self.first_at.get(hook).copied(),
                    foreign: self.foreign.get(hook).cloned().unwrap_or_default(),
                };
                let jump = reached.jumps == 1 && reached.first_at == Some(1);
                (*hook, Chain { rules: rules.clone(), jump, reached })
            })
            .collect()
    }

    /// Whether the one jump to `hook`'s chain is plain, single and at the top.
    pub fn jump_in_place(&self, hook: Hook) -> bool {
        self.jumps(hook) == 1 && self.first_at.get(&hook) == Some(&1)
    }

    pub fn jumps(&self, hook: Hook) -> usize {
        self.jumps.get(&hook).copied().unwrap_or(0)
    }
}

fn own_chain(name: &str) -> Option<Hook> {
    Hook::from_chain_name(name)
}

fn builtin(name: &str) -> Option<Hook> {
    Hook::from_builtin(name)
}

/// Parses the `*filter` section of a dump (`iptables-save`, with or without `-c`).
pub fn parse(dump: &str) -> Table {
    let mut table = Table::default();
    let mut in_filter = false;
    let mut position: BTreeMap<&str, usize> = BTreeMap::new();
    for line in dump.lines() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix('*') {
            in_filter = name == "filter";
            continue;
        }
        if line == "COMMIT" {
            in_filter = false;
            continue;
        }
        if !in_filter {
            continue;
        }
        if let Some(decl) = line.strip_prefix(':') {
            if let Some(hook) = decl.split_whitespace().next().and_then(own_chain) {
                table.chains.entry(hook).or_default();
            }
            continue;
        }
        let Some(rest) = strip_counters(line).strip_prefix("-A ") else { continue };
        let Some((chain, rule)) = rest.split_once(' ') else { continue };
        let at = position.entry(chain).or_default();
        *at += 1;
        if let Some(hook) = own_chain(chain) {
            table.chains.entry(hook).or_default().push(normalize(rule));
        } else if let Some(hook) = builtin(chain)
            && rule.trim().strip_prefix("-j ") == Some(hook.chain_name())
        {
            *table.jumps.entry(hook).or_default() += 1;
            table.first_at.entry(hook).or_insert(*at);
        } else if let Some(hook) = target(rule) {
            table.foreign.entry(hook).or_default().push(format!("-A {chain} {}", normalize(rule)));
        }
    }
    table
}

/// lvsync's chain that a rule jumps or goes to, if it does.
fn target(rule: &str) -> Option<Hook> {
    let tokens = tokens(rule);
    tokens.windows(2).find(|w| matches!(w[0], "-j" | "--jump" | "-g" | "--goto")).and_then(|w| own_chain(w[1]))
}

/// `[12:3456] -A ...` (from `iptables-save -c`) -> `-A ...`.
fn strip_counters(line: &str) -> &str {
    if line.starts_with('[')
        && let Some((_, rest)) = line.split_once("] ")
    {
        return rest.trim_start();
    }
    line
}

/// The canonical form of a rule: tokens separated by one space, quoted strings kept verbatim,
/// addresses after `-s`/`-d` printed the way lvsync prints them (glibc and Rust disagree on a
/// few IPv6 forms, e.g. `::1.2.3.4`).
pub fn normalize(rule: &str) -> String {
    let tokens = tokens(rule);
    let mut out: Vec<String> = Vec::with_capacity(tokens.len());
    let mut address_next = false;
    for token in tokens {
        let token = if address_next { normalize_cidr(token) } else { token.to_string() };
        address_next = token == "-s" || token == "-d";
        out.push(token);
    }
    out.join(" ")
}

fn normalize_cidr(token: &str) -> String {
    let (addr, prefix) = token.split_once('/').unwrap_or((token, ""));
    match (addr.parse::<IpAddr>(), prefix.parse::<u8>()) {
        (Ok(addr), Ok(prefix)) => format!("{addr}/{prefix}"),
        _ => token.to_string(),
    }
}

/// Splits on whitespace outside double quotes; a backslash escapes the next character inside
/// quotes, as `iptables-save` writes them.
fn tokens(rule: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = None;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in rule.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => escaped = true,
            '"' => {
                quoted = !quoted;
                start.get_or_insert(i);
            }
            c if c.is_whitespace() && !quoted => {
                if let Some(s) = start.take() {
                    out.push(&rule[s..i]);
                }
            }
            _ => {
                start.get_or_insert(i);
            }
        }
    }
    if let Some(s) = start {
        out.push(&rule[s..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_own_chains_and_jumps_only() {
        let dump = "\
# Generated by iptables-save v1.8.9 on Tue Nov 24 20:46:10 2026
*nat
:PREROUTING ACCEPT [0:0]
-A PREROUTING -j LVSYNC-INPUT
-A LVSYNC-INPUT -j DROP
COMMIT
*filter
:INPUT ACCEPT [10:600]
:FORWARD DROP [0:0]
:LVSYNC-FORWARD - [0:0]
:DOCKER - [0:0]
[3:180] -A INPUT -j LVSYNC-INPUT
-A INPUT -i eth0 -j LVSYNC-INPUT
-A FORWARD -j DOCKER
-A DOCKER -d 172.17.0.2/32 -j ACCEPT
[1:60] -A LVSYNC-INPUT -d 192.168.2.110/32  -p tcp -m tcp --dport 80 -m comment --comment \"lvsync:a  b\" -j ACCEPT
COMMIT
";
        let t = parse(dump);
        assert_eq!(
            t.chains[&Hook::Input],
            [r#"-d 192.168.2.110/32 -p tcp -m tcp --dport 80 -m comment --comment "lvsync:a  b" -j ACCEPT"#]
        );
        assert_eq!(t.chains[&Hook::Forward], Vec::<String>::new());
        assert_eq!(t.jumps(Hook::Input), 1);
        assert_eq!(t.jumps(Hook::Forward), 0);
        let state = t.to_state();
        assert!(state[&Hook::Input].jump);
        assert!(!state[&Hook::Forward].jump);
    }

    #[test]
    fn duplicate_jumps_are_not_the_one_jump() {
        let t = parse("*filter\n:LVSYNC-INPUT - [0:0]\n-A INPUT -j LVSYNC-INPUT\n-A INPUT -j LVSYNC-INPUT\nCOMMIT\n");
        assert_eq!(t.jumps(Hook::Input), 2);
        assert!(!t.to_state()[&Hook::Input].jump);
    }

    #[test]
    fn a_rule_above_the_jump_moves_it_off_the_top() {
        let t = parse(
            "*filter\n:LVSYNC-INPUT - [0:0]\n-A INPUT -d 10.0.0.1/32 -j DROP\n-A INPUT -j LVSYNC-INPUT\nCOMMIT\n",
        );
        assert_eq!((t.jumps(Hook::Input), t.first_at[&Hook::Input]), (1, 2));
        let chain = &t.to_state()[&Hook::Input];
        assert!(!chain.jump);
        assert_eq!(chain.reached.first_at, Some(2));
        let t = parse("*filter\n:LVSYNC-INPUT - [0:0]\n-A INPUT -j LVSYNC-INPUT\n-A INPUT -j DROP\nCOMMIT\n");
        assert!(t.to_state()[&Hook::Input].jump);
    }

    #[test]
    fn other_rules_reaching_lvsync_chains_are_foreign() {
        let t = parse(
            "*filter\n:LVSYNC-INPUT - [0:0]\n:MINE - [0:0]\n-A INPUT -j LVSYNC-INPUT\n-A INPUT -i eth0 -j LVSYNC-INPUT\n\
             -A MINE -g LVSYNC-INPUT\n-A FORWARD -j LVSYNC-INPUT\n-A MINE -j ACCEPT\nCOMMIT\n",
        );
        assert_eq!(t.jumps(Hook::Input), 1);
        assert_eq!(
            t.foreign[&Hook::Input],
            ["-A INPUT -i eth0 -j LVSYNC-INPUT", "-A MINE -g LVSYNC-INPUT", "-A FORWARD -j LVSYNC-INPUT"]
        );
        assert!(!t.foreign.contains_key(&Hook::Forward));
    }

    #[test]
    fn ipv6_addresses_are_printed_the_rust_way() {
        assert_eq!(
            normalize("-s ::1.2.3.4/128 -d 2001:db8:0:1::/64 -j ACCEPT"),
            "-s ::102:304/128 -d 2001:db8:0:1::/64 -j ACCEPT"
        );
        assert_eq!(normalize("-s 10.0.0.0/255.0.255.0 -j ACCEPT"), "-s 10.0.0.0/255.0.255.0 -j ACCEPT");
    }

    #[test]
    fn quoted_strings_keep_escapes_and_spaces() {
        let rule = r#"-m comment --comment "a \"q\"  -s x\\" -j ACCEPT"#;
        assert_eq!(tokens(rule), ["-m", "comment", "--comment", r#""a \"q\"  -s x\\""#, "-j", "ACCEPT"]);
        assert_eq!(normalize(rule), rule);
    }
}
