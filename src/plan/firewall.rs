//! The firewall domain of the plan: lvsync's chains are always its own; a chain differing in
//! any way is replaced whole (with its jump).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use super::json::Object;
use super::render::Paint;
use super::{Action, Change, Domain, DomainChange, Input, Phase, Plan};
use crate::state::{Chain, ChainId};

/// Replace one of lvsync's chains (and its jump) whole. `None` = the chain does not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainChange {
    pub id: ChainId,
    pub before: Option<Chain>,
    pub after: Option<Chain>,
}

/// A chain that other rules jump to cannot be deleted: instead of promising a deletion that
/// iptables refuses, the plan empties it and removes lvsync's jump (the chain then does
/// nothing), and says which rules keep it; once it is empty and unhooked, nothing is left to do.
pub fn plan(input: &Input, p: &mut Plan) {
    for id in ChainId::all() {
        let (want, have) = (input.desired.chains.get(&id), input.observed.chains.get(&id));
        let kept = match (want, have) {
            (None, Some(have)) if !have.reached.foreign.is_empty() => Some(Chain::default()),
            _ => None,
        };
        let want = kept.as_ref().or(want);
        if want != have {
            p.changes.push(Change::Firewall(ChainChange { id, before: have.cloned(), after: want.cloned() }));
        }
    }
}

impl DomainChange for ChainChange {
    fn domain(&self) -> Domain {
        Domain::Firewall
    }

    fn phase(&self) -> Phase {
        if self.after.is_none() { Phase::RemoveFirewall } else { Phase::Firewall }
    }

    fn action(&self) -> Action {
        Action::between(&self.before, &self.after)
    }

    fn kind(&self) -> &'static str {
        "firewall_chain"
    }

    fn id(&self) -> String {
        self.id.to_string()
    }

    fn text(&self, _: &Plan, paint: &Paint, out: &mut String) {
        let id = &self.id;
        let _ = writeln!(out, "firewall chain {id}{}", jump_note(id, self.before.as_ref(), self.after.as_ref()));
        if let (Some(before), Some(after)) = (&self.before, &self.after)
            && !after.jump
        {
            let _ = writeln!(
                out,
                "      (emptied and unhooked, not deleted: {} jumps to it; delete that rule, then `-X {}`)",
                before.reached.foreign.iter().map(|r| format!("`{r}`")).collect::<Vec<_>>().join(", "),
                id.chain_name()
            );
        }
        for (action, rule) in rule_diff(self.before.as_ref(), self.after.as_ref()) {
            let _ = writeln!(out, "      {} -A {} {rule}", paint.sign(action), id.chain_name());
        }
    }

    fn json<'a>(&'a self, _: &'a Plan) -> (Option<Object<'a>>, Option<Object<'a>>) {
        let chain = |c: &Chain| Object::Firewall(ChainJson::of(&self.id, c));
        (self.before.as_ref().map(chain), self.after.as_ref().map(chain))
    }
}

/// What happens to the jumps from the built-in chain, in words that match what is done: the
/// live jumps (none, one at the top, one below other rules, several) against the one wanted at
/// the top, or none.
fn jump_note(id: &ChainId, before: Option<&Chain>, after: Option<&Chain>) -> String {
    let builtin = id.builtin();
    let wanted = after.is_some_and(|c| c.jump);
    let Some(before) = before else {
        return if wanted { format!(" (jump from {builtin} added)") } else { String::new() };
    };
    // A chain that is not read from iptables (a test's) says only `jump`.
    let jumps = if before.jump { before.reached.jumps.max(1) } else { before.reached.jumps };
    let at = before.reached.first_at.unwrap_or(1);
    match (jumps, wanted) {
        (0, true) => format!(" (jump from {builtin} added, at its top)"),
        (1, true) if before.jump => String::new(),
        (1, true) => format!(" (jump from {builtin} moved back to its top: {} rule(s) were above it)", at - 1),
        (n, true) => format!(" ({n} jumps from {builtin}: the extra {} removed, one kept at its top)", n - 1),
        (0, false) => String::new(),
        (1, false) => format!(" (jump from {builtin} removed)"),
        (n, false) => format!(" ({n} jumps from {builtin} removed)"),
    }
}

/// The rules removed and added, in order, leaving out those that stay.
fn rule_diff(before: Option<&Chain>, after: Option<&Chain>) -> Vec<(Action, String)> {
    let empty = Vec::new();
    let old = before.map_or(&empty, |c| &c.rules);
    let new = after.map_or(&empty, |c| &c.rules);
    let old: Vec<&str> = old.iter().map(String::as_str).collect();
    let new: Vec<&str> = new.iter().map(String::as_str).collect();
    let diff = similar::TextDiff::from_slices(&old, &new);
    diff.iter_all_changes()
        .filter_map(|c| match c.tag() {
            similar::ChangeTag::Delete => Some((Action::Delete, c.value().to_string())),
            similar::ChangeTag::Insert => Some((Action::Create, c.value().to_string())),
            similar::ChangeTag::Equal => None,
        })
        .collect()
}

#[derive(Serialize)]
pub struct ChainJson {
    family: String,
    chain: &'static str,
    jump: bool,
    rules: Vec<String>,
}

impl ChainJson {
    fn of(id: &ChainId, c: &Chain) -> ChainJson {
        ChainJson {
            family: id.family.to_string(),
            chain: id.chain_name(),
            jump: c.jump,
            rules: c.rules.iter().map(|r| format!("-A {} {r}", id.chain_name())).collect(),
        }
    }
}

/// lvsync's chains as `iptables-save` would print them, for `--diff`.
pub fn chains_text(chains: &BTreeMap<ChainId, Chain>) -> String {
    let mut s = String::new();
    for (id, chain) in chains {
        let _ = writeln!(s, "# {} {}", id.family, id.chain_name());
        if chain.jump {
            let _ = writeln!(s, "-A {} -j {}", id.builtin(), id.chain_name());
        }
        for rule in &chain.rules {
            let _ = writeln!(s, "-A {} {rule}", id.chain_name());
        }
    }
    s
}
