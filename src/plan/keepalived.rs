//! The keepalived domain of the plan: its configuration file, rewritten (and keepalived
//! reloaded) when its text differs from what the file's `ha` renders for this director.

use std::fmt::Write as _;

use serde::Serialize;

use super::json::Object;
use super::render::Paint;
use super::{Action, Change, Domain, DomainChange, Input, Phase, Plan};

/// Write keepalived's configuration (`before` none: there is no file yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeepalivedChange {
    pub before: Option<String>,
    pub after: String,
}

/// Only a file with `ha` manages keepalived's configuration; without it the file is left alone.
pub fn plan(input: &Input, p: &mut Plan) {
    let (Some(want), Some(have)) = (&input.desired.keepalived, &input.observed.keepalived) else { return };
    let Some(after) = &want.text else { return };
    if have.text.as_ref() != Some(after) {
        p.changes.push(Change::Keepalived(KeepalivedChange { before: have.text.clone(), after: after.clone() }));
    }
}

impl DomainChange for KeepalivedChange {
    fn domain(&self) -> Domain {
        Domain::Keepalived
    }

    fn phase(&self) -> Phase {
        // Once the services it moves the VIPs of exist.
        Phase::Settings
    }

    fn action(&self) -> Action {
        if self.before.is_none() { Action::Create } else { Action::Update }
    }

    fn kind(&self) -> &'static str {
        "keepalived_conf"
    }

    fn id(&self) -> String {
        "keepalived.conf".to_string()
    }

    fn text(&self, _: &Plan, paint: &Paint, out: &mut String) {
        let _ = writeln!(out, "keepalived configuration (VRRP only)");
        let before = self.before.as_deref().unwrap_or("");
        let diff = similar::TextDiff::from_lines(before, &self.after);
        for group in diff.grouped_ops(2) {
            for op in group {
                for c in diff.iter_changes(&op) {
                    let line = c.value().trim_end_matches('\n');
                    let _ = match c.tag() {
                        similar::ChangeTag::Delete => writeln!(out, "      {} {line}", paint.sign(Action::Delete)),
                        similar::ChangeTag::Insert => writeln!(out, "      {} {line}", paint.sign(Action::Create)),
                        similar::ChangeTag::Equal => writeln!(out, "        {line}"),
                    };
                }
            }
        }
    }

    fn json<'a>(&'a self, _: &'a Plan) -> (Option<Object<'a>>, Option<Object<'a>>) {
        let obj = |t: &'a String| Object::Keepalived(KeepalivedJson { text: t });
        (self.before.as_ref().map(obj), Some(obj(&self.after)))
    }
}

#[derive(Serialize)]
pub struct KeepalivedJson<'a> {
    text: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{RenderOptions, render_json, render_text};
    use crate::state::{Inventory, KeepalivedConf, Ownership, State};

    fn with(text: Option<&str>) -> State {
        State { keepalived: Some(KeepalivedConf { text: text.map(str::to_string) }), ..State::default() }
    }

    #[test]
    fn a_different_text_is_planned_with_its_diff_and_the_same_text_is_not() {
        let want = with(Some("a\nb\nc\n"));
        let p = crate::plan::plan(&want, &with(Some("a\nx\nc\n")), Ownership::Managed, &Inventory::default());
        let text = render_text(&p, RenderOptions::default());
        assert!(text.contains("  ~ keepalived configuration"), "{text}");
        assert!(text.contains("      - x\n      + b\n"), "{text}");
        let json = render_json(&p);
        assert_eq!(json["changes"][0]["kind"], "keepalived_conf");
        assert_eq!(json["changes"][0]["after"]["text"], "a\nb\nc\n");
        assert!(crate::plan::plan(&want, &want, Ownership::Managed, &Inventory::default()).is_empty());
        let p = crate::plan::plan(&want, &with(None), Ownership::Managed, &Inventory::default());
        assert_eq!(p.changes[0].action(), Action::Create);
        // Without `ha`, nothing.
        let none = State::default();
        assert!(crate::plan::plan(&none, &with(Some("x")), Ownership::Exclusive, &Inventory::default()).is_empty());
    }
}
