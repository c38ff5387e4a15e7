//! The input of one `iptables-restore --noflush` run for one family: only lvsync's chains, each
//! declared (which flushes it) and refilled, its jump inserted or removed. Pure.

use std::fmt::Write;

use super::parse::Table;
use crate::state::{Chain, ChainId};

/// `after` for each chain to replace, against the live `table` of the same family. `None` when
/// nothing needs writing.
pub fn restore_input(changes: &[(ChainId, Option<&Chain>)], table: &Table) -> Option<String> {
    let mut declare = String::new();
    let mut body = String::new();
    for (id, after) in changes {
        let (name, builtin) = (id.chain_name(), id.builtin());
        let exists = table.chains.contains_key(&id.hook);
        let jumps = table.jumps(id.hook);
        match after {
            Some(chain) => {
                let _ = writeln!(declare, ":{name} - [0:0]");
                for rule in &chain.rules {
                    let _ = writeln!(body, "-A {name} {rule}");
                }
                // One jump at the top: unless that is what is there, every jump goes and one
                // comes back first in the built-in chain. Nothing else there moves.
                if !(chain.jump && table.jump_in_place(id.hook)) {
                    for _ in 0..jumps {
                        let _ = writeln!(body, "-D {builtin} -j {name}");
                    }
                    if chain.jump {
                        let _ = writeln!(body, "-I {builtin} 1 -j {name}");
                    }
                }
            }
            None if exists => {
                // Declaring flushes it: a chain must be empty to be deleted.
                let _ = writeln!(declare, ":{name} - [0:0]");
                for _ in 0..jumps {
                    let _ = writeln!(body, "-D {builtin} -j {name}");
                }
                let _ = writeln!(body, "-X {name}");
            }
            None => {}
        }
    }
    if declare.is_empty() && body.is_empty() {
        return None;
    }
    Some(format!("*filter\n{declare}{body}COMMIT\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::firewall::parse::parse;
    use crate::state::{Family, Hook};

    const INPUT: ChainId = ChainId { family: Family::Ipv4, hook: Hook::Input };
    const FORWARD: ChainId = ChainId { family: Family::Ipv4, hook: Hook::Forward };

    fn chain(rules: &[&str]) -> Chain {
        Chain { rules: rules.iter().map(|r| r.to_string()).collect(), jump: true, ..Default::default() }
    }

    #[test]
    fn creating_declares_fills_and_jumps_once_at_the_top() {
        let c = chain(&["-p tcp -j ACCEPT", "-j DROP"]);
        let input = restore_input(&[(INPUT, Some(&c))], &Table::default()).unwrap();
        assert_eq!(
            input,
            "*filter\n:LVSYNC-INPUT - [0:0]\n-A LVSYNC-INPUT -p tcp -j ACCEPT\n-A LVSYNC-INPUT -j DROP\n\
             -I INPUT 1 -j LVSYNC-INPUT\nCOMMIT\n"
        );
    }

    #[test]
    fn replacing_keeps_an_existing_jump_and_removes_duplicates() {
        let live = parse("*filter\n:LVSYNC-INPUT - [0:0]\n-A INPUT -j LVSYNC-INPUT\nCOMMIT\n");
        let c = chain(&["-j DROP"]);
        let input = restore_input(&[(INPUT, Some(&c))], &live).unwrap();
        assert_eq!(input, "*filter\n:LVSYNC-INPUT - [0:0]\n-A LVSYNC-INPUT -j DROP\nCOMMIT\n");

        let live =
            parse("*filter\n:LVSYNC-INPUT - [0:0]\n-A INPUT -j LVSYNC-INPUT\n-A INPUT -j LVSYNC-INPUT\nCOMMIT\n");
        let input = restore_input(&[(INPUT, Some(&c))], &live).unwrap();
        assert!(
            input.ends_with("-A LVSYNC-INPUT -j DROP\n-D INPUT -j LVSYNC-INPUT\n-D INPUT -j LVSYNC-INPUT\n-I INPUT 1 -j LVSYNC-INPUT\nCOMMIT\n"),
            "{input}"
        );
    }

    #[test]
    fn a_jump_below_other_rules_goes_back_to_the_top_and_nothing_else_moves() {
        let live = parse(
            "*filter\n:LVSYNC-INPUT - [0:0]\n-A INPUT -d 10.0.0.1/32 -j DROP\n-A INPUT -j LVSYNC-INPUT\nCOMMIT\n",
        );
        let input = restore_input(&[(INPUT, Some(&chain(&["-j ACCEPT"])))], &live).unwrap();
        assert_eq!(
            input,
            "*filter\n:LVSYNC-INPUT - [0:0]\n-A LVSYNC-INPUT -j ACCEPT\n-D INPUT -j LVSYNC-INPUT\n\
             -I INPUT 1 -j LVSYNC-INPUT\nCOMMIT\n"
        );
    }

    #[test]
    fn a_chain_kept_for_a_foreign_reference_is_emptied_and_unhooked_not_deleted() {
        let live = parse(
            "*filter\n:LVSYNC-INPUT - [0:0]\n-A INPUT -j LVSYNC-INPUT\n-A INPUT -i eth0 -j LVSYNC-INPUT\n\
             -A LVSYNC-INPUT -j DROP\nCOMMIT\n",
        );
        let kept = Chain::default();
        let input = restore_input(&[(INPUT, Some(&kept))], &live).unwrap();
        assert_eq!(input, "*filter\n:LVSYNC-INPUT - [0:0]\n-D INPUT -j LVSYNC-INPUT\nCOMMIT\n");
    }

    #[test]
    fn deleting_flushes_unhooks_and_removes_in_one_run() {
        let live = parse(
            "*filter\n:LVSYNC-INPUT - [0:0]\n:LVSYNC-FORWARD - [0:0]\n-A FORWARD -j LVSYNC-FORWARD\n\
             -A LVSYNC-FORWARD -j DROP\nCOMMIT\n",
        );
        let c = chain(&["-j ACCEPT"]);
        let input = restore_input(&[(INPUT, Some(&c)), (FORWARD, None)], &live).unwrap();
        assert_eq!(
            input,
            "*filter\n:LVSYNC-INPUT - [0:0]\n:LVSYNC-FORWARD - [0:0]\n-A LVSYNC-INPUT -j ACCEPT\n\
             -I INPUT 1 -j LVSYNC-INPUT\n-D FORWARD -j LVSYNC-FORWARD\n-X LVSYNC-FORWARD\nCOMMIT\n"
        );
    }

    #[test]
    fn deleting_an_absent_chain_writes_nothing() {
        assert_eq!(restore_input(&[(FORWARD, None)], &Table::default()), None);
    }
}
