//! A review for people (text, and markdown for pull-request comments) and for programs (JSON).
//! Kernel changes are rendered by each domain's own `DomainChange::text`, exactly as in `plan`.

use std::fmt::Write as _;

use serde::Serialize;

use super::{Review, SettingChange};
use crate::plan::{self, Paint, PlanJson};

/// `N to create, N to update, N to delete` (kernel), then the settings; `No changes.` if none.
pub fn summary(review: &Review) -> String {
    if review.is_empty() {
        return "No changes.".to_string();
    }
    let s = review.plan.summary();
    let mut out = format!("{} to create, {} to update, {} to delete", s.create, s.update, s.delete);
    match review.settings.len() {
        0 => {}
        1 => out.push_str("; 1 setting changed"),
        n => {
            let _ = write!(out, "; {n} settings changed");
        }
    }
    out.push('.');
    out
}

/// The plan's lines (two spaces, sign, change), then the setting lines, then the summary.
pub fn render_text(review: &Review, color: bool) -> String {
    let paint = Paint(color);
    let mut out = lines(review, &paint);
    if !out.is_empty() {
        out.push('\n');
    }
    for note in &review.plan.notes {
        let _ = writeln!(out, "Note: {note}\n");
    }
    let last = if review.is_empty() { summary(review) } else { format!("Diff: {}", summary(review)) };
    let _ = writeln!(out, "{}", paint.bold(&last));
    out
}

fn lines(review: &Review, paint: &Paint) -> String {
    let mut out = String::new();
    for change in &review.plan.changes {
        let _ = write!(out, "  {} ", paint.sign(change.action()));
        change.info().text(&review.plan, paint, &mut out);
    }
    for s in &review.settings {
        let _ = writeln!(out, "  {} {}", paint.sign(s.action()), s.line());
    }
    out
}

/// A pull-request comment: a summary line, then the lines in a ```diff block with the sign in
/// the first column, so GitHub and GitLab colour additions and removals (`~` becomes `!`, which
/// both show as changed).
pub fn render_markdown(review: &Review, old: &str, new: &str) -> String {
    let mut out = format!("#### lvsync diff `{old}` → `{new}`\n\n**{}**\n", summary(review));
    if review.is_empty() {
        return out;
    }
    out.push_str("\n```diff\n");
    for line in lines(review, &Paint(false)).lines() {
        let body = line.trim_start();
        let indent = &line[..line.len() - body.len()];
        let (sign, rest) = match body.chars().next() {
            Some(c @ ('+' | '-' | '~')) => (if c == '~' { '!' } else { c }, &body[1..]),
            _ => (' ', body),
        };
        // The sign moves to the first column; the indent stays after it, so nesting still shows.
        let _ = writeln!(out, "{sign}{}{rest}", &indent[indent.len().min(2)..]);
    }
    out.push_str("```\n");
    for note in &review.plan.notes {
        let _ = write!(out, "\nNote: {note}\n");
    }
    if !review.settings.is_empty() {
        out.push_str("\nHealth and other settings are not kernel state: `watch` acts on them.\n");
    }
    out
}

/// `{"format_version": "1", "plan": <plan JSON>, "settings": [...], "changed": bool}`.
#[derive(Serialize)]
pub struct ReviewJson<'a> {
    format_version: &'static str,
    changed: bool,
    plan: PlanJson<'a>,
    settings: Vec<SettingJson<'a>>,
}

#[derive(Serialize)]
struct SettingJson<'a> {
    action: &'static str,
    kind: &'static str,
    service: Option<&'a str>,
    setting: &'static str,
    real_servers: Vec<String>,
    before: Option<&'a str>,
    after: Option<&'a str>,
}

pub fn json(review: &Review) -> ReviewJson<'_> {
    ReviewJson {
        format_version: "1",
        changed: !review.is_empty(),
        plan: plan::json(&review.plan),
        settings: review.settings.iter().map(setting_json).collect(),
    }
}

fn setting_json(s: &SettingChange) -> SettingJson<'_> {
    SettingJson {
        action: s.action().as_str(),
        kind: s.kind(),
        service: (!s.service.is_empty()).then_some(s.service.as_str()),
        setting: s.name(),
        real_servers: s.reals.iter().map(|r| r.to_string()).collect(),
        before: s.before.as_deref(),
        after: s.after.as_deref(),
    }
}
